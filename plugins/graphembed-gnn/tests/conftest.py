import os

import numpy as np
import pytest
import torch

# Tiny graphs gain nothing from threads, and busy-waiting OpenMP threads crawl on a loaded machine.
torch.set_num_threads(1)


def pytest_addoption(parser):
    # `pytest --device cuda` (or GRAPHEMBED_GNN_TEST_DEVICE=cuda) runs the training tests on the GPU.
    parser.addoption("--device", default=os.environ.get("GRAPHEMBED_GNN_TEST_DEVICE", "cpu"),
                     choices=("cpu", "cuda"), help="device of the plugin's training tests")


@pytest.fixture
def device(request):
    return request.config.getoption("--device")


def planted_partition(seed=0, blocks=4, size=50, p_in=0.2, p_out=0.01, signal=1.0, noise=1.5):
    """(Graph, labels, features): a stochastic block model whose features only weakly show the
    block (class one-hot * signal + Gaussian noise), so the graph is needed to classify well."""
    from graphembed.graph import Graph

    rng = np.random.default_rng(seed)
    n = blocks * size
    labels = np.repeat(np.arange(blocks), size)
    same = labels[:, None] == labels[None, :]
    upper = np.triu(rng.random((n, n)) < np.where(same, p_in, p_out), 1)
    src, dst = np.nonzero(upper)
    graph = Graph.from_edges(src, dst, nodes=np.arange(n))
    features = np.concatenate([np.eye(blocks)[labels] * signal, np.zeros((n, blocks))], axis=1)
    features = (features + noise * rng.standard_normal(features.shape)).astype(np.float32)
    return graph, labels, features


@pytest.fixture(scope="session")
def planted():
    return planted_partition()
