"""Exact graphlet orbit counts (2-4-node graphlets), edge orbits, graphlet counts, orbit features.

T. Hocevar and J. Demsar. "A combinatorial approach to graphlet counting." Bioinformatics
30(4), 2014 (ORCA). N. Przulj. "Biological network comparison using graphlet degree
distribution." Bioinformatics 23(2), 2007 (the orbit numbering).

Graphlets and node orbits (Przulj's numbering, as ORCA prints them)::

    G0 edge                 o0
    G1 path on 3 nodes      o1 end, o2 centre
    G2 triangle             o3
    G3 path on 4 nodes      o4 end, o5 inner
    G4 star (claw)          o6 leaf, o7 centre
    G5 4-cycle              o8
    G6 paw (tailed triangle) o9 tail end, o10 triangle node of degree 2, o11 degree-3 node
    G7 diamond              o12 degree-2 node, o13 degree-3 node
    G8 4-clique             o14

Counts are of *induced* connected subgraphs. Edge orbits follow ORCA's edge mode (12 orbits,
the single-edge graphlet left out)::

    e0 (1,2) path          e1 (3,3) triangle     e2 (4,5) 4-path end edge
    e3 (5,5) 4-path middle e4 (6,7) star         e5 (8,8) 4-cycle
    e6 (9,11) paw tail     e7 (10,10) paw edge opposite the degree-3 node
    e8 (10,11) paw triangle edge at the degree-3 node
    e9 (12,13) diamond rim e10 (13,13) diamond diagonal   e11 (14,14) 4-clique

How: the graph is made simple (directed input symmetrised, self-loops and duplicates
dropped) and its nodes ranked by degree. The kernels (:mod:`graphembed._kernels.orbits`)
count triangles per edge, enumerate each 4-clique once from its highest-ranked node, count
non-induced 4-cycles per edge from wedges, and sum degrees and triangle counts over common
neighbours. From these, closed formulas give for every directed edge (v, u) the number of
*non-induced* copies of each 4-node graphlet with v and u on given orbits; a fixed integer
unitriangular matrix (computed from the graphlets themselves, :func:`_conversion_matrix`)
turns them into induced counts. Node orbits, edge orbits and one-hop orbit adjacencies are
sums of these per-edge counts. Work is O(sum over edges of min degree + 4-cliques +
ranked wedges); memory O(|E|).
"""
import itertools
from fractions import Fraction

import numpy as np

from graphembed.base import numba_threads, progress
from graphembed.graph import Graph
from graphembed.io.errors import InputError

N_ORBITS = 15
ORBIT_COLUMNS = [f"o{i}" for i in range(N_ORBITS)]
GRAPHLETS = ("G0_edge", "G1_path3", "G2_triangle", "G3_path4", "G4_star", "G5_cycle4", "G6_paw",
             "G7_diamond", "G8_clique4")
# ORCA's edge orbits of 3-4-node graphlets, as the (node orbit, node orbit) pair of the ends
EDGE_ORBITS = ((1, 2), (3, 3), (4, 5), (5, 5), (6, 7), (8, 8), (9, 11), (10, 10), (10, 11),
               (12, 13), (13, 13), (14, 14))
EDGE_ORBIT_COLUMNS = [f"e{i}" for i in range(len(EDGE_ORBITS))]
# the ordered node-orbit pairs of adjacent nodes (one-hop orbit adjacencies)
DIRECTED_TYPES = ((0, 0), (1, 2), (2, 1), (3, 3), (4, 5), (5, 4), (5, 5), (6, 7), (7, 6), (8, 8),
                  (9, 11), (11, 9), (10, 11), (11, 10), (10, 10), (12, 13), (13, 12), (13, 13),
                  (14, 14))
_TYPES4 = DIRECTED_TYPES[4:]
# two- and three-hop ones, in the column order of the pair kernel
MULTI_HOP = ((2, 1, 1), (2, 4, 5), (2, 5, 4), (2, 6, 6), (2, 8, 8), (2, 9, 10), (2, 10, 9),
             (2, 12, 12), (3, 4, 4))
ADJACENCIES = tuple((1, a, b) for a, b in DIRECTED_TYPES) + MULTI_HOP  # the 28 (h, o1, o2)
# The stages of one orbit count, the steps of its progress bar. The kernels run over all nodes
# at once (numba-parallel over blocks of the ranked graph), so the bar counts stages, not nodes.
COUNT_STAGES = ("rank nodes", "triangles", "4-cliques, 4-cycles", "non-induced counts", "solve")


def _stage_bar(verbose, desc="orbit counts"):
    """A progress bar over ``COUNT_STAGES``, the next stage's name as its postfix."""
    bar = progress(len(COUNT_STAGES), desc, verbose)
    bar.set_postfix_str(COUNT_STAGES[0], refresh=False)
    return bar


def _stage_done(bar):
    if bar is None:
        return
    bar.update(1)
    if bar.n < len(COUNT_STAGES):
        bar.set_postfix_str(COUNT_STAGES[bar.n], refresh=False)


# ------------------------------------------------------------------------ graphlet structure
def _orbits_of(nodes, edges):
    """Orbit of each node of a connected graph on 2-4 nodes, from edge count and degrees."""
    deg = {v: 0 for v in nodes}
    for a, b in edges:
        deg[a] += 1
        deg[b] += 1
    k, m = len(nodes), len(edges)
    if k == 2:
        return {v: 0 for v in nodes}
    if k == 3:
        return {v: (3 if m == 3 else (2 if deg[v] == 2 else 1)) for v in nodes}
    if m == 3:
        star = max(deg.values()) == 3
        return {v: ((7 if deg[v] == 3 else 6) if star else (4 if deg[v] == 1 else 5)) for v in nodes}
    if m == 4:
        if max(deg.values()) == 2:
            return {v: 8 for v in nodes}
        return {v: {1: 9, 2: 10, 3: 11}[deg[v]] for v in nodes}
    if m == 5:
        return {v: (13 if deg[v] == 3 else 12) for v in nodes}
    return {v: 14 for v in nodes}


def _connected(nodes, edges):
    seen, stack = {nodes[0]}, [nodes[0]]
    while stack:
        x = stack.pop()
        for a, b in edges:
            for s, t in ((a, b), (b, a)):
                if s == x and t not in seen:
                    seen.add(t)
                    stack.append(t)
    return len(seen) == len(nodes)


_GRAPHLETS4 = (  # one labelled representative of each 4-node graphlet
    [(0, 1), (1, 2), (2, 3)], [(0, 1), (0, 2), (0, 3)], [(0, 1), (1, 2), (2, 3), (3, 0)],
    [(0, 1), (1, 2), (2, 0), (2, 3)], [(0, 1), (1, 2), (2, 3), (3, 0), (0, 2)],
    [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)])


def _conversion_matrix():
    """int64 (15, 15) inverse of M, M[k, j] = copies of the graphlet of directed type k, as a
    spanning subgraph keeping the root edge, inside the induced graphlet of type j."""
    index = {t: i for i, t in enumerate(_TYPES4)}
    m = [[0] * len(_TYPES4) for _ in _TYPES4]
    done = set()
    for edges in _GRAPHLETS4:
        nodes = [0, 1, 2, 3]
        orb = _orbits_of(nodes, edges)
        for a, b in edges:
            for x, y in ((a, b), (b, a)):
                j = index[(orb[x], orb[y])]
                if j in done:
                    continue
                done.add(j)
                rest = [e for e in edges if e != (a, b)]
                for r in range(len(rest) + 1):
                    for sub in itertools.combinations(rest, r):
                        sub = [(a, b), *sub]
                        if not _connected(nodes, sub):
                            continue
                        o = _orbits_of(nodes, sub)
                        m[index[(o[x], o[y])]][j] += 1
    assert len(done) == len(_TYPES4)
    # exact inverse (Gauss-Jordan over fractions); M is integer unitriangular up to order
    k = len(_TYPES4)
    a = [[Fraction(v) for v in row] + [Fraction(int(i == j)) for j in range(k)] for i, row in enumerate(m)]
    for col in range(k):
        piv = next(r for r in range(col, k) if a[r][col] != 0)
        a[col], a[piv] = a[piv], a[col]
        pv = a[col][col]
        a[col] = [v / pv for v in a[col]]
        for r in range(k):
            if r != col and a[r][col] != 0:
                f = a[r][col]
                a[r] = [vr - f * vc for vr, vc in zip(a[r], a[col])]
    inv = np.array([[v for v in row[k:]] for row in a], dtype=object)
    assert all(v.denominator == 1 for v in inv.ravel())
    return np.array(m, dtype=np.int64), inv.astype(np.int64)


_MATRICES = None


def _matrices():
    global _MATRICES
    if _MATRICES is None:
        _MATRICES = _conversion_matrix()
    return _MATRICES


# ------------------------------------------------------------------------ input
class _Simple:
    """The simple undirected CSR of a graph plus its degree-ranked copy."""

    def __init__(self, graph):
        import scipy.sparse as sp

        graph = Graph.coerce(graph)
        self.graph = graph
        self.symmetrized = bool(graph.directed)
        n = graph.n_nodes
        a = sp.csr_matrix((np.ones(graph.nnz, np.int8), graph.indices, graph.indptr), shape=(n, n))
        if graph.directed:
            a = (a + a.T).tocsr()
        a.setdiag(0)
        a.eliminate_zeros()
        a.sort_indices()
        self.indptr = a.indptr.astype(np.int64)
        self.indices = a.indices.astype(np.int32)
        self.n = n
        self.degree = np.diff(self.indptr)
        self._ranked = None

    @property
    def n_edges(self):
        return int(self.indices.shape[0] // 2)

    def ranked(self):
        """(indptr, indices, orig_pos) of the graph with nodes sorted by (degree, index)."""
        if self._ranked is None:
            order = np.lexsort((np.arange(self.n), self.degree))
            rank = np.empty(self.n, np.int64)
            rank[order] = np.arange(self.n)
            counts = self.degree[order]
            indptr = np.zeros(self.n + 1, np.int64)
            np.cumsum(counts, out=indptr[1:])
            from graphembed._kernels.orbits import relabel

            indices, orig_pos = relabel(self.indptr, self.indices, order, rank, indptr)
            self._ranked = (indptr, indices, orig_pos, order)
        return self._ranked


# ------------------------------------------------------------------------ per-edge counts
def _noninduced(simple, n_jobs=None, node_sums=False, bar=None):
    """Ranked-graph quantities: (indptr, indices, orig_pos, order, tri, noninduced), with
    noninduced (nnz, 15) per edge, or (n, 17) per node when ``node_sums``. ``bar``: a
    :func:`_stage_bar` advanced after each of the first four ``COUNT_STAGES``."""
    from graphembed._kernels import orbits as k

    indptr, indices, orig_pos, order = simple.ranked()
    _stage_done(bar)
    with numba_threads(n_jobs) as threads:
        n_blocks = max(1, min(simple.n, 16 * threads))
        rev = k.reverse_positions(indptr, indices)
        tri = k.edge_triangles(indptr, indices, rev, n_blocks)
        _stage_done(bar)
        deg = np.diff(indptr)
        dsum, far, k4_acc, c4_acc = k.edge_aggregates(indptr, indices, rev, tri, deg, n_blocks, threads)
        k4 = k.sum_threads(k4_acc, rev)
        del k4_acc
        c4 = k.sum_threads(c4_acc, rev)
        del c4_acc
        _stage_done(bar)
        kernel = k.noninduced_node_sums if node_sums else k.noninduced_counts
        noninduced = kernel(indptr, indices, rev, tri, deg, dsum, far, k4, c4)
        _stage_done(bar)
    return indptr, indices, orig_pos, order, tri, noninduced


def _edge_types(simple, n_jobs=None, verbose=False):
    """int64 (nnz, 19): induced counts of each directed one-hop type (``DIRECTED_TYPES``) per
    stored edge of the simple graph (positions of ``simple.indices``), and the triangles per
    edge (nnz,)."""
    nnz = simple.indices.shape[0]
    out = np.zeros((nnz, len(DIRECTED_TYPES)), np.int64)
    if nnz == 0:
        return out, np.zeros(0, np.int64)
    with _stage_bar(verbose, "edge orbit counts") as bar:
        out, tri_orig = _edge_types_counted(simple, n_jobs, bar, out)
        _stage_done(bar)
    return out, tri_orig


def _edge_types_counted(simple, n_jobs, bar, out):
    _, minv = _matrices()
    nnz = simple.indices.shape[0]
    indptr, indices, orig_pos, _, tri, noninduced = _noninduced(simple, n_jobs, bar=bar)
    induced = noninduced @ minv.T
    del noninduced
    deg = np.diff(indptr)
    rows = np.repeat(np.arange(simple.n), deg)
    dv, du = deg[rows], deg[indices]
    ranked_out = np.empty((nnz, len(DIRECTED_TYPES)), np.int64)
    ranked_out[:, 0] = 1
    ranked_out[:, 1] = du - 1 - tri
    ranked_out[:, 2] = dv - 1 - tri
    ranked_out[:, 3] = tri
    ranked_out[:, 4:] = induced
    out[orig_pos] = ranked_out
    tri_orig = np.empty(nnz, np.int64)
    tri_orig[orig_pos] = tri
    return out, tri_orig


def _node_orbits(simple, n_jobs=None, verbose=False):
    """int64 (n, 15) node orbits: per-node sums of the non-induced counts, then the solve."""
    n = simple.n
    out = np.zeros((n, N_ORBITS), np.int64)
    out[:, 0] = simple.degree
    if simple.indices.shape[0] == 0:
        return out
    with _stage_bar(verbose) as bar:
        _node_orbits_counted(simple, n_jobs, bar, out)
        _stage_done(bar)
    return out


def _node_orbits_counted(simple, n_jobs, bar, out):
    indptr, _, _, order, _, sums = _noninduced(simple, n_jobs, node_sums=True, bar=bar)
    out[order] = orbits_from_node_sums(sums, np.diff(indptr))


def orbits_from_node_sums(sums, deg):
    """int64 (n, 15) orbit counts of the ranked graph from its non-induced node sums (n, 17)
    (:func:`graphembed._kernels.orbits.noninduced_node_sums`) and degrees: the integer solve."""
    _, minv = _matrices()
    node_types = sums[:, :15] @ minv.T  # (n, 15) in _TYPES4 order, ranked
    tv = sums[:, 16]
    ranked = np.empty((deg.shape[0], N_ORBITS), np.int64)
    ranked[:, 0] = deg
    ranked[:, 1] = sums[:, 15] - 2 * tv
    ranked[:, 2] = deg * (deg - 1) // 2 - tv
    ranked[:, 3] = tv
    col = {t: i for i, t in enumerate(_TYPES4)}
    for orbit, (c, d) in enumerate(_NODE_FROM_TYPES):
        if orbit >= 4:
            ranked[:, orbit] = node_types[:, col[DIRECTED_TYPES[c]]] // d
    return ranked


_NODE_FROM_TYPES = (  # orbit -> (column in DIRECTED_TYPES, divisor): each node on orbit k has
    # a fixed number of graphlet neighbours on the paired orbit
    (0, 1), (1, 1), (2, 2), (3, 2), (4, 1), (5, 1), (7, 1), (8, 3), (9, 2), (10, 1), (12, 1),
    (11, 1), (15, 2), (17, 1), (18, 3))


def _triangles(simple, n_jobs=None):
    """int64 (nnz,): triangles per stored edge of the simple graph."""
    from graphembed._kernels import orbits as k

    indptr, indices, orig_pos, _ = simple.ranked()
    with numba_threads(n_jobs) as threads:
        rev = k.reverse_positions(indptr, indices)
        tri = k.edge_triangles(indptr, indices, rev, max(1, min(simple.n, 16 * threads)))
    out = np.empty_like(tri)
    out[orig_pos] = tri
    return out


def _graphlets_from_node_orbits(counts):
    """dict G0..G8 -> int: graphlet g has a fixed number of nodes on each of its orbits."""
    totals = counts.sum(axis=0)
    per = [(0, 2), (2, 1), (3, 3), (4, 2), (7, 1), (8, 4), (9, 1), (13, 2), (14, 4)]
    return {name: int(totals[o]) // d for name, (o, d) in zip(GRAPHLETS, per)}


# ------------------------------------------------------------------------ public functions
def orbit_counts(graph, n_jobs=None, verbose=False):
    """Graphlet degree vectors: per-node counts of the 15 orbits of 2-4-node graphlets.

    Parameters
    ----------
    graph : Graph (or a scipy sparse adjacency / networkx graph). Directed graphs are
        symmetrised; self-loops, duplicate edges and weights are ignored.
    n_jobs : numba threads (None or -1: all cores); the counts do not depend on it.
    verbose : a progress bar on stderr over the stages of the count (``COUNT_STAGES``), shown
        only when stderr is a terminal.

    Returns
    -------
    int64 array (n_nodes, 15): column k is the number of induced graphlets in which the node
    is on orbit k (numbering in the module docstring; o0 = degree).

    Examples
    --------
    >>> import graphembed as ge
    >>> g = ge.Graph.from_edges([0, 0, 0, 1], [1, 2, 3, 2])  # a paw
    >>> ge.orbit_counts(g)[:, 9:12].tolist()
    [[0, 0, 1], [0, 1, 0], [0, 1, 0], [1, 0, 0]]
    """
    return _node_orbits(_Simple(graph), n_jobs, verbose)


def _edge_orbit_table(simple, types, tri=None):
    col = {t: i for i, t in enumerate(DIRECTED_TYPES)}
    rows = np.repeat(np.arange(simple.n), simple.degree)
    upper = simple.indices > rows
    out = np.empty((int(upper.sum()), len(EDGE_ORBITS)), np.int64)
    t = types[upper]
    for j, (a, b) in enumerate(EDGE_ORBITS):
        out[:, j] = t[:, col[(a, b)]] + (t[:, col[(b, a)]] if a != b else 0)
    return rows[upper], simple.indices[upper].astype(np.int64), out


def edge_orbit_counts(graph, n_jobs=None, verbose=False):
    """Edge orbit counts of 3-4-node graphlets (ORCA's edge mode, 12 orbits).

    Returns
    -------
    (src, dst, counts): int64 node indices (n_edges,) with src < dst, one row per undirected
    edge of the simple graph (self-loops and duplicates dropped, directed input symmetrised),
    and int64 counts (n_edges, 12) in the order of ``EDGE_ORBITS`` (module docstring). Map
    the indices to ids with ``graph.node_ids[src]``. ``verbose``: a progress bar over the
    stages of the count, as in :func:`orbit_counts`.
    """
    simple = _Simple(graph)
    types, tri = _edge_types(simple, n_jobs, verbose)
    return _edge_orbit_table(simple, types, tri)


def _graphlets_from_edge_orbits(n_edges, e):
    totals = e.sum(axis=0) if e.shape[0] else np.zeros(len(EDGE_ORBITS), np.int64)
    per = [(0, 2), (1, 3), (2, 2), (4, 3), (5, 4), (6, 1), (10, 1), (11, 6)]  # edge orbit, edges/graphlet
    values = [int(n_edges)] + [int(totals[j]) // d for j, d in per]
    return dict(zip(GRAPHLETS, values))


def graphlet_counts(graph, n_jobs=None, verbose=False):
    """Numbers of induced 2-4-node graphlets G0..G8 in the graph, as a dict name -> int.

    Derived from the node orbits: every graphlet has a fixed number of nodes on each of its
    orbits (e.g. G8 has 4 nodes on o14, G1 one on o2). :func:`_graphlets_from_edge_orbits`
    gives the same from the edge orbits (the CLI's --edges mode; the tests check both).
    ``verbose``: a progress bar over the stages of the count, as in :func:`orbit_counts`.
    """
    return _graphlets_from_node_orbits(_node_orbits(_Simple(graph), n_jobs, verbose))


def parse_adjacencies(orbits):
    """Normalise an orbit-adjacency selection to a list of (h, o1, o2) tuples.

    ``orbits``: "1-hop", "2-hop", "3-hop", "all", a string "h,o1,o2" (or several separated by
    ';' or spaces), a tuple (h, o1, o2) or a list of these.
    """
    groups = {"1-hop": [a for a in ADJACENCIES if a[0] == 1],
              "2-hop": [a for a in ADJACENCIES if a[0] == 2],
              "3-hop": [a for a in ADJACENCIES if a[0] == 3], "all": list(ADJACENCIES)}
    items = orbits
    if isinstance(orbits, str):
        items = [s for s in orbits.replace(";", " ").split() if s]
    elif isinstance(orbits, tuple) and len(orbits) == 3 and all(isinstance(x, (int, np.integer)) for x in orbits):
        items = [orbits]
    if not isinstance(items, (list, tuple)):
        raise InputError(f"orbit adjacency selection {orbits!r}: expected a string, a (h, o1, o2) tuple or a list")
    out = []
    for item in items:
        if isinstance(item, str) and item in groups:
            out.extend(groups[item])
            continue
        try:
            key = tuple(int(x) for x in (item.split(",") if isinstance(item, str) else item))
        except (TypeError, ValueError):
            raise InputError(f"orbit adjacency {item!r}: expected 'h,o1,o2', '1-hop', '2-hop', "
                             "'3-hop' or 'all'") from None
        if key not in ADJACENCIES:
            raise InputError(f"orbit adjacency {key}: not one of the 28 (hop, orbit, orbit) "
                             "combinations of 2-4-node graphlets (see graphembed.structure.orbits.ADJACENCIES)")
        out.append(key)
    if not out:
        raise InputError("no orbit adjacency selected")
    return list(dict.fromkeys(out))


def _block_rows(n, budget_mb):
    return int(max(1, min(n, (budget_mb * 2**20) // max(1, n * 9 * 8))))


def iter_orbit_adjacency_blocks(graph, orbits="2-hop", block_rows=None, memory_mb=256, n_jobs=None,
                                verbose=False):
    """Stream two- and three-hop orbit adjacencies block of rows by block of rows.

    Yields ``(row_start, row_stop, {(h, o1, o2): scipy CSR (row_stop - row_start, n) int64})``
    for the selected multi-hop adjacencies (one-hop keys are ignored here). Each block holds
    an int64 (rows, n, 9) buffer; ``block_rows`` defaults to what fits in ``memory_mb``, so
    memory stays bounded whatever the graph. ``verbose``: a progress bar on stderr over the
    rows (nodes) done, advanced block by block, shown only when stderr is a terminal.
    """
    import scipy.sparse as sp

    from graphembed._kernels.orbits import pair_block

    keys = [k for k in parse_adjacencies(orbits) if k[0] > 1]
    simple = _Simple(graph)
    n = simple.n
    if not keys or n == 0:
        return
    tri = _triangles(simple, n_jobs)
    three = any(k[0] == 3 for k in keys)
    rows = int(block_rows) if block_rows else _block_rows(n, memory_mb)
    if rows < 1:
        raise InputError(f"block_rows must be >= 1, got {block_rows}")
    cols = [MULTI_HOP.index(k) for k in keys]
    with numba_threads(n_jobs) as threads, progress(n, "orbit adjacency rows", verbose) as bar:
        for start in range(0, n, rows):
            stop = min(n, start + rows)
            buf = np.zeros((stop - start, n, 9), np.int64)
            pair_block(simple.indptr, simple.indices, tri, simple.degree, start, stop, three,
                       max(1, min(stop - start, 4 * threads)), buf)
            bar.update(stop - start)
            yield start, stop, {k: sp.csr_matrix(buf[:, :, c]) for k, c in zip(keys, cols)}
            del buf


def _top_k_rows(block, k):
    """Keep each row's ``k`` largest entries (ties: lower column first) of a CSR block."""
    import scipy.sparse as sp

    block = block.tocsr()
    indptr, indices, data = block.indptr, block.indices, block.data
    keep = np.zeros(data.shape[0], bool)
    for i in range(block.shape[0]):
        s, e = indptr[i], indptr[i + 1]
        if e - s <= k:
            keep[s:e] = True
        else:
            order = np.lexsort((indices[s:e], -data[s:e]))[:k]
            keep[s + order] = True
    rows = np.repeat(np.arange(block.shape[0]), np.diff(indptr))[keep]
    return sp.csr_matrix((data[keep], (rows, indices[keep])), shape=block.shape)


def orbit_adjacency(graph, orbits="1-hop", top_k=None, block_rows=None, memory_mb=256, n_jobs=None,
                    verbose=False):
    """Orbit adjacency matrices (Windels, Malod-Dognin and Przulj).

    Entry (u, v) of adjacency (h, o1, o2) counts the induced 2-4-node graphlets in which u is
    on orbit o1, v on orbit o2 and u, v are h hops apart inside the graphlet. The 28
    combinations (``ADJACENCIES``): one-hop (0,0) (1,2) (2,1) (3,3) (4,5) (5,4) (5,5) (6,7)
    (7,6) (8,8) (9,11) (11,9) (10,11) (11,10) (10,10) (12,13) (13,12) (13,13) (14,14);
    two-hop (1,1) (4,5) (5,4) (6,6) (8,8) (9,10) (10,9) (12,12); three-hop (4,4). (o2, o1) is
    the transpose of (o1, o2).

    Parameters
    ----------
    graph : Graph (directed input is symmetrised; self-loops, duplicates, weights ignored).
    orbits : selection, see :func:`parse_adjacencies` ("1-hop", "2-hop", "3,4,4", ...).
    top_k : keep only each row's ``top_k`` largest entries of the two- and three-hop
        matrices (bounded output); None keeps all.
    block_rows, memory_mb : row-block size for the two- and three-hop ones (default: what
        fits in ``memory_mb`` MiB); they are never formed as dense n x n.
    n_jobs : numba threads.
    verbose : progress bars on stderr (shown only when it is a terminal): over the stages of
        the one-hop count, then over the rows of the two- and three-hop blocks.

    Returns
    -------
    dict {(h, o1, o2): scipy.sparse.csr_matrix (n, n) int64}. One-hop matrices have the
    sparsity of the graph (at most 2|E| non-zeros).
    """
    import scipy.sparse as sp

    keys = parse_adjacencies(orbits)
    if top_k is not None and (not isinstance(top_k, (int, np.integer)) or top_k < 1):
        raise InputError(f"top_k must be a positive integer or None, got {top_k!r}")
    simple = _Simple(graph)
    n = simple.n
    out = {}
    one = [k for k in keys if k[0] == 1]
    if one:
        types, _ = _edge_types(simple, n_jobs, verbose)
        col = {t: i for i, t in enumerate(DIRECTED_TYPES)}
        for key in one:
            m = sp.csr_matrix((types[:, col[key[1:]]].copy(), simple.indices.copy(), simple.indptr.copy()),
                              shape=(n, n))
            m.eliminate_zeros()
            out[key] = m
        del types
    multi = [k for k in keys if k[0] > 1]
    if multi:
        parts = {k: [] for k in multi}
        for _, _, blocks in iter_orbit_adjacency_blocks(simple.graph, multi, block_rows, memory_mb, n_jobs,
                                                        verbose):
            for key, block in blocks.items():
                parts[key].append(block if top_k is None else _top_k_rows(block, int(top_k)))
        for key in multi:
            out[key] = (sp.vstack(parts[key]).tocsr() if parts[key]
                        else sp.csr_matrix((n, n), dtype=np.int64))
    return {k: out[k] for k in keys}


__all__ = ["orbit_counts", "edge_orbit_counts", "graphlet_counts", "orbit_adjacency",
           "iter_orbit_adjacency_blocks", "parse_adjacencies", "ADJACENCIES", "EDGE_ORBITS",
           "GRAPHLETS"]
