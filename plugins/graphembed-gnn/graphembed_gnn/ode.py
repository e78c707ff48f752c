"""Small ODE solvers in torch, differentiated by ordinary backpropagation through the steps.

``odeint(func, y0, t_end)`` integrates dy/dt = func(t, y) from 0 to ``t_end`` with
``method="euler"`` or ``"rk4"`` (fixed step ``step_size``; the last step is shortened to land
on ``t_end``) or ``"dopri5"`` (Dormand & Prince 1980, 5th order with a 4th-order embedded error
estimate, adaptive step, error per component scaled by ``atol + rtol * max(|y|, |y_new|)``).
Written here so that the plugin needs no torchdiffeq; the backward pass stores the activations
of every stage (no adjoint method), which is what GRAND's published runs used as well.
"""
import math

import torch

METHODS = ("euler", "rk4", "dopri5")

# Dormand-Prince 5(4) tableau
_C = (0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0)
_A = (
    (),
    (1 / 5,),
    (3 / 40, 9 / 40),
    (44 / 45, -56 / 15, 32 / 9),
    (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
    (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
    (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84),
)
_B5 = (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0.0)
_B4 = (5179 / 57600, 0.0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40)


class SolverStats:
    """Counters of the last solve: function evaluations and accepted/rejected steps."""

    def __init__(self):
        self.nfe = 0
        self.steps = 0
        self.rejected = 0


def odeint(func, y0, t_end, method="rk4", step_size=1.0, rtol=1e-4, atol=1e-4, max_steps=10_000,
           stats=None):
    """y(t_end) of dy/dt = func(t, y), y(0) = y0.

    Parameters
    ----------
    func : callable (t: float, y: Tensor) -> Tensor of y's shape.
    y0 : Tensor, the state at t = 0.
    t_end : float > 0, integration time.
    method : "euler", "rk4" (fixed step) or "dopri5" (adaptive).
    step_size : step of the fixed-step methods; first step guess of dopri5.
    rtol, atol : dopri5 tolerances.
    max_steps : dopri5 gives up (RuntimeError) after this many attempted steps.
    stats : optional SolverStats filled in place.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not t_end > 0:
        raise ValueError(f"t_end must be > 0, got {t_end}")
    if not step_size > 0:
        raise ValueError(f"step_size must be > 0, got {step_size}")
    stats = stats if stats is not None else SolverStats()
    if method == "dopri5":
        return _dopri5(func, y0, float(t_end), float(step_size), rtol, atol, max_steps, stats)
    n_steps = max(1, math.ceil(t_end / step_size - 1e-9))
    t, y = 0.0, y0
    for i in range(n_steps):
        h = min(step_size, t_end - t) if i == n_steps - 1 else step_size
        if method == "euler":
            y = y + h * func(t, y)
            stats.nfe += 1
        else:
            k1 = func(t, y)
            k2 = func(t + h / 2, y + (h / 2) * k1)
            k3 = func(t + h / 2, y + (h / 2) * k2)
            k4 = func(t + h, y + h * k3)
            y = y + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4)
            stats.nfe += 4
        t += h
        stats.steps += 1
    return y


def _dopri5(func, y0, t_end, h, rtol, atol, max_steps, stats):
    t, y = 0.0, y0
    k1 = func(t, y)
    stats.nfe += 1
    attempts = 0
    while t < t_end * (1 - 1e-12):
        attempts += 1
        if attempts > max_steps:
            raise RuntimeError(f"dopri5: more than {max_steps} steps (stiff problem or tolerance too tight)")
        h = min(h, t_end - t)
        ks = [k1]
        for i in range(1, 7):
            yi = y
            for a, k in zip(_A[i], ks):
                if a != 0.0:
                    yi = yi + (h * a) * k
            ks.append(func(t + _C[i] * h, yi))
        stats.nfe += 6
        y_new = yi  # stage 7 evaluates at the 5th-order solution (FSAL)
        err = sum((h * (b5 - b4)) * k for b5, b4, k in zip(_B5, _B4, ks) if b5 != b4)
        with torch.no_grad():
            scale = atol + rtol * torch.maximum(y.abs(), y_new.abs())
            ratio = float(torch.sqrt(torch.mean((err / scale).float() ** 2)))
        if not math.isfinite(ratio):
            ratio = float("inf")
        if ratio <= 1.0:
            t += h
            y = y_new
            k1 = ks[6]
            stats.steps += 1
        else:
            stats.rejected += 1
        factor = 5.0 if ratio == 0.0 else min(5.0, max(0.2, 0.9 * ratio ** -0.2))
        h = h * factor
        if h < 1e-8 * max(1.0, t_end):
            raise RuntimeError("dopri5: step size underflow")
    return y
