r"""The deterministic second-order-smooth variant of O2NC, and the calls it needs to reach ε-stationarity.

[CMO23] (Cutkosky, Mehta, Orabona, ICML 2023, arXiv 2302.03775): for deterministic F with an H-Lipschitz Hessian, taking
the gradient at the midpoint w_n = x_{n−1} + Δ_n/2 and playing optimistic OGD with the fixed-point hint
h_n = ∇F(x_{n−1} + Δ_n(h_n)/2) reaches (δ, ε)-stationarity in O(ε^{-3/2} δ^{-1/2}) gradient calls, against
O(ε^{-3} δ^{-1}) for the randomised conversion with plain OGD. With δ = √(ε/H), a (δ, ε/2)-certificate of the epoch
mean implies ε-stationarity,
‖∇F(w̄)‖ ≤ ‖ĝ‖ + (H/2) r² (derived here: Taylor at w̄, the mean constraint cancels the first-order term), so the rates
become O(ε^{-7/4}) (up to the log of the inner loop) against O(ε^{-7/2}).

Parameters (derived here; the paper's own constants are not reproduced):

- *plain*: Theorem 8 with exact gradients bounds the mean certificate by gap/(δK) + G/√T; T = ⌈4G²/ε²⌉ makes the
  second term ε/2, D = δ/T, η = D/(G√T) (standard OGD regret DG√T per epoch).
- *optimistic*: with the hint solved to tolerance the regret of optimistic OGD is ≤ ‖u‖²/(2η) = D²/(2η) per epoch
  (Chiang et al. 2012; Rakhlin & Sridharan 2013, with g_t = h_t), and the midpoint rule errs by ≤ H‖Δ‖³/24 per step
  (midpoint quadrature). Repeating the proof of Theorem 8: mean certificate ≤ gap/(δK) + δ/(2ηT²) + Hδ²/(24T²).
  T = ⌈√(2δ/(ηε))⌉ makes the regret term ≤ ε/4 and K = O(gap/(δε)) epochs the first, so
  KT = O(gap·δ^{-1/2}ε^{-3/2}η^{-1/2}). The step η = 1/L keeps the fixed-point map h ↦ ∇F(x + ½Π(Δ̂ − ηh)) a contraction
  (factor ηL/2 = 1/2), so each hint costs O(log(1/ε)) calls.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from o2nc.minimize import minimize

__all__ = ["ConversionParameters", "plain_parameters", "optimistic_parameters", "calls_to_stationarity"]


class ConversionParameters(NamedTuple):
    epoch_length: int
    radius: float
    lr: float


def _positive(**values):
    for name, v in values.items():
        if not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            raise ValueError(f"`{name}` must be a finite number > 0, got {v!r}")


def plain_parameters(epsilon: float, delta: float, lipschitz: float) -> ConversionParameters:
    """T = ⌈4G²/ε²⌉, D = δ/T, η = D/(G√T): restarted OGD sized so that Theorem 8's G/√T term is ε/2."""
    _positive(epsilon=epsilon, delta=delta, lipschitz=lipschitz)
    epoch_length = math.ceil(4 * lipschitz**2 / epsilon**2)
    radius = delta / epoch_length
    return ConversionParameters(epoch_length, radius, radius / (lipschitz * math.sqrt(epoch_length)))


def optimistic_parameters(epsilon: float, delta: float, smoothness: float) -> ConversionParameters:
    """η = 1/L, T = ⌈√(2δ/(ηε))⌉, D = δ/T: optimistic OGD with the fixed-point hint (derivation in the module)."""
    _positive(epsilon=epsilon, delta=delta, smoothness=smoothness)
    lr = 1.0 / smoothness
    epoch_length = math.ceil(math.sqrt(2 * delta / (lr * epsilon)))
    return ConversionParameters(epoch_length, delta / epoch_length, lr)


def calls_to_stationarity(grad: Callable, x0, epsilon: float, *, method: str, lipschitz: float, smoothness: float,
                          hessian_lipschitz: float, cap: int, seed: int = 0) -> float:
    r"""Gradient calls (inner hint calls included) until an epoch mean w̄_k has ‖∇F(w̄_k)‖ ≤ ε.

    δ = √(ε/H). ``method="plain"`` runs Algorithm 1 (uniform scaling) with restarted OGD at
    :func:`plain_parameters`; ``method="optimistic"`` runs the midpoint conversion with the two-projection
    optimistic OGD and the fixed-point hint at :func:`optimistic_parameters`. The stopping test evaluates ∇F at each
    epoch mean; those evaluations are not counted (they measure, they do not optimise). Returns ``nan`` when ``cap``
    calls do not suffice.
    """
    from online_learners import OGD
    from online_learners.optimistic import OptimisticOGD

    _positive(epsilon=epsilon, lipschitz=lipschitz, smoothness=smoothness, hessian_lipschitz=hessian_lipschitz)
    delta = math.sqrt(epsilon / hessian_lipschitz)
    if method == "plain":
        p = plain_parameters(epsilon, delta, lipschitz)
        kwargs = dict(learner=OGD(lr=p.lr, radius=p.radius), scaling="uniform")
    elif method == "optimistic":
        p = optimistic_parameters(epsilon, delta, smoothness)
        kwargs = dict(learner=OptimisticOGD(lr=p.lr, radius=p.radius), scaling="midpoint", hint="fixed_point",
                      inner_tol=epsilon * 1e-3)
    else:
        raise ValueError(f"`method` must be 'plain' or 'optimistic', got {method!r}")
    if cap < p.epoch_length:
        return math.nan
    reached = {}

    def stop(k, stats):
        if float(np.linalg.norm(np.asarray(grad(stats["mean"])))) <= epsilon:
            reached["calls"] = stats["grad_calls"]
            return True
        return False

    minimize(grad, x0, budget=cap, epoch_length=p.epoch_length, seed=seed, callback=stop, **kwargs)
    return float(reached.get("calls", math.nan))
