"""graphembed-gnn: graph neural networks for graphembed (PyTorch + PyTorch Geometric).

Models: GCN (Kipf & Welling 2017), GraphSAGE (Hamilton et al. 2017), GAT (Velickovic et al. 2018)
and GRAND (Chamberlain et al. 2021), for supervised node classification
(:func:`train_node_classifier`) and unsupervised GraphSAGE embeddings (:class:`GraphSAGE`, an
estimator that returns a graphembed ``Embedding``).

Importing this package is cheap: torch loads on first use of a model, trainer or estimator.
"""
import importlib

__version__ = "0.1.0"

_LAZY = {
    "GraphSAGE": "graphembed_gnn.embedders",
    "train_node_classifier": "graphembed_gnn.train",
    "build_model": "graphembed_gnn.models",
    "GRAND": "graphembed_gnn.models",
    "odeint": "graphembed_gnn.ode",
    "resolve_device": "graphembed_gnn.data",
    "node_features": "graphembed_gnn.data",
    "plugin_info": "graphembed_gnn.info",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'graphembed_gnn' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
