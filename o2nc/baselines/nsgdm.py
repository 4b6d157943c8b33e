r"""Normalized SGD with momentum (Cutkosky & Mehta, "Momentum improves normalized SGD", ICML 2020, Algorithm 1).

Update:

    m_t = β m_{t−1} + (1 − β) g_t  (m_0 = 0),    x_{t+1} = x_t − η m_t/‖m_t‖   (no step while m_t = 0).

Every step has length exactly η.

Proven rates (Cutkosky & Mehta 2020):

- F L-smooth, bounded variance: O(ε^-4) stochastic gradients to E‖∇F‖ ≤ ε, without large batches.
- F with an ρ-Lipschitz Hessian (their second-order variant with a correction term): O(ε^-3.5). This module
  implements the first-order form only.
- Non-smooth non-convex: no (δ,ε) guarantee for this form. O2NC with a clipped, restarted momentum learner is the
  non-smooth analogue (derived here: O2NC's OGD play Δ_{n+1} = Π_D(Δ_n − η g_n) is a clipped running sum of past
  gradients, reset each epoch).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from o2nc.baselines._base import OUTPUTS, Baseline, check_choice, check_open_unit, check_positive, run_first_order

__all__ = ["NormalizedSGDMomentum"]


@dataclass(frozen=True, kw_only=True)
class NormalizedSGDMomentum(Baseline):
    r"""Normalized SGD with momentum: m_t = β m_{t−1} + (1−β) g_t, x_{t+1} = x_t − η m_t/‖m_t‖.

    Args:
        lr: the step length η > 0.
        momentum: β ∈ [0, 1).
        output: ``"last"``, ``"random"`` or ``"average"``.
        delta: radius of the certificate computed at the output.
    """

    lr: float = 0.01
    momentum: float = 0.9
    output: str = "last"

    rate = "smooth: O(ε^-4) (Cutkosky–Mehta 2020); non-smooth: none"

    def _validate(self):
        check_positive("NormalizedSGDMomentum", "lr", self.lr)
        check_open_unit("NormalizedSGDMomentum", "momentum", self.momentum, low_closed=True)
        check_choice("NormalizedSGDMomentum", "output", self.output, OUTPUTS)

    def _run(self, problem, x0, calls, rng, record):
        lr, beta = float(self.lr), float(self.momentum)

        def step(state, g, t):
            m = beta * state["m"] + (1 - beta) * g
            norm = float(np.linalg.norm(m))
            x = state["x"] - (lr / norm) * m if norm > 0 else state["x"]
            return {"x": x, "query": x, "m": m}

        return run_first_order(x0, calls, rng, record, self.output,
                               lambda x: {"x": x, "query": x, "m": np.zeros_like(x)}, step)
