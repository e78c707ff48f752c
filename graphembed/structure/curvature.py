"""Edge curvature: Forman-Ricci (plain, augmented, weighted) and Ollivier-Ricci.

Both work on the simple undirected graph: directed input is symmetrised (an edge either way is
an edge; weights max(w_uv, w_vu)), self-loops and repeated edges dropped. Each returns three
arrays, one row per undirected edge, ``u < v``, in row order (sorted by u, then v): ``u`` and
``v`` are node positions (``graph.node_ids[u]`` are the ids) and the third is the curvature.

References
----------
R. P. Sreejith, K. Mohanraj, J. Jost, E. Saucan, A. Samal. "Forman curvature for complex
networks." J. Stat. Mech. (2016) 063206 (the plain and weighted Forman curvature).
A. Samal, R. P. Sreejith, J. Gu, S. Liu, E. Saucan, J. Jost. "Comparative analysis of two
discretizations of Ricci curvature for complex networks." Scientific Reports 8, 8650 (2018)
(the augmented Forman curvature, triangles as 2-faces).
Y. Ollivier. "Ricci curvature of Markov chains on metric spaces." J. Funct. Anal. 256 (2009);
Y. Lin, L. Lu, S.-T. Yau. "Ricci curvature of graphs." Tohoku Math. J. 63 (2011) (the lazy walk).
J. Altschuler, J. Weed, P. Rigollet. "Near-linear time approximation algorithms for optimal
transport via Sinkhorn iteration." NeurIPS 2017 (the rounding of the Sinkhorn plan).
"""
import numpy as np

from graphembed import params
from graphembed.base import numba_threads
from graphembed.graph import Graph
from graphembed.io.errors import InputError


def _check(table, **values):
    for name, value in values.items():
        table[name].check(name, value)


class _Undirected:
    """The simple undirected CSR of a graph (sorted rows, no self-loops) and its edge list
    u < v in row order. ``weights`` (float64 per stored entry) only when ``weighted``."""

    def __init__(self, graph, weighted=False):
        import scipy.sparse as sp

        graph = Graph.coerce(graph)
        self.graph = graph
        self.symmetrized = bool(graph.directed)
        n = graph.n_nodes
        if weighted and graph.weights is None:
            weighted = False  # an unweighted graph: every weight is 1
        if not graph.directed and graph.n_self_loops == 0:
            indptr, indices = graph.indptr, graph.indices
            weights = graph.weights.astype(np.float64) if weighted else None
        else:
            data = graph.weights.astype(np.float64) if weighted else np.ones(graph.nnz)
            a = sp.csr_matrix((data, graph.indices, graph.indptr), shape=(n, n))
            if graph.directed:
                a = a.maximum(a.T).tocsr()
            a.setdiag(0)
            a.eliminate_zeros()
            a.sort_indices()
            indptr, indices = a.indptr, a.indices
            weights = a.data.astype(np.float64) if weighted else None
        self.indptr = np.ascontiguousarray(indptr, dtype=np.int64)
        self.indices = np.ascontiguousarray(indices, dtype=np.int32)
        self.weights = weights
        self.n = n
        self.degree = np.diff(self.indptr)
        rows = np.repeat(np.arange(n, dtype=np.int64), self.degree)
        upper = self.indices > rows
        self.src = rows[upper]
        self.dst = self.indices[upper].astype(np.int64)
        self.edge_weights = weights[upper] if weights is not None else None
        self.eptr = np.zeros(n + 1, np.int64)
        np.cumsum(np.bincount(self.src, minlength=n), out=self.eptr[1:])

    @property
    def n_edges(self):
        return int(self.src.shape[0])

    def to_scipy(self):
        import scipy.sparse as sp

        data = self.weights if self.weights is not None else np.ones(self.indices.shape[0])
        return sp.csr_matrix((data, self.indices, self.indptr), shape=(self.n, self.n))


def forman_curvature(graph, kind="augmented", weighted=False, n_jobs=None):
    """Forman-Ricci curvature of every undirected edge.

    Parameters
    ----------
    graph : Graph or anything :meth:`Graph.coerce` takes.
    kind : "augmented" (default) or "plain".

        * plain, unweighted (Sreejith et al. 2016): ``F(u, v) = 4 - d_u - d_v``;
        * augmented (Samal et al. 2018; triangles as 2-faces), unweighted only:
          ``F#(u, v) = 4 - d_u - d_v + 3 t(u, v)``, t the triangles through the edge;
        * plain, weighted (Sreejith et al. 2016, eq. 3, node weights 1):
          ``F(e) = w_e (1/w_e + 1/w_e - sum_{e' ~ u, e' != e} 1/sqrt(w_e w_e')
          - sum_{e' ~ v, e' != e} 1/sqrt(w_e w_e'))``
          ``= 4 - sqrt(w_e) (s_u + s_v)``, with ``s_x = sum_{e' ~ x} 1/sqrt(w_e')``;
          all weights 1 give the unweighted formula.
    weighted : use the graph's edge weights (plain kind only; ignored for an unweighted graph).
    n_jobs : numba threads (the result is the same for any number).

    Returns
    -------
    (u, v, curvature) : int64, int64, float64 arrays (n_edges,), one row per edge, u < v.

    Work O(sum over edges of min(d_u, d_v) log max(d_u, d_v)), memory O(edges).

    Examples
    --------
    >>> import networkx as nx, graphembed as ge
    >>> u, v, f = ge.forman_curvature(nx.complete_graph(4))
    >>> f.tolist()  # 4 - 3 - 3 + 3 * 2
    [4.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    """
    _check(params.FORMAN, kind=kind, weighted=weighted, n_jobs=n_jobs)
    g = Graph.coerce(graph)
    if weighted and g.weights is not None and kind == "augmented":
        raise InputError("the augmented Forman curvature is defined here for unweighted graphs: "
                         "give kind='plain' for the weighted formula, or weighted=False")
    s = _Undirected(g, weighted=weighted)
    deg = s.degree.astype(np.float64)
    if s.edge_weights is not None:
        inv = np.zeros(s.n)
        rows = np.repeat(np.arange(s.n), s.degree)
        np.add.at(inv, rows, 1.0 / np.sqrt(s.weights))
        curv = 4.0 - np.sqrt(s.edge_weights) * (inv[s.src] + inv[s.dst])
        return s.src, s.dst, curv
    curv = 4.0 - deg[s.src] - deg[s.dst]
    if kind == "augmented":
        with numba_threads(n_jobs) as threads:
            tri = _triangles(s, threads)
        curv += 3.0 * tri
    return s.src, s.dst, curv


def _triangles(s, threads):
    """Triangles through each edge (u < v row order), on the degree-oriented graph."""
    from graphembed._kernels import curvature as k

    eid = k.edge_ids(s.indptr, s.indices, s.eptr)
    rows = np.repeat(np.arange(s.n, dtype=np.int64), s.degree)
    cols = s.indices.astype(np.int64)
    deg = s.degree
    fwd = (deg[rows] < deg[cols]) | ((deg[rows] == deg[cols]) & (rows < cols))
    del cols
    oindptr = np.zeros(s.n + 1, np.int64)
    np.cumsum(np.bincount(rows[fwd], minlength=s.n), out=oindptr[1:])
    del rows
    oindices = s.indices[fwd]  # rows stay in CSR order: already grouped by source
    oeid = eid[fwd]
    del eid, fwd
    n_blocks = max(1, min(s.n, 64 * threads))
    return k.edge_triangles_oriented(oindptr, oindices, oeid, s.n_edges, n_blocks, threads)


# ------------------------------------------------------------------------------- Ollivier-Ricci
def _exact_w1(mu, mv, cost):
    """W1 between mu and mv for the ground cost ``cost`` by linear programming (HiGHS)."""
    from scipy.optimize import linprog

    na, nb = cost.shape
    a_eq = np.zeros((na + nb, na * nb))
    for i in range(na):
        a_eq[i, i * nb:(i + 1) * nb] = 1.0
    for j in range(nb):
        a_eq[na + j, j::nb] = 1.0
    res = linprog(cost.ravel(), A_eq=a_eq, b_eq=np.concatenate([mu, mv]), bounds=(0, None),
                  method="highs")
    if res.status != 0:  # pragma: no cover - the problem is always feasible and bounded
        raise RuntimeError(f"transport LP failed: {res.message}")
    return float(res.fun)


def _edge_w1(indptr, indices, u, v, alpha):
    """Exact W1(m_u, m_v) of one edge (hop distances)."""
    from graphembed._kernels.curvature import hop_costs, supports

    su, mu, sv, mv = supports(indptr, indices, u, v, alpha)
    return _exact_w1(mu, mv, hop_costs(indptr, indices, su, sv))


def ollivier_ricci_curvature(graph, alpha=0.5, method="auto", sinkhorn_threshold=32,
                             sinkhorn_epsilon=1e-3, tol=1e-6, max_iter=1000, n_jobs=None,
                             return_bound=False):
    """Ollivier-Ricci curvature of every undirected edge (unweighted; weights are ignored).

    ``kappa(u, v) = 1 - W1(m_u, m_v) / d(u, v)`` with d the shortest-path hop distance (1 on
    an edge) and m_x the lazy random-walk measure: mass ``alpha`` on x and ``(1 - alpha) /
    deg(x)`` on each neighbour (Lin-Lu-Yau laziness; alpha = 0.5 by default, alpha = 0 is
    Ollivier's plain walk). W1 is the optimal transport cost between the two measures for the
    ground distance d; the supports are within one hop of u or v, so every distance is 0-3 and
    is found from the two rows alone (numba).

    Parameters
    ----------
    alpha : laziness in [0, 1).
    method : "exact", "sinkhorn" or "auto" (exact when max(d_u, d_v) <= sinkhorn_threshold).

        * exact: the transport linear program solved by scipy's HiGHS (one LP per edge).
        * sinkhorn: log-domain entropic Sinkhorn in numba, parallel over edges, with epsilon
          halved from 1 down to ``sinkhorn_epsilon``, each stage until the L1 marginal error is
          <= ``tol`` (or ``max_iter`` sweeps), then rounded onto the exact marginals
          (Altschuler et al. 2017). The rounded plan is feasible, so its cost is an upper bound
          of W1 and the curvature a lower bound; the stated tolerance, per edge, is
          ``kappa_exact - bound <= kappa <= kappa_exact`` with
          ``bound = eps log(|S_u| |S_v|) + 3 * 3 * err`` (``err`` the final marginal error,
          3 the largest distance); ``return_bound=True`` returns it.
    sinkhorn_threshold : degree above which "auto" uses Sinkhorn.
    sinkhorn_epsilon, tol, max_iter : the entropic regularisation, the marginal tolerance and
        the sweeps per annealing stage.
    n_jobs : numba threads (the output is the same for any number).

    Returns
    -------
    (u, v, kappa) : int64, int64, float64 arrays (n_edges,), u < v in row order; with
    ``return_bound`` a fourth array, the bound above (0 for exactly solved edges).

    Examples
    --------
    >>> import networkx as nx, graphembed as ge
    >>> u, v, k = ge.ollivier_ricci_curvature(nx.complete_graph(5), alpha=0.0)
    >>> round(float(k[0]), 6)  # (n - 2) / (n - 1)
    0.75
    """
    _check(params.OLLIVIER, alpha=alpha, method=method, sinkhorn_threshold=sinkhorn_threshold,
           sinkhorn_epsilon=sinkhorn_epsilon, tol=tol, max_iter=max_iter, n_jobs=n_jobs)
    s = _Undirected(graph)
    m = s.n_edges
    kappa = np.zeros(m)
    bound = np.zeros(m)
    big = np.maximum(s.degree[s.src], s.degree[s.dst]) > sinkhorn_threshold
    if method == "exact":
        big[:] = False
    elif method == "sinkhorn":
        big[:] = True
    which = np.flatnonzero(big).astype(np.int64)
    if which.size:
        from graphembed._kernels.curvature import ollivier_sinkhorn

        with numba_threads(n_jobs):
            ollivier_sinkhorn(s.indptr, s.indices, s.src, s.dst, which, float(alpha),
                              float(sinkhorn_epsilon), float(tol), int(max_iter), kappa, bound)
    for e in np.flatnonzero(~big):
        kappa[e] = 1.0 - _edge_w1(s.indptr, s.indices, s.src[e], s.dst[e], float(alpha))
    if return_bound:
        return s.src, s.dst, kappa, bound
    return s.src, s.dst, kappa
