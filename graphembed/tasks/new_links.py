"""New-link prediction from an embedding.

:func:`predict` proposes new links: for every node, its most similar nodes in the faiss index
(:class:`graphembed.index.core.EmbeddingIndex`) that are not already its neighbours, or the best
such pairs overall; no n^2 loop. ``rescore=True`` re-ranks the candidates with a logistic
regression on Hadamard features (:func:`graphembed.tasks.linkpred.edge_features`).
"""
import warnings

import numpy as np

from graphembed.graph import Graph
from graphembed.io.errors import InputError
from graphembed.tasks.edge_split import _contains, _upper_edges, sample_non_edges
from graphembed.tasks.linkpred import edge_features


def _edge_keys(graph):
    """Sorted int64 keys u * n + v of every stored adjacency entry (both directions)."""
    n = graph.n_nodes
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(graph.indptr))
    return np.sort(rows * n + graph.indices.astype(np.int64))


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
