"""GraphWave (graphembed.embed.graphwave) against oracles that share none of its code: dense
Laplacians built from networkx adjacency matrices, scipy.linalg.expm for the heat wavelets and
numpy's complex exponential for the characteristic functions."""
import subprocess
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import scipy.linalg

import graphembed as ge
from graphembed._kernels.graphwave import characteristic_function
from graphembed.embed.graphwave import GraphWave
from graphembed.io.errors import InputError

LAPLACIANS = ("normalized", "combinatorial")
KARATE_CSV = Path(__file__).resolve().parent.parent / "datasets" / "karate.csv"


def dense_laplacian(G, nodes, kind):
    """L of the networkx graph ``G`` (edge attribute ``weight`` when present) in ``nodes`` order;
    the normalised one gives an isolated node L_uu = 1, as the authors' code."""
    a = nx.to_numpy_array(G, nodelist=list(nodes))
    a = np.maximum(a, a.T)
    d = a.sum(axis=1)
    if kind == "combinatorial":
        return np.diag(d) - a
    inv = np.array([1 / np.sqrt(x) if x > 0 else 0.0 for x in d])
    return np.eye(len(d)) - inv[:, None] * a * inv[None, :]


def exact_embedding(G, nodes, kind, scales, n_points, t_max):
    """[Re phi, Im phi] per scale at t_j = j t_max / n_points, from expm and np.exp."""
    lap = dense_laplacian(G, nodes, kind)
    t = np.arange(1, n_points + 1) * t_max / n_points
    blocks = []
    for s in scales:
        psi = scipy.linalg.expm(-s * lap)  # column u: the wavelet of node u
        phi = np.exp(1j * t[None, :, None] * psi.T[:, None, :]).mean(axis=2)  # (n, n_points)
        blocks += [phi.real, phi.imag]
    return np.hstack(blocks)


def weighted_graph():
    G = nx.gnm_random_graph(18, 40, seed=3)
    rng = np.random.default_rng(0)
    for u, v in G.edges:
        G[u][v]["weight"] = rng.integers(1, 25) / 8  # exact in float32, as Graph stores weights
    return G


GRAPHS = {"path": nx.path_graph(9), "star": nx.star_graph(8), "karate": nx.karate_club_graph(),
          "weighted": weighted_graph()}


def graph_of(G):
    return ge.Graph.from_networkx(G)


# ------------------------------------------------------------------------ (1) Chebyshev wavelets
@pytest.mark.parametrize("kind", LAPLACIANS)
@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_wavelets_match_expm(name, kind):
    G = GRAPHS[name]
    g = graph_of(G)
    lap = dense_laplacian(G, g.node_ids, kind)
    for s in (0.3, 2.0, 8.0):
        exact = scipy.linalg.expm(-s * lap)
        est = GraphWave(scales=[s], laplacian=kind, n_jobs=1)
        got = est.wavelets(g, s)
        assert np.abs(got - exact).max() < 1e-6, (name, kind, s)
        cols = [0, 3, 1]
        np.testing.assert_array_equal(est.wavelets(g, s, cols), got[:, cols])


@pytest.mark.parametrize("kind", LAPLACIANS)
@pytest.mark.parametrize("name", ["karate", "weighted"])
def test_truncation_error_within_reported_bound(name, kind):
    G = GRAPHS[name]
    g = graph_of(G)
    lap = dense_laplacian(G, g.node_ids, kind)
    for order in (3, 8, 20):
        for s in (0.5, 3.0):
            est = GraphWave(scales=[s], order=order, laplacian=kind, n_points=2, n_jobs=1).fit(g)
            err = np.abs(est.wavelets(g, s) - scipy.linalg.expm(-s * lap)).max()
            assert err <= est.approximation_error_[0] * (1 + 1e-9) + 1e-13, (order, s, err)
            # the spectrum really is inside [0, lambda_max]
            assert np.linalg.eigvalsh(lap).max() <= est.lambda_max_ * (1 + 1e-12)


def test_auto_order_meets_its_accuracy():
    g = graph_of(GRAPHS["karate"])
    for kind in LAPLACIANS:
        est = GraphWave(laplacian=kind, n_points=2, n_jobs=1).fit(g)
        assert np.all(est.approximation_error_ <= 1e-8 / est.t_max)
        fewer = GraphWave(scales=list(est.scales_), order=est.order_ - 1, laplacian=kind, n_points=2,
                          n_jobs=1).fit(g)
        assert np.any(fewer.approximation_error_ > 1e-8 / est.t_max)  # the smallest such order


def test_automatic_scales_follow_the_reference_rule():
    g = graph_of(GRAPHS["karate"])
    est = GraphWave(n_points=2, n_jobs=1).fit(g)
    n = g.n_nodes  # snap-stanford/graphwave: s = -log(eta) sqrt(0.5 / l1), l1 = 1/n, eta 0.95 .. 0.80
    np.testing.assert_allclose(est.scales_, [-np.log(0.95) * np.sqrt(0.5 * n), -np.log(0.80) * np.sqrt(0.5 * n)])
    assert est.lambda_max_ == 2.0


# ------------------------------------------------------------------------ (2) characteristic functions
def test_characteristic_function_kernel_matches_numpy():
    rng = np.random.default_rng(1)
    waves = np.ascontiguousarray(rng.normal(0, 0.3, (5, 203)))
    waves[2] = 0.0
    d, delta = 50, 2.0
    re, im = np.empty((5, d)), np.empty((5, d))
    characteristic_function(waves, delta, re, im)
    t = delta * np.arange(1, d + 1)
    phi = np.exp(1j * t[None, :, None] * waves[:, None, :]).mean(axis=2)
    np.testing.assert_allclose(re, phi.real, atol=1e-12)
    np.testing.assert_allclose(im, phi.imag, atol=1e-12)
    assert np.all(re[2] == 1.0) and np.all(im[2] == 0.0)


@pytest.mark.parametrize("kind", LAPLACIANS)
@pytest.mark.parametrize("name", ["star", "karate", "weighted"])
def test_embedding_matches_the_exact_computation(name, kind):
    G = GRAPHS[name]
    g = graph_of(G)
    est = GraphWave(laplacian=kind, n_points=20, t_max=50.0, n_jobs=1)
    got = est.fit_transform(g).vectors
    want = exact_embedding(G, g.node_ids, kind, est.scales_, 20, 50.0)
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=2e-6)


# ------------------------------------------------------------------------ (3) automorphic nodes
def test_barbell_mirror_nodes_have_equal_vectors():
    G = nx.barbell_graph(10, 10)  # mirror: i <-> 29 - i
    emb = GraphWave(n_jobs=1).fit_transform(graph_of(G))
    v = emb.vectors[np.argsort(emb.node_ids)]
    np.testing.assert_allclose(v, v[::-1], atol=1e-6)
    assert np.abs(v[0] - v[10]).max() > 1e-3  # clique node vs path node: different roles
    assert np.abs(v[10] - v[14]).max() > 1e-4  # path nodes at different depths


@pytest.mark.parametrize("kind", LAPLACIANS)
def test_karate_and_its_copy_joined_at_node_0(kind):
    K = nx.karate_club_graph()
    G = nx.disjoint_union(K, K)  # node i of the copy is i + 34
    G.add_edge(0, 34, weight=1.0)
    emb = GraphWave(laplacian=kind, n_jobs=1).fit_transform(graph_of(G))
    v = emb.vectors[np.argsort(emb.node_ids)]
    np.testing.assert_allclose(v[:34], v[34:], atol=1e-6)
    assert np.abs(v[0] - v[33]).max() > 1e-4


# ------------------------------------------------------------------------ (4) threads
def test_thread_count_does_not_change_a_bit():
    G = nx.barabasi_albert_graph(300, 3, seed=0)  # more than one block of columns
    g = graph_of(G)
    one = GraphWave(n_points=16, n_jobs=1).fit_transform(g).vectors
    two = GraphWave(n_points=16, n_jobs=2).fit_transform(g).vectors
    assert one.tobytes() == two.tobytes()


# ------------------------------------------------------------------------ (5) shapes and inputs
def test_shape_and_recorded_parameters():
    g = graph_of(GRAPHS["karate"])
    est = GraphWave(scales=[0.5, 1.0, 2.0], n_points=7, n_jobs=1)
    emb = est.fit_transform(g)
    assert emb.vectors.shape == (34, 2 * 7 * 3)
    assert emb.method == "graphwave" and emb.params["scales"] == [0.5, 1.0, 2.0]
    assert emb.params["order"] == est.order_
    assert GraphWave(n_points=5, n_jobs=1).fit_transform(g).vectors.shape == (34, 2 * 5 * 2)


@pytest.mark.parametrize("kind", LAPLACIANS)
def test_isolated_nodes_and_disconnected_graph(kind):
    g = ge.Graph.from_edges([0, 1, 2, 5, 6, 7], [1, 2, 3, 6, 7, 8], nodes=np.arange(10))
    G = nx.Graph()
    G.add_nodes_from(range(10))
    G.add_edges_from([(0, 1), (1, 2), (2, 3), (5, 6), (6, 7), (7, 8)])  # 4 and 9 isolated
    est = GraphWave(laplacian=kind, n_points=10, n_jobs=1)
    v = est.fit_transform(g).vectors
    assert np.isfinite(v).all()
    np.testing.assert_allclose(v, exact_embedding(G, g.node_ids, kind, est.scales_, 10, 100.0), atol=2e-6)
    pos = {node: i for i, node in enumerate(g.node_ids)}
    for a, b in ((0, 5), (1, 6), (2, 7), (3, 8), (4, 9)):  # the two paths are the same shape
        np.testing.assert_allclose(v[pos[a]], v[pos[b]], atol=1e-6)
    # an isolated node's wavelet is c delta_u: phi(t) = (n - 1) / n + exp(i t c) / n
    c = np.exp(-est.scales_[0]) if kind == "normalized" else 1.0
    t = np.arange(1, 11) * 10.0
    np.testing.assert_allclose(v[pos[4], :10], 0.9 + np.cos(t * c) / 10, atol=1e-6)


def test_edgeless_and_tiny_graphs():
    for n in (1, 3):
        g = ge.Graph.from_edges([], [], nodes=np.arange(n))
        v = GraphWave(n_points=4, n_jobs=1).fit_transform(g).vectors
        assert v.shape == (n, 16) and np.isfinite(v).all()


def test_directed_input_is_symmetrised():
    src, dst = [0, 1, 1, 3, 3, 4], [1, 0, 2, 2, 4, 0]  # 0 <-> 1 both ways: max(A, A^T) keeps 1
    directed = ge.Graph.from_edges(src, dst, directed=True)
    undirected = ge.Graph.from_edges([0, 1, 2, 3, 4], [1, 2, 3, 4, 0])
    a = GraphWave(n_points=8, n_jobs=1).fit_transform(directed)
    b = GraphWave(n_points=8, n_jobs=1).fit_transform(undirected)
    order_a, order_b = np.argsort(a.node_ids), np.argsort(b.node_ids)
    np.testing.assert_allclose(a.vectors[order_a], b.vectors[order_b], atol=1e-7)


def test_bad_parameters_are_input_errors():
    g = graph_of(GRAPHS["path"])
    for kwargs in (dict(scales=[1.0, -2.0]), dict(scales=[]), dict(order=0), dict(order="many"),
                   dict(n_points=0), dict(t_max=0.0), dict(laplacian="random-walk"), dict(n_scales=0)):
        with pytest.raises(InputError):
            GraphWave(**kwargs).fit(g)
    with pytest.raises(InputError, match="smaller scales"):
        GraphWave(scales=[1e12]).fit(g)


# ------------------------------------------------------------------------ (6) CLI
def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "graphembed.cli.main", "graphwave", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)


def test_cli_writes_a_readable_parquet_and_refuses_bad_parameters(tmp_path):
    out = tmp_path / "gw.parquet"
    r = _cli(KARATE_CSV, "-o", out, "--scales", "0.5,2", "--points", 6, "--laplacian", "combinatorial",
             "--threads", 2, "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    emb = ge.Embedding.load(out)
    assert emb.vectors.shape == (34, 24) and emb.method == "graphwave"
    assert emb.params["scales"] == [0.5, 2.0] and emb.params["laplacian"] == "combinatorial"
    for bad in (["--scales", "1,-1"], ["--points", "0"], ["--scales", "1,x"], ["--order", "-3"]):
        r = _cli(KARATE_CSV, "-o", tmp_path / "bad.parquet", *bad, cwd=tmp_path)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1 and "Traceback" not in r.stderr, (bad, r.stderr)
        assert not (tmp_path / "bad.parquet").exists()
