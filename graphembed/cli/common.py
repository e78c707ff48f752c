"""Options and helpers shared by every command (click only at import time)."""
import functools
import json
import sys
import time

import click

EMBEDDING_FORMATS = ("parquet", "csv", "tsv", "npz", "w2v")


def run_reporting_errors(call):
    """Run a command; user errors become one line on stderr and exit code 2."""
    from graphembed.io.errors import InputError

    try:
        return call()
    except InputError as exc:
        click.echo(f"graphembed: error: {exc}", err=True)
        sys.exit(2)
    except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        click.echo(f"graphembed: error: {exc.filename or ''}: {exc.strerror}", err=True)
        sys.exit(2)
    except MemoryError:
        click.echo("graphembed: error: out of memory", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("graphembed: interrupted", err=True)
        sys.exit(130)


def graph_input_options(func):
    """The input file and how to read it (shared by every command that reads a graph)."""
    options = [
        click.argument("input", type=click.Path(dir_okay=False)),
        click.option("--input-format", type=click.Choice(["csv", "parquet", "mat", "gml", "npz"]),
                     help="Input format (default: from the extension)."),
        click.option("--directed/--undirected", default=None,
                     help="Read edges as directed (default: undirected for edge lists)."),
        click.option("--weighted", is_flag=True, default=None,
                     help="Use edge weights (the third column unless --weight-col)."),
        click.option("--source-col", default=None, help="Source column: name or 0-based position."),
        click.option("--target-col", default=None, help="Target column: name or 0-based position."),
        click.option("--weight-col", default=None, help="Weight column: name or position (implies --weighted)."),
        click.option("--header/--no-header", default=None, help="First line is a header (default: detect)."),
        click.option("--delimiter", default=None, help="Field delimiter (default: detect tab, comma, space)."),
        click.option("--nodes", "nodes_file", type=click.Path(dir_okay=False), default=None,
                     help="File of node ids, one per line; isolated ones keep a row."),
        click.option("--self-loops", is_flag=True, help="Keep self-loops (dropped by default)."),
        click.option("--duplicates", type=click.Choice(["first", "sum", "max"]), default="first",
                     show_default=True, help="How repeated edges merge their weights."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def load_graph(opts):
    """Read the graph named by the options of :func:`graph_input_options`."""
    from graphembed.io.readers import read_graph

    return read_graph(
        opts["input"], format=opts["input_format"], directed=opts["directed"],
        weighted=opts["weighted"], source_col=opts["source_col"], target_col=opts["target_col"],
        weight_col=opts["weight_col"], header=opts["header"], delimiter=opts["delimiter"],
        nodes=opts["nodes_file"], self_loops=opts["self_loops"], duplicates=opts["duplicates"],
    )


def embedding_command(func):
    """Graph input options plus the output, seed, threads, quiet and json options."""
    func = graph_input_options(func)
    options = [
        click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
                     help="Embedding file (.parquet, .csv, .tsv, .npz, .w2v)."),
        click.option("--format", "output_format", type=click.Choice(EMBEDDING_FORMATS),
                     help="Embedding format (default: from the output extension)."),
        click.option("--seed", type=click.IntRange(min=0), default=None, help="Random seed."),
        click.option("--threads", type=click.IntRange(min=1), default=None,
                     help="Threads (default: all cores). Results do not depend on it."),
        click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary."),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON summary on stdout."),
        click.option("--index", "index_path", type=click.Path(file_okay=False), default=None,
                     help="Also build a nearest-neighbour index directory (auto type, cosine)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def run_embedding(opts, make_estimator, fit_kwargs=None):
    """Read the graph, fit, write the embedding atomically, report. Returns the Embedding."""
    from graphembed.io.embedding_files import embedding_format

    fmt = embedding_format(opts["output"], opts["output_format"])  # fail before the work
    t0 = time.perf_counter()
    graph = load_graph(opts)
    t_read = time.perf_counter() - t0
    estimator = make_estimator()
    emb = estimator.fit_transform(graph, **(fit_kwargs or {}))
    t_fit = time.perf_counter() - t0 - t_read
    emb.save(opts["output"], fmt)
    if opts.get("index_path"):
        from graphembed.index import build_and_save

        build_and_save(emb, opts["index_path"])
    summary = {
        "output": opts["output"], "format": fmt, "method": emb.method, "nodes": len(emb),
        "dim": emb.dim, "read_seconds": round(t_read, 3), "embed_seconds": round(t_fit, 3),
        "params": emb.params, "index": opts.get("index_path"),
    }
    report(summary, opts, f"wrote {len(emb)} x {emb.dim} {emb.method} embedding to {opts['output']} "
                          f"(read {t_read:.2f} s, embed {t_fit:.2f} s)")
    return emb


def report(summary, opts, line):
    """--json: one JSON document on stdout; otherwise ``line`` on stderr unless --quiet."""
    if opts.get("as_json"):
        click.echo(json.dumps(summary, default=str))
    elif not opts.get("quiet"):
        click.echo(line, err=True)


def parse_float_list(ctx, param, value):
    if value is None:
        return None
    try:
        return [float(x) for x in value.split(",") if x.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated numbers, got {value!r}") from None


def pass_options(func):
    """Hand the command's keyword options to ``func`` as one dict."""
    @functools.wraps(func)
    def wrapper(**opts):
        return func(opts)

    return wrapper
