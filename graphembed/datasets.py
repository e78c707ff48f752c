"""Tiny bundled graphs and loaders for the benchmark files.

``karate()`` reads ``datasets/karate.csv`` shipped with the repository (Zachary's karate club,
34 nodes, 78 edges) and its club labels. ``load_mat(path)`` reads the ``.mat`` files of the
DeepWalk/node2vec benchmarks (BlogCatalog, PPI, POS): the graph and the ``group`` labels.
"""
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent.parent / "datasets"


def karate_path() -> Path:
    """Path of the bundled karate edge list (a source checkout or editable install)."""
    path = DATA_DIR / "karate.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: the datasets/ folder ships with the source tree")
    return path


def karate():
    """(Graph, labels): labels is an int array (34,), 0 = 'Mr. Hi', 1 = 'Officer'."""
    import pyarrow.csv as pacsv

    from graphembed.io.readers import read_graph

    graph = read_graph(karate_path())
    table = pacsv.read_csv(DATA_DIR / "karate_labels.csv")
    clubs = dict(zip(table.column("node").to_pylist(), table.column("club").to_pylist()))
    labels = np.array([0 if clubs[v] == "Mr. Hi" else 1 for v in graph.node_ids.tolist()])
    return graph, labels


def load_mat(path):
    """(Graph, labels) of a benchmark ``.mat`` file; labels is a scipy CSR (n, n_classes) or None."""
    from graphembed.graph import Graph
    from graphembed.io.readers import read_mat

    matrix, labels = read_mat(path)
    graph = Graph.from_scipy(matrix, directed=False)
    graph.stats["source"] = str(path)
    return graph, labels
