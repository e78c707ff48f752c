"""Graph random features against exact matrix functions (numpy inverse, scipy expm) on small graphs."""
import math
import subprocess
import sys

import networkx as nx
import numpy as np
import pytest
import scipy.linalg as sl
import scipy.sparse as sp

import graphembed as ge
from graphembed.datasets import karate_path
from graphembed.embed.grf_modulation import deconvolve, kernel_alpha, self_convolve
from graphembed.io.errors import InputError

MS = [4, 16, 64, 256]


def normalized_w(graph, sigma2):
    a = graph.to_scipy().toarray().astype(np.float64)
    a = np.maximum(a, a.T)
    d = a.sum(1)
    inv = np.divide(1.0, np.sqrt(d), out=np.zeros_like(d), where=d > 0)
    return sigma2 * inv[:, None] * a * inv[None, :]


def exact(kernel, graph, beta=1.0, sigma2=None, power=2):
    """The exact kernel with plain numpy / scipy, independent of the estimator's code."""
    if sigma2 is None:
        sigma2 = 0.5 if kernel in ("inverse", "inverse2") else 1.0
    w = normalized_w(graph, sigma2)
    eye = np.eye(w.shape[0])
    if kernel == "inverse":
        return np.linalg.inv(eye - w)
    if kernel == "inverse2":
        k = np.linalg.inv(eye - w)
        return k @ k
    if kernel == "exp":
        return sl.expm(beta * w)
    if kernel == "diffusion":  # exp(-beta L), L the normalised Laplacian
        lap = eye - w / sigma2
        return sl.expm(-beta * lap)
    if kernel == "random-walk":
        return np.linalg.matrix_power(eye + w, power)
    raise ValueError(kernel)


def rel_error(est, k):
    return np.linalg.norm(est - k) / np.linalg.norm(k)


GRAPHS = {
    "karate": lambda: ge.datasets.karate()[0],
    "er100": lambda: ge.Graph.from_networkx(nx.erdos_renyi_graph(100, 0.08, seed=3)),
    "ba300": lambda: ge.Graph.from_networkx(nx.barabasi_albert_graph(300, 3, seed=3)),
}
KERNELS = ["inverse", "inverse2", "exp", "diffusion", "random-walk"]


@pytest.fixture(scope="module")
def graphs():
    return {name: make() for name, make in GRAPHS.items()}


@pytest.mark.parametrize("graph_name", list(GRAPHS))
@pytest.mark.parametrize("kernel", KERNELS)
def test_error_falls_like_one_over_sqrt_m(graphs, graph_name, kernel):
    g = graphs[graph_name]
    k = exact(kernel, g)
    errors = [rel_error(ge.GraphRandomFeatures(kernel=kernel, n_walks=m, random_state=11)
                        .fit(g).kernel_matrix(), k) for m in MS]
    slope = np.polyfit(np.log(MS), np.log(errors), 1)[0]
    assert -0.6 <= slope <= -0.4, (errors, slope)
    assert errors[-1] < 0.2


@pytest.mark.parametrize("kernel", ["inverse", "exp", "diffusion"])
def test_averaging_50_estimates_cuts_error_by_sqrt_50(graphs, kernel):
    g = graphs["er100"]
    k = exact(kernel, g)
    estimates = [ge.GraphRandomFeatures(kernel=kernel, n_walks=4, random_state=s).fit(g).kernel_matrix()
                 for s in range(50)]
    single = math.sqrt(np.mean([rel_error(e, k) ** 2 for e in estimates]))
    averaged = rel_error(np.mean(estimates, axis=0), k)
    ratio = single / averaged
    assert 0.75 * math.sqrt(50) < ratio < 1.3 * math.sqrt(50), ratio


def test_single_walk_set_biases_only_the_diagonal(graphs):
    g = graphs["karate"]
    k = exact("exp", g)
    off = ~np.eye(34, dtype=bool)
    shared = np.mean([ge.GraphRandomFeatures(kernel="exp", n_walks=4, independent=False, random_state=s)
                      .fit(g).kernel_matrix() for s in range(60)], axis=0)
    indep = np.mean([ge.GraphRandomFeatures(kernel="exp", n_walks=4, random_state=s).fit(g).kernel_matrix()
                     for s in range(60)], axis=0)
    est = ge.GraphRandomFeatures(kernel="exp", n_walks=4, independent=False, random_state=0).fit(g)
    assert est.features2_ is est.features_
    diag_shared = np.mean(np.diag(shared) - np.diag(k)) / np.mean(np.diag(k))
    diag_indep = np.mean(np.diag(indep) - np.diag(k)) / np.mean(np.diag(k))
    assert diag_shared > 0.1 and abs(diag_indep) < 0.05, (diag_shared, diag_indep)
    # off the diagonal both are unbiased: the averaged errors are pure noise of the same size
    assert rel_error(shared[off], k[off]) < 2 * rel_error(indep[off], k[off]) < 0.3


@pytest.mark.parametrize("kernel", KERNELS)
def test_deconvolution_reproduces_alpha(kernel):
    alpha = kernel_alpha(kernel, 40, beta=1.3, sigma2=0.7, power=4)
    f = deconvolve(alpha)
    np.testing.assert_allclose(self_convolve(f), alpha, rtol=1e-10, atol=1e-14)


def test_deconvolution_closed_forms():
    k = np.arange(20)
    f = deconvolve(kernel_alpha("exp", 20, beta=2.0))
    np.testing.assert_allclose(f, [1.0 / math.factorial(i) for i in k])  # exp(2x) = exp(x)^2
    f = deconvolve(kernel_alpha("inverse", 20))
    np.testing.assert_allclose(f, [math.comb(2 * i, i) / 4 ** i for i in k])  # (1 - x)^-1/2
    np.testing.assert_allclose(deconvolve(kernel_alpha("inverse2", 20)), np.ones(20))
    np.testing.assert_allclose(deconvolve(kernel_alpha("random-walk", 6, power=4)), [1, 2, 1, 0, 0, 0], atol=1e-12)


def test_custom_alpha_and_weighted_graph(rng):
    src, dst = rng.integers(0, 60, 300), rng.integers(0, 60, 300)
    g = ge.Graph.from_edges(src, dst, rng.uniform(0.2, 3.0, 300), nodes=np.arange(60))
    w = normalized_w(g, 0.8)
    k = np.eye(60) + 0.5 * w + 0.25 * w @ w + 0.1 * w @ w @ w
    est = ge.GraphRandomFeatures(kernel=[1.0, 0.5, 0.25, 0.1], sigma2=0.8, n_walks=256, random_state=0).fit(g)
    assert est.max_length_ <= 40
    assert rel_error(est.kernel_matrix(), k) < 0.05
    np.testing.assert_allclose(est.exact_kernel(), k, atol=1e-9)


def test_isolated_nodes_and_disconnected_graph():
    # two triangles-with-tails and two isolated nodes (6 and 9)
    g = ge.Graph.from_edges([0, 1, 2, 3, 7, 8, 10, 11], [1, 2, 0, 0, 8, 10, 11, 7], nodes=np.arange(12))
    for kernel in KERNELS:
        k = exact(kernel, g)
        est = ge.GraphRandomFeatures(kernel=kernel, n_walks=256, random_state=0).fit(g)
        kh = est.kernel_matrix()
        comp_a, comp_b = [0, 1, 2, 3, 4, 5], [7, 8, 10, 11]
        assert np.all(kh[np.ix_(comp_a, comp_b)] == 0) and np.all(kh[np.ix_(comp_b, comp_a)] == 0)
        for i in (4, 5, 6, 9):  # isolated: K row is alpha_0 e_i exactly
            expected = np.zeros(12)
            expected[i] = k[i, i]
            np.testing.assert_allclose(kh[i], expected, rtol=1e-6)
        assert rel_error(kh, k) < 0.1


def test_graph_without_edges():
    g = ge.Graph.from_edges([], [], nodes=np.arange(5))
    est = ge.GraphRandomFeatures(kernel="inverse", sigma2=0.9, n_walks=4, random_state=0).fit(g)
    np.testing.assert_allclose(est.kernel_matrix(), np.eye(5))
    assert est.spectral_radius_ == 0.0


def test_divergent_series_are_refused(graphs):
    g = graphs["karate"]
    for kernel in ("inverse", "inverse2", "regularized-laplacian"):
        with pytest.raises(InputError, match="diverges"):
            ge.GraphRandomFeatures(kernel=kernel, sigma2=1.0).fit(g)
    rho_a = np.max(np.abs(np.linalg.eigvalsh(g.to_scipy().toarray().astype(float))))
    with pytest.raises(InputError, match="spectral radius"):
        ge.GraphRandomFeatures(kernel="inverse", sigma2=1.0 / rho_a * 1.01, normalize=False).fit(g)
    # just inside the radius the unnormalised inverse converges and is estimated
    est = ge.GraphRandomFeatures(kernel="inverse", sigma2=0.5 / rho_a, normalize=False, n_walks=64,
                                 random_state=0).fit(g)
    a = g.to_scipy().toarray().astype(float)
    k = np.linalg.inv(np.eye(34) - 0.5 / rho_a * a)
    assert abs(est.spectral_radius_ - 0.5) < 1e-9
    assert rel_error(est.kernel_matrix(), k) < 0.2
    with pytest.raises(InputError, match="does not converge"):
        ge.GraphRandomFeatures(kernel="random-walk", power=1, sigma2=1.0).fit(g)


def test_directed_graph_is_symmetrised(graphs):
    g = ge.datasets.karate()[0]
    a = g.to_scipy().tocoo()
    keep = a.row < a.col
    directed = ge.Graph.from_edges(a.row[keep], a.col[keep], directed=True, nodes=np.arange(34))
    kh = ge.GraphRandomFeatures(kernel="exp", n_walks=64, random_state=1).fit(directed).kernel_matrix()
    und = ge.Graph.from_edges(a.row[keep], a.col[keep], nodes=np.arange(34))
    assert rel_error(kh, exact("exp", und)) < 0.15


def test_matvec_matches_matrix_and_threads_do_not_change_bits(graphs, rng, monkeypatch):
    g = graphs["ba300"]
    serial = ge.GraphRandomFeatures(kernel="diffusion", n_walks=16, random_state=5).fit(g)
    import graphembed.embed.grf as grf_module

    monkeypatch.setattr(grf_module, "SERIAL_WALKS", 0)  # force the parallel kernels
    one = ge.GraphRandomFeatures(kernel="diffusion", n_walks=16, random_state=5, n_jobs=1).fit(g)
    two = ge.GraphRandomFeatures(kernel="diffusion", n_walks=16, random_state=5, n_jobs=2).fit(g)
    for a, b, c in ((one.features_, two.features_, serial.features_),
                    (one.features2_, two.features2_, serial.features2_)):
        for x in (b, c):
            assert np.array_equal(a.indptr, x.indptr) and np.array_equal(a.indices, x.indices)
            assert np.array_equal(a.data, x.data)
    other = ge.GraphRandomFeatures(kernel="diffusion", n_walks=16, random_state=6).fit(g)
    assert (other.features_ != one.features_).nnz > 0
    assert (one.features_ != one.features2_).nnz > 0
    x = rng.standard_normal((300, 3))
    km = one.kernel_matrix()
    np.testing.assert_allclose(one.kernel_matvec(x), km @ x, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(one.kernel_matvec(x[:, 0]), km @ x[:, 0], rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(one.kernel_matvec(x, symmetrize=True), 0.5 * (km + km.T) @ x, rtol=1e-5, atol=1e-8)
    with pytest.raises(InputError):
        one.kernel_matvec(np.ones(7))


def test_features_have_expected_sparsity(graphs):
    g = graphs["ba300"]
    est = ge.GraphRandomFeatures(kernel="exp", n_walks=32, p_halt=0.5, random_state=0).fit(g)
    phi = est.features_
    assert sp.isspmatrix_csr(phi) and phi.shape == (300, 300) and phi.dtype == np.float32
    # at most 1 + m * E[steps] = 1 + 32 distinct entries per row on average
    assert phi.nnz / 300 <= 1 + 32 * 1.2


def test_kernel_matrix_is_size_guarded(graphs):
    est = ge.GraphRandomFeatures(n_walks=2, random_state=0).fit(graphs["karate"])
    with pytest.raises(InputError, match="kernel_matvec"):
        est.kernel_matrix(max_nodes=10)


def test_transform_projects_features_unbiasedly(graphs):
    g = graphs["karate"]
    est = ge.GraphRandomFeatures(kernel="exp", n_walks=64, dim=4096, random_state=2).fit(g)
    emb = est.fit_transform(g)
    assert isinstance(emb, ge.Embedding) and emb.vectors.shape == (34, 4096) and emb.method == "grf"
    phi = ((est.features_ + est.features2_) * 0.5).toarray().astype(np.float64)
    gram = phi @ phi.T
    assert rel_error(emb.vectors.astype(np.float64) @ emb.vectors.T, gram) < 0.1
    again = ge.GraphRandomFeatures(kernel="exp", n_walks=64, dim=4096, random_state=2).fit_transform(g)
    assert np.array_equal(again.vectors, emb.vectors)


def test_kernel_kmeans_recovers_planted_blocks():
    sizes = [40, 40, 40]
    g = ge.Graph.from_networkx(nx.stochastic_block_model(sizes, [[0.3, 0.02, 0.02], [0.02, 0.3, 0.02],
                                                                 [0.02, 0.02, 0.3]], seed=1))
    truth = np.repeat([0, 1, 2], 40)
    from sklearn.metrics import normalized_mutual_info_score as nmi

    est = ge.GraphRandomFeatures(kernel="diffusion", beta=3.0, n_walks=64, random_state=0).fit(g)
    labels = ge.kernel_kmeans(est, 3, random_state=0)
    assert labels.shape == (120,) and nmi(truth, labels) > 0.9
    assert nmi(truth, ge.kernel_kmeans(exact("diffusion", g, beta=3.0), 3, random_state=0)) > 0.9
    with pytest.raises(InputError):
        ge.kernel_kmeans(est, 0)


def test_learned_modulation_lowers_error_on_fresh_walks(graphs):
    g = graphs["karate"]
    k = exact("inverse", g, sigma2=0.8)
    base = ge.GraphRandomFeatures(kernel="inverse", sigma2=0.8, n_walks=4, random_state=0).fit(g)
    f0 = base.modulation_.copy()
    learned = ge.GraphRandomFeatures(kernel="inverse", sigma2=0.8, n_walks=4, random_state=0).fit(g)
    learned.fit_modulation(n_walks=64)
    info = learned.modulation_fit_
    assert info["loss"] <= info["loss_initial"] and learned.modulation_.shape == f0.shape
    err_base = np.mean([rel_error(ge.GraphRandomFeatures(kernel="inverse", sigma2=0.8, n_walks=4, random_state=s)
                                  .fit(g).kernel_matrix(), k) for s in range(100, 120)])
    err_learned = np.mean([rel_error(ge.GraphRandomFeatures(kernel="inverse", sigma2=0.8, n_walks=4, random_state=s,
                                                            modulation=learned.modulation_).fit(g).kernel_matrix(), k)
                           for s in range(100, 120)])
    assert err_learned < err_base * 1.02, (err_learned, err_base)


def test_free_modulation_recovers_from_a_wrong_start(graphs):
    g = graphs["karate"]
    k = exact("exp", g)
    est = ge.GraphRandomFeatures(kernel="exp", n_walks=64, random_state=0, modulation=[1.0, 0.0, 0.0, 0.0, 0.0])
    est.fit(g)
    before = rel_error(est.kernel_matrix(), k)
    est.fit_modulation(target=k, family="free", n_walks=128)
    after = rel_error(est.kernel_matrix(), k)
    assert after < 0.5 * before
    np.testing.assert_allclose(est.modulation_[:3], [1.0, 0.5, 0.125], atol=0.1)  # exp(x/2) coefficients


@pytest.mark.parametrize("bad", [dict(kernel="nope"), dict(kernel=[0.0, 1.0]), dict(n_walks=0),
                                 dict(p_halt=0.0), dict(p_halt=1.0), dict(beta=-1.0), dict(sigma2=0.0),
                                 dict(power=0, kernel="random-walk"), dict(max_length=-1), dict(dim=0),
                                 dict(random_state=-1), dict(n_jobs=0), dict(modulation=[])])
def test_invalid_parameters_raise_input_error(graphs, bad):
    with pytest.raises(InputError):
        ge.GraphRandomFeatures(**bad).fit(graphs["karate"])


def test_registry_and_inputs(graphs):
    assert ge.get_embedder("grf") is ge.GraphRandomFeatures
    a = graphs["karate"].to_scipy()
    from_scipy = ge.GraphRandomFeatures(n_walks=4, random_state=0).fit(a)
    from_graph = ge.GraphRandomFeatures(n_walks=4, random_state=0).fit(graphs["karate"])
    assert (from_scipy.features_ != from_graph.features_).nnz == 0
    with pytest.raises(InputError):
        ge.GraphRandomFeatures().kernel_matrix()


# ---------------------------------------------------------------------------- CLI
def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "graphembed.cli.main", *map(str, args)],
                          capture_output=True, text=True)


def test_cli_writes_embedding_and_features(tmp_path):
    out, phi = tmp_path / "k.parquet", tmp_path / "phi.npz"
    r = run_cli("grf", karate_path(), "-o", out, "--kernel", "diffusion", "--beta", "1.0", "--walks", 16,
                "--p-halt", "0.5", "--dim", 32, "--features-out", phi, "--seed", 0, "--json")
    assert r.returncode == 0, r.stderr
    import json

    summary = json.loads(r.stdout)
    assert summary["method"] == "grf" and summary["nodes"] == 34
    emb = ge.Embedding.load(out)
    assert emb.vectors.shape == (34, 32)
    m = sp.load_npz(phi)
    g = ge.read_graph(karate_path())
    est = ge.GraphRandomFeatures(kernel="diffusion", n_walks=16, dim=32, random_state=0).fit(g)
    assert m.shape == (34, 34) and (m != est.features_).nnz == 0
    np.testing.assert_allclose(emb.vectors, est.transform().vectors)


def test_cli_features_only_and_errors(tmp_path):
    phi = tmp_path / "phi.npz"
    r = run_cli("grf", karate_path(), "--kernel", "inverse", "--sigma2", "0.5", "--features-out", phi, "--quiet")
    assert r.returncode == 0, r.stderr and phi.exists()
    bad = run_cli("grf", karate_path(), "--kernel", "inverse", "--sigma2", "1.0", "--features-out",
                  tmp_path / "x.npz")
    assert bad.returncode == 2 and bad.stderr.startswith("graphembed: error:") and "diverges" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and not (tmp_path / "x.npz").exists()
    none = run_cli("grf", karate_path())
    assert none.returncode == 2 and "graphembed: error:" in none.stderr
