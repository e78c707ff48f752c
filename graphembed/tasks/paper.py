"""Reproduce the node2vec paper's Table 2 (node classification) and Table 4 Hadamard rows
(link prediction) with graphembed's estimators, next to the published numbers.

A. Grover, J. Leskovec. "node2vec: Scalable Feature Learning for Networks." KDD 2016.
https://arxiv.org/abs/1607.00653

Settings (section 4.1 of the paper): d = 128, r = 10 walks per node, l = 80, k = 10 (window),
one skip-gram epoch. The paper grid-searched p, q in {0.25, 0.5, 1, 2, 4} on 10% labelled data
and does not list the values it found; :data:`DATASETS` holds the p, q used here (the usual
choices of reproductions, overridable), and the table prints them. :func:`select_pq` runs the
paper's selection instead (``run(..., select=True)``): every (p, q) of the grid is fitted and
scored by 10-fold cross-validated Macro-F1 on a random 10% of the labelled nodes.

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


PQ_GRID = (0.25, 0.5, 1.0, 2.0, 4.0)  # the paper's grid for p and for q


def cv_macro_f1(x, labels, folds=10, seed=0, *, C=1.0, n_jobs=None):
    """Macro-F1 (``topk`` protocol) of ``folds``-fold cross-validation on the labelled rows of
    ``x``: the rows are shuffled with ``np.random.default_rng(seed)`` and cut into ``folds``
    near-equal folds; each fold is scored by a one-vs-rest liblinear logistic regression (C = 1,
    no scaling: the Table 2 classifier) trained on the other folds, and the fold Macro-F1 values
    are averaged. Returns (mean, list of per-fold values)."""
    import numpy as np

    from graphembed.tasks.classify import _indicator, fit_and_score

    x = np.asarray(x, dtype=np.float64)
    y = _indicator(labels, x.shape[0])
    keep = y.any(axis=1)
    x, y = x[keep], y[keep]
    if not isinstance(folds, (int, np.integer)) or folds < 2:
        raise InputError(f"folds must be an integer >= 2, got {folds!r}")
    if x.shape[0] < folds:
        raise InputError(f"{x.shape[0]} labelled rows for {folds}-fold cross-validation")
    parts = np.array_split(np.random.default_rng(seed).permutation(x.shape[0]), folds)
    scores = []
    for k, te in enumerate(parts):
        tr = np.concatenate([parts[j] for j in range(folds) if j != k])
        scores.append(fit_and_score(x, y, tr, te, ("topk",), C=C, n_jobs=n_jobs)["topk"][0])
    return float(np.mean(scores)), scores


def select_pq(graph, labels, grid=PQ_GRID, label_fraction=0.1, folds=10, seed=0, *, C=1.0,
              threads=None, log=None, keep_best=False, **node2vec_params):
    """node2vec's p, q chosen as in the paper (section 4.1): grid search over ``grid`` x ``grid``,
    each point scored by ``folds``-fold cross-validated Macro-F1 (:func:`cv_macro_f1`) on a random
    ``label_fraction`` of the labelled nodes.

    Each point fits ``Node2Vec(p=p, q=q, **node2vec_params)`` on the whole graph (unsupervised)
    with ``random_state=seed`` and ``n_jobs=threads``; p = q = 1 uses DeepWalk's first-order
    sampler (Node2Vec does this itself). The labelled sample is drawn with
    ``np.random.default_rng(seed)``. Ties go to the first point in grid order (p, then q).

    Returns a dict: ``p``, ``q``, ``score`` (CV Macro-F1 of the chosen point), ``scores``
    {(p, q): CV Macro-F1} over the whole grid, ``fold_scores`` {(p, q): per-fold list},
    ``fit_seconds`` {(p, q): seconds of the fit}, ``nodes`` (the selection rows, node indices),
    ``grid``, ``folds``, ``label_fraction``, ``seconds`` (whole selection), and with
    ``keep_best`` the chosen point's ``embedding``.
    """
    import numpy as np

    from graphembed.registry import make_embedder
    from graphembed.tasks.classify import _indicator

    grid = tuple(float(v) for v in grid)
    if not grid or any(not v > 0 for v in grid):
        raise InputError(f"grid values must be > 0, got {grid!r}")
    if not 0 < label_fraction <= 1:
        raise InputError(f"label_fraction must be in (0, 1], got {label_fraction!r}")
    y = _indicator(labels, graph.n_nodes)
    labelled = np.flatnonzero(y.any(axis=1))
    n_sel = min(len(labelled), max(folds, int(round(label_fraction * len(labelled)))))
    nodes = np.sort(np.random.default_rng(seed).choice(labelled, size=n_sel, replace=False))
    say = log or (lambda s: None)
    t0 = time.perf_counter()
    scores, fold_scores, fit_seconds = {}, {}, {}
    best, best_emb = None, None
    for p in grid:
        for q in grid:
            t1 = time.perf_counter()
            est = make_embedder("node2vec", {**node2vec_params, "p": p, "q": q}, seed=seed,
                                n_jobs=threads)
            emb = est.fit_transform(graph)
            fit_seconds[(p, q)] = time.perf_counter() - t1
            score, per_fold = cv_macro_f1(emb.vectors[nodes], y[nodes], folds=folds, seed=seed,
                                          C=C, n_jobs=threads)
            scores[(p, q)] = score
            fold_scores[(p, q)] = per_fold
            if best is None or score > scores[best]:
                best = (p, q)
                best_emb = emb if keep_best else None
            say(f"    p={p:g} q={q:g}: CV Macro-F1 {score:.4f} (fit {fit_seconds[(p, q)]:.1f} s, "
                f"{time.perf_counter() - t1:.1f} s in all)")
    out = {"p": best[0], "q": best[1], "score": scores[best], "scores": scores,
           "fold_scores": fold_scores, "fit_seconds": fit_seconds, "nodes": nodes, "grid": grid,
           "folds": int(folds), "label_fraction": float(label_fraction),
           "seconds": time.perf_counter() - t0}
    if keep_best:
        out["embedding"] = best_emb
    return out


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
        pq=None, select=False, log=None, on_row=None):
    """Run the tables; returns a list of row dicts (one per dataset x method, plus heuristics).

    ``pq``: {dataset: (p, q)} overriding :data:`DATASETS`. ``select``: on the Table 2 datasets,
    choose node2vec's p, q with :func:`select_pq` (the paper's protocol: grid {0.25, 0.5, 1, 2,
    4}^2, 10-fold CV Macro-F1 on a random 10% of the labelled nodes, same walk settings and seed)
    and evaluate the chosen point (its fit from the selection is reused); the row gets
    ``pq_selection`` (the grid of CV scores) and ``macro_f1_topk_unseen``: the same splits'
    protocol on the labelled nodes outside the selection sample only. Table 4 keeps its p, q.
    ``quick``: 2 walks of length 20 and one split (a smoke run, not a result). ``log``:
    callable(str) for progress lines; ``on_row``: callable(rows so far) after each row (to save
    partial results).
    """
    from graphembed.registry import make_embedder
    from graphembed.tasks.classify import _indicator, node_classification_protocols
    from graphembed.tasks.linkpred import HEURISTICS, evaluate

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
                    sel = None
                    if select and m == "node2vec":
                        say("  node2vec: selecting p, q (10-fold CV on 10% of the labelled nodes)")
                        walk = {k: v for k, v in params.items() if k not in ("p", "q")}
                        sel = select_pq(graph, labels, seed=seed, threads=threads, log=say,
                                        keep_best=True, **walk)
                        params = {**params, "p": sel["p"], "q": sel["q"]}
                        row["params"] = params
                        row["pq_selection"] = _selection_record(sel)
                        emb = sel["embedding"]
                        row["select_seconds"] = sel["seconds"]
                        row["embed_seconds"] = sel["fit_seconds"][(sel["p"], sel["q"])]
                    else:
                        emb = est.fit_transform(graph)
                        row["embed_seconds"] = time.perf_counter() - t1
                    res = node_classification_protocols(emb.vectors, labels, train=0.5, splits=splits,
                                                        seed=seed, C=1.0, standardize=False,
                                                        n_jobs=threads)
                    for protocol, r in res.items():
                        row[f"macro_f1_{protocol}"] = r["macro_f1"]
                        row[f"micro_f1_{protocol}"] = r["micro_f1"]
                    row["ours"] = row["macro_f1_topk"]
                    if sel is not None:
                        unseen = _indicator(labels, graph.n_nodes).copy()
                        unseen[sel["nodes"]] = False
                        row["macro_f1_topk_unseen"] = node_classification_protocols(
                            emb.vectors, unseen, train=0.5, splits=splits, seed=seed, C=1.0,
                            standardize=False, protocols=("topk",), n_jobs=threads)["topk"]["macro_f1"]
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


def _selection_record(sel):
    """JSON-friendly copy of a :func:`select_pq` result (no embedding; "p,q" string keys)."""
    key = lambda pq: f"{pq[0]:g},{pq[1]:g}"  # noqa: E731
    return {"p": sel["p"], "q": sel["q"], "score": sel["score"],
            "scores": {key(k): v for k, v in sel["scores"].items()},
            "fold_scores": {key(k): v for k, v in sel["fold_scores"].items()},
            "fit_seconds": {key(k): v for k, v in sel["fit_seconds"].items()},
            "grid": list(sel["grid"]), "folds": sel["folds"], "label_fraction": sel["label_fraction"],
            "n_nodes": int(len(sel["nodes"])), "seconds": sel["seconds"]}


def _fmt(v, digits=4):
    return "n/a" if v is None else f"{v:.{digits}f}"


def _pq(row):
    p = row["params"]
    how = " (CV-selected)" if "pq_selection" in row else ""
    return f"{p['p']:g}, {p['q']:g}{how}" if "p" in p else ("1, 1" if row["method"] == "deepwalk" else "")


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
        sel_rows = [r for r in t2 if "pq_selection" in r]
        if sel_rows:
            s0 = sel_rows[0]["pq_selection"]
            out += [f"node2vec p, q selected as in the paper: every (p, q) in "
                    f"{{{', '.join(f'{v:g}' for v in s0['grid'])}}}^2 fitted with the table's walk "
                    f"settings and seed, scored by {s0['folds']}-fold cross-validated Macro-F1 (topk, "
                    f"same classifier) on a random {s0['label_fraction']:.0%} of the labelled nodes; the "
                    f"chosen fit is the one evaluated above. \"unseen\": the same 50% splits restricted to "
                    f"the labelled nodes outside the selection sample.", ""]
            for r in sel_rows:
                s = r["pq_selection"]
                grid = s["grid"]
                out += [f"{r['label']}: chose p = {s['p']:g}, q = {s['q']:g} (CV Macro-F1 "
                        f"{s['score']:.4f} on {s['n_nodes']} nodes; selection {s['seconds']:.0f} s); test Macro-F1 "
                        f"{r['ours']:.4f}, unseen nodes only {r['macro_f1_topk_unseen']:.4f}", "",
                        "| p \\ q | " + " | ".join(f"{q:g}" for q in grid) + " |",
                        "|---|" + "---|" * len(grid)]
                for p in grid:
                    cells = []
                    for q in grid:
                        v = s["scores"][f"{p:g},{q:g}"]
                        cells.append(f"**{v:.4f}**" if (p, q) == (s["p"], s["q"]) else f"{v:.4f}")
                    out.append(f"| {p:g} | " + " | ".join(cells) + " |")
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
