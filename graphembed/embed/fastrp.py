"""FastRP: Fast Random Projection embeddings (Chen et al., CIKM 2019).

H. Chen, S. F. Sultan, Y. Tian, M. Chen, S. Skiena. "Fast and Accurate Network Embeddings via
Very Sparse Random Projection." https://arxiv.org/abs/1908.11512

For a graph with adjacency A and out-degrees D:

    X_0 = D^beta R                       R: very sparse random signs (n x dim)
    X_k = M X_{k-1},  k = 1..q           M = D^-1 A ("transition") or A ("adjacency")
    E   = s * norm(X_0) + sum_k w_k norm(X_k)

with ``norm`` the per-row L2 normalisation, beta = ``normalization_strength``, w =
``iteration_weights`` (q = len(w), as in Neo4j GDS) and s = ``node_self_influence``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from graphembed import params
from graphembed._limits import check_memory
from graphembed.base import BaseEmbedder, check_is_fitted, check_seed, numba_threads, progress
from graphembed.embedding import Embedding
from graphembed.graph import Graph
from graphembed.io.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Sequence

    import scipy.sparse as sp
    from numpy.typing import ArrayLike
    from typing_extensions import Self

    from graphembed.graph import GraphLike, NodeId

PROPAGATIONS = params.PROPAGATIONS


class FastRP(BaseEmbedder):
    """FastRP node embeddings.

    Parameters
    ----------
    dim : int, embedding dimension.
    iteration_weights : sequence of float, one weight per propagation step (default 0, 1, 1:
        three steps, the first ignored in the sum, as Neo4j GDS).
    normalization_strength : float beta; initial vectors are scaled by degree^beta
        (negative values damp hubs; the paper uses -0.628 on BlogCatalog).
    node_self_influence : float, weight of each node's own (normalised) initial vector.
    propagation : "transition" (D^-1 A, the paper's best setting) or "adjacency" (A).
    density : "auto" or float in (0, 1]: share of non-zeros in R. "auto" is 1/sqrt(n) as
        in the paper (Li et al.'s very sparse projection), raised to 3/dim when that is larger
        so every row expects at least three non-zeros on very large graphs.
    property_dimension : int or None; with ``features`` given to :meth:`fit`, that many of the
        ``dim`` columns hold a random projection of the node features (GDS
        ``featureProperties``); None means dim // 2.
    random_state : None, int or numpy Generator.
    n_jobs : numba threads (None or -1: all cores). Output is bit-identical for any value.
    verbose : show a progress bar on stderr.

    Examples
    --------
    >>> import graphembed as ge
    >>> g = ge.Graph.from_edges([0, 1, 2], [1, 2, 0])
    >>> ge.FastRP(dim=8, random_state=0).fit_transform(g).vectors.shape
    (3, 8)
    """

    name = "fastrp"
    # the slow-to-compile kernels every fit runs (a cold cache is announced by the CLI)
    _numba_kernels = ("spmm.propagate_accumulate", "spmm.propagate_accumulate_sparse",
                      "spmm.sparse_sign_rows")

    parameters = params.FASTRP

    def __init__(self, dim: int = 128, iteration_weights: Sequence[float] = (0.0, 1.0, 1.0),
                 normalization_strength: float = 0.0, node_self_influence: float = 0.0,
                 propagation: Literal["transition", "adjacency"] = "transition",
                 density: float | Literal["auto"] = "auto", property_dimension: int | None = None,
                 random_state: int | np.random.Generator | None = None, n_jobs: int | None = None,
                 verbose: bool = False) -> None:
        self.dim = dim
        self.iteration_weights = iteration_weights
        self.normalization_strength = normalization_strength
        self.node_self_influence = node_self_influence
        self.propagation = propagation
        self.density = density
        self.property_dimension = property_dimension
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    # ------------------------------------------------------------------ validation
    def _validate(self, graph, features):
        self._check_params()
        weights = np.asarray(self.iteration_weights, dtype=np.float64).reshape(-1)
        property_dim = 0
        if features is not None:
            if features.shape[0] != graph.n_nodes:
                raise InputError(f"features have {features.shape[0]} rows, the graph has {graph.n_nodes} nodes")
            property_dim = self.dim // 2 if self.property_dimension is None else int(self.property_dimension)
            if not 0 < property_dim < self.dim:
                raise InputError(f"property_dimension must be in [1, dim - 1], got {property_dim}")
        return weights, property_dim

    def _density(self, n_rows, dim):
        if self.density != "auto":
            return float(self.density)
        return float(min(1.0, max(1.0 / np.sqrt(max(n_rows, 1)), 3.0 / dim)))

    # ------------------------------------------------------------------ fitting
    def fit(self, graph: GraphLike, features: np.ndarray | sp.spmatrix | sp.sparray | None = None, *,
            scheduler: Any = None) -> Self:
        """Embed every node of ``graph``.

        Parameters
        ----------
        graph : Graph, or a partitioned graph (``read_graph(..., partitions=...)``).
        features : optional (n_nodes, n_features) dense or scipy sparse node features.
        scheduler : None (run here), or run on Dask: ``"local:N"`` (a LocalCluster of N
            single-thread processes, closed afterwards), ``"tcp://host:port"`` or a
            ``dask.distributed.Client``. The result is bit-identical to the local run with the
            same seed (:mod:`graphembed.distributed.fastrp`); needs ``graphembed[dask]``. There
            each worker runs its own thread count (``n_jobs`` is not used) and node features
            are not taken yet.
        """
        if scheduler is not None or getattr(graph, "_graphembed_partitioned", False):
            from graphembed.distributed.fastrp import fit_distributed

            return fit_distributed(self, graph, features, scheduler)
        graph = Graph.coerce(graph)
        weights, property_dim = self._validate(graph, features)
        # X_0, the accumulator and one propagation buffer, each (n, dim) float32
        check_memory(3 * 4 * graph.n_nodes * int(self.dim),
                     f"FastRP with dim={self.dim} on {graph.n_nodes} nodes")
        self.seed_ = check_seed(self.random_state)
        self.iteration_weights_ = weights
        self.property_dimension_ = property_dim
        with numba_threads(self.n_jobs):
            x0 = self._initial_vectors(graph, features)
            emb = self._propagate(graph, x0)
        self.graph_ = graph
        self._features = features
        self.embedding_ = Embedding(graph.node_ids, emb, "fastrp", self._public_params())
        return self

    def fit_transform(self, graph: GraphLike, features: np.ndarray | sp.spmatrix | sp.sparray | None = None, *,
                      scheduler: Any = None) -> Embedding:
        """:meth:`fit` then the Embedding (``scheduler`` as in :meth:`fit`)."""
        return super().fit_transform(graph, features=features, scheduler=scheduler)

    def _public_params(self):
        params = self.get_params()
        params.pop("verbose")
        params.pop("n_jobs")
        params["iteration_weights"] = [float(w) for w in np.asarray(self.iteration_weights).ravel()]
        params["random_state"] = self.seed_
        return params

    def projection_matrix(self, n_rows: int, row_offset: int = 0) -> np.ndarray:
        """The random matrix R (n_rows, dim - property_dimension) float32 before degree scaling.

        Row i is node ``row_offset + i``; it depends only on the seed and the node's index.
        """
        check_is_fitted(self, "seed_")
        from graphembed._kernels.spmm import sparse_sign_rows

        d = self.dim - self.property_dimension_
        out = np.empty((n_rows, d), dtype=np.float32)
        sparse_sign_rows(n_rows, row_offset, self._density(self.graph_.n_nodes, d), self.seed_,
                         np.ones(n_rows, np.float64), out)
        return out

    def _degree_scale(self, degree):
        beta = float(self.normalization_strength)
        scale = np.ones_like(degree, dtype=np.float64)
        if beta != 0.0:
            positive = degree > 0
            scale[positive] = degree[positive] ** beta  # a node without out-edges keeps scale 1
        return scale

    def _initial_vectors(self, graph, features):
        """X_0 (n, dim) float32: degree-scaled random rows, then projected features if any."""
        from graphembed._kernels.spmm import sparse_sign_rows

        degree = graph.weighted_degree()
        n = degree.shape[0]
        d_random = self.dim - self.property_dimension_
        x0 = np.zeros((n, self.dim), dtype=np.float32)
        random_part = x0 if d_random == self.dim else np.empty((n, d_random), np.float32)
        sparse_sign_rows(n, 0, self._density(graph.n_nodes, d_random), self.seed_,
                         self._degree_scale(degree), random_part)
        if d_random != self.dim:
            x0[:, :d_random] = random_part
            if features is not None:
                x0[:, d_random:] = self._project_features(features)
        return x0

    def _project_features(self, features):
        import scipy.sparse as sp

        n_features = features.shape[1]
        density = self._density(n_features, self.property_dimension_)
        from graphembed._kernels.spmm import sparse_sign_rows

        p = np.empty((n_features, self.property_dimension_), dtype=np.float32)

        # Feature rows use their own stream (seed + 1) so they never repeat the node rows.
        sparse_sign_rows(n_features, 0, density, (self.seed_ + 1) & (2**63 - 1),
                         np.ones(n_features, np.float64), p)
        projected = features @ p if sp.issparse(features) else np.asarray(features, np.float32) @ p
        return np.asarray(projected, dtype=np.float32)

    def _row_scale(self, degree):
        if self.propagation == "adjacency":
            return np.ones(degree.shape[0], dtype=np.float64)
        return np.divide(1.0, degree, out=np.zeros(degree.shape[0]), where=degree > 0)

    def _propagate(self, graph, x0):
        """Run the propagation from X_0 = ``x0`` (overwritten); returns the embedding (n, dim)."""
        from graphembed._kernels.spmm import (
            accumulate_normalized,
            dense_to_csr,
            propagate_accumulate,
            propagate_accumulate_sparse,
        )

        weighted = graph.weights is not None
        w_arr = graph.weights if weighted else np.empty(0, np.float32)
        row_scale = self._row_scale(graph.weighted_degree())
        steps = self.iteration_weights_
        acc = np.zeros_like(x0)
        if self.node_self_influence:
            accumulate_normalized(x0, float(self.node_self_influence), acc)
        # Without feature columns X_0 is the very sparse random part alone.
        sparse_first = self.property_dimension_ == 0 and self._density(graph.n_nodes, self.dim) <= 0.25
        cur, nxt = x0, np.empty_like(x0)
        factor = 1.0
        with progress(len(steps), "fastrp", self.verbose) as bar:
            for k, w_k in enumerate(steps):
                if k == 0 and sparse_first:
                    # X_0 has a few non-zeros per row: multiply it in sparse form.
                    largest = propagate_accumulate_sparse(graph.indptr, graph.indices, w_arr, weighted,
                                                          row_scale * factor, *dense_to_csr(cur), nxt,
                                                          acc, float(w_k))
                else:
                    largest = propagate_accumulate(graph.indptr, graph.indices, w_arr, weighted,
                                                   row_scale * factor, cur, nxt, acc, float(w_k))
                # Row normalisation makes any global factor irrelevant; rescaling keeps the
                # adjacency form from overflowing float32 after many steps.
                factor = 1.0 / largest if largest > 0 else 1.0
                cur, nxt = nxt, cur
                bar.update(1)
        return acc

    # ------------------------------------------------------------------ new nodes
    def transform_new(self, src: Sequence[NodeId], dst: Sequence[NodeId], weights: ArrayLike | None = None,
                      new: Sequence[NodeId] | None = None) -> Embedding:
        """Embed nodes that were not in the fitted graph from their edges to fitted nodes.

        Each edge (src[i], dst[i]) joins a new node to a known node or two new nodes; edges
        between two known nodes are ignored. ``weights`` (one per edge) are used as in
        :meth:`fit`; without them a repeated edge counts once. Ids are matched to the fitted
        nodes by :class:`~graphembed._ids.IdIndex` (``"5"`` is node 5 of an integer-id graph).
        The new nodes are ``new`` when given, else the sources that match no fitted node (with
        the fitted ids' type where they have one); any other id that matches no fitted node is
        an error naming it, so a typo in a destination never becomes a new node. In an
        undirected graph a new node listed in ``new`` may also stand as the destination; in a
        directed graph it must be the source.

        What is computed, with M and D^beta as in :meth:`fit`, X_k the fitted iterates (same
        seed, same R, recomputed) and Y_k the new nodes' iterates::

            Y_0 = 0
            Y_k = D_new^-1 (B X_{k-1} + C Y_{k-1})     (D_new^-1 dropped for "adjacency")
            E_new = sum_k w_k norm(Y_k)

        with B the new-to-fitted edges, C the edges among new nodes and D_new the new nodes'
        degrees (B and C). This is exact for that formula; step k only propagates the fitted
        rows within q - k hops of a new node (q = len(iteration_weights)), since no other row
        reaches a new node's last iterate, so the cost is that of the new nodes'
        neighbourhood, not of the whole graph. The fitted nodes' iterates are not changed by the
        new edges, and a new node has no random row of its own, so ``node_self_influence`` and
        node features add nothing for new nodes.

        Parameters
        ----------
        src, dst : sequences (m,) of node ids, the new edges.
        weights : sequence (m,) of finite non-negative floats, or None.
        new : sequence of the new nodes' ids, or None (the sources that match no fitted node).

        Returns
        -------
        Embedding (n_new, dim) of the new nodes in order of first appearance; a new node with no
        walk of at most q steps to a fitted node gets a zero vector.

        Raises
        ------
        InputError : an id that is neither a fitted node nor a new one, no edge joining a new
            node to a fitted one, mismatched lengths, or negative / non-finite weights.

        Design and measurements: docs/decisions/fastrp-new-nodes.md.
        """
        check_is_fitted(self, "embedding_")
        graph = self.graph_
        new_ids, b, c = self._new_edges(src, dst, weights, new)
        n, m = graph.n_nodes, len(new_ids)
        import scipy.sparse as sp

        # The new nodes' rows appended to the fitted graph, (n + m) square: new -> known and
        # new -> new edges. The fitted rows gain nothing: their iterates stay the fitted ones.
        ext = sp.vstack([sp.csr_matrix((n, n + m), dtype=np.float32), sp.hstack([b, c])]).tocsr()
        ext.sort_indices()
        degree = np.concatenate([graph.weighted_degree(), np.asarray(ext[n:].sum(axis=1), np.float64).ravel()])
        emb = self._propagate_new(graph, ext.indptr.astype(np.int64), ext.indices.astype(np.int32),
                                  ext.data.astype(np.float32), degree)
        from graphembed._ids import _ids_array

        return Embedding(_ids_array(new_ids), emb, "fastrp", self._public_params())

    def _propagate_new(self, graph, ext_indptr, ext_indices, ext_weights, degree):
        """The new nodes' rows (m, dim): FastRP over the fitted graph plus appended rows, X_0 = 0 on them."""
        from graphembed._kernels.fastrp_new import hop_distances, propagate_rows, propagate_rows_sparse
        from graphembed._kernels.spmm import accumulate_normalized, dense_to_csr

        n = graph.n_nodes
        n_all = degree.shape[0]
        steps = self.iteration_weights_
        base_w = graph.weights if graph.weights is not None else np.empty(0, np.float32)
        with numba_threads(self.n_jobs):
            # X_k is needed on the nodes within q - k hops of a new node (k = 1..q).
            dist = hop_distances(graph.indptr, graph.indices, ext_indptr, ext_indices, n, len(steps) - 1)
            x = np.zeros((n_all, self.dim), dtype=np.float32)
            x[:n] = self._initial_vectors(graph, self._features)  # the fitted X_0; new rows stay 0
            out = np.empty_like(x)
            acc = np.zeros((n_all - n, self.dim), dtype=np.float32)
            row_scale = self._row_scale(degree)
            sparse_first = self.property_dimension_ == 0 and self._density(n, self.dim) <= 0.25
            factor = 1.0
            with progress(len(steps), "fastrp new nodes", self.verbose) as bar:
                for k, w_k in enumerate(steps):
                    rows = np.flatnonzero(dist <= len(steps) - 1 - k)
                    matrix = (rows, graph.indptr, graph.indices, base_w, graph.weights is not None,
                              ext_indptr, ext_indices, ext_weights, row_scale * factor)
                    if k == 0 and sparse_first:  # X_0 has a few non-zeros per row
                        largest = propagate_rows_sparse(*matrix, *dense_to_csr(x), out)
                    else:
                        largest = propagate_rows(*matrix, x, out)
                    accumulate_normalized(out[n:], float(w_k), acc)
                    # Row normalisation makes a global factor irrelevant; it keeps A^k finite.
                    factor = 1.0 / largest if largest > 0 else 1.0
                    x, out = out, x
                    bar.update(1)
        return acc

    def _new_edges(self, src, dst, weights, new=None):
        """(new ids, B (m, n) CSR new -> known, C (m, m) CSR among new) float32 from an edge list."""
        graph = self.graph_
        src, dst = list(src), list(dst)  # no np.asarray: it would turn mixed int/str ids into str
        if len(src) != len(dst):
            raise InputError("src and dst differ in length")
        w = None if weights is None else np.asarray(weights, dtype=np.float64)
        if w is not None and w.shape != (len(src),):
            raise InputError(f"weights must have one value per edge ({len(src)}), got shape {w.shape}")
        ids = graph.ids
        s_pos, d_pos = ids.positions(src, missing="skip"), ids.positions(dst, missing="skip")

        def as_new(v):  # a new id takes the fitted ids' type where it can ("99" -> 99)
            key = ids.key(v)
            return key if key is not None else (v.item() if isinstance(v, np.generic) else v)

        s_keys = [int(p) if p >= 0 else as_new(v) for v, p in zip(src, s_pos)]
        d_keys = [int(p) if p >= 0 else as_new(v) for v, p in zip(dst, d_pos)]
        # The new nodes: ``new``, or else the sources that are not fitted nodes. Any other id
        # that matches no fitted node is a mistake to name, never a node to invent.
        declared = {as_new(v) for v in new} if new is not None else \
            {k for p, k in zip(s_pos, s_keys) if p < 0}
        stray = [v for v, p, k in list(zip(src, s_pos, s_keys)) + list(zip(dst, d_pos, d_keys))
                 if p < 0 and k not in declared]
        if stray:
            shown = ", ".join(repr(v) for v in dict.fromkeys(map(str, stray)))
            if new is not None:
                raise InputError(f"transform_new: ids that are neither fitted nodes nor in new: {shown[:300]}")
            raise InputError(f"transform_new: destination ids that are neither fitted nodes nor new nodes "
                             f"(sources): {shown[:300]}; list them in new= to embed them too")
        new_ids, new_index, rows, cols, vals, between_new = [], {}, [], [], [], []
        for e, (a, b) in enumerate(zip(s_keys, d_keys)):
            a_known, b_known = s_pos[e] >= 0, d_pos[e] >= 0
            if not a_known and not b_known:
                between_new.append(e)
                continue
            if a_known and b_known:
                continue
            if a_known:
                if graph.directed:
                    continue
                a, b = b, a
            if a not in new_index:
                new_index[a] = len(new_ids)
                new_ids.append(a)
            rows.append(new_index[a])
            cols.append(b)  # b is a fitted node's index
            vals.append(1.0 if w is None else w[e])
        if not new_ids:
            unknown = list(dict.fromkeys(str(k) for k, p in zip(s_keys + d_keys, np.concatenate([s_pos, d_pos]))
                                         if p < 0))
            raise InputError("no edge joins a new node to a node of the fitted graph"
                             + (f" (ids not in the fitted graph: {', '.join(unknown)[:300]})" if unknown else ""))
        import scipy.sparse as sp

        c_rows, c_cols, c_vals = [], [], []
        for e in between_new:
            a, b_ = s_keys[e], d_keys[e]
            if a == b_:
                continue
            for v in (a, b_):
                if v not in new_index:
                    new_index[v] = len(new_ids)
                    new_ids.append(v)
            pairs = [(a, b_)] if graph.directed else [(a, b_), (b_, a)]
            for x, y in pairs:
                c_rows.append(new_index[x])
                c_cols.append(new_index[y])
                c_vals.append(1.0 if w is None else w[e])
        for v in (vals, c_vals):
            v = np.asarray(v, dtype=np.float64)
            if not np.all(np.isfinite(v)) or np.any(v < 0):
                raise InputError("weights must be finite and >= 0")
        m = len(new_ids)
        b = sp.csr_matrix((np.asarray(vals, np.float32), (rows, cols)), shape=(m, graph.n_nodes))
        c = sp.csr_matrix((np.asarray(c_vals, np.float32), (c_rows, c_cols)), shape=(m, m))
        for mat in (b, c):
            mat.sum_duplicates()
            mat.sort_indices()
            if w is None:  # unweighted edges: a repeated edge counts once
                mat.data[:] = 1.0
        return new_ids, b, c
