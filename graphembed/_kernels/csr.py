"""Edge arrays -> CSR adjacency: counting placement, per-row sort, duplicate merge."""
import numpy as np
from numba import njit, prange

MERGE_FIRST = 0
MERGE_SUM = 1
MERGE_MAX = 2
# Up to this many edges numpy builds the same CSR: a few milliseconds, against the ~7 s that
# compiling the kernels below costs on the first run of an install.
NUMPY_MAX_EDGES = 200_000


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
    if src.shape[0] <= NUMPY_MAX_EDGES:
        return _edges_to_csr_numpy(src, dst, weights, n_nodes, symmetrize, keep_self_loops, merge)
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


def _edges_to_csr_numpy(src, dst, weights, n_nodes, symmetrize, keep_self_loops, merge):
    """:func:`edges_to_csr` in numpy, entry for entry the same (same order, same float32 sums)."""
    weighted = weights is not None
    src = np.asarray(src, dtype=np.int64)
    dst = np.asarray(dst, dtype=np.int64)
    loop = src == dst
    loops = int(np.count_nonzero(loop))
    keep = ~loop if not keep_self_loops else np.ones(src.shape[0], dtype=bool)
    edge = np.flatnonzero(keep)
    if symmetrize:
        # the kernel's order: each edge (u, v), then its reverse (v, u) unless a self-loop
        back = edge[src[edge] != dst[edge]]
        first_of = np.concatenate([edge, back])
        turn = np.concatenate([np.zeros(edge.size, np.int64), np.ones(back.size, np.int64)])
        order = np.lexsort((turn, first_of))
        first_of, turn = first_of[order], turn[order]
        rows = np.where(turn == 0, src[first_of], dst[first_of])
        cols = np.where(turn == 0, dst[first_of], src[first_of])
    else:
        first_of, rows, cols = edge, src[edge], dst[edge]
    order = np.lexsort((cols, rows))  # stable: repeated (row, col) keep input order
    rows, cols, first_of = rows[order], cols[order], first_of[order]
    w = weights[first_of].astype(np.float32) if weighted else None
    distinct = np.ones(rows.shape[0], dtype=bool)
    distinct[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    duplicates = int(rows.shape[0] - np.count_nonzero(distinct))
    if duplicates and weighted:
        slot = np.cumsum(distinct) - 1
        merged = w[distinct].copy()
        extra = ~distinct
        if merge == MERGE_SUM:  # in input order, in float32: the kernel's sums
            np.add.at(merged, slot[extra], w[extra])
        elif merge == MERGE_MAX:
            np.maximum.at(merged, slot[extra], w[extra])
        w = merged
    rows, cols = rows[distinct], cols[distinct]
    indptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_nodes), out=indptr[1:])
    return indptr, cols.astype(np.int32), w, loops, duplicates
