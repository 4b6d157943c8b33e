r"""Interpolated normalized gradient descent, INGD (Zhang, Lin, Jegelka, Sra, Jadbabaie, "Complexity of finding
stationary points of nonsmooth nonconvex functions", ICML 2020).

The method, as sketched after Zhang, Lin, Jegelka, Sra, Jadbabaie (ICML 2020; the paper's exact constants and its
stochastic Algorithm 2 are UNVERIFIED here):

    outer step at x_t:   m ← g(x_t)
    repeat:
        if ‖m‖ ≤ ε:  stop, x_t is certified;
        u = m/‖m‖,  trial = x_t − δu                                    (a normalized step of length δ)
        if F(trial) ≤ F(x_t) − c·δ‖m‖  (c = 1/4):  x_{t+1} = trial, next outer step;
        else: y ~ Uniform[x_t, trial],  g = g(y),  m ← argmin_{v ∈ [m, g]} ‖v‖.

**Certificate (derived).** Every gradient that enters m is taken at x_t or at a point y of the segment from x_t, so m
is a convex combination of gradients at points of B(x_t, δ): with exact gradients m ∈ ∂_δ F(x_t) and ‖m‖ is a sound
upper bound on dist(0, ∂_δ F(x_t)). With exact gradients the returned point is the iterate with the smallest such ‖m‖.
The sampled point is y = x_t − s·u with s uniform in [0, r], r = :func:`o2nc.certify.rounding_safe_radius` (δ, ‖x_t‖,
2^-53): the computed y, rounded to float64, is then within δ of x_t (in exact arithmetic y = x_t − sδu could round to a
point up to about ulp(‖x_t‖)/2 further out, which is more than δ at ‖x_t‖ = 1e8, δ = 1e-8). So the radius δ reported
with ``radius_kind="bound"`` holds for the computed points; r = (δ − 2^-53‖x_t‖)/(1 + 2^-53)·(1 − 10^-12), i.e. δ to
about 1e-12 wherever ‖x_t‖ ≪ δ/2^-53, and a δ below the float64 resolution at x_t (r < δ/2) is refused with a
ValueError naming ``delta``. The trial point x_t − δu is only a descent test (no gradient is taken there).

**Rate (derived here for exact gradients; the paper states Õ(δ^-1 ε^-3) deterministic and O(δ^-1 ε^-4) stochastic
— the latter is the "previous best" of [CMO23]'s abstract).** Each accepted step lowers F by c·δ‖m‖ > cδε, so at
most (F(x_1) − F*)/(cδε) outer steps happen. A rejected step means F(x_t) − F(trial) < cδ‖m‖; by the path-integral
identity ([CMO23] Definition 1) E_y⟨∇F(y), u⟩ = (F(x_t) − F(trial))/δ < c‖m‖, i.e. E⟨g, m⟩ < c‖m‖². The min-norm point
of [m, g] then satisfies, for ⟨g, m⟩ ≤ c‖m‖² and ‖g‖, ‖m‖ ≤ L,

    ‖m_new‖² = ‖m‖² − ⟨m, m − g⟩²/‖m − g‖² ≤ ‖m‖² (1 − (1−c)² ‖m‖²/(4L²)),

so O(L²ε^-2) rejected steps (in expectation, up to a log factor) bring ‖m‖ below ε: O(L²(F(x_1) − F*) δ^-1 ε^-3)
gradient calls in all. The contraction inequality is checked numerically in the tests.

Stochastic oracle: the gradients at x_t and y are then stochastic and the descent test still uses exact values.
This is the sketch above with noisy gradients, not the paper's Algorithm 2, and no rate is claimed for it. ‖m‖
is then no certificate, so the run never stops on it (it uses its whole budget), a zero m — e.g. a stochastic
gradient that is exactly 0 — only triggers a fresh gradient at x_t, and the certificate is recomputed with
:func:`o2nc.certify.goldstein` at the output (counted apart). The output is then the last outer iterate whose m was
formed, never the iterate of smallest ‖m‖: the minimum over a run of a noisy quantity is biased towards 0 (a single
near-zero combination of noisy gradients would pick its point), so selecting by it would choose points by noise. With
``certify=False`` that iterate's current ‖m‖ is returned as a ``"stochastic estimate"`` (``estimate="baseline
running"``): a norm of a combination of stochastic gradients, which no result bounds.

The gradient at a sampled y is an ordinary gradient: with probability one y is a point of differentiability for the
bank's objectives, which stands in for the paper's special (Hadamard directional derivative) oracle. The gradient at
x_t itself may be any Clarke subgradient; :mod:`o2nc.baselines.pingd` removes that point by a perturbation.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from o2nc.baselines._base import Baseline, BudgetExhausted, RunOutput, Trace, check_open_unit, check_positive
from o2nc.certify import rounding_safe_radius

__all__ = ["INGD", "min_norm_segment", "run_ingd"]


def min_norm_segment(m: np.ndarray, g: np.ndarray) -> np.ndarray:
    r"""argmin_{v ∈ [m, g]} ‖v‖:  v = m + λ(g − m),  λ = clip(−⟨m, g − m⟩/‖g − m‖², 0, 1)."""
    diff = g - m
    denom = float(diff @ diff)
    if denom == 0.0:
        return m.copy()
    lam = min(1.0, max(0.0, -float(m @ diff) / denom))
    return m + lam * diff


#: What a δ below the float64 resolution at the iterate should do instead (the ValueError of rounding_safe_radius).
_REMEDY = "give a larger `delta`, or shift the problem so that its iterates have a smaller norm"


def run_ingd(x0, calls, rng, record, *, delta, epsilon, descent, perturbation):
    """The INGD loop; ``perturbation`` ρ > 0 moves every outer iterate to a uniform point of B(x_t, ρ) first.

    With exact gradients the output is the outer iterate of smallest ‖m‖ (a sound certificate); with a stochastic
    oracle it is the last outer iterate whose m was formed, with that m's norm (module docstring)."""
    d = x0.shape[0]
    x = x0.copy()
    trace = Trace()
    history = {"x": [], "trial": [], "query": [], "accepted": []} if record else None
    best_x, best_cert, best_calls = x.copy(), math.inf, 0
    # the last outer iterate whose m was formed, the norm of its current m and the calls when m was last updated
    last_x, last_cert, last_calls = x.copy(), math.inf, 0
    stochastic = bool(calls.stochastic)
    rounding_safe_radius(delta, float(np.linalg.norm(x0)), 2.0**-53, _REMEDY)  # refuse before spending the budget
    stopped = "budget"
    fx = None
    try:
        while True:
            if perturbation > 0:
                u = rng.standard_normal(d)
                u /= max(np.linalg.norm(u), 1e-300)
                x = x + perturbation * rng.random() ** (1.0 / d) * u
                fx = None
            if fx is None:
                fx = calls.value(x)
            m = calls.grad(x)
            if record:
                history["query"].append(x.copy())
            norm = float(np.linalg.norm(m))
            trace.add(calls.used, fx, norm)
            last_x, last_cert, last_calls = x.copy(), norm, calls.used
            if norm < best_cert:
                best_x, best_cert, best_calls = last_x, norm, calls.used
            reach = rounding_safe_radius(delta, float(np.linalg.norm(x)), 2.0**-53, _REMEDY)
            while True:
                if norm <= epsilon and not calls.stochastic:
                    stopped = "target"
                    raise StopIteration
                if norm == 0.0:  # a zero stochastic gradient: no direction and no certificate; sample x_t again
                    break
                u = m / norm
                trial = x - delta * u
                f_trial = calls.value(trial)
                accepted = f_trial <= fx - descent * delta * norm
                if record:
                    history["x"].append(x.copy())
                    history["trial"].append(trial)
                    history["accepted"].append(float(accepted))
                if accepted:
                    x, fx = trial, f_trial
                    break
                y = x - rng.random() * reach * u  # within δ of x after rounding (module docstring)
                g = calls.grad(y)
                if record:
                    history["query"].append(y)
                m = min_norm_segment(m, g)
                norm = float(np.linalg.norm(m))
                trace.add(calls.used, fx, norm)
                last_cert, last_calls = norm, calls.used
                if norm < best_cert:
                    best_x, best_cert, best_calls = last_x, norm, calls.used
    except (BudgetExhausted, StopIteration):
        pass
    if history is not None:
        history = {k: (np.asarray(v) if v else np.zeros((0, d) if k != "accepted" else 0)) for k, v in history.items()}
    # with exact gradients m is a convex combination of gradients at x_t and at points within δ of x_t after rounding
    # (module docstring): kind "sampled one-sided", radius δ as a bound.  With a stochastic oracle: the last iterate
    if stochastic:
        best_x, best_cert, best_calls = last_x, last_cert, last_calls
    return RunOutput(point=best_x, certificate=best_cert if math.isfinite(best_cert) else None, trace=trace,
                     history=history, stopped=stopped, certificate_calls=best_calls,
                     certificate_kind="sampled one-sided", certificate_radius_kind="bound",
                     certificate_estimate="baseline running")


@dataclass(frozen=True, kw_only=True)
class INGD(Baseline):
    r"""Interpolated normalized gradient descent (module docstring): normalized steps of length δ, accepted under
    sufficient descent, else a min-norm update of m with a gradient sampled on the step's segment.

    Args:
        delta: δ > 0, the step length and the certificate radius.
        epsilon: ε ≥ 0; with exact gradients stop as soon as ‖m‖ ≤ ε (0: run the whole budget, stopping only if
            m = 0); with a stochastic oracle the run never stops on ‖m‖.
        descent: the sufficient-descent constant c ∈ (0, 1) (1/4 in the sketch above).

    Returns (from ``minimize``): with exact gradients, the iterate with the smallest ‖m‖ and that ‖m‖ as an
    :class:`o2nc.Certificate` of kind ``"sampled one-sided"`` (radius δ, a bound); with a stochastic oracle the last
    outer iterate and a :func:`o2nc.certify.goldstein` certificate of it (``certify=False``: its current ‖m‖ as a
    ``"stochastic estimate"``, ``estimate="baseline running"``).

    Raises:
        ValueError: naming ``delta`` when δ is below the float64 resolution at an iterate (less than twice 2^-53‖x_t‖,
            :func:`o2nc.certify.rounding_safe_radius`), checked at x0 before any oracle call and at every outer step.

    Example:
        >>> import numpy as np
        >>> from o2nc.baselines import INGD
        >>> class AbsX:
        ...     def value(self, x): return float(np.abs(x).sum())
        ...     def grad(self, x): return np.sign(x)
        >>> res = INGD(delta=0.1).minimize(AbsX(), np.array([0.95]), budget=100)
        >>> res.certificate.epsilon, res.certificate.kind, res.stopped, abs(float(res.point[0])) <= 0.1
        (0.0, 'sampled one-sided', 'target', True)
    """

    epsilon: float = 0.0
    descent: float = 0.25

    rate = "exact gradients: Õ(δ^-1 ε^-3) (derived); stochastic oracle: none claimed"

    def _validate(self):
        check_positive("INGD", "epsilon", self.epsilon, allow_zero=True)
        check_open_unit("INGD", "descent", self.descent)

    def _run(self, problem, x0, calls, rng, record):
        return run_ingd(x0, calls, rng, record, delta=float(self.delta), epsilon=float(self.epsilon),
                        descent=float(self.descent), perturbation=0.0)
