"""Combinators: one learner per coordinate, periodic restarts, and discounting with weight decay."""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from online_learners import _checks, tree
from online_learners._ops import (
    call_bound,
    check_beta,
    check_learner,
    check_nonnegative,
    elementary_bound,
    update_with_hint,
    xp_of,
)
from online_learners.base import outside_ball, reads_hint
from online_learners.betting import COCOB, KT, ONSBettor
from online_learners.ftrl import FTRL, FTRLState
from online_learners.ogd import OGD, OGDState

__all__ = ["Coordinatewise", "Restarting", "RestartingState", "Discounted"]


def _box(a, radius):
    """Projection on the box {|Δ_i| ≤ radius} (per-coordinate balls); ``None`` means no constraint."""
    if radius is None:
        return a
    return tree.tree_map(lambda x: xp_of(x).clip(x, -radius, radius), a)


@dataclass(frozen=True)
class _BoxOGD:
    """OGD run independently on every coordinate: Δ_{t+1,i} = clip(Δ_{t,i} − η_t g_{t,i}, −D, D)."""

    inner: OGD

    def init(self, params):
        return self.inner.init(params)

    def predict(self, state, hint=None):
        return state.delta

    def update(self, state, grad):
        _checks.gradient("Coordinatewise(OGD)", grad, state.delta)
        count = state.count + 1
        if self.inner.anytime:
            t = tree.count_as(count, tree.tree_leaves(state.delta)[0])
            step = self.inner.lr / xp_of(t).sqrt(t)
        else:
            step = self.inner.lr
        return OGDState(delta=_box(tree.tree_axpy(-step, grad, state.delta), self.inner.radius), count=count)

    def regret_bound(self, comparator_norm, grad_sq_norms, dim=None):
        # Constant step: Σ_i (u_i²/(2η) + (η/2) Σ_t g_{t,i}²) is OGD's global bound; |u_i| ≤ ‖u‖ ≤ D keeps u in the box.
        if self.inner.anytime:
            return math.inf
        return self.inner.regret_bound(comparator_norm, grad_sq_norms)


@dataclass(frozen=True)
class _BoxFTRL:
    """FTRL (lazy projection) run independently on every coordinate: Δ_{t+1,i} = clip(−η Σ_s g_{s,i}, −D, D)."""

    inner: FTRL

    def init(self, params):
        return self.inner.init(params)

    def predict(self, state, hint=None):
        return _box(tree.tree_scale(state.grad_sum, -self.inner.lr), self.inner.radius)

    def update(self, state, grad):
        _checks.gradient("Coordinatewise(FTRL)", grad, state.grad_sum)
        return FTRLState(grad_sum=tree.tree_add(state.grad_sum, grad))

    def regret_bound(self, comparator_norm, grad_sq_norms, dim=None):
        return self.inner.regret_bound(comparator_norm, grad_sq_norms)


def _per_coordinate(learner):
    if isinstance(learner, (KT, ONSBettor, COCOB)):
        return learner  # already one bettor per coordinate
    if isinstance(learner, OGD):
        return _BoxOGD(learner)
    if isinstance(learner, FTRL):
        return _BoxFTRL(learner)
    if dataclasses.is_dataclass(learner) and "coordinatewise" in {f.name for f in dataclasses.fields(learner)}:
        return dataclasses.replace(learner, coordinatewise=True)
    raise ValueError(
        f"Coordinatewise: `learner` has no per-coordinate form: {learner!r}; supported are OGD, FTRL, KT, ONSBettor, "
        "COCOB and the learners with a `coordinatewise` option (FreeGrad, ParameterFreeMirrorDescent, DiscountedFTRL)"
    )


@dataclass(frozen=True)
class Coordinatewise:
    r"""Run one copy of a learner on every coordinate of the pytree (vectorised: no Python loop over coordinates).

    Each coordinate i plays its own Δ_i against the losses g_{t,i} Δ_i; the regret splits as
    Reg_T(u) = Σ_i Reg^{(i)}_T(u_i) (derived here: ⟨g, Δ − u⟩ = Σ_i g_i(Δ_i − u_i); the geometry changes, the
    comparator set is a box, not a ball). For OGD and FTRL the per-coordinate copy projects on |Δ_i| ≤ radius; the
    betting learners (KT, ONSBettor, COCOB) already run per coordinate; FreeGrad, ParameterFreeMirrorDescent and
    DiscountedFTRL switch their ``coordinatewise`` option on.

    Regret: the per-coordinate learner's bound. For constant-step OGD and FTRL the per-coordinate bounds
    u_i²/(2η) + (η/2)Σ_t g_{t,i}² sum to the global one, ‖u‖²/(2η) + (η/2)Σ_t‖g_t‖² (for ‖u‖ ≤ radius, which puts u in
    the box). For the others the one-dimensional bounds are summed with the number of coordinates ``dim``
    (:func:`online_learners._ops.coordinatewise_total`).

    Args:
        learner: the learner to run per coordinate.

    Example:
        >>> import numpy as np
        >>> from online_learners import OGD, Coordinatewise
        >>> learner = Coordinatewise(OGD(lr=1.0, radius=1.0))
        >>> state = learner.update(learner.init(np.zeros(2)), np.array([3.0, 0.5]))
        >>> learner.predict(state)  # each coordinate clipped to [−1, 1] (global OGD would give (−0.986, −0.164))
        array([-1. , -0.5])
    """

    learner: Any

    def __post_init__(self):
        check_learner("learner", self.learner, "Coordinatewise")
        object.__setattr__(self, "_engine", _per_coordinate(self.learner))

    @property
    def radius(self):
        """The inner learner's radius: comparators with ‖u‖ ≤ radius lie in the box the copies project on."""
        return getattr(self.learner, "radius", None)

    def init(self, params):
        return self._engine.init(params)

    def predict(self, state, hint=None):
        return self._engine.predict(state)

    def update(self, state, grad):
        return self._engine.update(state, grad)

    def regret_bound(self, comparator_norm: float, grad_sq_norms: Sequence[float], dim=None) -> float:
        return call_bound(self._engine, comparator_norm, grad_sq_norms, dim)


class RestartingState(NamedTuple):
    inner: Any
    count: Any  # rounds since the last restart (0-d integer array)


@dataclass(frozen=True)
class Restarting:
    r"""Restart a learner every ``period`` rounds: its whole state goes back to ``init`` (derived here: see ``update``).

    After rounds period, 2·period, … the inner state is replaced by ``learner.init`` (built from the gradient, which
    has the parameters' structure), so iterates, sums, wealth and counters all reset. The selection is an array
    ``where`` on a 0-d counter, so a step never syncs with the host and runs under ``jax.jit``.

    Regret (standard, derived here): static regret splits over the blocks, Reg_T(u) = Σ_k Reg^{block k}(u), each
    bounded by the learner's bound on that block's gradients. The same split with a different u_k per block is the
    K-shifting regret that O2NC needs ([CMO23] §3).

    Args:
        learner: the learner to restart.
        period: rounds between restarts (a positive integer).

    Example:
        >>> import numpy as np
        >>> from online_learners import OGD, Restarting
        >>> learner = Restarting(OGD(lr=1.0), period=2)
        >>> state = learner.init(np.zeros(1))
        >>> for g in (1.0, 1.0, 1.0):
        ...     state = learner.update(state, np.array([g]))
        >>> learner.predict(state)  # one round since the restart after round 2
        array([-1.])
    """

    learner: Any
    period: int

    def __post_init__(self):
        check_learner("learner", self.learner, "Restarting")
        _checks.freeze(self, period=_checks.integer("Restarting", "period", self.period, least=1))

    @property
    def radius(self):
        """The inner learner's radius (the comparators it competes with)."""
        return getattr(self.learner, "radius", None)

    @property
    def uses_hint(self):
        """The inner learner's (its play is the inner play): :func:`online_learners.base.reads_hint`."""
        return reads_hint(self.learner)

    def init(self, params) -> RestartingState:
        return RestartingState(inner=self.learner.init(params), count=tree.counter_like(params))

    def predict(self, state: RestartingState, hint=None):
        return self.learner.predict(state.inner, hint)

    def update(self, state: RestartingState, grad, hint=None) -> RestartingState:
        """The inner update (given the round's ``hint`` where the inner update takes one: the single-projection
        optimistic form replays its hinted play), then the restart at the end of a block."""
        inner = update_with_hint(self.learner, state.inner, grad, hint)
        count = state.count + 1
        restart = count >= self.period
        fresh = self.learner.init(grad)
        return RestartingState(
            inner=tree.tree_where(restart, fresh, inner),
            count=xp_of(count).where(restart, 0 * count, count),
        )

    def regret_bound(self, comparator_norm: float, grad_sq_norms: Sequence[float], dim=None) -> float:
        sq = list(grad_sq_norms)
        return sum(
            call_bound(self.learner, comparator_norm, sq[k : k + self.period], dim)
            for k in range(0, len(sq), self.period)
        )


@dataclass(frozen=True)
class Discounted:
    r"""Discount a learner's memory by β and decay it by the weight μ: the learner of exponentiated O2NC.

    For ``OGD(lr=η, radius=D)`` (constant step) the update becomes (Zhang & Cutkosky, *Random Scaling and Momentum for
    Non-smooth Non-convex Optimization*, ICML 2024, arXiv 2405.09742; class ``O2NCGD`` of ZQZCalin/trainit):

        Δ_{t+1} = β/(1 + ημ) · Π_D(Δ_t − η g_t),    Δ_1 = 0,

    which is OGD with the implicit (proximal) step on the exponentiated, regularised losses
    ⟨β^{−t} g_t, Δ⟩ + (μβ^{−t}/2)‖Δ‖² with step ηβ^t: the factors β^{−t} and β^t cancel in closed form, so they are
    **never formed** (derived here: β^{−t} overflows float64 for t > ln(1.8e308)/ln(1/β) ≈ 6,700 at β = 0.9). The
    state stays a plain Δ, so 10^7 rounds run without overflow (tested).

    For ``FTRL(lr=η, radius=D)`` the gradient sum is discounted, m_t = β' m_{t−1} + g_t, β' = β/(1 + ημ), and
    Δ_{t+1} = Π_D(−η m_t): the β-FTRL of Ahn, Zhang, Kook, Dai (ICML 2024, arXiv 2402.01567) with a quadratic
    regulariser.

    **SGD-with-momentum mapping.** Unrolled with β' = β/(1 + ημ), the OGD form is Δ_{n+1} = −ηβ' b_n with
    b_n = β' b_{n−1} + g_n. O2NC with s_n ≡ 1 (``scaling="none"``), no restarts and this learner therefore reproduces
    ``torch.optim.SGD(lr=γ, momentum=ρ, dampening=0, nesterov=False, weight_decay=λ)`` with

        ρ = β/(1 + ημ),    γ = η ρ,    and the oracle g(w) = ∇f(w) + λ w  (torch's weight decay acts on the
        parameters, μ acts on the increment Δ: they are different things),

    where O2NC's x_{n+1} equals torch's x_n (O2NC spends its first step at Δ_1 = 0). Given (γ, ρ > 0): take μ = 0,
    β = ρ, η = γ/ρ, or any μ ≥ 0 with η = γ/ρ and β = ρ(1 + ημ) ≤ 1. Plain SGD (ρ = 0) is not an instance.

    Regret: discounted learners are judged by discounted regret (Ahn & Cutkosky 2024); their static regret is not
    sublinear. The bound returned is the elementary Σ_t ‖g_t‖(‖Δ_t‖ + ‖u‖) with ‖Δ_t‖ bounded from the gradient
    norms by the recursion B_{t+1} = min(D, β'(B_t + η‖g_t‖)) (OGD form) or min(D, η‖m_t‖) with
    ‖m_t‖ ≤ β'‖m_{t−1}‖ + ‖g_t‖ (FTRL form) (derived). With β = 1 and μ = 0 it is the inner learner itself and its own
    bound is returned.

    Args:
        learner: ``OGD`` with a constant step, or ``FTRL``.
        beta: β ∈ [0, 1].
        mu: μ ≥ 0.

    Example:
        >>> import numpy as np
        >>> from online_learners import OGD, Discounted
        >>> learner = Discounted(OGD(lr=1.0), beta=0.5)
        >>> state = learner.init(np.zeros(1))
        >>> for _ in range(3):
        ...     state = learner.update(state, np.array([1.0]))
        >>> learner.predict(state)  # −(0.5 + 0.25 + 0.125)
        array([-0.875])
    """

    learner: Any
    beta: float
    mu: float = 0.0

    def __post_init__(self):
        if not isinstance(self.learner, (OGD, FTRL)) or (isinstance(self.learner, OGD) and self.learner.anytime):
            raise ValueError(
                f"Discounted: `learner` must be OGD with a constant step or FTRL, got {self.learner!r}"
            )
        _checks.freeze(
            self,
            beta=check_beta("beta", self.beta, "Discounted", closed_right=True),
            mu=check_nonnegative("mu", self.mu, "Discounted"),
        )

    @property
    def radius(self):
        return self.learner.radius

    @property
    def factor(self) -> float:
        """β' = β/(1 + ημ)."""
        return self.beta / (1 + self.learner.lr * self.mu)

    def init(self, params):
        return self.learner.init(params)

    def predict(self, state, hint=None):
        return self.learner.predict(state)

    def update(self, state, grad):
        c = self.factor
        _checks.gradient("Discounted", grad, state.delta if isinstance(self.learner, OGD) else state.grad_sum)
        if isinstance(self.learner, OGD):
            inner = self.learner.update(state, grad)
            return OGDState(delta=tree.tree_scale(inner.delta, c), count=inner.count)
        return FTRLState(grad_sum=tree.tree_axpy(c, state.grad_sum, grad))

    def regret_bound(self, comparator_norm: float, grad_sq_norms: Sequence[float], dim=None) -> float:
        if self.beta == 1 and self.mu == 0:
            return self.learner.regret_bound(comparator_norm, grad_sq_norms)
        if outside_ball(comparator_norm, self.learner.radius):
            return math.inf
        c, eta = self.factor, self.learner.lr
        cap = math.inf if self.learner.radius is None else self.learner.radius
        plays, level = [], 0.0
        for q in grad_sq_norms:
            plays.append(min(cap, eta * level) if isinstance(self.learner, FTRL) else min(cap, level))
            if isinstance(self.learner, OGD):
                level = min(cap, c * (level + eta * math.sqrt(float(q))))
            else:
                level = c * level + math.sqrt(float(q))
        return elementary_bound(comparator_norm, grad_sq_norms, plays)
