"""The stochastic lower-bound instance: Carmon et al.'s zero-chain function with the Arjevani et al.
probability-p oracle, scaled from (δ, ε, σ, gap) so experiments can show O2NC's ε⁻³δ⁻¹ is tight.

Sources: Y. Carmon, J. C. Duchi, O. Hinder, A. Sidford, 'Lower bounds for finding stationary points I',
Math. Programming 184 (2020); Y. Arjevani, Y. Carmon, J. C. Duchi, D. J. Foster, N. Srebro, B. Woodworth,
'Lower bounds for non-convex stochastic optimization', Math. Programming 199 (2023), arXiv 1912.02365;
the reduction with smoothness ε/δ follows Cutkosky, Mehta, Orabona ICML 2023. Scaling derived here (``hard_chain``).

Chain (with the convention x_0 ≡ 1), x ∈ R^T:
    F̄(x) = Σ_{i=1}^T [Ψ(-x_{i-1})Φ(-x_i) - Ψ(x_{i-1})Φ(x_i)],
    Ψ(t) = exp(1 - 1/(2t-1)²) for t > ½ and 0 otherwise,  Φ(t) = √e ∫_{-∞}^t e^{-s²/2} ds.
Scaled: F(x) = (Lλ²/ℓ₁) F̄(x/λ) = 2ελ F̄(x/λ) with L = ε/δ, λ = 2ℓ₁ε/L, ℓ₁ = 152, so ∇F(x) = 2ε ∇F̄(x/λ).
Oracle: [g(x; ξ)]_i = (1 + 1{i > prog_{1/4}(x/λ)}(ξ/p - 1)) ∇_i F(x), ξ ~ Bernoulli(p), p = min(1, (46ε)²/σ²).

Constants. Checked here (analytically and in the tests): 0 ≤ Ψ < e, 0 ≤ Ψ' < √(54/e), 0 < Φ < √(2πe),
0 < Φ' ≤ √e; at most one of Ψ(±t) and one of Ψ'(±t) is non-zero, hence ‖∇F̄‖_∞ ≤ e^{3/2} + √(54/e)·√(2πe)
< 22.91 < 23, and F̄(0) - inf F̄ ≤ -√(2πe)/2 + √(2πe) + (T-1)e√(2πe) < 12T. UNVERIFIED (recalled from Arjevani et
al., Lemma 2): the smoothness constant ℓ₁ = 152 of F̄ and the exact constants of their Theorem 1.
"""
from __future__ import annotations

import math

import numpy as np

from ._backend import asarray_like, erf, nan_unless
from .base import Objective
from .registry import register

ELL1 = 152.0          # ℓ1-Lipschitz constant of ∇F̄ (Arjevani et al. Lemma 2; UNVERIFIED)
GAMMA_INF = 23.0      # bound on ‖∇F̄‖_∞ (checked)
DELTA0 = 12.0         # F̄(0) - inf F̄ ≤ 12 T (checked)
SQRT_E = math.sqrt(math.e)
PHI_SCALE = math.sqrt(2.0 * math.pi * math.e)


def psi(xp, t):
    """Ψ(t) = exp(1 - 1/(2t-1)²) for t > ½, else 0."""
    pos = t > 0.5
    s = xp.where(pos, 2.0 * t - 1.0, xp.ones_like(t))
    return xp.where(pos, xp.exp(1.0 - 1.0 / (s * s)), xp.zeros_like(t))


def dpsi(xp, t):
    """Ψ'(t) = 4Ψ(t)/(2t-1)³ (set to 0 for 2t - 1 < 0.05, where it is below 1e-169)."""
    big = t > 0.525
    s = xp.where(big, 2.0 * t - 1.0, xp.ones_like(t))
    return xp.where(big, 4.0 * xp.exp(1.0 - 1.0 / (s * s)) / (s * s * s), xp.zeros_like(t))


def phi(xp, t):
    """Φ(t) = √e ∫_{-∞}^t e^{-s²/2} ds = √(2πe)·NormalCDF(t)."""
    return 0.5 * PHI_SCALE * (1.0 + erf(xp, t / math.sqrt(2.0)))


def dphi(xp, t):
    """Φ'(t) = √e·e^{-t²/2}."""
    return SQRT_E * xp.exp(-0.5 * t * t)


def chain_value(xp, y):
    """F̄_T(y) with y_0 ≡ 1; NaN where y is not finite (Ψ, Φ and their derivatives saturate at ±inf, so the chain
    would give a finite value and gradient there)."""
    prev = xp.concat([xp.ones_like(y[:1]), y[:-1]])
    return xp.sum(nan_unless(xp, xp.isfinite(y), psi(xp, -prev) * phi(xp, -y) - psi(xp, prev) * phi(xp, y)))


def chain_grad(xp, y):
    """∇F̄_T(y): ∂_i = -Ψ(-y_{i-1})Φ'(-y_i) - Ψ(y_{i-1})Φ'(y_i) - Ψ'(-y_i)Φ(-y_{i+1}) - Ψ'(y_i)Φ(y_{i+1})."""
    prev = xp.concat([xp.ones_like(y[:1]), y[:-1]])
    own = -psi(xp, -prev) * dphi(xp, -y) - psi(xp, prev) * dphi(xp, y)
    u, nxt = y[:-1], y[1:]
    fwd = -dpsi(xp, -u) * phi(xp, -nxt) - dpsi(xp, u) * phi(xp, nxt)
    return nan_unless(xp, xp.isfinite(y), own + xp.concat([fwd, xp.zeros_like(y[:1])]))  # NaN as chain_value


def progress(x, alpha: float, lam: float = 1.0) -> int:
    """prog_α(x/λ) = max{i ≥ 1 : |x_i/λ| > α} (1-based), 0 when there is none. Host-side (numpy) helper."""
    from ._backend import to_numpy
    idx = np.flatnonzero(np.abs(to_numpy(x) / lam) > alpha)
    return int(idx[-1] + 1) if idx.size else 0


@register("hard_chain", tags={"nonconvex", "smooth", "stochastic", "hard-instance"})
def hard_chain(eps: float = 0.1, delta: float = 0.1, sigma: float = 10.0, gap: float | None = None,
               T: int | None = None) -> Objective:
    """Stochastic zero-chain hard instance scaled from (δ, ε, σ, gap); see the module docstring.

    Smoothness ``L = ε/δ`` makes every (δ,ε)-stationary point 2ε-stationary, so a zero-respecting method needs
    ``Ω(gap·σ²·δ⁻¹ε⁻³)`` oracle calls. Give either ``gap`` (then ``T = ⌊gap·L/(48ℓ₁ε²)⌋``) or the chain length
    ``T`` directly (default 10; then ``extra['gap_bound'] = 2ελ·12T``). x0 = 0, dimension T, f* unknown.
    While ``prog_1(x/λ) < T``, ‖∇F(x)‖ > 2ε (Arjevani et al. Lemma 2, UNVERIFIED). ``extra`` holds T, p, λ, L,
    gap_bound and variance_bound ``(2ε·23)²(1-p)/p ≥ E‖g - ∇F‖²``. Lipschitz ``2ε·23·√T`` (proven from the checked
    constants).
    Source: Carmon, Duchi, Hinder, Sidford, Math. Prog. 2020; Arjevani et al., Math. Prog. 2023 (arXiv
    1912.02365), oracle eq. (16); scaling derived here
    (``L = ε/δ``, ``λ = 2ℓ₁ε/L``, ``F = (Lλ²/ℓ₁)F̄(x/λ) = 2ελ·F̄(x/λ)``).
    """
    eps, delta, sigma = float(eps), float(delta), float(sigma)
    if eps <= 0 or delta <= 0 or sigma < 0:
        raise ValueError(f"hard_chain: need eps > 0, delta > 0, sigma >= 0; got {eps}, {delta}, {sigma}")
    L = eps / delta
    lam = 2.0 * ELL1 * eps / L
    if gap is not None and T is not None:
        raise ValueError("hard_chain: give either gap or T, not both")
    if gap is not None:
        T = int(math.floor(gap * L / (48.0 * ELL1 * eps**2)))
        if T < 1:
            raise ValueError(f"hard_chain: gap={gap} gives chain length T={T} < 1; need gap >= "
                             f"{48.0 * ELL1 * eps**2 / L:.4g}")
    T = 10 if T is None else int(T)
    if T > 10**7:
        raise ValueError(f"hard_chain: the chain length T = {T} (from gap={gap} or T) is beyond 10^7 coordinates; "
                         "give a smaller gap or T")
    if T < 2:
        raise ValueError(f"hard_chain: T must be >= 2, got {T}")
    p = 1.0 if sigma == 0 else min(1.0, (46.0 * eps) ** 2 / sigma**2)
    scale = 2.0 * eps * lam          # F = scale · F̄(x/λ)

    def f(xp, x, d):
        return scale * chain_value(xp, x / lam)

    def g(xp, x, d):
        return 2.0 * eps * chain_grad(xp, x / lam)

    def stoch(xp, x, d, rng, batch_size):
        xi = rng.random(batch_size) < p                  # batch of independent Bernoulli(p) draws, averaged
        factor = float(np.mean(xi)) / p
        y = x / lam
        ar = asarray_like(xp, np.arange(1, T + 1, dtype=np.float64), x)
        prog = xp.max(xp.where(xp.abs(y) > 0.25, ar, xp.zeros_like(ar)))
        mult = xp.where(ar > prog, factor * xp.ones_like(ar), xp.ones_like(ar))
        return mult * (2.0 * eps * chain_grad(xp, y))

    var_bound = (2.0 * eps * GAMMA_INF) ** 2 * (1.0 - p) / p
    return Objective(
        name="hard_chain", x0=np.zeros(T), f=f, g=g, stoch=stoch, f_star=None, x_star=None,
        lipschitz_spec=2.0 * eps * GAMMA_INF * math.sqrt(T), lipschitz_is_exact=True,
        tags={"nonconvex", "smooth", "stochastic", "hard-instance"},
        source="Carmon et al. Math. Prog. 2020; Arjevani et al. Math. Prog. 2023 (arXiv 1912.02365)",
        params=dict(eps=eps, delta=delta, sigma=sigma, gap=gap, T=T),
        extra=dict(T=T, p=p, lam=lam, smoothness=L, gap_bound=scale * DELTA0 * T, variance_bound=var_bound,
                   scale=scale),
        notes="ℓ1 = 152 (smoothness of the unscaled chain) is recalled from Arjevani et al. Lemma 2, UNVERIFIED",
    )
