"""Haarala–Miettinen–Mäkelä large-scale non-smooth problems, any dimension n.

Source: M. Haarala, K. Miettinen, M. M. Mäkelä, 'New limited memory bundle method for large-scale nonsmooth
optimization', Optimization Methods and Software 19(6), 2004 (Fortran ``tnsunc.f``, M. Haarala 2003); f* from the
problem headers of F. E. Curtis et al.'s NonOpt and, for Chained Mifflin 2, pyopus ``karmitsa.py``. Formulas, x0
and f* as in those sources. With ``u = x_i`` and ``v = x_{i+1}`` (i = 1..n-1), every
oracle is a handful of vectorised array operations: O(n) time and memory (MXHILB: O(n log n) by FFT for large n).
"""
from __future__ import annotations

import numpy as np

from ._backend import max_weights, nan_unless, shift_add
from .base import Objective, sampled_lipschitz
from .registry import register

SRC = ("Haarala, Miettinen, Mäkelä, Optim. Methods Softw. 19(6) 2004; Fortran tnsunc.f (Haarala 2003); "
       "f* from NonOpt problem headers")
TAG = "large-scale"


def _n(name, n):
    if int(n) != n or n < 2:
        raise ValueError(f"{name}: n must be an integer >= 2, got {n}")
    return int(n)


def _make(name, n, x0, f, g, *, f_star, x_star, tags, data=None, lipschitz=None, exact=False, notes=""):
    return Objective(
        name=name, x0=x0, f=f, g=g, data=data or {}, f_star=f_star, x_star=x_star,
        lipschitz_spec=lipschitz if lipschitz is not None else sampled_lipschitz(n_points=64),
        lipschitz_is_exact=exact, tags=set(tags) | {TAG}, source=SRC, params=dict(n=n), notes=notes,
    )


def _alternating(n, odd, even):
    """``x_i = odd`` for odd i and ``even`` for even i (1-based, as in the Fortran)."""
    x = np.full(n, float(even))
    x[0::2] = odd
    return x




@register("gen_maxq", tags={"convex", "nonsmooth", TAG})
def gen_maxq(n: int = 50) -> Objective:
    """Generalisation of MAXQ ``max_i x_i²``; x0: ``x_i = i`` (i ≤ n/2), ``-i`` otherwise; f* = 0 at 0.

    f(x0) = n² (2500 at n = 50). Source: Haarala–Miettinen–Mäkelä (2004), problem 1.
    """
    n = _n("gen_maxq", n)
    i = np.arange(1, n + 1, dtype=float)
    return _make("gen_maxq", n, np.where(i <= n // 2, i, -i), lambda xp, x, d: xp.max(x * x),
                 lambda xp, x, d: 2.0 * x * max_weights(xp, x * x), f_star=0.0, x_star=np.zeros(n),
                 tags={"convex", "nonsmooth"})


def _hankel_matvec(xp, x, d):
    """``h_i = Σ_j x_j / (i + j - 1)`` (Hilbert matrix times x) in O(n log n) by FFT convolution.

    With ``c_q = 1/q`` (q ≥ 1) and ``x̃`` the reversed x, ``h_i = (c * x̃)[i + n - 1]``; a circular convolution of
    size ``S ≥ 2n`` aliases only indices below n, so the needed ones are exact. ``rfft(c)`` is precomputed.
    """
    n = x.shape[0]
    size = n + d["pad"].shape[0]
    xr = xp.concat([xp.flip(x), d["pad"]])
    C = d["c_re"] + 1j * d["c_im"]
    conv = xp.fft.irfft(C * xp.fft.rfft(xr), n=size)
    return conv[n: 2 * n]


@register("gen_mxhilb", tags={"convex", "nonsmooth", TAG})
def gen_mxhilb(n: int = 50) -> Objective:
    """Generalisation of MXHILB ``max_i |Σ_j x_j/(i+j-1)|``; x0 = **1**, f* = 0 at 0 (f(x0) = H_n, 4.4992 at 50).

    Dense Hilbert matrix for n ≤ 2048; beyond, the product is an FFT convolution (the matrix is Hankel) and the
    gradient row ``(1/(k+j-1))_j`` is formed on the fly. Lipschitz ``max_i ‖H_i‖ = ‖H_1‖`` (exact).
    Source: Haarala–Miettinen–Mäkelä (2004), problem 2.
    """
    n = _n("gen_mxhilb", n)
    i = np.arange(1, n + 1, dtype=float)
    L = float(np.sqrt(np.sum(1.0 / i**2)))
    if n <= 2048:
        H = 1.0 / (i[:, None] + i[None, :] - 1.0)

        def hx(xp, x, d):
            return d["H"] @ x

        def row(xp, k, d):
            return xp.take(d["H"], xp.reshape(k, (1,)), axis=0)[0]

        data = {"H": H}
    else:
        size = 1 << int(np.ceil(np.log2(2 * n)))
        c = np.zeros(size)
        c[1: 2 * n] = 1.0 / np.arange(1, 2 * n)
        fc = np.fft.rfft(c)
        hx = _hankel_matvec
        data = {"c_re": fc.real.copy(), "c_im": fc.imag.copy(), "j": i, "pad": np.zeros(size - n)}

        def row(xp, k, d):
            return 1.0 / (xp.astype(k, d["j"].dtype) + d["j"])   # k is 0-based: 1/((k+1) + j - 1)

    def f(xp, x, d):
        return xp.max(xp.abs(hx(xp, x, d)))

    def g(xp, x, d):
        h = hx(xp, x, d)
        k = xp.argmax(xp.abs(h))
        hk = xp.take(h, xp.reshape(k, (1,)))[0]
        # every h_i involves every x_j, so h_k is finite exactly when x is: sign(±inf) = ±1 made NaN (a 0-d guard)
        return nan_unless(xp, xp.isfinite(hk), xp.sign(hk)) * row(xp, k, d)

    return _make("gen_mxhilb", n, np.ones(n), f, g, data=data, f_star=0.0, x_star=np.zeros(n),
                 tags={"convex", "nonsmooth"}, lipschitz=L, exact=True)


@register("chained_lq", tags={"convex", "nonsmooth", TAG})
def chained_lq(n: int = 50) -> Objective:
    """Chained LQ ``Σ max{-u - v, -u - v + (u² + v² - 1)}``; x0 = -0.5·**1**, f* = -(n-1)√2 at **1**/√2.

    Source: Haarala–Miettinen–Mäkelä (2004), problem 3.
    """
    n = _n("chained_lq", n)

    def f(xp, x, d):
        u, v = x[:-1], x[1:]
        return xp.sum(-u - v + xp.maximum(u * u + v * v - 1.0, xp.zeros_like(u)))

    def g(xp, x, d):
        u, v = x[:-1], x[1:]
        a = xp.astype(u * u + v * v - 1.0 > 0, x.dtype)
        return shift_add(xp, -1.0 + 2.0 * a * u, -1.0 + 2.0 * a * v)

    return _make("chained_lq", n, np.full(n, -0.5), f, g, f_star=-(n - 1) * float(np.sqrt(2.0)),
                 x_star=np.full(n, 1.0 / np.sqrt(2.0)), tags={"convex", "nonsmooth"})


def _cb3_pieces(xp, x):
    u, v = x[:-1], x[1:]
    e = 2.0 * xp.exp(v - u)
    P = xp.stack([u ** 4 + v * v, (2.0 - u) ** 2 + (2.0 - v) ** 2, e])               # (3, n-1)
    GU = xp.stack([4.0 * u ** 3, -2.0 * (2.0 - u), -e])
    GV = xp.stack([2.0 * v, -2.0 * (2.0 - v), e])
    return P, GU, GV


@register("chained_cb3_1", tags={"convex", "nonsmooth", TAG})
def chained_cb3_1(n: int = 50) -> Objective:
    """Chained CB3 (I) ``Σ max{u⁴ + v², (2-u)² + (2-v)², 2e^{-u+v}}``; x0 = 2·**1**, f* = 2(n-1) at **1**.

    Source: Haarala–Miettinen–Mäkelä (2004), problem 4.
    """
    n = _n("chained_cb3_1", n)

    def f(xp, x, d):
        return xp.sum(xp.max(_cb3_pieces(xp, x)[0], axis=0))

    def g(xp, x, d):
        P, GU, GV = _cb3_pieces(xp, x)
        W = max_weights(xp, P, axis=0)
        return shift_add(xp, xp.sum(W * GU, axis=0), xp.sum(W * GV, axis=0))

    return _make("chained_cb3_1", n, np.full(n, 2.0), f, g, f_star=2.0 * (n - 1), x_star=np.ones(n),
                 tags={"convex", "nonsmooth"})


@register("chained_cb3_2", tags={"convex", "nonsmooth", TAG})
def chained_cb3_2(n: int = 50) -> Objective:
    """Chained CB3 (II) ``max{Σ(u⁴ + v²), Σ((2-u)² + (2-v)²), Σ 2e^{-u+v}}``; x0 = 2·**1**, f* = 2(n-1) at **1**.

    Source: Haarala–Miettinen–Mäkelä (2004), problem 5.
    """
    n = _n("chained_cb3_2", n)

    def f(xp, x, d):
        return xp.max(xp.sum(_cb3_pieces(xp, x)[0], axis=1))

    def g(xp, x, d):
        P, GU, GV = _cb3_pieces(xp, x)
        w = max_weights(xp, xp.sum(P, axis=1))
        return shift_add(xp, w @ GU, w @ GV)

    return _make("chained_cb3_2", n, np.full(n, 2.0), f, g, f_star=2.0 * (n - 1), x_star=np.ones(n),
                 tags={"convex", "nonsmooth"})


@register("active_faces", tags={"nonconvex", "nonsmooth", TAG})
def active_faces(n: int = 50) -> Objective:
    """Number of active faces ``max{g(-Σ_i x_i), max_i g(x_i)}``, ``g(y) = ln(|y| + 1)``; x0 = **1**, f* = 0 at 0.

    f(x0) = ln(n + 1) (3.9318 at n = 50). Source: Haarala–Miettinen–Mäkelä (2004), problem 6.
    """
    n = _n("active_faces", n)

    def f(xp, x, d):
        s = xp.sum(x)
        return xp.log(xp.maximum(xp.abs(s), xp.max(xp.abs(x))) + 1.0)

    def g(xp, x, d):
        s = xp.sum(x)
        vals = xp.concat([xp.reshape(xp.abs(s), (1,)), xp.abs(x)])
        w = max_weights(xp, vals)
        top = xp.max(vals)
        # an infinite top would divide the gradient down to 0: NaN instead (a 0-d guard; top is NaN at a NaN point)
        top = nan_unless(xp, xp.isfinite(top), top)
        # d/dx g(-Σx) = sign(Σx)/(|Σx|+1)·1 ;  d/dx_i g(x_i) = sign(x_i)/(|x_i|+1) e_i
        return (w[0] * xp.sign(s) + w[1:] * xp.sign(x)) / (top + 1.0)

    return _make("active_faces", n, np.ones(n), f, g, f_star=0.0, x_star=np.zeros(n),
                 tags={"nonconvex", "nonsmooth"})


@register("brown2_nonsmooth", tags={"nonconvex", "nonsmooth", TAG})
def brown2_nonsmooth(n: int = 50) -> Objective:
    """Non-smooth generalisation of Brown function 2 ``Σ(|u|^{v²+1} + |v|^{u²+1})``; f* = 0 at 0.

    x0: ``x_i = -1`` for odd i, ``+1`` for even i (f(x0) = 2(n-1)). Source: Haarala–Miettinen–Mäkelä (2004),
    problem 7.
    """
    n = _n("brown2_nonsmooth", n)

    def f(xp, x, d):
        au, av = xp.abs(x[:-1]), xp.abs(x[1:])
        return xp.sum(au ** (x[1:] ** 2 + 1.0) + av ** (x[:-1] ** 2 + 1.0))

    def g(xp, x, d):
        u, v = x[:-1], x[1:]
        au, av = xp.abs(u), xp.abs(v)
        lu = xp.log(xp.where(au > 0, au, xp.ones_like(au)))     # |u|^p ln|u| -> 0 as u -> 0 (p >= 1)
        lv = xp.log(xp.where(av > 0, av, xp.ones_like(av)))
        pu, pv = au ** (v * v + 1.0), av ** (u * u + 1.0)
        gu = (v * v + 1.0) * au ** (v * v) * xp.sign(u) + pv * lv * 2.0 * u
        gv = (u * u + 1.0) * av ** (u * u) * xp.sign(v) + pu * lu * 2.0 * v
        return shift_add(xp, gu, gv)

    return _make("brown2_nonsmooth", n, _alternating(n, -1.0, 1.0), f, g, f_star=0.0, x_star=np.zeros(n),
                 tags={"nonconvex", "nonsmooth"})


_MIFFLIN2_FSTAR = {50: -34.795, 200: -140.86, 1000: -706.55}


@register("chained_mifflin2", tags={"nonconvex", "nonsmooth", TAG})
def chained_mifflin2(n: int = 50) -> Objective:
    """Chained Mifflin 2 ``Σ(-u + 2(u² + v² - 1) + 1.75|u² + v² - 1|)``; x0 = -**1** (f(x0) = 4.75(n-1)).

    f* is a best-known value, only for n ∈ {50, 200, 1000}: -34.795, -140.86, -706.55 (pyopus karmitsa.py);
    no x*. Tagged "fstar-best-known". Source: Haarala–Miettinen–Mäkelä (2004), problem 8.
    """
    n = _n("chained_mifflin2", n)

    def f(xp, x, d):
        u, v = x[:-1], x[1:]
        t = u * u + v * v - 1.0
        return xp.sum(-u + 2.0 * t + 1.75 * xp.abs(t))

    def g(xp, x, d):
        u, v = x[:-1], x[1:]
        c = 2.0 + 1.75 * xp.sign(u * u + v * v - 1.0)
        return shift_add(xp, -1.0 + 2.0 * c * u, 2.0 * c * v)

    obj = _make("chained_mifflin2", n, -np.ones(n), f, g, f_star=_MIFFLIN2_FSTAR.get(n), x_star=None,
                tags={"nonconvex", "nonsmooth", "fstar-best-known"},
                notes="f* is a best-known value (not certified); a local method from x0 may stop above it")
    return obj


def _crescent_terms(xp, x):
    u, v = x[:-1], x[1:]
    a = u * u + (v - 1.0) ** 2 + v - 1.0
    b = -u * u - (v - 1.0) ** 2 + v + 1.0
    return u, v, a, b


@register("chained_crescent_1", tags={"nonconvex", "nonsmooth", TAG})
def chained_crescent_1(n: int = 50) -> Objective:
    """Chained Crescent (I) ``max{Σ(u² + (v-1)² + v - 1), Σ(-u² - (v-1)² + v + 1)}``; f* = 0 at 0.

    x0: ``x_i = -1.5`` for odd i, ``2`` for even i. Source: Haarala–Miettinen–Mäkelä (2004), problem 9.
    """
    n = _n("chained_crescent_1", n)

    def f(xp, x, d):
        _, _, a, b = _crescent_terms(xp, x)
        return xp.maximum(xp.sum(a), xp.sum(b))

    def g(xp, x, d):
        u, v, a, b = _crescent_terms(xp, x)
        w = max_weights(xp, xp.stack([xp.sum(a), xp.sum(b)]))
        gu = (w[0] - w[1]) * 2.0 * u
        gv = (w[0] - w[1]) * 2.0 * (v - 1.0) + 1.0
        return shift_add(xp, gu, gv)

    return _make("chained_crescent_1", n, _alternating(n, -1.5, 2.0), f, g, f_star=0.0, x_star=np.zeros(n),
                 tags={"nonconvex", "nonsmooth"})


@register("chained_crescent_2", tags={"nonconvex", "nonsmooth", TAG})
def chained_crescent_2(n: int = 50) -> Objective:
    """Chained Crescent (II) ``Σ max{u² + (v-1)² + v - 1, -u² - (v-1)² + v + 1}``; f* = 0 at 0.

    x0 as Chained Crescent (I). The Fortran is authoritative (an R docstring of this problem has a typo).
    Source: Haarala–Miettinen–Mäkelä (2004), problem 10.
    """
    n = _n("chained_crescent_2", n)

    def f(xp, x, d):
        _, _, a, b = _crescent_terms(xp, x)
        return xp.sum(xp.maximum(a, b))

    def g(xp, x, d):
        u, v, a, b = _crescent_terms(xp, x)
        s = xp.sign(a - b)          # +1: first piece, -1: second, 0: tie (average of both)
        return shift_add(xp, s * 2.0 * u, s * 2.0 * (v - 1.0) + 1.0)

    return _make("chained_crescent_2", n, _alternating(n, -1.5, 2.0), f, g, f_star=0.0, x_star=np.zeros(n),
                 tags={"nonconvex", "nonsmooth"})
