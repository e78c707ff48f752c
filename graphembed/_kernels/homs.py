"""Homomorphism kernels: the rooted-tree DP and the pivot / Glauber MCMC chains.

Lyu, Memoli & Sivakoff, "Sampling random graph homomorphisms and applications to network data
analysis", JMLR 24 (2023). Pure array code; the library layer
(:mod:`graphembed.structure.homomorphisms`) validates input and prepares the arrays.

Graph: undirected CSR ``indptr`` int64, ``indices`` int32 (sorted rows), ``weights`` float64
(empty when unweighted). Motif tree: ``order`` (BFS order, root first) and ``parent`` (-1 at
the root); for Glauber also the tree adjacency ``t_ptr``/``t_idx``.

The target is pi(x) ~ prod over tree edges ij of A(x_i, x_j). With h_i(v) the weighted number of
homomorphisms of the subtree below motif node i that send i to v,

    h_i(v) = prod_{c child of i} sum_w A(v, w) h_c(w),

the root image has marginal ~ h_root and, given its parent's image u, child c is drawn from
N(u) with probability ~ A(u, w) h_c(w). The h tables are kept normalised (max 1) so float64
never overflows; the library keeps the log scale factors.

Every chain ``c`` draws from its own splitmix64 stream ``(seed, c)``: results do not depend
on the number of threads.
"""
import numpy as np
from numba import njit, prange

from graphembed._kernels.rng import next_u64, next_uniform, stream_state
from graphembed._kernels.walks import _find

_S11 = np.uint64(11)

OBS_PRODUCT = 0   # one output: prod over pairs of A(x_i, x_j)
OBS_PAIRS = 1     # one output per pair: A(x_i, x_j)
OBS_PROFILE = 2   # one output per threshold s: [min over pairs of A(x_i, x_j) >= s]


# ---------------------------------------------------------------------------- tree DP
@njit(cache=True, parallel=True)
def neighbor_sums(indptr, indices, weights, weighted, h):
    """out[v] = sum_w A(v, w) h[w] (float64, (n,))."""
    n = indptr.shape[0] - 1
    out = np.empty(n, dtype=np.float64)
    for v in prange(n):
        s = 0.0
        if weighted:
            for e in range(indptr[v], indptr[v + 1]):
                s += weights[e] * h[indices[e]]
        else:
            for e in range(indptr[v], indptr[v + 1]):
                s += h[indices[e]]
        out[v] = s
    return out


@njit(cache=True, parallel=True)
def row_cumsums(indptr, indices, weights, weighted, h, out):
    """out[e] = cumulative sum of A(v, w) h[w] along row v up to edge slot e (inclusive)."""
    n = indptr.shape[0] - 1
    for v in prange(n):
        s = 0.0
        for e in range(indptr[v], indptr[v + 1]):
            if weighted:
                s += weights[e] * h[indices[e]]
            else:
                s += h[indices[e]]
            out[e] = s


# ---------------------------------------------------------------------------- helpers
@njit(cache=True, inline="always")
def _uniform(state):
    return next_uniform(state)


@njit(cache=True, inline="always")
def _below(state, d):
    """Uniform integer in [0, d)."""
    state, bits = next_u64(state)
    return state, np.int64(np.float64(bits >> _S11) * (1.0 / 9007199254740992.0) * d)


@njit(cache=True)
def _search(cum, lo, hi, target):
    """First slot e in [lo, hi) with cum[e] > target (hi - 1 if none: rounding guard)."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if cum[mid] > target:
            hi = mid
        else:
            lo = mid + 1
    return lo


@njit(cache=True)
def _draw_neighbor(state, indptr, indices, cum, use_cum, u):
    """A neighbour of u: uniform, or ~ the row increments of ``cum`` when ``use_cum``."""
    start = indptr[u]
    end = indptr[u + 1]
    if not use_cum:
        state, k = _below(state, end - start)
        return state, indices[start + k]
    state, r = next_uniform(state)
    total = cum[end - 1]
    e = _search(cum, start, end, r * total)
    if e >= end:
        e = end - 1
    # only a clamped draw (r * total rounded up to total) can land on a zero-weight slot
    while e > start and cum[e] == cum[e - 1]:
        e -= 1
    return state, indices[e]


@njit(cache=True)
def edge_value(indptr, indices, weights, weighted, a, b):
    """A(a, b): the weight (1.0 unweighted) or 0.0 when the edge is absent (binary search)."""
    if indptr[a + 1] - indptr[a] > indptr[b + 1] - indptr[b]:
        a, b = b, a
    at = _find(indices, indptr[a], indptr[a + 1], b)
    if at < 0:
        return 0.0
    return weights[at] if weighted else 1.0


@njit(cache=True)
def _observe(x, indptr, indices, weights, weighted, pairs, kind, thresholds, vals):
    """Fill ``vals`` with this state's observable values."""
    n_pairs = pairs.shape[0]
    if kind == OBS_PRODUCT:
        p = 1.0
        for q in range(n_pairs):
            p *= edge_value(indptr, indices, weights, weighted, x[pairs[q, 0]], x[pairs[q, 1]])
            if p == 0.0:
                break
        vals[0] = p
    elif kind == OBS_PAIRS:
        for q in range(n_pairs):
            a = x[pairs[q, 0]]
            b = x[pairs[q, 1]]
            vals[q] = 0.0 if a == b else edge_value(indptr, indices, weights, weighted, a, b)
    else:
        m = np.inf
        for q in range(n_pairs):
            v = edge_value(indptr, indices, weights, weighted, x[pairs[q, 0]], x[pairs[q, 1]])
            if v < m:
                m = v
        for s in range(thresholds.shape[0]):
            vals[s] = 1.0 if m >= thresholds[s] else 0.0


@njit(cache=True)
def _fill_tree(state, x, order, parent, indptr, indices, cums, cum_id):
    """Redraw every non-root motif node from its parent's image, ~ A(u, w) h_child(w)."""
    for t in range(1, order.shape[0]):
        i = order[t]
        c = cum_id[i]
        if c < 0:
            state, x[i] = _draw_neighbor(state, indptr, indices, cums[0], False, x[parent[i]])
        else:
            state, x[i] = _draw_neighbor(state, indptr, indices, cums[c], True, x[parent[i]])
    return state


@njit(cache=True)
def _glauber_update(state, x, i, t_ptr, t_idx, indptr, indices, weights, weighted, walk_cum, buf):
    """Resample x[i] ~ prod over motif neighbours j of A(x_j, y)."""
    first = t_ptr[i]
    last = t_ptr[i + 1]
    if last - first == 1:
        state, x[i] = _draw_neighbor(state, indptr, indices, walk_cum, weighted, x[t_idx[first]])
        return state
    # scan the smallest neighbourhood, test membership in the others
    best = x[t_idx[first]]
    for q in range(first + 1, last):
        v = x[t_idx[q]]
        if indptr[v + 1] - indptr[v] < indptr[best + 1] - indptr[best]:
            best = v
    start = indptr[best]
    end = indptr[best + 1]
    if not weighted:
        # rejection: a uniform neighbour of the smallest row, kept if adjacent to every other
        # image; after deg trials fall back to the exact scan (either way: uniform on the
        # common neighbourhood, which holds the current x[i], so it is never empty)
        for _ in range(end - start):
            state, t = _below(state, end - start)
            y = indices[start + t]
            ok = True
            skipped = False
            for q in range(first, last):
                v = x[t_idx[q]]
                if v == best and not skipped:
                    skipped = True
                    continue
                if edge_value(indptr, indices, weights, weighted, v, y) == 0.0:
                    ok = False
                    break
            if ok:
                x[i] = y
                return state
    total = 0.0
    skipped = False
    for e in range(start, end):
        y = indices[e]
        w = weights[e] if weighted else 1.0
        for q in range(first, last):
            v = x[t_idx[q]]
            if v == best and not skipped:
                skipped = True  # the scanned row's own factor is already in w
                continue
            w *= edge_value(indptr, indices, weights, weighted, v, y)
            if w == 0.0:
                break
        skipped = False
        total += w
        buf[e - start] = total
    state, r = next_uniform(state)
    target = r * total
    k = _search(buf, 0, end - start, target)
    if k >= end - start:
        k = end - start - 1
    while k > 0 and buf[k] == buf[k - 1]:
        k -= 1
    x[i] = indices[start + k]
    return state


# ---------------------------------------------------------------------------- chains
@njit(cache=True, parallel=True)
def run_chains(indptr, indices, weights, weighted, h_over_deg, walk_cum, root_cum,
               start_nodes, order, parent, cums, cum_id, t_ptr, t_idx, glauber,
               lazy_p, restart_p, pairs, kind, thresholds, n_out,
               seed, n_chains, burn_in, n_samples, thin, n_batches, max_degree):
    """Run ``n_chains`` independent chains; return per-chain batch sums and moments.

    A pivot step moves the root image a -> b (b a neighbour of a, drawn ~ A(a, b)) with
    probability min(1, h_root(b) d(a) / (h_root(a) d(b))) (``h_over_deg`` = h_root / d), or
    stays with probability ``lazy_p``, then redraws every child. A Glauber step resamples one
    motif node chosen uniformly. With probability ``restart_p`` (disconnected graphs) a step of
    either chain is instead an exact draw from pi (root ~ h_root, then the children). After
    ``burn_in`` steps every ``thin``-th state is observed, ``n_samples`` times in all, split
    into ``n_batches`` consecutive batches.

    Returns (batch_sums (C, B, n_out), batch_counts (C, B), sq_sums (C, n_out), accepted (C,),
    proposed (C,)).
    """
    k = order.shape[0]
    batch_sums = np.zeros((n_chains, n_batches, n_out))
    batch_counts = np.zeros((n_chains, n_batches), dtype=np.int64)
    sq_sums = np.zeros((n_chains, n_out))
    accepted = np.zeros(n_chains, dtype=np.int64)
    proposed = np.zeros(n_chains, dtype=np.int64)
    root = order[0]
    for c in prange(n_chains):
        state = stream_state(seed, c)
        x = np.empty(k, dtype=np.int64)
        vals = np.zeros(n_out)
        buf = np.empty(max(max_degree, 1))
        state, j = _below(state, start_nodes.shape[0])
        x[root] = start_nodes[j]
        state = _fill_tree(state, x, order, parent, indptr, indices, cums, cum_id)
        total_steps = burn_in + n_samples * thin
        acc = 0
        prop = 0
        for step in range(total_steps):
            u = 1.0
            if restart_p > 0.0:
                state, u = next_uniform(state)
            if u < restart_p:
                # independence move to an exact draw from pi (root ~ h_root, then the tree):
                # always accepted, it connects the components of a disconnected graph
                state, r = next_uniform(state)
                v = _search(root_cum, 0, root_cum.shape[0], r * root_cum[root_cum.shape[0] - 1])
                if v >= root_cum.shape[0]:
                    v = root_cum.shape[0] - 1
                x[root] = v
                state = _fill_tree(state, x, order, parent, indptr, indices, cums, cum_id)
            elif glauber:
                state, i = _below(state, k)
                state = _glauber_update(state, x, i, t_ptr, t_idx, indptr, indices, weights,
                                        weighted, walk_cum, buf)
            else:
                a = x[root]
                u = 1.0
                if lazy_p > 0.0:
                    state, u = next_uniform(state)
                if u >= lazy_p:
                    state, b = _draw_neighbor(state, indptr, indices, walk_cum, weighted, a)
                    prop += 1
                    # h_root(b) d(a) / (h_root(a) d(b)) with h_over_deg = h_root / d: one load each
                    ratio = h_over_deg[b] / h_over_deg[a]
                    if ratio >= 1.0:
                        x[root] = b
                        acc += 1
                    else:
                        state, u2 = next_uniform(state)
                        if u2 < ratio:
                            x[root] = b
                            acc += 1
                state = _fill_tree(state, x, order, parent, indptr, indices, cums, cum_id)
            s = step - burn_in
            if s >= 0 and s % thin == 0:
                idx = s // thin
                bb = idx * n_batches // n_samples
                _observe(x, indptr, indices, weights, weighted, pairs, kind, thresholds, vals)
                for o in range(n_out):
                    batch_sums[c, bb, o] += vals[o]
                    sq_sums[c, o] += vals[o] * vals[o]
                batch_counts[c, bb] += 1
        accepted[c] = acc
        proposed[c] = prop
    return batch_sums, batch_counts, sq_sums, accepted, proposed
