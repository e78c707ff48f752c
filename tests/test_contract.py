"""The estimator contract, for every registered embedder (plugins included when installed).

scikit-learn's protocol (get_params/set_params/clone, parameter sweeps), pickling, fit leaving
parameters alone, transform leaving the estimator alone, networkx and scipy input, and the
declared parameter table: defaults pass it, a bool is never a number, and each value outside a
declared range is an InputError naming the parameter.
"""
import copy
import pickle

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

import graphembed as ge
from graphembed.base import Param
from graphembed.io.errors import InputError
from graphembed.registry import available_embedders, get_embedder

# Small, fast settings per method (the contract is about the interface, not quality).
FAST = {
    "fastrp": dict(dim=8),
    "node2vec": dict(dim=4, walks_per_node=2, walk_length=5, window=2),
    "deepwalk": dict(dim=4, walks_per_node=2, walk_length=5, window=2),
    "line": dict(dim=4, n_samples=2000, order="both"),
    "grf": dict(n_walks=4),
    "orbits": dict(),
    "orbit-adjacency": dict(dim=3),
    # RolX: a fixed width (the ReFeX columns kept depend on the weights the inputs carry)
    "roles": dict(n_roles=4),
}
SEEDED = {"random_state": 0}
NAMES = available_embedders()
# Estimators outside the embedder registry: the homomorphism classes (graphembed.structure).
OTHERS = {"hom-sampler": "HomomorphismSampler", "hom-embedding": "HomomorphismEmbedding"}
FAST.update({"hom-sampler": dict(motif="cycle:4", n_steps=2000, n_chains=2, burn_in=10),
             "hom-embedding": dict(n_patterns=3, max_size=5)})
ALL = NAMES + list(OTHERS)


def _class(name):
    if name in OTHERS:
        import graphembed.structure as structure

        return getattr(structure, OTHERS[name])
    return get_embedder(name)


def _fit(est, graph):
    """``est`` fitted on ``graph`` (a graph-level estimator: on the list of it)."""
    return est.fit([graph] if est.graph_level else graph)


def _output(est, graph):
    """A fitted estimator's output as an array: the embedding's vectors, a graph-level
    estimator's rows for ``graph``, or a sampler's density estimate."""
    if est.graph_level:
        return est.transform([graph])
    if not hasattr(est, "transform"):
        return np.atleast_1d(est.density().estimate)
    return est.transform().vectors


def _fit_output(est, graph):
    return _output(_fit(est, graph), graph)


def _make(name, **extra):
    cls = _class(name)
    params = dict(FAST.get(name, {}), **extra)
    if "random_state" in cls.parameters:
        params.setdefault("random_state", 0)
    if "n_jobs" in cls.parameters:
        params.setdefault("n_jobs", 1)
    return cls(**params)


def _graph():
    return ge.Graph.from_networkx(nx.karate_club_graph())


@pytest.fixture(scope="module")
def karate():
    return _graph()


@pytest.mark.parametrize("name", ALL)
def test_every_parameter_is_declared_and_defaults_pass(name):
    cls = _class(name)
    assert cls.parameters, f"{name} declares no parameter table"
    assert list(cls.parameters) == cls._get_param_names()  # the table follows __init__
    est = cls()
    for key, param in cls.parameters.items():
        assert isinstance(param, Param)
        assert _equal(getattr(est, key), param.default), key  # __init__'s default is the table's
        param.check(key, param.default)
    schema = cls.param_schema()
    assert set(schema["properties"]) == set(cls.parameters) and schema["additionalProperties"] is False


def _equal(a, b):
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return list(a) == list(b)
    return a is b or a == b


@pytest.mark.parametrize("name", ALL)
def test_clone_get_set_params(name):
    from sklearn.base import clone

    est = _make(name)
    twin = clone(est)
    assert type(twin) is type(est) and twin is not est
    assert twin.get_params(deep=False) == est.get_params(deep=False)
    key = "n_jobs" if "n_jobs" in twin.parameters else "random_state"
    assert twin.set_params(**{key: 1}) is twin
    with pytest.raises(InputError, match="no parameter"):
        twin.set_params(no_such_parameter=1)


@pytest.mark.parametrize("name", ALL)
def test_fit_keeps_parameters_transform_keeps_state_pickle_round_trips(name, karate):
    est = _make(name)
    before = copy.deepcopy(est.get_params(deep=False))
    out = _fit_output(est, karate)
    assert est.get_params(deep=False).keys() == before.keys()
    for key, value in before.items():
        assert _equal(est.get_params(deep=False)[key], value), key
    state = dict(est.__dict__)
    vectors = out.copy()
    again = _output(est, karate)
    assert set(est.__dict__) == set(state)
    for key in state:
        assert est.__dict__[key] is state[key], f"transform replaced {key}"
    np.testing.assert_array_equal(out, vectors)  # nor changed the fitted vectors in place
    np.testing.assert_array_equal(again, out)
    back = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(_output(back, karate), out)
    if hasattr(est, "embedding_"):
        assert back.transform().node_ids.tolist() == est.transform().node_ids.tolist()


@pytest.mark.parametrize("name", ALL)
def test_networkx_scipy_and_graph_inputs_agree(name, karate):
    nxg = nx.karate_club_graph()
    adj = nx.to_scipy_sparse_array(nxg, nodelist=sorted(nxg.nodes), weight=None, format="csr")
    by_graph = _fit_output(_make(name), karate)
    by_nx = _fit_output(_make(name), nxg)
    by_scipy = _fit_output(_make(name), sp.csr_matrix(adj))
    assert by_nx.shape == by_scipy.shape == by_graph.shape
    if name in ("node2vec", "deepwalk", "line"):
        return  # gensim and hogwild: bit-identical only within one run's thread schedule
    np.testing.assert_array_equal(by_nx, by_graph)


def _bad_values(param):
    """Values the table must refuse: a bool for a number, just outside each bound, a bad choice."""
    bad = []
    if param.kind in ("int", "float"):
        bad.append(True)
        if param.low is not None:
            bad.append(param.low if param.low_open else param.low - 1)
        if param.high is not None:
            bad.append(param.high if param.high_open else param.high + 1)
        bad.append(float("nan"))
        if param.kind == "int":
            bad.append(1.5)
    elif param.kind == "bool":
        bad += [1, "yes"]
    elif param.kind == "str" and param.choices is not None:
        bad.append("no-such-choice")
    elif param.kind == "floats":
        bad += [[], [float("inf")], "abc"]
    return [v for v in bad if not any(v is a or (type(v) is type(a) and v == a) for a in param.also)]


CASES = [(name, key, value) for name in ALL for key, param in _class(name).parameters.items()
         for value in _bad_values(param)]


@pytest.mark.parametrize("name, key, value", CASES, ids=[f"{n}-{k}-{v!r}" for n, k, v in CASES])
def test_each_out_of_range_value_is_an_input_error_naming_the_parameter(name, key, value, karate):
    est = _make(name, **{key: value})
    with pytest.raises(InputError, match=rf"^{key} must be "):
        _fit(est, karate)


@pytest.mark.parametrize("name", [n for n in ALL if n in ("fastrp", "orbit-adjacency", "grf", "hom-sampler",
                                                         "hom-embedding")])
def test_a_parameter_sweep_with_parameter_grid_and_clone(name, karate):
    from sklearn.base import clone
    from sklearn.model_selection import ParameterGrid

    grid = {"fastrp": {"dim": [4, 8], "normalization_strength": [0.0, -0.5]},
            "orbit-adjacency": {"dim": [2, 3], "negative": [1.0, 2.0]},
            "grf": {"n_walks": [2, 4], "p_halt": [0.3, 0.5]},
            "hom-sampler": {"n_chains": [1, 2], "chain": ["pivot", "glauber"]},
            "hom-embedding": {"n_patterns": [2, 3], "representation": ["log1p", "count"]}}[name]
    base = _make(name)
    shapes = []
    for params in ParameterGrid(grid):
        est = clone(base).set_params(**params)
        shapes.append(_fit_output(est, karate).shape[-1])
        assert base.get_params(deep=False)["random_state"] == 0  # the template is untouched
    assert len(shapes) == 4


def test_the_homomorphism_classes_follow_the_protocol():
    from sklearn.base import clone

    from graphembed.base import BaseEstimator
    from graphembed.structure import HomomorphismSampler
    from graphembed.structure.hom_embedding import HomomorphismEmbedding

    for est in (HomomorphismSampler(motif="cycle:4", n_steps=1000, random_state=0),
                HomomorphismEmbedding(n_patterns=5, random_state=0)):
        assert isinstance(est, BaseEstimator)
        twin = clone(est).set_params(random_state=1)
        assert twin.get_params()["random_state"] == 1 and est.get_params()["random_state"] == 0
    assert HomomorphismEmbedding.graph_level and not HomomorphismSampler.graph_level


def test_derive_seed_is_the_kth_seedsequence_word():
    import numpy as np

    from graphembed.base import derive_seed

    words = np.random.SeedSequence(2024).generate_state(4, np.uint64) >> np.uint64(1)
    assert [derive_seed(2024, k) for k in range(4)] == [int(w) for w in words]
    assert len({derive_seed(7, k) for k in range(50)}) == 50
    assert all(0 <= derive_seed(s, 3) < 2**63 for s in (0, 1, 2**63 - 1))
