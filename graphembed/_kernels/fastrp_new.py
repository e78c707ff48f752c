"""Kernels for FastRP.transform_new: propagation over a graph plus appended edges, on chosen rows.

The union of the fitted graph (CSR ``base``, n rows) and the new edges (CSR ``ext``, n + m rows,
columns in [0, n + m)) is never built: row i of the union is base row i (when i < n) followed by
ext row i.
"""
import numpy as np
from numba import njit, prange


@njit(cache=True)
def hop_distances(base_indptr, base_indices, ext_indptr, ext_indices, first, max_hops):
    """int32 (n + m,) out-edge hop distance from the rows >= ``first``, capped at max_hops + 1.

    Rows >= ``first`` (the new nodes) are at distance 0; a node further than ``max_hops`` gets
    max_hops + 1. Breadth-first over the union of base and ext.
    """
    n_all = ext_indptr.shape[0] - 1
    n_base = base_indptr.shape[0] - 1
    far = max_hops + 1
    dist = np.full(n_all, far, dtype=np.int32)
    frontier = np.empty(n_all, dtype=np.int64)
    size = 0
    for v in range(first, n_all):
        dist[v] = 0
        frontier[size] = v
        size += 1
    nxt = np.empty(n_all, dtype=np.int64)
    for hop in range(1, max_hops + 1):
        count = 0
        for t in range(size):
            v = frontier[t]
            if v < n_base:
                for k in range(base_indptr[v], base_indptr[v + 1]):
                    u = base_indices[k]
                    if dist[u] == far:
                        dist[u] = hop
                        nxt[count] = u
                        count += 1
            for k in range(ext_indptr[v], ext_indptr[v + 1]):
                u = ext_indices[k]
                if dist[u] == far:
                    dist[u] = hop
                    nxt[count] = u
                    count += 1
        frontier, nxt = nxt, frontier
        size = count
        if size == 0:
            break
    return dist


@njit(cache=True, inline="always")
def _scale_row(row, scale):
    """Multiply ``row`` by ``scale`` in place; return its L2 norm afterwards (float64)."""
    s = np.float32(scale)
    sq = 0.0
    for c in range(row.shape[0]):
        row[c] *= s
        sq += np.float64(row[c]) * row[c]
    return np.sqrt(sq)


@njit(cache=True, parallel=True)
def propagate_rows(rows, base_indptr, base_indices, base_weights, base_weighted, ext_indptr, ext_indices,
                   ext_weights, row_scale, x, out):
    """out[i] = row_scale[i] * (union row i) @ x for each i in ``rows``; other rows untouched.

    ``ext_weights`` always holds the new edges' weights (ones when unweighted); ``base_weights``
    is used when ``base_weighted``. Returns the largest row norm written. One thread computes a
    row, in a fixed order, so the result does not depend on the thread count.
    """
    n_base = base_indptr.shape[0] - 1
    d = x.shape[1]
    norms = np.zeros(rows.shape[0], dtype=np.float64)
    for t in prange(rows.shape[0]):
        i = rows[t]
        row = out[i]
        row[:] = 0.0
        if i < n_base:
            for k in range(base_indptr[i], base_indptr[i + 1]):
                src = x[base_indices[k]]
                if base_weighted:
                    w = base_weights[k]
                    for c in range(d):
                        row[c] += w * src[c]
                else:
                    for c in range(d):
                        row[c] += src[c]
        for k in range(ext_indptr[i], ext_indptr[i + 1]):
            src = x[ext_indices[k]]
            w = ext_weights[k]
            for c in range(d):
                row[c] += w * src[c]
        norms[t] = _scale_row(row, row_scale[i])
    return norms.max() if rows.shape[0] else 0.0


@njit(cache=True, parallel=True)
def propagate_rows_sparse(rows, base_indptr, base_indices, base_weights, base_weighted, ext_indptr, ext_indices,
                          ext_weights, row_scale, x_indptr, x_cols, x_vals, out):
    """:func:`propagate_rows` for a sparse ``x`` given as CSR (x_indptr, x_cols, x_vals).

    The first step multiplies the very sparse X_0, so it costs stored entries x non-zeros per
    row of X_0 instead of stored entries x dim.
    """
    n_base = base_indptr.shape[0] - 1
    norms = np.zeros(rows.shape[0], dtype=np.float64)
    for t in prange(rows.shape[0]):
        i = rows[t]
        row = out[i]
        row[:] = 0.0
        if i < n_base:
            for k in range(base_indptr[i], base_indptr[i + 1]):
                j = base_indices[k]
                w = base_weights[k] if base_weighted else np.float32(1.0)
                for s in range(x_indptr[j], x_indptr[j + 1]):
                    row[x_cols[s]] += w * x_vals[s]
        for k in range(ext_indptr[i], ext_indptr[i + 1]):
            j = ext_indices[k]
            w = ext_weights[k]
            for s in range(x_indptr[j], x_indptr[j + 1]):
                row[x_cols[s]] += w * x_vals[s]
        norms[t] = _scale_row(row, row_scale[i])
    return norms.max() if rows.shape[0] else 0.0
