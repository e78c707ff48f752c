"""LINE kernels: edge / negative alias sampling and hogwild SGD (Tang et al., WWW 2015).

Pure array code. One call of :func:`line_sgd_round` runs chunks ``first_chunk ..
first_chunk + n_chunks - 1`` of the global sample sequence in a ``prange``; chunk ``c`` holds
samples ``c * chunk .. min((c + 1) * chunk, total) - 1`` and draws everything from its own
splitmix64 stream ``(seed, c)``. The learning rate of sample ``t`` is
``rho0 * max(1 - t / total, 1e-4)`` whichever thread runs it. With one thread the chunks run in
order, so a seed gives identical bits; with more, threads update shared rows without locks
(hogwild), so runs differ in the last bits but not in quality.

Alias tables (``graphembed/_kernels/alias.py``) over a single "row" give O(1) draws from any
discrete distribution: pick a slot uniformly, keep it if a uniform < ``prob[slot]``, else take
``alias[slot]``. Both halves of one 64-bit draw are used: the high 32 bits pick the slot
(multiply-shift, so the table must have fewer than 2**32 entries), the low 32 bits decide.
"""
import numpy as np
from numba import njit, prange

from graphembed._kernels.prefetch import prefetch_row
from graphembed._kernels.rng import next_u64, stream_state

SIGMOID_BOUND = 6.0
SIGMOID_TABLE_SIZE = 4096
_U32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_INV_2_32 = 1.0 / 4294967296.0


def sigmoid_table():
    """float32 (SIGMOID_TABLE_SIZE + 1,): sigmoid at evenly spaced points of [-6, 6]."""
    x = np.linspace(-SIGMOID_BOUND, SIGMOID_BOUND, SIGMOID_TABLE_SIZE + 1)
    return (1.0 / (1.0 + np.exp(-x))).astype(np.float32)


@njit(cache=True, inline="always")
def alias_draw(state, size, prob, alias):
    """Advance ``state``; return ``(state, slot)`` drawn from the alias table of ``size`` slots."""
    state, bits = next_u64(state)
    slot = np.int64(((bits >> _S32) * np.uint64(size)) >> _S32)
    if np.float64(bits & _U32) * _INV_2_32 >= prob[slot]:
        slot = np.int64(alias[slot])
    return state, slot


@njit(cache=True, inline="always")
def uniform_draw(state, size):
    """Advance ``state``; return ``(state, slot)`` uniform in ``[0, size)`` (size < 2**32)."""
    state, bits = next_u64(state)
    return state, np.int64(((bits >> _S32) * np.uint64(size)) >> _S32)


@njit(cache=True, parallel=True)
def draw_alias(prob, alias, seed, count, out):
    """Fill ``out[:count]`` with slots drawn from an alias table (for tests and checks).

    Draw ``i`` uses stream ``(seed, i // 4096)``, so the result does not depend on threads.
    """
    size = prob.shape[0]
    n_blocks = (count + 4095) // 4096
    for b in prange(n_blocks):
        state = stream_state(seed, b)
        end = min(count, (b + 1) * 4096)
        for i in range(b * 4096, end):
            state, slot = alias_draw(state, size, prob, alias)
            out[i] = slot


@njit(cache=True, inline="always")
def _sigmoid(x, table):
    if x >= SIGMOID_BOUND:
        return np.float32(1.0)
    if x <= -SIGMOID_BOUND:
        return np.float32(0.0)
    k = np.int64((x + SIGMOID_BOUND) * (SIGMOID_TABLE_SIZE / (2.0 * SIGMOID_BOUND)) + 0.5)
    return table[k]


@njit(cache=True, inline="always")
def _log1pexp(x):
    """log(1 + exp(x)) without overflow."""
    if x > 0.0:
        return x + np.log1p(np.exp(-x))
    return np.log1p(np.exp(x))


@njit(cache=True, inline="always")
def _dot(vec, row_u, ctx, target, dim):
    x = np.float32(0.0)
    for i in range(dim):
        x += vec[row_u, i] * ctx[target, i]
    return x


@njit(cache=True, inline="always")
def _apply(vec, row_u, ctx, targets, xs, err, lr, table, dim):
    """The logistic steps of one sample, given the dot products ``xs`` taken before any step.

    Pair ``j`` (label 1 for ``j == 0``, else 0) adds its gradient for ``vec[row_u]`` to ``err``
    and updates ``ctx[targets[j]]`` in place; ``vec[row_u] += err`` at the end, as the authors'
    code does.
    """
    for i in range(dim):
        err[i] = 0.0
    for j in range(targets.shape[0]):
        target = targets[j]
        label = np.float32(1.0) if j == 0 else np.float32(0.0)
        g = (label - _sigmoid(xs[j], table)) * lr
        for i in range(dim):
            err[i] += g * ctx[target, i]
        for i in range(dim):
            ctx[target, i] += g * vec[row_u, i]
    for i in range(dim):
        vec[row_u, i] += err[i]


@njit(cache=True, inline="always")
def _sample_loss(xs):
    """Log-loss of one sample from its dot products (positive first)."""
    acc = _log1pexp(-np.float64(xs[0]))
    for j in range(1, xs.shape[0]):
        acc += _log1pexp(np.float64(xs[j]))
    return acc


@njit(cache=True, inline="always")
def _draw_edge(state, nnz, weighted, edge_prob, edge_alias):
    if weighted:
        return alias_draw(state, nnz, edge_prob, edge_alias)
    return uniform_draw(state, nnz)


@njit(cache=True, inline="always")
def _draw_sample(state, src, dst, weighted, edge_prob, edge_alias, neg_prob, neg_alias, targets):
    """Draw one sample: an edge, then ``targets.shape[0] - 1`` negatives.

    Fills ``targets`` with the edge's head followed by the negatives; returns ``(state, tail)``.
    """
    state, e = _draw_edge(state, src.shape[0], weighted, edge_prob, edge_alias)
    targets[0] = dst[e]
    for j in range(1, targets.shape[0]):
        state, negative = alias_draw(state, neg_prob.shape[0], neg_prob, neg_alias)
        targets[j] = negative
    return state, np.int64(src[e])


@njit(cache=True, parallel=True, fastmath=True)
def line_sgd_round(src, dst, edge_prob, edge_alias, weighted, neg_prob, neg_alias,
                   emb1, emb2, ctx2, order1, order2, negative, rho0, total, chunk,
                   first_chunk, n_chunks, seed, table, loss_every, loss_sum, loss_count):
    """Run chunks ``first_chunk .. first_chunk + n_chunks - 1`` of LINE training.

    Parameters
    ----------
    src, dst : int32 (nnz,), endpoints of every stored edge (an undirected edge is stored
        in both directions, so both are sampled).
    edge_prob, edge_alias : alias table over the stored edges (ignored unless ``weighted``;
        unweighted edges are drawn uniformly).
    neg_prob, neg_alias : alias table over the nodes for negatives (degree ** 0.75).
    emb1 : float32 (n, d1), first-order vectors (updated when ``order1``).
    emb2, ctx2 : float32 (n, d2), second-order vertex and context vectors (when ``order2``).
    negative : negatives per sampled edge.
    rho0, total, chunk : initial learning rate, samples in the whole run, samples per chunk.
    seed : int, base seed; chunk ``c`` uses stream ``(seed, c)``.
    table : float32 sigmoid table (:func:`sigmoid_table`).
    loss_every : power of two; samples whose index is a multiple of it add their log-loss
        (positive plus negatives, both orders, before the sample's update) to
        ``loss_sum[c - first_chunk]`` and 1 to ``loss_count[c - first_chunk]``.

    Each sample first takes all its ``negative + 1`` dot products (independent loads the CPU
    overlaps), then applies the steps; the dot product of a pair therefore does not see the
    sample's earlier steps, which differs from the strictly sequential form only when a
    target repeats within the sample (or is ``u`` itself, first order). The next sample (its
    edge and negatives, drawn in the same stream order as without look-ahead) is drawn one
    sample ahead and its rows prefetched, so their cache misses overlap this sample's work.
    """
    d1 = emb1.shape[1]
    d2 = emb2.shape[1]
    n_pairs = negative + 1
    floor = np.float32(rho0 * 1e-4)
    inv_total = 1.0 / total
    mask = loss_every - 1
    for k in prange(n_chunks):
        c = first_chunk + k
        state = stream_state(seed, c)
        err1 = np.zeros(max(d1, 1), dtype=np.float32)
        err2 = np.zeros(max(d2, 1), dtype=np.float32)
        targets = np.empty(n_pairs, dtype=np.int64)
        ahead = np.empty(n_pairs, dtype=np.int64)  # the next sample's targets
        xs1 = np.zeros(n_pairs, dtype=np.float32)
        xs2 = np.zeros(n_pairs, dtype=np.float32)
        start = c * chunk
        end = min(start + chunk, total)
        acc = 0.0
        counted = 0
        state, ahead_u = _draw_sample(state, src, dst, weighted, edge_prob, edge_alias, neg_prob,
                                      neg_alias, ahead)
        for t in range(start, end):
            lr = np.float32(rho0 * (1.0 - t * inv_total))
            if lr < floor:
                lr = floor
            u = ahead_u
            for j in range(n_pairs):
                targets[j] = ahead[j]
            if t + 1 < end:
                state, ahead_u = _draw_sample(state, src, dst, weighted, edge_prob, edge_alias, neg_prob,
                                              neg_alias, ahead)
                if order1:
                    prefetch_row(emb1, ahead_u)
                    for j in range(n_pairs):
                        prefetch_row(emb1, ahead[j])
                if order2:
                    prefetch_row(emb2, ahead_u)
                    for j in range(n_pairs):
                        prefetch_row(ctx2, ahead[j])
            if order1:
                for j in range(n_pairs):
                    xs1[j] = _dot(emb1, u, emb1, targets[j], d1)
            if order2:
                for j in range(n_pairs):
                    xs2[j] = _dot(emb2, u, ctx2, targets[j], d2)
            if (t & mask) == 0:
                if order1:
                    acc += _sample_loss(xs1)
                if order2:
                    acc += _sample_loss(xs2)
                counted += 1
            if order1:
                _apply(emb1, u, emb1, targets, xs1, err1, lr, table, d1)
            if order2:
                _apply(emb2, u, ctx2, targets, xs2, err2, lr, table, d2)
        loss_sum[k] = acc
        loss_count[k] = counted


@njit(cache=True, parallel=True)
def init_uniform(out, seed, scale):
    """Fill float32 ``out`` (n, d) with uniform(-0.5, 0.5) * scale; row i from stream (seed, i)."""
    n, d = out.shape
    for r in prange(n):
        state = stream_state(seed, r)
        for i in range(d):
            state, bits = next_u64(state)
            out[r, i] = np.float32((np.float64(bits >> np.uint64(11)) * (1.0 / 9007199254740992.0) - 0.5)
                                   * scale)


@njit(cache=True, parallel=True)
def csr_sources(indptr, out):
    """int32 ``out`` (nnz,): the row of every stored entry of a CSR."""
    n = indptr.shape[0] - 1
    for v in prange(n):
        for k in range(indptr[v], indptr[v + 1]):
            out[k] = v
