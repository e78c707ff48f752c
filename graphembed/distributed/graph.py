"""PartitionedGraph: a graph whose CSR lives on the Dask workers as row blocks.

Block ``b`` holds the rows ``offsets[b]:offsets[b+1]`` as ``(indptr, indices, weights)``: indptr
int64 starting at 0, indices int32 global column indices (sorted inside each row, exactly as in
the local :class:`~graphembed.graph.Graph`), weights float32 or None. The driver holds the node
ids, the block offsets and a few counts; never the edge list nor the CSR.
"""
from __future__ import annotations

import numpy as np

from graphembed.io.errors import InputError

#: Default rows per block when a whole local graph is split (about 64 MiB of float32 at dim 128).
DEFAULT_BLOCK_ROWS = 131072


def block_offsets(n_nodes: int, n_blocks: int) -> np.ndarray:
    """int64 (n_blocks + 1,): ``n_blocks`` contiguous node ranges of nearly equal size."""
    n_blocks = max(1, min(int(n_blocks), max(n_nodes, 1)))
    return (np.arange(n_blocks + 1, dtype=np.int64) * n_nodes) // n_blocks


def default_blocks(n_nodes: int, client, at_least: int = 1) -> int:
    workers = max(1, len(client.scheduler_info(n_workers=-1).get("workers", {})))
    return max(at_least, 2 * workers, -(-n_nodes // DEFAULT_BLOCK_ROWS))


class PartitionedGraph:
    """A graph as CSR row blocks held by a Dask cluster (futures); see the module docstring.

    Attributes
    ----------
    client : the ``dask.distributed.Client`` that holds the blocks (they live as long as it).
    node_ids : array (n_nodes,) of the original ids, in the local reader's order.
    offsets : int64 (n_blocks + 1,) first row of each block.
    blocks : list of futures of ``(indptr, indices, weights | None)``.
    directed, is_weighted, nnz, n_self_loops, stats : as on :class:`~graphembed.graph.Graph`.
    """

    _graphembed_partitioned = True  # what FastRP.fit looks for, without importing this module

    def __init__(self, client, node_ids, offsets, blocks, directed, weighted, nnz, n_self_loops, stats):
        self.client = client
        self.node_ids = node_ids
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.blocks = list(blocks)
        self.directed = bool(directed)
        self.is_weighted = bool(weighted)
        self.nnz = int(nnz)
        self.n_self_loops = int(n_self_loops)
        self.stats = dict(stats)

    @property
    def n_nodes(self) -> int:
        return int(self.node_ids.shape[0])

    @property
    def n_blocks(self) -> int:
        return len(self.blocks)

    @property
    def n_edges(self) -> int:
        if self.directed:
            return self.nnz
        return (self.nnz - self.n_self_loops) // 2 + self.n_self_loops

    def block_rows(self, b: int) -> tuple[int, int]:
        return int(self.offsets[b]), int(self.offsets[b + 1])

    def to_graph(self):
        """Gather the blocks into a local :class:`~graphembed.graph.Graph` (the whole CSR on the driver)."""
        from graphembed.graph import Graph

        parts = self.client.gather(self.blocks)
        sizes = [int(p[0][-1]) for p in parts]
        starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        indptr = np.concatenate([[0]] + [p[0][1:] + s for p, s in zip(parts, starts[:-1])]).astype(np.int64)
        indices = np.concatenate([p[1] for p in parts]) if parts else np.empty(0, np.int32)
        weights = np.concatenate([p[2] for p in parts]) if self.is_weighted else None
        return Graph(indptr, indices, weights, self.node_ids, self.directed, dict(self.stats))

    def __repr__(self) -> str:
        kind = "directed" if self.directed else "undirected"
        w = ", weighted" if self.is_weighted else ""
        return f"PartitionedGraph({self.n_nodes} nodes, {self.n_edges} edges, {kind}{w}, {self.n_blocks} row blocks)"


def _block_of(indptr, indices, weights):
    """A CSR row block as a task result (its arrays travel in the task, so a lost block is rebuilt)."""
    return indptr, indices, weights


def from_graph(graph, client, n_blocks: int | None = None) -> PartitionedGraph:
    """Split a local Graph into row blocks on the cluster of ``client``.

    The driver holds this graph already; each block is sent once inside its task, so Dask can
    rebuild a block lost with its worker.
    """
    import warnings

    n = graph.n_nodes
    offsets = block_offsets(n, n_blocks or default_blocks(n, client))
    blocks = []
    token = _token()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Ll]arge.*")
        for b in range(offsets.shape[0] - 1):
            lo, hi = int(offsets[b]), int(offsets[b + 1])
            start, stop = int(graph.indptr[lo]), int(graph.indptr[hi])
            indptr = graph.indptr[lo:hi + 1] - start
            indices = graph.indices[start:stop].copy()
            weights = graph.weights[start:stop].copy() if graph.weights is not None else None
            blocks.append(client.submit(_block_of, indptr, indices, weights, key=f"ge-csr-{token}-{b}",
                                        pure=False))
    return PartitionedGraph(client, graph.node_ids, offsets, blocks, graph.directed, graph.weights is not None,
                            graph.nnz, graph.n_self_loops, graph.stats)


def coerce(graph, client, n_blocks=None) -> PartitionedGraph:
    """``graph`` as a PartitionedGraph on ``client``'s cluster (a local graph is split)."""
    if getattr(graph, "_graphembed_partitioned", False):
        if graph.client is not client and graph.client.scheduler.address != client.scheduler.address:
            raise InputError("the partitioned graph lives on another Dask cluster than the scheduler given")
        return graph
    from graphembed.graph import Graph

    return from_graph(Graph.coerce(graph), client, n_blocks)


def _token():
    import uuid

    return uuid.uuid4().hex[:12]
