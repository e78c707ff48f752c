"""Plugin registry: commands and estimators found through Python entry points.

Groups: ``graphembed.commands`` (click commands, built-ins too) and ``graphembed.embedders``
(estimator classes). Entry points are listed without importing them; one is imported on first
use and cached.
"""
from functools import lru_cache
from importlib.metadata import entry_points

COMMANDS_GROUP = "graphembed.commands"
EMBEDDERS_GROUP = "graphembed.embedders"


@lru_cache(maxsize=None)
def _entry_points(group):
    found = {}
    for ep in entry_points(group=group):
        found.setdefault(ep.name, ep)  # first registration of a name wins
    return found


def command_names():
    return sorted(_entry_points(COMMANDS_GROUP))


def command_entry_point(name):
    return _entry_points(COMMANDS_GROUP).get(name)


def available_embedders():
    """Names of the registered estimators, e.g. ['fastrp', ...]."""
    return sorted(_entry_points(EMBEDDERS_GROUP))


def get_embedder(name):
    """The estimator class registered under ``name`` (imported now)."""
    from graphembed.io.errors import InputError

    ep = _entry_points(EMBEDDERS_GROUP).get(name)
    if ep is None:
        raise InputError(f"unknown embedder {name!r}; available: {', '.join(available_embedders())}")
    return ep.load()
