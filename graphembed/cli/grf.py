"""``graphembed grf``: graph random features (walk-based unbiased graph-kernel estimates)."""
import time

import click

from graphembed.cli.common import (EMBEDDING_FORMATS, graph_input_options, load_graph,
                                   parse_float_list, pass_options, read_part, report,
                                   run_reporting_errors)

KERNEL_CHOICES = ["diffusion", "exp", "inverse", "inverse2", "regularized-laplacian", "random-walk"]


@click.command()
@graph_input_options
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Embedding file (.parquet, .csv, .tsv, .npz, .w2v); optional with --features-out.")
@click.option("--format", "output_format", type=click.Choice(EMBEDDING_FORMATS),
              help="Embedding format (default: from the output extension).")
@click.option("--kernel", type=click.Choice(KERNEL_CHOICES), default="diffusion", show_default=True,
              help="Kernel: exp(-beta L), exp(beta W), (I-W)^-1, (I-W)^-2, (I+W)^power.")
@click.option("--alpha", default=None, callback=parse_float_list,
              help="Comma-separated coefficients alpha_0,alpha_1,... of a custom kernel sum_k alpha_k W^k "
                   "(replaces --kernel).")
@click.option("--beta", type=float, default=1.0, show_default=True, help="Scale of the exp / diffusion kernel.")
@click.option("--sigma2", type=float, default=None,
              help="W = sigma2 D^-1/2 A D^-1/2 (default 0.5 for inverse kernels, else 1).")
@click.option("--power", type=click.IntRange(min=1), default=2, show_default=True,
              help="Steps of the random-walk kernel.")
@click.option("--walks", type=click.IntRange(min=1), default=64, show_default=True,
              help="Walks per node and walk set (error ~ 1/sqrt(walks)).")
@click.option("--p-halt", type=float, default=0.5, show_default=True, help="Halting probability per step.")
@click.option("--max-length", type=click.IntRange(min=0), default=None,
              help="Cap on the walk length (default: from the series and --tol).")
@click.option("--tol", type=float, default=1e-6, show_default=True, help="Relative truncation bias allowed.")
@click.option("--unnormalized", is_flag=True, help="Use W = sigma2 A instead of the normalised adjacency.")
@click.option("--single-set", is_flag=True,
              help="One walk set (Phi Phi^T: cheaper, diagonal biased upwards) instead of two.")
@click.option("--dim", type=click.IntRange(min=1), default=128, show_default=True,
              help="Columns of the dense embedding (sparse random projection of the features).")
@click.option("--features-out", type=click.Path(dir_okay=False), default=None,
              help="Write the sparse features Phi1 (n x n CSR, scipy.sparse.save_npz) here.")
@click.option("--features2-out", type=click.Path(dir_okay=False), default=None,
              help="Write the second walk set's features Phi2 here (K ~ Phi1 Phi2^T).")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Random seed.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Threads (default: all cores). Results do not depend on it.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary on stdout.")
@click.option("--index", "index_path", type=click.Path(file_okay=False), default=None,
              help="Also build a nearest-neighbour index directory from the embedding (needs -o).")
@pass_options
def grf(opts):
    """Graph random features: unbiased walk estimates of graph kernels (Choromanski 2023; Reid et al. 2024).

    \b
    graphembed grf datasets/karate.csv -o karate.parquet --kernel diffusion --walks 64 --dim 32 --seed 0
    graphembed grf datasets/karate.csv --kernel inverse --sigma2 0.5 --features-out phi.npz
    """
    run_reporting_errors(lambda: _run(opts))


def _run(opts):
    from graphembed.io.errors import InputError

    if opts["output"] is None and opts["features_out"] is None:
        raise InputError("nothing to write: give -o/--output (embedding) and/or --features-out (sparse features)")
    if opts["index_path"] and opts["output"] is None:
        raise InputError("--index needs -o/--output")
    if opts["features2_out"] and opts["single_set"]:
        raise InputError("--features2-out needs two walk sets (drop --single-set)")
    fmt = None
    if opts["output"] is not None:
        from graphembed.io.embedding_files import embedding_format

        fmt = embedding_format(opts["output"], opts["output_format"])  # fail before the work
    from graphembed.embed.grf import GraphRandomFeatures

    t0 = time.perf_counter()
    graph = load_graph(opts)
    t_read = time.perf_counter() - t0
    est = GraphRandomFeatures(
        kernel=opts["alpha"] if opts["alpha"] else opts["kernel"], beta=opts["beta"], sigma2=opts["sigma2"],
        power=opts["power"], n_walks=opts["walks"], p_halt=opts["p_halt"], normalize=not opts["unnormalized"],
        independent=not opts["single_set"], max_length=opts["max_length"], tol=opts["tol"], dim=opts["dim"],
        random_state=opts["seed"], n_jobs=opts["threads"], verbose=not opts["quiet"] and not opts["as_json"],
    ).fit(graph)
    emb = est.transform() if opts["output"] is not None else None
    t_fit = time.perf_counter() - t0 - t_read
    for key, matrix in (("features_out", est.features_), ("features2_out", est.features2_)):
        if opts[key]:
            _save_npz(opts[key], matrix)
    if emb is not None:
        emb.save(opts["output"], fmt)
        if opts["index_path"]:
            from graphembed.index import build_and_save

            build_and_save(emb, opts["index_path"])
    summary = {
        "output": opts["output"], "format": fmt, "features_out": opts["features_out"],
        "features2_out": opts["features2_out"], "method": "grf", "nodes": graph.n_nodes,
        "dim": emb.dim if emb is not None else None, "features_nnz": int(est.features_.nnz),
        "max_length": est.max_length_, "truncation_bound": est.truncation_bound_,
        "read_seconds": round(t_read, 3), "embed_seconds": round(t_fit, 3),
        "params": est._public_params(), "index": opts["index_path"],
    }
    written = " and ".join(x for x in (opts["output"], opts["features_out"]) if x)
    report(summary, opts, f"wrote grf ({est.kernel_}, {opts['walks']} walks, {est.features_.nnz} feature "
                          f"non-zeros) to {written} ({read_part(graph, t_read)}, features {t_fit:.2f} s)")


def _save_npz(path, matrix):
    """scipy.sparse.save_npz written atomically (a file handle: save_npz would append .npz)."""
    import scipy.sparse as sp

    from graphembed.io.atomic import atomic_path

    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        sp.save_npz(fh, matrix)
