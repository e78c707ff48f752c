"""The ``--scheduler`` path of ``graphembed fastrp``: read partitioned, embed in row blocks on the
cluster, write one Parquet file per row block (``-o DIR/``) or gather into one file."""
from __future__ import annotations

import time

from graphembed.io.errors import InputError

SCHEDULER_METAVAR = "local:N|tcp://HOST:PORT"


def scheduler_option(what):
    """The ``--scheduler`` option of a command that runs on Dask (fastrp's, worded for ``what``).
    Importing this module imports no dask."""
    import click

    return click.option("--scheduler", default=None, metavar=SCHEDULER_METAVAR,
                        help="Run on Dask (pip install 'graphembed[dask]'): local:N starts N single-thread worker "
                             f"processes, tcp://... joins a running cluster. {what}")


def check_scheduler_option(scheduler, command):
    """Before any work: a bad ``--scheduler`` value, then a missing dask, as one line (exit 2)."""
    from graphembed.cli.common import require
    from graphembed.distributed.scheduler import check_scheduler

    check_scheduler(scheduler)  # a bad value fails before dask is looked for
    require("dask", "distributed", command=f"{command} --scheduler")


def load_partitioned(opts, client):
    """The input as a PartitionedGraph: edge lists (a file, a directory or a glob of Parquet/CSV)
    are read on the workers; other formats are read here and split."""
    from pathlib import Path

    from graphembed.distributed.edges import read_partitioned
    from graphembed.distributed.graph import from_graph
    from graphembed.io.edges import detect_format
    from graphembed.io.shipped import resolve

    path = resolve(opts["input"])
    fmt = opts["input_format"]
    if Path(path).is_dir() or fmt in ("csv", "parquet") or (fmt is None and detect_format(path) in ("csv", "parquet")):
        return read_partitioned(path, client, format=fmt, directed=opts["directed"], weighted=opts["weighted"],
                                source_col=opts["source_col"], target_col=opts["target_col"],
                                weight_col=opts["weight_col"], header=opts["header"], delimiter=opts["delimiter"],
                                nodes=opts["nodes_file"], self_loops=opts["self_loops"],
                                duplicates=opts["duplicates"])
    from graphembed.cli.common import load_graph

    return from_graph(load_graph(opts), client)


def run_fastrp(opts, make_estimator, scheduler):
    """``graphembed fastrp ... --scheduler S``; returns nothing (the embedding stays partitioned
    for a directory output)."""
    from graphembed.cli.common import read_part, report
    from graphembed.distributed.fastrp import fit_blocks, prepare
    from graphembed.distributed.output import is_directory_output, write_blocks
    from graphembed.distributed.scheduler import client_for
    from graphembed.io.atomic import check_writable
    from graphembed.io.embedding_files import embedding_format
    from graphembed.io.metadata import describe_input

    output = opts["output"]
    if output is None:
        raise InputError("nothing to write: give -o/--output")
    if opts.get("index_path"):
        raise InputError("--index does not run on a --scheduler yet; build the index from the output afterwards")
    directory = is_directory_output(output)
    fmt = "parquet-directory" if directory else embedding_format(output, opts["output_format"])
    if directory:
        if opts["output_format"] not in (None, "parquet"):
            raise InputError(f"{output}: a directory output is written as Parquet parts, not {opts['output_format']}")
        check_writable(output.rstrip("/") or output, directory=True)
    else:
        check_writable(output)
    estimator = make_estimator()
    with client_for(scheduler) as client:
        t0 = time.perf_counter()
        graph = load_partitioned(opts, client)
        t_read = time.perf_counter() - t0
        prepare(estimator, graph)
        blocks = fit_blocks(estimator, graph, client)
        params = estimator._public_params()
        described = describe_input(graph)
        if directory:
            write_blocks(client, blocks, graph.node_ids, graph.offsets, output, "fastrp", params, described)
        else:
            import numpy as np

            from graphembed._limits import check_memory
            from graphembed.embedding import Embedding

            check_memory(4 * graph.n_nodes * int(estimator.dim),
                         f"gathering the FastRP embedding (dim={estimator.dim}, {graph.n_nodes} nodes) here "
                         f"for {output} (a directory output, -o DIR/, keeps it partitioned)")
            vectors = np.concatenate(client.gather(blocks))
            Embedding(graph.node_ids, vectors, "fastrp", params, described).save(output, fmt)
        del blocks
        t_fit = time.perf_counter() - t0 - t_read
        n_workers = len(client.scheduler_info(n_workers=-1).get("workers", {}))
    summary = {"output": output, "format": fmt, "method": "fastrp", "nodes": graph.n_nodes, "dim": int(estimator.dim),
               "read_seconds": round(t_read, 3), "embed_seconds": round(t_fit, 3), "params": params, "index": None,
               "input": described, "scheduler": str(scheduler), "workers": n_workers, "row_blocks": graph.n_blocks}
    line = (f"wrote {graph.n_nodes} x {estimator.dim} fastrp embedding to {output}"
            + (f" ({graph.n_blocks} Parquet parts)" if directory else "")
            + f" ({read_part(graph, t_read)}, embed {t_fit:.2f} s on {n_workers} Dask workers)")
    report(summary, opts, line)


def _n_workers(client):
    return len(client.scheduler_info(n_workers=-1).get("workers", {}))


def run_walks(opts, est, scheduler):
    """``graphembed walks ... --scheduler S``: the graph on every worker, walks by round and
    start-node range, one text shard per task (``-o DIR/``) or the shards concatenated into one
    file (byte for byte the local output)."""
    from graphembed.cli.common import read_part, report
    from graphembed.distributed.output import is_directory_output
    from graphembed.distributed.scheduler import client_for
    from graphembed.distributed.walks import save_walks
    from graphembed.io.atomic import check_writable

    output = opts["output"]
    directory = is_directory_output(output)
    check_writable(output.rstrip("/") or output, directory=directory)
    with client_for(scheduler) as client:
        t0 = time.perf_counter()
        graph = load_partitioned(opts, client)
        t_read = time.perf_counter() - t0
        count, shards = save_walks(est, graph, client, output, directory)
        t_walk = time.perf_counter() - t0 - t_read
        n_workers = _n_workers(client)
    summary = {"output": output, "walks": count, "walk_length": opts["walk_length"], "nodes": graph.n_nodes,
               "p": opts["p"], "q": opts["q"], "seed": opts["seed"], "read_seconds": round(t_read, 3),
               "walk_seconds": round(t_walk, 3), "scheduler": str(scheduler), "workers": n_workers,
               "shards": shards if directory else None}
    where = f"{output} ({shards} shards)" if directory else output
    report(summary, opts, f"wrote {count} walks of up to {opts['walk_length']} nodes to {where} "
                          f"({read_part(graph, t_read)}, walks {t_walk:.2f} s on {n_workers} Dask workers)")


class _SimpleSummary:
    """What ``graphembed orbits`` reports of the simple graph (n, n_edges, symmetrized)."""

    def __init__(self, n, n_edges, symmetrized):
        self.n, self.n_edges, self.symmetrized = n, n_edges, symmetrized


def count_orbits(opts, scheduler):
    """``graphembed orbits ... --scheduler S``: (graph, simple-graph summary, int64 (n, 15) counts,
    read seconds); the counts exactly those of the local run."""
    from graphembed.distributed.orbits import orbit_counts_distributed
    from graphembed.distributed.scheduler import client_for

    with client_for(scheduler) as client:
        t0 = time.perf_counter()
        graph = load_partitioned(opts, client)
        t_read = time.perf_counter() - t0
        counts, symmetrized, n_edges = orbit_counts_distributed(graph, client)
    return graph, _SimpleSummary(graph.n_nodes, n_edges, symmetrized), counts, t_read
