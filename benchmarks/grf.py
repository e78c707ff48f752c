"""Graph random features benchmark: speed, error against exact kernels, clustering.

    python benchmarks/grf.py [--quick] [--repeats 5] [--threads 2] [--json-out results.json]

1. Feature construction on BlogCatalog (m = 64, p_halt = 0.5, diffusion kernel) and K_hat x
   (two sparse products) there; a Chung-Lu graph of 1M nodes / 10M edges (m = 16).
2. Relative Frobenius error of Phi1 Phi2^T against the exact kernel (numpy inverse,
   scipy.linalg.expm, matrix powers, computed in this run) on karate, for the five built-in
   kernels and m in {4, 16, 64, 256}, plus a learned modulation at m = 4.
3. The cubic wall: time of the exact diffusion kernel (dense eigendecomposition of the
   symmetric W with numpy.linalg.eigh, faster than scipy.linalg.expm here) against the
   features (m = 64) on Chung-Lu graphs of 1k, 4k and 10k nodes (10 edges per node), with the
   estimate's error on 200 sampled rows.
4. Node clustering NMI (kernel k-means on the rank-k kernel, k = number of classes) with the
   estimated diffusion kernel (5 walk seeds) next to the exact one, on football (12
   conferences) and email-Eu-core (42 departments).

Every timed measurement of sections 1 and 3 runs in its own subprocess (peak RSS is its own).
``--quick`` skips the 1M-node graph and the 10k exact kernel.
"""
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from _graphs import chung_lu_edges
from _util import RAW, benchmark_parser, load_average, median_time, peak_rss_mb, run_child, serve_child, write_json

BLOG = RAW / "blogcatalog.mat"
KERNELS = ["inverse", "inverse2", "exp", "diffusion", "random-walk"]
MS = [4, 16, 64, 256]



# ---------------------------------------------------------------------------- exact kernels
def normalized_w(graph, sigma2):
    a = graph.to_scipy().toarray().astype(np.float64)
    a = np.maximum(a, a.T)
    d = a.sum(1)
    inv = np.divide(1.0, np.sqrt(d), out=np.zeros_like(d), where=d > 0)
    return sigma2 * inv[:, None] * a * inv[None, :]


def exact_kernel(kernel, graph, beta=1.0, power=2):
    """Dense exact kernel with the defaults of GraphRandomFeatures (sigma2 0.5 / 1)."""
    import scipy.linalg as sl

    sigma2 = 0.5 if kernel in ("inverse", "inverse2") else 1.0
    w = normalized_w(graph, sigma2)
    eye = np.eye(w.shape[0])
    if kernel == "inverse":
        return np.linalg.inv(eye - w)
    if kernel == "inverse2":
        k = np.linalg.inv(eye - w)
        return k @ k
    if kernel == "exp":
        return sl.expm(beta * w)
    if kernel == "diffusion":
        return sl.expm(-beta * (eye - w))
    return np.linalg.matrix_power(eye + w, power)


def rel(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


# ---------------------------------------------------------------------------- children
def child_blog(spec):
    import graphembed as ge
    from graphembed.datasets import load_mat

    g, _ = load_mat(BLOG)
    make = lambda: ge.GraphRandomFeatures(kernel="diffusion", n_walks=64, p_halt=0.5, random_state=0,  # noqa: E731
                                          n_jobs=spec["threads"])
    make().fit(g)  # compile / load the numba cache
    cpu = []

    def timed_fit():
        c0 = time.process_time()
        est = make().fit(g)
        cpu.append(time.process_time() - c0)
        return est

    t_fit, times, est = median_time(timed_fit, spec["repeats"])
    x = np.random.default_rng(0).standard_normal(g.n_nodes)
    est.kernel_matvec(x)
    t_mv, mv_times, _ = median_time(lambda: est.kernel_matvec(x), 20)
    t_emb, _, _ = median_time(lambda: (est.__dict__.pop("embedding_", None), est.transform()), 1)
    return {"n": g.n_nodes, "edges": g.n_edges, "fit_s": t_fit, "fit_times": times, "matvec_s": t_mv,
            "fit_cpu_s": statistics.median(cpu),
            "nnz_per_row": (est.features_.nnz + est.features2_.nnz) / 2 / g.n_nodes,
            "max_length": est.max_length_, "transform_s": t_emb, "peak_rss_mb": peak_rss_mb()}


def child_scale(spec):
    import graphembed as ge
    t0 = time.perf_counter()
    src, dst = chung_lu_edges(spec["n"], spec["m"], seed=0)
    g = ge.Graph.from_edges(src, dst, nodes=np.arange(spec["n"]))
    del src, dst
    t_build = time.perf_counter() - t0
    ge.GraphRandomFeatures(n_walks=1, random_state=0).fit(ge.datasets.karate()[0])  # warm the cache
    make = lambda: ge.GraphRandomFeatures(kernel="diffusion", n_walks=16, p_halt=0.5, random_state=0,  # noqa: E731
                                          n_jobs=spec["threads"])
    cpu = []

    def timed_fit():
        c0 = time.process_time()
        est = make().fit(g)
        cpu.append(time.process_time() - c0)
        return est

    t_fit, times, est = median_time(timed_fit, spec["repeats"])
    return {"n": g.n_nodes, "edges": g.n_edges, "build_s": t_build, "fit_s": t_fit, "fit_times": times,
            "fit_cpu_s": statistics.median(cpu),
            "nnz": int(est.features_.nnz + est.features2_.nnz), "peak_rss_mb": peak_rss_mb()}


def child_wall(spec):
    """Exact dense diffusion kernel vs GRF features on a Chung-Lu graph of n nodes."""
    import graphembed as ge
    n = spec["n"]
    src, dst = chung_lu_edges(n, 10 * n, seed=1)
    g = ge.Graph.from_edges(src, dst, nodes=np.arange(n))
    ge.GraphRandomFeatures(n_walks=1, random_state=0).fit(ge.datasets.karate()[0])
    t0 = time.perf_counter()
    est = ge.GraphRandomFeatures(kernel="diffusion", n_walks=64, random_state=0, n_jobs=spec["threads"]).fit(g)
    t_est = time.perf_counter() - t0
    rows = np.random.default_rng(0).choice(n, min(200, n), replace=False)
    out = {"n": n, "edges": g.n_edges, "est_s": t_est, "exact_s": None, "error_rows": None}
    if spec["exact"]:
        t0 = time.perf_counter()
        w = normalized_w(g, 1.0)  # exp(-L) = V diag(exp(lambda - 1)) V^T, W = V diag(lambda) V^T
        lam, vecs = np.linalg.eigh(w)
        del w
        k = (vecs * np.exp(lam - 1.0)) @ vecs.T
        del vecs
        out["exact_s"] = time.perf_counter() - t0
        k_rows = (est.features_[rows] @ est.features2_.T).toarray()
        out["error_rows"] = rel(k_rows, k[rows])
    out["peak_rss_mb"] = peak_rss_mb()
    return out


CHILDREN = {"blog": child_blog, "scale": child_scale, "wall": child_wall}


# ---------------------------------------------------------------------------- in-process parts
def karate_errors():
    import graphembed as ge

    g, _ = ge.datasets.karate()
    rows = []
    for kernel in KERNELS:
        t0 = time.perf_counter()
        k = exact_kernel(kernel, g)
        t_exact = time.perf_counter() - t0
        errs = []
        for m in MS:
            errs.append(statistics.mean(
                rel(ge.GraphRandomFeatures(kernel=kernel, n_walks=m, random_state=s).fit(g).kernel_matrix(), k)
                for s in range(5)))
        slope = float(np.polyfit(np.log(MS), np.log(errs), 1)[0])
        rows.append({"kernel": kernel, "errors": errs, "slope": slope, "exact_ms": 1e3 * t_exact})
    return rows


def learned_modulation():
    """Error at m = 4 on fresh walks: deconvolved f vs f learned on other walks (karate)."""
    import graphembed as ge

    g, _ = ge.datasets.karate()
    out = []
    for kernel, kw in (("inverse", dict(sigma2=0.8)), ("exp", dict(beta=2.0))):
        base = ge.GraphRandomFeatures(kernel=kernel, n_walks=4, random_state=0, **kw).fit(g)
        k = base.exact_kernel()
        learned = ge.GraphRandomFeatures(kernel=kernel, n_walks=4, random_state=0, **kw).fit(g)
        learned.fit_modulation(n_walks=64)
        e = {}
        for name, f in (("deconvolved", None), ("learned", learned.modulation_)):
            e[name] = statistics.mean(
                rel(ge.GraphRandomFeatures(kernel=kernel, n_walks=4, random_state=s, modulation=f, **kw)
                    .fit(g).kernel_matrix(), k) for s in range(100, 120))
        out.append({"kernel": f"{kernel} {kw}", **e})
    return out


def clustering(n_seeds):
    import networkx as nx
    from sklearn.metrics import normalized_mutual_info_score as nmi

    import graphembed as ge

    datasets = []
    fb = nx.read_gml(RAW / "football.gml", label="id")
    g = ge.Graph.from_networkx(fb)
    datasets.append(("football", g, np.array([fb.nodes[v]["value"] for v in fb.nodes])))
    edges = np.loadtxt(RAW / "email-Eu-core.txt", dtype=np.int64)
    lab = np.loadtxt(RAW / "email-Eu-core-department-labels.txt", dtype=np.int64)
    dept = dict(zip(lab[:, 0].tolist(), lab[:, 1].tolist()))
    g = ge.Graph.from_edges(edges[:, 0], edges[:, 1], nodes=lab[:, 0])
    datasets.append(("email-Eu-core", g, np.array([dept[v] for v in g.node_ids.tolist()])))
    rows = []
    for name, g, y in datasets:
        c = len(np.unique(y))
        t0 = time.perf_counter()
        k = exact_kernel("diffusion", g)
        t_exact = time.perf_counter() - t0
        exact_nmi = [nmi(y, ge.kernel_kmeans(k, c, random_state=s)) for s in range(n_seeds)]
        est_nmi, t_est = [], []
        for s in range(n_seeds):
            t0 = time.perf_counter()
            est = ge.GraphRandomFeatures(kernel="diffusion", n_walks=64, random_state=s).fit(g)
            labels = ge.kernel_kmeans(est, c, random_state=s)
            t_est.append(time.perf_counter() - t0)
            est_nmi.append(nmi(y, labels))
        rows.append({"dataset": name, "n": g.n_nodes, "classes": c, "exact": exact_nmi, "estimated": est_nmi,
                     "exact_kernel_s": t_exact, "est_s": statistics.median(t_est)})
    return rows


# ---------------------------------------------------------------------------- report
def ms(x):
    return f"{1e3 * x:.1f} ms" if x < 1 else f"{x:.2f} s"


def report(res):
    lines = [f"Load average (1/5/15 min) at start: {res['load_start']}; at end: {res['load_end']}; "
             f"threads: {res['threads']}.", ""]
    if "blog" in res:
        lines += speed_lines(res)
    if "karate" in res:
        lines += karate_lines(res)
    if "wall" in res:
        lines += wall_lines(res)
    if "clustering" in res:
        lines += clustering_lines(res)
    return "\n".join(lines)


def speed_lines(res):
    lines = []
    b = res["blog"]
    lines += ["### Speed", "", "| measurement | graphembed | target |", "|---|---|---|",
              f"| BlogCatalog ({b['n']:,} nodes, {b['edges']:,} edges) features, diffusion, m = 64, "
              f"p_halt = 0.5, two walk sets (median of {len(b['fit_times'])}) | {ms(b['fit_s'])} wall, "
              f"{ms(b['fit_cpu_s'])} CPU "
              f"(peak RSS {b['peak_rss_mb']:.0f} MiB; {b['nnz_per_row']:.1f} nnz/row) | < 0.5 s |",
              f"| BlogCatalog K_hat x (median of 20) | {ms(b['matvec_s'])} | < 50 ms |",
              f"| BlogCatalog dense embedding, dim 128 (transform) | {ms(b['transform_s'])} | |"]
    for s in res["scale"]:
        lines.append(f"| Chung-Lu {s['n']:,} nodes / {s['edges']:,} edges features, m = 16 (median of "
                     f"{len(s['fit_times'])}; graph build {s['build_s']:.1f} s not included) | {ms(s['fit_s'])} wall, "
                     f"{ms(s['fit_cpu_s'])} CPU "
                     f"(peak RSS {s['peak_rss_mb']:.0f} MiB) | < 20 s |")
    return lines


def karate_lines(res):
    lines = []
    lines += ["", "### Error vs m on karate (relative Frobenius error of Phi1 Phi2^T, mean of 5 seeds; "
              "exact kernel computed in this run)", "",
              "| kernel | " + " | ".join(f"m = {m}" for m in MS) + " | log-log slope | exact kernel time |",
              "|---|" + "---|" * (len(MS) + 2)]
    for r in res["karate"]:
        lines.append(f"| {r['kernel']} | " + " | ".join(f"{e:.4f}" for e in r["errors"]) +
                     f" | {r['slope']:.3f} | {r['exact_ms']:.1f} ms |")
    lines += ["", "Learned modulation (log-linear f fitted on other walks, m = 64) vs the deconvolved f, "
              "error at m = 4 on 20 fresh seeds (karate):", "",
              "| kernel | deconvolved f | learned f |", "|---|---|---|"]
    for r in res["modulation"]:
        lines.append(f"| {r['kernel']} | {r['deconvolved']:.4f} | {r['learned']:.4f} |")
    return lines


def wall_lines(res):
    lines = []
    lines += ["", "### The cubic wall: exact diffusion kernel (dense numpy.linalg.eigh of W) vs GRF features "
              "(m = 64, two sets)", "",
              "| nodes | edges | exact | GRF features | GRF error (200 rows) | peak RSS |", "|---|---|---|---|---|---|"]
    for w in res["wall"]:
        ex = ms(w["exact_s"]) if w["exact_s"] is not None else "skipped"
        er = f"{w['error_rows']:.3f}" if w["error_rows"] is not None else "-"
        lines.append(f"| {w['n']:,} | {w['edges']:,} | {ex} | {ms(w['est_s'])} | {er} | {w['peak_rss_mb']:.0f} MiB |")
    return lines


def clustering_lines(res):
    lines = []
    lines += ["", "### Node clustering NMI (kernel k-means on the rank-k diffusion kernel, beta = 1; "
              "mean ± sd over 5 seeds)", "",
              "| dataset | nodes | classes | exact kernel | GRF estimate (m = 64) | exact kernel time "
              "| GRF fit + cluster |",
              "|---|---|---|---|---|---|---|"]
    for r in res["clustering"]:
        lines.append(f"| {r['dataset']} | {r['n']:,} | {r['classes']} | {np.mean(r['exact']):.3f} ± "
                     f"{np.std(r['exact']):.3f} | {np.mean(r['estimated']):.3f} ± {np.std(r['estimated']):.3f} | "
                     f"{ms(r['exact_kernel_s'])} | {ms(r['est_s'])} |")
    return lines


def main():
    parser = benchmark_parser(__doc__)
    parser.add_argument("--quick", action="store_true", help="skip the 1M-node graph and the 10k exact kernel")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sections", default="speed,karate,wall,clustering",
                        help="comma-separated subset of speed,karate,wall,clustering")
    args = parser.parse_args()
    if serve_child(args, CHILDREN):
        return
    script = Path(__file__).resolve()
    res = {"load_start": load_average(" "), "threads": args.threads}
    sections = set(args.sections.split(","))
    if "speed" in sections:
        print("BlogCatalog ...", file=sys.stderr, flush=True)
        res["blog"] = run_child(script, {"task": "blog", "repeats": args.repeats, "threads": args.threads})
        res["scale"] = []
        if not args.quick:
            print("1M nodes / 10M edges ...", file=sys.stderr, flush=True)
            res["scale"].append(run_child(script, {"task": "scale", "n": 1_000_000, "m": 10_000_000,
                                                   "repeats": 3, "threads": args.threads}))
    if "karate" in sections:
        print("karate errors ...", file=sys.stderr, flush=True)
        res["karate"] = karate_errors()
        print("learned modulation ...", file=sys.stderr, flush=True)
        res["modulation"] = learned_modulation()
    if "wall" in sections:
        res["wall"] = []
        for n in (1_000, 4_000, 10_000):
            print(f"exact vs estimate, {n} nodes ...", file=sys.stderr, flush=True)
            res["wall"].append(run_child(script, {"task": "wall", "n": n, "threads": args.threads,
                                                  "exact": not (args.quick and n > 4_000)}))
    if "clustering" in sections:
        print("clustering ...", file=sys.stderr, flush=True)
        res["clustering"] = clustering(5)
    res["load_end"] = load_average(" ")
    table = report(res)
    print(table)
    write_json(args.json_out, res, table)


if __name__ == "__main__":
    main()
