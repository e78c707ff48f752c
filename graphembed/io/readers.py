"""The readers' old home: edge lists live in :mod:`graphembed.io.edges`, node tables in
:mod:`graphembed.io.nodes`. Kept so that existing imports work."""
from graphembed.io.edges import FORMATS, detect_format, read_graph, read_mat  # noqa: F401
from graphembed.io.nodes import read_node_file, read_node_rows, read_node_weights  # noqa: F401

__all__ = ["FORMATS", "detect_format", "read_graph", "read_mat", "read_node_file", "read_node_rows",
           "read_node_weights"]
