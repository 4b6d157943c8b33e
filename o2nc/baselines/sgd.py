r"""Stochastic (sub)gradient descent.

Update (Robbins & Monro 1951; for non-convex objectives Ghadimi & Lan, SIAM J. Optim. 23(4), 2013):

    x_{t+1} = x_t − η_t g_t,    E[g_t] ∈ ∂F(x_t),    η_t = lr (constant) or lr/√t (``schedule="sqrt"``).

Proven rates (none of them is a Goldstein (δ,ε) guarantee for general Lipschitz F):

- F L-smooth, E‖g − ∇F‖² ≤ σ²: with a constant step and the uniformly random iterate, E‖∇F(x_R)‖² ≤ ε² after
  O(L·(F(x_1) − F*)·σ²·ε^-4) calls (Ghadimi & Lan 2013, Corollary 2.2, recalled).
- F ρ-weakly convex and Lipschitz, non-smooth: O(ε^-4) calls to an ε-stationary point of the Moreau envelope (Davis &
  Drusvyatskiy, SIAM J. Optim. 29(1), 2019, recalled).
- General Lipschitz F: no finite-time (δ,ε) guarantee; the subgradient method can fail to approach any critical
  point (Daniilidis & Drusvyatskiy, "Pathological subgradient dynamics", SIAM J. Optim. 30(2), 2020, recalled).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from o2nc.baselines._base import OUTPUTS, Baseline, check_choice, check_positive, run_first_order

__all__ = ["SGD"]


@dataclass(frozen=True, kw_only=True)
class SGD(Baseline):
    r"""Stochastic subgradient descent: x_{t+1} = x_t − η_t g_t (see the module docstring for the update and rates).

    Args:
        lr: the step η (constant) or its scale (``schedule="sqrt"``: η_t = lr/√t); > 0.
        schedule: ``"constant"`` or ``"sqrt"``.
        output: ``"last"`` iterate, a uniformly ``"random"`` query point (the point Ghadimi & Lan's bound is for) or
            the ``"average"`` of the iterates.
        delta: radius of the certificate computed at the output by :func:`o2nc.certify.goldstein`.

    Example:
        >>> import numpy as np
        >>> from o2nc.baselines import SGD
        >>> class AbsX:
        ...     def value(self, x): return float(np.abs(x).sum())
        ...     def grad(self, x): return np.sign(x)
        >>> res = SGD(lr=0.01, delta=0.1).minimize(AbsX(), np.array([1.0]), budget=200)
        >>> res.grad_calls, abs(float(res.point[0])) <= 0.01, res.certificate.epsilon < 1e-12
        (200, True, True)
    """

    lr: float = 0.01
    schedule: str = "constant"
    output: str = "last"

    rate = ("smooth: O(ε^-4) (Ghadimi–Lan 2013); weakly convex: O(ε^-4) Moreau (Davis–Drusvyatskiy 2019); "
            "Lipschitz: none")

    def _validate(self):
        check_positive("SGD", "lr", self.lr)
        check_choice("SGD", "schedule", self.schedule, ("constant", "sqrt"))
        check_choice("SGD", "output", self.output, OUTPUTS)

    def _run(self, problem, x0, calls, rng, record):
        lr, sqrt = float(self.lr), self.schedule == "sqrt"

        def step(state, g, t):
            x = state["x"] - (lr / np.sqrt(t) if sqrt else lr) * g
            return {"x": x, "query": x}

        return run_first_order(x0, calls, rng, record, self.output, lambda x: {"x": x, "query": x}, step)
