"""What every estimator shares: declared parameters, the scikit-learn estimator protocol, seeds,
thread counts and progress bars.

Each estimator declares its parameters once, in a ``parameters`` table of :class:`Param`
(kind, range, choices, default, one-line help): the table validates them (one wording: the
parameter, the value, what is accepted; a bool is never a number), describes them as JSON Schema
(:meth:`BaseEmbedder.param_schema`) and gives the CLI its flags. ``get_params(deep=True)``,
``set_params`` and ``sklearn.base.clone`` work as for any scikit-learn estimator. The class
follows that protocol without inheriting ``sklearn.base.BaseEstimator`` (which every CLI command
would pay to import).

Design and measurements: docs/decisions/estimator-base.md.
"""
from __future__ import annotations

import contextlib
import inspect
import os
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np

from graphembed.io.errors import InputError
from graphembed.params import SEED, THREADS, VERBOSE, Param

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tqdm import tqdm

    from graphembed.embedding import Embedding
    from graphembed.graph import GraphLike

_Estimator = TypeVar("_Estimator", bound="BaseEstimator")


class BaseEstimator:
    """The scikit-learn estimator protocol: ``__init__`` stores the parameters unchanged (they
    are checked by ``fit``, against the class's ``parameters`` table); learned state ends in
    ``_``; ``get_params``/``set_params``/``clone`` work."""

    name: ClassVar[str | None] = None  # registry name, e.g. "fastrp"
    parameters: ClassVar[dict[str, Param]] = {}  # name -> Param, in __init__ order
    graph_level: ClassVar[bool] = False  # True: one output row per input graph, not per node

    # ------------------------------------------------------------------ the estimator protocol
    @classmethod
    def _get_param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"
                and sig.parameters[p].kind != inspect.Parameter.VAR_KEYWORD]


    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters; with ``deep``, also ``name__sub`` of nested estimators."""
        out = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{name}__{k}", v) for k, v in value.get_params().items())
            out[name] = value
        return out

    def set_params(self: _Estimator, **params: Any) -> _Estimator:
        """Set constructor parameters (``name__sub`` reaches into nested estimators)."""
        valid = self._get_param_names()
        nested = {}
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in valid:
                raise InputError(f"{type(self).__name__} has no parameter {name!r}; "
                                 f"its parameters are {', '.join(valid)}")
            if sub:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
        for name, sub_params in nested.items():
            getattr(self, name).set_params(**sub_params)
        return self

    def __repr__(self) -> str:
        defaults = {k: p.default for k, p in inspect.signature(type(self).__init__).parameters.items()}
        changed = [f"{k}={v!r}" for k, v in self.get_params(deep=False).items()
                   if _differs(v, defaults.get(k))]
        return f"{type(self).__name__}({', '.join(changed)})"

    # ------------------------------------------------------------------ declared parameters
    def _check_params(self) -> dict[str, Any]:
        """Every declared parameter checked; returns {name: value}. Raises InputError."""
        return {name: param.check(name, getattr(self, name)) for name, param in self.parameters.items()}

    @classmethod
    def param_schema(cls) -> dict[str, Any]:
        """JSON Schema (draft 2020-12) of the constructor parameters."""
        return {"$schema": "https://json-schema.org/draft/2020-12/schema",
                "title": cls.name or cls.__name__, "type": "object", "additionalProperties": False,
                "properties": {name: p.schema() for name, p in cls.parameters.items()}}



class BaseEmbedder(BaseEstimator):
    """A node embedder: ``fit(graph)`` learns ``embedding_``, an Embedding of every node."""

    # "module.function" kernels every fit compiles on a cold cache
    _numba_kernels: ClassVar[tuple[str, ...]] = ()

    def fit_transform(self, graph: GraphLike, **fit_params: Any) -> Embedding:
        """Fit on ``graph`` and return the Embedding, which records how the graph was read."""
        emb = self.fit(graph, **fit_params).transform()
        if emb.input is None and hasattr(graph, "stats") and hasattr(graph, "n_edges"):
            from graphembed.io.metadata import describe_input

            emb.input = describe_input(graph)
        return emb

    def transform(self) -> Embedding:
        """The fitted Embedding (``embedding_``); raises InputError before ``fit``."""
        check_is_fitted(self, "embedding_")
        return self.embedding_


def _differs(a: Any, b: Any) -> bool:
    try:
        return bool(np.any(a != b)) if not isinstance(a, (list, tuple)) else list(a) != list(b or [])
    except Exception:
        return True


def check_is_fitted(estimator: object, attribute: str) -> None:
    """InputError unless ``estimator`` has ``attribute`` (set by its ``fit``)."""
    if not hasattr(estimator, attribute):
        raise InputError(f"{type(estimator).__name__} is not fitted yet: call fit(graph) first")


def check_seed(random_state: int | np.random.Generator | None) -> int:
    """One non-negative 63-bit seed from None (fresh entropy), an int or a numpy Generator."""
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> np.uint64(1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63 - 1))
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        if random_state < 0:
            raise InputError(f"random_state must be >= 0, got {random_state}")
        return int(random_state) & (2**63 - 1)
    raise InputError(f"random_state must be None, an int or a numpy Generator, got {random_state!r}")


def derive_seed(seed: int, k: int) -> int:
    """The ``k``-th (0-based) independent 63-bit sub-seed of ``seed`` (numpy ``SeedSequence``).

    New code derives every sub-seed with this; FastRP, LINE and node2vec keep their own
    derivations so that their seeded outputs stay as published (docs/decisions/estimator-base.md).
    """
    return int(np.random.SeedSequence(int(seed)).generate_state(k + 1, np.uint64)[k] >> np.uint64(1))


def default_threads() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def numba_threads(n_jobs: int | None) -> Iterator[int]:
    """Run the block with ``n_jobs`` numba threads (None or -1: all cores)."""
    import numba

    if n_jobs is not None and (not isinstance(n_jobs, (int, np.integer)) or isinstance(n_jobs, bool)
                               or n_jobs == 0 or n_jobs < -1):
        raise InputError(f"n_jobs must be a positive int, -1 or None, got {n_jobs!r}")
    wanted = default_threads() if n_jobs in (None, -1) else int(n_jobs)
    wanted = max(1, min(wanted, numba.config.NUMBA_NUM_THREADS))
    previous = numba.get_num_threads()
    numba.set_num_threads(wanted)
    try:
        yield wanted
    finally:
        numba.set_num_threads(previous)


_LISTENERS: list = []  # callbacks(stage, n, total) that every bar also reports to (progress_listener)


def progress(total: int | None, desc: str, verbose: bool) -> tqdm:
    """A tqdm bar on stderr, shown only when ``verbose`` and stderr is a terminal.

    Inside :func:`progress_listener` the bar also reports every step to the listeners."""
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, disable=None if verbose else True, leave=False, unit="it")
    if _LISTENERS:
        return _ReportingBar(bar, desc, total, tuple(_LISTENERS))
    return bar


@contextlib.contextmanager
def progress_listener(callback) -> Iterator[None]:
    """Within the block, every :func:`progress` bar also calls ``callback(stage, n, total)``
    (stage: the bar's description, n: steps done, total: None when unknown) when it is made,
    on each update and when it closes. What the bars show on stderr does not change (the
    service's worker processes report job progress through this)."""
    _LISTENERS.append(callback)
    try:
        yield
    finally:
        _LISTENERS.remove(callback)


class _ReportingBar:
    """A tqdm bar that also reports its steps to listeners; everything else is the bar's."""

    def __init__(self, bar, desc, total, listeners):
        self._bar, self._desc, self._listeners = bar, desc, listeners
        self._count, self._total = 0, total
        self._tell()

    def _tell(self):
        for listener in self._listeners:
            try:
                listener(self._desc, self._count, self._total)
            except Exception:  # noqa: BLE001 - a listener never breaks the computation
                pass

    @property
    def n(self):
        return self._count

    def update(self, n=1):
        self._count += n
        out = self._bar.update(n)
        self._tell()
        return out

    def close(self):
        self._bar.close()
        self._tell()

    def __enter__(self):
        self._bar.__enter__()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __getattr__(self, name):
        return getattr(self._bar, name)


__all__ = ["BaseEmbedder", "BaseEstimator", "Param", "SEED", "THREADS", "VERBOSE", "check_is_fitted", "check_seed", "derive_seed",
           "default_threads", "numba_threads", "progress", "progress_listener"]
