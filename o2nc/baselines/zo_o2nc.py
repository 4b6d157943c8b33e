r"""Zero-order O2NC (Kornowski & Shamir, "An algorithm with optimal dimension-dependence for zero-order nonsmooth
nonconvex stochastic optimization", JMLR 25(122), 2024).

O2NC (Algorithm 1 of [CMO23], run by :func:`o2nc.minimize` with restarted projected OGD) on the uniform smoothing
f_ρ(x) = E_{u∼Unif(B)} f(x + ρu), whose gradient is estimated from function values only (two-point
estimator of Lin, Zheng, Jordan, NeurIPS 2022, as used by Kornowski & Shamir 2024):

    g_n = (1/b) Σ_{j≤b} (d/(2ρ)) (f(w_n + ρu_j) − f(w_n − ρu_j)) u_j,   u_j ∼ Unif(S^{d−1}),   E g_n = ∇f_ρ(w_n).

**Radii (derived).** ∇f_ρ(w) ∈ ∂_ρ f(w) (Lin, Zheng, Jordan 2022, as restated by Liu, Luo, Low, NeurIPS 2024,
Lemmas 3.7–3.8), and with the OGD radius D = δ'/T every gradient point of an epoch lies within δ' of the epoch mean w̄
([CMO23], locality: ‖w_n − w_m‖ ≤ (n − m + 1)D ≤ DT). Hence the epoch's mean smoothed gradient lies in
∂_{ρ+δ'} f(w̄): the conversion runs with δ' = δ − ρ, and the default ρ = δ/2 gives the split "ρ ≈ δ/2 and O2NC with
δ/2" of Kornowski & Shamir's construction (their constants are not verified here).

**Tuning.** By default the O2NC parameters are the theory's (:func:`o2nc.theory.ogd_parameters`) for N/(2b)
estimator calls, radius δ − ρ, the second-moment bound G = (16√(2π) d)^{1/2} L of one direction's estimate
(Lin, Zheng, Jordan 2022, quoted) and the noise σ = G/√b of [CMO23] Theorem 8's σ/√T term (derived: one direction's
estimate g_j is unbiased for ∇f_ρ, so E‖g_j − ∇f_ρ‖² = E‖g_j‖² − ‖∇f_ρ‖² ≤ G², and the mean of b independent ones has
variance ≤ G²/b); ``epoch_length`` and ``lr`` override them (D = (δ − ρ)/T always).

**Rate.** O(d δ^-1 ε^-3) function evaluations (Kornowski & Shamir 2024; inserting G² = O(dL²) into O2NC's
G² δ^-1 ε^-3). The epoch certificates of the run are estimates (noisy values of ‖mean ∇f_ρ‖); the reported
certificate is :func:`o2nc.certify.goldstein` at the output, with exact gradients counted apart.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from o2nc.baselines._base import (
    Baseline,
    RunOutput,
    Trace,
    check_choice,
    check_count,
    check_positive,
    sphere_directions,
    two_point_estimate,
)

__all__ = ["ZeroOrderO2NC", "estimator_second_moment"]

_MOMENT = 16.0 * math.sqrt(2.0 * math.pi)


def estimator_second_moment(dim: int, lipschitz: float) -> float:
    """G with E‖g‖² ≤ G² for the two-point estimator of an L-Lipschitz f: G² = 16√(2π)·d·L² (Lin et al. 2022)."""
    return math.sqrt(_MOMENT * dim) * lipschitz


@dataclass(frozen=True, kw_only=True)
class ZeroOrderO2NC(Baseline):
    r"""O2NC with restarted projected OGD on the two-point estimator of the uniform smoothing (module docstring).

    Args:
        delta: δ > 0, the certificate radius; the smoothing takes ρ and the conversion δ − ρ.
        smoothing: ρ ∈ (0, δ) (None: δ/2).
        lipschitz: L > 0 of f, for the theory tuning.
        gap: F(x_0) − F* > 0 (or a bound), for the theory tuning.
        epoch_length: T (None: the theory's).
        lr: the OGD step (None: the theory's D/(G√T)).
        batch: b, directions per estimate (2b evaluations per O2NC step).
        output: the epoch returned: ``"best"`` estimated certificate, ``"random"`` (Theorem 8's) or ``"last"``.
    """

    smoothing: float | None = None
    lipschitz: float = 1.0
    gap: float = 1.0
    epoch_length: int | None = None
    lr: float | None = None
    batch: int = 1
    output: str = "best"

    order = "zero-order"
    rate = "O(d δ^-1 ε^-3) function evaluations (Kornowski–Shamir 2024)"

    def _validate(self):
        o = "ZeroOrderO2NC"
        if self.smoothing is not None:
            check_positive(o, "smoothing", self.smoothing)
            if not self.smoothing < self.delta:
                raise ValueError(f"{o}: `smoothing` must lie in (0, delta) = (0, {self.delta}), got {self.smoothing!r}")
        check_positive(o, "lipschitz", self.lipschitz)
        check_positive(o, "gap", self.gap)
        check_count(o, "epoch_length", self.epoch_length, optional=True)
        if self.lr is not None:
            check_positive(o, "lr", self.lr)
        check_count(o, "batch", self.batch)
        check_choice(o, "output", self.output, ("best", "random", "last"))

    def parameters(self, budget: int, dim: int):
        """(T, D, η, ρ, estimator calls) for a budget of ``budget`` function evaluations in dimension ``dim``."""
        from o2nc.theory import ogd_parameters

        rho = float(self.delta) / 2 if self.smoothing is None else float(self.smoothing)
        inner = float(self.delta) - rho
        steps = budget // (2 * int(self.batch))
        G = estimator_second_moment(dim, float(self.lipschitz))
        if self.epoch_length is None:
            if steps < 2:
                raise ValueError(f"ZeroOrderO2NC: `budget` {budget} allows {steps} estimates; the theory tuning "
                                 "needs at least 2")
            sigma = G / math.sqrt(int(self.batch))  # E‖ḡ − ∇f_ρ‖² ≤ G²/b (module docstring, Tuning)
            T = ogd_parameters(int(steps), inner, G, float(self.gap), sigma).epoch_length
        else:
            T = int(self.epoch_length)
        if steps < T:
            raise ValueError(f"ZeroOrderO2NC: `budget` {budget} allows {steps} estimates, fewer than one epoch "
                             f"({T}); give at least {2 * self.batch * T} evaluations")
        radius = inner / T
        lr = radius / (G * math.sqrt(T)) if self.lr is None else float(self.lr)
        return T, radius, lr, rho, steps

    def _run(self, problem, x0, calls, rng, record):
        import o2nc
        from online_learners import OGD

        d, b = x0.shape[0], int(self.batch)
        T, radius, lr, rho, steps = self.parameters(calls.remaining, d)
        budget = (steps // T) * T

        def estimator(w, oracle_rng):
            return two_point_estimate(calls, np.asarray(w, dtype=np.float64), rho, sphere_directions(oracle_rng, b, d))

        res = o2nc.minimize(estimator, x0, learner=OGD(lr=lr, radius=radius), budget=budget, epoch_length=T,
                            scaling="uniform", seed=int(rng.integers(2**63 - 1)), restart=True, record=record,
                            output=self.output)
        K = int(res.epochs.certificate.shape[0])
        trace = Trace()
        for k in range(K):
            trace.add(2 * b * T * (k + 1))
        trace.extra["certificate_estimate"] = [float(c) for c in np.asarray(res.epochs.certificate)]
        trace.extra["radius"] = [float(r) for r in np.asarray(res.epochs.radius)]
        history = None
        if record:
            history = {"x": np.asarray(res.history.x), "w": np.asarray(res.history.w),
                       "delta": np.asarray(res.history.delta), "s": np.asarray(res.history.s),
                       "estimate": np.asarray(res.history.grad), "epoch_mean": np.asarray(res.epochs.mean)}
        return RunOutput(point=np.asarray(res.point, dtype=np.float64), certificate=None, trace=trace,
                         history=history, stopped="budget")
