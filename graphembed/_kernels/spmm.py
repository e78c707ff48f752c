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
    norms = np.empty(n, dtype=np.float64)
    for i in prange(n):
        row = out[i]
        row[:] = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            j = indices[k]
            w = weights[k] if weighted else np.float32(1.0)
            src = x[j]
            for c in range(d):
                row[c] += w * src[c]
        s = np.float32(row_scale[i])
        sq = 0.0
        for c in range(d):
            row[c] *= s
            sq += np.float64(row[c]) * row[c]
        norm = np.sqrt(sq)
        norms[i] = norm
        if acc_weight != 0.0 and norm > 0.0:
            f = np.float32(acc_weight / norm)
            a = acc[i]
            for c in range(d):
                a[c] += f * row[c]
    return norms.max() if n else 0.0


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
