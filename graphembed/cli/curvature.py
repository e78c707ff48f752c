"""``graphembed curvature``, ``resistance`` and ``rewire``: edge curvature, effective
resistance and rewiring against over-squashing."""
import json
import time

import click

from graphembed import params
from graphembed.cli.common import graph_input_options, load_graph, pass_options, read_part, report, run_reporting_errors
from graphembed.cli.options import THREADS_EXACT, param_option, report_options, seed_option, threads_option


def _common_options(func):
    return threads_option(THREADS_EXACT)(report_options(quiet_help="No summary line.")(func))


def _output_option(help):
    return click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help=help)


def _write_edges(opts, graph, u, v, name, values, meta):
    import pyarrow as pa

    from graphembed.io.tables import id_array, table_format, write_table

    fmt = table_format(opts["output"])
    ids = graph.node_ids
    columns = {"source": id_array(ids[u]), "target": id_array(ids[v])}
    if values is not None:
        columns[name] = pa.array(values, type=pa.float64())
    write_table(columns, opts["output"], fmt, meta)
    return fmt


def _check_output(opts):
    from graphembed.io.atomic import check_writable
    from graphembed.io.tables import table_format

    table_format(opts["output"])  # fail on the extension before any work
    check_writable(opts["output"])


@click.command()
@graph_input_options
@_output_option("Output table (.parquet, .csv or .tsv): source, target, curvature; one row per edge.")
@click.option("--kind", type=click.Choice(["forman", "forman-plain", "ollivier"]), default="forman",
              show_default=True,
              help="forman: augmented Forman (4 - d_u - d_v + 3 triangles); forman-plain: 4 - d_u - d_v "
                   "(the weighted formula with --weighted); ollivier: Ollivier-Ricci (lazy walk).")
@param_option("alpha", params.OLLIVIER["alpha"])
@click.option("--transport", type=click.Choice(params.OLLIVIER["method"].choices), default="auto",
              show_default=True, help="Ollivier: exact LP, Sinkhorn, or auto (Sinkhorn above --sinkhorn-threshold).")
@param_option("sinkhorn_threshold", params.OLLIVIER["sinkhorn_threshold"])
@param_option("sinkhorn_epsilon", params.OLLIVIER["sinkhorn_epsilon"])
@_common_options
@pass_options
def curvature(opts):
    """Curvature of every edge: Forman-Ricci or Ollivier-Ricci.

    Writes one row per undirected edge (source, target, curvature). Directed input is
    symmetrised; self-loops and repeated edges are ignored.

    \b
    graphembed curvature datasets/karate.csv -o karate_curv.parquet --kind ollivier
    graphembed curvature datasets/karate.csv -o karate_forman.csv --kind forman
    """
    run_reporting_errors(lambda: _curvature(opts))


def _curvature(opts):
    import numpy as np

    from graphembed.structure.curvature import forman_curvature, ollivier_ricci_curvature

    _check_output(opts)
    t0 = time.perf_counter()
    graph = load_graph(opts)
    t_read = time.perf_counter() - t0
    kind = opts["kind"]
    meta = {"kind": kind, "source": str(opts["input"])}
    if kind == "ollivier":
        u, v, k = ollivier_ricci_curvature(graph, alpha=opts["alpha"], method=opts["transport"],
                                           sinkhorn_threshold=opts["sinkhorn_threshold"],
                                           sinkhorn_epsilon=opts["sinkhorn_epsilon"], n_jobs=opts["threads"])
        meta.update(alpha=opts["alpha"], transport=opts["transport"],
                    sinkhorn_threshold=opts["sinkhorn_threshold"], sinkhorn_epsilon=opts["sinkhorn_epsilon"])
    else:
        plain = kind == "forman-plain"
        u, v, k = forman_curvature(graph, kind="plain" if plain else "augmented",
                                   weighted=plain and graph.weights is not None, n_jobs=opts["threads"])
        meta["weighted"] = plain and graph.weights is not None
    t_run = time.perf_counter() - t0 - t_read
    fmt = _write_edges(opts, graph, u, v, "curvature", k, meta)
    summary = {"input": opts["input"], "output": opts["output"], "format": fmt, "kind": kind,
               "nodes": graph.n_nodes, "edges": int(u.shape[0]),
               "min": float(k.min()) if k.size else None, "mean": float(k.mean()) if k.size else None,
               "negative_edges": int(np.sum(k < 0)), "read_seconds": round(t_read, 3),
               "curvature_seconds": round(t_run, 3)}
    report(summary, opts, f"wrote {u.shape[0]} edge curvatures ({kind}) to {opts['output']} "
                          f"({read_part(graph, t_read)}, curvature {t_run:.2f} s)")


@click.command()
@graph_input_options
@_output_option("Output table (.parquet, .csv or .tsv): source, target, resistance; one row per edge.")
@param_option("method", params.RESISTANCE["method"])
@param_option("epsilon", params.RESISTANCE["epsilon"])
@click.option("--vectors", "n_vectors", type=click.IntRange(min=1), default=None,
              help=params.RESISTANCE["n_vectors"].help)
@param_option("tol", params.RESISTANCE["tol"])
@seed_option()
@_common_options
@pass_options
def resistance(opts):
    """Effective resistance of every edge: exact (dense pseudo-inverse) or by the
    Spielman-Srivastava sketch (with probability >= 1 - 1/n every estimate is within a factor
    1 +- epsilon). Weights (--weighted) are conductances.

    \b
    graphembed resistance datasets/karate.csv -o karate_res.parquet
    graphembed resistance datasets/karate.csv -o karate_res_sketch.csv --method sketch --epsilon 0.5 --seed 0
    """
    run_reporting_errors(lambda: _resistance(opts))


def _resistance(opts):
    from graphembed.structure.resistance import effective_resistance

    _check_output(opts)
    t0 = time.perf_counter()
    graph = load_graph(opts)
    t_read = time.perf_counter() - t0
    u, v, r = effective_resistance(graph, method=opts["method"], epsilon=opts["epsilon"],
                                   n_vectors=opts["n_vectors"], random_state=opts["seed"], tol=opts["tol"],
                                   weighted=graph.weights is not None, n_jobs=opts["threads"])
    t_run = time.perf_counter() - t0 - t_read
    meta = {"method": opts["method"], "epsilon": opts["epsilon"], "n_vectors": opts["n_vectors"],
            "seed": opts["seed"], "tol": opts["tol"], "source": str(opts["input"])}
    fmt = _write_edges(opts, graph, u, v, "resistance", r, meta)
    summary = {"input": opts["input"], "output": opts["output"], "format": fmt, "method": opts["method"],
               "nodes": graph.n_nodes, "edges": int(u.shape[0]),
               "sum": float(r.sum()), "read_seconds": round(t_read, 3), "resistance_seconds": round(t_run, 3)}
    report(summary, opts, f"wrote {u.shape[0]} effective resistances to {opts['output']} "
                          f"({read_part(graph, t_read)}, resistance {t_run:.2f} s)")


@click.command()
@graph_input_options
@_output_option("Rewired edge list (.csv, .tsv or .parquet): source, target[, weight].")
@param_option("method", params.REWIRE["method"])
@param_option("iterations", params.REWIRE["iterations"])
@click.option("--curvature", "curvature_kind", type=click.Choice(params.REWIRE["curvature"].choices),
              default="forman", show_default=True, help=params.REWIRE["curvature"].help)
@click.option("--remove-above", type=float, default=None, help=params.REWIRE["remove_above"].help)
@param_option("alpha", params.REWIRE["alpha"])
@click.option("--report", "report_path", type=click.Path(dir_okay=False), default=None,
              help="Also write the report (edges added and removed, measure before and after) as JSON.")
@seed_option()
@_common_options
@pass_options
def rewire(opts):
    """Rewire a graph against over-squashing: curvature-based (SDRF/BORF-style) or greedy
    total-effective-resistance additions (Black et al. 2023).

    \b
    graphembed rewire datasets/karate.csv -o karate_rewired.csv --method curvature --iterations 10 --seed 0
    graphembed rewire datasets/karate.csv -o karate_rewired_res.csv --method resistance --iterations 5 --report karate_rewire.json
    """
    run_reporting_errors(lambda: _rewire(opts))


def _rewire(opts):
    from graphembed.io.atomic import atomic_path, check_writable
    from graphembed.structure.rewiring import rewire as run

    _check_output(opts)
    if opts["report_path"]:
        check_writable(opts["report_path"])
    t0 = time.perf_counter()
    graph = load_graph(opts)
    t_read = time.perf_counter() - t0
    new, rep = run(graph, method=opts["method"], iterations=opts["iterations"], random_state=opts["seed"],
                   curvature=opts["curvature_kind"], remove_above=opts["remove_above"], alpha=opts["alpha"],
                   n_jobs=opts["threads"])
    t_run = time.perf_counter() - t0 - t_read
    import numpy as np

    rows = np.repeat(np.arange(new.n_nodes), np.diff(new.indptr))
    upper = new.indices > rows
    w = new.weights[upper].astype(np.float64) if new.weights is not None else None
    fmt = _write_edges(opts, new, rows[upper], new.indices[upper], "weight", w,
                       {"rewire": {k: rep[k] for k in ("method", "iterations", "measure")}})
    if opts["report_path"]:
        with atomic_path(opts["report_path"]) as tmp:
            with open(tmp, "w") as f:
                json.dump(rep, f, default=str, indent=1)
    summary = {"input": opts["input"], "output": opts["output"], "format": fmt, "report_file": opts["report_path"],
               "read_seconds": round(t_read, 3), "rewire_seconds": round(t_run, 3), **rep}
    before, after = rep["before"], rep["after"]
    key, label = ("total_resistance", rep["measure"]) if opts["method"] == "resistance" else \
        ("min", f"min {rep['measure']}")
    report(summary, opts, f"wrote {rep['edges_after']} edges to {opts['output']}: {len(rep['added'])} added, "
                          f"{len(rep['removed'])} removed, {label} {_num(before[key])} -> "
                          f"{_num(after[key])} ({read_part(graph, t_read)}, rewire {t_run:.2f} s)")


def _num(x):
    return "n/a" if x is None else f"{x:.4g}"
