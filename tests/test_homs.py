"""Homomorphism counts, MCMC samplers and hom embeddings against independent exact oracles.

Oracles: brute-force enumeration of all maps V(F) -> V(G); closed forms hom(K2) = 2|E|,
hom(star_r) = sum deg^r, hom(P_k) = 1^T A^(k-1) 1, hom(C_k) = trace(A^k); the tensor-product
identity hom(F, G x H) = hom(F, G) hom(F, H); exact conditional densities from matrix powers;
1-WL colour refinement written here.
"""
import itertools
import json
import subprocess
import sys

import networkx as nx
import numpy as np
import pytest

import graphembed as ge
from graphembed.datasets import karate_path
from graphembed.io.errors import InputError
from graphembed.structure.hom_counting import hom_count
from graphembed.structure.hom_embedding import HomomorphismEmbedding, random_partial_ktree
from graphembed.structure.motifs import Motif


# ---------------------------------------------------------------------------- einsum oracle
# An independent exact DP (dense numpy einsum over a tree decomposition) for the library's
# numba variable elimination to be checked against.
def decomposition_log_hom(adj, mask, bags, parent, edges):
    """log hom(F, G) for a batch of graphs by DP over a tree decomposition of F.

    Parameters
    ----------
    adj : float64 (z, n, n), z adjacency matrices (padded with zeros to a common n).
    mask : float64 (z, n), 1 for a real node of graph z, 0 for padding.
    bags, parent : a tree decomposition of F (see :func:`tree_decomposition`).
    edges : int (m, 2) edges of F.

    Returns float64 (z,): log hom, -inf where hom = 0. Each bag contracts its assigned edges,
    node masks and children's messages with ``numpy.einsum``; messages are rescaled to max 1
    (the scale goes to the log), so nothing overflows. Cost O(|bags| z n^(bag size)).
    """
    z = adj.shape[0]
    nb = len(bags)
    bagsets = [set(b) for b in bags]
    children = [[] for _ in range(nb)]
    for b, p in enumerate(parent):
        if p >= 0:
            children[p].append(b)
    edge_ops = [[] for _ in range(nb)]
    for i, j in np.asarray(edges).reshape(-1, 2).tolist():
        b = next(t for t in range(nb) if i in bagsets[t] and j in bagsets[t])
        edge_ops[b].append((i, j))
    node_ops = [[] for _ in range(nb)]
    for v in sorted(set().union(*bagsets)):
        node_ops[next(t for t in range(nb) if v in bagsets[t])].append(v)
    # post-order: children before parents
    post, stack = [], [b for b in range(nb) if parent[b] < 0]
    while stack:
        b = stack.pop()
        post.append(b)
        stack.extend(children[b])
    post.reverse()
    log_total = np.zeros(z)
    messages = {}
    for b in post:
        operands, subs = [], []
        for i, j in edge_ops[b]:
            operands.append(adj)
            subs.append((i, j))
        for v in node_ops[b]:
            operands.append(mask)
            subs.append((v,))
        for c in children[b]:
            msg = messages.pop(c)
            if msg is not None:
                operands.append(msg[0])
                subs.append(msg[1])
        if not operands:
            messages[b] = None
            continue
        present = sorted(set().union(*map(set, subs)))
        out = tuple(v for v in present if parent[b] >= 0 and v in bagsets[parent[b]])
        m = _contract(list(zip(operands, map(tuple, subs))), out, z)
        flat = m.reshape(z, -1)
        top = flat.max(axis=1) if flat.shape[1] else np.zeros(z)
        safe = np.where(top > 0, top, 1.0)
        m = m / safe.reshape((z,) + (1,) * len(out))
        with np.errstate(divide="ignore"):
            log_total += np.where(top > 0, np.log(safe), -np.inf)
        if parent[b] >= 0:
            messages[b] = (m, out)
    return log_total


def _einsum(ops, out):
    """einsum over operands [(array (z, ...), vars)] -> array (z, *out)."""
    names = sorted({v for _, vs in ops for v in vs} | set(out))
    letter = {v: chr(ord("a") + t) for t, v in enumerate(names)}
    expr = ",".join("z" + "".join(letter[v] for v in vs) for _, vs in ops)
    expr += "->z" + "".join(letter[v] for v in out)
    return np.einsum(expr, *[a for a, _ in ops], optimize="greedy")


def _contract(ops, out, z):
    """Sum out every variable not in ``out`` from the product of ``ops``, one at a time.

    Eliminating s multiplies the operands that hold s; when one of them is a matrix (o, s)
    whose o no other of them holds, the rest are multiplied elementwise into T(..., s) and
    the sum over s is a batched matrix product T @ M (BLAS), not a many-operand einsum.
    """
    summed = sorted({v for _, vs in ops for v in vs} - set(out))
    for s in summed:
        with_s = [op for op in ops if s in op[1]]
        rest = [op for op in ops if s not in op[1]]
        others = lambda op: {v for o in with_s if o is not op for v in o[1]}  # noqa: E731
        mat = next((op for op in with_s if len(op[1]) == 2 and len(with_s) > 1
                    and next(v for v in op[1] if v != s) not in others(op)), None)
        if mat is None:
            keep = tuple(sorted({v for _, vs in with_s for v in vs} - {s}))
            rest.append((_einsum(with_s, keep), keep))
        else:
            o = next(v for v in mat[1] if v != s)
            front = tuple(sorted(others(mat) - {s}))
            t = _einsum([op for op in with_s if op is not mat], front + (s,))
            n = t.shape[-1]
            m = np.ascontiguousarray(mat[0] if mat[1] == (s, o) else np.swapaxes(mat[0], 1, 2))  # (z, s, o)
            r = np.matmul(t.reshape(z, -1, n), m)
            rest.append((r.reshape(t.shape[:-1] + (m.shape[2],)), front + (o,)))
        ops = rest
    return _einsum(ops, out)



# ---------------------------------------------------------------------------- oracles
def brute_hom(edges, k, a):
    """sum over all maps x: [k] -> [n] of prod_{ij in E} a[x_i, x_j] (exhaustive)."""
    n = a.shape[0]
    total = 0.0
    for x in itertools.product(range(n), repeat=k):
        p = 1.0
        for i, j in edges:
            p *= a[x[i], x[j]]
            if p == 0:
                break
        total += p
    return total


def dense(g):
    return g.to_scipy().toarray().astype(np.float64)


def small_graph(seed, n=6, p=0.5, weighted=False):
    rng = np.random.default_rng(seed)
    src, dst = np.triu_indices(n, 1)
    keep = rng.random(src.size) < p
    w = rng.uniform(0.5, 2.0, keep.sum()) if weighted else None
    return ge.Graph.from_edges(src[keep], dst[keep], w, nodes=np.arange(n))


def wl_histograms(graphs, rounds=None):
    """1-WL colour refinement on a list of networkx graphs run jointly; colour histograms."""
    colors = [{v: 0 for v in g} for g in graphs]
    rounds = rounds or max(len(g) for g in graphs)
    for _ in range(rounds):
        sigs = [{v: (c[v], tuple(sorted(c[u] for u in g[v]))) for v in g} for g, c in zip(graphs, colors)]
        palette = {s: t for t, s in enumerate(sorted({s for sg in sigs for s in sg.values()}))}
        colors = [{v: palette[s] for v, s in sg.items()} for sg in sigs]
    return [tuple(sorted(np.bincount(list(c.values())).tolist())) for c in colors]


def csl_graph(skip, n=41):
    g = nx.cycle_graph(n)
    g.add_edges_from((i, (i + skip) % n) for i in range(n))
    return g


# ---------------------------------------------------------------------------- motifs
def test_motif_parsing():
    assert Motif.parse("path:3").edges.tolist() == [[0, 1], [1, 2]]
    assert Motif.parse("star:3").n_nodes == 4
    assert Motif.parse("cycle:4") == Motif.parse("edges:0-1,1-2,2-3,3-0")
    assert Motif.parse("clique:4").n_edges == 6
    assert Motif.parse("path:4").is_tree and not Motif.parse("triangle").is_tree
    assert Motif.parse("path:5").center() == 2
    t = Motif.parse("cycle:5").spanning_tree()
    assert t.is_tree and t.edge_set() <= Motif.parse("cycle:5").edge_set()
    for bad in ["pth:3", "path:x", "cycle:2", "edges:0-0", "edges:1", 3]:
        with pytest.raises(InputError):
            Motif.parse(bad)


# ---------------------------------------------------------------------------- exact counts
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_counts_match_brute_force_and_closed_forms(seed):
    g = small_graph(seed)
    a = dense(g)
    deg = a.sum(1)
    one = np.ones(a.shape[0])
    closed = {
        "edge": 2 * g.n_edges,
        "star:2": (deg ** 2).sum(), "star:3": (deg ** 3).sum(),
        "path:3": one @ a @ a @ one, "path:4": one @ np.linalg.matrix_power(a, 3) @ one,
        "cycle:3": np.trace(np.linalg.matrix_power(a, 3)),
        "cycle:4": np.trace(np.linalg.matrix_power(a, 4)),
        "cycle:5": np.trace(np.linalg.matrix_power(a, 5)),
    }
    for spec, value in closed.items():
        m = Motif.parse(spec)
        bf = brute_hom(m.edges.tolist(), m.n_nodes, a)
        assert bf == pytest.approx(value)
        assert hom_count(spec, g) == pytest.approx(bf, rel=1e-10)
    for spec in ["clique:4", "edges:0-1,1-2,2-0,2-3,3-4,4-2", "edges:0-1,0-2,0-3,1-2,2-3,3-1"]:
        m = Motif.parse(spec)
        assert hom_count(m, g) == pytest.approx(brute_hom(m.edges.tolist(), m.n_nodes, a), rel=1e-10)


def test_weighted_tree_and_cycle_counts():
    g = small_graph(5, weighted=True)
    a = dense(g)
    for spec in ["path:4", "star:2", "edges:0-1,1-2,1-3,3-4", "cycle:4", "clique:3"]:
        m = Motif.parse(spec)
        assert hom_count(m, g) == pytest.approx(brute_hom(m.edges.tolist(), m.n_nodes, a), rel=1e-10)


def test_tree_dp_on_a_larger_graph_and_log_scale(rng):
    g = ge.Graph.from_networkx(nx.barabasi_albert_graph(400, 6, seed=3))
    a = g.to_scipy().astype(np.float64)
    deg = np.asarray(a.sum(1)).ravel()
    v = np.ones(g.n_nodes)
    for _ in range(7):
        v = a @ v
    assert hom_count("path:8", g) == pytest.approx(v.sum(), rel=1e-10)
    assert hom_count("star:6", g) == pytest.approx((deg ** 6).sum(), rel=1e-10)
    # far beyond float64 as a count, fine in log space
    assert hom_count("star:200", g, log=True) == pytest.approx(
        np.log(deg.max()) * 200 + np.log(np.sum((deg / deg.max()) ** 200)), rel=1e-10)


@pytest.mark.parametrize("k", [2, 3])
def test_decomposition_dp_on_random_partial_ktrees(k):
    rng = np.random.default_rng(k)
    g = small_graph(10 + k, n=6, p=0.6)
    a = dense(g)
    for _ in range(4):
        p = random_partial_ktree(rng, 6, k, 0.9)
        bf = brute_hom(p.motif.edges.tolist(), 6, a)
        got = decomposition_log_hom(a[None], np.ones((1, 6)), p.bags, p.parent, p.motif.edges)[0]
        assert np.exp(got) == pytest.approx(bf, rel=1e-10)
        assert hom_count(p.motif, g) == pytest.approx(bf, rel=1e-10)


def test_tensor_product_identity():
    g, h = small_graph(20, n=5), small_graph(21, n=6, p=0.6)
    prod = ge.Graph.from_scipy(np.kron(dense(g), dense(h)))
    rng = np.random.default_rng(0)
    motifs = ["path:4", "star:3", "cycle:4", "cycle:5", "clique:3",
              random_partial_ktree(rng, 6, 2, 0.9).motif]
    for m in motifs:
        assert hom_count(m, prod) == pytest.approx(hom_count(m, g) * hom_count(m, h), rel=1e-9)


def test_csl_cycle_counts_separate_classes_where_wl_fails():
    skips = [2, 3, 4, 5, 6, 9, 11, 12, 13, 16]
    graphs = [csl_graph(s) for s in skips]
    assert len(set(wl_histograms(graphs))) == 1  # 1-WL: all ten look the same
    feats = [tuple(round(hom_count(f"cycle:{k}", g)) for k in range(3, 13)) for g in graphs]
    a = [nx.to_numpy_array(g) for g in graphs]
    assert feats[0][6] == round(np.trace(np.linalg.matrix_power(a[0], 9)))
    assert len(set(feats)) == 10


# ---------------------------------------------------------------------------- MCMC
@pytest.fixture(scope="module")
def rgg():
    g = ge.Graph.from_networkx(nx.random_geometric_graph(300, 0.12, seed=1))
    a = dense(g)
    one = np.ones(g.n_nodes)
    a3 = np.linalg.matrix_power(a, 3)
    exact = {"path:3": np.trace(a3) / (a.sum(1) ** 2).sum(), "path:4": np.trace(a3 @ a) / (one @ a3 @ one)}
    return g, exact


@pytest.mark.parametrize("chain", ["pivot", "glauber"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_conditional_densities_match_exact(rgg, chain, seed):
    g, exact = rgg
    for motif, target in [("path:3", "cycle:3"), ("path:4", "cycle:4")]:
        r = ge.HomomorphismSampler(motif, chain=chain, n_steps=10**6, random_state=seed).fit(g) \
            .conditional_density(target)
        assert abs(r.estimate / exact[motif] - 1) < 0.02, (motif, r.estimate, exact[motif])
        assert 0 < r.std_error < 0.01 * exact[motif] and 1000 < r.ess <= r.n_samples


def test_density_of_a_cycle_and_exact_tree_density(rgg):
    g, _ = rgg
    a = dense(g)
    exact = np.trace(np.linalg.matrix_power(a, 4)) / g.n_nodes ** 4
    r = ge.HomomorphismSampler("cycle:4", n_steps=400_000, random_state=3).fit(g).density()
    assert not r.exact and abs(r.estimate / exact - 1) < 0.03
    t = ge.HomomorphismSampler("star:3", random_state=0).fit(g).density()
    assert t.exact and t.estimate == pytest.approx((a.sum(1) ** 3).sum() / g.n_nodes ** 4, rel=1e-10)


def test_results_do_not_depend_on_threads_and_follow_the_seed(rgg):
    g, _ = rgg
    runs = [ge.HomomorphismSampler("path:4", n_steps=50_000, random_state=s, n_jobs=j).fit(g).macc()
            for s, j in [(4, 1), (4, 2), (5, 2)]]
    assert np.array_equal(runs[0].estimate, runs[1].estimate)
    assert not np.array_equal(runs[0].estimate, runs[2].estimate)


def test_macc_of_a_chain(rgg):
    g, exact = rgg
    r = ge.HomomorphismSampler("path:4", n_steps=400_000, random_state=1).fit(g).macc()
    m = r.estimate
    assert m.shape == (4, 4) and np.allclose(m, m.T)
    assert m[0, 1] == m[1, 2] == m[2, 3] == 1.0 and np.all(np.diag(m) == 0)
    assert abs(m[0, 3] / exact["path:4"] - 1) < 0.03
    # a 2-step pair in a 3-chain is the triangle closure t(K3 | P3)
    assert abs(m[0, 2] - m[1, 3]) < 0.02


def _path3_profile_exact(a, thresholds):
    """P(min(A[x0,x1], A[x1,x2], A[x0,x2]) >= s) for x ~ A[x0,x1] A[x1,x2] (enumeration)."""
    n = a.shape[0]
    num = np.zeros(len(thresholds))
    den = 0.0
    for x0, x1, x2 in itertools.product(range(n), repeat=3):
        w = a[x0, x1] * a[x1, x2]
        if w == 0:
            continue
        den += w
        m = min(a[x0, x1], a[x1, x2], a[x0, x2])
        num += w * (m >= np.asarray(thresholds))
    return num / den


@pytest.mark.parametrize("chain", ["pivot", "glauber"])
def test_weighted_profile_matches_enumeration(chain):
    g = small_graph(7, n=12, p=0.5, weighted=True)
    s = [0.0, 0.6, 1.0, 1.4, 1.8]
    exact = _path3_profile_exact(dense(g), s)
    r = ge.HomomorphismSampler("path:3", chain=chain, n_steps=400_000, random_state=2).fit(g) \
        .profile(s, target="cycle:3")
    np.testing.assert_allclose(r.estimate, exact, atol=0.01)


@pytest.mark.parametrize("chain", ["pivot", "glauber"])
def test_disconnected_and_bipartite_graph(chain):
    # a clustered component plus a bipartite one: restarts and a lazy walk are switched on
    a = nx.disjoint_union(nx.random_geometric_graph(60, 0.25, seed=2), nx.complete_bipartite_graph(5, 7))
    g = ge.Graph.from_networkx(a)
    s = ge.HomomorphismSampler("path:3", chain=chain, n_steps=600_000, random_state=0).fit(g)
    assert s.restart_p_ > 0 and s.lazy_p_ > 0 and s.n_components_ == 2
    m = dense(g)
    exact = np.trace(np.linalg.matrix_power(m, 3)) / (m.sum(1) ** 2).sum()
    r = s.conditional_density("cycle:3")
    assert abs(r.estimate / exact - 1) < 0.03


def test_sampler_input_errors(rgg):
    g, _ = rgg
    with pytest.raises(InputError):
        ge.HomomorphismSampler("path:3", chain="gibbs").fit(g)
    with pytest.raises(InputError):
        ge.HomomorphismSampler("edges:0-1,2-3").fit(g)  # disconnected motif
    with pytest.raises(InputError):
        ge.HomomorphismSampler("path:3", root=3).fit(g)
    s = ge.HomomorphismSampler("path:3", n_steps=1000).fit(g)
    with pytest.raises(InputError):
        s.conditional_density("path:4")
    with pytest.raises(InputError):
        s.conditional_density("edges:0-2")  # lacks F's edges
    with pytest.raises(InputError):
        ge.HomomorphismSampler("cycle:4").fit(g).macc()


# ---------------------------------------------------------------------------- embeddings
def test_embedding_fixed_columns_and_seed():
    graphs = [nx.petersen_graph(), nx.cycle_graph(7), nx.complete_graph(5)]
    est = HomomorphismEmbedding(n_patterns=6, representation="count", random_state=1)
    x = est.fit_transform(graphs)
    assert x.shape == (3, 10)
    for row, gx in zip(x, graphs):
        a = nx.to_numpy_array(gx)
        np.testing.assert_allclose(row[:4], [len(gx), 2 * gx.number_of_edges(), (a.sum(1) ** 2).sum(),
                                             np.trace(a @ a @ a)], rtol=1e-10)
        for p, value in zip(est.patterns_[4:], row[4:]):
            assert value == pytest.approx(hom_count(p.motif, gx), rel=1e-9)
    y = HomomorphismEmbedding(n_patterns=6, random_state=1).fit_transform(graphs)
    np.testing.assert_allclose(y, np.log1p(x), rtol=1e-10)
    assert est.pattern_names_ == HomomorphismEmbedding(n_patterns=6, random_state=1).fit(graphs).pattern_names_


def test_embedding_batches_mixed_sizes():
    graphs = [nx.gnp_random_graph(n, 0.3, seed=n) for n in (5, 20, 12, 3, 20, 8)]
    est = HomomorphismEmbedding(n_patterns=5, max_treewidth=3, representation="count", random_state=4)
    x = est.fit_transform(graphs)
    # one graph at a time, and the dense einsum DP over the construction's bags as oracle
    np.testing.assert_allclose(x, np.vstack([est.transform([g]) for g in graphs]), rtol=1e-12)
    for i, gx in enumerate(graphs):
        a = nx.to_numpy_array(gx)[None]
        for j, p in enumerate(est.patterns_):
            ref = decomposition_log_hom(a, np.ones((1, len(gx))), p.bags, p.parent, p.motif.edges)[0]
            assert x[i, j] == pytest.approx(np.exp(ref), rel=1e-9)
    d = HomomorphismEmbedding(n_patterns=5, max_treewidth=3, representation="density", random_state=4)
    sizes = np.array([p.n_nodes for p in est.patterns_])
    n = np.array([len(g) for g in graphs])[:, None]
    np.testing.assert_allclose(d.fit_transform(graphs), x / n.astype(float) ** sizes, rtol=1e-9)


# ---------------------------------------------------------------------------- CLI
def run_cli(*args):
    """In-process run (CliRunner): (exit code, stdout, stderr)."""
    from click.testing import CliRunner

    from graphembed.cli.main import cli

    res = CliRunner().invoke(cli, [str(a) for a in args])
    return res.exit_code, res.stdout, res.stderr


def test_cli_homs_json_and_macc_csv(tmp_path):
    g, _ = ge.datasets.karate()
    a = dense(g)
    exact = np.trace(np.linalg.matrix_power(a, 3)) / (a.sum(1) ** 2).sum()
    code, stdout, stderr = run_cli("homs", karate_path(), "--motif", "path:3", "--observable",
                                   "conditional", "--steps", "300k", "--seed", 1, "--json")
    assert code == 0, stderr
    doc = json.loads(stdout)
    assert abs(doc["estimate"] / exact - 1) < 0.03 and doc["n_samples"] >= 300_000
    csv = tmp_path / "macc.csv"
    code, _, stderr = run_cli("homs", karate_path(), "--motif", "path:4", "--macc", "--steps", "100k",
                              "-o", csv, "-q")
    assert code == 0, stderr
    m = np.loadtxt(csv, delimiter=",", skiprows=1)
    assert m.shape == (4, 4) and m[0, 1] == 1.0


def test_cli_hom_embed_directory_and_files(tmp_path):
    import pyarrow.parquet as pq

    folder = tmp_path / "graphs"
    folder.mkdir()
    for n in (5, 6, 7):
        nx.write_edgelist(nx.cycle_graph(n), folder / f"c{n}.txt", data=False)
    out = tmp_path / "emb.parquet"
    code, stdout, stderr = run_cli("hom-embed", folder, folder / "c5.txt", "-o", out, "--patterns", 3,
                                   "--seed", 0, "--representation", "count", "--json")
    assert code == 0, stderr
    assert json.loads(stdout)["graphs"] == 4
    table = pq.read_table(out)
    assert table.num_rows == 4 and table.num_columns == 3 + 7
    assert table.column("hom_1").to_pylist() == pytest.approx([10.0, 12.0, 14.0, 10.0])  # 2|E|
    assert json.loads(table.schema.metadata[b"graphembed"])["patterns"][3]["name"] == "triangle"


def test_cli_bad_input_one_line_exit_2(tmp_path):
    res = subprocess.run([sys.executable, "-m", "graphembed.cli.main", "homs", str(karate_path()),
                          "--motif", "cycle:1"], capture_output=True, text=True)
    assert res.returncode == 2 and res.stderr.strip().count("\n") == 0
    assert res.stderr.startswith("graphembed: error:") and "cycle" in res.stderr
    code, _, stderr = run_cli("hom-embed", tmp_path / "missing", "-o", tmp_path / "x.parquet")
    assert code == 2 and "no such file" in stderr
    assert not (tmp_path / "x.parquet").exists()


# ---------------------------------------------------------------------------- declared parameters
@pytest.mark.parametrize("command, table_name, expected", [
    ("homs", "HOM_SAMPLER", {"motif", "chain", "n_steps", "n_chains", "burn_in", "thin", "root",
                             "node_weights", "rao_blackwell", "random_state", "n_jobs"}),
    ("hom-embed", "HOM_EMBEDDING", {"n_patterns", "max_treewidth", "min_size", "max_size",
                                    "representation", "random_state"}),
])
def test_cli_flag_defaults_are_the_table_defaults(command, table_name, expected):
    import click

    from graphembed import params
    from graphembed.cli.homs import RAO_BLACKWELL
    from graphembed.cli.main import cli

    table = getattr(params, table_name)
    by_flag = {(p.cli or key).replace("-", "_"): key for key, p in table.items()}  # steps, seed, threads
    cmd = cli.get_command(click.Context(cli), command)
    ctx = cmd.make_context(command, ["graph.csv"] + (["-o", "out.parquet"] if command == "hom-embed" else []))
    checked = set()
    for option in cmd.params:
        key = option.name if option.name in table else by_flag.get(option.name)
        if key is None:
            continue
        value = ctx.params[option.name]
        if key == "rao_blackwell":
            value = RAO_BLACKWELL[value]
        assert value == table[key].default, (command, option.name)
        checked.add(key)
    assert checked == expected


@pytest.mark.parametrize("args, flag", [
    (["homs", "{k}", "--chains", "0"], "--chains"),
    (["homs", "{k}", "--burn-in", "-1"], "--burn-in"),
    (["homs", "{k}", "--chain", "gibbs"], "--chain"),
    (["homs", "{k}", "--steps", "0"], "--steps"),
    (["homs", "{k}", "--threads", "0"], "--threads"),
    (["hom-embed", "{k}", "-o", "{out}", "--patterns", "-1"], "--patterns"),
    (["hom-embed", "{k}", "-o", "{out}", "--representation", "raw"], "--representation"),
    (["hom-embed", "{k}", "-o", "{out}", "--min-size", "0"], "--min-size"),
])
def test_cli_bad_flag_value_exits_2_with_one_line(tmp_path, args, flag):
    out = tmp_path / "x.parquet"
    argv = [a.format(k=karate_path(), out=out) for a in args]
    res = subprocess.run([sys.executable, "-m", "graphembed.cli.main", *argv], capture_output=True, text=True)
    assert res.returncode == 2, res.stderr
    assert res.stderr.strip().count("\n") == 0 and flag in res.stderr, res.stderr
    assert res.stdout == "" and not out.exists()


def test_table_checks_replace_the_hand_written_ones(rgg):
    g, _ = rgg
    for bad in [dict(n_steps=True), dict(thin=0), dict(lazy=1), dict(restart=1.0), dict(rao_blackwell="on"),
                dict(root=True), dict(n_jobs=0), dict(random_state=-1), dict(motif=3)]:
        key = next(iter(bad))
        with pytest.raises(InputError, match=rf"^{key} must be "):
            ge.HomomorphismSampler(**bad).fit(g)
    graphs = [nx.cycle_graph(5)]
    for bad in [dict(n_patterns=-1), dict(edge_keep=0), dict(memory_budget=float("inf")),
                dict(treewidth_poisson=float("inf")), dict(fixed_patterns=1), dict(representation="raw"),
                dict(max_treewidth=0)]:
        key = next(iter(bad))
        with pytest.raises(InputError, match=rf"^{key} must be "):
            HomomorphismEmbedding(**bad).fit(graphs)
    with pytest.raises(InputError, match="max_size"):
        HomomorphismEmbedding(min_size=4, max_size=3).fit(graphs)
    with pytest.raises(InputError, match="no patterns"):
        HomomorphismEmbedding(n_patterns=0, fixed_patterns=False).fit(graphs)
    # the values the hand-written checks took still work, numpy scalars included
    s = ge.HomomorphismSampler("cycle:4", n_steps=np.int64(2000), n_chains=2, restart=0, lazy=np.True_,
                               root=np.int64(1), n_jobs=-1, random_state=np.random.default_rng(0)).fit(g)
    assert s.lazy_p_ == 0.5 and s.restart_p_ == 0.0
    x = HomomorphismEmbedding(n_patterns=np.int64(2), edge_keep=1, memory_budget=10**6,
                              random_state=0).fit_transform(graphs)
    assert x.shape == (1, 6)
    quiet = HomomorphismEmbedding(n_patterns=4, random_state=3).fit_transform(graphs)  # the progress bar
    np.testing.assert_array_equal(HomomorphismEmbedding(n_patterns=4, random_state=3, verbose=True)
                                  .fit_transform(graphs), quiet)  # (a TTY only) changes nothing
    for cls in (ge.HomomorphismSampler, HomomorphismEmbedding):
        assert list(cls.param_schema()["properties"]) == cls._get_param_names()


# ---------------------------------------------------------------------------- Rao-Blackwellisation
def brute_hom_nw(edges, k, a, nu):
    """sum over maps x of prod_i nu[x_i] prod_{ij in E} a[x_i, x_j] (exhaustive)."""
    n = a.shape[0]
    total = 0.0
    for x in itertools.product(range(n), repeat=k):
        p = np.prod(nu[list(x)])
        for i, j in edges:
            p *= a[x[i], x[j]]
            if p == 0:
                break
        total += p
    return total


def _expectations(a, nu, tree_edges, pairs):
    """E_pi[prod over pairs] and E_pi[A(x_i, x_j)] per pair, pi ~ nu^x prod_tree a (enumeration)."""
    k = 1 + max(max(e) for e in tree_edges)
    n = a.shape[0]
    z = prod = 0.0
    each = np.zeros(len(pairs))
    for x in itertools.product(range(n), repeat=k):
        w = np.prod(nu[list(x)])
        for i, j in tree_edges:
            w *= a[x[i], x[j]]
        if w == 0:
            continue
        z += w
        vals = np.array([a[x[i], x[j]] for i, j in pairs])
        prod += w * vals.prod()
        each += w * vals
    return prod / z, each / z


@pytest.mark.parametrize("chain", ["pivot", "glauber"])
@pytest.mark.parametrize("node_weighted", [False, True])
def test_rao_blackwellised_chains_on_a_weighted_graph(chain, node_weighted):
    g = small_graph(8, n=9, p=0.55, weighted=True)
    a = dense(g)
    nu = np.random.default_rng(3).uniform(0.3, 3.0, g.n_nodes) if node_weighted else np.ones(g.n_nodes)
    tree = [(0, 1), (1, 2), (2, 3)]
    exact_c4, exact_pairs = _expectations(a, nu, tree, [(0, 3)])
    _, macc_exact = _expectations(a, nu, tree, [(0, 2), (1, 3), (0, 3)])
    s = ge.HomomorphismSampler("path:4", chain=chain, n_steps=300_000, rao_blackwell=True,
                               node_weights=nu if node_weighted else None, random_state=5).fit(g)
    r = s.conditional_density("cycle:4")
    assert r.rao_blackwell and abs(r.estimate / exact_c4 - 1) < 0.02
    m = s.macc().estimate  # the general (per-pair) Rao-Blackwellised path
    np.testing.assert_allclose([m[0, 2], m[1, 3], m[0, 3]], macc_exact, rtol=0.03)


def test_rao_blackwellisation_lowers_the_variance_per_step(rgg):
    g, exact = rgg
    for chain in ("pivot", "glauber"):
        se = {}
        for rb in (False, True):
            errs = []
            for seed in range(4):
                s = ge.HomomorphismSampler("path:3", chain=chain, n_steps=100_000, n_chains=4, burn_in=200,
                                           rao_blackwell=rb, random_state=seed).fit(g)
                r = s.conditional_density("cycle:3")
                errs.append(r.estimate / exact["path:3"] - 1)
                assert r.rao_blackwell == rb
            se[rb] = r.std_error
            assert max(map(abs, errs)) < 0.03
        assert se[True] < se[False], (chain, se)


# ---------------------------------------------------------------------------- elimination DP
@pytest.mark.parametrize("k", [2, 3, 4])
def test_elimination_dp_on_random_partial_ktrees(k):
    from graphembed.structure.hom_counting import EliminationPlan

    rng = np.random.default_rng(100 + k)
    for trial in range(3):
        g = small_graph(30 + 3 * k + trial, n=6, p=0.75 if k < 4 else 0.95, weighted=trial == 1)
        a = dense(g)
        nu = rng.uniform(0.5, 2.0, 6)
        p = random_partial_ktree(rng, 6, k, 0.9)
        assert p.plan.width <= k
        bf = brute_hom(p.motif.edges.tolist(), 6, a)
        assert bf > 0
        assert np.exp(p.plan.log_hom(g)) == pytest.approx(bf, rel=1e-9)
        assert np.exp(p.plan.log_hom(g, nu)) == pytest.approx(
            brute_hom_nw(p.motif.edges.tolist(), 6, a, nu), rel=1e-9)
        # any elimination order gives the same count
        order = rng.permutation(6)
        assert np.exp(EliminationPlan(6, p.motif.edges, order).log_hom(g)) == pytest.approx(bf, rel=1e-9)


def test_elimination_dp_isolated_pattern_nodes_and_zero_counts():
    from graphembed.structure.hom_counting import EliminationPlan

    g = small_graph(2, n=5)
    a = dense(g)
    plan = EliminationPlan(4, [(0, 1), (1, 2)], [3, 0, 2, 1])  # node 3 isolated
    assert np.exp(plan.log_hom(g)) == pytest.approx(brute_hom([(0, 1), (1, 2)], 4, a), rel=1e-12)
    bip = ge.Graph.from_networkx(nx.complete_bipartite_graph(3, 4))
    assert hom_count("cycle:5", bip) == 0.0 and hom_count("cycle:5", bip, log=True) == -np.inf


def test_exact_dp_budget_guard():
    g = ge.Graph.from_networkx(nx.random_regular_graph(4, 400, seed=0))
    with pytest.raises(InputError, match="budget"):
        hom_count("clique:4", g, max_entries=1e6)
    with pytest.raises(InputError, match="budget"):
        HomomorphismEmbedding(n_patterns=3, max_treewidth=3, memory_budget=1e5,
                              random_state=0).fit([nx.cycle_graph(5)]).transform([g.to_networkx()])


def test_embedding_default_treewidth_follows_the_paper_within_memory():
    graphs = [csl_graph(s) for s in (2, 3)]
    est = HomomorphismEmbedding(n_patterns=40, random_state=0).fit(graphs)
    assert est.treewidth_cap_ == 4  # 4 * 41^4 <= 2e7 < 4 * 41^5
    widths = [p.treewidth for p in est.patterns_[4:]]
    assert max(widths) >= 3 and min(widths) >= 1
    big = HomomorphismEmbedding(n_patterns=2, random_state=0).fit([nx.cycle_graph(600)])
    assert big.treewidth_cap_ == 2  # 4 * 600^3 > 2e7


# ---------------------------------------------------------------------------- node weights
def test_node_weighted_counts_match_brute_force():
    g = small_graph(11, n=6, p=0.6, weighted=True)
    a = dense(g)
    nu = np.random.default_rng(0).uniform(0.2, 3.0, 6)
    for spec in ["node", "edge", "path:4", "star:3", "edges:0-1,1-2,1-3,3-4", "cycle:4", "clique:3",
                 "edges:0-1,1-2,2-0,2-3,3-4,4-2"]:
        m = Motif.parse(spec)
        assert hom_count(m, g, node_weights=nu) == pytest.approx(
            brute_hom_nw(m.edges.tolist(), m.n_nodes, a, nu), rel=1e-10), spec
    ids = {int(v): float(w) for v, w in zip(g.node_ids, nu)}
    assert hom_count("cycle:3", g, node_weights=ids) == pytest.approx(
        hom_count("cycle:3", g, node_weights=nu))


@pytest.mark.parametrize("chain", ["pivot", "glauber"])
def test_node_weighted_sampler_matches_enumeration(chain):
    g = small_graph(12, n=10, p=0.5)
    a = dense(g)
    nu = np.random.default_rng(1).uniform(0.2, 4.0, g.n_nodes)
    exact_k3, _ = _expectations(a, nu, [(0, 1), (1, 2)], [(0, 2)])
    s = ge.HomomorphismSampler("path:3", chain=chain, n_steps=300_000, node_weights=nu,
                               random_state=1).fit(g)
    assert abs(s.conditional_density("cycle:3").estimate / exact_k3 - 1) < 0.02
    d = s.density()  # exact tree DP: hom / (sum nu)^3
    assert d.exact and d.estimate == pytest.approx(
        brute_hom_nw([(0, 1), (1, 2)], 3, a, nu) / nu.sum() ** 3, rel=1e-10)
    c = ge.HomomorphismSampler("cycle:4", chain=chain, n_steps=300_000, node_weights=nu,
                               random_state=2).fit(g).density()
    exact_c4 = brute_hom_nw(Motif.parse("cycle:4").edges.tolist(), 4, a, nu) / nu.sum() ** 4
    assert abs(c.estimate / exact_c4 - 1) < 0.03


def test_node_weight_validation():
    g = small_graph(12, n=10, p=0.5)
    for bad in [np.ones(9), -np.ones(10), np.r_[np.ones(9), np.nan], np.zeros(10), {0: 1.0}, "x"]:
        with pytest.raises(InputError):
            ge.HomomorphismSampler("path:3", node_weights=bad).fit(g)
        with pytest.raises(InputError):
            hom_count("cycle:3", g, node_weights=bad)


def test_cli_node_weights(tmp_path):
    g, _ = ge.datasets.karate()
    nu = np.linspace(0.5, 2.0, g.n_nodes)
    f = tmp_path / "nu.csv"
    f.write_text("node,weight\n" + "".join(f"{v},{w}\n" for v, w in zip(g.node_ids.tolist(), nu)))
    code, stdout, stderr = run_cli("homs", karate_path(), "--motif", "star:2", "--node-weights", f, "--json")
    assert code == 0, stderr
    assert json.loads(stdout)["estimate"] == pytest.approx(
        hom_count("star:2", g, node_weights=nu) / nu.sum() ** 3, rel=1e-9)
    f.write_text("node,weight\n0,1.0\n")
    code, _, stderr = run_cli("homs", karate_path(), "--node-weights", f)
    assert code == 2 and "weight" in stderr
    f.write_text("node,weight\n" + "".join(f"{v},-1\n" for v in g.node_ids.tolist()))
    code, _, stderr = run_cli("homs", karate_path(), "--node-weights", f)
    assert code == 2 and "> 0" in stderr


def test_elimination_merges_sibling_messages():
    from graphembed.structure.hom_counting import EliminationPlan

    # a "book": triangle 0-1-2 and pages 3..6 each joined to the spine 0-1
    edges = [(0, 1), (0, 2), (1, 2)] + [(p, s) for p in range(3, 7) for s in (0, 1)]
    plan = EliminationPlan(7, edges, [6, 5, 4, 3, 2, 1, 0])
    assert [st[4] for st in plan.steps[:4]] == [-1, 0, 0, 0]  # pages 5, 4, 3 merge into 6's table
    assert plan.peak_entries(100) < 2 * 100 ** 2 + 3 * 100 ** 2
    g = small_graph(40, n=5, p=0.8, weighted=True)
    a = dense(g)
    nu = np.linspace(0.5, 2.0, 5)
    assert np.exp(plan.log_hom(g, nu)) == pytest.approx(brute_hom_nw(edges, 7, a, nu), rel=1e-9)
