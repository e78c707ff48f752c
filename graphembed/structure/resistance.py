"""Effective resistance of every edge: exact (dense pseudo-inverse) or by the
Spielman-Srivastava sketch; total effective resistance (the Kirchhoff index).

``R(u, v) = (e_u - e_v)^T L^+ (e_u - e_v)``, L = D - W the Laplacian of the simple undirected
graph (directed input symmetrised, self-loops dropped; weights, when used, are conductances).
Between components the resistance is infinite; only edges are computed, and an edge always lies
inside one component.

D. A. Spielman, N. Srivastava. "Graph sparsification by effective resistances." SIAM J.
Comput. 40(6), 2011 (Theorem 2 and its proof: the sketch and its bound).
"""
import math

import numpy as np

from graphembed import params
from graphembed.base import check_seed, numba_threads
from graphembed.io.errors import InputError
from graphembed.structure.curvature import _check, _Undirected

AUTO_EXACT_NODES = 1000  # method="auto": the dense pseudo-inverse up to this many nodes
PARALLEL_MIN_ENTRIES = 200_000  # smaller graphs: the serial kernels (same bits, no thread start-up)


def _laplacian_dense(s):
    a = s.to_scipy().toarray()
    return np.diag(a.sum(axis=1)) - a


def _pinv(s, exact_max_nodes):
    if s.n > exact_max_nodes:
        raise InputError(f"exact effective resistance needs a dense {s.n} x {s.n} pseudo-inverse; "
                         f"at most {exact_max_nodes} nodes (exact_max_nodes): use method='sketch'")
    return np.linalg.pinv(_laplacian_dense(s), hermitian=True)


def sketch_size(n_nodes, epsilon):
    """k = ceil(24 ln n / epsilon^2), the number of projections of the bound."""
    return int(math.ceil(24.0 * math.log(max(n_nodes, 2)) / epsilon ** 2))


def effective_resistance(graph, method="auto", epsilon=0.3, n_vectors=None, random_state=None,
                         tol=1e-6, weighted=False, exact_max_nodes=5000, n_jobs=None):
    """Effective resistance R(u, v) of every undirected edge.

    Parameters
    ----------
    method : "exact", "sketch" or "auto" (exact up to 1000 nodes, else the sketch).

        * exact: ``R = L+[u,u] + L+[v,v] - 2 L+[u,v]`` from the dense Moore-Penrose
          pseudo-inverse (numpy, O(n^3)); refused above ``exact_max_nodes`` nodes.
        * sketch (Spielman and Srivastava 2011): ``Z = Q W^1/2 B L^+`` with B the m x n signed
          incidence matrix, Q a k x m matrix of independent +-1/sqrt(k) entries and
          ``k = ceil(24 ln n / epsilon^2)``; ``R_est(u, v) = ||Z (e_u - e_v)||^2``. By the
          Johnson-Lindenstrauss lemma, with probability at least 1 - 1/n every estimate
          satisfies ``(1 - epsilon) R(u, v) <= R_est(u, v) <= (1 + epsilon) R(u, v)``
          (plus the solver's error, governed by ``tol``). Each of the k rows solves
          ``L z = B^T W^1/2 q`` by conjugate gradient with a Jacobi (diagonal) preconditioner,
          in blocks of 32 right-hand sides (numba matrix products). L is singular, one constant
          vector per connected component in its kernel; the right-hand side sums to zero on
          every component (an edge adds +q and -q inside one component), so the system is
          consistent on each component and CG from 0 converges there; a solution is fixed up
          to a constant per component, which cancels in ``z_u - z_v``. Isolated nodes are left
          at 0. Stop: every column's residual below ``tol`` times its right-hand side's norm.
    epsilon : the sketch's relative error bound, in (0, 1).
    n_vectors : k explicitly (then the bound above does not hold as stated; the
        Johnson-Lindenstrauss error is then about sqrt(24 ln n / k)).
    random_state : seed of Q (row c of Q is drawn from (seed, c), so results do not depend
        on the block size or the threads).
    tol : conjugate-gradient relative residual.
    weighted : use the graph's weights as conductances.
    exact_max_nodes : largest graph the exact method accepts.
    n_jobs : numba threads (the result is the same for any number).

    Returns
    -------
    (u, v, resistance) : int64, int64, float64 arrays, one row per edge, u < v in row order.

    Examples
    --------
    >>> import networkx as nx, graphembed as ge
    >>> u, v, r = ge.effective_resistance(nx.cycle_graph(4), method="exact")
    >>> r.round(6).tolist()  # 1 * 3 / (1 + 3)
    [0.75, 0.75, 0.75, 0.75]
    """
    _check(params.RESISTANCE, method=method, epsilon=epsilon, n_vectors=n_vectors,
           random_state=random_state, tol=tol, weighted=weighted, exact_max_nodes=exact_max_nodes,
           n_jobs=n_jobs)
    s = _Undirected(graph, weighted=weighted)
    if method == "auto":
        method = "exact" if s.n <= min(AUTO_EXACT_NODES, exact_max_nodes) else "sketch"
    if method == "exact":
        lp = _pinv(s, exact_max_nodes)
        d = np.diag(lp)
        return s.src, s.dst, d[s.src] + d[s.dst] - 2.0 * lp[s.src, s.dst]
    seed = check_seed(random_state)
    k = n_vectors if n_vectors is not None else sketch_size(s.n, epsilon)
    with numba_threads(n_jobs):
        r = _sketch(s, k, seed, tol)
    return s.src, s.dst, r


def _sketch(s, k, seed, tol, block=32, max_iter=None):
    from graphembed._kernels import resistance as kr

    small = s.indices.shape[0] < PARALLEL_MIN_ENTRIES
    laplacian_matmat = kr.laplacian_matmat_serial if small else kr.laplacian_matmat
    incidence_rhs = kr.incidence_rhs_serial if small else kr.incidence_rhs
    accumulate_edges = kr.accumulate_edges_serial if small else kr.accumulate_edges
    n, m = s.n, s.n_edges
    w_entries = s.weights if s.weights is not None else np.ones(s.indices.shape[0])
    degree = np.zeros(n)
    np.add.at(degree, np.repeat(np.arange(n), s.degree), w_entries)
    sqrt_w = np.sqrt(s.edge_weights) if s.edge_weights is not None else np.ones(m)
    minv = np.where(degree > 0, 1.0 / np.where(degree > 0, degree, 1.0), 0.0)
    max_iter = max_iter or max(100, 10 * n)
    acc = np.zeros(m)
    for start in range(0, k, block):
        b = min(block, k - start)
        signs = np.empty((b, m))
        for c in range(b):
            rng = np.random.default_rng([seed, start + c])
            signs[c] = rng.integers(0, 2, m, dtype=np.int8) * 2.0 - 1.0
        rhs = np.empty((n, b))
        incidence_rhs(s.src, s.dst, sqrt_w, signs, n, rhs)
        del signs
        x = _block_pcg(s, w_entries, degree, minv, rhs, tol, max_iter, laplacian_matmat)
        accumulate_edges(s.src, s.dst, x, acc)
    return acc / k


def _dots(x, y, out=None):
    """Column dot products (numpy's sum along axis 0: the same bits for any thread count)."""
    return (x * y).sum(axis=0)


def _block_pcg(s, w_entries, degree, minv, rhs, tol, max_iter, matmat):
    """Independent Jacobi-preconditioned CGs for the columns of ``rhs`` (L x = rhs)."""
    dots = _dots
    n, b = rhs.shape
    x = np.zeros((n, b))
    r = rhs.copy()
    z = r * minv[:, None]
    p = z.copy()
    rz = dots(r, z, np.empty(b))
    target = tol * np.sqrt(dots(rhs, rhs, np.empty(b)))
    ap = np.empty((n, b))
    tmp = np.empty(b)
    active = np.sqrt(dots(r, r, tmp)) > target
    for _ in range(max_iter):
        if not active.any():
            break
        matmat(s.indptr, s.indices, w_entries, degree, p, ap)
        pap = dots(p, ap, np.empty(b))
        alpha = np.where(active & (pap > 0), rz / np.where(pap > 0, pap, 1.0), 0.0)
        x += p * alpha
        r -= ap * alpha
        active &= np.sqrt(dots(r, r, tmp)) > target
        z = r * minv[:, None]
        rz_new = dots(r, z, np.empty(b))
        beta = np.where(active & (rz > 0), rz_new / np.where(rz > 0, rz, 1.0), 0.0)
        rz = rz_new
        p = z + p * beta
    return x


def total_effective_resistance(graph, weighted=False, exact_max_nodes=5000):
    """Total effective resistance (Kirchhoff index) ``sum_{u<v} R(u, v) = n tr(L^+)`` for a
    connected graph; for a disconnected one, the sum over pairs in the same component,
    ``sum_c n_c tr(L_c^+)`` (pairs in different components, at infinite resistance, are left
    out). Exact, from the dense pseudo-inverse."""
    s = graph if isinstance(graph, _Undirected) else _Undirected(graph, weighted=weighted)
    lp = _pinv(s, exact_max_nodes)
    return _total_from_pinv(s, lp)


def _components(s):
    from scipy.sparse.csgraph import connected_components

    return connected_components(s.to_scipy(), directed=False)[1]


def _total_from_pinv(s, lp, labels=None):
    labels = _components(s) if labels is None else labels
    sizes = np.bincount(labels)
    traces = np.bincount(labels, weights=np.diag(lp))
    return float(np.sum(sizes * traces))
