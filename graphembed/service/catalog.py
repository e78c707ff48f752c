"""The graph catalog: graphs uploaded or registered, read once with the library's own reader and
stored in the project's binary form (``DATA/graphs/<gid>/graph.npz``: CSR arrays and ids) so
that jobs never parse text again; labels, when given, beside it (``labels.parquet``).

A graph's files are written into a fresh directory under ``DATA/tmp`` and renamed into place in
the same transaction that records the graph, so a recorded graph always has complete files.
Errors name the file as the client knows it (its filename, or the registered relative path),
never a server path.
"""
import json
import os
import re
import secrets
import shutil
from pathlib import Path

import numpy as np

from graphembed.service.errors import BadRequest, Conflict, Forbidden, NotFound, TooLarge, UnsupportedMedia
from graphembed.service.store import now

GRAPH_FILE = "graph.npz"
LABELS_FILE = "labels.parquet"
ID_PATTERN = re.compile(r"^[gj][0-9]{1,18}$")
_PRIVATE = ("token", "token.read", "graphembed.lock", "graphembed.sqlite", "graphembed.sqlite-wal", "graphembed.sqlite-shm")
_PRIVATE_DIRS = ("tmp", "graphs", "jobs")


def parse_id(value, kind):
    """The row number of a ``g<integer>`` / ``j<integer>`` id; NotFound for anything else."""
    what = {"g": "graph", "j": "job"}[kind]
    if not isinstance(value, str) or not ID_PATTERN.match(value) or value[0] != kind:
        shown = repr(value)[:40]
        raise NotFound(f"unknown {what} {shown}")
    return int(value[1:])


def safe_filename(filename, default="upload"):
    """The last component of a client's filename, without control or path characters."""
    name = str(filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip()
    if name in ("", ".", ".."):
        name = default
    return name[:200]


# ---------------------------------------------------------------------------- graph files
def save_graph(graph, path):
    """Write ``graph`` as .npz (indptr, indices, weights, node_ids, directed, stats); no pickles."""
    ids = graph.node_ids.astype(str) if graph.node_ids.dtype.kind == "O" else graph.node_ids
    arrays = {"indptr": graph.indptr, "indices": graph.indices, "node_ids": ids,
              "directed": np.array(bool(graph.directed)),
              "stats": np.array(json.dumps(graph.stats, default=str))}
    if graph.weights is not None:
        arrays["weights"] = graph.weights
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def load_graph(path):
    """The :class:`~graphembed.graph.Graph` written by :func:`save_graph`."""
    from graphembed.graph import Graph

    with np.load(str(path), allow_pickle=False) as data:
        ids = data["node_ids"]
        if ids.dtype.kind == "U":
            ids = ids.astype(object)
        weights = data["weights"] if "weights" in data else None
        return Graph(data["indptr"], data["indices"], weights, ids, bool(data["directed"]),
                     json.loads(str(data["stats"])))


def save_labels(labels, node_ids, path):
    """(node, label) rows of a :class:`~graphembed.io.nodes.Labels`; the classes (in their order)
    and the unmatched count in the metadata."""
    from graphembed.io.tables import write_table

    rows, cols = np.nonzero(labels.y)
    classes = list(labels.classes)
    values = [classes[j] for j in cols.tolist()]
    ints = all(isinstance(c, (int, np.integer)) for c in classes)
    label_col = np.asarray(values, dtype=np.int64) if ints else np.asarray([str(v) for v in values], dtype=object)
    write_table({"node": np.asarray(node_ids)[rows], "label": label_col}, path, "parquet",
                {"classes": [c if ints else str(c) for c in classes], "unmatched": labels.unmatched,
                 "multilabel": labels.multilabel})


def load_labels(path, node_ids, source=None):
    """The :class:`~graphembed.io.nodes.Labels` of ``node_ids`` from :func:`save_labels`' file."""
    import pyarrow.parquet as pq

    from graphembed._ids import IdIndex
    from graphembed.io.embedding_files import _ids_from_arrow
    from graphembed.io.nodes import Labels

    table = pq.read_table(str(path))
    meta = json.loads((table.schema.metadata or {}).get(b"graphembed", b"{}"))
    nodes = _ids_from_arrow(table.column("node"))
    values = table.column("label").to_pylist()
    classes = meta.get("classes") or sorted(set(values))
    col = {c: j for j, c in enumerate(classes)}
    index = IdIndex(np.asarray(node_ids))
    y = np.zeros((len(node_ids), len(classes)), dtype=bool)
    for node, value in zip(nodes.tolist(), values):
        i = index.find(node)
        if i >= 0:
            y[i, col[value]] = True
    return Labels(y, classes, meta.get("unmatched", 0), source)


# ---------------------------------------------------------------------------- reading
def _shown_error(exc, replacements):
    """The one-line message of a reader error with server paths replaced by client names."""
    text = str(exc)
    for server, client in replacements:
        text = text.replace(str(server), client)
    return text


def read_upload(path, shown, *, format=None, directed=False, weighted=None, delimiter=None, header=None,
                source_col=None, target_col=None, weight_col=None, self_loops=False, duplicates="first",
                replacements=()):
    """The Graph of a file, read by :func:`graphembed.read_graph` with the CLI's options; any
    problem is a BadRequest whose one line names the file as ``shown``."""
    import zlib

    from graphembed.io.edges import read_graph
    from graphembed.io.errors import InputError
    from graphembed.params import INPUT_FORMATS

    if format is not None and format not in INPUT_FORMATS:
        raise UnsupportedMedia(f"{shown}: unknown format {str(format)[:40]!r}; choose one of {', '.join(INPUT_FORMATS)}")
    swaps = [(path, shown), *replacements]
    try:
        graph = read_graph(path, format=format, directed=directed, weighted=weighted, source_col=source_col,
                           target_col=target_col, weight_col=weight_col, header=header, delimiter=delimiter,
                           self_loops=self_loops, duplicates=duplicates)
    except InputError as exc:
        raise BadRequest(_shown_error(exc, swaps)) from None
    except MemoryError:
        raise TooLarge(f"{shown}: out of memory while reading the graph") from None
    except (OSError, zlib.error, EOFError, UnicodeError) as exc:
        raise BadRequest(f"{shown}: unreadable input: {_shown_error(getattr(exc, 'strerror', None) or exc, swaps)}") from None
    except Exception as exc:  # noqa: BLE001 - pyarrow and friends: a damaged file, one line
        raise BadRequest(f"{shown}: unreadable input: {_shown_error(exc, swaps)}") from None
    graph.stats["source"] = shown
    return graph


def read_label_file(path, shown, node_ids, replacements=()):
    from graphembed.io.errors import InputError
    from graphembed.io.nodes import read_labels

    try:
        return read_labels(path, node_ids)
    except InputError as exc:
        raise BadRequest(_shown_error(exc, [(path, shown), *replacements])) from None
    except Exception as exc:  # noqa: BLE001
        raise BadRequest(f"{shown}: unreadable labels: {_shown_error(exc, [(path, shown), *replacements])}") from None


# ---------------------------------------------------------------------------- the catalog
class Catalog:
    def __init__(self, data_dir, store, max_upload_bytes=1 << 30):
        self.data_dir = Path(data_dir)
        self.root = self.data_dir.resolve()
        self.store = store
        self.max_upload_bytes = max_upload_bytes
        self.graphs_dir = self.data_dir / "graphs"
        self.tmp_dir = self.data_dir / "tmp"

    def graph_dir(self, number):
        return self.graphs_dir / f"g{number}"

    def graph_path(self, number):
        return self.graph_dir(number) / GRAPH_FILE

    def labels_path(self, number):
        path = self.graph_dir(number) / LABELS_FILE
        return path if path.exists() else None

    def _workdir(self, prefix):
        path = self.tmp_dir / f"{prefix}-{secrets.token_hex(8)}"
        path.mkdir(parents=True)
        return path

    # ------------------------------------------------------------------ adding
    def add_graph(self, src_path, *, filename, name=None, labels_path=None, labels_filename=None, **options):
        src = Path(src_path)
        shown = safe_filename(filename)
        if not src.is_file():
            raise BadRequest(f"{shown}: the upload is missing")
        if src.stat().st_size > self.max_upload_bytes:
            src.unlink(missing_ok=True)
            raise TooLarge(f"{shown}: larger than the upload limit of {self.max_upload_bytes} bytes")
        work = self._workdir("graph")
        try:
            upload = work / "upload"
            upload.mkdir()
            local = upload / shown
            shutil.move(str(src), str(local))
            labels_local = labels_shown = None
            if labels_path is not None:
                labels_shown = safe_filename(labels_filename or Path(labels_path).name, "labels")
                labels_local = work / "labels-upload" / labels_shown
                labels_local.parent.mkdir()
                shutil.move(str(labels_path), str(labels_local))
            replacements = [(upload, ""), (work, ""), (self.root, "")]
            return self._store(work, local, shown, name, labels_local, labels_shown, options, replacements)
        finally:
            shutil.rmtree(work, ignore_errors=True)
            Path(src_path).unlink(missing_ok=True)
            if labels_path is not None:
                Path(labels_path).unlink(missing_ok=True)

    def resolve_inside(self, rel_path):
        """The real path of ``rel_path`` (relative to DATA, symlinks followed); Forbidden when it
        leaves the data directory or names the service's own files."""
        if not isinstance(rel_path, str) or not rel_path.strip() or "\x00" in rel_path:
            raise BadRequest("path must be a non-empty path relative to the data directory")
        if os.path.isabs(rel_path) or rel_path.startswith("~"):
            raise Forbidden(f"{rel_path[:200]}: only paths relative to the data directory can be registered")
        target = (self.root / rel_path).resolve()
        try:
            inside = target.relative_to(self.root)
        except ValueError:
            raise Forbidden(f"{rel_path[:200]}: outside the data directory") from None
        parts = inside.parts
        if not parts or parts[0] in _PRIVATE or (parts[0] in _PRIVATE_DIRS):
            raise Forbidden(f"{rel_path[:200]}: not a file that can be registered")
        if not target.exists():
            raise NotFound(f"{rel_path[:200]}: file not found")
        if not target.is_file():
            raise BadRequest(f"{rel_path[:200]}: not a file")
        return target

    def register_graph(self, rel_path, *, name=None, labels_path=None, **options):
        target = self.resolve_inside(rel_path)
        labels_target = self.resolve_inside(labels_path) if labels_path is not None else None
        work = self._workdir("graph")
        try:
            return self._store(work, target, rel_path, name, labels_target, labels_path, options,
                               [(self.root, "")])
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _store(self, work, path, shown, name, labels_path, labels_shown, options, replacements):
        allowed = {"format", "directed", "weighted", "delimiter", "header", "source_col", "target_col",
                   "weight_col", "self_loops", "duplicates"}
        unknown = sorted(set(options) - allowed)
        if unknown:
            raise BadRequest(f"unknown reader option {unknown[0]!r}; the options are {', '.join(sorted(allowed))}")
        graph = read_upload(path, shown, replacements=replacements, **options)
        files = work / "files"
        files.mkdir()
        labels = None
        if labels_path is not None:
            labels = read_label_file(labels_path, labels_shown, graph.node_ids, replacements)
            save_labels(labels, graph.node_ids, files / LABELS_FILE)
        save_graph(graph, files / GRAPH_FILE)
        info = graph.summary()
        record = {"name": name if name is not None else shown, "filename": shown, "directed": graph.directed,
                  "weighted": graph.is_weighted, "n_nodes": graph.n_nodes, "n_edges": graph.n_edges,
                  "has_labels": labels is not None, "created": now(), "info": info}
        self.graphs_dir.mkdir(exist_ok=True)
        with self.store.transaction() as conn:
            number = self.store.insert_graph(conn, record)
            target = self.graph_dir(number)
            if target.exists():  # left by a crash between the rename and the commit: not recorded
                shutil.rmtree(target)
            os.rename(files, target)
        return self.get_graph(f"g{number}")

    # ------------------------------------------------------------------ reading records
    def get_graph(self, gid):
        record = self.store.get_graph(parse_id(gid, "g"))
        if record is None:
            raise NotFound(f"unknown graph {gid!r}")
        return record

    def list_graphs(self):
        return self.store.list_graphs()

    def delete_graph(self, gid):
        number = parse_id(gid, "g")
        with self.store.transaction() as conn:
            if self.store.get_graph(number) is None:
                raise NotFound(f"unknown graph {gid!r}")
            active = self.store.count_active_jobs(number)
            if active:
                raise Conflict(f"graph {gid} is used by {active} queued or running job(s); cancel them first")
            self.store.delete_graph(conn, number)
            folder = self.graph_dir(number)
            if folder.exists():
                aside = self.tmp_dir / f"deleted-g{number}-{secrets.token_hex(4)}"
                self.tmp_dir.mkdir(exist_ok=True)
                os.rename(folder, aside)
            else:
                aside = None
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)

    def remove_orphans(self):
        """Graph directories without a record (a crash between rename and commit)."""
        if not self.graphs_dir.is_dir():
            return
        known = {r["id"] for r in self.store.list_graphs()}
        for entry in self.graphs_dir.iterdir():
            if entry.name not in known:
                shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
