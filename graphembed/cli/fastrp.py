"""``graphembed fastrp``: FastRP embeddings."""
import os

import click

from graphembed import params
from graphembed.cli.common import embedding_command, pass_options, require, run_embedding
from graphembed.cli.options import estimator_kwargs, estimator_options

FLAGS = ("dim", "iteration_weights", "normalization_strength", "node_self_influence", "propagation",
         "density")


@click.command()
@embedding_command
@estimator_options(params.FASTRP, FLAGS, help={
    "iteration_weights": "Comma-separated weight per propagation step; their count is the number of steps.",
    "normalization_strength": "Degree exponent beta for the initial vectors (paper: -0.628 on BlogCatalog).",
})
@click.option("--scheduler", default=None, metavar="local:N|tcp://HOST:PORT",
              help="Run on Dask (pip install 'graphembed[dask]'): local:N starts N single-thread worker "
                   "processes, tcp://... joins a running cluster. Bit-identical to the local run; "
                   "INPUT may be a directory or glob of edge files; -o DIR/ writes one Parquet file per row block.")
@pass_options
def fastrp(opts):
    """FastRP embeddings (Chen et al., CIKM 2019).

    \b
    graphembed fastrp datasets/karate.csv -o karate.parquet --dim 64 --seed 0
    graphembed fastrp edges/ -o emb/ --dim 128 --scheduler local:4
    """
    from graphembed.embed.fastrp import FastRP

    scheduler = opts.pop("scheduler")

    def make():
        return FastRP(**estimator_kwargs(opts, FLAGS), random_state=opts["seed"], n_jobs=opts["threads"],
                      verbose=not opts["quiet"] and not opts["as_json"])

    if scheduler is not None:
        from graphembed.distributed.scheduler import check_scheduler

        check_scheduler(scheduler)  # a bad value fails before dask is looked for
        require("dask", "distributed", command="fastrp --scheduler")
        from graphembed.distributed.cli import run_fastrp

        return run_fastrp(opts, make, scheduler)
    if opts["output"] is not None and opts["output"].endswith(("/", os.sep)):
        from graphembed.io.errors import InputError

        raise InputError(f"{opts['output']}: a directory of Parquet parts is written with --scheduler; "
                         "name an embedding file (.parquet, .npz, ...) or add --scheduler local:N")
    run_embedding(opts, make)


# With --scheduler, INPUT may be a directory of edge files and -o DIR/ a directory of Parquet
# parts; without it, the reader and the writer say that a directory is not a file.
for _param in fastrp.params:
    if _param.name in ("input", "output"):
        _param.type = click.Path()
