"""``graphembed orbits``, ``orbit-adjacency`` and ``orbit-embed``: graphlet orbit counts and
orbit adjacencies (2-4-node graphlets)."""
import time

import click

from graphembed import params
from graphembed.cli.common import (
    embedding_command,
    graph_input_options,
    load_graph,
    pass_options,
    read_part,
    report,
    run_embedding,
    run_reporting_errors,
)
from graphembed.cli.options import THREADS_EXACT, estimator_kwargs, estimator_options, report_options, threads_option
from graphembed.distributed.cli import check_scheduler_option, scheduler_option


def _common_options(func):
    """--threads (the counts are integers: exact for any number), -q and --json."""
    return threads_option(THREADS_EXACT)(report_options(quiet_help="No summary line.")(func))


def _table_format(path, fmt):
    from graphembed.io.errors import InputError

    if fmt:
        return fmt
    lower = str(path).lower()
    for ext, name in ((".parquet", "parquet"), (".pq", "parquet"), (".csv", "csv")):
        if lower.endswith(ext):
            return name
    raise InputError(f"{path}: cannot tell the format from the extension; use .parquet or .csv "
                     "or give --format")


def _ids_arrow(ids):
    from graphembed.io.tables import id_array

    return id_array(ids)


@click.command()
@graph_input_options
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Output table (.parquet or .csv); required unless --graphlets.")
@click.option("--format", "output_format", type=click.Choice(["parquet", "csv"]), default=None,
              help="Output format (default: from the extension).")
@click.option("--edges", "edge_mode", is_flag=True,
              help="Edge orbits: one row per edge (source, target, e0..e11), as ORCA's edge mode.")
@click.option("--graphlets", is_flag=True,
              help="Print the number of each graphlet G0..G8 (a table, or JSON with --json).")
@_common_options
@scheduler_option("Node ranges per task, the counts exactly the local ones; INPUT may be a directory or glob of "
                  "edge files. Node orbits only (not --edges).")
@pass_options
def orbits(opts):
    """Graphlet orbit counts (2-4-node graphlets, Przulj/ORCA numbering).

    Writes one row per node: the node id and o0..o14 (int64), the number of induced graphlets
    in which the node is on each orbit. Directed input is symmetrised (the summary says so);
    self-loops and duplicate edges are ignored.

    \b
    graphembed orbits datasets/karate.csv -o karate_orbits.parquet
    graphembed orbits datasets/karate.csv -o karate_edges.csv --edges
    graphembed orbits datasets/karate.csv --graphlets
    """
    run_reporting_errors(lambda: _orbits(opts))


def _orbits(opts):
    import numpy as np
    import pyarrow as pa

    from graphembed.io.errors import InputError
    from graphembed.structure import orbits as orb

    if opts["output"] is None and not opts["graphlets"]:
        raise InputError("give -o/--output (or --graphlets to print graphlet counts)")
    fmt = _table_format(opts["output"], opts["output_format"]) if opts["output"] else None
    t0 = time.perf_counter()
    scheduler = opts.pop("scheduler", None)
    if scheduler is not None:
        if opts["edge_mode"]:
            raise InputError("--edges does not run on a --scheduler yet; count edge orbits without it")
        check_scheduler_option(scheduler, "orbits")
        from graphembed.distributed.cli import count_orbits

        graph, simple, counts, t_read = count_orbits(opts, scheduler)
        graphlets = orb._graphlets_from_node_orbits(counts)
    else:
        graph = load_graph(opts)
        t_read = time.perf_counter() - t0
        simple = orb._Simple(graph)
        if opts["edge_mode"]:
            types, tri = orb._edge_types(simple, opts["threads"], verbose=not opts["quiet"] and not opts["as_json"])
            src, dst, e = orb._edge_orbit_table(simple, types, tri)
            del types
            graphlets = orb._graphlets_from_edge_orbits(simple.n_edges, e)
        else:
            counts = orb._node_orbits(simple, opts["threads"], verbose=not opts["quiet"] and not opts["as_json"])
            graphlets = orb._graphlets_from_node_orbits(counts)
    t_count = time.perf_counter() - t0 - t_read
    summary = {"input": opts["input"], "nodes": simple.n, "edges": simple.n_edges,
               "symmetrized": simple.symmetrized, "read_seconds": round(t_read, 3),
               "count_seconds": round(t_count, 3)}
    meta = {"symmetrized": simple.symmetrized, "source": str(opts["input"])}
    if opts["output"]:
        ids = graph.node_ids
        if opts["edge_mode"]:
            columns = {"source": _ids_arrow(ids[src]), "target": _ids_arrow(ids[dst])}
            for j, name in enumerate(orb.EDGE_ORBIT_COLUMNS):
                columns[name] = pa.array(e[:, j], type=pa.int64())
            meta["edge_orbits"] = [list(p) for p in orb.EDGE_ORBITS]
        else:
            columns = {"node": _ids_arrow(ids)}
            for j, name in enumerate(orb.ORBIT_COLUMNS):
                columns[name] = pa.array(np.ascontiguousarray(counts[:, j]), type=pa.int64())
        from graphembed.io.tables import write_table

        write_table(columns, opts["output"], fmt, meta)
        summary.update(output=opts["output"], format=fmt, rows=int(len(columns[next(iter(columns))])),
                       mode="edges" if opts["edge_mode"] else "nodes")
    if opts["graphlets"]:
        summary["graphlets"] = graphlets
        if not opts["as_json"]:
            width = max(len(k) for k in graphlets)
            for name, value in graphlets.items():
                click.echo(f"{name:<{width}}  {value:>15,}")
    sym = " (directed input symmetrised)" if simple.symmetrized else ""
    line = (f"wrote {summary['rows']} rows of {summary['mode']} orbits to {opts['output']}" if opts["output"]
            else f"counted graphlets of {simple.n} nodes, {simple.n_edges} edges")
    report(summary, opts, f"{line}{sym} ({read_part(graph, t_read)}, count {t_count:.2f} s)")


@click.command(name="orbit-adjacency")
@graph_input_options
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Output: .npz (one CSR matrix per adjacency) or .parquet (streamed rows).")
@click.option("--orbits", "orbit_specs", multiple=True, default=("1-hop",), show_default=True,
              help="Which adjacencies: 1-hop, 2-hop, 3-hop, all, or 'h,o1,o2' (repeatable).")
@click.option("--top-k", type=click.IntRange(min=1), default=None,
              help="Keep each row's K largest two/three-hop counts (bounded output).")
@click.option("--block-rows", type=click.IntRange(min=1), default=None,
              help="Rows per block for two/three-hop ones (default: what fits --memory-mb).")
@click.option("--memory-mb", type=click.IntRange(min=16), default=256, show_default=True,
              help="Memory for one block of two/three-hop rows.")
@_common_options
@pass_options
def orbit_adjacency(opts):
    """Orbit adjacencies: for nodes u, v, the graphlets with u on orbit o1, v on o2, h hops apart.

    The 28 (h, o1, o2) combinations of 2-4-node graphlets (Windels et al.). One-hop ones have
    the sparsity of the graph; two/three-hop ones are computed block of rows by block of rows
    and never as a dense n x n matrix.

    \b
    graphembed orbit-adjacency datasets/karate.csv --orbits 1-hop -o karate_adj.npz
    """
    run_reporting_errors(lambda: _orbit_adjacency(opts))


def _key_name(key):
    return f"h{key[0]}_o{key[1]}_{key[2]}"


def _orbit_adjacency(opts):
    import numpy as np

    from graphembed.io.atomic import atomic_path
    from graphembed.io.errors import InputError
    from graphembed.structure import orbits as orb

    keys = orb.parse_adjacencies(list(opts["orbit_specs"]))
    out = opts["output"]
    lower = str(out).lower()
    fmt = "npz" if lower.endswith(".npz") else ("parquet" if lower.endswith((".parquet", ".pq")) else None)
    if fmt is None:
        raise InputError(f"{out}: the output must end in .npz or .parquet")
    t0 = time.perf_counter()
    graph = load_graph(opts)
    t_read = time.perf_counter() - t0
    simple = orb._Simple(graph)
    one = [k for k in keys if k[0] == 1]
    multi = [k for k in keys if k[0] > 1]
    one_hop = orb.orbit_adjacency(simple.graph, one, n_jobs=opts["threads"], verbose=not opts["quiet"] and not opts["as_json"]) if one else {}
    nnz = {}
    ids = graph.node_ids
    if fmt == "npz":
        arrays = {"node_ids": ids.astype(str) if ids.dtype.kind == "O" else ids}
        mats = dict(one_hop)
        if multi:
            mats.update(orb.orbit_adjacency(simple.graph, multi, top_k=opts["top_k"],
                                            block_rows=opts["block_rows"], memory_mb=opts["memory_mb"],
                                            n_jobs=opts["threads"], verbose=not opts["quiet"] and not opts["as_json"]))
        for key in keys:
            m = mats[key]
            name = _key_name(key)
            arrays[name + "_data"], arrays[name + "_indices"] = m.data, m.indices
            arrays[name + "_indptr"], arrays[name + "_shape"] = m.indptr, np.array(m.shape)
            nnz[name] = int(m.nnz)
        with atomic_path(out) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)
    else:
        _stream_parquet(out, simple, keys, one_hop, opts, nnz)
    t_total = time.perf_counter() - t0 - t_read
    summary = {"output": out, "format": fmt, "nodes": simple.n, "edges": simple.n_edges,
               "symmetrized": simple.symmetrized, "adjacencies": [list(k) for k in keys],
               "nonzeros": nnz, "read_seconds": round(t_read, 3), "count_seconds": round(t_total, 3)}
    sym = " (directed input symmetrised)" if simple.symmetrized else ""
    report(summary, opts, f"wrote {len(keys)} orbit adjacencies to {out}{sym} "
                          f"({read_part(graph, t_read)}, count {t_total:.2f} s)")


def _stream_parquet(out, simple, keys, one_hop, opts, nnz):
    """Rows (source, target, one int64 column per adjacency), one row group per block."""
    import json

    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    import scipy.sparse as sp

    from graphembed.io.atomic import atomic_path
    from graphembed.structure import orbits as orb

    ids = simple.graph.node_ids
    names = [_key_name(k) for k in keys]
    id_type = _ids_arrow(ids[:0]).type  # int64, uint64 (ids beyond int64) or string
    schema = pa.schema([("source", id_type), ("target", id_type)] + [(nm, pa.int64()) for nm in names],
                       metadata={"graphembed": json.dumps({"symmetrized": simple.symmetrized,
                                                           "adjacencies": [list(k) for k in keys]})})
    multi = [k for k in keys if k[0] > 1]
    n = simple.n
    if multi:
        blocks = orb.iter_orbit_adjacency_blocks(simple.graph, multi, opts["block_rows"], opts["memory_mb"],
                                                 opts["threads"], verbose=not opts["quiet"] and not opts["as_json"])
    else:
        step = orb._block_rows(n, opts["memory_mb"])
        blocks = ((s, min(n, s + step), {}) for s in range(0, n, step))
    counts = dict.fromkeys(names, 0)
    with atomic_path(out) as tmp:
        with pq.ParquetWriter(str(tmp), schema) as writer:
            for start, stop, mats in blocks:
                part = {k: one_hop[k][start:stop] for k in keys if k[0] == 1}
                for k, m in mats.items():
                    part[k] = m if opts["top_k"] is None else orb._top_k_rows(m, opts["top_k"])
                pattern = None
                for m in part.values():
                    b = (m != 0).astype(np.int8)
                    pattern = b if pattern is None else pattern + b
                if pattern is None or pattern.nnz == 0:
                    continue
                pattern = sp.csr_matrix(pattern).tocoo()
                rows, cols = pattern.row, pattern.col
                columns = [_ids_arrow(ids[rows + start]), _ids_arrow(ids[cols])]
                for k, nm in zip(keys, names):
                    vals = np.asarray(part[k].tocsr()[rows, cols]).ravel().astype(np.int64)
                    counts[nm] += int(np.count_nonzero(vals))
                    columns.append(pa.array(vals, type=pa.int64()))
                writer.write_table(pa.Table.from_arrays(columns, schema=schema))
    nnz.update(counts)


EMBED_FLAGS = ("adjacency", "dim", "negative", "top_k", "n_iter")


def _adjacency(ctx, param, value):
    """'h,o1,o2' -> (h, o1, o2), as the table's default; anything else is left to the estimator,
    which names the 28 accepted ones."""
    try:
        return tuple(int(x) for x in str(value).split(","))
    except ValueError:
        return value


def _adjacency_option(func):
    """--adjacency from params.ORBIT_ADJACENCY (a tuple there, typed 'h,o1,o2' here)."""
    param = params.ORBIT_ADJACENCY["adjacency"]
    return click.option("--adjacency", "adjacency", default=",".join(map(str, param.default)),
                        show_default=True, callback=_adjacency, help=param.help)(func)


@click.command(name="orbit-embed")
@embedding_command
@_adjacency_option
@estimator_options(params.ORBIT_ADJACENCY, ("dim", "negative", "top_k", "n_iter"), help={
    "negative": "PMI shift log(negative), as the number of negative samples of skip-gram.",
    "top_k": "Two/three-hop adjacencies: keep each row's K largest counts.",
})
@pass_options
def orbit_embed(opts):
    """Embedding from an orbit adjacency: PPMI matrix factorised by randomised SVD.

    \b
    graphembed orbit-embed datasets/karate.csv -o karate_oemb.parquet --adjacency 1,5,5 --dim 8 --seed 0
    """
    def go():
        from graphembed.embed.orbit_features import OrbitAdjacencyEmbedding

        run_embedding(opts, lambda: OrbitAdjacencyEmbedding(
            **estimator_kwargs(opts, EMBED_FLAGS), random_state=opts["seed"], n_jobs=opts["threads"],
            verbose=not opts["quiet"] and not opts["as_json"]))

    run_reporting_errors(go)


# With --scheduler, INPUT may be a directory or glob of edge files (as for fastrp).
for _param in orbits.params:
    if _param.name == "input":
        _param.type = click.Path()
