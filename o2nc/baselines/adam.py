r"""Adam (Kingma & Ba, ICLR 2015, Algorithm 1).

Update, with bias correction:

    m_t = β₁ m_{t−1} + (1 − β₁) g_t,    v_t = β₂ v_{t−1} + (1 − β₂) g_t²,
    m̂_t = m_t/(1 − β₁^t),  v̂_t = v_t/(1 − β₂^t),    x_{t+1} = x_t − η m̂_t/(√v̂_t + ϵ).

Proven rates:

- F L-smooth with bounded gradients: E‖∇F(x_τ)‖² = O(d·ln N/√N) for a random iterate τ, i.e. Õ(ε^-4) calls
  (Défossez, Bottou, Bach, Usunier, "A simple convergence proof of Adam and Adagrad", TMLR 2022, recalled).
- Non-smooth non-convex: no (δ,ε) guarantee for this form. Clipped Adam with a model EMA reaches the optimal
  O(δ^-1 ε^-3) (Ahn & Cutkosky, "Adam with model exponential moving average is effective for nonconvex
  optimization", NeurIPS 2024, arXiv 2405.18199), a different algorithm.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from o2nc.baselines._base import OUTPUTS, Baseline, check_choice, check_open_unit, check_positive, run_first_order

__all__ = ["Adam"]


@dataclass(frozen=True, kw_only=True)
class Adam(Baseline):
    r"""Adam with bias correction (module docstring).

    Args:
        lr: the step η > 0.
        beta1: β₁ ∈ [0, 1).
        beta2: β₂ ∈ [0, 1).
        eps: ϵ > 0 in the denominator.
        output: ``"last"``, ``"random"`` or ``"average"``.
        delta: radius of the certificate computed at the output.
    """

    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    output: str = "last"

    rate = "smooth, bounded gradients: Õ(ε^-4) (Défossez et al. 2022); non-smooth: none"

    def _validate(self):
        check_positive("Adam", "lr", self.lr)
        check_open_unit("Adam", "beta1", self.beta1, low_closed=True)
        check_open_unit("Adam", "beta2", self.beta2, low_closed=True)
        check_positive("Adam", "eps", self.eps)
        check_choice("Adam", "output", self.output, OUTPUTS)

    def _run(self, problem, x0, calls, rng, record):
        lr, b1, b2, eps = float(self.lr), float(self.beta1), float(self.beta2), float(self.eps)

        def step(state, g, t):
            m = b1 * state["m"] + (1 - b1) * g
            v = b2 * state["v"] + (1 - b2) * g * g
            m_hat = m / (1 - b1**t)
            v_hat = v / (1 - b2**t)
            x = state["x"] - lr * m_hat / (np.sqrt(v_hat) + eps)
            return {"x": x, "query": x, "m": m, "v": v}

        return run_first_order(x0, calls, rng, record, self.output,
                               lambda x: {"x": x, "query": x, "m": np.zeros_like(x), "v": np.zeros_like(x)}, step)
