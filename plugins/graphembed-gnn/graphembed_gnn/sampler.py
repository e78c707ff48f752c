"""Neighbour-sampled mini-batches (Hamilton et al. 2017) for graphs too large for one batch.

PyG's ``NeighborLoader`` needs a compiled sampler (pyg-lib or torch-sparse), which has no
wheels on PyPI for torch 2.13, so the plugin samples in numpy on the graph's CSR with the same
semantics: for a batch of seed nodes, each hop keeps at most ``fanout`` random in-neighbours of
the current frontier, and the batch is the message-passing subgraph with the seeds first.
"""
import numpy as np


class CSRNeighborSampler:
    """Sample k-hop neighbourhoods from in-neighbour CSR arrays.

    Parameters
    ----------
    indptr, indices : CSR of in-neighbours: node v's neighbours are ``indices[indptr[v]:indptr[v+1]]``
        (for an undirected graph, the graph's own CSR).
    fanouts : neighbours kept per node at each hop, e.g. ``[25, 10]`` (-1: all).
    seed : seed of the numpy generator (same seed, same batches).
    """

    def __init__(self, indptr, indices, fanouts, seed=0):
        self.indptr = np.asarray(indptr, dtype=np.int64)
        self.indices = np.asarray(indices, dtype=np.int64)
        self.fanouts = [int(f) for f in fanouts]
        self.rng = np.random.default_rng(seed)
        self._pos = np.full(self.indptr.shape[0] - 1, -1, dtype=np.int64)

    def sample(self, seeds):
        """(n_id int64 (m,), edge_index int64 (2, e) in local ids); seeds are n_id[:len(seeds)]."""
        seeds = np.unique(np.asarray(seeds, dtype=np.int64)) if len(seeds) else np.asarray(seeds, np.int64)
        pos = self._pos
        n_id = [seeds]
        pos[seeds] = np.arange(seeds.size)
        count = seeds.size
        frontier = seeds
        src_all, dst_all = [], []
        try:
            for fanout in self.fanouts:
                if frontier.size == 0:
                    break
                starts = self.indptr[frontier]
                degs = self.indptr[frontier + 1] - starts
                owner = np.repeat(np.arange(frontier.size), degs)
                offsets = np.arange(owner.size) - np.repeat(np.cumsum(degs) - degs, degs)
                edge_ids = np.repeat(starts, degs) + offsets
                if fanout >= 0:
                    keys = self.rng.random(owner.size)
                    order = np.lexsort((keys, owner))
                    rank = np.empty(order.size, dtype=np.int64)
                    rank[order] = offsets  # offsets are 0..deg-1 within each owner, in owner order
                    keep = rank < fanout
                    owner, edge_ids = owner[keep], edge_ids[keep]
                nbrs = self.indices[edge_ids]
                new = np.unique(nbrs[pos[nbrs] < 0])
                pos[new] = count + np.arange(new.size)
                count += new.size
                n_id.append(new)
                src_all.append(pos[nbrs])
                dst_all.append(pos[frontier[owner]])
                frontier = new
            ids = np.concatenate(n_id)
            if src_all:
                ei = np.stack([np.concatenate(src_all), np.concatenate(dst_all)])
            else:
                ei = np.zeros((2, 0), dtype=np.int64)
            return ids, ei, seeds.size
        finally:
            for part in n_id:
                pos[part] = -1


def in_neighbour_csr(graph):
    """(indptr, indices) listing each node's in-neighbours (the CSR itself when undirected)."""
    if not graph.directed:
        return graph.indptr, graph.indices
    t = graph.to_scipy().T.tocsr()
    t.sort_indices()
    return t.indptr, t.indices
