"""Node embedders: validate parameters, call the numba kernels, return an Embedding.

The estimators load on first use (``from graphembed.embed import FastRP``), so importing this
package pulls in no numba, scikit-learn or gensim.
"""
from graphembed._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "FastRP": "graphembed.embed.fastrp",
    "Node2Vec": "graphembed.embed.node2vec",
    "DeepWalk": "graphembed.embed.node2vec",
    "LINE": "graphembed.embed.line",
    "GraphRandomFeatures": "graphembed.embed.grf",
    "OrbitFeatures": "graphembed.embed.orbit_features",
    "OrbitAdjacencyEmbedding": "graphembed.embed.orbit_features",
})
