r"""A tight family for O2NC: a noisy slope-ε' ramp on which O2NC at its theory tuning needs Θ(ε⁻³δ⁻¹) queries.

The construction is this module's own (a one-dimensional ramp that is travel-limited for any method whose steps are
bounded by D = δ/T, plus an orthogonal bounded perturbation); it borrows only O2NC and its Theorem 8 from
Cutkosky, Mehta, Orabona, *Optimal Stochastic Non-smooth Non-convex Optimization through Online-to-Non-convex
Conversion*, ICML 2023 (arXiv 2302.03775), [CMO23] below, in the form implemented by ``o2nc.theory``.  (The ε⁻³δ⁻¹
lower bound for *every* method is [CMO23]'s, proved with the stochastic zero-chain of Carmon et al. / Arjevani et al.,
see ``objectives/hard_instance.py``; the family here is simpler and says something narrower: that O2NC *at its own
tuning* cannot do better than its upper bound on it.)

**The function** (d = 2; κ = ``slope_factor`` > 1, default ``SLOPE_FACTOR`` = 2, ε' = κε the ramp slope, ℓ = gap/ε' the
ramp length, a = √(G² − ε'²) the perturbation slope, c = ``PLATEAU_RADII``·δ = 4δ the perturbation's width):

    F(x) = ε'·|x₁| + p(x₂),      p(v) = a·min(|v|, c),      x₀ = (ℓ, 0),   F* = 0 at x* = 0,   F(x₀) − F* = gap.

* Non-smooth: the kink |·| at the ramp's end x₁ = 0, and the kinks of p at v = 0 and v = ±c.
* Non-convex: p is a truncated V (constant a·c beyond |v| = c), bounded, 0 ≤ p ≤ a·c.
* Lipschitz constant exactly G: F is piecewise linear with piece gradients (±ε', ±a) and (±ε', 0), of norm at most
  √(ε'² + a²) = G (attained), and a continuous piecewise-linear function is Lipschitz with the largest piece-gradient
  norm (integrate along any segment, which crosses finitely many pieces).  Needs G > ε' = κε.
* Subgradient oracle: (ε'·sign x₁, a·sign(x₂)·1{|x₂| < c}), an element of the Clarke subdifferential everywhere
  (at a kink the sign 0 or the plateau's 0 lies in the convex hull of the adjacent slopes).
* Stochastic oracle: ∇F(x) + ξ with ξ ~ N(0, (σ²/d) I) (numpy, from the caller's seeded Generator; a batch of b
  draws is averaged, variance σ²/b), so E[g] = ∇F(x) and E‖g − ∇F(x)‖² = σ².
* Exact Goldstein oracle (derived here): F is linear on each of the eight closed product pieces
  P_{s,J} = {s·y₁ ≥ 0} × J, s = ±1, J ∈ {(−∞, −c], [−c, 0], [0, c], [c, ∞)}, with gradient g_{s,J}.  The Clarke
  subdifferential at y is the convex hull of the gradients of the pieces containing y (the limits of gradients at y;
  Clarke 1983, Thm 2.5.1), so ∪_{‖y−x‖≤δ} ∂F(y) ⊆ conv{g_P : dist(x, P) ≤ δ}; conversely the point of such a piece P
  nearest x lies in the ball and has g_P ∈ ∂F(y).  Hence
  ``dist(0, ∂_δF(x)) = min{‖v‖ : v ∈ conv{g_P : dist(x, P) ≤ δ}}`` with
  dist(x, P_{s,J})² = max(0, −s·x₁)² + dist(x₂, J)², solved exactly by :func:`objectives.minnorm.min_norm`
  (Wolfe's algorithm, checked by its optimality gap).  The tests compare it with dense sampling of the ball.

**Why the theory budget suffices** ([CMO23] Theorem 8 with restarted projected OGD, D = δ/T, η = D/(G√T);
``o2nc.theory.ogd_bound``): E[(1/K) Σ_k ‖(1/T) Σ_t ∇F(w_t^k)‖] ≤ gap/(δK) + (G + σ)/√T, and every epoch's points lie
within δ of its mean, so the epoch certificates are (δ, ·)-certificates (derived here: two points of one epoch are
≤ T·D = δ apart, so each is within δ of the mean).  At the balanced T = ((G+σ)δN/gap)^{2/3} both terms are
(G+σ)/√T, and N ≥ 8(G+σ)²·gap·δ⁻¹ε⁻³ makes the bound ≤ ε (``o2nc.theory.ogd_rate``).  The average bounds the best
epoch, so some epoch is certified in expectation.
(Caveat, derived: OGD's regret bound uses E‖g‖² ≤ G²; with noise E‖g‖² ≤ G² + σ², which adds σ²/(2G) to the G of
the second term; for σ ≤ G this is a factor ≤ 5/4 on it and changes no exponent.)

**Why fewer queries cannot certify** (derived here; the property the tests check).  With ‖Δ_n‖ ≤ D = δ/T and
w_n = x_{n−1} + s_nΔ_n, s_n ∈ [0, 1], every gradient point of epoch k (steps (k−1)T+1 … kT) has
(w_n)₁ ≥ ℓ − nD ≥ ℓ − kδ.  While kδ < ℓ all of them lie on the ramp {y₁ > 0}, where ∂F(y) ⊆ {ε'} × R, so

* the exact-gradient certificate ‖(1/T) Σ_t ∇F(w_t^k)‖ ≥ ε' > ε (its first coordinate is exactly ε'), and
* if moreover (w̄^k)₁ > δ, every y in B(w̄^k, δ) lies on the ramp, so dist(0, ∂_δF(w̄^k)) ≥ ε': the epoch mean is
  not (δ, ε)-stationary at all, whatever certifies it.

So the first certified epoch is k* ≥ ℓ/δ = gap/(ε'δ), i.e. at least T·gap/(ε'δ) queries.  At the theory tuning T
depends on the budget N: T = ((G+σ)δN/gap)^{2/3} (when K = ⌊N/T⌋ ≥ 3, the cap ⌈N/2⌉ is not active), and a run of
budget N certifies only if N ≥ K*·T ≥ (gap/(ε'δ))·((G+σ)δN/gap)^{2/3}, i.e.

    N ≥ (G+σ)²·gap / (ε'³ δ) = (G+σ)²·gap / (κ³ ε³ δ).

With the upper bound above, O2NC at its theory tuning needs Θ((G+σ)²·gap·ε⁻³δ⁻¹) queries on this family (the two
constants differ by 8κ³: 64 at κ = 2, 27 at κ = 1.5).  The (G+σ)² enters through the tuning: T ≳ ((G+σ)/ε)² is what
makes Theorem 8's noise term (G+σ)/√T at most ε, and each of the ≥ gap/(ε'δ) epochs costs T queries.  Measured on O2NC +
OGD in ``tests/test_objectives_tight.py`` (slow) and ``experiments/tight_family_rates.py``.

Source: Cutkosky, Mehta, Orabona, ICML 2023 (arXiv 2302.03775), Algorithm 1 and Theorem 8; the
construction, the lower-bound argument and the Goldstein oracle are derived in this docstring.  Clarke's
subdifferential of piecewise-linear functions: F. H. Clarke, *Optimization and Nonsmooth Analysis*, Wiley 1983,
Theorem 2.5.1 (the gradient-limit characterisation).
"""
from __future__ import annotations

import math

import numpy as np

from ._backend import asarray_like, nan_unless
from .base import Objective
from .minnorm import min_norm
from .noise import sample_noise
from .registry import register

#: κ, the default ``slope_factor``: the ramp slope is ε' = κ·ε, a constant factor above ε, so no epoch on the ramp
#: certifies ε.
SLOPE_FACTOR = 2.0
#: c = PLATEAU_RADII·δ: the perturbation p(v) = a·min(|v|, c) is flat beyond |v| = c.
PLATEAU_RADII = 4.0
#: the dimension: the ramp coordinate x₁ and the perturbation coordinate x₂.
DIM = 2

_SOURCE = ("Cutkosky, Mehta, Orabona, ICML 2023 (arXiv 2302.03775), Theorem 8; construction and lower-bound "
           "argument derived in objectives/tight_family.py")


def gradients(points, slope: float, a: float, c: float) -> np.ndarray:
    """The subgradients ∇F at the rows of ``points`` ((m, 2) numpy): rows (ε'·sign y₁, a·sign(y₂)·1{|y₂| < c}).

    The oracle of :func:`tight_ramp` for many points at once (numpy only), for certificates and tests.
    """
    Y = np.asarray(points, dtype=np.float64)
    g2 = np.where(np.abs(Y[..., 1]) < c, a * np.sign(Y[..., 1]), 0.0)
    return nan_unless(np, np.isfinite(Y), np.stack([slope * np.sign(Y[..., 0]), g2], axis=-1))


def _goldstein(slope: float, a: float, c: float):
    """Exact dist(0, ∂_δF(x)): the min norm over the gradients of the pieces within δ of x (module docstring)."""
    intervals = ((-math.inf, -c, 0.0), (-c, 0.0, -a), (0.0, c, a), (c, math.inf, 0.0))

    def gold(x, delta):
        x1, x2 = float(x[0]), float(x[1])
        vertices = []
        for s in (1.0, -1.0):
            d1 = max(0.0, -s * x1)
            for lo, hi, g2 in intervals:
                d2 = max(0.0, lo - x2, x2 - hi)
                if d1 * d1 + d2 * d2 <= delta * delta:
                    vertices.append((s * slope, g2))
        return min_norm(np.array(vertices)).value

    return gold


@register("tight_ramp", tags={"nonconvex", "nonsmooth", "stochastic", "tight", "diagnostic"})
def tight_ramp(eps: float = 0.1, delta: float = 0.1, G: float = 1.0, sigma: float = 1.0,
               gap: float = 1.0, slope_factor: float = SLOPE_FACTOR) -> Objective:
    """Noisy slope-κε ramp of length gap/(κε) with a kink at its end and a bounded non-convex perturbation.

    ``F(x) = ε'|x₁| + a·min(|x₂|, c)``, ε' = κε (κ = ``slope_factor``, default 2), a = √(G² − ε'²), c = 4δ, x0 =
    (gap/ε', 0), f* = 0 at x* = 0, F(x0) − f* = gap, Lipschitz constant G (exact), stochastic oracle ∇F + N(0, σ²/2·I)
    (E‖ξ‖² = σ²), exact Goldstein oracle.  O2NC with restarted projected OGD at its theory tuning
    (``o2nc.theory.ogd_parameters`` with this G, σ, gap) needs Θ((G+σ)²·gap·ε⁻³δ⁻¹) queries to certify
    (δ, ε)-stationarity here: Theorem 8 of [CMO23] gives the upper bound, and since each epoch moves at most δ, no
    exact-gradient epoch certifies before gap/(ε'δ) epochs of T = ((G+σ)δN/gap)^{2/3} steps, which forces N ≥
    (G+σ)²·gap/(ε'³δ).  The module docstring holds both directions and the Goldstein derivation.

    Args:
        eps: ε > 0, the target stationarity; the ramp slope is κε.
        delta: δ > 0, the Goldstein radius (sets the perturbation width c = 4δ).
        G: the Lipschitz constant, G > κε.
        sigma: σ ≥ 0, the noise level (E‖g − ∇F‖² = σ²).
        gap: F(x0) − f* > 0.
        slope_factor: κ > 1 (at most 100): the ramp slope over ε; the lower and upper bounds differ by 8κ³.

    ``extra`` holds ``slope`` (ε'), ``perturbation_slope`` (a), ``plateau`` (c), ``ramp_length`` (ℓ),
    ``noise_variance`` (σ²), ``gap``, ``lower_bound_epochs`` = ℓ/δ and ``noise_model`` = ``"additive-gaussian"``
    (the stochastic gradient is ∇F(x) plus ``objectives.noise.sample_noise``'s Gaussian draw, which lets
    ``o2nc.experiments.batched`` replay the same noise stream in a compiled run).

    Example:
        >>> import numpy as np, objectives
        >>> obj = objectives.get("tight_ramp", eps=0.1, delta=0.1, G=1.0, sigma=1.0, gap=1.0)
        >>> obj.x0.tolist(), float(obj.value(obj.x0)), obj.f_star, obj.lipschitz
        ([5.0, 0.0], 1.0, 0.0, 1.0)
        >>> obj.grad(np.array([3.0, -0.1])).round(6).tolist(), obj.goldstein(np.array([3.0, 0.0]), 0.1)
        ([0.2, -0.979796], 0.2)

    Source: Cutkosky, Mehta, Orabona, ICML 2023 (arXiv 2302.03775), Theorem 8 (the upper bound); the construction,
    the lower-bound argument and the Goldstein oracle are derived in ``objectives/tight_family.py``.
    """
    eps, delta, G, sigma, gap = float(eps), float(delta), float(G), float(sigma), float(gap)
    kappa = float(slope_factor)
    if not (math.isfinite(kappa) and 1.0 < kappa <= 100.0):
        raise ValueError(f"tight_ramp: `slope_factor` must be a finite number in (1, 100], got {slope_factor!r}")
    slope = kappa * eps
    if not (math.isfinite(G) and G > slope):
        raise ValueError(f"tight_ramp: `G` (the Lipschitz constant) must be a finite number > slope_factor·eps = "
                         f"{slope:g} (the ramp slope), got {G!r}")
    a = math.sqrt((G - slope) * (G + slope))
    c = PLATEAU_RADII * delta
    ell = gap / slope
    if not math.isfinite(ell) or ell > 1e15:
        raise ValueError(f"tight_ramp: `gap`/(slope_factor·`eps`) = {ell:g} is the ramp length; it must be finite "
                         "and <= 1e15")
    noise_scale = sigma

    def f(xp, x, d):
        # min(|x₂|, c) is c at x₂ = ±inf: NaN there instead
        plateau = nan_unless(xp, xp.isfinite(x[1]), xp.minimum(xp.abs(x[1]), asarray_like(xp, c, x)))
        return slope * xp.abs(x[0]) + a * plateau

    def g(xp, x, d):
        g1 = slope * xp.sign(x[0:1])
        v = x[1:2]
        g2 = xp.where(xp.abs(v) < c, a * xp.sign(v), xp.zeros_like(v))
        # |v| < c is False at NaN and at ±inf (the plateau): NaN where x is not finite, as in ``gradients``
        return nan_unless(xp, xp.isfinite(x), xp.concat([g1, g2]))

    def stoch(xp, x, d, rng, batch_size):
        xi = sample_noise(rng, "gaussian", DIM, noise_scale, size=batch_size).mean(axis=0)
        return g(xp, x, d) + asarray_like(xp, xi, x)

    return Objective(
        name="tight_ramp", x0=np.array([ell, 0.0]), f=f, g=g, stoch=stoch, f_star=0.0, x_star=np.zeros(DIM),
        lipschitz_spec=G, lipschitz_is_exact=True,
        tags={"nonconvex", "nonsmooth", "stochastic", "tight", "diagnostic"}, source=_SOURCE,
        params=dict(eps=eps, delta=delta, G=G, sigma=sigma, gap=gap, slope_factor=kappa),
        goldstein_fn=_goldstein(slope, a, c),
        extra=dict(slope=slope, perturbation_slope=a, plateau=c, ramp_length=ell, noise_variance=sigma**2,
                   gap=gap, lower_bound_epochs=ell / delta, noise_model="additive-gaussian"),
        notes="F(x0) − f* = gap, the Lipschitz constant G and the Goldstein oracle are exact (derived in the module "
              "docstring, checked in tests/test_objectives_tight.py); the lower bound holds for any learner with "
              "‖Δ‖ ≤ δ/T and any scaling s ∈ [0, 1].",
    )
