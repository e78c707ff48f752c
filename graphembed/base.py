"""What every estimator shares: declared parameters, the scikit-learn estimator protocol, seeds,
thread counts and progress bars.

Each estimator declares its parameters once, in a ``parameters`` table of :class:`Param`
(kind, range, choices, default, one-line help): the table validates them (one wording: the
parameter, the value, what is accepted; a bool is never a number), describes them as JSON Schema
(:meth:`BaseEmbedder.param_schema`) and gives the CLI its flags. ``get_params(deep=True)``,
``set_params`` and ``sklearn.base.clone`` work as for any scikit-learn estimator. The class does
not inherit ``sklearn.base.BaseEstimator``: importing it costs 1.3-1.6 s (measured on 2 cores),
which every CLI command would pay; it follows the same protocol instead
(``docs/decisions/estimator-base.md``).
"""
import contextlib
import inspect
import math
import os

import numpy as np

from graphembed.io.errors import InputError

_JSON_TYPES = {"int": "integer", "float": "number", "bool": "boolean", "str": "string"}


class Param:
    """One declared parameter.

    kind : "int", "float", "bool", "str" or "floats" (a non-empty sequence of floats).
    default : the value ``__init__`` uses (must itself pass the checks).
    low, high : inclusive bounds for numbers (``low_open`` / ``high_open`` make them strict).
    choices : the accepted values of a "str" parameter.
    also : literal values accepted besides the kind (e.g. ``("auto",)``, ``(None,)``).
    instances : classes whose instances are accepted too (a numpy Generator as a seed).
    help : one line for docs, CLI help and the schema.
    cli : flag name when it differs from the parameter name with dashes.
    """

    def __init__(self, kind, default, *, low=None, high=None, low_open=False, high_open=False,
                 choices=None, also=(), instances=(), help="", cli=None):
        if kind not in ("int", "float", "bool", "str", "floats"):
            raise ValueError(f"unknown parameter kind {kind!r}")
        self.kind, self.default = kind, default
        self.low, self.high, self.low_open, self.high_open = low, high, low_open, high_open
        self.choices = tuple(choices) if choices is not None else None
        self.also = tuple(also)
        self.instances = tuple(instances)
        self.help, self.cli = help, cli

    # ------------------------------------------------------------------ checking
    def accepted(self) -> str:
        """What the parameter accepts, in words: 'an integer >= 1', 'one of transition, adjacency'."""
        if self.choices is not None:
            text = "one of " + ", ".join(map(str, self.choices))
        else:
            text = {"int": "an integer", "float": "a finite number", "bool": "True or False",
                    "str": "a string", "floats": "a non-empty list of finite numbers"}[self.kind]
            bounds = []
            if self.low is not None:
                bounds.append(f"{'>' if self.low_open else '>='} {self.low:g}")
            if self.high is not None:
                bounds.append(f"{'<' if self.high_open else '<='} {self.high:g}")
            if bounds:
                text += " " + " and ".join(bounds)
        others = [repr(v) for v in self.also] + [f"a {c.__name__}" for c in self.instances]
        if others:
            text += " (or " + ", ".join(others) + ")"
        return text

    def check(self, name, value):
        """``value`` when it is accepted, else InputError naming ``name``, the value and the range."""
        if any(_same(value, v) for v in self.also):
            return value
        if self.instances and isinstance(value, self.instances):
            return value
        if self._fits(value):
            return value
        shown = repr(value) if not isinstance(value, np.ndarray) else f"array{value.shape}"
        raise InputError(f"{name} must be {self.accepted()}, got {shown[:80]}")

    def _fits(self, value) -> bool:
        if self.kind == "bool":
            return isinstance(value, (bool, np.bool_))
        if self.kind == "str":
            return isinstance(value, str) and (self.choices is None or value in self.choices)
        if self.kind == "floats":
            try:
                values = [float(v) for v in value]
            except (TypeError, ValueError):
                return False
            return bool(values) and not any(isinstance(v, (bool, np.bool_)) for v in value) \
                and all(math.isfinite(v) for v in values)
        if isinstance(value, (bool, np.bool_)):
            return False  # True is not 1 here
        if self.kind == "int" and not isinstance(value, (int, np.integer)):
            return False
        if self.kind == "float" and not isinstance(value, (int, float, np.integer, np.floating)):
            return False
        number = float(value)
        if not math.isfinite(number):
            return False
        if self.low is not None and (number < self.low or (self.low_open and number == self.low)):
            return False
        if self.high is not None and (number > self.high or (self.high_open and number == self.high)):
            return False
        return True

    # ------------------------------------------------------------------ description
    def schema(self) -> dict:
        """JSON Schema of the accepted values."""
        if self.kind == "floats":
            main = {"type": "array", "items": {"type": "number"}, "minItems": 1}
        else:
            main = {"type": _JSON_TYPES[self.kind]}
            if self.choices is not None:
                main["enum"] = list(self.choices)
            for bound, open_, key in ((self.low, self.low_open, "minimum"), (self.high, self.high_open, "maximum")):
                if bound is not None:
                    main["exclusiveM" + key[1:] if open_ else key] = bound
        alternatives = [main] + [{"const": v} if v is not None else {"type": "null"} for v in self.also]
        out = main if len(alternatives) == 1 else {"anyOf": alternatives}
        default = list(self.default) if isinstance(self.default, tuple) else self.default
        return {**out, "default": default, "description": self.help}


def _same(value, literal) -> bool:
    """``value`` is the literal: None only as None, strings as strings, numbers as numbers
    (numpy ones too), never a bool for a number."""
    if value is literal:
        return True
    if literal is None or isinstance(value, (bool, np.bool_)) or isinstance(literal, bool):
        return False
    if isinstance(literal, str):
        return isinstance(value, str) and value == literal
    return isinstance(value, (int, float, np.integer, np.floating)) and value == literal


# Parameters most estimators share, declared once.
SEED = Param("int", None, low=0, also=(None,), instances=(np.random.Generator,),
             help="Random seed (None: fresh entropy each fit).", cli="seed")
THREADS = Param("int", None, low=1, also=(None, -1), help="Threads (None or -1: all cores).", cli="threads")
VERBOSE = Param("bool", False, help="Show a progress bar on stderr.")


class BaseEmbedder:
    """scikit-learn-style base: ``__init__`` stores the parameters unchanged (they are checked by
    ``fit``, against the class's ``parameters`` table); learned state ends in ``_``."""

    name = None  # registry name, e.g. "fastrp"
    parameters = {}  # name -> Param, in __init__ order
    _numba_kernels = ()  # "module.function" kernels every fit compiles on a cold cache

    # ------------------------------------------------------------------ the estimator protocol
    @classmethod
    def _get_param_names(cls):
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"
                and sig.parameters[p].kind != inspect.Parameter.VAR_KEYWORD]

    _param_names = _get_param_names  # older name

    def get_params(self, deep=True) -> dict:
        """The constructor parameters; with ``deep``, also ``name__sub`` of nested estimators."""
        out = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{name}__{k}", v) for k, v in value.get_params().items())
            out[name] = value
        return out

    def set_params(self, **params):
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

    def __repr__(self):
        defaults = {k: p.default for k, p in inspect.signature(type(self).__init__).parameters.items()}
        changed = [f"{k}={v!r}" for k, v in self.get_params(deep=False).items()
                   if _differs(v, defaults.get(k))]
        return f"{type(self).__name__}({', '.join(changed)})"

    # ------------------------------------------------------------------ declared parameters
    def _check_params(self) -> dict:
        """Every declared parameter checked; returns {name: value}. Raises InputError."""
        return {name: param.check(name, getattr(self, name)) for name, param in self.parameters.items()}

    @classmethod
    def param_schema(cls) -> dict:
        """JSON Schema (draft 2020-12) of the constructor parameters."""
        return {"$schema": "https://json-schema.org/draft/2020-12/schema",
                "title": cls.name or cls.__name__, "type": "object", "additionalProperties": False,
                "properties": {name: p.schema() for name, p in cls.parameters.items()}}

    # ------------------------------------------------------------------ fitting
    def fit_transform(self, graph, **fit_params):
        """Fit on ``graph`` and return the Embedding, which records how the graph was read."""
        emb = self.fit(graph, **fit_params).transform()
        if emb.input is None and hasattr(graph, "stats") and hasattr(graph, "n_edges"):
            from graphembed.io.metadata import describe_input

            emb.input = describe_input(graph)
        return emb

    def transform(self):
        check_is_fitted(self, "embedding_")
        return self.embedding_


def _differs(a, b):
    try:
        return bool(np.any(a != b)) if not isinstance(a, (list, tuple)) else list(a) != list(b or [])
    except Exception:
        return True


def check_is_fitted(estimator, attribute):
    if not hasattr(estimator, attribute):
        raise InputError(f"{type(estimator).__name__} is not fitted yet: call fit(graph) first")


def check_seed(random_state) -> int:
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


def default_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def numba_threads(n_jobs):
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


def progress(total, desc, verbose):
    """A tqdm bar on stderr, shown only when ``verbose`` and stderr is a terminal."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, disable=None if verbose else True, leave=False, unit="it")
