"""Node embeddings from graphlet orbits: orbit-count features and orbit-adjacency factorisation.

The counting itself lives in :mod:`graphembed.structure.orbits`; these estimators turn its
counts into an :class:`~graphembed.embedding.Embedding`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from graphembed import params
from graphembed.base import BaseEmbedder, check_seed
from graphembed.embedding import Embedding
from graphembed.graph import Graph
from graphembed.io.errors import InputError
from graphembed.structure.orbits import orbit_adjacency, orbit_counts, parse_adjacencies

if TYPE_CHECKING:
    from typing_extensions import Self

    from graphembed.graph import GraphLike


class OrbitFeatures(BaseEmbedder):
    """Graphlet orbit counts as node features (Przulj's graphlet degree vectors).

    Parameters
    ----------
    log : bool. True: log(1 + counts), each column then standardised to zero mean and unit
        variance (constant columns become 0). False: the raw counts as float32.
    n_jobs : numba threads (None or -1: all cores).

    Attributes
    ----------
    counts_ : int64 (n_nodes, 15) orbit counts.
    embedding_ : Embedding (n_nodes, 15), columns o0..o14.

    Examples
    --------
    >>> import graphembed as ge
    >>> g = ge.Graph.from_edges([0, 1, 2], [1, 2, 0])
    >>> ge.OrbitFeatures(log=False).fit_transform(g).vectors[0, :4].tolist()
    [2.0, 0.0, 0.0, 1.0]
    """

    name = "orbits"
    parameters = params.ORBITS

    def __init__(self, log: bool = True, n_jobs: int | None = None, verbose: bool = False) -> None:
        self.log = log
        self.n_jobs = n_jobs
        self.verbose = verbose

    def fit(self, graph: GraphLike) -> Self:
        """Count the orbits of every node of ``graph`` (read as undirected)."""
        graph = Graph.coerce(graph)
        self._check_params()
        counts = orbit_counts(graph, self.n_jobs, verbose=self.verbose)
        symmetrized = bool(graph.directed)  # orbit counts read a directed graph as undirected
        self.counts_ = counts
        self.symmetrized_ = symmetrized
        if self.log:
            x = np.log1p(counts.astype(np.float64))
            std = x.std(axis=0)
            x = np.divide(x - x.mean(axis=0), std, out=np.zeros_like(x), where=std > 0)
        else:
            x = counts.astype(np.float64)
        self.embedding_ = Embedding(graph.node_ids, x.astype(np.float32), "orbits",
                                    {"log": bool(self.log), "symmetrized": symmetrized})
        return self


class OrbitAdjacencyEmbedding(BaseEmbedder):
    """Embedding from one orbit adjacency: PPMI of the matrix factorised by randomised SVD.

    In the spirit of Windels et al. ("Graphlets correct for the topological information
    missed by random walks", arXiv:2405.14194) and of NetMF (Qiu et al., WSDM 2018): for the
    orbit adjacency A (n x n, counts) with total vol, row sums r and column sums c,

        M_ij = max(0, log(A_ij * vol / (r_i c_j)) - log(negative))   for A_ij > 0

    is factorised as U S V^T (``dim`` components, :func:`sklearn.utils.extmath.randomized_svd`)
    and the embedding is U sqrt(S). Nodes with an empty row get zero vectors.

    Parameters
    ----------
    adjacency : (h, o1, o2) tuple or "h,o1,o2" string, one of the 28 (default (1, 5, 5)).
    dim : int, embedding dimension (< n_nodes).
    negative : float >= 1, the PMI shift (number of negative samples in the skip-gram view).
    top_k : for two- and three-hop adjacencies, keep each row's top_k largest counts (bounds
        memory; default 256); ignored for one-hop ones.
    n_iter : power iterations of the randomised SVD.
    random_state, n_jobs : seed and numba threads.
    """

    name = "orbit-adjacency"
    parameters = params.ORBIT_ADJACENCY

    def __init__(self, adjacency: tuple[int, int, int] | list[int] | str = (1, 5, 5), dim: int = 128,
                 negative: float = 1.0, top_k: int | None = 256, n_iter: int = 5,
                 random_state: int | np.random.Generator | None = None, n_jobs: int | None = None,
                 verbose: bool = False) -> None:
        self.adjacency = adjacency
        self.dim = dim
        self.negative = negative
        self.top_k = top_k
        self.n_iter = n_iter
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def fit(self, graph: GraphLike) -> Self:
        """Count the orbit adjacency of ``graph`` and factorise its shifted PPMI."""
        import scipy.sparse as sp

        graph = Graph.coerce(graph)
        self._check_params()
        keys = parse_adjacencies(self.adjacency)
        if len(keys) != 1:
            raise InputError(f"adjacency must name one orbit adjacency, got {len(keys)}")
        key = keys[0]
        if self.dim >= graph.n_nodes:
            raise InputError(f"dim must be smaller than the number of nodes ({graph.n_nodes}), got {self.dim}")
        seed = check_seed(self.random_state)
        a = orbit_adjacency(graph, [key], top_k=None if key[0] == 1 else self.top_k,
                            n_jobs=self.n_jobs, verbose=self.verbose)[key].astype(np.float64).tocsr()
        vol = a.sum()
        dim = int(self.dim)
        if vol == 0:
            emb = np.zeros((graph.n_nodes, dim), np.float32)
        else:
            r = np.asarray(a.sum(axis=1)).ravel()
            c = np.asarray(a.sum(axis=0)).ravel()
            coo = a.tocoo()
            val = np.log(coo.data * vol / (r[coo.row] * c[coo.col])) - np.log(float(self.negative))
            keep = val > 0
            m = sp.csr_matrix((val[keep], (coo.row[keep], coo.col[keep])), shape=a.shape)
            from sklearn.utils.extmath import randomized_svd

            u, s, _ = randomized_svd(m, dim, n_iter=int(self.n_iter), random_state=seed % 2**32)
            emb = (u * np.sqrt(s)).astype(np.float32)
        self.seed_ = seed
        self.adjacency_ = key
        params = {"adjacency": list(key), "dim": dim, "negative": float(self.negative),
                  "top_k": self.top_k, "n_iter": int(self.n_iter), "random_state": seed}
        self.embedding_ = Embedding(graph.node_ids, emb, "orbit-adjacency", params)
        return self
