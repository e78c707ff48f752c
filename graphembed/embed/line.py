"""LINE: Large-scale Information Network Embedding (Tang et al., WWW 2015).

J. Tang, M. Qu, M. Wang, M. Zhang, J. Yan, Q. Mei. "LINE: Large-scale Information Network
Embedding." WWW 2015. https://arxiv.org/abs/1503.03578

Training samples an edge ``(u, v)`` with probability proportional to its weight (an undirected
edge is sampled in both directions) and ``negative`` noise nodes ``n`` with probability
proportional to ``out_degree(n) ** 0.75`` (weighted out-degree), then takes one SGD step on

* first order:  ``log s(e_u . e_v) + sum_n log s(-e_u . e_n)``   (one vector per node)
* second order: ``log s(e_u . c_v) + sum_n log s(-e_u . c_n)``   (vertex vectors ``e``, separate
  context vectors ``c``; the embedding is ``e``)

with ``s`` the sigmoid (clipped at +-6 and read from a table, as the authors' code), vertex
vectors initialised uniform in ``(-0.5, 0.5) / d`` and contexts at zero, and learning rate
``rho_t = rho_0 (1 - t / T)`` floored at ``rho_0 * 1e-4`` (the authors' code). ``order="both"``
trains a first- and a second-order model of ``dim / 2`` each, L2-normalises each and
concatenates them (the paper's LINE(1st+2nd)); both models learn from the same sampled edges
and negatives, so each order sees ``n_samples`` samples at the cost of one sampling pass.

Parallelism: numba hogwild SGD. The samples are cut into chunks, each with its own splitmix64
stream from ``(seed, chunk index)``, and the chunks of a round run in a ``prange``. With
``n_jobs=1`` a seed gives bit-identical vectors; with more threads, threads update shared rows
without locks (as the authors' program does), so the bits differ from run to run and the
contract is the quality, not the bits.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Literal

import numpy as np

from graphembed import params
from graphembed._limits import check_memory
from graphembed.base import BaseEmbedder, check_seed, numba_threads, progress
from graphembed.embedding import Embedding
from graphembed.graph import Graph
from graphembed.io.errors import InputError

if TYPE_CHECKING:
    from typing_extensions import Self

    from graphembed.graph import GraphLike

# Default samples per order: this many per stored adjacency entry (an undirected edge counts
# twice), but at least MIN_DEFAULT_SAMPLES.
DEFAULT_SAMPLES_PER_ENTRY = 100
MIN_DEFAULT_SAMPLES = 1_000_000
CHUNK = 4096  # samples per chunk (one random stream each)
TARGET_ROUNDS = 50  # rounds per run when the run is long enough (loss trace, progress bar)
MAX_ROUND_CHUNKS = 256  # at most 1M samples per round
LOSS_EVERY = 16  # one sample in LOSS_EVERY adds its log-loss to the trace


class LINE(BaseEmbedder):
    """LINE node embeddings: first- and/or second-order proximity with edge sampling.

    Parameters
    ----------
    order : 1, 2 or "both". "both" concatenates a first- and a second-order embedding of
        ``dim // 2`` each, each L2-normalised (``dim`` must be even).
    dim : int, embedding dimension (in total, for "both").
    n_samples : int or None, edge samples per order (T in the paper). None scales with the
        graph: ``100 * nnz`` (stored adjacency entries; an undirected edge counts twice), at
        least one million; the value used is in ``n_samples_``.
    negative : int >= 0, negative samples per sampled edge.
    learning_rate : float > 0, the initial learning rate rho_0.
    random_state : None, int or numpy Generator.
    n_jobs : numba threads (None or -1: all cores). With 1 thread the output is bit-identical
        for a seed; with more, hogwild updates make the bits (not the quality) vary.
    verbose : show a progress bar (samples done) on stderr.

    Attributes
    ----------
    embedding_ : Embedding (n_nodes, dim) float32.
    seed_ : int, the seed used.
    n_samples_ : int, edge samples per order actually run.
    loss_history_ : float64 (n_rounds,), mean log-loss per sampled edge (positive pair plus
        ``negative`` noise pairs; summed over both orders for "both"), measured on one sample
        in 16 during each round of training, before that sample's update.
    train_seconds_, train_cpu_seconds_ : float, wall and CPU time (all threads) of the SGD.
    vectors_first_, vectors_second_, contexts_second_ : the raw float32 matrices (None for an
        order not trained), before any normalisation.

    Notes
    -----
    Nodes without out-edges are never drawn as negatives (degree 0) and, with no edge starting
    at them, keep their initial vertex vector (second order: they still receive context
    updates). The CSR must have fewer than 2**31 stored entries.

    Examples
    --------
    >>> import graphembed as ge
    >>> g = ge.Graph.from_edges([0, 1, 2, 3], [1, 2, 3, 0])
    >>> ge.LINE(order="both", dim=8, n_samples=10_000, random_state=0, n_jobs=1).fit_transform(g).vectors.shape
    (4, 8)
    """

    name = "line"
    _numba_kernels = ("line.line_sgd_round", "line.init_uniform")

    parameters = params.LINE

    def __init__(self, order: Literal[1, 2, "1", "2", "both"] = "both", dim: int = 128,
                 n_samples: int | None = None, negative: int = 5, learning_rate: float = 0.025,
                 random_state: int | np.random.Generator | None = None, n_jobs: int | None = None,
                 verbose: bool = False) -> None:
        self.order = order
        self.dim = dim
        self.n_samples = n_samples
        self.negative = negative
        self.learning_rate = learning_rate
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    # ------------------------------------------------------------------ validation
    def _validate(self, graph):
        self._check_params()
        order = self.order if self.order == "both" else int(self.order)
        if order == "both" and self.dim % 2:
            raise InputError(f"order='both' needs an even dim (two halves), got {self.dim}")
        if graph.n_nodes == 0:
            raise InputError("the graph has no nodes")
        if graph.nnz == 0:
            raise InputError("the graph has no edges: LINE samples edges")
        if graph.nnz >= 2**31 or graph.n_nodes >= 2**31:
            raise InputError(f"graph too large for LINE ({graph.nnz} stored edges; the limit is 2**31)")
        if graph.weights is not None and not float(graph.weights.astype(np.float64).sum()) > 0:
            raise InputError("every edge weight is zero: LINE samples edges by weight")
        return order

    def default_samples(self, graph: Graph) -> int:
        """Samples per order used when ``n_samples`` is None."""
        return max(DEFAULT_SAMPLES_PER_ENTRY * int(graph.nnz), MIN_DEFAULT_SAMPLES)

    # ------------------------------------------------------------------ fitting
    @staticmethod
    def _sampling_tables(graph):
        """Arrays the SGD kernel samples from.

        ``src`` int32 (nnz,): the source of every stored edge (``graph.indices`` is its
        target); ``edge_prob``/``edge_alias``: alias table over the stored edges by weight
        (empty when every weight is equal: edges are then drawn uniformly, ``weighted`` False);
        ``neg_prob``/``neg_alias``: alias table over the nodes by weighted out-degree ** 0.75.
        """
        from graphembed._kernels.alias import alias_tables
        from graphembed._kernels.line import csr_sources

        src = np.empty(graph.nnz, dtype=np.int32)
        csr_sources(graph.indptr, src)
        weighted = graph.weights is not None and not np.all(graph.weights == graph.weights[0])
        if weighted:
            edge_prob, edge_alias = alias_tables(np.array([0, graph.nnz], np.int64), graph.weights)
        else:
            edge_prob, edge_alias = np.empty(0, np.float32), np.empty(0, np.int32)
        noise = graph.weighted_degree() ** 0.75
        neg_prob, neg_alias = alias_tables(np.array([0, graph.n_nodes], np.int64), noise)
        return dict(src=src, weighted=weighted, edge_prob=edge_prob, edge_alias=edge_alias,
                    neg_prob=neg_prob, neg_alias=neg_alias)

    def fit(self, graph: GraphLike) -> Self:
        """Train on ``graph`` (a Graph, or a scipy sparse matrix / networkx graph)."""
        from graphembed._kernels.line import init_uniform, line_sgd_round, sigmoid_table

        graph = Graph.coerce(graph)
        order = self._validate(graph)
        self.seed_ = seed = check_seed(self.random_state)
        total = int(self.n_samples) if self.n_samples is not None else self.default_samples(graph)
        self.n_samples_ = total
        n = graph.n_nodes
        # emb1, emb2, ctx2 (n, dim) float32 in all, plus sampling tables of ~24 bytes per entry
        check_memory(4 * n * int(self.dim) * 2 + 24 * graph.nnz,
                     f"LINE with dim={self.dim} on {n} nodes")
        first, second = order in (1, "both"), order in (2, "both")
        half = self.dim // 2 if order == "both" else self.dim
        d1, d2 = (half if first else 0), (half if second else 0)
        with numba_threads(self.n_jobs):
            tables = self._sampling_tables(graph)
            # Separate streams for each initial matrix and for the samples.
            emb1 = np.empty((n, d1), dtype=np.float32)
            emb2 = np.empty((n, d2), dtype=np.float32)
            if d1:
                init_uniform(emb1, _derive(seed, 1), 1.0 / d1)
            if d2:
                init_uniform(emb2, _derive(seed, 2), 1.0 / d2)
            ctx2 = np.zeros((n, d2), dtype=np.float32)
            table = sigmoid_table()
            n_chunks = -(-total // CHUNK)
            per_round = min(MAX_ROUND_CHUNKS, max(1, n_chunks // TARGET_ROUNDS))
            if per_round >= 8:
                per_round -= per_round % 8
            losses = []
            loss_sum = np.zeros(per_round, np.float64)
            loss_count = np.zeros(per_round, np.int64)
            sample_seed = _derive(seed, 3)
            t0, c0_cpu = time.perf_counter(), time.process_time()
            with progress(total, "line samples", self.verbose) as bar:
                for c0 in range(0, n_chunks, per_round):
                    k = min(per_round, n_chunks - c0)
                    line_sgd_round(tables["src"], graph.indices, tables["edge_prob"],
                                   tables["edge_alias"], tables["weighted"], tables["neg_prob"],
                                   tables["neg_alias"], emb1, emb2, ctx2, first, second,
                                   int(self.negative), float(self.learning_rate), total, CHUNK, c0, k,
                                   sample_seed, table, LOSS_EVERY, loss_sum, loss_count)
                    counted = int(loss_count[:k].sum())
                    if counted:
                        losses.append(float(loss_sum[:k].sum()) / counted)
                    bar.update(min(total, (c0 + k) * CHUNK) - min(total, c0 * CHUNK))
            self.train_seconds_ = time.perf_counter() - t0
            self.train_cpu_seconds_ = time.process_time() - c0_cpu
        self.loss_history_ = np.asarray(losses, dtype=np.float64)
        self.vectors_first_ = emb1 if first else None
        self.vectors_second_ = emb2 if second else None
        self.contexts_second_ = ctx2 if second else None
        if order == "both":
            vectors = np.hstack([_l2_normalize(emb1), _l2_normalize(emb2)])
        else:
            vectors = emb1 if first else emb2
        self.embedding_ = Embedding(graph.node_ids, vectors, self.name, self._public_params(order))
        return self

    def _public_params(self, order):
        params = self.get_params()
        params.pop("verbose")
        params.pop("n_jobs")
        params["order"] = order
        params["random_state"] = self.seed_
        params["n_samples"] = self.n_samples_
        return params


def _derive(seed, k):
    return (int(seed) * 0x9E3779B1 + k * 0x632BE59BD9B4E019) & (2**63 - 1)


def _l2_normalize(x):
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norm, out=np.zeros_like(x), where=norm > 0).astype(np.float32, copy=False)

