"""The estimators' base moved to :mod:`graphembed.base`; kept so that existing imports work."""
from graphembed.base import BaseEmbedder, Param, check_is_fitted, check_seed, default_threads, numba_threads, progress  # noqa: F401

__all__ = ["BaseEmbedder", "Param", "check_is_fitted", "check_seed", "default_threads", "numba_threads",
           "progress"]
