"""Downstream tasks on embeddings: link prediction, clustering, node classification, plots.

Submodules load on first use (``graphembed.tasks.linkpred`` ...), so importing this package is
cheap: scikit-learn, faiss, igraph and matplotlib are imported inside the functions that use them.

* :mod:`graphembed.tasks.linkpred`: ``split_edges``, ``evaluate`` (node2vec-paper protocol plus
  heuristics), ``predict`` (top new pairs through the faiss index).
* :mod:`graphembed.tasks.cluster`: ``kmeans``, ``leiden``, ``modularity``, ``cluster_scores``.
* :mod:`graphembed.tasks.classify`: ``node_classification`` (``topk`` and ``threshold``
  protocols), ``read_labels``.
* :mod:`graphembed.tasks.plot`: ``plot_embedding``, ``plot_roc``.
* :mod:`graphembed.tasks.paper`: the node2vec paper's Table 2 / Table 4 reproduction.
"""
from graphembed._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    name: f"graphembed.tasks.{name}" for name in ("linkpred", "cluster", "classify", "plot", "paper")
})
