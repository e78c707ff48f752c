"""GraphWave: structural node embeddings from heat-kernel wavelets (Donnat et al., KDD 2018).

C. Donnat, M. Zitnik, D. Hallac, J. Leskovec. "Learning Structural Node Embeddings via
Diffusion Wavelets." KDD 2018. https://arxiv.org/abs/1710.10321

For each scale s the wavelet of node u is the column Psi_s[:, u] = exp(-s L) delta_u, L the
graph Laplacian: the normalised one, I - D^-1/2 A D^-1/2, as the authors' code does (eigenvalues
in [0, 2]), or the combinatorial one, D - A, as the paper's text writes it. exp(-s x) is
approximated on [0, lambda_max] by its Chebyshev series of degree ``order``, whose coefficients
are exact (the authors' code interpolates at Chebyshev nodes instead): with a = lambda_max / 2
and y = x / a - 1,

    exp(-s x) = ive(0, s a) + 2 sum_k (-1)^k ive(k, s a) T_k(y)     (ive: scaled Bessel I_k)

so Psi_s = sum_k c_k(s) T_k(L / a - I), each T_k(.) delta_u by the three-term recurrence on a
block of columns (sparse L times a dense block; memory bounded by the block width), all scales
from the same T_k. The truncation error (sup over [0, lambda_max], hence a bound on every
wavelet entry) is ``approximation_error_``. ``order="auto"`` takes the smallest degree whose
bound is at most 1e-8 / t_max at every scale: |exp(i t a) - exp(i t b)| <= t |a - b|, so the
characteristic functions are then within 1e-8 of the exact ones, below the float32 resolution
of the output. With the automatic scales (s_max grows like sqrt(n)) that is degree 28 at
10,000 nodes, 47 at 100,000 (where the authors' fixed 30 errs by 2e-5 on a wavelet entry) and 82
at 1M (30: 0.015); the combinatorial Laplacian, whose lambda_max is large, needs more (206 on
BlogCatalog). Never a dense eigendecomposition.

Each node's wavelet coefficients are read as a distribution: its empirical characteristic
function phi_u(t) = 1/n sum_m exp(i t Psi_s[m, u]) at t_j = j t_max / n_points, j = 1..n_points
(the authors' 50 points up to 100; t = 0 is left out, phi = 1 there). The authors' code
takes the imaginary part as mean_m sin(Psi[m, u]) at every t (the factor t is missing); here
it is mean_m sin(t Psi[m, u]), as in the paper. The embedding is, per scale,
[Re phi(t_1..t_d), Im phi(t_1..t_d)], scales concatenated: (n, 2 n_points n_scales). The
authors' code also zeroes wavelet entries below 1e-4 / n, which moves phi by at most 1e-2 / n:
not done here.
Nodes that are automorphic images of each other get the same vector (up to rounding).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from graphembed import params
from graphembed._limits import check_memory
from graphembed.base import BaseEmbedder, numba_threads, progress
from graphembed.embedding import Embedding
from graphembed.graph import Graph
from graphembed.io.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from typing_extensions import Self

    from graphembed.graph import GraphLike

# Automatic scales (the authors' code, graphwave.py): s = -log(eta) / sqrt(lambda_1 lambda_max)
# for eta from ETA_MAX (s_min) to ETA_MIN (s_max), with lambda_1 ~ 1 / n.
ETA_MIN, ETA_MAX = 0.80, 0.95
ORDER_ACCURACY = 1e-8  # order="auto": bound on the error of every characteristic function value
MAX_ORDER = 100_000
BLOCK_COLUMNS = 128  # columns per block (BlogCatalog: 32..256 within 1.5x of each other, 128 fastest)
BLOCK_BYTES = 2**30  # the block buffers stay below this (1M nodes: 22 columns)
# Rows are handed to threads in PARTS ranges of about equal work (stored entries + ROW_COST per
# row); the split depends on the graph only, and no row's arithmetic depends on it.
PARTS, ROW_COST = 256, 4


class GraphWave(BaseEmbedder):
    """GraphWave structural embeddings.

    Parameters
    ----------
    scales : sequence of float > 0, or None: the heat scales s. None chooses ``n_scales``
        evenly spaced scales from s_min = -log(0.95) / sqrt(lambda_1 lambda_max) to s_max =
        -log(0.80) / sqrt(lambda_1 lambda_max), with lambda_1 ~ 1/n and lambda_max the bound
        below (the paper's rule with the authors' code's constants).
    n_scales : number of automatic scales (ignored when ``scales`` is given).
    order : degree of the Chebyshev approximation of exp(-s x), or "auto": the smallest degree
        whose truncation bound is at most 1e-8 / t_max at every scale.
    n_points : points t_j = j * t_max / n_points at which phi is sampled.
    t_max : largest t.
    laplacian : "normalized" (I - D^-1/2 A D^-1/2, lambda_max = 2; an isolated node has
        L_uu = 1, as in the authors' code) or "combinatorial" (D - A, lambda_max bounded by the
        max over edges of d_u + d_v, or 2 max d when weighted).
    n_jobs : numba threads (None or -1: all cores). Output is bit-identical for any value.
    verbose : progress bar over blocks of columns.

    Attributes
    ----------
    scales_ : float64 (n_scales,) the scales used.
    order_ : the Chebyshev degree used.
    lambda_max_ : the upper end of the approximation interval.
    approximation_error_ : float64 (n_scales,) bound on the Chebyshev truncation error of every
        wavelet entry.
    embedding_ : Embedding (n_nodes, 2 * n_points * n_scales): per scale, the real parts at
        t_1..t_d, then the imaginary parts.

    Directed graphs are symmetrised (A := max(A, A^T)); edge weights are used when present.
    Cost: O(order * nnz * n) for the wavelets and O(n^2 * n_points * n_scales) for the
    characteristic functions; memory O(n * (2 n_points n_scales + 128 (n_scales + 3))).

    Examples
    --------
    >>> import graphembed as ge
    >>> g = ge.Graph.from_edges([0, 1, 2], [1, 2, 3])
    >>> ge.GraphWave(scales=[1.0], n_points=4).fit_transform(g).vectors.shape
    (4, 8)
    """

    name = "graphwave"
    _numba_kernels = ("graphwave.chebyshev_step", "graphwave.characteristic_function")
    parameters = params.GRAPHWAVE

    def __init__(self, scales: Sequence[float] | None = None, n_scales: int = 2,
                 order: int | Literal["auto"] = "auto", n_points: int = 50, t_max: float = 100.0,
                 laplacian: Literal["normalized", "combinatorial"] = "normalized",
                 n_jobs: int | None = None, verbose: bool = False) -> None:
        self.scales = scales
        self.n_scales = n_scales
        self.order = order
        self.n_points = n_points
        self.t_max = t_max
        self.laplacian = laplacian
        self.n_jobs = n_jobs
        self.verbose = verbose

    # ------------------------------------------------------------------ operator and scales
    def _operator(self, graph):
        """(indptr, indices, off-diagonal values, diagonal, lambda_max, row parts) of
        M = 2 L / lambda_max - I, whose spectrum lies in [-1, 1]."""
        from graphembed.embed.grf import _symmetric_weights

        n = graph.n_nodes
        normalized = self.laplacian == "normalized"
        indptr, indices, vals, _, rows = _symmetric_weights(graph, 1.0, normalized)
        indptr = np.ascontiguousarray(indptr, np.int64)
        indices = np.ascontiguousarray(indices)
        parts = _row_parts(indptr, n)
        if normalized:
            # L = I - W: M = L - I = -W (an isolated node keeps L_uu = 1, as the authors' code)
            return indptr, indices, -vals, np.zeros(n), 2.0, parts
        degree = np.bincount(rows, weights=vals, minlength=n)
        if vals.size == 0:
            lam = 1.0
        elif graph.weights is None:
            # Anderson & Morley: lambda_max <= max over edges of d_u + d_v (a self-loop adds to
            # d and to A_uu alike, so it leaves L unchanged and the bound valid)
            lam = float(np.max(degree[rows] + degree[indices]))
        else:  # Gershgorin
            lam = float(2.0 * degree.max())
        lam = max(lam, np.finfo(float).tiny)
        return indptr, indices, -2.0 * vals / lam, 2.0 * degree / lam - 1.0, lam, parts

    def _scales(self, n, lam):
        if self.scales is not None:
            s = np.asarray([float(v) for v in self.scales], np.float64)
            if np.any(s <= 0):
                raise InputError(f"scales must be positive numbers, got {list(map(float, s))}")
            return s
        root = np.sqrt(lam / max(n, 1))  # sqrt(lambda_1 lambda_max), lambda_1 ~ 1/n
        return np.linspace(-np.log(ETA_MAX) / root, -np.log(ETA_MIN) / root, int(self.n_scales))

    @staticmethod
    def chebyshev_coefficients(scales, order, lam):
        """(c (n_scales, order + 1), truncation bound (n_scales,)) of exp(-s x) on [0, lam]:
        exp(-s x) = sum_k c_k T_k(2 x / lam - 1) exactly, and the bound is sum_{k > order} |c_k|
        (|T_k| <= 1 on the interval)."""
        c = _coefficients(scales, lam, order)
        return c[:, :order + 1].copy(), np.abs(c[:, order + 1:]).sum(axis=1)

    def _order(self, scales, lam):
        """The Chebyshev degree: ``order``, or for "auto" the smallest one whose bound is at
        most ORDER_ACCURACY / t_max at every scale."""
        if self.order != "auto":
            return int(self.order)
        c = np.abs(_coefficients(scales, lam, 1))
        tails = np.cumsum(c[:, ::-1], axis=1)[:, ::-1]  # tails[:, k] = sum_{j >= k} |c_j|
        ok = np.all(tails <= ORDER_ACCURACY / float(self.t_max), axis=0)
        ok[:2] = False  # degree >= 1: tails[:, order + 1] is the bound
        return max(1, int(np.argmax(ok)) - 1) if ok.any() else c.shape[1] - 1

    # ------------------------------------------------------------------ fitting
    def fit(self, graph: GraphLike) -> Self:
        """Compute the wavelets and characteristic functions of every node of ``graph``."""
        from graphembed._kernels.graphwave import characteristic_function

        graph = Graph.coerce(graph)
        self._check_params()
        n = graph.n_nodes
        op = self._operator(graph)
        lam = op[4]
        scales = self._scales(n, lam)
        order, d = self._order(scales, lam), int(self.n_points)
        coefs, bound = self.chebyshev_coefficients(scales, order, lam)
        n_s = scales.shape[0]
        dim = 2 * d * n_s
        width = max(1, min(n, BLOCK_COLUMNS, BLOCK_BYTES // max(1, 8 * (n_s + 4) * n)))
        check_memory(4 * n * dim + 8 * (n_s + 4) * n * width,
                     f"GraphWave with {n_s} scales and {d} points on {n} nodes")
        out = np.empty((n, dim), np.float32)
        delta = float(self.t_max) / d
        with numba_threads(self.n_jobs):
            buffers = None
            starts = range(0, n, width)
            with progress(len(starts), "graphwave", self.verbose) as bar:
                for start in starts:
                    b = min(width, n - start)
                    if buffers is None or buffers[1].shape[0] != b:
                        buffers = _buffers(n_s, n, b), np.empty((b, d)), np.empty((b, d))
                    bufs, re, im = buffers
                    acc = _wavelet_block(op, coefs, np.arange(start, start + b), *bufs)
                    for s in range(n_s):
                        characteristic_function(np.ascontiguousarray(acc[s].T), delta, re, im)
                        out[start:start + b, 2 * d * s:2 * d * s + d] = re
                        out[start:start + b, 2 * d * s + d:2 * d * (s + 1)] = im
                    bar.update(1)
        self.scales_ = scales
        self.order_ = order
        self.lambda_max_ = lam
        self.approximation_error_ = bound
        self.embedding_ = Embedding(graph.node_ids, out, "graphwave", self._public_params())
        return self

    def _public_params(self):
        return {"scales": [float(s) for s in self.scales_], "order": int(self.order_),
                "n_points": int(self.n_points), "t_max": float(self.t_max), "laplacian": self.laplacian,
                "lambda_max": float(self.lambda_max_),
                "approximation_error": [float(e) for e in self.approximation_error_]}

    def wavelets(self, graph: GraphLike, scale: float, columns: Sequence[int] | None = None) -> np.ndarray:
        """Psi_s[:, columns] (n, len(columns)) float64 by the same Chebyshev approximation
        (``order`` and ``laplacian`` of this estimator, "auto" resolved for this scale; all
        columns when None; ``columns`` are row positions, 0..n-1). For checks and small
        graphs: the result is dense."""
        graph = Graph.coerce(graph)
        self._check_params()
        n = graph.n_nodes
        cols = np.arange(n) if columns is None else np.asarray(columns, np.int64).reshape(-1)
        if cols.size and (cols.min() < 0 or cols.max() >= n):
            raise InputError(f"columns must be node positions 0..{n - 1}")
        if float(scale) <= 0:
            raise InputError(f"scale must be a positive number, got {scale!r}")
        op = self._operator(graph)
        order = self._order(np.array([float(scale)]), op[4])
        coefs, _ = self.chebyshev_coefficients([float(scale)], order, op[4])
        with numba_threads(self.n_jobs):
            acc = _wavelet_block(op, coefs, cols, *_buffers(1, n, cols.shape[0]))
        return acc[0].copy()


def _coefficients(scales, lam, order):
    """Chebyshev coefficients c_k, k = 0..K, of exp(-s x) on [0, lam] for each scale (rows), K
    beyond ``order`` and far enough into the tail (c_k ~ exp(-k^2 / 2z) / sqrt(z) once k > z,
    z = s lam / 2) that the terms left out are below 1e-30."""
    from scipy.special import ive

    z = np.asarray(scales, np.float64).reshape(-1) * (lam / 2.0)
    zmax = float(z.max()) if z.size else 0.0
    k_max = max(int(order), int(np.ceil(zmax + 12.0 * np.sqrt(zmax) + 60.0)))
    if k_max > MAX_ORDER:
        raise InputError(f"scale {float(z.max() * 2 / lam):g} needs a Chebyshev order above {MAX_ORDER} "
                         f"(s * lambda_max / 2 = {zmax:.3g}); use smaller scales")
    k = np.arange(k_max + 61)
    c = 2.0 * ive(k[None, :], z[:, None]) * np.where(k % 2 == 0, 1.0, -1.0)[None, :]
    c[:, 0] /= 2.0
    return c


def _row_parts(indptr, n):
    """Row ranges bounds[p]:bounds[p + 1] of about equal work (from the graph only)."""
    if n == 0:
        return np.zeros(2, np.int64)
    work = indptr[1:].astype(np.float64) + ROW_COST * np.arange(1, n + 1)
    cuts = np.searchsorted(work, work[-1] * np.arange(1, PARTS) / PARTS, side="right")
    return np.unique(np.concatenate([[0], cuts, [n]])).astype(np.int64)


def _buffers(n_s, n, b):
    """(acc, T_prev, T_cur, T_next) for a block of b columns."""
    return np.empty((n_s, n, b)), np.empty((n, b)), np.empty((n, b)), np.empty((n, b))


def _wavelet_block(op, coefs, cols, acc, t_prev, t_cur, t_next):
    """acc[s] = sum_k coefs[s, k] T_k(M) [delta_c for c in cols] (n, len(cols)) for every scale."""
    from graphembed._kernels.graphwave import chebyshev_step

    indptr, indices, vals, diag, _, parts = op
    b = cols.shape[0]
    at = (cols, np.arange(b))
    t_cur[:] = 0.0
    t_cur[at] = 1.0  # T_0 = the indicator columns
    acc[:] = 0.0
    acc[(slice(None), *at)] = coefs[:, 0][:, None]
    for k in range(1, coefs.shape[1]):
        chebyshev_step(parts, indptr, indices, vals, diag, t_cur, t_prev, t_next, k == 1,
                       np.ascontiguousarray(coefs[:, k]), acc)
        t_prev, t_cur, t_next = t_cur, t_next, t_prev
    return acc
