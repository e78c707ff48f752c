"""Nearest-neighbour indexes over embeddings (faiss, imported only when an index is built or loaded).

``EmbeddingIndex.build(emb, index="auto", metric="cosine")`` -> ``.save(path)`` (a directory) ->
``EmbeddingIndex.load(path)`` -> ``.neighbors(ids, k)`` / ``.search(vectors, k)``.
"""
from graphembed.index.core import EmbeddingIndex, build_and_save
from graphembed.index.policy import choose_factory
from graphembed.index.results import Neighbors

__all__ = ["EmbeddingIndex", "Neighbors", "build_and_save", "choose_factory"]
