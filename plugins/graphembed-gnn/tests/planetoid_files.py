"""Tiny synthetic Planetoid ``ind.*`` files (the real ones are not needed by the tests)."""
import pickle
from collections import defaultdict

import numpy as np
import scipy.sparse as sp


def write_planetoid(folder, name, rng, n_known=6, n=12, n_train=3, n_features=5, n_classes=3):
    x = rng.integers(0, 2, size=(n, n_features)).astype(np.float32)
    y = rng.integers(0, n_classes, size=n)
    test_order = rng.permutation(np.arange(n_known, n))
    onehot = np.eye(n_classes, dtype=np.int32)
    adjacency = defaultdict(list)
    for a, b in rng.integers(0, n, size=(3 * n, 2)):
        if a != b:
            adjacency[int(a)].append(int(b))
    parts = {"x": sp.csr_matrix(x[:n_train]), "y": onehot[y[:n_train]],
             "allx": sp.csr_matrix(x[:n_known]), "ally": onehot[y[:n_known]],
             "tx": sp.csr_matrix(x[test_order]), "ty": onehot[y[test_order]], "graph": adjacency}
    for part, obj in parts.items():
        with open(folder / f"ind.{name}.{part}", "wb") as fh:
            pickle.dump(obj, fh, protocol=2)
    (folder / f"ind.{name}.test.index").write_text("".join(f"{v}\n" for v in test_order))
    return x, y
