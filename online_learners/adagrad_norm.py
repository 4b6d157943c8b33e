"""AdaGrad-norm: projected OGD with the step scale·radius/√(Σ‖g‖²)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from online_learners import _checks, tree
from online_learners.base import MultiTensorKernel, check_positive, outside_ball
from online_learners.ogd import _multi_tensor_descend_, _multi_tensor_play, _multi_tensor_project_

__all__ = ["AdaGradNorm", "AdaGradNormState"]


class AdaGradNormState(NamedTuple):
    delta: Any  # Δ_t
    sum_sq: Any  # V_{t−1} = Σ_{s<t} ‖g_s‖² (0-d array)


@dataclass(frozen=True)
class AdaGradNorm:
    r"""Projected OGD with the AdaGrad-norm step (Streeter & McMahan 2010; Orabona, arXiv 1912.13213, §4.2).

    Update, with V_t = Σ_{s≤t} ‖g_s‖² and c = ``scale``, D = ``radius``:

        Δ_1 = 0,    η_t = c·D/√V_t,    Δ_{t+1} = Π_{‖·‖≤D}(Δ_t − η_t g_t),

    and no step while V_t = 0 (all gradients so far zero; a division guard, derived here: η_t = c·D/√V_t is
    undefined at V_t = 0).

    Regret for ‖u‖ ≤ D (derived here from Orabona Thm 4.14 on a set of diameter 2D and
    Σ_t ‖g_t‖²/√V_t ≤ 2√V_T):

        Reg_T(u) ≤ (2D)²/(2η_T) + ½ Σ_t η_t ‖g_t‖² ≤ (2/c + c) · D · √V_T,

    which is 2√2·D·√V_T at c = √2 (derived here: 2/c + c = 2√2 at c = √2) and
    3·D·√V_T at the default c = 1. It needs no knowledge of the gradient bound G.

    Floating-point range: the state keeps V_t itself (its layout is shared with the torch shell's fused kernel), so
    in float32 the step is scale-free only while the squares ‖g_t‖² are representable, ‖g_t‖ in about [1e-18, 1e18];
    beyond, V_t under/overflows and the step becomes 0 (the play stays finite and in the ball, never NaN; tested in
    tests/test_learners_float32.py). Use float64 parameters for gradients outside that range.

    Args:
        radius: constraint radius D (> 0).
        scale: the constant c (> 0).

    Example:
        >>> import numpy as np
        >>> from online_learners import AdaGradNorm
        >>> learner = AdaGradNorm(radius=1.0)
        >>> state = learner.update(learner.init(np.zeros(2)), np.array([0.0, 2.0]))
        >>> learner.predict(state)
        array([ 0., -1.])
    """

    radius: float
    scale: float = 1.0

    def __post_init__(self):
        _checks.freeze(
            self,
            radius=check_positive("radius", self.radius, "AdaGradNorm"),
            scale=check_positive("scale", self.scale, "AdaGradNorm"),
        )

    def init(self, params) -> AdaGradNormState:
        return AdaGradNormState(delta=tree.tree_zeros_like(params), sum_sq=tree.accumulator_like(0.0, params))

    def predict(self, state: AdaGradNormState, hint=None):
        return state.delta

    def step_size(self, sum_sq):
        """η_t = c·D/√V_t from V_t = ``sum_sq`` (a 0-d array), 0 where V_t = 0."""
        xp = tree.namespace(sum_sq)
        positive = sum_sq > 0
        # Where V_t = 0 the gradient is zero too, so any finite step leaves Δ unchanged.
        return xp.where(positive, self.scale * self.radius / xp.sqrt(xp.where(positive, sum_sq, 1.0)), 0.0)

    def update(self, state: AdaGradNormState, grad) -> AdaGradNormState:
        _checks.gradient("AdaGradNorm", grad, state.delta)
        sq = tree.tree_sq_norm(grad)
        sum_sq = state.sum_sq + tree.namespace(sq).astype(sq, state.sum_sq.dtype)  # at least float32: accumulator_like
        step = tree.scalar_like(self.step_size(sum_sq), grad)  # η_t in the parameters' dtype
        delta = tree.tree_project_ball(tree.tree_axpy(-step, grad, state.delta), self.radius)
        return AdaGradNormState(delta=delta, sum_sq=sum_sq)

    def regret_bound(self, comparator_norm: float, grad_sq_norms: Sequence[float]) -> float:
        if outside_ball(comparator_norm, self.radius):
            return math.inf
        total = sum(float(v) for v in grad_sq_norms)
        if total == 0.0:  # no loss was suffered: the regret is 0 (and inf·0 would make the product NaN)
            return 0.0
        return (2 / self.scale + self.scale) * self.radius * math.sqrt(total)


# --- the multi-tensor kernel of the torch shell (see ``OGD.multi_tensor_kernels``): OGD's, with this step ----------


def _multi_tensor_rate(learner, shared, grad_sq, dtype=None):
    """(η_t, new shared): V_t = V_{t−1} + ‖g_t‖², η_t = :meth:`AdaGradNorm.step_size` (V_t)."""
    sum_sq = shared["sum_sq"] + grad_sq.to(shared["sum_sq"].dtype)
    step = learner.step_size(sum_sq)
    return (step if dtype is None else step.to(dtype)), {"sum_sq": sum_sq}


def _multi_tensor_update(learner, per, shared, grads, played, grad_sq):
    """Δ_{t+1} = Π_D(Δ_t − η_t g_t) in place; returns the new shared state."""
    step, new_shared = _multi_tensor_rate(learner, shared, grad_sq, per["delta"][0].dtype if per["delta"] else None)
    _multi_tensor_descend_(per["delta"], grads, step)
    _multi_tensor_project_(per["delta"], learner.radius)
    return new_shared


AdaGradNorm.multi_tensor_kernels = (
    MultiTensorKernel(("delta",), ("sum_sq",), _multi_tensor_play, _multi_tensor_update, uses_grad_sq=True,
                      rate=_multi_tensor_rate, descend=_multi_tensor_descend_, fused="descent"),
)
