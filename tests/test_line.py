"""LINE: block separation, loss against the exact objective, alias frequencies, seeds, CLI."""
import json
import subprocess
import sys

import numpy as np
import pytest

import graphembed as ge
from graphembed.datasets import karate_path
from graphembed.io.errors import InputError


def planted_partition(rng, size=60, p_in=0.3, p_out=0.01, directed=False):
    """Two blocks of ``size`` nodes: (Graph, block label per node index)."""
    n = 2 * size
    block = np.repeat([0, 1], size)
    u, v = np.triu_indices(n, 1) if not directed else np.nonzero(~np.eye(n, dtype=bool))
    p = np.where(block[u] == block[v], p_in, p_out)
    keep = rng.random(u.size) < p
    g = ge.Graph.from_edges(u[keep], v[keep], nodes=np.arange(n), directed=directed)
    assert np.array_equal(g.node_ids, np.arange(n))
    return g, block


def cv_accuracy(x, y):
    """Mean 5-fold accuracy of a logistic regression (held-out folds, not training accuracy)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    return cross_val_score(LogisticRegression(max_iter=1000), x, y, cv=folds).mean()


@pytest.mark.parametrize("order", [1, 2, "both"])
def test_orders_separate_planted_blocks(rng, order):
    g, block = planted_partition(rng)
    est = ge.LINE(order=order, dim=16, n_samples=300_000, random_state=0, n_jobs=1)
    x = est.fit_transform(g).vectors
    assert x.shape == (g.n_nodes, 16) and x.dtype == np.float32
    assert cv_accuracy(x, block) > 0.95


def test_two_threads_keep_the_quality(rng):
    g, block = planted_partition(rng)
    x = ge.LINE(order=2, dim=16, n_samples=300_000, random_state=3, n_jobs=2).fit_transform(g).vectors
    assert cv_accuracy(x, block) > 0.95


def test_weights_drive_the_sampling(rng):
    # Every pair is an edge with probability 0.3 regardless of the blocks; only the weights
    # (10 inside a block, 0.1 across) carry the partition.
    n = 80
    block = np.repeat([0, 1], n // 2)
    u, v = np.triu_indices(n, 1)
    keep = rng.random(u.size) < 0.3
    u, v = u[keep], v[keep]
    w = np.where(block[u] == block[v], 10.0, 0.1)
    weighted = ge.Graph.from_edges(u, v, w, nodes=np.arange(n))
    plain = ge.Graph.from_edges(u, v, nodes=np.arange(n))
    kw = dict(order=2, dim=16, n_samples=200_000, random_state=0, n_jobs=1)
    assert cv_accuracy(ge.LINE(**kw).fit_transform(weighted).vectors, block) > 0.95
    assert cv_accuracy(ge.LINE(**kw).fit_transform(plain).vectors, block) < 0.8


def exact_objective(graph, vec, ctx, negative):
    """Expected loss per sampled edge: E_(u,v)~w [softplus(-e_u.c_v) + K E_n~d^.75 softplus(e_u.c_n)]."""
    a = graph.to_scipy().tocoo()
    w = a.data / a.data.sum()
    noise = np.asarray(a.sum(axis=1)).ravel() ** 0.75
    noise /= noise.sum()
    scores = vec.astype(np.float64) @ ctx.astype(np.float64).T  # (n, n)
    positive = np.logaddexp(0.0, -scores[a.row, a.col])
    neg = np.logaddexp(0.0, scores) @ noise  # per source node
    return float(np.sum(w * (positive + negative * neg[a.row])))


def test_loss_falls_and_matches_the_exact_objective(rng):
    g, _ = planted_partition(rng)
    est = ge.LINE(order=2, dim=16, n_samples=400_000, negative=5, learning_rate=0.025,
                  random_state=1, n_jobs=1).fit(g)
    hist = est.loss_history_
    assert hist.size >= 20
    # Before training the contexts are zero: every pair costs log 2.
    np.testing.assert_allclose(hist[0], 6 * np.log(2), rtol=0.05)
    assert hist[-5:].mean() < 0.8 * hist[:3].mean()
    exact = exact_objective(g, est.vectors_second_, est.contexts_second_, 5)
    assert exact < 0.8 * 6 * np.log(2)
    # The sampled trace at the end of training estimates the same expectation.
    np.testing.assert_allclose(hist[-3:].mean(), exact, rtol=0.1)


def test_first_order_loss_falls(rng):
    # Half the negatives fall in the node's own block, so the first-order optimum here is
    # only about 0.14 below the starting log-loss (6 log 2): the checks use that scale.
    g, _ = planted_partition(rng)
    est = ge.LINE(order=1, dim=16, n_samples=400_000, random_state=1, n_jobs=1).fit(g)
    first = est.vectors_first_
    exact = exact_objective(g, first, first, 5)
    start = 6 * np.log(2)
    np.testing.assert_allclose(est.loss_history_[:2].mean(), start, rtol=0.01)
    assert exact < start - 0.08
    np.testing.assert_allclose(est.loss_history_[-5:].mean(), exact, rtol=0.02)


def chi_square_p(counts, expected_prob):
    from scipy.stats import chisquare

    expected = expected_prob / expected_prob.sum() * counts.sum()
    return chisquare(counts, expected).pvalue


def test_edge_alias_frequencies_match_weights(rng):
    from graphembed._kernels.alias import alias_tables
    from graphembed._kernels.line import draw_alias

    weights = rng.uniform(0.05, 5.0, 300).astype(np.float32)
    weights[::17] = 0.0  # never drawn
    prob, alias = alias_tables(np.array([0, weights.size], np.int64), weights)
    draws = np.empty(2_000_000, np.int64)
    draw_alias(prob, alias, 42, draws.size, draws)
    counts = np.bincount(draws, minlength=weights.size)
    assert counts[weights == 0].sum() == 0
    assert chi_square_p(counts[weights > 0], weights[weights > 0].astype(np.float64)) > 1e-3


def test_negative_table_follows_degree_power(rng):
    from graphembed._kernels.line import draw_alias

    src, dst = rng.integers(0, 50, 400), rng.integers(0, 50, 400)
    w = rng.uniform(0.5, 3.0, 400)
    g = ge.Graph.from_edges(src, dst, w, directed=True, nodes=np.arange(50), duplicates="sum")
    tables = ge.LINE()._sampling_tables(g)
    draws = np.empty(1_000_000, np.int64)
    draw_alias(tables["neg_prob"], tables["neg_alias"], 7, draws.size, draws)
    counts = np.bincount(draws, minlength=50)
    keep = src != dst  # self-loops are dropped by default
    out_w = np.bincount(src[keep], weights=w[keep], minlength=50)  # oracle from the edge list
    assert counts[out_w == 0].sum() == 0
    assert chi_square_p(counts[out_w > 0], out_w[out_w > 0] ** 0.75) > 1e-3
    # Edge table: stored arcs drawn in proportion to their (summed) weights.
    edges = np.empty(1_000_000, np.int64)
    draw_alias(tables["edge_prob"], tables["edge_alias"], 8, edges.size, edges)
    counts = np.bincount(edges, minlength=g.nnz)
    assert np.array_equal(tables["src"], np.repeat(np.arange(50), np.diff(g.indptr)))
    assert chi_square_p(counts, g.weights.astype(np.float64)) > 1e-3


def test_seed_reproduces_with_one_thread_and_differs_otherwise(rng):
    g, _ = planted_partition(rng, size=30)
    kw = dict(order="both", dim=8, n_samples=50_000, n_jobs=1)
    a = ge.LINE(random_state=5, **kw).fit_transform(g).vectors
    b = ge.LINE(random_state=5, **kw).fit_transform(g).vectors
    c = ge.LINE(random_state=6, **kw).fit_transform(g).vectors
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


def test_both_concatenates_normalised_halves(rng):
    g, _ = planted_partition(rng, size=20)
    est = ge.LINE(order="both", dim=12, n_samples=20_000, random_state=0, n_jobs=1).fit(g)
    x = est.embedding_.vectors
    np.testing.assert_allclose(np.linalg.norm(x[:, :6], axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(x[:, 6:], axis=1), 1.0, rtol=1e-5)
    first = est.vectors_first_ / np.linalg.norm(est.vectors_first_, axis=1, keepdims=True)
    np.testing.assert_allclose(x[:, :6], first, rtol=1e-5)
    assert est.embedding_.params["n_samples"] == 20_000 and est.n_samples_ == 20_000


def test_default_samples_scale_with_the_graph(rng):
    small, _ = planted_partition(rng, size=10)
    assert ge.LINE().default_samples(small) == 1_000_000
    g, _ = planted_partition(rng, size=300)
    assert ge.LINE().default_samples(g) == 100 * g.nnz > 1_000_000


def test_directed_graph_and_sinks(rng):
    g, block = planted_partition(rng, size=40, p_in=0.2, directed=True)
    x = ge.LINE(order=2, dim=16, n_samples=200_000, random_state=0, n_jobs=1).fit_transform(g).vectors
    assert cv_accuracy(x, block) > 0.95
    # A sink (no out-edges) is never a source nor a negative: its vertex vector stays initial.
    sink = ge.Graph.from_edges([0, 1, 2], [1, 2, 3], directed=True)
    est = ge.LINE(order=2, dim=4, n_samples=10_000, random_state=0, n_jobs=1).fit(sink)
    init = ge.LINE(order=2, dim=4, n_samples=1, random_state=0, n_jobs=1).fit(sink)
    np.testing.assert_array_equal(est.vectors_second_[3], init.vectors_second_[3])
    assert np.abs(est.contexts_second_[3]).sum() > 0  # but it is a context of 2 -> 3


def test_accepts_scipy_and_networkx():
    import networkx as nx

    nxg = nx.karate_club_graph()
    emb = ge.LINE(order=1, dim=4, n_samples=5_000, random_state=0, n_jobs=1).fit_transform(nxg)
    assert len(emb) == 34
    emb = ge.LINE(order=1, dim=4, n_samples=5_000, random_state=0, n_jobs=1).fit_transform(
        nx.to_scipy_sparse_array(nxg, weight=None))
    assert len(emb) == 34


@pytest.mark.parametrize("params, message", [
    (dict(order=3), "order"),
    (dict(order="both", dim=7), "even dim"),
    (dict(dim=0), "dim"),
    (dict(negative=-1), "negative"),
    (dict(learning_rate=0.0), "learning_rate"),
    (dict(n_samples=0), "n_samples"),
    (dict(random_state=-1), "random_state"),
])
def test_bad_parameters_raise_input_error(params, message):
    g = ge.Graph.from_edges([0, 1], [1, 2])
    with pytest.raises(InputError, match=message):
        ge.LINE(**params).fit(g)


def test_graph_without_edges_raises():
    with pytest.raises(InputError, match="no edges"):
        ge.LINE(n_samples=10).fit(ge.Graph.from_edges([], [], nodes=[0, 1, 2]))


def test_registry_and_lazy_attribute():
    from graphembed.embed.line import LINE

    assert ge.get_embedder("line") is LINE and ge.LINE is LINE


# ---------------------------------------------------------------------------- CLI
def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "graphembed.cli.main", *map(str, args)],
                          capture_output=True, text=True)


@pytest.mark.parametrize("text, value", [("100M", 100_000_000), ("1.5M", 1_500_000), ("100000", 100_000),
                                         ("20k", 20_000), ("1e6", 1_000_000), ("2B", 2_000_000_000),
                                         ("auto", None)])
def test_parse_count(text, value):
    from graphembed.cli.line import parse_count

    assert parse_count(text) == value


@pytest.mark.parametrize("text", ["1.5x", "-3", "0", "0.5", "M", "1.2345k"])
def test_parse_count_rejects(text):
    from graphembed.cli.line import parse_count

    with pytest.raises(ValueError):
        parse_count(text)


def test_cli_writes_embedding_and_reports_samples(tmp_path):
    out = tmp_path / "k.npz"
    result = run_cli("line", karate_path(), "-o", out, "--order", "2", "--dim", 8, "--samples", "0.2M",
                     "--negative", 3, "--lr", 0.05, "--seed", 4, "--threads", 1, "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["method"] == "line" and summary["params"]["n_samples"] == 200_000
    assert summary["params"]["order"] == 2 and summary["params"]["negative"] == 3
    emb = ge.Embedding.load(out)
    g = ge.read_graph(karate_path())
    ref = ge.LINE(order=2, dim=8, n_samples=200_000, negative=3, learning_rate=0.05, random_state=4,
                  n_jobs=1).fit_transform(g)
    assert list(emb.node_ids) == list(ref.node_ids)
    np.testing.assert_array_equal(emb.vectors, ref.vectors)


def test_cli_default_samples_are_reported(tmp_path):
    result = run_cli("line", karate_path(), "-o", tmp_path / "k.csv", "--order", "1", "--dim", 4,
                     "--seed", 0, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["params"]["n_samples"] == 1_000_000


def test_cli_bad_input_is_one_line_exit_2(tmp_path):
    out = tmp_path / "k.parquet"
    result = run_cli("line", karate_path(), "-o", out, "--order", "both", "--dim", 15)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "graphembed: error:" in result.stderr
    assert "even dim" in result.stderr and not out.exists()
    bad = run_cli("line", karate_path(), "-o", out, "--samples", "lots")
    assert bad.returncode == 2 and "--samples" in bad.stderr and "Traceback" not in bad.stderr


def test_prefetch_hint_compiles_and_changes_nothing():
    from numba import njit

    from graphembed._kernels.prefetch import prefetch_row

    @njit
    def gather(a, rows):
        total = 0.0
        for k in range(rows.shape[0]):
            if k + 1 < rows.shape[0]:
                prefetch_row(a, rows[k + 1])
            for i in range(a.shape[1]):
                total += a[rows[k], i]
        return total

    a = np.arange(50 * 40, dtype=np.float32).reshape(50, 40)
    rows = np.array([3, 49, 0, 7, 7], dtype=np.int64)
    assert gather(a, rows) == pytest.approx(float(a[rows].sum()))
