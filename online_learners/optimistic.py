"""Optimistic online gradient descent with hints, in the two-projection and the single-projection forms."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from online_learners import _checks, tree
from online_learners.base import check_optional_positive, check_positive, outside_ball

__all__ = ["OptimisticOGD", "OptimisticOGDState", "FORMS"]

FORMS = ("two_projection", "single_projection")


class OptimisticOGDState(NamedTuple):
    base: Any  # two-projection: Δ̂_t; single-projection: Δ_{t−1} − η(g_{t−1} − h_{t−1}) (0 at t = 1)
    count: Any  # t − 1 (0-d integer array)


@dataclass(frozen=True)
class OptimisticOGD:
    r"""Optimistic projected OGD: before playing, the learner receives a hint h_t (a guess of g_t).

    Two-projection form (Chiang et al., COLT 2012; Rakhlin & Sridharan, COLT 2013), Δ̂_1 = 0:

        Δ_t = Π(Δ̂_t − η h_t),        Δ̂_{t+1} = Π(Δ̂_t − η g_t),

    single-projection form (Joulani, György, Szepesvári 2017's one-projection optimistic MD; the "double optimism"
    update of Patitucci, Jiang, Mokhtari, arXiv 2510.03167, ICLR 2026), with g_0 = h_0 = 0, Δ_0 = 0:

        Δ_t = Π(Δ_{t−1} − η(g_{t−1} − h_{t−1}) − η h_t),

    where Π is the projection on {‖Δ‖ ≤ radius} (none when ``radius=None``). ``predict(state, hint)`` plays Δ_t; a
    missing hint means h_t = 0, and then both forms are projected OGD.

    The single-projection form needs the hint of round t again in ``update``: call ``update(state, g, hint=h)`` with the
    hint given to ``predict``. The two-projection form ignores it.

    Regret, for both forms and every u with ‖u‖ ≤ radius (derived here, as
    shown below):

        Reg_T(u) ≤ ‖u‖²/(2η) + (η/2) Σ_t ‖g_t − h_t‖².

    Two-projection: the optimistic-MD inequality ⟨g_t, Δ_t − u⟩ ≤ (‖u − Δ̂_t‖² − ‖u − Δ̂_{t+1}‖²)/(2η)
    + ⟨g_t − h_t, Δ_t − Δ̂_{t+1}⟩ − (‖Δ_t − Δ̂_t‖² + ‖Δ_t − Δ̂_{t+1}‖²)/(2η) (Rakhlin & Sridharan, Lemma 1), then
    Young's inequality on the middle term. Single-projection: it is projected OGD on m_t = g_t − h_t + h_{t+1};
    telescoping Σ⟨h_t, Δ_t − u⟩ against Σ⟨h_{t+1}, Δ_{t+1} − u⟩ leaves Σ⟨g_t − h_t, Δ_t − Δ_{t+1}⟩ minus the movement
    terms ‖Δ_t − Δ_{t+1}‖²/(2η), and Young's inequality again. ``regret_bound`` reads ``grad_sq_norms`` as the
    prediction errors ‖g_t − h_t‖², which are the ‖g_t‖² when no hints were given.

    Args:
        lr: step size η (> 0).
        radius: constraint radius D (> 0) or None.
        form: ``"two_projection"`` (default) or ``"single_projection"``.

    Example:
        >>> import numpy as np
        >>> from online_learners import OptimisticOGD
        >>> learner = OptimisticOGD(lr=0.5, radius=1.0)
        >>> state = learner.init(np.zeros(2))
        >>> learner.predict(state, hint=np.array([1.0, 0.0]))  # plays against the hint before seeing g_1
        array([-0.5,  0. ])
        >>> state = learner.update(state, np.array([1.0, 0.0]))
        >>> learner.predict(state, hint=np.array([1.0, 0.0]))
        array([-1.,  0.])
    """

    lr: float
    radius: float | None = None
    form: str = "two_projection"

    uses_hint = True  # the play reads the hint (online_learners.base.reads_hint)

    def __post_init__(self):
        _checks.freeze(
            self,
            lr=check_positive("lr", self.lr, "OptimisticOGD"),
            radius=check_optional_positive("radius", self.radius, "OptimisticOGD"),
            form=_checks.choice("OptimisticOGD", "form", self.form, FORMS),
        )

    def init(self, params) -> OptimisticOGDState:
        return OptimisticOGDState(base=tree.tree_zeros_like(params), count=tree.counter_like(params))

    def predict(self, state: OptimisticOGDState, hint=None):
        if hint is None:
            return tree.tree_project_ball(state.base, self.radius)
        return tree.tree_project_ball(tree.tree_axpy(-self.lr, hint, state.base), self.radius)

    def update(self, state: OptimisticOGDState, grad, hint=None) -> OptimisticOGDState:
        _checks.gradient("OptimisticOGD", grad, state.base)
        if self.form == "two_projection":
            base = tree.tree_project_ball(tree.tree_axpy(-self.lr, grad, state.base), self.radius)
        else:
            played = self.predict(state, hint)
            error = grad if hint is None else tree.tree_sub(grad, hint)
            base = tree.tree_axpy(-self.lr, error, played)
        return OptimisticOGDState(base=base, count=state.count + 1)

    def regret_bound(self, comparator_norm: float, grad_sq_norms: Sequence[float], dim=None) -> float:
        if outside_ball(comparator_norm, self.radius):
            return math.inf
        return comparator_norm * comparator_norm / (2 * self.lr) + self.lr / 2 * sum(float(v) for v in grad_sq_norms)
