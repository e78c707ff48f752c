"""Synthetic graphs shared by the benchmarks."""
import numpy as np


def chung_lu_edges(n, m, exponent=0.8, seed=0):
    """``m`` distinct undirected edges of a Chung-Lu graph: endpoint i drawn with weight ~ (i+1)^-exponent.

    Endpoints are drawn by inverting the continuous CDF of x^-exponent on [1, n + 1), then node
    labels are shuffled so hubs are spread over the id range. Self-loops and repeats are
    dropped and topped up until exactly ``m`` edges remain; edges come in random order.
    """
    rng = np.random.default_rng(seed)
    label = rng.permutation(n).astype(np.int64)
    a = 1.0 - exponent
    top = (n + 1.0) ** a - 1.0

    def endpoints(k):
        x = (1.0 + rng.random(k) * top) ** (1.0 / a)
        return label[np.minimum(x.astype(np.int64) - 1, n - 1)]

    keys = np.empty(0, np.int64)
    while keys.size < m:
        k = int((m - keys.size) * 1.2) + 1000
        u, v = endpoints(k), endpoints(k)
        ok = u != v
        new = np.minimum(u, v)[ok] * n + np.maximum(u, v)[ok]
        keys = np.unique(np.concatenate([keys, new]))
    keys = rng.permutation(keys)[:m]
    return keys // n, keys % n
