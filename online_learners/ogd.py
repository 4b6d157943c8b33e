"""Projected online gradient descent (Zinkevich 2003), with a constant or an anytime step."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from online_learners import _checks, tree
from online_learners.base import MultiTensorKernel, check_optional_positive, check_positive, outside_ball

__all__ = ["OGD", "OGDState", "LazilyProjectedOGD", "LazilyProjectedOGDState"]


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

    def step_size(self, t):
        """η_t: ``lr``, or lr/√t with ``anytime=True`` (t ≥ 1 the update's number, an array of the parameters'
        floating dtype, e.g. ``tree.count_as(count, leaf)``, or a scalar of it)."""
        if not self.anytime:
            return self.lr
        return self.lr / tree.namespace(t).sqrt(t)

    def _descend(self, state: OGDState, grad) -> tuple:
        """(v = Δ_t − η_t g_t, t): the update before its projection."""
        _checks.gradient("OGD", grad, state.delta)
        count = state.count + 1
        step = self.step_size(tree.count_as(count, tree.tree_leaves(state.delta)[0]) if self.anytime else None)
        return tree.tree_axpy(-step, grad, state.delta), count

    def update(self, state: OGDState, grad) -> OGDState:
        v, count = self._descend(state, grad)
        return OGDState(delta=tree.tree_project_ball(v, self.radius), count=count)

    @property
    def reports_play_norm(self) -> bool:
        """Whether :meth:`update_and_norm` applies: the projection takes ‖Δ_t − η_t g_t‖ anyway, so the norm of the
        next play comes with it (``o2nc.conversion.step`` carries it for the path bound).  Not for a subclass that
        replaces ``init``, ``update`` or ``predict``: its update is not this one."""
        own = all(getattr(type(self), name) is getattr(OGD, name) for name in ("init", "update", "predict"))
        return self.radius is not None and own

    def update_and_norm(self, state: OGDState, grad) -> tuple:
        """(:meth:`update`'s state, ‖Δ_{t+1}‖ = ‖v‖·min(1, D/‖v‖) with v = Δ_t − η_t g_t): the same Δ_{t+1} as
        :meth:`update`, and its norm within one rounding of ``tree_norm(Δ_{t+1})`` (``tree.tree_project_ball_norm``).
        Only with a radius (:attr:`reports_play_norm`)."""
        if self.radius is None:
            raise ValueError("OGD.update_and_norm: only a projected update (radius given) has the norm on the way")
        v, count = self._descend(state, grad)
        delta, norm = tree.tree_project_ball_norm(v, self.radius)
        return OGDState(delta=delta, count=count), norm

    @property
    def recovers_previous_play(self) -> bool:
        """Whether :meth:`previous_play` applies: without a projection the update can be undone elementwise."""
        return self.radius is None

    def previous_play(self, state: OGDState, grad):
        """Δ_t from the state after update t and g_t, without storing it: Δ_t = Δ_{t+1} + η_t g_t (the update above
        without Π, solved for Δ_t). Exact where the update rounded nothing, else within one rounding of Δ_t. Only
        for ``radius=None`` (:attr:`recovers_previous_play`): a projection cannot be undone (but see
        :meth:`lazily_projected`)."""
        if self.radius is not None:
            raise ValueError("OGD.previous_play: a projected update (radius given) cannot be undone")
        return self._ascend(state.delta, state.count, grad)

    def _ascend(self, v, count, grad):
        """Δ_t = v + η_t g_t: the descent v = Δ_t − η_t g_t of update t (``count`` = t) solved for Δ_t."""
        step = self.step_size(tree.count_as(count, tree.tree_leaves(v)[0]) if self.anytime else None)
        return tree.tree_map(lambda d, g: d - (-step) * g, v, grad)

    @property
    def projects_lazily(self) -> bool:
        """Whether :meth:`lazily_projected` gives this learner's plays: a radius, and OGD's own update (not a
        subclass that replaces ``init``, ``update`` or ``predict``)."""
        return self.reports_play_norm

    def lazily_projected(self) -> LazilyProjectedOGD:
        """This learner with its projection kept as a factor (:class:`LazilyProjectedOGD`): the same plays, from a
        state that can be undone, for a shell that recovers the previous play instead of storing it."""
        return LazilyProjectedOGD(self)

    def regret_bound(self, comparator_norm: float, grad_sq_norms: Sequence[float]) -> float:
        if outside_ball(comparator_norm, self.radius):
            return math.inf
        sq = [float(v) for v in grad_sq_norms]
        if not self.anytime:
            return comparator_norm * comparator_norm / (2 * self.lr) + self.lr / 2 * sum(sq)
        if self.radius is None:
            return math.inf
        steps = [self.lr / math.sqrt(t) for t in range(1, len(sq) + 1)]
        if not steps:
            return 0.0
        diameter_sq = (2 * self.radius) * (2 * self.radius)
        spread = 1 / (2 * steps[-1]) - 1 / (2 * steps[0])  # 0 after one round, where D² = inf must not make NaN
        return (
            comparator_norm * comparator_norm / (2 * steps[0])
            + (diameter_sq * spread if spread > 0 else 0.0)
            + 0.5 * sum(e * s for e, s in zip(steps, sq))
        )


class LazilyProjectedOGDState(NamedTuple):
    direction: Any  # v_t = Δ_{t−1} − η_{t−1} g_{t−1}, the play before its projection (a pytree); Δ_1's is 0
    scale: Any  # the projection's factor min(1, D/‖v_t‖) (0-d, the norm's dtype): Δ_t = scale · v_t
    count: Any  # t − 1, as ``OGDState.count``


@dataclass(frozen=True)
class LazilyProjectedOGD:
    r"""Projected OGD (:class:`OGD`) with its projection applied lazily: the state keeps v_t = Δ_{t−1} − η g_{t−1}
    and the factor c_t = min(1, D/‖v_t‖) of Π(v_t) = c_t·v_t, and plays Δ_t = c_t·v_t.

        v_{t+1} = c_t v_t − η_t g_t,    c_{t+1} = D / max(‖v_{t+1}‖, D),    Δ_{t+1} = c_{t+1} v_{t+1}

    These are :class:`OGD`'s plays: bit for bit operation by operation (numpy, torch, jax outside ``jit``; the factor
    and the product are OGD's own: ``tree.tree_ball_factor``, ``tree.tree_scale_by_factor``), and under ``jit``
    within the rounding of the norm's reduction, which XLA may fuse and order differently in the two programs (one
    unit in the last place of the factor). What the lazy form adds is that an update can be undone elementwise:
    Δ_t = v_{t+1} + η_t g_t, as for unconstrained OGD, so a shell that recovers the anchor of O2NC from its params
    (``o2nc.jax.o2nc`` with ``store_anchor=None``) needs no stored anchor with a radius either, and an XLA step
    writes v in place and reads it once for its norm.

    Args:
        ogd: the learner whose plays these are (with or without a radius; without one c_t = 1).

    Example:
        >>> import numpy as np
        >>> from online_learners import OGD
        >>> lazy = OGD(lr=0.5, radius=1.0).lazily_projected()
        >>> state = lazy.update(lazy.init(np.zeros(2)), np.array([4.0, 0.0]))
        >>> lazy.predict(state), lazy.previous_play(state, np.array([4.0, 0.0]))
        (array([-1.,  0.]), array([0., 0.]))
    """

    ogd: OGD

    def __post_init__(self):
        if not isinstance(self.ogd, OGD):
            raise TypeError(f"LazilyProjectedOGD: `ogd` must be an OGD learner, got {self.ogd!r}")

    def init(self, params) -> LazilyProjectedOGDState:
        leaves = tree.tree_leaves(params)
        xp = tree.namespace(params)
        dtype = leaves[0].dtype
        for x in leaves[1:]:  # the norm's dtype, as tree_norm's sum of per-leaf terms promotes it
            dtype = xp.result_type(dtype, x.dtype)
        one = tree.scalar_like(1, params)
        return LazilyProjectedOGDState(direction=tree.tree_zeros_like(params), scale=xp.astype(one, dtype),
                                       count=tree.counter_like(params))

    def predict(self, state: LazilyProjectedOGDState, hint=None):
        if self.ogd.radius is None:
            return state.direction
        return tree.tree_scale_by_factor(state.direction, state.scale)

    def update(self, state: LazilyProjectedOGDState, grad) -> LazilyProjectedOGDState:
        return self.update_and_norm(state, grad)[0]

    @property
    def reports_play_norm(self) -> bool:
        """As :attr:`OGD.reports_play_norm`: with a radius the norm of the next play comes with the update."""
        return self.ogd.radius is not None

    def update_and_norm(self, state: LazilyProjectedOGDState, grad) -> tuple:
        """(the updated state, ‖Δ_{t+1}‖ = ‖v_{t+1}‖·c_{t+1}), as :meth:`OGD.update_and_norm`."""
        return self.rescale(self.descend(state, grad))

    #: :meth:`update_and_norm` is :meth:`rescale` after :meth:`descend`: an elementwise pass, then scalars from a norm.
    updates_in_two_passes = True

    def descend(self, state: LazilyProjectedOGDState, grad) -> LazilyProjectedOGDState:
        """The elementwise pass of the update: v_{t+1} = c_t v_t − η_t g_t (the count advanced, the factor still
        c_t until :meth:`rescale`). A shell that must keep the old state on a skipped update selects between this
        state and the old one elementwise, before the norm reads v (so that XLA writes v once, in place)."""
        v, count = self.ogd._descend(OGDState(delta=self.predict(state), count=state.count), grad)
        return LazilyProjectedOGDState(direction=v, scale=state.scale, count=count)

    def rescale(self, state: LazilyProjectedOGDState) -> tuple:
        """(the state with c = min(1, D/‖v‖) of its direction v, ‖c·v‖): the scalar half of the update. On a
        state that is already rescaled it gives the same factor again (the same norm of the same v)."""
        if self.ogd.radius is None:
            return state, tree.tree_norm(state.direction)
        factor, norm = tree.tree_ball_factor(state.direction, self.ogd.radius)
        # in the dtype ``init`` gave the scale (the norm's dtype skips empty leaves on some backends; widening a
        # factor is exact, so the plays are unchanged and a scan's carry keeps its type)
        factor = tree.namespace(state.direction).astype(factor, state.scale.dtype)
        return state._replace(scale=factor), norm * factor

    @property
    def lr(self):
        """The step size of the OGD whose plays these are."""
        return self.ogd.lr

    @property
    def radius(self):
        """The radius of the OGD whose plays these are (every play has ‖Δ‖ ≤ radius)."""
        return self.ogd.radius

    @property
    def anytime(self):
        return self.ogd.anytime

    recovers_previous_play = True

    def previous_play(self, state: LazilyProjectedOGDState, grad):
        """Δ_t from the state after update t and g_t: Δ_t = v_{t+1} + η_t g_t, within one rounding of Δ_t (exact
        where the update rounded nothing), with or without a radius."""
        return self.ogd._ascend(state.direction, state.count, grad)

    def regret_bound(self, comparator_norm: float, grad_sq_norms: Sequence[float]) -> float:
        """:meth:`OGD.regret_bound`: the plays are OGD's."""
        return self.ogd.regret_bound(comparator_norm, grad_sq_norms)


# --- fast paths beside the learner --------------------------------------------------------------------------------
# The multi-tensor kernel of the torch shell (``torch._foreach_*`` over a param group's lists, declared below as
# ``OGD.multi_tensor_kernels``) and the in-place numpy step of ``o2nc.minimize`` (``o2nc.conversion.fused``): the
# update above, operation for operation, written into buffers the caller owns. torch is imported inside the kernels.


def _foreach_axpy_(ys: list, xs: list, coef) -> None:
    """y_i ← y_i + coef · x_i for every i; ``coef`` a Python number or a 0-d tensor (no host sync either way)."""
    import torch

    if not ys:
        return
    if isinstance(coef, torch.Tensor):
        torch._foreach_addcmul_(ys, xs, [coef] * len(xs))
    elif coef != 0:
        torch._foreach_add_(ys, xs, alpha=coef)


def _projection_factor(norm, radius):
    """D/max(‖v‖, D) = min(1, D/‖v‖) as a 0-d tensor of ``norm``'s dtype: Π(v) = v·factor (``tree_project_ball``)."""
    import torch

    bound = torch.as_tensor(radius, dtype=norm.dtype, device=norm.device)
    return bound / torch.maximum(norm, bound)


def _multi_tensor_project_(deltas: list, radius) -> None:
    """Π_{‖·‖≤D}(v) in place over the lists (the global norm). On the CPU the norm is taken with float64 squares: a
    float32 v whose squares overflow still has its finite norm, so the play lands on the sphere instead of
    collapsing to 0."""
    import torch

    if radius is None or not deltas:
        return
    if deltas[0].device.type == "cpu":
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(d, dtype=torch.float64)
                                                     for d in deltas]))
    else:
        norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(deltas)))
    torch._foreach_mul_(deltas, _projection_factor(norm, radius).to(deltas[0].dtype))


def _multi_tensor_play(learner, per, shared):
    """Δ_t: the state's own buffers (no copy)."""
    return per["delta"]


def _multi_tensor_rate(learner, shared, grad_sq, dtype=None):
    """(η_t, new shared) with :meth:`OGD.step_size`; t, an integer counter, is taken in the parameters' ``dtype`` as
    ``update`` does (``tree.count_as``)."""
    count = shared["count"] + 1
    if not learner.anytime:
        return learner.lr, {"count": count}
    t = count.to(dtype) if dtype is not None and not count.is_floating_point() else count
    return learner.step_size(t), {"count": count}


def _multi_tensor_descend_(deltas: list, grads: list, step, factor=None) -> None:
    """Δ ← (Δ − η g)·factor in place (``factor`` the projection's, or None for no projection)."""
    import torch

    _foreach_axpy_(deltas, grads, -step)
    if factor is not None and deltas:
        torch._foreach_mul_(deltas, factor)


def _multi_tensor_update(learner, per, shared, grads, played, grad_sq):
    """Δ_{t+1} = Π(Δ_t − η_t g_t) in place; returns the new shared state."""
    deltas = per["delta"]
    step, new_shared = _multi_tensor_rate(learner, shared, grad_sq, deltas[0].dtype if deltas else None)
    _multi_tensor_descend_(deltas, grads, step)
    _multi_tensor_project_(deltas, learner.radius)
    return new_shared


OGD.multi_tensor_kernels = (
    MultiTensorKernel(("delta",), ("count",), _multi_tensor_play, _multi_tensor_update, rate=_multi_tensor_rate,
                      descend=_multi_tensor_descend_, fused="descent"),
)


def _inplace_descend(learner, delta, grad, count: int, out):
    """v = Δ_t − η_t g_t into the numpy array ``out`` (t = ``count``, the update's number), rounded as the core's
    ``tree_axpy(−η, g, Δ)`` = (−η)·g + Δ; returns ``out``."""
    import numpy as np

    step = learner.step_size(delta.dtype.type(count)) if learner.anytime else learner.lr
    np.multiply(grad, -step, out=out)
    out += delta
    return out


def _inplace_project(learner, v, norm):
    """Π_{‖·‖≤D}(v) in place on a numpy array whose norm ``norm`` (a scalar of its dtype) the caller took; returns
    ‖Π(v)‖ (= norm·factor, one rounding from the norm of the result)."""
    if learner.radius is None:
        return norm
    import numpy as np

    bound = v.dtype.type(learner.radius)
    factor = bound / np.maximum(norm, bound)
    if factor != 1:
        v *= factor
        norm = norm * factor
    return norm
