"""``graphembed gnn``: graph neural networks (click only at import: ``graphembed --help`` stays cheap)."""
import click

from graphembed.cli.common import embedding_command, graph_input_options, pass_options
from graphembed.cli.options import report_options, seed_option, threads_option

MODELS = ("gcn", "sage", "gat", "grand")
PLANETOID = ("cora", "citeseer", "pubmed")


def _parse_ints(ctx, param, value):
    if value is None:
        return None
    try:
        return [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {value!r}") from None


def device_options(func):
    options = [
        click.option("--device", default="auto", show_default=True,
                     help="auto (CUDA when present), cpu, cuda or cuda:N."),
        click.option("--amp/--no-amp", default=None,
                     help="Mixed precision (default: on with CUDA; never on CPU)."),
        click.option("--batching", type=click.Choice(["auto", "full", "mini"]), default="auto",
                     show_default=True,
                     help="Whole graph per step, neighbour-sampled mini-batches, or full when it fits."),
        click.option("--batch-size", type=click.IntRange(min=1), default=512, show_default=True,
                     help="Seed nodes (train) or edges (embed) per mini-batch."),
        click.option("--fanouts", default="25,10", show_default=True, callback=_parse_ints,
                     help="Neighbours sampled per hop in mini-batches (-1: all)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.group()
def gnn():
    """Graph neural networks on CPU or CUDA (graphembed-gnn plugin).

    \b
    graphembed gnn train cora --model gcn --data DIR --json
    graphembed gnn train edges.csv --labels labels.csv --model grand
    graphembed gnn embed edges.csv --features fastrp --dim 128 -o emb.parquet
    """


@gnn.command()
@graph_input_options
@click.option("--labels", "labels_file", type=click.Path(dir_okay=False), default=None,
              help="node,label file (needed unless INPUT is cora, citeseer or pubmed).")
@click.option("--data", "data_dir", type=click.Path(file_okay=False), default=None,
              help="Directory of the Planetoid ind.* files (default: $GRAPHEMBED_DATA).")
@click.option("--model", type=click.Choice(MODELS), default="gcn", show_default=True)
@click.option("--features", default=None,
              help="fastrp, orbits, degree or an embedding file (default: the dataset's own "
                   "features for Planetoid, else fastrp).")
@click.option("--feature-dim", type=click.IntRange(min=1), default=64, show_default=True,
              help="Dimension of --features fastrp.")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Default: the model's paper.")
@click.option("--hidden", type=click.IntRange(min=1), default=None, help="Hidden width (per head for GAT).")
@click.option("--layers", type=click.IntRange(min=1), default=None, help="GCN/SAGE/GAT layers.")
@click.option("--heads", type=click.IntRange(min=1), default=None, help="GAT/GRAND attention heads.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=None)
@click.option("--weight-decay", type=click.FloatRange(min=0), default=None)
@click.option("--dropout", type=click.FloatRange(0, 1, max_open=True), default=None)
@click.option("--input-dropout", type=click.FloatRange(0, 1, max_open=True), default=None)
@click.option("--patience", type=click.IntRange(min=1), default=None,
              help="Stop after this many epochs without validation improvement.")
@click.option("--time", "diffusion_time", type=click.FloatRange(min=0, min_open=True), default=None,
              help="GRAND: diffusion time T.")
@click.option("--solver", type=click.Choice(["euler", "rk4", "dopri5"]), default=None,
              help="GRAND: ODE solver (default dopri5).")
@click.option("--step-size", type=click.FloatRange(min=0, min_open=True), default=None,
              help="GRAND: step of euler/rk4 (first step of dopri5).")
@click.option("--train-ratio", type=float, default=0.6, show_default=True,
              help="Share of labelled nodes for training (not for Planetoid's public split).")
@click.option("--val-ratio", type=float, default=0.2, show_default=True)
@device_options
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write node,label,predicted,split as CSV.")
@seed_option(0)
@threads_option("torch CPU threads.")
@report_options("No progress output.", "Print one JSON summary on stdout.")
@pass_options
def train(opts):
    """Node classification with GCN, GraphSAGE, GAT or GRAND.

    INPUT is a graph file with --labels, or cora / citeseer / pubmed (public Planetoid split,
    files from --data or $GRAPHEMBED_DATA). Prints the test accuracy of the model at the epoch
    of best validation accuracy.
    """
    from graphembed_gnn.commands import run_train

    run_train(opts)


@gnn.command()
@embedding_command
@click.option("--model", type=click.Choice(["sage"]), default="sage", show_default=True,
              help="Unsupervised GraphSAGE (link-prediction loss with negative sampling).")
@click.option("--features", default="fastrp", show_default=True,
              help="Input features: fastrp, orbits, degree or an embedding file.")
@click.option("--feature-dim", type=click.IntRange(min=1), default=64, show_default=True)
@click.option("--dim", type=click.IntRange(min=1), default=128, show_default=True)
@click.option("--hidden", type=click.IntRange(min=1), default=None, help="Default: --dim.")
@click.option("--layers", type=click.IntRange(min=1), default=2, show_default=True)
@click.option("--epochs", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=0.01, show_default=True)
@click.option("--negatives", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--normalize", is_flag=True, help="L2-normalise the vectors.")
@device_options
@pass_options
def embed(opts):
    """Unsupervised GraphSAGE node embeddings (Hamilton et al. 2017)."""
    from graphembed_gnn.commands import run_embed

    run_embed(opts)
