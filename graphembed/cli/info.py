"""``graphembed info``: what a graph file holds."""
import click

from graphembed.cli.common import graph_input_options, load_graph, pass_options
from graphembed.cli.options import json_option


@click.command()
@graph_input_options
@json_option("Print one JSON document on stdout.")
@pass_options
def info(opts):
    """Nodes, edges, directed?, weighted?, degree statistics, what loading dropped.

    \b
    graphembed info datasets/karate.csv
    """
    import json

    summary = load_graph(opts).summary()
    if opts["as_json"]:
        click.echo(json.dumps(summary))
        return
    width = max(len(k) for k in summary)
    for key, value in summary.items():
        shown = f"{value:.3f}" if isinstance(value, float) else value
        click.echo(f"{key.replace('_', ' '):<{width}}  {shown}")
