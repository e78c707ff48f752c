"""ReFeX kernels (graphembed.embed.roles): pure array code, numba only.

``neighbour_aggregates`` adds int64 fixed-point values over each node's neighbours: integer sums
do not depend on the order of the neighbours or on the thread count, so automorphic nodes get
bit-identical aggregates. ``log_bin_rows`` bins each row by quickselect (O(n / p) per row, no
full sort), rows in parallel. ``max_bin_difference`` compares binned rows, stopping each pair as
soon as one node's bins differ by more than ``limit`` (most pairs stop after a few nodes).
"""
import math

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def neighbour_aggregates(indptr, indices, fixed, exponents, modes):
    """float64 (k * len(modes), n): for column j of ``fixed`` (int64 (n, k), column j in units of
    2^exponents[j]) and mode q (0: mean, 1: sum), row j * len(modes) + q holds, per node v, the
    mean or the sum of the column over the neighbours of v (0 for a node without any)."""
    n = indptr.shape[0] - 1
    k = fixed.shape[1]
    a = modes.shape[0]
    out = np.empty((k * a, n), np.float64)
    block = 256
    for b in prange((n + block - 1) // block):
        acc = np.empty(k, np.int64)
        for v in range(b * block, min(n, (b + 1) * block)):
            acc[:] = 0
            for p in range(indptr[v], indptr[v + 1]):
                u = indices[p]
                for j in range(k):
                    acc[j] += fixed[u, j]
            degree = indptr[v + 1] - indptr[v]
            for j in range(k):
                total = math.ldexp(float(acc[j]), exponents[j])
                for q in range(a):
                    if modes[q] == 0:
                        out[j * a + q, v] = total / degree if degree > 0 else 0.0
                    else:
                        out[j * a + q, v] = total
    return out


@njit(cache=True, parallel=True)
def to_fixed(rows, keep, exponents):
    """int64 (n, len(keep)): column i is row keep[i] of ``rows`` (float64 (c, n)) in units of
    2^exponents[i], rounded to the nearest integer (halves to even)."""
    n = rows.shape[1]
    k = keep.shape[0]
    out = np.empty((n, k), np.int64)
    block = 1024
    for b in prange((n + block - 1) // block):
        for i in range(k):
            j = keep[i]
            e = -exponents[i]
            for v in range(b * block, min(n, (b + 1) * block)):
                out[v, i] = np.int64(np.round(math.ldexp(rows[j, v], e)))
    return out


@njit(cache=True)
def _select(a, lo, hi, k):
    """The value of rank ``k`` in ``a[lo:hi]`` (lo <= k < hi), partitioning it in place so that
    a[lo:k] <= a[k] <= a[k+1:hi] (quickselect, median-of-three pivot, three-way partition)."""
    while True:
        if hi - lo <= 16:
            for i in range(lo + 1, hi):  # insertion sort
                value = a[i]
                j = i - 1
                while j >= lo and a[j] > value:
                    a[j + 1] = a[j]
                    j -= 1
                a[j + 1] = value
            return a[k]
        x, y, z = a[lo], a[(lo + hi) >> 1], a[hi - 1]
        pivot = max(min(x, y), min(max(x, y), z))
        lt, i, gt = lo, lo, hi
        while i < gt:
            value = a[i]
            if value < pivot:
                a[i] = a[lt]
                a[lt] = value
                lt += 1
                i += 1
            elif value > pivot:
                gt -= 1
                a[i] = a[gt]
                a[gt] = value
            else:
                i += 1
        if k < lt:
            hi = lt
        elif k >= gt:
            lo = gt
        else:
            return pivot


@njit(cache=True, parallel=True)
def log_bin_rows(x, p, max_bins, out):
    """Vertical logarithmic bins of each row of ``x`` (float64 (c, n)) into ``out`` (int (c, n)).

    Of the m values not yet binned, the max(1, floor(p * m)) smallest and every value tied with
    the largest of them get the next bin number (0, 1, ...); ``max_bins`` bounds the bin count."""
    c, n = x.shape
    for j in prange(c):
        work = x[j].copy()
        thresholds = np.empty(max_bins, np.float64)
        start = 0  # work[start:] holds the values not yet binned
        nb = 0
        while start < n:
            size = max(int(p * (n - start)), 1)
            t = _select(work, start, n, start + size - 1)
            thresholds[nb] = t
            nb += 1
            w = n
            for i in range(n - 1, start + size - 1, -1):  # keep the values > t at the end
                if work[i] > t:
                    w -= 1
                    work[w] = work[i]
            start = w
        for i in range(n):
            value = x[j, i]
            lo, hi = 0, nb
            while lo < hi:  # the first threshold >= value
                mid = (lo + hi) >> 1
                if thresholds[mid] < value:
                    lo = mid + 1
                else:
                    hi = mid
            out[j, i] = lo


@njit(cache=True, parallel=True)
def max_bin_difference(new, old, limit):
    """int64 (a, b): max over nodes k of |new[i, k] - old[j, k]| for row i of ``new`` (a, n) and
    row j of ``old`` (b, n), capped at ``limit + 1`` (a larger difference is reported as
    ``limit + 1``)."""
    a = new.shape[0]
    b = old.shape[0]
    n = new.shape[1]
    out = np.zeros((a, b), np.int64)
    for i in prange(a):
        for j in range(b):
            worst = 0
            for k in range(n):
                d = abs(np.int64(new[i, k]) - np.int64(old[j, k]))
                if d > worst:
                    worst = d
                    if worst > limit:
                        worst = limit + 1
                        break
            out[i, j] = worst
    return out
