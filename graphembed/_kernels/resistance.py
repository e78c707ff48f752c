"""Numba kernels for the effective-resistance sketch: the Laplacian times a block of vectors
(row-parallel, each row written by one thread: the same bits for any thread count) and the
per-edge accumulation of squared differences. Each kernel comes twice, parallel and serial
(``*_serial``: small blocks, where starting threads costs more than the work), with the same
arithmetic per output entry, so both give the same bits."""
from numba import njit, prange


def _laplacian_matmat(indptr, indices, weights, degree, x, out):
    """out = (D - W) x for a block x (n, b); weights None-free (ones passed for unweighted)."""
    n = indptr.shape[0] - 1
    b = x.shape[1]
    for i in prange(n):
        for c in range(b):
            out[i, c] = degree[i] * x[i, c]
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            w = weights[p]
            for c in range(b):
                out[i, c] -= w * x[j, c]


def _incidence_rhs(src, dst, sqrt_w, signs, n, out):
    """out[:, c] = B^T W^1/2 q_c for the +-1 sign rows ``signs`` (b, m), unscaled. Row-parallel
    over the block's columns (each column is one thread's)."""
    b = signs.shape[0]
    for c in prange(b):
        for i in range(n):
            out[i, c] = 0.0
        for e in range(src.shape[0]):
            s = sqrt_w[e] * signs[c, e]
            out[src[e], c] += s
            out[dst[e], c] -= s


def _accumulate_edges(src, dst, z, acc):
    """acc[e] += sum_c (z[src e, c] - z[dst e, c])^2."""
    b = z.shape[1]
    for e in prange(src.shape[0]):
        s = 0.0
        for c in range(b):
            d = z[src[e], c] - z[dst[e], c]
            s += d * d
        acc[e] += s



laplacian_matmat = njit(cache=True, parallel=True)(_laplacian_matmat)
laplacian_matmat_serial = njit(cache=True)(_laplacian_matmat)
incidence_rhs = njit(cache=True, parallel=True)(_incidence_rhs)
incidence_rhs_serial = njit(cache=True)(_incidence_rhs)
accumulate_edges = njit(cache=True, parallel=True)(_accumulate_edges)
accumulate_edges_serial = njit(cache=True)(_accumulate_edges)
