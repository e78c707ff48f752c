"""``graphembed grf``: graph random features (walk-based unbiased graph-kernel estimates)."""
import click

from graphembed import params
from graphembed.cli.common import (
    graph_input_options,
    parse_float_list,
    pass_options,
    run_embedding,
    run_reporting_errors,
)
from graphembed.cli.options import (
    THREADS_EXACT,
    estimator_kwargs,
    estimator_options,
    index_option,
    output_options,
    report_options,
    seed_option,
    threads_option,
)
from graphembed.distributed.cli import check_scheduler_option, scheduler_option

# Table entries (params.GRF) with a typed flag of their own; ``kernel`` also takes --alpha, and
# ``normalize`` / ``independent`` are the switches --unnormalized / --single-set (below).
FLAGS = ("beta", "sigma2", "power", "n_walks", "p_halt", "max_length", "tol", "dim", "projection_nnz",
         "modulation")
SWITCHES = ("normalize", "independent")


@click.command()
@graph_input_options
@output_options(required=False, help="Embedding file (.parquet, .csv, .tsv, .npz, .w2v); optional with "
                                     "--features-out.")
@estimator_options(params.GRF, ("kernel",), help={
    "kernel": "Kernel: exp(-beta L), exp(beta W), (I-W)^-1, (I-W)^-2, (I+W)^power.",
})
@click.option("--alpha", default=None, callback=parse_float_list,
              help="Comma-separated coefficients alpha_0,alpha_1,... of a custom kernel sum_k alpha_k W^k "
                   "(replaces --kernel).")
@estimator_options(params.GRF, ("beta", "sigma2", "power", "n_walks", "p_halt", "max_length", "tol"), help={
    "sigma2": "W = sigma2 D^-1/2 A D^-1/2 (default 0.5 for inverse kernels, else 1).",
    "n_walks": "Walks per node and walk set (error ~ 1/sqrt(walks)).",
    "max_length": "Cap on the walk length (default: from the series and --tol).",
})
@click.option("--unnormalized", "normalize", flag_value=False, default=params.GRF["normalize"].default,
              help="Use W = sigma2 A instead of the normalised adjacency (normalize=False).")
@click.option("--single-set", "independent", flag_value=False, default=params.GRF["independent"].default,
              help="One walk set (Phi Phi^T: cheaper, diagonal biased upwards) instead of two "
                   "(independent=False).")
@estimator_options(params.GRF, ("dim", "projection_nnz", "modulation"), help={
    "dim": "Columns of the dense embedding (sparse random projection of the features).",
    "modulation": "Comma-separated explicit modulation f_0,f_1,... (caps the walk length at its length - 1).",
})
@click.option("--features-out", type=click.Path(dir_okay=False), default=None,
              help="Write the sparse features Phi1 (n x n CSR, scipy.sparse.save_npz) here.")
@click.option("--features2-out", type=click.Path(dir_okay=False), default=None,
              help="Write the second walk set's features Phi2 here (K ~ Phi1 Phi2^T).")
@seed_option()
@threads_option(THREADS_EXACT)
@report_options()
@index_option("Also build a nearest-neighbour index directory from the embedding (needs -o).")
@scheduler_option("The walks by node ranges on the workers (the graph is read here); bit-identical features.")
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
    if opts["features2_out"] and not opts["independent"]:
        raise InputError("--features2-out needs two walk sets (drop --single-set)")

    def make_estimator():
        from graphembed.embed.grf import GraphRandomFeatures

        return GraphRandomFeatures(
            kernel=opts["alpha"] if opts["alpha"] else opts["kernel"],
            **estimator_kwargs(opts, FLAGS + SWITCHES), random_state=opts["seed"], n_jobs=opts["threads"],
            verbose=not opts["quiet"] and not opts["as_json"])

    def write_features(est, emb, summary):
        for key, matrix in (("features_out", est.features_), ("features2_out", est.features2_)):
            if opts[key]:
                _save_npz(opts[key], matrix)
        summary.update(features_out=opts["features_out"], features2_out=opts["features2_out"],
                       features_nnz=int(est.features_.nnz), max_length=est.max_length_,
                       truncation_bound=est.truncation_bound_)
        written = " and ".join(x for x in (opts["output"], opts["features_out"]) if x)
        return (f"wrote grf ({est.kernel_}, {opts['n_walks']} walks, {est.features_.nnz} feature "
                f"non-zeros) to {written}")

    scheduler = opts.pop("scheduler", None)
    if scheduler is not None:
        check_scheduler_option(scheduler, "grf")
    run_embedding(opts, make_estimator, {"scheduler": scheduler} if scheduler is not None else None,
                  extra_outputs=("features_out", "features2_out"), write_extras=write_features, step="features")


def _save_npz(path, matrix):
    """scipy.sparse.save_npz written atomically (a file handle: save_npz would append .npz)."""
    import scipy.sparse as sp

    from graphembed.io.atomic import atomic_path

    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        sp.save_npz(fh, matrix)
