"""FastRP against an independent dense numpy evaluation of the paper's formula."""
import numpy as np
import pytest

import graphembed as ge
from graphembed.io.errors import InputError


def dense_reference(graph, est, features_part=None):
    """E = s*norm(X0) + sum_k w_k norm(M^k X0) in float64, from the fitted estimator's R."""
    a = graph.to_scipy().toarray().astype(np.float64)
    n = graph.n_nodes
    deg = a.sum(axis=1)
    beta = est.normalization_strength
    scale = np.where(deg > 0, np.power(np.where(deg > 0, deg, 1.0), beta), 1.0)
    x = scale[:, None] * est.projection_matrix(n).astype(np.float64)
    if features_part is not None:
        x = np.hstack([x, features_part])
    if est.propagation == "transition":
        m = np.divide(a, deg[:, None], out=np.zeros_like(a), where=deg[:, None] > 0)
    else:
        m = a
    emb = est.node_self_influence * row_normalize(x)
    for w in est.iteration_weights:
        x = m @ x
        emb = emb + w * row_normalize(x)
    return emb


def row_normalize(x):
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def random_graph(rng, n=60, m=240, weighted=False, directed=False):
    src, dst = rng.integers(0, n, m), rng.integers(0, n, m)
    w = rng.uniform(0.1, 3.0, m) if weighted else None
    return ge.Graph.from_edges(src, dst, w, directed=directed, nodes=np.arange(n))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("directed", [False, True])
@pytest.mark.parametrize("propagation", ["transition", "adjacency"])
def test_matches_dense_reference(rng, weighted, directed, propagation):
    g = random_graph(rng, weighted=weighted, directed=directed)
    est = ge.FastRP(dim=32, iteration_weights=[0.5, 1.0, 2.0, 0.25], normalization_strength=-0.6,
                    node_self_influence=0.3, propagation=propagation, random_state=3, n_jobs=1)
    emb = est.fit_transform(g)
    ref = dense_reference(g, est)
    assert emb.vectors.dtype == np.float32 and emb.vectors.shape == (g.n_nodes, 32)
    np.testing.assert_allclose(emb.vectors, ref, rtol=2e-4, atol=2e-5)


def test_paper_settings_match_reference(rng):
    g = random_graph(rng, n=200, m=1500)
    est = ge.FastRP(dim=64, iteration_weights=[1.0, 1.0, 7.81, 45.28], normalization_strength=-0.628,
                    random_state=0)
    np.testing.assert_allclose(est.fit_transform(g).vectors, dense_reference(g, est), rtol=1e-3, atol=1e-3)


def test_many_adjacency_steps_do_not_overflow(rng):
    g = random_graph(rng, n=100, m=3000)
    est = ge.FastRP(dim=16, iteration_weights=[1.0] * 40, propagation="adjacency", random_state=1)
    emb = est.fit_transform(g)
    assert np.all(np.isfinite(emb.vectors))


def test_thread_count_does_not_change_bits(rng):
    g = random_graph(rng, n=500, m=4000, weighted=True)
    one = ge.FastRP(dim=64, random_state=7, n_jobs=1).fit_transform(g).vectors
    two = ge.FastRP(dim=64, random_state=7, n_jobs=2).fit_transform(g).vectors
    assert np.array_equal(one, two)


def test_seed_reproduces_and_differs(rng):
    g = random_graph(rng)
    a = ge.FastRP(dim=16, random_state=1).fit_transform(g).vectors
    b = ge.FastRP(dim=16, random_state=1).fit_transform(g).vectors
    c = ge.FastRP(dim=16, random_state=2).fit_transform(g).vectors
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


def test_uniform_weights_equal_unweighted_and_others_differ(rng):
    src, dst = rng.integers(0, 50, 300), rng.integers(0, 50, 300)
    plain = ge.Graph.from_edges(src, dst)
    doubled = ge.Graph.from_edges(src, dst, np.full(300, 2.0))
    varied = ge.Graph.from_edges(src, dst, rng.uniform(0.1, 5.0, 300))
    est = dict(dim=32, random_state=0)
    e_plain = ge.FastRP(**est).fit_transform(plain).vectors
    np.testing.assert_allclose(ge.FastRP(**est).fit_transform(doubled).vectors, e_plain, rtol=1e-5, atol=1e-6)
    assert not np.allclose(ge.FastRP(**est).fit_transform(varied).vectors, e_plain, atol=1e-3)


def test_isolated_nodes_get_finite_vectors():
    g = ge.Graph.from_edges([0, 1, 2], [1, 2, 0], nodes=[0, 1, 2, 3, 4])
    emb = ge.FastRP(dim=8, normalization_strength=-0.5, node_self_influence=1.0, random_state=0).fit_transform(g)
    assert np.all(np.isfinite(emb.vectors))
    assert np.linalg.norm(emb[3]) > 0  # its own random vector through self-influence
    emb0 = ge.FastRP(dim=8, random_state=0).fit_transform(g)
    assert np.all(emb0[4] == 0)


def test_features_fill_the_property_columns(rng):
    g = random_graph(rng, n=40, m=150)
    est = ge.FastRP(dim=24, property_dimension=8, random_state=0)
    emb = est.fit_transform(g, features=np.zeros((40, 5)))
    assert np.all(emb.vectors[:, 16:] == 0)  # zero features project to zero
    emb2 = ge.FastRP(dim=24, property_dimension=8, random_state=0).fit_transform(
        g, features=rng.normal(size=(40, 5)))
    assert np.abs(emb2.vectors[:, 16:]).sum() > 0
    with pytest.raises(InputError):
        ge.FastRP(dim=8).fit(g, features=np.zeros((39, 5)))


def test_transform_new_matches_dense_formula(rng):
    n_known, n_new = 50, 5
    g = random_graph(rng, n=n_known, m=300)
    est = ge.FastRP(dim=16, iteration_weights=[1.0, 2.0, 0.5], normalization_strength=-0.3,
                    random_state=4).fit(g)
    new_ids = [f"new{i}" for i in range(n_new)]
    src, dst = [], []
    for i, v in enumerate(new_ids):
        for j in rng.choice(n_known, 4, replace=False):
            src.append(v)
            dst.append(int(j))
    src += ["new0", "new2"]; dst += ["new1", "new3"]  # edges between new nodes
    src.append(0); dst.append(1)  # between known nodes: ignored
    out = est.transform_new(src, dst)
    assert list(out.node_ids) == new_ids

    a = g.to_scipy().toarray().astype(np.float64)
    deg = a.sum(1)
    x = np.where(deg > 0, deg, 1.0)[:, None] ** -0.3 * est.projection_matrix(n_known).astype(np.float64)
    m = a / np.where(deg > 0, deg, 1.0)[:, None]
    to_known = np.zeros((n_new, n_known))
    among = np.zeros((n_new, n_new))
    for s, d in zip(src[:-1], dst[:-1]):
        if isinstance(d, str):
            among[new_ids.index(s), new_ids.index(d)] = among[new_ids.index(d), new_ids.index(s)] = 1.0
        else:
            to_known[new_ids.index(s), d] = 1.0
    deg_new = to_known.sum(1) + among.sum(1)
    x_new = deg_new[:, None] ** -0.3 * est.projection_matrix(n_new, row_offset=n_known).astype(np.float64)
    ref = np.zeros((n_new, 16))
    for w in [1.0, 2.0, 0.5]:
        x_new = (to_known @ x + among @ x_new) / deg_new[:, None]
        ref += w * row_normalize(x_new)
        x = m @ x
    np.testing.assert_allclose(out.vectors, ref, rtol=1e-4, atol=1e-5)


def test_transform_new_needs_an_edge_to_the_graph(rng):
    est = ge.FastRP(dim=8, random_state=0).fit(random_graph(rng))
    with pytest.raises(InputError):
        est.transform_new(["x"], ["y"])


def test_karate_clubs_are_separable():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    g, labels = ge.datasets.karate()
    emb = ge.FastRP(dim=64, iteration_weights=[1.0, 1.0, 1.0], random_state=0).fit_transform(g)
    accuracy = cross_val_score(LogisticRegression(max_iter=1000), emb.vectors, labels, cv=4).mean()
    assert accuracy > 0.85


@pytest.mark.parametrize("bad", [dict(dim=0), dict(iteration_weights=[]), dict(propagation="x"),
                                 dict(density=0.0), dict(density=2), dict(random_state=-1),
                                 dict(n_jobs=0)])
def test_invalid_parameters_raise_input_error(rng, bad):
    with pytest.raises(InputError):
        ge.FastRP(**bad).fit(random_graph(rng))


def test_registry_finds_fastrp():
    assert ge.get_embedder("fastrp") is ge.FastRP
    assert "fastrp" in ge.available_embedders()
    with pytest.raises(InputError):
        ge.get_embedder("nope")
