"""EmbeddingIndex: a faiss index over an Embedding, kept with the original node ids.

Layout on disk (a directory, written atomically)::

    emb.index/
      index.faiss     faiss IndexIDMap2 over the vectors; ids are row positions (int64)
      nodes.parquet   one column ``node``: the original id of each position
      index.json      metric, normalisation, factory string, dim, count, the embedding's method and
                      parameters, a checksum of the vectors, search defaults (efSearch / nprobe)

Metrics: ``cosine`` (vectors L2-normalised, inner product; score = cosine similarity), ``ip``
(inner product; score = dot product), ``l2`` (score = Euclidean distance, lower is closer).
faiss is imported only when an index is built or loaded. Which faiss index to build and its
search defaults: :mod:`graphembed.index.policy`; the query result: :mod:`graphembed.index.results`.
"""
import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np

from graphembed.index.policy import (
    DEFAULT_EF_CONSTRUCTION,
    DEFAULT_EF_SEARCH,
    _with_refine,
    check_factory,
    choose_factory,
    default_ef_search,
)
from graphembed.index.results import Neighbors
from graphembed.io.errors import InputError
from graphembed.params import INDEX_METRICS as METRICS  # one list, shared with the CLI

FORMAT = "graphembed-index"
FORMAT_VERSION = 1
INDEX_FILE = "index.faiss"
NODES_FILE = "nodes.parquet"
META_FILE = "index.json"
EXACT_FILTER_MAX = 20_000        # filters this small are answered by exact search over the subset
ADD_BATCH = 1 << 16              # vectors per faiss add call (one step of the build's progress bar)
SCORE_NAMES = {"cosine": "cosine similarity", "ip": "inner product",
               "l2": "Euclidean distance (lower is closer)"}


def _faiss():
    try:
        import faiss
    except ImportError:
        raise ImportError("graphembed indexes need faiss: pip install 'graphembed[index]'") from None
    return faiss


def _metric_type(metric):
    faiss = _faiss()
    return faiss.METRIC_L2 if metric == "l2" else faiss.METRIC_INNER_PRODUCT


def vectors_checksum(vectors):
    """``sha256:<hex>`` of the float32 C-order bytes of the vectors (as embedded, not normalised)."""
    h = hashlib.sha256()
    h.update(f"{vectors.shape[0]}x{vectors.shape[1]}:".encode())
    h.update(np.ascontiguousarray(vectors, dtype=np.float32).data)
    return "sha256:" + h.hexdigest()


def file_checksum(path, chunk=1 << 22):
    """``sha256:<hex>`` of a file's bytes, read in 4 MiB pieces."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(chunk), b""):
                h.update(block)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    return "sha256:" + h.hexdigest()


def _faiss_problem(exc, limit=160):
    """The useful part of a faiss error: its last line without the C++ location, shortened."""
    text = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    if " at /" in text and ": " in text:  # "Error in <signature> at <file>:<line>: message"
        text = text.rsplit(": ", 1)[-1]
    return " ".join(text.split())[:limit]


def read_index_meta(path):
    """The ``index.json`` of the index directory ``path``, checked to be a graphembed index
    description with its files present; raises :class:`InputError` otherwise."""
    path = Path(path)
    if not path.is_dir() or not (path / META_FILE).is_file():
        raise InputError(f"{path}: not an index directory (expected {META_FILE}, {INDEX_FILE}, "
                         f"{NODES_FILE}); build one with 'graphembed index build'")
    try:
        meta = json.loads((path / META_FILE).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{path / META_FILE}: not valid JSON ({str(exc)[:120]})") from None
    except OSError as exc:
        raise InputError(f"{path / META_FILE}: cannot read ({exc.strerror})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("metric") not in METRICS:
        raise InputError(f"{path / META_FILE}: not a graphembed index description")
    try:
        version, dim, count = int(meta.get("version", 0)), int(meta["dim"]), int(meta["count"])
    except (KeyError, TypeError, ValueError, OverflowError):
        raise InputError(f"{path / META_FILE}: version, dim or count is missing or not an integer") from None
    if max(abs(version), abs(dim), abs(count)) >= 2**63:
        raise InputError(f"{path / META_FILE}: version, dim or count is out of range")
    if version > FORMAT_VERSION:
        raise InputError(f"{path}: index format version {version} is newer than this "
                         f"graphembed reads ({FORMAT_VERSION}); upgrade graphembed")
    if dim < 1 or count < 0:
        raise InputError(f"{path / META_FILE}: dim {dim} and count {count} are not possible")
    files = meta.get("files")
    if files is not None and (not isinstance(files, dict)
                              or not all(isinstance(v, str) for v in files.values())):
        raise InputError(f"{path / META_FILE}: 'files' must map file names to checksums")
    for name in (INDEX_FILE, NODES_FILE):
        if not (path / name).is_file():
            raise InputError(f"{path}: {name} is missing")
    return meta


def index_files(path):
    """True when the directory ``path`` holds a graphembed index and nothing else (its
    ``index.json`` describes one; every other entry is ``index.faiss`` or ``nodes.parquet``)."""
    path = Path(path)
    try:
        read_index_meta(path)
    except InputError:
        return False
    return set(os.listdir(path)) <= {META_FILE, INDEX_FILE, NODES_FILE}


def _check_replaceable(path):
    """Refuse to replace a directory that is neither empty nor a graphembed index."""
    if any(Path(path).iterdir()) and not index_files(path):
        raise InputError(f"{path}: a directory that is not empty and not an index (only a "
                         "graphembed index is replaced); name a new or empty directory")


def _normalized(x):
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (x / norms).astype(np.float32, copy=False)


# ---------------------------------------------------------------------------- the index
class EmbeddingIndex:
    """A faiss nearest-neighbour index over an :class:`~graphembed.Embedding`.

    Examples
    --------
    >>> index = EmbeddingIndex.build(emb, index="auto", metric="cosine")   # doctest: +SKIP
    >>> index.save("emb.index")                                           # doctest: +SKIP
    >>> index = EmbeddingIndex.load("emb.index")                          # doctest: +SKIP
    >>> index.neighbors(["alice"], k=10)[0]       # (ids, scores), alice herself excluded  # doctest: +SKIP
    """

    def __init__(self, faiss_index, node_ids, meta, path=None):
        faiss = _faiss()
        self.index = faiss_index
        self.node_ids = node_ids
        self.meta = meta
        self.path = None if path is None else str(path)
        self._lookup = None
        inner = faiss.downcast_index(faiss_index.index) if hasattr(faiss_index, "id_map") else faiss_index
        self._refine = isinstance(inner, faiss.IndexRefine)
        base = faiss.downcast_index(inner.base_index) if self._refine else inner
        self._hnsw = isinstance(base, faiss.IndexHNSW)
        self._ivf = faiss.try_extract_index_ivf(base) if not self._hnsw else None

    # ------------------------------------------------------------------ properties
    @property
    def metric(self) -> str:
        return self.meta["metric"]

    @property
    def dim(self) -> int:
        return int(self.meta["dim"])

    @property
    def factory(self) -> str:
        return self.meta["factory"]

    def __len__(self):
        return len(self.node_ids)

    def __contains__(self, node_id):
        return node_id in self.ids

    def __repr__(self):
        return (f"EmbeddingIndex({len(self)} x {self.dim}, {self.factory!r}, metric={self.metric!r}"
                + (f", path={self.path!r})" if self.path else ")"))

    def info(self) -> dict:
        """index.json plus the path, the faiss class and the current search defaults."""
        out = dict(self.meta)
        out["path"] = self.path
        out["score"] = SCORE_NAMES[self.metric]
        return out

    # ------------------------------------------------------------------ build / save / load
    @classmethod
    def build(cls, emb, index="auto", metric="cosine", *, ef_construction=DEFAULT_EF_CONSTRUCTION,
              ef_search=None, nprobe=None, seed=0, threads=None, verbose=False):
        """Index the vectors of ``emb`` (an Embedding or a path to an embedding file).

        ``index``: ``"auto"`` (see :func:`choose_factory`) or any faiss ``index_factory`` string
        (``"Flat"``, ``"HNSW32"``, ``"IVF1024,Flat"``, ``"IVF1024,PQ32x8"``...; PQ codes always get
        exact re-ranking, ``",RFlat"`` is appended when no refine stage is given).
        ``metric``: ``cosine``, ``ip`` or ``l2``. ``ef_search`` / ``nprobe`` become the defaults
        stored with the index (``ef_search`` default: :func:`default_ef_search`; ``nprobe``
        default: nlist / 50, at least 8).
        ``verbose``: a progress bar on stderr (only when it is a terminal) over the build's
        steps: training (one step: faiss reports no progress inside it), adding the vectors in
        batches of ``ADD_BATCH`` (flat, IVF, PQ and SQ codes: the index is byte-identical to one
        added in a single call) or in one step (HNSW and other graphs, whose links would depend
        on the batches), and the IVF direct map.
        """
        faiss = _faiss()
        from graphembed.embedding import Embedding

        if not isinstance(emb, Embedding):
            emb = Embedding.load(emb)
        if metric not in METRICS:
            raise InputError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
        if not isinstance(index, str) or not index.strip():
            raise InputError(f"index must be 'auto' or a faiss factory string, got {index!r}")
        n, dim = emb.vectors.shape
        if n == 0 or dim == 0:
            raise InputError(f"cannot index an empty embedding ({n} x {dim})")
        if not np.isfinite(emb.vectors).all():
            raise InputError("the embedding has NaN or infinite values; cannot index it")
        if np.unique(emb.node_ids).shape[0] != n:
            raise InputError("the embedding lists a node id twice; cannot index it")
        if threads is not None:
            faiss.omp_set_num_threads(int(threads))
        t0 = time.perf_counter()
        vectors = _normalized(emb.vectors) if metric == "cosine" else emb.vectors
        factory = choose_factory(n, dim) if index == "auto" else _with_refine(index.strip())
        check_factory(factory, dim)
        try:
            inner = faiss.index_factory(dim, factory, _metric_type(metric))
        except RuntimeError as exc:
            raise InputError(f"invalid faiss index string {factory!r}: "
                             f"{_faiss_problem(exc)}") from None
        defaults = {}
        hnsw = _find(inner, faiss.IndexHNSW)
        if hnsw is not None:
            hnsw.hnsw.efConstruction = int(ef_construction)
            defaults["efSearch"] = int(ef_search) if ef_search else default_ef_search(n)
        ivf = faiss.try_extract_index_ivf(inner)
        if ivf is not None:
            defaults["nprobe"] = int(nprobe) if nprobe else max(1, min(ivf.nlist, max(8, ivf.nlist // 50)))
            if index == "auto":
                ivf.cp.niter = 10
        from graphembed.base import progress

        direct_map = ivf is not None and not isinstance(inner, faiss.IndexRefine)
        batch = ADD_BATCH if _batchable(inner, ivf) else n
        steps = int(not inner.is_trained) + -(-n // batch) + int(direct_map)
        with progress(steps, "index build", verbose) as bar:
            if not inner.is_trained:
                bar.set_postfix_str("train", refresh=False)
                cap = 64 * ivf.nlist if ivf is not None else 100_000
                sample = vectors
                if n > cap:
                    rows = np.sort(np.random.default_rng(seed).choice(n, cap, replace=False))
                    sample = vectors[rows]
                if ivf is not None and len(sample) < ivf.nlist:
                    raise InputError(f"{factory!r} needs at least {ivf.nlist} vectors to train "
                                     f"({ivf.nlist} lists), the embedding has {n}; use fewer lists or 'Flat'")
                try:
                    inner.train(np.ascontiguousarray(sample))
                except RuntimeError as exc:
                    raise InputError(f"training {factory!r} failed: {_faiss_problem(exc)}") from None
                bar.update(1)
            bar.set_postfix_str("add", refresh=False)
            mapped = faiss.IndexIDMap2(inner)
            for start in range(0, n, batch):
                stop = min(n, start + batch)
                mapped.add_with_ids(np.ascontiguousarray(vectors[start:stop]),
                                    np.arange(start, stop, dtype=np.int64))
                bar.update(1)
            if direct_map:
                bar.set_postfix_str("direct map", refresh=False)
                ivf.make_direct_map()  # reconstruct by id (query by node, /nodes/{id}/vector)
                bar.update(1)
        meta = {
            "format": FORMAT, "version": FORMAT_VERSION, "metric": metric,
            "normalized": metric == "cosine", "factory": factory,
            "faiss_class": type(faiss.downcast_index(inner)).__name__, "dim": int(dim), "count": int(n),
            "id_type": "string" if emb.node_ids.dtype.kind == "O" else "int64",
            "embedding": {"method": emb.method, "params": emb.params},
            "checksum": vectors_checksum(emb.vectors), "search_defaults": defaults,
            "build_seconds": round(time.perf_counter() - t0, 3), "faiss_version": faiss.__version__,
        }
        obj = cls(mapped, emb.node_ids, meta)
        obj._keep = inner  # the IDMap does not own the Python-side inner object
        return obj

    def save(self, path):
        """Write the index directory atomically: built beside ``path``, then swapped in, so
        ``path`` always names a complete index (the old one or this one).

        ``path`` must not exist, be an empty directory, or hold a graphembed index (recognised by
        :func:`index_files`); anything else is refused and left untouched.
        """
        faiss = _faiss()
        from graphembed.io.atomic import atomic_path
        from graphembed.io.metadata import json_default as _json_default
        from graphembed.io.tables import write_table

        path = Path(path)
        with atomic_path(path, directory=True, replace_dir=_check_replaceable) as tmp:
            faiss.write_index(self.index, str(tmp / INDEX_FILE))
            write_table({"node": self.node_ids}, tmp / NODES_FILE, "parquet")  # ids exact
            self.meta["files"] = {name: file_checksum(tmp / name) for name in (INDEX_FILE, NODES_FILE)}
            (tmp / META_FILE).write_text(json.dumps(self.meta, indent=2, default=_json_default) + "\n")
        self.path = str(path)
        return path

    @classmethod
    def load(cls, path, mmap=True, verify=True):
        """Read an index directory; the faiss index is memory-mapped where its type allows.

        ``verify``: check ``index.faiss`` and ``nodes.parquet`` against the sha256 sums stored in
        ``index.json`` first (reads both files once; indexes written before the sums were stored
        cannot be verified and load as they are). A mismatch raises :class:`InputError`. Without
        the check the files are trusted: faiss is not hardened against damaged files.
        """
        faiss = _faiss()
        import pyarrow.parquet as pq

        from graphembed.io.embedding_files import _ids_from_arrow

        path = Path(path)
        if not path.exists():
            raise InputError(f"{path}: index not found")
        meta = read_index_meta(path)
        if verify:
            for name, expected in (meta.get("files") or {}).items():
                if name in (INDEX_FILE, NODES_FILE) and file_checksum(path / name) != expected:
                    raise InputError(f"{path / name}: checksum mismatch: the file is damaged or was "
                                     "changed after the index was built; rebuild the index")
        index = None
        if mmap:
            flag = getattr(faiss, "IO_FLAG_MMAP_IFC", faiss.IO_FLAG_MMAP) | faiss.IO_FLAG_READ_ONLY
            try:
                index = faiss.read_index(str(path / INDEX_FILE), flag)
            except (RuntimeError, MemoryError):
                index = None  # this index type cannot be mapped; read it into memory
        if index is None:
            try:
                index = faiss.read_index(str(path / INDEX_FILE))
            except MemoryError:
                raise InputError(f"{path / INDEX_FILE}: not a readable faiss index (its sizes ask for "
                                 "more memory than there is: damaged?)") from None
            except RuntimeError as exc:
                raise InputError(f"{path / INDEX_FILE}: not a readable faiss index "
                                 f"({_faiss_problem(exc)})") from None
        if not hasattr(index, "id_map"):  # read_index already returns the concrete class
            raise InputError(f"{path / INDEX_FILE}: expected an IndexIDMap2, found {type(index).__name__}")
        try:
            ids = _ids_from_arrow(pq.read_table(str(path / NODES_FILE)).column("node"))
        except Exception as exc:
            raise InputError(f"{path / NODES_FILE}: not a readable node list "
                             f"({' '.join(str(exc).split())[:160]})") from None
        if len(ids) != index.ntotal or index.d != int(meta["dim"]):
            raise InputError(f"{path}: {NODES_FILE} has {len(ids)} ids, the faiss index {index.ntotal} "
                             f"vectors of dim {index.d} (index.json: dim {meta['dim']}); rebuild it")
        return cls(index, ids, meta, path)

    # ------------------------------------------------------------------ ids and vectors
    @property
    def ids(self):
        """The :class:`~graphembed._ids.IdIndex` of the indexed node ids."""
        if self._lookup is None:
            from graphembed._ids import IdIndex

            self._lookup = IdIndex(self.node_ids)
        return self._lookup

    def _position(self, node_id):
        return self.ids.position(node_id)

    def positions(self, node_ids):
        """Row positions of ``node_ids``; an unknown id raises InputError naming it."""
        from graphembed._ids import UnknownIdError

        try:
            return self.ids.positions(node_ids)
        except UnknownIdError as exc:
            where = f" (index {Path(self.path).name})" if self.path else ""
            raise UnknownIdError(f"{exc}{where}") from None

    def reconstruct(self, positions):
        """Stored vectors (k, dim) float32 at row ``positions`` (L2-normalised for cosine)."""
        positions = np.ascontiguousarray(positions, dtype=np.int64)
        if positions.size and (positions.min() < 0 or positions.max() >= len(self)):
            raise InputError(f"positions must be in [0, {len(self)})")
        if len(positions) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.index.reconstruct_batch(positions)

    def vectors(self, node_ids=None):
        """The stored vectors (L2-normalised for metric cosine) of ``node_ids``, or of every node."""
        if node_ids is None:
            return self._reconstruct(np.arange(len(self)))
        return self._reconstruct(self.positions(node_ids))

    def vector(self, node_id):
        return self.vectors([node_id])[0]

    # ------------------------------------------------------------------ search
    def _prepare_queries(self, vectors):
        q = np.asarray(vectors, dtype=np.float32)
        if q.ndim == 1:
            q = q[None, :]
        if q.ndim != 2 or q.shape[1] != self.dim:
            raise InputError(f"query vectors must have dimension {self.dim}, got shape {q.shape}")
        if not np.isfinite(q).all():
            raise InputError("query vectors contain NaN or infinite values")
        return np.ascontiguousarray(_normalized(q) if self.metric == "cosine" else q)

    def _search_params(self, ef_search, nprobe, selector, k_factor):
        faiss = _faiss()
        defaults = self.meta.get("search_defaults", {})
        if self._hnsw:
            params = faiss.SearchParametersHNSW()
            params.efSearch = int(ef_search or defaults.get("efSearch", DEFAULT_EF_SEARCH))
        elif self._ivf is not None:
            params = faiss.SearchParametersIVF()
            params.nprobe = int(nprobe or defaults.get("nprobe", 8))
        else:
            params = faiss.SearchParameters()
        if selector is not None:
            params.sel = selector
        if self._refine:
            outer = faiss.IndexRefineSearchParameters()
            outer.k_factor = float(k_factor)
            outer.base_index_params = params
            return outer, params
        return params, params

    def _raw_search(self, q, k, *, selector=None, ef_search=None, nprobe=None, k_factor=4.0):
        """(distances, positions) from faiss; scores converted to the metric's convention."""
        if ef_search is not None and ef_search < 1 or nprobe is not None and nprobe < 1:
            raise InputError("ef_search and nprobe must be positive")
        params, keep = self._search_params(ef_search, nprobe, selector, k_factor)
        if self._hnsw:
            keep.efSearch = max(keep.efSearch, k)
        dist, pos = self.index.search(q, k, params=params)
        del keep
        if pos.size and (pos.max() >= len(self.node_ids) or pos.min() < -1):
            where = Path(self.path).name if self.path else "the index"
            raise InputError(f"{where}: faiss returned positions outside its {len(self.node_ids)} "
                             "nodes; the index is damaged: rebuild it")
        if self.metric == "l2":
            dist = np.sqrt(np.maximum(dist, 0))
        dist = dist.astype(np.float32, copy=False)
        dist[pos < 0] = np.nan
        return dist, pos

    def _exact_subset(self, q, k, subset):
        """Exact top-k of ``q`` among the rows ``subset`` (sorted unique positions)."""
        faiss = _faiss()
        pos = np.full((len(q), k), -1, dtype=np.int64)
        scores = np.full((len(q), k), np.nan, dtype=np.float32)
        kk = min(k, len(subset))
        if kk == 0 or len(q) == 0:
            return scores, pos
        x = self._reconstruct(subset)
        dist, top = faiss.knn(q, x, kk, metric=_metric_type(self.metric))
        if self.metric == "l2":
            dist = np.sqrt(np.maximum(dist, 0))
        found = top >= 0
        pos[:, :kk] = np.where(found, subset[np.maximum(top, 0)], -1)
        scores[:, :kk] = np.where(found, dist, np.nan)
        return scores, pos

    _reconstruct = reconstruct

    def search_positions(self, q, k, exclude=None, **search):
        """(scores (m, k) float32, positions (m, k) int64) of the ``k`` nearest rows to each query
        vector of ``q`` (m, dim); ``exclude``: one row position per query left out of its own
        results (or None). Missing neighbours have position -1 and a NaN score. ``search``:
        ``filter``, ``ef_search``, ``nprobe``, ``exact`` as in :meth:`search`."""
        return self._search(q, k, exclude=exclude, **search)

    def _search(self, q, k, *, filter=None, exclude=None, ef_search=None, nprobe=None, exact=False):
        """(scores, positions) of k neighbours per query row; ``exclude`` (q,) positions dropped."""
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
            raise InputError(f"k must be a positive integer, got {k!r}")
        k = int(k)
        extra = 0 if exclude is None else 1
        kk = min(k + extra, len(self))
        subset = None
        if filter is not None:
            subset = np.unique(self.positions(list(filter)))
        if exact or (subset is not None and len(subset) <= EXACT_FILTER_MAX):
            if subset is None:
                subset = np.arange(len(self), dtype=np.int64)
            scores, pos = self._exact_subset(q, kk, subset)
        else:
            selector = None
            if subset is not None:
                faiss = _faiss()
                selector = faiss.IDSelectorBatch(subset)
            scores, pos = self._raw_search(q, kk, selector=selector, ef_search=ef_search, nprobe=nprobe)
        if exclude is not None:
            keep = pos != np.asarray(exclude, dtype=np.int64)[:, None]
            full = keep.all(1)
            keep[full, -1] = False  # the query itself was not among the candidates: drop the last
            pos = pos[keep].reshape(len(q), kk - 1)
            scores = scores[keep].reshape(len(q), kk - 1)
        if pos.shape[1] < k:  # fewer vectors than k: pad
            pad = k - pos.shape[1]
            pos = np.pad(pos, ((0, 0), (0, pad)), constant_values=-1)
            scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=np.nan)
        return scores, pos

    def search(self, vectors, k=10, *, filter=None, ef_search=None, nprobe=None, exact=False):
        """Neighbours of query vectors (n, dim) (or one vector); ``filter``: node ids to search
        among; ``exact=True`` compares with every vector. Returns :class:`Neighbors`."""
        q = self._prepare_queries(vectors)
        scores, pos = self._search(q, k, filter=filter, ef_search=ef_search, nprobe=nprobe, exact=exact)
        return Neighbors(self.node_ids, pos, scores, self.metric)

    def neighbors(self, node_ids, k=10, *, filter=None, ef_search=None, nprobe=None, exact=False):
        """Neighbours of indexed nodes, each excluding itself. Unknown ids raise InputError."""
        if isinstance(node_ids, (str, int, np.integer)):
            node_ids = [node_ids]
        node_ids = list(node_ids)
        positions = self.positions(node_ids)
        q = self._reconstruct(positions)
        scores, pos = self._search(q, k, filter=filter, exclude=positions, ef_search=ef_search,
                                   nprobe=nprobe, exact=exact)
        return Neighbors(self.node_ids, pos, scores, self.metric, queries=self.node_ids[positions].tolist())

    def similarity(self, pairs):
        """Score of each (a, b) pair under the index metric (cosine, dot product or distance)."""
        pairs = [tuple(p) for p in pairs]
        if any(len(p) != 2 for p in pairs):
            raise InputError("each pair must have exactly two node ids")
        if not pairs:
            return np.zeros(0, dtype=np.float32)
        pos = self.positions([v for p in pairs for v in p])  # every unknown id named at once
        a = self._reconstruct(pos[0::2])
        b = self._reconstruct(pos[1::2])
        if self.metric == "l2":
            return np.linalg.norm(a - b, axis=1).astype(np.float32)
        return (a * b).sum(1).astype(np.float32)

    def recall(self, k=10, sample=1000, *, seed=0, ef_search=None, nprobe=None, tol=1e-5):
        """Mean recall@k of ``neighbors`` (each node excluding itself) against exact search, over
        ``sample`` random indexed nodes.

        A returned neighbour counts when exact search lists it or when its true score ties the
        exact k-th score (within ``tol``): graph embeddings often hold identical vectors (the
        leaves of one hub, say), and which of the tied nodes exact search lists is arbitrary.
        """
        rng = np.random.default_rng(seed)
        n = len(self)
        rows = np.sort(rng.choice(n, min(sample, n), replace=False))
        q = self._reconstruct(rows)
        _, approx = self._search(q, k, exclude=rows, ef_search=ef_search, nprobe=nprobe)
        exact_scores, exact = self._search(q, k, exclude=rows, exact=True)
        hits = total = 0
        for i in range(len(rows)):
            e = exact[i][exact[i] >= 0]
            a = approx[i][approx[i] >= 0]
            total += len(e)
            if not len(e) or not len(a):
                continue
            kth = float(exact_scores[i][len(e) - 1])
            x = self._reconstruct(a)
            if self.metric == "l2":
                true = np.sqrt(((x - q[i]) ** 2).sum(axis=1))
                tied = true <= kth + tol
            else:
                true = x @ q[i]
                tied = true >= kth - tol
            hits += min(len(e), int(np.sum(np.isin(a, e) | tied)))
        return hits / max(1, total)


def _batchable(inner, ivf):
    """True when adding the vectors in batches builds the same index as one add call: IVF
    lists and flat / PQ / SQ codes only append per-vector entries, while a graph (HNSW, NSG)
    links each batch's vectors against what is already there."""
    faiss = _faiss()
    if _find(inner, faiss.IndexHNSW) is not None:
        return False
    return ivf is not None or _find(inner, (faiss.IndexFlat, faiss.IndexPQ, faiss.IndexScalarQuantizer)) is not None


def _find(index, cls):
    """``index`` or the first index inside it (refine base, pre-transform) of type ``cls``."""
    faiss = _faiss()
    index = faiss.downcast_index(index)
    for _ in range(4):
        if isinstance(index, cls):
            return index
        if isinstance(index, faiss.IndexRefine):
            index = faiss.downcast_index(index.base_index)
        elif isinstance(index, faiss.IndexPreTransform):
            index = faiss.downcast_index(index.index)
        else:
            return None
    return None


def build_and_save(emb, path, index="auto", metric="cosine", **kwargs):
    """Build an :class:`EmbeddingIndex` over ``emb`` and write it to the directory ``path``."""
    built = EmbeddingIndex.build(emb, index=index, metric=metric, **kwargs)
    built.save(path)
    return built
