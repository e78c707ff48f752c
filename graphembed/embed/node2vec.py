"""node2vec and DeepWalk: random walks (numba) fed to skip-gram with negative sampling (gensim).

A. Grover, J. Leskovec. "node2vec: Scalable Feature Learning for Networks." KDD 2016.
https://arxiv.org/abs/1607.00653

B. Perozzi, R. Al-Rfou, S. Skiena. "DeepWalk: Online Learning of Social Representations."
KDD 2014. https://arxiv.org/abs/1403.6652

A walk that arrived at ``v`` from ``t`` moves to an out-neighbour ``x`` of ``v`` with probability
proportional to ``w(v, x) * bias(t, x)``: ``bias = 1/p`` if ``x == t`` (return), ``1`` if the edge
``t -> x`` exists, ``1/q`` otherwise; the first step is proportional to ``w(v, x)``. DeepWalk is
the case p = q = 1 (plain weighted / uniform walks).

Sampling (see ``graphembed/_kernels/walks.py``): first-order walks draw from per-node alias
tables (weighted) or uniformly (unweighted); second-order walks use KnightKing-style rejection
sampling against the largest bias with a binary search for the edge ``t -> x`` (and, when
extreme p, q make acceptance rare, exact sampling over the row after ``8 + deg(v)`` failed
trials), so memory stays O(edges) whatever the degrees (no per-neighbour-pair tables as in
PecanPy's PreComp mode).
Walks are seeded per walk from (seed, walk index): they are identical for any thread count.

Skip-gram: gensim reads the walks as an iterable of token lists (node indices as str), with the
vocabulary counted in numba so gensim makes no counting pass; when the walks would take more than
``ITERABLE_MAX_BYTES`` as an int32 array they go through a temporary ``corpus_file`` instead,
written in chunks (see :func:`_train_corpus_file`). Both routes run the same linear learning-rate
schedule. gensim is bit-reproducible only with one worker: with ``n_jobs=1`` and a fixed
``random_state`` the embedding is reproducible; with several workers the walks are still
identical but the vectors differ slightly from run to run.

Design and measurements: docs/decisions/node2vec-skipgram.md.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from graphembed import params
from graphembed._limits import check_memory
from graphembed.base import BaseEmbedder, check_seed, numba_threads, progress
from graphembed.embedding import Embedding
from graphembed.graph import Graph
from graphembed.io.errors import InputError

if TYPE_CHECKING:
    import os

    from typing_extensions import Self

    from graphembed.graph import GraphLike

# Walks generated (and written) per chunk while fitting: bounds the memory of the walks.
CHUNK_WALKS = 1 << 16
# Larger walk arrays go to gensim through a temporary corpus file instead of an iterable.
ITERABLE_MAX_BYTES = 1 << 30


class Node2Vec(BaseEmbedder):
    """node2vec embeddings: second-order biased random walks + skip-gram (gensim Word2Vec).

    Parameters
    ----------
    dim : int, embedding dimension.
    walks_per_node : int, walks started from every node.
    walk_length : int, nodes per walk (the start node included).
    window : int, skip-gram context window.
    p : float > 0, return parameter (p < 1 favours stepping back to the previous node).
    q : float > 0, in-out parameter (q < 1 favours moving away: DFS-like; q > 1 BFS-like).
    epochs : int, skip-gram passes over the walks.
    negative : int, negative samples per positive pair.
    min_count : int, nodes seen fewer times in the walks get a zero vector (0 keeps all).
    sample : float, gensim's frequent-token down-sampling threshold (0 disables).
    alpha, min_alpha : float, skip-gram learning rate, decayed linearly to ``min_alpha`` over
        all epochs (on both corpus routes). The defaults are gensim's (and the reference
        node2vec code's).
    random_state : None, int or numpy Generator.
    n_jobs : threads for the walks (numba) and for gensim (None or -1: all cores). The walks
        do not depend on it; the vectors are bit-reproducible only with ``n_jobs=1``.
    verbose : show a progress bar on stderr.

    Attributes
    ----------
    embedding_ : Embedding
    seed_ : int, the seed the walks and gensim used.
    walk_seconds_, train_seconds_ : float, time spent in the walks (and, on the file route,
        writing them) and in skip-gram training.
    corpus_route_ : "iterable" or "file", how the walks reached gensim.

    Notes
    -----
    Walks are int32 arrays (n_nodes * walks_per_node, walk_length); walk ``w`` starts at node
    ``w % n_nodes``. A walk that reaches a node without out-edges (a sink of a directed graph,
    or an isolated node) stops there and the rest of its row is ``-1``. For directed graphs the
    "distance 1" case of the bias means the arc ``t -> x``. gensim reads the walks round by
    round, start nodes in index order. ``sample=0`` (no down-sampling) is worth trying on
    hub-dominated weighted graphs.

    Design and measurements: docs/decisions/node2vec-skipgram.md.

    Examples
    --------
    >>> import graphembed as ge
    >>> g = ge.Graph.from_edges([0, 1, 2, 3], [1, 2, 3, 0])
    >>> ge.Node2Vec(p=4, q=1, walk_length=5, walks_per_node=2, random_state=0).walks(g).shape
    (8, 5)
    """

    name = "node2vec"
    _numba_kernels = ("walks.random_walks", "walks._count_visits")
    # How walks reach gensim: "auto" (iterable up to ITERABLE_MAX_BYTES of walks, else file),
    # "iterable" (token lists) or "file" (corpus_file).
    _corpus_route = "auto"
    # Rejection trials per second-order step before exact sampling: _trial_cap + deg(v).
    _trial_cap = 8

    parameters = params.NODE2VEC

    def __init__(self, dim: int = 128, walks_per_node: int = 10, walk_length: int = 80, window: int = 10,
                 p: float = 1.0, q: float = 1.0, epochs: int = 1, negative: int = 5, min_count: int = 0,
                 sample: float = 1e-3, alpha: float = 0.025, min_alpha: float = 1e-4,
                 random_state: int | np.random.Generator | None = None, n_jobs: int | None = None,
                 verbose: bool = False) -> None:
        self.dim = dim
        self.walks_per_node = walks_per_node
        self.walk_length = walk_length
        self.window = window
        self.p = p
        self.q = q
        self.epochs = epochs
        self.negative = negative
        self.min_count = min_count
        self.sample = sample
        self.alpha = alpha
        self.min_alpha = min_alpha
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    # ------------------------------------------------------------------ validation
    def _validate_walks(self, graph):
        self._check_params()
        if graph.n_nodes == 0:
            raise InputError("the graph has no nodes")
        if graph.n_nodes * self.walks_per_node >= 2**62:
            raise InputError("too many walks")

    def _validate_training(self):
        if self.min_alpha > self.alpha:
            raise InputError(f"min_alpha must be at most alpha ({self.alpha}), got {self.min_alpha}")

    # ------------------------------------------------------------------ walks
    def _sampler(self, graph):
        """Arrays the walk kernel needs, built once per graph."""
        from graphembed._kernels.alias import alias_tables

        weighted = graph.weights is not None
        if weighted:
            prob, alias = alias_tables(graph.indptr, graph.weights)
            row_weight = graph.weighted_degree()
            alive = (row_weight > 0).astype(np.uint8)
        else:
            prob, alias = np.empty(0, np.float32), np.empty(0, np.int32)
            row_weight = np.empty(0, np.float64)
            alive = (np.diff(graph.indptr) > 0).astype(np.uint8)
        p, q = float(self.p), float(self.q)
        weights = graph.weights if weighted else np.empty(0, np.float32)
        return dict(indptr=graph.indptr, indices=graph.indices, weights=weights,
                    row_weight=row_weight, prob=prob, alias=alias, weighted=weighted,
                    alive=alive, symmetric=not graph.directed,
                    inv_p=1.0 / p, inv_q=1.0 / q, second_order=not (p == 1.0 and q == 1.0),
                    trial_cap=int(self._trial_cap))

    @staticmethod
    def _walk_chunk(sampler, seed, start, count, length):
        from graphembed._kernels.walks import random_walks

        out = np.empty((count, length), dtype=np.int32)
        random_walks(sampler["indptr"], sampler["indices"], sampler["weights"],
                     sampler["row_weight"], sampler["prob"], sampler["alias"], sampler["weighted"],
                     sampler["alive"], sampler["symmetric"], sampler["inv_p"], sampler["inv_q"],
                     sampler["second_order"],
                     sampler["trial_cap"], seed, start, out)
        return out

    def _iter_walk_chunks(self, graph, seed, chunk=CHUNK_WALKS):
        """Yield (first walk index, int32 walks) in order, ``chunk`` walks at a time."""
        sampler = self._sampler(graph)
        total = graph.n_nodes * int(self.walks_per_node)
        for start in range(0, total, chunk):
            yield start, self._walk_chunk(sampler, seed, start, min(chunk, total - start),
                                          int(self.walk_length))

    def _check_walk_memory(self, graph):
        n_walks = graph.n_nodes * int(self.walks_per_node)
        check_memory(4 * n_walks * int(self.walk_length),
                     f"{n_walks} walks of length {self.walk_length} held in memory (int32)")

    def walks(self, graph: GraphLike, *, scheduler: Any = None) -> np.ndarray:
        """All walks as an int32 array (n_nodes * walks_per_node, walk_length) of node indices.

        Walk ``w`` starts at node ``w % n_nodes`` (round ``w // n_nodes``); ``-1`` pads walks
        that stopped at a node without out-edges. Identical for any ``n_jobs``, and with a
        ``scheduler`` (as in :meth:`fit`) generated on Dask, identical too.
        """
        if scheduler is not None or getattr(graph, "_graphembed_partitioned", False):
            from graphembed.distributed.walks import walks_distributed

            return walks_distributed(self, graph, scheduler)
        graph = Graph.coerce(graph)
        self._validate_walks(graph)
        self._check_walk_memory(graph)
        seed = check_seed(self.random_state)
        with numba_threads(self.n_jobs):
            sampler = self._sampler(graph)
            return self._walk_chunk(sampler, seed, 0, graph.n_nodes * int(self.walks_per_node),
                                    int(self.walk_length))

    def save_walks(self, graph: GraphLike, path: str | os.PathLike[str]) -> int:
        """Write the walks to ``path`` as text, one walk per line, original node ids separated
        by single spaces (the ``-1`` padding is dropped). Written atomically in chunks, so the
        walks never sit in memory all at once. Returns the number of walks."""
        from graphembed._kernels.walks import format_walks, token_table
        from graphembed.io.atomic import atomic_path

        graph = Graph.coerce(graph)
        self._validate_walks(graph)
        seed = check_seed(self.random_state)
        table = token_table([str(v) for v in graph.node_ids.tolist()])
        total = graph.n_nodes * int(self.walks_per_node)
        with atomic_path(path) as tmp, open(tmp, "wb") as f, numba_threads(self.n_jobs), \
                progress(total, "walks", self.verbose) as bar:
            for _, chunk in self._iter_walk_chunks(graph, seed):
                f.write(format_walks(chunk, table).data)
                bar.update(chunk.shape[0])
        return total

    # ------------------------------------------------------------------ fitting
    def _check_dependencies(self):
        """ImportError naming the extra when gensim (the skip-gram) is not installed."""
        try:
            __import__("gensim.models")
        except ImportError:
            raise ImportError(f"{type(self).__name__} needs gensim for skip-gram: "
                              "pip install 'graphembed[gensim]'") from None

    def fit(self, graph: GraphLike, *, scheduler: Any = None) -> Self:
        """Generate the walks and train skip-gram on them.

        ``scheduler``: None (run here), or generate the walks on Dask: ``"local:N"``,
        ``"tcp://host:port"`` or a ``dask.distributed.Client`` (``graph`` may then be a
        partitioned graph); needs ``graphembed[dask]``. The walks are identical to the local
        run's (same per-walk seeds); gensim has no distributed mode, so skip-gram then trains
        here, on the driver, with ``corpus_file`` over the walk shards written by the workers
        (in the local corpus order). The vectors equal the local run's only with ``n_jobs=1``
        when the local run takes the file route as well (see
        :func:`graphembed.distributed.walks.fit_distributed`).
        """
        if scheduler is not None or getattr(graph, "_graphembed_partitioned", False):
            from graphembed.distributed.walks import fit_distributed

            return fit_distributed(self, graph, scheduler)
        graph = Graph.coerce(graph)
        self._validate_walks(graph)  # every declared parameter, the walks' and skip-gram's
        self._validate_training()
        self._check_dependencies()
        from gensim.models import Word2Vec

        self.seed_ = check_seed(self.random_state)
        # gensim's input and output vectors, (n, dim) float32 each, and the returned copy
        check_memory(3 * 4 * graph.n_nodes * int(self.dim),
                     f"skip-gram with dim={self.dim} on {graph.n_nodes} nodes")
        with numba_threads(self.n_jobs) as threads:
            model = Word2Vec(vector_size=int(self.dim), window=int(self.window),
                             min_count=int(self.min_count), sg=1, hs=0, negative=int(self.negative),
                             sample=float(self.sample), alpha=float(self.alpha),
                             min_alpha=float(self.min_alpha), workers=threads,
                             seed=int(self.seed_ % 2**31), epochs=int(self.epochs))
            route = self._corpus_route
            if route == "auto":
                size = 4 * graph.n_nodes * int(self.walks_per_node) * int(self.walk_length)
                route = "iterable" if size <= ITERABLE_MAX_BYTES else "file"
            if route == "file" and _corpus_file_supported():
                vectors = self._train_file(model, graph)
            else:
                vectors = self._train_iterable(model, graph)
            self.corpus_route_ = route
        self.embedding_ = Embedding(graph.node_ids, vectors, self.name, self._public_params())
        return self

    def _train_file(self, model, graph):
        import os
        import tempfile
        import time

        from graphembed._kernels.walks import count_visits, format_walks, index_tokens
        from graphembed.io.atomic import check_free_space

        n = graph.n_nodes
        t0 = time.perf_counter()
        table = index_tokens(n)
        partial = np.zeros((_numba_thread_count(), n), dtype=np.int64)
        total_walks = n * int(self.walks_per_node)
        # the corpus file: each token is at most len(str(n - 1)) digits and a separator
        check_free_space(os.path.join(tempfile.gettempdir(), "walks.txt"),
                         total_walks * int(self.walk_length) * (len(str(max(n - 1, 0))) + 1),
                         f"the temporary corpus of {total_walks} walks (set TMPDIR to move it)")
        with tempfile.TemporaryDirectory(prefix="graphembed-walks-") as tmp:
            path = os.path.join(tmp, "walks.txt")
            with open(path, "wb") as f, progress(total_walks, self.name + " walks", self.verbose) as bar:
                for _, chunk in self._iter_walk_chunks(graph, self.seed_):
                    count_visits(chunk, n, partial)
                    f.write(format_walks(chunk, table).data)
                    bar.update(chunk.shape[0])
                    del chunk
            counts = partial.sum(axis=0)
            del partial
            self.walk_seconds_ = time.perf_counter() - t0
            t0 = time.perf_counter()
            self._build_vocab(model, counts, total_walks)
            with _EpochBar(model, self.name, self.verbose) as callbacks:
                _train_corpus_file(model, path, int(counts.sum()), callbacks)
            self.train_seconds_ = time.perf_counter() - t0
        return self._vectors(model, n)

    def _train_iterable(self, model, graph):
        import time

        from graphembed._kernels.walks import count_visits

        n = graph.n_nodes
        self._check_walk_memory(graph)
        t0 = time.perf_counter()
        walks = self._walk_chunk(self._sampler(graph), self.seed_, 0, n * int(self.walks_per_node),
                                 int(self.walk_length))
        counts = count_visits(walks, n)
        self.walk_seconds_ = time.perf_counter() - t0
        t0 = time.perf_counter()
        self._build_vocab(model, counts, walks.shape[0])
        with _EpochBar(model, self.name, self.verbose) as callbacks:
            model.train(corpus_iterable=_WalkCorpus(walks, n), total_examples=walks.shape[0],
                        epochs=model.epochs, callbacks=callbacks)
        self.train_seconds_ = time.perf_counter() - t0
        return self._vectors(model, n)

    @staticmethod
    def _build_vocab(model, counts, n_walks):
        # Counting in numba spares gensim its own pass over the corpus.
        nz = np.flatnonzero(counts)
        model.build_vocab_from_freq({str(i): int(c) for i, c in zip(nz.tolist(), counts[nz].tolist())},
                                    corpus_count=int(n_walks))

    @staticmethod
    def _vectors(model, n):
        kti = model.wv.key_to_index
        rows = np.fromiter((kti.get(str(i), -1) for i in range(n)), dtype=np.int64, count=n)
        out = np.zeros((n, model.wv.vector_size), dtype=np.float32)
        found = rows >= 0
        out[found] = model.wv.vectors[rows[found]]
        return out

    def _public_params(self):
        params = self.get_params()
        params.pop("verbose")
        params.pop("n_jobs")
        params["random_state"] = self.seed_
        return params


def _train_corpus_file(model, path, total_words, callbacks=()):
    """Train on a corpus file with the linear learning-rate schedule of the iterable route.

    gensim's ``corpus_file`` mode gives each of its ``w`` workers 1/w of the file, but each
    worker decays its rate against the progress of the whole corpus (``word2vec_corpusfile.pyx``:
    progress = the words it has read / ``total_words``; it stops at ``total_words / w``). Left
    alone, one epoch takes the rate only from ``alpha`` to ``alpha - (alpha - min_alpha) / w``
    (and each later epoch starts again above where the last ended). So train one epoch per call,
    with an end rate stretched by ``w``: every worker then runs the epoch's share of the linear
    schedule from ``alpha`` to ``min_alpha``, as gensim's iterable route does. (Read in gensim
    4.4.0's source; ``tests/test_node2vec.py`` checks the settings against that formula.)
    """
    alpha, min_alpha, epochs, workers = model.alpha, model.min_alpha, model.epochs, model.workers
    try:
        for epoch in range(epochs):
            start = alpha - (alpha - min_alpha) * epoch / epochs
            end = alpha - (alpha - min_alpha) * (epoch + 1) / epochs
            # gensim reads these two attributes (train(end_alpha=0) would be ignored as falsy)
            model.alpha, model.min_alpha = start, start - workers * (start - end)
            model.train(corpus_file=path, total_words=total_words, epochs=1, callbacks=callbacks)
    finally:
        model.alpha, model.min_alpha, model.epochs = alpha, min_alpha, epochs


class _EpochBar:
    """Context manager: a progress bar of ``model.epochs`` skip-gram epochs, advanced by a
    gensim callback at the end of each epoch. Yields the callbacks to pass to ``train``
    (callbacks only observe: the trained vectors are the same with or without them)."""

    def __init__(self, model, name, verbose):
        self.model, self.name, self.verbose = model, name, verbose

    def __enter__(self):
        from gensim.models.callbacks import CallbackAny2Vec

        self.bar = progress(int(self.model.epochs), self.name + " skip-gram epochs", self.verbose)
        bar = self.bar

        class _Advance(CallbackAny2Vec):
            def on_epoch_end(self, model):
                bar.update(1)

        return (_Advance(),)

    def __exit__(self, *exc):
        self.bar.close()
        return False


def _corpus_file_supported():
    """gensim built without its corpus_file extension can only read iterables."""
    try:
        from gensim.models.word2vec import CORPUSFILE_VERSION
    except ImportError:
        return False
    return CORPUSFILE_VERSION >= 0


def _numba_thread_count():
    import numba

    return numba.get_num_threads()


class DeepWalk(Node2Vec):
    """DeepWalk embeddings: node2vec with p = q = 1 (first-order walks, weighted if the graph is).

    Parameters are those of :class:`Node2Vec` without ``p`` and ``q``.

    Examples
    --------
    >>> import graphembed as ge
    >>> g = ge.Graph.from_edges([0, 1, 2], [1, 2, 0])
    >>> ge.DeepWalk(walk_length=4, walks_per_node=1, random_state=0).walks(g).shape
    (3, 4)
    """

    name = "deepwalk"
    parameters = params.DEEPWALK

    def __init__(self, dim: int = 128, walks_per_node: int = 10, walk_length: int = 80, window: int = 10,
                 epochs: int = 1, negative: int = 5, min_count: int = 0, sample: float = 1e-3,
                 alpha: float = 0.025, min_alpha: float = 1e-4, random_state: int | np.random.Generator | None = None,
                 n_jobs: int | None = None, verbose: bool = False) -> None:
        super().__init__(dim=dim, walks_per_node=walks_per_node, walk_length=walk_length,
                         window=window, epochs=epochs, negative=negative, min_count=min_count,
                         sample=sample, alpha=alpha, min_alpha=min_alpha,
                         random_state=random_state, n_jobs=n_jobs, verbose=verbose)


class _WalkCorpus:
    """Restartable iterable of walks as lists of str node indices (gensim's iterable route)."""

    def __init__(self, walks, n_nodes):
        self.walks = walks
        self.tokens = [str(i) for i in range(n_nodes)]

    def __iter__(self):
        tokens = self.tokens
        for start in range(0, self.walks.shape[0], 8192):
            for row in self.walks[start:start + 8192].tolist():
                yield [tokens[v] for v in row if v >= 0]
