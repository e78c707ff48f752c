"""Reproduce the node2vec paper's Table 2 (node classification) and Table 4 Hadamard rows
(link prediction) with graphembed's estimators, next to the published numbers.

A. Grover, J. Leskovec. "node2vec: Scalable Feature Learning for Networks." KDD 2016.
https://arxiv.org/abs/1607.00653

Settings (section 4.1 of the paper): d = 128, r = 10 walks per node, l = 80, k = 10 (window),
one skip-gram epoch. The paper grid-searched p, q in {0.25, 0.5, 1, 2, 4} on 10% labelled data
and does not list the values it found; :data:`DATASETS` holds the p, q used here (the usual
choices of reproductions, overridable), and the table prints them.

Table 2: Macro-F1 with 50% of the nodes labelled for training, one-vs-rest logistic regression,
each test node given its true number of labels (``topk``: the papers' protocol; the classifier
is that of DeepWalk's ``scoring.py``: liblinear, C = 1, no scaling), averaged over ``splits``
random splits. Next to it, from the same fits: the realistic ``threshold`` protocol.

Table 4: ROC-AUC of the Hadamard operator, 50% of the edges held out (see
:func:`graphembed.tasks.linkpred.evaluate`), with the four heuristics on the same pairs.

Data (``/work/shared/datasets/raw`` in this project): ``blogcatalog.mat``, ``Homo_sapiens.mat``
(PPI), ``POS.mat`` (Wikipedia), ``facebook_combined.txt``, ``ca-AstroPh.header-nm.txt`` (the
paper's "arXiv"; its first line ``18772 198110`` is a header, not an edge). node2vec's
link-prediction PPI is a larger BioGRID graph that is not available, so that column is left out.
"""
import time
from pathlib import Path

from graphembed.io.errors import InputError

# name -> file, kind, the p, q used for node2vec, label
DATASETS = {
    "blogcatalog": {"file": "blogcatalog.mat", "table": 2, "label": "BlogCatalog", "p": 0.25, "q": 0.25},
    "ppi": {"file": "Homo_sapiens.mat", "table": 2, "label": "PPI", "p": 4.0, "q": 1.0},
    "wikipedia": {"file": "POS.mat", "table": 2, "label": "Wikipedia", "p": 4.0, "q": 0.5},
    "facebook": {"file": "facebook_combined.txt", "table": 4, "label": "Facebook", "p": 1.0, "q": 0.5,
                 "skip": 0},
    "arxiv": {"file": "ca-AstroPh.header-nm.txt", "table": 4, "label": "arXiv (ca-AstroPh)", "p": 1.0,
              "q": 0.5, "skip": 1},
}
METHODS = ("deepwalk", "line", "node2vec", "fastrp")

# Published cells. "verified": checked against a copy of the paper's numbers found with the
# search tool; "unverified": from the brief / memory, not found in a source we could read.
PUBLISHED = {
    ("blogcatalog", "deepwalk"): (0.2110, "verified (PaddlePaddle PGL docs quote 0.211)"),
    ("ppi", "deepwalk"): (0.1768, "unverified"),
    ("wikipedia", "deepwalk"): (0.1274, "verified (paperswithcode listing of the paper)"),
    ("blogcatalog", "line"): (0.0784, "unverified"),
    ("ppi", "line"): (0.1447, "unverified"),
    ("wikipedia", "line"): (0.1164, "unverified"),
    ("blogcatalog", "node2vec"): (0.2581, "verified (PGL docs quote 0.258)"),
    ("ppi", "node2vec"): (0.1791, "verified (replication report quoting the paper)"),
    ("wikipedia", "node2vec"): (0.1552, "verified (paperswithcode listing of the paper)"),
    ("facebook", "deepwalk"): (0.9680, "unverified"),
    ("arxiv", "deepwalk"): (0.9340, "verified (PGL docs quote 0.9340)"),
    ("facebook", "line"): (0.9490, "unverified"),
    ("arxiv", "line"): (0.8902, "unverified"),
    ("facebook", "node2vec"): (0.9680, "unverified (value given in the issue)"),
    ("arxiv", "node2vec"): (0.9366, "verified (PGL docs quote 0.9366)"),
}

FASTRP_CLASSIFY = {"iteration_weights": [1.0, 1.0, 7.81, 45.28], "normalization_strength": -0.628}


def method_params(method, dataset, quick=False, pq=None):
    """Estimator parameters of ``method`` on ``dataset`` (node2vec paper settings)."""
    walks = {"dim": 128, "walks_per_node": 2 if quick else 10, "walk_length": 20 if quick else 80,
             "window": 10}
    if method == "deepwalk":
        return dict(walks)
    if method == "node2vec":
        p, q = (pq or {}).get(dataset, (DATASETS[dataset]["p"], DATASETS[dataset]["q"]))
        return {**walks, "p": float(p), "q": float(q)}
    if method == "line":
        return {"dim": 128}
    if method == "fastrp":
        # the FastRP paper's BlogCatalog setting for classification; library defaults for links
        return {"dim": 128, **(FASTRP_CLASSIFY if DATASETS[dataset]["table"] == 2 else {})}
    return {}


def load_dataset(data_dir, name):
    """(Graph, labels or None) of one dataset in ``data_dir``."""
    info = DATASETS[name]
    path = Path(data_dir) / info["file"]
    if not path.exists():
        raise InputError(f"{path}: not found (expected the node2vec benchmark files in {data_dir})")
    if info["table"] == 2:
        from graphembed.datasets import load_mat

        return load_mat(path)
    import pyarrow.csv as pacsv

    from graphembed.graph import Graph

    table = pacsv.read_csv(str(path), read_options=pacsv.ReadOptions(
        column_names=["u", "v"], skip_rows=info.get("skip", 0)),
        parse_options=pacsv.ParseOptions(delimiter=" "))
    src = table.column("u").to_numpy()
    dst = table.column("v").to_numpy()
    graph = Graph.from_edges(src, dst, source=str(path))
    return graph, None


def _available(method):
    from graphembed.registry import get_embedder

    try:
        get_embedder(method)
        return True, None
    except Exception as exc:  # not registered or not importable yet
        return False, f"{type(exc).__name__}: {exc}"


def run(data_dir, datasets=None, methods=METHODS, *, splits=5, seed=0, threads=None, quick=False,
        pq=None, log=None, on_row=None):
    """Run the tables; returns a list of row dicts (one per dataset x method, plus heuristics).

    ``pq``: {dataset: (p, q)} overriding :data:`DATASETS`. ``quick``: 2 walks of length 20 and
    one split (a smoke run, not a result). ``log``: callable(str) for progress lines;
    ``on_row``: callable(rows so far) after each row (to save partial results).
    """
    from graphembed.tasks.classify import node_classification_protocols
    from graphembed.tasks.linkpred import HEURISTICS, evaluate, make_embedder

    datasets = list(datasets or DATASETS)
    for d in datasets:
        if d not in DATASETS:
            raise InputError(f"unknown dataset {d!r}; choose from {', '.join(DATASETS)}")
    for m in methods:
        if m not in METHODS:
            raise InputError(f"unknown method {m!r}; choose from {', '.join(METHODS)}")
    if quick:
        splits = 1
    rows = []
    say = log or (lambda s: None)
    for d in datasets:
        info = DATASETS[d]
        t0 = time.perf_counter()
        graph, labels = load_dataset(data_dir, d)
        load_s = time.perf_counter() - t0
        say(f"{info['label']}: {graph.n_nodes} nodes, {graph.n_edges} edges (read {load_s:.1f} s)")
        heur_done = False
        for m in methods:
            params = method_params(m, d, quick, pq)
            row = {"table": info["table"], "dataset": d, "label": info["label"], "method": m,
                   "params": params, "published": PUBLISHED.get((d, m), (None, None))[0],
                   "published_source": PUBLISHED.get((d, m), (None, "not in the paper"))[1]}
            ok, why = _available(m)
            if not ok:
                row["missing"] = why
                rows.append(row)
                say(f"  {m}: missing ({why})")
                continue
            t1 = time.perf_counter()
            try:
                est = make_embedder(m, params, seed=seed, n_jobs=threads)
                if info["table"] == 2:
                    emb = est.fit_transform(graph)
                    row["embed_seconds"] = time.perf_counter() - t1
                    res = node_classification_protocols(emb.vectors, labels, train=0.5, splits=splits,
                                                        seed=seed, C=1.0, standardize=False,
                                                        n_jobs=threads)
                    for protocol, r in res.items():
                        row[f"macro_f1_{protocol}"] = r["macro_f1"]
                        row[f"micro_f1_{protocol}"] = r["micro_f1"]
                    row["ours"] = row["macro_f1_topk"]
                else:
                    res = evaluate(graph, est, holdout=0.5, operators=("hadamard",), seed=seed,
                                   heuristics=() if heur_done else HEURISTICS)
                    row["embed_seconds"] = res["embed_seconds"]
                    row["ours"] = res["operators"]["hadamard"]["auc"]
                    row["ap"] = res["operators"]["hadamard"]["ap"]
                    if not heur_done:
                        heur_done = True
                        for h, r in res["heuristics"].items():
                            rows.append({"table": 4, "dataset": d, "label": info["label"], "method": h,
                                         "params": {}, "published": None,
                                         "published_source": "not copied", "ours": r["auc"],
                                         "ap": r["ap"], "heuristic": True})
            except MemoryError:
                row["missing"] = "out of memory"
            row["seconds"] = time.perf_counter() - t1
            rows.append(row)
            if on_row is not None:
                on_row(rows)
            say(f"  {m}: {row.get('ours', float('nan')):.4f} (paper {row['published']}) "
                f"in {row['seconds']:.1f} s")
    return rows


def _fmt(v, digits=4):
    return "n/a" if v is None else f"{v:.{digits}f}"


def _pq(row):
    p = row["params"]
    return f"{p['p']:g}, {p['q']:g}" if "p" in p else ("1, 1" if row["method"] == "deepwalk" else "")


def _lead_cells(r, name):
    """The cells every row starts with: dataset, method, p/q, ours, published, difference."""
    pub = r["published"]
    mark = " (unverified)" if "unverified" in (r["published_source"] or "") else ""
    diff = "" if pub is None else f"{r['ours'] - pub:+.4f}"
    return f"| {r['label']} | {name} | {_pq(r)} | {r['ours']:.4f} | {_fmt(pub)}{mark} | {diff} |"


def _missing_row(r, name, n_empty):
    """A method that did not run: no figures, ``n_empty`` + 1 empty cells after the published one."""
    return f"| {r['label']} | {name} | {_pq(r)} | missing | {_fmt(r['published'])} |" + " |" * (n_empty + 1)


def markdown(rows):
    """The two tables as markdown text."""
    out = []
    t2 = [r for r in rows if r["table"] == 2]
    t4 = [r for r in rows if r["table"] == 4]
    if t2:
        out += ["### node2vec paper, Table 2: Macro-F1, 50% labelled (topk protocol)", "",
                "| dataset | method | p, q | Macro-F1 (ours) | published | ours - published | "
                "Micro-F1 (ours) | Macro-F1, threshold protocol | embed s | total s |",
                "|---|---|---|---|---|---|---|---|---|---|"]
        for r in t2:
            if "missing" in r:
                out.append(_missing_row(r, r["method"], 4))
                continue
            out.append(f"{_lead_cells(r, r['method'])} {r['micro_f1_topk']:.4f} | "
                       f"{r['macro_f1_threshold']:.4f} | {r['embed_seconds']:.1f} | {r['seconds']:.1f} |")
        out.append("")
    if t4:
        out += ["### node2vec paper, Table 4: link prediction ROC-AUC, Hadamard operator, 50% of edges held out", "",
                "| dataset | method | p, q | AUC (ours) | published | ours - published | AP (ours) | embed s | total s |",
                "|---|---|---|---|---|---|---|---|---|"]
        for r in t4:
            if "missing" in r:
                out.append(_missing_row(r, r["method"], 3))
                continue
            name = r["method"] + (" (heuristic)" if r.get("heuristic") else "")
            emb_s = f"{r['embed_seconds']:.1f}" if "embed_seconds" in r else ""
            tot_s = f"{r['seconds']:.1f}" if "seconds" in r else ""
            out.append(f"{_lead_cells(r, name)} {r['ap']:.4f} | {emb_s} | {tot_s} |")
        out.append("")
    return "\n".join(out)
