"""Tiny shipped graphs and loaders for the benchmark files.

The karate club graph (Zachary 1977: 34 nodes, 78 edges), its club labels and a node-weight
table ship inside the package (``graphembed/data/``), so they work from an installed wheel:
``karate()`` returns the graph and labels, ``path("karate")`` the file, and every command that
reads a graph accepts ``dataset:karate`` as its input. ``load_mat(path)`` reads the ``.mat``
files of the DeepWalk/node2vec benchmarks (BlogCatalog, PPI, POS): the graph and ``group`` labels.
"""
from pathlib import Path

import numpy as np

from graphembed.io.shipped import DATASET_PREFIX, SHIPPED, path, resolve

__all__ = ["DATASET_PREFIX", "SHIPPED", "path", "resolve", "karate_path", "karate", "load_mat",
           "load_planetoid"]


def karate_path() -> Path:
    """Path of the shipped karate edge list."""
    return path("karate")


def karate():
    """(Graph, labels): labels is an int array (34,), 0 = 'Mr. Hi', 1 = 'Officer'."""
    import pyarrow.csv as pacsv

    from graphembed.io.edges import read_graph

    graph = read_graph(path("karate"))
    table = pacsv.read_csv(path("karate_labels"))
    clubs = dict(zip(table.column("node").to_pylist(), table.column("club").to_pylist()))
    labels = np.array([0 if clubs[v] == "Mr. Hi" else 1 for v in graph.node_ids.tolist()])
    return graph, labels


def load_mat(path):
    """(Graph, labels) of a benchmark ``.mat`` file; labels is a scipy CSR (n, n_classes) or None."""
    from graphembed.graph import Graph
    from graphembed.io.matfile import read_mat

    matrix, labels = read_mat(path)
    graph = Graph.from_scipy(matrix, directed=False)
    graph.stats["source"] = str(path)
    return graph, labels


PLANETOID_NAMES = ("cora", "citeseer", "pubmed")
_PLANETOID_PARTS = ("x", "y", "tx", "ty", "allx", "ally", "graph")


def load_planetoid(name, root=None):
    """The Planetoid citation graphs (Cora, CiteSeer, PubMed) with their public split.

    Reads the ``ind.{name}.{x,y,tx,ty,allx,ally,graph,test.index}`` files of Yang, Cohen and
    Salakhutdinov, "Revisiting semi-supervised learning with graph embeddings", ICML 2016, as
    used by Kipf and Welling (ICLR 2017): train = the first ``len(y)`` nodes (20 per class),
    validation = the next 500, test = the 1,000 nodes of ``test.index``. The test rows are
    stored in a shuffled order and are put back at their node positions. CiteSeer's
    ``test.index`` skips 15 isolated nodes: they get zero features and no label (-1).

    Parameters
    ----------
    name : "cora", "citeseer" or "pubmed" (case-insensitive).
    root : directory holding the ``ind.*`` files; default: the ``GRAPHEMBED_DATA`` environment
        variable, where the files may also sit in a ``planetoid/`` sub-directory.

    Returns
    -------
    dict with ``graph`` (undirected Graph, node ids 0..n-1, self-loops dropped), ``features``
    (scipy CSR float32 (n, n_features), raw bag-of-words), ``labels`` (int64 (n,), -1 where
    unlabelled), ``train_mask``, ``val_mask``, ``test_mask`` (bool (n,)), ``n_classes`` and
    ``name``.
    """
    import os
    import pickle
    import warnings

    import scipy.sparse as sp

    from graphembed.graph import Graph
    from graphembed.io.errors import InputError

    key = str(name).lower()
    if key not in PLANETOID_NAMES:
        raise InputError(f"unknown Planetoid dataset {name!r}; expected one of {', '.join(PLANETOID_NAMES)}")
    if root is None:
        root = os.environ.get("GRAPHEMBED_DATA")
        if not root:
            raise InputError(f"no data directory for {key!r}: pass one (--data DIR) or set GRAPHEMBED_DATA")
    root = Path(root)
    for folder in (root, root / "planetoid", root / "raw" / "planetoid"):
        if (folder / f"ind.{key}.graph").exists():
            root = folder
            break
    parts = {}
    for part in _PLANETOID_PARTS:
        path = root / f"ind.{key}.{part}"
        if not path.exists():
            raise InputError(f"{path}: Planetoid file not found")
        with open(path, "rb") as fh, warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # old scipy module paths in the pickles
            try:
                parts[part] = pickle.load(fh, encoding="latin1")
            except Exception as exc:  # corrupt or foreign pickle
                raise InputError(f"{path}: not a readable Planetoid pickle ({exc})") from None
    index_path = root / f"ind.{key}.test.index"
    if not index_path.exists():
        raise InputError(f"{index_path}: Planetoid file not found")
    test_order = np.array([int(line) for line in index_path.read_text().split()], dtype=np.int64)

    allx = sp.csr_matrix(parts["allx"], dtype=np.float32)
    tx = sp.csr_matrix(parts["tx"], dtype=np.float32)
    ally = np.asarray(parts["ally"])
    ty = np.asarray(parts["ty"])
    n_train = np.asarray(parts["y"]).shape[0]
    n_known = allx.shape[0]  # train + unlabelled-in-training nodes, stored first
    adjacency_lists = parts["graph"]
    n = max(n_known, int(test_order.max()) + 1, len(adjacency_lists))
    # Rows 0..n_known-1 come from allx/ally; test row i belongs to node test_order[i]. Nodes in the
    # test range that test.index never names (CiteSeer's isolated ones) keep zero rows.
    order = np.concatenate([np.arange(n_known, dtype=np.int64), test_order])
    stacked_x = sp.vstack([allx, tx]).tocsr()
    perm = sp.csr_matrix((np.ones(order.size, dtype=np.float32), (order, np.arange(order.size))),
                         shape=(n, order.size))
    features = (perm @ stacked_x).tocsr().astype(np.float32)
    onehot = np.zeros((n, ally.shape[1]), dtype=np.float32)
    onehot[order] = np.vstack([ally, ty])
    labels = np.where(onehot.any(axis=1), onehot.argmax(axis=1), -1).astype(np.int64)

    rows, cols = [], []
    for node, neighbours in adjacency_lists.items():
        for other in neighbours:
            rows.append(int(node))
            cols.append(int(other))
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    if rows.size and max(rows.max(), cols.max()) >= n:
        raise InputError(f"{root / f'ind.{key}.graph'}: node id {max(rows.max(), cols.max())} "
                         f"is beyond the {n} nodes of the feature files")
    adjacency = sp.csr_matrix((np.ones(rows.size, dtype=np.float32), (rows, cols)), shape=(n, n))
    adjacency = ((adjacency + adjacency.T) > 0).astype(np.float32)
    graph = Graph.from_scipy(adjacency, directed=False, weighted=False)
    graph.stats["source"] = str(root / f"ind.{key}")

    train_mask = np.zeros(n, dtype=bool)
    train_mask[:n_train] = True
    val_mask = np.zeros(n, dtype=bool)
    val_mask[n_train:n_train + 500] = True
    test_mask = np.zeros(n, dtype=bool)
    test_mask[test_order] = True
    return {
        "name": key, "graph": graph, "features": features, "labels": labels,
        "train_mask": train_mask, "val_mask": val_mask, "test_mask": test_mask & (labels >= 0),
        "n_classes": int(ally.shape[1]),
    }
