"""``graphembed roles``: ReFeX recursive structural features and RolX roles."""
import click

from graphembed import params
from graphembed.cli.common import embedding_command, pass_options, run_embedding
from graphembed.cli.options import estimator_kwargs, estimator_options

FLAGS = ("n_rounds", "orbits", "bin_fraction", "prune_tolerance", "values", "n_roles")


def _aggregators(ctx, param, value):
    """'mean,sum' -> ("mean", "sum"); the estimator checks the names."""
    return tuple(x.strip() for x in str(value).split(",")) if value is not None else value


@click.command()
@embedding_command
@click.option("--aggregators", default=",".join(params.ROLES["aggregators"].default), show_default=True,
              callback=_aggregators, help="Comma-separated neighbour aggregations per round: mean, sum.")
@estimator_options(params.ROLES, FLAGS, help={
    "n_rounds": "Most recursive rounds of neighbour aggregation (stops early when a round adds no column).",
    "values": "Embedding values: binned (the log-bin numbers, as ReFeX), raw or log (log(1 + raw)).",
})
@pass_options
def roles(opts):
    """ReFeX recursive structural features (Henderson et al., KDD 2011); with --roles, RolX
    soft roles (KDD 2012).

    \b
    graphembed roles datasets/karate.csv -o karate_roles.parquet
    graphembed roles datasets/karate.csv -o karate_rolx.parquet --roles 4 --seed 0
    """
    from graphembed.embed.roles import RoleFeatures

    run_embedding(opts, lambda: RoleFeatures(
        **estimator_kwargs(opts, FLAGS), aggregators=opts["aggregators"], random_state=opts["seed"],
        n_jobs=opts["threads"], verbose=not opts["quiet"] and not opts["as_json"],
    ))
