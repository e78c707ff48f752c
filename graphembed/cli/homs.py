"""``graphembed homs`` (MCMC homomorphism sampling) and ``graphembed hom-embed`` (graph embeddings)."""
import json
import time

import click

from graphembed import params
from graphembed._limits import MAX_SAMPLES
from graphembed.cli.common import graph_input_options, load_graph, parse_float_list, pass_options, report
from graphembed.cli.options import (
    THREADS_EXACT,
    count_callback,
    estimator_kwargs,
    estimator_options,
    report_options,
    seed_option,
    threads_option,
)

OBSERVABLES = ("density", "conditional", "profile", "macc")
# Flags made from the estimators' tables (graphembed.params); --steps (a count such as 1M),
# --rao-blackwell (auto/on/off) and --node-weights (a CSV file) are worded for the command.
SAMPLER_FLAGS = ("motif", "chain")
CHAIN_FLAGS = ("n_chains", "burn_in", "thin", "root")
EMBED_FLAGS = ("n_patterns", "max_treewidth", "min_size", "max_size", "representation")
STEPS_DEFAULT = "1M"  # params.HOM_SAMPLER["n_steps"].default, as a count
RAO_BLACKWELL = {"auto": "auto", "on": True, "off": False}


def _default_target(spec):
    kind, _, k = spec.strip().lower().partition(":")
    if kind == "path" and k.isdigit() and int(k) >= 3:
        return f"cycle:{k}"
    return None


@click.command()
@graph_input_options
@estimator_options(params.HOM_SAMPLER, SAMPLER_FLAGS, help={
    "motif": "Motif F: path:k, cycle:k, star:r, clique:k, edge, triangle or edges:0-1,1-2,..."})
@click.option("--observable", type=click.Choice(OBSERVABLES), default="density", show_default=True,
              help="density t(F,G); conditional t(H,G|F); profile P(min weight on H >= s | F); macc.")
@click.option("--macc", is_flag=True, help="Same as --observable macc (F a k-chain: path:k).")
@click.option("--target", default=None,
              help="H for conditional/profile, on F's nodes with F's edges (default: the cycle "
                   "closing a path motif; for profile: F).")
@click.option("--thresholds", default=None, callback=parse_float_list,
              help="Comma-separated s values for the profile (default: 10 steps up to the largest weight).")
@click.option("--steps", default=STEPS_DEFAULT, show_default=True,
              callback=count_callback(MAX_SAMPLES, "number of steps"),
              help="Chain steps to observe, all chains together (1M, 500k, 1e6).")
@estimator_options(params.HOM_SAMPLER, CHAIN_FLAGS)
@click.option("--node-weights", type=click.Path(dir_okay=False), default=None,
              help="CSV with columns node,weight (header optional): node weights nu > 0 for every "
                   "node; pi(x) ~ prod nu(x_i) prod A(x_i, x_j), densities divide by (sum nu)^k.")
@click.option("--rao-blackwell", type=click.Choice(list(RAO_BLACKWELL)), default="auto", show_default=True,
              help=params.HOM_SAMPLER["rao_blackwell"].help)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the result as CSV (macc: the k x k matrix; profile: one row per threshold).")
@seed_option()
@threads_option(THREADS_EXACT)  # chain c draws from its own stream (seed, c); the DP is per node
@report_options(quiet_help="No summary line.", json_help="Print one JSON document on stdout.")
@pass_options
def homs(opts):
    """Sample random homomorphisms of a motif into the graph (Lyu, Memoli & Sivakoff, JMLR 2023).

    \b
    graphembed homs edges.csv --motif path:3 --observable conditional --target cycle:3 --json
    graphembed homs edges.csv --motif cycle:4 --observable density --steps 1M --chains 8 --json
    graphembed homs edges.csv --motif path:4 --macc -o macc.csv
    """
    from graphembed.io.errors import InputError
    from graphembed.structure.hom_sampling import HomomorphismSampler

    observable = "macc" if opts["macc"] else opts["observable"]
    target = opts["target"]
    if observable == "conditional" and target is None:
        target = _default_target(opts["motif"])
        if target is None:
            raise InputError("--observable conditional needs --target H (F plus extra edges)")
    t0 = time.perf_counter()
    graph = load_graph(opts)
    from graphembed.io.readers import read_node_weights

    node_weights = read_node_weights(opts["node_weights"]) if opts["node_weights"] else None
    sampler = HomomorphismSampler(
        **estimator_kwargs(opts, SAMPLER_FLAGS + CHAIN_FLAGS), n_steps=opts["steps"],
        node_weights=node_weights, rao_blackwell=RAO_BLACKWELL[opts["rao_blackwell"]],
        random_state=opts["seed"], n_jobs=opts["threads"]).fit(graph)
    if observable == "density":
        result = sampler.density()
    elif observable == "conditional":
        result = sampler.conditional_density(target)
    elif observable == "profile":
        thresholds = opts["thresholds"]
        if not thresholds:
            top = float(graph.weights.max()) if graph.weights is not None else 1.0
            thresholds = [top * i / 10 for i in range(11)]
        result = sampler.profile(thresholds, target)
    else:
        result = sampler.macc()
    if opts["output"]:
        _write_result_csv(result, opts["output"])
    summary = result.to_dict()
    summary.update(input=opts["input"], nodes=graph.n_nodes, edges=graph.n_edges,
                   output=opts["output"], total_seconds=round(time.perf_counter() - t0, 3),
                   seed=sampler.seed_)
    if opts["as_json"]:
        click.echo(json.dumps(summary, default=str))
    elif not opts["quiet"]:
        click.echo(_describe(result))


def _describe(r):
    import numpy as np

    how = "exact (tree DP)" if r.exact else (
        f"{r.chain} chain, {r.n_steps:,} steps in {r.seconds:.2f} s ({r.steps_per_second:,.0f} steps/s)")
    if r.observable in ("density", "conditional_density"):
        name = f"t({r.motif}, G)" if r.observable == "density" else f"t({r.info['target']}, G | {r.motif})"
        err = "" if r.exact else f" +- {r.std_error:.3g} (ESS {r.ess:,.0f})"
        return f"{name} = {r.estimate:.6g}{err}; {how}"
    with np.printoptions(precision=4, suppress=True):
        if r.observable == "profile":
            rows = "\n".join(f"  s = {s:g}: {p:.4f}" for s, p in zip(r.info["thresholds"], r.estimate))
            return f"P(min weight on {r.info['target']} >= s | {r.motif}); {how}\n{rows}"
        return f"MACC of {r.motif}; {how}\n{np.asarray(r.estimate)}"


def _write_result_csv(r, path):
    """The sampler's result as a CSV table (through the one table writer, full precision)."""
    import numpy as np

    from graphembed.io.tables import write_table

    if r.observable == "macc":
        macc = np.asarray(r.estimate, dtype=np.float64)
        columns = {f"x{j}": macc[:, j] for j in range(macc.shape[0])}
    elif r.observable == "profile":
        columns = {"threshold": np.asarray(r.info["thresholds"], np.float64),
                   "probability": np.asarray(r.estimate, np.float64),
                   "std_error": np.asarray(r.std_error, np.float64), "ess": np.asarray(r.ess, np.float64)}
    else:
        columns = {"observable": np.array([r.observable], dtype=object),
                   "estimate": np.array([float(r.estimate)]), "std_error": np.array([float(r.std_error)]),
                   "ess": np.array([float(r.ess)]),
                   "exact": np.array([str(r.exact)], dtype=object)}
    write_table(columns, path, "csv")


@click.command(name="hom-embed")
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Output table: .parquet (default) or .csv; one row per graph.")
@estimator_options(params.HOM_EMBEDDING, EMBED_FLAGS, help={
    "max_treewidth": "Cap on the treewidth k of a random pattern (default: the largest k whose "
                     "n^k DP tables fit the memory budget on the largest graph).",
    "max_size": "P(pattern size <= max) = 0.99 (default: the largest graph, at most 30)."})
@click.option("--input-format", type=click.Choice(params.INPUT_FORMATS),
              help="Format of every input graph (default: from each extension).")
@seed_option(help="Random seed (patterns).")
@report_options(quiet_help="No progress bar or summary line.")
@pass_options
def hom_embed(opts):
    """Homomorphism-count embeddings of graph files (Welke et al., ICML 2023).

    INPUTS are graph files and/or directories (every file inside, sorted by name).

    \b
    graphembed hom-embed graphs/ -o graph_emb.parquet --patterns 50
    """
    from pathlib import Path

    from graphembed.io.errors import InputError
    from graphembed.io.readers import read_graph
    from graphembed.structure.hom_embedding import HomomorphismEmbedding

    out = Path(opts["output"])
    fmt = "csv" if out.suffix.lower() in (".csv", ".tsv") else "parquet"
    files = []
    for item in opts["inputs"]:
        p = Path(item)
        if p.is_dir():
            inside = sorted(q for q in p.iterdir() if q.is_file() and not q.name.startswith("."))
            if not inside:
                raise InputError(f"{p}: directory has no graph files")
            files.extend(inside)
        elif p.exists():
            files.append(p)
        else:
            raise InputError(f"{p}: no such file or directory")
    t0 = time.perf_counter()
    graphs = [read_graph(f, format=opts["input_format"], directed=False) for f in files]
    t_read = time.perf_counter() - t0
    est = HomomorphismEmbedding(**estimator_kwargs(opts, EMBED_FLAGS), random_state=opts["seed"],
                                verbose=not opts["quiet"] and not opts["as_json"])
    x = est.fit_transform(graphs)
    t_fit = time.perf_counter() - t0 - t_read
    _write_table(out, fmt, [str(f) for f in files], graphs, x, est)
    summary = {"output": str(out), "format": fmt, "graphs": len(files), "columns": int(x.shape[1]),
               "patterns": est.pattern_names_, "representation": est.representation,
               "seed": est.seed_, "read_seconds": round(t_read, 3), "embed_seconds": round(t_fit, 3)}
    report(summary, opts, f"wrote {len(files)} x {x.shape[1]} homomorphism embedding to {out} "
                          f"(read {t_read:.2f} s, counts {t_fit:.2f} s)")


def _write_table(out, fmt, names, graphs, x, est):
    import numpy as np

    from graphembed.io.tables import write_table

    cols = {"graph": np.array(names, dtype=object),
            "nodes": np.array([g.n_nodes for g in graphs], np.int64),
            "edges": np.array([g.n_edges for g in graphs], np.int64)}
    width = len(str(max(x.shape[1] - 1, 0)))
    for j in range(x.shape[1]):
        cols[f"hom_{j:0{width}d}"] = np.ascontiguousarray(x[:, j])
    meta = {"method": "hom-embed", "representation": est.representation, "seed": est.seed_,
            "patterns": [{"name": p.motif.name, "nodes": p.n_nodes, "edges": p.motif.edges.tolist(),
                          "treewidth": p.treewidth} for p in est.patterns_]}
    write_table(cols, out, fmt, meta)