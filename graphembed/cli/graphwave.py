"""``graphembed graphwave``: GraphWave structural embeddings (heat wavelets, characteristic functions)."""
import click

from graphembed import params
from graphembed.cli.common import graph_input_options, pass_options, run_embedding
from graphembed.cli.options import (
    THREADS_EXACT,
    estimator_kwargs,
    estimator_options,
    index_option,
    output_options,
    report_options,
    threads_option,
)

FLAGS = ("scales", "n_scales", "order", "n_points", "t_max", "laplacian")


@click.command()
@graph_input_options
@output_options()
@estimator_options(params.GRAPHWAVE, FLAGS, help={
    "scales": "Comma-separated heat scales s, e.g. 1,5,10 (default: --n-scales automatic scales).",
    "order": "Chebyshev degree of exp(-s L), or auto (the truncation error moves no "
             "characteristic-function value by more than 1e-8).",
})
@threads_option(THREADS_EXACT)
@report_options()
@index_option()
@pass_options
def graphwave(opts):
    """GraphWave structural embeddings (Donnat et al., KDD 2018): deterministic, no seed.

    \b
    graphembed graphwave datasets/karate.csv -o karate_gw.parquet
    graphembed graphwave datasets/karate.csv -o karate_gw.parquet --scales 1,5 --points 25
    """
    from graphembed.embed.graphwave import GraphWave

    run_embedding(opts, lambda: GraphWave(
        **estimator_kwargs(opts, FLAGS), n_jobs=opts["threads"],
        verbose=not opts["quiet"] and not opts["as_json"],
    ))
