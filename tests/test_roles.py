"""RoleFeatures (ReFeX + RolX): hand-computed oracles, automorphisms, binning and pruning, RolX,
thread counts and the CLI."""
import subprocess
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

import graphembed as ge
from graphembed.embed import roles
from graphembed.io.errors import InputError
from graphembed.structure.orbits import _Simple

ROOT = Path(__file__).resolve().parent.parent
KARATE = ROOT / "datasets" / "karate.csv"


def six_nodes():
    """A triangle 0-1-2, the bridge 2-3 (weight 2), and the leaves 4, 5 on node 3."""
    return ge.Graph.from_edges([0, 0, 1, 2, 3, 3], [1, 2, 2, 3, 4, 5], [1, 1, 1, 2, 1, 1])


# ---------------------------------------------------------------- (1) hand-computed features
# By hand: neighbours 0: {1, 2}, 1: {0, 2}, 2: {0, 1, 3}, 3: {2, 4, 5}, 4: {3}, 5: {3};
# triangles 1, 1, 1, 0, 0, 0.
DEGREE = [2, 2, 3, 3, 1, 1]
WEIGHTED = [2, 2, 4, 4, 1, 1]          # the bridge weighs 2
EGO_IN = [3, 3, 4, 3, 1, 1]            # degree + triangles
EGO_OUT = [1, 1, 2, 2, 2, 2]           # e.g. node 2: edges 3-4, 3-5 leave {0, 1, 2, 3}
CLUSTER = [1, 1, 1 / 3, 0, 0, 0]
FIRST_ROUND = {  # column -> (mean over neighbours, sum over neighbours)
    "degree": ([5 / 2, 5 / 2, 7 / 3, 5 / 3, 3, 3], [5, 5, 7, 5, 3, 3]),
    "weighted_degree": ([3, 3, 8 / 3, 2, 4, 4], [6, 6, 8, 6, 4, 4]),
    "egonet_edges": ([7 / 2, 7 / 2, 3, 2, 3, 3], [7, 7, 9, 6, 3, 3]),
    "egonet_out_edges": ([3 / 2, 3 / 2, 4 / 3, 2, 2, 2], [3, 3, 4, 6, 2, 2]),
    "clustering": ([2 / 3, 2 / 3, 2 / 3, 1 / 9, 0, 0], [4 / 3, 4 / 3, 2, 1 / 3, 0, 0]),
}


def test_base_features_and_first_round_by_hand():
    g = six_nodes()
    simple = _Simple(g)
    names, base = roles.base_features(g, simple, orbits=False)
    assert names == ["degree", "weighted_degree", "egonet_edges", "egonet_out_edges", "clustering"]
    for row, expected in zip(base, (DEGREE, WEIGHTED, EGO_IN, EGO_OUT, CLUSTER)):
        np.testing.assert_allclose(row, expected, rtol=1e-12)
    agg = roles.neighbour_aggregate(simple, base, ("mean", "sum"))
    for j, name in enumerate(names):
        mean, total = FIRST_ROUND[name]
        np.testing.assert_allclose(agg[2 * j], mean, rtol=1e-12, err_msg=f"mean({name})")
        np.testing.assert_allclose(agg[2 * j + 1], total, rtol=1e-12, err_msg=f"sum({name})")
    only_sum = roles.neighbour_aggregate(simple, base[:1], "sum")
    np.testing.assert_array_equal(only_sum[0], FIRST_ROUND["degree"][1])
    # with orbits the 15 counts follow; o0 is the degree and o3 the triangles
    names, base = roles.base_features(g, simple, orbits=True)
    assert names[5:] == [f"o{k}" for k in range(15)]
    np.testing.assert_array_equal(base[5], DEGREE)
    np.testing.assert_array_equal(base[8], [1, 1, 1, 0, 0, 0])


def test_the_estimator_keeps_the_hand_pruned_columns():
    # bins by hand (p = 0.5): degree 0 0 1 1 0 0; weighted_degree the same (pruned);
    # egonet_edges 0 0 1 0 0 0; egonet_out_edges all 0; clustering 2 2 1 0 0 0.
    # Round one: sum(degree) bins 0 0 1 0 0 0 = egonet_edges (pruned); mean(degree) 0 0 0 0 1 1.
    est = ge.RoleFeatures(n_rounds=1, orbits=False, values="raw").fit(six_nodes())
    names = est.feature_names_
    assert names[:4] == ["degree", "egonet_edges", "egonet_out_edges", "clustering"]
    assert "mean(degree)" in names and "sum(degree)" not in names and "weighted_degree" not in names
    np.testing.assert_array_equal(est.binned_features_[:, :4].T,
                                  [[0, 0, 1, 1, 0, 0], [0, 0, 1, 0, 0, 0], [0] * 6, [2, 2, 1, 0, 0, 0]])
    np.testing.assert_array_equal(est.binned_features_[:, names.index("mean(degree)")], [0, 0, 0, 0, 1, 1])
    for j, name in enumerate(names):
        if est.feature_rounds_[j] == 1:
            agg, _, inner = name[:-1].partition("(")
            expected = FIRST_ROUND[inner][0 if agg == "mean" else 1]
            np.testing.assert_allclose(est.features_[:, j], expected, rtol=1e-6)
    assert est.n_rounds_ == 1 and set(est.feature_rounds_) == {0, 1}
    np.testing.assert_array_equal(est.transform().vectors, est.features_)
    binned = ge.RoleFeatures(n_rounds=1, orbits=False).fit(six_nodes()).transform().vectors
    np.testing.assert_array_equal(binned, est.binned_features_)


# ---------------------------------------------------------------- (2) automorphic nodes
def _fit_both(graph, **kw):
    raw = ge.RoleFeatures(values="raw", **kw).fit(graph)
    return raw.features_, raw.binned_features_


def test_barbell_mirrored_nodes_have_identical_rows():
    g = nx.barbell_graph(10, 10)  # cliques 0..9 and 20..29, path 10..19
    raw, binned = _fit_both(g, n_rounds=3)
    mirror = 29 - np.arange(30)
    np.testing.assert_array_equal(raw, raw[mirror])
    np.testing.assert_array_equal(binned, binned[mirror])
    for a in range(1, 9):  # the clique nodes other than the bridge end are all alike
        np.testing.assert_array_equal(raw[a], raw[0])
    assert raw.shape[1] > 5 and len({tuple(r) for r in binned[10:20]}) > 1


def test_two_karate_copies_joined_by_one_edge_have_identical_rows():
    karate = nx.karate_club_graph()
    g = nx.disjoint_union(karate, karate)
    g.add_edge(0, 34)
    graph = ge.Graph.from_networkx(g, weight=None)
    assert graph.node_ids.tolist() == list(range(68))
    raw, binned = _fit_both(graph, n_rounds=3)
    np.testing.assert_array_equal(raw[:34], raw[34:])
    np.testing.assert_array_equal(binned[:34], binned[34:])


# ---------------------------------------------------------------- (3) binning and pruning
def test_vertical_log_binning_by_hand():
    np.testing.assert_array_equal(roles.log_bins(np.arange(1.0, 9.0), 0.5), [0, 0, 0, 0, 1, 1, 2, 3])
    np.testing.assert_array_equal(roles.log_bins(np.arange(1.0, 9.0), 0.25), [0, 0, 1, 2, 3, 4, 5, 6])
    # ties stay together: five zeros fill bin 0 although p * 8 = 4
    np.testing.assert_array_equal(roles.log_bins([0, 0, 0, 0, 0, 1, 2, 3], 0.5), [0, 0, 0, 0, 0, 1, 2, 3])
    values = np.array([5.0, 1, 3, 3, 2, 8, 8, 8])  # sorted 1 2 3 3 | 5 8 8 8: the 8s tie into bin 1
    np.testing.assert_array_equal(roles.log_bins(values, 0.5), [1, 0, 0, 0, 0, 1, 1, 1])
    order = np.random.default_rng(0).permutation(8)
    np.testing.assert_array_equal(roles.log_bins(values[order], 0.5), roles.log_bins(values, 0.5)[order])
    assert roles.log_bins([7.0], 0.5).tolist() == [0] and roles.log_bins(np.zeros(5), 0.3).tolist() == [0] * 5
    assert roles.max_bins(8, 0.5) == 4 and roles.max_bins(8, 0.25) == 7


def test_pruning_by_hand():
    from graphembed._kernels.roles import max_bin_difference

    a = np.array([[0, 1, 1, 0], [0, 1, 1, 1], [1, 1, 1, 1], [3, 0, 0, 0]], np.int16)
    d = max_bin_difference(a, a, 1)  # largest |difference| over the 4 nodes, capped at limit + 1
    assert d.tolist() == [[0, 1, 1, 2], [1, 0, 1, 2], [1, 1, 0, 2], [2, 2, 2, 0]]
    assert max_bin_difference(a, a, 10)[0].tolist() == [0, 1, 1, 3]
    none_old = np.zeros((4, 0), bool)
    assert roles.prune(none_old, d <= 0) == [0, 1, 2, 3]
    assert roles.prune(none_old, d <= 1) == [0, 3]  # 0, 1, 2 within 1 everywhere: the first stays
    # new column 0 matches a retained one; 3 reaches it through 0; 1 - 2 form their own component
    new_old = np.array([[False, True, False], [False] * 3, [False] * 3, [False] * 3])
    new_new = np.eye(4, dtype=bool)
    new_new[1, 2] = new_new[2, 1] = new_new[0, 3] = new_new[3, 0] = True
    assert roles.prune(new_old, new_new) == [1]
    # tolerance through the estimator, on six_nodes(): egonet_edges differs from degree on one
    # node and from egonet_out_edges (all bin 0) on one: one component with degree first
    est = ge.RoleFeatures(n_rounds=0, orbits=False, prune_tolerance=1).fit(six_nodes())
    assert est.feature_names_ == ["degree", "clustering"]


def test_recursion_stops_when_a_round_keeps_nothing():
    est = ge.RoleFeatures(n_rounds=5).fit(nx.cycle_graph(12))  # every node alike
    assert est.feature_names_ == ["degree"] and est.n_rounds_ == 0
    assert est.transform().vectors.shape == (12, 1)


def test_bad_aggregators_are_input_errors():
    for bad in ("max", ("mean", "mean"), (), 3):
        with pytest.raises(InputError, match="^aggregators must be"):
            ge.RoleFeatures(aggregators=bad).fit(six_nodes())
    assert ge.RoleFeatures(aggregators="sum", n_rounds=1).fit(six_nodes()).feature_names_[-1].startswith("sum(")


# ---------------------------------------------------------------- (4) RolX
def test_rolx_memberships_reconstruction_and_seed():
    g = nx.karate_club_graph()
    est = ge.RoleFeatures(n_roles=4, random_state=0).fit(g)
    m = est.transform().vectors
    assert m.shape == (34, 4) and (m >= 0).all()
    np.testing.assert_allclose(m.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_allclose(est.memberships_, m, rtol=1e-6)
    assert est.role_descriptions_.shape == (4, len(est.feature_names_))
    v = est.binned_features_.astype(np.float64)
    assert est.reconstruction_err_ < 0.35 * np.linalg.norm(v)
    twice = ge.RoleFeatures(n_roles=4, random_state=0).fit(g).transform().vectors
    np.testing.assert_array_equal(twice, m)
    raw = ge.RoleFeatures(n_roles=3, values="raw", random_state=1).fit(g)
    assert raw.transform().vectors.shape == (34, 3) and raw.embedding_.params["random_state"] == 1
    isolated = ge.Graph.from_edges([0, 1], [1, 2], nodes=[0, 1, 2, 3])  # node 3: all-zero features
    iso = ge.RoleFeatures(n_roles=2, random_state=0).fit(isolated).transform().vectors
    np.testing.assert_allclose(iso.sum(axis=1), 1, rtol=1e-6)


# ---------------------------------------------------------------- (5) thread counts
def test_any_thread_count_gives_the_same_output():
    g = nx.gnm_random_graph(1500, 8000, seed=1)
    one = ge.RoleFeatures(n_jobs=1, values="raw").fit(g)
    two = ge.RoleFeatures(n_jobs=2, values="raw").fit(g)
    assert one.feature_names_ == two.feature_names_
    np.testing.assert_array_equal(one.features_, two.features_)
    np.testing.assert_array_equal(one.binned_features_, two.binned_features_)
    r1 = ge.RoleFeatures(n_jobs=1, n_roles=3, random_state=5).fit(g).transform().vectors
    r2 = ge.RoleFeatures(n_jobs=2, n_roles=3, random_state=5).fit(g).transform().vectors
    np.testing.assert_array_equal(r1, r2)


# ---------------------------------------------------------------- (6) the CLI
def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "graphembed.cli.main", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_cli_writes_a_readable_parquet_and_bad_parameters_exit_2(tmp_path):
    r = _cli("roles", KARATE, "-o", "roles.parquet", "--rounds", "2", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    emb = ge.Embedding.load(tmp_path / "roles.parquet")
    assert len(emb) == 34 and emb.method == "roles" and emb.dim == len(emb.params["features"])
    r = _cli("roles", KARATE, "-o", "rolx.csv", "--roles", "3", "--seed", "0", "--aggregators", "sum",
             "--values", "raw", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert ge.Embedding.load(tmp_path / "rolx.csv").dim == 3
    for bad in (["--bin-fraction", "1"], ["--aggregators", "max"]):
        r = _cli("roles", KARATE, "-o", "bad.parquet", *bad, cwd=tmp_path)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1 and "Traceback" not in r.stderr, (bad, r.stderr)
        assert "error" in lines[0] and not (tmp_path / "bad.parquet").exists()
