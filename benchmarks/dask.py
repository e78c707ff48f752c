"""FastRP on Dask against the local run: time, peak memory, identical vectors.

    python benchmarks/dask.py [--quick] [--nodes 1000000] [--edges 10000000] [--dim 128] [--json-out FILE]

A Chung-Lu graph (``_graphs.chung_lu_edges``) is written as 4 Parquet edge files and as one.
Each measurement runs in its own process (peak RSS of its own):

* local: ``read_graph(one file)`` then ``FastRP(n_jobs=2)`` (the numba kernels on 2 threads);
* cluster, graph here: the same Graph, ``fit_transform(g, scheduler=client)`` on a LocalCluster
  of 2 workers x 1 thread (the CSR split into row blocks and shipped, the embedding gathered);
* cluster, partitioned: ``read_graph(dir, partitions=...)`` on the workers, then FastRP in row
  blocks written as a directory of Parquet parts by the workers (the ``--scheduler`` CLI path:
  the driver holds neither the edges, the CSR nor the embedding).

Every run's vectors are hashed; the table says whether they equal the local run's. The cluster
starts and warms up (imports, numba cache) before the clock starts.

Walks and orbits (a second table, ``--sections walks-orbits``) on the same graph:

* walks: node2vec walks (p 0.5, q 2, ``--walks-per-node`` x ``--walk-length``) written as text:
  locally ``Node2Vec(n_jobs=2).save_walks`` into one file, on the cluster (partitioned input)
  one shard per round and start-node range (:mod:`graphembed.distributed.walks`); identical when
  the shards concatenated in name order hash as the local file;
* orbits: ``orbit_counts(g, n_jobs=2)`` against node-range tasks on the cluster
  (:mod:`graphembed.distributed.orbits`); identical when the int64 counts hash the same.
"""
import hashlib
import sys
import tempfile
import time
from pathlib import Path

SCRIPT = Path(__file__).resolve()
# This file is named dask.py: keep its folder behind the real dask package on sys.path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != SCRIPT.parent] + [str(SCRIPT.parent)]

import numpy as np  # noqa: E402
from _graphs import chung_lu_edges  # noqa: E402
from _util import benchmark_parser, load_average, peak_rss_mb, run_child, serve_child, write_json  # noqa: E402


def digest(vectors):
    return hashlib.sha256(np.ascontiguousarray(vectors).tobytes()).hexdigest()[:16]


def params(spec):
    return dict(dim=spec["dim"], random_state=0)


def child_local(spec):
    import graphembed as ge

    ge.FastRP(dim=8, random_state=0).fit_transform(ge.Graph.from_edges([0, 1], [1, 2]))  # load the kernels
    t0 = time.perf_counter()
    g = ge.read_graph(spec["single"])
    t_read = time.perf_counter() - t0
    t0 = time.perf_counter()
    emb = ge.FastRP(**params(spec), n_jobs=2).fit_transform(g)
    t_fit = time.perf_counter() - t0
    return {"read_s": t_read, "embed_s": t_fit, "peak_mb": peak_rss_mb(), "hash": digest(emb.vectors)}


def _worker_peak():
    """Peak RSS of a worker process in MiB (runs on the worker)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _cluster(spec):
    import distributed

    cluster = distributed.LocalCluster(n_workers=spec["workers"], threads_per_worker=1, processes=True,
                                       dashboard_address=":0", silence_logs=50,
                                       memory_limit=spec.get("memory_limit", "auto"))
    client = distributed.Client(cluster)
    client.wait_for_workers(spec["workers"])
    import graphembed as ge

    tiny = ge.Graph.from_edges(np.arange(50), (np.arange(50) + 1) % 50)
    ge.FastRP(dim=8, random_state=0).fit_transform(tiny, scheduler=client)  # warm the workers up
    return cluster, client


def child_cluster_graph(spec):
    import graphembed as ge

    g = ge.read_graph(spec["single"])
    cluster, client = _cluster(spec)
    try:
        t0 = time.perf_counter()
        emb = ge.FastRP(**params(spec)).fit_transform(g, scheduler=client)
        t_fit = time.perf_counter() - t0
        workers = client.run(_worker_peak)
    finally:
        client.close()
        cluster.close()
    return {"read_s": None, "embed_s": t_fit, "peak_mb": peak_rss_mb(), "worker_peak_mb": max(workers.values()),
            "hash": digest(emb.vectors)}


def child_cluster_parts(spec):
    import graphembed as ge
    from graphembed.distributed.fastrp import fit_blocks, prepare
    from graphembed.distributed.output import write_blocks

    cluster, client = _cluster(spec)
    try:
        t0 = time.perf_counter()
        pg = ge.read_graph(spec["parts"], partitions=spec.get("blocks") or True, scheduler=client)
        t_read = time.perf_counter() - t0
        t0 = time.perf_counter()
        est = prepare(ge.FastRP(**params(spec)), pg)
        out = Path(spec["out"])
        write_blocks(client, fit_blocks(est, pg, client), pg.node_ids, pg.offsets, out, "fastrp",
                     est._public_params())
        t_fit = time.perf_counter() - t0
        workers = client.run(_worker_peak)
    finally:
        client.close()
        cluster.close()
    peak = peak_rss_mb()
    return {"read_s": t_read, "embed_s": t_fit, "peak_mb": peak, "worker_peak_mb": max(workers.values()),
            "hash": digest(ge.Embedding.load(out).vectors), "blocks": pg.n_blocks}


def _walker(spec):
    import graphembed as ge

    return ge.Node2Vec(p=0.5, q=2.0, walks_per_node=spec["walks_per_node"], walk_length=spec["walk_length"],
                       random_state=0, n_jobs=2)


def file_digest(paths):
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 22), b""):
                h.update(block)
    return h.hexdigest()[:16]


def child_walks_local(spec):
    import graphembed as ge

    tiny = ge.Graph.from_edges([0, 1, 2], [1, 2, 0])
    ge.Node2Vec(p=0.5, q=2.0, walk_length=4, walks_per_node=1).walks(tiny)  # load the kernels
    t0 = time.perf_counter()
    g = ge.read_graph(spec["single"])
    t_read = time.perf_counter() - t0
    out = Path(spec["out"]) / "walks.txt"
    t0 = time.perf_counter()
    _walker(spec).save_walks(g, out)
    t_run = time.perf_counter() - t0
    return {"read_s": t_read, "run_s": t_run, "peak_mb": peak_rss_mb(), "hash": file_digest([out])}


def child_walks_cluster(spec):
    import graphembed as ge
    from graphembed.distributed.walks import save_walks

    cluster, client = _cluster(spec)
    try:
        tiny = ge.Graph.from_edges(np.arange(50), (np.arange(50) + 1) % 50)
        ge.Node2Vec(p=0.5, q=2.0, walk_length=4, walks_per_node=1).walks(tiny, scheduler=client)
        t0 = time.perf_counter()
        pg = ge.read_graph(spec["parts"], partitions=True, scheduler=client)
        t_read = time.perf_counter() - t0
        out = Path(spec["out"]) / "walk_shards"
        t0 = time.perf_counter()
        _, shards = save_walks(_walker(spec), pg, client, out, True)
        t_run = time.perf_counter() - t0
        workers = client.run(_worker_peak)
    finally:
        client.close()
        cluster.close()
    return {"read_s": t_read, "run_s": t_run, "peak_mb": peak_rss_mb(), "worker_peak_mb": max(workers.values()),
            "hash": file_digest(sorted(out.iterdir())), "tasks": shards}


def child_orbits_local(spec):
    import graphembed as ge

    ge.orbit_counts(ge.Graph.from_edges([0, 0, 0, 1], [1, 2, 3, 2]))  # load the kernels
    t0 = time.perf_counter()
    g = ge.read_graph(spec["single"])
    t_read = time.perf_counter() - t0
    t0 = time.perf_counter()
    counts = ge.orbit_counts(g, n_jobs=2)
    t_run = time.perf_counter() - t0
    return {"read_s": t_read, "run_s": t_run, "peak_mb": peak_rss_mb(), "hash": digest(counts)}


def child_orbits_cluster(spec):
    import graphembed as ge
    from graphembed.distributed.orbits import orbit_counts_distributed

    cluster, client = _cluster(spec)
    try:
        orbit_counts_distributed(ge.Graph.from_edges([0, 0, 0, 1], [1, 2, 3, 2]), client)  # warm the workers up
        t0 = time.perf_counter()
        pg = ge.read_graph(spec["parts"], partitions=True, scheduler=client)
        t_read = time.perf_counter() - t0
        t0 = time.perf_counter()
        counts, _, _ = orbit_counts_distributed(pg, client)
        t_run = time.perf_counter() - t0
        workers = client.run(_worker_peak)
    finally:
        client.close()
        cluster.close()
    return {"read_s": t_read, "run_s": t_run, "peak_mb": peak_rss_mb(), "worker_peak_mb": max(workers.values()),
            "hash": digest(counts)}


CHILDREN = {"local": child_local, "cluster-graph": child_cluster_graph, "cluster-parts": child_cluster_parts,
            "walks-local": child_walks_local, "walks-cluster": child_walks_cluster,
            "orbits-local": child_orbits_local, "orbits-cluster": child_orbits_cluster}


def walks_orbits_table(args, base, n, m, results):
    """The walks and orbits section: local vs cluster, identical results."""
    spec = dict(base, walks_per_node=args.walks_per_node, walk_length=args.walk_length)
    rows = []
    for kind, label in (("walks", f"node2vec walks {args.walks_per_node} x {args.walk_length} (p 0.5, q 2)"),
                        ("orbits", "orbit counts (2-4-node graphlets)")):
        local = run_child(SCRIPT, dict(spec, task=f"{kind}-local"), timeout=3600)
        remote = run_child(SCRIPT, dict(spec, task=f"{kind}-cluster"), timeout=3600)
        results[f"{kind}-local"], results[f"{kind}-cluster"] = local, remote
        rows.append((f"{label}, local 2 threads", local, local))
        rows.append((f"{label}, LocalCluster {args.workers}x1", remote, local))
    lines = [f"Walks and orbits on the Chung-Lu graph of {n:,} nodes / {m:,} edges (load {load_average()})",
             f"{'run':<66} {'read s':>7} {'run s':>8} {'vs local':>9} {'driver MiB':>11} {'worker MiB':>11}"
             f" {'identical':>9}"]
    for label, r, local in rows:
        worker = f"{r['worker_peak_mb']:.0f}" if r.get("worker_peak_mb") else "-"
        same = "yes" if r["hash"] == local["hash"] else "NO"
        lines.append(f"{label:<66} {r['read_s']:>7.2f} {r['run_s']:>8.2f} {r['run_s'] / local['run_s'] - 1:>+9.0%}"
                     f" {r['peak_mb']:>11.0f} {worker:>11} {same:>9}")
    return "\n".join(lines)


def write_graph(n, m, folder, n_files=4):
    import pyarrow as pa
    import pyarrow.parquet as pq

    s, d = chung_lu_edges(n, m, seed=0)
    parts = folder / "parts"
    parts.mkdir()
    cuts = np.linspace(0, m, n_files + 1).astype(int)
    for i in range(n_files):
        pq.write_table(pa.table({"source": s[cuts[i]:cuts[i + 1]], "target": d[cuts[i]:cuts[i + 1]]}),
                       parts / f"edges-{i}.parquet")
    pq.write_table(pa.table({"source": s, "target": d}), folder / "edges.parquet")
    return folder / "edges.parquet", parts


def main():
    parser = benchmark_parser(__doc__)
    parser.add_argument("--quick", action="store_true", help="100k nodes / 1M edges")
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--edges", type=int, default=10_000_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--blocks", type=int, default=None, help="row blocks (default: 2 per worker, more if large)")
    parser.add_argument("--sections", default="fastrp,walks-orbits",
                        help="comma-separated: fastrp (the FastRP table), walks-orbits (walks and orbit counts)")
    parser.add_argument("--walks-per-node", type=int, default=2)
    parser.add_argument("--walk-length", type=int, default=20)
    args = parser.parse_args()
    if serve_child(args, CHILDREN):
        return
    n, m = (100_000, 1_000_000) if args.quick else (args.nodes, args.edges)
    rows, results = [], {"nodes": n, "edges": m, "dim": args.dim, "workers": args.workers}
    with tempfile.TemporaryDirectory() as tmp:
        single, parts = write_graph(n, m, Path(tmp))
        base = {"single": str(single), "parts": str(parts), "dim": args.dim, "workers": args.workers,
                "out": str(Path(tmp) / "emb"), "blocks": args.blocks}
        sections = {x.strip() for x in args.sections.split(",") if x.strip()}
        tables = []
        if "walks-orbits" in sections:
            base_walks = dict(base, out=tmp)
            tables.append(walks_orbits_table(args, base_walks, n, m, results))
        if "fastrp" in sections:
            for label, task in (("local, 2 numba threads", "local"),
                                (f"LocalCluster {args.workers}x1, Graph in the driver", "cluster-graph"),
                                (f"LocalCluster {args.workers}x1, partitioned in and out", "cluster-parts")):
                r = run_child(SCRIPT, dict(base, task=task), timeout=3600)
                results[task] = r
                rows.append((label, r))
    if "fastrp" not in sections:
        table = "\n\n".join(tables)
        print(table)
        write_json(args.json_out, results, table)
        return
    local = results["local"]["embed_s"]
    lines = [f"FastRP dim {args.dim} on a Chung-Lu graph of {n:,} nodes / {m:,} edges (load {load_average()})",
             f"{'run':<48} {'read s':>7} {'embed s':>8} {'vs local':>9} {'driver MiB':>11} {'worker MiB':>11}"
             f" {'identical':>9}"]
    for label, r in rows:
        read = f"{r['read_s']:.2f}" if r.get("read_s") is not None else "-"
        worker = f"{r['worker_peak_mb']:.0f}" if r.get("worker_peak_mb") else "-"
        same = "yes" if r["hash"] == results["local"]["hash"] else "NO"
        lines.append(f"{label:<48} {read:>7} {r['embed_s']:>8.2f} {r['embed_s'] / local - 1:>+9.0%}"
                     f" {r['peak_mb']:>11.0f} {worker:>11} {same:>9}")
    table = "\n\n".join(["\n".join(lines)] + tables)
    print(table)
    write_json(args.json_out, results, table)


if __name__ == "__main__":
    main()
