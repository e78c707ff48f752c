"""Graph embeddings made of homomorphism counts of random partial k-trees.

Welke, Thiessen, Jogl & Gaertner, "Expectation-complete graph representations with
homomorphisms", ICML 2023, https://proceedings.mlr.press/v202/welke23a.html.

Each graph G of a collection becomes the vector (hom(F_1, G), ..., hom(F_L, G)) for patterns
F_1..F_L: the single node, the edge, the 2-path and the triangle, then ``n_patterns`` random
partial k-trees. A random pattern is drawn as

* size N = min_size + Geometric(p) (number of failures), with p chosen so P(N <= max_size) = 0.99;
* treewidth k = min(U{1, 2, 3} + Poisson(treewidth_poisson), cap, N - 1), where the cap is
  ``max_treewidth`` if given, else the largest k whose DP tables (n^k entries, n the largest
  graph seen by ``fit``) fit ``memory_budget``: the draw follows the paper wherever the
  memory allows (41-node CSL graphs: k <= 4; 80-node graphs: k <= 3; 600 nodes: k <= 2);
* a random k-tree: a (k+1)-clique, then each new node joined to a uniformly chosen k-clique
  of the graph built so far;
* each edge kept with probability ``edge_keep`` (0.9): a partial k-tree.

The construction gives a tree decomposition directly (bag of node v = v plus the k-clique it
joined), so hom(F, G) is computed exactly by variable elimination in reverse construction
order (:class:`graphembed.structure.hom_counting.EliminationPlan`, numba): each eliminated
node's later neighbours lie in its k-clique, so the tables have at most n^k entries, and each
sum runs from the eliminated node's image y over the neighbours of y only, O(sum_y deg(y)^e
n^(k - e)) per node for e pattern edges to the clique instead of n^(k+1) (float64 with
per-message rescaling into a log scale: no overflow).
"""

import numpy as np

from graphembed import params
from graphembed.base import BaseEstimator
from graphembed.io.errors import InputError
from graphembed.structure.hom_counting import EliminationPlan, as_graph, elimination_order, tree_decomposition
from graphembed.structure.motifs import Motif

REPRESENTATIONS = params.HOM_REPRESENTATIONS
FIXED = ("node", "edge", "path:3", "triangle")


class Pattern:
    """A pattern graph with a tree decomposition: ``motif``, ``bags``, ``parent``, ``treewidth``,
    and the elimination ``order`` (and its :class:`EliminationPlan`, ``plan``) the DP uses."""

    def __init__(self, motif, bags, parent, treewidth, order):
        self.motif = motif
        self.bags = bags
        self.parent = parent
        self.treewidth = treewidth
        self.order = list(order)
        self.plan = EliminationPlan(motif.n_nodes, motif.edges, self.order)

    @property
    def n_nodes(self):
        return self.motif.n_nodes

    def __repr__(self):
        return f"Pattern({self.motif.n_nodes} nodes, {self.motif.n_edges} edges, treewidth<={self.treewidth})"


def random_partial_ktree(rng, size, k, edge_keep):
    """A Pattern: random k-tree on ``size`` nodes, each edge kept with probability edge_keep."""
    k = max(0, min(int(k), size - 1))
    first = list(range(k + 1))
    edges = [(i, j) for i in first for j in first if i < j]
    bags, parent = [tuple(first)], [-1]
    cliques = [(tuple(c for c in first if c != u), 0) for u in first] if k > 0 else [((), 0)]
    for v in range(k + 1, size):
        clique, bag = cliques[int(rng.integers(len(cliques)))]
        edges += [(u, v) for u in clique]
        bags.append(tuple(clique) + (v,))
        parent.append(bag)
        new = len(bags) - 1
        cliques += [(tuple(sorted([c for c in clique if c != u] + [v])), new) for u in clique] \
            if k > 0 else [((), new)]
    kept = [e for e in edges if rng.random() < edge_keep]
    motif = Motif(size, kept, name=f"partial {k}-tree, {size} nodes, {len(kept)} edges")
    # eliminating in reverse construction order: node v's later neighbours are all in the
    # k-clique it joined, so every DP table has at most k variables
    return Pattern(motif, bags, parent, k, range(size - 1, -1, -1))


def fixed_pattern(spec):
    m = Motif.parse(spec)
    bags, parent = tree_decomposition(m.n_nodes, m.edges)
    return Pattern(m, bags, parent, max(len(b) for b in bags) - 1, elimination_order(m.n_nodes, m.edges)[0])


class HomomorphismEmbedding(BaseEstimator):
    """Homomorphism-count embeddings of a collection of graphs (Welke et al., ICML 2023).

    Parameters
    ----------
    n_patterns : int, number of random partial k-tree patterns l.
    min_size : smallest random pattern size (nodes).
    max_size : size with P(size <= max_size) = 0.99; None: the largest graph seen by ``fit``
        (at least ``min_size``), capped at ``size_cap``.
    edge_keep : probability of keeping each edge of the random k-tree.
    treewidth_poisson : mean of the Poisson part of the treewidth draw.
    max_treewidth : None (default) or a cap on the treewidth k. None: the largest k with
        4 n^k <= ``memory_budget`` for the largest graph n seen by ``fit`` (memory is the only
        hard limit: the DP holds a few tables of n^k entries); a drawn pattern whose tables
        would still not fit that graph is redrawn one treewidth lower. A given cap that does
        not fit a graph raises InputError in ``transform`` rather than running out of memory.
    fixed_patterns : prepend the single node, edge, 2-path and triangle counts.
    representation : "log1p" (log(1 + hom), default), "density" (hom / n^|F|) or "count".
    size_cap : cap for the automatic ``max_size``.
    memory_budget : float64 entries the DP may hold at once for one graph (default 2e7, 160 MB).
    random_state : None, int or numpy Generator (patterns depend only on it and max_size).
    verbose : show a progress bar of the counts on stderr (only on a terminal).

    Attributes
    ----------
    patterns_ : list of Pattern (``.motif``, ``.bags``, ``.parent``, ``.treewidth``).
    pattern_names_ : list of str, one per output column.
    treewidth_cap_ : the cap applied to the drawn treewidths.

    ``fit_transform(graphs)`` returns a float64 array (n_graphs, 4 + n_patterns) (without the
    4 fixed columns when ``fixed_patterns=False``); row i belongs to ``graphs[i]``.

    Examples
    --------
    >>> import graphembed as ge, networkx as nx
    >>> graphs = [nx.cycle_graph(6), nx.path_graph(6)]
    >>> X = ge.HomomorphismEmbedding(n_patterns=5, random_state=0).fit_transform(graphs)
    >>> X.shape
    (2, 9)
    """

    graph_level = True  # one row per graph
    parameters = params.HOM_EMBEDDING

    def __init__(self, n_patterns=50, min_size=3, max_size=None, edge_keep=0.9,
                 treewidth_poisson=0.5, max_treewidth=None, fixed_patterns=True,
                 representation="log1p", size_cap=30, memory_budget=2e7, random_state=None,
                 verbose=False):
        self.n_patterns = n_patterns
        self.min_size = min_size
        self.max_size = max_size
        self.edge_keep = edge_keep
        self.treewidth_poisson = treewidth_poisson
        self.max_treewidth = max_treewidth
        self.fixed_patterns = fixed_patterns
        self.representation = representation
        self.size_cap = size_cap
        self.memory_budget = memory_budget
        self.random_state = random_state
        self.verbose = verbose

    def _validate(self):
        """The table's checks, then the two it cannot express (they join two parameters)."""
        self._check_params()
        if self.max_size is not None and self.max_size < self.min_size:
            raise InputError(f"max_size ({self.max_size}) must be >= min_size ({self.min_size})")
        if self.n_patterns == 0 and not self.fixed_patterns:
            raise InputError("no patterns: set n_patterns > 0 or fixed_patterns=True")

    @staticmethod
    def _graphs(graphs):
        if not isinstance(graphs, (list, tuple)):
            graphs = list(graphs)
        if not graphs:
            raise InputError("expected a non-empty list of graphs")
        return [as_graph(g) for g in graphs]

    def fit(self, graphs):
        """Draw the patterns (sizes scaled to ``graphs`` when max_size is None)."""
        from graphembed.base import check_seed

        self._validate()
        gs = self._graphs(graphs)
        self.seed_ = check_seed(self.random_state)
        largest = max(g.n_nodes for g in gs)
        top = self.max_size if self.max_size is not None else min(max(largest, self.min_size), self.size_cap)
        self.max_size_ = int(max(top, self.min_size))
        span = self.max_size_ - self.min_size + 1
        p = 1.0 - 0.01 ** (1.0 / span)  # P(min + Geom(p) <= max) = 1 - (1 - p)^span = 0.99
        if self.max_treewidth is not None:
            cap = int(self.max_treewidth)
        else:
            cap = 1
            while 4 * float(max(largest, 2)) ** (cap + 1) <= float(self.memory_budget):
                cap += 1
        self.treewidth_cap_ = cap
        rng = np.random.default_rng(self.seed_)
        patterns = [fixed_pattern(s) for s in FIXED] if self.fixed_patterns else []
        for _ in range(self.n_patterns):
            size = self.min_size + int(rng.geometric(p)) - 1
            k = int(rng.integers(1, 4)) + int(rng.poisson(self.treewidth_poisson))
            k = min(k, cap)
            pattern = random_partial_ktree(rng, size, k, float(self.edge_keep))
            while self.max_treewidth is None and k > 1 and \
                    pattern.plan.peak_entries(largest) > float(self.memory_budget):
                k -= 1  # its tables would not fit: redraw one treewidth lower
                pattern = random_partial_ktree(rng, size, k, float(self.edge_keep))
            patterns.append(pattern)
        self.patterns_ = patterns
        self.pattern_names_ = [p.motif.name for p in patterns]
        return self

    def transform(self, graphs):
        """(n_graphs, n_columns) float64 array of the chosen representation."""
        from graphembed.base import check_is_fitted

        check_is_fitted(self, "patterns_")
        gs = self._graphs(graphs)
        logs = self.log_hom(gs)
        sizes = np.array([p.n_nodes for p in self.patterns_], dtype=np.float64)
        n = np.array([g.n_nodes for g in gs], dtype=np.float64)
        if self.representation == "log1p":
            with np.errstate(over="ignore"):
                return np.where(np.isneginf(logs), 0.0,
                                np.where(logs > 0, logs + np.log1p(np.exp(-np.abs(logs))),
                                         np.log1p(np.exp(np.minimum(logs, 0.0)))))
        if self.representation == "density":
            with np.errstate(divide="ignore"):
                return np.exp(logs - sizes[None, :] * np.log(np.maximum(n, 1.0))[:, None])
        return np.exp(logs)

    def fit_transform(self, graphs):
        gs = self._graphs(graphs)
        return self.fit(gs).transform(gs)

    def log_hom(self, graphs):
        """(n_graphs, n_patterns) float64 log hom(F_j, G_i) (-inf where the count is 0)."""
        from graphembed.base import check_is_fitted, progress
        from graphembed.structure.hom_counting import check_table_budget

        check_is_fitted(self, "patterns_")
        gs = self._graphs(graphs)
        out = np.empty((len(gs), len(self.patterns_)))
        with progress(len(self.patterns_), "homomorphism counts", bool(self.verbose)) as bar:
            for j, p in enumerate(self.patterns_):
                for i, g in enumerate(gs):
                    check_table_budget(p.plan, g.n_nodes, self.memory_budget, p.motif.name)
                    out[i, j] = p.plan.log_hom(g)
                bar.update(1)
        return out

    def __repr__(self):
        return f"HomomorphismEmbedding(n_patterns={self.n_patterns}, representation={self.representation!r})"
