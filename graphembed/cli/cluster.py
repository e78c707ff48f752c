"""``graphembed cluster``: k-means (faiss) or Leiden (kNN graph) clusters of an embedding."""
import json
import time

import click

from graphembed.cli.common import pass_options, report, require
from graphembed.cli.options import report_options, seed_option, threads_option
from graphembed.params import CLUSTER_METHODS


@click.command()
@click.argument("embedding", type=click.Path(dir_okay=False))
@click.option("--method", type=click.Choice(CLUSTER_METHODS), default="kmeans", show_default=True,
              help="kmeans: faiss k-means; leiden: Leiden communities of the kNN graph.")
@click.option("--k", "k", type=click.IntRange(min=1), default=None,
              help="Clusters for k-means (default: the number of classes in --labels).")
@click.option("--knn", type=click.IntRange(min=1), default=15, show_default=True,
              help="Neighbours per node in the kNN graph (leiden).")
@click.option("--resolution", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="Leiden resolution (larger: more, smaller clusters).")
@click.option("--normalize", is_flag=True, help="k-means on L2-normalised vectors (cosine).")
@click.option("--niter", type=click.IntRange(min=1), default=25, show_default=True, help="k-means iterations.")
@click.option("--labels", "labels_path", type=click.Path(dir_okay=False), default=None,
              help="Ground truth (node,label rows or a .mat 'group'): adds NMI and ARI.")
@click.option("--graph", "graph_path", type=click.Path(dir_okay=False), default=None,
              help="Edge list of the graph: adds the modularity of the clusters.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write node,cluster rows (.csv, .tsv or .parquet).")
@seed_option(0)
@threads_option("faiss threads.")
@report_options("No summary.", "Print one JSON document on stdout.")
@pass_options
def cluster(opts):
    """Cluster the nodes of an embedding; score against ground truth and the graph.

    \b
    graphembed cluster emb.parquet --k 12 -o clusters.csv
    graphembed cluster emb.parquet --method leiden --knn 15
    graphembed cluster emb.parquet --k 2 --labels truth.csv --graph edges.csv
    """
    # k-means and the kNN graph of Leiden are faiss's; Leiden itself is leidenalg's on igraph
    require(*(("leidenalg", "igraph") if opts["method"] == "leiden" else ()), "faiss")
    from pathlib import Path

    import numpy as np

    from graphembed.cli.linkpred import PAIR_FORMATS, write_table
    from graphembed.embedding import Embedding
    from graphembed.io.errors import InputError
    from graphembed.tasks import cluster as tasks

    out = opts["output"]
    fmt = None
    if out:
        fmt = PAIR_FORMATS.get(Path(out).suffix.lower())
        if fmt is None:
            raise InputError(f"{out}: unknown output extension; use .csv, .tsv or .parquet")
    t0 = time.perf_counter()
    emb = Embedding.load(opts["embedding"])
    truth = None
    if opts["labels_path"]:
        from graphembed.io.nodes import read_labels

        truth = read_labels(opts["labels_path"], emb.node_ids)
        if truth.multilabel:
            raise InputError(f"{opts['labels_path']}: some nodes have several labels; NMI and ARI "
                             "need one label per node")
    summary = {"embedding": opts["embedding"], "method": opts["method"], "nodes": len(emb)}
    if opts["method"] == "kmeans":
        k = opts["k"]
        if k is None:
            if truth is None:
                raise InputError("k-means needs --k (or --labels to use its number of classes)")
            k = len(truth.classes)
        labels, _, objective = tasks.kmeans(emb.vectors, k, opts["seed"], niter=opts["niter"],
                                            normalize=opts["normalize"], threads=opts["threads"])
        summary.update({"k": int(k), "objective": objective, "normalize": opts["normalize"]})
    else:
        labels = tasks.leiden(emb.vectors, opts["knn"], opts["resolution"], opts["seed"],
                              threads=opts["threads"])
        summary.update({"knn": opts["knn"], "resolution": opts["resolution"]})
    summary["clusters"] = int(np.unique(labels).size)
    sizes = np.bincount(np.unique(labels, return_inverse=True)[1])
    summary["largest_cluster"] = int(sizes.max())
    if truth is not None:
        summary.update(tasks.cluster_scores(labels, truth.single()))
    if opts["graph_path"]:
        from graphembed.io.edges import read_graph

        graph = read_graph(opts["graph_path"])
        glabels, missing = tasks.graph_labels(graph, emb.node_ids, labels)
        summary["modularity"] = tasks.modularity(graph, glabels)
        summary["graph_nodes_without_vector"] = missing
    if out:
        write_table({"node": emb.node_ids, "cluster": labels}, out, fmt)
        summary["output"] = out
    summary["seconds"] = round(time.perf_counter() - t0, 3)
    if opts["as_json"]:
        click.echo(json.dumps(summary, default=str))
        return
    parts = [f"{summary['clusters']} clusters ({opts['method']}) of {len(emb)} nodes, largest {summary['largest_cluster']}"]
    for key, name in (("nmi", "NMI"), ("ari", "ARI"), ("modularity", "modularity")):
        if key in summary:
            parts.append(f"{name} {summary[key]:.4f}")
    if out:
        parts.append(f"written to {out}")
    line = "; ".join(parts)
    if out:
        report(summary, opts, line)
    else:
        click.echo("node\tcluster")
        for v, c in zip(emb.node_ids.tolist(), labels.tolist()):
            click.echo(f"{v}\t{c}")
        report(summary, opts, line)
