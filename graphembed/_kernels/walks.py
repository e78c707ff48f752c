"""Random walks for DeepWalk / node2vec, and fast text formatting of walks.

Second-order (node2vec) steps use rejection sampling against the largest bias, as in
KnightKing (Yang et al., SOSP 2019): from the current node ``v`` (reached from ``t``) propose
``x`` from the first-order distribution (uniform, or alias tables proportional to the edge
weight) and accept it with probability ``bias(t, x) / max_bias`` where bias is ``1/p`` if
``x == t``, ``1`` if the edge ``t -> x`` exists and ``1/q`` otherwise. The accepted ``x`` is
therefore drawn with probability proportional to ``w(v, x) * bias(t, x)``, exactly node2vec's
transition. Whether ``t -> x`` exists is a binary search in a sorted CSR row (for undirected
graphs the shorter of the rows of ``t`` and ``x``). Memory: O(nnz), nothing per neighbour pair.
When 1/p is the largest bias, the return edge is folded out of the envelope (see
``random_walks``), so a small p does not make acceptance rare.

If a step's rejection trials keep failing (extreme p or q make acceptance rare), the step
falls back to exact sampling over the row after ``trial_cap + deg(v)`` trials; conditioned on
either branch the draw follows the same distribution, so the walk law is unchanged.

Walk ``w`` starts at node ``w % n_nodes`` and draws from its own counter-based stream
``(seed, w)``, so walks do not depend on the thread count or on how walks are chunked.
A node without usable out-edges ends the walk; the rest of its row is ``-1``.
"""
import numpy as np
from numba import get_num_threads, njit, prange

from graphembed._kernels.rng import next_u64, next_uniform, stream_state

_LO32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_TO_UNIT32 = 1.0 / 4294967296.0


@njit(cache=True, inline="always")
def _first_order(state, start, d, weighted, prob, alias):
    """Draw one out-edge slot of a row: (state, edge position in the CSR)."""
    state, bits = next_u64(state)
    k = np.int64(((bits >> _S32) * np.uint64(d)) >> _S32)  # uniform slot in [0, d)
    if weighted:
        u = np.float64(bits & _LO32) * _TO_UNIT32
        if u >= prob[start + k]:
            k = alias[start + k]
    return state, start + k


@njit(cache=True, inline="always")
def _find(indices, lo, hi, target):
    """Position of ``target`` in the sorted ``indices[lo:hi]``, or -1."""
    while lo < hi:
        mid = (lo + hi) >> 1
        val = indices[mid]
        if val < target:
            lo = mid + 1
        elif val > target:
            hi = mid
        else:
            return mid
    return -1


@njit(cache=True, inline="always")
def _has_edge(indptr, indices, symmetric, t, x):
    """Does the edge t -> x exist? (For symmetric graphs, search the shorter row.)"""
    t_lo, t_hi = indptr[t], indptr[t + 1]
    if symmetric:
        x_lo, x_hi = indptr[x], indptr[x + 1]
        if x_hi - x_lo < t_hi - t_lo:
            return _find(indices, x_lo, x_hi, t) >= 0
    return _find(indices, t_lo, t_hi, x) >= 0


@njit(cache=True, inline="always")
def _bias(indptr, indices, symmetric, inv_p, inv_q, t, x):
    if x == t:
        return inv_p
    if _has_edge(indptr, indices, symmetric, t, x):
        return 1.0
    return inv_q


@njit(cache=True)
def _exact_step(state, indptr, indices, weights, weighted, symmetric, inv_p, inv_q, t, v):
    """Draw x with probability proportional to w(v, x) * bias(t, x) by summing over the row:
    O(deg(v) log deg) work, used when rejection keeps failing (extreme p, q)."""
    start, end = indptr[v], indptr[v + 1]
    total = 0.0
    for e in range(start, end):
        w = weights[e] if weighted else 1.0
        if w > 0.0:
            total += w * _bias(indptr, indices, symmetric, inv_p, inv_q, t, np.int64(indices[e]))
    state, u = next_uniform(state)
    target = u * total
    last = start
    acc = 0.0
    for e in range(start, end):
        w = weights[e] if weighted else 1.0
        if w > 0.0:
            last = e
            acc += w * _bias(indptr, indices, symmetric, inv_p, inv_q, t, np.int64(indices[e]))
            if acc > target:
                return state, np.int64(indices[e])
    return state, np.int64(indices[last])  # rounding: the last positive-weight edge


@njit(cache=True, parallel=True)
def random_walks(indptr, indices, weights, row_weight, prob, alias, weighted, alive, symmetric,
                 inv_p, inv_q, second_order, trial_cap, seed, walk_offset, out):
    """Fill ``out`` (n_walks, walk_length) int32 with walks ``walk_offset ..``.

    Parameters
    ----------
    indptr, indices, weights : the CSR (int64, int32 sorted per row, float32; weights used
        only when ``weighted``).
    row_weight : float64 (n,), the row sums of the weights (used only when ``weighted``).
    prob, alias : alias tables (see ``alias.py``), used only when ``weighted``.
    alive : uint8 (n,), 1 where a node has an out-edge of positive weight.
    symmetric : True for undirected graphs (every edge stored both ways).
    inv_p, inv_q : 1/p and 1/q.
    second_order : False for p = q = 1 (plain first-order walks, no bias checks).
    trial_cap : a second-order step makes at most ``trial_cap + deg(v)`` rejection trials, then
        samples exactly over v's row (both give the node2vec distribution; the cap only bounds
        the cost when extreme p, q make acceptance rare). Negative: exact sampling only.
    seed : walk ``walk_offset + i`` uses the stream ``(seed, walk_offset + i)``.

    When 1/p exceeds both 1 and 1/q, the return edge is "folded out" of the envelope (as
    KnightKing does with outliers): each trial first takes ``t`` with probability
    ``R / (R + M W)``, R = w(v, t) / p, M = max(1, 1/q), W = v's row weight; otherwise it
    proposes x != t from the first-order distribution and accepts it with bias(x) / M. Small p
    then costs no more trials than p = 1.
    """
    n_walks, length = out.shape
    n = indptr.shape[0] - 1
    fold = inv_p > max(1.0, inv_q)
    max_b = max(1.0, inv_q) if fold else max(inv_p, 1.0, inv_q)
    min_b = min(1.0, inv_q) if fold else min(inv_p, 1.0, inv_q)
    for i in prange(n_walks):
        w = walk_offset + i
        row = out[i]
        state = stream_state(seed, w)
        cur = np.int64(w % n)
        prev = np.int64(-1)
        row[0] = cur
        j = 1
        while j < length:
            if alive[cur] == 0:
                break
            start = indptr[cur]
            d = indptr[cur + 1] - start
            if prev < 0 or not second_order:
                state, e = _first_order(state, start, d, weighted, prob, alias)
                nxt = np.int64(indices[e])
            else:
                nxt = np.int64(-1)
                ret_share = 0.0  # R / (R + M W) when folding the return edge
                if fold:
                    pos = _find(indices, start, start + d, prev)
                    if pos >= 0:
                        w_back = np.float64(weights[pos]) if weighted else 1.0
                        total = row_weight[cur] if weighted else np.float64(d)
                        ret_share = w_back * inv_p / (w_back * inv_p + max_b * total)
                for _ in range(trial_cap + d):
                    if fold:
                        state, u = next_uniform(state)
                        if u < ret_share:
                            nxt = prev
                            break
                    state, e = _first_order(state, start, d, weighted, prob, alias)
                    x = np.int64(indices[e])
                    if fold and x == prev:
                        continue
                    state, u = next_uniform(state)
                    level = u * max_b
                    # below the smallest bias: accepted whatever x is, skip the lookup
                    if level < min_b or level < _bias(indptr, indices, symmetric, inv_p, inv_q,
                                                      prev, x):
                        nxt = x
                        break
                if nxt < 0:
                    state, nxt = _exact_step(state, indptr, indices, weights, weighted, symmetric,
                                             inv_p, inv_q, prev, cur)
            row[j] = nxt
            prev = cur
            cur = nxt
            j += 1
        for k in range(j, length):
            row[k] = -1


def count_visits(walks, n_nodes, partial=None):
    """int64 (n_nodes,): how often each node occurs in ``walks`` (``-1`` padding ignored).

    ``partial``: an int64 (k, n_nodes) accumulator to add into instead (summed over axis 0 it
    gives the counts); pass the same one for every chunk of walks to avoid reallocating it.
    """
    if partial is not None:
        _count_visits(walks, partial)
        return None
    partial = np.zeros((max(1, min(walks.shape[0], get_num_threads())), n_nodes), dtype=np.int64)
    _count_visits(walks, partial)
    return partial.sum(axis=0)


@njit(cache=True, parallel=True)
def _count_visits(walks, partial):
    n_walks, length = walks.shape
    n_chunks = partial.shape[0]
    for c in prange(n_chunks):
        lo = c * n_walks // n_chunks
        hi = (c + 1) * n_walks // n_chunks
        acc = partial[c]
        for i in range(lo, hi):
            for j in range(length):
                v = walks[i, j]
                if v < 0:
                    break
                acc[v] += 1


@njit(cache=True, parallel=True)
def _line_lengths(walks, token_len, lengths):
    n_walks, length = walks.shape
    for i in prange(n_walks):
        total = 0
        for j in range(length):
            v = walks[i, j]
            if v < 0:
                break
            total += token_len[v] + 1  # a space after each token, the last one a newline
        lengths[i] = total


@njit(cache=True, parallel=True)
def _fill_lines(walks, tokens, token_start, line_start, buf):
    n_walks, length = walks.shape
    for i in prange(n_walks):
        pos = line_start[i]
        for j in range(length):
            v = walks[i, j]
            if v < 0:
                break
            for k in range(token_start[v], token_start[v + 1]):
                buf[pos] = tokens[k]
                pos += 1
            buf[pos] = 32  # space
            pos += 1
        if pos > line_start[i]:
            buf[pos - 1] = 10  # newline replaces the last space


def token_table(tokens):
    """(uint8 bytes, int64 offsets (n+1,)) of a list of str tokens, UTF-8 encoded."""
    encoded = [t.encode("utf-8") for t in tokens]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8).copy(), offsets


def index_tokens(n):
    """token_table of the decimal node indices 0 .. n-1."""
    return token_table([str(i) for i in range(n)])


def format_walks(walks, table):
    """bytes of ``walks`` as text: one walk per line, tokens separated by one space."""
    tokens, offsets = table
    lengths = np.empty(walks.shape[0], dtype=np.int64)
    _line_lengths(walks, np.diff(offsets), lengths)
    line_start = np.zeros(walks.shape[0] + 1, dtype=np.int64)
    np.cumsum(lengths, out=line_start[1:])
    buf = np.empty(int(line_start[-1]), dtype=np.uint8)
    _fill_lines(walks, tokens, offsets, line_start, buf)
    return buf
