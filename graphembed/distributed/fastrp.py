"""FastRP on Dask: the iterate as row blocks, bit-identical to :meth:`FastRP.fit` with the same seed.

Per row block b (rows ``lo:hi``), on the workers:

* plan: the block's weighted degrees (:meth:`Graph.weighted_degree` on the block), its row scale
  (:meth:`FastRP._row_scale`), the sorted distinct columns it reads and their positions in each
  other block, and its CSR with columns renumbered into that list;
* X_0: :func:`~graphembed._kernels.spmm.sparse_sign_rows` for rows ``lo:hi`` from the seed alone
  (the rows of :meth:`FastRP.projection_matrix`, degree-scaled as in ``_initial_vectors``);
  never shipped from the driver;
* each step: the rows of X_{k-1} the block reads are taken from their blocks (a halo gather that
  Dask schedules), and the local kernel (``propagate_accumulate`` or, for the very sparse X_0,
  ``propagate_accumulate_sparse``) runs on the block. Every row is computed by the very same
  kernel code over the same neighbours in the same order, so each row's float arithmetic is the
  local run's; the global factor (1 / the largest row norm of the step) is a max over blocks,
  taken in a tiny task, so the driver never waits between steps;
* the weighted sum and the row normalisation happen inside the kernel, block-local.

Everything is a task result (nothing is scattered), so Dask can recompute the blocks of a worker
that dies mid-job from their lineage, and the result stays identical.
"""
from __future__ import annotations

import operator

import numpy as np

from graphembed._limits import human_bytes
from graphembed.io.errors import InputError


# ---------------------------------------------------------------------------- worker tasks
def _worker_threads():
    try:
        from distributed import get_worker

        return max(1, int(get_worker().state.nthreads))
    except Exception:  # noqa: BLE001 - not on a worker (tests call the tasks directly)
        return 1


def _block_graph(block):
    from graphembed.graph import Graph

    indptr, indices, weights = block
    return Graph(indptr, indices, weights, np.arange(indptr.shape[0] - 1, dtype=np.int64))


def _plan(est, block, offsets):
    """What a block needs: degrees, row scale, its renumbered CSR and the rows it reads per block."""
    indptr, indices, weights = block
    degree = _block_graph(block).weighted_degree()
    read = np.zeros(int(offsets[-1]), dtype=bool)
    read[indices] = True
    columns = np.flatnonzero(read)  # sorted: the blocks' pieces concatenate in this order
    del read
    position = np.zeros(int(offsets[-1]), dtype=np.int32)
    position[columns] = np.arange(columns.shape[0], dtype=np.int32)
    local = position[indices]
    del position
    cuts = np.searchsorted(columns, offsets)
    needs = {j: (columns[cuts[j]:cuts[j + 1]] - offsets[j]).astype(np.int64)
             for j in range(offsets.shape[0] - 1) if cuts[j + 1] > cuts[j]}
    return {"csr": (indptr, local, weights), "degree": degree, "row_scale": est._row_scale(degree),
            "needs": needs, "summary": (sorted(needs), int(columns.shape[0]), int(indices.shape[0]))}


def _x0(est, plan, lo, n_total):
    """X_0 rows lo:lo+n_b (float32), as in FastRP._initial_vectors without features."""
    from graphembed._kernels.spmm import sparse_sign_rows
    from graphembed.base import numba_threads

    degree = plan["degree"]
    x0 = np.zeros((degree.shape[0], est.dim), dtype=np.float32)
    with numba_threads(_worker_threads()):
        sparse_sign_rows(degree.shape[0], lo, est._density(n_total, est.dim), est.seed_,
                         est._degree_scale(degree), x0)
    return x0


def _acc0(est, x0):
    from graphembed._kernels.spmm import accumulate_normalized
    from graphembed.base import numba_threads

    acc = np.zeros_like(x0)
    if est.node_self_influence:
        with numba_threads(_worker_threads()):
            accumulate_normalized(x0, float(est.node_self_influence), acc)
    return acc


def _take(x, rows):
    return np.ascontiguousarray(x[rows])


def _take_sparse(x, rows):
    """Rows of the very sparse X_0 as CSR (indptr, columns, values): a few values a row travel."""
    from graphembed._kernels.spmm import dense_to_csr
    from graphembed.base import numba_threads

    with numba_threads(_worker_threads()):
        return dense_to_csr(np.ascontiguousarray(x[rows]))


def _concat_csr(pieces):
    """The CSR of the rows of ``pieces`` (CSR triples) one after the other."""
    if len(pieces) == 1:
        return pieces[0]
    starts = np.cumsum([0] + [int(p[0][-1]) for p in pieces])
    indptr = np.concatenate([np.zeros(1, np.int64)] + [p[0][1:] + s for p, s in zip(pieces, starts[:-1])])
    return indptr, np.concatenate([p[1] for p in pieces]), np.concatenate([p[2] for p in pieces])


def _step(plan, acc, factor, w_k, sparse, dim, *pieces):
    """One propagation step of a block: (X_k rows, acc + w_k norm(X_k) rows, largest row norm)."""
    from graphembed._kernels.spmm import dense_to_csr, propagate_accumulate, propagate_accumulate_sparse
    from graphembed.base import numba_threads

    indptr, local, weights = plan["csr"]
    weighted = weights is not None
    w_arr = weights if weighted else np.empty(0, np.float32)
    if sparse:  # pieces of X_0 in CSR form (_take_sparse); the local run's dense_to_csr(X_0) rows
        x = _concat_csr(pieces) if pieces else dense_to_csr(np.empty((0, dim), np.float32))
    elif not pieces:
        x = np.empty((0, dim), np.float32)
    else:
        x = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
    del pieces
    out = np.empty((indptr.shape[0] - 1, dim), dtype=np.float32)
    acc = acc.copy()  # task results are never changed in place: a rerun sees the same input
    with numba_threads(_worker_threads()):
        if sparse:
            largest = propagate_accumulate_sparse(indptr, local, w_arr, weighted, plan["row_scale"] * factor,
                                                  *x, out, acc, float(w_k))
        else:
            largest = propagate_accumulate(indptr, local, w_arr, weighted, plan["row_scale"] * factor,
                                           x, out, acc, float(w_k))
    return out, acc, largest


def _factor(*largest):
    top = max(largest)
    return 1.0 / top if top > 0 else 1.0


# ---------------------------------------------------------------------------- driver
def worker_memory(client):
    """The smallest memory limit of the cluster's workers in bytes, or None when unlimited/unknown."""
    workers = client.scheduler_info(n_workers=-1).get("workers", {})
    limits = [w.get("memory_limit") or 0 for w in workers.values()]
    limits = [x for x in limits if x]
    return min(limits) if limits else None


def fit_blocks(est, graph, client):
    """Futures of the embedding's row blocks (float32 (n_b, dim)) of fitted-parameter ``est``
    (``seed_``, ``iteration_weights_``, ``property_dimension_`` = 0 set) on the PartitionedGraph
    ``graph``. Raises InputError when a block cannot fit in a worker's memory."""
    n, dim = graph.n_nodes, int(est.dim)
    offsets = graph.offsets
    est = _task_copy(est)
    plans = [client.submit(_plan, est, blk, offsets, pure=False) for blk in graph.blocks]
    summaries = client.gather([client.submit(operator.getitem, p, "summary", pure=False) for p in plans])
    _check_fits(graph, summaries, dim, worker_memory(client))
    x = [client.submit(_x0, est, p, int(offsets[b]), n, pure=False) for b, p in enumerate(plans)]
    acc = [client.submit(_acc0, est, xb, pure=False) for xb in x]
    needs = []
    for b, p in enumerate(plans):
        table = client.submit(operator.getitem, p, "needs", pure=False)
        needs.append({j: client.submit(operator.getitem, table, j, pure=False) for j in summaries[b][0]})
        del table
    sparse_first = est.property_dimension_ == 0 and est._density(n, dim) <= 0.25
    factor = 1.0
    for k, w_k in enumerate(est.iteration_weights_):
        states = []
        for b, p in enumerate(plans):
            take = _take_sparse if k == 0 and sparse_first else _take
            pieces = [client.submit(take, x[j], need, pure=False) for j, need in needs[b].items()]
            states.append(client.submit(_step, p, acc[b], factor, float(w_k), k == 0 and sparse_first, dim,
                                        *pieces, pure=False))
        x = [client.submit(operator.getitem, s, 0, pure=False) for s in states]
        acc = [client.submit(operator.getitem, s, 1, pure=False) for s in states]
        largest = [client.submit(operator.getitem, s, 2, pure=False) for s in states]
        factor = client.submit(_factor, *largest, pure=False)
        del states, largest
    del x, needs, plans
    return acc


def _task_copy(est):
    """The parameters and seed of ``est`` alone (no fitted graph or embedding travels to the workers)."""
    spec = type(est)(**est.get_params())
    spec.seed_ = est.seed_
    spec.iteration_weights_ = est.iteration_weights_
    spec.property_dimension_ = est.property_dimension_
    return spec


def _check_fits(graph, summaries, dim, limit):
    """InputError naming the first row block whose step needs more than a worker's memory."""
    if limit is None:
        return
    weighted = graph.is_weighted
    for b, (_, n_columns, nnz) in enumerate(summaries):
        lo, hi = graph.block_rows(b)
        rows = hi - lo
        # the neighbour rows gathered (the pieces and their concatenation), the block's X_k, X_{k+1},
        # acc and its copy, plus the block's CSR and row vectors: one step task at its peak
        need = 4 * dim * (2 * n_columns + 4 * rows) + nnz * (8 if weighted else 4) + 24 * rows
        if need > limit:
            raise InputError(f"FastRP with dim={dim}: row block {b} (nodes {lo}-{hi - 1}, {nnz} stored edges, "
                             f"{n_columns} distinct neighbours) needs about {human_bytes(need)} of memory; a "
                             f"worker has {human_bytes(limit)}; use more row blocks (partitions), a smaller "
                             f"dim or workers with more memory")


def fit_distributed(est, graph, features, scheduler):
    """FastRP.fit with ``scheduler``: the embedding computed in row blocks on the cluster and
    gathered into ``est.embedding_`` (the driver then holds the embedding, not the edges)."""
    from graphembed._limits import check_memory
    from graphembed.distributed.graph import coerce
    from graphembed.distributed.scheduler import client_for
    from graphembed.embedding import Embedding

    if features is not None:
        raise InputError("FastRP with a scheduler does not take node features yet; fit without scheduler")
    with client_for(scheduler if scheduler is not None else graph.client) as client:
        pg = coerce(graph, client)
        prepare(est, pg)
        check_memory(4 * pg.n_nodes * int(est.dim),
                     f"gathering the FastRP embedding (dim={est.dim}, {pg.n_nodes} nodes) on the driver")
        blocks = fit_blocks(est, pg, client)
        parts = client.gather(blocks)
        vectors = np.concatenate(parts) if parts else np.zeros((0, est.dim), np.float32)
    est.graph_ = graph if not getattr(graph, "_graphembed_partitioned", False) else pg
    est._features = None
    est.embedding_ = Embedding(pg.node_ids, vectors, "fastrp", est._public_params())
    return est


def prepare(est, graph):
    """Validate ``est``'s parameters and set the fitted values fit_blocks needs."""
    from graphembed.base import check_seed

    weights, _ = est._validate(graph, None)
    est.seed_ = check_seed(est.random_state)
    est.iteration_weights_ = weights
    est.property_dimension_ = 0
    return est
