"""From graphembed objects to tensors: devices, edge indices, node features, labels, splits."""
from pathlib import Path

import numpy as np

from graphembed.io.errors import InputError

FEATURE_SOURCES = ("fastrp", "orbits", "degree")


def resolve_device(device="auto"):
    """A ``torch.device`` from "auto" (CUDA when present), "cpu", "cuda" or "cuda:N"."""
    import torch

    name = "auto" if device is None else str(device)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            why = "this torch build has no CUDA support" if torch.version.cuda is None \
                else "no CUDA GPU is visible"
            raise InputError(f"--device {name}: CUDA is not available ({why}); "
                             "use --device cpu or --device auto")
        return torch.device(name)
    raise InputError(f"--device must be auto, cpu or cuda, got {name!r}")


def edge_index(graph, device=None):
    """int64 tensor (2, nnz) in PyG's convention: arc u -> v is column (u, v), v aggregates u.

    An undirected graph stores both directions, so every node hears all its neighbours.
    """
    import torch

    rows = np.repeat(np.arange(graph.n_nodes, dtype=np.int64), np.diff(graph.indptr))
    ei = np.stack([rows, graph.indices.astype(np.int64)])
    return torch.from_numpy(ei).to(device)


def _dense(matrix):
    import scipy.sparse as sp

    if sp.issparse(matrix):
        matrix = matrix.toarray()
    return np.ascontiguousarray(matrix, dtype=np.float32)


def node_features(graph, features="degree", dim=128, seed=0, row_normalize=False):
    """float32 array (n_nodes, d) of input features for a graph without its own.

    Parameters
    ----------
    graph : graphembed Graph.
    features : "fastrp" (a FastRP embedding of ``dim`` dimensions), "orbits" (graphlet orbit
        counts, log1p-scaled), "degree" (log1p of the degree plus a constant column), a path to an
        embedding file (.parquet, .csv, .tsv, .npz, .w2v) whose ids cover the graph's nodes, or an
        array (n_nodes, d).
    dim : dimension of the FastRP features.
    seed : seed of the FastRP features.
    row_normalize : divide each row by its sum (Planetoid bag-of-words convention).
    """
    n = graph.n_nodes
    if not isinstance(features, (str, Path)):
        x = _dense(features)
        if x.ndim != 2 or x.shape[0] != n:
            raise InputError(f"features must be an array (n_nodes={n}, d), got shape {x.shape}")
    elif str(features) == "degree":
        deg = graph.out_degree().astype(np.float32)
        x = np.stack([np.log1p(deg), np.ones(n, dtype=np.float32)], axis=1)
    elif str(features) == "fastrp":
        from graphembed import get_embedder

        emb = get_embedder("fastrp")(dim=dim, random_state=seed).fit_transform(graph)
        x = emb.vectors
    elif str(features) == "orbits":
        from graphembed.registry import available_embedders, get_embedder

        if "orbits" not in available_embedders():
            raise InputError("--features orbits needs the 'orbits' embedder, which is not installed")
        try:
            cls = get_embedder("orbits")
        except ImportError as exc:
            raise InputError(f"--features orbits: the orbits embedder failed to load ({exc})") from None
        emb = cls().fit_transform(graph)
        x = np.log1p(np.maximum(emb.vectors, 0)).astype(np.float32)
    else:
        path = Path(features)
        if not path.exists():
            raise InputError(f"--features must be one of {', '.join(FEATURE_SOURCES)} or an "
                             f"embedding file; {path} not found")
        from graphembed.embedding import Embedding

        emb = Embedding.load(path)
        rows = emb.ids.align(graph.node_ids)
        if (rows < 0).any():
            node = graph.node_ids[int(np.flatnonzero(rows < 0)[0])]
            raise InputError(f"{path}: no feature vector for node {node!r}")
        x = emb.vectors[rows]
    x = np.ascontiguousarray(x, dtype=np.float32)
    if not np.isfinite(x).all():
        raise InputError("node features contain NaN or infinite values")
    if row_normalize:
        sums = x.sum(axis=1, keepdims=True)
        sums[sums == 0] = 1.0
        x = x / sums
    return x


def read_labels(path, graph):
    """(int64 labels (n_nodes,), -1 where unlabelled; class names) from a ``node,label`` file.

    The first two columns are the node id and its label; a header line is detected when its
    first field is not a node of the graph.
    """
    from graphembed.io.readers import read_node_rows

    path = Path(path)
    rows = read_node_rows(path, "labels")
    if not rows:
        raise InputError(f"{path}: no labels found")
    ids = graph.ids
    start = 1 if rows[0][1][0] not in ids else 0  # a header
    labels = np.full(graph.n_nodes, -1, dtype=np.int64)
    names = {}
    for line_no, row in rows[start:]:
        if len(row) < 2:
            raise InputError(f"{path}: line {line_no}: expected 2 columns (node, label), found {len(row)}")
        node = ids.find(row[0])
        if node < 0:
            raise InputError(f"{path}: line {line_no}: node {row[0]!r} is not in the graph")
        labels[node] = names.setdefault(row[1], len(names))
    if len(names) < 2:
        raise InputError(f"{path}: need at least 2 classes, found {len(names)}")
    return labels, sorted(names, key=names.get)


def random_split(labels, train_ratio=0.6, val_ratio=0.2, seed=0):
    """Stratified random train/val/test boolean masks over the labelled nodes (labels >= 0)."""
    if not (0 < train_ratio < 1 and 0 <= val_ratio < 1 and train_ratio + val_ratio < 1):
        raise InputError(f"need 0 < train_ratio, 0 <= val_ratio, train_ratio + val_ratio < 1; "
                         f"got {train_ratio}, {val_ratio}")
    rng = np.random.default_rng(seed)
    n = labels.shape[0]
    masks = [np.zeros(n, dtype=bool) for _ in range(3)]
    for c in np.unique(labels[labels >= 0]):
        members = rng.permutation(np.flatnonzero(labels == c))
        k_train = max(1, int(round(train_ratio * members.size)))
        k_val = int(round(val_ratio * members.size))
        masks[0][members[:k_train]] = True
        masks[1][members[k_train:k_train + k_val]] = True
        masks[2][members[k_train + k_val:]] = True
    if not masks[2].any():
        raise InputError("too few labelled nodes for a test split")
    return tuple(masks)
