"""Lewis–Overton non-convex test functions: Nesterov–Chebyshev–Rosenbrock N1 and N2, the non-smooth Rosenbrock
function and the Lewis function (a Clarke-stationary point that is not a minimiser, f unbounded below).

Sources: M. Gürbüzbalaban and M. L. Overton, 'On Nesterov's nonsmooth Chebyshev–Rosenbrock functions',
Nonlinear Analysis 75, 2012; A. S. Lewis and M. L. Overton, 'Nonsmooth optimization via quasi-Newton methods',
Math. Programming 141, 2013; formulas, x0 and f* as in those papers and the sources named in each docstring.
"""
from __future__ import annotations

import numpy as np

from ._backend import nan_unless, nan_where_x_nonfinite, shift_add
from .base import Objective, sampled_lipschitz
from .registry import register

_GO = "Gürbüzbalaban & Overton, Nonlinear Analysis 75 (2012); Lewis & Overton, Math. Prog. 141 (2013)"


def _n(name, n):
    if int(n) != n or n < 2:
        raise ValueError(f"{name}: n must be an integer >= 2, got {n}")
    return int(n)


def _first(xp, x, value):
    """The vector ``value·e_1`` shaped like x."""
    return xp.concat([xp.reshape(value, (1,)), xp.zeros_like(x[1:])])


def _ncr_x0(n):
    x0 = np.ones(n)
    x0[0] = -1.0
    return x0


@register("nesterov_n1", tags={"nonconvex", "nonsmooth", "nesterov"})
def nesterov_n1(n: int = 5) -> Objective:
    """Nesterov–Chebyshev–Rosenbrock, first non-smooth variant:
    ``¼(x_1 - 1)² + Σ_{i=1}^{n-1} |x_{i+1} - 2x_i² + 1|``.

    x0 = (-1, 1, ..., 1) with f(x0) = 1; f* = 0 at x* = **1**. Its only Clarke-stationary point is the minimiser,
    yet methods crawl along the curved manifold (Gürbüzbalaban–Overton; recalled, UNVERIFIED). Keep n small.
    Source: Gürbüzbalaban & Overton, Nonlinear Analysis 75, 2012.
    """
    n = _n("nesterov_n1", n)

    def f(xp, x, d):
        u, v = x[:-1], x[1:]
        return 0.25 * (x[0] - 1.0) ** 2 + xp.sum(xp.abs(v - 2.0 * u * u + 1.0))

    def g(xp, x, d):
        u, v = x[:-1], x[1:]
        s = xp.sign(v - 2.0 * u * u + 1.0)
        return shift_add(xp, -4.0 * u * s, s) + _first(xp, x, 0.5 * (x[0] - 1.0))

    # sign(±inf) = ±1: the gradient is NaN where x is not finite
    return Objective(name="nesterov_n1", x0=_ncr_x0(n), f=f, g=nan_where_x_nonfinite(g), f_star=0.0,
                     x_star=np.ones(n),
                     lipschitz_spec=sampled_lipschitz(), lipschitz_is_exact=False,
                     tags={"nonconvex", "nonsmooth", "nesterov"}, source=_GO, params=dict(n=n))


@register("nesterov_n2", tags={"nonconvex", "nonsmooth", "nesterov", "demo"})
def nesterov_n2(n: int = 5) -> Objective:
    """Nesterov–Chebyshev–Rosenbrock, second non-smooth variant (the default demo objective):
    ``¼|x_1 - 1| + Σ_{i=1}^{n-1} |x_{i+1} - 2|x_i| + 1|``.

    x0 = (-1, 1, ..., 1) with f(x0) = 0.5; f* = 0 at x* = **1**. It has many Clarke-stationary points that are
    not minimisers (2^{n-1} of them according to Gürbüzbalaban–Overton; recalled, UNVERIFIED), which a
    (δ,ε)-certifier must accept. Globally Lipschitz: every subgradient has entries bounded by
    ``(¼ + 2, 3, ..., 3, 1)``, so ``L = sqrt(2.25² + 9(n-2) + 1)`` (a proven bound).
    Source: Gürbüzbalaban & Overton, Nonlinear Analysis 75, 2012 ('Overton 2011 variant 2').
    """
    n = _n("nesterov_n2", n)

    def f(xp, x, d):
        u, v = x[:-1], x[1:]
        return 0.25 * xp.abs(x[0] - 1.0) + xp.sum(xp.abs(v - 2.0 * xp.abs(u) + 1.0))

    def g(xp, x, d):
        u, v = x[:-1], x[1:]
        s = xp.sign(v - 2.0 * xp.abs(u) + 1.0)
        return shift_add(xp, -2.0 * xp.sign(u) * s, s) + _first(xp, x, 0.25 * xp.sign(x[0] - 1.0))

    L = float(np.sqrt(2.25**2 + 9.0 * (n - 2) + 1.0))
    return Objective(name="nesterov_n2", x0=_ncr_x0(n), f=f, g=nan_where_x_nonfinite(g), f_star=0.0,
                     x_star=np.ones(n),
                     lipschitz_spec=L, lipschitz_is_exact=True, tags={"nonconvex", "nonsmooth", "nesterov", "demo"},
                     source=_GO, params=dict(n=n))


@register("nonsmooth_rosenbrock", tags={"nonconvex", "nonsmooth", "nesterov"})
def nonsmooth_rosenbrock(w: float = 8.0) -> Objective:
    """Non-smooth Rosenbrock ``w|x_1² - x_2| + (1 - x_1)²`` (w = 8), unconstrained; f* = 0 at (1, 1).

    x0 = (-1.2, 1) (the smooth Rosenbrock start; this library's choice). A kink along a parabola, easy to plot.
    Source: Lewis & Overton, Math. Prog. 141 (2013); the GRANSO/PyGRANSO example (without its constraints).
    """
    w = float(w)

    def f(xp, x, d):
        return w * xp.abs(x[0] ** 2 - x[1]) + (1.0 - x[0]) ** 2

    def g(xp, x, d):
        s = xp.sign(x[0] ** 2 - x[1])
        return xp.stack([2.0 * w * s * x[0] - 2.0 * (1.0 - x[0]), -w * s])

    return Objective(name="nonsmooth_rosenbrock", x0=[-1.2, 1.0], f=f, g=nan_where_x_nonfinite(g), f_star=0.0,
                     x_star=[1.0, 1.0],
                     lipschitz_spec=sampled_lipschitz(), tags={"nonconvex", "nonsmooth", "nesterov"},
                     source="Lewis & Overton, Math. Prog. 141 (2013); PyGRANSO example A1", params=dict(w=w))


@register("lewis", tags={"nonconvex", "nonsmooth", "unbounded-below"})
def lewis() -> Objective:
    """Lewis function, continuous piecewise quadratic in 2-D, with (u, v) = (x_1, x_2):
    ``u² - v`` (v ≤ 0); ``u² + v`` (0 < v < u²); ``3u² - v`` (u² ≤ v ≤ 4u²); ``-5u² + v`` (v > 4u²).

    Unbounded below (``f(t, 4t²) = -t²``): no f*. The origin is Clarke-stationary but not a minimiser.
    x0 = (1, 2) (this library's choice).
    Source: SMS++ LukFiBlock (``SMSpp-Project/LukFiBlock``, problem 26), after A. S. Lewis.
    """
    def parts(xp, x):
        u, v = x[0], x[1]
        uu = u * u
        r1, r2, r3 = v <= 0, (v > 0) & (v < uu), (v >= uu) & (v <= 4.0 * uu)
        val = xp.where(r1, uu - v, xp.where(r2, uu + v, xp.where(r3, 3.0 * uu - v, -5.0 * uu + v)))
        gu = xp.where(r1, 2.0 * u, xp.where(r2, 2.0 * u, xp.where(r3, 6.0 * u, -10.0 * u)))
        gv = xp.where(r1, -1.0 + 0 * u, xp.where(r2, 1.0 + 0 * u, xp.where(r3, -1.0 + 0 * u, 1.0 + 0 * u)))
        # a NaN v fails every region test and would select the last piece's finite gradient: NaN where x is not finite
        return val, nan_unless(xp, xp.isfinite(x), xp.stack([gu, gv]))

    return Objective(name="lewis", x0=[1.0, 2.0], f=lambda xp, x, d: parts(xp, x)[0],
                     g=lambda xp, x, d: parts(xp, x)[1], f_star=None, x_star=None,
                     lipschitz_spec=sampled_lipschitz(), tags={"nonconvex", "nonsmooth", "unbounded-below"},
                     source="SMSpp-Project/LukFiBlock include/LukFiBlock.h problem 26 (Lewis)")


@register("max_eigenvalue", tags={"convex", "nonsmooth"})
def max_eigenvalue(n: int = 5, m: int = 10, seed: int = 0) -> Objective:
    """Largest eigenvalue of an affine symmetric family ``λ_max(A_0 + Σ_i x_i A_i)``, m×m, seeded GOE data.

    Convex, non-smooth where the top eigenvalue is multiple; gradient ``(uᵀA_i u)_i`` for a unit top
    eigenvector u. x0 = 0; f* unknown (an SDP). Lipschitz ``sqrt(Σ_i ‖A_i‖₂²)`` (proven, Weyl's inequality).
    Source: M. L. Overton, 'Large-scale optimization of eigenvalues', SIAM J. Optim. 2 (1992).
    """
    if n < 1 or m < 2:
        raise ValueError(f"max_eigenvalue: need n >= 1 and m >= 2, got n={n}, m={m}")
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((n + 1, m, m)) / np.sqrt(2 * m)
    As = G + np.transpose(G, (0, 2, 1))

    def parts(xp, x, d):
        M = d["A0"] + xp.tensordot(x, d["As"], axes=1)
        # the eigensolvers of numpy and torch raise on a NaN or ±inf entry: a non-finite M is replaced by 0 for the
        # solve (M itself is solved at a finite point, so the result is unchanged there) and gives NaN
        ok = xp.all(xp.isfinite(M))
        w, V = xp.linalg.eigh(xp.where(ok, M, 0.0))
        u = V[:, -1]
        return nan_unless(xp, ok, w[-1]), nan_unless(xp, ok, (d["As"] @ u) @ u)

    L = float(np.sqrt(sum(np.linalg.norm(A, 2) ** 2 for A in As[1:])))
    return Objective(name="max_eigenvalue", x0=np.zeros(n), f=lambda xp, x, d: parts(xp, x, d)[0],
                     g=lambda xp, x, d: parts(xp, x, d)[1], data={"A0": As[0], "As": As[1:]},
                     lipschitz_spec=L, lipschitz_is_exact=True, tags={"convex", "nonsmooth"},
                     source="Overton, SIAM J. Optim. 2 (1992)", params=dict(n=n, m=m, seed=seed))
