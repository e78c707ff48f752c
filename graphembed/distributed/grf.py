"""Graph random features on Dask: the walks by node ranges, bit-identical to the local run.

:meth:`GraphRandomFeatures.fit` runs node ``i``'s walks from the counter-based streams
``(seed, i * n_walks + j)`` (:mod:`graphembed._kernels.grf`), so a node's feature row depends
on the graph and the seed alone. Here the driver does what is global (the symmetric weights,
the spectral radius of W and the modulation series, exactly as the local fit; a partitioned
graph is gathered here for it), the walk CSR ``(indptr, indices, ratio)`` is scattered once to
every worker (``broadcast=True``), and each task runs the local kernel's per-node functions
(``_node_entries``, ``_fill_node``: the same walks, the same sort-and-merge of each row) over its
node range and returns those rows. The rows are concatenated here into the scipy CSR features,
so ``features_`` / ``features2_`` (and the embedding :meth:`~GraphRandomFeatures.transform`
projects from them on the driver) are bit-identical to the local run with the same seed.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from graphembed._kernels.grf import _fill_node, _node_entries
from graphembed.io.errors import InputError

#: Nodes per task.
RANGE_NODES = 1 << 15


@njit(cache=True)
def _range_rows(indptr, indices, ratio, f, n_walks, log_keep, max_len, seed, lo, hi):
    """The feature rows lo:hi: (indptr (hi - lo + 1,), int32 columns, float32 values)."""
    n = indptr.shape[0] - 1
    raw_ptr = np.zeros(n + 1, np.int64)  # _fill_node reads raw_ptr[i] for the rows i of the range
    total = 0
    for i in range(lo, hi):
        raw_ptr[i] = total
        total += _node_entries(indptr, i, n_walks, log_keep, max_len, seed)
    raw_col = np.empty(total, np.int32)
    raw_val = np.empty(total, np.float64)
    uniq = np.empty(hi - lo, np.int64)
    for i in range(lo, hi):
        uniq[i - lo] = _fill_node(indptr, indices, ratio, f, i, n_walks, log_keep, max_len, seed, raw_ptr,
                                  raw_col, raw_val)
    out_ptr = np.zeros(hi - lo + 1, np.int64)
    for i in range(hi - lo):
        out_ptr[i + 1] = out_ptr[i] + uniq[i]
    out_col = np.empty(out_ptr[-1], np.int32)
    out_val = np.empty(out_ptr[-1], np.float32)
    for i in range(hi - lo):
        src = raw_ptr[lo + i]
        dst = out_ptr[i]
        for t in range(uniq[i]):
            out_col[dst + t] = raw_col[src + t]
            out_val[dst + t] = raw_val[src + t]
    return out_ptr, out_col, out_val


def _rows_task(csr, f, n_walks, log_keep, max_len, seed, lo, hi):
    indptr, indices, ratio = csr
    return _range_rows(indptr, indices, ratio, f, n_walks, log_keep, max_len, seed, lo, hi)


class _RemoteFeatures:
    """``walk_features(f, seed)`` for :meth:`GraphRandomFeatures._fit`: the rows by node range on
    the cluster, assembled into the local run's scipy CSR."""

    def __init__(self, est, client):
        self.est, self.client, self.csr = est, client, None

    def __call__(self, f, seed):
        import warnings

        import scipy.sparse as sp

        from graphembed._limits import check_memory
        from graphembed.distributed.graph import block_offsets

        est, client = self.est, self.client
        indptr, indices, ratio = est._csr
        n = indptr.shape[0] - 1
        if self.csr is None:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*[Ll]arge.*")
                self.csr = client.scatter([est._csr], broadcast=True, hash=False)[0]
        m = int(est.n_walks)
        max_len = est.max_length_
        log_keep = math.log1p(-float(est.p_halt))
        f = np.ascontiguousarray(f, dtype=np.float64)
        assert f.size == max_len + 1
        # the rows come here: about n_walks (1 + E[length]) entries a row, 8 bytes each
        check_memory(int(8 * n * m / max(float(est.p_halt), 1e-3)),
                     f"graph random features with n_walks={m} on {n} nodes, gathered on the driver")
        workers = max(1, len(client.scheduler_info(n_workers=-1).get("workers", {})))
        offsets = block_offsets(n, max(2 * workers, -(-n // RANGE_NODES)))
        futures = [client.submit(_rows_task, self.csr, f, m, log_keep, max_len, int(seed), int(offsets[b]),
                                 int(offsets[b + 1]), pure=False) for b in range(offsets.shape[0] - 1)]
        parts = client.gather(futures)
        del futures
        starts = np.cumsum([0] + [int(p[0][-1]) for p in parts])
        out_ptr = np.concatenate([np.zeros(1, np.int64)] + [p[0][1:] + s for p, s in zip(parts, starts[:-1])])
        out_col = np.concatenate([p[1] for p in parts])
        out_val = np.concatenate([p[2] for p in parts])
        del parts
        nnz = int(out_ptr[-1])
        idx_type = np.int32 if nnz < 2**31 - 1 else np.int64
        return sp.csr_matrix((out_val, out_col.astype(idx_type, copy=False), out_ptr.astype(idx_type)), shape=(n, n))


def fit_distributed(est, graph, scheduler):
    """:meth:`GraphRandomFeatures.fit` with the walks on ``scheduler``'s cluster (see the module
    docstring)."""
    from graphembed.distributed.scheduler import client_for
    from graphembed.graph import Graph

    partitioned = getattr(graph, "_graphembed_partitioned", False)
    if scheduler is None and not partitioned:
        raise InputError("fit_distributed needs a scheduler")
    with client_for(scheduler if scheduler is not None else graph.client) as client:
        local = graph.to_graph() if partitioned else Graph.coerce(graph)
        est._fit(local, _RemoteFeatures(est, client))
    return est
