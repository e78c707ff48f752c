"""node2vec skip-gram settings against Macro-F1, over several seeds (issues #3 and #9).

    python benchmarks/node2vec_quality.py --dataset blogcatalog --seeds 0,1,2 \
        [--settings default,cf2,...] [--scales 1,2,0.5] [--threads 1] [--route auto|iterable|file]
        [--unweighted] [--p P --q Q] [--walk-order node|shuffled|round-shuffled]
        [--jsonl results.jsonl]
    python benchmarks/node2vec_quality.py --dataset blogcatalog --seeds 0,1,2 --pecanpy SparseOTF

For each seed and setting, ``Node2Vec`` (or ``DeepWalk`` when p = q = 1) is fitted with the
node2vec paper's walk settings (10 walks per node, length 80, window 10, dim 128) and the
setting's skip-gram parameters, and scored with ``benchmarks/_node2vec_data.py::macro_f1`` (one-vs-rest
liblinear LR, C = 1, 50% train, 5 splits, top-k). The walks depend only on the seed (and p, q),
so every setting of a seed trains on the same walks. ``--threads 1`` (the default) makes every
fit bit-reproducible and keeps the comparison fair on a shared machine; times are printed but
depend on the machine's load. ``--scales``: the same vectors multiplied by constants are scored
too (the classifier is not scale-invariant, so this separates the vectors' norm from the rest).

Settings (``SETTINGS``): ``default`` is the estimator's defaults; ``cf2`` is the learning-rate
schedule that gensim's ``corpus_file`` mode ran with 2 workers before ``Node2Vec`` scheduled
that route by hand: each worker reads 1/workers of the file but decays its learning rate
against the progress of the WHOLE corpus (``word2vec_corpusfile.pyx``: ``epoch_progress =
total_words / expected_words`` with the worker's own ``total_words``, stopping at
``expected_words / workers``), so with 2 workers alpha only fell from 0.025 to about 0.0125.

Measured 2026-11-27 (3 seeds, 0-2; one worker; mean +- std of Macro-F1):

| setting | BlogCatalog (p = q = 0.25) | PPI (p = 4, q = 1) | Wikipedia (p = 4, q = 0.5) |
|---|---:|---:|---:|
| default (alpha 0.025 -> 1e-4, sample 1e-3) | 0.2386 +- 0.0012 | 0.1827 +- 0.0035 | 0.1112 +- 0.0031 |
| cf2 (alpha 0.025 -> 0.01255) | 0.2514 +- 0.0036 | 0.1737 +- 0.0029 | |
| a0.05 (alpha 0.05 -> 1e-4) | 0.2512 +- 0.0030 | 0.1735 +- 0.0020 | 0.0963 +- 0.0036 |
| sample0 (sample 0) | 0.2377 +- 0.0018 | 0.1815 +- 0.0020 | 0.1237 +- 0.0008 |
| PecanPy SparseOTF walks + its embed() (``--pecanpy SparseOTF``) | 0.2382 +- 0.0012 | | |
| default, vectors x2 | 0.2432 (seeds 0, 1) | 0.1709 (seeds 0, 1) | 0.1263 +- 0.0017 |
| default, vectors x0.5 | 0.2150 (seeds 0, 1) | 0.1874 (seeds 0, 1) | 0.0914 +- 0.0003 |

Papers: 0.2581, 0.1791, 0.1552. Wikipedia, seed 0 only: sample 1e-4 0.0561; weights dropped
(unweighted walks) 0.0976. PPI on the file route with 2 workers (schedule fixed): 0.1870,
0.1813 (seeds 0, 1).

Walk order, BlogCatalog, two gensim workers (``--threads 2 --settings default``, seeds 0-4). A
seed's walks are fixed but with 2 workers its vectors are not, so each seed of the first three
rows and PecanPy's ran two or three times (once with this script, the rest with one-off scripts
making the same calls), of the 81-node row once (one-off script); mean +- std over all fits:

| walks reach gensim | Macro-F1 | fits |
|---|---:|---:|
| round by round, start nodes in index order (``--walk-order node``: ``Node2Vec``) | 0.2378 +- 0.0014 | 15 |
| all shuffled (``--walk-order shuffled``: PecanPy's order) | 0.2356 +- 0.0020 | 10 |
| shuffled within each round (``--walk-order round-shuffled``) | 0.2360 +- 0.0023 | 10 |
| index order, 81 nodes a walk (``--extra '{"walk_length": 81}'``: PecanPy's length) | 0.2372 +- 0.0034 | 5 |
| PecanPy SparseOTF's walks and embed() (``--pecanpy SparseOTF``) | 0.2373 +- 0.0025 | 10 |

PecanPy's ``walk_length=80`` gives walks of 81 nodes; the reference implementation's and ours have
80. One seed's PecanPy embedding scored 0.2417 in one run and 0.2343 in the next.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from _node2vec_data import DATASETS, PAPER_F1, macro_f1, numpy2_aliases, write_edg

# p, q of the node2vec paper's Table 2 settings (as in benchmarks/node2vec.py).
PQ = {"blogcatalog": (0.25, 0.25), "ppi": (4.0, 1.0), "wikipedia": (4.0, 0.5)}

_END_CF2 = 0.025 - (0.025 - 1e-4) / 2  # where corpus_file with 2 workers leaves alpha
SETTINGS = {
    "default": {},
    "cf2": {"alpha": 0.025, "min_alpha": _END_CF2},
    "const": {"alpha": 0.025, "min_alpha": 0.025},
    "a0.05": {"alpha": 0.05, "min_alpha": 1e-4},
    "a0.05-cf2": {"alpha": 0.05, "min_alpha": 0.025},
    "a0.01": {"alpha": 0.01, "min_alpha": 1e-4},
    "a0.1": {"alpha": 0.1, "min_alpha": 1e-4},
    "sample0": {"sample": 0.0},
    "s1e-4": {"sample": 1e-4},
    "s1e-5": {"sample": 1e-5},
    "cf2-sample0": {"alpha": 0.025, "min_alpha": _END_CF2, "sample": 0.0},
    "epochs2": {"epochs": 2},
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="blogcatalog", choices=sorted(DATASETS))
    ap.add_argument("--p", type=float, default=None)
    ap.add_argument("--q", type=float, default=None)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--settings", default="default,cf2,const,a0.05,sample0")
    ap.add_argument("--extra", default=None,
                    help='JSON dict of further parameters for every setting, e.g. \'{"min_count": 1}\'')
    ap.add_argument("--unweighted", action="store_true", help="drop the edge weights (a data choice)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--route", choices=["auto", "iterable", "file"], default="auto",
                    help="how the walks reach gensim (file: gensim's corpus_file mode)")
    ap.add_argument("--splits", type=int, default=5)
    ap.add_argument("--scales", default="1",
                    help="also score the embedding multiplied by these constants (the classifier "
                         "is not scale-invariant: C = 1 on unscaled features), e.g. 1,2,0.5")
    ap.add_argument("--pecanpy", default=None, metavar="MODE",
                    help="instead of the settings: PecanPy's walks (e.g. SparseOTF) and its own "
                         "embed() skip-gram (gensim defaults), one row per seed")
    ap.add_argument("--walk-order", choices=["node", "shuffled", "round-shuffled"], default="node",
                    help="order in which the walks reach gensim (iterable route): node (Node2Vec's: "
                         "round by round, start nodes in index order), shuffled (all walks in one "
                         "random order, as PecanPy), round-shuffled (round by round, start nodes "
                         "in a random order per round)")
    ap.add_argument("--jsonl", default=None, help="append one JSON line per fit")
    args = ap.parse_args()
    if args.walk_order != "node" and args.route == "file":
        ap.error("--walk-order reorders the walks of the iterable route; drop --route file")

    import graphembed as ge
    from graphembed.embed.node2vec import DeepWalk, Node2Vec

    graph, labels = ge.datasets.load_mat(DATASETS[args.dataset])
    if args.unweighted and graph.weights is not None:
        graph = ge.Graph.from_scipy(graph.to_scipy().astype(bool).astype(np.float32), weighted=False,
                                  node_ids=graph.node_ids)
    p0, q0 = PQ[args.dataset]
    p = p0 if args.p is None else args.p
    q = q0 if args.q is None else args.q
    extra = json.loads(args.extra) if args.extra else {}
    seeds = [int(s) for s in args.seeds.split(",")]
    names = args.settings.split(",")
    for name in names:
        if name not in SETTINGS:
            raise SystemExit(f"unknown setting {name!r}; choose from {', '.join(SETTINGS)}")
    scales = [float(x) for x in args.scales.split(",")]
    results = {}
    label = args.dataset + (" (weights dropped)" if args.unweighted else "") \
        + ("" if args.route == "auto" else f" ({args.route} route)") \
        + ("" if args.walk_order == "node" else f" ({args.walk_order} walk order)")
    if args.pecanpy:
        names = [f"PecanPy {args.pecanpy}"]
        SETTINGS[names[0]] = {}
    for seed in seeds:
        for name in names:
            if args.pecanpy:
                t0 = time.perf_counter()
                vectors = pecanpy_embedding(graph, args.pecanpy, p, q, seed, args.threads)
                t_fit = time.perf_counter() - t0
                f1 = macro_f1(vectors, labels, args.splits, n_jobs=args.threads)
                results.setdefault(name, []).append((f1, float(np.linalg.norm(vectors, axis=1).mean())))
                row = dict(dataset=label, p=p, q=q, setting=name, seed=seed, threads=args.threads,
                           macro_f1=f1, fit_s=t_fit, mean_norm=results[name][-1][1])
                print(json.dumps(row), file=sys.stderr, flush=True)
                if args.jsonl:
                    with open(args.jsonl, "a") as f:
                        f.write(json.dumps(row) + "\n")
                continue
            # --extra may override the paper's walk settings too (e.g. walk_length).
            kw = {**dict(dim=128, walks_per_node=10, walk_length=80, window=10, random_state=seed,
                         n_jobs=args.threads), **SETTINGS[name], **extra}
            est = DeepWalk(**kw) if p == q == 1 else Node2Vec(p=p, q=q, **kw)
            est._corpus_route = args.route
            t0 = time.perf_counter()
            if args.walk_order == "node":
                vectors = est.fit(graph).embedding_.vectors
            else:
                vectors = fit_reordered(est, graph, args.walk_order, seed)
            t_fit = time.perf_counter() - t0
            norm = float(np.linalg.norm(vectors, axis=1).mean())
            for scale in scales:
                f1 = macro_f1(vectors * np.float32(scale), labels, args.splits, n_jobs=args.threads)
                key = name if scale == 1 else f"{name} x{scale:g}"
                results.setdefault(key, []).append((f1, norm * scale))
                row = dict(dataset=label, p=p, q=q, setting=key, params={**SETTINGS[name], **extra},
                           scale=scale, seed=seed, threads=args.threads, macro_f1=f1, fit_s=t_fit,
                           mean_norm=norm * scale)
                print(json.dumps(row), file=sys.stderr, flush=True)
                if args.jsonl:
                    with open(args.jsonl, "a") as f:
                        f.write(json.dumps(row) + "\n")
    paper = PAPER_F1.get((args.dataset, p, q))
    print(f"## {label}, p = {p:g}, q = {q:g}, seeds {args.seeds}, {args.threads} thread(s)"
          + (f", extra {extra}" if extra else "") + (f"; paper {paper}" if paper else "") + "\n")
    print("| setting | parameters | Macro-F1 mean | std | per seed | mean vector norm |")
    print("|---|---|---:|---:|---|---:|")
    for key, pairs in results.items():
        v = np.array([f1 for f1, _ in pairs])
        print(f"| {key} | {SETTINGS[key.split(' x')[0]] or 'defaults'} | {v.mean():.4f} | "
              f"{v.std(ddof=1) if len(v) > 1 else 0:.4f} | {', '.join(f'{x:.4f}' for x in v)} | "
              f"{np.mean([n for _, n in pairs]):.2f} |")
    print(f"\nload average {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")


def fit_reordered(est, graph, order, seed):
    """``est.fit`` on the iterable route with the same walks handed to gensim in another order;
    the permutation is drawn with ``np.random.default_rng(seed)``. Returns the vectors."""
    n, rounds = graph.n_nodes, est.walks_per_node
    rng = np.random.default_rng(seed)
    if order == "shuffled":
        perm = rng.permutation(n * rounds)
    else:
        perm = np.concatenate([r * n + rng.permutation(n) for r in range(rounds)])
    make_walks = est._walk_chunk

    def reordered_walks(sampler, walk_seed, start, count, length):
        # The iterable route makes all the walks in one call; perm indexes that whole array.
        assert start == 0 and count == perm.size
        return make_walks(sampler, walk_seed, start, count, length)[perm]

    est._walk_chunk = reordered_walks  # the instance attribute shadows the static method
    est._corpus_route = "iterable"
    return est.fit(graph).embedding_.vectors


def pecanpy_embedding(graph, mode, p, q, seed, threads):
    """PecanPy's walks (``random_state=seed``) and its ``embed()`` skip-gram (gensim defaults)."""
    import tempfile

    numpy2_aliases()
    from gensim.models import Word2Vec
    from pecanpy import pecanpy as pp

    with tempfile.TemporaryDirectory() as tmp:
        edg = Path(tmp) / "graph.edg"
        write_edg(graph, edg)
        g = getattr(pp, mode)(p=p, q=q, workers=threads, random_state=seed)
        g.read_edg(str(edg), weighted=graph.weights is not None, directed=False)
    g.preprocess_transition_probs()
    walks = g.simulate_walks(10, 80)
    w2v = Word2Vec(walks, vector_size=128, window=10, sg=1, min_count=0, workers=threads, epochs=1,
                   seed=seed)
    out = np.zeros((graph.n_nodes, 128), dtype=np.float32)
    for node in g.nodes:
        out[int(node)] = w2v.wv[node]
    return out


if __name__ == "__main__":
    main()
