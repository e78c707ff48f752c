"""Node classification on embeddings: one-vs-rest logistic regression, Macro- and Micro-F1.

Protocol of DeepWalk (Perozzi et al., KDD 2014), node2vec (Grover & Leskovec, KDD 2016) and
FastRP (Chen et al., CIKM 2019): the labelled nodes are split at random into a training share and a
test share, a one-vs-rest logistic regression (liblinear) is trained on the (standardised)
embedding rows, and F1 is averaged over several random splits.

Two ways to turn decision values into labels:

* ``topk``: each test node gets as many labels as it truly has (its ``k`` highest decision
  values). This is what those papers report; it uses the true label count of the test node, which
  is not available in practice (Lin et al., "On the Use of Unrealistic Predictions in Hundreds of
  Papers Evaluating Graph Representations", AAAI 2022, https://arxiv.org/abs/2112.04274).
* ``threshold``: label ``j`` is predicted when its probability is at least 0.5 (decision value
  >= 0), the realistic setting that paper recommends; a node may get no label.

For single-label data (every labelled node has exactly one label) both protocols predict the
label with the highest decision value (the multi-class rule), so they coincide.

F1 follows scikit-learn with ``zero_division=0``: per label F1 = 2TP / (2TP + FP + FN), 0 when
that denominator is 0; Macro-F1 averages it over every label column, Micro-F1 is
2 sum TP / (2 sum TP + sum FP + sum FN).
"""
import warnings

import numpy as np

from graphembed.io.errors import InputError
from graphembed.io.nodes import Labels, read_labels  # noqa: F401 - read_labels is re-exported (graphembed.tasks.classify.read_labels)
from graphembed.params import CLASSIFY_PROTOCOLS as PROTOCOLS  # one list, shared with the CLI


# ---------------------------------------------------------------------------- prediction rules
def top_k_predict(scores, counts):
    """Binary (n, c) predictions: each row's ``counts[i]`` highest scores (ties: lower column first)."""
    scores = np.asarray(scores)
    pred = np.zeros(scores.shape, dtype=bool)
    order = np.argsort(-scores, axis=1, kind="stable")
    counts = np.asarray(counts, dtype=np.int64)
    for k in np.unique(counts):
        rows = np.flatnonzero(counts == k)
        if k > 0:
            pred[rows[:, None], order[rows, :k]] = True
    return pred


def threshold_predict(scores, multilabel=True):
    """Binary predictions from decision values: ``scores >= 0`` (probability >= 0.5) for
    multi-label data, the arg-max column for single-label data."""
    scores = np.asarray(scores)
    if multilabel:
        return scores >= 0
    pred = np.zeros(scores.shape, dtype=bool)
    pred[np.arange(scores.shape[0]), scores.argmax(axis=1)] = True
    return pred


def f1_macro_micro(y_true, y_pred):
    """(Macro-F1, Micro-F1) of binary indicator matrices (scikit-learn, zero_division=0)."""
    from sklearn.metrics import f1_score

    return (float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
            float(f1_score(y_true, y_pred, average="micro", zero_division=0)))


def split_indices(n, train, seed, split):
    """(train rows, test rows) of split number ``split``: a permutation from
    ``np.random.default_rng(seed + split)``; the first ``round(train * n)`` rows train."""
    perm = np.random.default_rng(seed + split).permutation(n)
    n_train = int(round(train * n))
    n_train = min(max(n_train, 1), n - 1)
    return perm[:n_train], perm[n_train:]


# ---------------------------------------------------------------------------- the protocol
def node_classification(x, labels, train=0.5, splits=5, protocol="topk", seed=0, *, C=0.1,
                        standardize=True, n_jobs=None):
    """Mean Macro- and Micro-F1 of one-vs-rest logistic regression over random splits.

    Parameters
    ----------
    x : array (n, dim) of node vectors (or an Embedding).
    labels : bool array (n, n_classes) (multi-label indicators), an int/str array (n,) of one
        label per node (None or -1: unlabelled), or a :class:`Labels`. Unlabelled rows are left
        out of training and testing.
    train : share of the labelled nodes used for training in each split.
    splits : number of random splits (split ``s`` uses ``np.random.default_rng(seed + s)``).
    protocol : ``topk`` (paper protocol: true label count of each test node) or ``threshold``
        (realistic: probability >= 0.5; arg-max for single-label data).
    C : inverse regularisation of the liblinear logistic regression (0.1, as in
        ``benchmarks/fastrp.py``).
    standardize : scale each embedding column to zero mean and unit variance first.
    n_jobs : parallel one-vs-rest fits (None: 1).

    Returns
    -------
    dict: ``macro_f1``, ``micro_f1`` (means), ``macro_f1_std``, ``micro_f1_std``, per-split lists
    ``macro_f1_splits``, ``micro_f1_splits``, ``protocol``, ``multilabel``, ``nodes``
    (labelled), ``classes``, ``train``, ``splits``, ``protocol_note``.
    """
    if protocol not in PROTOCOLS:
        raise InputError(f"protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    return node_classification_protocols(x, labels, train, splits, (protocol,), seed, C=C,
                                         standardize=standardize, n_jobs=n_jobs)[protocol]


def node_classification_protocols(x, labels, train=0.5, splits=5, protocols=PROTOCOLS, seed=0, *,
                                  C=0.1, standardize=True, n_jobs=None):
    """{protocol: result of :func:`node_classification`} for several protocols, from one fit
    per split (the protocols differ only in how decision values become labels)."""
    from sklearn.preprocessing import StandardScaler

    from graphembed.embedding import Embedding

    if isinstance(x, Embedding):
        x = x.vectors
    x = np.asarray(x, dtype=np.float64)
    protocols = tuple(protocols)
    for protocol in protocols:
        if protocol not in PROTOCOLS:
            raise InputError(f"protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    if not 0 < train < 1:
        raise InputError(f"train must be in (0, 1), got {train!r}")
    if not isinstance(splits, (int, np.integer)) or splits < 1:
        raise InputError(f"splits must be a positive integer, got {splits!r}")
    if not C > 0:
        raise InputError(f"C must be > 0, got {C!r}")
    y = _indicator(labels, x.shape[0])
    keep = y.any(axis=1)
    x, y = x[keep], y[keep]
    n = x.shape[0]
    if n < 2:
        raise InputError(f"{n} labelled nodes; node classification needs at least 2")
    if not np.isfinite(x).all():
        raise InputError("the embedding has NaN or infinite values")
    multilabel = bool((y.sum(axis=1) > 1).any())
    if standardize:
        x = StandardScaler().fit_transform(x)
    scores = {p: ([], []) for p in protocols}
    for s in range(splits):
        tr, te = split_indices(n, train, seed, s)
        for protocol, (ma, mi) in fit_and_score(x, y, tr, te, protocols, C=C, multilabel=multilabel,
                                                n_jobs=n_jobs).items():
            scores[protocol][0].append(ma)
            scores[protocol][1].append(mi)
    out = {}
    for protocol, (macro, micro) in scores.items():
        note = ("topk: each test node gets as many labels as it truly has (DeepWalk/node2vec/FastRP "
                "papers; uses the true label count)" if protocol == "topk" else
                "threshold: labels with probability >= 0.5 (Lin et al., AAAI 2022)"
                + ("" if multilabel else "; single-label data: arg-max"))
        out[protocol] = {
            "macro_f1": float(np.mean(macro)), "micro_f1": float(np.mean(micro)),
            "macro_f1_std": float(np.std(macro)), "micro_f1_std": float(np.std(micro)),
            "macro_f1_splits": macro, "micro_f1_splits": micro, "protocol": protocol,
            "protocol_note": note, "multilabel": multilabel, "nodes": int(n),
            "classes": int(y.shape[1]), "train": float(train), "splits": int(splits), "C": C,
            "standardize": bool(standardize)}
    return out


def fit_and_score(x, y, tr, te, protocols=("topk",), *, C=0.1, multilabel=True, n_jobs=None):
    """{protocol: (Macro-F1, Micro-F1)} of one-vs-rest liblinear logistic regression (``C``)
    trained on rows ``tr`` of ``x`` (n, d) and boolean labels ``y`` (n, c), scored on rows ``te``.
    ``multilabel`` only matters to the threshold protocol (False: arg-max)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    clf = OneVsRestClassifier(LogisticRegression(solver="liblinear", C=C), n_jobs=n_jobs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # labels absent from a training share
        clf.fit(x[tr], y[tr].astype(np.int8))
    decision = mask_untrained(_decision(clf, x[te], y.shape[1]), y[tr])
    out = {}
    for protocol in protocols:
        if protocol == "topk":
            pred = top_k_predict(decision, y[te].sum(axis=1))
        else:
            pred = threshold_predict(decision, multilabel)
        out[protocol] = f1_macro_micro(y[te], pred)
    return out


def mask_untrained(scores, y_train):
    """Scores (n, c) with labels that the training share never (always) shows set to -inf (+inf).

    scikit-learn fits a constant predictor to such a label, whose decision value 0 would outrank
    every real (mostly negative) score and pass the 0.5 threshold: the label would be predicted
    for every node. Labels with one or two nodes (Wikipedia POS has several) hit this.
    """
    scores = np.array(scores, dtype=np.float64)
    y_train = np.asarray(y_train) > 0
    scores[:, ~y_train.any(axis=0)] = -np.inf
    scores[:, y_train.all(axis=0)] = np.inf
    return scores


def _decision(clf, x, n_classes):
    s = np.asarray(clf.decision_function(x), dtype=np.float64)
    if s.ndim == 1:  # a two-column problem collapsed to one by sklearn
        s = s[:, None]
    if s.shape[1] != n_classes:
        raise InputError("classifier returned an unexpected number of columns")
    return s


def _indicator(labels, n):
    import scipy.sparse as sp

    if isinstance(labels, Labels):
        y = labels.y
    elif sp.issparse(labels):
        y = labels.toarray() > 0
    else:
        arr = np.asarray(labels)
        if arr.ndim == 2:
            y = arr > 0
        elif arr.ndim == 1:
            known = np.array([v is not None and not (isinstance(v, (int, np.integer)) and v < 0)
                              and not (isinstance(v, float) and np.isnan(v)) for v in arr.tolist()])
            values = sorted({v for v, k in zip(arr.tolist(), known) if k}, key=lambda v: (str(type(v)), v))
            col = {v: j for j, v in enumerate(values)}
            y = np.zeros((arr.shape[0], len(values)), dtype=bool)
            for i, (v, k) in enumerate(zip(arr.tolist(), known)):
                if k:
                    y[i, col[v]] = True
        else:
            raise InputError(f"labels must be 1-D or 2-D, got shape {arr.shape}")
    y = np.asarray(y, dtype=bool)
    if y.shape[0] != n:
        raise InputError(f"{y.shape[0]} label rows for {n} embedding rows")
    return y
