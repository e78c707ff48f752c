"""Plugin registry: commands and estimators found through Python entry points.

Groups: ``graphembed.commands`` (click commands, built-ins too) and ``graphembed.embedders``
(estimator classes). Entry points are listed without importing them; one is imported on first
use and cached. A plugin cannot replace a built-in: one registered under a built-in's name gets
a warning and the built-in is used.
"""
from functools import lru_cache
from importlib.metadata import entry_points

COMMANDS_GROUP = "graphembed.commands"
EMBEDDERS_GROUP = "graphembed.embedders"


def _is_builtin(ep):
    """An entry point of graphembed itself (its object lives in the graphembed package)."""
    return ep.value.split(":")[0].split(".")[0] == "graphembed"


def _origin(ep):
    dist = getattr(ep, "dist", None)
    name = getattr(dist, "name", None) if dist is not None else None
    return f"{ep.name} = {ep.value}" + (f" from {name}" if name else "")


@lru_cache(maxsize=None)
def _entry_points(group):
    """{name: entry point} of ``group``. A built-in name always resolves to the built-in: a plugin
    registering the same name gets a one-line warning (as networkx does for backends) and is not
    used; otherwise the first registration of a name wins."""
    import warnings

    found = {}
    for ep in entry_points(group=group):
        old = found.get(ep.name)
        if old is None:
            found[ep.name] = ep
            continue
        builtin, plugin = (old, ep) if _is_builtin(old) or not _is_builtin(ep) else (ep, old)
        if _is_builtin(builtin) and not _is_builtin(plugin):
            kind = "command" if group == COMMANDS_GROUP else "embedder"
            warnings.warn(f"plugin {kind} {ep.name!r} ({_origin(plugin)}) has the name of a built-in "
                          f"{kind}; the built-in ({builtin.value}) is used", RuntimeWarning, stacklevel=2)
        found[ep.name] = builtin
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

