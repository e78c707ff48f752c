"""``graphembed serve``: the analytics service over a data directory (``--data-dir``), or the
HTTP neighbour service over one index directory (``INDEX``); FastAPI + uvicorn."""
import os
import stat
from pathlib import Path

import click

from graphembed.cli.common import fail, missing_extra, pass_options, require
from graphembed.cli.options import threads_option

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def read_token_file(path):
    """The token stored in ``path`` (surrounding whitespace removed); warns when others can read it."""
    try:
        mode = os.stat(path).st_mode
        with open(path, encoding="utf-8") as fh:
            token = fh.read(64 << 10)
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{path}: cannot read the token file ({getattr(exc, 'strerror', None) or exc})")
    if not token.strip():
        fail(f"{path}: the token file is empty")
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        click.echo(f"graphembed: warning: {path} is readable by other users; chmod 600 {path}", err=True)
    return token.strip()


def resolve_token(opts):
    """The token from --token-file, GRAPHEMBED_TOKEN or --token (in that order of preference)."""
    source = click.get_current_context().get_parameter_source("token")
    if opts["token_file"] is not None:
        if opts["token"] is not None and source == click.core.ParameterSource.COMMANDLINE:
            fail("give either --token-file or --token, not both")
        return read_token_file(opts["token_file"])
    token = opts["token"]
    if token is None:
        return None
    if not token.strip():
        fail("the token is empty or only whitespace: give a real token (--token-file or GRAPHEMBED_TOKEN)")
    if source == click.core.ParameterSource.COMMANDLINE:
        click.echo("graphembed: warning: --token on the command line is visible to other users (ps); "
                   "use --token-file or GRAPHEMBED_TOKEN", err=True)
    return token


@click.command()
@click.argument("index_dir", metavar="[INDEX]", type=click.Path(file_okay=False), required=False)
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Run the analytics service (graph catalog, jobs, results, neighbour queries, web "
                   "page) over this folder, created if missing; instead of serving one INDEX.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="[--data-dir] Jobs run at once, each in its own process. Default: cores / threads per job.")
@click.option("--threads-per-job", type=click.IntRange(min=1), default=1, show_default=True,
              help="[--data-dir] Threads each job's worker process uses.")
@click.option("--cors", "cors", multiple=True, metavar="ORIGIN",
              help="[--data-dir] Allow cross-origin requests from this origin (repeatable). Default: none.")
@click.option("--max-upload-bytes", type=click.IntRange(min=1), default=1 << 30, show_default=True,
              help="[--data-dir] Largest graph file (and labels) an upload may send.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; only loopback by default.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--token-file", type=click.Path(dir_okay=False), default=None,
              help="File holding the bearer token to require (also enables POST /reload).")
@click.option("--token", envvar="GRAPHEMBED_TOKEN", default=None, show_envvar=True,
              help="The token itself (visible in ps on the command line: prefer --token-file or the "
                   "environment variable).")
@click.option("--allowed-host", "allowed_hosts", multiple=True,
              help="Host header name to answer besides the loopback names ('*': any). Default: "
                   "loopback only without a token, any with one (DNS-rebinding protection).")
@click.option("--max-k", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Largest k a request may ask for.")
@click.option("--max-batch", type=click.IntRange(min=1), default=1024, show_default=True,
              help="Most ids or vectors in one request.")
@click.option("--max-ef-search", type=click.IntRange(min=1), default=4096, show_default=True,
              help="Largest HNSW ef_search a request may ask for.")
@click.option("--max-nprobe", type=click.IntRange(min=1), default=4096, show_default=True,
              help="Largest IVF nprobe a request may ask for.")
@click.option("--max-body-bytes", type=click.IntRange(min=1), default=4 << 20, show_default=True,
              help="Largest request body.")
@click.option("--request-timeout", type=click.FloatRange(min=0, min_open=True), default=30.0,
              show_default=True, help="Seconds a search may wait for a worker and run, else 503/504.")
@click.option("--header-timeout", type=click.FloatRange(min=0, min_open=True), default=10.0,
              show_default=True, help="Seconds a client has to send a request line and headers.")
@click.option("--body-timeout", type=click.FloatRange(min=0, min_open=True), default=30.0,
              show_default=True, help="Seconds a client has to send a request body.")
@click.option("--keep-alive-timeout", type=click.FloatRange(min=0, min_open=True), default=5.0,
              show_default=True, help="Seconds an idle keep-alive connection stays open.")
@click.option("--limit-concurrency", type=click.IntRange(min=1), default=256, show_default=True,
              help="Open connections and requests before new requests get 503 (connections "
                   "beyond twice this are closed at once).")
@click.option("--heavy-threads", type=click.IntRange(min=1), default=2, show_default=True,
              help="Worker threads (and concurrent slots) for searches too large for the event loop.")
@threads_option("faiss threads per request (requests already run concurrently).", default=1)
@click.option("--no-mmap", is_flag=True, help="Read the index into memory instead of mapping it.")
@click.option("--access-log", is_flag=True, help="Log every request.")
@click.option("--check", is_flag=True, help="Load the index (or open the data directory), build the app and exit (no server).")
@pass_options
def serve(opts):
    """Serve graphs, jobs and neighbour queries over HTTP (pip install 'graphembed[serve,index]').

    \b
    graphembed serve --data-dir ./ge-data      # the analytics service; the web page at /
    graphembed serve emb.index --port 8000     # neighbour queries over one index
    curl -s localhost:8000/neighbors -H 'content-type: application/json' -d '{"ids": [1], "k": 5}'

    With --data-dir: a graph catalog (POST /graphs uploads), jobs (POST /jobs), their results and
    neighbour queries per embedding; a token is always required (DATA/token, printed on first
    start; DATA/token.read is read-only). With INDEX: GET /healthz, /info, /nodes/{id}/vector;
    POST /neighbors, /search, /similarity, /reload (token required). Docs at /docs.
    """
    if opts["data_dir"] is not None:
        if opts["index_dir"] is not None:
            fail("give either INDEX (neighbour queries over one index) or --data-dir (the analytics "
                 "service), not both")
        return serve_data_dir(opts)
    if opts["index_dir"] is None:
        fail("give an INDEX directory to serve, or --data-dir DATA for the analytics service")
    ctx = click.get_current_context()
    for name in ("workers", "threads_per_job", "cors", "max_upload_bytes"):
        if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE:
            fail(f"--{name.replace('_', '-')} needs --data-dir (the analytics service)")
    require("fastapi", "uvicorn", "faiss", command="serve")  # before the token file or the index
    token = resolve_token(opts)
    try:
        import uvicorn  # noqa: F401

        from graphembed.service.app import create_app
        from graphembed.service.server import run
    except ImportError as exc:  # present but broken (a missing dependency of fastapi, say)
        missing_extra(exc.name or "fastapi", "serve")
    import faiss

    faiss.omp_set_num_threads(opts["threads"])
    hosts = list(opts["allowed_hosts"]) or None
    if hosts is None and token is None and opts["host"] not in LOOPBACK + ("0.0.0.0", "::"):
        hosts = [opts["host"]]  # the address it is reached at
    app = create_app(opts["index_dir"], token=token, mmap=not opts["no_mmap"], allowed_hosts=hosts,
                     max_k=opts["max_k"], max_batch=opts["max_batch"], max_ef_search=opts["max_ef_search"],
                     max_nprobe=opts["max_nprobe"], max_body_bytes=opts["max_body_bytes"],
                     request_timeout=opts["request_timeout"], body_timeout=opts["body_timeout"],
                     heavy_concurrency=opts["heavy_threads"])
    if opts["host"] not in LOOPBACK and token is None:
        click.echo(f"graphembed: warning: serving on {opts['host']} without --token-file or "
                   "GRAPHEMBED_TOKEN: anyone who can reach this address can query the index "
                   "(only the Host names "
                   f"{', '.join(hosts or LOOPBACK)} are answered; see --allowed-host)", err=True)
    if opts["check"]:
        click.echo(f"ok: {opts['index_dir']} loads; would serve on http://{opts['host']}:{opts['port']}",
                   err=True)
        return
    click.echo(f"graphembed: serving {opts['index_dir']} on http://{opts['host']}:{opts['port']} "
               f"(docs at /docs)", err=True)
    run(app, opts["host"], opts["port"], access_log=opts["access_log"],
        timeout_keep_alive=opts["keep_alive_timeout"], timeout_header=opts["header_timeout"],
        limit_concurrency=opts["limit_concurrency"])


def serve_data_dir(opts):
    """``graphembed serve --data-dir DATA``: the analytics service."""
    require("fastapi", "uvicorn", "faiss", "python_multipart", command="serve")
    if opts["token_file"] is not None:
        fail("--token-file is for INDEX: with --data-dir the token is DATA/token (or GRAPHEMBED_TOKEN)")
    source = click.get_current_context().get_parameter_source("token")
    if opts["token"] is not None and source == click.core.ParameterSource.COMMANDLINE:
        fail("--token is for INDEX: with --data-dir the token is DATA/token (or GRAPHEMBED_TOKEN)")
    if opts["token"] is not None and not opts["token"].strip():
        fail("GRAPHEMBED_TOKEN is empty or only whitespace: give a real token, or unset it")
    try:
        import uvicorn  # noqa: F401

        from graphembed.service.api import create_service_app
        from graphembed.service.core import ServiceCore
        from graphembed.service.errors import ServiceError
        from graphembed.service.server import run
    except ImportError as exc:  # present but broken (a missing dependency of fastapi, say)
        missing_extra(exc.name or "fastapi", "serve")
    import faiss

    faiss.omp_set_num_threads(opts["threads"])
    data_dir = Path(opts["data_dir"])
    first = not (data_dir / "token").exists()
    core = ServiceCore(data_dir, workers=opts["workers"], threads_per_job=opts["threads_per_job"],
                       max_upload_bytes=opts["max_upload_bytes"])
    try:
        core.start()
    except (ServiceError, OSError) as exc:
        fail(f"{data_dir}: cannot start the service: {getattr(exc, 'message', None) or exc}")
    try:
        hosts = list(opts["allowed_hosts"]) or None
        app = create_service_app(core, cors_origins=opts["cors"], max_body_bytes=opts["max_body_bytes"],
                                 allowed_hosts=hosts, max_upload_bytes=opts["max_upload_bytes"],
                                 body_timeout=opts["body_timeout"], max_k=opts["max_k"],
                                 max_batch=opts["max_batch"], max_ef_search=opts["max_ef_search"],
                                 max_nprobe=opts["max_nprobe"], request_timeout=opts["request_timeout"],
                                 heavy_concurrency=opts["heavy_threads"])
        token_path = core.token_path
        if first:
            click.echo(f"graphembed: created the write token {token_path} (read-only: {token_path}.read); "
                       f"send it as Authorization: Bearer $(cat {token_path})", err=True)
        if opts["host"] not in LOOPBACK:
            click.echo(f"graphembed: warning: serving on {opts['host']}: anyone who can reach this address "
                       "and holds a token can use the service (use TLS in front of it)", err=True)
        url = f"http://{opts['host']}:{opts['port']}"
        if opts["check"]:
            click.echo(f"ok: {data_dir} opens; would serve on {url} (token: {token_path})", err=True)
            return
        click.echo(f"graphembed: serving {data_dir} on {url} (web page at /, docs at /docs, token in "
                   f"{token_path})", err=True)
        run(app, opts["host"], opts["port"], access_log=opts["access_log"],
            timeout_keep_alive=opts["keep_alive_timeout"], timeout_header=opts["header_timeout"],
            limit_concurrency=opts["limit_concurrency"])
    finally:
        core.close()


def main():  # pragma: no cover - ``python -m graphembed.cli.serve``
    from graphembed.cli.common import run_reporting_errors

    run_reporting_errors(lambda: serve(standalone_mode=True))


if __name__ == "__main__":  # pragma: no cover
    main()
