"""Graphlet orbit counts on Dask: node ranges per task, counts exactly the local run's.

:func:`graphembed.orbit_counts` works on the simple, degree-ranked CSR (see
:mod:`graphembed.structure.orbits`) in four stages; here:

1. **rank** (one global O(|E|) pass): symmetrise, drop loops and duplicates, rank the nodes by
   degree and relabel (:class:`graphembed.structure.orbits._Simple`), plus the reverse edge
   positions. A local graph is ranked on the driver and the result scattered to every worker
   (``broadcast=True``); a partitioned graph is assembled and ranked in one task on a worker.
2. **triangles**, per node range of the ranked graph: the local kernel
   :func:`graphembed._kernels.orbits.edge_triangles_rows` on the rows ``lo:hi``; each
   range returns the counts of its own rows' lower edges, the segments are concatenated and
   mirrored onto the reverse edges.
3. **4-cliques, 4-cycles and common-neighbour sums**, per node range: the local kernel
   :func:`graphembed._kernels.orbits.edge_aggregates_rows` on the rows ``lo:hi``
   (each v processed once, by the range that holds it, exactly as the local kernel's blocks
   split the nodes). The degree and triangle sums land on the range's own rows; the 4-clique
   and 4-cycle increments land anywhere, so each range returns two (nnz,) int64 arrays, summed
   on the cluster by a tree of additions.
4. **non-induced node sums and the solve** (O(|E|) arithmetic), in one task:
   :func:`graphembed._kernels.orbits.noninduced_node_sums` and the integer solve of
   ``_node_orbits_counted``.

Every count is an integer sum of the same terms as the local run's, so the result is exactly
``orbit_counts(graph)``. Each range task holds the ranked graph and two (nnz,) accumulators:
about 40 bytes per stored edge.
"""
from __future__ import annotations

import numpy as np

from graphembed._kernels.orbits import edge_aggregates_rows, edge_triangles_rows
from graphembed._limits import human_bytes
from graphembed.io.errors import InputError

#: Nodes of the ranked graph per task.
RANGE_NODES = 1 << 16


# ---------------------------------------------------------------------------- kernels
def _range_aggregates(indptr, indices, tri, degree, lo, hi, n_blocks, n_threads):
    """:func:`graphembed._kernels.orbits.edge_aggregates_rows` with its per-thread 4-clique and
    4-cycle accumulators summed: (dsum, far, far_rev, k4 (nnz,), c4 (nnz,))."""
    dsum, far, far_rev, k4_acc, c4_acc = edge_aggregates_rows(indptr, indices, tri, degree, lo, hi,
                                                              n_blocks, n_threads)
    return dsum, far, far_rev, k4_acc.sum(axis=0), c4_acc.sum(axis=0)


_range_triangles = edge_triangles_rows


# ---------------------------------------------------------------------------- worker tasks
def _ranked(simple):
    """The ranked CSR, its reverse positions and what the final solve needs."""
    from graphembed._kernels.orbits import reverse_positions

    indptr, indices, _, order = simple.ranked()
    rev = reverse_positions(indptr, indices)
    return {"indptr": indptr, "indices": indices, "rev": rev, "order": order, "degree": np.diff(indptr)}


def _rank_blocks(node_count, directed, *blocks):
    """Stage 1 on a worker: a PartitionedGraph's row blocks -> the ranked graph."""
    from graphembed.distributed.walks import _assemble_csr
    from graphembed.graph import Graph
    from graphembed.structure.orbits import _Simple

    indptr, indices, _ = _assemble_csr(blocks)
    g = Graph(indptr, indices, None, np.arange(node_count, dtype=np.int64), directed)
    return _ranked(_Simple(g))


def _threads():
    from graphembed.distributed.fastrp import _worker_threads

    return _worker_threads()


def _blocks_of(lo, hi, threads):
    return max(1, min(hi - lo, 16 * threads))


def _triangles_task(ranked, lo, hi):
    from graphembed.base import numba_threads

    with numba_threads(_threads()) as threads:
        return _range_triangles(ranked["indptr"], ranked["indices"], lo, hi, _blocks_of(lo, hi, threads))


def _mirror(rev, *segments):
    """The (nnz,) values of the lower edges' segments, mirrored onto the reverse edges."""
    t = np.concatenate(segments) if segments else np.zeros(0, np.int64)
    return t + t[rev]


def _triangles(ranked, *segments):
    return _mirror(ranked["rev"], *segments)


def _aggregates_task(ranked, tri, lo, hi):
    from graphembed.base import numba_threads

    with numba_threads(_threads()) as threads:
        return _range_aggregates(ranked["indptr"], ranked["indices"], tri, ranked["degree"], lo, hi,
                                 _blocks_of(lo, hi, threads), max(1, threads))


def _add(*parts):
    out = parts[0].copy()
    for p in parts[1:]:
        out += p
    return out


def _pick(part, i):
    return part[i]


def _own(agg):
    return agg[:3]


def _stored(ranked):
    return int(ranked["indices"].shape[0])


def _solve(ranked, tri, k4_half, c4_half, *aggs):
    """Stage 4: per-node non-induced sums and the integer solve, as ``_node_orbits_counted``."""
    from graphembed._kernels.orbits import noninduced_node_sums
    from graphembed.base import numba_threads
    from graphembed.structure.orbits import N_ORBITS, orbits_from_node_sums

    indptr, indices, rev, order = ranked["indptr"], ranked["indices"], ranked["rev"], ranked["order"]
    n = indptr.shape[0] - 1
    dsum = np.concatenate([a[0] for a in aggs])
    dsum = dsum + dsum[rev]
    far = np.concatenate([a[1] for a in aggs]) + np.concatenate([a[2] for a in aggs])[rev]
    k4 = k4_half + k4_half[rev]
    c4 = c4_half + c4_half[rev]
    deg = ranked["degree"]
    with numba_threads(_threads()):
        sums = noninduced_node_sums(indptr, indices, rev, tri, deg, dsum, far, k4, c4)
    ranked_out = orbits_from_node_sums(sums, deg)
    out = np.empty((n, N_ORBITS), np.int64)
    out[order] = ranked_out
    return out


def _degrees_only(ranked):
    from graphembed.structure.orbits import N_ORBITS

    out = np.zeros((ranked["degree"].shape[0], N_ORBITS), np.int64)
    out[ranked["order"], 0] = ranked["degree"]
    return out


def _tree(client, func, futures, fan=8):
    while len(futures) > 1:
        futures = [client.submit(func, *futures[i:i + fan], pure=False) for i in range(0, len(futures), fan)]
    return futures[0]


# ---------------------------------------------------------------------------- driver
def orbit_counts_distributed(graph, client, n_ranges=None):
    """int64 (n_nodes, 15): :func:`graphembed.orbit_counts` of ``graph`` (a local Graph or a
    PartitionedGraph on ``client``'s cluster) counted by node ranges on the cluster; exactly
    equal to the local counts. Returns (counts, symmetrized, undirected edge count)."""
    from graphembed.distributed.fastrp import worker_memory
    from graphembed.distributed.graph import block_offsets

    partitioned = getattr(graph, "_graphembed_partitioned", False)
    n, nnz = graph.n_nodes, graph.nnz
    need = 64 * nnz + 16 * 8 * (n + 1)
    limit = worker_memory(client)
    if limit is not None and need > limit:
        raise InputError(f"orbit counts need the whole ranked graph ({n} nodes, {nnz} stored edges) and two edge "
                         f"accumulators on each worker: about {human_bytes(need)} of memory; a worker has "
                         f"{human_bytes(limit)}; use workers with more memory")
    if partitioned:
        ranked = client.submit(_rank_blocks, n, graph.directed, *graph.blocks, pure=False)
        symmetrized = graph.directed
    else:
        import warnings

        from graphembed.structure.orbits import _Simple

        simple = _Simple(graph)
        symmetrized = simple.symmetrized
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*[Ll]arge.*")
            ranked = client.scatter([_ranked(simple)], broadcast=True, hash=False)[0]
        del simple
    simple_nnz = client.submit(_stored, ranked, pure=False).result()
    if simple_nnz == 0:
        return client.submit(_degrees_only, ranked, pure=False).result(), symmetrized, 0
    workers = max(1, len(client.scheduler_info(n_workers=-1).get("workers", {})))
    offsets = block_offsets(n, n_ranges or max(2 * workers, -(-n // RANGE_NODES)))
    ranges = [(int(offsets[b]), int(offsets[b + 1])) for b in range(offsets.shape[0] - 1)]
    segments = [client.submit(_triangles_task, ranked, lo, hi, pure=False) for lo, hi in ranges]
    tri = client.submit(_triangles, ranked, *segments, pure=False)
    del segments
    aggs = [client.submit(_aggregates_task, ranked, tri, lo, hi, pure=False) for lo, hi in ranges]
    own = [client.submit(_own, a, pure=False) for a in aggs]
    k4 = _tree(client, _add, [client.submit(_pick, a, 3, pure=False) for a in aggs])
    c4 = _tree(client, _add, [client.submit(_pick, a, 4, pure=False) for a in aggs])
    del aggs
    counts = client.submit(_solve, ranked, tri, k4, c4, *own, pure=False).result()
    return counts, symmetrized, simple_nnz // 2


def orbit_counts_on(graph, scheduler):
    """``orbit_counts`` with a scheduler (``"local:N"``, an address or a Client)."""
    from graphembed.distributed.scheduler import client_for
    from graphembed.graph import Graph

    if not getattr(graph, "_graphembed_partitioned", False):
        graph = Graph.coerce(graph)
    with client_for(scheduler if scheduler is not None else graph.client) as client:
        return orbit_counts_distributed(graph, client)[0]
