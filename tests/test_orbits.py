"""Graphlet orbits, edge orbits, graphlet counts and orbit adjacencies against brute force.

The oracle enumerates every connected induced 2-4-node subgraph of small graphs and classifies
its nodes by the degree sequence of the subgraph, written here independently of the library.
"""
import itertools
import json
import subprocess
import sys

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

import graphembed as ge
from graphembed.embed.orbit_features import OrbitAdjacencyEmbedding
from graphembed.structure.orbits import (
    ADJACENCIES,
    edge_orbit_counts,
    graphlet_counts,
    iter_orbit_adjacency_blocks,
    orbit_adjacency,
    orbit_counts,
)

# degree sequence (sorted) -> {degree inside the graphlet: orbit}
ORBIT_BY_DEGREES = {
    (1, 1): {1: 0},
    (1, 1, 2): {1: 1, 2: 2}, (2, 2, 2): {2: 3},
    (1, 1, 2, 2): {1: 4, 2: 5}, (1, 1, 1, 3): {1: 6, 3: 7}, (2, 2, 2, 2): {2: 8},
    (1, 2, 2, 3): {1: 9, 2: 10, 3: 11}, (2, 2, 3, 3): {2: 12, 3: 13}, (3, 3, 3, 3): {3: 14},
}
# ORCA edge orbits (unordered pair of end orbits), e0..e11
ORCA_EDGE = [{1, 2}, {3}, {4, 5}, {5}, {6, 7}, {8}, {9, 11}, {10}, {10, 11}, {12, 13}, {13}, {14}]
GRAPHLET_OF = {(1, 1): 0, (1, 1, 2): 1, (2, 2, 2): 2, (1, 1, 2, 2): 3, (1, 1, 1, 3): 4,
               (2, 2, 2, 2): 5, (1, 2, 2, 3): 6, (2, 2, 3, 3): 7, (3, 3, 3, 3): 8}


def brute_force(n, edges):
    """(node orbits (n, 15), {edge (a<b): 12 edge orbits}, {(h, o1, o2): dense (n, n)}, graphlets)."""
    adj = np.zeros((n, n), bool)
    for a, b in edges:
        if a != b:
            adj[a, b] = adj[b, a] = True
    nodes = np.zeros((n, 15), np.int64)
    eorb = {(a, b): np.zeros(12, np.int64) for a in range(n) for b in range(a + 1, n) if adj[a, b]}
    pairs = {}
    graphlets = np.zeros(9, np.int64)
    for k in (2, 3, 4):
        for sub in itertools.combinations(range(n), k):
            sub_edges = [(a, b) for a, b in itertools.combinations(sub, 2) if adj[a, b]]
            # distances inside the subgraph (Floyd-Warshall on <= 4 nodes)
            dist = {(a, b): (0 if a == b else (1 if adj[a, b] else 99)) for a in sub for b in sub}
            for m in sub:
                for a in sub:
                    for b in sub:
                        dist[a, b] = min(dist[a, b], dist[a, m] + dist[m, b])
            if any(d >= 99 for d in dist.values()):
                continue  # not connected
            deg = {v: sum(adj[v, w] for w in sub) for v in sub}
            seq = tuple(sorted(deg.values()))
            orb = {v: ORBIT_BY_DEGREES[seq][deg[v]] for v in sub}
            graphlets[GRAPHLET_OF[seq]] += 1
            for v in sub:
                nodes[v, orb[v]] += 1
            for a, b in itertools.permutations(sub, 2):
                key = (dist[a, b], orb[a], orb[b])
                pairs.setdefault(key, np.zeros((n, n), np.int64))[a, b] += 1
            if k >= 3:
                for a, b in sub_edges:
                    eorb[a, b][ORCA_EDGE.index({orb[a], orb[b]})] += 1
    return nodes, eorb, pairs, graphlets


def family_graphs():
    """>= 30 small graphs: (name, n, edge list)."""
    out = []
    rng = np.random.default_rng(0)
    for i, (n, p) in enumerate([(8, 0.3), (9, 0.5), (10, 0.2), (10, 0.6), (11, 0.35), (12, 0.25),
                                (12, 0.45), (7, 0.8), (9, 0.7), (12, 0.15)]):
        g = nx.gnp_random_graph(n, p, seed=i)
        out.append((f"er{i}", n, list(g.edges())))
    for i, (n, m) in enumerate([(8, 1), (10, 2), (12, 2), (12, 3), (11, 4), (9, 3)]):
        g = nx.barabasi_albert_graph(n, m, seed=i)
        out.append((f"ba{i}", n, list(g.edges())))
    for i, (n, m, p) in enumerate([(10, 2, 0.8), (12, 3, 0.9), (12, 2, 0.5), (11, 3, 0.7)]):
        g = nx.powerlaw_cluster_graph(n, m, p, seed=i)
        out.append((f"clustered{i}", n, list(g.edges())))
    for i in range(2):
        g = nx.relaxed_caveman_graph(3, 4, 0.2, seed=i)
        out.append((f"caveman{i}", g.number_of_nodes(), list(g.edges())))
    for i, (size, drop) in enumerate([(5, 0), (6, 2), (7, 5), (8, 10), (6, 0), (7, 3)]):
        edges = list(itertools.combinations(range(size), 2))
        keep = rng.permutation(len(edges))[drop:]
        edges = [edges[j] for j in sorted(keep)]
        out.append((f"k4rich{i}", size + 2, edges))  # two isolated nodes
    for i in range(3):  # several components, isolated nodes
        g = nx.disjoint_union(nx.complete_graph(4), nx.cycle_graph(4 + i))
        g.add_nodes_from(range(g.number_of_nodes(), g.number_of_nodes() + 2))
        g.add_edges_from([(0, 5 + i)] if i else [])
        out.append((f"mixed{i}", g.number_of_nodes(), list(g.edges())))
    out.append(("star", 7, [(0, j) for j in range(1, 7)]))
    out.append(("path", 8, [(j, j + 1) for j in range(7)]))
    out.append(("empty", 4, []))
    return out


GRAPHS = family_graphs()


def to_graph(n, edges):
    src = np.array([a for a, _ in edges], dtype=np.int64)
    dst = np.array([b for _, b in edges], dtype=np.int64)
    return ge.Graph.from_edges(src, dst, nodes=np.arange(n))


def test_enough_graphs():
    assert len(GRAPHS) >= 30


@pytest.mark.parametrize("name,n,edges", GRAPHS, ids=[g[0] for g in GRAPHS])
def test_exact_against_brute_force(name, n, edges):
    g = to_graph(n, edges)
    nodes, eorb, pairs, graphlets = brute_force(n, edges)
    assert np.array_equal(orbit_counts(g), nodes)

    src, dst, counts = edge_orbit_counts(g)
    got = {(int(a), int(b)): c for a, b, c in zip(src, dst, counts)}
    assert set(got) == set(eorb)
    for key, value in eorb.items():
        assert np.array_equal(got[key], value), (key, got[key], value)

    assert list(graphlet_counts(g).values()) == graphlets.tolist()
    from graphembed.structure.orbits import _graphlets_from_edge_orbits
    assert list(_graphlets_from_edge_orbits(len(edges), counts).values()) == graphlets.tolist()

    adj = orbit_adjacency(g, "all", block_rows=3)
    assert len(adj) == 28
    for key in ADJACENCIES:
        expected = pairs.get(key, np.zeros((n, n), np.int64))
        assert np.array_equal(adj[key].toarray(), expected), key
    for key in pairs:  # the brute force finds no combination outside the 28
        assert key in adj


def test_identities_on_a_larger_graph():
    g = to_graph(300, list(nx.powerlaw_cluster_graph(300, 4, 0.6, seed=3).edges()))
    o = orbit_counts(g, n_jobs=2)
    a = g.to_scipy().astype(np.int64)
    deg = np.asarray(a.sum(axis=1)).ravel()
    assert o.dtype == np.int64 and o.shape == (300, 15)
    assert np.array_equal(o[:, 0], deg)
    assert np.array_equal(o[:, 2] + o[:, 3], deg * (deg - 1) // 2)
    triangles = int((a @ a @ a).diagonal().sum()) // 6
    assert o[:, 3].sum() == 3 * triangles == int((a @ a @ a).diagonal().sum()) // 2
    assert o[:, 14].sum() % 4 == 0 and o[:, 8].sum() % 4 == 0
    assert graphlet_counts(g)["G2_triangle"] == triangles
    # thread count does not change anything
    assert np.array_equal(o, orbit_counts(g, n_jobs=1))
    # one-hop adjacencies sum back to node orbits: o5 nodes have one o4 neighbour
    adj = orbit_adjacency(g, ["1,5,4", "1,13,13"])
    assert np.array_equal(np.asarray(adj[(1, 5, 4)].sum(axis=1)).ravel(), o[:, 5])
    assert np.array_equal(np.asarray(adj[(1, 13, 13)].sum(axis=1)).ravel(), o[:, 13])
    assert adj[(1, 5, 4)].nnz <= g.nnz


def test_directed_self_loops_duplicates():
    edges = [(0, 1), (1, 2), (2, 0), (2, 3), (3, 4), (4, 1)]
    und = orbit_counts(to_graph(5, edges))
    messy = ge.Graph.from_edges([0, 1, 2, 2, 3, 4, 1, 3, 3], [1, 2, 0, 3, 4, 1, 0, 3, 2],
                                directed=True, self_loops=True)
    assert np.array_equal(orbit_counts(messy), und)
    feats = ge.OrbitFeatures(log=False).fit(messy)
    assert feats.symmetrized_ and feats.embedding_.params["symmetrized"]


def test_orbit_features():
    g = to_graph(12, list(nx.powerlaw_cluster_graph(12, 2, 0.5, seed=1).edges()))
    raw = ge.OrbitFeatures(log=False).fit_transform(g)
    assert np.array_equal(raw.vectors, orbit_counts(g).astype(np.float32))
    emb = ge.OrbitFeatures().fit_transform(g)
    x = np.log1p(orbit_counts(g).astype(np.float64))
    std = x.std(axis=0)
    expected = np.where(std > 0, (x - x.mean(axis=0)) / np.where(std > 0, std, 1), 0)
    assert np.allclose(emb.vectors, expected, atol=1e-5)
    assert emb.method == "orbits" and emb.dim == 15
    assert ge.get_embedder("orbits") is ge.OrbitFeatures


def test_streaming_blocks_and_top_k():
    n, edges = 40, list(nx.powerlaw_cluster_graph(40, 3, 0.5, seed=5).edges())
    g = to_graph(n, edges)
    full = orbit_adjacency(g, "2,1,1")[(2, 1, 1)].toarray()
    a = g.to_scipy().toarray().astype(np.int64)
    expected = a @ a
    expected[a > 0] = 0
    np.fill_diagonal(expected, 0)
    assert np.array_equal(full, expected)  # (2,1,1) = common neighbours of non-adjacent pairs
    starts = [(s, e) for s, e, _ in iter_orbit_adjacency_blocks(g, "2-hop", block_rows=7)]
    assert starts[0] == (0, 7) and starts[-1][1] == n
    top = orbit_adjacency(g, "2,1,1", top_k=3)[(2, 1, 1)]
    assert np.diff(top.indptr).max() <= 3
    for i in range(n):
        row = top.getrow(i).toarray().ravel()
        kept = row[row > 0]
        if kept.size:
            assert kept.min() >= np.sort(full[i])[::-1][min(2, kept.size - 1)]


def test_orbit_adjacency_embedding():
    g = to_graph(30, list(nx.powerlaw_cluster_graph(30, 3, 0.6, seed=2).edges()))
    est = OrbitAdjacencyEmbedding(adjacency="1,5,5", dim=4, random_state=0, n_iter=20)
    emb = est.fit_transform(g)
    assert emb.vectors.shape == (30, 4)
    # oracle: dense PPMI and numpy's SVD give the same singular values
    a = orbit_adjacency(g, "1,5,5")[(1, 5, 5)].toarray().astype(float)
    r, c = a.sum(1, keepdims=True), a.sum(0, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.where(a > 0, np.log(a * a.sum() / (r * c)), 0)
    m = np.maximum(m, 0)
    s = np.linalg.svd(m, compute_uv=False)[:4]
    assert np.allclose(np.sort(np.linalg.norm(emb.vectors, axis=0) ** 2)[::-1], s, rtol=1e-3)
    again = OrbitAdjacencyEmbedding(adjacency="1,5,5", dim=4, random_state=0, n_iter=20).fit_transform(g)
    assert np.array_equal(emb.vectors, again.vectors)


def test_bad_parameters():
    g = to_graph(5, [(0, 1), (1, 2)])
    with pytest.raises(ge.InputError, match="not one of the 28"):
        orbit_adjacency(g, "2,3,3")
    with pytest.raises(ge.InputError, match="top_k"):
        orbit_adjacency(g, "2-hop", top_k=0)
    with pytest.raises(ge.InputError, match="dim"):
        OrbitAdjacencyEmbedding(dim=10).fit(g)


# ---------------------------------------------------------------------------- CLI
def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "graphembed.cli.main", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)


@pytest.fixture
def edge_file(tmp_path):
    g = nx.powerlaw_cluster_graph(25, 3, 0.5, seed=4)
    path = tmp_path / "edges.csv"
    path.write_text("".join(f"n{a},n{b}\n" for a, b in g.edges()))
    return path, g


def test_cli_orbits(tmp_path, edge_file):
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    path, g = edge_file
    out = tmp_path / "orbits.parquet"
    res = run_cli("orbits", path, "-o", out, "--json")
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["nodes"] == 25 and summary["symmetrized"] is False
    table = pq.read_table(out)
    assert table.column_names == ["node"] + [f"o{i}" for i in range(15)]
    assert str(table.schema.field("o14").type) == "int64"
    nodes = [f"n{v}" for v in g.nodes()]
    graph = ge.Graph.from_edges([f"n{a}" for a, _ in g.edges()], [f"n{b}" for _, b in g.edges()])
    counts = orbit_counts(graph)
    order = {v: i for i, v in enumerate(graph.node_ids.tolist())}
    got = np.column_stack([table.column(f"o{i}").to_numpy() for i in range(15)])
    ids = table.column("node").to_pylist()
    assert sorted(ids) == sorted(nodes)
    assert np.array_equal(got, counts[[order[v] for v in ids]])

    out_e = tmp_path / "edges_orbits.csv"
    res = run_cli("orbits", path, "-o", out_e, "--edges", "--quiet")
    assert res.returncode == 0, res.stderr
    t = pacsv.read_csv(out_e)
    assert t.column_names == ["source", "target"] + [f"e{i}" for i in range(12)]
    assert t.num_rows == g.number_of_edges()

    res = run_cli("orbits", path, "--graphlets", "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["graphlets"] == graphlet_counts(graph)


def test_cli_orbit_adjacency_and_embed(tmp_path, edge_file):
    path, g = edge_file
    out = tmp_path / "adj.npz"
    res = run_cli("orbit-adjacency", path, "--orbits", "1-hop", "-o", out, "--quiet")
    assert res.returncode == 0, res.stderr
    data = np.load(out, allow_pickle=False)
    graph = ge.Graph.from_edges([f"n{a}" for a, _ in g.edges()], [f"n{b}" for _, b in g.edges()])
    m = sp.csr_matrix((data["h1_o5_5_data"], data["h1_o5_5_indices"], data["h1_o5_5_indptr"]),
                      shape=tuple(data["h1_o5_5_shape"]))
    assert np.array_equal(m.toarray(), orbit_adjacency(graph, "1,5,5")[(1, 5, 5)].toarray())
    assert list(data["node_ids"]) == graph.node_ids.tolist()

    out2 = tmp_path / "adj2.parquet"
    res = run_cli("orbit-adjacency", path, "--orbits", "2-hop", "--orbits", "3,4,4", "-o", out2,
                  "--block-rows", "4", "--json")
    assert res.returncode == 0, res.stderr
    import pyarrow.parquet as pq

    t = pq.read_table(out2)
    assert t.column_names[:2] == ["source", "target"] and "h3_o4_4" in t.column_names
    full = orbit_adjacency(graph, "3,4,4")[(3, 4, 4)]
    assert int(np.asarray(t.column("h3_o4_4")).sum()) == int(full.sum())

    emb = tmp_path / "emb.parquet"
    res = run_cli("orbit-embed", path, "-o", emb, "--adjacency", "1,5,5", "--dim", "4", "--seed", "0", "--quiet")
    assert res.returncode == 0, res.stderr
    e = ge.Embedding.load(emb)
    assert e.vectors.shape == (25, 4)


def test_cli_bad_input(tmp_path, edge_file):
    path, _ = edge_file
    res = run_cli("orbit-adjacency", path, "--orbits", "2,3,3", "-o", tmp_path / "x.npz")
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and res.stderr.startswith("graphembed: error:")
    assert not (tmp_path / "x.npz").exists()
    res = run_cli("orbits", tmp_path / "missing.csv", "-o", tmp_path / "o.parquet")
    assert res.returncode == 2 and "Traceback" not in res.stderr
