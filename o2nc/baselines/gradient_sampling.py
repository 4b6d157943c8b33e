r"""Gradient sampling (Burke, Lewis, Overton, "A robust gradient sampling algorithm for nonsmooth, nonconvex
optimization", SIAM J. Optim. 15(3), 2005).

Iteration k at x_k with sampling radius r_k and optimality tolerance ν_k (Burke, Lewis, Overton 2005):

1. sample y_1, …, y_m uniformly in B(x_k, r_k) (:func:`o2nc.certify.sample_ball`);
2. g_k = argmin { ‖v‖ : v ∈ conv{∇F(x_k), ∇F(y_1), …, ∇F(y_m)} }, solved by :func:`o2nc.certify.min_norm` — the
   certification solver itself, so the direction and the certificate are the certifier's by construction;
3. if ‖g_k‖ ≤ ν_k: shrink r_{k+1} = θ_r r_k, ν_{k+1} = θ_ν ν_k and stay (x_{k+1} = x_k);
   else Armijo backtracking along d_k = −g_k/‖g_k‖: t = max{1, γ, γ², …} with F(x_k + t d_k) < F(x_k) − β t ‖g_k‖,
   and x_{k+1} = x_k + t d_k. When no such t ≥ γ^{max_backtracks} exists the radius is shrunk as in step 3 (the
   usual safeguard, cf. Kiwiel, SIAM J. Optim. 18(2), 2007; recalled).

The run stops when r_k falls below ``min_radius`` or the budget cannot pay for another sample set (m + 1 gradients).

BLO 2005 require every iterate to be a point where F is differentiable (they perturb an iterate that is not). The
random samples and steps make this hold with probability one after the start, so only x_0 needs it: the method
starts from a uniform point of B(x_0, ``start_perturbation``·δ). Without it a start on a kink (e.g. Maxquad's
x_0 = 0, where all five pieces meet) makes the gradient at x_k a non-descent direction's witness and every line search
fail.

**Certificate.** conv{∇F(x_k), ∇F(y_i)} ⊆ ∂_{r_k} F(x_k) ⊆ ∂_δ F(x_k) for r_k ≤ δ (the Goldstein
subdifferential grows with the radius), so ‖g_k‖ bounds dist(0, ∂_δ F(x_k)) from above for every k. The method
returns the last sampled iterate and its ‖g_k‖; with ``output="best"``, the sampled iterate with the smallest ‖g_k‖.

**Rate.** No finite-time complexity bound: with probability one every cluster point of the iterates is Clarke
stationary, for locally Lipschitz F that is continuously differentiable on an open dense set and m ≥ d + 1 (BLO 2005,
main convergence theorem, as recalled). The variant with an Õ(δ^-1 ε^-3) bound is :mod:`o2nc.baselines.pingd`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from o2nc.baselines._base import Baseline, RunOutput, Trace, check_choice, check_count, check_open_unit, check_positive
from o2nc.methods.oracles import BudgetTooSmall

__all__ = ["GradientSampling"]


@dataclass(frozen=True, kw_only=True)
class GradientSampling(Baseline):
    r"""Gradient sampling with radius reduction (module docstring).

    Args:
        delta: δ > 0, the initial sampling radius r_1 and the certificate radius.
        samples: m, points sampled per iteration (None: 2d, BLO 2005's choice; the theory needs m ≥ d + 1).
        tolerance: ν_1 > 0, the optimality tolerance at the first radius.
        radius_reduction: θ_r ∈ (0, 1].
        tolerance_reduction: θ_ν ∈ (0, 1].
        min_radius: stop once the radius is below this (> 0).
        armijo: β ∈ (0, 1), the sufficient-decrease constant.
        backtrack: γ ∈ (0, 1), the step shrink factor.
        max_backtracks: the most step halvings per line search (≥ 1).
        start_perturbation: the radius of the perturbation of x_0, relative to δ (≥ 0; 0 starts at x_0 itself).
        output: ``"last"`` sampled iterate or the ``"best"`` certified one.

    Example:
        >>> import numpy as np
        >>> from o2nc.baselines import GradientSampling
        >>> class AbsX:
        ...     def value(self, x): return float(np.abs(x).sum())
        ...     def grad(self, x): return np.sign(x)
        >>> res = GradientSampling(delta=0.1, samples=4).minimize(AbsX(), np.array([0.7]), budget=2000)
        >>> res.stopped, abs(float(res.point[0])) < 1e-6, res.certificate_source
        ('converged', True, 'own')
    """

    samples: int | None = None
    tolerance: float = 1e-6
    radius_reduction: float = 0.1
    tolerance_reduction: float = 1.0
    min_radius: float = 1e-7
    armijo: float = 1e-8
    backtrack: float = 0.5
    max_backtracks: int = 50
    start_perturbation: float = 1e-9
    output: str = "last"

    rate = "no finite-time bound; cluster points Clarke stationary w.p. 1 (BLO 2005)"

    def _validate(self):
        o = "GradientSampling"
        check_count(o, "samples", self.samples, minimum=1, optional=True)
        check_positive(o, "tolerance", self.tolerance)
        check_open_unit(o, "radius_reduction", self.radius_reduction, high_closed=True)
        check_open_unit(o, "tolerance_reduction", self.tolerance_reduction, high_closed=True)
        check_positive(o, "min_radius", self.min_radius)
        check_open_unit(o, "armijo", self.armijo)
        check_open_unit(o, "backtrack", self.backtrack)
        check_count(o, "max_backtracks", self.max_backtracks)
        check_positive(o, "start_perturbation", self.start_perturbation, allow_zero=True)
        check_choice(o, "output", self.output, ("last", "best"))

    def _uses_stochastic(self) -> bool:
        return False

    def _run(self, problem, x0, calls, rng, record):
        from o2nc.certify import min_norm, sample_ball

        d = x0.shape[0]
        m = self.samples if self.samples is not None else 2 * d
        radius, tol = float(self.delta), float(self.tolerance)
        if calls.remaining < m + 1:  # before any call: the budget cannot pay for one sample set
            raise BudgetTooSmall(f"GradientSampling: `budget` must allow one sample set of m + 1 = {m + 1} gradients, "
                                 f"got {calls.remaining}", m + 1)
        x = x0.copy()
        if self.start_perturbation > 0:
            x = sample_ball(x, float(self.start_perturbation) * radius, 1, rng)[0]
        fx = calls.value(x)
        trace = Trace()
        history = {"x": [], "radius": [], "points": [], "direction": [], "certificate": [], "step": []} \
            if record else None
        last = best = None  # (x, certificate)
        stopped = "budget"
        while calls.remaining >= m + 1:
            points = np.vstack([x[None, :], sample_ball(x, radius, m, rng)])
            G = np.vstack([calls.grad(p) for p in points])
            sol = min_norm(G)
            direction = sol.weights @ G
            cert = sol.value
            reach = float(np.max(np.linalg.norm(points - x, axis=1)))  # exact radius of this sample set (≤ radius)
            last = (x.copy(), cert, reach, calls.used)
            if best is None or cert < best[1]:
                best = (x.copy(), cert, reach, calls.used)
            trace.add(calls.used, fx, cert)
            step = 0.0
            if cert <= tol:
                shrink = True
            else:
                dvec = -direction / float(np.linalg.norm(direction))
                t, shrink = 1.0, True
                for _ in range(self.max_backtracks + 1):
                    trial = x + t * dvec
                    f_trial = calls.value(trial)
                    if f_trial < fx - self.armijo * t * cert:
                        x, fx, step, shrink = trial, f_trial, t, False
                        break
                    t *= self.backtrack
            if record:
                history["x"].append(last[0])
                history["radius"].append(radius)
                history["points"].append(points)
                history["direction"].append(direction)
                history["certificate"].append(cert)
                history["step"].append(step)
            if shrink:
                radius *= self.radius_reduction
                tol *= self.tolerance_reduction
                if radius < self.min_radius:
                    stopped = "converged"
                    break
        chosen = best if self.output == "best" else last
        return RunOutput(point=chosen[0], certificate=chosen[1], trace=trace, history=history, stopped=stopped,
                         delta=chosen[2], certificate_calls=chosen[3], certificate_radius_kind="exact")
