"""Per-node alias tables (Walker / Vose) over the CSR rows of a weighted graph.

For node ``v`` with out-edges ``indptr[v]:indptr[v+1]`` the tables give O(1) draws of an edge
with probability proportional to its weight: pick a slot ``k`` uniformly in the row, keep it
if a uniform ``u < prob[start + k]``, else take ``alias[start + k]`` (a slot of the same row).
Memory is 8 bytes per stored edge; nothing per (edge, neighbour) pair.
"""
import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def build_alias(indptr, weights, prob, alias):
    """Fill ``prob`` (float32, nnz) and ``alias`` (int32, nnz; slots local to the row).

    A row whose weights are all zero is filled as uniform (callers treat such a node as a
    dead end anyway).
    """
    n = indptr.shape[0] - 1
    for v in prange(n):
        start = indptr[v]
        d = indptr[v + 1] - start
        if d == 0:
            continue
        total = 0.0
        for k in range(d):
            total += weights[start + k]
        if not total > 0.0:
            for k in range(d):
                prob[start + k] = 1.0
                alias[start + k] = k
            continue
        scaled = np.empty(d, dtype=np.float64)
        # One stack array holds both worklists: "small" grows up from 0, "large" down from d-1.
        stack = np.empty(d, dtype=np.int64)
        n_small = 0
        n_large = 0
        for k in range(d):
            s = weights[start + k] * d / total
            scaled[k] = s
            if s < 1.0:
                stack[n_small] = k
                n_small += 1
            else:
                stack[d - 1 - n_large] = k
                n_large += 1
        while n_small > 0 and n_large > 0:
            n_small -= 1
            s = stack[n_small]
            big = stack[d - n_large]
            n_large -= 1
            prob[start + s] = scaled[s]
            alias[start + s] = big
            scaled[big] = scaled[big] + scaled[s] - 1.0
            if scaled[big] < 1.0:
                stack[n_small] = big
                n_small += 1
            else:
                n_large += 1
                stack[d - n_large] = big
        # Leftovers (rounding) keep their own slot with certainty.
        while n_large > 0:
            big = stack[d - n_large]
            n_large -= 1
            prob[start + big] = 1.0
            alias[start + big] = big
        while n_small > 0:
            n_small -= 1
            s = stack[n_small]
            prob[start + s] = 1.0
            alias[start + s] = s


def alias_tables(indptr, weights):
    """(prob float32 (nnz,), alias int32 (nnz,)) for a CSR with non-negative ``weights``."""
    nnz = int(indptr[-1])
    prob = np.empty(nnz, dtype=np.float32)
    alias = np.empty(nnz, dtype=np.int32)
    if nnz:
        build_alias(indptr, weights, prob, alias)
    return prob, alias
