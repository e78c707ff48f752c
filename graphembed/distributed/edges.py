"""Partitioned edge input: a directory or glob of Parquet/CSV edge files -> a PartitionedGraph.

Each file is read on a worker by graphembed's own reader for its format (the same column,
header and id rules, the same errors naming the file). Node ids are factorised with
:func:`graphembed._ids.factorize`, the local reader's one id policy, applied to each file's
distinct ids in file order (integer ids sorted, string ids in order of first appearance: all
sources, then all targets), so the node order is that of the local ``read_graph`` of the files
concatenated in sorted-name order. The edges are then split by row block on the workers and
each block is built by :func:`graphembed._kernels.csr.edges_to_csr` from its entries in input
order, so the CSR is entry for entry the local one (the same duplicate merge, the same sums).

The driver holds the distinct ids (at most one copy per file) and the node ids; never the
edge list or the CSR.
"""
from __future__ import annotations

import glob
import operator
import os
from pathlib import Path

import numpy as np

from graphembed.io.errors import InputError

_EDGE_SUFFIXES = (".parquet", ".pq", ".csv", ".tsv", ".txt", ".edges", ".edgelist", ".el", ".tab", ".dat",
                  ".snap")


def edge_files(path) -> list[str]:
    """The edge files of ``path``: a directory (its non-hidden edge files), a glob pattern or one file,
    sorted by name."""
    text = os.fspath(path)
    p = Path(text)
    if p.is_dir():
        files = [str(f) for f in sorted(p.iterdir())
                 if f.is_file() and not f.name.startswith((".", "_"))
                 and f.name.lower().removesuffix(".gz").endswith(_EDGE_SUFFIXES)]
        if not files:
            raise InputError(f"{text}: the directory holds no edge files (.parquet, .csv, .tsv, ...)")
        return files
    if p.is_file():
        return [text]
    files = sorted(f for f in glob.glob(text) if os.path.isfile(f))
    if not files:
        raise InputError(f"{text}: no file matches" if glob.has_magic(text) else f"{text}: file not found")
    return files


def _read_part(path, fmt, source_col, target_col, weight_col, weighted, header, delimiter):
    """One edge file as (src, dst arrow id columns, float64 weights or None) by the local readers."""
    from graphembed.io import edges

    p = Path(path)
    if p.stat().st_size == 0:
        raise InputError(f"{p}: file is empty")
    fmt = fmt or edges.detect_format(p)
    if fmt not in ("csv", "parquet"):
        raise InputError(f"{p}: partitioned input reads edge lists (csv, parquet), not {fmt}")
    read = edges._read_parquet if fmt == "parquet" else edges._read_text
    src, dst, w, info = read(p, source_col, target_col, weight_col, weighted, header, delimiter)
    return _chunked(src), _chunked(dst), w, info


def _chunked(col):
    import pyarrow as pa

    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def _distinct(part):
    """(distinct sources, distinct targets) in order of first appearance, edge count, ids' type."""
    import pyarrow.compute as pc

    src, dst = part[0], part[1]
    return pc.unique(src), pc.unique(dst), part[3]


def _common(columns):
    """Arrow arrays of one type that :func:`factorize` reads as the local reader would read the
    concatenated files: integers stay integers when they share a type, anything else is text."""
    import pyarrow as pa

    if all(pa.types.is_integer(c.type) for c in columns):
        for target in (pa.int64(), pa.uint64()):
            try:
                return [c.cast(target) for c in columns]
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
    return [c if pa.types.is_string(c.type) else c.cast(pa.string()) for c in columns]


def _codes(part, node_ids):
    """int32 node indices of a file's sources and targets."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = pa.array(node_ids.tolist(), type=pa.string()) if node_ids.dtype.kind == "O" else pa.array(node_ids)
    out = []
    for col in part[:2]:
        if not col.type.equals(values.type):
            col = col.cast(values.type)
        out.append(pc.index_in(col, value_set=values).to_numpy(zero_copy_only=False).astype(np.int32))
    return out


def _split(part, node_ids, offsets, directed, self_loops):
    """A file's CSR entries per row block, each in input order: list of (rows, cols, weights, e),
    and (self-loops seen, edges)."""
    from graphembed.io.validate import check_weights

    src, dst = _codes(part, node_ids)
    w = part[2]
    if w is not None:
        w = np.asarray(w, dtype=np.float64)
        check_weights(w, None)
        w = w.astype(np.float32)
    loop = src == dst
    loops = int(np.count_nonzero(loop))
    keep = np.flatnonzero(~loop) if not self_loops else np.arange(src.shape[0])
    rows, cols, edge = src[keep], dst[keep], keep
    if not directed:  # each edge (u, v), then its reverse (v, u) unless a self-loop: the kernel's order
        back = keep[src[keep] != dst[keep]]
        rows = np.concatenate([rows, dst[back]])
        cols = np.concatenate([cols, src[back]])
        edge = np.concatenate([edge, back])
        order = np.argsort(edge, kind="stable")
        rows, cols, edge = rows[order], cols[order], edge[order]
    wts = w[edge] if w is not None else None
    block = np.searchsorted(offsets, rows, side="right") - 1
    order = np.argsort(block, kind="stable")
    cuts = np.searchsorted(block[order], np.arange(offsets.shape[0]))
    pieces = []
    for b in range(offsets.shape[0] - 1):
        sel = order[cuts[b]:cuts[b + 1]]
        pieces.append((rows[sel], cols[sel], None if wts is None else wts[sel]))
    return pieces, (loops, int(src.shape[0]))


def _build_block(lo, hi, merge, self_loops, *pieces):
    """A row block's CSR from its entries (pieces in file order): (indptr, indices, weights), counts."""
    from graphembed._kernels.csr import edges_to_csr

    rows = np.concatenate([p[0] for p in pieces]) if pieces else np.empty(0, np.int32)
    cols = np.concatenate([p[1] for p in pieces]).astype(np.int32) if pieces else np.empty(0, np.int32)
    weighted = bool(pieces) and pieces[0][2] is not None
    w = np.concatenate([p[2] for p in pieces]) if weighted else None
    local = (rows - lo).astype(np.int32)
    # self-loops were dropped (or are kept) already: keep_self_loops=True, no false u == v on local rows
    indptr, indices, wts, _, dups = edges_to_csr(local, cols, w, hi - lo, False, True, merge)
    if wts is not None and dups and not np.isfinite(wts).all():
        raise InputError("the summed weights of a repeated edge exceed float32 (at most 3.4e+38); merge "
                         "with duplicates='max' or scale them")
    row_of = np.repeat(np.arange(lo, hi, dtype=np.int64), np.diff(indptr))
    n_loops = int(np.count_nonzero(row_of == indices))
    return (indptr, indices, wts), (int(indptr[-1]), n_loops, dups)


def read_partitioned(path, client, *, partitions=None, format=None, directed=None, weighted=None,
                     source_col=None, target_col=None, weight_col=None, header=None, delimiter=None,
                     nodes=None, self_loops=False, duplicates="first"):
    """Read the edge files of ``path`` (directory, glob or file) into a
    :class:`~graphembed.distributed.graph.PartitionedGraph` on ``client``'s cluster.

    ``partitions``: the number of CSR row blocks (None: twice the workers, more for large graphs);
    the other options are :func:`graphembed.read_graph`'s.
    """
    from graphembed._ids import factorize
    from graphembed._kernels.csr import MERGE_FIRST, MERGE_MAX, MERGE_SUM
    from graphembed.distributed.graph import PartitionedGraph, block_offsets, default_blocks
    from graphembed.graph import DUPLICATE_RULES
    from graphembed.io.nodes import read_node_file

    if duplicates not in DUPLICATE_RULES:
        raise InputError(f"duplicates must be one of {DUPLICATE_RULES}, got {duplicates!r}")
    if partitions is not None and (isinstance(partitions, bool) or not isinstance(partitions, (int, np.integer))
                                   or partitions < 1):
        raise InputError(f"partitions must be a positive number of row blocks, got {partitions!r}")
    files = edge_files(path)
    node_list = read_node_file(nodes) if isinstance(nodes, (str, os.PathLike)) else nodes
    opts = (format, source_col, target_col, weight_col, weighted, header, delimiter)
    parts = [client.submit(_read_part, f, *opts, pure=False) for f in files]
    distinct = client.gather([client.submit(_distinct, p, pure=False) for p in parts])
    import pyarrow as pa

    columns = _common([d[0] for d in distinct] + [d[1] for d in distinct])
    k = len(distinct)
    try:
        _, _, node_ids = factorize(pa.chunked_array(columns[:k]), pa.chunked_array(columns[k:]), node_list)
    except ValueError as exc:
        raise InputError(f"{path}: {exc}") from None
    n = int(node_ids.shape[0])
    if n >= 2**31:
        raise InputError(f"{path}: {n} nodes are more than graphembed holds (at most 2^31 - 1)")
    offsets = block_offsets(n, partitions or default_blocks(n, client, at_least=len(files)))
    ids_f = client.submit(_identity, node_ids, pure=False)  # a task result: rebuilt if its worker dies
    splits = [client.submit(_split, p, ids_f, offsets, bool(directed), self_loops, pure=False) for p in parts]
    counts = [client.submit(operator.getitem, s, 1, pure=False) for s in splits]
    lists = [client.submit(operator.getitem, s, 0, pure=False) for s in splits]
    del parts, splits
    merge = {"first": MERGE_FIRST, "sum": MERGE_SUM, "max": MERGE_MAX}[duplicates]
    built = []
    for b in range(offsets.shape[0] - 1):
        pieces = [client.submit(operator.getitem, lst, b, pure=False) for lst in lists]
        built.append(client.submit(_build_block, int(offsets[b]), int(offsets[b + 1]), merge, self_loops, *pieces,
                                   pure=False))
    blocks = [client.submit(operator.getitem, f, 0, pure=False) for f in built]
    block_counts = client.gather([client.submit(operator.getitem, f, 1, pure=False) for f in built])
    file_counts = client.gather(counts)
    del built, lists
    loops = sum(c[0] for c in file_counts)
    nnz = sum(c[0] for c in block_counts)
    kept_loops = sum(c[1] for c in block_counts)
    dups = sum(c[2] for c in block_counts)
    if not directed and dups:  # as Graph.from_edges: a repeated non-loop edge is merged in both rows
        loop_dups = loops - kept_loops if self_loops and loops else 0
        dups = (dups - loop_dups) // 2 + loop_dups
    weighted_graph = weight_col is not None or bool(weighted)
    stats = {"input_edges": int(sum(c[1] for c in file_counts)), "self_loops_dropped": 0 if self_loops else loops,
             "duplicates_merged": int(dups), "duplicate_rule": duplicates, "source": os.fspath(path),
             "format": format or _formats(files), "files": len(files)}
    stats.update(distinct[0][2])  # what reading said (the header of text files), as the local reader
    return PartitionedGraph(client, node_ids, offsets, blocks, bool(directed), weighted_graph, nnz, kept_loops,
                            stats)


def read_partitioned_with(scheduler, path, **options):
    """:func:`read_partitioned` on the client of ``scheduler``: a ``dask.distributed.Client``, a
    scheduler address (the client stays open as long as the graph, which holds it), or None for
    the current client. ``"local:N"`` is refused: its cluster would close with the call."""
    from graphembed.distributed import require_dask
    from graphembed.distributed.scheduler import check_scheduler, default_client

    distributed = require_dask("reading partitions")
    from graphembed.io.shipped import resolve

    path = resolve(path)
    if scheduler is None:
        client = default_client()
        if client is None:
            raise InputError("read_graph(partitions=...) needs a Dask cluster: pass scheduler=Client(...) or create "
                             "a dask.distributed.Client first")
    elif isinstance(scheduler, distributed.Client):
        client = scheduler
    else:
        check_scheduler(scheduler)
        if str(scheduler).strip().startswith("local"):
            raise InputError(f"read_graph(partitions=...): scheduler {scheduler!r} would close with the call; pass "
                             "a dask.distributed.Client (Client(LocalCluster(...))) instead")
        from graphembed.distributed.scheduler import timeout_seconds

        try:
            client = distributed.Client(scheduler, timeout=timeout_seconds())
        except (OSError, TimeoutError) as exc:
            raise InputError(f"scheduler {scheduler}: cannot connect ({' '.join(str(exc).split())[:200]})") from None
    return read_partitioned(path, client, **options)


def _formats(files):
    from graphembed.io.edges import detect_format

    found = sorted({detect_format(f) for f in files})
    return found[0] if len(found) == 1 else "+".join(found)


def _identity(x):
    return x
