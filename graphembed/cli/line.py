"""``graphembed line``: LINE embeddings (first/second order, edge sampling)."""
import functools

import click

from graphembed import params
from graphembed._limits import MAX_SAMPLES
from graphembed.cli.common import THREADS_HOGWILD, embedding_command, pass_options, run_embedding
from graphembed.cli.options import count_callback, estimator_options, parse_count as _parse_count

# Edge samples: the one count parser (graphembed.cli.options.parse_count) bounded by MAX_SAMPLES.
parse_count = functools.partial(_parse_count, upper=MAX_SAMPLES, what="number of samples")


@click.command()
@embedding_command(threads_help=THREADS_HOGWILD)
@estimator_options(params.LINE, ("order", "dim"))
@click.option("--samples", default="auto", show_default=True, callback=count_callback(MAX_SAMPLES, "number of samples"),
              help="Edge samples per order, e.g. 100M, 1.5M, 100000; auto = 100 x stored edges "
                   "(an undirected edge counts twice), at least 1M.")
@estimator_options(params.LINE, ("negative", "learning_rate"))
@pass_options
def line(opts):
    """LINE embeddings (Tang et al., WWW 2015): edge sampling + negative sampling SGD.

    Hogwild over --threads; with --threads 1 and --seed the output is bit-identical, with more
    threads the quality (not the bits) is reproducible.

    \b
    graphembed line datasets/karate.csv -o karate.parquet --order both --dim 16 --samples 1M --seed 0
    """
    from graphembed.embed.line import LINE

    order = opts["order"] if opts["order"] == "both" else int(opts["order"])
    run_embedding(opts, lambda: LINE(
        order=order, dim=opts["dim"], n_samples=opts["samples"], negative=opts["negative"],
        learning_rate=opts["learning_rate"], random_state=opts["seed"], n_jobs=opts["threads"],
        verbose=not opts["quiet"] and not opts["as_json"],
    ))
