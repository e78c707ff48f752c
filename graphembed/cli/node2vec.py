"""``graphembed node2vec``, ``graphembed deepwalk`` and ``graphembed walks``."""
import click

from graphembed import params
from graphembed.cli.common import (
    THREADS_HOGWILD,
    embedding_command,
    graph_input_options,
    load_graph,
    pass_options,
    read_part,
    report,
    require,
    run_embedding,
)
from graphembed.cli.options import estimator_kwargs, estimator_options, report_options, seed_option, threads_option
from graphembed.distributed.cli import check_scheduler_option, scheduler_option

WALK_FLAGS = ("walks_per_node", "walk_length")
BIAS_FLAGS = ("p", "q")
SKIPGRAM_FLAGS = ("dim", "window", "epochs", "negative", "min_count")
_walk_options = estimator_options(params.NODE2VEC, WALK_FLAGS + BIAS_FLAGS, help={
    "p": "Return parameter (p < 1: step back more often).",
    "q": "In-out parameter (q < 1: outward, DFS-like).",
})
_unbiased_walk_options = estimator_options(params.NODE2VEC, WALK_FLAGS)
_skipgram_options = estimator_options(params.NODE2VEC, SKIPGRAM_FLAGS)


def _fit_kwargs(opts, command):
    """``{"scheduler": ...}`` for Node2Vec.fit when --scheduler is given (checked first), else None."""
    scheduler = opts.pop("scheduler", None)
    if scheduler is None:
        return None
    check_scheduler_option(scheduler, command)
    return {"scheduler": scheduler}


def _estimator_kwargs(opts):
    return dict(**estimator_kwargs(opts, SKIPGRAM_FLAGS + WALK_FLAGS), random_state=opts["seed"],
                n_jobs=opts["threads"], verbose=not opts["quiet"] and not opts["as_json"])


@click.command()
@embedding_command(threads_help=THREADS_HOGWILD)
@_skipgram_options
@_walk_options
@scheduler_option("The walks on the workers (identical), skip-gram here on their shards (gensim has no "
                  "distributed mode; bit-reproducible with --threads 1 as the local file route).")
@pass_options
def node2vec(opts):
    """node2vec embeddings (Grover & Leskovec, KDD 2016): biased walks + skip-gram (gensim).

    The walks are identical for any --threads; the vectors are bit-reproducible with
    --threads 1 and --seed.

    \b
    graphembed node2vec datasets/karate.csv -o karate.parquet --p 0.25 --q 0.25 --seed 0
    """
    require("gensim")  # the skip-gram: fail before the walks
    from graphembed.embed.node2vec import Node2Vec

    run_embedding(opts, lambda: Node2Vec(p=opts["p"], q=opts["q"], **_estimator_kwargs(opts)), _fit_kwargs(opts, "node2vec"))


@click.command()
@embedding_command(threads_help=THREADS_HOGWILD)
@_skipgram_options
@_unbiased_walk_options
@scheduler_option("The walks on the workers (identical), skip-gram here on their shards (gensim has no "
                  "distributed mode).")
@pass_options
def deepwalk(opts):
    """DeepWalk embeddings (Perozzi et al., KDD 2014): node2vec with p = q = 1.

    \b
    graphembed deepwalk datasets/karate.csv -o karate.w2v --seed 0
    """
    require("gensim")
    from graphembed.embed.node2vec import DeepWalk

    run_embedding(opts, lambda: DeepWalk(**_estimator_kwargs(opts)), _fit_kwargs(opts, "node2vec"))


@click.command()
@graph_input_options
@click.option("-o", "--output", required=True, type=click.Path(),
              help="Text file: one walk per line, original node ids separated by spaces "
                   "(with --scheduler, DIR/ writes one shard file per task).")
@_walk_options
@seed_option()
@threads_option("Threads (default: all cores). The walks do not depend on it.")
@report_options()
@scheduler_option("Identical walks; INPUT may be a directory or glob of edge files; -o DIR/ writes the walks as "
                  "shards part-*.txt (in name order: the local file).")
@pass_options
def walks(opts):
    """node2vec random walks alone (p = q = 1: DeepWalk walks), one per line, original ids.

    A walk that reaches a node without out-edges stops there (shorter line).

    \b
    graphembed walks datasets/karate.csv -o walks.txt --walk-length 20 --seed 0
    graphembed walks edges/ -o walks/ --seed 0 --scheduler local:4
    """
    import os
    import time

    from graphembed.embed.node2vec import Node2Vec

    scheduler = opts.pop("scheduler")
    est = Node2Vec(walks_per_node=opts["walks_per_node"], walk_length=opts["walk_length"],
                   p=opts["p"], q=opts["q"], random_state=opts["seed"], n_jobs=opts["threads"],
                   verbose=not opts["quiet"] and not opts["as_json"])
    if scheduler is not None:
        check_scheduler_option(scheduler, "walks")
        from graphembed.distributed.cli import run_walks

        return run_walks(opts, est, scheduler)
    if opts["output"].endswith(("/", os.sep)) or os.path.isdir(opts["output"]):
        from graphembed.io.errors import InputError

        raise InputError(f"{opts['output']}: is a directory; walk shards are written with --scheduler "
                         "local:N; name a text file")
    t0 = time.perf_counter()
    graph = load_graph(opts)
    t_read = time.perf_counter() - t0
    count = est.save_walks(graph, opts["output"])
    t_walk = time.perf_counter() - t0 - t_read
    summary = {"output": opts["output"], "walks": count, "walk_length": opts["walk_length"],
               "nodes": graph.n_nodes, "p": opts["p"], "q": opts["q"], "seed": opts["seed"],
               "read_seconds": round(t_read, 3), "walk_seconds": round(t_walk, 3)}
    report(summary, opts, f"wrote {count} walks of up to {opts['walk_length']} nodes to "
                          f"{opts['output']} ({read_part(graph, t_read)}, walks {t_walk:.2f} s)")


# With --scheduler, INPUT may be a directory or glob of edge files (as for fastrp).
for _param in walks.params:
    if _param.name == "input":
        _param.type = click.Path()
