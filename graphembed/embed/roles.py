"""Structural role features: ReFeX recursive features and RolX soft roles.

K. Henderson, B. Gallagher, L. Li, L. Akoglu, T. Eliassi-Rad, H. Tong, C. Faloutsos. "It's who
you know: graph mining using recursive structural features." KDD 2011 (ReFeX).
https://doi.org/10.1145/2020408.2020512

K. Henderson, B. Gallagher, T. Eliassi-Rad, H. Tong, S. Basu, L. Akoglu, D. Koutra,
C. Faloutsos, L. Li. "RolX: structural role extraction & mining in large graphs." KDD 2012.
https://doi.org/10.1145/2339530.2339723

ReFeX, on the undirected simple view of the graph (directed input symmetrised, self-loops and
duplicate edges dropped):

1. Base (local and egonet) features of every node v: ``degree``; ``weighted_degree`` (the sum
   of the weights of v's edges; a directed graph adds out- and in-weights; self-loops left out);
   ``egonet_edges`` (edges with both ends in v's egonet, v plus its neighbours: degree +
   triangles); ``egonet_out_edges`` (edges with exactly one end in the egonet);
   ``clustering`` (the local clustering coefficient, 0 below degree 2); and, with ``orbits``,
   the 15 graphlet orbit counts ``o0`` ... ``o14`` of :func:`graphembed.orbit_counts`.
2. Round r (1 .. ``n_rounds``) aggregates each column retained in round r - 1 over the
   neighbours, with each aggregator: ``mean(x)`` and ``sum(x)`` (0 for isolated nodes).
   Columns are generated column by column, aggregator by aggregator: mean(degree),
   sum(degree), mean(weighted_degree), ...
3. Vertical logarithmic binning of every column with fraction p = ``bin_fraction``: the p
   share of nodes with the lowest values gets bin 0, p of the remaining nodes bin 1, and so on
   (a bin holds max(1, floor(p * remaining)) nodes plus every node tied with its largest
   value, so equal values always share a bin).
4. Pruning (the paper's feature graph): two columns are connected when their binned values
   differ by at most ``prune_tolerance`` on every node (0: identical bins); from each connected component of this feature graph (the
   columns retained so far plus the new round's) one column is kept, the earliest generated:
   a new column tied to a retained one is dropped, and retained columns stay. The recursion
   stops when a round retains no new column.

Sums are accumulated in int64 fixed point (each column scaled by a power of two so that no
sum can overflow; integer columns are exact), so aggregates do not depend on the order of the
neighbours or on the thread count: automorphic nodes get bit-identical rows.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from graphembed import params
from graphembed.base import BaseEmbedder, check_seed, numba_threads, progress
from graphembed.embedding import Embedding
from graphembed.graph import Graph
from graphembed.io.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from typing_extensions import Self

    from graphembed.graph import GraphLike

BASE_FEATURES = ("degree", "weighted_degree", "egonet_edges", "egonet_out_edges", "clustering")
AGGREGATORS = params.ROLE_AGGREGATORS


class RoleFeatures(BaseEmbedder):
    """ReFeX recursive structural features, optionally factorised into RolX roles.

    The embedding holds the retained ReFeX columns: by default (``values="binned"``) their
    vertical-log-bin numbers 0, 1, 2, ..., the integer features ReFeX outputs and RolX
    factorises; ``values="raw"`` gives the raw values of the same columns instead and
    ``values="log"`` log(1 + raw value) (measured on the airport graphs in
    docs/decisions/role-embeddings.md). With
    ``n_roles``, RolX: non-negative matrix factorisation V ~ G F of that matrix V
    (:class:`sklearn.decomposition.NMF`, Frobenius loss, seeded by ``random_state``), and the
    embedding is G with each row scaled to sum to 1 (a node whose row of G is zero, such as one
    whose features are all zero, gets 1 / n_roles in every role).

    Parameters
    ----------
    n_rounds : int >= 0, most recursive aggregation rounds (0: the base features only).
    aggregators : "mean", "sum", "mean,sum" or a sequence of them (default both, the paper's).
    orbits : bool, add the 15 graphlet orbit counts to the base features.
    bin_fraction : float p in (0, 1), the share of the remaining nodes in each log bin (the
        paper's 0.5).
    prune_tolerance : int >= 0, the paper's s: two columns are redundant when their bins differ
        by at most s on every node (0: identical bins).
    values : "binned" (the paper's output), "raw" or "log", what the embedding (and RolX) holds.
    n_roles : None or int >= 1, the number of RolX roles (None: return the features).
    random_state : None, int or numpy Generator; seeds the NMF (only used with ``n_roles``).
    n_jobs : numba threads (None or -1: all cores). The output is bit-identical for any value.
    verbose : show a progress bar on stderr.

    Attributes
    ----------
    feature_names_ : list of str, the retained columns: "degree", "mean(degree)",
        "sum(mean(o3))", ...
    feature_rounds_ : int array, the round that made each retained column (0: base).
    features_ : float32 (n_nodes, n_features), the raw values of the retained columns (computed
        in float64, stored in float32 to halve the memory of large graphs).
    binned_features_ : int (n_nodes, n_features), their bin numbers.
    n_rounds_ : the rounds that retained at least one column (<= n_rounds).
    memberships_ : float32 (n_nodes, n_roles), row-normalised G (with ``n_roles``).
    role_descriptions_ : float32 (n_roles, n_features), F: each role's feature values (the NMF
        runs in float32).
    reconstruction_err_ : the Frobenius norm of V - W F (W: G before row scaling).
    embedding_ : Embedding (n_nodes, n_features), or (n_nodes, n_roles) with ``n_roles``.

    Examples
    --------
    >>> import graphembed as ge
    >>> g = ge.Graph.from_edges([0, 0, 0, 1], [1, 2, 3, 2])  # a paw
    >>> est = ge.RoleFeatures(orbits=False).fit(g)
    >>> est.feature_names_
    ['degree', 'egonet_out_edges', 'clustering', 'sum(degree)']
    >>> est.features_[:, 0].tolist(), est.transform().vectors[:, 0].tolist()  # raw, binned
    ([3.0, 2.0, 2.0, 1.0], [1.0, 0.0, 0.0, 0.0])
    """

    name = "roles"
    parameters = params.ROLES
    _numba_kernels = ("roles.neighbour_aggregates", "roles.log_bin_rows", "roles.max_bin_difference",
                      "roles.to_fixed")

    def __init__(self, n_rounds: int = 3, aggregators: str | Sequence[str] = params.ROLE_AGGREGATORS,
                 orbits: bool = True, bin_fraction: float = 0.5, prune_tolerance: int = 0,
                 values: str = "binned", n_roles: int | None = None,
                 random_state: int | np.random.Generator | None = None, n_jobs: int | None = None,
                 verbose: bool = False) -> None:
        self.n_rounds = n_rounds
        self.aggregators = aggregators
        self.orbits = orbits
        self.bin_fraction = bin_fraction
        self.prune_tolerance = prune_tolerance
        self.values = values
        self.n_roles = n_roles
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    # ------------------------------------------------------------------ fitting
    def fit(self, graph: GraphLike) -> Self:
        """Compute the ReFeX features of every node of ``graph`` (and the RolX roles)."""
        graph = Graph.coerce(graph)
        self._check_params()
        aggregators = check_aggregators(self.aggregators)
        seed = check_seed(self.random_state) if self.n_roles is not None else None
        if self.n_roles is not None and graph.n_nodes == 0:
            raise InputError("n_roles needs a graph with at least one node")
        with numba_threads(self.n_jobs):
            self._refex(graph, aggregators)
        if self.values == "binned":
            matrix = self.binned_features_
        elif self.values == "raw":
            matrix = self.features_
        else:
            matrix = np.log1p(self.features_)
        public = {"n_rounds": int(self.n_rounds), "aggregators": list(aggregators), "orbits": bool(self.orbits),
                  "bin_fraction": float(self.bin_fraction), "prune_tolerance": int(self.prune_tolerance),
                  "values": self.values, "n_roles": None if self.n_roles is None else int(self.n_roles),
                  "features": list(self.feature_names_)}
        if self.n_roles is None:
            vectors = matrix
        else:
            vectors = self._rolx(np.ascontiguousarray(matrix, dtype=np.float32), int(self.n_roles), seed)
            public["random_state"] = seed
        self.seed_ = seed
        self.embedding_ = Embedding(graph.node_ids, np.ascontiguousarray(vectors, dtype=np.float32), "roles", public)
        return self

    def _refex(self, graph, aggregators):
        from graphembed._kernels.roles import log_bin_rows, max_bin_difference, neighbour_aggregates
        from graphembed.structure.orbits import _Simple

        simple = _Simple(graph)
        p, tol, n = float(self.bin_fraction), int(self.prune_tolerance), simple.n
        bins = max_bins(n, p)
        dtype = np.int16 if bins < np.iinfo(np.int16).max else np.int32
        modes = np.array([AGGREGATORS.index(a) for a in aggregators], np.int64)  # 0 mean, 1 sum
        max_degree = int(simple.degree.max()) if n else 0
        raw_blocks, binned_blocks, all_names, all_rounds = [], [], [], []
        rounds_done, fixed, exponents, prev_names = 0, None, None, []
        with progress(int(self.n_rounds) + 1, "roles", self.verbose) as bar:
            names, candidates = base_features(graph, simple, bool(self.orbits), self.n_jobs, self.verbose)
            for r in range(int(self.n_rounds) + 1):
                if r > 0:
                    candidates = neighbour_aggregates(simple.indptr, simple.indices, fixed, exponents, modes)
                    fixed = None
                    names = [f"{agg}({name})" for name in prev_names for agg in aggregators]
                binned = np.empty(candidates.shape, dtype)
                log_bin_rows(candidates, p, bins, binned)
                old = np.concatenate(binned_blocks) if binned_blocks else np.empty((0, n), dtype)
                keep = prune(max_bin_difference(binned, old, tol) <= tol,
                             max_bin_difference(binned, binned, tol) <= tol)
                del old
                bar.update(1)
                if not keep:
                    break
                rounds_done = r
                keep = np.asarray(keep, np.int64)
                raw = np.empty((keep.shape[0], n), np.float32)
                for i, j in enumerate(keep):
                    raw[i] = candidates[j]
                raw_blocks.append(raw)
                binned_blocks.append(binned[keep])
                del binned
                if r < int(self.n_rounds):
                    fixed, exponents = fixed_point(candidates, keep, max_degree)
                del candidates
                prev_names = [names[j] for j in keep]
                all_names += prev_names
                all_rounds += [r] * len(keep)
            fixed = None
        self.feature_names_ = all_names
        self.feature_rounds_ = np.array(all_rounds, np.int64)
        self.features_ = np.concatenate(raw_blocks).T if raw_blocks else np.zeros((n, 0), np.float32)
        raw_blocks.clear()
        self.binned_features_ = np.concatenate(binned_blocks).T if binned_blocks else np.zeros((n, 0), dtype)
        binned_blocks.clear()
        self.n_rounds_ = rounds_done
        self.symmetrized_ = simple.symmetrized

    def _rolx(self, v, n_roles, seed):
        import warnings

        from sklearn.decomposition import NMF
        from sklearn.exceptions import ConvergenceWarning

        model = NMF(n_components=n_roles, init="nndsvda" if n_roles <= min(v.shape) else "random",
                    max_iter=1000, random_state=seed % 2**32)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            w = model.fit_transform(v)
        total = w.sum(axis=1, keepdims=True)
        memberships = np.divide(w, total, out=np.full_like(w, 1.0 / n_roles), where=total > 0)
        self.memberships_ = memberships
        self.role_descriptions_ = model.components_
        self.reconstruction_err_ = float(model.reconstruction_err_)
        return memberships


# ---------------------------------------------------------------------- the steps, as functions
def check_aggregators(value) -> tuple[str, ...]:
    """("mean", "sum") from "mean,sum", "sum" or a sequence of names; InputError otherwise."""
    names = value.split(",") if isinstance(value, str) else value
    try:
        names = tuple(str(a).strip() for a in names)
    except TypeError:
        names = ()
    if not names or any(a not in AGGREGATORS for a in names) or len(set(names)) != len(names):
        raise InputError(f"aggregators must be a non-empty list of distinct names from "
                         f"{', '.join(AGGREGATORS)}, got {value!r}")
    return names


def base_features(graph, simple, orbits, n_jobs=None, verbose=False):
    """(names, float64 (c, n)): the base features of every node, one row per feature."""
    from graphembed._kernels.roles import neighbour_aggregates
    from graphembed.structure.orbits import ORBIT_COLUMNS, _node_orbits, _triangles

    n = simple.n
    degree = simple.degree
    if orbits:
        counts = _node_orbits(simple, n_jobs, verbose)
        triangles = counts[:, 3]
    else:
        counts = None
        triangles = np.zeros(n, np.int64)
        if simple.indices.shape[0]:
            sums = np.add.reduceat(np.append(_triangles(simple, n_jobs), 0), simple.indptr[:-1]) * (degree > 0)
            triangles = sums // 2  # each triangle at v lies on two of v's edges
    with numba_threads(n_jobs):
        neighbour_degree = neighbour_aggregates(simple.indptr, simple.indices, degree.reshape(-1, 1).astype(np.int64),
                                                np.zeros(1, np.int64), np.ones(1, np.int64))[0]
    pairs = degree * (degree - 1)
    clustering = np.divide(2.0 * triangles, pairs, out=np.zeros(n), where=pairs > 0)
    names = list(BASE_FEATURES) + (list(ORBIT_COLUMNS) if orbits else [])
    out = np.empty((len(names), n), np.float64)
    out[0] = degree
    out[1] = weighted_degree(graph, simple)
    out[2] = degree + triangles
    out[3] = neighbour_degree - degree - 2 * triangles
    out[4] = clustering
    if orbits:
        out[5:] = counts.T
    return names, out


def weighted_degree(graph, simple) -> np.ndarray:
    """float64 (n,): the sum of each node's edge weights in the undirected view (self-loops
    left out; a directed graph: out- plus in-weights); the degree when unweighted."""
    if graph.weights is None:
        return simple.degree.astype(np.float64)
    n = graph.n_nodes
    rows = np.repeat(np.arange(n), np.diff(graph.indptr))
    cols = graph.indices
    w = graph.weights.astype(np.float64)
    other = rows != cols
    out = np.bincount(rows[other], w[other], n)
    if graph.directed:
        out += np.bincount(cols[other], w[other], n)
    return out


def fixed_point(rows, keep, max_degree):
    """(int64 (n, len(keep)), int64 (len(keep),)): the rows ``keep`` of ``rows`` (float64 (c, n),
    non-negative) each rounded to a multiple of 2^e, e per row the smallest exponent with which
    a sum of ``max_degree`` values stays below 2^62; integers stay exact unless a sum could
    reach 2^61."""
    from graphembed._kernels.roles import to_fixed

    exponents = np.zeros(keep.shape[0], np.int64)
    for i, j in enumerate(keep):
        bound = float(rows[j].max()) * max_degree if rows.shape[1] else 0.0
        exponents[i] = math.frexp(bound)[1] - 61 if bound > 0 else 0
    return to_fixed(rows, keep, exponents), exponents


def neighbour_aggregate(simple, rows, aggregators):
    """float64 (k * len(aggregators), n): per node, each aggregator ("mean", "sum") of each row
    of ``rows`` (float64 (k, n)) over its neighbours; row j * len(aggregators) + q is
    aggregator q of row j (what one round of :class:`RoleFeatures` computes)."""
    from graphembed._kernels.roles import neighbour_aggregates

    rows = np.ascontiguousarray(rows, dtype=np.float64)
    max_degree = int(simple.degree.max()) if simple.n else 0
    fixed, exponents = fixed_point(rows, np.arange(rows.shape[0]), max_degree)
    modes = np.array([AGGREGATORS.index(a) for a in check_aggregators(aggregators)], np.int64)
    return neighbour_aggregates(simple.indptr, simple.indices, fixed, exponents, modes)


def max_bins(n: int, p: float) -> int:
    """The most bins :func:`log_bins` can make for ``n`` values (ties only make fewer)."""
    bins, remaining = 0, n
    while remaining > 0:
        remaining -= max(int(p * remaining), 1)
        bins += 1
    return bins


def log_bins(values, p: float) -> np.ndarray:
    """Vertical logarithmic bins of one column ``values``: int (n,) bin numbers 0, 1, ...

    Of the m values not yet binned, the max(1, floor(p * m)) smallest get the next bin number,
    with every value tied with the largest of them (the lowest p share of the nodes gets 0, p of
    the rest 1, and so on).
    """
    from graphembed._kernels.roles import log_bin_rows

    x = np.ascontiguousarray(values, dtype=np.float64).reshape(1, -1)
    out = np.empty(x.shape, np.int32)
    log_bin_rows(x, float(p), max_bins(x.shape[1], p), out)
    return out[0]


def prune(new_old, new_new) -> list[int]:
    """The new columns to keep. ``new_old`` (a, b) bool: new column i is connected to retained
    column j; ``new_new`` (a, a) bool: new columns i and j are connected. A new column is kept
    when it is the first of a connected component that holds no retained column."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    a = new_new.shape[0]
    if a == 0:
        return []
    _, label = connected_components(csr_matrix(new_new), directed=False)
    covered = np.zeros(label.max() + 1, bool)
    if new_old.shape[1]:
        covered[label[new_old.any(axis=1)]] = True
    keep, seen = [], set()
    for i in range(a):
        if not covered[label[i]] and label[i] not in seen:
            seen.add(label[i])
            keep.append(i)
    return keep
