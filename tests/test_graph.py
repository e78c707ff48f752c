"""Graph construction: CSR against independent oracles (scipy, networkx), ids, merge rules."""
import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

import graphembed as ge
from graphembed.graph import Graph
from graphembed.io.errors import InputError


def check_csr(g):
    """Structural invariants every Graph keeps."""
    assert g.indptr.dtype == np.int64 and g.indices.dtype == np.int32
    assert g.indptr[0] == 0 and np.all(np.diff(g.indptr) >= 0) and g.indptr[-1] == g.indices.size
    for i in range(g.n_nodes):
        row = g.indices[g.indptr[i]:g.indptr[i + 1]]
        assert np.all(np.diff(row) > 0), f"row {i} not strictly sorted: {row}"
    if g.weights is not None:
        assert g.weights.dtype == np.float32 and g.weights.shape == g.indices.shape


def oracle_csr(src, dst, n, directed, self_loops, weights=None, rule="first"):
    """Dense adjacency built the slow obvious way."""
    a = np.zeros((n, n))
    seen = np.zeros((n, n), dtype=bool)
    w = np.ones(len(src)) if weights is None else np.asarray(weights, dtype=np.float64)
    for u, v, x in zip(src, dst, w):
        if u == v and not self_loops:
            continue
        pairs = [(u, v)] if directed or u == v else [(u, v), (v, u)]
        for i, j in pairs:
            if not seen[i, j]:
                a[i, j] = x
                seen[i, j] = True
            elif rule == "sum":
                a[i, j] += x
            elif rule == "max":
                a[i, j] = max(a[i, j], x)
    return a, seen


def dense(g):
    a = np.zeros((g.n_nodes, g.n_nodes))
    seen = np.zeros((g.n_nodes, g.n_nodes), dtype=bool)
    rows = np.repeat(np.arange(g.n_nodes), np.diff(g.indptr))
    a[rows, g.indices] = 1.0 if g.weights is None else g.weights
    seen[rows, g.indices] = True
    return a, seen


@pytest.mark.parametrize("directed", [False, True])
@pytest.mark.parametrize("self_loops", [False, True])
@pytest.mark.parametrize("rule", ["first", "sum", "max"])
def test_random_multigraph_matches_oracle(rng, directed, self_loops, rule):
    n, m = 30, 400  # dense enough for many duplicates, reversed duplicates and loops
    src = rng.integers(0, n, m)
    dst = rng.integers(0, n, m)
    w = rng.integers(1, 9, m).astype(np.float64) / 4  # exact in float32 and in sums
    g = Graph.from_edges(src, dst, w, directed=directed, self_loops=self_loops, duplicates=rule,
                         nodes=np.arange(n))
    check_csr(g)
    assert np.array_equal(g.node_ids, np.arange(n))
    want, want_seen = oracle_csr(src, dst, n, directed, self_loops, w, rule)
    got, got_seen = dense(g)
    assert np.array_equal(got_seen, want_seen)
    np.testing.assert_array_equal(got, want)
    loops = int(np.count_nonzero(src == dst))
    assert g.stats["self_loops_dropped"] == (0 if self_loops else loops)
    assert g.stats["input_edges"] == m
    # every input edge is stored, dropped as a loop, or merged as a duplicate
    kept = m - g.stats["self_loops_dropped"] - g.stats["duplicates_merged"]
    assert g.n_edges == kept
    if not directed:
        assert (g.to_scipy() != g.to_scipy().T).nnz == 0


def test_undirected_symmetrised_like_networkx(rng):
    src, dst = rng.integers(0, 50, 300), rng.integers(0, 50, 300)
    g = Graph.from_edges(src, dst)
    ref = nx.Graph()
    ref.add_edges_from(zip(src.tolist(), dst.tolist()))
    ref.remove_edges_from(list(nx.selfloop_edges(ref)))
    order = sorted(ref.nodes)
    want = nx.to_scipy_sparse_array(ref, nodelist=order, format="csr")
    assert np.array_equal(g.node_ids, order)
    got = g.to_scipy()
    assert (got != want).nnz == 0
    assert g.n_edges == ref.number_of_edges() and g.n_nodes == ref.number_of_nodes()
    assert np.array_equal(g.out_degree(), [ref.degree(v) for v in order])


def test_directed_matches_scipy(rng):
    src, dst = rng.integers(0, 40, 500), rng.integers(0, 40, 500)
    g = Graph.from_edges(src, dst, directed=True, self_loops=True, nodes=np.arange(40))
    want = sp.coo_matrix((np.ones(500), (src, dst)), shape=(40, 40)).tocsr()
    want.data[:] = 1
    got = g.to_scipy()
    assert (got != want).nnz == 0
    assert g.n_edges == want.nnz
    np.testing.assert_array_equal(g.out_degree(), np.diff(want.indptr))


def test_duplicate_weights_exact_values():
    # (0,1) three times, once reversed; undirected so all three are the same edge
    src = [0, 1, 0, 2]
    dst = [1, 0, 1, 3]
    w = [2.0, 5.0, 3.0, 1.0]
    first = Graph.from_edges(src, dst, w, duplicates="first")
    total = Graph.from_edges(src, dst, w, duplicates="sum")
    most = Graph.from_edges(src, dst, w, duplicates="max")
    for g, value in ((first, 2.0), (total, 10.0), (most, 5.0)):
        a = g.to_scipy()
        assert a[0, 1] == value and a[1, 0] == value and a[2, 3] == 1.0
        assert g.stats["duplicates_merged"] == 2
    directed = Graph.from_edges(src, dst, w, directed=True, duplicates="first")
    a = directed.to_scipy()
    assert a[0, 1] == 2.0 and a[1, 0] == 5.0 and directed.stats["duplicates_merged"] == 1
    directed = Graph.from_edges(src, dst, w, directed=True, duplicates="sum")
    assert directed.to_scipy()[0, 1] == 5.0


def test_first_is_first_in_input_order_not_smallest():
    src = [0, 0, 0, 0]
    dst = [3, 1, 3, 1]
    w = [9.0, 4.0, 1.0, 7.0]
    g = Graph.from_edges(src, dst, w, directed=True)
    assert g.indices.tolist() == [1, 2] and g.node_ids.tolist() == [0, 1, 3]
    a = g.to_scipy()
    assert a[0, 2] == 9.0 and a[0, 1] == 4.0


def test_self_loops_dropped_by_default_and_kept_on_request():
    src, dst = [0, 1, 1, 2, 2], [1, 1, 1, 2, 0]
    g = Graph.from_edges(src, dst)
    assert g.n_self_loops == 0 and g.stats["self_loops_dropped"] == 3
    assert g.n_edges == 2
    kept = Graph.from_edges(src, dst, self_loops=True)
    assert kept.stats["self_loops_dropped"] == 0 and kept.n_self_loops == 2
    assert kept.stats["duplicates_merged"] == 1  # (1, 1) twice
    a = kept.to_scipy()
    assert a[1, 1] == 1 and a[2, 2] == 1 and kept.nnz == 4 + 2  # loops stored once
    assert kept.n_edges == 4


def test_isolated_nodes_keep_a_row():
    g = Graph.from_edges([1, 2], [2, 3], nodes=[0, 1, 2, 3, 7])
    assert g.node_ids.tolist() == [0, 1, 2, 3, 7]
    assert g.out_degree().tolist() == [0, 1, 2, 1, 0]
    assert g.summary()["isolated_nodes"] == 2
    s = Graph.from_edges(["b", "c"], ["c", "d"], nodes=["z", "b"])
    assert s.node_ids.tolist() == ["z", "b", "c", "d"]
    assert s.out_degree().tolist() == [0, 1, 2, 1]


def test_integer_ids_sorted_string_ids_first_appearance():
    g = Graph.from_edges([50, -3, 10**12], [7, 50, 7])
    assert g.node_ids.dtype == np.int64
    assert g.node_ids.tolist() == [-3, 7, 50, 10**12]
    assert g.index_of(10**12) == 3 and g.index_of(np.int64(7)) == 1
    s = Graph.from_edges(["zeta", "alpha", "mid"], ["alpha", "beta", "zeta"])
    # sources first (zeta, alpha, mid), then new targets (beta)
    assert s.node_ids.tolist() == ["zeta", "alpha", "mid", "beta"]
    assert s.index_of(["beta", "zeta"]).tolist() == [3, 0]
    assert s.summary()["id_type"] == "str" and g.summary()["id_type"] == "int"
    with pytest.raises(InputError, match="unknown node id 'nope'"):
        s.index_of("nope")


def test_mixed_ids_become_strings():
    g = Graph.from_edges(np.array(["a", 1], dtype=object), [2, "a"])
    assert g.node_ids.tolist() == ["a", "1", "2"]


def test_sparse_integer_ids_wide_range(rng):
    ids = rng.choice(2**40, size=100, replace=False) - 2**39
    src, dst = rng.choice(ids, 1000), rng.choice(ids, 1000)
    g = Graph.from_edges(src, dst, directed=True, self_loops=True)
    assert np.array_equal(g.node_ids, np.unique(np.concatenate([src, dst])))
    rows = g.node_ids[np.repeat(np.arange(g.n_nodes), g.out_degree())]
    assert set(zip(rows.tolist(), g.node_ids[g.indices].tolist())) == \
        set(zip(src.tolist(), dst.tolist()))


def test_networkx_round_trip():
    ref = nx.karate_club_graph()
    g = Graph.from_networkx(ref)
    check_csr(g)
    assert g.is_weighted and g.n_nodes == 34 and g.n_edges == ref.number_of_edges()
    back = g.to_networkx()
    assert set(back.nodes) == set(ref.nodes)
    assert {frozenset(e) for e in back.edges} == {frozenset(e) for e in ref.edges}
    for u, v, w in ref.edges(data="weight"):
        assert back[u][v]["weight"] == w
    d = nx.DiGraph([("x", "y"), ("y", "z"), ("z", "x"), ("x", "z")])
    gd = Graph.from_networkx(d)
    assert gd.directed and not gd.is_weighted and gd.node_ids.tolist() == ["x", "y", "z"]
    assert set(gd.to_networkx().edges) == set(d.edges)


def test_networkx_self_loops_and_isolated():
    ref = nx.Graph()
    ref.add_nodes_from([5, 6, 7])
    ref.add_edge(5, 5)
    ref.add_edge(5, 6)
    g = Graph.from_networkx(ref)
    assert g.n_self_loops == 0 and g.stats["self_loops_dropped"] == 1
    assert g.out_degree().tolist() == [1, 1, 0]
    kept = Graph.from_networkx(ref, self_loops=True)
    assert kept.n_self_loops == 1 and kept.n_edges == 2


def test_scipy_round_trip(rng):
    a = sp.random(60, 60, density=0.1, random_state=3, format="csr")
    a = (a + a.T).tocsr()
    a.setdiag(0)
    a.eliminate_zeros()
    g = Graph.from_scipy(a)
    check_csr(g)
    assert not g.directed and g.is_weighted
    back = g.to_scipy()
    np.testing.assert_allclose(back.toarray(), a.toarray().astype(np.float32))
    directed = sp.csr_matrix(np.triu(np.ones((5, 5)), 1))
    gd = Graph.from_scipy(directed)
    assert gd.directed and not gd.is_weighted and gd.n_edges == 10
    und = Graph.from_scipy(directed, directed=False)
    assert not und.directed and und.n_edges == 10 and (und.to_scipy() != und.to_scipy().T).nnz == 0
    loops = Graph.from_scipy(sp.identity(4, format="csr") + sp.csr_matrix(np.eye(4, k=1) + np.eye(4, k=-1)))
    assert loops.n_self_loops == 0 and loops.stats["self_loops_dropped"] == 4


def test_subgraph_matches_networkx(rng):
    src, dst = rng.integers(0, 40, 200), rng.integers(0, 40, 200)
    w = rng.integers(0, 5, 200).astype(float)  # includes zero weights: still edges
    g = Graph.from_edges(src, dst, w, nodes=np.arange(40))
    pick = rng.choice(40, 15, replace=False)
    sub = g.subgraph(pick)
    check_csr(sub)
    assert np.array_equal(sub.node_ids, g.node_ids[pick])
    ref = g.to_networkx().subgraph(g.node_ids[pick].tolist())
    got = sub.to_networkx()
    assert {frozenset(e) for e in got.edges} == {frozenset(e) for e in ref.edges}
    for u, v, x in ref.edges(data="weight"):
        assert got[u][v]["weight"] == x


def test_weighted_degree_and_summary():
    g = Graph.from_edges([0, 0, 1], [1, 2, 2], [1.0, 2.0, 4.0], nodes=[0, 1, 2, 3])
    np.testing.assert_allclose(g.weighted_degree(), [3.0, 5.0, 6.0, 0.0])
    s = g.summary()
    assert s["nodes"] == 4 and s["edges"] == 3 and s["weighted"] and s["isolated_nodes"] == 1
    assert "Graph(4 nodes, 3 edges, undirected, weighted)" == repr(g)


@pytest.mark.parametrize("w, match", [([1.0, np.nan], "finite"), ([1.0, -2.0], "negative"),
                                      ([np.inf, 1.0], "finite")])
def test_bad_weights(w, match):
    with pytest.raises(InputError, match=match):
        Graph.from_edges([0, 1], [1, 2], w)


def test_bad_arguments():
    with pytest.raises(InputError, match="duplicates"):
        Graph.from_edges([0], [1], duplicates="min")
    with pytest.raises(InputError, match="differ in length"):
        Graph.from_edges([0, 1], [1])
    with pytest.raises(InputError, match="missing"):
        Graph.from_edges(np.array(["a", None], dtype=object), ["b", "c"])
    with pytest.raises(InputError, match="square"):
        Graph.from_scipy(sp.csr_matrix(np.ones((2, 3))))


def test_empty_edge_list_with_nodes():
    g = Graph.from_edges(np.array([], dtype=np.int64), np.array([], dtype=np.int64), nodes=[1, 2])
    assert g.n_nodes == 2 and g.nnz == 0 and g.summary()["isolated_nodes"] == 2


def test_read_graph_is_exported():
    assert ge.read_graph is not None and ge.Graph is Graph


def test_coerce_accepts_graph_networkx_and_matrices():
    g = Graph.from_edges([0, 1], [1, 2])
    assert Graph.coerce(g) is g
    from_nx = Graph.coerce(nx.path_graph(3))
    from_sparse = Graph.coerce(sp.csr_matrix(g.to_scipy()))
    from_dense = Graph.coerce(g.to_scipy().toarray())
    for other in (from_nx, from_sparse, from_dense):
        assert other.n_nodes == 3 and other.n_edges == g.n_edges
        assert (other.to_scipy() != g.to_scipy()).nnz == 0
    assert Graph.coerce(np.array([[0, 1], [0, 0]]), directed=False).directed is False
    with pytest.raises(InputError, match="got list"):
        Graph.coerce([(0, 1)])


@pytest.mark.parametrize("symmetrize", [False, True])
@pytest.mark.parametrize("keep_self_loops", [False, True])
@pytest.mark.parametrize("merge", [0, 1, 2])
@pytest.mark.parametrize("weighted", [False, True])
def test_small_graphs_build_the_kernels_csr_in_numpy(symmetrize, keep_self_loops, merge, weighted):
    """Below NUMPY_MAX_EDGES numpy builds the CSR; it must equal the numba kernels' entry for entry."""
    from graphembed._kernels import csr

    rng = np.random.default_rng(merge * 4 + 2 * symmetrize + keep_self_loops)
    n, m = 40, 600  # many repeats and self-loops
    src = rng.integers(0, n, m).astype(np.int32)
    dst = rng.integers(0, n, m).astype(np.int32)
    w = rng.choice(np.array([0.1, 0.7, 1e-3, 3.3, -0.0, 2.0], np.float32), m) if weighted else None
    small = csr._edges_to_csr_numpy(src, dst, w, n, symmetrize, keep_self_loops, merge)
    saved = csr.NUMPY_MAX_EDGES
    csr.NUMPY_MAX_EDGES = -1
    try:
        big = csr.edges_to_csr(src, dst, w, n, symmetrize, keep_self_loops, merge)
    finally:
        csr.NUMPY_MAX_EDGES = saved
    for a, b in zip(small[:3], big[:3]):
        if a is None or b is None:
            assert a is None and b is None
        else:
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes()  # bit for bit, -0.0 included
    assert small[3:] == big[3:]
