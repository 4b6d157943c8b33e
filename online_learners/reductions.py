"""Cutkosky–Orabona black-box reductions: one-dimensional magnitude × direction, and unconstrained → ball."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from online_learners import _checks, tree
from online_learners._ops import call_bound, check_learner, update_with_hint, xp_of
from online_learners.base import check_positive, outside_ball, reads_hint

__all__ = ["DirectionMagnitude", "DirectionMagnitudeState", "BallConstraint", "BallConstraintState"]


class DirectionMagnitudeState(NamedTuple):
    magnitude: Any  # state of the 1-D learner (over a 0-d array)
    direction: Any  # state of the direction learner (over the params' pytree)


@dataclass(frozen=True)
class DirectionMagnitude:
    r"""The 1-D → d-D reduction: play Δ_t = z_t v_t, a signed magnitude times a direction in the unit ball.

    Cutkosky & Orabona, *Black-box reductions for parameter-free online learning in Banach spaces*, COLT 2018
    (arXiv 1802.06293), §3. The magnitude learner sees the scalar s_t = ⟨g_t, v_t⟩ (on a 0-d array),
    the direction learner sees g_t:

        Δ_t = z_t · v_t,    magnitude.update(s_t),    direction.update(g_t).

    Regret identity (exact; Cutkosky & Orabona, Theorem 2): for every u ≠ 0,

        Reg_T(u) = Σ_t s_t (z_t − ‖u‖) + ‖u‖ Σ_t ⟨g_t, v_t − u/‖u‖⟩ = Reg^{1D}_T(‖u‖) + ‖u‖ Reg^B_T(u/‖u‖),

    from ⟨g, z v − u⟩ = s(z − ‖u‖) + ‖u‖⟨g, v − u/‖u‖⟩. Since |s_t| ≤ ‖g_t‖ when ‖v_t‖ ≤ 1, the bound returned is
    ``magnitude.regret_bound(‖u‖, ‖g‖², dim=1) + ‖u‖ · direction.regret_bound(1, ‖g‖², dim)`` (every bound of this
    package is non-decreasing in the gradient norms). With KT as magnitude and OGD on the unit ball as direction this
    is parameter-free and dimension-free: O(ε + ‖u‖√(T ln(1 + ‖u‖T/ε)) + ‖u‖ G√T).

    Args:
        magnitude: a learner on 0-d arrays (e.g. ``KT()`` or ``ONSBettor()``).
        direction: a learner whose plays stay in the unit ball (it must have ``radius`` ≤ 1, e.g.
            ``OGD(lr, radius=1)``).

    Example:
        >>> import numpy as np
        >>> from online_learners import KT, OGD, DirectionMagnitude
        >>> learner = DirectionMagnitude(KT(eps=1.0), OGD(lr=1.0, radius=1.0))
        >>> state = learner.update(learner.init(np.zeros(2)), np.array([0.0, -1.0]))
        >>> learner.predict(state)  # direction (0, 1); magnitude: KT's first bet is 0
        array([0., 0.])
        >>> state = learner.update(state, np.array([0.0, -1.0]))
        >>> learner.predict(state)  # KT bets X/(t+1)·W = 1/3 of its wealth 1
        array([0.        , 0.33333333])
    """

    magnitude: Any
    direction: Any

    def __post_init__(self):
        check_learner("magnitude", self.magnitude, "DirectionMagnitude")
        check_learner("direction", self.direction, "DirectionMagnitude")
        radius = getattr(self.direction, "radius", None)
        if radius is None or not (radius <= 1):
            raise ValueError(
                "DirectionMagnitude: `direction` must play in the unit ball (a learner with `radius` <= 1), "
                f"got {self.direction!r}"
            )

    def init(self, params) -> DirectionMagnitudeState:
        return DirectionMagnitudeState(
            magnitude=self.magnitude.init(tree.scalar_like(0.0, params)),
            direction=self.direction.init(params),
        )

    def predict(self, state: DirectionMagnitudeState, hint=None):
        z = self.magnitude.predict(state.magnitude)
        return tree.tree_scale(self.direction.predict(state.direction), z)

    def update(self, state: DirectionMagnitudeState, grad) -> DirectionMagnitudeState:
        v = self.direction.predict(state.direction)
        _checks.gradient("DirectionMagnitude", grad, v)
        s = tree.tree_vdot(grad, v)
        return DirectionMagnitudeState(
            magnitude=self.magnitude.update(state.magnitude, s),
            direction=self.direction.update(state.direction, grad),
        )

    def regret_bound(self, comparator_norm: float, grad_sq_norms: Sequence[float], dim=None) -> float:
        r = float(comparator_norm)
        total = call_bound(self.magnitude, r, grad_sq_norms, 1)
        if r > 0:
            total += r * call_bound(self.direction, 1.0, grad_sq_norms, dim)
        return total


class BallConstraintState(NamedTuple):
    inner: Any  # the unconstrained learner's state


@dataclass(frozen=True)
class BallConstraint:
    r"""Unconstrained learner → learner on the ball {‖Δ‖ ≤ radius} (Cutkosky & Orabona, COLT 2018, §4).

    The inner learner plays x̂_t; the learner plays its projection Δ_t = Π(x̂_t) and feeds the inner learner the
    surrogate gradient (Cutkosky & Orabona, COLT 2018, §4)

        g̃_t = ½ (g_t + ‖g_t‖ ∇S(x̂_t)),    S(x) = ‖x − Π(x)‖,
        ∇S(x) = (x − Π(x))/‖x − Π(x)‖ outside the ball, 0 inside.

    Regret (derived here; the factor 2 is Cutkosky & Orabona's): for ‖u‖ ≤ radius,
    ⟨g, Π(x̂) − u⟩ ≤ ⟨g, x̂ − u⟩ + ‖g‖S(x̂) ≤ 2⟨g̃, x̂ − u⟩, by Cauchy–Schwarz and by convexity of ⟨g, ·⟩ + ‖g‖S with
    S(u) = 0. Hence Reg_T(u) ≤ 2 Reg^inner_T(u; g̃), and ‖g̃_t‖ ≤ ‖g_t‖, so the bound returned is
    2 · inner.regret_bound(‖u‖, ‖g‖², dim); ``math.inf`` for ‖u‖ > radius. This is how a parameter-free learner meets
    O2NC's constraint ‖Δ‖ ≤ D.

    Args:
        learner: the unconstrained learner.
        radius: the ball's radius D (> 0).

    Example:
        >>> import numpy as np
        >>> from online_learners import OGD, BallConstraint
        >>> learner = BallConstraint(OGD(lr=1.0), radius=1.0)
        >>> state = learner.update(learner.init(np.zeros(2)), np.array([0.0, -4.0]))
        >>> learner.predict(state)
        array([0., 1.])
    """

    learner: Any
    radius: float

    def __post_init__(self):
        check_learner("learner", self.learner, "BallConstraint")
        _checks.freeze(self, radius=check_positive("radius", self.radius, "BallConstraint"))

    def init(self, params) -> BallConstraintState:
        return BallConstraintState(inner=self.learner.init(params))

    @property
    def uses_hint(self):
        """The inner learner's (the play is its projected play): :func:`online_learners.base.reads_hint`."""
        return reads_hint(self.learner)

    def predict(self, state: BallConstraintState, hint=None):
        return tree.tree_project_ball(self.learner.predict(state.inner, hint), self.radius)

    def update(self, state: BallConstraintState, grad, hint=None) -> BallConstraintState:
        """The surrogate at the inner play x̂_t of this round (the hinted one where a hint was played: the
        derivation above needs the x̂_t whose projection was played), then the inner update (given the hint where
        the inner update takes one)."""
        raw = self.learner.predict(state.inner, hint)
        _checks.gradient("BallConstraint", grad, raw)
        outside = tree.tree_sub(raw, tree.tree_project_ball(raw, self.radius))
        dist = tree.tree_norm(outside)
        xp = xp_of(dist)
        positive = dist > 0
        # ‖g‖ ∇S(x̂): zero inside the ball (dist = 0), the unit outward normal times ‖g‖ outside.
        factor = xp.where(positive, tree.tree_norm(grad) / xp.where(positive, dist, 1.0), 0.0)
        surrogate = tree.tree_map(lambda g, o: 0.5 * (g + factor * o), grad, outside)
        return BallConstraintState(inner=update_with_hint(self.learner, state.inner, surrogate, hint))

    def regret_bound(self, comparator_norm: float, grad_sq_norms: Sequence[float], dim=None) -> float:
        if outside_ball(comparator_norm, self.radius):
            return math.inf
        return 2 * call_bound(self.learner, comparator_norm, grad_sq_norms, dim)

