"""``graphembed linkpred``: evaluate link prediction (node2vec protocol) and predict new links."""
import json
import time

import click

from graphembed.cli.common import graph_input_options, load_graph, pass_options, report

OPERATORS = ("average", "hadamard", "weighted_l1", "weighted_l2")
PAIR_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "tsv"}


class ReportingGroup(click.Group):
    """User errors become one line on stderr and exit code 2, also when run on its own."""

    def invoke(self, ctx):
        from graphembed.cli.common import run_reporting_errors

        return run_reporting_errors(lambda: super(ReportingGroup, self).invoke(ctx))


def parse_value(text):
    """``key=value`` values: JSON (numbers, true/false, null, lists), comma lists, else a string."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    if "," in text:
        return [parse_value(part.strip()) for part in text.split(",") if part.strip()]
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    return text


def parse_params(ctx, param, values):
    """click callback: repeated ``--param key=value`` -> dict."""
    out = {}
    for item in values or ():
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            from graphembed.io.errors import InputError

            raise InputError(f"--param: expected key=value, got {item!r}")
        out[key] = parse_value(value.strip())
    return out


def method_options(func):
    """--method and repeated --param key=value (any registered embedder)."""
    options = [
        click.option("--method", default="fastrp", show_default=True,
                     help="Registered embedding method (fastrp, node2vec, deepwalk, line, ...)."),
        click.option("--param", "params", multiple=True, callback=parse_params, metavar="KEY=VALUE",
                     help="Method parameter, repeatable: --param dim=64 --param p=0.25."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def common_options(func):
    options = [
        click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Random seed."),
        click.option("--threads", type=click.IntRange(min=1), default=None,
                     help="Threads (default: all cores)."),
        click.option("--quiet", "-q", is_flag=True, help="No summary line."),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.group(cls=ReportingGroup)
def linkpred():
    """Link prediction: evaluate with the node2vec protocol, or predict new links.

    \b
    graphembed linkpred evaluate edges.csv --method node2vec --holdout 0.5 --operator hadamard
    graphembed linkpred predict edges.csv --embedding emb.parquet --top 20 -o new_links.csv
    """


@linkpred.command()
@graph_input_options
@method_options
@click.option("--holdout", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.5,
              show_default=True, help="Share of the edges removed (spanning forest kept).")
@click.option("--operator", "operators", multiple=True, type=click.Choice(OPERATORS + ("all",)),
              default=("hadamard",), show_default=True, help="Pair feature operator, repeatable, or all.")
@click.option("--train-fraction", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.5,
              show_default=True, help="Share of the pairs the logistic regression is trained on.")
@click.option("--no-heuristics", is_flag=True, help="Skip common neighbours, Jaccard, Adamic-Adar, "
                                                    "preferential attachment.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None,
              help="Write ROC curves of every row to this PNG.")
@common_options
@pass_options
def evaluate(opts):
    """ROC-AUC and average precision of held-out edges (Grover & Leskovec, KDD 2016).

    Removes --holdout of the edges (a random spanning forest is kept, so the residual graph stays
    connected), samples as many non-edges as negatives, embeds the residual graph with --method,
    trains a logistic regression on pair features and scores the test pairs; classical
    heuristics are scored on the same pairs.

    \b
    graphembed linkpred evaluate datasets/karate.csv --method fastrp --operator all --seed 0
    """
    from graphembed.registry import make_embedder
    from graphembed.tasks.linkpred import HEURISTICS, evaluate as run

    verbose = not opts["quiet"] and not opts["as_json"]
    graph = load_graph(opts)
    embedder = make_embedder(opts["method"], opts["params"], seed=opts["seed"], n_jobs=opts["threads"])
    t0 = time.perf_counter()
    res = run(graph, embedder, holdout=opts["holdout"], operators=tuple(opts["operators"]),
              seed=opts["seed"], train_fraction=opts["train_fraction"],
              heuristics=() if opts["no_heuristics"] else HEURISTICS,
              return_scores=bool(opts["plot_path"]))
    res["seconds"] = round(time.perf_counter() - t0, 3)
    if opts["plot_path"]:
        from graphembed.tasks.plot import plot_roc

        plot_roc(res.pop("scores"), opts["plot_path"],
                 title=f"Link prediction ROC: {res['method']} on {opts['input']}")
        res["plot"] = opts["plot_path"]
    if opts["as_json"]:
        click.echo(json.dumps(res, default=str))
        return
    if not opts["quiet"]:
        click.echo(f"# link prediction on {opts['input']}: {res['nodes']} nodes, {res['edges']} edges, "
                   f"{res['edges_removed']} held out ({res['holdout']:.0%}), "
                   f"{res['train_pairs']} train / {res['test_pairs']} test pairs, seed {res['seed']}")
    click.echo("| method | features | ROC-AUC | AP |")
    click.echo("|---|---|---|---|")
    for op, r in res["operators"].items():
        click.echo(f"| {res['method']} | {op} | {r['auc']:.4f} | {r['ap']:.4f} |")
    for name, r in res["heuristics"].items():
        click.echo(f"| heuristic | {name} | {r['auc']:.4f} | {r['ap']:.4f} |")
    if verbose:
        extra = f", ROC plot {opts['plot_path']}" if opts["plot_path"] else ""
        click.echo(f"embed {res.get('embed_seconds', 0):.2f} s, total {res['seconds']:.2f} s{extra}", err=True)


@linkpred.command()
@graph_input_options
@click.option("--embedding", required=True, type=click.Path(dir_okay=False),
              help="Embedding file of the graph's nodes (.parquet, .csv, .tsv, .npz, .w2v).")
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True,
              help="New pairs overall, or per node with --per-node.")
@click.option("--per-node", is_flag=True, help="The --top new pairs of every node.")
@click.option("--node", "query_nodes", multiple=True, help="Only these nodes (implies --per-node), repeatable.")
@click.option("--metric", type=click.Choice(["cosine", "ip", "l2"]), default="cosine", show_default=True)
@click.option("--rescore", is_flag=True, help="Re-rank candidates with a logistic regression on "
                                              "Hadamard features trained on the graph's edges.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the pairs to .csv, .tsv or .parquet (default: print them).")
@common_options
@pass_options
def predict(opts):
    """Most likely new links: most similar non-adjacent pairs from the faiss index.

    \b
    graphembed linkpred predict datasets/karate.csv --embedding emb.parquet --top 10 -o new.csv
    """
    from pathlib import Path

    from graphembed.io.errors import InputError

    out = opts["output"]
    fmt = None
    if out:
        fmt = PAIR_FORMATS.get(Path(out).suffix.lower())
        if fmt is None:
            raise InputError(f"{out}: unknown output extension; use .csv, .tsv or .parquet")
    from graphembed.tasks.new_links import predict as run

    graph = load_graph(opts)
    t0 = time.perf_counter()
    per_node = opts["per_node"] or bool(opts["query_nodes"])
    nodes = None
    if opts["query_nodes"]:
        nodes = [_id_like(graph, v) for v in opts["query_nodes"]]
    res = run(graph, opts["embedding"], top=opts["top"], per_node=per_node, nodes=nodes,
              metric=opts["metric"], rescore=opts["rescore"], seed=opts["seed"], threads=opts["threads"])
    seconds = time.perf_counter() - t0
    rows = list(zip(res["source"].tolist(), res["target"].tolist(), res["score"].tolist(),
                    res["rank"].tolist()))
    if out:
        write_table({"source": res["source"], "target": res["target"], "score": res["score"],
                     "rank": res["rank"]}, out, fmt)
    summary = {"pairs": len(rows), "mode": res["mode"], "scored_by": res["scored_by"],
               "output": out, "seconds": round(seconds, 3)}
    if opts["as_json"]:
        if not out:
            summary["results"] = [{"source": s, "target": t, "score": sc, "rank": r} for s, t, sc, r in rows]
        click.echo(json.dumps(summary, default=str))
        return
    if not out:
        click.echo("source\ttarget\tscore\trank")
        for s, t, sc, r in rows:
            click.echo(f"{s}\t{t}\t{sc:.6g}\t{r}")
    report(summary, opts, f"{len(rows)} new pairs ({res['mode']}, {res['scored_by']})"
                          + (f" written to {out}" if out else "") + f" in {seconds:.2f} s")


def _id_like(graph, value):
    """A command-line id as the graph's id type."""
    if graph.node_ids.dtype.kind in "iu":
        try:
            return int(value)
        except ValueError:
            pass
    return value


def write_table(columns, path, fmt):
    """Write a dict of equal-length columns atomically to csv, tsv or parquet."""
    from graphembed.io.tables import write_table as write

    write(columns, path, fmt)
