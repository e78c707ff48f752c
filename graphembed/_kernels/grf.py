"""Graph random features: halting walks that deposit importance-weighted loads (numba).

Walk ``j`` of node ``i`` draws from its own counter-based stream ``(seed, i * n_walks + j)``.
Its first draw fixes the number of steps: ``min(floor(log(u) / log(1 - p_halt)), max_len)``,
i.e. the walk halts with probability ``p_halt`` before every step (geometric length), so the
number of entries a node produces is known before the walk runs (pass 1) and the walks can
write straight into one preallocated buffer (pass 2). A node with no neighbours walks 0 steps.
Every step moves to a uniform neighbour (slot ``e`` of the CSR) and multiplies the load by
``ratio[e] = W[u, v] * deg(u) / (1 - p_halt)`` (the edge weight over the probability of taking
that step); the prefix of length ``k`` ending at ``v`` adds ``load * f[k] / n_walks`` to
column ``v`` of the node's row. Rows are then sorted by column and duplicates summed in a fixed
order, so the output is bit-identical for any thread count.
"""
import numpy as np
from numba import njit, prange

from graphembed._kernels.rng import next_u64, next_uniform, stream_state

_S32 = np.uint64(32)
_INSERTION = 48  # rows up to this many raw entries are sorted in place


@njit(cache=True, inline="always")
def _steps(u, log_keep, max_len):
    """Number of steps of a walk from its first uniform draw ``u`` (geometric, capped)."""
    if max_len == 0:
        return 0
    if u <= 0.0:
        return max_len
    s = np.log(u) / log_keep
    if s >= max_len:
        return max_len
    return np.int64(s)


@njit(cache=True)
def _node_entries(indptr, i, n_walks, log_keep, max_len, seed):
    """Raw entries of node i: one per walk step, plus one for the length-0 prefixes of all its
    walks (they all end at i with load 1)."""
    total = 1
    if indptr[i + 1] > indptr[i]:
        for j in range(n_walks):
            state = stream_state(seed, np.uint64(i) * np.uint64(n_walks) + np.uint64(j))
            state, u = next_uniform(state)
            total += _steps(u, log_keep, max_len)
    return total


@njit(cache=True, parallel=True)
def walk_entries(indptr, n_walks, log_keep, max_len, seed, counts):
    """Pass 1: ``counts[i]`` = raw entries of node i (see :func:`_node_entries`)."""
    for i in prange(indptr.shape[0] - 1):
        counts[i] = _node_entries(indptr, i, n_walks, log_keep, max_len, seed)


@njit(cache=True)
def walk_entries_serial(indptr, n_walks, log_keep, max_len, seed, counts):
    """:func:`walk_entries` on one thread (no thread-pool start for small graphs)."""
    for i in range(indptr.shape[0] - 1):
        counts[i] = _node_entries(indptr, i, n_walks, log_keep, max_len, seed)


@njit(cache=True)
def _sort_merge(cols, vals):
    """Sort one row's raw entries by column, sum duplicates, drop zeros; returns the count."""
    k = cols.shape[0]
    if k == 0:
        return 0
    if k <= _INSERTION:
        for t in range(1, k):  # stable insertion sort in place
            c = cols[t]
            v = vals[t]
            s = t - 1
            while s >= 0 and cols[s] > c:
                cols[s + 1] = cols[s]
                vals[s + 1] = vals[s]
                s -= 1
            cols[s + 1] = c
            vals[s + 1] = v
        c_sorted = cols
        v_sorted = vals
    else:
        order = np.argsort(cols, kind="mergesort")
        c_sorted = cols[order]
        v_sorted = vals[order]
    out = 0
    cur = c_sorted[0]
    acc = v_sorted[0]
    for t in range(1, k):
        c = c_sorted[t]
        if c == cur:
            acc += v_sorted[t]
        else:
            if acc != 0.0:
                cols[out] = cur
                vals[out] = acc
                out += 1
            cur = c
            acc = v_sorted[t]
    if acc != 0.0:
        cols[out] = cur
        vals[out] = acc
        out += 1
    return out


@njit(cache=True)
def _fill_node(indptr, indices, ratio, f, i, n_walks, log_keep, max_len, seed, raw_ptr, raw_col, raw_val):
    """Run node i's walks into its raw segment, sort and merge it; returns its distinct count."""
    inv_m = 1.0 / n_walks
    pos = raw_ptr[i]
    raw_col[pos] = np.int32(i)  # the m length-0 prefixes: m * f_0 / m
    raw_val[pos] = f[0]
    pos += 1
    has_edges = indptr[i + 1] > indptr[i]
    for j in range(n_walks):
        if not has_edges:
            break
        state = stream_state(seed, np.uint64(i) * np.uint64(n_walks) + np.uint64(j))
        state, u = next_uniform(state)
        steps = _steps(u, log_keep, max_len)
        cur = np.int64(i)
        load = inv_m
        for s in range(1, steps + 1):
            start = indptr[cur]
            d = indptr[cur + 1] - start
            state, bits = next_u64(state)
            e = start + np.int64(((bits >> _S32) * np.uint64(d)) >> _S32)
            load *= ratio[e]
            cur = np.int64(indices[e])
            raw_col[pos] = cur
            raw_val[pos] = load * f[s]
            pos += 1
    lo = raw_ptr[i]
    return _sort_merge(raw_col[lo:pos], raw_val[lo:pos])


@njit(cache=True, parallel=True)
def walk_fill(indptr, indices, ratio, f, n_walks, log_keep, max_len, seed, raw_ptr, raw_col,
              raw_val, uniq):
    """Pass 2: run the walks of every node into its raw segment, then sort and merge it.

    ``raw_ptr`` is the exclusive prefix sum of :func:`walk_entries`' counts. On return the
    first ``uniq[i]`` entries of node i's segment hold its distinct columns (ascending) and
    their summed values.
    """
    for i in prange(indptr.shape[0] - 1):
        uniq[i] = _fill_node(indptr, indices, ratio, f, i, n_walks, log_keep, max_len, seed, raw_ptr,
                             raw_col, raw_val)


@njit(cache=True)
def walk_fill_serial(indptr, indices, ratio, f, n_walks, log_keep, max_len, seed, raw_ptr, raw_col,
                     raw_val, uniq):
    """:func:`walk_fill` on one thread."""
    for i in range(indptr.shape[0] - 1):
        uniq[i] = _fill_node(indptr, indices, ratio, f, i, n_walks, log_keep, max_len, seed, raw_ptr,
                             raw_col, raw_val)


@njit(cache=True, parallel=True)
def compact(raw_ptr, raw_col, raw_val, indptr, out_col, out_val):
    """Pass 3: copy each node's merged entries into the final CSR arrays."""
    n = indptr.shape[0] - 1
    for i in prange(n):
        src = raw_ptr[i]
        dst = indptr[i]
        for t in range(indptr[i + 1] - dst):
            out_col[dst + t] = raw_col[src + t]
            out_val[dst + t] = raw_val[src + t]


@njit(cache=True)
def compact_serial(raw_ptr, raw_col, raw_val, indptr, out_col, out_val):
    """:func:`compact` on one thread."""
    for i in range(indptr.shape[0] - 1):
        src = raw_ptr[i]
        dst = indptr[i]
        for t in range(indptr[i + 1] - dst):
            out_col[dst + t] = raw_col[src + t]
            out_val[dst + t] = raw_val[src + t]


@njit(cache=True, parallel=True)
def sketch_rows(n_rows, k, dim, seed, cols, signs):
    """Sparse projection rows: row c has ``k`` entries +-1/sqrt(k) in uniform columns.

    Columns are drawn with replacement (a repeated column sums its signs); the row depends
    only on (seed, c), so E[R R^T] = I and R never needs storing beyond (n_rows, k).
    """
    scale = 1.0 / np.sqrt(k)
    for c in prange(n_rows):
        state = stream_state(seed, c)
        for t in range(k):
            state, bits = next_u64(state)
            cols[c, t] = np.int32(((bits >> _S32) * np.uint64(dim)) >> _S32)
            signs[c, t] = scale if (bits & np.uint64(1)) == 0 else -scale


@njit(cache=True, parallel=True)
def project_rows(indptr, indices, data, cols, signs, out):
    """``out`` (n, dim) float32 = Phi R with Phi in CSR and R given by :func:`sketch_rows`."""
    n = indptr.shape[0] - 1
    k = cols.shape[1]
    for i in prange(n):
        row = out[i]
        for e in range(indptr[i], indptr[i + 1]):
            c = indices[e]
            v = data[e]
            for t in range(k):
                row[cols[c, t]] += v * signs[c, t]
