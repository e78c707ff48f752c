"""IVF index building on Dask over a partitioned embedding (a directory of Parquet parts).

Each part file is read on a worker and stays there (a task result; Dask spills it when memory
is short). The driver:

* learns each part's row count and ids (the index keeps the ids in position order, as
  :meth:`EmbeddingIndex.build` does);
* trains the IVF index (coarse quantizer, and PQ / SQ codebooks) on a sample: the very rows
  :meth:`EmbeddingIndex.build` samples (``default_rng(seed).choice(n, 64 * nlist)``, all rows
  below that), taken from the parts by the workers, normalised there for ``cosine``;
* sends the trained, empty index (serialised) to the workers, which add their part's vectors
  (positions ``offset .. offset + n_part - 1``);
* merges the shards in part order (``IndexIVF.merge_from`` with the part's first position as
  ``add_id``; the exact re-ranking store of ``...PQ...,RFlat`` with ``IndexFlat.merge_from``),
  so every inverted list holds its vectors in position order, as after the local build's adds,
  wraps the result in the same ``IndexIDMap2`` (ids = positions) with the IVF direct map, and
  writes the index directory with :meth:`EmbeddingIndex.save` (the atomic directory swap).

The local and the distributed index differ only where faiss' k-means training differs (thread
counts); the test checks recall@10 within 0.01 of the local build. The vectors' checksum (a
sha256 over all vectors in order) is computed here from the parts fetched one at a time.
Only IVF indexes merge: ``auto`` becomes ``IVF{4 sqrt n},Flat`` (or the PQ one that the local
policy picks when the vectors do not fit memory); Flat, HNSW and pre-transformed indexes need
one process (build them without ``--scheduler``).
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np

from graphembed.io.errors import InputError


# ---------------------------------------------------------------------------- worker tasks
def _read_part(path):
    from graphembed.io.embedding_files import read_embedding

    ids, vectors, meta = read_embedding(path, "parquet")
    return ids, np.ascontiguousarray(vectors, dtype=np.float32), meta


def _info(part):
    ids, vectors, meta = part
    return ids, vectors.shape, bool(np.isfinite(vectors).all()), meta


def _prepared(vectors, metric):
    from graphembed.index.core import _normalized

    return _normalized(vectors) if metric == "cosine" else vectors


def _sample(part, rows, metric):
    return np.ascontiguousarray(_prepared(part[1][rows], metric))


def _vectors(part):
    return part[1]


def _add(trained, part, metric, threads):
    """The trained index (serialised) with this part's vectors added: the serialised shard."""
    import faiss

    from graphembed.distributed.fastrp import _worker_threads
    from graphembed.index.core import ADD_BATCH

    faiss.omp_set_num_threads(threads or _worker_threads())
    index = faiss.deserialize_index(trained)
    vectors = _prepared(part[1], metric)
    for start in range(0, vectors.shape[0], ADD_BATCH):
        index.add(np.ascontiguousarray(vectors[start:start + ADD_BATCH]))
    return faiss.serialize_index(index)


# ---------------------------------------------------------------------------- driver
def part_files(path):
    """The ``*.parquet`` parts of an embedding directory, in name order (as ``Embedding.load``)."""
    files = sorted(str(f) for f in Path(path).iterdir()
                   if f.is_file() and f.suffix.lower() in (".parquet", ".pq") and not f.name.startswith((".", "_")))
    if not files:
        raise InputError(f"{path}: a directory without .parquet embedding files")
    return files


def _distributed_factory(index, n, dim):
    from graphembed.index.policy import _with_refine, choose_factory, ivf_nlist

    if index == "auto":
        factory = choose_factory(n, dim)
        return factory if factory.startswith("IVF") else f"IVF{ivf_nlist(n)},Flat"
    return _with_refine(index.strip())


def _merge(faiss, dst, src, add_id, refine_codes):
    """Append the shard ``src`` to ``dst`` (IVF, or IndexRefine over an IVF with a flat store,
    whose codes are appended to ``refine_codes`` and set by :func:`_set_refine`)."""
    # keep the owning wrappers referenced: a downcast view does not own the faiss object
    d, s = faiss.downcast_index(dst), faiss.downcast_index(src)
    if isinstance(d, faiss.IndexRefine):
        faiss.downcast_index(d.base_index).merge_from(faiss.downcast_index(s.base_index), add_id)
        refine_codes.append(faiss.vector_to_array(faiss.downcast_index(s.refine_index).codes))
    else:
        d.merge_from(s, add_id)
    del d, s


def _set_refine(faiss, dst, refine_codes):
    """The flat re-ranking store of an IndexRefine: the shards' codes in part order (what
    IndexFlatCodes.merge_from would append; it refuses the deserialised IndexFlat subclasses)."""
    d = faiss.downcast_index(dst)
    if not isinstance(d, faiss.IndexRefine):
        return
    store = faiss.downcast_index(d.refine_index)
    codes = np.concatenate(refine_codes) if refine_codes else np.zeros(0, np.uint8)
    store.codes.resize(0)
    faiss.copy_array_to_vector(codes, store.codes)
    store.ntotal = d.base_index.ntotal
    d.ntotal = d.base_index.ntotal


def build_index(path, client, index="auto", metric="cosine", *, nprobe=None, seed=0, threads=None):
    """An :class:`~graphembed.index.EmbeddingIndex` over the partitioned embedding ``path``,
    built on ``client``'s cluster (see the module docstring)."""
    from graphembed.index.core import (
        FORMAT,
        FORMAT_VERSION,
        METRICS,
        EmbeddingIndex,
        _faiss,
        _faiss_problem,
        _metric_type,
    )
    from graphembed.index.policy import check_factory

    faiss = _faiss()
    if metric not in METRICS:
        raise InputError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    if not isinstance(index, str) or not index.strip():
        raise InputError(f"index must be 'auto' or a faiss factory string, got {index!r}")
    t0 = time.perf_counter()
    files = part_files(path)
    parts = [client.submit(_read_part, f, pure=False) for f in files]
    infos = client.gather([client.submit(_info, p, pure=False) for p in parts])
    dims = {shape[1] for _, shape, _, _ in infos if shape[0]}
    if len(dims) > 1:
        raise InputError(f"{path}: its parts have vectors of different lengths ({', '.join(map(str, sorted(dims)))})")
    for f, (_, _, finite, _) in zip(files, infos):
        if not finite:
            raise InputError(f"{f}: the embedding has NaN or infinite values; cannot index it")
    ids = [i for i, _, _, _ in infos]
    if len({a.dtype.kind for a in ids}) > 1:
        ids = [np.asarray([str(v) for v in a.tolist()], dtype=object) for a in ids]
    node_ids = np.concatenate(ids)
    sizes = np.array([shape[0] for _, shape, _, _ in infos], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    n = int(offsets[-1])
    dim = dims.pop() if dims else int(infos[0][1][1])
    if n == 0 or dim == 0:
        raise InputError(f"cannot index an empty embedding ({n} x {dim})")
    if np.unique(node_ids).shape[0] != n:
        raise InputError("the embedding lists a node id twice; cannot index it")
    factory = _distributed_factory(index, n, dim)
    check_factory(factory, dim)
    try:
        inner = faiss.index_factory(dim, factory, _metric_type(metric))
    except RuntimeError as exc:
        raise InputError(f"invalid faiss index string {factory!r}: {_faiss_problem(exc)}") from None
    base = faiss.downcast_index(inner.base_index) if isinstance(inner, faiss.IndexRefine) else inner
    ivf = base if isinstance(base, faiss.IndexIVF) else None
    if ivf is None:
        raise InputError(f"index {factory!r}: a --scheduler build makes IVF indexes (IVF...,Flat, IVF...,SQ8, "
                         "IVF...,PQ...); build Flat, HNSW or pre-transformed indexes without --scheduler")
    if isinstance(inner, faiss.IndexRefine) and not isinstance(faiss.downcast_index(inner.refine_index),
                                                              faiss.IndexFlat):
        raise InputError(f"index {factory!r}: only a flat re-ranking stage (RFlat) merges across workers")
    defaults = {"nprobe": int(nprobe) if nprobe else max(1, min(ivf.nlist, max(8, ivf.nlist // 50)))}
    if index == "auto":
        ivf.cp.niter = 10
    if threads is not None:
        faiss.omp_set_num_threads(int(threads))
    # training: the local build's sample rows, taken from the parts by the workers
    cap = 64 * ivf.nlist
    rows = np.sort(np.random.default_rng(seed).choice(n, cap, replace=False)) if n > cap else np.arange(n)
    if rows.shape[0] < ivf.nlist:
        raise InputError(f"{factory!r} needs at least {ivf.nlist} vectors to train ({ivf.nlist} lists), the "
                         f"embedding has {n}; use fewer lists or build without --scheduler")
    cuts = np.searchsorted(rows, offsets)
    pieces = [client.submit(_sample, p, rows[cuts[b]:cuts[b + 1]] - offsets[b], metric, pure=False)
              for b, p in enumerate(parts) if cuts[b + 1] > cuts[b]]
    sample = np.concatenate(client.gather(pieces))
    del pieces
    try:
        inner.train(sample)
    except RuntimeError as exc:
        raise InputError(f"training {factory!r} failed: {_faiss_problem(exc)}") from None
    del sample
    trained = client.scatter([faiss.serialize_index(inner)], broadcast=True, hash=False)[0]
    shards = [client.submit(_add, trained, p, metric, threads, pure=False) for p in parts]
    # the checksum of the vectors in order, one part at a time, while the workers add
    h = hashlib.sha256()
    h.update(f"{n}x{dim}:".encode())
    for p in parts:
        h.update(client.submit(_vectors, p, pure=False).result().data)
    mapped = faiss.IndexIDMap2(inner)
    refine_codes = []
    for b, shard in enumerate(shards):
        piece = faiss.deserialize_index(shard.result())
        _merge(faiss, inner, piece, int(offsets[b]), refine_codes)
        del piece
        shard.release()
    _set_refine(faiss, inner, refine_codes)
    del refine_codes
    del parts, shards, trained
    if inner.ntotal != n:
        raise InputError(f"{path}: the merged index holds {inner.ntotal} vectors, the parts {n}")
    faiss.copy_array_to_vector(np.arange(n, dtype=np.int64), mapped.id_map)
    mapped.ntotal = n
    mapped.construct_rev_map()
    if not isinstance(inner, faiss.IndexRefine):
        ivf.make_direct_map()
    meta0 = infos[0][3]
    meta = {
        "format": FORMAT, "version": FORMAT_VERSION, "metric": metric, "normalized": metric == "cosine",
        "factory": factory, "faiss_class": type(faiss.downcast_index(inner)).__name__, "dim": int(dim),
        "count": int(n), "id_type": "string" if node_ids.dtype.kind == "O" else "int64",
        "embedding": {"method": meta0.get("method"), "params": meta0.get("params")},
        "checksum": "sha256:" + h.hexdigest(), "search_defaults": defaults,
        "build_seconds": round(time.perf_counter() - t0, 3), "faiss_version": faiss.__version__,
        "partitions": len(files),
    }
    obj = EmbeddingIndex(mapped, node_ids, meta)
    obj._keep = inner
    return obj
