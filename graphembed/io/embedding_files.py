"""Embedding files: Parquet, CSV/TSV, .npz (no pickles) and word2vec text. Writes are atomic."""
import json
from pathlib import Path

import numpy as np

from graphembed.embedding import Embedding, _json_default
from graphembed.io.atomic import atomic_path
from graphembed.io.errors import InputError

EMBEDDING_FORMATS = ("parquet", "csv", "tsv", "npz", "w2v")
_BY_EXTENSION = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "tsv",
                 ".npz": "npz", ".w2v": "w2v", ".txt": "w2v", ".vec": "w2v"}
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


def save_embedding(emb: Embedding, path, format=None):
    fmt = embedding_format(path, format)
    if fmt in ("w2v", "csv", "tsv") and emb.node_ids.dtype.kind == "O":
        sep = " " if fmt == "w2v" else ("," if fmt == "csv" else "\t")
        bad = next((v for v in emb.node_ids.tolist() if sep in v or "\n" in v), None)
        if bad is not None:
            raise InputError(f"{path}: node id {bad!r} contains a separator and cannot be written as {fmt}")
    with atomic_path(path) as tmp:
        _WRITERS[fmt](emb, tmp)


def load_embedding(path, format=None) -> Embedding:
    path = Path(path)
    fmt = embedding_format(path, format)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    try:
        return _READERS[fmt](path)
    except InputError:
        raise
    except Exception as exc:  # damaged files raise many types; the message names the file
        raise InputError(f"{path}: not a readable {fmt} embedding file ({exc})") from None


def _ids_arrow(ids):
    import pyarrow as pa

    return pa.array(ids.tolist() if ids.dtype.kind == "O" else ids,
                    type=pa.string() if ids.dtype.kind == "O" else pa.int64())


def _ids_from_arrow(col):
    import pyarrow as pa

    if pa.types.is_integer(col.type):
        return col.to_numpy(zero_copy_only=False).astype(np.int64)
    return np.asarray(col.cast(pa.string()).to_numpy(zero_copy_only=False), dtype=object)


# ---------------------------------------------------------------------------- parquet
def _write_parquet(emb, tmp):
    import pyarrow as pa
    import pyarrow.parquet as pq

    values = pa.array(emb.vectors.reshape(-1), type=pa.float32())
    table = pa.table({"node": _ids_arrow(emb.node_ids),
                      "embedding": pa.FixedSizeListArray.from_arrays(values, emb.dim)})
    table = table.replace_schema_metadata({_META_KEY: json.dumps(emb.metadata(), default=_json_default)})
    pq.write_table(table, str(tmp))


def _read_parquet(path):
    import pyarrow.parquet as pq

    table = pq.read_table(str(path))
    names = table.column_names
    if "embedding" in names:
        id_name = "node" if "node" in names else names[0]
        col = table.column("embedding").combine_chunks()
        flat = col.flatten().to_numpy(zero_copy_only=False)
        vectors = flat.reshape(table.num_rows, -1) if table.num_rows else flat.reshape(0, 0)
    else:  # one float column per dimension
        id_name = names[0]
        vectors = np.column_stack([table.column(c).to_numpy() for c in names[1:]])
    meta = json.loads((table.schema.metadata or {}).get(_META_KEY, b"{}"))
    return Embedding(_ids_from_arrow(table.column(id_name)), vectors,
                     meta.get("method"), meta.get("params"))


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
    import pyarrow.csv as pacsv

    table = pacsv.read_csv(str(path), parse_options=pacsv.ParseOptions(delimiter=delimiter))
    if table.num_columns < 2:
        raise InputError(f"{path}: expected a node column and vector columns")
    vectors = np.column_stack([table.column(i).to_numpy().astype(np.float32)
                               for i in range(1, table.num_columns)])
    return Embedding(_ids_from_arrow(table.column(0)), vectors)


# ---------------------------------------------------------------------------- npz
def _write_npz(emb, tmp):
    ids = emb.node_ids if emb.node_ids.dtype.kind != "O" else emb.node_ids.astype(str)
    meta = np.array(json.dumps(emb.metadata(), default=_json_default))
    with open(tmp, "wb") as fh:  # a file object keeps numpy from appending ".npz"
        np.savez(fh, nodes=ids, vectors=emb.vectors, meta=meta)


def _read_npz(path):
    with np.load(str(path), allow_pickle=False) as data:
        if "nodes" not in data or "vectors" not in data:
            raise InputError(f"{path}: expected arrays 'nodes' and 'vectors', found {list(data.keys())}")
        ids = data["nodes"]
        ids = ids.astype(object) if ids.dtype.kind == "U" else ids.astype(np.int64)
        meta = json.loads(str(data["meta"])) if "meta" in data else {}
        return Embedding(ids, data["vectors"], meta.get("method"), meta.get("params"))


# ---------------------------------------------------------------------------- word2vec text
def _write_w2v(emb, tmp):
    import pyarrow.csv as pacsv

    with open(tmp, "wb") as fh:
        fh.write(f"{len(emb)} {emb.dim}\n".encode())
        pacsv.write_csv(_vector_table(emb, "node"), fh,
                        write_options=pacsv.WriteOptions(include_header=False, delimiter=" ",
                                                         quoting_style="none"))


def _read_w2v(path):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    with open(path, "rb") as fh:
        first = fh.readline().split()
        second = fh.readline().rstrip(b"\r\n")
    if len(first) != 2 or not all(t.isdigit() for t in first):
        raise InputError(f"{path}: line 1: expected '<count> <dim>' of the word2vec text format")
    n, dim = int(first[0]), int(first[1])
    names = ["node"] + [str(j) for j in range(dim)]
    table = pacsv.read_csv(
        str(path),
        # Some writers end each line with a space: an empty last column, dropped here.
        read_options=pacsv.ReadOptions(skip_rows=1, column_names=names + (["_"] if second.endswith(b" ") else [])),
        parse_options=pacsv.ParseOptions(delimiter=" "),
        convert_options=pacsv.ConvertOptions(include_columns=names,
                                             column_types={c: pa.float32() for c in names[1:]}),
    )
    if table.num_rows != n:
        raise InputError(f"{path}: header says {n} vectors, file has {table.num_rows}")
    vectors = np.column_stack([table.column(c).to_numpy() for c in names[1:]]) if dim else np.zeros((n, 0))
    return Embedding(_ids_from_arrow(table.column("node")), vectors)


_WRITERS = {
    "parquet": _write_parquet,
    "csv": lambda emb, tmp: _write_delimited(emb, tmp, ","),
    "tsv": lambda emb, tmp: _write_delimited(emb, tmp, "\t"),
    "npz": _write_npz,
    "w2v": _write_w2v,
}
_READERS = {
    "parquet": _read_parquet,
    "csv": lambda p: _read_delimited(p, ","),
    "tsv": lambda p: _read_delimited(p, "\t"),
    "npz": _read_npz,
    "w2v": _read_w2v,
}
