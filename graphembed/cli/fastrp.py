"""``graphembed fastrp``: FastRP embeddings."""
import click

from graphembed.cli.common import embedding_command, parse_float_list, pass_options, run_embedding


@click.command()
@embedding_command
@click.option("--dim", type=click.IntRange(min=1), default=128, show_default=True)
@click.option("--iteration-weights", default="0,1,1", show_default=True, callback=parse_float_list,
              help="Comma-separated weight per propagation step; their count is the number of steps.")
@click.option("--normalization-strength", type=float, default=0.0, show_default=True,
              help="Degree exponent beta for the initial vectors (paper: -0.628 on BlogCatalog).")
@click.option("--node-self-influence", type=float, default=0.0, show_default=True)
@click.option("--propagation", type=click.Choice(["transition", "adjacency"]), default="transition",
              show_default=True, help="Propagate with D^-1 A or with A.")
@click.option("--density", default="auto", show_default=True,
              help="Share of non-zeros in the random projection, or 'auto' (1/sqrt(n)).")
@pass_options
def fastrp(opts):
    """FastRP embeddings (Chen et al., CIKM 2019).

    \b
    graphembed fastrp datasets/karate.csv -o karate.parquet --dim 64 --seed 0
    """
    from graphembed.embed.fastrp import FastRP

    density = opts["density"]
    if density != "auto":
        try:
            density = float(density)
        except ValueError:
            raise click.BadParameter(f"expected 'auto' or a number, got {density!r}",
                                     param_hint="--density") from None
    run_embedding(opts, lambda: FastRP(
        dim=opts["dim"], iteration_weights=opts["iteration_weights"],
        normalization_strength=opts["normalization_strength"],
        node_self_influence=opts["node_self_influence"], propagation=opts["propagation"],
        density=density, random_state=opts["seed"], n_jobs=opts["threads"],
        verbose=not opts["quiet"] and not opts["as_json"],
    ))
