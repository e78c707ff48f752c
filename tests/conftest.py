import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def random_edges(rng, n, m):
    """m random (u, v) integer edges on n nodes."""
    return rng.integers(0, n, m), rng.integers(0, n, m)
