"""node2vec p, q selection of the paper reproduction (graphembed.tasks.paper.select_pq)."""
import json

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from click.testing import CliRunner

import graphembed as ge
from graphembed.cli.main import cli
from graphembed.io.errors import InputError
from graphembed.tasks.paper import cv_macro_f1, markdown, select_pq

TINY = dict(dim=8, walks_per_node=2, walk_length=10, window=3)
GRID = (0.5, 2.0)


def labelled_graph(blocks=3, size=20, seed=0):
    g = nx.planted_partition_graph(blocks, size, 0.4, 0.02, seed=seed)
    graph = ge.Graph.from_networkx(g)
    truth = np.repeat(np.arange(blocks), size)
    y = np.eye(blocks, dtype=bool)[truth]
    y[::7, (truth[::7] + 1) % blocks] = True  # a few nodes with two labels (multi-label data)
    y[5] = False  # and an unlabelled node
    return graph, y


def test_select_pq_returns_the_argmax_of_a_full_grid():
    graph, y = labelled_graph()
    out = select_pq(graph, y, grid=GRID, label_fraction=0.5, folds=3, seed=1, threads=1, **TINY)
    assert set(out["scores"]) == {(p, q) for p in GRID for q in GRID}
    assert (out["p"], out["q"]) in out["scores"]
    assert out["score"] == max(out["scores"].values()) == out["scores"][(out["p"], out["q"])]
    assert all(0 <= v <= 1 for v in out["scores"].values())
    assert all(len(f) == 3 for f in out["fold_scores"].values())
    # the sample: half of the 59 labelled nodes, all labelled
    assert len(out["nodes"]) == 30 and y[out["nodes"]].any(axis=1).all()
    assert "embedding" not in out


def test_select_pq_same_seed_same_result():
    graph, y = labelled_graph()
    a = select_pq(graph, y, grid=GRID, label_fraction=0.5, folds=3, seed=2, threads=1,
                  keep_best=True, **TINY)
    b = select_pq(graph, y, grid=GRID, label_fraction=0.5, folds=3, seed=2, threads=1, **TINY)
    assert (a["p"], a["q"]) == (b["p"], b["q"])
    assert a["scores"] == b["scores"]
    assert np.array_equal(a["nodes"], b["nodes"])
    # the kept fit is the chosen point's, as a fresh fit with the same seed gives it
    ref = ge.Node2Vec(p=a["p"], q=a["q"], random_state=2, n_jobs=1, **TINY).fit_transform(graph)
    assert np.array_equal(a["embedding"].vectors, ref.vectors)


def test_cv_macro_f1_separable_and_bad_folds():
    rng = np.random.default_rng(0)
    truth = np.repeat(np.arange(3), 30)
    x = np.eye(3)[truth] * 5 + rng.normal(scale=0.1, size=(90, 3))
    mean, per_fold = cv_macro_f1(x, truth, folds=5, seed=0)
    assert mean == pytest.approx(1.0) and len(per_fold) == 5
    with pytest.raises(InputError):
        cv_macro_f1(x[:3], truth[:3], folds=5)
    with pytest.raises(InputError):
        select_pq(ge.Graph.from_networkx(nx.path_graph(4)), np.array([0, 1, 0, 1]), grid=(0,))


def test_bench_paper_select_pq_cli(tmp_path):
    import scipy.io

    graph, y = labelled_graph(size=30)
    scipy.io.savemat(tmp_path / "Homo_sapiens.mat", {"network": graph.to_scipy().astype(float),
                                                     "group": sp.csr_matrix(y.astype(float))})
    runner = CliRunner()
    r = runner.invoke(cli, ["bench", "paper", "--data", str(tmp_path), "--datasets", "ppi",
                            "--select-pq", "--pq", "ppi=1,1", "--quick"])
    assert r.exit_code == 2 and "--select-pq" in r.output
    r = runner.invoke(cli, ["bench", "paper", "--data", str(tmp_path), "--datasets", "ppi",
                            "--methods", "node2vec", "--select-pq", "--quick", "--threads", "1", "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)["rows"]
    text = markdown(rows)  # what the command prints without --json
    assert "(CV-selected)" in text and "| p \\ q |" in text
    row = rows[0]
    sel = row["pq_selection"]
    assert len(sel["scores"]) == 25
    assert sel["scores"][f"{sel['p']:g},{sel['q']:g}"] == max(sel["scores"].values())
    assert (row["params"]["p"], row["params"]["q"]) == (sel["p"], sel["q"])
    assert 0 <= row["macro_f1_topk_unseen"] <= 1
