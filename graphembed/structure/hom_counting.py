"""Exact homomorphism counts hom(F, G) of a motif into a network.

Lyu, Memoli & Sivakoff, "Sampling random graph homomorphisms and applications to network data
analysis", JMLR 24 (2023), https://jmlr.org/papers/v24/20-449.html.

A homomorphism x: F -> G of a small motif F = ([k], E_F) into a graph G maps motif nodes to
graph nodes so that every motif edge lands on a graph edge. On a weighted graph with adjacency
A, ``hom(F, G) = sum_x prod_{ij in E_F} A(x_i, x_j)`` and the density is
``t(F, G) = hom(F, G) / n^k``.

A tree motif T, rooted at its centre, is counted by a DP (:func:`tree_tables`): h_i(v) =
number of homomorphisms of the subtree below i with i -> v, computed bottom-up in
O(|T| |E|); hom(T, G) = sum_v h_root(v). The same tables drive the pivot chain of
:mod:`graphembed.structure.hom_sampling`.

Node weights nu > 0 (optional) multiply each map's weight by prod_i nu(x_i): the DP tables
carry them, and t(F, G) = hom(F, G) / (sum_v nu(v))^k.

Exact counts of non-tree motifs use variable elimination (:class:`EliminationPlan`): tables of
n^width entries, each sum pushed over the neighbours of the eliminated node's image.
"""
import math

import numpy as np

from graphembed.io.errors import InputError
from graphembed.structure.motifs import Motif

TABLE_BUDGET = 5e7  # float64 entries the exact elimination DP may hold at once (400 MB)


# ============================================================================ graphs
def as_graph(graph):
    """An undirected ``Graph`` from a Graph, an adjacency matrix or a networkx graph."""
    from graphembed.graph import Graph

    g = Graph.coerce(graph, directed=False)
    if g.directed:
        raise InputError("homomorphisms need an undirected graph (read it with --undirected)")
    return g


def _weights64(g):
    if g.weights is None:
        return np.empty(0, np.float64), False
    return g.weights.astype(np.float64), True


# ============================================================================ exact counts
def tree_tables(g, tree, root=None, node_weights=None):
    """Bottom-up DP of a tree motif: (root, order, parent, h, log_scale).

    h[i] (float64, (n,)) is h_i(v) divided by exp(log_scale[i]) (max 1), with h_i(v) the
    weighted number of homomorphisms of the subtree below motif node i sending i to v
    (times prod of the node weights nu(x_j) of the subtree when ``node_weights`` is given).
    """
    from graphembed._kernels.homs import neighbor_sums

    root, order, parent = tree.rooted(root)
    w, weighted = _weights64(g)
    k, n = tree.n_nodes, g.n_nodes
    children = [[] for _ in range(k)]
    for v in order[1:]:
        children[parent[v]].append(int(v))
    h = [None] * k
    log_scale = np.zeros(k)
    for i in order[::-1]:
        acc = np.ones(n) if node_weights is None else np.array(node_weights, dtype=np.float64)
        for c in children[i]:
            acc *= neighbor_sums(g.indptr, g.indices, w, weighted, h[c])
            log_scale[i] += log_scale[c]
            top = acc.max() if n else 0.0
            if top > 0:
                acc /= top
                log_scale[i] += math.log(top)
        if node_weights is not None and not children[i] and n:
            top = acc.max()
            if top > 0:
                acc /= top
                log_scale[i] += math.log(top)
        h[i] = acc
    return root, order, parent, h, log_scale


def elimination_order(n_nodes, edges):
    """(order, nbrs_at): a min-degree elimination order of a small graph and, for each node,
    its neighbours (fill-in included) when it is eliminated."""
    adj = [set() for _ in range(n_nodes)]
    for i, j in np.asarray(edges).reshape(-1, 2).tolist():
        adj[i].add(j)
        adj[j].add(i)
    remaining = set(range(n_nodes))
    order, nbrs_at = [], {}
    while remaining:
        v = min(remaining, key=lambda u: (len(adj[u]), u))
        nb = set(adj[v])
        for a in nb:
            adj[a].discard(v)
            adj[a].update(nb - {a})
        remaining.discard(v)
        order.append(v)
        nbrs_at[v] = nb
    return order, nbrs_at


def tree_decomposition(n_nodes, edges):
    """(bags, parent) of a tree decomposition of a small graph by min-degree elimination.

    bags: list of tuples of nodes; parent[b] is the index of b's parent bag, -1 at a root
    (a disconnected pattern gives a forest). Width = max bag size - 1.
    """
    order, nbrs_at = elimination_order(n_nodes, edges)
    pos = {v: t for t, v in enumerate(order)}
    bags = [tuple([v] + sorted(nbrs_at[v])) for v in order]
    parent = [pos[min(nbrs_at[v], key=pos.get)] if nbrs_at[v] else -1 for v in order]
    return bags, parent


class EliminationPlan:
    """Variable elimination of a pattern F along an elimination order (the exact count DP).

    Eliminating node v multiplies the pattern edges from v to nodes not yet eliminated, v's
    node weight and every message whose scope holds v, and sums v out: a new message over the
    other variables (its scope, a subset of v's neighbours at elimination time; an empty scope
    is a number). Messages are dense tables of n^|scope| entries, so memory is n^width with
    width = the largest scope (<= the treewidth k of the decomposition the order gives), and
    the kernel pushes each sum from the image y of v over the neighbours of y
    (:func:`graphembed._kernels.homs.eliminate`): O(sum_y deg(y)^e n^(s - e)) per step for e
    edge variables among s, never the n^(k+1) of a dense bag table.

    Parameters
    ----------
    n_nodes, edges : the pattern. order : a permutation of its nodes.

    Attributes
    ----------
    steps : list of (v, input message ids, scope, is_edge flags, merge target); message t is
        step t's output, or is multiplied into the live message ``merge target`` (>= 0) that
        has the same scope.
    width : largest scope size.
    """

    def __init__(self, n_nodes, edges, order):
        order = [int(v) for v in order]
        if sorted(order) != list(range(n_nodes)):
            raise InputError(f"elimination order {order} is not a permutation of 0..{n_nodes - 1}")
        adj = [set() for _ in range(n_nodes)]
        for i, j in np.asarray(edges).reshape(-1, 2).tolist():
            adj[i].add(j)
            adj[j].add(i)
        live, done, steps = {}, set(), []
        for t, v in enumerate(order):
            ins = tuple(sorted(m for m, sc in live.items() if v in sc))
            evars = {u for u in adj[v] if u not in done}
            scope = tuple(sorted(evars.union(*(live[m] for m in ins)) - {v}))
            for m in ins:
                del live[m]
            # a message over the same scope as a live one is multiplied into it (siblings that
            # joined the same clique): one table per scope stays alive, not one per sibling
            into = next((m for m, sc in live.items() if scope and sc == set(scope)), -1)
            steps.append((v, ins, scope, np.array([u in evars for u in scope], dtype=np.bool_), into))
            if into < 0:
                live[t] = set(scope)
            done.add(v)
        self.n_nodes = n_nodes
        self.steps = steps
        self.width = max((len(st[2]) for st in steps), default=0)

    def peak_entries(self, n):
        """Largest number of float64 table entries alive at once on a graph of n nodes."""
        live, peak = {}, 0.0
        for t, (_, ins, scope, _, into) in enumerate(self.steps):
            inputs = sum(live.pop(m) for m in ins)
            out = float(n) ** len(scope)
            peak = max(peak, sum(live.values()) + 2 * inputs + out)
            if into < 0:
                live[t] = out
        return peak

    def log_hom(self, g, node_weights=None):
        """log hom(F, G) (-inf for 0) on an undirected Graph, node-weighted if given."""
        from graphembed._kernels.homs import eliminate

        n = g.n_nodes
        if n == 0:
            return 0.0 if self.n_nodes == 0 else -math.inf
        w, weighted = _weights64(g)
        nu = np.empty(0) if node_weights is None else np.asarray(node_weights, dtype=np.float64)
        messages, log_total = {}, 0.0
        for t, (v, ins, scope, is_edge, into) in enumerate(self.steps):
            at = {var: q for q, var in enumerate(scope)}
            strides = np.zeros((len(ins), len(scope)), dtype=np.int64)
            vstride = np.zeros(len(ins), dtype=np.int64)
            flats = []
            for j, m in enumerate(ins):
                table, sc = messages.pop(m)
                for q, var in enumerate(sc):
                    stride = n ** (len(sc) - 1 - q)
                    if var == v:
                        vstride[j] = stride
                    else:
                        strides[j, at[var]] = stride
                flats.append(table)
            off = np.zeros(len(flats) + 1, dtype=np.int64)
            off[1:] = np.cumsum([f.size for f in flats])
            flat = flats[0] if len(flats) == 1 else (np.concatenate(flats) if flats else np.empty(0))
            out = eliminate(g.indptr, g.indices, w, weighted, nu, nu.size > 0, n, is_edge, flat, off,
                            strides, vstride)
            del flat, flats
            top = float(out.max())
            if not top > 0:
                return -math.inf
            log_total += math.log(top)
            if not scope:
                continue
            out /= top
            if into >= 0:
                table = messages[into][0]
                table *= out
                top = float(table.max())
                if not top > 0:
                    return -math.inf
                table /= top
                log_total += math.log(top)
            else:
                messages[t] = (out, scope)
        return log_total


def hom_count(motif, graph, *, log=False, node_weights=None, max_entries=None):
    """Exact (weighted) number of homomorphisms hom(F, G).

    Parameters
    ----------
    motif : Motif or spec string ("path:3", "cycle:4", "edges:0-1,1-2,...").
    graph : Graph (undirected), scipy sparse or numpy adjacency, or networkx graph.
    log : return the natural log of the count (-inf for 0); use it where the count would
        overflow float64.
    node_weights : None, array (n,) or {node id: weight} of node weights nu > 0: the count
        becomes sum_x prod_i nu(x_i) prod_{ij in E_F} A(x_i, x_j).
    max_entries : float64 table entries the decomposition DP may hold at once (default
        ``TABLE_BUDGET`` = 5e7, 400 MB); InputError beyond it.

    Returns
    -------
    float: sum over maps x of prod_{ij in E_F} A(x_i, x_j). A tree motif uses the rooted-tree
    DP in O(|F| |E|); any other motif variable elimination along a min-degree order of F
    (:class:`EliminationPlan`: tables of n^width entries, width <= treewidth).

    Examples
    --------
    >>> import graphembed as ge
    >>> g = ge.Graph.from_edges([0, 1, 2], [1, 2, 0])
    >>> ge.hom_count("cycle:3", g), ge.hom_count("path:3", g)
    (6.0, 12.0)
    """
    f = Motif.parse(motif)
    g = as_graph(graph)
    n = g.n_nodes
    if n == 0:
        value = 1.0 if f.n_nodes == 0 else 0.0
        return math.log(value) if value > 0 and log else (-math.inf if log else value)
    nu = check_node_weights(node_weights, g)
    if f.is_tree:
        root, _, _, h, scale = tree_tables(g, f, node_weights=nu)
        total = float(h[root].sum())
        value = math.log(total) + float(scale[root]) if total > 0 else -math.inf
    else:
        plan = EliminationPlan(f.n_nodes, f.edges, elimination_order(f.n_nodes, f.edges)[0])
        check_table_budget(plan, n, TABLE_BUDGET if max_entries is None else max_entries, f.name)
        value = plan.log_hom(g, nu)
    if log:
        return value
    return math.exp(value) if value > -math.inf else 0.0


def check_table_budget(plan, n, budget, name):
    """InputError when the DP of ``plan`` on n nodes would hold more than ``budget`` entries."""
    need = plan.peak_entries(n)
    if need > budget:
        raise InputError(f"exact hom({name}, G) on {n} nodes needs DP tables of {need:.3g} float64 "
                         f"entries ({8 * need / 2**30:.1f} GiB; width {plan.width}: n^{plan.width} per "
                         f"table), over the budget of {budget:.3g}; use a smaller graph or pattern, "
                         "raise the budget, or sample (HomomorphismSampler / graphembed homs)")


def check_node_weights(node_weights, g):
    """None, or float64 (n,) node weights nu > 0 from an array or a {node id: weight} dict."""
    if node_weights is None:
        return None
    if isinstance(node_weights, dict):
        nu = np.full(g.n_nodes, np.nan)
        idx = g.index_of(list(node_weights.keys()))
        nu[idx] = np.asarray(list(node_weights.values()), dtype=np.float64)
        missing = np.flatnonzero(np.isnan(nu))
        if missing.size:
            raise InputError(f"node_weights: no weight for {missing.size} node(s), e.g. node "
                             f"{g.node_ids[missing[0]]!r}")
    else:
        try:
            nu = np.asarray(node_weights, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError("node_weights must be an array of numbers or a {node: weight} dict") from None
        if nu.shape != (g.n_nodes,):
            raise InputError(f"node_weights must have one weight per node ({g.n_nodes}), "
                             f"got shape {nu.shape}")
    bad = np.flatnonzero(~(np.isfinite(nu) & (nu > 0)))
    if bad.size:
        raise InputError(f"node weights must be finite and > 0; node {g.node_ids[bad[0]]!r} has "
                         f"{nu[bad[0]]!r} (drop a node rather than give it weight 0)")
    return np.ascontiguousarray(nu)
