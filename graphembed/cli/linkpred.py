"""``graphembed linkpred``: evaluate link prediction (node2vec protocol) and predict new links."""
import json
import time

import click

from graphembed.cli.common import ReportingGroup, graph_input_options, load_graph, pass_options, report, require
from graphembed.cli.options import report_options, seed_option, threads_option
from graphembed.params import OPERATORS

PAIR_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "tsv"}


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


EVALUATE_THREADS = ("Threads (default: all cores). The scores are bit-identical for any number when the "
                    "method's are (fastrp, grf, orbit methods); hogwild methods (line, node2vec, deepwalk) "
                    "are bit-identical only with --threads 1.")
PREDICT_THREADS = "Threads of the index build and search (default: all cores)."


def common_options(threads_help):
    """--seed (default 0), --threads with the subcommand's wording, -q and --json."""
    def decorate(func):
        func = report_options(quiet_help="No summary line.", json_help="Print one JSON document on stdout.")(func)
        func = threads_option(threads_help)(func)
        return seed_option(default=0)(func)

    return decorate


def method_params(method, given):
    """``--param`` values checked against ``method``'s parameter table before any work.

    Keys are the estimator's parameter names (``n_walks``) or its typed flags' names
    (``walks``, as ``graphembed grf --walks``); values must pass the table's checks (the
    estimator's own error wording: ``dim must be an integer >= 1, got 'x'``).
    """
    from graphembed.io.errors import InputError
    from graphembed.registry import get_embedder

    table = getattr(get_embedder(method), "parameters", None) or {}
    alias = {(p.cli or name).replace("-", "_"): name for name, p in table.items()}
    out = {}
    for key, value in given.items():
        name = key if key in table else alias.get(key, key)
        if name in out:
            raise InputError(f"--param: {name} given twice (as {key!r} too)")
        out[name] = value
    return out


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
@common_options(EVALUATE_THREADS)
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
    embedder = make_embedder(opts["method"], method_params(opts["method"], opts["params"]), seed=opts["seed"],
                             n_jobs=opts["threads"])
    check = getattr(embedder, "_check_params", None)
    if check is not None:
        check()  # a bad --param value fails before the graph is read
    check_dependencies = getattr(embedder, "_check_dependencies", None)
    if check_dependencies is not None:
        check_dependencies()  # a missing extra too
    if opts["plot_path"]:
        require("matplotlib")
    graph = load_graph(opts)
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
@common_options(PREDICT_THREADS)
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

    require("faiss")  # the candidate pairs come from a faiss index
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
