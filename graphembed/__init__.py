"""graphembed: fast graph embeddings and graph analytics.

Public names load on first use, so ``import graphembed`` stays cheap (no numba, scikit-learn,
gensim, faiss or torch at import time).
"""
from graphembed._lazy import lazy_exports

__version__ = "0.1.0"

_LAZY = {
    "Graph": "graphembed.graph",
    "Embedding": "graphembed.embedding",
    "InputError": "graphembed.io.errors",
    "read_graph": "graphembed.io.edges",
    "read_node_file": "graphembed.io.nodes",
    "FastRP": "graphembed.embed.fastrp",
    "Node2Vec": "graphembed.embed.node2vec",
    "DeepWalk": "graphembed.embed.node2vec",
    "get_embedder": "graphembed.registry",
    "available_embedders": "graphembed.registry",
    "datasets": "graphembed.datasets",
    "EmbeddingIndex": "graphembed.index.core",
    "LINE": "graphembed.embed.line",
    "GraphRandomFeatures": "graphembed.embed.grf",
    "kernel_kmeans": "graphembed.tasks.cluster",
    "orbit_counts": "graphembed.structure.orbits",
    "edge_orbit_counts": "graphembed.structure.orbits",
    "graphlet_counts": "graphembed.structure.orbits",
    "orbit_adjacency": "graphembed.structure.orbits",
    "OrbitFeatures": "graphembed.embed.orbit_features",
    "OrbitAdjacencyEmbedding": "graphembed.embed.orbit_features",
    "Motif": "graphembed.structure.motifs",
    "HomomorphismSampler": "graphembed.structure.hom_sampling",
    "hom_count": "graphembed.structure.hom_counting",
    "HomomorphismEmbedding": "graphembed.structure.hom_embedding",
    "tasks": "graphembed.tasks",
    "Client": "graphembed.service.client",
    "RoleFeatures": "graphembed.embed.roles",
    "GraphWave": "graphembed.embed.graphwave",
    "Concat": "graphembed.embed.fuse",
    "forman_curvature": "graphembed.structure.curvature",
    "ollivier_ricci_curvature": "graphembed.structure.curvature",
    "effective_resistance": "graphembed.structure.resistance",
    "rewire": "graphembed.structure.rewiring",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _LAZY)
