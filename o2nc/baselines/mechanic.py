r"""Mechanic, a learning-rate tuner wrapping a base learner (Cutkosky, Defazio, Mehta, "Mechanic: A Learning Rate
Tuner", NeurIPS 2023, arXiv 2306.00144).

The base learner's play Δ_t is its displacement from the reference point x_ref = x_0 (the accumulated base updates);
Mechanic plays x_t = x_ref + s_t Δ_t and learns the scalar s_t = Σ_i s_{t,i} with n discounted 1-D betting learners,
β_i = 1 − 10^{−i} by default (Cutkosky, Defazio, Mehta, NeurIPS 2023). One step, from the gradient g_t at x_t:

    g̃_t     = g_t + λ·(Σ_i s_{t,i})·(‖g_t‖/‖x_t‖)·x_t          (Mechanic's own weight decay; 0 when x_t = 0)
    h_t     = ⟨g̃_t, Δ_t⟩                                         (the derivative of the loss along Δ)
    Δ_{t+1} = the base learner's play after the loss ⟨g_t, ·⟩
    m_i     ← max(β_i m_i, |h_t|),    v_i ← β_i² v_i + h_t²,    r_i ← max(0, β_i r_i − s_{t,i} h_t)
    W_i     = (s_init/n)·m_i + r_i,   s_{t+1,i} = W_i/(√v_i + ϵ)
    x_{t+1} = x_ref + (Σ_i s_{t+1,i}) Δ_{t+1}

with m, v, r, s starting at 0 (s_1 = 0 is what the W-formula gives on the zero state). The sign convention is the
math's: r_i is the wealth of bettor i, which grows when s_{t,i} h_t < 0.

**Through the library's learners.** The base is any online learner of ``online_learners``; unconstrained OGD with
step ``lr`` (the default) is SGD, whose accumulated updates Δ_{t+1} = Δ_t − lr·g_t are exactly Mechanic's Δ. The
scalar tuner is Mechanic's own multi-β betting rule written out above (its discounting and the max/clip bookkeeping
are not those of a single library learner), so it lives in this module.

**Rate.** For convex Lipschitz losses the tuned scale is within logarithmic factors of the best fixed scale of the
base's updates in hindsight (Cutkosky, Defazio, Mehta 2023, their regret analysis of the tuner, recalled; constants
UNVERIFIED). No non-convex or (δ,ε) rate is claimed. Defaults: λ = 0.01, n = 6 (Cutkosky et al. 2023), ϵ = 10^-8 and
s_init = 10^-8 (this library's choices; the JAX port uses s_init = 10^-6).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from o2nc.baselines._base import Baseline, RunOutput, Trace, check_learner, check_open_unit, check_positive

__all__ = ["Mechanic"]

DEFAULT_BETAS = tuple(1.0 - 10.0 ** (-i) for i in range(1, 7))


@dataclass(frozen=True, kw_only=True)
class Mechanic(Baseline):
    r"""Mechanic's scale tuner over any base online learner (module docstring); returns the last iterate.

    Args:
        lr: the step of the default base learner ``OGD(lr=lr)`` (ignored when ``learner`` is given).
        learner: the base online learner (None: unconstrained OGD, i.e. SGD).
        betas: the discount factors β_i ∈ (0, 1), at least one.
        s_init: the initial betting scale > 0.
        weight_decay: λ ≥ 0.
        eps: ϵ > 0.
        delta: radius of the certificate computed at the output.
    """

    lr: float = 0.01
    learner: Any = None
    betas: tuple[float, ...] = DEFAULT_BETAS
    s_init: float = 1e-8
    weight_decay: float = 0.01
    eps: float = 1e-8

    rate = "convex Lipschitz: within log factors of the best-tuned base scale (Cutkosky–Defazio–Mehta 2023)"

    def _validate(self):
        o = "Mechanic"
        check_positive(o, "lr", self.lr)
        check_learner(o, "learner", self.learner)
        if not isinstance(self.betas, tuple) or len(self.betas) == 0:
            raise ValueError(f"Mechanic: `betas` must be a non-empty tuple of numbers in (0, 1), got {self.betas!r}")
        for b in self.betas:
            check_open_unit(o, "betas", b)
        check_positive(o, "s_init", self.s_init)
        check_positive(o, "weight_decay", self.weight_decay, allow_zero=True)
        check_positive(o, "eps", self.eps)

    def _run(self, problem, x0, calls, rng, record):
        from online_learners import OGD

        learner = OGD(lr=float(self.lr)) if self.learner is None else self.learner
        betas = np.asarray(self.betas, dtype=np.float64)
        n = betas.shape[0]
        lam, s_init, eps = float(self.weight_decay), float(self.s_init), float(self.eps)
        x_ref = x0.copy()
        state = learner.init(x0.copy())
        delta = np.asarray(learner.predict(state), dtype=np.float64)
        m, v, r, s = (np.zeros(n) for _ in range(4))
        x = x_ref + s.sum() * delta
        trace = Trace()
        trace.extra["scale"] = []
        history = {"x": [], "scale": [], "h": []} if record else None
        while calls.remaining > 0:
            g = calls.grad(x)
            x_norm = float(np.linalg.norm(x))
            g_tilde = g + (lam * s.sum() * float(np.linalg.norm(g)) / x_norm) * x if x_norm > 0 else g
            h = float(g_tilde @ delta)
            state = learner.update(state, g)
            delta = np.asarray(learner.predict(state), dtype=np.float64)
            m = np.maximum(betas * m, abs(h))
            v = betas**2 * v + h * h
            r = np.maximum(0.0, betas * r - s * h)
            s = ((s_init / n) * m + r) / (np.sqrt(v) + eps)
            x = x_ref + s.sum() * delta
            trace.add(calls.used)
            trace.extra["scale"].append(float(s.sum()))
            if record:
                history["x"].append(x)
                history["scale"].append(float(s.sum()))
                history["h"].append(h)
        return RunOutput(point=x, certificate=None, trace=trace, history=history, stopped="budget")
