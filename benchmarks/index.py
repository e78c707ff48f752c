"""Index benchmark: build time, size, queries/s and recall@10 of Flat, HNSW32 and IVF.

    python benchmarks/index.py [--sets blog,1m,1m-communities] [--threads 2] [--queries 10000] [--n 1000000]

Embeddings: FastRP (dim 128, BlogCatalog parameters) of BlogCatalog, and FastRP (dim 128, default
parameters) of a generated power-law graph of ``--n`` nodes and 10 edges per node. Queries are
``index.neighbors`` of random indexed nodes (each excluding itself, k = 10) in one batch; recall@10
is against exact search on 1,000 sampled nodes. Target: recall@10 >= 0.95 at >= 5,000 queries/s
with HNSW on 1M vectors and 2 threads. ``--factories auto`` measures what ``index="auto"`` builds,
at its stored default search parameter first.
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BLOG = ROOT.parent / "shared" / "datasets" / "raw" / "blogcatalog.mat"
BLOG_PARAMS = dict(dim=128, iteration_weights=[1.0, 1.0, 7.81, 45.28], normalization_strength=-0.628)


def power_law_graph(n, edges_per_node=10, exponent=0.8, seed=0):
    """Undirected Chung-Lu style graph: endpoints drawn with weight ~ (i+1)^-exponent, ids shuffled."""
    import scipy.sparse as sp

    import graphembed as ge

    rng = np.random.default_rng(seed)
    m = n * edges_per_node
    a = 1.0 - exponent
    hi = (n + 1) ** a - 1

    def draw():
        return (np.floor((1 + rng.random(m) * hi) ** (1 / a)) - 1).clip(0, n - 1).astype(np.int64)

    label = rng.permutation(n)
    src, dst = label[draw()], label[draw()]
    keep = src != dst
    adj = sp.coo_matrix((np.ones(keep.sum(), np.float32), (src[keep], dst[keep])), shape=(n, n)).tocsr()
    adj = ((adj + adj.T) > 0).astype(np.float32)
    return ge.Graph.from_scipy(adj.tocsr(), directed=False)


def community_graph(n, size=100, inside=10, outside=1, seed=0):
    """Undirected planted-partition graph: n / size communities; each node draws ``inside``
    partners in its own community and ``outside`` anywhere (ids shuffled)."""
    import scipy.sparse as sp

    import graphembed as ge

    rng = np.random.default_rng(seed)
    node = np.arange(n)
    src = np.concatenate([np.repeat(node, inside), np.repeat(node, outside)])
    start = (np.repeat(node, inside) // size) * size
    dst = np.concatenate([start + rng.integers(0, size, n * inside), rng.integers(0, n, n * outside)])
    dst = np.minimum(dst, n - 1)
    label = rng.permutation(n)
    src, dst = label[src], label[dst]
    keep = src != dst
    adj = sp.coo_matrix((np.ones(keep.sum(), np.float32), (src[keep], dst[keep])), shape=(n, n)).tocsr()
    adj = ((adj + adj.T) > 0).astype(np.float32)
    return ge.Graph.from_scipy(adj.tocsr(), directed=False)


def embed(name, n):
    import graphembed as ge

    t0 = time.perf_counter()
    if name == "blog":
        graph = ge.read_graph(str(BLOG))
        emb = ge.FastRP(**BLOG_PARAMS, random_state=0).fit_transform(graph)
        label = f"BlogCatalog FastRP ({len(emb):,} x {emb.dim})"
    elif name == "1m-communities":
        graph = community_graph(n)
        emb = ge.FastRP(dim=128, random_state=0).fit_transform(graph)
        label = f"planted-partition graph (communities of 100) FastRP ({len(emb):,} x {emb.dim})"
    else:
        graph = power_law_graph(n)
        emb = ge.FastRP(dim=128, random_state=0).fit_transform(graph)
        label = f"power-law graph FastRP ({len(emb):,} x {emb.dim})"
    print(f"# {label}: embedded in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    return emb, label


def dir_size(path):
    return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))


def measure(emb, factory, n_queries, ef_list, nprobe_list, tmp):
    from graphembed.index import EmbeddingIndex

    t0 = time.perf_counter()
    idx = EmbeddingIndex.build(emb, factory, "cosine")
    build = time.perf_counter() - t0
    path = os.path.join(tmp, "bench.index")
    idx.save(path)
    size = dir_size(path)
    idx = EmbeddingIndex.load(path)
    rng = np.random.default_rng(1)
    queries = emb.node_ids[rng.choice(len(emb), min(n_queries, len(emb)), replace=False)].tolist()
    settings = [{}]
    if "HNSW" in idx.factory:
        settings = [{"ef_search": ef} for ef in ef_list]
    elif "IVF" in idx.factory:
        settings = [{"nprobe": p} for p in nprobe_list]
    if factory == "auto" and settings != [{}]:
        settings = [{}] + settings  # the stored default first
    rows = []
    for s in settings:
        idx.neighbors(queries[:100], k=10, **s)  # warm up
        t0 = time.perf_counter()
        idx.neighbors(queries, k=10, **s)
        qps = len(queries) / (time.perf_counter() - t0)
        recall = idx.recall(10, 1000, **s) if factory != "Flat" else 1.0
        param = ", ".join(f"{k}={v}" for k, v in s.items()) or "-"
        if not s and idx.meta.get("search_defaults"):
            param = "default: " + ", ".join(f"{k}={v}" for k, v in idx.meta["search_defaults"].items())
        name = f"auto = {idx.factory}" if factory == "auto" else idx.factory
        rows.append((name, param, build, size, qps, recall))
        print(f"#   {idx.factory} {param}: {qps:,.0f} q/s, recall {recall:.3f}", file=sys.stderr, flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default="blog,1m")
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--factories", default="Flat,HNSW32,IVF",
                    help="comma-separated: auto, Flat, HNSW32, HNSW48, IVF (IVF{4 sqrt n},Flat), or "
                         "any faiss factory string without commas")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--queries", type=int, default=10_000)
    ap.add_argument("--flat-queries-large", type=int, default=1000,
                    help="Queries for exact search on the large set (it scans every vector).")
    args = ap.parse_args()
    import faiss

    faiss.omp_set_num_threads(args.threads)
    print(f"faiss {faiss.__version__}, {args.threads} threads, {os.cpu_count()} cores visible, "
          f"load average at start {os.getloadavg()[0]:.2f}\n")
    for name in args.sets.split(","):
        emb, label = embed(name, args.n)
        n = len(emb)
        nlist = int(np.ceil(4 * np.sqrt(n)))
        factories = [f"IVF{nlist},Flat" if f == "IVF" else f for f in args.factories.split(",")]
        print(f"### {label}, metric cosine, k = 10\n")
        print("| index | search parameter | build s | size MiB | queries/s | recall@10 |")
        print("|---|---|---:|---:|---:|---:|")
        with tempfile.TemporaryDirectory(dir=ROOT.parent / "tmp" if (ROOT.parent / "tmp").is_dir() else None) as tmp:
            for factory in factories:
                nq = args.flat_queries_large if factory == "Flat" and n > 100_000 else args.queries
                for f, p, b, s, q, r in measure(emb, factory, nq, [16, 32, 64, 128, 256], [8, 16, 32, 64], tmp):
                    print(f"| {f} | {p} | {b:.1f} | {s / 2**20:.1f} | {q:,.0f} | {r:.3f} |", flush=True)
        print()
        del emb


if __name__ == "__main__":
    main()
