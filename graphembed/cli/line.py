"""``graphembed line``: LINE embeddings (first/second order, edge sampling)."""
import re

import click

from graphembed._limits import MAX_SAMPLES
from graphembed.cli.common import THREADS_HOGWILD, embedding_command, pass_options, run_embedding
from graphembed.cli.options import estimator_options
from graphembed import params

_SUFFIX = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9, "G": 10**9, "T": 10**12}
_COUNT = re.compile(r"^\s*(\d+(?:\.\d*)?(?:[eE]\d+)?|\.\d+)\s*([kKmMbBgGtT]?)\s*$")


def parse_count(text):
    """'100M' -> 100_000_000, '1.5M' -> 1_500_000, '100000', '1e6', '20k'; None for None/'auto'.

    Raises ValueError for anything else, or a count that is not a positive whole number.
    """
    if text is None or str(text).strip().lower() in ("", "auto"):
        return None
    match = _COUNT.match(str(text))
    if not match:
        raise ValueError(f"expected a count such as 100M, 1.5M or 100000, got {text!r}")
    number, suffix = match.groups()
    value = float(number) * _SUFFIX[suffix.upper()]
    if value < 1 or value != int(value):
        raise ValueError(f"expected a positive whole number of samples, got {text!r}")
    if value > MAX_SAMPLES:
        raise ValueError(f"at most {MAX_SAMPLES:.0e} samples, got {text!r}")
    return int(value)


def _samples_callback(ctx, param, value):
    try:
        return parse_count(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command()
@embedding_command(threads_help=THREADS_HOGWILD)
@estimator_options(params.LINE, ("order", "dim"))
@click.option("--samples", default="auto", show_default=True, callback=_samples_callback,
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
