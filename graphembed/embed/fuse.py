"""Fused embeddings: several embeddings of the same nodes, standardised, weighted and concatenated.

Structural features (orbit counts, roles) and proximity embeddings (FastRP, node2vec) describe a
node in different ways; a downstream model often does best on both. :class:`Concat` fits each
member on the graph (or takes embeddings already computed), matches their rows by node id and
puts the blocks side by side. With ``scaling="standard"`` every column goes to zero mean and unit
variance (a constant column to 0) and each block is divided by the square root of its number of
non-constant columns, so every block has total variance 1 (the sum of its column variances) and
its weight ``w`` sets its share of the total to ``w**2``: a 15-column block then counts as much
as a 256-column one (what distances, k-means and nearest neighbours see). ``scaling="columns"``
stops after the columns, so every column has variance ``w**2``: the scale an L2-regularised
linear model expects, as ``graphembed classify`` standardises columns. :meth:`Concat.select_weights` picks the weights by cross-validated node
classification on the labelled nodes it is given (only those: pass the training split).
"""
from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from graphembed import params
from graphembed.base import BaseEmbedder, check_is_fitted, check_seed
from graphembed.embedding import Embedding
from graphembed.io.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from typing_extensions import Self

    from graphembed.graph import GraphLike
    from graphembed.io.nodes import Labels

DEFAULT_GRID = (0.0, 0.25, 0.5, 1.0, 2.0)
SCORINGS = ("macro_f1", "micro_f1")
MAX_COMBINATIONS = 4096  # weight combinations select_weights tries at most


class AlignmentError(InputError):
    """Blocks that do not hold the same nodes (``join="exact"``).

    Attributes: ``block`` (the name of the first block lacking ids), ``missing`` (how many of
    all the blocks' ids it lacks), ``total`` (the number of distinct ids over all blocks),
    ``examples`` (up to three of the ids it lacks).
    """

    def __init__(self, message, block, missing, total, examples):
        super().__init__(message)
        self.block, self.missing, self.total, self.examples = block, missing, total, examples


class Concat(BaseEmbedder):
    """Concatenation of several node embeddings, aligned by node id, standardised and weighted.

    Parameters
    ----------
    estimators : sequence of members, each an estimator with ``fit_transform(graph)``
        returning an Embedding (fitted on the graph by :meth:`fit`, in place), an
        :class:`~graphembed.embedding.Embedding` already computed (used as it is), or a
        ``(name, member)`` pair naming it (names appear in errors and in ``names_``).
    weights : sequence of float >= 0, one per member, or None (1 for every block). Each block is
        multiplied by its weight after scaling; 0 turns a block's columns to 0.
    scaling : "standard" (each column to zero mean and unit variance, constant columns to 0,
        each block then divided by sqrt(its number of non-constant columns): unit total
        variance per block), "columns" (the columns only, no division) or "none" (blocks as
        they are).
    join : "exact" (every block must hold the same node ids, in any order; otherwise an
        :class:`AlignmentError` naming the first block that lacks some and how many) or
        "inner" (keep the nodes every block has; ``dropped_`` says how many went).

    Attributes
    ----------
    embedding_ : Embedding (n_nodes, total dim) float32, rows in the first block's order,
        method "concat"; its params record the weights, scaling, join and each block's name,
        method, columns and parameters.
    blocks_ : list of ``slice``, the columns of each block in ``embedding_``.
    names_ : list of str, the name of each block.
    weights_ : list of float, the weights used (after :meth:`select_weights`: the chosen ones).
    embeddings_ : list of the members' Embeddings as they came (not aligned or scaled).
    dropped_ : int, distinct node ids left out by ``join="inner"`` (0 for "exact").
    cv_results_ : after :meth:`select_weights`, its score table.

    Examples
    --------
    >>> import graphembed as ge
    >>> g = ge.Graph.from_edges([0, 1, 2, 3], [1, 2, 3, 0])
    >>> fused = ge.Concat([ge.FastRP(dim=4, random_state=0), ge.OrbitFeatures()],
    ...                   weights=[1.0, 0.5]).fit_transform(g)
    >>> fused.vectors.shape
    (4, 19)
    """

    name = "concat"
    parameters = params.FUSE

    def __init__(self, estimators: Sequence[Any] = (), weights: Sequence[float] | None = None,
                 scaling: Literal["standard", "columns", "none"] = "standard",
                 join: Literal["exact", "inner"] = "exact") -> None:
        self.estimators = estimators
        self.weights = weights
        self.scaling = scaling
        self.join = join

    # ------------------------------------------------------------------ validation
    def _members(self):
        """[(name, member)] of ``estimators``, each member an Embedding or an estimator."""
        members = list(self.estimators) if self.estimators is not None else []
        if not members:
            raise InputError("Concat needs at least one member estimator or embedding")
        out = []
        for i, member in enumerate(members):
            name = None
            if isinstance(member, tuple) and len(member) == 2 and isinstance(member[0], str):
                name, member = member
            if isinstance(member, Embedding):
                name = name or member.method or f"block{i}"
            elif hasattr(member, "fit_transform"):
                if getattr(member, "graph_level", False):
                    raise InputError(f"Concat member {i} ({type(member).__name__}) embeds whole graphs, "
                                     "not nodes")
                name = name or getattr(member, "name", None) or type(member).__name__
            else:
                raise InputError(f"Concat member {i} must be an estimator with fit_transform(graph) or an "
                                 f"Embedding, got {type(member).__name__}")
            out.append((str(name), member))
        return out

    def _check_weights(self, weights, n_blocks):
        if weights is None:
            return [1.0] * n_blocks
        params.FUSE["weights"].check("weights", weights)
        weights = [float(w) for w in weights]
        if len(weights) != n_blocks:
            raise InputError(f"weights has {len(weights)} value{'s' if len(weights) != 1 else ''} for "
                             f"{n_blocks} blocks; give one weight per block")
        if any(w < 0 for w in weights):
            raise InputError(f"weights must be >= 0, got {', '.join(f'{w:g}' for w in weights)}")
        return weights

    # ------------------------------------------------------------------ fitting
    def fit(self, graph: GraphLike | None = None) -> Self:
        """Fit every member estimator on ``graph`` (not needed when every member is an
        Embedding), align the blocks by node id, scale, weight and concatenate them."""
        self._check_params()
        members = self._members()
        weights = self._check_weights(self.weights, len(members))
        if graph is None and any(not isinstance(m, Embedding) for _, m in members):
            raise InputError("Concat.fit needs a graph to fit its member estimators")
        if graph is not None and any(not isinstance(m, Embedding) for _, m in members):
            from graphembed.graph import Graph

            graph = Graph.coerce(graph)
        embeddings = []
        for name, member in members:
            emb = member if isinstance(member, Embedding) else member.fit_transform(graph)
            if not isinstance(emb, Embedding):
                raise InputError(f"Concat member {name!r} returned {type(emb).__name__}, not an Embedding")
            embeddings.append(emb)
        names = [name for name, _ in members]
        node_ids, rows, dropped = align(embeddings, names, self.join)
        blocks, start = [], 0
        for emb in embeddings:
            blocks.append(slice(start, start + emb.dim))
            start += emb.dim
        scaled = np.empty((len(node_ids), start), dtype=np.float32)  # scaled (in float64), unweighted
        for emb, where, block in zip(embeddings, rows, blocks):
            x = emb.vectors[where]
            scaled[:, block] = x if self.scaling == "none" else standardise(x, self.scaling == "standard")
        self.embeddings_ = embeddings
        self.names_ = names
        self.blocks_ = blocks
        self.dropped_ = dropped
        self._node_ids = node_ids
        self._scaled = scaled
        self.__dict__.pop("embedding_", None)  # a refit starts afresh
        self._set_weights(weights)
        if graph is not None:
            from graphembed.io.metadata import describe_input

            if hasattr(graph, "stats") and hasattr(graph, "n_edges"):
                self.embedding_.input = describe_input(graph)
        return self

    def fit_transform(self, graph: GraphLike | None = None, **fit_params: Any) -> Embedding:
        """:meth:`fit`, then the fused Embedding."""
        return self.fit(graph, **fit_params).transform()

    def _set_weights(self, weights):
        previous = getattr(self, "embedding_", None)
        self.weights_ = [float(w) for w in weights]
        self.embedding_ = Embedding(self._node_ids, self._weighted(self.weights_), "concat",
                                    self._public_params(), previous.input if previous is not None else None)

    def _weighted(self, weights):
        out = self._scaled.copy()
        for w, block in zip(weights, self.blocks_):
            out[:, block] *= np.float32(w)
        return out

    def _public_params(self):
        return {"weights": list(self.weights_), "scaling": self.scaling, "join": self.join,
                "blocks": [{"name": name, "method": emb.method, "columns": [block.start, block.stop],
                            "params": emb.params}
                           for name, emb, block in zip(self.names_, self.embeddings_, self.blocks_)]}

    def with_weights(self, weights: Sequence[float]) -> Embedding:
        """The fused Embedding with other ``weights`` (one per block), without refitting."""
        check_is_fitted(self, "embedding_")
        weights = self._check_weights(weights, len(self.blocks_))
        params_ = {**self._public_params(), "weights": weights}
        return Embedding(self._node_ids, self._weighted(weights), "concat", params_, self.embedding_.input)

    # ------------------------------------------------------------------ choosing the weights
    def select_weights(self, labels: Mapping[Any, Any] | Labels, grid: Iterable[float] = DEFAULT_GRID,
                       cv: int = 5, *, scoring: Literal["macro_f1", "micro_f1"] = "macro_f1",
                       C: float = 1.0, protocol: Literal["topk", "threshold"] = "topk",
                       random_state: int | np.random.Generator | None = None, refit: bool = True,
                       ) -> tuple[list[float], list[dict[str, Any]]]:
        """Choose one weight per block from ``grid`` by ``cv``-fold cross-validated node
        classification on the labelled nodes given, and only on them.

        Every combination of grid values (one per block; all zeros skipped) weights the scaled
        blocks; a one-vs-rest liblinear logistic regression (``C``, no further scaling, so the
        weights act through the regularisation) is trained on ``cv - 1`` folds of the labelled
        nodes and scored on the last (:func:`graphembed.tasks.classify.fit_and_score`); the
        combination with the highest mean score wins (ties: the first in grid order). Every
        combination sees the same folds (stratified for single-label data), drawn from
        ``random_state``: the same seed gives the same result. The scaling itself is
        unsupervised and uses every node.

        Pass the training labels only: labels of test nodes here would leak into the choice.

        Parameters
        ----------
        labels : {node id: label, or a list of labels} for the nodes to cross-validate on, or a
            :class:`~graphembed.io.nodes.Labels` aligned with ``embedding_.node_ids`` (as
            ``read_labels(path, concat.embedding_.node_ids)`` gives; its labelled rows are used).
        grid : candidate weights (>= 0).
        cv : number of folds (2 .. number of labelled nodes).
        scoring : "macro_f1" or "micro_f1" (for single-label data Micro-F1 is the accuracy).
        C : inverse regularisation of the logistic regression.
        protocol : "topk" or "threshold", as in :func:`graphembed.tasks.classify.node_classification`
            (the same for single-label data).
        random_state : None, int or numpy Generator; seeds the folds.
        refit : set ``weights_`` and ``embedding_`` to the chosen weights (else only return them).

        Returns
        -------
        (weights, table): the chosen weights (list of float, one per block) and one dict per
        combination tried, in grid order: ``weights``, ``score`` (mean over folds),
        ``score_std``, ``fold_scores``. ``selection_`` also keeps the nodes used, the seed and
        the best score; ``cv_results_`` the table.
        """
        from graphembed.tasks.classify import PROTOCOLS, fit_and_score

        check_is_fitted(self, "embedding_")
        grid = [float(g) for g in grid]
        if not grid or any(not np.isfinite(g) or g < 0 for g in grid):
            raise InputError(f"grid must be non-empty finite weights >= 0, got {grid}")
        grid = list(dict.fromkeys(grid))  # repeats would only repeat work
        if scoring not in SCORINGS:
            raise InputError(f"scoring must be one of {', '.join(SCORINGS)}, got {scoring!r}")
        if protocol not in PROTOCOLS:
            raise InputError(f"protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
        if not (isinstance(C, (int, float, np.number)) and not isinstance(C, bool) and C > 0):
            raise InputError(f"C must be > 0, got {C!r}")
        n_blocks = len(self.blocks_)
        n_combos = len(grid) ** n_blocks - (1 if 0.0 in grid else 0)
        if n_combos < 1:
            raise InputError("grid has only 0: every block would be 0")
        if n_combos > MAX_COMBINATIONS:
            raise InputError(f"{len(grid)} grid values for {n_blocks} blocks make {n_combos} weight "
                             f"combinations; at most {MAX_COMBINATIONS}: use a shorter grid")
        rows, y, unmatched = _label_rows(labels, self.embedding_)
        n = rows.shape[0]
        if isinstance(cv, bool) or not isinstance(cv, (int, np.integer)) or not 2 <= cv <= n:
            raise InputError(f"cv must be an integer in [2, {n}] ({n} labelled nodes), got {cv!r}")
        seed = check_seed(random_state)
        multilabel = bool((y.sum(axis=1) > 1).any())
        folds = _folds(y, int(cv), seed, multilabel)
        x_given = self._scaled[rows]  # the given nodes only, from here on (float32)
        table = []
        for combo in itertools.product(grid, repeat=n_blocks):
            if not any(combo):
                continue
            x = x_given.copy()
            for w, block in zip(combo, self.blocks_):
                x[:, block] *= np.float32(w)  # what the fused embedding holds with these weights
            x = x.astype(np.float64)
            scores = []
            for tr, te in folds:
                result = fit_and_score(x, y, tr, te, (protocol,), C=C, multilabel=multilabel)[protocol]
                scores.append(result[0] if scoring == "macro_f1" else result[1])
            table.append({"weights": list(combo), "score": float(np.mean(scores)),
                          "score_std": float(np.std(scores)), "fold_scores": [float(s) for s in scores]})
        best = max(range(len(table)), key=lambda i: (table[i]["score"], -i))
        weights = list(table[best]["weights"])
        self.cv_results_ = table
        self.selection_ = {"weights": weights, "score": table[best]["score"], "scoring": scoring,
                           "protocol": protocol, "C": float(C), "folds": int(cv), "seed": seed,
                           "grid": grid, "nodes": int(n), "unmatched_labels": int(unmatched),
                           "classes": int(y.shape[1]), "multilabel": multilabel,
                           "node_ids": self._node_ids[rows]}
        if refit:
            self._set_weights(weights)
            self.embedding_.params["selection"] = {k: v for k, v in self.selection_.items() if k != "node_ids"}
        return weights, table


# ---------------------------------------------------------------------------- helpers
def align(embeddings: Sequence[Embedding], names: Sequence[str], join: str = "exact"):
    """Match the rows of several embeddings by node id.

    Returns ``(node_ids, rows, dropped)``: the ids of the result (the first embedding's, in its
    order; with ``join="inner"`` only those every embedding has), for each embedding the int64
    rows holding those ids, and the number of distinct ids left out. With ``join="exact"``, an
    embedding lacking some of the ids the others have raises :class:`AlignmentError`.
    """
    from graphembed._ids import IdIndex, _ids_array

    for emb, name in zip(embeddings, names):
        if len(np.unique(emb.node_ids)) != len(emb):
            raise InputError(f"{name}: some node id appears twice; each node needs one row")
    first = embeddings[0]
    union = first.node_ids
    union_index = first.ids
    for emb in embeddings[1:]:  # every distinct id of every block (ids matched as IdIndex does)
        extra = union_index.align(emb.node_ids) < 0
        if extra.any():
            union = _ids_array(union.tolist() + emb.node_ids[extra].tolist())
            union_index = IdIndex(union)
    total = len(union)
    if join == "exact":
        for emb, name in zip(embeddings, names):
            missing = total - len(emb)
            if missing:
                absent = np.flatnonzero(emb.ids.align(union) < 0)[:3]
                examples = [v.item() if isinstance(v, np.generic) else v for v in union[absent]]
                shown = ", ".join(map(repr, examples)) + (", ..." if missing > len(examples) else "")
                raise AlignmentError(f"{name}: {missing} of the {total} node ids of the inputs are "
                                     f"missing ({shown}); join='inner' keeps only the nodes every input has",
                                     name, missing, total, examples)
        node_ids = first.node_ids
    elif join == "inner":
        keep = np.ones(len(first), dtype=bool)
        for emb in embeddings[1:]:
            keep &= emb.ids.align(first.node_ids) >= 0
        node_ids = first.node_ids[keep]
        if not len(node_ids):
            raise InputError(f"no node id is in every input ({', '.join(names)})")
    else:
        raise InputError(f"join must be exact or inner, got {join!r}")
    rows = []
    for emb in embeddings:
        where = emb.ids.align(node_ids)
        rows.append(where.astype(np.int64))
    return node_ids, rows, total - len(node_ids)


def standardise(x: np.ndarray, per_block: bool = True) -> np.ndarray:
    """Columns of ``x`` to zero mean and unit variance (population), constant columns to 0, then
    (``per_block``) the block divided by sqrt(its number of non-constant columns): total
    variance 1 (0 when every column is constant). float64."""
    x = np.asarray(x, dtype=np.float64)
    if not x.shape[0]:
        return x.copy()
    varying = x.max(axis=0) > x.min(axis=0)
    out = np.zeros_like(x)
    if varying.any():
        v = x[:, varying]
        v = v - v.mean(axis=0)
        std = np.sqrt((v * v).mean(axis=0))
        out[:, varying] = v / std / (np.sqrt(varying.sum()) if per_block else 1.0)
    return out


def _label_rows(labels, emb):
    """(rows of ``emb``, bool indicator (k, classes), label entries naming unknown nodes) of the
    labelled nodes given."""
    from graphembed.io.nodes import Labels

    if isinstance(labels, Labels):
        if labels.y.shape[0] != len(emb):
            raise InputError(f"labels has {labels.y.shape[0]} rows for {len(emb)} fused nodes; read it "
                             "with read_labels(path, concat.embedding_.node_ids) or pass {node id: label}")
        rows = np.flatnonzero(labels.labelled).astype(np.int64)
        y, unmatched = labels.y[rows], labels.unmatched
    else:
        if not hasattr(labels, "items"):
            raise InputError("labels must be a mapping {node id: label or list of labels} or a Labels")
        items = list(labels.items())
        keys = [k for k, _ in items]
        found, unmatched = emb.ids.positions(keys, missing="count") if keys else (np.zeros(0, np.int64), 0)
        rows, values = [], []
        seen = set()
        for (_, value), row in zip(items, found.tolist()):
            if row < 0:
                continue
            if row in seen:
                raise InputError(f"labels name node {emb.node_ids[row]!r} twice")
            seen.add(row)
            if isinstance(value, (list, tuple, set, frozenset)):
                value = [v for v in value if v is not None]
            else:
                value = [] if value is None else [value]
            if value:
                rows.append(row)
                values.append(value)
        classes = sorted({v for vs in values for v in vs}, key=lambda v: (str(type(v)), v))
        col = {v: j for j, v in enumerate(classes)}
        y = np.zeros((len(rows), len(classes)), dtype=bool)
        for i, vs in enumerate(values):
            y[i, [col[v] for v in vs]] = True
        rows = np.asarray(rows, dtype=np.int64)
    if rows.shape[0] < 2:
        raise InputError(f"{rows.shape[0]} labelled nodes of the fused embedding; choosing weights needs "
                         "at least 2")
    if y.shape[1] < 2:
        raise InputError("the labelled nodes have a single class; choosing weights needs at least 2")
    return rows, y, unmatched


def _folds(y, cv, seed, multilabel):
    """[(train, test)] positions of ``cv`` folds (stratified for single-label data)."""
    import warnings

    from sklearn.model_selection import KFold, StratifiedKFold

    state = seed % (2**32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a class with fewer members than folds
        if multilabel or np.bincount(y.argmax(axis=1)).max() < cv:
            splits = KFold(cv, shuffle=True, random_state=state).split(y)
        else:
            splits = StratifiedKFold(cv, shuffle=True, random_state=state).split(y, y.argmax(axis=1))
        return [(tr, te) for tr, te in splits]


__all__ = ["AlignmentError", "Concat", "align", "standardise"]
