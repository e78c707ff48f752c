"""Structural graph analytics: graphlet orbit counts and homomorphism counting and sampling.

Public names load on first use, so importing this package pulls in no numba.
"""
from graphembed._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "orbit_counts": "graphembed.structure.orbits",
    "edge_orbit_counts": "graphembed.structure.orbits",
    "graphlet_counts": "graphembed.structure.orbits",
    "orbit_adjacency": "graphembed.structure.orbits",
    "Motif": "graphembed.structure.motifs",
    "HomomorphismSampler": "graphembed.structure.hom_sampling",
    "HomResult": "graphembed.structure.hom_sampling",
    "hom_count": "graphembed.structure.hom_counting",
    "HomomorphismEmbedding": "graphembed.structure.hom_embedding",
})
