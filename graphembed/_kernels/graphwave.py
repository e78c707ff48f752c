"""GraphWave kernels: Chebyshev steps of heat wavelets on a block of columns, and empirical
characteristic functions of the wavelet coefficients.

Both are thread-count independent: every output row is computed by one thread, in a fixed
order, so the results are bit-identical for any number of threads.
"""
import numpy as np
from numba import njit, prange

from graphembed._kernels.prefetch import prefetch

LINE_DOUBLES = 8  # float64 values per 64-byte cache line
AHEAD = 6  # neighbours whose rows are prefetched ahead of use (measured on BlogCatalog)


@njit(cache=True, parallel=True)
def chebyshev_step(bounds, indptr, indices, vals, diag, x, prev, out, first, coefs, acc):
    """One Chebyshev step on a block: ``out = M x`` (``first``) else ``out = 2 M x - prev``, then
    ``acc[s] += coefs[s] * out`` for every scale s.

    M = diag(diag) + the CSR (indptr, indices, vals); x, prev, out (n, b) float64 C-contiguous,
    three distinct arrays; acc (n_scales, n, b) float64. Rows are handed out in the ranges
    ``bounds[p]:bounds[p + 1]`` (about equal work each, so hubs do not leave one thread alone);
    the rows of x are gathered at random, so the rows AHEAD neighbours on are prefetched.
    """
    b = x.shape[1]
    n_scales = coefs.shape[0]
    for part in prange(bounds.shape[0] - 1):
        for i in range(bounds[part], bounds[part + 1]):
            row = out[i]
            d = diag[i]
            xi = x[i]
            for c in range(b):
                row[c] = d * xi[c]
            end = indptr[i + 1]
            for e in range(indptr[i], end):
                if e + AHEAD < end:
                    ahead = indices[e + AHEAD]
                    for c in range(0, b, LINE_DOUBLES):
                        prefetch(x, ahead, c)
                w = vals[e]
                src = x[indices[e]]
                for c in range(b):
                    row[c] += w * src[c]
            if not first:
                p = prev[i]
                for c in range(b):
                    row[c] = 2.0 * row[c] - p[c]
            for s in range(n_scales):
                f = coefs[s]
                a = acc[s, i]
                for c in range(b):
                    a[c] += f * row[c]


@njit(cache=True, parallel=True)
def characteristic_function(waves, delta, out_re, out_im):
    """Empirical characteristic functions of the rows of ``waves`` (b, n) float64 at the points
    t_j = j * delta, j = 1..d (d = out_re.shape[1]):

        out_re[r, j-1] = mean_m cos(t_j waves[r, m]),  out_im[r, j-1] = mean_m sin(t_j waves[r, m]).

    exp(i t_j w) is advanced from exp(i t_{j-1} w) by one rotation by exp(i delta w) (one sin and
    cos per coefficient, not one per point; the rounding error grows like j * 1e-16). One row
    per thread, sums in a fixed order: thread-count independent.
    """
    b, n = waves.shape
    d = out_re.shape[1]
    for r in prange(b):
        w = waves[r]
        c1 = np.empty(n)
        s1 = np.empty(n)
        cj = np.empty(n)
        sj = np.empty(n)
        for m in range(n):
            theta = delta * w[m]
            c1[m] = np.cos(theta)
            s1[m] = np.sin(theta)
            cj[m] = c1[m]
            sj[m] = s1[m]
        for j in range(d):
            if j > 0:
                for m in range(n):  # rotate: elementwise, vectorised
                    c = cj[m] * c1[m] - sj[m] * s1[m]
                    sj[m] = sj[m] * c1[m] + cj[m] * s1[m]
                    cj[m] = c
            re0 = re1 = re2 = re3 = 0.0
            im0 = im1 = im2 = im3 = 0.0
            m = 0
            while m + 4 <= n:  # four partial sums in a fixed order
                re0 += cj[m]
                re1 += cj[m + 1]
                re2 += cj[m + 2]
                re3 += cj[m + 3]
                im0 += sj[m]
                im1 += sj[m + 1]
                im2 += sj[m + 2]
                im3 += sj[m + 3]
                m += 4
            while m < n:
                re0 += cj[m]
                im0 += sj[m]
                m += 1
            out_re[r, j] = ((re0 + re1) + (re2 + re3)) / n
            out_im[r, j] = ((im0 + im1) + (im2 + im3)) / n
