"""Plots: 2-D maps of embeddings and ROC curves (matplotlib, Agg backend, PNG files).

The 2-D map uses UMAP (McInnes et al. 2018) when ``umap-learn`` is installed, else t-SNE
(van der Maaten & Hinton 2008, scikit-learn), else PCA on request. Large embeddings are
subsampled (``max_points``, default 5,000) before the reduction so that a 10,000-node graph stays
readable and fast; the title says how many points are shown.
"""
import numpy as np

from graphembed.io.errors import InputError
from graphembed.params import REDUCERS  # one list, shared with the CLI

MAX_LEGEND = 12
# The steps of plot_embedding's progress bar.
PLOT_STAGES = ("subsample", "2-D map", "draw", "write PNG")
HEURISTIC_NAMES = ("common_neighbors", "jaccard", "adamic_adar", "preferential_attachment")


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise ImportError("plots need matplotlib: pip install 'graphembed[plot]'") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path):
    from graphembed.io.atomic import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(str(tmp), format="png", dpi=120, bbox_inches="tight")


def reduce_2d(vectors, reducer="auto", seed=0):
    """(n, 2) coordinates and the name of the reducer used."""
    x = np.asarray(vectors, dtype=np.float64)
    n, dim = x.shape
    if reducer not in REDUCERS:
        raise InputError(f"unknown reducer {reducer!r}; choose from {', '.join(REDUCERS)}")
    if dim <= 2:
        out = np.zeros((n, 2))
        out[:, :dim] = x
        return out, "raw"
    if n < 4:
        reducer = "pca"
    if reducer in ("auto", "umap"):
        import importlib.util

        have_umap = importlib.util.find_spec("umap") is not None
        if reducer == "umap" and not have_umap:
            raise InputError("--reducer umap needs umap-learn: pip install umap-learn")
        # UMAP needs more points than its 15 neighbours; t-SNE otherwise
        reducer = "umap" if have_umap and n > 16 else "tsne"
    if reducer == "umap":
        import umap

        return umap.UMAP(n_components=2, random_state=seed).fit_transform(x), "UMAP"
    if reducer == "tsne":
        from sklearn.decomposition import PCA
        from sklearn.manifold import TSNE

        if dim > 50 and n > 50:  # the usual PCA-to-50 step before t-SNE
            x = PCA(n_components=50, random_state=seed).fit_transform(x)
        perplexity = float(min(30.0, max(2.0, (n - 1) / 3)))
        # exact gradients for small maps: Barnes-Hut's threaded kernel costs more than it saves there
        method = "exact" if n <= 300 else "barnes_hut"
        return TSNE(n_components=2, perplexity=perplexity, init="pca", method=method,
                    random_state=seed).fit_transform(x), "t-SNE"
    from sklearn.decomposition import PCA

    return PCA(n_components=2, random_state=seed).fit_transform(x), "PCA"


def plot_embedding(embedding, path, labels=None, *, reducer="auto", max_points=5000, seed=0, title=None,
                   verbose=False):
    """Scatter plot of a 2-D map of ``embedding`` into the PNG ``path``.

    Parameters
    ----------
    embedding : Embedding (or a path to an embedding file).
    labels : None, or a sequence of one label per row of the embedding (None/NaN: unlabelled),
        or a dict {node id: label}. The 12 most frequent labels get colours and a legend entry,
        the rest are grey ("other").
    reducer : ``auto`` (UMAP if installed, else t-SNE), ``umap``, ``tsne`` or ``pca``.
    max_points : embeddings with more rows are randomly subsampled to this many points.
    verbose : a progress bar on stderr (only when it is a terminal) over the stages of
        ``PLOT_STAGES``. scikit-learn's t-SNE has no progress callback (and umap-learn's
        ``verbose`` prints log lines on stdout), so during the 2-D map the bar only ticks its
        elapsed time, refreshed every second from a thread; the computation is untouched.

    Returns a dict: path, reducer, points shown, nodes.
    """
    from graphembed.embedding import Embedding

    if not isinstance(embedding, Embedding):
        embedding = Embedding.load(embedding)
    n = len(embedding)
    if n == 0:
        raise InputError("the embedding is empty; nothing to plot")
    if max_points < 2:
        raise InputError(f"max_points must be >= 2, got {max_points}")
    if isinstance(labels, dict):
        lab = np.array([labels.get(v) for v in embedding.node_ids.tolist()], dtype=object)
    elif labels is not None:
        lab = np.asarray(labels, dtype=object)
        if lab.shape[0] != n:
            raise InputError(f"{lab.shape[0]} labels for {n} embedded nodes")
    else:
        lab = None
    from graphembed.base import progress

    with progress(len(PLOT_STAGES), "plot", verbose) as bar:
        bar.set_postfix_str(PLOT_STAGES[0], refresh=False)
        return _plot_embedding(embedding, path, lab, reducer, max_points, seed, title, bar)


def _next_stage(bar):
    bar.update(1)
    if bar.n < len(PLOT_STAGES):
        bar.set_postfix_str(PLOT_STAGES[bar.n])


class _Ticking:
    """Refresh ``bar`` every ``interval`` seconds from a daemon thread while the block runs, so
    its elapsed time moves during a step that reports nothing (no-op when the bar is off)."""

    def __init__(self, bar, interval=1.0):
        self.bar, self.interval = bar, interval

    def __enter__(self):
        import threading

        self._stop = threading.Event()
        self._thread = None
        if not self.bar.disable:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(self.interval):
            self.bar.refresh()

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return False


def _plot_embedding(embedding, path, lab, reducer, max_points, seed, title, bar):
    n = len(embedding)
    rows = np.arange(n)
    if n > max_points:
        rows = np.sort(np.random.default_rng(seed).choice(n, max_points, replace=False))
    _next_stage(bar)
    with _Ticking(bar):
        xy, used = reduce_2d(embedding.vectors[rows], reducer, seed)
    _next_stage(bar)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 7))
    size = float(np.clip(12000.0 / len(rows), 4, 60))  # marker area (pt^2): larger when sparse
    if lab is None:
        ax.scatter(xy[:, 0], xy[:, 1], s=size, alpha=0.7, linewidths=0, color="tab:blue", label="node")
    else:
        shown = lab[rows]
        known = np.array([v is not None and not (isinstance(v, float) and np.isnan(v)) for v in shown])
        values, counts = np.unique(np.array([str(v) for v in shown[known]]), return_counts=True)
        order = values[np.argsort(-counts, kind="stable")]
        top = list(order[:MAX_LEGEND])
        cmap = plt.get_cmap("tab20" if len(top) > 10 else "tab10")
        as_str = np.array([str(v) for v in shown])
        rest = ~np.isin(as_str, top) | ~known
        if rest.any():
            name = "unlabelled" if not known[rest].any() else "other"
            ax.scatter(xy[rest, 0], xy[rest, 1], s=size, alpha=0.4, linewidths=0, color="lightgrey",
                       label=f"{name} ({int(rest.sum())})")
        for i, value in enumerate(top):
            sel = (as_str == value) & known
            ax.scatter(xy[sel, 0], xy[sel, 1], s=size, alpha=0.8, linewidths=0, color=cmap(i % cmap.N),
                       label=f"{value} ({int(sel.sum())})")
        ax.legend(title="label (nodes shown)", loc="best", fontsize="small", markerscale=max(1.0, 20 / size),
                  framealpha=0.8)
    method = embedding.method or "embedding"
    sub = f", {len(rows):,} of {n:,} nodes shown" if len(rows) < n else f", {n:,} nodes"
    ax.set_title(title or f"{method} embedding ({embedding.dim}-d): {used}{sub}")
    ax.set_xlabel(f"{used} 1")
    ax.set_ylabel(f"{used} 2")
    _next_stage(bar)
    _save(fig, path)
    plt.close(fig)
    _next_stage(bar)
    return {"path": str(path), "reducer": used, "points": int(len(rows)), "nodes": int(n)}


def plot_roc(scores, path, title="ROC curves"):
    """ROC curves into the PNG ``path``; ``scores`` is {name: (y_true, score)} (as returned by
    ``linkpred.evaluate(..., return_scores=True)["scores"]``); heuristics are drawn dotted."""
    from sklearn.metrics import roc_auc_score, roc_curve

    if not scores:
        raise InputError("no scores to plot")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 6))
    for name, (y, s) in scores.items():
        fpr, tpr, _ = roc_curve(y, s)
        style = ":" if name in HEURISTIC_NAMES else "-"
        ax.plot(fpr, tpr, lw=1.5, ls=style, label=f"{name} (AUC {roc_auc_score(y, s):.3f})")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="chance (AUC 0.5)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize="small")
    _save(fig, path)
    plt.close(fig)
    return {"path": str(path)}
