"""Embedding: original node ids plus a float32 matrix, saved and loaded by file extension."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import os
    from collections.abc import Mapping

    from gensim.models import KeyedVectors
    from numpy.typing import ArrayLike

    from graphembed._ids import IdIndex
    from graphembed.graph import NodeId


class Embedding:
    """Node ids and their vectors.

    Parameters
    ----------
    node_ids : array (n,) of ids (int64, or str).
    vectors : array (n, dim), stored as C-contiguous float32.
    method : name of the method that produced it (kept in saved files).
    params : dict of that method's parameters (JSON-serialisable; kept in saved files).
    input : dict describing how the input graph was read (path, format, directed, weighted,
        counts; set by ``fit_transform`` and the CLI, kept in saved files), or None.

    Attributes
    ----------
    graphembed_version : the version that wrote the file it was loaded from (None when made
        in this session: saving records the running version).

    Examples
    --------
    >>> emb = Embedding(["a", "b"], [[1, 0], [0, 1]])
    >>> emb["b"]
    array([0., 1.], dtype=float32)
    """

    def __init__(self, node_ids: ArrayLike, vectors: ArrayLike, method: str | None = None,
                 params: Mapping[str, Any] | None = None, input: Mapping[str, Any] | None = None) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2:
            raise ValueError(f"vectors must be 2-D (n, dim), got shape {vectors.shape}")
        from graphembed._ids import _ids_array

        ids = node_ids if isinstance(node_ids, np.ndarray) and node_ids.dtype.kind in "iuO" \
            else _ids_array(list(node_ids))
        if ids.dtype.kind == "u" and (not ids.size or ids.max() <= np.iinfo(np.int64).max):
            ids = ids.astype(np.int64)  # uint64 only where ids need it (beyond int64)
        elif ids.dtype.kind == "u":
            ids = ids.astype(np.uint64)
        if ids.shape[0] != vectors.shape[0]:
            raise ValueError(f"{ids.shape[0]} node ids but {vectors.shape[0]} vectors")
        self.node_ids = ids
        self.vectors = vectors
        self.method = method
        self.params = dict(params or {})
        self.input = dict(input) if input else None
        self.graphembed_version = None
        self._index = None

    # ------------------------------------------------------------------ access
    def __len__(self) -> int:
        return self.vectors.shape[0]

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    @property
    def ids(self) -> IdIndex:
        """The :class:`~graphembed._ids.IdIndex` of the node ids (built on first use)."""
        if self._index is None:
            from graphembed._ids import IdIndex

            self._index = IdIndex(self.node_ids)
        return self._index

    def index_of(self, node_id: NodeId) -> int:
        """Row of ``node_id`` (string digits match integer ids and vice versa; the rules are
        :class:`~graphembed._ids.IdIndex`'s); an unknown id raises a KeyError (an InputError)."""
        return self.ids.position(node_id)

    def __getitem__(self, node_id: NodeId) -> np.ndarray:
        return self.vectors[self.index_of(node_id)]

    def __contains__(self, node_id: object) -> bool:
        return node_id in self.ids

    def __repr__(self) -> str:
        return f"Embedding({len(self)} nodes x {self.dim} dims, method={self.method!r})"

    def metadata(self) -> dict[str, Any]:
        """What saved files record: method, params, graphembed version and input description."""
        from graphembed.io.metadata import graphembed_version

        out = {"method": self.method, "params": self.params,
               "graphembed_version": self.graphembed_version or graphembed_version()}
        if self.input:
            out["input"] = self.input
        return out

    # ------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike[str], format: str | None = None) -> str | os.PathLike[str]:
        """Write atomically; the format follows the extension (.parquet, .csv, .tsv, .npz,
        .w2v/.txt/.vec/.emb word2vec text, .bin binary word2vec through gensim) unless
        ``format`` is given. Returns ``path``."""
        from graphembed.io.embedding_files import write_embedding

        write_embedding(self, path, format)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str], format: str | None = None) -> Embedding:
        """Read an embedding file (any format :meth:`save` writes); ids, vectors and whatever
        metadata the file holds. A directory is read as a partitioned embedding: its
        ``*.parquet`` files in name order (what ``--scheduler`` runs write for ``-o DIR/``)."""
        import os

        from graphembed.io.embedding_files import read_embedding

        if os.path.isdir(path) and format in (None, "parquet"):
            ids, vectors, meta = _read_parquet_directory(path)
        else:
            ids, vectors, meta = read_embedding(path, format)
        emb = cls(ids, vectors, meta.get("method"), meta.get("params"), meta.get("input"))
        emb.graphembed_version = meta.get("graphembed_version")
        return emb

    def to_keyed_vectors(self) -> KeyedVectors:
        """A gensim ``KeyedVectors`` with ids as string keys (needs gensim)."""
        try:
            from gensim.models import KeyedVectors
        except ImportError:
            raise ImportError("to_keyed_vectors needs gensim: pip install 'graphembed[gensim]'") from None
        kv = KeyedVectors(self.dim)
        kv.add_vectors([str(v) for v in self.node_ids.tolist()], self.vectors)
        return kv


def _read_parquet_directory(path):
    """``(ids, vectors, metadata)`` of a directory of Parquet embedding parts, in name order."""
    from pathlib import Path

    from graphembed.io.embedding_files import _check_embedding, read_embedding
    from graphembed.io.errors import InputError

    files = sorted(f for f in Path(path).iterdir()
                   if f.is_file() and f.suffix.lower() in (".parquet", ".pq") and not f.name.startswith((".", "_")))
    if not files:
        raise InputError(f"{path}: a directory without .parquet embedding files")
    parts = [read_embedding(f, "parquet") for f in files]
    dims = {p[1].shape[1] for p in parts if p[1].shape[0]}
    if len(dims) > 1:
        raise InputError(f"{path}: its parts have vectors of different lengths ({', '.join(map(str, sorted(dims)))})")
    ids = [p[0] for p in parts]
    kinds = {a.dtype.kind for a in ids}
    if kinds == {"i", "u"}:  # parts below 2^63 read as int64 beside parts beyond it: one uint64 column
        if any(a.dtype.kind == "i" and a.size and a.min() < 0 for a in ids):
            raise InputError(f"{path}: its parts mix negative ids with ids beyond 2^63 - 1")
        ids = [a.astype(np.uint64) for a in ids]
    elif len(kinds) > 1:  # a part of digit-only text ids read as integers: all text
        ids = [np.asarray([str(v) for v in a.tolist()], dtype=object) for a in ids]
    ids = np.concatenate(ids)
    dim = dims.pop() if dims else parts[0][1].shape[1]
    vectors = np.concatenate([p[1].reshape(-1, dim) for p in parts]).astype(np.float32, copy=False)
    _check_embedding(Path(path), ids, vectors)
    return ids, vectors, parts[0][2]


def _json_default(obj):  # older name, kept for importers
    from graphembed.io.metadata import json_default

    return json_default(obj)
