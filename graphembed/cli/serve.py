"""``graphembed serve``: the HTTP neighbour service over an index directory (FastAPI + uvicorn)."""
import click

from graphembed.cli.common import pass_options

LOOPBACK = ("127.0.0.1", "::1", "localhost")


@click.command()
@click.argument("index_dir", metavar="INDEX", type=click.Path(file_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; only loopback by default.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--token", envvar="GRAPHEMBED_TOKEN", default=None, show_envvar=True,
              help="Require 'Authorization: Bearer TOKEN' (also enables POST /reload).")
@click.option("--max-k", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Largest k a request may ask for.")
@click.option("--max-batch", type=click.IntRange(min=1), default=1024, show_default=True,
              help="Most ids or vectors in one request.")
@click.option("--max-body-bytes", type=click.IntRange(min=1), default=4 << 20, show_default=True,
              help="Largest request body.")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="faiss threads per request (requests already run concurrently).")
@click.option("--no-mmap", is_flag=True, help="Read the index into memory instead of mapping it.")
@click.option("--access-log", is_flag=True, help="Log every request.")
@click.option("--check", is_flag=True, help="Load the index, build the app and exit (no server).")
@pass_options
def serve(opts):
    """Serve nearest-neighbour queries over HTTP (pip install 'graphembed[serve,index]').

    \b
    graphembed serve emb.index --host 127.0.0.1 --port 8000
    curl -s localhost:8000/neighbors -H 'content-type: application/json' -d '{"ids": [1], "k": 5}'

    Endpoints: GET /healthz, /info, /nodes/{id}/vector; POST /neighbors, /search, /similarity,
    /reload (token required); docs at /docs.
    """
    try:
        import uvicorn

        from graphembed.service.app import create_app
    except ImportError as exc:
        raise click.ClickException(f"serve needs FastAPI and uvicorn: pip install 'graphembed[serve]' "
                                   f"({exc})") from None
    import faiss

    faiss.omp_set_num_threads(opts["threads"])
    app = create_app(opts["index_dir"], token=opts["token"], mmap=not opts["no_mmap"],
                     max_k=opts["max_k"], max_batch=opts["max_batch"],
                     max_body_bytes=opts["max_body_bytes"])
    if opts["host"] not in LOOPBACK and not opts["token"]:
        click.echo(f"graphembed: warning: serving on {opts['host']} without --token: anyone who can "
                   "reach this address can query the index", err=True)
    if opts["check"]:
        click.echo(f"ok: {opts['index_dir']} loads; would serve on http://{opts['host']}:{opts['port']}",
                   err=True)
        return
    click.echo(f"graphembed: serving {opts['index_dir']} on http://{opts['host']}:{opts['port']} "
               f"(docs at /docs)", err=True)
    uvicorn.run(app, host=opts["host"], port=opts["port"], log_level="warning",
                access_log=opts["access_log"])


def main():  # pragma: no cover - ``python -m graphembed.cli.serve``
    from graphembed.cli.common import run_reporting_errors

    run_reporting_errors(lambda: serve(standalone_mode=True))


if __name__ == "__main__":  # pragma: no cover
    main()
