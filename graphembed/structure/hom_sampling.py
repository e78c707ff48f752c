"""MCMC sampling of random homomorphisms from a motif into a network.

Lyu, Memoli & Sivakoff, "Sampling random graph homomorphisms and applications to network data
analysis", JMLR 24 (2023), https://jmlr.org/papers/v24/20-449.html.

With A, hom(F, G) and t(F, G) as in :mod:`graphembed.structure.hom_counting`, the samplers draw
x from pi(x) ~ prod_{ij in E_F} A(x_i, x_j) (uniform over homomorphisms of a simple graph) and
average observables along the chain:

* the conditional density t(H, G | F) = E_pi[prod_{ij in E_H \\ E_F} A(x_i, x_j)] for H adding
  edges to F (e.g. t(K3 | path:3) = trace(A^3) / sum deg^2);
* the density t(F, G) of any connected motif: exact for a tree (DP below), otherwise
  t(T, G) * t(F, G | T) with T a spanning tree of F;
* the conditional-density profile s -> P(min_{ij in E_H} A(x_i, x_j) >= s);
* the matrix of average clustering coefficients MACC[i, j] = E_pi[A(x_i, x_j)] for a k-chain.

Chains (on a spanning tree T of the motif, rooted at its centre):

* ``"pivot"`` (exact): h_i(v) = number of homomorphisms of the subtree below i with i -> v,
  computed bottom-up in O(|T| |E|). The root image moves by Metropolis-Hastings on the random
  walk of G, accepting a -> b with probability min(1, h_root(b) d(a) / (h_root(a) d(b))), so its
  stationary law is ~ h_root, the exact root marginal of pi; then each child is redrawn from
  its parent's image's neighbours with probability ~ A(u, w) h_child(w). The walk is lazy
  (probability 1/2 of staying) when a component of G is bipartite.
* ``"glauber"``: a motif node chosen uniformly is resampled from the common neighbourhood of
  its motif-neighbours' images, weighted by the product of the edge weights (unweighted: by
  rejection from the smallest of those neighbourhoods, with an exact scan as fallback).

When G has several components with edges, a step of either chain is, with probability 0.01,
an exact draw from pi instead (root ~ h_root, then the children): an independence move that is
always accepted, keeps pi invariant and makes the chain irreducible across components.

Node weights nu > 0 (optional) multiply pi by prod_i nu(x_i): the DP tables, the children's
draws and the Glauber conditionals carry them, and t(F, G) = hom(F, G) / (sum_v nu(v))^k.

Rao-Blackwellisation (default for Glauber): an observed state contributes the conditional
expectation of the observable given every image but one (the node just resampled, or a leaf the
observable involves), computed exactly by one scan of a neighbourhood; its mean under pi is the
same, its variance lower.

Standard errors come from batch means (each chain's samples cut into consecutive batches) and
the effective sample size is ``N * var(sample) / (batch size * var(batch means))``.
"""
import math
import time
from dataclasses import dataclass, field

import numpy as np

from graphembed import params
from graphembed.base import BaseEstimator
from graphembed.io.errors import InputError
from graphembed.structure.hom_counting import _weights64, as_graph, check_node_weights, tree_tables
from graphembed.structure.motifs import Motif, _csr_of

CHAINS = params.HOM_CHAINS


@dataclass
class HomResult:
    """What a :class:`HomomorphismSampler` observable returns.

    Attributes
    ----------
    observable : "density", "conditional_density", "profile" or "macc".
    estimate : float, or float64 array (profile: one value per threshold; macc: (k, k)).
    std_error : same shape: batch-means standard error of the estimate (0 where exact).
    ess : same shape: effective sample size of the time average (inf where exact).
    n_samples : observed states, all chains together (after burn-in and thinning).
    n_steps : chain steps run, all chains together, burn-in included.
    n_chains, chain, motif : how it was sampled.
    acceptance_rate : share of accepted pivot root moves (None for Glauber).
    seconds : sampling wall time; steps_per_second = n_steps / seconds.
    exact : True when the value came from the DP with no sampling.
    rao_blackwell : True when observations were Rao-Blackwellised (see HomomorphismSampler).
    info : extra facts (tree density t(T, G), log hom(T, G), thresholds, target motif, ...).
    """

    observable: str
    estimate: object
    std_error: object
    ess: object
    n_samples: int = 0
    n_steps: int = 0
    n_chains: int = 0
    chain: str = ""
    motif: str = ""
    acceptance_rate: float | None = None
    seconds: float = 0.0
    exact: bool = False
    rao_blackwell: bool = False
    info: dict = field(default_factory=dict)

    @property
    def steps_per_second(self):
        return self.n_steps / self.seconds if self.seconds > 0 else math.inf

    def to_dict(self):
        """Plain-python dict (lists for arrays; inf/nan become None) for JSON."""
        def plain(v):
            if isinstance(v, np.ndarray):
                return [plain(x) for x in v.tolist()] if v.ndim else plain(v.item())
            if isinstance(v, list):
                return [plain(x) for x in v]
            if isinstance(v, (float, np.floating)):
                return float(v) if math.isfinite(v) else None
            if isinstance(v, np.integer):
                return int(v)
            if isinstance(v, dict):
                return {k: plain(x) for k, x in v.items()}
            return v

        out = {k: plain(getattr(self, k)) for k in (
            "observable", "estimate", "std_error", "ess", "n_samples", "n_steps", "n_chains",
            "chain", "motif", "acceptance_rate", "seconds", "exact", "rao_blackwell")}
        out["steps_per_second"] = plain(float(self.steps_per_second))
        out.update(plain(self.info))
        return out


class HomomorphismSampler(BaseEstimator):
    """MCMC sampling of random homomorphisms F -> G (Lyu, Memoli & Sivakoff, JMLR 2023).

    Parameters
    ----------
    motif : Motif or spec ("path:3", "cycle:4", "star:3", "edges:0-1,1-2"); must be connected.
        Chains run on its spanning tree T rooted at the centre (T = F for a tree).
    chain : "pivot" (exact MH root move + DP child redraws) or "glauber".
    n_steps : chain steps to observe, all chains together (each chain runs
        ceil(n_steps / n_chains) after its burn-in). One pivot step moves the root and redraws
        the tree; one Glauber step resamples one motif node.
    n_chains : independent chains, run in parallel (results do not depend on the threads).
    burn_in : steps each chain runs before it is observed.
    thin : observe every ``thin``-th state.
    root : motif node to root the spanning tree at (default: its centre).
    lazy : "auto" (lazy walk iff a component of G is bipartite), True or False.
    restart : "auto" (0.01 iff G has several components with edges) or the probability that
        a step (either chain) is an exact draw from pi instead (root ~ h_root, then the tree).
    n_batches : batches per chain for the batch-means standard error.
    node_weights : None, an array (n,) of node weights nu > 0 in the graph's node order, or a
        dict {node id: weight} covering every node. The target becomes
        pi(x) ~ prod_i nu(x_i) prod_{ij in E_F} A(x_i, x_j), hom(F, G) the node-weighted count
        and t(F, G) = hom(F, G) / (sum_v nu(v))^k.
    rao_blackwell : "auto" (Glauber only), True or False. Average each observed value over
        the exact conditional law of one motif node's image given the others (the node a
        Glauber step just resampled if the observable involves it, else a leaf of T that it
        involves; the pivot chain always that leaf) instead of using the single draw: the same
        expectation, a lower variance per step, at the cost of one neighbourhood scan per
        observation (on BlogCatalog: about half the variance of t(K3 | path:3) per Glauber
        step, 7 times fewer steps per CPU-second; for the pivot chain it costs more than it
        gains, hence "auto").
    random_state : None, int or numpy Generator. Chain c uses the splitmix64 stream (seed, c).
    n_jobs : numba threads (None or -1: all cores).

    Attributes (after ``fit``)
    --------------------------
    graph_, motif_, tree_ : the graph, motif and spanning tree.
    log_hom_tree_ : log hom(T, G), exact (tree DP). tree_density_ : t(T, G) = hom(T, G) / n^k.

    Examples
    --------
    >>> import graphembed as ge
    >>> g, _ = ge.datasets.karate()
    >>> s = ge.HomomorphismSampler("path:3", n_steps=20000, random_state=0).fit(g)
    >>> r = s.conditional_density("clique:3")    # t(K3, G | path:3) = 270 / 1212 = 0.2228
    >>> round(r.estimate, 1), r.std_error < 0.01
    (0.2, True)
    """

    def __init__(self, motif="path:3", chain="pivot", n_steps=1_000_000, n_chains=8, burn_in=1000,
                 thin=1, root=None, lazy="auto", restart="auto", n_batches=25, node_weights=None,
                 rao_blackwell="auto", random_state=None, n_jobs=None):
        self.motif = motif
        self.chain = chain
        self.n_steps = n_steps
        self.n_chains = n_chains
        self.burn_in = burn_in
        self.thin = thin
        self.root = root
        self.lazy = lazy
        self.restart = restart
        self.n_batches = n_batches
        self.node_weights = node_weights
        self.rao_blackwell = rao_blackwell
        self.random_state = random_state
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ validation
    parameters = params.HOM_SAMPLER

    def _validate(self):
        """The table's checks, then what it cannot express: the motif parses and is connected,
        and ``root`` is one of its nodes (the node weights are checked against the graph)."""
        self._check_params()
        motif = Motif.parse(self.motif)
        if motif.n_nodes < 2 or not motif.is_connected:
            raise InputError(f"motif {motif.name} must be connected with at least 2 nodes")
        if self.root is not None and not 0 <= self.root < motif.n_nodes:
            raise InputError(f"root must be a node of motif {motif.name} (0..{motif.n_nodes - 1}), "
                             f"got {self.root!r}")
        return motif

    def fit(self, graph):
        """Validate, build the tree DP tables and the chain's arrays for ``graph``."""
        from scipy.sparse.csgraph import connected_components

        from graphembed._kernels.homs import row_cumsums
        from graphembed.base import check_seed, numba_threads

        motif = self._validate()
        g = as_graph(graph)
        if g.nnz == 0:
            raise InputError("the graph has no edges: no homomorphism of a motif with edges")
        self.seed_ = check_seed(self.random_state)
        nu = check_node_weights(self.node_weights, g)
        has_nw = nu is not None
        tree = motif.spanning_tree(self.root)
        w, weighted = _weights64(g)
        with numba_threads(self.n_jobs):
            root, order, parent, h, scale = tree_tables(g, tree, self.root, nu)
            cums, cum_id = [], np.full(tree.n_nodes, -1, dtype=np.int64)
            leaves = {int(i) for i in order if not np.any(parent == i)}
            for i in order[1:]:
                if weighted or has_nw or int(i) not in leaves:
                    out = np.empty(g.nnz)
                    row_cumsums(g.indptr, g.indices, w, weighted, h[i], out)
                    cum_id[i] = len(cums)
                    cums.append(out)
            walk_cum = np.empty(0)
            if weighted:
                walk_cum = np.empty(g.nnz)
                row_cumsums(g.indptr, g.indices, w, True, np.ones(g.n_nodes), walk_cum)
            leaf_cum = walk_cum
            if has_nw:
                leaf_cum = np.empty(g.nnz)
                row_cumsums(g.indptr, g.indices, w, weighted, nu, leaf_cum)
        self.node_weights_ = nu
        self._nu = nu if has_nw else np.empty(0)
        self.leaf_cum_ = leaf_cum
        self.cums_ = np.stack(cums) if cums else np.zeros((1, 0))
        self.cum_id_ = cum_id
        self.walk_cum_ = walk_cum
        h_root = h[root]
        total = float(h_root.sum())
        self.log_hom_tree_ = math.log(total) + float(scale[root])
        self.log_total_weight_ = math.log(float(nu.sum())) if has_nw else math.log(g.n_nodes)
        self.tree_density_ = math.exp(self.log_hom_tree_ - tree.n_nodes * self.log_total_weight_)
        self.h_root_ = h_root
        self.root_cum_ = np.cumsum(h_root)
        self.degree_ = g.weighted_degree()
        self.h_over_deg_ = np.divide(h_root, self.degree_, out=np.zeros_like(h_root),
                                     where=self.degree_ > 0)
        deg = g.out_degree()
        self.start_nodes_ = np.flatnonzero((deg > 0) & (h_root > 0)).astype(np.int64)
        self.max_degree_ = int(deg.max())
        # components with edges; bipartite iff the bipartite double cover doubles them
        import scipy.sparse as sp

        a = g.to_scipy()
        n_comp, labels = connected_components(a, directed=False)
        with_edges = np.unique(labels[deg > 0]).size
        cover = sp.bmat([[None, a], [a, None]]).tocsr()
        n_cover, _ = connected_components(cover, directed=False)
        isolated = n_comp - with_edges
        bipartite_any = (n_cover - 2 * isolated) > with_edges
        self.n_components_ = int(with_edges)
        self.bipartite_ = bool(bipartite_any)
        lazy = bipartite_any if _is_auto(self.lazy) else bool(self.lazy)
        self.lazy_p_ = 0.5 if lazy else 0.0
        self.restart_p_ = (0.01 if with_edges > 1 else 0.0) if _is_auto(self.restart) else float(self.restart)
        self.root_, self.order_, self.parent_ = root, order, parent
        t_ptr, t_idx = _csr_of(tree)
        self.t_ptr_, self.t_idx_ = t_ptr, t_idx
        self.graph_, self.motif_, self.tree_ = g, motif, tree
        self._w, self._weighted = w, weighted
        return self

    # ------------------------------------------------------------------ running
    def _run(self, pairs, kind, thresholds, n_out):
        from graphembed._kernels.homs import run_chains
        from graphembed.base import check_is_fitted, numba_threads

        check_is_fitted(self, "graph_")
        g = self.graph_
        per_chain = -(-int(self.n_steps) // int(self.n_chains))
        n_samples = max(1, -(-per_chain // int(self.thin)))
        n_batches = int(min(self.n_batches, n_samples))
        pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        t0 = time.perf_counter()
        with numba_threads(self.n_jobs):
            sums, counts, sq, acc, prop = run_chains(
                g.indptr, g.indices, self._w, self._weighted, self._nu, self._nu.size > 0,
                self.h_over_deg_, self.walk_cum_, self.leaf_cum_, self.leaf_cum_.size > 0,
                self.root_cum_, self.start_nodes_, self.order_, self.parent_,
                self.cums_, self.cum_id_, self.t_ptr_, self.t_idx_, self.chain == "glauber",
                self.lazy_p_, self.restart_p_, pairs, kind, np.asarray(thresholds, np.float64),
                n_out, self._uses_rb(), self._rb_node(pairs), self.seed_, int(self.n_chains),
                int(self.burn_in), n_samples, int(self.thin), n_batches, self.max_degree_)
        seconds = time.perf_counter() - t0
        mean, se, ess = _batch_stats(sums, counts, sq)
        steps = int(self.n_chains) * (int(self.burn_in) + n_samples * int(self.thin))
        rate = float(acc.sum() / prop.sum()) if self.chain == "pivot" and prop.sum() else None
        common = dict(n_samples=int(counts.sum()), n_steps=steps, n_chains=int(self.n_chains),
                      chain=self.chain, rao_blackwell=self._uses_rb(), motif=self.motif_.name,
                      acceptance_rate=rate, seconds=seconds)
        return mean, se, ess, common

    def _uses_rb(self):
        if _is_auto(self.rao_blackwell):
            return self.chain == "glauber"
        return bool(self.rao_blackwell)

    def _rb_node(self, pairs):
        """The motif node whose conditional law a pivot-chain observation averages over.

        A leaf of the spanning tree (its conditional law needs one neighbourhood scan and its
        normaliser is a row total) that occurs in the most observable pairs; -1 if none does.
        A Glauber chain averages over the node it just resampled instead (this one before).
        """
        k = self.tree_.n_nodes
        counts = np.bincount(pairs[pairs[:, 0] != pairs[:, 1]].ravel(), minlength=k)
        leaves = [i for i in range(k) if self.t_ptr_[i + 1] - self.t_ptr_[i] == 1]
        best = max(leaves, key=lambda i: (counts[i], -i), default=-1)
        if best < 0 or counts[best] == 0:
            return -1
        return int(best)

    def _extra_pairs(self, target):
        t = Motif.parse(target)
        if t.n_nodes != self.motif_.n_nodes:
            raise InputError(f"target motif {t.name} has {t.n_nodes} nodes, motif {self.motif_.name} "
                             f"has {self.motif_.n_nodes}: H must add edges to F on the same nodes")
        base = self.motif_.edge_set()
        missing = base - t.edge_set()
        if missing:
            raise InputError(f"target motif {t.name} lacks motif edges {sorted(missing)}: "
                             "H must contain every edge of F")
        return t, sorted(t.edge_set() - base)

    def density(self):
        """t(F, G) = hom(F, G) / n^k: exact for a tree, else t(T, G) * mean of prod over F \\ T."""
        from graphembed._kernels.homs import OBS_PRODUCT

        self._check_fitted()
        info = {"tree_density": self.tree_density_, "log_hom_tree": self.log_hom_tree_,
                "nodes": self.graph_.n_nodes}
        if self.motif_.is_tree:
            return HomResult("density", self.tree_density_, 0.0, math.inf, chain="tree DP",
                             motif=self.motif_.name, exact=True,
                             info={**info, "log_hom": self.log_hom_tree_})
        extra = sorted(self.motif_.edge_set() - self.tree_.edge_set())
        mean, se, ess, common = self._run(extra, OBS_PRODUCT, np.empty(0), 1)
        est = self.tree_density_ * mean[0]
        info["conditional_given_tree"] = float(mean[0])
        info["log_hom"] = math.log(est) + self.motif_.n_nodes * self.log_total_weight_ \
            if est > 0 else -math.inf
        return HomResult("density", float(est), float(self.tree_density_ * se[0]), float(ess[0]),
                         **common, info=info)

    def conditional_density(self, target):
        """t(H, G | F) = E_pi[prod over edges of H not in F of A(x_i, x_j)] (F a tree)."""
        from graphembed._kernels.homs import OBS_PRODUCT

        self._check_tree("conditional_density")
        t, extra = self._extra_pairs(target)
        if not extra:
            return HomResult("conditional_density", 1.0, 0.0, math.inf, motif=self.motif_.name,
                             exact=True, info={"target": t.name})
        mean, se, ess, common = self._run(extra, OBS_PRODUCT, np.empty(0), 1)
        return HomResult("conditional_density", float(mean[0]), float(se[0]), float(ess[0]),
                         **common, info={"target": t.name})

    def profile(self, thresholds, target=None):
        """s -> P(min_{ij in E_H} A(x_i, x_j) >= s | x ~ pi_F), one value per threshold.

        ``target`` H defaults to the motif itself (F a tree); H must contain F's edges.
        """
        from graphembed._kernels.homs import OBS_PROFILE

        self._check_tree("profile")
        s = np.asarray(thresholds, dtype=np.float64).reshape(-1)
        if s.size == 0 or not np.all(np.isfinite(s)):
            raise InputError("thresholds must be a non-empty list of finite numbers")
        t = self.motif_ if target is None else self._extra_pairs(target)[0]
        mean, se, ess, common = self._run(sorted(t.edge_set()), OBS_PROFILE, s, s.size)
        return HomResult("profile", mean, se, ess, **common,
                         info={"thresholds": s, "target": t.name})

    def macc(self):
        """MACC[i, j] = E_pi[A(x_i, x_j)] over all motif node pairs (k x k, symmetric)."""
        from graphembed._kernels.homs import OBS_PAIRS

        self._check_tree("macc")
        k = self.motif_.n_nodes
        pairs = [(i, j) for i in range(k) for j in range(i, k)]
        mean, se, ess, common = self._run(pairs, OBS_PAIRS, np.empty(0), len(pairs))
        mats = []
        for v in (mean, se, ess):
            m = np.zeros((k, k))
            for q, (i, j) in enumerate(pairs):
                m[i, j] = m[j, i] = v[q]
            mats.append(m)
        return HomResult("macc", *mats, **common)

    def _check_fitted(self):
        from graphembed.base import check_is_fitted

        check_is_fitted(self, "graph_")

    def _check_tree(self, what):
        self._check_fitted()
        if not self.motif_.is_tree:
            raise InputError(f"{what} needs a tree motif F; {self.motif_.name} is not a tree")

    def __repr__(self):
        return (f"HomomorphismSampler(motif={self.motif!r}, chain={self.chain!r}, "
                f"n_steps={self.n_steps}, n_chains={self.n_chains})")


def _is_auto(value):
    return isinstance(value, str) and value == "auto"


def _batch_stats(sums, counts, sq):
    """(mean, batch-means standard error, effective sample size), each (n_out,)."""
    total = counts.sum()
    mean = sums.sum(axis=(0, 1)) / total
    ok = counts > 0
    bm = sums[ok] / counts[ok][:, None]  # (n_batch_entries, n_out)
    nb = bm.shape[0]
    var_iid = np.maximum(sq.sum(axis=0) / total - mean ** 2, 0.0)
    if nb < 2:
        return mean, np.full_like(mean, np.nan), np.full_like(mean, np.nan)
    var_b = bm.var(axis=0, ddof=1)
    se = np.sqrt(var_b / nb)
    size = total / nb
    with np.errstate(divide="ignore", invalid="ignore"):
        ess = np.where(var_b > 0, total * var_iid / (size * var_b), float(total))
    return mean, se, np.minimum(ess, float(total))
