"""graphembed-gnn: solvers, sampler, GRAND's diffusion, the four models, the embedder, the CLI.

Oracles: matrix exponentials (scipy) for the ODE solvers and GRAND's diffusion, brute-force
neighbourhoods for the sampler, the planted blocks of a stochastic block model for learning.
"""
import json
import subprocess
import sys

import numpy as np
import pytest
import scipy.linalg
import torch
from click.testing import CliRunner
from planetoid_files import write_planetoid

import graphembed
from graphembed.cli.main import cli
from graphembed.embedding import Embedding
from graphembed.io.errors import InputError
from graphembed_gnn.data import node_features, random_split, read_labels
from graphembed_gnn.embedders import GraphSAGE
from graphembed_gnn.models import GRAND
from graphembed_gnn.ode import SolverStats, odeint
from graphembed_gnn.sampler import CSRNeighborSampler
from graphembed_gnn.train import train_node_classifier

CUDA = torch.cuda.is_available()


# ---------------------------------------------------------------------------- ODE solvers
@pytest.mark.parametrize("method,step,tol", [("euler", 0.01, 2e-2), ("rk4", 0.05, 1e-5),
                                             ("dopri5", 0.5, 1e-6)])
def test_odeint_solves_linear_system(method, step, tol):
    rng = np.random.default_rng(0)
    m = rng.standard_normal((5, 5)) - 3 * np.eye(5)
    y0 = rng.standard_normal(5)
    exact = scipy.linalg.expm(2.0 * m) @ y0
    mt = torch.from_numpy(m)
    stats = SolverStats()
    y = odeint(lambda t, y: mt @ y, torch.from_numpy(y0), 2.0, method=method, step_size=step,
               rtol=1e-9, atol=1e-10, stats=stats)
    assert np.abs(y.numpy() - exact).max() < tol * max(1.0, np.abs(exact).max())
    assert stats.nfe > 0 and stats.steps > 0


def test_odeint_time_dependent_and_errors():
    # dy/dt = t y, y(0) = 1  ->  y(T) = exp(T^2 / 2)
    y = odeint(lambda t, y: t * y, torch.tensor([1.0], dtype=torch.float64), 1.5, method="dopri5",
               rtol=1e-10, atol=1e-12)
    assert abs(float(y) - np.exp(1.5**2 / 2)) < 1e-7
    with pytest.raises(ValueError):
        odeint(lambda t, y: y, torch.ones(1), 1.0, method="leapfrog")


# ---------------------------------------------------------------------------- sampler
def test_sampler_against_brute_force(planted):
    graph = planted[0]
    seeds = np.array([0, 7, 120, 199])
    adjacency = graph.to_scipy().toarray() > 0
    full = CSRNeighborSampler(graph.indptr, graph.indices, [-1, -1], seed=0)
    ids, ei, bs = full.sample(seeds)
    assert bs == 4 and sorted(ids[:bs]) == sorted(seeds)
    assert len(set(ids.tolist())) == ids.size
    one_hop = set(np.flatnonzero(adjacency[seeds].any(axis=0)).tolist()) | set(seeds.tolist())
    two_hop = set(np.flatnonzero(adjacency[sorted(one_hop)].any(axis=0)).tolist()) | one_hop
    assert set(ids.tolist()) == two_hop
    edges = {(ids[a], ids[b]) for a, b in ei.T}
    for s in seeds:  # every in-edge of every seed is present
        assert {(int(u), int(s)) for u in np.flatnonzero(adjacency[:, s])} <= edges
    assert all(adjacency[u, v] for u, v in edges)

    capped = CSRNeighborSampler(graph.indptr, graph.indices, [3, 2], seed=5)
    ids2, ei2, bs2 = capped.sample(seeds)
    targets = ids2[ei2[1]]
    first_hop = np.isin(ei2[1], np.arange(bs2))
    assert np.bincount(targets[first_hop]).max() <= 3
    assert all(adjacency[ids2[a], ids2[b]] for a, b in ei2.T)
    again = CSRNeighborSampler(graph.indptr, graph.indices, [3, 2], seed=5).sample(seeds)
    np.testing.assert_array_equal(again[0], ids2)
    np.testing.assert_array_equal(again[1], ei2)


# ---------------------------------------------------------------------------- GRAND
@pytest.mark.parametrize("norm,fn", [("source", "squareplus"), ("target", "softmax"),
                                     ("source", "softmax")])
def test_grand_diffusion_matches_matrix_exponential(planted, norm, fn):
    graph = planted[0].subgraph(np.arange(0, 200, 5))  # 40 nodes
    from graphembed_gnn.data import edge_index

    torch.manual_seed(0)
    model = GRAND(3, 4, 2, time=1.7, heads=2, attention_dim=6, dropout=0.0, input_dropout=0.0,
                  solver="dopri5", rtol=1e-9, atol=1e-10, attention_norm=norm,
                  attention_fn=fn).double().eval()
    with torch.no_grad():
        model.beta_train.fill_(0.3)
        model.alpha_train.fill_(0.4)
        for layer in (model.query, model.key):  # away from the near-uniform start
            layer.weight.normal_()
    x = torch.randn(graph.n_nodes, 3, dtype=torch.float64)
    ei = edge_index(graph)
    with torch.no_grad():
        out = model(x, ei)
        z0 = model.encoder(x)
        loops, _ = model._with_self_loops(ei, graph.n_nodes)
        w = model.attention(z0, loops)
    n = graph.n_nodes
    a = np.zeros((n, n))
    np.add.at(a, (loops[1].numpy(), loops[0].numpy()), w.numpy())  # a[i, j]: weight of j -> i
    # "source": every column of A sums to one; "target": every row does
    np.testing.assert_allclose(a.sum(axis=0 if norm == "source" else 1), 1.0, rtol=1e-12)
    assert np.abs(a.sum(axis=1 if norm == "source" else 0) - 1.0).max() > 1e-3  # not both
    # brute force, dense: scores <q_i, k_j>/sqrt(d_k) on the edges, normalised per column/row
    q = model.query(z0).detach().numpy().reshape(n, 2, 3)
    k = model.key(z0).detach().numpy().reshape(n, 2, 3)
    mask = a > 0
    scores = np.stack([q[:, h] @ k[:, h].T / np.sqrt(3) for h in range(2)])
    top = scores[:, mask].max()  # squareplus shifts by the maximum over all edges and heads
    expected_a = np.zeros((n, n))
    for h in range(2):
        if fn == "softmax":
            e = np.where(mask, np.exp(scores[h] - top), 0.0)
        else:
            e = np.where(mask, (scores[h] - top + np.sqrt((scores[h] - top) ** 2 + 4)) / 2, 0.0)
        expected_a += e / e.sum(axis=0 if norm == "source" else 1, keepdims=True) / 2
    np.testing.assert_allclose(a, expected_a, atol=1e-12)
    alpha = 1 / (1 + np.exp(-0.4))
    # d/dt [z; c] = [[alpha (A - I), I], [0, 0]] [z; c] with c = beta z0 constant
    block = np.zeros((2 * n, 2 * n))
    block[:n, :n] = alpha * (a - np.eye(n))
    block[:n, n:] = np.eye(n)
    state = np.vstack([z0.numpy(), 0.3 * z0.numpy()])
    z_exact = (scipy.linalg.expm(1.7 * block) @ state)[:n]
    expected = model.decoder(torch.relu(torch.from_numpy(z_exact)))
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), atol=1e-6)


def test_edge_aggregate_csr_matches_gather_scatter(planted):
    """The CPU path of GRAND's diffusion (CSR products, a sampled product for the edge weights'
    gradient) against gather + index_add and against finite differences."""
    from graphembed_gnn.data import edge_index
    from graphembed_gnn.models import _EdgePlan, aggregate

    graph = planted[0].subgraph(np.arange(0, 200, 5))
    n = graph.n_nodes
    src, dst = edge_index(graph)
    keep = torch.arange(src.numel()) % 3 != 0  # an edge list no longer symmetric, not sorted
    src, dst = src[keep].flip(0), dst[keep].flip(0)
    plan = _EdgePlan(src, dst, n)
    gen = torch.Generator().manual_seed(0)
    w = torch.rand(src.numel(), dtype=torch.float64, generator=gen, requires_grad=True)
    z = torch.randn(n, 5, dtype=torch.float64, generator=gen, requires_grad=True)
    up = torch.randn(n, 5, dtype=torch.float64, generator=gen)
    grads = []
    for p in (plan, None):
        out = aggregate(w, z, src, dst, p)
        grads.append((out, *torch.autograd.grad((out * up).sum(), (w, z))))
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)
    dense = torch.zeros(n, n, dtype=torch.float64)
    dense.index_put_((dst, src), w.detach(), accumulate=True)
    torch.testing.assert_close(grads[0][0], dense @ z.detach())
    assert torch.autograd.gradcheck(lambda w_, z_: aggregate(w_, z_, src, dst, plan), (w, z))


def test_grand_starts_near_uniform_and_source_term_is_constant(planted):
    graph = planted[0].subgraph(np.arange(0, 200, 5))
    from graphembed_gnn.data import edge_index

    torch.manual_seed(0)
    model = GRAND(3, 4, 2, time=0.5, heads=2, attention_dim=6, dropout=0.0, input_dropout=0.0,
                  solver="rk4", step_size=0.1).double()
    x = torch.randn(graph.n_nodes, 3, dtype=torch.float64)
    ei = edge_index(graph)
    loops, _ = model._with_self_loops(ei, graph.n_nodes)
    # query/key weights start at 1e-5 (the authors' init): each source spreads ~evenly
    w = model.attention(model.encoder(x), loops).detach().numpy()
    out_degree = np.bincount(loops[0].numpy(), minlength=graph.n_nodes)
    np.testing.assert_allclose(w, 1.0 / out_degree[loops[0].numpy()], rtol=1e-3)
    # the source term beta * X0 is a constant of the ODE: with the diffusion switched off
    # (alpha -> 0) the output is X0 + T beta X0 and the encoder's gradient is that of X0 alone
    with torch.no_grad():
        model.alpha_train.fill_(-200.0)
        model.beta_train.fill_(0.8)
    model(x, ei).sum().backward()
    z0 = model.encoder(x)
    expected_grad = torch.autograd.grad(model.decoder(torch.relu(z0 + 0.5 * 0.8 * z0.detach())).sum(),
                                        model.encoder.weight)[0]
    torch.testing.assert_close(model.encoder.weight.grad, expected_grad)
    with pytest.raises(ValueError, match="attention_norm"):
        GRAND(3, 4, 2, attention_norm="rows")
    with pytest.raises(ValueError, match="attention_fn"):
        GRAND(3, 4, 2, attention_fn="sparsemax")


# ---------------------------------------------------------------------------- learning
FAST = {
    "gcn": {},
    "sage": {"epochs": 100, "hidden": 32},
    "gat": {"epochs": 100, "patience": None, "input_dropout": 0.2, "dropout": 0.2},
    "grand": {"epochs": 60, "hidden": 16, "heads": 2, "attention_dim": 8, "time": 3.0,
              "solver": "rk4", "step_size": 1.0, "input_dropout": 0.2, "dropout": 0.2,
              "lr": 0.01, "weight_decay": 5e-4, "optimizer": "adam"},
}


def features_only_accuracy(features, labels, masks):
    """Nearest class mean on the features alone (no graph)."""
    train, _, test = masks
    means = np.stack([features[train & (labels == c)].mean(0) for c in range(labels.max() + 1)])
    pred = ((features[:, None, :] - means[None]) ** 2).sum(-1).argmin(1)
    return (pred[test] == labels[test]).mean()


@pytest.mark.parametrize("model", ["gcn", "sage", "gat", "grand"])
def test_models_learn_planted_partition(planted, model, device):
    graph, labels, features = planted
    masks = random_split(labels, 0.5, 0.2, seed=0)
    assert features_only_accuracy(features, labels, masks) < 0.8  # the graph is needed
    result = train_node_classifier(graph, features, labels, masks, model, device=device, seed=0,
                                   batching="full", **FAST[model])
    assert result["test_accuracy"] > 0.9, result["test_accuracy"]
    assert result["predictions"].shape == (graph.n_nodes,)
    assert 1 <= result["best_epoch"] <= result["epochs_run"]


def test_cpu_training_is_reproducible_and_minibatch_learns(planted):
    graph, labels, features = planted
    masks = random_split(labels, 0.5, 0.2, seed=1)
    runs = [train_node_classifier(graph, features, labels, masks, "gcn", device="cpu", seed=3,
                                  batching="mini", batch_size=16, fanouts=[5, 5], epochs=60)
            for _ in range(2)]
    np.testing.assert_array_equal(runs[0]["predictions"], runs[1]["predictions"])
    assert runs[0]["test_accuracy"] == runs[1]["test_accuracy"] > 0.85
    assert runs[0]["batching"] == "mini"
    a = train_node_classifier(graph, features, labels, masks, "gat", device="cpu", seed=3, epochs=5)
    b = train_node_classifier(graph, features, labels, masks, "gat", device="cpu", seed=3, epochs=5)
    for p, q in zip(a["model"].parameters(), b["model"].parameters()):
        assert torch.equal(p, q)


def test_train_input_errors(planted):
    graph, labels, features = planted
    masks = random_split(labels, 0.5, 0.2)
    with pytest.raises(InputError, match="one row per node"):
        train_node_classifier(graph, features[:10], labels, masks)
    bad = labels.copy()
    bad[np.flatnonzero(masks[0])[0]] = -1
    with pytest.raises(InputError, match="no label"):
        train_node_classifier(graph, features, bad, masks)
    if not CUDA:
        with pytest.raises(InputError, match="CUDA is not available"):
            train_node_classifier(graph, features, labels, masks, device="cuda")


# ---------------------------------------------------------------------------- embedder
def test_graphsage_embedding_separates_blocks(planted, device):
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    graph, labels, features = planted
    assert graphembed.get_embedder("graphsage") is GraphSAGE
    est = GraphSAGE(dim=16, epochs=40, batch_size=None, device=device, random_state=0)
    emb = est.fit_transform(graph, features=features)
    assert isinstance(emb, Embedding) and emb.vectors.shape == (200, 16)
    np.testing.assert_array_equal(emb.node_ids, graph.node_ids)
    assert emb.method == "graphsage" and emb.params["random_state"] == 0
    found = KMeans(4, n_init=10, random_state=0).fit_predict(emb.vectors)
    assert adjusted_rand_score(labels, found) > 0.8
    again = GraphSAGE(dim=16, epochs=40, batch_size=None, device=device, random_state=0)
    if device == "cpu":
        np.testing.assert_array_equal(again.fit_transform(graph, features=features).vectors, emb.vectors)
    mini = GraphSAGE(dim=16, epochs=3, batch_size=256, fanouts=(5, 5), device=device, random_state=0)
    assert mini.fit_transform(graph, features=features).vectors.shape == (200, 16)
    with pytest.raises(InputError, match="fanouts"):
        GraphSAGE(layers=3, fanouts=(5, 5)).fit(graph, features=features)


def test_node_features_sources(planted, tmp_path):
    graph = planted[0]
    deg = node_features(graph, "degree")
    np.testing.assert_allclose(deg[:, 0], np.log1p(graph.out_degree()), rtol=1e-6)
    vectors = np.arange(200 * 3, dtype=np.float32).reshape(200, 3)
    Embedding(graph.node_ids[::-1], vectors[::-1]).save(tmp_path / "f.parquet")
    np.testing.assert_array_equal(node_features(graph, str(tmp_path / "f.parquet")), vectors)
    Embedding(graph.node_ids[:5], vectors[:5]).save(tmp_path / "short.parquet")
    with pytest.raises(InputError, match="no feature vector for node"):
        node_features(graph, str(tmp_path / "short.parquet"))
    with pytest.raises(InputError, match="--features must be one of"):
        node_features(graph, "nonsense")
    try:
        orbits = node_features(graph, "orbits")
        assert orbits.shape[0] == 200
    except InputError as exc:  # the orbits embedder is another package's job
        assert "orbits" in str(exc)


# ---------------------------------------------------------------------------- CLI
def write_graph_files(tmp_path, graph, labels, features):
    rows = np.repeat(np.arange(graph.n_nodes), np.diff(graph.indptr))
    keep = rows < graph.indices
    lines = [f"{a},{b}" for a, b in zip(rows[keep], graph.indices[keep])]
    (tmp_path / "edges.csv").write_text("source,target\n" + "\n".join(lines) + "\n")
    (tmp_path / "labels.csv").write_text(
        "node,label\n" + "".join(f"{i},block{c}\n" for i, c in enumerate(labels)))
    Embedding(graph.node_ids, features).save(tmp_path / "features.parquet")


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result


def test_cli_train_and_embed(planted, tmp_path, device):
    graph, labels, features = planted
    write_graph_files(tmp_path, graph, labels, features)
    result = invoke("gnn", "train", tmp_path / "edges.csv", "--labels", tmp_path / "labels.csv",
                    "--features", tmp_path / "features.parquet", "--model", "gcn", "--train-ratio",
                    0.5, "--device", device, "--seed", 0, "--json", "-o", tmp_path / "pred.csv")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["test_accuracy"] > 0.9 and summary["classes"] == 4 and summary["nodes"] == 200
    pred = (tmp_path / "pred.csv").read_text().splitlines()
    assert pred[0] == "node,label,predicted,split" and len(pred) == 201
    assert sum(line.endswith(",test") for line in pred) > 0

    out = tmp_path / "emb.parquet"
    result = invoke("gnn", "embed", tmp_path / "edges.csv", "--features", tmp_path / "features.parquet",
                    "--dim", 8, "--epochs", 5, "--device", device, "--seed", 2, "-o", out, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["method"] == "graphsage"
    emb = Embedding.load(out)  # the core reads it back
    assert emb.vectors.shape == (200, 8) and emb.method == "graphsage"
    assert sorted(emb.node_ids.tolist()) == list(range(200))


def test_cli_train_planetoid_name(tmp_path, device):
    write_planetoid(tmp_path, "cora", np.random.default_rng(0), n=60, n_known=30, n_train=12)
    result = invoke("gnn", "train", "cora", "--data", tmp_path, "--epochs", 3, "--device", device,
                    "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["dataset"] == "cora" and summary["split"] == "public" and summary["nodes"] == 60
    assert summary["features"] == "own" and summary["epochs_run"] == 3


def test_cli_errors_are_one_line(planted, tmp_path):
    graph, labels, features = planted
    write_graph_files(tmp_path, graph, labels, features)
    (tmp_path / "bad_labels.csv").write_text("node,label\n0,a\n999,b\n")
    cases = [["gnn", "train", tmp_path / "edges.csv", "--labels", tmp_path / "bad_labels.csv"],
             ["gnn", "train", tmp_path / "edges.csv"],
             ["gnn", "train", "cora", "--data", tmp_path]]
    if not CUDA:
        cases.append(["gnn", "train", tmp_path / "edges.csv", "--labels", tmp_path / "labels.csv",
                      "--model", "grand", "--device", "cuda"])
    for args in cases:
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("graphembed: error: "), result.stderr
    assert "999" in invoke(*cases[0]).stderr


def test_cuda_request_without_gpu_exits_2_in_a_real_process(tmp_path):
    if CUDA:
        pytest.skip("a CUDA GPU is present")
    out = subprocess.run([sys.executable, "-m", "graphembed.cli.main", "gnn", "embed",
                          "edges.csv", "-o", "e.parquet", "--device", "cuda"],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "CUDA is not available" in out.stderr
    assert not (tmp_path / "e.parquet").exists()


def test_help_with_plugin_installed_imports_no_torch():
    code = ("import sys\nfrom graphembed.cli.main import cli\n"
            "for args in (['--help'], ['gnn', '--help'], ['gnn', 'train', '--help']):\n"
            "    try:\n        cli(args)\n    except SystemExit:\n        pass\n"
            "print('LOADED', [m for m in ('torch', 'torch_geometric', 'numba', 'graphembed_gnn.commands')"
            " if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "gnn " in out.stdout and "--model [gcn|sage|gat|grand]" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "LOADED []"


def test_plugins_command_lists_the_plugin():
    result = invoke("plugins", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)["plugins"]}
    gnn = rows["graphembed-gnn"]
    assert gnn["version"] == "0.1.0" and gnn["commands"] == ["gnn"] and gnn["embedders"] == ["graphsage"]
    assert gnn["devices"][0].startswith("cpu")
    assert any(d.startswith("cuda") for d in gnn["devices"]) == CUDA


def test_read_labels_and_split(planted, tmp_path):
    graph, labels, _ = planted
    (tmp_path / "l.tsv").write_text("".join(f"{i}\tc{labels[i]}\n" for i in range(0, 200, 2)))
    got, names = read_labels(tmp_path / "l.tsv", graph)
    assert names == ["c0", "c1", "c2", "c3"]
    np.testing.assert_array_equal(got[::2], labels[::2])
    assert (got[1::2] == -1).all()
    train, val, test = random_split(got, 0.6, 0.2, seed=0)
    assert not (train & val).any() and not (train & test).any() and not (val & test).any()
    assert ((train | val | test) == (got >= 0)).all()


# ---------------------------------------------------------------------------- benchmark protocol
def load_benchmark():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "planetoid.py"
    spec = importlib.util.spec_from_file_location("planetoid_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_lcc_random_protocol(planted):
    from graphembed.graph import Graph

    bench = load_benchmark()
    graph, labels, features = planted
    rows = np.repeat(np.arange(200), np.diff(graph.indptr))
    src = np.concatenate([rows, np.arange(200, 209)])  # plus a path on nodes 200..209
    dst = np.concatenate([graph.indices, np.arange(201, 210)])
    big = Graph.from_edges(src, dst, nodes=np.arange(210))
    d = {"graph": big, "features": np.vstack([features, np.zeros((10, 8), np.float32)]),
         "labels": np.concatenate([labels, np.zeros(10, np.int64)]),
         "train_mask": np.arange(210) < 5, "val_mask": np.zeros(210, bool),
         "test_mask": np.arange(210) >= 205}
    from scipy.sparse.csgraph import connected_components

    assert connected_components(graph.to_scipy())[0] == 1  # the planted graph is the largest component
    lcc = bench.largest_component(d)
    assert lcc["graph"].n_nodes == 200 and lcc["graph"].nnz == graph.nnz
    np.testing.assert_array_equal(lcc["labels"], labels)
    np.testing.assert_array_equal(lcc["features"], features)
    assert lcc["train_mask"].sum() == 5 and not lcc["test_mask"].any()

    train, val, test = bench.lcc_random_split(labels, seed=4, development=100, per_class=10)
    assert not (train & val).any() and not (train & test).any() and not (val & test).any()
    assert (train | val | test).all()
    np.testing.assert_array_equal(np.bincount(labels[train]), [10, 10, 10, 10])
    assert (train | val).sum() == 100 and test.sum() == 100
    again = bench.lcc_random_split(labels, seed=4, development=100, per_class=10)
    assert all((a == b).all() for a, b in zip(again, (train, val, test)))
    other = bench.lcc_random_split(labels, seed=5, development=100, per_class=10)
    assert not (other[0] == train).all()
