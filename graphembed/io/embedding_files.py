"""Embedding files: Parquet, CSV/TSV, .npz (no pickles), word2vec text (``.w2v``, ``.txt``,
``.vec``, ``.emb``) and binary word2vec (``.bin``, through gensim). Writes are atomic.

Readers return the parts ``(ids, vectors, metadata)`` and writers take anything with
``node_ids``, ``vectors``, ``dim`` and ``metadata()``: :class:`graphembed.Embedding` builds on
this module, never the other way round. Parquet and .npz files carry the metadata (graphembed
version, method, parameters, how the input was read); the text formats have no place for it
that their other readers would skip.
"""
import json
from pathlib import Path

import numpy as np

from graphembed.io.atomic import atomic_path
from graphembed.io.errors import InputError
from graphembed.io.metadata import json_default
from graphembed.params import EMBEDDING_FORMATS

_BY_EXTENSION = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "tsv",
                 ".npz": "npz", ".w2v": "w2v", ".txt": "w2v", ".vec": "w2v", ".emb": "w2v",
                 ".bin": "w2v-binary"}
_META_KEY = b"graphembed"


def embedding_format(path, format=None) -> str:
    if format is not None:
        if format not in EMBEDDING_FORMATS:
            raise InputError(f"unknown embedding format {format!r}; choose one of "
                             f"{', '.join(EMBEDDING_FORMATS)}")
        return format
    fmt = _BY_EXTENSION.get(Path(path).suffix.lower())
    if fmt is None:
        raise InputError(f"{path}: cannot tell the embedding format from the extension; use one of "
                         f"{', '.join(sorted(_BY_EXTENSION))} or give --format")
    return fmt


def write_embedding(emb, path, format=None):
    """Write ``emb`` (node_ids, vectors, metadata()) to ``path`` atomically."""
    fmt = embedding_format(path, format)
    if fmt in ("w2v", "w2v-binary", "csv", "tsv") and emb.node_ids.dtype.kind == "O":
        sep = " " if fmt.startswith("w2v") else ("," if fmt == "csv" else "\t")
        bad = next((v for v in emb.node_ids.tolist() if sep in v or "\n" in v), None)
        if bad is not None:
            raise InputError(f"{path}: node id {bad!r} contains a separator and cannot be written as {fmt}")
    with atomic_path(path) as tmp:
        _WRITERS[fmt](emb, tmp)


def read_embedding(path, format=None):
    """``(ids, vectors, metadata)`` of an embedding file: ids int64, uint64 or str (object),
    vectors (n, dim) float32, metadata a dict (empty for the text formats); or an InputError
    naming the file (and the row) when it is damaged, ragged, or lists an id twice."""
    path = Path(path)
    fmt = embedding_format(path, format)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    try:
        ids, vectors, meta = _READERS[fmt](path)
        _check_metadata(path, meta)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        _check_embedding(path, ids, vectors)
        return ids, vectors, meta
    except (InputError, ImportError):
        raise
    except Exception as exc:  # damaged files raise many types; the message names the file
        text = " ".join(str(exc).split())[:200]
        raise InputError(f"{path}: not a readable {fmt} embedding file ({text})") from None


def _ids_arrow(ids):
    import pyarrow as pa

    if ids.dtype.kind == "O":
        return pa.array(ids.tolist(), type=pa.string())
    return pa.array(ids, type=pa.uint64() if ids.dtype.kind == "u" else pa.int64())


def _ids_from_arrow(col, path=None):
    """Node ids of an id column, exact: int64, uint64 (beyond int64) or str; decimal-integer
    text becomes integers. Missing ids and non-integral float ids are refused."""
    import pyarrow as pa

    from graphembed._ids import exact_integer_ids

    where = f"{path}: " if path is not None else ""
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    if col.null_count:
        row = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
        raise InputError(f"{where}row {row + 1}: node id is missing")
    if pa.types.is_floating(col.type):
        values = col.to_numpy(zero_copy_only=False)
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(values) | (values != np.round(values)) | (np.abs(values) >= 2.0**53)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InputError(f"{where}row {row + 1}: node id {float(values[row])!r} is not an integer or a string")
        return values.astype(np.int64)
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        col = exact_integer_ids(col, col)[0]
    if pa.types.is_integer(col.type):
        values = col.to_numpy(zero_copy_only=False)
        if values.dtype == np.uint64 and (not values.size or values.max() <= np.iinfo(np.int64).max):
            values = values.astype(np.int64)
        return values if values.dtype.kind == "u" else values.astype(np.int64)
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        raise InputError(f"{where}node ids must be integers or strings, not {col.type}")
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=object)


def _check_metadata(path, meta):
    """The graphembed metadata of a file: a dict whose method is a string, params and input dicts."""
    kinds = {"method": str, "params": dict, "input": dict, "graphembed_version": str}
    if not isinstance(meta, dict) or any(meta.get(k) is not None and not isinstance(meta[k], t)
                                         for k, t in kinds.items()):
        raise InputError(f"{path}: its graphembed metadata is malformed (expected method, params, "
                         f"input and graphembed_version fields)")


def _check_embedding(path, ids, vectors):
    """Unique ids and finite values, or an InputError naming the file and the row."""
    if vectors.ndim != 2 or ids.shape[0] != vectors.shape[0]:
        raise InputError(f"{path}: {ids.shape[0]} node ids but vectors of shape {vectors.shape}")
    if ids.size:
        order = np.argsort(ids, kind="stable")
        same = ids[order][1:] == ids[order][:-1]
        if same.any():
            k = int(np.flatnonzero(same)[0])
            row = int(max(order[k], order[k + 1]))
            value = ids[row].item() if isinstance(ids[row], np.generic) else ids[row]
            raise InputError(f"{path}: row {row + 1}: node id {value!r} appears twice")
    finite = np.isfinite(vectors).all(axis=1)
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0])
        raise InputError(f"{path}: row {row + 1}: the vector has NaN or infinite values")


# ---------------------------------------------------------------------------- parquet
def _write_parquet(emb, tmp):
    import pyarrow as pa
    import pyarrow.parquet as pq

    values = pa.array(emb.vectors.reshape(-1), type=pa.float32())
    table = pa.table({"node": _ids_arrow(emb.node_ids),
                      "embedding": pa.FixedSizeListArray.from_arrays(values, emb.dim)})
    table = table.replace_schema_metadata({_META_KEY: json.dumps(emb.metadata(), default=json_default)})
    pq.write_table(table, str(tmp))


def _read_parquet(path):
    import pyarrow.parquet as pq

    table = pq.read_table(str(path))
    names = table.column_names
    if "embedding" in names:
        import pyarrow as pa
        import pyarrow.compute as pc

        id_name = "node" if "node" in names else names[0]
        col = table.column("embedding").combine_chunks()
        if not (pa.types.is_list(col.type) or pa.types.is_large_list(col.type)
                or pa.types.is_fixed_size_list(col.type)):
            raise InputError(f"{path}: column 'embedding' must hold lists of numbers, not {col.type}")
        if col.null_count:
            row = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
            raise InputError(f"{path}: row {row + 1}: the vector is missing")
        lengths = pc.list_value_length(col).to_numpy(zero_copy_only=False)
        if lengths.size and lengths.min() != lengths.max():
            row = int(np.flatnonzero(lengths != lengths[0])[0])
            raise InputError(f"{path}: row {row + 1}: a vector of {lengths[row]} values where row 1 has "
                             f"{lengths[0]}; every vector must have the same length")
        flat = col.flatten()
        if flat.null_count:
            raise InputError(f"{path}: a vector holds missing values")
        flat = flat.to_numpy(zero_copy_only=False)
        dim = int(lengths[0]) if lengths.size else 0
        vectors = flat.reshape(table.num_rows, dim)
    else:  # one float column per dimension
        id_name = names[0]
        vectors = np.column_stack([table.column(c).to_numpy() for c in names[1:]])
    try:
        meta = json.loads((table.schema.metadata or {}).get(_META_KEY, b"{}"))
    except ValueError:
        meta = {}
    return _ids_from_arrow(table.column(id_name), path), vectors, meta


# ---------------------------------------------------------------------------- csv / tsv
def _vector_table(emb, id_name):
    import pyarrow as pa

    columns = {id_name: _ids_arrow(emb.node_ids)}
    for j in range(emb.dim):
        columns[str(j)] = pa.array(emb.vectors[:, j])
    return pa.table(columns)


def _write_delimited(emb, tmp, delimiter):
    import pyarrow.csv as pacsv

    pacsv.write_csv(_vector_table(emb, "node"), str(tmp),
                    write_options=pacsv.WriteOptions(delimiter=delimiter, quoting_style="needed"))


def _read_delimited(path, delimiter):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    with open(path, "rb") as fh:
        first = fh.readline().decode("utf-8-sig", errors="replace").rstrip("\r\n")
    import csv

    header = next(csv.reader([first], delimiter=delimiter), [])
    if len(header) < 2:
        raise InputError(f"{path}: expected a node column and vector columns")
    table = pacsv.read_csv(str(path), parse_options=pacsv.ParseOptions(delimiter=delimiter),
                           convert_options=pacsv.ConvertOptions(column_types={header[0]: pa.string()}))
    vectors = np.column_stack([table.column(i).to_numpy().astype(np.float32)
                               for i in range(1, table.num_columns)])
    return _ids_from_arrow(table.column(0), path), vectors, {}


# ---------------------------------------------------------------------------- npz
def _write_npz(emb, tmp):
    ids = emb.node_ids if emb.node_ids.dtype.kind != "O" else emb.node_ids.astype(str)
    meta = np.array(json.dumps(emb.metadata(), default=json_default))
    with open(tmp, "wb") as fh:  # a file object keeps numpy from appending ".npz"
        np.savez(fh, nodes=ids, vectors=emb.vectors, meta=meta)


def _read_npz(path):
    with np.load(str(path), allow_pickle=False) as data:
        if "nodes" not in data or "vectors" not in data:
            raise InputError(f"{path}: expected arrays 'nodes' and 'vectors', found {list(data.keys())}")
        ids = data["nodes"]
        if ids.dtype.kind == "U":
            ids = ids.astype(object)
        elif ids.dtype.kind in "iu":
            ids = ids if ids.dtype == np.uint64 and ids.size and ids.max() > np.iinfo(np.int64).max \
                else ids.astype(np.int64)
        else:
            raise InputError(f"{path}: 'nodes' must hold integers or strings, not {ids.dtype}")
        meta = json.loads(str(data["meta"])) if "meta" in data else {}
        return ids, data["vectors"], meta


# ---------------------------------------------------------------------------- word2vec text
def _write_w2v(emb, tmp):
    """word2vec text: a header line, then ``id v1 ... vd`` per node. Ids are written as they are
    (a double quote is a character like any other: the format has no quoting)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    columns = {str(j): pa.array(emb.vectors[:, j]) for j in range(emb.dim)}
    sink = pa.BufferOutputStream()
    if emb.dim:
        pacsv.write_csv(pa.table(columns), sink, write_options=pacsv.WriteOptions(
            include_header=False, delimiter=" ", quoting_style="none"))
    rows = sink.getvalue().to_pybytes().split(b"\n") if emb.dim else [b""] * len(emb)
    with open(tmp, "wb") as fh:
        fh.write(f"{len(emb)} {emb.dim}\n".encode())
        for node, row in zip(emb.node_ids.tolist(), rows):
            fh.write(str(node).encode("utf-8") + (b" " + row if emb.dim else b"") + b"\n")


def _read_w2v(path):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    with open(path, "rb") as fh:
        first = fh.readline().split()
        second = fh.readline().rstrip(b"\r\n")
    if len(first) != 2 or not all(t.isdigit() for t in first):
        raise InputError(f"{path}: line 1: expected '<count> <dim>' of the word2vec text format")
    n, dim = int(first[0]), int(first[1])
    if n == 0:
        return np.empty(0, dtype=np.int64), np.zeros((0, dim), np.float32), {}
    values = len([f for f in second.split(b" ") if f]) - 1  # fields are space-separated only
    if n and values != dim:  # the header is checked against the data before it sizes anything
        raise InputError(f"{path}: line 2: {max(values, 0)} values where the header says {dim} per vector")
    names = ["node"] + [str(j) for j in range(dim)]
    table = pacsv.read_csv(
        str(path),
        # Some writers end each line with a space: an empty last column, dropped here.
        read_options=pacsv.ReadOptions(skip_rows=1, column_names=names + (["_"] if second.endswith(b" ") else [])),
        parse_options=pacsv.ParseOptions(delimiter=" ", quote_char=False),
        convert_options=pacsv.ConvertOptions(include_columns=names,
                                             column_types={"node": pa.string(),
                                                           **{c: pa.float32() for c in names[1:]}}),
    )
    if table.num_rows != n:
        raise InputError(f"{path}: header says {n} vectors, file has {table.num_rows}")
    vectors = np.column_stack([table.column(c).to_numpy() for c in names[1:]]) if dim else np.zeros((n, 0))
    return _ids_from_arrow(table.column("node"), path), vectors, {}


# ---------------------------------------------------------------------------- binary word2vec
def _keyed_vectors():
    try:
        from gensim.models import KeyedVectors
    except ImportError:
        raise ImportError("binary word2vec files are read and written through gensim: "
                          "pip install 'graphembed[gensim]'") from None
    return KeyedVectors


def _write_w2v_binary(emb, tmp):
    kv = _keyed_vectors()(emb.dim)
    kv.add_vectors([str(v) for v in emb.node_ids.tolist()], emb.vectors)
    import logging

    log = logging.getLogger("gensim.models.keyedvectors")
    level = log.level
    log.setLevel(logging.ERROR)  # the "no count attribute" warning: the order written is ours
    try:
        kv.save_word2vec_format(str(tmp), binary=True)
    finally:
        log.setLevel(level)


def _read_w2v_binary(path):
    import pyarrow as pa

    kv = _keyed_vectors().load_word2vec_format(str(path), binary=True)
    return _ids_from_arrow(pa.array(list(kv.index_to_key), pa.string()), path), kv.vectors, {}


_WRITERS = {
    "parquet": _write_parquet,
    "csv": lambda emb, tmp: _write_delimited(emb, tmp, ","),
    "tsv": lambda emb, tmp: _write_delimited(emb, tmp, "\t"),
    "npz": _write_npz,
    "w2v": _write_w2v,
    "w2v-binary": _write_w2v_binary,
}
_READERS = {
    "parquet": _read_parquet,
    "csv": lambda p: _read_delimited(p, ","),
    "tsv": lambda p: _read_delimited(p, "\t"),
    "npz": _read_npz,
    "w2v": _read_w2v,
    "w2v-binary": _read_w2v_binary,
}
