"""Motifs: the small pattern graphs whose homomorphisms into a network are counted and sampled.

A homomorphism x: F -> G of a small motif F = ([k], E_F) into a graph G maps motif nodes to
graph nodes so that every motif edge lands on a graph edge. A :class:`Motif` is such an F:
an undirected simple graph on nodes 0..k-1, parsed from a spec (``"path:3"``, ``"cycle:4"``,
...), with the structure the counts and chains need (spanning tree, centre, rooted BFS order).
Exact counts live in :mod:`graphembed.structure.hom_counting`, MCMC sampling in
:mod:`graphembed.structure.hom_sampling`.
"""
import math

import numpy as np

from graphembed.io.errors import InputError


class Motif:
    """A small undirected simple pattern graph on nodes 0..k-1.

    Parameters
    ----------
    n_nodes : int, number of motif nodes k (>= 1).
    edges : iterable of (i, j) pairs with 0 <= i, j < k, i != j (duplicates merged).
    name : optional display name / spec.

    Build one with :meth:`parse` (``"path:3"``, ``"cycle:4"``, ``"star:3"``, ``"clique:3"``,
    ``"edge"``, ``"node"``, ``"triangle"``, ``"edges:0-1,1-2,2-0"``) or the constructors
    :meth:`path`, :meth:`cycle`, :meth:`star`, :meth:`clique`. ``path:k`` and ``cycle:k`` have
    k nodes; ``star:r`` has a centre (node 0) and r leaves, so hom(star:r, G) = sum deg^r.

    Examples
    --------
    >>> Motif.parse("path:3").edges.tolist()
    [[0, 1], [1, 2]]
    >>> Motif.parse("cycle:4").is_tree
    False
    """

    def __init__(self, n_nodes, edges=(), name=None):
        if not isinstance(n_nodes, (int, np.integer)) or n_nodes < 1:
            raise InputError(f"a motif needs at least one node, got n_nodes={n_nodes!r}")
        pairs = set()
        for e in edges:
            try:
                i, j = (int(v) for v in e)
            except (TypeError, ValueError):
                raise InputError(f"motif edge {e!r} is not a pair of node numbers") from None
            if not (0 <= i < n_nodes and 0 <= j < n_nodes):
                raise InputError(f"motif edge ({i}, {j}) has a node outside 0..{n_nodes - 1}")
            if i == j:
                raise InputError(f"motif edge ({i}, {j}) is a self-loop; motifs are simple graphs")
            pairs.add((min(i, j), max(i, j)))
        self.n_nodes = int(n_nodes)
        self.edges = np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)
        self.name = name or "edges:" + ",".join(f"{i}-{j}" for i, j in self.edges.tolist())

    # ------------------------------------------------------------------ constructors
    @classmethod
    def path(cls, k):
        """Path on k nodes 0-1-...-(k-1) (k - 1 edges)."""
        _need(k, 1, "path")
        return cls(k, [(i, i + 1) for i in range(k - 1)], f"path:{k}")

    @classmethod
    def cycle(cls, k):
        """Cycle on k >= 3 nodes 0-1-...-(k-1)-0; hom(cycle:k, G) = trace(A^k)."""
        _need(k, 3, "cycle")
        return cls(k, [(i, (i + 1) % k) for i in range(k)], f"cycle:{k}")

    @classmethod
    def star(cls, r):
        """Star with centre 0 and r >= 1 leaves 1..r; hom(star:r, G) = sum_v deg(v)^r."""
        _need(r, 1, "star")
        return cls(r + 1, [(0, i) for i in range(1, r + 1)], f"star:{r}")

    @classmethod
    def clique(cls, k):
        """Complete graph on k nodes."""
        _need(k, 1, "clique")
        return cls(k, [(i, j) for i in range(k) for j in range(i + 1, k)], f"clique:{k}")

    @classmethod
    def parse(cls, spec):
        """A Motif from a spec string (see the class docstring), or the Motif itself."""
        if isinstance(spec, Motif):
            return spec
        if not isinstance(spec, str):
            raise InputError(f"motif must be a Motif or a spec string like 'path:3', got {spec!r}")
        text = spec.strip().lower()
        fixed = {"node": (1, []), "edge": (2, [(0, 1)]), "triangle": (3, [(0, 1), (1, 2), (0, 2)])}
        if text in fixed:
            return cls(*fixed[text], name=text)
        kind, _, arg = text.partition(":")
        makers = {"path": cls.path, "cycle": cls.cycle, "star": cls.star, "clique": cls.clique}
        if kind in makers:
            try:
                k = int(arg)
            except ValueError:
                raise InputError(f"motif {spec!r}: expected an integer after '{kind}:'") from None
            return makers[kind](k)
        if kind == "edges":
            edges = []
            for part in filter(None, (p.strip() for p in arg.split(","))):
                a, sep, b = part.partition("-")
                try:
                    edges.append((int(a), int(b)))
                except ValueError:
                    raise InputError(f"motif {spec!r}: edge {part!r} is not 'i-j'") from None
                if not sep:
                    raise InputError(f"motif {spec!r}: edge {part!r} is not 'i-j'")
            if not edges:
                raise InputError(f"motif {spec!r}: no edges")
            n = max(max(e) for e in edges) + 1
            return cls(n, edges, name=text)
        raise InputError(f"unknown motif {spec!r}: use path:k, cycle:k, star:r, clique:k, edge, "
                         "node, triangle or edges:0-1,1-2,...")

    # ------------------------------------------------------------------ structure
    @property
    def n_edges(self):
        return int(self.edges.shape[0])

    def neighbors(self):
        """List of sorted neighbour lists."""
        nbrs = [[] for _ in range(self.n_nodes)]
        for i, j in self.edges.tolist():
            nbrs[i].append(j)
            nbrs[j].append(i)
        return [sorted(v) for v in nbrs]

    @property
    def is_connected(self):
        return len(self._bfs(0)[0]) == self.n_nodes

    @property
    def is_tree(self):
        return self.is_connected and self.n_edges == self.n_nodes - 1

    def _bfs(self, root, nbrs=None):
        nbrs = self.neighbors() if nbrs is None else nbrs
        order, parent = [root], {root: -1}
        for v in order:
            for w in nbrs[v]:
                if w not in parent:
                    parent[w] = v
                    order.append(w)
        return order, parent

    def spanning_tree(self, root=None):
        """A BFS spanning tree (a Motif on the same nodes) from ``root`` (default: the centre)."""
        if not self.is_connected:
            raise InputError(f"motif {self.name} is not connected")
        root = self.center() if root is None else root
        order, parent = self._bfs(root)
        return Motif(self.n_nodes, [(parent[v], v) for v in order[1:]],
                     name=self.name if self.is_tree else f"spanning tree of {self.name}")

    def center(self):
        """A node of least eccentricity (smallest index among ties)."""
        nbrs = self.neighbors()
        best, best_ecc = 0, None
        for v in range(self.n_nodes):
            order, parent = self._bfs(v, nbrs)
            depth = {v: 0}
            for w in order[1:]:
                depth[w] = depth[parent[w]] + 1
            ecc = max(depth.values()) if len(order) == self.n_nodes else math.inf
            if best_ecc is None or ecc < best_ecc:
                best, best_ecc = v, ecc
        return best

    def rooted(self, root=None):
        """(root, order, parent) of a tree motif: BFS order (root first), parent[root] = -1."""
        if not self.is_tree:
            raise InputError(f"motif {self.name} is not a tree")
        root = self.center() if root is None else int(root)
        if not 0 <= root < self.n_nodes:
            raise InputError(f"root {root} is not a node of motif {self.name}")
        order, parent = self._bfs(root)
        par = np.full(self.n_nodes, -1, dtype=np.int64)
        for v, p in parent.items():
            par[v] = p
        return root, np.asarray(order, dtype=np.int64), par

    def edge_set(self):
        return set(map(tuple, self.edges.tolist()))

    def __eq__(self, other):
        return isinstance(other, Motif) and self.n_nodes == other.n_nodes and \
            self.edge_set() == other.edge_set()

    def __hash__(self):
        return hash((self.n_nodes, tuple(sorted(self.edge_set()))))

    def __repr__(self):
        return f"Motif({self.name!r}, nodes={self.n_nodes}, edges={self.n_edges})"


def _need(k, low, kind):
    if not isinstance(k, (int, np.integer)) or k < low:
        raise InputError(f"{kind} motif needs an integer size >= {low}, got {k!r}")


def _csr_of(motif):
    nbrs = motif.neighbors()
    ptr = np.zeros(motif.n_nodes + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([len(v) for v in nbrs])
    idx = np.array([w for v in nbrs for w in v], dtype=np.int64)
    return ptr, idx
