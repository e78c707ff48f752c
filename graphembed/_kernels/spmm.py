"""Row-parallel sparse x dense products for FastRP-style propagation."""
import numpy as np
from numba import njit, prange

from graphembed._kernels.rng import next_u64, next_uniform, stream_state


@njit(cache=True, parallel=True)
def sparse_sign_rows(n_rows, row_offset, density, seed, row_scale, out):
    """Fill ``out`` (n_rows, d) float32 with a very sparse random sign matrix.

    Entry (i, c) is +-sqrt(1/density) * row_scale[i] with probability density, else 0.
    Row i draws from the stream (seed, row_offset + i): independent of thread count, and a
    node's row does not depend on how many other rows are generated.
    """
    d = out.shape[1]
    value = np.sqrt(1.0 / density)
    log_keep = np.log1p(-density) if density < 1.0 else 0.0
    for i in prange(n_rows):
        state = stream_state(seed, row_offset + i)
        row = out[i]
        row[:] = 0.0
        scaled = value * row_scale[i]
        col = -1
        while True:
            if density >= 1.0:
                col += 1
            else:  # geometric gap to the next non-zero column
                state, u = next_uniform(state)
                col += 1 + int(np.floor(np.log1p(-u) / log_keep))
            if col >= d:
                break
            state, bits = next_u64(state)
            row[col] = scaled if (bits >> np.uint64(63)) == 0 else -scaled


# Rows are handed to threads in PARTS contiguous ranges of about equal work (stored entries +
# ROW_COST per row), so a block of hubs does not leave one thread working alone. The split
# does not depend on the thread count, and no row's arithmetic depends on the split.
PARTS = 256
ROW_COST = 4


@njit(cache=True)
def _split_point(indptr, target):
    """First row i with indptr[i] + ROW_COST * i >= target."""
    lo = 0
    hi = indptr.shape[0] - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if indptr[mid] + ROW_COST * mid < target:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, inline="always")
def _part_rows(indptr, p, parts):
    """Rows [first, last) of part p of ``parts`` parts of equal work (entries + ROW_COST per row)."""
    n = indptr.shape[0] - 1
    total = indptr[n] + ROW_COST * n
    return _split_point(indptr, total * p // parts), _split_point(indptr, total * (p + 1) // parts)


@njit(cache=True, inline="always")
def _sum_squares(row):
    """sum(row**2) in float64 with eight interleaved partial sums (a fixed order that the
    compiler can vectorise; one running sum would be a serial chain)."""
    d = row.shape[0]
    q0 = q1 = q2 = q3 = q4 = q5 = q6 = q7 = 0.0
    c = 0
    while c + 8 <= d:
        v0 = np.float64(row[c])
        v1 = np.float64(row[c + 1])
        v2 = np.float64(row[c + 2])
        v3 = np.float64(row[c + 3])
        v4 = np.float64(row[c + 4])
        v5 = np.float64(row[c + 5])
        v6 = np.float64(row[c + 6])
        v7 = np.float64(row[c + 7])
        q0 += v0 * v0
        q1 += v1 * v1
        q2 += v2 * v2
        q3 += v3 * v3
        q4 += v4 * v4
        q5 += v5 * v5
        q6 += v6 * v6
        q7 += v7 * v7
        c += 8
    while c < d:
        v0 = np.float64(row[c])
        q0 += v0 * v0
        c += 1
    return ((q0 + q1) + (q2 + q3)) + ((q4 + q5) + (q6 + q7))


@njit(cache=True, inline="always")
def _finish_row(row, scale, acc_row, acc_weight):
    """row *= scale; acc_row += acc_weight * row / ||row||; returns ||row||."""
    s = np.float32(scale)
    for c in range(row.shape[0]):
        row[c] *= s
    norm = np.sqrt(_sum_squares(row))
    if acc_weight != 0.0 and norm > 0.0:
        f = np.float32(acc_weight / norm)
        for c in range(row.shape[0]):
            acc_row[c] += f * row[c]
    return norm


@njit(cache=True, parallel=True)
def propagate_accumulate(indptr, indices, weights, weighted, row_scale, x, out, acc, acc_weight):
    """out = diag(row_scale) A x, then acc += acc_weight * out / ||out||_row.

    A is the CSR (indptr, indices, weights or ones). Returns the largest row norm of ``out``
    (callers fold it into the next ``row_scale`` so iterates cannot overflow float32).
    Each row is computed by one thread in a fixed order, so results are bit-identical for
    any thread count.
    """
    n = indptr.shape[0] - 1
    d = x.shape[1]
    parts = min(n, PARTS)
    largest = np.zeros(max(parts, 1), dtype=np.float64)
    for p in prange(parts):
        first, last = _part_rows(indptr, p, parts)
        for i in range(first, last):
            row = out[i]
            row[:] = 0.0
            hi = indptr[i + 1]
            k = indptr[i]
            # Four neighbours per pass over the row: a quarter of the row loads and stores,
            # four independent gathers in flight.
            while k + 4 <= hi:
                s0 = x[indices[k]]
                s1 = x[indices[k + 1]]
                s2 = x[indices[k + 2]]
                s3 = x[indices[k + 3]]
                if weighted:
                    w0 = weights[k]
                    w1 = weights[k + 1]
                    w2 = weights[k + 2]
                    w3 = weights[k + 3]
                    for c in range(d):
                        row[c] += (w0 * s0[c] + w1 * s1[c]) + (w2 * s2[c] + w3 * s3[c])
                else:
                    for c in range(d):
                        row[c] += (s0[c] + s1[c]) + (s2[c] + s3[c])
                k += 4
            while k < hi:
                s0 = x[indices[k]]
                if weighted:
                    w0 = weights[k]
                    for c in range(d):
                        row[c] += w0 * s0[c]
                else:
                    for c in range(d):
                        row[c] += s0[c]
                k += 1
            largest[p] = max(largest[p], _finish_row(row, row_scale[i], acc[i], acc_weight))
    return largest.max()


@njit(cache=True, parallel=True)
def propagate_accumulate_sparse(indptr, indices, weights, weighted, row_scale, x_indptr, x_cols,
                                x_vals, out, acc, acc_weight):
    """:func:`propagate_accumulate` for a sparse ``x`` given as CSR (x_indptr, x_cols, x_vals).

    The first FastRP step multiplies the very sparse X_0 (a few non-zeros per row), so it costs
    stored entries x non-zeros per row instead of stored entries x dim.
    """
    n = indptr.shape[0] - 1
    parts = min(n, PARTS)
    largest = np.zeros(max(parts, 1), dtype=np.float64)
    for p in prange(parts):
        first, last = _part_rows(indptr, p, parts)
        for i in range(first, last):
            row = out[i]
            row[:] = 0.0
            for k in range(indptr[i], indptr[i + 1]):
                j = indices[k]
                w = weights[k] if weighted else np.float32(1.0)
                for t in range(x_indptr[j], x_indptr[j + 1]):
                    row[x_cols[t]] += w * x_vals[t]
            largest[p] = max(largest[p], _finish_row(row, row_scale[i], acc[i], acc_weight))
    return largest.max()


@njit(cache=True, parallel=True)
def dense_to_csr(x):
    """(indptr int64, columns int32, values float32) of the non-zeros of ``x`` (n, d)."""
    n, d = x.shape
    counts = np.zeros(n + 1, dtype=np.int64)
    for i in prange(n):
        nz = 0
        for c in range(d):
            if x[i, c] != 0.0:
                nz += 1
        counts[i + 1] = nz
    indptr = np.cumsum(counts)
    cols = np.empty(indptr[n], dtype=np.int32)
    vals = np.empty(indptr[n], dtype=np.float32)
    for i in prange(n):
        t = indptr[i]
        for c in range(d):
            if x[i, c] != 0.0:
                cols[t] = c
                vals[t] = x[i, c]
                t += 1
    return indptr, cols, vals


@njit(cache=True, parallel=True)
def accumulate_normalized(x, weight, acc):
    """acc += weight * x / ||x||_row (rows of zeros are left alone)."""
    n, d = x.shape
    for i in prange(n):
        sq = 0.0
        for c in range(d):
            sq += np.float64(x[i, c]) * x[i, c]
        if sq > 0.0:
            f = np.float32(weight / np.sqrt(sq))
            for c in range(d):
                acc[i, c] += f * x[i, c]
