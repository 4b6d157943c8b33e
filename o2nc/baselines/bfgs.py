r"""BFGS with the weak Wolfe line search for non-smooth functions (A. S. Lewis and M. L. Overton, "Nonsmooth
optimization via quasi-Newton methods", Math. Program. 141, 135–163, 2013, [LO13]; the BFGS of their HANSO 2.0 code,
``bfgs1run.m`` and ``linesch_ww.m``, whose constants are quoted from that code).

Iteration k at x_k with gradient g_k and inverse-Hessian approximation H_k (H_0 = I):

1. direction p_k = −H_k g_k (the BFGS step, [LO13] §4; Nocedal & Wright, "Numerical Optimization", 2nd ed., (6.18));
   if g_kᵀp_k ≥ 0 (H_k has lost positive definiteness to rounding) the run stops, as ``bfgs1run`` does;
2. the weak Wolfe line search of [LO13] §4.2 finds t > 0 with

       f(x_k + t p_k) < f(x_k) + c1 t g_kᵀp_k            (Armijo: sufficient decrease)
       g(x_k + t p_k)ᵀp_k > c2 g_kᵀp_k                   (weak Wolfe: the directional derivative has increased)

   with 0 < c1 < c2 < 1 ([LO13] §4.2): start at t = 1; an Armijo failure sets the upper end β = t, a curvature
   failure the lower end α = t; then t = (α + β)/2 (bisection) once β < ∞, else t = 2α (doubling). At most
   max(30, round(log2(10^5‖p‖))) bisections and max(10, round(log2(10^5/‖p‖))) doublings (``linesch_ww``'s caps).
   A failed search returns the last α satisfying Armijo (α = 0: no move) and ends the run, as ``bfgs1run`` does.
   [LO13] §4.2 show that the search terminates for locally Lipschitz f that is bounded below along the ray (recalled,
   not re-derived here), so a failure signals the limit of rounding (or, without bracketing, f unbounded below);
3. x_{k+1} = x_k + t p_k, s = t p_k, y = g_{k+1} − g_k, and the inverse BFGS update (Nocedal & Wright (6.17))

       H_{k+1} = (I − ρ s yᵀ) H_k (I − ρ y sᵀ) + ρ s sᵀ,    ρ = 1/(sᵀy),

   which the weak Wolfe conditions make well defined (derived): g_{k+1}ᵀp_k > c2 g_kᵀp_k gives
   sᵀy = t (g_{k+1} − g_k)ᵀp_k > (1 − c2) t (−g_kᵀp_k) > 0. An update with sᵀy ≤ 0 (possible only after a failed
   search) is skipped, as in ``bfgs1run``. Before the first update H_0 is scaled to (sᵀy/yᵀy) I (Nocedal & Wright
   (6.20); ``bfgs1run``'s default ``scale = 1``).

**Termination and certificate** (the "gradient sampling-like" termination of [LO13] and ``bfgs1run``). The run keeps
the points and exact gradients of the last ``recent_gradients`` iterates (default ``bfgs1run``'s ``ngrad`` =
min(100, 2d, d + 10)), takes those whose point lies within δ of x_k (``evaldist``) and computes the minimum-norm
element of the convex hull of their gradients with :func:`o2nc.certify.min_norm`; the run stops when that norm is
≤ ε (``normtol``). These are exact gradients at points of B(x_k, δ), so their hull lies in the Goldstein
δ-subdifferential ∂_δ F(x_k) and the norm is an upper bound on dist(0, ∂_δ F(x_k)) (Burke, Lewis, Overton, SIAM J.
Optim. 15(3), 2005): the method's own certificate, kind ``"sampled one-sided"``, with radius the exact largest distance
of those points from x_k (``radius_kind="exact"``). ``bfgs1run`` instead keeps chaining gradients while consecutive
steps are ≤ evaldist, so its points may lie up to (ngrad − 1)·evaldist from x_k; here every point is checked against
δ, so the certificate holds at δ.

**Budget.** Gradient calls: every line-search trial evaluates f and g at the trial point (one gradient call and one
function evaluation, as ``linesch_ww``'s ``[f, grad] = feval(fgname, x)``), plus one of each at the start. A run that
exhausts its budget inside a line search moves to the last trial that satisfied Armijo, as a failed search does.

**Stochastic oracles.** BFGS has no guarantee with stochastic gradients (the curvature pairs and the line search need
exact values and gradients), so this method is deterministic-only: it always uses the exact gradient, also when the
problem offers a stochastic oracle (as gradient sampling does); ``oracle="stochastic"`` is refused with a ValueError.

**Start.** [LO13] start from random points (HANSO's default ``x0 = randn``): f must be differentiable at the iterates,
which holds with probability one from a random start ([LO13] §4, recalled). The run starts from a uniform point of
B(x_0, ρ), ρ = ``start_perturbation``·max(1, ‖x_0‖) (default 10^-4), for the same reason. ρ must exceed the shortest
step the search tries, min(2^-30‖p‖, about 10^-5) by the bisection cap: from a start on a kink, e.g. Maxquad's
x_0 = 0 (five pieces meet) or Mifflin1's x_0 on the unit circle, −g(x_0) is an ascent direction of a neighbouring
piece and every trial fails Armijo; and a perturbation at the level of rounding (10^-13) leaves iterates on exact ties
of integer data (Maxl), where the search fails as well (measured, see the tests).

**Rate.** No finite-time bound. [LO13] observe, without a general proof, that on non-smooth problems BFGS converges
to Clarke-stationary points with f(x_k) − f* decreasing R-linearly, and prove convergence only in special cases
(recalled).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from o2nc.baselines._base import Baseline, RunOutput, Trace, check_count, check_open_unit, check_positive

__all__ = ["NonsmoothBFGS", "LineSearch", "weak_wolfe_line_search", "bfgs_inverse_update"]


class LineSearch(NamedTuple):
    """The result of :func:`weak_wolfe_line_search`.

    Attributes:
        step: the step t returned (0 when no trial satisfied Armijo).
        point, value, grad: x + t p, f and g there (x, f(x), g(x) when ``step`` is 0).
        status: ``"wolfe"`` (both conditions hold at ``step``), ``"failed"`` (the minimizer was bracketed but the
            bisection cap was reached), ``"unbounded"`` (never bracketed within the doubling cap) or ``"budget"``
            (the budget ran out during the search).
        trials: the number of trial points evaluated.
    """

    step: float
    point: np.ndarray
    value: float
    grad: np.ndarray
    status: str
    trials: int


def line_search_caps(direction_norm: float, max_bisections: int | None, max_expansions: int | None):
    """The bisection and doubling caps: the given ones, else HANSO ``linesch_ww``'s
    max(30, round(log2(10^5‖p‖))) and max(10, round(log2(10^5/‖p‖)))."""
    if max_bisections is None:
        max_bisections = max(30, int(round(math.log2(1e5 * direction_norm))))
    if max_expansions is None:
        max_expansions = max(10, int(round(math.log2(1e5 / direction_norm))))
    return int(max_bisections), int(max_expansions)


def weak_wolfe_line_search(calls, x: np.ndarray, f: float, g: np.ndarray, p: np.ndarray, *, armijo: float,
                           curvature: float, max_bisections: int | None = None,
                           max_expansions: int | None = None) -> LineSearch:
    r"""The bracketing/bisection weak Wolfe line search of Lewis & Overton (2013), §4.2.

    Finds t with f(x + tp) < f(x) + c1 t gᵀp and g(x + tp)ᵀp > c2 gᵀp ([LO13] (4.1)–(4.2)): start at t = 1;
    Armijo fails → β = t; curvature fails → α = t; both hold → return t. Next t = (α + β)/2 if β < ∞, else 2α.
    Each trial costs one function evaluation and one gradient call through ``calls``
    (:class:`o2nc.baselines._base.Oracles`); the search stops early, with status ``"budget"``, when no gradient call
    is left. Without success it returns α, the last step that satisfied Armijo.

    Args:
        calls: the run's :class:`o2nc.baselines._base.Oracles`.
        x, f, g: the current point, f(x) and g(x).
        p: a descent direction (gᵀp < 0).
        armijo: c1 ∈ (0, 1).
        curvature: c2 ∈ (c1, 1).
        max_bisections, max_expansions: caps (None: HANSO's, :func:`line_search_caps`).

    Returns:
        :class:`LineSearch`.
    """
    slope = float(g @ p)
    n_bisect_max, n_expand_max = line_search_caps(float(np.linalg.norm(p)), max_bisections, max_expansions)
    alpha, beta = 0.0, math.inf
    best = (0.0, x, f, g)  # the last trial satisfying Armijo (α with its point, value, gradient)
    t, n_bisect, n_expand, trials = 1.0, 0, 0, 0
    while True:
        if calls.remaining <= 0:
            return LineSearch(*best, status="budget", trials=trials)
        trial = x + t * p
        f_trial = calls.value(trial)
        g_trial = calls.grad(trial)
        trials += 1
        if not f_trial < f + armijo * t * slope:  # Armijo (4.1) fails: gone too far ([LO13] §4.2)
            beta = t
        elif not float(g_trial @ p) > curvature * slope:  # curvature (4.2) fails: not far enough
            alpha = t
            best = (t, trial, f_trial, g_trial)
        else:
            return LineSearch(t, trial, f_trial, g_trial, status="wolfe", trials=trials)
        if beta < math.inf:
            if n_bisect >= n_bisect_max:
                return LineSearch(*best, status="failed", trials=trials)
            n_bisect += 1
            t = 0.5 * (alpha + beta)
        else:
            if n_expand >= n_expand_max:
                return LineSearch(*best, status="unbounded", trials=trials)
            n_expand += 1
            t = 2.0 * alpha


def bfgs_inverse_update(H: np.ndarray, s: np.ndarray, y: np.ndarray) -> np.ndarray:
    r"""H⁺ = (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ with ρ = 1/(sᵀy) > 0 ([LO13] (4.3); Nocedal & Wright (6.17)),
    expanded as H − ρ(H y sᵀ + s yᵀH) + ρ(1 + ρ yᵀH y) s sᵀ (H symmetric)."""
    rho = 1.0 / float(s @ y)
    Hy = H @ y
    H_new = H - rho * (np.outer(Hy, s) + np.outer(s, Hy)) + (rho * (1.0 + rho * float(y @ Hy))) * np.outer(s, s)
    return 0.5 * (H_new + H_new.T)  # symmetric in exact arithmetic; removes rounding asymmetry


@dataclass(frozen=True, kw_only=True)
class NonsmoothBFGS(Baseline):
    r"""BFGS with the weak Wolfe line search for non-smooth functions (Lewis & Overton 2013; module docstring).

    Args:
        delta: δ > 0, the certificate radius: the gradients of recent iterates within δ of x_k enter the
            termination test and the certificate (HANSO's ``evaldist``, whose default is 10^-4).
        epsilon: ε ≥ 0; stop once the minimum norm over the hull of those gradients is ≤ ε (HANSO's ``normtol``,
            10^-6); 0 stops only on a zero hull element (or a failed line search, or the budget).
        armijo: c1 ∈ (0, 1), the sufficient-decrease constant ([LO13] (4.1); 10^-4).
        curvature: c2 ∈ (c1, 1), the weak curvature constant ([LO13] (4.2); 0.9, Nocedal & Wright's choice for
            quasi-Newton methods).
        recent_gradients: how many recent iterates (point and gradient) the termination test may use; None:
            HANSO's min(100, 2d, d + 10).
        max_bisections, max_expansions: line-search caps; None: HANSO's max(30, round(log2(10^5‖p‖))) and
            max(10, round(log2(10^5/‖p‖))).
        scale: scale H_0 = I by sᵀy/yᵀy before the first update (Nocedal & Wright (6.20); HANSO's default).
        start_perturbation: start from a uniform point of B(x_0, ρ), ρ = start_perturbation·max(1, ‖x_0‖) (≥ 0;
            0 starts at x_0 itself, which fails where F is not differentiable at x_0).

    Returns (from ``minimize``): the last iterate and, with exact gradients (always: the method is
    deterministic-only), its min-norm value as an :class:`o2nc.Certificate` of kind ``"sampled one-sided"`` with the
    exact radius of the points used. ``stopped`` is ``"target"`` (certificate ≤ ε), ``"converged"`` (failed line
    search or no descent direction: the limit of rounding) or ``"budget"``.

    Example:
        >>> import numpy as np
        >>> from o2nc.baselines import NonsmoothBFGS
        >>> class AbsX:
        ...     def value(self, x): return float(np.abs(x).sum())
        ...     def grad(self, x): return np.sign(x)
        >>> res = NonsmoothBFGS(delta=0.1).minimize(AbsX(), np.array([0.7, -0.3]), budget=200)
        >>> res.stopped, res.certificate.epsilon <= 1e-6, res.certificate_source, res.certificate.kind
        ('target', True, 'own', 'sampled one-sided')

    References:
        A. S. Lewis, M. L. Overton, "Nonsmooth optimization via quasi-Newton methods", Math. Program. 141, 2013.
    """

    epsilon: float = 1e-6
    armijo: float = 1e-4
    curvature: float = 0.9
    recent_gradients: int | None = None
    max_bisections: int | None = None
    max_expansions: int | None = None
    scale: bool = True
    start_perturbation: float = 1e-4

    rate = "no finite-time bound; observed R-linear convergence of f to Clarke-stationary values (Lewis–Overton 2013)"

    def _validate(self):
        o = "NonsmoothBFGS"
        check_positive(o, "epsilon", self.epsilon, allow_zero=True)
        check_open_unit(o, "armijo", self.armijo)
        check_open_unit(o, "curvature", self.curvature)
        if not self.armijo < self.curvature:
            raise ValueError(f"{o}: `curvature` must exceed `armijo` (0 < c1 < c2 < 1, Lewis & Overton 2013 §4.2), "
                             f"got armijo={self.armijo!r}, curvature={self.curvature!r}")
        check_count(o, "recent_gradients", self.recent_gradients, minimum=1, optional=True)
        check_count(o, "max_bisections", self.max_bisections, minimum=1, optional=True)
        check_count(o, "max_expansions", self.max_expansions, minimum=1, optional=True)
        if not isinstance(self.scale, (bool, np.bool_)):
            raise ValueError(f"{o}: `scale` must be True or False, got {self.scale!r}")
        check_positive(o, "start_perturbation", self.start_perturbation, allow_zero=True)

    def _uses_stochastic(self) -> bool:
        return False  # deterministic-only: no guarantee with stochastic gradients (module docstring)

    def _run(self, problem, x0, calls, rng, record):
        from o2nc.certify import min_norm, sample_ball

        d = x0.shape[0]
        keep = self.recent_gradients if self.recent_gradients is not None else min(100, 2 * d, d + 10)
        delta, epsilon = float(self.delta), float(self.epsilon)
        x = x0.copy()
        if self.start_perturbation > 0:
            rho = float(self.start_perturbation) * max(1.0, float(np.linalg.norm(x)))
            x = sample_ball(x, rho, 1, rng)[0]
        fx = calls.value(x)
        g = calls.grad(x)
        H = np.eye(d)
        points, grads = [x.copy()], [g.copy()]  # the recent iterates, newest last
        trace = Trace()
        history = {"x": [], "x_next": [], "f": [], "f_next": [], "step": [], "direction": [], "slope": [],
                   "slope_next": [], "wolfe": [], "trials": [], "skipped": [], "certificate": [], "radius": []} \
            if record else None

        def certify_current():
            """min-norm over the hull of the recent gradients at points within δ of x ([LO13] §6.3)."""
            P, G = np.asarray(points), np.asarray(grads)
            dist = np.linalg.norm(P - x[None, :], axis=1)
            near = dist <= delta
            sol = min_norm(G[near])
            return float(sol.value), float(np.max(dist[near]))

        cert, radius = certify_current()
        cert_calls = calls.used
        trace.add(calls.used, fx, cert)
        stopped = "budget"
        first_update = True
        while True:
            if cert <= epsilon:
                stopped = "target"
                break
            if calls.remaining <= 0:
                break
            p = -(H @ g)
            slope = float(g @ p)
            if not slope < 0.0 or not math.isfinite(slope):  # not a descent direction (HANSO: info 6)
                stopped = "converged"
                break
            ls = weak_wolfe_line_search(calls, x, fx, g, p, armijo=self.armijo, curvature=self.curvature,
                                        max_bisections=self.max_bisections, max_expansions=self.max_expansions)
            x_prev, g_prev, f_prev = x, g, fx
            x, fx, g = ls.point, ls.value, ls.grad
            skipped = True
            if ls.step > 0:
                points.append(x.copy())
                grads.append(g.copy())
                del points[:-keep], grads[:-keep]
                cert, radius = certify_current()
                cert_calls = calls.used
                s, y = x - x_prev, g - g_prev
                sty = float(s @ y)
                if ls.status == "wolfe" and sty > 0.0:  # weak Wolfe ⇒ sᵀy > 0 (module docstring, step 3)
                    if first_update and self.scale:
                        H = (sty / float(y @ y)) * H  # Nocedal & Wright (6.20)
                    first_update = False
                    H = bfgs_inverse_update(H, s, y)
                    skipped = False
            trace.add(calls.used, fx, cert)
            if record:
                history["x"].append(x_prev.copy())
                history["x_next"].append(x.copy())
                history["f"].append(f_prev)
                history["f_next"].append(fx)
                history["step"].append(ls.step)
                history["direction"].append(p)
                history["slope"].append(slope)
                history["slope_next"].append(float(g @ p))
                history["wolfe"].append(float(ls.status == "wolfe"))
                history["trials"].append(float(ls.trials))
                history["skipped"].append(float(skipped))
                history["certificate"].append(cert)
                history["radius"].append(radius)
            if ls.status == "budget":
                stopped = "budget"
                break
            if ls.status != "wolfe":  # failed search: the limit of rounding, or f unbounded below (HANSO: info 7, 8)
                stopped = "target" if cert <= epsilon else "converged"
                break
        if history is not None and not history["x"]:
            history = {k: (np.zeros((0, d)) if k in ("x", "x_next", "direction") else np.zeros(0))
                       for k in history}
        # exact gradients at points within δ of x (module docstring): kind "sampled one-sided", exact radius
        return RunOutput(point=x, certificate=cert, trace=trace, history=history, stopped=stopped, delta=radius,
                         certificate_calls=cert_calls, certificate_kind="sampled one-sided",
                         certificate_radius_kind="exact")
