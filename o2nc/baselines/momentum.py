r"""Stochastic gradient descent with heavy-ball momentum (optionally Nesterov's form).

Update (Polyak 1964; the form of Sutskever, Martens, Dahl, Hinton, ICML 2013, as in ``torch.optim.SGD``):

    b_t = μ b_{t−1} + g_t  (b_0 = 0),    d_t = g_t + μ b_t (``nesterov``) or b_t,    x_{t+1} = x_t − η d_t.

Proven rates:

- F L-smooth with bounded variance: O(ε^-4) stochastic gradients to E‖∇F‖ ≤ ε, the rate of SGD (Liu, Gao, Yin,
  "An improved analysis of stochastic gradient descent with momentum", NeurIPS 2020, recalled).
- Non-smooth non-convex: no (δ,ε) guarantee for this plain form. Multiplying each update by an Exp(1) random scalar
  gives the optimal O(δ^-1 ε^-3) (Zhang & Cutkosky, ICML 2024, arXiv 2405.09742): that variant is O2NC
  with the ``exponential`` scaling, available through :func:`o2nc.minimize`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from o2nc.baselines._base import OUTPUTS, Baseline, check_choice, check_open_unit, check_positive, run_first_order

__all__ = ["SGDMomentum"]


@dataclass(frozen=True, kw_only=True)
class SGDMomentum(Baseline):
    r"""SGD with heavy-ball momentum: b_t = μ b_{t−1} + g_t, x_{t+1} = x_t − η b_t (module docstring).

    Args:
        lr: the step η > 0.
        momentum: μ ∈ [0, 1).
        nesterov: use d_t = g_t + μ b_t.
        output: ``"last"``, ``"random"`` or ``"average"`` (see :class:`o2nc.baselines.SGD`).
        delta: radius of the certificate computed at the output.
    """

    lr: float = 0.01
    momentum: float = 0.9
    nesterov: bool = False
    output: str = "last"

    rate = "smooth: O(ε^-4) (Liu–Gao–Yin 2020); non-smooth: none (Exp(1)-scaled variant: O(δ^-1 ε^-3))"

    def _validate(self):
        check_positive("SGDMomentum", "lr", self.lr)
        check_open_unit("SGDMomentum", "momentum", self.momentum, low_closed=True)
        if not isinstance(self.nesterov, bool):
            raise ValueError(f"SGDMomentum: `nesterov` must be True or False, got {self.nesterov!r}")
        check_choice("SGDMomentum", "output", self.output, OUTPUTS)

    def _run(self, problem, x0, calls, rng, record):
        lr, mu, nesterov = float(self.lr), float(self.momentum), self.nesterov

        def step(state, g, t):
            b = mu * state["b"] + g
            d = g + mu * b if nesterov else b
            x = state["x"] - lr * d
            return {"x": x, "query": x, "b": b}

        return run_first_order(x0, calls, rng, record, self.output,
                               lambda x: {"x": x, "query": x, "b": np.zeros_like(x)}, step)
