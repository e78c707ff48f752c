"""Metadata for ``graphembed plugins``: version, models and the devices torch can use."""


def plugin_info():
    """A JSON-ready dict; imports torch (call it only when the devices are wanted)."""
    from graphembed_gnn import __version__

    info = {"name": "graphembed-gnn", "version": __version__,
            "models": ["gcn", "sage", "gat", "grand"], "commands": ["gnn train", "gnn embed"],
            "embedders": ["graphsage"]}
    try:
        import torch
        import torch_geometric
    except ImportError as exc:
        info["devices"] = []
        info["error"] = f"{exc.name or exc} is not installed"
        return info
    info["torch"] = torch.__version__
    info["torch_geometric"] = torch_geometric.__version__
    devices = [f"cpu ({torch.get_num_threads()} threads)"]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            devices.append(f"cuda:{i} ({props.name}, {props.total_memory / 2**30:.0f} GiB)")
    info["devices"] = devices
    info["cuda"] = torch.version.cuda
    return info
