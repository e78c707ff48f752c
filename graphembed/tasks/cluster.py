"""Clustering of embeddings: faiss k-means and Leiden on the k-nearest-neighbour graph.

* k-means: ``faiss.Kmeans`` (Johnson, Douze & Jegou, "Billion-scale similarity search with GPUs",
  2019), Lloyd iterations with k-means++-free random initialisation, ``nredo`` restarts.
* Leiden: V. Traag, L. Waltman, N. J. van Eck, "From Louvain to Leiden: guaranteeing
  well-connected communities", Scientific Reports 2019 (``leidenalg`` + ``igraph``), on the
  symmetrised k-nearest-neighbour graph of the vectors (cosine similarity from the faiss index of
  :class:`graphembed.index.core.EmbeddingIndex`, weights = max(similarity, 0) + 1e-6).

Scores: NMI and ARI against ground truth (scikit-learn) and the modularity of the partition on a
graph (Newman 2006), computed here on the sparse adjacency.

:func:`kernel_kmeans` clusters nodes with a graph kernel (a fitted
:class:`graphembed.embed.grf.GraphRandomFeatures` or a kernel matrix) instead of vectors.
"""
import numpy as np

from graphembed.base import check_seed
from graphembed.io.errors import InputError


def _check_seed(seed):
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise InputError(f"seed must be an integer >= 0, got {seed!r}")
    return int(seed) % (2**31 - 1)


def kmeans(vectors, k, seed=0, *, niter=25, nredo=1, normalize=False, threads=None):
    """Cluster labels int64 (n,) of faiss k-means with ``k`` clusters.

    ``normalize=True`` clusters the L2-normalised vectors (spherical-like k-means, cosine).
    Returns (labels, centroids (k, dim) float32, objective).
    """
    try:
        import faiss
    except ImportError:
        raise ImportError("k-means needs faiss: pip install 'graphembed[index]'") from None
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = x.shape
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise InputError(f"k must be a positive integer, got {k!r}")
    if k > n:
        raise InputError(f"k = {k} clusters for {n} vectors; k must be at most the number of nodes")
    if not np.isfinite(x).all():
        raise InputError("the embedding has NaN or infinite values")
    if normalize:
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        norms[norms == 0] = 1
        x = np.ascontiguousarray(x / norms)
    if threads is not None:
        faiss.omp_set_num_threads(int(threads))
    km = faiss.Kmeans(dim, int(k), niter=int(niter), nredo=int(nredo), seed=_check_seed(seed),
                      verbose=False, max_points_per_centroid=max(256, n // k + 1), min_points_per_centroid=1)
    km.train(x)
    _, assign = km.index.search(x, 1)
    obj = float(km.obj[-1]) if len(km.obj) else float("nan")
    return assign.ravel().astype(np.int64), km.centroids.copy(), obj


def knn_graph(vectors, knn=15, *, threads=None):
    """Symmetric scipy CSR (n, n) kNN graph: i ~ j when j is among the ``knn`` most cosine-similar
    vectors of i or vice versa; weight max(cosine, 0) + 1e-6. Built with the faiss index (exact
    up to 50,000 vectors, HNSW beyond)."""
    import scipy.sparse as sp

    from graphembed.embedding import Embedding
    from graphembed.index.core import EmbeddingIndex

    x = np.asarray(vectors, dtype=np.float32)
    n = x.shape[0]
    if not isinstance(knn, (int, np.integer)) or knn < 1:
        raise InputError(f"knn must be a positive integer, got {knn!r}")
    if n < 2:
        raise InputError("need at least 2 vectors for a kNN graph")
    k = min(int(knn), n - 1)
    index = EmbeddingIndex.build(Embedding(np.arange(n, dtype=np.int64), x), index="auto",
                                 metric="cosine", threads=threads)
    rows = np.arange(n, dtype=np.int64)
    scores, pos = index.search_positions(index.reconstruct(rows), k, exclude=rows)
    ok = pos >= 0
    r = np.repeat(rows, k)[ok.ravel()]
    c = pos.ravel()[ok.ravel()]
    w = np.maximum(np.nan_to_num(scores.ravel()[ok.ravel()]), 0) + 1e-6
    a = sp.csr_matrix((w, (r, c)), shape=(n, n))
    return a.maximum(a.T).tocsr()


def leiden(vectors, knn=15, resolution=1.0, seed=0, *, threads=None):
    """Leiden communities (int64 labels (n,)) of the kNN graph of ``vectors``.

    ``resolution`` is the RB-configuration (modularity) resolution: 1.0 is plain modularity,
    larger values give more, smaller communities.
    """
    try:
        import igraph as ig
        import leidenalg
    except ImportError:
        raise ImportError("Leiden clustering needs leidenalg and igraph: "
                          "pip install 'graphembed[leiden]'") from None
    if not resolution > 0:
        raise InputError(f"resolution must be > 0, got {resolution!r}")
    import scipy.sparse as sp

    a = sp.triu(knn_graph(vectors, knn, threads=threads), k=1).tocoo()
    g = ig.Graph(n=a.shape[0], edges=np.stack([a.row, a.col], axis=1).tolist(), directed=False)
    g.es["weight"] = a.data.tolist()
    part = leidenalg.find_partition(g, leidenalg.RBConfigurationVertexPartition, weights="weight",
                                    resolution_parameter=float(resolution), seed=_check_seed(seed))
    return np.asarray(part.membership, dtype=np.int64)


def modularity(graph, labels, resolution=1.0):
    """Newman modularity of the partition ``labels`` (one per node, graph order) of ``graph``:
    Q = sum_c [ L_c / m - resolution * (d_c / 2m)^2 ], L_c the edge weight inside c, d_c the
    degree sum of c, m the total edge weight (networkx's convention: a self-loop adds twice its
    weight to its node's degree and once to L_c). Directed graphs are symmetrised."""
    import scipy.sparse as sp

    a = graph.to_scipy().astype(np.float64).tocsr() if hasattr(graph, "to_scipy") else sp.csr_matrix(graph, dtype=np.float64)
    if getattr(graph, "directed", False):
        a = a.maximum(a.T).tocsr()
    labels = np.asarray(labels)
    if labels.shape[0] != a.shape[0]:
        raise InputError(f"{labels.shape[0]} cluster labels for {a.shape[0]} graph nodes")
    a = a + sp.diags(a.diagonal())
    two_m = a.sum()
    if two_m == 0:
        raise InputError("the graph has no edges; modularity is undefined")
    _, comm = np.unique(labels, return_inverse=True)
    c = sp.csr_matrix((np.ones(comm.size), (np.arange(comm.size), comm)))
    inside = (c.T @ a @ c).diagonal()
    deg = np.asarray(a.sum(axis=1)).ravel()
    d_c = np.bincount(comm, weights=deg)
    return float(np.sum(inside / two_m - resolution * (d_c / two_m) ** 2))


def cluster_scores(pred, truth):
    """{"nmi", "ari", "nodes"} over the nodes that have a truth label (None or -1: no label)."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    pred = np.asarray(pred)
    truth = np.asarray(truth, dtype=object)
    known = np.array([t is not None and not (isinstance(t, float) and np.isnan(t))
                      and not (isinstance(t, (int, np.integer)) and t < 0) for t in truth.tolist()])
    if known.sum() < 2:
        raise InputError("fewer than 2 nodes have a ground-truth label")
    t = np.array([str(v) for v in truth[known]])
    return {"nmi": float(normalized_mutual_info_score(t, pred[known])),
            "ari": float(adjusted_rand_score(t, pred[known])), "nodes": int(known.sum())}


def graph_labels(graph, node_ids, labels):
    """Cluster labels in graph-node order from labels of ``node_ids``; graph nodes without one
    get a singleton cluster each. Returns (labels (graph.n_nodes,), number without one)."""
    labels = np.asarray(labels, dtype=np.int64)
    out = np.full(graph.n_nodes, -1, dtype=np.int64)
    at = graph.ids.align(node_ids)
    found = at >= 0
    out[at[found]] = labels[found]
    missing = out < 0
    if missing.all():
        raise InputError("no graph node is in the embedding (do the node ids match?)")
    out[missing] = labels.max() + 1 + np.arange(int(missing.sum()))
    return out, int(missing.sum())


def kernel_kmeans(grf, n_clusters, random_state=None, n_components=None, n_init=10):
    """Node clustering with a kernel: kernel k-means on its best rank-r approximation.

    Method: the top ``n_components`` (default ``n_clusters``) eigenpairs (lambda, u) of the
    symmetrised kernel are found by Lanczos (``scipy.sparse.linalg.eigsh``) through matrix-
    vector products only (``kernel_matvec`` for a fitted GraphRandomFeatures, so K_hat is never
    formed); rows of ``U diag(sqrt(max(lambda, 0)))`` have inner products equal to the rank-r
    kernel, so k-means on them (scikit-learn ``KMeans``, ``n_init`` restarts) is exactly kernel
    k-means with that low-rank kernel (Dhillon, Guan, Kulis, KDD 2004 relate kernel k-means and
    spectral clustering).

    Parameters
    ----------
    grf : fitted GraphRandomFeatures, or a dense (n, n) kernel matrix / LinearOperator (e.g. the
        exact kernel, to compare).
    n_clusters : int >= 1.
    random_state : None or int, seeds the Lanczos start vector and k-means.

    Returns
    -------
    labels : int64 array (n,).
    """
    from scipy.sparse.linalg import LinearOperator, eigsh
    from sklearn.cluster import KMeans

    from graphembed.embed.grf import GraphRandomFeatures

    if isinstance(grf, GraphRandomFeatures):
        op = grf.kernel_operator(symmetrize=True)
    elif isinstance(grf, LinearOperator):
        op = grf
    else:
        k = np.asarray(grf, dtype=np.float64)
        if k.ndim != 2 or k.shape[0] != k.shape[1]:
            raise InputError(f"kernel must be a square matrix, got shape {k.shape}")
        op = 0.5 * (k + k.T)
    n = op.shape[0]
    if not isinstance(n_clusters, (int, np.integer)) or not 1 <= n_clusters <= n:
        raise InputError(f"n_clusters must be an integer in [1, {n}], got {n_clusters!r}")
    r = int(n_clusters if n_components is None else n_components)
    if not 1 <= r <= n:
        raise InputError(f"n_components must be in [1, {n}], got {r}")
    seed = check_seed(random_state)
    if r >= n - 1 or n <= 200:
        dense = op if isinstance(op, np.ndarray) else op @ np.eye(n)
        vals, vecs = np.linalg.eigh(0.5 * (dense + dense.T))
        vals, vecs = vals[-r:], vecs[:, -r:]
    else:
        v0 = np.random.default_rng(seed).standard_normal(n)
        vals, vecs = eigsh(op, k=r, which="LA", v0=v0, tol=1e-6)
    x = vecs * np.sqrt(np.maximum(vals, 0.0))
    km = KMeans(n_clusters=int(n_clusters), n_init=n_init, random_state=seed % (2**32))
    return km.fit_predict(x).astype(np.int64)
