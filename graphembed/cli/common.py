"""Options and helpers shared by every command (click only at import time)."""
import functools
import json
import os
import sys
import time

import click

from graphembed.cli.options import (  # noqa: F401 - re-exported
    THREADS_EXACT,
    THREADS_HOGWILD,
    index_option,
    output_options,
    report_options,
    seed_option,
    threads_option,
)
from graphembed.params import EMBEDDING_FORMATS, INPUT_FORMATS  # noqa: F401 - shared with graphembed.io

# Optional extras: the module a command imports -> the pip extra that brings it.
EXTRAS = {"gensim": "gensim", "faiss": "index", "fastapi": "serve", "uvicorn": "serve", "httpx": "serve",
          "starlette": "serve", "matplotlib": "plot", "leidenalg": "leiden", "igraph": "leiden",
          "psutil": "bench", "dask": "dask", "distributed": "dask"}
MAX_MESSAGE = 500  # characters of an error line; longer ones are cut


def command_name(ctx=None):
    """The running command without the program name: 'node2vec', 'index build'."""
    ctx = ctx or click.get_current_context(silent=True)
    if ctx is None:
        return "graphembed"
    names = [ctx.invoked_subcommand] if getattr(ctx, "invoked_subcommand", None) else []
    while ctx.parent is not None:
        names.append(ctx.info_name)
        ctx = ctx.parent
    return " ".join(reversed(names)) or ctx.info_name or "graphembed"


def missing_extra(module, command=None):
    """Exit 2 with ``graphembed: error: <command> needs <module>: pip install 'graphembed[<extra>]'``."""
    top = module.split(".")[0]
    extra = EXTRAS.get(top)
    hint = f"pip install 'graphembed[{extra}]'" if extra else f"pip install {top}"
    fail(f"{command or command_name()} needs {top}: {hint}")


def require(*modules, command=None):
    """Check, before any input is read or work done, that the optional packages a command needs
    are installed; else :func:`missing_extra` (one line, exit 2). Nothing is imported here."""
    import importlib.util

    for module in modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing_extra(module, command)


def one_line(text, limit=MAX_MESSAGE):
    """``text`` on one line (runs of whitespace collapsed), cut to ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def fail(message, code=2):
    """Print ``graphembed: error: message`` as one line on stderr and exit with ``code``."""
    click.echo(f"graphembed: error: {one_line(message)}", err=True)
    sys.exit(code)


def run_reporting_errors(call):
    """Run a command: every failure becomes one line on stderr and an exit code, never a traceback.

    User errors (bad input, unwritable or full disks, damaged files, a missing optional extra)
    exit with 2; running out of memory and unexpected internal errors with 1 (the traceback is
    shown with ``GRAPHEMBED_DEBUG=1``); an interrupt with 130.
    """
    import zlib

    from graphembed.io.errors import InputError

    try:
        return call()
    except (SystemExit, click.exceptions.Exit, click.ClickException, click.Abort):
        raise
    except KeyboardInterrupt:
        click.echo("graphembed: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - every error is reported in one line below
        if os.environ.get("GRAPHEMBED_DEBUG") == "1":
            raise
        if isinstance(exc, BrokenPipeError):  # the reader of stdout went away (| head): stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        if isinstance(exc, InputError):
            fail(exc)
        if isinstance(exc, OSError) and not type(exc).__module__.startswith("pyarrow"):
            where = exc.filename if exc.filename is not None else ""
            fail(f"{where}: {exc.strerror or exc}" if where else (exc.strerror or str(exc)))
        if isinstance(exc, (zlib.error, EOFError, UnicodeError)):
            fail(f"unreadable input: {exc}")
        if isinstance(exc, ImportError):
            top = (exc.name or "").split(".")[0]
            if top in EXTRAS:
                missing_extra(top, command_name())
            if "pip install" in str(exc):  # the library's own message names the extra
                fail(exc)
            fail(f"this needs the optional package {top or exc}: install it")
        if isinstance(exc, MemoryError):
            fail("out of memory", 1)
        module = type(exc).__module__
        if module.startswith("pyarrow"):
            fail(f"unreadable input: {exc}")
        if module.startswith("faiss") or "faiss" in str(exc)[:200].lower():
            fail(f"faiss failed: {str(exc).strip().splitlines()[-1] if str(exc).strip() else exc}")
        fail(f"internal error: {type(exc).__name__}: {exc} (set GRAPHEMBED_DEBUG=1 for the traceback)", 1)


class ReportingGroup(click.Group):
    """A command group whose user errors become one line on stderr and exit code 2, also when
    the group is run on its own."""

    def invoke(self, ctx):
        return run_reporting_errors(lambda: super(ReportingGroup, self).invoke(ctx))


def graph_input_options(func):
    """The input file and how to read it (shared by every command that reads a graph)."""
    options = [
        click.argument("input", type=click.Path(dir_okay=False)),
        click.option("--input-format", type=click.Choice(INPUT_FORMATS),
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


def embedding_command(func=None, *, threads_help=THREADS_EXACT):
    """Graph input options plus the output, seed, threads, quiet and json options.

    ``threads_help`` says what the thread count changes (``THREADS_HOGWILD`` for methods whose
    output depends on the thread schedule)."""
    if func is None:
        return lambda f: embedding_command(f, threads_help=threads_help)
    func = graph_input_options(func)
    options = [output_options(), seed_option(), threads_option(threads_help), report_options(), index_option()]
    for option in reversed(options):
        func = option(func)
    return func


def run_embedding(opts, make_estimator, fit_kwargs=None, *, extra_outputs=(), write_extras=None,
                  step="embed"):
    """Read the graph, fit, write the embedding atomically, report. Returns the Embedding (None
    when there is no ``-o``).

    For commands with outputs besides the embedding (grf's sparse features):

    * ``extra_outputs``: the option keys of those files; each given one is checked writable
      before any work, as ``-o`` and ``--index`` are.
    * ``opts["output"]`` may then be None (an optional ``-o``): the estimator is fitted but no
      embedding is computed or written; at least one extra output must be given.
    * ``write_extras(estimator, embedding, summary)`` is called after the fit (``embedding`` is
      None without ``-o``); it writes the extra files atomically (:mod:`graphembed.io.atomic`),
      may add keys to ``summary`` and returns the summary line's first part ("wrote ... to
      ...") or None for the default one.
    * ``step`` names the fit in the summary line ("embed 0.12 s").
    """
    from graphembed.io.atomic import check_writable
    from graphembed.io.embedding_files import embedding_format
    from graphembed.io.errors import InputError

    output = opts["output"]
    extras = [opts[key] for key in extra_outputs if opts.get(key)]
    if output is None and not extras:
        raise InputError("nothing to write: give -o/--output")
    if opts.get("index_path"):
        if output is None:
            raise InputError("--index needs -o/--output")
        require("faiss", command=f"{command_name()} --index")  # a missing extra fails first
    fmt = None
    if output is not None:
        fmt = embedding_format(output, opts["output_format"])  # fail before the work
        if fmt == "w2v-binary":
            require("gensim", command=f"{command_name()} -o {output}")  # binary word2vec is gensim's
        check_writable(output)
    for path in extras:
        check_writable(path)
    if opts.get("index_path"):
        from graphembed.index.core import _check_replaceable

        check_writable(opts["index_path"], directory=True)
        if os.path.isdir(opts["index_path"]):
            _check_replaceable(opts["index_path"])
    estimator = make_estimator()
    check_dependencies = getattr(estimator, "_check_dependencies", None)
    if check_dependencies is not None:
        check_dependencies()  # a missing optional extra fails before any work
    t0 = time.perf_counter()
    graph = load_graph(opts)
    t_read = time.perf_counter() - t0
    note_first_compile(estimator, opts)  # only once the input is known to be good
    if output is not None:
        emb = estimator.fit_transform(graph, **(fit_kwargs or {}))
    else:
        emb = None
        estimator.fit(graph, **(fit_kwargs or {}))
    t_fit = time.perf_counter() - t0 - t_read
    if emb is not None:
        emb.save(output, fmt)
        if opts.get("index_path"):
            from graphembed.index import build_and_save

            build_and_save(emb, opts["index_path"])
    summary = {
        "output": output, "format": fmt, "method": emb.method if emb is not None else estimator.name,
        "nodes": len(emb) if emb is not None else graph.n_nodes, "dim": emb.dim if emb is not None else None,
        "read_seconds": round(t_read, 3), "embed_seconds": round(t_fit, 3),
        "params": emb.params if emb is not None else _fitted_params(estimator),
        "index": opts.get("index_path"), "input": emb.input if emb is not None else _describe(graph),
    }
    line = write_extras(estimator, emb, summary) if write_extras is not None else None
    if line is None:
        line = f"wrote {len(emb)} x {emb.dim} {emb.method} embedding to {output}"
    report(summary, opts, f"{line} ({read_part(graph, t_read)}, {step} {t_fit:.2f} s)")
    return emb


def _fitted_params(estimator):
    """The parameters an embedding of ``estimator`` would record (without one)."""
    public = getattr(estimator, "_public_params", None)
    if public is not None:
        return public()
    return {k: v for k, v in estimator.get_params().items() if k not in ("n_jobs", "verbose")}


def _describe(graph):
    from graphembed.io.metadata import describe_input

    return describe_input(graph) if hasattr(graph, "stats") else None


def note_first_compile(estimator, opts):
    """One line on stderr when the estimator's numba kernels are not compiled yet (the first run
    of an install would otherwise look hung for 10-40 s). Like the progress bars, only on a
    terminal: a script's stderr keeps its one error line."""
    kernels = getattr(estimator, "_numba_kernels", ())
    if kernels and not opts.get("quiet") and not opts.get("as_json") and sys.stderr.isatty():
        from graphembed._kernels import not_compiled

        if not_compiled(kernels):
            click.echo(f"graphembed: compiling numba kernels for {estimator.name} "
                       "(once per install; later runs skip this)", err=True)


def read_part(graph, seconds):
    """The 'read 0.12 s, header: detected' part of a summary line (the header only for text)."""
    header = graph.stats.get("header")
    return f"read {seconds:.2f} s" + (f", header: {header}" if header else "")


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
