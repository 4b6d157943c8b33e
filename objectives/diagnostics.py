"""Diagnostic objectives with exact Goldstein oracles ``dist(0, ∂_δ f(x))``, plus two small synthetic ones.

The Goldstein δ-subdifferential is ``∂_δ f(x) = conv ∪_{‖y-x‖≤δ} ∂f(y)`` (Goldstein 1977); x is (δ,ε)-stationary
iff its min norm is ≤ ε (Zhang, Lin, Jegelka, Sra, Jadbabaie, ICML 2020). The closed forms are derived here and
checked against dense sampling in ``tests/test_objectives_oracles.py``; the ℓ1 case is computed exactly by enumeration.
"""
from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import linprog

from ._backend import max_weights, nan_where_x_nonfinite, select_rows
from .base import Objective, sampled_lipschitz
from .minnorm import max_affine_goldstein, min_norm_hull
from .registry import register

_ZHANG = "Zhang, Lin, Jegelka, Sra, Jadbabaie, 'Complexity of finding stationary points of nonsmooth nonconvex " \
         "functions', ICML 2020 (arXiv 2002.04130)"


def _check_dim(name, n, least=1):
    if int(n) != n or n < least:
        raise ValueError(f"{name}: n must be an integer >= {least}, got {n}")
    return int(n)


@register("abs_1d", tags={"convex", "nonsmooth", "diagnostic"})
def abs_1d(a: float = 1.0, x0: float = 1.0) -> Objective:
    """``f(x) = a|x|`` in one dimension.

    Goldstein: ``dist(0, ∂_δ f(x)) = 0`` if ``|x| ≤ δ`` else ``a``: every point within δ of the kink is
    (δ,0)-stationary while no other point is (δ,ε)-stationary for ε < a, although ``|f'(x)| = a`` everywhere.

    Source: the 1-D example behind (δ,ε)-stationarity, Zhang et al. ICML 2020 (arXiv 2002.04130).
    """
    if a <= 0:
        raise ValueError(f"abs_1d: a must be > 0, got {a}")
    a = float(a)
    return Objective(
        name="abs_1d", x0=[x0],
        f=lambda xp, x, d: a * xp.sum(xp.abs(x)),
        g=nan_where_x_nonfinite(lambda xp, x, d: a * xp.sign(x)),  # sign(±inf) = ±1: NaN there
        f_star=0.0, x_star=[0.0], lipschitz_spec=a, lipschitz_is_exact=True,
        tags={"convex", "nonsmooth", "diagnostic"}, source=_ZHANG, params=dict(a=a, x0=x0),
        goldstein_fn=lambda x, delta: 0.0 if abs(x[0]) <= delta else a,
    )


@register("abs_affine", tags={"convex", "nonsmooth", "diagnostic"})
def abs_affine(n: int = 3, seed: int = 0) -> Objective:
    """``f(x) = |aᵀx + b|`` with seeded ``a ~ N(0, I_n)``, ``b ~ N(0, 1)``.

    Goldstein: 0 if ``|aᵀx + b| ≤ δ‖a‖`` else ``‖a‖``. x0 = **1**, f* = 0 at ``x* = -b a / ‖a‖²``.

    Source: derived here (the δ-ball meets the kink iff ``|aᵀx + b| ≤ δ‖a‖``, and then ``0 ∈ conv{±a}``; checked by
    sampling in ``tests/test_objectives_oracles.py``); a kink along a hyperplane.
    """
    n = _check_dim("abs_affine", n)
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(n)
    b = float(rng.standard_normal())
    na = float(np.linalg.norm(a))
    return Objective(
        name="abs_affine", x0=np.ones(n),
        f=lambda xp, x, d: xp.abs(xp.sum(d["a"] * x) + b),
        g=nan_where_x_nonfinite(lambda xp, x, d: xp.sign(xp.sum(d["a"] * x) + b) * d["a"]),
        data={"a": a}, f_star=0.0, x_star=-b * a / na**2, lipschitz_spec=na, lipschitz_is_exact=True,
        tags={"convex", "nonsmooth", "diagnostic"}, source="derived here (|aᵀx+b|)",
        params=dict(n=n, seed=seed),
        goldstein_fn=lambda x, delta: 0.0 if abs(a @ x + b) <= delta * na else na,
    )


def _norm_goldstein(a):
    def gold(x, delta):
        r = float(np.linalg.norm(x))
        return 0.0 if r <= delta else a * float(np.sqrt(1.0 - (delta / r) ** 2))
    return gold


@register("scaled_norm", tags={"convex", "nonsmooth", "diagnostic"})
def scaled_norm(n: int = 3, a: float = 1.0) -> Objective:
    """``f(x) = a‖x‖₂`` (n ≥ 2).

    Goldstein: 0 if ``‖x‖ ≤ δ`` else ``a·sqrt(1 - δ²/‖x‖²)``: the unit gradients ``y/‖y‖`` over the ball fill a
    spherical cap of half-angle ``arcsin(δ/‖x‖)`` whose hull's min-norm point is the centre of its base disk.
    x0 = **1**, f* = 0 at 0.

    Source: derived here (the spherical-cap argument above); checked by sampling in
    ``tests/test_objectives_oracles.py``.
    """
    n = _check_dim("scaled_norm", n, 2)
    a = float(a)
    if a <= 0:
        raise ValueError(f"scaled_norm: a must be > 0, got {a}")

    def grad(xp, x, d):
        r = xp.sqrt(xp.sum(x * x))
        return a * x / xp.where(r > 0, r, xp.ones_like(r))

    return Objective(
        name="scaled_norm", x0=np.ones(n),
        f=lambda xp, x, d: a * xp.sqrt(xp.sum(x * x)), g=grad,
        f_star=0.0, x_star=np.zeros(n), lipschitz_spec=a, lipschitz_is_exact=True,
        tags={"convex", "nonsmooth", "diagnostic"}, source="derived here (a‖x‖₂)", params=dict(n=n, a=a),
        goldstein_fn=_norm_goldstein(a),
    )


@register("half_sq_norm", tags={"convex", "smooth", "diagnostic"})
def half_sq_norm(n: int = 3) -> Objective:
    """``f(x) = ½‖x‖²``, the smooth control. Goldstein: ``max(0, ‖x‖ - δ)`` (the gradient is the identity map).

    x0 = **1**, f* = 0 at 0. Not globally Lipschitz: ``lipschitz`` is a sampled local estimate.

    Source: derived here (``∂_δ f(x)`` is the ball ``B(x, δ)``); for any L-smooth f,
    ``‖∇f(x)‖ - Lδ ≤ dist(0, ∂_δ f(x))``.
    """
    n = _check_dim("half_sq_norm", n)
    return Objective(
        name="half_sq_norm", x0=np.ones(n),
        f=lambda xp, x, d: 0.5 * xp.sum(x * x), g=lambda xp, x, d: x * 1.0,
        f_star=0.0, x_star=np.zeros(n), lipschitz_spec=sampled_lipschitz(), lipschitz_is_exact=False,
        tags={"convex", "smooth", "diagnostic"}, source="derived here (½‖x‖²)", params=dict(n=n),
        goldstein_fn=lambda x, delta: max(0.0, float(np.linalg.norm(x)) - delta),
    )


def _bounded_max_affine(n, k, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((k, n))
    A -= A.mean(axis=0)          # 0 is the centroid of the a_i: f is bounded below
    b = rng.standard_normal(k)
    # f* by the LP  min t  s.t.  a_iᵀx + b_i ≤ t, then polished on the active set (a vertex: n+1 equations)
    res = linprog(np.r_[np.zeros(n), 1.0], A_ub=np.c_[A, -np.ones(k)], b_ub=-b,
                  bounds=[(None, None)] * (n + 1), method="highs")
    z = res.x
    act = np.argsort(np.abs(A @ z[:n] + b - z[n]))[: n + 1]
    M = np.c_[A[act], -np.ones(n + 1)]
    z = np.linalg.solve(M, -b[act])
    return A, b, z[:n], float(np.max(A @ z[:n] + b))


@register("max_affine", tags={"convex", "nonsmooth", "diagnostic"})
def max_affine(n: int = 2, k: int = 5, seed: int = 0) -> Objective:
    """``f(x) = max_i (a_iᵀx + b_i)`` with k seeded pieces, centred so ``0 ∈ conv{a_i}`` (bounded below).

    Goldstein (exact): the min-norm point of ``conv{a_i : dist(x, P_i) ≤ δ}``, ``P_i`` the region where piece i
    is active; distances by active-set enumeration, hull by NNLS. f* and x* from an LP solved with HiGHS and
    polished on its n+1 active pieces. x0 = **1**. Lipschitz ``max_i ‖a_i‖`` (exact).

    Source: derived here (``max_affine_goldstein`` in ``objectives/minnorm.py``); the hull step is the min-norm QP of
    gradient sampling (Burke, Lewis, Overton, SIAM J. Optim. 2005), solved through the NNLS reduction derived in
    ``objectives/minnorm.py``.
    """
    n = _check_dim("max_affine", n)
    k = _check_dim("max_affine (k)", k, n + 1)
    A, b, xs, fs = _bounded_max_affine(n, k, seed)

    def f(xp, x, d):
        return xp.max(d["A"] @ x + d["b"])

    @nan_where_x_nonfinite  # the maximisers' weights of an infinite piece are finite
    def g(xp, x, d):
        return select_rows(xp, d["A"] @ x + d["b"], d["A"])

    return Objective(
        name="max_affine", x0=np.ones(n), f=f, g=g, data={"A": A, "b": b},
        f_star=fs, x_star=xs, lipschitz_spec=float(np.linalg.norm(A, axis=1).max()), lipschitz_is_exact=True,
        tags={"convex", "nonsmooth", "diagnostic"}, source="derived here (max of affine functions)",
        params=dict(n=n, k=k, seed=seed),
        goldstein_fn=lambda x, delta: max_affine_goldstein(x, delta, A, b),
    )


@register("asl_overton", tags={"convex", "nonsmooth", "diagnostic", "unbounded-below"})
def asl_overton(n: int = 5, a: float = 4.0) -> Objective:
    """Negative control ``f(x) = a|x_1| + Σ_{i≥2} x_i`` (convex, unbounded below: no f*, no x*).

    Goldstein: ``sqrt(n-1)`` if ``|x_1| ≤ δ`` else ``sqrt(a² + n - 1)``: no point is (δ,ε)-stationary for
    ε < sqrt(n-1), so a certifier must never accept one. Gradient descent with Armijo–Wolfe line searches
    converges to a point with x_1 = 0 for large a although f → -∞. x0 = **1**. Lipschitz ``sqrt(a² + n - 1)``.

    Source: A. Asl and M. L. Overton, 'Analysis of the gradient method with an Armijo–Wolfe line search on a
    class of non-smooth convex functions', Optimization Methods and Software 35(2), 2020 (arXiv 1711.08517).
    """
    n = _check_dim("asl_overton", n, 2)
    a = float(a)
    e1 = np.zeros(n)
    e1[0] = 1.0
    ones_tail = 1.0 - e1

    def f(xp, x, d):
        return a * xp.abs(x[0]) + xp.sum(x[1:])

    @nan_where_x_nonfinite  # ∂f/∂x_i = 1 (i ≥ 2) whatever x_i is
    def g(xp, x, d):
        return a * xp.sign(x[0]) * d["e1"] + d["tail"]

    lo, hi = float(np.sqrt(n - 1)), float(np.sqrt(a * a + n - 1))
    return Objective(
        name="asl_overton", x0=np.ones(n), f=f, g=g, data={"e1": e1, "tail": ones_tail},
        f_star=None, x_star=None, lipschitz_spec=hi, lipschitz_is_exact=True,
        tags={"convex", "nonsmooth", "diagnostic", "unbounded-below"},
        source="Asl & Overton, Optim. Methods Softw. 35(2) 2020, arXiv 1711.08517", params=dict(n=n, a=a),
        goldstein_fn=lambda x, delta: lo if abs(x[0]) <= delta else hi,
    )


def _l1_goldstein(x, delta):
    """Exact ``dist(0, ∂_δ ‖·‖₁(x))``.

    ``‖y‖₁ = max_s sᵀy`` over sign vectors s, and ``P_s`` (where s is active) is the orthant of s, at distance
    ``sqrt(Σ_{i: s_i x_i < 0} x_i²)`` from x. So ``∂_δ = conv{s : that distance ≤ δ}`` (equivalently
    ``conv ∪_{‖x_I‖≤δ} {sign x_{I^c}} × [-1,1]^I``), whose min norm is computed by NNLS. Closed forms: ``sqrt(d)``
    when every ``|x_i| > δ``, 0 when ``‖x‖ ≤ δ``; otherwise enumeration (d ≤ 12).
    """
    d = x.size
    ax = np.abs(x)
    if np.all(ax > delta):
        return float(np.sqrt(d))
    if np.linalg.norm(x) <= delta:
        return 0.0
    # only coordinates with |x_i| <= delta can flip; all others keep sign(x_i)
    free = np.flatnonzero(ax <= delta)
    if free.size > 12:
        raise NotImplementedError("l1_norm Goldstein oracle: more than 12 coordinates within delta")
    base = np.where(x >= 0, 1.0, -1.0)   # a zero coordinate may flip at no cost: it is in `free`
    rows = []
    for flips in itertools.product([False, True], repeat=free.size):
        idx = free[list(flips)]
        if np.sum(x[idx] ** 2) <= delta * delta * (1 + 1e-12):
            s = base.copy()
            s[idx] = -s[idx]
            rows.append(s)
    return min_norm_hull(np.array(rows))


@register("l1_norm", tags={"convex", "nonsmooth", "diagnostic"})
def l1_norm(n: int = 4) -> Objective:
    """``f(x) = ‖x‖₁``; x0 = (1, 2, ..., n)/n, f* = 0 at 0, Lipschitz ``sqrt(n)`` (exact).

    Goldstein: exact by enumeration of the sign vectors whose orthant is within δ (see ``_l1_goldstein``); this
    settles the mixed case, which has no simple closed form, numerically (tests compare it with dense sampling).

    Source: derived here (``_l1_goldstein``; checked by dense sampling in ``tests/test_objectives_oracles.py``).
    """
    n = _check_dim("l1_norm", n)
    return Objective(
        name="l1_norm", x0=np.arange(1, n + 1) / n,
        f=lambda xp, x, d: xp.sum(xp.abs(x)), g=nan_where_x_nonfinite(lambda xp, x, d: xp.sign(x)),
        f_star=0.0, x_star=np.zeros(n), lipschitz_spec=float(np.sqrt(n)), lipschitz_is_exact=True,
        tags={"convex", "nonsmooth", "diagnostic"}, source="derived here (‖x‖₁)", params=dict(n=n),
        goldstein_fn=_l1_goldstein,
    )


@register("o2nc_toy", tags={"nonconvex", "nonsmooth", "diagnostic"})
def o2nc_toy(n: int = 20, seed: int = 0) -> Objective:
    """``f(x) = ‖x‖₁ - ½‖Ax‖₁ + 2‖x‖_∞`` with seeded Gaussian A rescaled to max column abs-sum 2.

    With that scaling ``½‖Ax‖₁ ≤ ‖x‖₁`` so ``f ≥ 2‖x‖_∞ ≥ 0``: f* = 0, attained only at 0; the concave middle term
    makes f non-convex. x0 = **1**. Lipschitz bound ``sqrt(n)(1 + ½‖A‖₂) + 2`` (a proven global constant).

    Source: derived here: a toy function chosen for a numerical sanity run of O2NC (the algorithm of Cutkosky,
    Mehta, Orabona, ICML 2023, arXiv 2302.03775); it is not from that paper, and the matrix A is this library's choice.
    """
    n = _check_dim("o2nc_toy", n)
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n))
    A *= 2.0 / np.abs(A).sum(axis=0).max()

    def f(xp, x, d):
        return xp.sum(xp.abs(x)) - 0.5 * xp.sum(xp.abs(d["A"] @ x)) + 2.0 * xp.max(xp.abs(x))

    @nan_where_x_nonfinite  # sign(±inf) = ±1
    def g(xp, x, d):
        w = max_weights(xp, xp.abs(x))
        return xp.sign(x) - 0.5 * (xp.sign(d["A"] @ x) @ d["A"]) + 2.0 * w * xp.sign(x)

    L = float(np.sqrt(n) * (1 + 0.5 * np.linalg.norm(A, 2)) + 2.0)
    return Objective(
        name="o2nc_toy", x0=np.ones(n), f=f, g=g, data={"A": A}, f_star=0.0, x_star=np.zeros(n),
        lipschitz_spec=L, lipschitz_is_exact=True, tags={"nonconvex", "nonsmooth", "diagnostic"},
        source="derived here; toy run of O2NC (Cutkosky, Mehta, Orabona ICML 2023, arXiv 2302.03775)",
        params=dict(n=n, seed=seed),
    )
