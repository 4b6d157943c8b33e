r"""Schedule-free SGD (Defazio, Yang, Mehta, Mishchenko, Khaled, Cutkosky, "The Road Less Scheduled", arXiv
2405.15682, NeurIPS 2024), with the base step expressed as an online learner of this library.

Three sequences (Defazio et al. 2024): z (the base learner's iterates), x (their weighted average,
returned) and y (where the gradient is taken):

    y_t     = (1 − β) z_t + β x_t,                     g_t = ∇f(y_t; ξ_t)
    z_{t+1} = z_t − γ_t g_t                            (the base step)
    x_{t+1} = (1 − c_{t+1}) x_t + c_{t+1} z_{t+1},    x_1 = z_1 = x_0.

Averaging weights:

- ``weight_power=None``: c_{t+1} = 1/(t+1), the uniform average of z_1, …, z_{t+1} (the paper's main equations);
- ``weight_power=p``: c_{t+1} = w_t / Σ_{i≤t} w_i with w_t = (max_{j≤t} γ_j)^p, the weighting of the paper's
  warm-up theorem with p = 2 and of the public implementations (``weight_lr_power``). Then c_2 = 1, so z_1 gets no
  weight. (Indexing derived from the published in-place update y ← (1 − c)y + cz, y ← y + γ(β(1 − c) − 1)g,
  z ← z − γg, which reproduces the three equations above with c computed from the step-t rate.)
  Computed relative to the current largest step (derived here): with M_t = max_{j≤t} γ_j and
  S_t = Σ_{i≤t} (M_i/M_t)^p = S_{t−1}(M_{t−1}/M_t)^p + 1 (S_0 = 0), c_{t+1} = w_t/Σ_{i≤t} w_i = 1/S_t exactly.
  Every ratio M_{t−1}/M_t is ≤ 1 and 1 ≤ S_t ≤ t, so nothing overflows, and a ratio whose p-th power underflows to 0
  is a weight below 2^-1074 relative to the newest one; forming M_t^p itself overflowed (lr = 10, p = 400) or
  underflowed to 0 for every t (lr = 0.01, p = 200: the output stayed x_0).

Warm-up: γ_t = lr·min(1, t/warmup_steps).

**Through the library's learners.** z_t = x_0 + Δ_t where Δ_t is an online learner's play against the linear losses
⟨g_t, ·⟩ (derived here: z is OGD on these losses, so any learner of the library can take OGD's place). The default
learner is unconstrained :class:`online_learners.OGD` with step ``lr``, for which Δ_{t+1} = Δ_t − lr·g_t is exactly the
base step; the warm-up factor γ_t/lr multiplies the gradient handed to the learner, which for OGD is exactly the step
γ_t (for other learners it rescales the losses instead).

**Rate.** Convex G-Lipschitz F, γ = D/(G√T), any β ∈ [0, 1]: E[F(x_T)] − F* ≤ DG/√T for the returned x_T, with no
schedule and no stopping time fixed in advance (Defazio et al. 2024, Theorem 1, recalled). Non-convex: a
conversion-style analysis for non-smooth non-convex F is announced by Ahn, Magakyan, Cutkosky (2024/25), whose content
is UNVERIFIED here; no (δ,ε) rate is claimed here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from o2nc.baselines._base import Baseline, RunOutput, Trace, check_count, check_learner, check_open_unit, check_positive

__all__ = ["ScheduleFreeSGD"]


@dataclass(frozen=True, kw_only=True)
class ScheduleFreeSGD(Baseline):
    r"""Schedule-free SGD over any online learner (module docstring); returns the averaged sequence x.

    Args:
        lr: the base step γ > 0 (the default learner's step; with another learner it sets the warm-up scale and the
            averaging weights only).
        beta: the interpolation β ∈ [0, 1].
        learner: an online learner playing Δ_t = z_t − x_0 (None: unconstrained ``OGD(lr=lr)``, i.e. SGD).
        weight_power: None (uniform averaging) or p ≥ 0 (weights (max γ)^p).
        warmup_steps: linear warm-up length (0: none).
        delta: radius of the certificate computed at the output.

    Example:
        >>> import numpy as np
        >>> from o2nc.baselines import ScheduleFreeSGD
        >>> class Quad:
        ...     def value(self, x): return 0.5 * float(x @ x)
        ...     def grad(self, x): return x
        >>> res = ScheduleFreeSGD(lr=0.5, beta=0.9).minimize(Quad(), np.array([1.0, -1.0]), budget=200)
        >>> bool(np.linalg.norm(res.point) < 0.05)
        True
    """

    lr: float = 0.1
    beta: float = 0.9
    learner: Any = None
    weight_power: float | None = None
    warmup_steps: int = 0

    rate = "convex Lipschitz: F(x_T) − F* ≤ DG/√T, no schedule (Defazio et al. 2024); non-convex: none claimed"

    def _validate(self):
        o = "ScheduleFreeSGD"
        check_positive(o, "lr", self.lr)
        check_open_unit(o, "beta", self.beta, low_closed=True, high_closed=True)
        check_learner(o, "learner", self.learner)
        if self.weight_power is not None:
            check_positive(o, "weight_power", self.weight_power, allow_zero=True)
        check_count(o, "warmup_steps", self.warmup_steps, minimum=0)

    def _run(self, problem, x0, calls, rng, record):
        from online_learners import OGD

        learner = OGD(lr=float(self.lr)) if self.learner is None else self.learner
        lr, beta = float(self.lr), float(self.beta)
        state = learner.init(x0.copy())
        z = x0 + np.asarray(learner.predict(state), dtype=np.float64)
        x = x0.copy()
        lr_max, weight_sum = 0.0, 0.0  # M_{t−1} and S_{t−1} of the module docstring (weights relative to M_t)
        trace = Trace()
        history = {"x": [], "y": [], "z": []} if record else None
        t = 0
        while calls.remaining > 0:
            t += 1
            y = (1 - beta) * z + beta * x
            g = calls.grad(y)
            factor = min(1.0, t / self.warmup_steps) if self.warmup_steps > 0 else 1.0
            state = learner.update(state, factor * g)
            z = x0 + np.asarray(learner.predict(state), dtype=np.float64)
            if self.weight_power is None:
                c = 1.0 / (t + 1)
            else:
                new_max = max(lr_max, lr * factor)  # > 0: lr > 0 and factor ≥ 1/warmup_steps
                if weight_sum > 0.0 and new_max > lr_max:
                    weight_sum *= (lr_max / new_max) ** float(self.weight_power)
                lr_max, weight_sum = new_max, weight_sum + 1.0
                c = 1.0 / weight_sum
            x = (1 - c) * x + c * z
            trace.add(calls.used)
            if record:
                history["y"].append(y)
                history["z"].append(z)
                history["x"].append(x)
        return RunOutput(point=x, certificate=None, trace=trace, history=history, stopped="budget")
