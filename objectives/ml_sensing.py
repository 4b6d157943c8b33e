"""Robust (L1) recovery problems with planted solutions and seeded synthetic data: phase retrieval, blind
deconvolution and low-rank matrix sensing. All are weakly convex, sharp and non-smooth; noiseless f* = 0.

Sources: J. C. Duchi and F. Ruan, 'Solving (most) of a set of quadratic equalities: composite optimization for
robust phase retrieval', Information and Inference 8(3), 2019; D. Davis, D. Drusvyatskiy, C. Paquette, 'The
nonsmooth landscape of phase retrieval', IMA J. Numer. Anal. 2020; V. Charisopoulos, D. Davis, M. Díaz,
D. Drusvyatskiy, 'Composite optimization for robust rank one bilinear sensing' (arXiv 1901.01624) and
V. Charisopoulos, Y. Chen, D. Davis, M. Díaz, L. Ding, D. Drusvyatskiy, 'Low-rank matrix recovery with composite
optimization: good conditioning and rapid convergence', Found. Comput. Math. 2021. Formulas as in those papers.
"""
from __future__ import annotations

import numpy as np

from .base import sampled_lipschitz
from .finite_sum import finite_sum
from .registry import register

_PR = "Duchi & Ruan, Inf. Inference 8(3) 2019; Davis, Drusvyatskiy, Paquette, IMA J. Numer. Anal. 2020"
_BD = "Charisopoulos, Davis, Díaz, Drusvyatskiy, arXiv 1901.01624 (robust blind deconvolution)"
_MS = "Charisopoulos, Chen, Davis, Díaz, Ding, Drusvyatskiy, Found. Comput. Math. 2021 (L1 matrix sensing)"


def _corrupt(rng, values, p_fail):
    """Replace a fraction ``p_fail`` of the measurements by large arbitrary values (|N(0, 100)|·10)."""
    if not 0.0 <= p_fail < 0.5:
        raise ValueError(f"p_fail must be in [0, 0.5), got {p_fail}")
    out = values.copy()
    k = int(round(p_fail * values.size))
    if k:
        idx = rng.choice(values.size, size=k, replace=False)
        out[idx] = 10.0 * np.abs(rng.normal(0.0, 10.0, size=k))
    return out


def _unit(rng, n):
    v = rng.standard_normal(n)
    return v / np.linalg.norm(v)


@register("phase_retrieval", tags={"nonconvex", "nonsmooth", "stochastic", "ml"})
def phase_retrieval(n: int = 20, m: int | None = None, p_fail: float = 0.0, seed: int = 0,
                    batch_size: int = 16):
    """Robust phase retrieval ``F(x) = (1/m) Σ_i |⟨a_i, x⟩² - b_i|``, ``a_i ~ N(0, I_n)``, ``b_i = ⟨a_i, x♮⟩²``.

    A fraction ``p_fail`` of the b_i is corrupted. Subgradient ``(2/m) Σ sign(⟨a_i,x⟩² - b_i)⟨a_i,x⟩ a_i``;
    x = 0 is Clarke-stationary (spurious). Defaults m = 4n. x0: a seeded random unit vector. Noiseless
    (p_fail = 0): f* = 0 at ±x♮ (``x_star = x♮``); otherwise f* is unknown (``extra['x_planted']``).
    Source: Duchi & Ruan, Information and Inference 2019; Davis, Drusvyatskiy & Paquette, IMA J. Numer. Anal. 2020.
    """
    m = 4 * n if m is None else int(m)
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    xs = _unit(rng, n)
    b = _corrupt(rng, (A @ xs) ** 2, p_fail)
    x0 = _unit(rng, n)

    def loss(xp, x, d, D):
        ax = D["A"] @ x
        return xp.mean(xp.abs(ax * ax - D["b"]))

    def grad(xp, x, d, D):
        ax = D["A"] @ x
        return (2.0 / ax.shape[0]) * ((xp.sign(ax * ax - D["b"]) * ax) @ D["A"])

    exact = p_fail == 0.0
    return finite_sum(name="phase_retrieval", x0=x0, n_samples=m, sample_keys=("A", "b"), data={"A": A, "b": b},
                      loss=loss, grad=grad, default_batch=batch_size, f_star=0.0 if exact else None,
                      x_star=xs if exact else None, lipschitz_spec=sampled_lipschitz(n_points=64),
                      tags={"nonconvex", "nonsmooth", "ml"}, source=_PR, extra={"x_planted": xs},
                      params=dict(n=n, m=m, p_fail=p_fail, seed=seed, batch_size=batch_size))


@register("blind_deconvolution", tags={"nonconvex", "nonsmooth", "stochastic", "ml"})
def blind_deconvolution(d1: int = 10, d2: int = 10, m: int | None = None, p_fail: float = 0.0, seed: int = 0,
                        batch_size: int = 16):
    """Robust blind deconvolution ``F(w, x) = (1/m) Σ_i |⟨ℓ_i, w⟩⟨r_i, x⟩ - y_i|``, Gaussian ℓ_i, r_i.

    ``y_i = ⟨ℓ_i, w♮⟩⟨r_i, x♮⟩`` (unit w♮, x♮), a fraction ``p_fail`` corrupted. The variable is the
    concatenation (w, x) of length d1 + d2. Subgradient ``(1/m) Σ sign(res_i)(⟨r_i,x⟩ℓ_i, ⟨ℓ_i,w⟩r_i)``.
    Defaults m = 4(d1 + d2); x0 seeded random unit blocks. Noiseless f* = 0 on the curve (c·w♮, x♮/c);
    ``x_star = (w♮, x♮)``. Source: Charisopoulos, Davis, Díaz, Drusvyatskiy, arXiv 1901.01624.
    """
    m = 4 * (d1 + d2) if m is None else int(m)
    rng = np.random.default_rng(seed)
    Lm, R = rng.standard_normal((m, d1)), rng.standard_normal((m, d2))
    ws, xs = _unit(rng, d1), _unit(rng, d2)
    y = _corrupt(rng, (Lm @ ws) * (R @ xs), p_fail)
    x0 = np.concatenate([_unit(rng, d1), _unit(rng, d2)])

    def loss(xp, z, d, D):
        return xp.mean(xp.abs((D["L"] @ z[:d1]) * (D["R"] @ z[d1:]) - D["y"]))

    def grad(xp, z, d, D):
        lw, rx = D["L"] @ z[:d1], D["R"] @ z[d1:]
        s = xp.sign(lw * rx - D["y"]) / lw.shape[0]
        return xp.concat([(s * rx) @ D["L"], (s * lw) @ D["R"]])

    exact = p_fail == 0.0
    return finite_sum(name="blind_deconvolution", x0=x0, n_samples=m, sample_keys=("L", "R", "y"),
                      data={"L": Lm, "R": R, "y": y}, loss=loss, grad=grad, default_batch=batch_size,
                      f_star=0.0 if exact else None, x_star=np.concatenate([ws, xs]) if exact else None,
                      lipschitz_spec=sampled_lipschitz(n_points=64), tags={"nonconvex", "nonsmooth", "ml"},
                      source=_BD, extra={"x_planted": np.concatenate([ws, xs])},
                      params=dict(d1=d1, d2=d2, m=m, p_fail=p_fail, seed=seed, batch_size=batch_size))


@register("matrix_sensing", tags={"nonconvex", "nonsmooth", "stochastic", "ml"})
def matrix_sensing(d: int = 8, r: int = 2, m: int | None = None, p_fail: float = 0.0, seed: int = 0,
                   batch_size: int = 16):
    """Symmetric L1 matrix sensing ``F(U) = (1/m) Σ_i |⟨A_i, UUᵀ⟩ - b_i|``, U ∈ R^{d×r}, Gaussian A_i.

    ``b_i = ⟨A_i, U♮U♮ᵀ⟩`` (U♮ entries N(0, 1/d)), a fraction ``p_fail`` corrupted. The variable is vec(U)
    (row-major, length d·r); subgradient ``(1/m)(G + Gᵀ)U`` with ``G = Σ_i sign(res_i) A_i``. Defaults
    m = 5·d·r; x0 seeded N(0, 1/d). Noiseless f* = 0 at U♮ (and every U♮Q, Q orthogonal); the 1/m normalisation
    is this library's (the paper's normalisation was not checked; it does not change x*).
    Source: Charisopoulos et al., Found. Comput. Math. 2021.
    """
    m = 5 * d * r if m is None else int(m)
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, d * d))
    Us = rng.standard_normal((d, r)) / np.sqrt(d)
    b = _corrupt(rng, A @ (Us @ Us.T).reshape(-1), p_fail)
    x0 = (rng.standard_normal((d, r)) / np.sqrt(d)).reshape(-1)

    def loss(xp, x, dd, D):
        U = xp.reshape(x, (d, r))
        return xp.mean(xp.abs(D["A"] @ xp.reshape(U @ U.T, (-1,)) - D["b"]))

    def grad(xp, x, dd, D):
        U = xp.reshape(x, (d, r))
        s = xp.sign(D["A"] @ xp.reshape(U @ U.T, (-1,)) - D["b"]) / D["b"].shape[0]
        G = xp.reshape(s @ D["A"], (d, d))
        return xp.reshape((G + G.T) @ U, (-1,))

    exact = p_fail == 0.0
    return finite_sum(name="matrix_sensing", x0=x0, n_samples=m, sample_keys=("A", "b"), data={"A": A, "b": b},
                      loss=loss, grad=grad, default_batch=batch_size, f_star=0.0 if exact else None,
                      x_star=Us.reshape(-1) if exact else None, lipschitz_spec=sampled_lipschitz(n_points=64),
                      tags={"nonconvex", "nonsmooth", "ml"}, source=_MS, extra={"x_planted": Us.reshape(-1)},
                      params=dict(d=d, r=r, m=m, p_fail=p_fail, seed=seed, batch_size=batch_size))
