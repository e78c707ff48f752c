"""Graphlet orbit benchmark: exact node orbits, orbit adjacencies and orbit features.

    python benchmarks/orbits.py [--quick] [--repeats 3] [--splits 3] [--json-out results.json]

1. BlogCatalog node orbits (15 orbits of 2-4-node graphlets): median wall time, CPU time and
   peak RSS in a fresh child process, with the regression totals (5,608,664 triangles,
   64,213,727 4-cliques, 280,407,529 induced 4-cycles) checked in the run. Peer: GRADCO
   (Windels et al., PyPI ``gradco``), the published orbit-adjacency counter, whose
   ``get_GDVs`` gives the same 15 orbit counts; it needs numpy < 2, so it runs from its own
   virtualenv (``--gradco-python``, default /tmp/gradco-venv/bin/python) when that exists,
   and its counts are compared with ours. ORCA (C++) is not on PyPI and cannot be built
   here (no network besides PyPI): its ~7 s on BlogCatalog is the issue's published
   reference, not measured.
   On Homo_sapiens (PPI) both compute the node orbits and all 28 orbit adjacencies, which
   must be equal entry by entry.
2. A Barabasi-Albert graph, 200k nodes / ~1M edges (networkx generator, seed 0).
3. One-hop orbit adjacencies on BlogCatalog (all 19 ordered ones, CSR), and the two- and
   three-hop ones streamed row block by row block and reduced to a top-64 per row.
4. Orbit features (log-scaled GDVs) as node features on BlogCatalog and Homo_sapiens (PPI):
   Macro/Micro-F1 with the FastRP benchmark's protocol (one-vs-rest logistic regression,
   top-k prediction, 50% training), alone, FastRP alone, and the two concatenated.

Every measurement runs in its own child process, so its peak RSS is its own.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _util import RAW, benchmark_parser, peak_rss_mb, reset_peak_rss, run_child, serve_child, write_json

BLOG = RAW / "blogcatalog.mat"
PPI = RAW / "Homo_sapiens.mat"
EXPECTED = {"triangles": 5_608_664, "clique4": 64_213_727, "cycle4": 280_407_529}
FASTRP = {"blog": dict(dim=512, iteration_weights=[1.0, 1.0, 7.81, 45.28], normalization_strength=-0.628),
          "ppi": dict(dim=512, iteration_weights=[1.0, 1.0, 7.81, 45.28], normalization_strength=-0.628)}


def warm_up():
    import graphembed as ge

    g = ge.Graph.from_edges([0, 0, 0, 1, 1, 2], [1, 2, 3, 2, 3, 3])
    ge.orbit_counts(g)
    ge.orbit_adjacency(g, "all")


def timed(fn, repeats):
    """(median wall s, median cpu s, all wall, last result)."""
    walls, cpus, result = [], [], None
    for _ in range(repeats):
        result = None
        c0, w0 = time.process_time(), time.perf_counter()
        result = fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus), walls, result


# ---------------------------------------------------------------------------- children
def child_blog_orbits(spec):
    import numba

    import graphembed as ge
    from graphembed.datasets import load_mat

    warm_up()
    graph, _ = load_mat(BLOG)
    out = {"n": graph.n_nodes, "edges": graph.n_edges, "threads": numba.get_num_threads(),
           "load_peak_rss_mb": peak_rss_mb()}
    reset_peak_rss()
    out["time_s"], out["cpu_s"], out["times_s"], counts = timed(lambda: ge.orbit_counts(graph), spec["repeats"])
    out["peak_rss_mb"] = peak_rss_mb()
    out["triangles"] = int(counts[:, 3].sum()) // 3
    out["clique4"] = int(counts[:, 14].sum()) // 4
    out["cycle4"] = int(counts[:, 8].sum()) // 4
    out["max_count"] = int(counts.max())
    np.save(spec["out"], counts)
    return out


GRADCO_SCRIPT = r"""
import json, resource, sys, time
import numpy as np, scipy.io, scipy.sparse as sp
import gradco
a = sp.csr_array(scipy.io.loadmat(sys.argv[1])["network"]).astype(np.int32)
a.setdiag(0); a.eliminate_zeros(); a.data[:] = 1
t0 = time.perf_counter(); c0 = time.process_time()
counter = gradco.Counter(a)
counter.count()
gdv = counter.get_GDVs()
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
np.save(sys.argv[2], np.asarray(gdv, dtype=np.int64))
if len(sys.argv) > 3:  # also every orbit adjacency, as sparse triplets
    adj = {}
    for h, o1, o2, m in counter.generate_orbit_adjacencies():
        m = sp.coo_array(m)
        adj[f"h{h}_o{o1}_{o2}"] = np.vstack([m.row, m.col, m.data]).astype(np.int64)
    np.savez(sys.argv[3], **adj)
print(json.dumps({"time_s": wall, "cpu_s": cpu,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_gradco(python, mat, out, timeout, adj_out=None):
    try:
        proc = subprocess.run([python, "-c", GRADCO_SCRIPT, str(mat), out] + ([adj_out] if adj_out else []),
                              capture_output=True, text=True,
                              timeout=timeout, env=dict(os.environ, OMP_NUM_THREADS="2"))
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["exit %d" % proc.returncode])[-1][:200]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def child_ppi_all(spec):
    """PPI: node orbits and all 28 orbit adjacencies (timed together), saved for the comparison."""
    import graphembed as ge
    from graphembed.datasets import load_mat

    warm_up()
    graph, _ = load_mat(PPI)
    out = {"n": graph.n_nodes, "edges": graph.n_edges}
    reset_peak_rss()

    def run():
        return ge.orbit_counts(graph), ge.orbit_adjacency(graph, "all")

    out["time_s"], out["cpu_s"], out["times_s"], (counts, adj) = timed(run, spec["repeats"])
    out["peak_rss_mb"] = peak_rss_mb()
    np.save(spec["out"], counts)
    np.savez(spec["adj_out"], **{f"h{h}_o{a}_{b}": np.vstack([m.tocoo().row, m.tocoo().col, m.tocoo().data])
                                 .astype(np.int64) for (h, a, b), m in adj.items()})
    return out


def same_adjacencies(ours_path, theirs_path, n):
    import scipy.sparse as sp

    ours, theirs = np.load(ours_path), np.load(theirs_path)
    if sorted(ours.files) != sorted(theirs.files):
        return False
    for key in ours.files:
        a, b = ours[key], theirs[key]
        ma = sp.coo_matrix((a[2], (a[0], a[1])), shape=(n, n)).tocsr()
        mb = sp.coo_matrix((b[2], (b[0], b[1])), shape=(n, n)).tocsr()
        if (ma != mb).nnz:
            return False
    return True


def child_ba(spec):
    import networkx as nx

    import graphembed as ge

    warm_up()
    g = nx.barabasi_albert_graph(spec["n"], spec["m"], seed=0)
    edges = np.array(g.edges(), dtype=np.int64)
    del g
    graph = ge.Graph.from_edges(edges[:, 0], edges[:, 1], nodes=np.arange(spec["n"]))
    del edges
    out = {"n": graph.n_nodes, "edges": graph.n_edges, "max_degree": int(graph.out_degree().max()),
           "load_peak_rss_mb": peak_rss_mb()}
    reset_peak_rss()
    out["time_s"], out["cpu_s"], out["times_s"], counts = timed(lambda: ge.orbit_counts(graph), spec["repeats"])
    out["peak_rss_mb"] = peak_rss_mb()
    out["triangles"] = int(counts[:, 3].sum()) // 3
    return out


def child_one_hop(spec):
    import graphembed as ge
    from graphembed.datasets import load_mat

    warm_up()
    graph, _ = load_mat(BLOG)
    out = {"load_peak_rss_mb": peak_rss_mb()}
    reset_peak_rss()
    out["time_s"], out["cpu_s"], out["times_s"], adj = timed(lambda: ge.orbit_adjacency(graph, "1-hop"),
                                                             spec["repeats"])
    out["peak_rss_mb"] = peak_rss_mb()
    out["matrices"] = len(adj)
    out["max_nnz"] = max(m.nnz for m in adj.values())
    out["graph_nnz"] = graph.nnz
    return out


def child_multi_hop(spec):
    from graphembed.datasets import load_mat
    from graphembed.structure.orbits import _top_k_rows, iter_orbit_adjacency_blocks

    warm_up()
    graph, _ = load_mat(BLOG)
    out = {"load_peak_rss_mb": peak_rss_mb(), "top_k": spec["top_k"]}
    reset_peak_rss()
    c0, w0 = time.process_time(), time.perf_counter()
    kept, pairs, blocks, rows_done = 0, 0, 0, 0
    limit = spec.get("rows")
    for start, stop, mats in iter_orbit_adjacency_blocks(graph, ["2-hop", "3-hop"], memory_mb=spec["memory_mb"]):
        for m in mats.values():
            pairs += m.nnz
            kept += _top_k_rows(m, spec["top_k"]).nnz
        blocks += 1
        rows_done = stop
        if limit and stop >= limit:
            break
    out["time_s"] = time.perf_counter() - w0
    out["cpu_s"] = time.process_time() - c0
    out["rows"] = rows_done
    out["n"] = graph.n_nodes
    out["blocks"] = blocks
    out["nonzeros_all"] = pairs
    out["nonzeros_kept"] = kept
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def child_classify(spec):
    """Macro/Micro-F1 of orbit features, FastRP and both, with the FastRP benchmark's classifier
    (standardised columns, liblinear C = 0.1, 50% train, top-k)."""
    import graphembed as ge
    from graphembed.datasets import load_mat
    from graphembed.tasks.classify import node_classification

    graph, labels = load_mat(BLOG if spec["data"] == "blog" else PPI)
    labels = labels.toarray() > 0
    t0 = time.perf_counter()
    orbit = ge.OrbitFeatures(log=True).fit_transform(graph).vectors
    t_orbit = time.perf_counter() - t0
    fast = ge.FastRP(**FASTRP[spec["data"]], random_state=0).fit_transform(graph).vectors
    from graphembed.embed.orbit_features import OrbitAdjacencyEmbedding

    oadj = OrbitAdjacencyEmbedding(adjacency=(1, 5, 5), dim=128, random_state=0).fit_transform(graph).vectors
    out = {"n": graph.n_nodes, "orbit_features_s": t_orbit}
    for name, x in [("orbits", orbit), ("fastrp", fast), ("fastrp+orbits", np.hstack([fast, orbit])),
                    ("orbit-adjacency (1,5,5)", oadj)]:
        res = node_classification(x, labels, train=0.5, splits=spec["splits"], protocol="topk", seed=0,
                                  C=0.1, standardize=True, n_jobs=2)
        out[name] = [res["macro_f1"], res["micro_f1"]]
    return out


CHILDREN = {"blog_orbits": child_blog_orbits, "ppi_all": child_ppi_all, "ba": child_ba, "one_hop": child_one_hop,
            "multi_hop": child_multi_hop, "classify": child_classify}


# ---------------------------------------------------------------------------- report
def ok(flag):
    return "met" if flag else "**missed**"


def load_line():
    try:
        return "load averages " + " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "load averages n/a"


def report(res):
    lines = []
    add = lines.append
    b = res["blog"]
    add(f"### BlogCatalog node orbits ({b['n']:,} nodes, {b['edges']:,} edges), {b['threads']} threads")
    add("")
    add("| counter | wall time (median) | CPU time | peak RSS | counts equal ours |")
    add("|---|---|---|---|---|")
    add(f"| graphembed `orbit_counts` | {b['time_s']:.2f} s | {b['cpu_s']:.2f} s | {b['peak_rss_mb']:.0f} MB | - |")
    gr = res.get("gradco")
    if gr and "error" not in gr:
        add(f"| GRADCO 0.1.8 `Counter.count` + `get_GDVs` (measured, same machine) | {gr['time_s']:.2f} s | "
            f"{gr['cpu_s']:.2f} s | {gr['peak_rss_mb']:.0f} MB | {'yes' if gr.get('equal') else '**NO**'} |")
    elif gr:
        add(f"| GRADCO 0.1.8 `Counter.count` + `get_GDVs` | {gr['error']} | | | |")
    add("| ORCA (C++), not measured: not installable here; the issue's published figure | ~7 s (1 core) | | | |")
    add("")
    p, gp = res["ppi"], res.get("gradco_ppi")
    add(f"Homo_sapiens (PPI, {p['n']:,} nodes, {p['edges']:,} edges), node orbits and all 28 orbit adjacencies:")
    add("")
    add("| counter | wall time (median) | CPU time | peak RSS | node orbits equal | 28 adjacencies equal |")
    add("|---|---|---|---|---|---|")
    add(f"| graphembed `orbit_counts` + `orbit_adjacency(g, 'all')` | {p['time_s']:.2f} s | {p['cpu_s']:.2f} s | "
        f"{p['peak_rss_mb']:.0f} MB | - | - |")
    if gp and "error" not in gp:
        add(f"| GRADCO 0.1.8 `Counter.count` + `get_GDVs` | {gp['time_s']:.2f} s | {gp['cpu_s']:.2f} s | "
            f"{gp['peak_rss_mb']:.0f} MB | {'yes' if gp['equal'] else '**NO**'} | "
            f"{'yes' if gp['equal_adj'] else '**NO**'} |")
    elif gp:
        add(f"| GRADCO 0.1.8 | {gp['error']} | | | | |")
    add("")
    add(f"Regression totals: triangles {b['triangles']:,} (expected {EXPECTED['triangles']:,}), 4-cliques "
        f"{b['clique4']:,} (expected {EXPECTED['clique4']:,}), induced 4-cycles {b['cycle4']:,} "
        f"(expected {EXPECTED['cycle4']:,}); largest per-node count {b['max_count']:,}.")
    add("")
    ba, one, multi = res["ba"], res["one_hop"], res["multi_hop"]
    add("| target | measured | met? |")
    add("|---|---|---|")
    add(f"| BlogCatalog node orbits < 5 s on 2 cores | {b['time_s']:.2f} s wall ({b['cpu_s']:.2f} s CPU) | "
        f"{ok(b['time_s'] < 5)} |")
    add(f"| BlogCatalog node orbits < 1 GB | {b['peak_rss_mb']:.0f} MB peak RSS (process) | {ok(b['peak_rss_mb'] < 1024)} |")
    add(f"| BA {ba['n']:,} nodes / {ba['edges']:,} edges < 3 s | {ba['time_s']:.2f} s wall ({ba['cpu_s']:.2f} s CPU), "
        f"{ba['peak_rss_mb']:.0f} MB | {ok(ba['time_s'] < 3)} |")
    add(f"| BlogCatalog one-hop orbit adjacencies (19 CSR, max nnz {one['max_nnz']:,} <= 2|E| = "
        f"{one['graph_nnz']:,}) < 30 s, < 4 GB | {one['time_s']:.2f} s wall, {one['peak_rss_mb']:.0f} MB | "
        f"{ok(one['time_s'] < 30 and one['peak_rss_mb'] < 4096)} |")
    scope = "all" if multi["rows"] >= multi["n"] else f"first {multi['rows']:,} of"
    add(f"| BlogCatalog two- and three-hop adjacencies (9), streamed, top-{multi['top_k']} per row, < 4 GB | "
        f"{scope} {multi['n']:,} rows in {multi['blocks']} blocks: {multi['time_s']:.1f} s wall "
        f"({multi['cpu_s']:.1f} s CPU), {multi['peak_rss_mb']:.0f} MB; {multi['nonzeros_all']:,} non-zeros "
        f"streamed, {multi['nonzeros_kept']:,} kept | {ok(multi['peak_rss_mb'] < 4096)} |")
    add("")
    for key, title in (("classify_blog", "BlogCatalog"), ("classify_ppi", "Homo_sapiens (PPI)")):
        c = res.get(key)
        if not c:
            continue
        add(f"### Node classification, {title} ({c['n']:,} nodes), 50% train, mean of {res['splits']} splits")
        add("")
        add("| features | Macro-F1 | Micro-F1 |")
        add("|---|---|---|")
        for name in ("orbits", "fastrp", "fastrp+orbits", "orbit-adjacency (1,5,5)"):
            add(f"| {name} | {c[name][0]:.4f} | {c[name][1]:.4f} |")
        add("")
    add("orbits = log(1 + 15 orbit counts), standardised; fastrp = FastRP dim 512, weights "
        "[1, 1, 7.81, 45.28], beta -0.628; orbit-adjacency = PPMI of (1,5,5), randomised SVD, dim 128.")
    add("")
    add(f"Machine: {res['load_before']} before, {res['load_after']} after (shared by other jobs; "
        "wall times are noisy, CPU times less so).")
    return "\n".join(lines)


def main():
    parser = benchmark_parser(__doc__)
    parser.add_argument("--quick", action="store_true", help="one repeat, one split, two-hop on 2,000 rows")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs (default 3; --quick 1)")
    parser.add_argument("--splits", type=int, default=None, help="F1 splits (default 3; --quick 1)")
    parser.add_argument("--gradco-python", default="/tmp/gradco-venv/bin/python",
                        help="python of a virtualenv with gradco installed (skipped if missing)")
    parser.add_argument("--gradco-timeout", type=int, default=600,
                        help="seconds GRADCO may take on BlogCatalog")
    parser.add_argument("--skip-classify", action="store_true")
    args = parser.parse_args()
    if serve_child(args, CHILDREN):
        return
    repeats = args.repeats or (1 if args.quick else 3)
    splits = args.splits or (1 if args.quick else 3)
    script = Path(__file__).resolve()
    res = {"repeats": repeats, "splits": splits, "load_before": load_line()}
    with tempfile.TemporaryDirectory() as tmp:
        ours = os.path.join(tmp, "ours.npy")
        print("BlogCatalog node orbits ...", file=sys.stderr, flush=True)
        res["blog"] = run_child(script, {"task": "blog_orbits", "repeats": repeats, "out": ours})
        for key, value in EXPECTED.items():
            assert res["blog"][key] == value, (key, res["blog"][key], value)
        if os.path.exists(args.gradco_python):
            print("GRADCO ...", file=sys.stderr, flush=True)
            theirs = os.path.join(tmp, "gradco.npy")
            res["gradco"] = run_gradco(args.gradco_python, BLOG, theirs, timeout=args.gradco_timeout)
            if "error" not in res["gradco"]:
                res["gradco"]["equal"] = bool(np.array_equal(np.load(ours), np.load(theirs)))
        else:
            res["gradco"] = {"error": f"not run: {args.gradco_python} missing"}
        print("PPI: node orbits and all 28 orbit adjacencies ...", file=sys.stderr, flush=True)
        ours_adj = os.path.join(tmp, "ours_adj.npz")
        res["ppi"] = run_child(script, {"task": "ppi_all", "repeats": repeats, "out": ours,
                                        "adj_out": ours_adj})
        if os.path.exists(args.gradco_python):
            print("GRADCO on PPI ...", file=sys.stderr, flush=True)
            theirs, theirs_adj = os.path.join(tmp, "gradco.npy"), os.path.join(tmp, "gradco_adj.npz")
            res["gradco_ppi"] = g = run_gradco(args.gradco_python, PPI, theirs, 900, theirs_adj)
            if "error" not in g:
                g["equal"] = bool(np.array_equal(np.load(ours), np.load(theirs)))
                g["equal_adj"] = same_adjacencies(ours_adj, theirs_adj, res["ppi"]["n"])
    print("BA ...", file=sys.stderr, flush=True)
    res["ba"] = run_child(script, {"task": "ba", "n": 200_000, "m": 5, "repeats": repeats})
    print("one-hop adjacencies ...", file=sys.stderr, flush=True)
    res["one_hop"] = run_child(script, {"task": "one_hop", "repeats": repeats})
    print("two/three-hop adjacencies ...", file=sys.stderr, flush=True)
    res["multi_hop"] = run_child(script, {"task": "multi_hop", "top_k": 64, "memory_mb": 256,
                                          "rows": 2000 if args.quick else None})
    if not args.skip_classify:
        for data in ("blog", "ppi"):
            print(f"classification {data} ...", file=sys.stderr, flush=True)
            res[f"classify_{data}"] = run_child(script, {"task": "classify", "data": data, "splits": splits})
    res["load_after"] = load_line()
    table = report(res)
    print(table)
    write_json(args.json_out, res, table)


if __name__ == "__main__":
    main()
