"""Graph random features (GRFs): unbiased walk-based estimates of graph kernels.

K. Choromanski. "Taming graph kernels with random features." ICML 2023.
https://arxiv.org/abs/2305.00156
I. Reid, K. Choromanski, E. Berger, A. Weller. "General Graph Random Features." ICLR 2024
(u-GRFs). https://arxiv.org/abs/2310.04859

For a kernel that is a power series of a weighted adjacency matrix,

    K = sum_k alpha_k W^k,        W = sigma2 * D^-1/2 A D^-1/2   (default, "normalised")

each node i gets a sparse feature row phi(i) (length n): ``n_walks`` walks start at i, halt
with probability ``p_halt`` before every step and otherwise move to a uniform neighbour; the
prefix of length k ending at v adds ``load * f_k / n_walks`` to phi(i)[v], where load is the
product of the W entries along the prefix divided by the product of the step probabilities
(1 - p_halt) / deg. Then E[phi(i)] = (sum_k f_k W^k)[i, :] and, with f the convolutional
square root of alpha (``sum_{p<=k} f_p f_{k-p} = alpha_k``) and two independent walk sets,
E[Phi1 Phi2^T] = K (W is symmetric). Each row has at most ``n_walks (1 + E[length])`` non-zeros
(``n_walks / p_halt``), so features cost O(n m / p_halt) time and memory instead of the O(n^3)
of a dense matrix function.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from graphembed import params
from graphembed._limits import check_memory
from graphembed.base import BaseEmbedder, check_is_fitted, check_seed, derive_seed, numba_threads, progress
from graphembed.embed.grf_modulation import (
    FAMILIES,
    MAX_TERMS,
    canonical_kernel,
    custom_alpha,
    deconvolve,
    kernel_alpha,
    kernel_function,
    learn_modulation,
    radius_of_convergence,
    self_convolve,
    truncation_length,
)
from graphembed.embedding import Embedding
from graphembed.graph import Graph
from graphembed.io.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from typing_extensions import Self

    from graphembed.graph import GraphLike

KERNEL_MATRIX_MAX_NODES = 10_000
SERIAL_WALKS = 100_000


class GraphRandomFeatures(BaseEmbedder):
    """Graph random features: a sparse feature matrix Phi (n, n) per walk set with
    E[Phi1 Phi2^T] = K for a graph kernel K = sum_k alpha_k W^k.

    Parameters
    ----------
    kernel : str or sequence of float
        "inverse": (I - W)^-1 (alpha_k = 1; needs spectral radius of W < 1).
        "inverse2" or "regularized-laplacian": (I - W)^-2 (alpha_k = k + 1, f = 1), the
        2-regularised Laplacian kernel of the GRF papers (I - W = (1 - sigma2) I + sigma2 L).
        "exp": exp(beta W) (alpha_k = beta^k / k!).
        "diffusion": exp(-beta L) with L = I - D^-1/2 A D^-1/2 the *normalised* Laplacian;
        since W = sigma2 D^-1/2 A D^-1/2, exp(-beta L) = e^-beta exp((beta / sigma2) W), so
        alpha_k = e^-beta (beta / sigma2)^k / k! and the kernel does not depend on sigma2 (only
        the estimator's variance does). With ``normalize=False`` it is exp(-beta (I - A)).
        "random-walk": the p-step random-walk kernel (I + W)^power.
        A sequence [alpha_0, alpha_1, ...] (alpha_0 > 0): the polynomial kernel sum_k alpha_k W^k.
    beta : float > 0, the exp / diffusion scale.
    sigma2 : float > 0 or None, the scale of W. None: 0.5 for "inverse" / "inverse2" (their
        series need rho(W) < 1, and rho(D^-1/2 A D^-1/2) = 1 on any graph with an edge), else 1.
    power : int >= 1, the number of steps of the "random-walk" kernel. An even power gives a
        polynomial f (walks of at most power / 2 steps). An odd power with sigma2 = 1 needs the
        slowly converging series of (1 + x)^(power / 2) (a branch point at x = -1 = -rho(W)):
        power 1 is refused, power 3 caps walks only at about 2,400 steps; prefer sigma2 < 1.
    n_walks : int, walks per node and walk set (m). The error falls like 1 / sqrt(m).
    p_halt : float in (0, 1), halting probability before each step (mean walk length
        (1 - p_halt) / p_halt steps).
    normalize : bool, W = sigma2 D^-1/2 A D^-1/2 (True) or W = sigma2 A (False; the series
        must converge at the spectral radius of sigma2 A, else fit raises InputError).
    independent : bool. True (default): two independent walk sets (``features_``,
        ``features2_``) and the estimate Phi1 Phi2^T is unbiased everywhere. False: one set,
        ``features2_ is features_``; Phi Phi^T is then unbiased off the diagonal, but its
        diagonal is biased upwards by the variance of phi(i) (E[|phi(i)|^2] = K_ii + tr Var
        phi(i)), a bias that shrinks like 1 / n_walks.
    modulation : None or sequence of float, an explicit f_0..f_L (e.g. a learned one) instead
        of the deconvolution of alpha; the walk length is then capped at L.
    max_length : int or None, a cap on the walk length (None: the smallest length whose
        truncation bias is below ``tol``, from the series; see ``truncation_bound_``).
    tol : float, relative (spectral-norm) truncation bias allowed when max_length is None.
    dim : int, columns of the dense embedding made by :meth:`transform`.
    projection_nnz : int or None, non-zeros per row of the sparse random projection
        (None: min(dim, 4)).
    random_state : None, int or numpy Generator.
    n_jobs : numba threads (None or -1: all cores). Output is bit-identical for any value.
    verbose : show a progress bar on stderr.

    Attributes
    ----------
    features_, features2_ : scipy.sparse.csr_matrix (n, n) float32, the two walk sets' features.
    alpha_ : (L + 1,) kernel coefficients; modulation_ : (L + 1,) f used; max_length_ : L.
    spectral_radius_ : rho(W); truncation_bound_ : relative bias bound of the truncation.

    Notes
    -----
    Directed graphs are symmetrised (A := max(A, A^T)): the estimator needs a symmetric W.
    Edge weights are used when present (W and the degrees in D are weighted); the walks always
    move to a uniform neighbour and the load corrects for it. An isolated node's row is
    f_0 e_i, so its kernel row is alpha_0 e_i, as for the exact kernel.

    Examples
    --------
    >>> import graphembed as ge
    >>> g, _ = ge.datasets.karate()
    >>> grf = ge.GraphRandomFeatures(kernel="exp", n_walks=16, random_state=0).fit(g)
    >>> grf.features_.shape, grf.kernel_matrix().shape
    ((34, 34), (34, 34))
    """

    name = "grf"
    parameters = params.GRF

    def __init__(self, kernel: str | Sequence[float] | np.ndarray = "diffusion", beta: float = 1.0,
                 sigma2: float | None = None, power: int = 2, n_walks: int = 64, p_halt: float = 0.5,
                 normalize: bool = True, independent: bool = True,
                 modulation: Sequence[float] | np.ndarray | None = None, max_length: int | None = None,
                 tol: float = 1e-6, dim: int = 128, projection_nnz: int | None = None,
                 random_state: int | np.random.Generator | None = None, n_jobs: int | None = None,
                 verbose: bool = False) -> None:
        self.kernel = kernel
        self.beta = beta
        self.sigma2 = sigma2
        self.power = power
        self.n_walks = n_walks
        self.p_halt = p_halt
        self.normalize = normalize
        self.independent = independent
        self.modulation = modulation
        self.max_length = max_length
        self.tol = tol
        self.dim = dim
        self.projection_nnz = projection_nnz
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    # ------------------------------------------------------------------ validation
    def _validate(self):
        self._check_params()
        kind = canonical_kernel(self.kernel)
        alpha = custom_alpha(self.kernel) if kind == "custom" else None
        sigma2 = self.sigma2
        if sigma2 is None:
            sigma2 = 0.5 if kind in ("inverse", "inverse2") else 1.0
        modulation = None
        if self.modulation is not None:
            try:
                modulation = np.asarray(self.modulation, dtype=np.float64).reshape(-1)
            except (TypeError, ValueError):
                raise InputError(f"modulation must be numbers, got {self.modulation!r}") from None
            if modulation.size == 0 or not np.all(np.isfinite(modulation)):
                raise InputError("modulation must be a non-empty list of finite numbers")
        return kind, alpha, float(sigma2), modulation

    def _kernel_name(self, kind):
        if kind == "custom":
            return "custom"
        return self.kernel

    # ------------------------------------------------------------------ fitting
    def fit(self, graph: GraphLike, *, scheduler: Any = None) -> Self:
        """Build the walk features of every node of ``graph``.

        Parameters
        ----------
        graph : Graph, or a scipy sparse / dense adjacency matrix, or a networkx graph.
        scheduler : None (run here), or run the walks on Dask by node ranges: ``"local:N"``,
            ``"tcp://host:port"`` or a ``dask.distributed.Client`` (needs ``graphembed[dask]``).
            The features are bit-identical to the local run's (per-node seeds); see
            :mod:`graphembed.distributed.grf`.
        """
        if scheduler is not None or getattr(graph, "_graphembed_partitioned", False):
            from graphembed.distributed.grf import fit_distributed

            return fit_distributed(self, graph, scheduler)
        return self._fit(graph, self._walk_features)

    def _fit(self, graph, walk_features):
        kind, custom, sigma2, modulation = self._validate()
        graph = Graph.coerce(graph)
        self.seed_ = check_seed(self.random_state)
        self.kernel_ = kind
        self.sigma2_ = sigma2
        self._custom_alpha = custom
        indptr, indices, w_edge, degree, rows = _symmetric_weights(graph, sigma2, self.normalize)
        self.spectral_radius_ = _spectral_radius(indptr, indices, w_edge, graph.n_nodes, self.normalize,
                                                 sigma2)
        self._series(kind, custom, modulation)
        ratio = w_edge * degree[rows] / (1.0 - float(self.p_halt))
        del rows, w_edge
        self.graph_ = graph
        self._csr = (indptr, indices, ratio)
        self._seeds = [derive_seed(self.seed_, k) for k in range(3)]
        with numba_threads(self.n_jobs), progress(2 if self.independent else 1, "grf", self.verbose) as bar:
            self.features_ = walk_features(self.modulation_, self._seeds[0])
            bar.update(1)
            if self.independent:
                self.features2_ = walk_features(self.modulation_, self._seeds[1])
                bar.update(1)
            else:
                self.features2_ = self.features_
        self._phi2t = None
        return self

    def _series(self, kind, custom, modulation):
        """alpha_, modulation_, max_length_, truncation_bound_ (refusing divergent series)."""
        rho = self.spectral_radius_
        radius = radius_of_convergence(kind)
        name = self._kernel_name(kind)
        if rho >= radius:
            raise InputError(
                f"the {name} kernel series diverges: the spectral radius of W is {rho:.4g} >= {radius:g}"
                f" (W = sigma2 {'D^-1/2 A D^-1/2' if self.normalize else 'A'}, sigma2 = {self.sigma2_:g});"
                f" use a smaller sigma2{'' if self.normalize else ' or normalize=True'}")
        params = dict(beta=float(self.beta), sigma2=self.sigma2_, power=int(self.power), alpha=custom)
        if modulation is not None:
            f = modulation
            length = f.size - 1 if self.max_length is None else min(f.size - 1, int(self.max_length))
            f = f[: length + 1]
            alpha = self_convolve(f)
            bound = math.nan
        else:
            n_terms = 64
            while True:
                alpha_full = kernel_alpha(kind, n_terms, **params)
                f_full = deconvolve(alpha_full)
                length, bound = truncation_length(f_full, alpha_full, rho, float(self.tol), self.max_length)
                if length is not None or n_terms >= MAX_TERMS:
                    break
                n_terms *= 4
            if length is None:
                hint = " use an even power or sigma2 < 1" if kind == "random-walk" else " lower sigma2"
                raise InputError(f"the modulation series of the {name} kernel does not converge fast enough"
                                 f" at spectral radius {rho:.4g} of W (relative bias > tol = {self.tol:g}"
                                 f" after {MAX_TERMS} terms):{hint}")
            f = f_full[: length + 1]
            alpha = alpha_full[: length + 1]
        self.alpha_ = alpha
        self.modulation_ = f
        self.max_length_ = int(f.size - 1)
        self.truncation_bound_ = bound
        self._kernel_params = params

    def _walk_features(self, f, seed, max_length=None):
        """One walk set's features (scipy CSR float32) with modulation f."""
        import scipy.sparse as sp

        from graphembed._kernels import grf as kernels

        indptr, indices, ratio = self._csr
        n = indptr.shape[0] - 1
        m = int(self.n_walks)
        max_len = self.max_length_ if max_length is None else max_length
        log_keep = math.log1p(-float(self.p_halt))
        f = np.ascontiguousarray(f, dtype=np.float64)
        assert f.size == max_len + 1
        # below ~1e5 walks a thread-pool start costs more than the walks themselves
        serial = n * m < SERIAL_WALKS
        walk_entries = kernels.walk_entries_serial if serial else kernels.walk_entries
        walk_fill = kernels.walk_fill_serial if serial else kernels.walk_fill
        compact = kernels.compact_serial if serial else kernels.compact
        counts = np.empty(n, np.int64)
        walk_entries(indptr, m, log_keep, max_len, seed, counts)
        raw_ptr = np.zeros(n + 1, np.int64)
        np.cumsum(counts, out=raw_ptr[1:])
        check_memory(12 * int(raw_ptr[-1]), f"graph random features with n_walks={m} on {n} nodes")
        raw_col = np.empty(int(raw_ptr[-1]), np.int32)
        raw_val = np.empty(int(raw_ptr[-1]), np.float64)
        uniq = np.empty(n, np.int64)
        walk_fill(indptr, indices, ratio, f, m, log_keep, max_len, seed, raw_ptr, raw_col, raw_val, uniq)
        nnz = int(uniq.sum())
        idx_type = np.int32 if nnz < 2**31 - 1 else np.int64
        out_ptr = np.zeros(n + 1, np.int64)
        np.cumsum(uniq, out=out_ptr[1:])
        out_col = np.empty(nnz, np.int32)
        out_val = np.empty(nnz, np.float32)
        compact(raw_ptr, raw_col, raw_val, out_ptr, out_col, out_val)
        del raw_col, raw_val
        return sp.csr_matrix((out_val, out_col.astype(idx_type, copy=False), out_ptr.astype(idx_type)),
                             shape=(n, n))

    # ------------------------------------------------------------------ kernel estimates
    def kernel_matrix(self, symmetrize=False, max_nodes=KERNEL_MATRIX_MAX_NODES):
        """The dense estimate K_hat = Phi1 Phi2^T (n, n) float64.

        ``symmetrize=True`` returns (Phi1 Phi2^T + Phi2 Phi1^T) / 2 (also unbiased). Refuses
        graphs over ``max_nodes`` nodes (an n x n matrix): use :meth:`kernel_matvec` there.
        """
        check_is_fitted(self, "features_")
        n = self.features_.shape[0]
        if n > max_nodes:
            raise InputError(f"kernel_matrix() would build a dense {n} x {n} matrix "
                             f"({n * n * 8 / 2**30:.1f} GiB) for a graph over max_nodes={max_nodes}; "
                             f"use kernel_matvec(x), or pass a larger max_nodes")
        k = (self.features_.astype(np.float64) @ self.features2_.T.astype(np.float64)).toarray()
        if symmetrize:
            k = 0.5 * (k + k.T)
        return k

    def kernel_matvec(self, x, symmetrize=False):
        """K_hat x = Phi1 (Phi2^T x) without forming K_hat; x is (n,) or (n, k).

        ``symmetrize=True`` applies (Phi1 Phi2^T + Phi2 Phi1^T) / 2 instead.
        """
        check_is_fitted(self, "features_")
        x = np.asarray(x)
        n = self.features_.shape[0]
        if x.shape[0] != n or x.ndim not in (1, 2):
            raise InputError(f"x must have shape ({n},) or ({n}, k), got {x.shape}")
        if self._phi2t is None:
            self._phi2t = self.features2_.T.tocsr()
            self._phi1t = self._phi2t if not self.independent else self.features_.T.tocsr()
        y = self.features_ @ (self._phi2t @ x)
        if symmetrize:
            y = 0.5 * (y + self.features2_ @ (self._phi1t @ x))
        return y

    def kernel_operator(self, symmetrize=True):
        """A scipy LinearOperator (n, n) applying the (symmetrised) estimate."""
        from scipy.sparse.linalg import LinearOperator

        check_is_fitted(self, "features_")
        n = self.features_.shape[0]
        return LinearOperator((n, n), matvec=lambda v: self.kernel_matvec(v, symmetrize),
                              matmat=lambda v: self.kernel_matvec(v, symmetrize),
                              rmatvec=lambda v: self.kernel_matvec(v, symmetrize), dtype=np.float64)

    def exact_kernel(self, max_nodes=5_000):
        """The exact kernel g(W) (n, n) float64 by a dense eigendecomposition (small graphs).

        Uses the full series (not its truncation), so it is the quantity the features estimate.
        """
        check_is_fitted(self, "features_")
        n = self.graph_.n_nodes
        if n > max_nodes:
            raise InputError(f"exact_kernel() needs a dense {n} x {n} eigendecomposition; "
                             f"the graph is over max_nodes={max_nodes}")
        w = self._w_dense()
        vals, vecs = np.linalg.eigh(w)
        if self.modulation is not None:
            g = lambda x: np.polyval(self.alpha_[::-1], x)  # noqa: E731
        else:
            g = kernel_function(self.kernel_, **self._kernel_params)
        return (vecs * g(vals)) @ vecs.T

    def _w_dense(self):
        indptr, indices, ratio = self._csr
        n = indptr.shape[0] - 1
        degree = np.diff(indptr).astype(np.float64)
        rows = np.repeat(np.arange(n), np.diff(indptr))
        w = np.zeros((n, n))
        w[rows, indices] = ratio * (1.0 - float(self.p_halt)) / degree[rows]
        return w

    # ------------------------------------------------------------------ learned modulation
    def fit_modulation(self, target=None, family="log-linear", n_walks=None, random_state=None,
                       max_iter=200):
        """Learn f (a small parametric function of walk length) that minimises the estimator's
        error against ``target`` on the fitted graph, then rebuild the features with it.

        The loss is ||Phi1(f) Phi2(f)^T - target||_F^2 / ||target||_F^2 on a separate pair of
        training walk sets (``n_walks`` walks, default the estimator's), minimised by L-BFGS
        over the parameters of ``family`` (see :func:`graphembed.embed.grf_modulation.learn_modulation`):
        "log-linear" (log f(k) = t0 + t1 k + t2 log k! + t3 log(k + 1), 4 parameters) or "free"
        (f_0..f_L). It trades the truncated series' unbiasedness for a lower total error
        (bias + variance), as in the u-GRF paper. Dense in n: small graphs (n <= 5000).

        Parameters
        ----------
        target : (n, n) array or None (the exact kernel of this estimator, :meth:`exact_kernel`).

        Sets ``modulation_`` and ``modulation_fit_`` (losses before/after, parameters) and
        rebuilds ``features_`` / ``features2_``. Returns self.
        """
        check_is_fitted(self, "features_")
        n = self.graph_.n_nodes
        if family not in FAMILIES:
            raise InputError(f"family must be one of {FAMILIES}, got {family!r}")
        if target is None:
            target = self.exact_kernel()
        target = np.asarray(target, dtype=np.float64)
        if target.shape != (n, n):
            raise InputError(f"target must be a ({n}, {n}) matrix, got shape {target.shape}")
        seed = check_seed(random_state if random_state is not None else (self.seed_ + 7) & (2**63 - 1))
        seeds = [derive_seed(seed, k) for k in range(2)]
        saved = self.n_walks
        if n_walks is not None:
            self.n_walks = int(n_walks)
        L = self.max_length_
        try:
            with numba_threads(self.n_jobs):
                psi = [[self._walk_features(np.eye(L + 1)[k], int(s)).astype(np.float64) for k in range(L + 1)]
                       for s in seeds]
        finally:
            self.n_walks = saved
        f, info = learn_modulation(psi[0], psi[1], target, self.modulation_, family, max_iter)
        self.modulation_ = f
        self.alpha_ = self_convolve(f)
        self.modulation_fit_ = info
        with numba_threads(self.n_jobs):
            self.features_ = self._walk_features(f, self._seeds[0])
            self.features2_ = self._walk_features(f, self._seeds[1]) if self.independent else self.features_
        self._phi2t = None
        return self

    # ------------------------------------------------------------------ embedding
    def transform(self) -> Embedding:
        """Dense Embedding (n, dim): the averaged features (Phi1 + Phi2) / 2 times a seeded
        sparse random projection R (n, dim) with ``projection_nnz`` entries +-1/sqrt(k) per
        row, so E_R[e_i . e_j] = phi(i) . phi(j) (an estimate of K_ij off the diagonal)."""
        check_is_fitted(self, "features_")
        from graphembed._kernels.grf import project_rows, sketch_rows

        n = self.features_.shape[0]
        dim = int(self.dim)
        k = min(dim, 4) if self.projection_nnz is None else int(self.projection_nnz)
        phi = self.features_ if not self.independent else ((self.features_ + self.features2_) * 0.5).tocsr()
        cols = np.empty((n, k), np.int32)
        signs = np.empty((n, k), np.float32)
        out = np.zeros((n, dim), np.float32)
        with numba_threads(self.n_jobs):
            sketch_rows(n, k, dim, self._seeds[2], cols, signs)
            project_rows(phi.indptr.astype(np.int64), phi.indices.astype(np.int32),
                         phi.data.astype(np.float32), cols, signs, out)
        # computed on each call, never stored: transform leaves the estimator as it was
        return Embedding(self.graph_.node_ids, out, "grf", self._public_params())

    def _public_params(self):
        params = self.get_params()
        for key in ("verbose", "n_jobs"):
            params.pop(key)
        if not isinstance(self.kernel, str):
            params["kernel"] = [float(a) for a in np.asarray(self.kernel).ravel()]
        if params["modulation"] is not None:
            params["modulation"] = [float(a) for a in np.asarray(self.modulation).ravel()]
        params["sigma2"] = self.sigma2_
        params["random_state"] = self.seed_
        params["max_length"] = self.max_length_
        return params


# ---------------------------------------------------------------------------- helpers
def _symmetric_weights(graph, sigma2, normalize):
    """(indptr, indices, W entries float64, neighbour counts float64, row of each entry)."""
    n = graph.n_nodes
    if graph.directed or (graph.weights is not None and np.any(graph.weights == 0)):
        a = graph.to_scipy().astype(np.float64)
        if graph.directed:
            a = a.maximum(a.T).tocsr()
        a.eliminate_zeros()
        a.sort_indices()
        indptr, indices, vals = a.indptr.astype(np.int64), a.indices.astype(np.int32), a.data
    else:  # already symmetric CSR without explicit zeros
        indptr, indices = graph.indptr, graph.indices
        vals = np.ones(indices.shape[0]) if graph.weights is None else graph.weights.astype(np.float64)
    counts = np.diff(indptr)
    rows = np.repeat(np.arange(n, dtype=np.int32), counts)
    vals = np.asarray(vals, np.float64)
    if normalize:
        wdeg = np.bincount(rows, weights=vals, minlength=n) if graph.weights is not None or graph.directed \
            else counts.astype(np.float64)
        inv = np.divide(1.0, np.sqrt(wdeg), out=np.zeros(n), where=wdeg > 0)
        vals = vals * inv[rows] * inv[indices]
    else:
        vals = vals.copy()
    vals *= sigma2
    return indptr, indices, vals, counts.astype(np.float64), rows


def _spectral_radius(indptr, indices, w_edge, n, normalize, sigma2):
    """rho(W): sigma2 for the normalised form (any edge), else the largest eigenvalue of W."""
    if w_edge.size == 0:
        return 0.0
    if normalize:
        return float(sigma2)
    import scipy.sparse as sp

    w = sp.csr_matrix((w_edge, indices, indptr), shape=(n, n))
    if n <= 500:
        vals = np.linalg.eigvalsh(w.toarray())
        return float(max(abs(vals[0]), abs(vals[-1])))
    from scipy.sparse.linalg import eigsh

    val = eigsh(w, k=1, which="LM", return_eigenvectors=False, tol=1e-8)
    return float(abs(val[0]))
