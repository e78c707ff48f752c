"""``graphembed index``: build, query and describe nearest-neighbour indexes (faiss)."""
import json
import time
from pathlib import Path

import click

from graphembed.cli.common import ReportingGroup, pass_options, report, require
from graphembed.cli.options import json_option, report_options, seed_option, threads_option
from graphembed.distributed.cli import check_scheduler_option, scheduler_option
from graphembed.params import INDEX_METRICS as METRICS


@click.group(cls=ReportingGroup)
def index():
    """Nearest-neighbour indexes over embeddings (faiss; pip install 'graphembed[index]').

    \b
    graphembed index build emb.parquet -o emb.index --index auto --metric cosine
    graphembed index query emb.index --node alice --k 10
    graphembed index info emb.index
    """


def _threads(n):
    if n is not None:
        import faiss

        faiss.omp_set_num_threads(n)


# ---------------------------------------------------------------------------- build
@index.command()
@click.argument("embedding", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
              help="Index directory to write: new, empty, or an existing graphembed index, which is "
                   "replaced atomically (anything else is refused).")
@click.option("--index", "factory", default="auto", show_default=True,
              help="'auto' (Flat up to 50k vectors, HNSW32 up to 100k and HNSW48 beyond when memory "
                   "allows, IVF beyond that) or a "
                   "faiss index_factory string such as HNSW32, IVF1024,Flat, IVF1024,PQ32x8.")
@click.option("--metric", type=click.Choice(METRICS), default="cosine", show_default=True)
@click.option("--ef-construction", type=click.IntRange(min=1), default=40, show_default=True,
              help="HNSW build effort.")
@click.option("--ef-search", type=click.IntRange(min=1), default=None,
              help="Default HNSW search effort stored with the index (default: 64 up to 100k "
                   "vectors, 128 beyond).")
@click.option("--nprobe", type=click.IntRange(min=1), default=None,
              help="Default IVF lists probed per query (default: nlist/50, at least 8).")
@seed_option(0, "Seed of the training sample (IVF, PQ).")
@threads_option("Threads (default: all cores).")
@report_options("No summary line.", "Print one JSON summary on stdout.")
@scheduler_option("From a directory of Parquet parts: an IVF index trained here on a sample, each part's "
                  "vectors added on a worker, the shards merged here.")
@pass_options
def build(opts):
    """Index an embedding file (.parquet, .csv, .tsv, .npz, .w2v) or a directory of Parquet parts.

    \b
    graphembed index build emb.parquet -o emb.index --index HNSW32 --metric cosine
    graphembed index build emb/ -o emb.index --scheduler local:4
    """
    require("faiss")
    from graphembed.embedding import Embedding
    from graphembed.index import EmbeddingIndex
    from graphembed.index.core import _check_replaceable
    from graphembed.io.atomic import check_writable

    scheduler = opts.pop("scheduler")
    if scheduler is not None:
        check_scheduler_option(scheduler, "index build")
        if not Path(opts["embedding"]).is_dir():
            from graphembed.io.errors import InputError

            raise InputError(f"{opts['embedding']}: --scheduler builds from a directory of Parquet parts "
                             "(fastrp -o DIR/ --scheduler ...); index a single file without --scheduler")
    check_writable(opts["output"], directory=True)  # refuse before any work, touch nothing
    if Path(opts["output"]).is_dir():
        _check_replaceable(opts["output"])
    _threads(opts["threads"])
    t0 = time.perf_counter()
    if scheduler is not None:
        from graphembed.distributed.index import build_index
        from graphembed.distributed.scheduler import client_for

        t_read = 0.0
        with client_for(scheduler) as client:
            built = build_index(opts["embedding"], client, index=opts["factory"], metric=opts["metric"],
                                nprobe=opts["nprobe"], seed=opts["seed"], threads=opts["threads"])
    else:
        emb = Embedding.load(opts["embedding"])
        t_read = time.perf_counter() - t0
        built = EmbeddingIndex.build(emb, index=opts["factory"], metric=opts["metric"],
                                     ef_construction=opts["ef_construction"], ef_search=opts["ef_search"],
                                     nprobe=opts["nprobe"], seed=opts["seed"],
                                     verbose=not opts["quiet"] and not opts["as_json"])
    built.save(opts["output"])
    meta = built.meta
    summary = {"output": opts["output"], "nodes": meta["count"], "dim": meta["dim"],
               "factory": meta["factory"], "metric": meta["metric"],
               "read_seconds": round(t_read, 3), "build_seconds": meta["build_seconds"],
               "search_defaults": meta["search_defaults"]}
    on = ""
    if scheduler is not None:
        summary.update(scheduler=str(scheduler), partitions=meta.get("partitions"))
        on = f" on Dask from {meta.get('partitions')} parts"
    report(summary, opts, f"wrote {meta['factory']} index ({meta['metric']}) of {meta['count']} x "
                          f"{meta['dim']} to {opts['output']} (build {meta['build_seconds']:.2f} s{on})")


# ---------------------------------------------------------------------------- query
def _read_ids(path, what):
    """Node ids of a query or filter file, one per line (the one node-file reader of io.nodes)."""
    from graphembed.io.nodes import read_node_ids

    return read_node_ids(path, what)


def _write_neighbours(result, path):
    from graphembed.io.tables import table_format, write_table

    return write_table(result.to_arrow(), path, table_format(path))


def _json_score(x):
    return None if x != x else round(float(x), 7)


@index.command()
@click.argument("index_dir", metavar="INDEX", type=click.Path(file_okay=False))
@click.option("--node", "nodes", multiple=True, help="Query node id (repeatable); excluded from its own results.")
@click.option("--nodes-file", type=click.Path(dir_okay=False), default=None,
              help="File of query node ids, one per line.")
@click.option("--vector", "vectors", multiple=True,
              help="Query vector as comma-separated numbers (repeatable).")
@click.option("--k", "k", type=click.IntRange(min=1), default=10, show_default=True, help="Neighbours per query.")
@click.option("--filter-file", type=click.Path(dir_okay=False), default=None,
              help="Search only among the node ids in this file (one per line).")
@click.option("--ef-search", type=click.IntRange(min=1), default=None, help="HNSW search effort (default: the index's).")
@click.option("--nprobe", type=click.IntRange(min=1), default=None, help="IVF lists probed (default: the index's).")
@click.option("--exact", is_flag=True, help="Exact search over every vector (slow on large indexes).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write (query, rank, neighbor, score) rows to .parquet, .csv or .tsv instead of printing.")
@click.option("--no-verify", is_flag=True,
              help="Skip the checksum check of the index files (for huge indexes). The files are then "
                   "trusted: faiss is not hardened against damaged files and may crash on one.")
@threads_option("Threads (default: all cores).")
@report_options("No summary line (with -o).", "Print results (or, with -o, a summary) as JSON.")
@pass_options
def query(opts):
    """Nearest neighbours of nodes (--node, --nodes-file) or of vectors (--vector).

    \b
    graphembed index query emb.index --node alice --k 10
    graphembed index query emb.index --nodes-file queries.txt --k 10 -o neighbours.parquet
    """
    require("faiss")
    from graphembed.index import EmbeddingIndex

    if opts["output"]:
        from graphembed.io.atomic import check_writable
        from graphembed.io.tables import table_format

        table_format(opts["output"])
        check_writable(opts["output"])
    nodes = list(opts["nodes"]) + (_read_ids(opts["nodes_file"], "query") if opts["nodes_file"] else [])
    vectors = []
    for text in opts["vectors"]:
        try:
            vectors.append([float(x) for x in text.split(",") if x.strip()])
        except ValueError:
            raise click.BadParameter(f"expected comma-separated numbers, got {text!r}",
                                     param_hint="--vector") from None
    if not nodes and not vectors:
        raise click.UsageError("give query nodes (--node, --nodes-file) or vectors (--vector)")
    if nodes and vectors:
        raise click.UsageError("give either query nodes or query vectors, not both")
    _threads(opts["threads"])
    idx = EmbeddingIndex.load(opts["index_dir"], verify=not opts["no_verify"])
    filter_ids = _read_ids(opts["filter_file"], "filter") if opts["filter_file"] else None
    k = opts["k"]
    clamp_note = None
    if k > len(idx):
        clamp_note = f"graphembed: note: --k {k} is more than the {len(idx)} indexed nodes; using --k {len(idx)}"
        k = opts["k"] = len(idx)
    if vectors:
        import math

        if len({len(v) for v in vectors}) > 1:
            raise click.BadParameter("the query vectors differ in length", param_hint="--vector")
        if len(vectors[0]) != idx.dim:
            raise click.BadParameter(f"the index has dimension {idx.dim}, the query vector {len(vectors[0])}",
                                     param_hint="--vector")
        if not all(math.isfinite(x) for v in vectors for x in v):
            raise click.BadParameter("NaN or infinite value in a query vector", param_hint="--vector")
    kwargs = dict(k=k, filter=filter_ids, ef_search=opts["ef_search"], nprobe=opts["nprobe"],
                  exact=opts["exact"])
    t0 = time.perf_counter()
    if nodes:
        result = idx.neighbors(nodes, **kwargs)
    else:
        result = idx.search(vectors, **kwargs)
        result.queries = list(range(len(vectors)))
    seconds = time.perf_counter() - t0
    if clamp_note and not opts["quiet"]:
        click.echo(clamp_note, err=True)
    if opts["output"]:
        rows = _write_neighbours(result, opts["output"])
        report({"output": opts["output"], "queries": len(result), "k": opts["k"], "rows": rows,
                "metric": idx.metric, "seconds": round(seconds, 4)}, opts,
               f"wrote {rows} neighbours of {len(result)} queries to {opts['output']} ({seconds:.3f} s)")
        return
    queries = result.queries
    if opts["as_json"]:
        out = {"metric": idx.metric, "score": idx.info()["score"], "k": opts["k"], "results": [
            {"query": q, "neighbors": [{"id": v, "score": _json_score(s)}
                                       for v, s in zip(ids.tolist(), scores.tolist())]}
            for q, (ids, scores) in zip(queries, result)]}
        click.echo(json.dumps(out, default=str))
        return
    rows = [(str(q), str(r), str(v), f"{s:.4f}") for q, r, v, s in result.rows()]
    header = ("query", "rank", "neighbor", idx.metric if idx.metric != "l2" else "distance")
    widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(header)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
    for row in rows:
        click.echo("  ".join(c.ljust(w) if i < 3 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(row, widths))).rstrip())


# ---------------------------------------------------------------------------- info
@index.command()
@click.argument("index_dir", metavar="INDEX", type=click.Path(file_okay=False))
@click.option("--recall-sample", type=click.IntRange(min=1), default=None,
              help="Also measure recall@10 against exact search on this many random nodes.")
@click.option("--no-verify", is_flag=True,
              help="Skip the checksum check of the index files (for huge indexes). The files are then "
                   "trusted: faiss is not hardened against damaged files and may crash on one.")
@json_option("Print one JSON document on stdout.")
@pass_options
def info(opts):
    """What an index holds: size, metric, factory, dim, source embedding, checksum.

    \b
    graphembed index info emb.index --json
    """
    require("faiss")
    import os

    from graphembed.index import EmbeddingIndex

    idx = EmbeddingIndex.load(opts["index_dir"], verify=not opts["no_verify"])
    out = idx.info()
    out["verified"] = bool(not opts["no_verify"] and idx.meta.get("files"))
    out["bytes"] = sum(os.path.getsize(os.path.join(opts["index_dir"], f))
                       for f in os.listdir(opts["index_dir"]))
    if opts["recall_sample"]:
        out["recall@10"] = round(idx.recall(10, opts["recall_sample"]), 4)
    if opts["as_json"]:
        click.echo(json.dumps(out, default=str))
        return
    emb = out.get("embedding") or {}
    lines = [("path", out["path"]), ("nodes", out["count"]), ("dim", out["dim"]),
             ("index", f"{out['factory']} ({out['faiss_class']})"), ("metric", out["metric"]),
             ("score", out["score"]), ("normalized", out["normalized"]), ("id type", out["id_type"]),
             ("search defaults", ", ".join(f"{k}={v}" for k, v in out["search_defaults"].items()) or "-"),
             ("embedding", f"{emb.get('method')} {json.dumps(emb.get('params') or {}, default=str)}"),
             ("checksum", out["checksum"]), ("size", f"{out['bytes'] / 2**20:.2f} MiB"),
             ("built in", f"{out['build_seconds']} s (faiss {out.get('faiss_version')})")]
    if "recall@10" in out:
        lines.append(("recall@10", out["recall@10"]))
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        click.echo(f"{key.ljust(width)}  {value}")


if __name__ == "__main__":  # pragma: no cover
    index()
