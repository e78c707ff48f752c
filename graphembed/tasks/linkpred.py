"""Link prediction: the node2vec paper's evaluation protocol, pair features and heuristics.

A. Grover, J. Leskovec. "node2vec: Scalable Feature Learning for Networks." KDD 2016, section 4.4.
https://arxiv.org/abs/1607.00653

Protocol (:func:`evaluate`): remove a share ``holdout`` of the edges at random while a random
spanning forest is kept, so the residual graph has the components of the original; sample as many
non-edges of the *original* graph as negatives (the split: :mod:`graphembed.tasks.edge_split`);
embed the residual graph; turn each pair into features with a binary operator (average, Hadamard,
weighted-L1, weighted-L2, as in the paper's Table 1); train a logistic regression on a random
``train_fraction`` of the pairs and report ROC-AUC and average precision on the rest. The classical
scores (common neighbours, Jaccard, Adamic-Adar, preferential attachment; Liben-Nowell & Kleinberg
2007), computed on the residual graph, are scored on the same test pairs.

New links are proposed by :func:`graphembed.tasks.new_links.predict`.
"""
import time
import warnings

import numpy as np

from graphembed.graph import Graph
from graphembed.io.errors import InputError
from graphembed.params import OPERATORS  # one list, shared with the CLI
from graphembed.registry import make_embedder
from graphembed.tasks.edge_split import split_edges

HEURISTICS = ("common_neighbors", "jaccard", "adamic_adar", "preferential_attachment")


# ---------------------------------------------------------------------------- features and heuristics
def edge_features(vectors, pairs, operator):
    """Pair features (m, dim) from node vectors (n, dim) with one of :data:`OPERATORS`
    (node2vec paper, Table 1): average (a+b)/2, hadamard a*b, weighted_l1 |a-b|, weighted_l2 (a-b)^2."""
    a = vectors[pairs[:, 0]].astype(np.float64)
    b = vectors[pairs[:, 1]].astype(np.float64)
    if operator == "average":
        return (a + b) / 2
    if operator == "hadamard":
        return a * b
    if operator == "weighted_l1":
        return np.abs(a - b)
    if operator == "weighted_l2":
        return (a - b) ** 2
    raise InputError(f"unknown operator {operator!r}; choose from {', '.join(OPERATORS)}")


def heuristic_scores(graph, pairs, names=HEURISTICS):
    """{name: float64 (m,)} of the classical link scores of ``pairs`` on ``graph`` (unweighted,
    self-loops ignored): common neighbours |N(u) & N(v)|, Jaccard |N(u) & N(v)| / |N(u) | N(v)|,
    Adamic-Adar sum over common z of 1 / log deg(z), preferential attachment deg(u) deg(v)."""
    import scipy.sparse as sp

    n = graph.n_nodes
    a = graph.to_scipy().tocsr()
    a.data = np.ones_like(a.data, dtype=np.float64)
    a = a.astype(np.float64)
    a.setdiag(0)
    a.eliminate_zeros()
    if graph.directed:
        a = a.maximum(a.T).tocsr()
    deg = np.asarray(a.sum(axis=1)).ravel()
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    au, av = a[pairs[:, 0]], a[pairs[:, 1]]
    common = au.multiply(av).tocsr()
    out = {}
    cn = np.asarray(common.sum(axis=1)).ravel()
    for name in names:
        if name == "common_neighbors":
            out[name] = cn
        elif name == "jaccard":
            union = deg[pairs[:, 0]] + deg[pairs[:, 1]] - cn
            out[name] = np.divide(cn, union, out=np.zeros_like(cn), where=union > 0)
        elif name == "adamic_adar":
            inv_log = np.zeros(n)
            big = deg > 1
            inv_log[big] = 1.0 / np.log(deg[big])
            out[name] = np.asarray(common @ sp.csr_matrix(inv_log[:, None])
                                   .toarray()).ravel() if common.nnz else np.zeros(len(pairs))
        elif name == "preferential_attachment":
            out[name] = deg[pairs[:, 0]] * deg[pairs[:, 1]]
        else:
            raise InputError(f"unknown heuristic {name!r}; choose from {', '.join(HEURISTICS)}")
    return out


def _vectors_for(emb, node_ids):
    """Rows of ``emb`` in the order of ``node_ids`` (an InputError names missing ids)."""
    if len(emb.node_ids) == len(node_ids) and np.array_equal(emb.node_ids, node_ids):
        return emb.vectors
    rows = emb.ids.align(node_ids)
    missing = np.asarray(node_ids)[rows < 0].tolist()
    if missing:
        shown = ", ".join(repr(v) for v in missing[:5])
        raise InputError(f"{len(missing)} graph nodes have no vector in the embedding (e.g. {shown})")
    return emb.vectors[rows]


# ---------------------------------------------------------------------------- embedding
def _embed(embedder, graph):
    """Embedding of ``graph``; an estimator returning a plain (n, dim) array (e.g. structural
    features) is wrapped with the graph's node ids."""
    from graphembed.embedding import Embedding

    if isinstance(embedder, str):
        embedder = make_embedder(embedder)
    if hasattr(embedder, "fit_transform"):
        out = embedder.fit_transform(graph)
    elif callable(embedder):
        out = embedder(graph)
    else:
        raise InputError(f"embedder must be a method name, an estimator or a callable, got {embedder!r}")
    if isinstance(out, Embedding):
        return out
    if hasattr(out, "toarray"):
        out = out.toarray()
    out = np.asarray(out, dtype=np.float32)
    if out.ndim != 2 or out.shape[0] != graph.n_nodes:
        raise InputError(f"the embedder returned shape {out.shape}, expected ({graph.n_nodes}, dim)")
    return Embedding(graph.node_ids, out, method=_method_name(embedder))


def _method_name(embedder):
    if isinstance(embedder, str):
        return embedder
    return getattr(embedder, "name", None) or type(embedder).__name__


# ---------------------------------------------------------------------------- evaluation
def evaluate(graph, embedder, holdout=0.5, operators=("hadamard",), seed=0, *, train_fraction=0.5,
             heuristics=HEURISTICS, return_scores=False):
    """Link-prediction evaluation with the node2vec paper's protocol.

    Parameters
    ----------
    graph : Graph (undirected), networkx graph or scipy sparse matrix.
    embedder : registry name (``"node2vec"``), an estimator with ``fit_transform(graph) ->
        Embedding`` (e.g. ``ge.Node2Vec(p=1, q=1)``) or a callable ``graph -> Embedding``.
        It only ever sees the residual graph.
    holdout : share of the edges removed as positives (see :func:`split_edges`).
    operators : names from :data:`OPERATORS`, or ``"all"``.
    seed : seeds the split, the train/test split of the pairs and the classifier.
    train_fraction : share of the pairs (positives and negatives, stratified) the logistic
        regression is trained on; the rest are the test pairs.
    heuristics : names from :data:`HEURISTICS` scored on the same test pairs (``()`` for none).
    return_scores : also return ``scores``: {name: (y_test, score_test)} for ROC curves.

    Returns
    -------
    dict with ``operators`` {name: {"auc", "ap"}}, ``heuristics`` {name: {"auc", "ap"}}, the
    split sizes (``edges``, ``edges_removed``, ``holdout``, ``train_pairs``, ``test_pairs``),
    ``method``, ``params``, ``embed_seconds`` and ``protocol``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score, roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    graph = Graph.coerce(graph)
    if isinstance(operators, str):
        operators = OPERATORS if operators == "all" else (operators,)
    operators = tuple(OPERATORS if "all" in operators else operators)
    for op in operators:
        if op not in OPERATORS:
            raise InputError(f"unknown operator {op!r}; choose from {', '.join(OPERATORS)} or all")
    heuristics = tuple(heuristics or ())
    for h in heuristics:
        if h not in HEURISTICS:
            raise InputError(f"unknown heuristic {h!r}; choose from {', '.join(HEURISTICS)}")
    if not 0 < train_fraction < 1:
        raise InputError(f"train_fraction must be in (0, 1), got {train_fraction!r}")

    t0 = time.perf_counter()
    residual, pos, neg = split_edges(graph, holdout, seed)
    t_split = time.perf_counter() - t0
    pairs = np.concatenate([pos, neg])
    y = np.concatenate([np.ones(len(pos), np.int8), np.zeros(len(neg), np.int8)])
    idx_train, idx_test = train_test_split(np.arange(len(y)), train_size=train_fraction,
                                           random_state=seed, stratify=y)
    result = {
        "protocol": "node2vec (Grover & Leskovec 2016, sec. 4.4): residual keeps a spanning forest; "
                    "negatives are non-edges of the original graph; logistic regression on "
                    f"{train_fraction:.0%} of the pairs, scores on the rest",
        "nodes": graph.n_nodes, "edges": int(residual.stats["edges_original"]),
        "edges_removed": int(len(pos)), "holdout": residual.stats["holdout"],
        "train_pairs": int(len(idx_train)), "test_pairs": int(len(idx_test)), "seed": seed,
        "method": None, "params": None, "operators": {}, "heuristics": {},
        "split_seconds": round(t_split, 3),
    }
    scores = {}
    if operators:
        t0 = time.perf_counter()
        emb = _embed(embedder, residual)
        result["embed_seconds"] = round(time.perf_counter() - t0, 3)
        result["method"] = emb.method or _method_name(embedder)
        result["params"] = emb.params
        vectors = _vectors_for(emb, residual.node_ids)
        if not np.isfinite(vectors).all():
            raise InputError("the embedding has NaN or infinite values")
        for op in operators:
            x = edge_features(vectors, pairs, op)
            clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                clf.fit(x[idx_train], y[idx_train])
            s = clf.decision_function(x[idx_test])
            result["operators"][op] = {"auc": float(roc_auc_score(y[idx_test], s)),
                                       "ap": float(average_precision_score(y[idx_test], s))}
            scores[op] = (y[idx_test], s)
    if heuristics:
        hs = heuristic_scores(residual, pairs[idx_test], heuristics)
        for name, s in hs.items():
            result["heuristics"][name] = {"auc": float(roc_auc_score(y[idx_test], s)),
                                          "ap": float(average_precision_score(y[idx_test], s))}
            scores[name] = (y[idx_test], s)
    if return_scores:
        result["scores"] = scores
    return result
