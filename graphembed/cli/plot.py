"""``graphembed plot``: a 2-D map of an embedding as a PNG (matplotlib)."""
import json

import click

from graphembed.cli.common import fail, pass_options, report, require
from graphembed.cli.options import report_options, seed_option
from graphembed.params import REDUCERS


@click.command()
@click.argument("embedding", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="PNG file to write.")
@click.option("--labels", "labels_path", type=click.Path(dir_okay=False), default=None,
              help="Colour by label: node,label rows or a .mat 'group' (first label of each node).")
@click.option("--clusters", "clusters_path", type=click.Path(dir_okay=False), default=None,
              help="Colour by cluster: the node,cluster file of 'graphembed cluster -o'.")
@click.option("--reducer", type=click.Choice(REDUCERS), default="auto",
              show_default=True, help="auto: UMAP if umap-learn is installed, else t-SNE.")
@click.option("--max-points", type=click.IntRange(min=2), default=5000, show_default=True,
              help="Subsample larger embeddings to this many points.")
@click.option("--title", default=None, help="Plot title (default: method, reducer and node count).")
@seed_option(0)
@report_options("No summary line.", "Print one JSON summary on stdout.")
@pass_options
def plot(opts):
    """Scatter plot of a 2-D map of an embedding (UMAP, t-SNE or PCA), coloured by label.

    \b
    graphembed plot emb.parquet --labels datasets/karate_labels.csv -o emb.png
    """
    require("matplotlib")
    if opts["reducer"] == "umap":
        import importlib.util

        if importlib.util.find_spec("umap") is None:  # not an extra of graphembed's
            fail("plot --reducer umap needs umap-learn: pip install umap-learn")
    from pathlib import Path

    from graphembed.embedding import Embedding
    from graphembed.io.errors import InputError
    from graphembed.tasks.plot import plot_embedding

    if Path(opts["output"]).suffix.lower() != ".png":
        raise InputError(f"{opts['output']}: plots are written as PNG; use a .png file name")
    if opts["labels_path"] and opts["clusters_path"]:
        raise InputError("use --labels or --clusters, not both")
    emb = Embedding.load(opts["embedding"])
    labels = None
    path = opts["labels_path"] or opts["clusters_path"]
    if path:
        from graphembed.io.nodes import read_labels

        labels = read_labels(path, emb.node_ids).single()
    res = plot_embedding(emb, opts["output"], labels, reducer=opts["reducer"],
                         max_points=opts["max_points"], seed=opts["seed"], title=opts["title"],
                         verbose=not opts["quiet"] and not opts["as_json"])
    if opts["as_json"]:
        click.echo(json.dumps(res))
        return
    report(res, opts, f"wrote {res['path']}: {res['reducer']} of {res['points']} of {res['nodes']} nodes")
