"""The online-learner protocol and shared validation.

Online linear optimisation: at round t a learner plays Δ_t, then sees g_t and suffers ⟨g_t, Δ_t⟩. Its regret against a
comparator u is Reg_T(u) = Σ_{t≤T} ⟨g_t, Δ_t − u⟩ (Orabona, *A Modern Introduction to Online Learning*, arXiv
1912.13213, §1). Every learner of this package is a frozen value with three pure methods:

- ``init(params) -> state``: the initial state for increments shaped like ``params`` (a pytree of arrays);
- ``predict(state, hint=None) -> delta``: the play Δ_t (optimistic learners use the hint, a guess of g_t);
- ``update(state, grad) -> state``: the state after the linear loss ⟨grad, ·⟩.

and ``regret_bound(comparator_norm, grad_sq_norms)``: the documented upper bound on Reg_T(u) for every u of that norm,
given the observed ‖g_t‖² (``math.inf`` where no bound applies, e.g. a comparator outside a constraint ball). States
are NamedTuples of arrays; scalars inside are 0-d arrays of the params' backend.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from online_learners import _checks

__all__ = ["Learner", "check_positive", "check_optional_positive"]


@runtime_checkable
class Learner(Protocol):
    def init(self, params: Any) -> Any: ...

    def predict(self, state: Any, hint: Any = None) -> Any: ...

    def update(self, state: Any, grad: Any) -> Any: ...

    def regret_bound(self, comparator_norm: float, grad_sq_norms: Sequence[float]) -> float: ...


def check_positive(name: str, value, owner: str) -> float:
    """A finite number > 0 as a Python float, else a ValueError/TypeError naming ``owner.name``
    (:func:`online_learners._checks.positive`)."""
    return _checks.positive(owner, name, value)


def check_optional_positive(name: str, value, owner: str):
    """As :func:`check_positive`, but ``None`` (no constraint) is accepted."""
    return _checks.positive(owner, name, value, optional=True)


def outside_ball(comparator_norm: float, radius: float | None) -> bool:
    """Whether a comparator of this norm lies outside the learner's constraint ball (no bound applies there)."""
    return radius is not None and comparator_norm > radius * (1 + 1e-12)
