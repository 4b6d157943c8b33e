"""Small objectives for the experiment tests, importable as ``test_experiments_toys:<factory>`` from a spec.

They follow the bank's interface (x0, value, grad, stochastic_grad, f_star, lipschitz, has_goldstein, goldstein) so
that the sweep machinery is tested independently of the bank.  No tests here.
"""
from __future__ import annotations

import math
import os
import random
import signal
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


class _Saboteur(ScaledNorm):
    """ScaledNorm whose gradient kills its own worker process once per free slot of ``slots`` (files ``kill-i`` in
    the folder ``marker``): at a random call of the run, by ``os._exit`` or SIGKILL (the fault tests)."""

    def __init__(self, dim, marker, slots, how, p, sleep, log):
        super().__init__(dim=dim, sleep=sleep)
        rng = random.Random(os.urandom(8))
        self.marker, self.slots, self.how = marker, int(slots), how
        self.kill_at = rng.randrange(1, 60) if rng.random() < p else None
        self.calls = 0
        self.log = log

    def grad(self, x):
        self.calls += 1
        if self.calls == 1 and self.log:  # one line per run that starts computing (validation never calls grad)
            with open(os.path.join(self.marker, "computed.log"), "a") as f:
                f.write(f"{os.getpid()}\n")
        if self.kill_at is not None and self.calls == self.kill_at:
            for i in range(self.slots):
                try:
                    fd = os.open(os.path.join(self.marker, f"kill-{i}"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                except FileExistsError:
                    continue
                os.close(fd)
                if self.how == "exit":
                    os._exit(3)
                os.kill(os.getpid(), signal.SIGKILL)
            self.kill_at = None
        return super().grad(x)


def saboteur(dim=3, marker="", slots=0, how="exit", p=0.5, sleep=0.0, log=False):
    return _Saboteur(dim, marker, slots, how, p, sleep, log)
