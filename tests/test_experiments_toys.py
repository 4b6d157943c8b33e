"""Small objectives for the experiment tests, importable as ``test_experiments_toys:<factory>`` from a spec.

They follow the bank's interface (x0, value, grad, stochastic_grad, f_star, lipschitz, has_goldstein, goldstein) so
that the sweep machinery is tested independently of the bank.  No tests here.
"""
from __future__ import annotations

import math
import time

import numpy as np


class ScaledNorm:
    """f(x) = a‖x‖₂ (convex, non-smooth at 0); exact Goldstein value a·sqrt(1 − δ²/‖x‖²) for ‖x‖ > δ, else 0."""

    def __init__(self, dim=3, a=1.0, noise=0.0, sleep=0.0, fail_at=None, declare_noise=False, gap_bound=None):
        self.dim, self.a, self.noise, self.sleep = int(dim), float(a), float(noise), float(sleep)
        self.x0 = np.ones(self.dim) / math.sqrt(self.dim) * 2.0
        self.f_star = 0.0
        self.lipschitz = self.a
        self.extra = {}
        if declare_noise:  # E‖g − ∇f‖² of the Gaussian noise below
            self.extra["noise_variance"] = self.noise ** 2 * self.dim
        if gap_bound is not None:  # pretend f* is unknown and only a bound on f(x0) − inf f is
            self.f_star = None
            self.extra["gap_bound"] = float(gap_bound)
        self.has_goldstein = True
        self.fail_at = fail_at
        self.name = "scaled_norm"

    def value(self, x):
        return self.a * float(np.linalg.norm(x))

    def grad(self, x):
        if self.sleep:
            time.sleep(self.sleep)
        if self.fail_at is not None:
            raise RuntimeError("this toy objective always fails (fail_at)")
        n = np.linalg.norm(x)
        return self.a * x / n if n > 0 else np.zeros_like(x)

    @property
    def stochastic_grad(self):
        if self.noise == 0.0:
            return None

        def sg(x, rng):
            return self.grad(x) + self.noise * rng.standard_normal(self.dim)

        return sg

    def goldstein(self, x, delta):
        n = float(np.linalg.norm(x))
        return 0.0 if n <= delta else self.a * math.sqrt(1 - (delta / n) ** 2)


def scaled_norm(dim=3, a=1.0, noise=0.0, sleep=0.0, fail_at=None, declare_noise=False, gap_bound=None):
    return ScaledNorm(dim=dim, a=a, noise=noise, sleep=sleep, fail_at=fail_at, declare_noise=declare_noise,
                      gap_bound=gap_bound)
