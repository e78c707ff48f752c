"""What output files record about themselves: the graphembed version, the method and its
parameters, and how the input graph was read (path, format, directed, weighted, counts)."""
import numpy as np

# Graph.stats keys that describe how the input was read (the rest are derived counts).
_READ_KEYS = ("source", "format", "header", "input_edges", "self_loops_dropped", "duplicates_merged")


def json_default(obj):
    """``json.dumps`` fallback: numpy scalars and arrays as Python values, anything else as str."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def graphembed_version() -> str:
    from graphembed import __version__

    return __version__


def describe_input(graph) -> dict:
    """How ``graph`` was read, as plain values: path, format, directed, weighted, nodes, edges,
    and what the reader dropped or merged (whatever of it the graph knows)."""
    stats = getattr(graph, "stats", None) or {}
    out = {k: stats[k] for k in _READ_KEYS if k in stats}
    out.update(directed=bool(graph.directed), weighted=bool(graph.is_weighted),
               nodes=int(graph.n_nodes), edges=int(graph.n_edges))
    return out
