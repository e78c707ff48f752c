"""``graphembed fastrp``: FastRP embeddings."""
import click

from graphembed import params
from graphembed.cli.common import embedding_command, pass_options, run_embedding
from graphembed.cli.options import estimator_kwargs, estimator_options

FLAGS = ("dim", "iteration_weights", "normalization_strength", "node_self_influence", "propagation",
         "density")


@click.command()
@embedding_command
@estimator_options(params.FASTRP, FLAGS, help={
    "iteration_weights": "Comma-separated weight per propagation step; their count is the number of steps.",
    "normalization_strength": "Degree exponent beta for the initial vectors (paper: -0.628 on BlogCatalog).",
})
@pass_options
def fastrp(opts):
    """FastRP embeddings (Chen et al., CIKM 2019).

    \b
    graphembed fastrp datasets/karate.csv -o karate.parquet --dim 64 --seed 0
    """
    from graphembed.embed.fastrp import FastRP

    run_embedding(opts, lambda: FastRP(
        **estimator_kwargs(opts, FLAGS), random_state=opts["seed"], n_jobs=opts["threads"],
        verbose=not opts["quiet"] and not opts["as_json"],
    ))
