"""numba kernels of id factorisation and string scans (see :mod:`graphembed._ids`)."""
import numpy as np
from numba import njit


@njit(cache=True)
def _min_max(a, lo, hi):
    for i in range(a.shape[0]):
        x = a[i]
        if x < lo:
            lo = x
        if x > hi:
            hi = x
    return lo, hi


@njit(cache=True)
def _mark_present(a, lo, present):
    for i in range(a.shape[0]):
        present[a[i] - lo] = True


@njit(cache=True)
def _rank_present(present):
    rank = np.empty(present.shape[0], dtype=np.int32)
    r = 0
    for i in range(present.shape[0]):
        rank[i] = r
        if present[i]:
            r += 1
    return rank, r


@njit(cache=True)
def _lookup(a, lo, rank, out, start):
    for i in range(a.shape[0]):
        out[start + i] = rank[a[i] - lo]


@njit(cache=True)
def _scan_strings(offsets, data, start):
    """(any value starts or ends with a blank, first empty value's row or -1)."""
    blanks = False
    for i in range(offsets.shape[0] - 1):
        s = offsets[i]
        e = offsets[i + 1]
        if e == s:
            return blanks, start + i
        if not blanks:
            a = data[s]
            b = data[e - 1]
            if a == 32 or a == 9 or a == 13 or b == 32 or b == 9 or b == 13:
                blanks = True
    return blanks, -1


@njit(cache=True)
def _comment_mask(offsets, data, out, start):
    found = False
    for i in range(offsets.shape[0] - 1):
        for k in range(offsets[i], offsets[i + 1]):
            c = data[k]
            if c == 32 or c == 9:
                continue
            if c == 35 or c == 37:  # '#' or '%'
                out[start + i] = True
                found = True
            break
    return found
