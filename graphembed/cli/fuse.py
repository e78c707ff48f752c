"""``graphembed fuse``: several embedding files of the same nodes, standardised, weighted and
concatenated into one (:class:`graphembed.embed.fuse.Concat`)."""
import time

import click

from graphembed import params
from graphembed.cli.common import parse_float_list, pass_options, report
from graphembed.cli.options import estimator_options, output_options, report_options, seed_option

FLAGS = ("weights", "scaling", "join")
SCORINGS = ("macro_f1", "micro_f1")  # graphembed.embed.fuse.SCORINGS (not imported: numpy-free CLI)


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@output_options(help="Fused embedding file (.parquet, .csv, .tsv, .npz, .w2v).")
@estimator_options(params.FUSE, FLAGS, help={
    "weights": "Comma-separated weight per input, in input order (default: 1 each).",
    "join": "exact: every input must have the same nodes (else exit 2); inner: keep the nodes "
            "every input has and say how many were dropped.",
})
@click.option("--select-weights", is_flag=True,
              help="Choose the weights from --grid by cross-validated node classification on --labels.")
@click.option("--labels", "labels_path", type=click.Path(dir_okay=False), default=None,
              help="Labels for --select-weights, as 'graphembed classify' reads them (node,label rows "
                   "or a .mat group). Give the training nodes only: every labelled node is used.")
@click.option("--grid", callback=parse_float_list, default="0,0.25,0.5,1,2", show_default=True,
              help="Candidate weights of each input for --select-weights.")
@click.option("--folds", type=click.IntRange(min=2), default=5, show_default=True,
              help="Cross-validation folds for --select-weights.")
@click.option("--scoring", type=click.Choice(SCORINGS), default="macro_f1", show_default=True,
              help="Score maximised by --select-weights (micro_f1 is the accuracy for single-label data).")
@click.option("--C", "C", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="Inverse regularisation of the logistic regression of --select-weights.")
@seed_option(0, "Seed of the cross-validation folds.")
@report_options()
@pass_options
def fuse(opts):
    """Concatenate embedding files of the same nodes, block by block.

    Rows are matched by node id (the first input's order). With --scaling standard (the
    default) every column is scaled to zero mean and unit variance and each input's block to
    unit total variance (--scaling columns: the columns only), then multiplied by its weight. --select-weights picks the weights by
    cross-validated logistic regression on the labelled nodes (pass the training labels only).

    \b
    graphembed fuse a.parquet b.parquet -o fused.parquet --weights 1,0.5
    graphembed fuse a.parquet b.parquet -o fused.parquet --select-weights --labels train_labels.csv
    """
    from graphembed.io.errors import InputError

    inputs = list(opts["inputs"])
    output, output_format = opts["output"], opts["output_format"]
    weights = opts["weights"]
    if len(inputs) < 2:
        raise InputError(f"fuse needs at least two embedding files, got {len(inputs)}")
    if weights is not None and len(weights) != len(inputs):
        raise InputError(f"--weights has {len(weights)} value{'s' if len(weights) != 1 else ''} for "
                         f"{len(inputs)} inputs; give one weight per input")
    if opts["select_weights"]:
        if not opts["labels_path"]:
            raise InputError("--select-weights needs --labels")
        if weights is not None:
            raise InputError("give either --weights or --select-weights, not both")
    elif opts["labels_path"]:
        raise InputError("--labels is only used with --select-weights")
    fmt = _check_output(output, output_format)

    from graphembed.embed.fuse import AlignmentError, Concat
    from graphembed.embedding import Embedding

    t0 = time.perf_counter()
    embeddings = [Embedding.load(path) for path in inputs]
    t_read = time.perf_counter() - t0
    concat = Concat(list(zip(inputs, embeddings)), weights=weights, scaling=opts["scaling"],
                    join=opts["join"])
    try:
        concat.fit()
    except AlignmentError as exc:
        raise InputError(f"{exc.block}: {exc.missing} of the {exc.total} node ids of the inputs are "
                         f"missing (e.g. {', '.join(map(repr, exc.examples))}); --join inner keeps only "
                         "the nodes every input has") from None
    if concat.dropped_ and not opts["quiet"]:
        click.echo(f"graphembed: dropped {concat.dropped_} node ids that are not in every input "
                   f"(--join inner); {len(concat.embedding_)} remain", err=True)
    selection = None
    if opts["select_weights"]:
        from graphembed.io.nodes import read_labels

        labels = read_labels(opts["labels_path"], concat.embedding_.node_ids)
        concat.select_weights(labels, grid=opts["grid"], cv=opts["folds"], scoring=opts["scoring"],
                              C=opts["C"], random_state=opts["seed"])
        selection = {k: v for k, v in concat.selection_.items() if k != "node_ids"}
        selection["labels"] = opts["labels_path"]
        selection["table"] = concat.cv_results_
    t_fuse = time.perf_counter() - t0 - t_read
    emb = concat.transform()
    emb.save(output, fmt)
    blocks = [{"input": path, "method": e.method, "dim": e.dim, "columns": [b.start, b.stop]}
              for path, e, b in zip(inputs, embeddings, concat.blocks_)]
    summary = {"output": output, "format": fmt, "method": emb.method, "nodes": len(emb),
               "dim": emb.dim, "inputs": blocks, "weights": concat.weights_, "scaling": opts["scaling"],
               "join": opts["join"], "dropped": concat.dropped_, "selection": selection,
               "read_seconds": round(t_read, 3), "fuse_seconds": round(t_fuse, 3)}
    shown = ", ".join(f"{w:g}" for w in concat.weights_)
    line = f"wrote {len(emb)} x {emb.dim} fused embedding of {len(inputs)} inputs to {output} (weights {shown}"
    if selection is not None:
        line += (f" chosen by {selection['folds']}-fold CV on {selection['nodes']} labelled nodes, "
                 f"{selection['scoring']} {selection['score']:.4f}")
    report(summary, opts, f"{line}; read {t_read:.2f} s, fuse {t_fuse:.2f} s)")


def _check_output(output, output_format):
    """The output format, checked (with the output's directory) before any work, as
    :func:`graphembed.cli.common.run_embedding` does."""
    from graphembed.cli.common import command_name, require
    from graphembed.io.atomic import check_writable
    from graphembed.io.embedding_files import embedding_format

    fmt = embedding_format(output, output_format)
    if fmt == "w2v-binary":
        require("gensim", command=f"{command_name()} -o {output}")
    check_writable(output)
    return fmt
