"""Counter-based random numbers for parallel kernels.

Each unit of parallel work (a row, a walk, a chunk) derives its own stream from
``(seed, unit index)`` with splitmix64, so results never depend on the thread count.
"""
import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53


@njit(cache=True, inline="always")
def mix64(z):
    """splitmix64 finaliser: a bijective hash of a uint64."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def stream_state(seed, unit):
    """Initial uint64 state of the stream for one unit of work."""
    return mix64(mix64(np.uint64(seed) + _GOLDEN) ^ (np.uint64(unit) * _GOLDEN))


@njit(cache=True, inline="always")
def next_u64(state):
    """Advance ``state``; return ``(state, 64 random bits)``."""
    state = state + _GOLDEN
    return state, mix64(state)


@njit(cache=True, inline="always")
def next_uniform(state):
    """Advance ``state``; return ``(state, u)`` with u uniform in [0, 1)."""
    state, bits = next_u64(state)
    return state, np.float64(bits >> _S11) * _TO_UNIT
