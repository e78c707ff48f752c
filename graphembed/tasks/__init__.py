"""Downstream tasks on embeddings: link prediction, clustering, node classification, plots.

Submodules load on first use (``graphembed.tasks.linkpred`` ...), so importing this package is
cheap: scikit-learn, faiss, igraph and matplotlib are imported inside the functions that use them.

* :mod:`graphembed.tasks.edge_split`: ``split_edges`` (held-out edges outside a random spanning
  forest), ``sample_non_edges``, ``spanning_forest``.
* :mod:`graphembed.tasks.linkpred`: ``evaluate`` (node2vec-paper protocol plus heuristics),
  ``edge_features``, ``heuristic_scores``.
* :mod:`graphembed.tasks.new_links`: ``predict`` (top new pairs through the faiss index).
* :mod:`graphembed.tasks.cluster`: ``kmeans``, ``leiden``, ``modularity``, ``cluster_scores``,
  ``kernel_kmeans``.
* :mod:`graphembed.tasks.classify`: ``node_classification`` (``topk`` and ``threshold``
  protocols), ``read_labels``.
* :mod:`graphembed.tasks.plot`: ``plot_embedding``, ``plot_roc``.
* :mod:`graphembed.tasks.paper`: the node2vec paper's Table 2 / Table 4 reproduction.
"""
from graphembed._lazy import lazy_exports

_MODULES = ("edge_split", "linkpred", "new_links", "cluster", "classify", "plot", "paper")

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    name: f"graphembed.tasks.{name}" for name in _MODULES
})
