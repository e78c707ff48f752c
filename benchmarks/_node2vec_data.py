"""What the node2vec benchmarks share: the data sets, the paper's figures, the classifier, and
the PecanPy peer's input file and NumPy 2 aliases."""
import numpy as np
from _util import RAW

DATASETS = {"blogcatalog": RAW / "blogcatalog.mat", "ppi": RAW / "Homo_sapiens.mat",
            "wikipedia": RAW / "POS.mat"}
# Macro-F1 of node2vec in the paper's Table 2, by (data set, p, q).
PAPER_F1 = {("blogcatalog", 0.25, 0.25): 0.2581, ("ppi", 4.0, 1.0): 0.1791,
            ("wikipedia", 4.0, 0.5): 0.1552}


def macro_f1(emb, labels, n_splits=5, n_jobs=None):
    """Mean Macro-F1 over random 50% splits (seeds 0, 1, ...) of the node2vec paper's classifier:
    one-vs-rest liblinear logistic regression with C = 1 on the raw (unscaled) vectors, top-k
    labels per test node."""
    from graphembed.tasks.classify import node_classification

    return node_classification(emb, labels, train=0.5, splits=n_splits, protocol="topk", seed=0,
                               C=1.0, standardize=False, n_jobs=n_jobs)["macro_f1"]


def numpy2_aliases():
    """Aliases NumPy 2 removed that nptyping (a PecanPy dependency) still reads."""
    for name, value in dict(bool8=np.bool_, object0=np.object_, int0=np.intp, uint0=np.uintp,
                            void0=np.void, bytes0=np.bytes_, str0=np.str_, float_=np.float64,
                            complex_=np.complex128, longfloat=np.longdouble,
                            singlecomplex=np.complex64, cfloat=np.complex128,
                            longcomplex=np.clongdouble, clongfloat=np.clongdouble,
                            string_=np.bytes_, unicode_=np.str_).items():
        if not hasattr(np, name):
            setattr(np, name, value)


def write_edg(graph, path):
    """Each undirected edge once, tab-separated node indices (and weights), for PecanPy."""
    rows = np.repeat(np.arange(graph.n_nodes), np.diff(graph.indptr))
    keep = rows < graph.indices
    cols = [rows[keep], graph.indices[keep]]
    fmt = "%d\t%d"
    if graph.weights is not None:
        cols.append(graph.weights[keep])
        fmt += "\t%.6g"
    np.savetxt(path, np.column_stack(cols), fmt=fmt)  # "%d" prints the float columns as ints
