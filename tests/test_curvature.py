"""Curvature, effective resistance and rewiring against independent oracles: brute-force Python
over networkx for Forman, networkx shortest paths plus scipy's linprog transport (formulated
here) for Ollivier, networkx.resistance_distance and numpy's pinv for the resistance."""
import json
import math
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from click.testing import CliRunner
from scipy.optimize import linprog

import graphembed as ge
from graphembed.structure.resistance import sketch_size, total_effective_resistance

KARATE = Path(__file__).resolve().parent.parent / "datasets" / "karate.csv"


def _graphs():
    return {
        "karate": nx.karate_club_graph(),
        "grid": nx.grid_2d_graph(4, 5),
        "tree": nx.balanced_tree(3, 2),
        "complete": nx.complete_graph(6),
        "gnp": nx.gnp_random_graph(40, 0.15, seed=3),
    }


def _as_graph(g):
    """A graphembed Graph on nodes 0..n-1 (in g.nodes order) and that relabelled networkx graph."""
    h = nx.convert_node_labels_to_integers(g)
    return ge.Graph.from_networkx(h), h


def _rows(h):
    """Edges u < v in row order, as the functions under test list them."""
    return sorted((min(a, b), max(a, b)) for a, b in h.edges())


# ------------------------------------------------------------------------------------ Forman
@pytest.mark.parametrize("name", list(_graphs()))
def test_forman_matches_brute_force(name):
    graph, h = _as_graph(_graphs()[name])
    u, v, f = ge.forman_curvature(graph)
    _, _, plain = ge.forman_curvature(graph, kind="plain")
    edges = _rows(h)
    assert list(zip(u.tolist(), v.tolist())) == edges
    for (a, b), x, y in zip(edges, f, plain):
        tri = len(set(h[a]) & set(h[b]))
        assert y == 4 - h.degree(a) - h.degree(b)
        assert x == 4 - h.degree(a) - h.degree(b) + 3 * tri


def test_forman_weighted_matches_the_definition():
    h = nx.gnp_random_graph(25, 0.3, seed=1)
    rng = np.random.default_rng(0)
    for a, b in h.edges():
        h[a][b]["weight"] = float(rng.uniform(0.5, 3.0))
    graph = ge.Graph.from_networkx(h)
    u, v, f = ge.forman_curvature(graph, kind="plain", weighted=True)
    for a, b, x in zip(u, v, f):
        we = h[a][b]["weight"]
        # Sreejith et al. 2016 eq. 3 with node weights 1
        ref = we * (1 / we + 1 / we
                    - sum(1 / math.sqrt(we * h[a][c]["weight"]) for c in h[a] if c != b)
                    - sum(1 / math.sqrt(we * h[b][c]["weight"]) for c in h[b] if c != a))
        assert x == pytest.approx(ref, rel=1e-5, abs=1e-5)
    with pytest.raises(ge.InputError):
        ge.forman_curvature(graph, weighted=True)  # augmented + weights


def test_forman_directed_input_is_symmetrised_and_loops_dropped():
    g = ge.Graph.from_edges([0, 1, 1, 2, 2], [1, 0, 2, 0, 2], directed=True, self_loops=True)
    u, v, f = ge.forman_curvature(g)
    assert list(zip(u, v)) == [(0, 1), (0, 2), (1, 2)]
    assert f.tolist() == [3.0, 3.0, 3.0]  # a triangle: 4 - 2 - 2 + 3


def test_forman_threads_identical():
    graph, _ = _as_graph(nx.gnp_random_graph(300, 0.05, seed=2))
    a = ge.forman_curvature(graph, n_jobs=1)[2]
    b = ge.forman_curvature(graph, n_jobs=2)[2]
    assert np.array_equal(a, b)


# ------------------------------------------------------------------------------------ Ollivier
def _oracle_ollivier(h, alpha):
    dist = dict(nx.all_pairs_shortest_path_length(h))
    out = []
    for a, b in _rows(h):
        ma = {a: alpha, **{x: (1 - alpha) / h.degree(a) for x in h[a]}}
        mb = {b: alpha, **{x: (1 - alpha) / h.degree(b) for x in h[b]}}
        sa, sb = list(ma), list(mb)
        cost = np.array([[dist[x][y] for y in sb] for x in sa], float)
        na, nb = len(sa), len(sb)
        a_eq, b_eq = [], []
        for i in range(na):
            row = np.zeros(na * nb)
            row[i * nb:(i + 1) * nb] = 1
            a_eq.append(row)
            b_eq.append(ma[sa[i]])
        for j in range(nb):
            row = np.zeros(na * nb)
            row[j::nb] = 1
            a_eq.append(row)
            b_eq.append(mb[sb[j]])
        res = linprog(cost.ravel(), A_eq=np.array(a_eq), b_eq=b_eq, bounds=(0, None), method="highs")
        out.append(1 - res.fun / dist[a][b])
    return np.array(out)


@pytest.mark.parametrize("name", ["karate", "grid", "tree", "complete"])
@pytest.mark.parametrize("alpha", [0.0, 0.5])
def test_ollivier_exact_matches_oracle(name, alpha):
    graph, h = _as_graph(_graphs()[name])
    u, v, k = ge.ollivier_ricci_curvature(graph, alpha=alpha, method="exact")
    assert list(zip(u.tolist(), v.tolist())) == _rows(h)
    np.testing.assert_allclose(k, _oracle_ollivier(h, alpha), atol=1e-8)


@pytest.mark.parametrize("n", [3, 5, 8])
def test_ollivier_complete_graph_closed_form(n):
    g = nx.complete_graph(n)
    k0 = ge.ollivier_ricci_curvature(g, alpha=0.0)[2]
    k5 = ge.ollivier_ricci_curvature(g)[2]
    np.testing.assert_allclose(k0, (n - 2) / (n - 1), atol=1e-9)
    # alpha = 1/2: only the excess 1/2 - 1/(2(n-1)) at u moves, one hop, to v
    np.testing.assert_allclose(k5, 1 - 0.5 * (n - 2) / (n - 1), atol=1e-9)


def test_ollivier_tree_closed_form():
    # Jost and Liu (2014): on a tree, kappa(x, y) = -2 (1 - 1/d_x - 1/d_y)_+ for alpha = 0
    h = nx.random_labeled_tree(30, seed=4) if hasattr(nx, "random_labeled_tree") else nx.random_tree(30, seed=4)
    graph, h = _as_graph(h)
    u, v, k = ge.ollivier_ricci_curvature(graph, alpha=0.0, method="exact")
    ref = [-2 * max(0.0, 1 - 1 / h.degree(a) - 1 / h.degree(b)) for a, b in zip(u, v)]
    np.testing.assert_allclose(k, ref, atol=1e-9)


@pytest.mark.parametrize("name", ["karate", "grid", "gnp"])
def test_sinkhorn_within_its_stated_bound(name):
    graph, _ = _as_graph(_graphs()[name])
    exact = ge.ollivier_ricci_curvature(graph, method="exact")[2]
    u, v, k, bound = ge.ollivier_ricci_curvature(graph, method="sinkhorn", return_bound=True)
    assert np.all(k <= exact + 1e-9)  # a feasible plan: W1 from above
    assert np.all(k >= exact - bound - 1e-9)
    assert bound.max() < 0.02


def test_ollivier_auto_mixes_and_threads_identical():
    graph, _ = _as_graph(nx.karate_club_graph())
    exact = ge.ollivier_ricci_curvature(graph, method="exact")[2]
    u, v, k, bound = ge.ollivier_ricci_curvature(graph, sinkhorn_threshold=5, return_bound=True, n_jobs=1)
    assert (bound == 0).any() and (bound > 0).any()
    assert np.array_equal(k[bound == 0], exact[bound == 0])
    assert np.all(np.abs(k - exact) <= bound + 1e-9)
    k2 = ge.ollivier_ricci_curvature(graph, sinkhorn_threshold=5, n_jobs=2)[2]
    assert np.array_equal(k, k2)


def test_ollivier_bad_parameters():
    for kwargs in ({"alpha": 1.0}, {"method": "lp"}, {"sinkhorn_epsilon": 0}, {"tol": -1}):
        with pytest.raises(ge.InputError):
            ge.ollivier_ricci_curvature(nx.path_graph(3), **kwargs)


# ------------------------------------------------------------------------------------ resistance
def _nx_resistance(h, edges, weighted=False):
    out = []
    for a, b in edges:
        comp = h.subgraph(nx.node_connected_component(h, a))
        out.append(nx.resistance_distance(comp, a, b, weight="weight" if weighted else None,
                                          invert_weight=False))
    return np.array(out)


def _pinv_resistance(h, edges, weighted=False):
    lap = nx.laplacian_matrix(h, nodelist=range(h.number_of_nodes()),
                              weight="weight" if weighted else None).toarray()
    lp = np.linalg.pinv(lap)
    return np.array([lp[a, a] + lp[b, b] - 2 * lp[a, b] for a, b in edges])


@pytest.mark.parametrize("name", ["karate", "grid", "tree", "complete"])
def test_resistance_exact_matches_networkx_and_pinv(name):
    graph, h = _as_graph(_graphs()[name])
    u, v, r = ge.effective_resistance(graph, method="exact")
    edges = _rows(h)
    assert list(zip(u.tolist(), v.tolist())) == edges
    np.testing.assert_allclose(r, _nx_resistance(h, edges), rtol=1e-8)
    np.testing.assert_allclose(r, _pinv_resistance(h, edges), rtol=1e-8)


def test_resistance_disconnected_and_weighted():
    h = nx.disjoint_union(nx.karate_club_graph(), nx.cycle_graph(7))
    h.add_node(100)  # isolated
    rng = np.random.default_rng(1)
    for a, b in h.edges():
        h[a][b]["weight"] = float(rng.uniform(0.5, 2.0))
    graph, h = _as_graph(h)
    edges = _rows(h)
    for weighted in (False, True):
        ref = _nx_resistance(h, edges, weighted)
        np.testing.assert_allclose(_pinv_resistance(h, edges, weighted), ref, rtol=1e-8)
        r = ge.effective_resistance(graph, method="exact", weighted=weighted)[2]
        np.testing.assert_allclose(r, ref, rtol=1e-6 if weighted else 1e-8)  # weights are float32
        s = ge.effective_resistance(graph, method="sketch", weighted=weighted, random_state=0, epsilon=0.5)[2]
        assert np.all(np.abs(s / ref - 1) <= 0.5)


def test_sketch_error_within_bound_and_deterministic():
    h = nx.connected_watts_strogatz_graph(200, 6, 0.2, seed=1)
    graph, h = _as_graph(h)
    exact = ge.effective_resistance(graph, method="exact")[2]
    eps = 0.3
    assert sketch_size(200, eps) == math.ceil(24 * math.log(200) / eps ** 2)
    r1 = ge.effective_resistance(graph, method="sketch", epsilon=eps, random_state=7, n_jobs=1)[2]
    assert np.all(np.abs(r1 / exact - 1) <= eps)
    r2 = ge.effective_resistance(graph, method="sketch", epsilon=eps, random_state=7, n_jobs=2)[2]
    assert np.array_equal(r1, r2)
    r3 = ge.effective_resistance(graph, method="sketch", epsilon=eps, random_state=8)[2]
    assert not np.array_equal(r1, r3)
    # fewer vectors: a larger error, still unbiased-ish
    r4 = ge.effective_resistance(graph, method="sketch", n_vectors=64, random_state=7)[2]
    assert np.abs(r4 / exact - 1).mean() < 0.3


def test_sketch_parallel_kernels_match_serial(monkeypatch):
    from graphembed.structure import resistance

    graph, _ = _as_graph(nx.gnp_random_graph(120, 0.08, seed=5))
    a = ge.effective_resistance(graph, method="sketch", n_vectors=40, random_state=1)[2]
    monkeypatch.setattr(resistance, "PARALLEL_MIN_ENTRIES", 0)
    b = ge.effective_resistance(graph, method="sketch", n_vectors=40, random_state=1, n_jobs=2)[2]
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_resistance_refusals_and_total():
    with pytest.raises(ge.InputError, match="exact_max_nodes"):
        ge.effective_resistance(nx.path_graph(50), method="exact", exact_max_nodes=10)
    with pytest.raises(ge.InputError):
        ge.effective_resistance(nx.path_graph(5), epsilon=1.5)
    h = nx.karate_club_graph()
    total = sum(nx.resistance_distance(h, a, b) for a in h for b in h if a < b)
    assert total_effective_resistance(h) == pytest.approx(total, rel=1e-8)
    two = nx.disjoint_union(nx.path_graph(4), nx.cycle_graph(5))
    ref = sum(nx.resistance_distance(c, a, b) for c in (two.subgraph(range(4)), two.subgraph(range(4, 9)))
              for a in c for b in c if a < b)
    assert total_effective_resistance(two) == pytest.approx(ref, rel=1e-8)


# ------------------------------------------------------------------------------------ rewiring
def test_resistance_rewiring_greedy_and_lowers_total():
    graph, h = _as_graph(nx.barbell_graph(5, 3))
    new, rep = ge.rewire(graph, method="resistance", iterations=1)
    before = total_effective_resistance(graph)
    best = min((total_effective_resistance(nx.Graph([*h.edges(), (a, b)])), (a, b))
               for a in h for b in h if a < b and not h.has_edge(a, b))
    (a, b), = rep["added"]  # the best addition (symmetric nodes tie: compare the values)
    assert total_effective_resistance(nx.Graph([*h.edges(), (a, b)])) == pytest.approx(best[0], rel=1e-9)
    assert rep["after"]["total_resistance"] == pytest.approx(best[0], rel=1e-9)
    assert rep["before"]["total_resistance"] == pytest.approx(before)
    new, rep = ge.rewire(nx.karate_club_graph(), method="resistance", iterations=8)
    assert rep["after"]["total_resistance"] < rep["before"]["total_resistance"]
    assert rep["after"]["total_resistance"] == pytest.approx(total_effective_resistance(new), rel=1e-9)
    assert new.n_edges == 78 + 8 and len(rep["added"]) == 8
    again = ge.rewire(nx.karate_club_graph(), method="resistance", iterations=8)[1]
    assert again["added"] == rep["added"]


@pytest.mark.parametrize("curvature", ["forman", "ollivier"])
def test_curvature_rewiring_raises_min_and_is_deterministic(curvature):
    graph, _ = _as_graph(nx.barbell_graph(5, 2) if curvature == "ollivier" else nx.karate_club_graph())
    iterations = 3 if curvature == "ollivier" else 10
    new, rep = ge.rewire(graph, method="curvature", curvature=curvature, iterations=iterations, random_state=0)
    assert rep["after"]["min"] > rep["before"]["min"]
    assert len(rep["added"]) == iterations and not rep["removed"]
    assert np.array_equal(new.node_ids, graph.node_ids)
    again = ge.rewire(graph, method="curvature", curvature=curvature, iterations=iterations, random_state=0)
    assert again[1]["added"] == rep["added"]
    assert np.array_equal(again[0].indices, new.indices)


def test_curvature_rewiring_removes_above_threshold():
    g = nx.karate_club_graph()
    new, rep = ge.rewire(g, iterations=5, random_state=1, remove_above=0.0)
    assert rep["removed"]
    for a, b in rep["removed"]:
        assert not new.to_networkx().has_edge(a, b)
    assert new.n_edges == 78 + len(rep["added"]) - len(rep["removed"])
    assert min(d for _, d in new.to_networkx().degree()) >= 1


def test_rewire_bad_parameters():
    for kwargs in ({"method": "spectral"}, {"iterations": -1}, {"curvature": "balanced"}):
        with pytest.raises(ge.InputError):
            ge.rewire(nx.path_graph(4), **kwargs)


# ------------------------------------------------------------------------------------ CLI
def _cli(args, tmp_path):
    from graphembed.cli.main import cli

    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_cli_writes_files(tmp_path):
    import pyarrow.parquet as pq

    r = _cli(["curvature", KARATE, "-o", tmp_path / "c.parquet", "--kind", "ollivier", "-q"], tmp_path)
    assert r.exit_code == 0, r.output
    t = pq.read_table(tmp_path / "c.parquet")
    assert t.column_names == ["source", "target", "curvature"] and t.num_rows == 78
    r = _cli(["curvature", KARATE, "-o", tmp_path / "f.csv", "--json"], tmp_path)
    assert r.exit_code == 0 and json.loads(r.output)["edges"] == 78
    r = _cli(["resistance", KARATE, "-o", tmp_path / "r.parquet", "--method", "sketch", "--seed", "0",
              "--epsilon", "0.5", "-q"], tmp_path)
    assert r.exit_code == 0, r.output
    res = pq.read_table(tmp_path / "r.parquet").column("resistance").to_numpy()
    exact = ge.effective_resistance(ge.read_graph(KARATE), method="exact")[2]
    assert np.all(np.abs(res / exact - 1) <= 0.5)
    r = _cli(["rewire", KARATE, "-o", tmp_path / "w.csv", "--method", "resistance", "--iterations", "3",
              "--report", tmp_path / "rep.json", "--json"], tmp_path)
    assert r.exit_code == 0, r.output
    rep = json.loads((tmp_path / "rep.json").read_text())
    assert len(rep["added"]) == 3 and json.loads(r.output)["edges_after"] == 81
    assert ge.read_graph(tmp_path / "w.csv").n_edges == 81


@pytest.mark.parametrize("args", [
    ["curvature", KARATE, "-o", "out.txt"],
    ["curvature", KARATE, "-o", "out.csv", "--alpha", "1.5"],
    ["resistance", KARATE, "-o", "out.csv", "--epsilon", "0"],
    ["rewire", KARATE, "-o", "out.csv", "--method", "magic"],
    ["resistance", "missing.csv", "-o", "out.csv"],
])
def test_cli_bad_parameters_exit_2_one_line(args, tmp_path):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "graphembed.cli.main", *map(str, args)], cwd=tmp_path,
                       capture_output=True, text=True)
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
