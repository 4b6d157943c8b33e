"""Follow the regularised leader with a quadratic regulariser, and its discounted, adaptive form (Adam as β-FTRL)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from online_learners import _checks, tree
from online_learners._ops import check_beta, check_bool, check_nonnegative, elementary_bound, lmap, norm, xp_of
from online_learners.base import check_optional_positive, check_positive, outside_ball

__all__ = ["FTRL", "FTRLState", "DiscountedFTRL", "DiscountedFTRLState"]


class FTRLState(NamedTuple):
    grad_sum: Any  # Σ_{s≤t} g_s


@dataclass(frozen=True)
class FTRL:
    r"""FTRL with the regulariser ‖Δ‖²/(2η) on the ball (lazy projection, dual averaging).

    Update (Orabona, *A Modern Introduction to Online Learning*, arXiv 1912.13213, §7):

        Δ_{t+1} = argmin_{‖Δ‖≤D} ⟨Σ_{s≤t} g_s, Δ⟩ + ‖Δ‖²/(2η) = Π_{‖·‖≤D}(−η Σ_{s≤t} g_s),    Δ_1 = 0.

    Regret (Orabona, Cor. 7.9, a fixed 1/η-strongly convex regulariser): for ‖u‖ ≤ D (any u when ``radius=None``),

        Reg_T(u) ≤ ‖u‖²/(2η) + (η/2) Σ_t ‖g_t‖².

    Unlike OGD, the state is the gradient sum and the play is recomputed from it (points, not increments:
    optax issue #1227 shows the bug that chained increments cause), so a projection never loses gradient information.

    Args:
        lr: η (> 0).
        radius: D (> 0) or None.

    Example:
        >>> import numpy as np
        >>> from online_learners import FTRL
        >>> learner = FTRL(lr=0.5, radius=1.0)
        >>> state = learner.init(np.zeros(2))
        >>> for g in ([4.0, 0.0], [-4.0, 1.0]):
        ...     state = learner.update(state, np.array(g))
        >>> learner.predict(state) + 0.0  # Σg = (0, 1); OGD would still be near (−0.87, −0.5)
        array([ 0. , -0.5])
    """

    lr: float
    radius: float | None = None

    def __post_init__(self):
        _checks.freeze(
            self,
            lr=check_positive("lr", self.lr, "FTRL"),
            radius=check_optional_positive("radius", self.radius, "FTRL"),
        )

    def init(self, params) -> FTRLState:
        return FTRLState(grad_sum=tree.tree_zeros_like(params))

    def predict(self, state: FTRLState, hint=None):
        return tree.tree_project_ball(tree.tree_scale(state.grad_sum, -self.lr), self.radius)

    def update(self, state: FTRLState, grad) -> FTRLState:
        _checks.gradient("FTRL", grad, state.grad_sum)
        return FTRLState(grad_sum=tree.tree_add(state.grad_sum, grad))

    def regret_bound(self, comparator_norm: float, grad_sq_norms: Sequence[float], dim=None) -> float:
        if outside_ball(comparator_norm, self.radius):
            return math.inf
        return comparator_norm * comparator_norm / (2 * self.lr) + self.lr / 2 * sum(float(v) for v in grad_sq_norms)


class DiscountedFTRLState(NamedTuple):
    first: Any  # m_t = β₁ m_{t−1} + (1 − β₁) g_t
    second: Any  # √v_t, v_t = β₂ v_{t−1} + (1 − β₂) g_t² (per coordinate), or with ‖g_t‖² (a 0-d array) when global


@dataclass(frozen=True)
class DiscountedFTRL:
    r"""Discounted FTRL with an adaptive quadratic regulariser: Adam without bias correction, as an online learner.

    β-FTRL (Ahn, Zhang, Kook, Dai, *Understanding Adam Optimizer via Online Learning of Updates: Adam is FTRL in
    Disguise*, ICML 2024, arXiv 2402.01567), per coordinate i (``coordinatewise=True``):

        m_t = β₁ m_{t−1} + (1 − β₁) g_t,    v_t = β₂ v_{t−1} + (1 − β₂) g_t²,    m_0 = v_0 = 0,
        Δ_{t+1} = argmin_Δ ⟨m_t, Δ⟩ + Σ_i (√v_{t,i} + ε)/(2α) Δ_i² = −α m_t/(√v_t + ε),   Δ_1 = 0,

    i.e. FTRL on the discounted losses (1 − β₁)β₁^{t−s}⟨g_s, ·⟩ with the regulariser's scale set by the discounted
    second moment (the derivation is the one-line first-order condition). ``coordinatewise=False`` uses one global
    v_t = β₂ v_{t−1} + (1 − β₂)‖g_t‖² (the global version of Ahn & Cutkosky, NeurIPS 2024). With ``radius`` D the play
    is clipped to the ball, Δ_{t+1} = Clip_D[−α m_t/(√v_t + ε)], the clipped-Adam learner of Ahn & Cutkosky
    (NeurIPS 2024, arXiv 2405.18199) and of Xie, Zhang, Zhao, Zhou (arXiv 2602.08372). Where v_t = 0 the play is 0
    (then m_t = 0 too).

    The state holds √v_t rather than v_t, updated as √v_t = hypot(√β₂·√v_{t−1}, √(1 − β₂)·|g_t|) (the same recursion;
    ``hypot`` never forms the squares), so a float32 run keeps the Adam step at gradient scales 1e-30 and 1e30, where
    g² underflows to 0 or overflows to ∞ (tested: gradients and ε multiplied by c give the same plays).

    **Adam mapping.** Adam without bias correction, x_k = x_{k−1} − α m_k/(√v_k + ε) with g_k = ∇f(x_{k−1}), is O2NC
    with s_n ≡ 1 (``scaling="none"``), no restarts, and this learner with the same (α, β₁, β₂, ε): then
    x_{n+1}^{O2NC} = x_n^{Adam} (the O2NC run spends its first step at Δ_1 = 0). Tested against an independent
    implementation of the Adam formula.

    Regret. β-FTRL is designed for the β-discounted regret Σ_s β^{t−s}⟨g_s, Δ_s − u⟩ (Ahn & Cutkosky 2024); its static
    regret is not sublinear in general. The bound returned is the elementary one (derived): by Cauchy–Schwarz,
    |m_{t,i}| ≤ (1 − β₁)·(1 − β₁²/β₂)^{−1/2}·(Σ_s β₂^{t−s} g_{s,i}²)^{1/2} when β₁² < β₂, so
    |Δ_{t,i}| ≤ αK with K = (1 − β₁)/√((1 − β₂)(1 − β₁²/β₂)) (the same for ‖Δ_t‖ in the global form), and
    Reg_T(u) ≤ Σ_t ‖g_t‖ (B + ‖u‖) with B = min(D, αK·√dim) (coordinate-wise) or min(D, αK) (global). It is
    ``math.inf`` when no such B exists (β₁² ≥ β₂ without radius, or coordinate-wise without ``dim`` or radius), and,
    by the package's convention, for comparators outside the clip ball.

    Args:
        lr: α (> 0).
        beta1: β₁ ∈ [0, 1).
        beta2: β₂ ∈ [0, 1).
        eps: ε ≥ 0, added to √v_t.
        radius: clip radius D (> 0) or None.
        coordinatewise: per-coordinate second moment (Adam) or one global second moment.

    Example:
        >>> import numpy as np
        >>> from online_learners import DiscountedFTRL
        >>> learner = DiscountedFTRL(lr=0.1, beta1=0.9, beta2=0.99)
        >>> state = learner.update(learner.init(np.zeros(2)), np.array([2.0, -0.5]))
        >>> learner.predict(state)  # −α (1−β₁)g/√((1−β₂)g²) = −α·sign(g)·0.1/0.1
        array([-0.1,  0.1])
    """

    lr: float
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 0.0
    radius: float | None = None
    coordinatewise: bool = True

    def __post_init__(self):
        _checks.freeze(
            self,
            lr=check_positive("lr", self.lr, "DiscountedFTRL"),
            beta1=check_beta("beta1", self.beta1, "DiscountedFTRL"),
            beta2=check_beta("beta2", self.beta2, "DiscountedFTRL"),
            eps=check_nonnegative("eps", self.eps, "DiscountedFTRL"),
            radius=check_optional_positive("radius", self.radius, "DiscountedFTRL"),
            coordinatewise=check_bool("coordinatewise", self.coordinatewise, "DiscountedFTRL"),
        )

    def init(self, params) -> DiscountedFTRLState:
        zeros = tree.tree_zeros_like(params)
        second = zeros if self.coordinatewise else tree.scalar_like(0.0, params)
        return DiscountedFTRLState(first=zeros, second=second)

    def predict(self, state: DiscountedFTRLState, hint=None):
        def play(m, root):
            xp = xp_of(root)
            # Where v = 0, m = 0 as well: adding 1 to that denominator keeps 0/0 out at the cost of one pass.
            return (-self.lr) * m / (root + (self.eps + xp.astype(root == 0, root.dtype)))

        return tree.tree_project_ball(lmap(play, state.first, state.second), self.radius)

    def update(self, state: DiscountedFTRLState, grad) -> DiscountedFTRLState:
        _checks.gradient("DiscountedFTRL", grad, state.first)
        b1, b2 = self.beta1, self.beta2
        first = tree.tree_map(lambda m, g: b1 * m + (1 - b1) * g, state.first, grad)
        r1, r2 = math.sqrt(b2), math.sqrt(1 - b2)
        second = lmap(lambda s, a: xp_of(s).hypot(r1 * s, r2 * a), state.second, norm(grad, self.coordinatewise))
        return DiscountedFTRLState(first=first, second=second)

    def play_norm_bound(self, dim=None) -> float:
        """B: an upper bound on every ‖Δ_t‖ (see the class docstring)."""
        b1, b2 = self.beta1, self.beta2
        bound = math.inf
        if b1 * b1 < b2:
            k = (1 - b1) / math.sqrt((1 - b2) * (1 - b1 * b1 / b2))
            if not self.coordinatewise:
                bound = self.lr * k
            elif dim is not None:
                bound = self.lr * k * math.sqrt(int(dim))
        if self.radius is not None:
            bound = min(bound, self.radius)
        return bound

    def regret_bound(self, comparator_norm: float, grad_sq_norms: Sequence[float], dim=None) -> float:
        if outside_ball(comparator_norm, self.radius):
            return math.inf
        bound = self.play_norm_bound(dim)
        if not math.isfinite(bound):
            return math.inf
        plays = [0.0] + [bound] * (len(grad_sq_norms) - 1)
        return elementary_bound(comparator_norm, grad_sq_norms, plays)
