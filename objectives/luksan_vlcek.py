"""Lukšan–Vlček small non-smooth test problems (TEST19 selection) and Hald–Madsen from TEST06.

Source: L. Lukšan and J. Vlček, 'Test problems for nonsmooth unconstrained and linearly constrained optimization',
Technical report V-798, ICS AS CR, Prague, 2000 (Fortran TEST19/TEST06; f2c translation in ``blorgon9000/pyopus``
``src/lvns/lvuns.c`` routines ``tiud19``/``tffu19``/``tfgu19``). Formulas, x0 and f* as tabulated in that
report and its Fortran code. Where the tabulated x* is rounded, x* here was re-solved to full precision
(SLSQP on the epigraph/constrained form, then checked against the tabulated f*; see each docstring).
"""
from __future__ import annotations

import numpy as np

from ._backend import max_weights, nan_where_x_nonfinite, select_rows
from .base import Objective, sampled_lipschitz
from .registry import register

SRC = "Lukšan & Vlček, Tech. report V-798, ICS AS CR 2000 (TEST19; pyopus src/lvns/lvuns.c tiud19/tffu19)"
TAGS = "luksan-vlcek"


def _make(name, x0, f, g, *, f_star, x_star, tags, data=None, lipschitz=None, exact=False, source=SRC,
          notes="", params=None):
    """The entry's Objective; its gradient is NaN in the coordinates where x is NaN or ±inf (a branch test, a sign or
    the maximisers' weights would otherwise turn them into a finite answer, e.g. in wolfe, goffin, maxl, mxhilb)."""
    return Objective(
        name=name, x0=np.asarray(x0, dtype=float), f=f, g=nan_where_x_nonfinite(g), data=data or {}, f_star=f_star,
        x_star=x_star,
        lipschitz_spec=lipschitz if lipschitz is not None else sampled_lipschitz(), lipschitz_is_exact=exact,
        tags=set(tags) | {TAGS}, source=source, notes=notes, params=params or {},
    )


def _maxg(xp, vals, grads):
    """Value and Clarke subgradient of ``max`` of smooth pieces given as lists of 0-d values and gradients."""
    v = xp.stack(vals)
    return xp.max(v), select_rows(xp, v, xp.stack(grads))


def _vec(xp, *comps):
    return xp.stack(list(comps))


# ------------------------------------------------------------------------------------------- 2-D problems
@register("rosenbrock", tags={"nonconvex", "smooth", TAGS})
def rosenbrock() -> Objective:
    """Rosenbrock ``100(x2 - x1²)² + (1 - x1)²``; x0 = (-1.2, 1), f* = 0 at (1, 1). Smooth baseline.

    Source: Lukšan–Vlček TEST19 problem 1 (report V-798, 2000).
    """
    def f(xp, x, d):
        return 100.0 * (x[1] - x[0] ** 2) ** 2 + (1.0 - x[0]) ** 2

    def g(xp, x, d):
        t = x[1] - x[0] ** 2
        return _vec(xp, -400.0 * x[0] * t - 2.0 * (1.0 - x[0]), 200.0 * t)

    return _make("rosenbrock", [-1.2, 1.0], f, g, f_star=0.0, x_star=[1.0, 1.0], tags={"nonconvex", "smooth"})


@register("crescent", tags={"nonconvex", "nonsmooth", TAGS})
def crescent() -> Objective:
    """Crescent ``max{x1² + (x2-1)² + x2 - 1, -x1² - (x2-1)² + x2 + 1} = x2 + |x1² + (x2-1)² - 1|``.

    x0 = (-1.5, 2), f* = 0 at (0, 0); kink along a circle. Source: Lukšan–Vlček TEST19 problem 2.
    """
    def f(xp, x, d):
        return x[1] + xp.abs(x[0] ** 2 + (x[1] - 1.0) ** 2 - 1.0)

    def g(xp, x, d):
        s = xp.sign(x[0] ** 2 + (x[1] - 1.0) ** 2 - 1.0)
        return _vec(xp, 2.0 * s * x[0], 2.0 * s * (x[1] - 1.0) + 1.0)

    return _make("crescent", [-1.5, 2.0], f, g, f_star=0.0, x_star=[0.0, 0.0], tags={"nonconvex", "nonsmooth"})


def _cb(name, p4_first, x0, f_star, x_star, notes=""):
    def pieces(xp, x):
        u, v = x[0], x[1]
        if p4_first:   # CB3: x1⁴ + x2²
            f1, g1 = u ** 4 + v ** 2, _vec(xp, 4.0 * u ** 3, 2.0 * v)
        else:          # CB2: x1² + x2⁴
            f1, g1 = u ** 2 + v ** 4, _vec(xp, 2.0 * u, 4.0 * v ** 3)
        f2, g2 = (2.0 - u) ** 2 + (2.0 - v) ** 2, _vec(xp, -2.0 * (2.0 - u), -2.0 * (2.0 - v))
        f3 = 2.0 * xp.exp(v - u)
        return _maxg(xp, [f1, f2, f3], [g1, g2, _vec(xp, -f3, f3)])

    return _make(name, x0, lambda xp, x, d: pieces(xp, x)[0], lambda xp, x, d: pieces(xp, x)[1],
                 f_star=f_star, x_star=x_star, tags={"convex", "nonsmooth"}, notes=notes)


@register("cb2", tags={"convex", "nonsmooth", TAGS})
def cb2() -> Objective:
    """Charalambous–Bandler CB2 ``max{x1² + x2⁴, (2-x1)² + (2-x2)², 2e^{x2-x1}}``; x0 = (1, -0.1).

    f* = 1.9522245 (tabulated). x* re-solved (SLSQP, epigraph form): the tabulated (1.139286, 0.899365) is
    rounded. Source: Lukšan–Vlček TEST19 problem 3; Charalambous & Bandler (1976).
    """
    return _cb("cb2", False, [1.0, -0.1], 1.9522245,
               [1.1390376551979795, 0.8995599358876201])


@register("cb3", tags={"convex", "nonsmooth", TAGS})
def cb3() -> Objective:
    """Charalambous–Bandler CB3 ``max{x1⁴ + x2², (2-x1)² + (2-x2)², 2e^{x2-x1}}``; x0 = (2, 2), f* = 2 at (1, 1).

    All three pieces are active at the optimum. Source: Lukšan–Vlček TEST19 problem 4.
    """
    return _cb("cb3", True, [2.0, 2.0], 2.0, [1.0, 1.0])


@register("dem", tags={"convex", "nonsmooth", TAGS})
def dem() -> Objective:
    """Demyanov–Malozemov ``max{5x1 + x2, -5x1 + x2, x1² + x2² + 4x2}``; x0 = (1, 1), f* = -3 at (0, -3).

    Source: Lukšan–Vlček TEST19 problem 5.
    """
    def pieces(xp, x):
        u, v = x[0], x[1]
        one = xp.ones_like(u)
        return _maxg(xp, [5.0 * u + v, -5.0 * u + v, u * u + v * v + 4.0 * v],
                     [_vec(xp, 5.0 * one, one), _vec(xp, -5.0 * one, one), _vec(xp, 2.0 * u, 2.0 * v + 4.0)])

    return _make("dem", [1.0, 1.0], lambda xp, x, d: pieces(xp, x)[0], lambda xp, x, d: pieces(xp, x)[1],
                 f_star=-3.0, x_star=[0.0, -3.0], tags={"convex", "nonsmooth"})


@register("ql", tags={"convex", "nonsmooth", TAGS})
def ql() -> Objective:
    """QL: with ``f1 = x1² + x2²``, ``max{f1, f1 + 10(-4x1 - x2 + 4), f1 + 10(-x1 - 2x2 + 6)}``.

    x0 = (-1, 5), f* = 7.2 at (1.2, 2.4). Source: Lukšan–Vlček TEST19 problem 6.
    """
    def pieces(xp, x):
        u, v = x[0], x[1]
        f1, g1 = u * u + v * v, _vec(xp, 2.0 * u, 2.0 * v)
        return _maxg(xp, [f1, f1 + 10.0 * (-4.0 * u - v + 4.0), f1 + 10.0 * (-u - 2.0 * v + 6.0)],
                     [g1, g1 + _vec(xp, -40.0 + 0 * u, -10.0 + 0 * u), g1 + _vec(xp, -10.0 + 0 * u, -20.0 + 0 * u)])

    return _make("ql", [-1.0, 5.0], lambda xp, x, d: pieces(xp, x)[0], lambda xp, x, d: pieces(xp, x)[1],
                 f_star=7.2, x_star=[1.2, 2.4], tags={"convex", "nonsmooth"})


@register("lq", tags={"convex", "nonsmooth", TAGS})
def lq() -> Objective:
    """LQ ``max{-x1 - x2, -x1 - x2 + (x1² + x2² - 1)}``; x0 = (-½, -½), f* = -√2 at (1/√2, 1/√2).

    Source: Lukšan–Vlček TEST19 problem 7.
    """
    def pieces(xp, x):
        u, v = x[0], x[1]
        f1 = -u - v
        return _maxg(xp, [f1, f1 + u * u + v * v - 1.0],
                     [_vec(xp, -1.0 + 0 * u, -1.0 + 0 * u), _vec(xp, 2.0 * u - 1.0, 2.0 * v - 1.0)])

    r = 1.0 / np.sqrt(2.0)
    return _make("lq", [-0.5, -0.5], lambda xp, x, d: pieces(xp, x)[0], lambda xp, x, d: pieces(xp, x)[1],
                 f_star=-float(np.sqrt(2.0)), x_star=[r, r], tags={"convex", "nonsmooth"})


@register("mifflin1", tags={"convex", "nonsmooth", TAGS})
def mifflin1() -> Objective:
    """Mifflin 1 ``-x1 + 20 max{x1² + x2² - 1, 0}``; x0 = (0.8, 0.6), f* = -1 at (1, 0).

    Source: Lukšan–Vlček TEST19 problem 8.
    """
    def f(xp, x, d):
        return -x[0] + 20.0 * xp.maximum(x[0] ** 2 + x[1] ** 2 - 1.0, xp.zeros_like(x[0]))

    def g(xp, x, d):
        on = xp.astype(x[0] ** 2 + x[1] ** 2 - 1.0 > 0, x.dtype)
        return _vec(xp, -1.0 + 40.0 * on * x[0], 40.0 * on * x[1])

    return _make("mifflin1", [0.8, 0.6], f, g, f_star=-1.0, x_star=[1.0, 0.0], tags={"convex", "nonsmooth"})


@register("mifflin2", tags={"nonconvex", "nonsmooth", TAGS})
def mifflin2() -> Objective:
    """Mifflin 2 ``-x1 + 2(x1² + x2² - 1) + 1.75|x1² + x2² - 1|``; x0 = (-1, -1), f* = -1 at (1, 0).

    Source: Lukšan–Vlček TEST19 problem 9.
    """
    def f(xp, x, d):
        t = x[0] ** 2 + x[1] ** 2 - 1.0
        return -x[0] + 2.0 * t + 1.75 * xp.abs(t)

    def g(xp, x, d):
        c = 2.0 + 1.75 * xp.sign(x[0] ** 2 + x[1] ** 2 - 1.0)
        return _vec(xp, -1.0 + 2.0 * c * x[0], 2.0 * c * x[1])

    return _make("mifflin2", [-1.0, -1.0], f, g, f_star=-1.0, x_star=[1.0, 0.0],
                 tags={"nonconvex", "nonsmooth"})


@register("wolfe", tags={"convex", "nonsmooth", TAGS})
def wolfe() -> Objective:
    """Wolfe: ``5 sqrt(9x1² + 16x2²)`` if ``x1 > |x2|``; ``9x1 + 16|x2|`` if ``0 < x1 ≤ |x2|``;
    ``9x1 + 16|x2| - x1⁹`` if ``x1 ≤ 0``. x0 = (3, 2), f* = -8 at (-1, 0).

    Source: Lukšan–Vlček TEST19 problem 10; P. Wolfe (1975).
    """
    def parts(xp, x):
        u, v = x[0], x[1]
        a = u > xp.abs(v)
        r = xp.sqrt(9.0 * u * u + 16.0 * v * v)
        r_safe = xp.where(a, r, xp.ones_like(r))
        lin = 9.0 * u + 16.0 * xp.abs(v) - xp.where(u <= 0, u ** 9, xp.zeros_like(u))
        val = xp.where(a, 5.0 * r, lin)
        gu = xp.where(a, 45.0 * u / r_safe, 9.0 - xp.where(u < 0, 9.0 * u ** 8, xp.zeros_like(u)))
        gv = xp.where(a, 80.0 * v / r_safe, 16.0 * xp.sign(v))
        return val, _vec(xp, gu, gv)  # a NaN u would select the constant 9 and 16·sign(v): _make guards it

    return _make("wolfe", [3.0, 2.0], lambda xp, x, d: parts(xp, x)[0], lambda xp, x, d: parts(xp, x)[1],
                 f_star=-8.0, x_star=[-1.0, 0.0], tags={"convex", "nonsmooth"})


# ------------------------------------------------------------------------------------------- n = 4 .. 15
@register("rosen_suzuki", tags={"convex", "nonsmooth", TAGS})
def rosen_suzuki() -> Objective:
    """Rosen–Suzuki exact penalty ``f1 + 10 max{0, f2, f3, f4}`` (Hock–Schittkowski 43), n = 4, x0 = 0.

    With ``F = x1² + x2² + x3²``: ``f1 = F + x3² + x4² - 5(x1 + x2) - 21x3 + 7x4``,
    ``f2 = F + x4² + x1 - x2 + x3 - x4 - 8``, ``f3 = F + x2² + 2x4² - x1 - x4 - 10``,
    ``f4 = F + 2x1 - x2 - x4 - 5`` (the TEST19 form; HS43 writes 2x1² in f4, same f* and KKT data).
    f* = -44 at (0, 1, 2, -1). Source: Lukšan–Vlček TEST19 problem 11.
    """
    def parts(xp, x):
        x1, x2, x3, x4 = x[0], x[1], x[2], x[3]
        F = x1 * x1 + x2 * x2 + x3 * x3
        f1 = F + x3 * x3 + x4 * x4 - 5.0 * (x1 + x2) - 21.0 * x3 + 7.0 * x4
        g1 = _vec(xp, 2 * x1 - 5.0, 2 * x2 - 5.0, 4 * x3 - 21.0, 2 * x4 + 7.0)
        f2 = F + x4 * x4 + x1 - x2 + x3 - x4 - 8.0
        g2 = _vec(xp, 2 * x1 + 1.0, 2 * x2 - 1.0, 2 * x3 + 1.0, 2 * x4 - 1.0)
        f3 = F + x2 * x2 + 2 * x4 * x4 - x1 - x4 - 10.0
        g3 = _vec(xp, 2 * x1 - 1.0, 4 * x2, 2 * x3, 4 * x4 - 1.0)
        f4 = F + 2 * x1 - x2 - x4 - 5.0
        g4 = _vec(xp, 2 * x1 + 2.0, 2 * x2 - 1.0, 2 * x3, -1.0 + 0 * x4)
        pen, gp = _maxg(xp, [xp.zeros_like(f1), f2, f3, f4], [xp.zeros_like(g1), g2, g3, g4])
        return f1 + 10.0 * pen, g1 + 10.0 * gp

    return _make("rosen_suzuki", np.zeros(4), lambda xp, x, d: parts(xp, x)[0],
                 lambda xp, x, d: parts(xp, x)[1], f_star=-44.0, x_star=[0.0, 1.0, 2.0, -1.0],
                 tags={"convex", "nonsmooth"})


_SHOR_A = np.array([[0, 0, 0, 0, 0], [2, 1, 1, 1, 3], [1, 2, 1, 1, 2], [1, 4, 1, 2, 2], [3, 2, 1, 0, 1],
                    [0, 2, 1, 0, 1], [1, 1, 1, 1, 1], [1, 0, 1, 2, 1], [0, 0, 2, 1, 0], [1, 1, 2, 0, 0]], float)
_SHOR_B = np.array([1, 5, 10, 2, 4, 3, 1.7, 2.5, 6, 3.5])


@register("shor", tags={"convex", "nonsmooth", TAGS})
def shor() -> Objective:
    """Shor ``max_{i≤10} b_i Σ_j (x_j - a_ij)²``, n = 5, x0 = (0, 0, 0, 0, 1), f* = 22.600162.

    x* re-solved (SLSQP, epigraph form; the tabulated x* is rounded and gave f(x*) - f* = +6e-4).
    Source: Lukšan–Vlček TEST19 problem 12; N. Z. Shor (1985).
    """
    def parts(xp, x, d):
        diff = x - d["A"]                       # (10, 5)
        vals = d["b"] * xp.sum(diff * diff, axis=1)
        return xp.max(vals), select_rows(xp, vals, 2.0 * d["b"][:, None] * diff)

    return _make("shor", [0, 0, 0, 0, 1.0], lambda xp, x, d: parts(xp, x, d)[0],
                 lambda xp, x, d: parts(xp, x, d)[1], data={"A": _SHOR_A, "b": _SHOR_B}, f_star=22.600162,
                 x_star=[1.1243510085882351, 0.9794615988092812, 1.4777077462456287, 0.9202334851271016,
                         1.1242915873323434],
                 tags={"convex", "nonsmooth"})


_COL_A = np.array([[-16, 2, 0, 1, 0], [0, -2, 0, 4, 2], [-3.5, 0, 2, 0, 0], [0, -2, 0, -4, -1],
                   [0, -9, -2, 1, -2.8], [2, 0, -4, 0, 0], [-1, -1, -1, -1, -1], [-1, -2, -3, -2, -1],
                   [1, 2, 3, 4, 5], [1, 1, 1, 1, 1]])
_COL_B = np.array([-40, -2, -0.25, -4, -4, -1, -40, -60, 5, 1])
_COL_C = np.array([[30, -20, -10, 32, -10], [-20, 39, -6, -31, 32], [-10, -6, 10, -6, -10],
                   [32, -31, -6, 39, -20], [-10, 32, -10, -20, 30]], float)
_COL_D = np.array([4, 8, 10, 6, 2], float)
_COL_E = np.array([-15, -27, -36, -18, -12], float)
_COL_DATA = {"A": _COL_A, "b": _COL_B, "C": _COL_C, "dd": _COL_D, "e": _COL_E}


@register("colville1", tags={"nonconvex", "nonsmooth", TAGS})
def colville1() -> Objective:
    """Colville 1 ``50 max{0, max_i(b_i - a_iᵀx)} + Σ_j (d_j x_j³ + e_j x_j) + xᵀCx``, n = 5.

    x0 = (0, 0, 0, 0, 1) with f(x0) = 20; f* = -32.348679. x* re-solved (SLSQP on the constrained form
    ``Ax ≥ b``; the tabulated x* ≈ (0.3, 0.3335, 0.4, 0.4283, 0.224) is rounded, f(x*) - f* = +2e-2).
    Source: Lukšan–Vlček TEST19 problem 13 (data from the column-major layout of test19.for).
    """
    def parts(xp, x, d):
        t = d["b"] - d["A"] @ x
        zero = xp.zeros_like(t[:1])
        pen, gp = _maxg_vec(xp, xp.concat([zero, t]), xp.concat([xp.zeros_like(d["A"][:1]), -d["A"]]))
        Cx = d["C"] @ x
        val = 50.0 * pen + xp.sum(d["dd"] * x ** 3 + d["e"] * x) + xp.sum(x * Cx)
        return val, 50.0 * gp + 3.0 * d["dd"] * x * x + d["e"] + 2.0 * Cx

    return _make("colville1", [0, 0, 0, 0, 1.0], lambda xp, x, d: parts(xp, x, d)[0],
                 lambda xp, x, d: parts(xp, x, d)[1], data=_COL_DATA, f_star=-32.348679,
                 x_star=[0.2999999999997882, 0.3334676204987013, 0.40000000000205477, 0.42831013874035007,
                         0.2239648408090185],
                 tags={"nonconvex", "nonsmooth"})


def _maxg_vec(xp, vals, rows):
    return xp.max(vals), select_rows(xp, vals, rows)


@register("hs78", tags={"nonconvex", "nonsmooth", TAGS})
def hs78() -> Objective:
    """HS78 exact penalty ``x1x2x3x4x5 + 10(|Σx_i² - 10| + |x2x3 - 5x4x5| + |x1³ + x2³ + 1|)``, n = 5.

    x0 = (-2, 1.5, 2, -1, -1), f* = -2.9197004. x* re-solved (SLSQP on Hock–Schittkowski problem 78; the
    tabulated x* is rounded, f(x*) - f* = +1e-5). Source: Lukšan–Vlček TEST19 problem 14.
    """
    def parts(xp, x):
        x1, x2, x3, x4, x5 = x[0], x[1], x[2], x[3], x[4]
        prod = x1 * x2 * x3 * x4 * x5
        gprod = _vec(xp, x2 * x3 * x4 * x5, x1 * x3 * x4 * x5, x1 * x2 * x4 * x5, x1 * x2 * x3 * x5,
                     x1 * x2 * x3 * x4)
        c1 = xp.sum(x * x) - 10.0
        c2 = x2 * x3 - 5.0 * x4 * x5
        c3 = x1 ** 3 + x2 ** 3 + 1.0
        z = xp.zeros_like(x1)
        val = prod + 10.0 * (xp.abs(c1) + xp.abs(c2) + xp.abs(c3))
        grad = gprod + 10.0 * (xp.sign(c1) * 2.0 * x + xp.sign(c2) * _vec(xp, z, x3, x2, -5.0 * x5, -5.0 * x4)
                               + xp.sign(c3) * _vec(xp, 3.0 * x1 * x1, 3.0 * x2 * x2, z, z, z))
        return val, grad

    return _make("hs78", [-2.0, 1.5, 2.0, -1.0, -1.0], lambda xp, x, d: parts(xp, x)[0],
                 lambda xp, x, d: parts(xp, x)[1], f_star=-2.9197004,
                 x_star=[-1.7171435655920109, 1.595709684622448, 1.827245761850361, -0.7636430833076261,
                         -0.7636430741284831],
                 tags={"nonconvex", "nonsmooth"})


def _maxquad_data(n=10):
    A = np.zeros((5, n, n))
    B = np.zeros((5, n))
    i = np.arange(1, n + 1, dtype=float)
    for k in range(1, 6):
        M = np.exp(i[:, None] / i[None, :]) * np.cos(i[:, None] * i[None, :]) * np.sin(k)
        M = np.triu(M, 1)
        M = M + M.T
        M[np.diag_indices(n)] = i / n * abs(np.sin(k)) + np.abs(M).sum(axis=1)
        A[k - 1] = M
        B[k - 1] = np.exp(i / k) * np.sin(i * k)
    return A, B


@register("maxquad", tags={"convex", "nonsmooth", TAGS})
def maxquad() -> Objective:
    """Maxquad ``max_{k≤5} (xᵀA_k x - b_kᵀx)``, n = 10, x0 = 0, f* = -0.8414083.

    ``A_k(i,j) = e^{i/j} cos(ij) sin(k)`` (i < j, symmetric), ``A_k(i,i) = (i/n)|sin k| + Σ_{j≠i}|A_k(i,j)|``,
    ``b_k(i) = e^{i/k} sin(ik)``. x* re-solved (SLSQP, epigraph form; tabulated x* is rounded to 4 digits).
    Source: Lukšan–Vlček TEST19 problem 16; C. Lemaréchal & R. Mifflin (1978).
    """
    A, B = _maxquad_data()

    def parts(xp, x, d):
        Ax = d["A"] @ x                       # (5, n)
        vals = xp.sum(Ax * x, axis=1) - d["B"] @ x
        return xp.max(vals), select_rows(xp, vals, 2.0 * Ax - d["B"])

    return _make("maxquad", np.zeros(10), lambda xp, x, d: parts(xp, x, d)[0],
                 lambda xp, x, d: parts(xp, x, d)[1], data={"A": A, "B": B}, f_star=-0.8414083,
                 x_star=_MAXQUAD_XSTAR, tags={"convex", "nonsmooth"})


_MAXQUAD_XSTAR = [-0.12625658717376814, -0.03437831212687693, -0.00685720442699012, 0.02636065376731377,
                  0.06729491415411266, -0.2783995059127321, 0.07421865834630001, 0.13852404173196137,
                  0.08403121767670294, 0.03858030713182806]


def _maxq_x0(n):
    i = np.arange(1, n + 1, dtype=float)
    return np.where(i <= n // 2, i, -i)


@register("maxq", tags={"convex", "nonsmooth", TAGS})
def maxq() -> Objective:
    """Maxq ``max_i x_i²``, n = 20, x0: ``x_i = i`` (i ≤ 10), ``x_{10+i} = -(10+i)``; f* = 0 at 0.

    Source: Lukšan–Vlček TEST19 problem 19.
    """
    def f(xp, x, d):
        return xp.max(x * x)

    def g(xp, x, d):
        return select_rows_diag(xp, x * x, 2.0 * x)

    return _make("maxq", _maxq_x0(20), f, g, f_star=0.0, x_star=np.zeros(20), tags={"convex", "nonsmooth"})


def select_rows_diag(xp, vals, diag):
    """Clarke subgradient of ``max_i h_i(x_i)``: ``diag`` (h_i'(x_i)) averaged over the maximising coordinates."""
    return max_weights(xp, vals) * diag


@register("maxl", tags={"convex", "nonsmooth", TAGS})
def maxl() -> Objective:
    """Maxl ``max_i |x_i|``, n = 20, x0 as Maxq; f* = 0 at 0; Lipschitz 1 (exact). Source: Lukšan–Vlček TEST19
    problem 20.
    """
    return _make("maxl", _maxq_x0(20), lambda xp, x, d: xp.max(xp.abs(x)),
                 lambda xp, x, d: select_rows_diag(xp, xp.abs(x), xp.sign(x)), f_star=0.0, x_star=np.zeros(20),
                 tags={"convex", "nonsmooth"}, lipschitz=1.0, exact=True)


@register("goffin", tags={"convex", "nonsmooth", TAGS})
def goffin() -> Objective:
    """Goffin ``50 max_i x_i - Σ_i x_i``, n = 50, x0 = i - 25.5; f* = 0 on the line c·**1** (x* = 0 given).

    Lipschitz ``sqrt(49² + 49)`` (exact). Source: Lukšan–Vlček TEST19 problem 22; J.-L. Goffin (1977).
    """
    def f(xp, x, d):
        return 50.0 * xp.max(x) - xp.sum(x)

    def g(xp, x, d):
        return 50.0 * select_rows_diag(xp, x, xp.ones_like(x)) - 1.0

    return _make("goffin", np.arange(1, 51) - 25.5, f, g, f_star=0.0, x_star=np.zeros(50),
                 tags={"convex", "nonsmooth"}, lipschitz=float(np.sqrt(49.0**2 + 49.0)), exact=True)


def _hilbert(n):
    i = np.arange(1, n + 1, dtype=float)
    return 1.0 / (i[:, None] + i[None, :] - 1.0)


@register("mxhilb", tags={"convex", "nonsmooth", TAGS})
def mxhilb(n: int = 50) -> Objective:
    """MXHILB ``max_i |Σ_j x_j/(i+j-1)|`` (Hilbert matrix H), n = 50 (or 30), x0 = **1**, f* = 0 at 0.

    Lipschitz ``max_i ‖H_i‖`` (exact). Source: Lukšan–Vlček TEST19 problem 23.
    """
    if n not in (30, 50):
        raise ValueError(f"mxhilb: n must be 30 or 50 (TEST19), got {n}; use gen_mxhilb for other n")
    H = _hilbert(n)

    def g(xp, x, d):
        h = d["H"] @ x
        ah = xp.abs(h)
        return (max_weights(xp, ah) * xp.sign(h)) @ d["H"]

    return _make("mxhilb", np.ones(n), lambda xp, x, d: xp.max(xp.abs(d["H"] @ x)), g, data={"H": H},
                 f_star=0.0, x_star=np.zeros(n), tags={"convex", "nonsmooth"},
                 lipschitz=float(np.linalg.norm(H, axis=1).max()), exact=True, params=dict(n=n))


@register("l1hilb", tags={"convex", "nonsmooth", TAGS})
def l1hilb(n: int = 50) -> Objective:
    """L1HILB ``Σ_i |Σ_j x_j/(i+j-1)|``, n = 50 (or 30), x0 = **1**, f* = 0 at 0.

    Lipschitz bound ``sqrt(n)‖H‖₂`` (proven, not tight). Source: Lukšan–Vlček TEST19 problem 24.
    """
    if n not in (30, 50):
        raise ValueError(f"l1hilb: n must be 30 or 50 (TEST19), got {n}")
    H = _hilbert(n)
    return _make("l1hilb", np.ones(n), lambda xp, x, d: xp.sum(xp.abs(d["H"] @ x)),
                 lambda xp, x, d: xp.sign(d["H"] @ x) @ d["H"], data={"H": H}, f_star=0.0, x_star=np.zeros(n),
                 tags={"convex", "nonsmooth"}, lipschitz=float(np.sqrt(n) * np.linalg.norm(H, 2)), exact=True,
                 params=dict(n=n))


@register("shell_dual", tags={"nonconvex", "nonsmooth", TAGS})
def shell_dual() -> Objective:
    """Shell Dual: the dual of Colville 1 with exact penalties, n = 15, ``x = (u, y)`` with u ∈ R⁵, y ∈ R¹⁰:

    ``|2 Σ_j d_j u_j³| + uᵀCu - bᵀy + 100 Σ_j max{0, -3d_j u_j² - e_j - 2(Cu)_j + (Aᵀy)_j}
    + 100 Σ_i max{0, -x_i}`` with the Colville 1 data (A, b, C, d, e). x0 = 1e-4·**1** with x_12 = 60.
    f* = 32.348679 (tabulated). The formula is transcribed from TEST19 (tffu19, label L250) and is
    verified here numerically: SLSQP on the smooth constrained form (u, y ≥ 0,
    penalised constraints as inequalities) reaches 32.3486790 at the x* below, which equals the tabulated f*
    (the Colville 1 optimum with opposite sign, as duality predicts).
    Source: Lukšan–Vlček TEST19 problem 25 (pyopus src/lvns/lvuns.c tffu19 L250); Colville (1968).
    """
    A, b, C, dd, e = (_COL_DATA[k] for k in ("A", "b", "C", "dd", "e"))

    def parts(xp, x, d):
        u, y = x[:5], x[5:]
        s = 2.0 * xp.sum(d["dd"] * u ** 3)
        Cu = d["C"] @ u
        t = -3.0 * d["dd"] * u * u - d["e"] - 2.0 * Cu + y @ d["A"]      # (5,)
        act = xp.astype(t > 0, x.dtype)
        neg = xp.astype(x < 0, x.dtype)
        val = xp.abs(s) + xp.sum(u * Cu) - xp.sum(d["b"] * y) + 100.0 * xp.sum(act * t) - 100.0 * xp.sum(neg * x)
        gu = xp.sign(s) * 6.0 * d["dd"] * u * u + 2.0 * Cu + 100.0 * (act * (-6.0 * d["dd"] * u) - 2.0 * (d["C"] @ act))
        gy = -d["b"] + 100.0 * (d["A"] @ act)
        # a NaN y_j enters the gradient only through the indicators (t > 0, x < 0; False at NaN): _make guards it
        return val, xp.concat([gu, gy]) - 100.0 * neg

    x0 = np.full(15, 1e-4)
    x0[11] = 60.0
    return _make("shell_dual", x0, lambda xp, x, d: parts(xp, x, d)[0], lambda xp, x, d: parts(xp, x, d)[1],
                 data=_COL_DATA, f_star=32.348679, x_star=_SHELL_XSTAR, tags={"nonconvex", "nonsmooth"})


_SHELL_XSTAR = [0.30000010627055856, 0.33346720383013456, 0.39999912543761262, 0.42830928750620911,
                0.22396422967089349, 0.0, 0.0, 5.1740395071672349, 0.0, 3.0611105809875925,
                11.839545463208196, 0.0, 0.0, 0.10389363495991732, 0.0]


_HM_T = -1.0 + np.arange(21) / 10.0


@register("hald_madsen", tags={"nonconvex", "nonsmooth", TAGS})
def hald_madsen() -> Objective:
    """Hald–Madsen (EXP) ``max_{i≤21} |(x1 + x2 t_i)/(1 + x3 t_i + x4 t_i² + x5 t_i³) - e^{t_i}|``,
    ``t_i = -1 + (i-1)/10``; n = 5, x0 = (0.5, 0, 0, 0, 0) (f(x0) = 2.21828), f* = 1.2237125e-4.

    x* re-solved (SLSQP, epigraph form, from the R adagio value x* ≈ (0.99987763, 0.25358844, -0.74660757,
    0.24520150, -0.03749029), at which f = 1.2237326e-4). Source: Lukšan–Vlček TEST06 problem 'EXP'
    (pyopus src/lvns/lvumm.c, label L30); J. Hald & K. Madsen (1981).
    """
    def parts(xp, x, d):
        t = d["t"]
        num = x[0] + x[1] * t
        den = 1.0 + x[2] * t + x[3] * t * t + x[4] * t ** 3
        r = num / den - d["et"]
        q = num / (den * den)
        J = xp.stack([1.0 / den, t / den, -q * t, -q * t * t, -q * t ** 3], axis=1)   # (21, 5)
        ar = xp.abs(r)
        return xp.max(ar), select_rows(xp, ar, xp.sign(r)[:, None] * J)

    return _make("hald_madsen", [0.5, 0, 0, 0, 0], lambda xp, x, d: parts(xp, x, d)[0],
                 lambda xp, x, d: parts(xp, x, d)[1], data={"t": _HM_T, "et": np.exp(_HM_T)},
                 f_star=1.2237125e-4, x_star=_HM_XSTAR, tags={"nonconvex", "nonsmooth"},
                 source="Lukšan & Vlček V-798 TEST06 (pyopus src/lvns/lvumm.c L30); Hald & Madsen 1981")


_HM_XSTAR = [0.9998776287488526, 0.2535884404114766, -0.7466075717462971, 0.2452015019022729,
             -0.0374902910084345]
