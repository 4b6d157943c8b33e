"""Projected online gradient descent (Zinkevich 2003), with a constant or an anytime step."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from online_learners import _checks, tree
from online_learners.base import check_optional_positive, check_positive, outside_ball

__all__ = ["OGD", "OGDState"]


class OGDState(NamedTuple):
    delta: Any  # Δ_t, the current play (a pytree)
    count: Any  # t − 1, the number of updates so far (0-d integer array, exact past 2^24 in float32 runs)


@dataclass(frozen=True)
class OGD:
    r"""Projected online gradient descent on the ball {‖Δ‖ ≤ radius} (global L2 norm over the pytree).

    Update (Zinkevich, ICML 2003; Orabona, arXiv 1912.13213, Alg. 2.1):

        Δ_1 = 0,    Δ_{t+1} = Π_{‖·‖≤radius}(Δ_t − η_t g_t),    Π(v) = v · min(1, radius/‖v‖),

    with η_t = lr (``anytime=False``) or η_t = lr/√t (``anytime=True``). ``radius=None`` drops the projection.

    Regret against any u with ‖u‖ ≤ radius (any u when unconstrained), G_t = ‖g_t‖:

    - constant step: Reg_T(u) ≤ ‖u‖²/(2·lr) + (lr/2) Σ_t G_t²  (Orabona, Thm 2.13, with Δ_1 = 0);
    - anytime step, radius D: Reg_T(u) ≤ ‖u‖²/(2η_1) + (2D)²(1/(2η_T) − 1/(2η_1)) + ½ Σ_t η_t G_t²
      (Orabona, Thm 4.14's telescoping with non-increasing steps on a set of diameter 2D; derived here, and ≤ 3DG√T
      at lr = D/G, using Σ_{t≤T} t^{−1/2} ≤ 2√T). No bound is claimed for the unconstrained anytime variant.

    Inside O2NC with radius D = δ/T and lr = D/(G√T), restarted every epoch: Reg ≤ DG√T per epoch (the setting of
    Cutkosky, Mehta, Orabona, ICML 2023; derived here from the constant-step bound: D²/(2η) + ηTG²/2 = DG√T).

    Args:
        lr: step size η (> 0), or its scale in the anytime schedule.
        radius: constraint radius D (> 0), or None for unconstrained.
        anytime: use η_t = lr/√t instead of a constant step.

    Example:
        >>> import numpy as np
        >>> from online_learners import OGD
        >>> learner = OGD(lr=0.5, radius=1.0)
        >>> state = learner.init(np.zeros(2))
        >>> state = learner.update(state, np.array([4.0, 0.0]))
        >>> learner.predict(state)
        array([-1.,  0.])
    """

    lr: float
    radius: float | None = None
    anytime: bool = False

    def __post_init__(self):
        _checks.freeze(
            self,
            lr=check_positive("lr", self.lr, "OGD"),
            radius=check_optional_positive("radius", self.radius, "OGD"),
            anytime=_checks.boolean("OGD", "anytime", self.anytime),
        )

    def init(self, params) -> OGDState:
        return OGDState(delta=tree.tree_zeros_like(params), count=tree.counter_like(params))

    def predict(self, state: OGDState, hint=None):
        return state.delta

    def update(self, state: OGDState, grad) -> OGDState:
        _checks.gradient("OGD", grad, state.delta)
        count = state.count + 1
        if self.anytime:
            t = tree.count_as(count, tree.tree_leaves(state.delta)[0])
            step = self.lr / tree.namespace(t).sqrt(t)
        else:
            step = self.lr
        delta = tree.tree_project_ball(tree.tree_axpy(-step, grad, state.delta), self.radius)
        return OGDState(delta=delta, count=count)

    @property
    def recovers_previous_play(self) -> bool:
        """Whether :meth:`previous_play` applies: without a projection the update can be undone elementwise."""
        return self.radius is None

    def previous_play(self, state: OGDState, grad):
        """Δ_t from the state after update t and g_t, without storing it: Δ_t = Δ_{t+1} + η_t g_t (the update above
        without Π, solved for Δ_t). Exact where the update rounded nothing, else within one rounding of Δ_t. Only
        for ``radius=None`` (:attr:`recovers_previous_play`): a projection cannot be undone."""
        if self.radius is not None:
            raise ValueError("OGD.previous_play: a projected update (radius given) cannot be undone")
        if self.anytime:
            t = tree.count_as(state.count, tree.tree_leaves(state.delta)[0])
            step = self.lr / tree.namespace(t).sqrt(t)
        else:
            step = self.lr
        return tree.tree_map(lambda d, g: d - (-step) * g, state.delta, grad)

    def regret_bound(self, comparator_norm: float, grad_sq_norms: Sequence[float]) -> float:
        if outside_ball(comparator_norm, self.radius):
            return math.inf
        sq = [float(v) for v in grad_sq_norms]
        if not self.anytime:
            return comparator_norm**2 / (2 * self.lr) + self.lr / 2 * sum(sq)
        if self.radius is None:
            return math.inf
        steps = [self.lr / math.sqrt(t) for t in range(1, len(sq) + 1)]
        if not steps:
            return 0.0
        diameter_sq = (2 * self.radius) ** 2
        return (
            comparator_norm**2 / (2 * steps[0])
            + diameter_sq * (1 / (2 * steps[-1]) - 1 / (2 * steps[0]))
            + 0.5 * sum(e * s for e, s in zip(steps, sq))
        )
