"""The Graph every method consumes: a CSR adjacency plus the original node ids."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, Union

import numpy as np

from graphembed.io.errors import InputError
from graphembed.io.validate import check_csr, check_weights

if TYPE_CHECKING:
    import os
    from collections.abc import Sequence

    import networkx as nx
    import scipy.sparse as sp
    from numpy.typing import ArrayLike

    from graphembed._ids import IdIndex

DUPLICATE_RULES = ("first", "sum", "max")

#: One node id as the user writes it: an integer or a string (matched by :class:`~graphembed._ids.IdIndex`).
NodeId: TypeAlias = Union[int, str, "np.integer"]
#: What every ``fit(graph)`` accepts (:meth:`Graph.coerce`): a Graph, a networkx graph (directed
#: or not, multigraphs included), or a square scipy sparse or numpy adjacency matrix.
GraphLike: TypeAlias = Union["Graph", "nx.Graph", "sp.spmatrix", "sp.sparray", "np.ndarray"]


@dataclass(eq=False)
class Graph:
    """A graph in CSR form.

    Attributes
    ----------
    indptr : int64 array (n_nodes + 1,)
    indices : int32 array (nnz,), column indices sorted inside each row
    weights : float32 array (nnz,) or None for an unweighted graph
    node_ids : array (n_nodes,) of the original ids (int64, or object array of str)
    directed : bool. An undirected graph stores each edge in both rows.
    stats : dict of what loading did (self_loops_dropped, duplicates_merged, source)

    Build one with :meth:`from_edges`, :meth:`from_scipy`, :meth:`from_networkx` or
    :func:`graphembed.read_graph`.
    """

    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray | None
    node_ids: np.ndarray
    directed: bool = False
    stats: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.indptr = np.ascontiguousarray(self.indptr, dtype=np.int64)
        self.indices = np.ascontiguousarray(self.indices, dtype=np.int32)
        if self.weights is not None:
            self.weights = np.ascontiguousarray(self.weights, dtype=np.float32)
        if self.indptr.shape[0] != len(self.node_ids) + 1:
            raise ValueError("indptr must have n_nodes + 1 entries")
        self._index = None

    # ------------------------------------------------------------------ sizes
    @property
    def n_nodes(self) -> int:
        return self.indptr.shape[0] - 1

    @property
    def nnz(self) -> int:
        """Stored adjacency entries (each undirected edge counts twice, a self-loop once)."""
        return int(self.indptr[-1])

    @property
    def n_self_loops(self) -> int:
        rows = np.repeat(np.arange(self.n_nodes, dtype=np.int32), np.diff(self.indptr))
        return int(np.count_nonzero(rows == self.indices))

    @property
    def n_edges(self) -> int:
        """Edges: arcs if directed, unordered pairs (self-loops once) if undirected."""
        if self.directed:
            return self.nnz
        loops = self.n_self_loops
        return (self.nnz - loops) // 2 + loops

    @property
    def is_weighted(self) -> bool:
        return self.weights is not None

    def out_degree(self) -> np.ndarray:
        """int64 (n_nodes,): stored neighbours per node."""
        return np.diff(self.indptr)

    def weighted_degree(self) -> np.ndarray:
        """float64 (n_nodes,): row sums of the adjacency (= out_degree when unweighted)."""
        if self.weights is None:
            return self.out_degree().astype(np.float64)
        return np.add.reduceat(
            np.append(self.weights.astype(np.float64), 0.0), self.indptr[:-1]
        ) * (self.out_degree() > 0)

    # ------------------------------------------------------------------ ids
    @property
    def ids(self) -> IdIndex:
        """The :class:`~graphembed._ids.IdIndex` of the node ids (built on first use)."""
        if self._index is None:
            from graphembed._ids import IdIndex

            self._index = IdIndex(self.node_ids)
        return self._index

    def id_lookup(self) -> dict[Any, int]:
        """{original id: index} (prefer :attr:`ids`, which also coerces ids)."""
        return self.ids._lookup()

    def index_of(self, ids: NodeId | Sequence[NodeId]) -> int | np.ndarray:
        """Index (int) of one original node id, or int64 indices of a sequence of them; an
        unknown id raises InputError naming it (matching rules: :class:`~graphembed._ids.IdIndex`)."""
        if np.isscalar(ids) or isinstance(ids, str):
            return self.ids.position(ids)
        return self.ids.positions(ids)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_edges(cls, src: ArrayLike, dst: ArrayLike, weights: ArrayLike | None = None, *,
                   directed: bool = False, nodes: ArrayLike | None = None, self_loops: bool = False,
                   duplicates: Literal["first", "sum", "max"] = "first",
                   source: str | os.PathLike[str] | None = None) -> Graph:
        """Build a graph from edge endpoint arrays.

        Parameters
        ----------
        src, dst : array-like (m,) of node ids (integers or strings).
        weights : array-like (m,) of non-negative finite numbers, or None.
        directed : if False, each edge is stored in both directions.
        nodes : extra node ids (isolated nodes keep a row), or None.
        self_loops : keep u -> u edges (dropped by default).
        duplicates : how repeated edges merge their weights: "first" (default, the weight of
            the first occurrence in input order), "sum" or "max". An undirected edge listed as
            both (u, v) and (v, u) is one edge.
        """
        from graphembed._ids import factorize
        from graphembed._kernels.csr import MERGE_FIRST, MERGE_MAX, MERGE_SUM, edges_to_csr

        if duplicates not in DUPLICATE_RULES:
            raise InputError(f"duplicates must be one of {DUPLICATE_RULES}, got {duplicates!r}")
        if len(src) != len(dst):
            raise InputError("source and target arrays differ in length")
        try:
            s, d, node_ids = factorize(src, dst, nodes)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        w = None
        if weights is not None:
            try:
                w = np.asarray(weights, dtype=np.float64)
            except (TypeError, ValueError):
                raise InputError(f"{source or 'weights'}: weights must be numbers") from None
            if w.shape != (s.shape[0],):
                raise InputError(f"{source or 'weights'}: {w.shape[0] if w.ndim else 0} weights "
                                 f"for {s.shape[0]} edges")
            check_weights(w, source)
            w = w.astype(np.float32)
        merge = {"first": MERGE_FIRST, "sum": MERGE_SUM, "max": MERGE_MAX}[duplicates]
        indptr, indices, wts, loops, dups = edges_to_csr(
            s, d, w, len(node_ids), not directed, self_loops, merge
        )
        if wts is not None and dups and not np.isfinite(wts).all():
            raise InputError(f"{source or 'weights'}: the summed weights of a repeated edge exceed "
                             f"float32 (at most 3.4e+38); merge with duplicates='max' or scale them")
        if not directed and dups:
            # a repeated non-loop edge is merged in both rows, a repeated self-loop in one
            loop_dups = loops - np.unique(s[s == d]).size if self_loops and loops else 0
            dups = (dups - loop_dups) // 2 + loop_dups
        stats = {
            "input_edges": int(s.shape[0]),
            "self_loops_dropped": 0 if self_loops else loops,
            "duplicates_merged": dups,
            "duplicate_rule": duplicates,
        }
        if source is not None:
            stats["source"] = str(source)
        return cls(indptr, indices, wts, node_ids, bool(directed), stats)

    @classmethod
    def from_scipy(cls, matrix: sp.spmatrix | sp.sparray | ArrayLike, *, directed: bool | None = None,
                   weighted: bool | None = None, node_ids: ArrayLike | None = None,
                   self_loops: bool = False, source: str | os.PathLike[str] | None = None) -> Graph:
        """Build a graph from a square scipy sparse (or dense) adjacency matrix.

        directed=None reads a symmetric matrix as undirected and any other as directed; an
        asymmetric matrix read as undirected is symmetrised with max(A, A^T).
        weighted=None keeps the values as weights unless they are all 1.
        """
        import scipy.sparse as sp

        a = _checked_csr(matrix, source)
        if a.shape[0] != a.shape[1]:
            raise InputError(f"{source or 'adjacency matrix'}: the adjacency matrix must be square, "
                             f"got shape {a.shape}")
        a.sum_duplicates()
        a.eliminate_zeros()
        symmetric = (a != a.T).nnz == 0
        if directed is None:
            directed = not symmetric
        if not directed and not symmetric:
            a = a.maximum(a.T).tocsr()
        data = np.asarray(a.data, dtype=np.float64)
        check_weights(data, source, unit="stored entry")
        if weighted is None:
            weighted = bool(data.size) and not np.all(data == 1.0)
        coo = a.tocoo()
        keep = np.ones(coo.nnz, dtype=bool) if self_loops else coo.row != coo.col
        a_loops = int(np.count_nonzero(coo.row == coo.col))
        rows = coo.row[keep]
        a2 = sp.csr_matrix((data[keep], (rows, coo.col[keep])), shape=a.shape)
        a2.sort_indices()
        ids = np.arange(a.shape[0], dtype=np.int64) if node_ids is None else np.asarray(node_ids)
        stats = {
            "input_edges": int(coo.nnz),
            "self_loops_dropped": 0 if self_loops else a_loops,
            "duplicates_merged": 0,
            "duplicate_rule": "sum",
        }
        return cls(a2.indptr, a2.indices, a2.data if weighted else None, ids, bool(directed), stats)

    @classmethod
    def coerce(cls, graph: GraphLike, *, directed: bool | None = None) -> Graph:
        """``graph`` as a Graph: a Graph as it is, a networkx graph, or a square scipy sparse or
        numpy adjacency matrix (``directed`` as in :meth:`from_scipy`)."""
        if isinstance(graph, cls):
            return graph
        if hasattr(graph, "is_directed") and hasattr(graph, "nodes"):
            return cls.from_networkx(graph)
        if len(getattr(graph, "shape", ())) == 2:
            return cls.from_scipy(graph, directed=directed)
        raise InputError(f"expected a graphembed Graph, a networkx graph or an adjacency matrix, "
                         f"got {type(graph).__name__}")

    @classmethod
    def from_networkx(cls, graph: nx.Graph, *, weight: str | None = "weight", self_loops: bool = False,
                      source: str | os.PathLike[str] | None = None) -> Graph:
        """Build a graph from a networkx (Di)Graph; node order follows ``graph.nodes``.

        Edge attribute ``weight`` becomes the weight when any edge has it.
        """
        nodes = list(graph.nodes)
        index = {v: i for i, v in enumerate(nodes)}
        edges = list(graph.edges(data=weight))
        src = np.fromiter((index[u] for u, _, _ in edges), dtype=np.int64, count=len(edges))
        dst = np.fromiter((index[v] for _, v, _ in edges), dtype=np.int64, count=len(edges))
        has_w = weight is not None and any(w is not None for _, _, w in edges)
        w = None
        if has_w:
            w = np.empty(len(edges), dtype=np.float64)
            for i, (u, v, x) in enumerate(edges):
                try:
                    w[i] = 1.0 if x is None else float(x)
                except (TypeError, ValueError):
                    where = f"{source}: " if source else ""
                    raise InputError(f"{where}edge ({u!r}, {v!r}): {weight} {str(x)[:40]!r} is not a number") from None
        g = cls.from_edges(src, dst, w, directed=graph.is_directed(),
                           nodes=np.arange(len(nodes), dtype=np.int64), self_loops=self_loops,
                           source=source)
        from graphembed._ids import _ids_array

        g.node_ids = _ids_array(nodes)
        g._index = None
        return g

    # ------------------------------------------------------------------ conversions
    def to_scipy(self) -> sp.csr_matrix:
        """scipy.sparse.csr_matrix (n, n); values are the weights or ones."""
        import scipy.sparse as sp

        data = self.weights if self.weights is not None else np.ones(self.nnz, dtype=np.float32)
        return sp.csr_matrix((data, self.indices, self.indptr), shape=(self.n_nodes, self.n_nodes))

    def to_networkx(self) -> nx.Graph:
        """A networkx ``Graph`` (``DiGraph`` when directed) with the original ids as nodes and
        the weights, if any, as the ``weight`` edge attribute."""
        import networkx as nx

        g = nx.DiGraph() if self.directed else nx.Graph()
        ids = self.node_ids.tolist()
        g.add_nodes_from(ids)
        rows = np.repeat(np.arange(self.n_nodes), np.diff(self.indptr))
        if self.weights is None:
            g.add_edges_from(zip([ids[i] for i in rows], [ids[j] for j in self.indices]))
        else:
            g.add_weighted_edges_from(
                zip([ids[i] for i in rows], [ids[j] for j in self.indices], self.weights.tolist())
            )
        return g

    def subgraph(self, nodes: ArrayLike) -> Graph:
        """Induced subgraph on node indices ``nodes`` (int array), in that order."""
        nodes = np.asarray(nodes, dtype=np.int64)
        sub = self.to_scipy()[nodes][:, nodes].tocsr()
        sub.sort_indices()
        return Graph(sub.indptr, sub.indices, sub.data if self.weights is not None else None,
                     self.node_ids[nodes], self.directed, {"source": "subgraph"})

    def summary(self) -> dict[str, Any]:
        """Plain-python facts about the graph (what ``graphembed info`` prints)."""
        deg = self.out_degree()
        touched = deg > 0
        if self.directed:
            touched |= np.bincount(self.indices, minlength=self.n_nodes) > 0
        out = {
            "nodes": self.n_nodes,
            "edges": self.n_edges,
            "directed": self.directed,
            "weighted": self.is_weighted,
            "self_loops": self.n_self_loops,
            "isolated_nodes": int(np.count_nonzero(~touched)),
            "degree_min": int(deg.min()) if deg.size else 0,
            "degree_max": int(deg.max()) if deg.size else 0,
            "degree_mean": float(deg.mean()) if deg.size else 0.0,
            "degree_median": float(np.median(deg)) if deg.size else 0.0,
            "id_type": "int" if self.node_ids.dtype.kind in "iu" else "str",
        }
        out.update({k: v for k, v in self.stats.items() if k != "duplicate_rule"})
        return out

    def __repr__(self) -> str:
        kind = "directed" if self.directed else "undirected"
        w = ", weighted" if self.is_weighted else ""
        return f"Graph({self.n_nodes} nodes, {self.n_edges} edges, {kind}{w})"


def _checked_csr(matrix, source=None):
    """``matrix`` (scipy sparse or dense) as a scipy CSR matrix whose structure has been checked
    (index ranges, indptr) before scipy or a kernel touches it; values must be real numbers."""
    import scipy.sparse as sp

    where = source or "adjacency matrix"
    shape = getattr(matrix, "shape", None)
    if shape is not None and len(shape) == 2 and max(shape) >= 2**31:
        raise InputError(f"{where}: a {shape[0]} x {shape[1]} matrix has more nodes than graphembed "
                         f"holds (at most 2^31 - 1)")
    if sp.issparse(matrix):
        fmt = matrix.format
        if fmt in ("csr", "csc"):
            n_outer, n_inner = matrix.shape if fmt == "csr" else matrix.shape[::-1]
            check_csr(matrix.indptr, matrix.indices, n_outer, n_inner, where)
        elif fmt == "coo":
            for name, idx, size in (("row", matrix.row, matrix.shape[0]), ("column", matrix.col, matrix.shape[1])):
                if idx.size and (idx.min() < 0 or idx.max() >= size):
                    raise InputError(f"{where}: {name} index outside [0, {size})")
        dtype = matrix.dtype
    else:
        try:
            matrix = np.asarray(matrix)
        except (TypeError, ValueError):
            raise InputError(f"{where}: not a numeric matrix") from None
        if matrix.ndim != 2:
            raise InputError(f"{where}: expected a 2-D adjacency matrix, got {matrix.ndim} dimensions")
        dtype = matrix.dtype
    if dtype.kind not in "biuf":
        raise InputError(f"{where}: matrix values must be real numbers, got {dtype}")
    return sp.csr_matrix(matrix)
