"""Certification of (δ,ε)-stationarity by gradient sampling and a min-norm quadratic program.

A point x is Goldstein (δ,ε)-stationary when dist(0, ∂_δ f(x)) ≤ ε, where
∂_δ f(x) = conv ∪_{‖y−x‖≤δ} ∂f(y) is the Goldstein δ-subdifferential (Goldstein 1977; Zhang, Lin, Jegelka, Sra,
Jadbabaie, ICML 2020).  Gradients taken at finitely many points y_i of the δ-ball span a convex hull that lies inside
∂_δ f(x), so the minimal norm over that hull is an **upper bound** on dist(0, ∂_δ f(x)) (Burke, Lewis, Overton,
SIAM J. Optim. 2005, the gradient-sampling method).  A small value therefore *certifies* stationarity; a large value
proves nothing.  Every certificate returned here is an :class:`o2nc.Certificate` (kind ``"sampled one-sided"``,
``"mean-constrained upper bound"`` or ``"exact-gradient epoch"``) and says so through ``one_sided=True``.

Contents
--------
- :func:`min_norm` — minimal norm over the convex hull of m gradients (the simplex QP) by Wolfe's finite algorithm,
  every answer checked by its optimality gap (defined in ``objectives/minnorm.py``, shared with the bank's exact
  Goldstein oracles and gradient sampling).
- :func:`goldstein` — sample the δ-ball (plus caller-supplied points such as an epoch's iterates) and return the
  certificate with its weights and points; optionally the stricter variant of Cutkosky, Mehta, Orabona (ICML 2023,
  Definition 5) in which the weighted mean of the points must equal x.
- :func:`epoch_certificate` — the O2NC epoch certificate (‖mean ∇F(w_t)‖, r) recomputed with exact gradients at an
  epoch's points.

Example
-------
>>> import numpy as np
>>> from o2nc.certify import goldstein
>>> cert = goldstein(lambda x: np.sign(x), np.array([0.05]), 0.1, samples=20)
>>> cert.value < 1e-12, cert.one_sided
(True, True)
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from o2nc.certificate import Certificate

# One min-norm solver for the whole library, checked by its optimality gap (objectives/minnorm.py).
from objectives.minnorm import DEFAULT_TOL, SOLVERS, MinNorm, MinNormError, min_norm, optimality_gap

__all__ = [
    "MinNorm",
    "MinNormError",
    "Certificate",
    "GoldsteinCertificate",
    "EpochCertificate",
    "min_norm",
    "goldstein",
    "epoch_certificate",
    "sample_ball",
    "default_samples",
    "SOLVERS",
    "DEFAULT_TOL",
    "optimality_gap",
]


# ----------------------------------------------------------------------------------------------------------------
# sampling and the Goldstein certificate
# ----------------------------------------------------------------------------------------------------------------


def default_samples(dim: int) -> int:
    """Default number of sampled points: min(100, 2d, d + 10), as in HANSO's gradient sampling (its getbundle).

    At least 2 so that a 1-D ball is probed on both sides.
    """
    return max(2, min(100, 2 * dim, dim + 10))


def sample_ball(x: np.ndarray, delta: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """n points uniform in the closed ball B(x, δ): y = x + δ·u·U^{1/d}, u uniform on the sphere, U ~ U[0,1].

    (Muller, Comm. ACM 2(4), 1959 / the standard polar method.)
    """
    d = x.shape[0]
    u = rng.standard_normal((n, d))
    norms = np.linalg.norm(u, axis=1, keepdims=True)
    norms[norms == 0.0] = 1.0
    r = delta * rng.random((n, 1)) ** (1.0 / d)
    return x[None, :] + r * u / norms


@dataclass(frozen=True, repr=False)
class GoldsteinCertificate(Certificate):
    """A one-sided certificate: ``epsilon`` ≥ dist(0, ∂_δ f(point)) for δ = ``delta``.

    An :class:`o2nc.Certificate` (``kind`` ``"sampled one-sided"``, or ``"mean-constrained upper bound"`` with the
    mean constraint) with the evidence behind it.

    Attributes:
        point: the certified point x (``x`` is an alias).
        delta: the largest distance from x of the points used (exact; ≤ ``ball``), so conv{∇f(y_i)} ⊆ ∂_δ f(x).
        epsilon: min over the convex hull of the gradients of the norm (``value`` is an alias), an **upper bound** on
            dist(0, ∂_δ f(x)) (with ``mean_constraint=True``, on ‖∇f(x)‖_δ of [CMO23] Definition 5).
        calls: gradient evaluations spent (``grad_calls`` is an alias), none reused from elsewhere.
        ball: the radius of the ball the points were drawn from (the δ asked for).
        weights: (m,) convex weights attaining ``epsilon`` over ``points``.
        points: (m, d) the points whose gradients were used.
        gradients: (m, d) the gradients at ``points``.
        direction: Σ_i weights_i gradients_i, the min-norm element found.
        gap: the min-norm solver's relative optimality gap (``objectives.minnorm.MinNorm.gap``).
        exact: dist(0, ∂_ball f(x)) from the objective's exact Goldstein oracle when it has one, else None.  With the
            mean constraint this is a lower bound on the Definition-5 quantity.
        mean_constraint: whether Σ weights_i points_i = x was imposed.
        solver: the min-norm solver used.
    """

    ball: float = 0.0
    weights: Any = None
    points: Any = None
    gradients: Any = None
    direction: Any = None
    gap: float = 0.0
    exact: float | None = None
    mean_constraint: bool = False
    solver: str = "wolfe"

    one_sided = True
    bound = "upper"

    @property
    def value(self) -> float:
        return self.epsilon

    @property
    def x(self) -> Any:
        return self.point

    @property
    def grad_calls(self) -> int:
        return self.calls

    def certifies(self, epsilon: float) -> bool:
        """True when ``value`` ≤ ε, which proves (δ,ε)-stationarity of ``x``; False proves nothing."""
        return bool(self.epsilon <= epsilon)

    def __repr__(self) -> str:  # short: arrays can be large
        ex = "" if self.exact is None else f", exact={self.exact:.6g}"
        return (f"GoldsteinCertificate(value={self.epsilon:.6g} (upper bound){ex}, delta={self.delta:g} "
                f"(ball {self.ball:g}), m={len(self.weights)}, mean_constraint={self.mean_constraint}, "
                f"solver={self.solver!r}, gap={self.gap:.2g})")


def _gradient_oracle(objective: Any) -> Callable[[np.ndarray], np.ndarray]:
    if hasattr(objective, "grad") and callable(objective.grad):
        return objective.grad
    if callable(objective):
        return objective
    raise TypeError("objective: expected an objective with .grad(x) or a callable x -> gradient, "
                    f"got {type(objective).__name__}")


def _eval_gradients(grad: Callable, P: np.ndarray, d: int) -> np.ndarray:
    out = np.empty_like(P)
    for i, p in enumerate(P):
        g = np.asarray(grad(p.copy()), dtype=np.float64).reshape(-1)
        if g.shape[0] != d:
            raise ValueError(f"objective: gradient has {g.shape[0]} entries at a point of dimension {d}")
        if not np.all(np.isfinite(g)):
            raise ValueError(f"objective: non-finite gradient at sampled point {i}")
        out[i] = g
    return out


def _check_delta(delta: Any) -> float:
    try:
        delta = float(delta)
    except (TypeError, ValueError):
        raise TypeError(f"delta: expected a positive number, got {delta!r}") from None
    if not (delta > 0.0 and math.isfinite(delta)):
        raise ValueError(f"delta: expected a finite number > 0, got {delta}")
    return delta


def goldstein(objective: Any, x: Any, delta: float, *, samples: int | None = None, points: Any = None,
              seed: int = 0, mean_constraint: bool = False, solver: str = "wolfe", include_center: bool = True,
              exact: bool = True) -> GoldsteinCertificate:
    """Upper bound on dist(0, ∂_δ f(x)) from gradients sampled in the δ-ball.

    Samples y_1..y_m uniformly in B(x, δ), adds x itself and any caller-supplied ``points`` (which must lie in the
    ball), and returns

        value = min_{λ∈Δ} ‖Σ_i λ_i ∇f(y_i)‖  ≥  dist(0, ∂_δ f(x)),

    because conv{∇f(y_i)} ⊆ ∂_δ f(x) (Burke, Lewis, Overton 2005).  The inequality is the
    whole guarantee: ``value ≤ ε`` certifies (δ,ε)-stationarity (with exact gradients), a large value does not rule
    it out.  Sampled estimates are biased upward, more so in high dimension.

    With ``mean_constraint=True`` the stricter quantity of [CMO23] Definition 5 is bounded instead:

        ‖∇f(x)‖_δ = inf { ‖Σ λ_i ∇f(y_i)‖ : y_i ∈ B(x,δ), λ ∈ Δ, Σ λ_i y_i = x }.

    The samples are drawn as antipodal pairs (y, 2x − y) and the hull is taken over *groups* whose own mean is x:
    {x}, each pair (gradient (∇f(y) + ∇f(2x−y))/2), and the supplied points as one group if their mean is x (else
    each is paired with its reflection 2x − p).  Any convex combination of group means has mean x, so the result is
    a feasible point of Definition 5 and still an upper bound ([CMO23] Definition 4 asks mean(S) = x).

    Args:
        objective: an objective of the bank (its ``.grad`` is used; its ``.goldstein`` too when ``has_goldstein``),
            or a callable x -> gradient.  Gradients must be exact (not stochastic) for the bound to hold.
        x: the point, shape (d,).
        delta: ball radius δ > 0.
        samples: number of random points (default :func:`default_samples`); 0 uses only x and ``points``.
        points: optional (k, d) extra points in B(x, δ), e.g. an O2NC epoch's iterates.
        seed: seed of the sampling generator (numpy ``default_rng``).
        mean_constraint: impose Σ λ_i y_i = x ([CMO23] Definition 5).
        solver: see :func:`min_norm`.
        include_center: also use the gradient at x itself.
        exact: fill ``.exact`` from the objective's exact Goldstein oracle when it has one.

    Returns:
        :class:`GoldsteinCertificate` with ``value``, ``weights``, ``points``, ``one_sided=True``.

    Raises:
        ValueError: ``delta`` not positive, ``samples`` negative, ``points`` of the wrong shape or outside the
            ball, no point at all, or a non-finite gradient.

    Example:
        >>> import numpy as np
        >>> cert = goldstein(lambda x: x / np.linalg.norm(x), np.array([1.0, 0.0]), 0.5, samples=200)
        >>> exact = np.sqrt(1 - 0.5 ** 2)      # closed form for ‖x‖ (derived here)
        >>> bool(exact - 1e-9 <= cert.value <= exact + 0.05)
        True

    References:
        Goldstein, "Optimization of Lipschitz continuous functions", Math. Prog. 13, 1977.
        Burke, Lewis, Overton, SIAM J. Optim. 15(3), 2005.
        Cutkosky, Mehta, Orabona, "Optimal stochastic non-smooth non-convex optimization through online-to-non-convex
        conversion", ICML 2023 (Definitions 4–5).
    """
    grad = _gradient_oracle(objective)
    delta = _check_delta(delta)
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if x.size == 0 or not np.all(np.isfinite(x)):
        raise ValueError("x: expected a non-empty finite vector")
    d = x.shape[0]
    if samples is None:
        samples = default_samples(d)
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 0:
        raise ValueError(f"samples: expected an integer >= 0, got {samples!r}")
    samples = int(samples)
    extra = None
    if points is not None:
        extra = np.asarray(points, dtype=np.float64)
        if extra.ndim == 1:
            extra = extra[None, :]
        if extra.ndim != 2 or extra.shape[1] != d:
            raise ValueError(f"points: expected shape (k, {d}), got {np.shape(points)}")
        if not np.all(np.isfinite(extra)):
            raise ValueError("points: non-finite entry")
        dist = np.linalg.norm(extra - x, axis=1)
        tol = delta * 1e-12 + 1e-15 * (1.0 + np.linalg.norm(x))
        if np.any(dist > delta + tol):
            i = int(np.argmax(dist))
            raise ValueError(f"points: point {i} is at distance {dist[i]:.6g} from x, outside the ball of "
                             f"radius delta={delta:g}; the certificate would not be sound")
        if extra.shape[0] == 0:
            extra = None
    if samples == 0 and extra is None and not include_center:
        raise ValueError("samples: no point to certify with (samples=0, no points, include_center=False)")
    if solver not in SOLVERS:
        raise ValueError(f"solver: unknown solver {solver!r}; choose one of {', '.join(SOLVERS)}")

    rng = np.random.default_rng(seed)
    if not mean_constraint:
        blocks = []
        if include_center:
            blocks.append(x[None, :])
        if extra is not None:
            blocks.append(extra)
        if samples:
            blocks.append(sample_ball(x, delta, samples, rng))
        P = np.vstack(blocks)
        Gr = _eval_gradients(grad, P, d)
        sol = min_norm(Gr, solver=solver)
        weights = sol.weights
        value = sol.value
        gap = sol.gap
    else:
        # groups: each is (rows of P, their uniform weights inside the group)
        P_blocks, groups = [], []
        n_rows = 0

        def add_group(rows: np.ndarray) -> None:
            nonlocal n_rows
            P_blocks.append(rows)
            groups.append(np.arange(n_rows, n_rows + rows.shape[0]))
            n_rows += rows.shape[0]

        if include_center:
            add_group(x[None, :])
        if extra is not None:
            if np.linalg.norm(extra.mean(axis=0) - x) <= 1e-10 * (1.0 + np.linalg.norm(x)):
                add_group(extra)
            else:
                for p in extra:
                    add_group(np.vstack([p, 2.0 * x - p]))
        for y in sample_ball(x, delta, (samples + 1) // 2, rng) if samples else ():
            add_group(np.vstack([y, 2.0 * x - y]))
        P = np.vstack(P_blocks)
        Gr = _eval_gradients(grad, P, d)
        H = np.vstack([Gr[g].mean(axis=0) for g in groups])
        sol = min_norm(H, solver=solver)
        weights = np.zeros(P.shape[0])
        for nu, g in zip(sol.weights, groups):
            weights[g] = nu / len(g)
        weights /= weights.sum()
        value = float(np.linalg.norm(weights @ Gr))
        gap = sol.gap
    ex = None
    if exact and getattr(objective, "has_goldstein", False):
        ex = float(objective.goldstein(x, delta))
    reach = float(np.max(np.linalg.norm(P - x, axis=1)))
    # The radius reported is the points' largest distance from x: δ itself only where they exceed it by no more than
    # the rounding of that computed norm (relative (d + 2)·2^-53 covers the differences, the d squares, their sum
    # and the square root; derived from Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed., §3.1).  A
    # point that rounding moved further (y = x + v at ‖x‖ = 1e8 with δ = 1e-8), or a caller's point accepted within
    # the tolerance above, is reported at its true distance, and describe(δ) then says there is no certificate at δ.
    radius = delta if reach <= delta * (1.0 + (d + 2) * 2.0**-53) else reach
    kind = "mean-constrained upper bound" if mean_constraint else "sampled one-sided"
    return GoldsteinCertificate(point=x, delta=min(reach, radius), epsilon=value, kind=kind, radius_kind="exact",
                                calls=int(P.shape[0]), ball=delta, weights=weights, points=P, gradients=Gr,
                                direction=weights @ Gr, gap=gap, exact=ex, mean_constraint=bool(mean_constraint),
                                solver=solver)


# ----------------------------------------------------------------------------------------------------------------
# the sampled certificate of a model's weights (shared by o2nc.torch.certify and o2nc.jax.certify)


def check_count(name: str, value: Any, low: int) -> int:
    """``value`` as an integer ≥ ``low`` (a ValueError naming ``name`` otherwise)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name}: expected an integer ≥ {low}, got {value!r}")
    return int(value)


def rounding_safe_radius(delta: float, x_norm: float, unit_roundoff: float, remedy: str) -> float:
    """The sampling radius whose points y = x + v, rounded to the weights' dtype (unit roundoff u), stay within δ of
    x: ‖fl(y) − x‖ ≤ (1 + u)‖v‖ + u‖x‖ ≤ δ for ‖v‖ ≤ (δ − u‖x‖)/(1 + u) (derived), less 1e-12 for the float64
    arithmetic of y.  Refused (naming ``delta`` and ``remedy``) when that leaves less than δ/2."""
    u = float(unit_roundoff)
    radius = (delta - u * x_norm) / (1.0 + u) * (1.0 - 1e-12)
    if not radius >= delta / 2:
        raise ValueError(f"delta: {delta:g} is below the resolution of the weights (unit roundoff {u:.3g} times "
                         f"‖x‖ = {x_norm:.4g}); {remedy}")
    return radius


def ball_points(x: np.ndarray, radius: float, samples: int, seed: int, include_center: bool) -> list:
    """x (with ``include_center``) and ``samples`` uniform points of B(x, radius), point i from
    ``default_rng([seed, i])``, so that the points do not depend on how they are batched."""
    return ([x] if include_center else []) + [sample_ball(x, radius, 1, np.random.default_rng([seed, i]))[0]
                                             for i in range(samples)]


def hull_certificate(x: np.ndarray, G: np.ndarray, reach: float, delta: float, stochastic: bool) -> Certificate:
    """The min-norm element of conv(rows of ``G``), gradients at points within ``reach`` ≤ δ of ``x``: a
    ``"sampled one-sided"`` :class:`GoldsteinCertificate` for exact gradients, a ``"stochastic estimate"`` for
    mini-batch ones.  A non-finite gradient is a ValueError naming its point."""
    bad = ~np.all(np.isfinite(G), axis=1)
    if bad.any():
        raise ValueError(f"loss_fn: non-finite gradient at sampled point {int(np.argmax(bad))}")
    sol = min_norm(G)
    if stochastic:
        return Certificate(point=x, delta=reach, epsilon=sol.value, kind="stochastic estimate", calls=len(G),
                           estimate="min-norm hull")
    return GoldsteinCertificate(point=x, delta=reach, epsilon=sol.value, kind="sampled one-sided",
                                radius_kind="exact", calls=len(G), ball=delta, weights=sol.weights,
                                direction=sol.weights @ G, gap=sol.gap, solver=sol.solver)


# ----------------------------------------------------------------------------------------------------------------
# O2NC epoch certificates
# ----------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class EpochCertificate(Certificate):
    """The O2NC epoch certificate recomputed with exact gradients ([CMO23] §3): an :class:`o2nc.Certificate` of kind
    ``"exact-gradient epoch"`` with the min-norm refinement beside it.

    Attributes:
        point: w̄, the mean of the epoch's points (``center`` is an alias).
        delta: r = max_t ‖w_t − w̄‖, exact (``radius`` is an alias).
        epsilon: ‖(1/T) Σ_t ∇F(w_t)‖ (``certificate`` is an alias) — certifies ‖∇F(w̄)‖_r ≤ ε ([CMO23]
            Definition 5: uniform weights over the epoch's points, whose mean is w̄), hence Goldstein (r, ε).
        calls: exact-gradient evaluations spent here, counted apart from the algorithm's budget (``grad_calls``).
        min_norm: min over the hull of the same gradients (Goldstein only; never larger than ``epsilon``).
        weights: the min-norm weights.
        gap: the min-norm solver's relative optimality gap.
    """

    min_norm: float = 0.0
    weights: Any = field(default=None, repr=False)
    gap: float = 0.0

    one_sided = True

    @property
    def center(self) -> Any:
        return self.point

    @property
    def radius(self) -> float:
        return self.delta

    @property
    def certificate(self) -> float:
        return self.epsilon

    @property
    def grad_calls(self) -> int:
        return self.calls

    def __repr__(self) -> str:
        return (f"EpochCertificate(radius={self.delta:.6g}, certificate={self.epsilon:.6g}, "
                f"min_norm={self.min_norm:.6g}, calls={self.calls})")


def epoch_certificate(objective: Any, points: Any, *, solver: str = "wolfe") -> EpochCertificate:
    """Recompute an O2NC epoch's certificate with exact gradients at its points w_1..w_T.

    With w̄ = (1/T) Σ w_t and r = max ‖w_t − w̄‖, exact gradients give ‖∇F(w̄)‖_r ≤ ‖(1/T) Σ_t ∇F(w_t)‖
    ([CMO23] §3, the locality argument).  The min-norm problem over the same gradients gives a Goldstein
    certificate that is never worse (derived here: the uniform weights λ_t = 1/T are feasible for it).

    Args:
        objective: an objective with ``.grad`` or a callable x -> exact gradient.
        points: (T, d) the epoch's gradient points w_t, in order.
        solver: see :func:`min_norm`.

    Returns:
        :class:`EpochCertificate`; ``grad_calls`` = T evaluations, to be counted apart from the run's budget.

    Example:
        >>> import numpy as np
        >>> c = epoch_certificate(lambda x: np.sign(x), np.array([[-0.1], [0.1]]))
        >>> c.radius, c.certificate
        (0.1, 0.0)
    """
    grad = _gradient_oracle(objective)
    W = np.asarray(points, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] == 0:
        raise ValueError(f"points: expected a non-empty (T, d) array, got shape {np.shape(points)}")
    if not np.all(np.isfinite(W)):
        raise ValueError("points: non-finite entry")
    center = W.mean(axis=0)
    radius = float(np.max(np.linalg.norm(W - center, axis=1)))
    Gr = _eval_gradients(grad, W, W.shape[1])
    cert = float(np.linalg.norm(Gr.mean(axis=0)))
    sol = min_norm(Gr, solver=solver)
    weights, best = sol.weights, sol.value
    if best > cert:  # the uniform weights are feasible, so this is rounding: keep the feasible point that is smaller
        weights, best = np.full(W.shape[0], 1.0 / W.shape[0]), cert
    return EpochCertificate(point=center, delta=radius, epsilon=cert, kind="exact-gradient epoch",
                            radius_kind="exact", calls=int(W.shape[0]), min_norm=best, weights=weights, gap=sol.gap)
