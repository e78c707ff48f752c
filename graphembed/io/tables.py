"""The one writer for result tables (pairs, clusters, orbit and homomorphism tables, neighbour
lists): Parquet, CSV or TSV, written atomically, ids exact.

Embeddings have their own files (:mod:`graphembed.io.embedding_files`); everything else a
command writes as rows goes through :func:`write_table`.
"""
import json
from pathlib import Path

import numpy as np

from graphembed.io.errors import InputError

TABLE_FORMATS = ("parquet", "csv", "tsv")
_BY_EXTENSION = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "tsv"}
METADATA_KEY = "graphembed"


def table_format(path, format=None) -> str:
    """``format`` when given, else the format named by the extension of ``path``."""
    if format is not None:
        if format not in TABLE_FORMATS:
            raise InputError(f"unknown table format {format!r}; choose one of {', '.join(TABLE_FORMATS)}")
        return format
    fmt = _BY_EXTENSION.get(Path(path).suffix.lower())
    if fmt is None:
        raise InputError(f"{path}: cannot tell the table format from the extension; "
                         f"use .parquet, .csv or .tsv")
    return fmt


def id_array(ids):
    """Node ids as an arrow array that keeps their exact values: int64, uint64 or string."""
    import pyarrow as pa

    ids = np.asarray(ids)
    if ids.dtype.kind in "iu":
        return pa.array(ids)
    return pa.array([str(v) for v in ids.tolist()], type=pa.string())


def write_table(columns, path, format=None, metadata=None):
    """Write ``columns`` (a pyarrow Table, or a dict of equal-length arrays) atomically.

    Object (string) columns are written as strings and integer columns keep their width.
    ``metadata`` (JSON-serialisable) goes into the Parquet schema under ``graphembed``, with the
    graphembed version added; CSV and TSV carry no metadata. Returns the number of rows.
    """
    import pyarrow as pa

    from graphembed.io.atomic import atomic_path
    from graphembed.io.metadata import graphembed_version, json_default

    fmt = table_format(path, format)
    if isinstance(columns, pa.Table):
        table = columns
    else:
        table = pa.table({name: col if isinstance(col, (pa.Array, pa.ChunkedArray))
                          else id_array(col) if np.asarray(col).dtype.kind == "O"
                          else pa.array(np.asarray(col))
                          for name, col in columns.items()})
    if fmt == "parquet":
        meta = dict(metadata or {}, graphembed_version=graphembed_version())
        table = table.replace_schema_metadata({METADATA_KEY: json.dumps(meta, default=json_default)})
    with atomic_path(path) as tmp:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            pq.write_table(table, str(tmp))
        else:
            import pyarrow.csv as pacsv

            pacsv.write_csv(table, str(tmp), pacsv.WriteOptions(
                delimiter="\t" if fmt == "tsv" else ",", quoting_style="needed"))
    return table.num_rows

