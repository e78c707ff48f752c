"""Link prediction: the node2vec paper's evaluation protocol, heuristics, and new-link prediction.

A. Grover, J. Leskovec. "node2vec: Scalable Feature Learning for Networks." KDD 2016, section 4.4.
https://arxiv.org/abs/1607.00653

Protocol (:func:`evaluate`): remove a share ``holdout`` of the edges at random while a random
spanning forest is kept, so the residual graph has the components of the original; sample as many
non-edges of the *original* graph as negatives; embed the residual graph; turn each pair into
features with a binary operator (average, Hadamard, weighted-L1, weighted-L2, as in the paper's
Table 1); train a logistic regression on a random ``train_fraction`` of the pairs and report ROC-AUC
and average precision on the rest. The classical scores (common neighbours, Jaccard, Adamic-Adar,
preferential attachment; Liben-Nowell & Kleinberg 2007), computed on the residual graph, are scored
on the same test pairs.

:func:`predict` proposes new links: for every node, its most similar nodes in the faiss index
(:class:`graphembed.index.core.EmbeddingIndex`) that are not already its neighbours, or the best
such pairs overall; no n^2 loop.
"""
import time
import warnings

import numpy as np

from graphembed.graph import Graph
from graphembed.io.errors import InputError

OPERATORS = ("average", "hadamard", "weighted_l1", "weighted_l2")
HEURISTICS = ("common_neighbors", "jaccard", "adamic_adar", "preferential_attachment")


# ---------------------------------------------------------------------------- helpers
def _upper_edges(graph, with_positions=False):
    """(u, v) int64 arrays of the undirected edges with u < v (self-loops left out); with
    ``with_positions`` also their positions in ``graph.indices``."""
    if graph.directed:
        raise InputError("link prediction needs an undirected graph (read it with --undirected)")
    rows = np.repeat(np.arange(graph.n_nodes, dtype=np.int64), np.diff(graph.indptr))
    cols = graph.indices.astype(np.int64)
    upper = rows < cols
    if with_positions:
        return rows[upper], cols[upper], np.flatnonzero(upper)
    return rows[upper], cols[upper]


def _edge_keys(graph):
    """Sorted int64 keys u * n + v of every stored adjacency entry (both directions)."""
    n = graph.n_nodes
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(graph.indptr))
    return np.sort(rows * n + graph.indices.astype(np.int64))


def _contains(sorted_keys, keys):
    if sorted_keys.size == 0:
        return np.zeros(keys.shape, dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, keys), sorted_keys.size - 1)
    return sorted_keys[pos] == keys


def spanning_forest(graph, seed=0):
    """Boolean mask over :func:`_upper_edges` marking a random spanning forest (one tree per
    connected component): the minimum spanning forest under i.i.d. uniform edge weights."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import minimum_spanning_tree

    u, v = _upper_edges(graph)
    n = graph.n_nodes
    if u.size == 0:
        return np.zeros(0, dtype=bool)
    rng = np.random.default_rng(seed)
    w = 1.0 + rng.random(u.size)  # strictly positive: csgraph drops explicit zeros
    tree = minimum_spanning_tree(sp.csr_matrix((w, (u, v)), shape=(n, n))).tocoo()
    a, b = np.minimum(tree.row, tree.col).astype(np.int64), np.maximum(tree.row, tree.col).astype(np.int64)
    return _contains(np.sort(a * n + b), u * n + v)


def sample_non_edges(graph, count, seed=0, exclude=None):
    """``count`` distinct pairs (u < v, u != v) drawn uniformly among the non-edges of ``graph``.

    ``exclude``: optional int64 keys u * n + v (u < v) that must not be drawn either.
    Returns an int64 array (count, 2).
    """
    n = graph.n_nodes
    u_e, v_e = _upper_edges(graph)
    free = n * (n - 1) // 2 - u_e.size - (0 if exclude is None else len(exclude))
    if count > free:
        raise InputError(f"the graph has only {free} non-edges; cannot sample {count} negative pairs")
    taken = np.sort(u_e * n + v_e)
    if exclude is not None and len(exclude):
        taken = np.union1d(taken, np.asarray(exclude, dtype=np.int64))
    rng = np.random.default_rng(seed)
    found = np.empty(0, dtype=np.int64)
    while found.size < count:
        need = count - found.size
        k = int(need * 1.3) + 64
        a, b = rng.integers(0, n, k), rng.integers(0, n, k)
        ok = a != b
        keys = np.minimum(a, b)[ok] * n + np.maximum(a, b)[ok]
        keys = keys[~_contains(taken, keys)]
        # keep first occurrences in draw order (so the sample stays uniform), drop repeats
        _, first = np.unique(keys, return_index=True)
        keys = keys[np.sort(first)]
        keys = keys[~np.isin(keys, found)]
        found = np.concatenate([found, keys[:need]])
    return np.stack([found // n, found % n], axis=1)


def _residual(graph, keep_u, keep_v, keep_w):
    """Undirected Graph on the same nodes with the kept edges (and the original self-loops)."""
    import scipy.sparse as sp

    from graphembed.graph import Graph

    n = graph.n_nodes
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(graph.indptr))
    loops = rows == graph.indices
    lr = rows[loops]
    lw = graph.weights[loops] if graph.weights is not None else np.ones(lr.size, np.float32)
    r = np.concatenate([keep_u, keep_v, lr])
    c = np.concatenate([keep_v, keep_u, lr])
    w = np.concatenate([keep_w, keep_w, lw]).astype(np.float32)
    m = sp.csr_matrix((w, (r, c)), shape=(n, n))
    m.sort_indices()
    stats = {"source": "residual graph of the link-prediction split"}
    return Graph(m.indptr, m.indices, m.data if graph.weights is not None else None,
                 graph.node_ids, False, stats)


# ---------------------------------------------------------------------------- the split
def split_edges(graph, holdout=0.5, seed=0):
    """Hold out edges for link prediction (node2vec paper, section 4.4).

    Parameters
    ----------
    graph : Graph (undirected), networkx graph or scipy sparse matrix.
    holdout : float in (0, 1), share of the edges removed (the positives). Edges of a random
        spanning forest are never removed, so the residual graph keeps the connected components
        of the original; when fewer than ``holdout * edges`` edges lie outside the forest, all
        of those are removed (the result's ``holdout`` is then smaller; see ``split_info``).
    seed : int, seeds the forest, the removed edges and the negatives.

    Returns
    -------
    residual : Graph, same nodes (same order and ids), the removed edges dropped.
    pos_pairs : int64 array (m, 2), the removed edges as node indices (u < v).
    neg_pairs : int64 array (m, 2), pairs that are not edges of the original graph (u < v),
        distinct, drawn uniformly.

    Self-loops are neither removed nor sampled. Weights of kept edges are kept.
    """
    graph = Graph.coerce(graph)
    if not isinstance(holdout, (int, float, np.floating)) or not 0 < holdout < 1:
        raise InputError(f"holdout must be a number in (0, 1), got {holdout!r}")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise InputError(f"seed must be an integer >= 0, got {seed!r}")
    u, v, at = _upper_edges(graph, with_positions=True)
    if u.size < 2:
        raise InputError(f"the graph has {u.size} edges; link prediction needs more")
    wanted = int(round(holdout * u.size))
    tree = spanning_forest(graph, seed)
    removable = np.flatnonzero(~tree)
    if removable.size == 0:
        raise InputError("every edge is in the spanning forest (the graph is a forest); "
                         "no edge can be held out without disconnecting it")
    rng = np.random.default_rng([seed, 1])
    if wanted > removable.size:
        warnings.warn(f"only {removable.size} of {u.size} edges lie outside a spanning forest; "
                      f"holding out {removable.size} instead of {wanted}", stacklevel=2)
        wanted = removable.size
    wanted = max(1, wanted)
    removed = np.sort(rng.choice(removable, wanted, replace=False))
    mask = np.ones(u.size, dtype=bool)
    mask[removed] = False
    w_all = graph.weights[at] if graph.weights is not None else np.ones(u.size, np.float32)
    residual = _residual(graph, u[mask], v[mask], w_all[mask])
    pos = np.stack([u[removed], v[removed]], axis=1)
    neg = sample_non_edges(graph, wanted, seed=int(rng.integers(0, 2**62)))
    residual.stats.update({"holdout_requested": float(holdout), "holdout": wanted / u.size,
                           "edges_original": int(u.size), "edges_removed": int(wanted),
                           "forest_edges": int(tree.sum())})
    return residual, pos, neg


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


# ---------------------------------------------------------------------------- embedders
def make_embedder(method, params=None, seed=None, n_jobs=None, verbose=False):
    """An estimator from a registry name (``graphembed.registry.get_embedder``) and parameters;
    ``seed``/``n_jobs``/``verbose`` are passed where the estimator takes them."""
    from graphembed.registry import get_embedder

    cls = get_embedder(method)
    params = dict(params or {})
    try:
        import inspect

        accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    except (TypeError, ValueError):  # pragma: no cover
        accepted = set(params)
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise InputError(f"{method} has no parameter {', '.join(map(repr, unknown))}; "
                         f"its parameters: {', '.join(sorted(accepted))}")
    for key, value in (("random_state", seed), ("n_jobs", n_jobs), ("verbose", verbose)):
        if key in accepted and key not in params and value is not None:
            params[key] = value
    return cls(**params)


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


# ---------------------------------------------------------------------------- prediction
def predict(graph, embedding, top=20, *, per_node=False, nodes=None, metric="cosine", index="auto",
            rescore=False, seed=0, threads=None):
    """The most likely new links: pairs not yet in ``graph`` whose vectors are most similar.

    Parameters
    ----------
    graph : Graph whose edges are excluded (and whose nodes are the candidates).
    embedding : Embedding (or a path) with a vector for the graph's nodes; nodes without a
        vector are skipped.
    top : pairs overall (``per_node=False``) or per node (``per_node=True``).
    nodes : restrict the query nodes (original ids) in per-node mode.
    metric : ``cosine``, ``ip`` or ``l2`` (faiss index metric).
    index : faiss index type for :meth:`EmbeddingIndex.build` (``"auto"``: exact up to 50,000).
    rescore : re-rank candidates (3 x top per node) with a logistic regression on Hadamard
        features trained on the graph's edges against as many random non-edges.

    Returns
    -------
    dict of arrays ``source``, ``target`` (original ids), ``score`` (similarity, or the
    classifier's probability when rescored) and ``rank`` (1-based, per source in per-node mode,
    overall otherwise). In overall mode each unordered pair appears once.

    The candidates come from k-nearest-neighbour searches with k = top + degree (+1), grouped
    by degree, so existing edges cannot crowd the new ones out. The overall top-N is exact for
    an exact index: a pair in the overall top N is among the N best new pairs of its endpoints.
    """
    from graphembed.embedding import Embedding
    from graphembed.index.core import EmbeddingIndex

    graph = Graph.coerce(graph)
    if not isinstance(embedding, Embedding):
        embedding = Embedding.load(embedding)
    if not isinstance(top, (int, np.integer)) or isinstance(top, bool) or top < 1:
        raise InputError(f"top must be a positive integer, got {top!r}")
    n = graph.n_nodes
    # embedding row -> graph index
    g_of_row = graph.ids.align(embedding.node_ids)
    present = np.flatnonzero(g_of_row >= 0)
    if present.size < 2:
        raise InputError("fewer than 2 graph nodes have a vector in the embedding")
    sub = Embedding(embedding.node_ids[present], embedding.vectors[present], embedding.method,
                    embedding.params)
    g_of_sub = g_of_row[present]
    idx = EmbeddingIndex.build(sub, index=index, metric=metric, seed=seed, threads=threads)
    keys = _edge_keys(graph)
    deg = np.diff(graph.indptr)
    if nodes is not None:
        wanted = set(graph.index_of(list(nodes)).tolist())
        queries = np.array([i for i in range(len(sub)) if g_of_sub[i] in wanted], dtype=np.int64)
        if queries.size == 0:
            raise InputError("none of the query nodes has a vector in the embedding")
    else:
        queries = np.arange(len(sub), dtype=np.int64)
    per = top * 3 if rescore else top
    cand_src, cand_dst, cand_score = [], [], []
    qdeg = deg[g_of_sub[queries]]
    # group queries by the k they need (power-of-two buckets keep the number of searches small)
    need = per + qdeg + 1
    bucket = np.minimum(np.ceil(np.log2(np.maximum(need, 2))).astype(np.int64), 62)
    for b in np.unique(bucket):
        qs = queries[bucket == b]
        k = int(min(2 ** b, len(sub) - 1))
        if k < 1:
            continue
        q = idx.reconstruct(qs)
        for start in range(0, len(qs), 4096):
            chunk = qs[start:start + 4096]
            scores, pos = idx.search_positions(q[start:start + 4096], k, exclude=chunk)
            src = np.repeat(chunk, pos.shape[1])
            dst = pos.ravel()
            sc = scores.ravel()
            ok = dst >= 0
            src, dst, sc = src[ok], dst[ok], sc[ok]
            gs, gd = g_of_sub[src], g_of_sub[dst]
            new = (gs != gd) & ~_contains(keys, gs * n + gd)
            src, dst, sc = src[new], dst[new], sc[new]
            # keep the first ``per`` new candidates of each query (results come best first)
            order = np.argsort(src, kind="stable")
            src, dst, sc = src[order], dst[order], sc[order]
            first = np.searchsorted(src, src, side="left")
            keep = (np.arange(src.size) - first) < per
            cand_src.append(src[keep])
            cand_dst.append(dst[keep])
            cand_score.append(sc[keep])
    src = np.concatenate(cand_src) if cand_src else np.empty(0, np.int64)
    dst = np.concatenate(cand_dst) if cand_dst else np.empty(0, np.int64)
    score = np.concatenate(cand_score).astype(np.float64) if cand_score else np.empty(0)
    higher_better = metric != "l2"
    if rescore:
        score = _rescore(graph, sub.vectors, g_of_sub, src, dst, seed)
        higher_better = True
    if not per_node:
        a, b = np.minimum(src, dst), np.maximum(src, dst)
        key = a * len(sub) + b
        _, first = np.unique(key, return_index=True)
        src, dst, score = a[first], b[first], score[first]
    sign = -score if higher_better else score
    if per_node:
        order = np.lexsort((sign, src))
        src, dst, score = src[order], dst[order], score[order]
        first = np.searchsorted(src, src, side="left")
        rank = np.arange(src.size) - first + 1
        keep = rank <= top
        src, dst, score, rank = src[keep], dst[keep], score[keep], rank[keep]
    else:
        order = np.argsort(sign, kind="stable")[:top]
        src, dst, score = src[order], dst[order], score[order]
        rank = np.arange(1, src.size + 1)
    return {"source": sub.node_ids[src], "target": sub.node_ids[dst], "score": score,
            "rank": rank, "mode": "per_node" if per_node else "overall",
            "scored_by": "logistic regression on Hadamard features" if rescore else f"{metric} similarity"}


def _rescore(graph, vectors, g_of_sub, src, dst, seed):
    """P(edge) of candidate pairs from a logistic regression on Hadamard features, trained on the
    graph's edges (between nodes with vectors) against as many random non-edges."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    sub_of_g = np.full(graph.n_nodes, -1, dtype=np.int64)
    sub_of_g[g_of_sub] = np.arange(g_of_sub.size)
    u, v = _upper_edges(graph)
    su, sv = sub_of_g[u], sub_of_g[v]
    ok = (su >= 0) & (sv >= 0)
    pos = np.stack([su[ok], sv[ok]], axis=1)
    if len(pos) < 2:
        raise InputError("too few edges between nodes with vectors to train the rescoring classifier")
    neg = sample_non_edges(graph, min(len(pos), 200_000), seed=seed)
    neg = np.stack([sub_of_g[neg[:, 0]], sub_of_g[neg[:, 1]]], axis=1)
    neg = neg[(neg >= 0).all(1)]
    rng = np.random.default_rng(seed)
    if len(pos) > 200_000:
        pos = pos[rng.choice(len(pos), 200_000, replace=False)]
    x = edge_features(vectors, np.concatenate([pos, neg]), "hadamard")
    y = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))])
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(x, y)
    return clf.predict_proba(edge_features(vectors, np.stack([src, dst], axis=1), "hadamard"))[:, 1]
