"""``graphembed classify``: node classification F1 of an embedding (one-vs-rest logistic regression)."""
import json
import time

import click

from graphembed.cli.common import pass_options, report
from graphembed.cli.options import report_options, seed_option, threads_option
from graphembed.params import CLASSIFY_PROTOCOLS


@click.command()
@click.argument("embedding", type=click.Path(dir_okay=False))
@click.option("--labels", "labels_path", required=True, type=click.Path(dir_okay=False),
              help="Labels: a .mat file (its 'group' matrix) or rows node,label (.csv/.tsv; "
                   "repeat a node's row for each of its labels).")
@click.option("--train", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.5,
              show_default=True, help="Share of the labelled nodes used for training.")
@click.option("--splits", type=click.IntRange(min=1), default=5, show_default=True,
              help="Random train/test splits averaged.")
@click.option("--protocol", type=click.Choice([*CLASSIFY_PROTOCOLS, "both"]), default="topk",
              show_default=True, help="topk: each test node gets its true number of labels (the "
                                      "papers' protocol); threshold: probability >= 0.5 (realistic).")
@click.option("--C", "C", type=click.FloatRange(min=0, min_open=True), default=0.1, show_default=True,
              help="Inverse regularisation of the logistic regression.")
@click.option("--no-standardize", is_flag=True, help="Do not scale embedding columns first.")
@seed_option(0, "Split s uses seed + s.")
@threads_option("Parallel one-vs-rest fits.")
@report_options("Only the table.", "Print one JSON document on stdout.")
@pass_options
def classify(opts):
    """Macro/Micro-F1 of node classification on an embedding (DeepWalk/node2vec protocol).

    One-vs-rest liblinear logistic regression on the standardised vectors; F1 averaged over
    --splits random splits. Multi-label and single-label labels; the output names the protocol.

    \b
    graphembed classify emb.parquet --labels datasets/karate_labels.csv --splits 5
    graphembed classify blogcatalog.parquet --labels blogcatalog.mat --protocol both
    """
    from graphembed.embedding import Embedding
    from graphembed.io.nodes import read_labels
    from graphembed.tasks.classify import node_classification_protocols

    t0 = time.perf_counter()
    emb = Embedding.load(opts["embedding"])
    labels = read_labels(opts["labels_path"], emb.node_ids)
    protocols = list(CLASSIFY_PROTOCOLS) if opts["protocol"] == "both" else [opts["protocol"]]
    by_protocol = node_classification_protocols(
        emb.vectors, labels, train=opts["train"], splits=opts["splits"], protocols=protocols,
        seed=opts["seed"], C=opts["C"], standardize=not opts["no_standardize"], n_jobs=opts["threads"])
    results = [by_protocol[p] for p in protocols]
    seconds = time.perf_counter() - t0
    summary = {"embedding": opts["embedding"], "labels": opts["labels_path"], "method": emb.method,
               "labelled_nodes": int(labels.labelled.sum()), "unmatched_label_rows": labels.unmatched,
               "classes": len(labels.classes), "multilabel": labels.multilabel,
               "results": results, "seconds": round(seconds, 3)}
    if opts["as_json"]:
        click.echo(json.dumps(summary, default=str))
        return
    kind = "multi-label" if labels.multilabel else "single-label"
    if not opts["quiet"]:
        click.echo(f"# {emb.method or 'embedding'} {opts['embedding']}: {summary['labelled_nodes']} labelled "
                   f"nodes, {summary['classes']} classes ({kind}), train {opts['train']:.0%}, "
                   f"{opts['splits']} splits, one-vs-rest logistic regression (liblinear, C={opts['C']})")
    click.echo("| protocol | Macro-F1 | Micro-F1 |")
    click.echo("|---|---|---|")
    for r in results:
        click.echo(f"| {r['protocol']} | {r['macro_f1']:.4f} ± {r['macro_f1_std']:.4f} "
                   f"| {r['micro_f1']:.4f} ± {r['micro_f1_std']:.4f} |")
    for r in results:
        report(summary, opts, f"{r['protocol_note']}")
    if labels.unmatched:
        report(summary, opts, f"{labels.unmatched} label rows name nodes not in the embedding (ignored)")
