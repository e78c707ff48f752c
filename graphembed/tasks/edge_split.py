"""Edge split for link prediction: held-out edges outside a random spanning forest, negative pairs.

A. Grover, J. Leskovec. "node2vec: Scalable Feature Learning for Networks." KDD 2016, section 4.4.
https://arxiv.org/abs/1607.00653

:func:`split_edges` removes a share ``holdout`` of the edges at random while a random spanning
forest (:func:`spanning_forest`) is kept, so the residual graph has the components of the
original, and samples as many non-edges of the *original* graph as negatives
(:func:`sample_non_edges`).
"""
import warnings

import numpy as np

from graphembed.graph import Graph
from graphembed.io.errors import InputError


# ---------------------------------------------------------------------------- helpers
def _upper_edges(graph, with_positions=False):
    """(u, v) int64 arrays of the undirected edges with u < v (self-loops left out); with
    ``with_positions`` also their positions in ``graph.indices``."""
    if graph.directed:
        raise InputError("link prediction needs an undirected graph (read it with --undirected)")
    rows = np.repeat(np.arange(graph.n_nodes, dtype=np.int64), np.diff(graph.indptr))
    cols = graph.indices.astype(np.int64)
    upper = rows < cols
    if with_positions:
        return rows[upper], cols[upper], np.flatnonzero(upper)
    return rows[upper], cols[upper]



def _contains(sorted_keys, keys):
    if sorted_keys.size == 0:
        return np.zeros(keys.shape, dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, keys), sorted_keys.size - 1)
    return sorted_keys[pos] == keys


def spanning_forest(graph, seed=0):
    """Boolean mask over :func:`_upper_edges` marking a random spanning forest (one tree per
    connected component): the minimum spanning forest under i.i.d. uniform edge weights."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import minimum_spanning_tree

    u, v = _upper_edges(graph)
    n = graph.n_nodes
    if u.size == 0:
        return np.zeros(0, dtype=bool)
    rng = np.random.default_rng(seed)
    w = 1.0 + rng.random(u.size)  # strictly positive: csgraph drops explicit zeros
    tree = minimum_spanning_tree(sp.csr_matrix((w, (u, v)), shape=(n, n))).tocoo()
    a, b = np.minimum(tree.row, tree.col).astype(np.int64), np.maximum(tree.row, tree.col).astype(np.int64)
    return _contains(np.sort(a * n + b), u * n + v)


def sample_non_edges(graph, count, seed=0, exclude=None):
    """``count`` distinct pairs (u < v, u != v) drawn uniformly among the non-edges of ``graph``.

    ``exclude``: optional int64 keys u * n + v (u < v) that must not be drawn either.
    Returns an int64 array (count, 2).
    """
    n = graph.n_nodes
    u_e, v_e = _upper_edges(graph)
    free = n * (n - 1) // 2 - u_e.size - (0 if exclude is None else len(exclude))
    if count > free:
        raise InputError(f"the graph has only {free} non-edges; cannot sample {count} negative pairs")
    taken = np.sort(u_e * n + v_e)
    if exclude is not None and len(exclude):
        taken = np.union1d(taken, np.asarray(exclude, dtype=np.int64))
    rng = np.random.default_rng(seed)
    found = np.empty(0, dtype=np.int64)
    while found.size < count:
        need = count - found.size
        k = int(need * 1.3) + 64
        a, b = rng.integers(0, n, k), rng.integers(0, n, k)
        ok = a != b
        keys = np.minimum(a, b)[ok] * n + np.maximum(a, b)[ok]
        keys = keys[~_contains(taken, keys)]
        # keep first occurrences in draw order (so the sample stays uniform), drop repeats
        _, first = np.unique(keys, return_index=True)
        keys = keys[np.sort(first)]
        keys = keys[~np.isin(keys, found)]
        found = np.concatenate([found, keys[:need]])
    return np.stack([found // n, found % n], axis=1)


def _residual(graph, keep_u, keep_v, keep_w):
    """Undirected Graph on the same nodes with the kept edges (and the original self-loops)."""
    import scipy.sparse as sp

    from graphembed.graph import Graph

    n = graph.n_nodes
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(graph.indptr))
    loops = rows == graph.indices
    lr = rows[loops]
    lw = graph.weights[loops] if graph.weights is not None else np.ones(lr.size, np.float32)
    r = np.concatenate([keep_u, keep_v, lr])
    c = np.concatenate([keep_v, keep_u, lr])
    w = np.concatenate([keep_w, keep_w, lw]).astype(np.float32)
    m = sp.csr_matrix((w, (r, c)), shape=(n, n))
    m.sort_indices()
    stats = {"source": "residual graph of the link-prediction split"}
    return Graph(m.indptr, m.indices, m.data if graph.weights is not None else None,
                 graph.node_ids, False, stats)


# ---------------------------------------------------------------------------- the split
def split_edges(graph, holdout=0.5, seed=0):
    """Hold out edges for link prediction (node2vec paper, section 4.4).

    Parameters
    ----------
    graph : Graph (undirected), networkx graph or scipy sparse matrix.
    holdout : float in (0, 1), share of the edges removed (the positives). Edges of a random
        spanning forest are never removed, so the residual graph keeps the connected components
        of the original; when fewer than ``holdout * edges`` edges lie outside the forest, all
        of those are removed (the result's ``holdout`` is then smaller; see ``split_info``).
    seed : int, seeds the forest, the removed edges and the negatives.

    Returns
    -------
    residual : Graph, same nodes (same order and ids), the removed edges dropped.
    pos_pairs : int64 array (m, 2), the removed edges as node indices (u < v).
    neg_pairs : int64 array (m, 2), pairs that are not edges of the original graph (u < v),
        distinct, drawn uniformly.

    Self-loops are neither removed nor sampled. Weights of kept edges are kept.
    """
    graph = Graph.coerce(graph)
    if not isinstance(holdout, (int, float, np.floating)) or not 0 < holdout < 1:
        raise InputError(f"holdout must be a number in (0, 1), got {holdout!r}")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise InputError(f"seed must be an integer >= 0, got {seed!r}")
    u, v, at = _upper_edges(graph, with_positions=True)
    if u.size < 2:
        raise InputError(f"the graph has {u.size} edges; link prediction needs more")
    wanted = int(round(holdout * u.size))
    tree = spanning_forest(graph, seed)
    removable = np.flatnonzero(~tree)
    if removable.size == 0:
        raise InputError("every edge is in the spanning forest (the graph is a forest); "
                         "no edge can be held out without disconnecting it")
    rng = np.random.default_rng([seed, 1])
    if wanted > removable.size:
        warnings.warn(f"only {removable.size} of {u.size} edges lie outside a spanning forest; "
                      f"holding out {removable.size} instead of {wanted}", stacklevel=2)
        wanted = removable.size
    wanted = max(1, wanted)
    removed = np.sort(rng.choice(removable, wanted, replace=False))
    mask = np.ones(u.size, dtype=bool)
    mask[removed] = False
    w_all = graph.weights[at] if graph.weights is not None else np.ones(u.size, np.float32)
    residual = _residual(graph, u[mask], v[mask], w_all[mask])
    pos = np.stack([u[removed], v[removed]], axis=1)
    neg = sample_non_edges(graph, wanted, seed=int(rng.integers(0, 2**62)))
    residual.stats.update({"holdout_requested": float(holdout), "holdout": wanted / u.size,
                           "edges_original": int(u.size), "edges_removed": int(wanted),
                           "forest_edges": int(tree.sum())})
    return residual, pos, neg
