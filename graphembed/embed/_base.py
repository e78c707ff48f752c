"""What every estimator shares: parameters, seeds, thread counts and progress bars."""
import contextlib
import inspect
import os

import numpy as np

from graphembed.io.errors import InputError


class BaseEmbedder:
    """scikit-learn-style base: ``__init__`` stores parameters; learned state ends in ``_``."""

    name = None  # registry name, e.g. "fastrp"
    _numba_kernels = ()  # "module.function" kernels every fit compiles on a cold cache

    @classmethod
    def _param_names(cls):
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self) -> dict:
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        for key, value in params.items():
            if key not in self._param_names():
                raise InputError(f"{type(self).__name__} has no parameter {key!r}")
            setattr(self, key, value)
        return self

    def __repr__(self):
        defaults = {k: p.default for k, p in inspect.signature(type(self).__init__).parameters.items()}
        changed = [f"{k}={v!r}" for k, v in self.get_params().items() if _differs(v, defaults.get(k))]
        return f"{type(self).__name__}({', '.join(changed)})"

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

    if n_jobs is not None and (not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0 or n_jobs < -1):
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
