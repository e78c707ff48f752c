"""Homomorphism kernels: the rooted-tree DP and the pivot / Glauber MCMC chains.

Lyu, Memoli & Sivakoff, "Sampling random graph homomorphisms and applications to network data
analysis", JMLR 24 (2023). Pure array code; the library layer
(:mod:`graphembed.structure.hom_counting`, :mod:`graphembed.structure.hom_sampling`) validates
input and prepares the arrays.

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


@njit(cache=True, inline="always")
def _smallest_row(indptr, nodes, count):
    """The node of ``nodes[:count]`` (count >= 1) with the fewest neighbours (the first on ties)."""
    best = nodes[0]
    for q in range(1, count):
        v = nodes[q]
        if indptr[v + 1] - indptr[v] < indptr[best + 1] - indptr[best]:
            best = v
    return best


@njit(cache=True, inline="always")
def _smallest_image(indptr, x, t_idx, first, last):
    """:func:`_smallest_row` over the images ``x[t_idx[first:last]]`` (first < last)."""
    best = x[t_idx[first]]
    for q in range(first + 1, last):
        v = x[t_idx[q]]
        if indptr[v + 1] - indptr[v] < indptr[best + 1] - indptr[best]:
            best = v
    return best


@njit(cache=True)
def _glauber_update(state, x, i, t_ptr, t_idx, indptr, indices, weights, weighted, node_w, has_nw,
                    leaf_cum, use_leaf_cum, buf):
    """Resample x[i] ~ nu(y) prod over motif neighbours j of A(x_j, y) (nu = 1 without node weights)."""
    first = t_ptr[i]
    last = t_ptr[i + 1]
    if last - first == 1:
        state, x[i] = _draw_neighbor(state, indptr, indices, leaf_cum, use_leaf_cum, x[t_idx[first]])
        return state
    # scan the smallest neighbourhood, test membership in the others
    best = _smallest_image(indptr, x, t_idx, first, last)
    start = indptr[best]
    end = indptr[best + 1]
    if not weighted and not has_nw:
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
    for e in range(start, end):
        y = indices[e]
        w = _cond_weight(x, first, last, t_idx, indptr, indices, weights, weighted, node_w, has_nw,
                         best, e, y)
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


@njit(cache=True, inline="always")
def _cond_weight(x, first, last, t_idx, indptr, indices, weights, weighted, node_w, has_nw, best, e, y):
    """nu(y) prod_{j in t_idx[first:last]} A(x_j, y), for y = indices[e] in the row of ``best``."""
    w = weights[e] if weighted else 1.0
    skipped = False
    for q in range(first, last):
        v = x[t_idx[q]]
        if v == best and not skipped:
            skipped = True  # the scanned row's own factor is already in w
            continue
        w *= edge_value(indptr, indices, weights, weighted, v, y)
        if w == 0.0:
            return 0.0
    if has_nw:
        w *= node_w[y]
    return w


@njit(cache=True)
def _common_count(indptr, indices, a, b):
    """|N(a) & N(b)| of two sorted rows: a merge when their lengths are close, else a binary
    search of the shorter row's entries in the longer one."""
    lo_a = indptr[a]
    hi_a = indptr[a + 1]
    lo_b = indptr[b]
    hi_b = indptr[b + 1]
    if hi_a - lo_a > hi_b - lo_b:
        lo_a, hi_a, lo_b, hi_b = lo_b, hi_b, lo_a, hi_a
    da = hi_a - lo_a
    db = hi_b - lo_b
    count = 0
    if da * 8 < db:
        for e in range(lo_a, hi_a):
            if _find(indices, lo_b, hi_b, indices[e]) >= 0:
                count += 1
        return np.float64(count)
    i = lo_a
    j = lo_b
    while i < hi_a and j < hi_b:
        x = indices[i]
        y = indices[j]
        if x < y:
            i += 1
        elif x > y:
            j += 1
        else:
            count += 1
            i += 1
            j += 1
    return np.float64(count)


@njit(cache=True)
def _rb_observe(x, i, t_ptr, t_idx, indptr, indices, weights, weighted, node_w, has_nw, leaf_cum,
                use_leaf_cum, pairs, kind, thresholds, vals, tmp, cons):
    """Rao-Blackwellised observation: E[observable | x_j, j != i] with x_i ~ its conditional law.

    The conditional law of x_i given the other images is pi(y | .) ~ nu(y) prod over motif
    (tree) neighbours j of A(x_j, y): the law a Glauber step at i draws from, and, for a leaf,
    the law the pivot chain redraws it from. Averaging the observable over it instead of using
    the single draw keeps the expectation under pi and removes the draw's own variance. Cost:
    one scan of the smallest relevant neighbourhood.
    """
    n_pairs = pairs.shape[0]
    involved = False
    for q in range(n_pairs):
        if pairs[q, 0] == i or pairs[q, 1] == i:
            involved = True
            break
    if not involved:
        _observe(x, indptr, indices, weights, weighted, pairs, kind, thresholds, vals)
        return
    first = t_ptr[i]
    last = t_ptr[i + 1]
    if kind == OBS_PRODUCT:
        # prod over pairs = (pairs without i: constant) * prod_{partners p} A(x_p, y)
        const = 1.0
        n_cons = 0
        for q in range(first, last):
            cons[n_cons] = x[t_idx[q]]
            n_cons += 1
        n_tree = n_cons
        for q in range(n_pairs):
            a = pairs[q, 0]
            b = pairs[q, 1]
            if a == i:
                cons[n_cons] = x[b]
                n_cons += 1
            elif b == i:
                cons[n_cons] = x[a]
                n_cons += 1
            elif const != 0.0:
                const *= edge_value(indptr, indices, weights, weighted, x[a], x[b])
        if const == 0.0:
            vals[0] = 0.0
            return
        best = _smallest_row(indptr, cons, n_cons)
        num = 0.0
        if n_cons == 2 and not weighted and not has_nw:
            num = _common_count(indptr, indices, cons[0], cons[1])
            n_cons = 0  # skip the scan below
        for e in range(indptr[best], indptr[best + 1] if n_cons else indptr[best]):
            y = indices[e]
            w = weights[e] if weighted else 1.0
            skipped = False
            for q in range(n_cons):
                v = cons[q]
                if v == best and not skipped:
                    skipped = True
                    continue
                w *= edge_value(indptr, indices, weights, weighted, v, y)
                if w == 0.0:
                    break
            if w != 0.0 and has_nw:
                w *= node_w[y]
            num += w
        if n_tree == 1:
            u = cons[0]
            if use_leaf_cum:
                z = leaf_cum[indptr[u + 1] - 1]
            else:
                z = np.float64(indptr[u + 1] - indptr[u])
        else:
            best = _smallest_row(indptr, cons, n_tree)
            z = 0.0
            for e in range(indptr[best], indptr[best + 1]):
                z += _cond_weight(x, first, last, t_idx, indptr, indices, weights, weighted, node_w,
                                  has_nw, best, e, indices[e])
        vals[0] = const * num / z
        return
    # general observables: average the state's values over the scanned neighbourhood
    best = _smallest_image(indptr, x, t_idx, first, last)
    n_out = vals.shape[0]
    keep = x[i]
    z = 0.0
    for o in range(n_out):
        vals[o] = 0.0
    for e in range(indptr[best], indptr[best + 1]):
        y = indices[e]
        w = _cond_weight(x, first, last, t_idx, indptr, indices, weights, weighted, node_w, has_nw,
                         best, e, y)
        if w == 0.0:
            continue
        x[i] = y
        _observe(x, indptr, indices, weights, weighted, pairs, kind, thresholds, tmp)
        for o in range(n_out):
            vals[o] += w * tmp[o]
        z += w
    x[i] = keep
    for o in range(n_out):
        vals[o] /= z


# ---------------------------------------------------------------------------- chains
@njit(cache=True, parallel=True)
def run_chains(indptr, indices, weights, weighted, node_w, has_nw, h_over_deg, walk_cum, leaf_cum,
               use_leaf_cum, root_cum, start_nodes, order, parent, cums, cum_id, t_ptr, t_idx,
               glauber, lazy_p, restart_p, pairs, kind, thresholds, n_out, rao_blackwell, rb_node,
               seed, n_chains, burn_in, n_samples, thin, n_batches, max_degree):
    """Run ``n_chains`` independent chains; return per-chain batch sums and moments.

    A pivot step moves the root image a -> b (b a neighbour of a, drawn ~ A(a, b)) with
    probability min(1, h_root(b) d(a) / (h_root(a) d(b))) (``h_over_deg`` = h_root / d), or
    stays with probability ``lazy_p``, then redraws every child. A Glauber step resamples one
    motif node chosen uniformly. With probability ``restart_p`` (disconnected graphs) a step of
    either chain is instead an exact draw from pi (root ~ h_root, then the children). After
    ``burn_in`` steps every ``thin``-th state is observed, ``n_samples`` times in all, split
    into ``n_batches`` consecutive batches.

    With ``rao_blackwell`` an observed state contributes E[observable | x_j, j != i] instead
    of the observable itself (:func:`_rb_observe`), i the motif node the Glauber step just
    resampled when the observable involves it, else ``rb_node`` (a leaf of the tree that the
    observable involves; -1: none), which the pivot chain always uses. Node weights
    ``node_w`` (``has_nw``) multiply pi by prod_i nu(x_i); they are already in the h tables,
    ``cums`` and ``leaf_cum`` (row cumsums of A(u, w) nu(w), used for Glauber leaves when
    ``use_leaf_cum``).

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
        tmp = np.zeros(n_out)
        cons = np.empty(k + pairs.shape[0], dtype=np.int64)
        buf = np.empty(max(max_degree, 1))
        rb_i = rb_node
        involved = np.zeros(k, dtype=np.bool_)
        for q in range(pairs.shape[0]):
            if pairs[q, 0] != pairs[q, 1]:
                involved[pairs[q, 0]] = True
                involved[pairs[q, 1]] = True
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
                                        weighted, node_w, has_nw, leaf_cum, use_leaf_cum, buf)
                # average over the node just resampled if the observable involves it, else
                # over rb_node: either is E[f | all but one image], whose mean under pi is E f
                rb_i = i if involved[i] or rb_node < 0 else rb_node
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
                if rao_blackwell and rb_i >= 0:
                    _rb_observe(x, rb_i, t_ptr, t_idx, indptr, indices, weights, weighted, node_w,
                                has_nw, leaf_cum, use_leaf_cum, pairs, kind, thresholds, vals, tmp,
                                cons)
                else:
                    _observe(x, indptr, indices, weights, weighted, pairs, kind, thresholds, vals)
                for o in range(n_out):
                    batch_sums[c, bb, o] += vals[o]
                    sq_sums[c, o] += vals[o] * vals[o]
                batch_counts[c, bb] += 1
        accepted[c] = acc
        proposed[c] = prop
    return batch_sums, batch_counts, sq_sums, accepted, proposed


# ---------------------------------------------------------------------------- elimination DP
@njit(cache=True)
def eliminate(indptr, indices, weights, weighted, node_w, has_nw, n, is_edge, msg_flat, msg_off,
              msg_strides, msg_vstride):
    """One variable-elimination step of the homomorphism-count DP over a pattern F.

    Sums the pattern node v out of the product of its factors:

        out[a] = sum_y nu(y) prod_{t: is_edge[t]} A(a_t, y) prod_j msg_j[a restricted, y]

    a = (a_0, ..., a_{s-1}) ranges over the images of the output variables (C order, table of
    n^s entries), ``is_edge[t]`` marks an output variable joined to v by a pattern edge not yet
    used, and message j (``msg_flat[msg_off[j]:msg_off[j + 1]]``) has stride
    ``msg_strides[j, t]`` for output variable t (0 if it does not hold t) and ``msg_vstride[j]``
    for v. The sum is pushed from y: edge variables range over the neighbours of y only, so the
    cost is sum_y deg(y)^e n^(s - e) (e edge variables) instead of n^(s + 1).
    """
    s = is_edge.shape[0]
    m = msg_off.shape[0] - 1
    size = 1
    for _ in range(s):
        size *= n
    out = np.zeros(size)
    lo = np.zeros(s, dtype=np.int64)
    hi = np.zeros(s, dtype=np.int64)
    pos = np.zeros(s, dtype=np.int64)
    val = np.zeros(s, dtype=np.int64)
    base = np.empty(m, dtype=np.int64)
    for y in range(n):
        start = indptr[y]
        end = indptr[y + 1]
        empty = False
        for t in range(s):
            if is_edge[t]:
                lo[t] = start
                hi[t] = end
            else:
                lo[t] = 0
                hi[t] = n
            if hi[t] <= lo[t]:
                empty = True
            pos[t] = lo[t]
        if empty:
            continue
        w0 = node_w[y] if has_nw else 1.0
        for j in range(m):
            base[j] = msg_off[j] + y * msg_vstride[j]
        while True:
            w = w0
            idx = 0
            for t in range(s):
                if is_edge[t]:
                    a = indices[pos[t]]
                    if weighted:
                        w *= weights[pos[t]]
                else:
                    a = pos[t]
                val[t] = a
                idx = idx * n + a
            if w != 0.0:
                for j in range(m):
                    b = base[j]
                    for t in range(s):
                        b += val[t] * msg_strides[j, t]
                    w *= msg_flat[b]
                    if w == 0.0:
                        break
            out[idx] += w
            t = s - 1
            while t >= 0:
                pos[t] += 1
                if pos[t] < hi[t]:
                    break
                pos[t] = lo[t]
                t -= 1
            if t < 0:
                break
    return out
