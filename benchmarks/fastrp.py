"""FastRP benchmark: BlogCatalog speed, memory and accuracy against scipy; transform_new; scale.

    python benchmarks/fastrp.py [--quick] [--repeats 3] [--json-out results.json]

1. BlogCatalog with the FastRP authors' settings (dim 512, transition matrix, weights
   [1, 1, 7.81, 45.28], beta -0.628): graphembed against two plain scipy.sparse versions of the
   same algorithm, with node classification Macro/Micro-F1 (DeepWalk protocol) and bandwidth.
2. Inductive check: fit on 90% of BlogCatalog, embed the other 10% with ``transform_new``
   (5 held-out splits; mean and std of the Macro-F1 gap to the full fit).
3. Scale: Chung-Lu power-law graphs up to 1M nodes / 10M edges, dim 128, default parameters.

Every measurement runs in its own subprocess, so its peak RSS is its own. ``--quick`` drops the
1M-node graph and uses one repeat, one F1 split and one held-out split.
"""
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _graphs import chung_lu_edges
from _util import (
    RAW,
    benchmark_parser,
    current_rss_mb,
    median_time,
    peak_rss_mb,
    reset_peak_rss,
    run_child,
    serve_child,
    write_json,
)

BLOG = RAW / "blogcatalog.mat"
# The FastRP paper's classifier (DeepWalk protocol): standardised columns, one-vs-rest liblinear
# logistic regression with C = 0.1, 50% train, top-k labels per test node.
F1_SETTINGS = dict(protocol="topk", C=0.1, standardize=True, n_jobs=2)
BLOG_PARAMS = dict(dim=512, iteration_weights=[1.0, 1.0, 7.81, 45.28], normalization_strength=-0.628)
SCALE_SIZES = [(100_000, 1_000_000), (300_000, 3_000_000), (1_000_000, 10_000_000)]
SCALE_DIM = 128
METHODS = {
    "graphembed": "graphembed `FastRP`",
    "scipy_sparse": "(b) scipy sparse, authors' form (float64)",
    "scipy_dense": "(c) scipy dense iterate (float32)",
}


# ---------------------------------------------------------------------------- data
def load_blog():
    """(adjacency CSR, labels dense bool (n, 39)) of BlogCatalog."""
    import scipy.io
    import scipy.sparse as sp

    data = scipy.io.loadmat(str(BLOG))
    return sp.csr_matrix(data["network"]), sp.csr_matrix(data["group"]).toarray() > 0


# ---------------------------------------------------------------------------- scipy peers
def sparse_projection(n, dim, density, seed):
    """Very sparse random matrix R (n, dim) CSR float64: +-sqrt(1/density) w.p. density, else 0."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    rows, cols = [], []
    for start in range(0, n, 4096):  # chunks keep the uniform draws small
        r, c = np.nonzero(rng.random((min(n, start + 4096) - start, dim), dtype=np.float32) < density)
        rows.append(r + start)
        cols.append(c)
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    values = np.where(rng.random(rows.size) < 0.5, -1.0, 1.0) * np.sqrt(1.0 / density)
    return sp.csr_matrix((values, (rows, cols)), shape=(n, dim))


def scipy_fastrp(adj, dim, weights, beta, dense, seed=0):
    """FastRP with scipy.sparse: X_1 = M D^beta R, X_k = M X_{k-1}, E = sum_k w_k normalize(X_k).

    dense=False keeps the iterates sparse in float64 (the authors' code); dense=True uses a
    dense float32 R so every product is CSR @ dense numpy.
    """
    import scipy.sparse as sp
    from sklearn.preprocessing import normalize

    dtype = np.float32 if dense else np.float64
    a = adj.astype(dtype)
    deg = np.asarray(a.sum(axis=1), dtype=np.float64).ravel()
    inv = np.divide(1.0, deg, out=np.zeros_like(deg), where=deg > 0)
    m = (sp.diags(inv.astype(dtype)) @ a).tocsr()  # D^-1 A
    scale = np.power(deg, beta, out=np.ones_like(deg), where=deg > 0)
    r = sparse_projection(adj.shape[0], dim, 1.0 / np.sqrt(adj.shape[0]), seed)
    if dense:
        u = r.toarray().astype(np.float32)
        u *= scale.astype(np.float32)[:, None]
    else:
        u = (sp.diags(scale) @ r).tocsr()
    del r
    emb = np.zeros((adj.shape[0], dim), dtype=dtype)
    for w in weights:
        u = m @ u
        part = normalize(u.toarray() if sp.issparse(u) else u)
        part *= dtype(w)
        emb += part
        del part
    return emb


# ---------------------------------------------------------------------------- evaluation
def node_classification(emb, labels, splits):
    """Mean (Macro-F1, Micro-F1) over random 50% splits (seeds 0, 1, ...): ``F1_SETTINGS``."""
    from graphembed.tasks.classify import node_classification as classify

    res = classify(emb, labels, train=0.5, splits=splits, seed=0, **F1_SETTINGS)
    return res["macro_f1"], res["micro_f1"]


def held_out_f1(x_train, y_train, x_test, y_test):
    """(Macro-F1, Micro-F1) of the ``F1_SETTINGS`` classifier trained on one matrix, tested on
    another (rows already scaled by the caller)."""
    from graphembed.tasks.classify import fit_and_score

    x = np.vstack([x_train, x_test])
    y = np.vstack([y_train, y_test])
    tr = np.arange(x_train.shape[0])
    te = np.arange(x_train.shape[0], x.shape[0])
    return fit_and_score(x, y, tr, te, ("topk",), C=F1_SETTINGS["C"], n_jobs=F1_SETTINGS["n_jobs"])["topk"]


# ---------------------------------------------------------------------------- children
def child_blog(spec):
    method, repeats = spec["method"], spec["repeats"]
    out = {"method": method}
    if method == "graphembed":
        import numba

        import graphembed as ge

        graph = ge.read_graph(BLOG)
        make = lambda: ge.FastRP(**BLOG_PARAMS, random_state=0)  # noqa: E731
        run = lambda: make().fit(graph).embedding_.vectors  # noqa: E731
        out["threads"] = numba.get_num_threads()
    else:
        adj, _ = load_blog()
        run = lambda: scipy_fastrp(adj, BLOG_PARAMS["dim"], BLOG_PARAMS["iteration_weights"],  # noqa: E731
                                   BLOG_PARAMS["normalization_strength"], method == "scipy_dense")
    run()  # warm-up: numba compiles or loads its cache; page faults of first use
    out["base_rss_mb"] = current_rss_mb()
    out["load_peak_rss_mb"] = peak_rss_mb()
    reset_peak_rss()
    out["time_s"], out["times_s"], emb = median_time(run, repeats)
    out["embed_peak_rss_mb"] = peak_rss_mb()
    out["peak_rss_mb"] = max(out["load_peak_rss_mb"], out["embed_peak_rss_mb"])
    np.save(spec["emb_out"], np.asarray(emb, dtype=np.float32))
    if method == "graphembed":  # propagation alone, for the bandwidth estimate
        del emb
        est = make().fit(graph)
        fresh = [est._initial_vectors(graph, None) for _ in range(3)]  # _propagate reuses X_0's buffer

        def propagate():
            est._propagate(graph, fresh.pop())

        out["propagate_s"], _, _ = median_time(propagate, 3)
        out["n"], out["nnz"] = graph.n_nodes, graph.nnz
        out["bytes_per_run"] = len(BLOG_PARAMS["iteration_weights"]) * (
            graph.nnz * (BLOG_PARAMS["dim"] * 4 + 8) + 2 * graph.n_nodes * BLOG_PARAMS["dim"] * 4)
    return out


def child_memcpy(spec):
    size = spec["mb"] * 2**20
    src = np.ones(size // 4, dtype=np.float32)
    dst = np.zeros_like(src)
    t, _, _ = median_time(lambda: np.copyto(dst, src), 5)
    return {"mb": spec["mb"], "time_s": t, "gb_s": 2 * size / t / 1e9}


def child_inductive(spec):
    """Fit on 90% of BlogCatalog, ``transform_new`` the other 10%; Macro/Micro-F1 on the held-out nodes.

    One row per held-out split (seeds 0 .. splits - 1, default 5): the same classifier protocol
    on both sides (scaler and classifier fitted on the kept nodes' rows, tested on the held-out
    nodes), full fit (one fit of the whole graph, shared by the splits) against fit on the kept
    nodes + ``transform_new``. The gap is inductive - full, per split, then mean and std.
    """
    import scipy.sparse as sp

    import graphembed as ge

    graph = ge.read_graph(BLOG)
    _, labels = load_blog()
    n = graph.n_nodes
    assert np.array_equal(graph.node_ids, np.arange(n))
    full = ge.FastRP(**BLOG_PARAMS, random_state=0).fit(graph).embedding_.vectors
    adjacency = graph.to_scipy()
    from sklearn.preprocessing import StandardScaler

    rows = []
    for seed in range(spec.get("splits", 5)):
        held = np.sort(np.random.default_rng(seed).permutation(n)[: n // 10])
        keep = np.setdiff1d(np.arange(n), held)
        est = ge.FastRP(**BLOG_PARAMS, random_state=0).fit(graph.subgraph(keep))
        cross = adjacency[held][:, keep].tocoo()  # held-out -> kept edges
        among = sp.triu(adjacency[held][:, held]).tocoo()  # edges between held-out nodes, once each
        src = np.concatenate([held[cross.row], held[among.row]])
        dst = np.concatenate([keep[cross.col], held[among.col]])
        t0 = time.perf_counter()
        new = est.transform_new(src, dst, new=held)
        t_new = time.perf_counter() - t0
        train = est.embedding_.vectors  # rows in ``keep`` order
        # A held-out node without edges to the kept nodes gets the mean training vector.
        x_held = np.tile(train.mean(axis=0), (held.size, 1))
        x_held[np.searchsorted(held, np.asarray(new.node_ids, dtype=np.int64))] = new.vectors

        def score(x_train, x_test):
            scaler = StandardScaler().fit(x_train)  # fitted on the training (kept) nodes only
            return held_out_f1(scaler.transform(x_train), labels[keep], scaler.transform(x_test), labels[held])

        full_f1 = score(full[keep], full[held])
        ind_f1 = score(train, x_held)
        rows.append({"seed": seed, "n_held": int(held.size), "n_held_without_edges": int(held.size - len(new)),
                     "cross_edges": int(cross.nnz), "held_held_edges": int(among.nnz), "transform_new_s": t_new,
                     "full_macro": full_f1[0], "full_micro": full_f1[1],
                     "inductive_macro": ind_f1[0], "inductive_micro": ind_f1[1],
                     "gap_macro": ind_f1[0] - full_f1[0], "gap_micro": ind_f1[1] - full_f1[1]})
    out = {"splits": rows}
    for key in ("full_macro", "inductive_macro", "gap_macro", "full_micro", "inductive_micro", "gap_micro"):
        values = np.array([r[key] for r in rows])
        out[key] = float(values.mean())
        out[key + "_std"] = float(values.std(ddof=1)) if values.size > 1 else 0.0
    return out


def child_scale(spec):
    import graphembed as ge

    n, m, repeats = spec["n"], spec["m"], spec["repeats"]
    t0 = time.perf_counter()
    src, dst = chung_lu_edges(n, m)
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    graph = ge.Graph.from_edges(src, dst, nodes=np.arange(n))
    t_build = time.perf_counter() - t0
    del src, dst
    tiny = ge.Graph.from_edges(np.arange(999), np.arange(1, 1000))
    ge.FastRP(dim=SCALE_DIM, random_state=0).fit(tiny)  # warm-up: numba compiles or loads its cache
    out = {"n": graph.n_nodes, "edges": graph.n_edges, "nnz": graph.nnz,
           "max_degree": int(graph.out_degree().max()), "generate_s": t_gen, "build_s": t_build,
           "base_rss_mb": current_rss_mb(), "load_peak_rss_mb": peak_rss_mb()}
    reset_peak_rss()
    out["time_s"], out["times_s"], _ = median_time(
        lambda: ge.FastRP(dim=SCALE_DIM, random_state=0).fit(graph), repeats)
    out["embed_peak_rss_mb"] = peak_rss_mb()
    out["peak_rss_mb"] = max(out["load_peak_rss_mb"], out["embed_peak_rss_mb"])
    steps = len(ge.FastRP().iteration_weights)
    out["bytes_per_run"] = steps * (graph.nnz * (SCALE_DIM * 4 + 8) + 2 * graph.n_nodes * SCALE_DIM * 4)
    return out


CHILDREN = {"blog": child_blog, "memcpy": child_memcpy, "inductive": child_inductive, "scale": child_scale}


# ---------------------------------------------------------------------------- report
def ok(flag):
    return "yes" if flag else "**NO**"


def report(res, args):
    lines = []
    add = lines.append
    blog = res["blog"]
    ge_, dense = blog["graphembed"], blog["scipy_dense"]
    add(f"### BlogCatalog ({ge_['n']} nodes, {ge_['nnz'] // 2} edges): dim 512, transition, "
        "weights [1, 1, 7.81, 45.28], beta -0.628")
    add("")
    add(f"| method | embed time (median of {args.repeats}) | vs (c) | peak RSS | peak RSS while embedding "
        "| Macro-F1 | Micro-F1 |")
    add("|---|---|---|---|---|---|---|")
    for key, label in METHODS.items():
        r = blog[key]
        add(f"| {label} | {r['time_s']:.3f} s | {dense['time_s'] / r['time_s']:.2f}x faster | "
            f"{r['peak_rss_mb']:.0f} MB | {r['embed_peak_rss_mb']:.0f} MB | {r['macro']:.4f} | {r['micro']:.4f} |")
    add("")
    add(f"Targets: Macro-F1 >= 0.27: {ok(ge_['macro'] >= 0.27)} ({ge_['macro']:.4f}); "
        f"Micro-F1 >= 0.40: {ok(ge_['micro'] >= 0.40)} ({ge_['micro']:.4f}); "
        f">= 2x faster than (c): {ok(dense['time_s'] >= 2 * ge_['time_s'])} "
        f"({dense['time_s'] / ge_['time_s']:.2f}x); "
        f"peak RSS <= (c): {ok(ge_['peak_rss_mb'] <= dense['peak_rss_mb'])} "
        f"({ge_['peak_rss_mb']:.0f} vs {dense['peak_rss_mb']:.0f} MB). "
        f"(b) and (c) agree: max |difference| {res['blog_max_diff']:.2e}.")
    add("")
    mem = res["memcpy"]
    bw = ge_["bytes_per_run"] / ge_["propagate_s"] / 1e9
    add("| bandwidth | bytes per run | time (median) | GB/s |")
    add("|---|---|---|---|")
    add(f"| graphembed propagation (4 steps; sum of nnz*(dim*4+8) + 2*n*dim*4) | "
        f"{ge_['bytes_per_run'] / 1e9:.2f} GB | {ge_['propagate_s']:.3f} s | {bw:.1f} |")
    add(f"| numpy copy of {mem['mb']} MB (read + write, one thread) | {2 * mem['mb'] * 2**20 / 1e9:.2f} GB | "
        f"{mem['time_s']:.3f} s | {mem['gb_s']:.1f} |")
    add("")
    add("The first step multiplies the very sparse X_0 in sparse form, so it moves far fewer bytes than "
        "the formula counts: the graphembed figure is an effective rate, not a measured one.")
    add("")
    ind = res["inductive"]
    first = ind["splits"][0]
    add(f"### Inductive: fit on 90% of BlogCatalog, `transform_new` for the other {first['n_held']} nodes "
        f"({len(ind['splits'])} held-out splits)")
    add("")
    add("| held-out split (seed) | Macro-F1 full fit | Macro-F1 `transform_new` | gap | Micro-F1 full fit "
        "| Micro-F1 `transform_new` | gap | `transform_new` time |")
    add("|---|---|---|---|---|---|---|---|")
    for r in ind["splits"]:
        add(f"| {r['seed']} | {r['full_macro']:.4f} | {r['inductive_macro']:.4f} | {r['gap_macro']:+.4f} | "
            f"{r['full_micro']:.4f} | {r['inductive_micro']:.4f} | {r['gap_micro']:+.4f} | "
            f"{r['transform_new_s']:.2f} s |")
    add(f"| mean (std) | {ind['full_macro']:.4f} | {ind['inductive_macro']:.4f} | "
        f"{ind['gap_macro']:+.4f} ({ind['gap_macro_std']:.4f}) | {ind['full_micro']:.4f} | "
        f"{ind['inductive_micro']:.4f} | {ind['gap_micro']:+.4f} ({ind['gap_micro_std']:.4f}) | |")
    add("")
    add(f"Mean Macro-F1 gap {ind['gap_macro']:+.4f}; within 0.02: {ok(abs(ind['gap_macro']) <= 0.02)}. "
        "Each split holds out a random 10% of the nodes (seed = split), fits on the rest and embeds the "
        "held-out nodes from all their edges (to kept nodes and among themselves); classifier and scaler "
        "fitted on the kept nodes' rows of each side, tested on the held-out nodes. Split 0: "
        f"{first['cross_edges']} held-out-to-kept edges; {first['n_held_without_edges']} held-out nodes without "
        "edges (given the mean training vector).")
    add("")
    add(f"### Scale: Chung-Lu power-law graphs (weights (i+1)^-0.8), dim {SCALE_DIM}, default FastRP "
        f"(median of {args.repeats})")
    add("")
    add("| nodes | edges | max degree | build (`Graph.from_edges`) | embed time | GB/s (whole fit) | peak RSS "
        "| peak RSS while embedding | target (1M: < 30 s, < 2.5 GB) |")
    add("|---|---|---|---|---|---|---|---|---|")
    for r in res["scale"]:
        target = ""
        if r["n"] >= 1_000_000:
            target = ok(r["time_s"] < 30 and r["peak_rss_mb"] < 2.5 * 1024)
        add(f"| {r['n']:,} | {r['edges']:,} | {r['max_degree']:,} | {r['build_s']:.2f} s | {r['time_s']:.2f} s | "
            f"{r['bytes_per_run'] / r['time_s'] / 1e9:.1f} | {r['peak_rss_mb']:.0f} MB | "
            f"{r['embed_peak_rss_mb']:.0f} MB | {target} |")
    add("")
    add(f"Notes: each measurement is a separate process; times are medians of {args.repeats} runs, each "
        "after a warm-up run (numba compile / cache load and first-touch page faults excluded; BlogCatalog "
        "runs one child per run, methods interleaved, warming up on the same data; scale rows time "
        f"{args.repeats} runs in one child after a warm-up on a 1000-node graph). 'peak RSS' is the process peak "
        "(imports, data loading, warm-up, runs); 'while embedding' is the peak over the timed runs only "
        f"(Linux clear_refs reset). graphembed uses {ge_['threads']} numba threads; scipy and numpy run "
        "with their default threading (sparse products are single-threaded). Embed times include building "
        "R and (scipy) M = D^-1 A, not reading the file. F1: columns standardised, one-vs-rest "
        "liblinear LogisticRegression(C=0.1), 50% train, splits seeded 0-4, top-k labels per test node "
        f"(k = true count), mean of {args.splits} split(s)"
        + ("; --quick classifies (c) only and repeats its F1 for (b). " if args.quick else ". ")
        + "Inductive F1: scaler fitted on the 90% training nodes; held-out splits as F1 splits. "
        f"Machine: {os.cpu_count()} CPUs, shared, so timings are noisy.")
    return "\n".join(lines)


def main():
    parser = benchmark_parser(__doc__)
    parser.add_argument("--quick", action="store_true", help="skip the 1M-node graph; one repeat, one F1 split")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per measurement (default 3)")
    parser.add_argument("--splits", type=int, default=None,
                        help="train/test splits for BlogCatalog F1 (default 5; --quick: 1)")
    args = parser.parse_args()
    if serve_child(args, CHILDREN):
        return
    args.repeats = args.repeats or (1 if args.quick else 3)
    args.splits = args.splits or (1 if args.quick else 5)
    script = Path(__file__).resolve()
    res = {"repeats": args.repeats, "splits": args.splits, "quick": args.quick, "blog": {}}
    _, labels = load_blog()
    with tempfile.TemporaryDirectory() as tmp:
        # Rounds interleave the methods (one timed run per child) so that load from other
        # processes on a shared machine falls on all of them alike.
        rounds, embs = {key: [] for key in METHODS}, {}
        for r in range(args.repeats):
            for key in METHODS:
                path = os.path.join(tmp, key + ".npy")
                print(f"BlogCatalog round {r + 1}/{args.repeats}: {key} ...", file=sys.stderr, flush=True)
                rounds[key].append(run_child(script, {"task": "blog", "method": key, "repeats": 1,
                                                      "emb_out": path}))
                embs[key] = np.load(path)
        for key, runs in rounds.items():
            res["blog"][key] = merged = dict(runs[0])
            merged["times_s"] = [t for run in runs for t in run["times_s"]]
            merged["time_s"] = statistics.median(merged["times_s"])
            for field in ("peak_rss_mb", "embed_peak_rss_mb", "load_peak_rss_mb"):
                merged[field] = max(run[field] for run in runs)
            if "propagate_s" in merged:
                merged["propagate_s"] = statistics.median(run["propagate_s"] for run in runs)
    diff = float(np.max(np.abs(embs["scipy_sparse"] - embs["scipy_dense"])))
    assert np.allclose(embs["scipy_sparse"], embs["scipy_dense"], rtol=1e-4, atol=1e-4), diff
    res["blog_max_diff"] = diff
    for key, emb in embs.items():
        if args.quick and key == "scipy_sparse":
            continue  # the same embedding as (c) to float tolerance (asserted above)
        print(f"BlogCatalog: classifying {key} ...", file=sys.stderr, flush=True)
        res["blog"][key]["macro"], res["blog"][key]["micro"] = node_classification(emb, labels, args.splits)
    if args.quick:
        res["blog"]["scipy_sparse"]["macro"] = res["blog"]["scipy_dense"]["macro"]
        res["blog"]["scipy_sparse"]["micro"] = res["blog"]["scipy_dense"]["micro"]
    print("memory copy ...", file=sys.stderr, flush=True)
    res["memcpy"] = run_child(script, {"task": "memcpy", "mb": 512})
    print("inductive ...", file=sys.stderr, flush=True)
    res["inductive"] = run_child(script, {"task": "inductive", "splits": args.splits})
    res["scale"] = []
    for n, m in SCALE_SIZES[:2] if args.quick else SCALE_SIZES:
        print(f"scale {n}/{m} ...", file=sys.stderr, flush=True)
        res["scale"].append(run_child(script, {"task": "scale", "n": n, "m": m, "repeats": args.repeats}))
    table = report(res, args)
    print(table)
    write_json(args.json_out, res, table)


if __name__ == "__main__":
    main()
