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


def make_embedder(method, params=None, seed=None, n_jobs=None, verbose=False):
    """An estimator from a registry name (:func:`get_embedder`) and parameters;
    ``seed``/``n_jobs``/``verbose`` are passed where the estimator takes them."""
    import inspect

    from graphembed.io.errors import InputError

    cls = get_embedder(method)
    params = dict(params or {})
    try:
        accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    except (TypeError, ValueError):  # pragma: no cover
        accepted = set(params)
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise InputError(f"{method} has no parameter {', '.join(map(repr, unknown))}; "
                         f"its parameters: {', '.join(sorted(accepted))}")
    for key, value in (("random_state", seed), ("n_jobs", n_jobs), ("verbose", verbose)):
        if key in accepted and key not in params and value is not None:
            params[key] = value
    return cls(**params)

