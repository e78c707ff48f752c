"""Partitioned embedding output: a directory of Parquet files, one per row block.

Each ``part-NNNNN.parquet`` has the schema of a single ``.parquet`` embedding (``node`` id column,
``embedding`` fixed-size list of float32, the graphembed metadata) and holds the rows of one
block in node order, so the files in name order are the embedding. ``ge.Embedding.load(dir)``,
``pandas.read_parquet(dir)``, ``polars.read_parquet(dir/*.parquet)`` and
``dask.dataframe.read_parquet(dir)`` read it. The files are written by the workers into a
temporary directory beside the target, which is renamed into place once every block is written
(the workers must see the driver's file system: a local cluster, or a shared one).
"""
from __future__ import annotations

import os
from pathlib import Path

from graphembed.io.errors import InputError

PART = "part-{:05d}.parquet"


def is_directory_output(path) -> bool:
    """An output path meant as a directory: it ends with a separator or is an existing directory."""
    text = os.fspath(path)
    return text.endswith(("/", os.sep)) or Path(text).is_dir()


def _replaceable(path):
    """Only a directory of embedding parts (or an empty one) may be replaced."""
    entries = [e for e in os.listdir(path) if not e.startswith(".")]
    if any(not (e.startswith("part-") and e.endswith(".parquet")) for e in entries):
        raise InputError(f"{path}: exists and holds other files than embedding parts (part-*.parquet); "
                         "name a new directory")


def _write_part(vectors, node_ids, method, params, input, path):
    from graphembed.embedding import Embedding
    from graphembed.io.embedding_files import _write_parquet

    emb = Embedding(node_ids, vectors, method, params, input)
    _write_parquet(emb, path)
    return int(vectors.shape[0])


def write_blocks(client, blocks, node_ids, offsets, path, method, params, input=None):
    """Write the row-block futures ``blocks`` (float32 (n_b, dim)) as a directory of Parquet files.

    Returns the number of rows written."""
    from graphembed.io.atomic import atomic_path

    path = Path(os.fspath(path).rstrip("/" + os.sep) or os.fspath(path))
    with atomic_path(path, directory=True, replace_dir=_replaceable) as tmp:
        written = [client.submit(_write_part, blk, node_ids[int(offsets[b]):int(offsets[b + 1])], method, params,
                                 input, str(tmp / PART.format(b)), pure=False)
                   for b, blk in enumerate(blocks)]
        rows = sum(client.gather(written))
        missing = [b for b in range(len(blocks)) if not (tmp / PART.format(b)).is_file()]
        if missing:
            raise InputError(f"{path}: the workers wrote row block {missing[0]} where this machine does not see it; "
                             "write to a file system that the driver and the workers share")
    return rows
