"""Files that ship inside the package (``graphembed/data/``) and the ``dataset:NAME`` inputs
that name them."""
from importlib import resources
from pathlib import Path

from graphembed.io.errors import InputError

# name -> file in graphembed/data/
SHIPPED = {
    "karate": "karate.csv",
    "karate_labels": "karate_labels.csv",
    "karate_node_weights": "karate_node_weights.csv",
}
DATASET_PREFIX = "dataset:"


def path(name) -> Path:
    """Filesystem path of a shipped file (``karate``, ``karate_labels``, ``karate_node_weights``)."""
    key = str(name).removeprefix(DATASET_PREFIX)
    if key not in SHIPPED:
        raise InputError(f"unknown shipped dataset {name!r}; choose one of {', '.join(SHIPPED)}")
    # The package is installed as plain files (wheel or checkout), never zipped, so the
    # resource is a real path that pyarrow and gzip can open.
    return Path(str(resources.files("graphembed") / "data" / SHIPPED[key]))


def resolve(location):
    """``location`` itself, or the shipped file it names as ``dataset:NAME``."""
    text = str(location)
    if text.startswith(DATASET_PREFIX) and not Path(text).exists():
        return path(text)
    return location
