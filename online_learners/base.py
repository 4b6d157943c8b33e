"""The online-learner protocol and shared validation.

Online linear optimisation: at round t a learner plays Δ_t, then sees g_t and suffers ⟨g_t, Δ_t⟩. Its regret against a
comparator u is Reg_T(u) = Σ_{t≤T} ⟨g_t, Δ_t − u⟩ (Orabona, *A Modern Introduction to Online Learning*, arXiv
1912.13213, §1). Every learner of this package is a frozen value with three pure methods:

- ``init(params) -> state``: the initial state for increments shaped like ``params`` (a pytree of arrays);
- ``predict(state, hint=None) -> delta``: the play Δ_t (optimistic learners use the hint, a guess of g_t);
- ``update(state, grad) -> state``: the state after the linear loss ⟨grad, ·⟩.

and ``regret_bound(comparator_norm, grad_sq_norms)``: the documented upper bound on Reg_T(u) for every u of that norm,
given the observed ‖g_t‖² (``math.inf`` where no bound applies, e.g. a comparator outside a constraint ball). States
are NamedTuples of arrays; scalars inside are 0-d arrays of the params' backend. A learner whose update reads the
round's hint again (the single-projection optimistic form) takes it as ``update(state, grad, hint=...)``; the wrappers
(``Restarting``, ``BallConstraint``) pass it on (``online_learners._ops.update_with_hint``).

The bounds are proven for the plays as exact arithmetic computes them. A floating-point run suffers the losses of its
rounded plays: at most a few unit roundoffs times Σ_t ‖g_t‖‖Δ_t‖ more, which is negligible unless the plays grow
geometrically. Bettors do grow them after a long run of same-sign coins at the bound: ``KT(lipschitz=1)`` on the
gradients +1 eighty times then −1 eighty times (d = 1) lost 1.1e7 in float64 against a bound of 0.94, the wealth of
about 2^80 cancelling back to O(1) (measured; the same stream in exact rational arithmetic meets the bound).

A learner may also declare fast paths beside its pure methods, as ``torch.optim`` keeps ``_single_tensor_*`` and
``_multi_tensor_*`` side by side: a class attribute ``multi_tensor_kernels``, a tuple of :class:`MultiTensorKernel`
(one per state layout), which the torch shell (``o2nc.torch``) selects by the learner's own class (a subclass
declares its own) and the tests hold to ``predict``/``update``.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Protocol, runtime_checkable

from online_learners import _checks

__all__ = ["Learner", "MultiTensorKernel", "declared_kernels", "check_positive", "check_optional_positive",
           "reads_hint"]


def reads_hint(learner) -> bool | None:
    """Whether ``learner.predict``'s play depends on its ``hint``: the value a learner's class declares as
    ``uses_hint`` (``OptimisticOGD``: True; ``Restarting`` and ``BallConstraint`` pass their inner learner's on), False
    for the other learners of this package (their ``predict`` takes a hint and ignores it), None for a learner defined
    elsewhere that does not declare it (unknown). ``o2nc.minimize`` refuses a hint for a learner that ignores it."""
    if hasattr(type(learner), "uses_hint"):
        value = learner.uses_hint
        return None if value is None else bool(value)
    return False if (type(learner).__module__ or "").split(".")[0] == "online_learners" else None


@runtime_checkable
class Learner(Protocol):
    def init(self, params: Any) -> Any: ...

    def predict(self, state: Any, hint: Any = None) -> Any: ...

    def update(self, state: Any, grad: Any) -> Any: ...

    def regret_bound(self, comparator_norm: float, grad_sq_norms: Sequence[float]) -> float: ...


class MultiTensorKernel(NamedTuple):
    """A learner's multi-tensor (``torch._foreach_*``) kernel for one state layout, declared on the learner's class.

    The kernel sees a param group's learner state as two dicts: ``per`` maps a field of the state (its dotted path in
    the learner's NamedTuple state, e.g. ``"delta"``) to the list of that field's tensors, one per parameter, and
    ``shared`` maps a field to its group-level value (0-d tensors such as a step count). Norms are global over the
    lists. Functions (torch is imported inside them, so the learners import without it):

    - ``play(learner, per, shared) -> list``: Δ_t;
    - ``update(learner, per, shared, grads, played, grad_sq) -> new shared``: the loss ⟨g_t, ·⟩ applied to the lists
      in place; ``played`` is Δ_t when ``update_uses_play`` (else None), ``grad_sq`` is ‖g_t‖² when
      ``uses_grad_sq`` (else None or, when known, offered);
    - ``add_play(learner, per, shared, ys, coef, scratch)`` (optional): y_i ← y_i + coef·Δ_{t,i} without forming Δ_t
      (``scratch``: dead tensors shaped like ``ys`` to reuse, or None);
    - ``rate(learner, shared, grad_sq, dtype) -> (η_t, new shared)`` and ``descend(deltas, grads, step, factor)``
      (optional, for projected descent Δ_{t+1} = Π_{‖·‖≤radius}(Δ_t − η_t g_t) with the learner's ``radius``):
      the update split so that a caller can take ‖Δ_t − η_t g_t‖ first and then apply Δ ← (Δ − ηg)·factor block
      by block;
    - ``coordinatewise``: the update acts on each coordinate alone given ``shared``, so it may run on any slice of
      the lists (block by block);
    - ``fused`` (optional): the name of the fused CPU sweep that computes this same step in one pass per tensor
      (``o2nc/torch/_cpu_kernels.c``, driven by ``o2nc/torch/_native.py``): ``"descent"`` where ``descend`` is
      Δ ← (Δ − ηg)·factor, ``"kt"`` for KT's coin-betting update. The tests hold it to this kernel and the core.
    """

    fields: tuple
    shared_fields: tuple
    play: Callable
    update: Callable
    add_play: Callable | None = None
    update_uses_play: bool = False
    uses_grad_sq: bool = False
    rate: Callable | None = None
    descend: Callable | None = None
    coordinatewise: bool = False
    fused: str | None = None


def declared_kernels(learner) -> tuple:
    """The :class:`MultiTensorKernel` s the learner's own class declares (``multi_tensor_kernels`` in its class body;
    a subclass, which may change the update, inherits none)."""
    return tuple(type(learner).__dict__.get("multi_tensor_kernels", ()))


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
