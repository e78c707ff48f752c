"""Downstream tasks: link prediction split/heuristics/evaluation/prediction, clustering,
node classification protocols, plots, and their commands.

Oracles: set algebra on the edge lists, networkx's link-prediction indices and modularity, hand
computations on tiny graphs, brute-force similarity rankings, per-label scikit-learn fits with
hand-written top-k / threshold rules and hand-counted F1.
"""
import json
import math
import subprocess
import sys

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from click.testing import CliRunner
from scipy.sparse.csgraph import connected_components

import graphembed as ge
from graphembed.cli.main import cli
from graphembed.datasets import karate_path, path as shipped_path
from graphembed.io.errors import InputError
from graphembed.tasks import classify, cluster, linkpred, new_links

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
LABELS = shipped_path("karate_labels")


def edge_set(graph):
    rows = np.repeat(np.arange(graph.n_nodes), np.diff(graph.indptr))
    return {(int(a), int(b)) for a, b in zip(rows, graph.indices) if a < b}


def planted(blocks=10, size=40, p_in=0.3, p_out=0.001, seed=1):
    g = nx.planted_partition_graph(blocks, size, p_in, p_out, seed=seed)
    return ge.Graph.from_networkx(g), np.repeat(np.arange(blocks), size)


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "graphembed.cli.main", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)


# ---------------------------------------------------------------------------- edge split
@pytest.mark.parametrize("seed", [0, 3])
def test_split_keeps_components_and_leaks_nothing(seed):
    # two components (a ring with chords and a dense block) plus an isolated node
    g0 = nx.connected_watts_strogatz_graph(60, 6, 0.3, seed=seed)
    g0.add_edges_from((100 + i, 100 + j) for i in range(12) for j in range(i + 1, 12))
    g0.add_node(200)
    graph = ge.Graph.from_networkx(g0)
    residual, pos, neg = linkpred.split_edges(graph, holdout=0.5, seed=seed)
    original = edge_set(graph)
    kept = edge_set(residual)
    removed = {tuple(p) for p in pos.tolist()}
    negatives = {tuple(p) for p in neg.tolist()}
    assert len(removed) == len(pos) == round(0.5 * len(original))
    assert removed <= original and not (removed & kept) and kept | removed == original  # no leak
    assert residual.n_nodes == graph.n_nodes and np.array_equal(residual.node_ids, graph.node_ids)
    n_orig, _ = connected_components(graph.to_scipy(), directed=False)
    n_res, lab = connected_components(residual.to_scipy(), directed=False)
    assert n_res == n_orig == 3
    # negatives: distinct non-edges of the original graph, u < v, as many as positives
    assert len(negatives) == len(neg) == len(pos)
    assert not (negatives & original)
    assert all(u < v for u, v in negatives)
    # same seed, same split
    r2, pos2, neg2 = linkpred.split_edges(graph, holdout=0.5, seed=seed)
    assert np.array_equal(pos, pos2) and np.array_equal(neg, neg2) and edge_set(r2) == kept


def test_split_keeps_weights_and_rejects_forests():
    g = nx.gnp_random_graph(12, 0.5, seed=1)
    for k, (u, v) in enumerate(g.edges):
        g[u][v]["weight"] = 1.0 + k
    graph = ge.Graph.from_networkx(g)
    residual, pos, _ = linkpred.split_edges(graph, 0.4, seed=1)
    a, r = graph.to_scipy(), residual.to_scipy()
    rows, cols = r.nonzero()
    assert np.array_equal(np.asarray(r[rows, cols]).ravel(), np.asarray(a[rows, cols]).ravel())
    assert (r != r.T).nnz == 0
    with pytest.raises(InputError, match="forest"):
        linkpred.split_edges(ge.Graph.from_edges([0, 1, 2], [1, 2, 3]), 0.5)
    with pytest.raises(InputError, match="holdout"):
        linkpred.split_edges(graph, 1.5)
    with pytest.raises(InputError, match="undirected"):
        linkpred.split_edges(ge.Graph.from_edges([0, 1, 2], [1, 2, 0], directed=True), 0.5)


def test_holdout_larger_than_the_non_forest_edges_is_capped():
    cycle = ge.Graph.from_edges([0, 1, 2, 3], [1, 2, 3, 0])  # 4 edges, forest of 3
    with pytest.warns(UserWarning, match="outside a spanning forest"):
        residual, pos, neg = linkpred.split_edges(cycle, 0.9, seed=0)
    assert len(pos) == 1 and residual.n_edges == 3
    assert connected_components(residual.to_scipy())[0] == 1


# ---------------------------------------------------------------------------- heuristics and features
def test_heuristics_equal_hand_computation():
    # 0-1, 0-2, 1-2, 1-3, 2-3, 3-4: N(0) = {1, 2}, N(3) = {1, 2, 4}, deg 1 = deg 2 = 3
    graph = ge.Graph.from_edges([0, 0, 1, 1, 2, 3], [1, 2, 2, 3, 3, 4])
    s = linkpred.heuristic_scores(graph, np.array([[0, 3], [0, 4]]))
    np.testing.assert_allclose(s["common_neighbors"], [2, 0])
    np.testing.assert_allclose(s["jaccard"], [2 / 3, 0])
    np.testing.assert_allclose(s["adamic_adar"], [2 / math.log(3), 0])
    np.testing.assert_allclose(s["preferential_attachment"], [6, 2])


def test_heuristics_equal_networkx_on_a_random_graph():
    g = nx.gnp_random_graph(40, 0.15, seed=4)
    graph = ge.Graph.from_networkx(g)
    pairs = np.array([(u, v) for u in range(40) for v in range(u + 1, 40)])
    s = linkpred.heuristic_scores(graph, pairs)
    ebunch = [tuple(p) for p in pairs.tolist()]
    np.testing.assert_allclose(s["jaccard"], [x for _, _, x in nx.jaccard_coefficient(g, ebunch)])
    np.testing.assert_allclose(s["adamic_adar"], [x for _, _, x in nx.adamic_adar_index(g, ebunch)])
    np.testing.assert_allclose(s["preferential_attachment"],
                               [x for _, _, x in nx.preferential_attachment(g, ebunch)])
    np.testing.assert_allclose(s["common_neighbors"],
                               [len(list(nx.common_neighbors(g, u, v))) for u, v in ebunch])


def test_edge_operators():
    x = np.array([[1.0, -2.0], [3.0, 4.0]])
    pairs = np.array([[0, 1]])
    np.testing.assert_allclose(linkpred.edge_features(x, pairs, "average"), [[2.0, 1.0]])
    np.testing.assert_allclose(linkpred.edge_features(x, pairs, "hadamard"), [[3.0, -8.0]])
    np.testing.assert_allclose(linkpred.edge_features(x, pairs, "weighted_l1"), [[2.0, 6.0]])
    np.testing.assert_allclose(linkpred.edge_features(x, pairs, "weighted_l2"), [[4.0, 36.0]])


# ---------------------------------------------------------------------------- evaluation
def test_link_prediction_auc_on_planted_partition():
    graph, _ = planted()
    res = linkpred.evaluate(graph, ge.FastRP(dim=64, random_state=0), holdout=0.5,
                            operators="all", seed=0)
    assert res["edges_removed"] == round(0.5 * graph.n_edges)
    assert res["train_pairs"] + res["test_pairs"] == 2 * res["edges_removed"]
    assert res["operators"]["hadamard"]["auc"] > 0.9
    assert set(res["operators"]) == set(linkpred.OPERATORS)
    assert set(res["heuristics"]) == set(linkpred.HEURISTICS)
    # the residual embedding must not see test edges: a random embedding scores about 0.5
    rand = linkpred.evaluate(graph, lambda g: ge.Embedding(g.node_ids, np.random.default_rng(0)
                                                           .normal(size=(g.n_nodes, 16))),
                             operators=("hadamard",), seed=0, heuristics=())
    assert abs(rand["operators"]["hadamard"]["auc"] - 0.5) < 0.1


def test_evaluate_accepts_a_registry_name_and_checks_operators():
    graph, _ = ge.datasets.karate()
    res = linkpred.evaluate(graph, "fastrp", operators=("average",), heuristics=(), seed=1)
    assert res["method"] == "fastrp" and 0 <= res["operators"]["average"]["auc"] <= 1
    with pytest.raises(InputError, match="unknown operator"):
        linkpred.evaluate(graph, "fastrp", operators=("sum",))
    with pytest.raises(InputError, match="no parameter"):
        linkpred.make_embedder("fastrp", {"bogus": 1})


# ---------------------------------------------------------------------------- prediction
def test_predict_equals_brute_force():
    g = nx.gnp_random_graph(50, 0.1, seed=2)
    graph = ge.Graph.from_networkx(g)
    vec = np.random.default_rng(5).normal(size=(50, 8)).astype(np.float32)
    emb = ge.Embedding(graph.node_ids, vec)
    unit = vec / np.linalg.norm(vec, axis=1, keepdims=True)
    sim = unit @ unit.T
    edges = edge_set(graph)
    cand = [(sim[u, v], u, v) for u in range(50) for v in range(u + 1, 50) if (u, v) not in edges]
    best = sorted(cand, reverse=True)[:15]
    res = new_links.predict(graph, emb, top=15)
    got = [(min(s, t), max(s, t)) for s, t in zip(res["source"].tolist(), res["target"].tolist())]
    assert got == [(u, v) for _, u, v in best]
    np.testing.assert_allclose(res["score"], [s for s, _, _ in best], rtol=1e-5)
    per = new_links.predict(graph, emb, top=3, per_node=True)
    for u in (0, 17, 49):
        mine = per["target"][per["source"] == u].tolist()
        nbrs = set(g[u]) | {u}
        expect = [v for v in np.argsort(-sim[u], kind="stable") if v not in nbrs][:3]
        assert mine == expect
    rescored = new_links.predict(graph, emb, top=5, rescore=True)
    assert len(rescored["source"]) == 5 and np.all((rescored["score"] >= 0) & (rescored["score"] <= 1))
    assert all((min(s, t), max(s, t)) not in edges for s, t in zip(rescored["source"], rescored["target"]))


# ---------------------------------------------------------------------------- clustering
def test_clustering_recovers_planted_blocks():
    from sklearn.metrics import normalized_mutual_info_score

    graph, truth = planted(blocks=6, size=40, p_in=0.3, p_out=0.005, seed=3)
    emb = ge.FastRP(dim=64, random_state=0).fit_transform(graph)
    km, centroids, _ = cluster.kmeans(emb.vectors, 6, seed=0, nredo=3, normalize=True)
    assert centroids.shape == (6, 64)
    assert normalized_mutual_info_score(truth, km) > 0.9
    scores = cluster.cluster_scores(km, truth)
    assert scores["nmi"] > 0.9 and scores["nodes"] == 240
    ld = cluster.leiden(emb.vectors, knn=15, seed=0)
    assert normalized_mutual_info_score(truth, ld) > 0.9


def test_modularity_equals_networkx():
    g = nx.karate_club_graph()
    graph = ge.Graph.from_networkx(g, weight=None)
    labels = np.random.default_rng(0).integers(0, 3, 34)
    comms = [set(np.flatnonzero(labels == c).tolist()) for c in range(3)]
    assert cluster.modularity(graph, labels) == pytest.approx(nx.community.modularity(g, comms, weight=None))
    weighted = ge.Graph.from_networkx(g)  # karate_club_graph carries interaction counts as weights
    assert weighted.is_weighted
    assert cluster.modularity(weighted, labels) == pytest.approx(nx.community.modularity(g, comms))
    # weighted, with a self-loop
    w = nx.Graph()
    w.add_weighted_edges_from([(0, 1, 2.0), (1, 2, 1.0), (2, 3, 3.0), (3, 0, 0.5), (2, 2, 1.5)])
    wg = ge.Graph.from_networkx(w, self_loops=True)
    part = np.array([0, 0, 1, 1])
    order = [wg.node_ids.tolist().index(i) for i in range(4)]
    lab = np.empty(4, int)
    lab[order] = part
    assert cluster.modularity(wg, lab) == pytest.approx(nx.community.modularity(w, [{0, 1}, {2, 3}]))


def test_kmeans_checks_k():
    with pytest.raises(InputError, match="at most"):
        cluster.kmeans(np.zeros((3, 2), np.float32), 5)


# ---------------------------------------------------------------------------- classification
def _hand_f1(y, pred):
    """(macro, micro) F1 counted by hand."""
    f1s, tp_all, fp_all, fn_all = [], 0, 0, 0
    for j in range(y.shape[1]):
        tp = sum(1 for i in range(len(y)) if y[i, j] and pred[i, j])
        fp = sum(1 for i in range(len(y)) if not y[i, j] and pred[i, j])
        fn = sum(1 for i in range(len(y)) if y[i, j] and not pred[i, j])
        f1s.append(0.0 if 2 * tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn))
        tp_all, fp_all, fn_all = tp_all + tp, fp_all + fp, fn_all + fn
    return sum(f1s) / len(f1s), 2 * tp_all / (2 * tp_all + fp_all + fn_all)


def _multilabel_set(seed=0, n=60, c=4, d=6):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    y = (x[:, :c] + 0.8 * rng.normal(size=(n, c))) > 0.6
    y[~y.any(1), 0] = True  # at least one label each
    y[::9] = False  # a few unlabelled nodes, left out
    return x, y


@pytest.mark.parametrize("protocol", ["topk", "threshold"])
def test_classification_protocols_equal_hand_computation(protocol):
    from sklearn.linear_model import LogisticRegression

    x, y = _multilabel_set()
    res = classify.node_classification(x, y, train=0.6, splits=3, protocol=protocol, seed=4, C=1.0,
                                       standardize=False)
    keep = y.any(1)
    xk, yk = x[keep], y[keep]
    n = len(xk)
    assert res["nodes"] == n and res["multilabel"] and res["protocol"] == protocol
    macros, micros = [], []
    for s in range(3):
        perm = np.random.default_rng(4 + s).permutation(n)
        tr, te = perm[:round(0.6 * n)], perm[round(0.6 * n):]
        scores = np.column_stack([
            LogisticRegression(solver="liblinear", C=1.0).fit(xk[tr], yk[tr, j]).decision_function(xk[te])
            for j in range(y.shape[1])])
        pred = np.zeros_like(yk[te])
        for i in range(len(te)):
            if protocol == "topk":
                k = int(yk[te][i].sum())
                for j in sorted(range(y.shape[1]), key=lambda j: -scores[i, j])[:k]:
                    pred[i, j] = True
            else:
                pred[i] = scores[i] >= 0
        ma, mi = _hand_f1(yk[te], pred)
        macros.append(ma)
        micros.append(mi)
    assert res["macro_f1_splits"] == pytest.approx(macros)
    assert res["micro_f1"] == pytest.approx(np.mean(micros))
    assert res["macro_f1"] == pytest.approx(np.mean(macros))


def test_f1_and_topk_rules_by_hand():
    y = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 0]], bool)
    scores = np.array([[0.9, 0.8, -0.1], [0.2, 0.3, 0.1], [-0.5, -0.2, -0.3]])
    topk = classify.top_k_predict(scores, y.sum(1))
    assert topk.tolist() == [[True, True, False], [False, True, False], [False, True, False]]
    # label 0: tp 1, fn 1 -> 2/3; label 1: tp 1, fp 2 -> 2/4; label 2: fn 1 -> 0
    macro, micro = classify.f1_macro_micro(y, topk)
    assert macro == pytest.approx((2 / 3 + 1 / 2 + 0) / 3)
    assert micro == pytest.approx(2 * 2 / (2 * 2 + 2 + 2))
    assert classify.threshold_predict(scores).tolist() == (scores >= 0).tolist()
    assert classify.threshold_predict(scores, multilabel=False).sum(1).tolist() == [1, 1, 1]


def test_single_label_protocols_coincide_and_karate_is_learnable():
    graph, clubs = ge.datasets.karate()
    emb = ge.FastRP(dim=32, random_state=0).fit_transform(graph)
    a = classify.node_classification(emb, clubs, protocol="topk", splits=3)
    b = classify.node_classification(emb, clubs, protocol="threshold", splits=3)
    assert not a["multilabel"] and a["macro_f1"] == b["macro_f1"] and a["micro_f1"] > 0.8
    with pytest.raises(InputError, match="protocol"):
        classify.node_classification(emb, clubs, protocol="oracle")


def test_read_labels_csv_and_mat(tmp_path):
    ids = np.array([10, 20, 30, 40], dtype=np.int64)
    f = tmp_path / "labels.csv"
    f.write_text("node,label\n10,a\n20,b\n10,b\n99,a\n30,a\n")
    lab = classify.read_labels(f, ids)
    assert lab.classes == ["a", "b"] and lab.multilabel and lab.unmatched == 1
    assert lab.y.tolist() == [[True, True], [False, True], [True, False], [False, False]]
    assert lab.labelled.tolist() == [True, True, True, False]
    t = tmp_path / "labels.tsv"
    t.write_text("10\t3\n20\t1\n")
    assert classify.read_labels(t, ids).classes == ["1", "3"]
    import scipy.io

    group = sp.csr_matrix(np.array([[1, 0, 1], [0, 1, 0], [0, 0, 0], [1, 0, 0], [0, 0, 1]]))
    scipy.io.savemat(tmp_path / "g.mat", {"network": sp.csr_matrix(np.eye(5)), "group": group})
    m = classify.read_labels(tmp_path / "g.mat", np.array([4, 0, 1]))
    assert m.y.astype(int).tolist() == [[0, 0, 1], [1, 0, 1], [0, 1, 0]]
    with pytest.raises(InputError, match="none of"):
        classify.read_labels(f, np.array([1, 2]))


# ---------------------------------------------------------------------------- plots
def test_plots_are_valid_pngs(tmp_path):
    import matplotlib.image as mpimg

    from graphembed.tasks.plot import plot_embedding, plot_roc

    rng = np.random.default_rng(0)
    emb = ge.Embedding(np.arange(3000), rng.normal(size=(3000, 16)), method="test")
    labels = rng.integers(0, 15, 3000)
    info = plot_embedding(emb, tmp_path / "big.png", labels, reducer="pca", max_points=1000)
    assert info["points"] == 1000 and info["reducer"] == "PCA"
    graph, clubs = ge.datasets.karate()
    small = ge.FastRP(dim=8, random_state=0).fit_transform(graph)
    assert plot_embedding(small, tmp_path / "k.png", clubs, reducer="tsne")["reducer"] == "t-SNE"
    res = linkpred.evaluate(graph, "fastrp", operators=("hadamard",), seed=0, return_scores=True)
    plot_roc(res["scores"], tmp_path / "roc.png")
    for name in ("big.png", "k.png", "roc.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == PNG_MAGIC
        assert mpimg.imread(tmp_path / name).shape[0] > 200
    assert not list(tmp_path.glob(".*tmp"))


# ---------------------------------------------------------------------------- commands
def test_linkpred_commands(tmp_path):
    runner = CliRunner()
    r = runner.invoke(cli, ["linkpred", "evaluate", str(karate_path()), "--method", "fastrp",
                            "--param", "dim=16", "--operator", "all", "--json", "--plot",
                            str(tmp_path / "roc.png")])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["params"]["dim"] == 16 and set(res["operators"]) == set(linkpred.OPERATORS)
    assert (tmp_path / "roc.png").read_bytes()[:8] == PNG_MAGIC
    emb = tmp_path / "k.parquet"
    ge.FastRP(dim=16, random_state=0).fit_transform(ge.read_graph(karate_path())).save(emb)
    r = runner.invoke(cli, ["linkpred", "predict", str(karate_path()), "--embedding", str(emb),
                            "--top", "7", "-o", str(tmp_path / "new.csv"), "--quiet"])
    assert r.exit_code == 0, r.output
    lines = (tmp_path / "new.csv").read_text().splitlines()
    assert len(lines) == 8 and "source" in lines[0]
    edges = edge_set(ge.read_graph(karate_path()))
    for line in lines[1:]:
        s, t = (int(v) for v in line.split(",")[:2])
        assert (min(s, t), max(s, t)) not in edges


def test_classify_cluster_plot_commands(tmp_path):
    runner = CliRunner()
    emb = tmp_path / "k.parquet"
    ge.FastRP(dim=16, random_state=0).fit_transform(ge.read_graph(karate_path())).save(emb)
    r = runner.invoke(cli, ["classify", str(emb), "--labels", str(LABELS), "--protocol", "both", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert [x["protocol"] for x in out["results"]] == ["topk", "threshold"] and out["classes"] == 2
    r = runner.invoke(cli, ["cluster", str(emb), "--k", "2", "--labels", str(LABELS), "--graph",
                            str(karate_path()), "-o", str(tmp_path / "c.csv"), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["clusters"] == 2 and {"nmi", "ari", "modularity"} <= set(out)
    assert len((tmp_path / "c.csv").read_text().splitlines()) == 35
    r = runner.invoke(cli, ["plot", str(emb), "--clusters", str(tmp_path / "c.csv"), "-o",
                            str(tmp_path / "p.png"), "--reducer", "pca", "--quiet"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "p.png").read_bytes()[:8] == PNG_MAGIC


def test_bench_paper_quick_on_tiny_files(tmp_path):
    import scipy.io

    graph, truth = planted(blocks=3, size=20, p_in=0.4, p_out=0.02, seed=0)
    group = sp.csr_matrix(np.eye(3)[truth])
    scipy.io.savemat(tmp_path / "Homo_sapiens.mat", {"network": graph.to_scipy().astype(float), "group": group})
    rows = np.repeat(np.arange(graph.n_nodes), np.diff(graph.indptr))
    upper = rows < graph.indices
    (tmp_path / "facebook_combined.txt").write_text(
        "".join(f"{a} {b}\n" for a, b in zip(rows[upper], graph.indices[upper])))
    r = CliRunner().invoke(cli, ["bench", "paper", "--data", str(tmp_path), "--datasets", "ppi,facebook",
                                 "--methods", "fastrp,deepwalk", "--quick", "--json", "--threads", "1"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)["rows"]
    got = {(x["dataset"], x["method"]): x for x in out}
    assert got[("ppi", "deepwalk")]["published"] == 0.1768
    assert 0 <= got[("ppi", "fastrp")]["ours"] <= 1 and got[("facebook", "fastrp")]["ours"] > 0.8
    assert ("facebook", "common_neighbors") in got


@pytest.mark.parametrize("args, message", [
    (["linkpred", "evaluate", "KARATE", "--method", "nope"], "unknown embedder"),
    (["linkpred", "evaluate", "KARATE", "--param", "dim"], "key=value"),
    (["linkpred", "predict", "KARATE", "--embedding", "missing.parquet"], "not found"),
    (["classify", "EMB", "--labels", "missing.csv"], "not found"),
    (["cluster", "EMB"], "needs --k"),
    (["plot", "EMB", "-o", "x.jpg"], "PNG"),
    (["bench", "paper", "--data", "no_such_dir"], "not found"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, monkeypatch, args, message):
    emb = tmp_path / "k.parquet"
    if "EMB" in args:
        ge.FastRP(dim=4, random_state=0).fit_transform(ge.read_graph(karate_path())).save(emb)
    args = [str(karate_path()) if a == "KARATE" else str(emb) if a == "EMB" else a for a in args]
    if args[0] == "linkpred" and "nope" in args:  # one run as a real process
        result = run_cli(*args, cwd=tmp_path)
        code = result.returncode
    else:
        monkeypatch.chdir(tmp_path)
        result = CliRunner().invoke(cli, args)
        code = result.exit_code
    assert code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("graphembed: error:"), result.stderr
    assert message in lines[0]


def test_labels_missing_from_the_training_share_are_never_predicted():
    """scikit-learn's constant predictor scores such a label 0, above every real score."""
    from graphembed.tasks.classify import mask_untrained, threshold_predict, top_k_predict

    scores = np.array([[-2.0, 0.0, -1.0], [-0.5, 0.0, -3.0]])  # column 1: the constant predictor
    y_train = np.array([[1, 0, 0], [0, 0, 1]])
    masked = mask_untrained(scores, y_train)
    assert np.isneginf(masked[:, 1]).all()
    assert top_k_predict(masked, [1, 1]).tolist() == [[False, False, True], [True, False, False]]
    assert not threshold_predict(masked)[:, 1].any()
    # Without the mask, top-k would have given every node the never-seen label.
    assert top_k_predict(scores, [1, 1])[:, 1].all()
