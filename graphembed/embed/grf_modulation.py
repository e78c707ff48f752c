"""Kernel series, modulation functions and their learning for graph random features.

A kernel ``K = sum_k alpha_k W^k`` is estimated as ``Phi1 Phi2^T`` where every walk prefix of
length ``k`` is weighted by the modulation ``f_k``; the estimate is unbiased when ``f`` is the
convolutional square root of ``alpha``: ``sum_{p=0}^{k} f_p f_{k-p} = alpha_k`` (Reid et al.,
"General Graph Random Features", ICLR 2024, https://arxiv.org/abs/2310.04859).

Everything here is small numpy / scipy code: no numba, no I/O.
"""
import math

import numpy as np

from graphembed.io.errors import InputError
from graphembed.params import KERNELS  # noqa: F401  (defined with the parameter tables; public here)

_ALIASES = {"regularized-laplacian": "inverse2"}
MAX_TERMS = 4096  # series terms ever computed; a slower series is refused


def canonical_kernel(kernel):
    """The built-in name behind ``kernel`` (aliases resolved) or "custom" for an alpha sequence."""
    if isinstance(kernel, str):
        if kernel not in KERNELS:
            raise InputError(f"kernel must be one of {', '.join(KERNELS)} or a sequence of "
                             f"coefficients alpha_k, got {kernel!r}")
        return _ALIASES.get(kernel, kernel)
    return "custom"


def custom_alpha(kernel):
    """Validate a user alpha sequence: finite numbers, alpha_0 > 0."""
    try:
        alpha = np.asarray(kernel, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise InputError(f"kernel coefficients must be numbers, got {kernel!r}") from None
    if alpha.size == 0 or not np.all(np.isfinite(alpha)):
        raise InputError("kernel coefficients alpha_k must be a non-empty list of finite numbers")
    if alpha[0] <= 0:
        raise InputError(f"kernel coefficient alpha_0 must be > 0 (f_0 = sqrt(alpha_0)), got {alpha[0]}")
    return alpha


def radius_of_convergence(kernel):
    """Radius of convergence of the power series sum_k alpha_k x^k (inf for entire series)."""
    return 1.0 if kernel in ("inverse", "inverse2") else math.inf


def kernel_alpha(kernel, n_terms, beta=1.0, sigma2=1.0, power=2, alpha=None):
    """alpha_0..alpha_{n_terms-1} (float64) of ``K = sum_k alpha_k W^k`` with W = sigma2 * Â.

    inverse: 1; inverse2: k + 1; exp: beta^k / k!; diffusion: e^-beta (beta / sigma2)^k / k!
    (because exp(-beta L) = e^-beta exp(beta Â) and Â = W / sigma2); random-walk:
    binom(power, k); custom: the given sequence padded with zeros.
    """
    k = np.arange(n_terms, dtype=np.float64)
    if kernel == "inverse":
        return np.ones(n_terms)
    if kernel == "inverse2":
        return k + 1.0
    if kernel in ("exp", "diffusion"):
        c = beta if kernel == "exp" else beta / sigma2
        out = np.empty(n_terms)
        term = 1.0 if kernel == "exp" else math.exp(-beta)
        for i in range(n_terms):
            out[i] = term
            term = term * c / (i + 1)
        return out
    if kernel == "random-walk":
        return np.array([math.comb(power, i) if i <= power else 0 for i in range(n_terms)], dtype=np.float64)
    out = np.zeros(n_terms)
    m = min(n_terms, alpha.size)
    out[:m] = alpha[:m]
    return out


def kernel_function(kernel, beta=1.0, sigma2=1.0, power=2, alpha=None):
    """Scalar function g with K = g(W) (applied to the eigenvalues of a symmetric W)."""
    if kernel == "inverse":
        return lambda x: 1.0 / (1.0 - x)
    if kernel == "inverse2":
        return lambda x: 1.0 / (1.0 - x) ** 2
    if kernel == "exp":
        return lambda x: np.exp(beta * x)
    if kernel == "diffusion":
        return lambda x: np.exp(-beta + beta * x / sigma2)
    if kernel == "random-walk":
        return lambda x: (1.0 + x) ** power
    return lambda x: np.polyval(alpha[::-1], x)


def deconvolve(alpha):
    """Modulation f with ``sum_{p<=k} f_p f_{k-p} = alpha_k`` for every k < len(alpha).

    f_0 = sqrt(alpha_0); f_k = (alpha_k - sum_{p=1}^{k-1} f_p f_{k-p}) / (2 f_0).
    """
    alpha = np.asarray(alpha, dtype=np.float64)
    if alpha[0] <= 0:
        raise InputError(f"alpha_0 must be > 0 to deconvolve the kernel series, got {alpha[0]}")
    f = np.zeros_like(alpha)
    f[0] = math.sqrt(alpha[0])
    two_f0 = 2.0 * f[0]
    for k in range(1, alpha.size):
        f[k] = (alpha[k] - np.dot(f[1:k], f[k - 1:0:-1])) / two_f0
    return f


def self_convolve(f, g=None):
    """(f * g)_k for k < len(f): the alpha that modulations f and g estimate together."""
    g = f if g is None else g
    return np.convolve(f, g)[: len(f)]


def truncation_length(f, alpha, rho, tol, max_length=None):
    """Smallest walk length L whose truncation keeps the relative bias below ``tol``.

    With F = sum_k f_k W^k and F_L its truncation, ``||F^2 - F_L^2|| <= t_L (S + S_L)`` where
    ``t_L = sum_{k>L} |f_k| rho^k`` and ``S = sum_k |f_k| rho^k``; the bound is divided by
    ``sum_k |alpha_k| rho^k`` (= ||K||_2 for non-negative alpha). Returns (L, bound) or raises
    InputError when the series has not converged within ``len(f)`` terms.
    """
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        powers = rho ** np.arange(f.size, dtype=np.float64) if rho > 0 else np.r_[1.0, np.zeros(f.size - 1)]
        a = np.abs(f) * powers
        scale = float(np.sum(np.abs(alpha) * powers))
    if not np.all(np.isfinite(a)) or not math.isfinite(scale):
        return None, math.inf
    cum = np.cumsum(a)
    total = float(cum[-1])
    tail = np.maximum(total - cum, 0.0)  # t_L for L = 0..N-1 (terms beyond N: see below)
    bound = tail * (total + cum) / max(scale, 1e-300)
    # the series must have died out within the computed terms, else it diverges or is too slow
    if a[-1] * 2.0 * total / max(scale, 1e-300) > tol * 1e-3:
        return None, math.inf
    ok = np.flatnonzero(bound <= tol)
    if not ok.size:
        return None, math.inf
    length = int(ok[0])
    if max_length is not None and length > max_length:
        length = int(max_length)
    return length, float(bound[length])


# ---------------------------------------------------------------------------- learning
FAMILIES = ("log-linear", "free")


def _basis(n_terms):
    """Basis of the log-linear family: log f(k) = t0 + t1 k + t2 log(k!) + t3 log(k + 1)."""
    k = np.arange(n_terms, dtype=np.float64)
    from scipy.special import gammaln

    return np.stack([np.ones_like(k), k, gammaln(k + 1.0), np.log1p(k)], axis=1)


def learn_modulation(psi1, psi2, target, f_init, family="log-linear", max_iter=200):
    """Fit f to minimise ||Phi1(f) Phi2(f)^T - target||_F^2 / ||target||_F^2 on given walks.

    Parameters
    ----------
    psi1, psi2 : lists of scipy CSR (n, n), one per walk length k = 0..L: the loads of the
        prefixes of length k of two independent walk sets (f = 1), so Phi(f) = sum_k f_k psi_k.
    target : (n, n) array, the kernel to match.
    f_init : (L + 1,) starting modulation (the unbiased deconvolution).
    family : "log-linear" (4 parameters: log f(k) = t0 + t1 k + t2 log k! + t3 log(k+1); f > 0)
        or "free" (every f_k a parameter).

    Returns (f, info) with info = {"loss_initial", "loss", "iterations", "family"}.
    """
    from scipy.optimize import minimize

    n_terms = len(psi1)
    target = np.asarray(target, dtype=np.float64)
    norm2 = float(np.sum(target * target)) or 1.0

    def loss_grad_f(f):
        phi1 = _combine(psi1, f)
        phi2 = _combine(psi2, f)
        r = (phi1 @ phi2.T).toarray() - target
        loss = float(np.sum(r * r)) / norm2
        r_phi2 = np.asarray(phi2.T @ r.T).T  # R Phi2, (n, n)
        rt_phi1 = np.asarray(phi1.T @ r).T   # R^T Phi1, (n, n)
        g = np.array([psi1[k].multiply(r_phi2).sum() + psi2[k].multiply(rt_phi1).sum()
                      for k in range(n_terms)])
        return loss, 2.0 * g / norm2

    f_init = np.asarray(f_init, dtype=np.float64)
    if family == "free":
        x0, to_f, jac = f_init.copy(), (lambda x: x), None
    elif family == "log-linear":
        basis = _basis(n_terms)
        positive = f_init > 0
        if not positive[0]:
            raise InputError("the log-linear modulation family needs f_0 > 0")
        x0 = np.linalg.lstsq(basis[positive], np.log(f_init[positive]), rcond=None)[0]
        to_f = lambda x: np.exp(np.clip(basis @ x, -700, 700))  # noqa: E731
        jac = basis
    else:
        raise InputError(f"family must be one of {FAMILIES}, got {family!r}")

    def objective(x):
        f = to_f(x)
        loss, g = loss_grad_f(f)
        if jac is not None:
            g = jac.T @ (g * f)
        return loss, g

    loss0 = loss_grad_f(f_init)[0]
    res = minimize(objective, x0, jac=True, method="L-BFGS-B", options={"maxiter": max_iter})
    f = to_f(res.x)
    loss = loss_grad_f(f)[0]
    if loss > loss0:  # never return something worse than the start
        f, loss = f_init, loss0
    return f, {"family": family, "loss_initial": loss0, "loss": loss, "iterations": int(res.nit),
               "parameters": res.x.tolist()}


def _combine(psi, f):
    out = psi[0] * f[0]
    for k in range(1, len(psi)):
        if f[k] != 0:
            out = out + psi[k] * f[k]
    return out.tocsr()
