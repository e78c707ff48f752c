"""Edge arrays -> CSR adjacency: counting placement, per-row sort, duplicate merge."""
import numpy as np
from numba import njit, prange

MERGE_FIRST = 0
MERGE_SUM = 1
MERGE_MAX = 2


@njit(cache=True)
def _place_edges(src, dst, weights, weighted, n_nodes, symmetrize, keep_self_loops):
    """Counting-sort the edges by source row, keeping input order inside a row.

    Returns (indptr int64[n+1], indices int32[nnz], weights float32[nnz or 0], self_loops seen).
    """
    counts = np.zeros(n_nodes + 1, dtype=np.int64)
    loops = 0
    for e in range(src.shape[0]):
        u = src[e]
        v = dst[e]
        if u == v:
            loops += 1
            if keep_self_loops:
                counts[u + 1] += 1
            continue
        counts[u + 1] += 1
        if symmetrize:
            counts[v + 1] += 1
    indptr = np.cumsum(counts)
    nnz = indptr[n_nodes]
    indices = np.empty(nnz, dtype=np.int32)
    out_w = np.empty(nnz if weighted else 0, dtype=np.float32)
    cursor = indptr[:-1].copy()
    for e in range(src.shape[0]):
        u = src[e]
        v = dst[e]
        if u == v and not keep_self_loops:
            continue
        p = cursor[u]
        indices[p] = v
        if weighted:
            out_w[p] = weights[e]
        cursor[u] = p + 1
        if symmetrize and u != v:
            p = cursor[v]
            indices[p] = u
            if weighted:
                out_w[p] = weights[e]
            cursor[v] = p + 1
    return indptr, indices, out_w, loops


@njit(cache=True, parallel=True)
def _sort_rows(indptr, indices, weights, weighted, unique_counts):
    """Sort each row by column (stable, so 'first' means first in input) and count distinct columns."""
    n = indptr.shape[0] - 1
    for i in prange(n):
        lo = indptr[i]
        hi = indptr[i + 1]
        if hi - lo > 1:
            order = np.argsort(indices[lo:hi], kind="mergesort")
            cols = indices[lo:hi][order]
            indices[lo:hi] = cols
            if weighted:
                w = weights[lo:hi][order]
                weights[lo:hi] = w
        distinct = 0
        for k in range(lo, hi):
            if k == lo or indices[k] != indices[k - 1]:
                distinct += 1
        unique_counts[i] = distinct


@njit(cache=True, parallel=True)
def _merge_duplicates(indptr, indices, weights, weighted, new_indptr, merge):
    n = indptr.shape[0] - 1
    nnz = new_indptr[n]
    out_idx = np.empty(nnz, dtype=np.int32)
    out_w = np.empty(nnz if weighted else 0, dtype=np.float32)
    for i in prange(n):
        p = new_indptr[i] - 1
        for k in range(indptr[i], indptr[i + 1]):
            if k == indptr[i] or indices[k] != indices[k - 1]:
                p += 1
                out_idx[p] = indices[k]
                if weighted:
                    out_w[p] = weights[k]
            elif weighted:
                if merge == MERGE_SUM:
                    out_w[p] += weights[k]
                elif merge == MERGE_MAX:
                    out_w[p] = max(out_w[p], weights[k])
    return out_idx, out_w


def edges_to_csr(src, dst, weights, n_nodes, symmetrize, keep_self_loops, merge):
    """Build a CSR adjacency from int32 edge endpoints.

    Parameters
    ----------
    src, dst : int32 arrays (m,) of node indices in [0, n_nodes).
    weights : float32 array (m,) or None.
    symmetrize : store every edge in both directions (undirected graphs).
    keep_self_loops : keep u == v edges (stored once).
    merge : MERGE_FIRST, MERGE_SUM or MERGE_MAX for repeated (u, v) entries.

    Returns
    -------
    indptr int64 (n+1,), indices int32 (nnz,), weights float32 (nnz,) or None,
    self_loops (int, seen in the input), duplicates (int, stored entries merged away).
    """
    weighted = weights is not None
    w = weights if weighted else np.empty(0, dtype=np.float32)
    indptr, indices, out_w, loops = _place_edges(
        src, dst, w, weighted, n_nodes, symmetrize, keep_self_loops
    )
    unique_counts = np.empty(n_nodes, dtype=np.int64)
    _sort_rows(indptr, indices, out_w, weighted, unique_counts)
    new_indptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(unique_counts, out=new_indptr[1:])
    duplicates = int(indptr[-1] - new_indptr[-1])
    if duplicates:
        indices, out_w = _merge_duplicates(indptr, indices, out_w, weighted, new_indptr, merge)
    return new_indptr, indices, (out_w if weighted else None), int(loops), duplicates
