"""Declared parameters: what each estimator accepts, defined once and free of numpy, so that the
CLI builds its flags (and the service its JSON Schema) without importing the estimators.

A :class:`Param` gives a parameter's kind, range, choices, default and one-line help; the tables
below list every estimator's parameters in ``__init__`` order, and the estimators validate with
them (:meth:`graphembed.base.BaseEmbedder._check_params`).
"""
import math
import numbers
import sys

from graphembed._limits import MAX_SAMPLES
from graphembed.io.errors import InputError

_JSON_TYPES = {"int": "integer", "float": "number", "bool": "boolean", "str": "string"}


class Param:
    """One declared parameter.

    kind : "int", "float", "bool", "str" or "floats" (a non-empty sequence of floats).
    default : the value ``__init__`` uses (must itself pass the checks).
    low, high : inclusive bounds for numbers (``low_open`` / ``high_open`` make them strict).
    choices : the accepted values of a "str" parameter.
    also : literal values accepted besides the kind (e.g. ``("auto",)``, ``(None,)``).
    instances : classes whose instances are accepted too, or "module.Class" names of classes
        looked up only when that module is loaded (a numpy Generator as a seed).
    help : one line for docs, CLI help and the schema.
    cli : flag name when it differs from the parameter name with dashes.
    """

    def __init__(self, kind, default, *, low=None, high=None, low_open=False, high_open=False,
                 choices=None, also=(), instances=(), help="", cli=None):
        if kind not in ("int", "float", "bool", "str", "floats"):
            raise ValueError(f"unknown parameter kind {kind!r}")
        self.kind, self.default = kind, default
        self.low, self.high, self.low_open, self.high_open = low, high, low_open, high_open
        self.choices = tuple(choices) if choices is not None else None
        self.also = tuple(also)
        self.instances = tuple(instances)
        self.help, self.cli = help, cli

    # ------------------------------------------------------------------ checking
    def accepted(self) -> str:
        """What the parameter accepts, in words: 'an integer >= 1', 'one of transition, adjacency'."""
        if self.choices is not None:
            text = "one of " + ", ".join(map(str, self.choices))
        else:
            text = {"int": "an integer", "float": "a finite number", "bool": "True or False",
                    "str": "a string", "floats": "a non-empty list of finite numbers"}[self.kind]
            bounds = []
            if self.low is not None:
                bounds.append(f"{'>' if self.low_open else '>='} {self.low:g}")
            if self.high is not None:
                bounds.append(f"{'<' if self.high_open else '<='} {self.high:g}")
            if bounds:
                text += " " + " and ".join(bounds)
        others = [repr(v) for v in self.also] + [f"a {str(c).rpartition('.')[2]}" if isinstance(c, str)
                                                 else f"a {c.__name__}" for c in self.instances]
        if others:
            text += " (or " + ", ".join(others) + ")"
        return text

    def check(self, name, value):
        """``value`` when it is accepted, else InputError naming ``name``, the value and the range."""
        if any(_same(value, v) for v in self.also):
            return value
        if any(isinstance(value, cls) for cls in _classes(self.instances)):
            return value
        if self._fits(value):
            return value
        shown = repr(value) if not hasattr(value, "shape") else f"array{tuple(value.shape)}"
        raise InputError(f"{name} must be {self.accepted()}, got {shown[:80]}")

    def _fits(self, value) -> bool:
        if self.kind == "bool":
            return _is_bool(value)
        if self.kind == "str":
            return isinstance(value, str) and (self.choices is None or value in self.choices)
        if self.kind == "floats":
            try:
                values = [float(v) for v in value]
            except (TypeError, ValueError):
                return False
            return bool(values) and not any(_is_bool(v) for v in value) \
                and all(math.isfinite(v) for v in values)
        if _is_bool(value):
            return False  # True is not 1 here
        if self.kind == "int" and not isinstance(value, numbers.Integral):
            return False
        if self.kind == "float" and not isinstance(value, numbers.Real):
            return False
        number = float(value)
        if not math.isfinite(number):
            return False
        if self.low is not None and (number < self.low or (self.low_open and number == self.low)):
            return False
        if self.high is not None and (number > self.high or (self.high_open and number == self.high)):
            return False
        return True

    # ------------------------------------------------------------------ description
    def schema(self) -> dict:
        """JSON Schema of the accepted values."""
        if self.kind == "floats":
            main = {"type": "array", "items": {"type": "number"}, "minItems": 1}
        else:
            main = {"type": _JSON_TYPES[self.kind]}
            if self.choices is not None:
                main["enum"] = list(self.choices)
            for bound, open_, key in ((self.low, self.low_open, "minimum"), (self.high, self.high_open, "maximum")):
                if bound is not None:
                    main["exclusiveM" + key[1:] if open_ else key] = bound
        alternatives = [main] + [{"const": v} if v is not None else {"type": "null"} for v in self.also]
        out = main if len(alternatives) == 1 else {"anyOf": alternatives}
        default = list(self.default) if isinstance(self.default, tuple) else self.default
        return {**out, "default": default, "description": self.help}


def _same(value, literal) -> bool:
    """``value`` is the literal: None only as None, strings as strings, numbers as numbers
    (numpy ones too), never a bool for a number."""
    if value is literal:
        return True
    if literal is None or _is_bool(value) or isinstance(literal, bool):
        return False
    if isinstance(literal, str):
        return isinstance(value, str) and value == literal
    return isinstance(value, numbers.Real) and value == literal


# Parameters most estimators share, declared once.
SEED = Param("int", None, low=0, also=(None,), instances=("numpy.random.Generator",),
             help="Random seed (None: fresh entropy each fit).", cli="seed")
THREADS = Param("int", None, low=1, also=(None, -1), help="Threads (None or -1: all cores).", cli="threads")
VERBOSE = Param("bool", False, help="Show a progress bar on stderr.")


def _is_bool(value) -> bool:
    return isinstance(value, bool) or (type(value).__module__ == "numpy"  # numpy's bool too:
                                       and type(value).__name__ in ("bool_", "bool"))  # 1.x, 2.x


def _classes(instances):
    """The classes of ``instances``; a "module.Class" name only once its module is loaded (a
    value cannot be an instance of a class that was never imported)."""
    for cls in instances:
        if isinstance(cls, str):
            module, _, name = cls.rpartition(".")
            loaded = sys.modules.get(module)
            if loaded is not None and hasattr(loaded, name):
                yield getattr(loaded, name)
        else:
            yield cls


# ---------------------------------------------------------------------------- choices shared with the CLI
PROPAGATIONS = ("transition", "adjacency")
EMBEDDING_FORMATS = ("parquet", "csv", "tsv", "npz", "w2v", "w2v-binary")
KERNELS = ("inverse", "inverse2", "regularized-laplacian", "exp", "diffusion", "random-walk")
INPUT_FORMATS = ("csv", "parquet", "mat", "gml", "npz")  # graph files (graphembed.io.edges)
INDEX_METRICS = ("cosine", "ip", "l2")  # nearest-neighbour indexes (graphembed.index)
REDUCERS = ("auto", "umap", "tsne", "pca")  # 2-D maps (graphembed.tasks.plot)
CLASSIFY_PROTOCOLS = ("topk", "threshold")  # node classification (graphembed.tasks.classify)
CLUSTER_METHODS = ("kmeans", "leiden")  # graphembed.tasks.cluster
OPERATORS = ("average", "hadamard", "weighted_l1", "weighted_l2")  # edge features (graphembed.tasks.linkpred)


# ---------------------------------------------------------------------------- the estimators' tables
FASTRP = {
    "dim": Param("int", 128, low=1, help="Embedding dimension."),
    "iteration_weights": Param("floats", (0.0, 1.0, 1.0),
                               help="Weight of each propagation step (the first is the 1-hop step)."),
    "normalization_strength": Param("float", 0.0, help="beta: initial vectors scaled by degree^beta."),
    "node_self_influence": Param("float", 0.0, help="Weight of each node's own initial vector."),
    "propagation": Param("str", "transition", choices=PROPAGATIONS,
                         help="D^-1 A (transition) or A (adjacency)."),
    "density": Param("float", "auto", low=0, low_open=True, high=1, also=("auto",),
                     help="Share of non-zeros in the random projection; auto = 1/sqrt(n)."),
    "property_dimension": Param("int", None, low=1, also=(None,),
                                help="Columns for projected node features (None: dim // 2)."),
    "random_state": SEED,
    "n_jobs": THREADS,
    "verbose": VERBOSE,
}


LINE = {
    "order": Param("str", "both", choices=("1", "2", "both"), also=(1, 2),
                   help="First order, second order, or both (dim/2 each, L2-normalised, concatenated)."),
    "dim": Param("int", 128, low=1, help="Embedding dimension (in total for order both; then even)."),
    "n_samples": Param("int", None, low=1, high=MAX_SAMPLES, also=(None,), cli="samples",
                       help="Edge samples per order (None: 100 x stored edges, at least 1M)."),
    "negative": Param("int", 5, low=0, help="Negative samples per sampled edge (drawn ~ out-degree^0.75)."),
    "learning_rate": Param("float", 0.025, low=0, low_open=True, cli="lr",
                           help="Initial learning rate rho_0, decayed linearly to rho_0 * 1e-4."),
    "random_state": SEED,
    "n_jobs": THREADS,
    "verbose": VERBOSE,
}


NODE2VEC = {
    "dim": Param("int", 128, low=1, help="Embedding dimension."),
    "walks_per_node": Param("int", 10, low=1, help="Walks started from every node."),
    "walk_length": Param("int", 80, low=1, help="Nodes per walk (the start included)."),
    "window": Param("int", 10, low=1, help="Skip-gram context window."),
    "p": Param("float", 1.0, low=0, low_open=True, help="Return parameter (1/p: weight of going back)."),
    "q": Param("float", 1.0, low=0, low_open=True, help="In-out parameter (1/q: weight of moving away)."),
    "epochs": Param("int", 1, low=1, help="Skip-gram passes over the walks."),
    "negative": Param("int", 5, low=1, help="Negative samples per positive pair."),
    "min_count": Param("int", 0, low=0, help="Nodes seen fewer times in the walks get a zero vector."),
    "sample": Param("float", 1e-3, low=0, help="Down-sampling threshold of frequent nodes."),
    "alpha": Param("float", 0.025, low=0, low_open=True, help="Initial learning rate."),
    "min_alpha": Param("float", 1e-4, low=0, help="Final learning rate (at most alpha)."),
    "random_state": SEED,
    "n_jobs": THREADS,
    "verbose": VERBOSE,
}


GRF = {
    "kernel": Param("str", "diffusion", choices=KERNELS, instances=(list, tuple, "numpy.ndarray"),
                    help="A named kernel, or the coefficients alpha_k of sum_k alpha_k W^k."),
    "beta": Param("float", 1.0, low=0, low_open=True, help="The exp / diffusion scale."),
    "sigma2": Param("float", None, low=0, low_open=True, also=(None,),
                    help="Scale of W (None: 0.5 for inverse kernels, else 1)."),
    "power": Param("int", 2, low=1, help="Steps of the random-walk kernel."),
    "n_walks": Param("int", 64, low=1, help="Walks per node and walk set.", cli="walks"),
    "p_halt": Param("float", 0.5, low=0, high=1, low_open=True, high_open=True,
                    help="Halting probability before each step."),
    "normalize": Param("bool", True, help="W = sigma2 D^-1/2 A D^-1/2 (else sigma2 A)."),
    "independent": Param("bool", True, help="Two independent walk sets (unbiased everywhere)."),
    "modulation": Param("floats", None, also=(None,), help="An explicit modulation f_0..f_L."),
    "max_length": Param("int", None, low=0, also=(None,), help="Cap on the walk length."),
    "tol": Param("float", 1e-6, low=0, high=1, low_open=True, high_open=True,
                 help="Relative truncation bias allowed when max_length is None."),
    "dim": Param("int", 128, low=1, help="Columns of the dense embedding of transform."),
    "projection_nnz": Param("int", None, low=1, also=(None,),
                            help="Non-zeros per row of the random projection (None: min(dim, 4))."),
    "random_state": SEED,
    "n_jobs": THREADS,
    "verbose": VERBOSE,
}


ORBITS = {
    "log": Param("bool", True, help="log(1 + counts), standardised per column; False: raw counts."),
    "n_jobs": THREADS,
    "verbose": VERBOSE,
}


ORBIT_ADJACENCY = {
    "adjacency": Param("str", (1, 5, 5), instances=(tuple, list),
                       help="The orbit adjacency 'h,o1,o2' to factorise (one of the 28)."),
    "dim": Param("int", 128, low=1, help="Embedding dimension (< nodes)."),
    "negative": Param("float", 1.0, low=1, help="PMI shift log(negative)."),
    "top_k": Param("int", 256, low=1, also=(None,),
                   help="Keep each row's top_k counts of two- and three-hop adjacencies."),
    "n_iter": Param("int", 5, low=1, help="Power iterations of the randomised SVD."),
    "random_state": SEED,
    "n_jobs": THREADS,
    "verbose": VERBOSE,
}

DEEPWALK = {k: v for k, v in NODE2VEC.items() if k not in ("p", "q")}


# Homomorphisms (graphembed.structure). Checked by hand in fit besides the tables: that the motif
# parses and is connected, root < the motif's nodes, node weights (length n, finite, > 0, or a
# dict covering every node), max_size >= min_size, and at least one pattern.
HOM_CHAINS = ("pivot", "glauber")  # graphembed.structure.hom_sampling.CHAINS
HOM_REPRESENTATIONS = ("log1p", "density", "count")  # graphembed.structure.hom_embedding

HOM_SAMPLER = {
    "motif": Param("str", "path:3", instances=("graphembed.structure.motifs.Motif",),
                   help="Motif F: path:k, cycle:k, star:r, clique:k, edge, triangle or edges:0-1,1-2,... "
                        "(connected)."),
    "chain": Param("str", "pivot", choices=HOM_CHAINS,
                   help="pivot (exact MH root move + tree redraws) or glauber (one node per step)."),
    "n_steps": Param("int", 1_000_000, low=1, cli="steps",
                     help="Chain steps to observe, all chains together."),
    "n_chains": Param("int", 8, low=1, cli="chains", help="Independent chains, run in parallel."),
    "burn_in": Param("int", 1000, low=0, help="Steps each chain runs before it is observed."),
    "thin": Param("int", 1, low=1, help="Observe every thin-th state."),
    "root": Param("int", None, low=0, also=(None,),
                  help="Motif node to root the spanning tree at (None: its centre)."),
    "lazy": Param("bool", "auto", also=("auto",),
                  help="Lazy random walk (auto: iff a component of the graph is bipartite)."),
    "restart": Param("float", "auto", low=0, high=1, high_open=True, also=("auto",),
                     help="Probability of an exact draw from pi per step (auto: 0.01 iff several "
                          "components have edges)."),
    "n_batches": Param("int", 25, low=1, help="Batches per chain for the batch-means standard error."),
    "node_weights": Param("floats", None, also=(None,), instances=(dict, "numpy.ndarray"),
                          help="Node weights nu > 0, one per node in the graph's order (or a "
                               "{node: weight} dict)."),
    "rao_blackwell": Param("bool", "auto", also=("auto",),
                           help="Average each observation over one node's exact conditional law "
                                "(auto: Glauber only)."),
    "random_state": SEED,
    "n_jobs": THREADS,
}


HOM_EMBEDDING = {
    "n_patterns": Param("int", 50, low=0, cli="patterns",
                        help="Random partial k-tree patterns (after the 4 fixed ones)."),
    "min_size": Param("int", 3, low=1, help="Smallest random pattern size (nodes)."),
    "max_size": Param("int", None, low=1, also=(None,),
                      help="P(pattern size <= max_size) = 0.99, at least min_size (None: the largest "
                           "graph, at most size_cap)."),
    "edge_keep": Param("float", 0.9, low=0, low_open=True, high=1,
                       help="Probability of keeping each edge of the random k-tree."),
    "treewidth_poisson": Param("float", 0.5, low=0, help="Mean of the Poisson part of the treewidth draw."),
    "max_treewidth": Param("int", None, low=1, also=(None,),
                           help="Cap on the treewidth k of a random pattern (None: the largest k whose "
                                "n^k DP tables fit memory_budget on the largest graph)."),
    "fixed_patterns": Param("bool", True, help="Prepend the node, edge, 2-path and triangle counts."),
    "representation": Param("str", "log1p", choices=HOM_REPRESENTATIONS,
                            help="log1p (log(1 + hom)), density (hom / n^|F|) or count."),
    "size_cap": Param("int", 30, low=1, help="Cap for the automatic max_size."),
    "memory_budget": Param("float", 2e7, low=1, help="Float64 entries the DP may hold at once for one graph."),
    "random_state": SEED,
    "verbose": VERBOSE,
}


ROLE_AGGREGATORS = ("mean", "sum")  # ReFeX neighbour aggregations (graphembed.embed.roles)
LAPLACIANS = ("normalized", "combinatorial")  # GraphWave (graphembed.embed.graphwave)
FUSE_SCALINGS = ("standard", "columns", "none")  # Concat blocks (graphembed.embed.fuse)

ROLES = {
    "n_rounds": Param("int", 3, low=0, cli="rounds",
                      help="Recursive rounds of neighbour aggregation (stops early when a round adds no column)."),
    "aggregators": Param("str", ROLE_AGGREGATORS, instances=(list, tuple),
                         help="Neighbour aggregations per round: mean, sum or both."),
    "orbits": Param("bool", True, help="Add the 15 graphlet orbit counts to the base features."),
    "bin_fraction": Param("float", 0.5, low=0, high=1, low_open=True, high_open=True,
                          help="Vertical log-binning: the lowest share p of values gets bin 0, p of the rest bin 1..."),
    "prune_tolerance": Param("int", 0, low=0,
                             help="s: two binned columns are redundant when their bins differ by at most s on every node."),
    "values": Param("str", "binned", choices=("binned", "raw", "log"),
                    help="Embedding values of the retained columns: their log-bin numbers (as the paper), raw or log(1 + raw)."),
    "n_roles": Param("int", None, low=1, also=(None,), cli="roles",
                     help="RolX: factorise into this many soft roles (NMF; None: return the features)."),
    "random_state": SEED,
    "n_jobs": THREADS,
    "verbose": VERBOSE,
}


GRAPHWAVE = {
    "scales": Param("floats", None, also=(None,),
                    help="Heat scales s (None: n_scales automatic scales from the spectrum bound)."),
    "n_scales": Param("int", 2, low=1, help="Number of automatic scales."),
    "order": Param("int", "auto", low=1, high=100_000, also=("auto",),
                   help="Degree of the Chebyshev approximation of exp(-s x) (auto: error below 1e-8/t_max)."),
    "n_points": Param("int", 50, low=1, cli="points",
                      help="Points t at which each characteristic function is sampled."),
    "t_max": Param("float", 100.0, low=0, low_open=True, help="Largest sample point t."),
    "laplacian": Param("str", "normalized", choices=LAPLACIANS,
                       help="normalized (I - D^-1/2 A D^-1/2) or combinatorial (D - A)."),
    "n_jobs": THREADS,
    "verbose": VERBOSE,
}


FUSE = {
    "weights": Param("floats", None, also=(None,),
                     help="Weight of each block after standardising (None: 1 for every block)."),
    "scaling": Param("str", "standard", choices=FUSE_SCALINGS,
                     help="standard: columns to zero mean and unit variance, each block to unit total "
                          "variance; columns: the columns only; none: blocks as they are."),
    "join": Param("str", "exact", choices=("exact", "inner"),
                  help="exact: every block must have the same nodes (else an error); inner: keep the "
                       "nodes that every block has."),
}


# ---------------------------------------------------------------- curvature, resistance, rewiring
FORMAN = {
    "kind": Param("str", "augmented", choices=("augmented", "plain"),
                  help="augmented: 4 - d_u - d_v + 3 triangles; plain: 4 - d_u - d_v (or the weighted formula)."),
    "weighted": Param("bool", False, help="Use edge weights (plain Forman only)."),
    "n_jobs": THREADS,
}

OLLIVIER = {
    "alpha": Param("float", 0.5, low=0, high=1, high_open=True,
                   help="Laziness: mass kept on the node by its random-walk measure."),
    "method": Param("str", "auto", choices=("auto", "exact", "sinkhorn"),
                    help="Transport: exact LP, entropic Sinkhorn, or auto (Sinkhorn above the degree threshold)."),
    "sinkhorn_threshold": Param("int", 32, low=0,
                                help="auto: Sinkhorn for edges whose larger degree exceeds this."),
    "sinkhorn_epsilon": Param("float", 1e-3, low=0, low_open=True, high=1,
                              help="Entropic regularisation of Sinkhorn (final annealing stage)."),
    "tol": Param("float", 1e-6, low=0, low_open=True, help="Sinkhorn: L1 marginal error to stop at."),
    "max_iter": Param("int", 1000, low=1, help="Sinkhorn: sweeps per annealing stage."),
    "n_jobs": THREADS,
}

RESISTANCE = {
    "method": Param("str", "auto", choices=("auto", "exact", "sketch"),
                    help="exact: dense pseudo-inverse (small graphs); sketch: Spielman-Srivastava JL sketch; auto: exact up to 1000 nodes."),
    "epsilon": Param("float", 0.3, low=0, low_open=True, high=1, high_open=True,
                     help="Sketch: relative error bound (k = ceil(24 ln n / epsilon^2) solves)."),
    "n_vectors": Param("int", None, low=1, also=(None,),
                       help="Sketch: number of random projections k (None: from epsilon)."),
    "random_state": SEED,
    "tol": Param("float", 1e-6, low=0, low_open=True, help="Conjugate gradient: relative residual."),
    "weighted": Param("bool", False, help="Use edge weights as conductances."),
    "exact_max_nodes": Param("int", 5000, low=1, help="exact: refuse graphs with more nodes."),
    "n_jobs": THREADS,
}

REWIRE = {
    "method": Param("str", "curvature", choices=("curvature", "resistance"),
                    help="curvature: SDRF/BORF-style; resistance: greedy total-resistance additions."),
    "iterations": Param("int", 10, low=0, help="Rewiring steps (each adds at most one edge)."),
    "random_state": SEED,
    "curvature": Param("str", "forman", choices=("forman", "ollivier"),
                       help="Curvature used by method=curvature (augmented Forman, or exact Ollivier)."),
    "remove_above": Param("float", None, also=(None,),
                          help="Also remove the most positively curved edge when its curvature exceeds this."),
    "alpha": Param("float", 0.5, low=0, high=1, high_open=True, help="Ollivier laziness."),
    "n_jobs": THREADS,
}
