"""Coin-betting learners, one bettor per coordinate: Krichevsky–Trofimov (KT), the ONS bettor, and COCOB-Backprop."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from online_learners import _checks, tree
from online_learners._ops import coordinatewise_total, elementary_bound, lmap, max_sq, sup_concave, xp_of
from online_learners.base import MultiTensorKernel, check_positive

__all__ = ["KT", "KTState", "KTScaleFreeState", "ONSBettor", "ONSBettorState", "COCOB", "COCOBState",
           "kt_log_potential"]


def _clipped_coin(grad, lipschitz: float):
    """c = clip(−g/G, −1, 1) per coordinate (the bettor's coin; scale, then clip: coin betting needs |c| ≤ 1, Orabona
    & Pál, *Coin betting and parameter-free online learning*, NeurIPS 2016)."""

    def coin(g):
        xp = xp_of(g)
        return xp.clip(-g / lipschitz, -1.0, 1.0)

    return tree.tree_map(coin, grad)


def _scale_free_coin(g, h):
    """c = −g/h with h = max(h_{t−1}, |g|) ≥ |g|, so |c| ≤ 1 exactly in floating point; 0 where h = 0."""
    xp = xp_of(g)
    positive = h > 0
    return xp.where(positive, -g / xp.where(positive, h, 1.0), 0.0 * g)


def _gradients_within(grad_sq_norms: Sequence[float], lipschitz: float) -> bool:
    return max_sq(grad_sq_norms) <= lipschitz * lipschitz * (1 + 1e-12)  # x*x: inf where x**2 would raise


def kt_log_potential(x: float, t: int, eps: float) -> float:
    r"""ln F_t(x) for the KT potential F_t(x) = ε·2^t·Γ((t+1+x)/2)·Γ((t+1−x)/2) / (π·t!), |x| ≤ t.

    F_t(x) is the wealth of the KT bettor after t coins ±1 summing to x (2^t times the KT mixture probability).
    """
    return (
        math.log(eps)
        + t * math.log(2.0)
        + math.lgamma((t + 1 + x) / 2)
        + math.lgamma((t + 1 - x) / 2)
        - math.log(math.pi)
        - math.lgamma(t + 1)
    )


def _safe_exp(v: float) -> float:
    try:
        return math.exp(v)
    except OverflowError:
        return math.inf


# ----------------------------------------------------------------------------------------------------------------------


class KTState(NamedTuple):
    coin_sum: Any  # X_t = Σ_{s≤t} c_s per coordinate, c_s = clip(−g_s/G, −1, 1)
    wealth: Any  # W_t = ε + Σ_{s≤t} c_s w_s per coordinate (the bettor's wealth, > 0)
    count: Any  # t (0-d integer array)


class KTScaleFreeState(NamedTuple):
    coin_sum: Any  # X_t = Σ_{s≤t} c_s per coordinate, c_s = −g_s/h_s
    wealth: Any  # W_t = ε Π_{s≤t} (1 + c_s β_s) per coordinate (> 0)
    scale: Any  # h_t = max_{s≤t} |g_s| per coordinate (0 before the first non-zero gradient)
    count: Any  # t (0-d integer array)


def kt_wealth_envelope(active: Sequence[bool], eps: float) -> list:
    """[εP_0, εP_1, …, εP_T]: the largest KT wealth after t rounds when round s has a coin in [−1, 1] if
    ``active[s]`` and the coin 0 otherwise: P_t = Π_{s≤t, active} (1 + K_{s−1}/s), K_s = #active rounds ≤ s (derived:
    W_s = W_{s−1}(1 + c_s X_{s−1}/s) with |c_s| ≤ 1 and |X_{s−1}| ≤ K_{s−1})."""
    out, log_p, k = [eps], math.log(eps), 0
    for s, on in enumerate(active, start=1):
        if on:
            log_p += math.log1p(k / s)
            k += 1
        out.append(_safe_exp(log_p))
    return out


@dataclass(frozen=True)
class KT:
    r"""Krichevsky–Trofimov coin betting, one bettor per coordinate (Orabona & Pál, NeurIPS 2016).

    With coins c_t = clip(−g_t/G, −1, 1) (per coordinate; G = ``lipschitz``), initial wealth ε = ``eps``:

        W_t = ε + Σ_{s≤t} c_s w_s,        w_{t+1} = (X_t/(t+1)) · W_t,        X_t = Σ_{s≤t} c_s,

    the KT bet of Orabona & Pál (−Σg/(t+1) · W_t in the unscaled notation). The betting fraction |X_t|/(t+1) < 1
    keeps the wealth positive. On a 0-d array it is the one-dimensional KT learner (used as the magnitude learner of
    :class:`DirectionMagnitude`).

    Regret (derived here, with explicit constants from the KT potential). The KT potential
    F_t(x) = ε 2^t Γ((t+1+x)/2) Γ((t+1−x)/2)/(π t!) satisfies F_t(x + c) ≤ F_{t−1}(x)(1 + c x/t) for every c ∈ [−1, 1]:
    equality at c = ±1 (Γ(z+1) = zΓ(z)) and the left side is convex in c (log-convexity of Γ) while the right side is
    linear. Hence W_T ≥ F_T(X_T) for continuous coins too, and per coordinate, for ‖g_t‖ ≤ G,

        Reg_T(u_i) = G(ε − W_T + u_i X_T) ≤ G·h(|u_i|),    h(s) = ε + max_{0≤x≤T} (s x − F_T(x)),

    computed exactly by a one-dimensional concave maximisation, and summed over coordinates with
    :func:`online_learners._ops.coordinatewise_total`, which needs ``dim`` (the number of coordinates).

    Without ``dim`` a dimension-free, cruder bound is returned (derived): Reg_T(u) = G Σ_i (ε − W_{T,i}) + ⟨u, −Σ_t
    g_t⟩, each wealth satisfies ε − W_{T,i} ≤ ε Σ_t |c_{t,i}| |X_{t−1,i}|/t (as W_T ≥ εΠ(1 − |c_t||β_t|)), and
    Cauchy–Schwarz over the coordinates gives Reg_T(u) ≤ Gε Σ_t ‖c_t‖ Σ_{s<t} ‖c_s‖/t + ‖u‖ Σ_t ‖g_t‖. The smaller of
    the two is returned; both are ``math.inf`` when some ‖g_t‖ > G (the clipped coins then do not describe the losses).
    The familiar closed form, Reg ≤ ε + |u|√(T ln(1 + 24 T² u²/ε²)) up to constants (Orabona, *A Modern Introduction to
    Online Learning*, arXiv 1912.13213, §10.3), is a corollary of the same potential.

    **Unknown G: ``lipschitz=None`` (scale-free coins).** The coins are normalised by the running maximum
    h_t = max_{s≤t} |g_{s,i}| of each coordinate, *including the current gradient*:

        c_t = −g_t/h_t ∈ [−1, 1]  (c_t = 0 while h_t = 0),    X_t = X_{t−1} + c_t,    W_t = W_{t−1} + c_t w_t,

    with the same bet w_t = (X_{t−1}/t) W_{t−1}. This is legitimate online: the bet w_t does not involve the scale, so
    h_t (known once g_t is seen) is used only in the update; no clipping is needed and the wealth stays positive. The
    plays are invariant to a rescaling of all gradients (scale-free in the sense of Orabona & Pál, *Scale-free online
    learning*, TCS 2018), and the initial wealth ε is in the units of the plays. This is an alternative to feeding a
    known-G learner gradients clipped to h_{t−1} (Cutkosky, *Artificial constraints and hints for unbounded online
    learning*, COLT 2019), which needs no clipping correction here because the bet never needs the bound.

    Regret (derived). Per coordinate g_t = −h_t c_t, so with r_t = ε − W_t + uX_t (the regret of the unit-scale
    bettor on the coins c_1..c_t) and Abel summation (h_0 r_0 = 0):

        Reg_T(u) = Σ_t h_t (r_t − r_{t−1}) = h_T r_T + Σ_{t<T} (h_{t+1} − h_t)(W_t − ε − uX_t).

    The potential argument above bounds r_T ≤ B_T(|u|) = ε + max_{0≤x≤T}(|u|x − F_T(x)), the known-G bound with G = 1.
    Hence, when the scale is set in the first round (h_t = h_1 for all t), Reg_T(u) ≤ h_T B_T(|u|): exactly the KT
    bound with G replaced by the observed max |g_t|, with no price for not knowing it. The second term is the price of
    a growing scale: wealth and coins earned at a small scale are revalued at the larger one. Knowing only
    ‖g_t‖ ≥ |g_{t,i}| (the package's bound interface), every term is at most its worst case: h_T ≤ H_T = max_t ‖g_t‖,
    W_t ≤ εP_t and |X_t| ≤ K_t (:func:`kt_wealth_envelope`; rounds with ‖g_t‖ = 0 have c_t = 0), so
    W_t − ε − uX_t ≤ M_t = ε(P_t − 1) + |u|K_t ≤ M_{T−1} for t < T; the increments h_{t+1} − h_t ≥ 0 sum to at most H_T;
    and h_T r_T ≤ H_T B_T(|u|) as B_T ≥ ε − F_T(0) ≥ 0. So

        Reg_T(u_i) ≤ H_T (B_T(|u_i|) + ε(P_{T−1} − 1) + |u_i| K_{T−1})

    per coordinate, summed with ``dim`` as above. P_t grows like 2^t/√t, and this is not an artefact: a long run of
    tiny same-sign gradients grows the wealth (and the plays) geometrically, and one large opposite gradient then costs
    it all. Some such price is unavoidable without a known bound (Cutkosky & Boahen, *Online learning without prior
    information*, COLT 2017, show that no learner keeps both a constant regret at u = 0 and √T regret for every u when
    G is unknown). The elementary bound Σ_t ‖g_t‖(‖w_t‖ + ‖u‖), with ‖w_t‖ ≤ √dim·εP_{t−1}, also holds; the smaller is
    returned. In training, the gradient scale is typically largest in the first rounds, where the revaluation is cheap.

    Args:
        eps: initial wealth ε per coordinate (> 0).
        lipschitz: the gradient bound G (> 0); gradients are divided by it and clipped to [−1, 1]. ``None``: unknown,
            the scale-free coins above.

    Example:
        >>> import numpy as np
        >>> from online_learners import KT
        >>> learner = KT(eps=1.0)
        >>> state = learner.update(learner.init(np.zeros(2)), np.array([-1.0, 1.0]))
        >>> learner.predict(state)  # bets half the wealth with the sign of −Σg
        array([ 0.5, -0.5])
    """

    eps: float = 1.0
    lipschitz: float | None = 1.0

    def __post_init__(self):
        _checks.freeze(
            self,
            eps=check_positive("eps", self.eps, "KT"),
            lipschitz=_checks.positive("KT", "lipschitz", self.lipschitz, optional=True),
        )

    def init(self, params):
        zeros = tree.tree_zeros_like(params)
        wealth = tree.tree_map(lambda z: z + self.eps, zeros)
        count = tree.counter_like(params)
        if self.lipschitz is None:
            return KTScaleFreeState(coin_sum=zeros, wealth=wealth, scale=zeros, count=count)
        return KTState(coin_sum=zeros, wealth=wealth, count=count)

    def predict(self, state, hint=None):
        return lmap(lambda x, w, n: x / tree.count_as(n + 1, x) * w, state.coin_sum, state.wealth, state.count)

    def update(self, state, grad):
        # The wealth (which needs the old coin sum, through the bet) is formed before the new coin sum, in one
        # element-wise expression per leaf: no separate bet buffer has to outlive the coin sum's update.
        _checks.gradient("KT", grad, state.coin_sum)
        n1 = state.count + 1
        if self.lipschitz is None:
            scale = lmap(lambda h, g: xp_of(h).maximum(h, xp_of(g).abs(g)), state.scale, grad)
            coin = lmap(_scale_free_coin, grad, scale)
        else:
            scale, coin = None, _clipped_coin(grad, self.lipschitz)
        wealth = lmap(lambda w, c, x: w + c * (x / tree.count_as(n1, x) * w), state.wealth, coin, state.coin_sum)
        coin_sum = tree.tree_add(state.coin_sum, coin)
        if self.lipschitz is None:
            return KTScaleFreeState(coin_sum=coin_sum, wealth=wealth, scale=scale, count=n1)
        return KTState(coin_sum=coin_sum, wealth=wealth, count=n1)

    def coordinate_bound(self, comparator: float, rounds: int) -> float:
        """h(|u_i|)·G: the regret bound of one coordinate after ``rounds`` rounds (see the class docstring)."""
        return self.lipschitz * self._unit_bound(comparator, rounds)

    def _unit_bound(self, comparator: float, rounds: int) -> float:
        """B_T(|u_i|) = ε + max_{0≤x≤T}(|u_i|x − F_T(x)): the regret of the bettor on coins in [−1, 1]."""
        t, s = int(rounds), float(comparator)
        if t == 0:
            return 0.0

        def phi(x):
            return s * x - self.eps * _safe_exp(kt_log_potential(x, t, 1.0))

        return self.eps + sup_concave(phi, 0.0, float(t))

    def scale_free_bound(self, comparator_norm: float, grad_sq_norms: Sequence[float], dim=None) -> float:
        """The bound of ``lipschitz=None`` (see the class docstring): the smaller of
        Σ_i H_T(B_T(|u_i|) + ε(P_{T−1} − 1) + |u_i|K_{T−1}) (summed with ``dim``) and Σ_t ‖g_t‖(√dim·εP_{t−1} + ‖u‖)."""
        if dim is None:
            return math.inf
        norms = [math.sqrt(float(q)) for q in grad_sq_norms]
        rounds = len(norms)
        if rounds == 0:
            return 0.0
        active = [n > 0 for n in norms]
        envelope = kt_wealth_envelope(active, self.eps)
        big_h = max(norms)
        k_prev = sum(active[:-1])
        revalue = envelope[-2] - self.eps  # ε(P_{T−1} − 1)

        def coordinate(s):
            return big_h * (self._unit_bound(s, rounds) + revalue + s * k_prev)

        per_coordinate = coordinatewise_total(coordinate, dim, comparator_norm)
        plays = [math.sqrt(int(dim)) * envelope[t] for t in range(rounds)]
        return min(per_coordinate, elementary_bound(comparator_norm, grad_sq_norms, plays))

    def dimension_free_bound(self, comparator_norm: float, grad_sq_norms: Sequence[float]) -> float:
        """G(ε Σ_t ‖c_t‖ Σ_{s<t} ‖c_s‖/t) + ‖u‖ Σ_t ‖g_t‖, valid in any dimension (see the class docstring)."""
        norms = [math.sqrt(float(q)) / self.lipschitz for q in grad_sq_norms]
        lost, past = 0.0, 0.0
        for t, c in enumerate(norms, start=1):
            lost += c * past / t
            past += c
        return self.lipschitz * self.eps * lost + float(comparator_norm) * self.lipschitz * past

    def regret_bound(self, comparator_norm: float, grad_sq_norms: Sequence[float], dim=None) -> float:
        if self.lipschitz is None:
            return self.scale_free_bound(comparator_norm, grad_sq_norms, dim)
        if not _gradients_within(grad_sq_norms, self.lipschitz):
            return math.inf
        rounds = len(grad_sq_norms)
        per_coordinate = coordinatewise_total(lambda s: self.coordinate_bound(s, rounds), dim, comparator_norm)
        return min(per_coordinate, self.dimension_free_bound(comparator_norm, grad_sq_norms))


# --- KT's multi-tensor kernels (the torch shell's fast path; see online_learners.base.MultiTensorKernel) -----------
# ``predict``/``update`` above over a param group's lists with one ``torch._foreach_*`` call per operation, the state
# updated in place; one kernel per state layout (with and without a known G). torch is imported inside.


def _kt_multi_tensor_play(learner, per, shared):
    """w_{t+1} = X_t/(t+1) · W_t per coordinate, as a fresh list: on the CPU in one pass, 0 + (1/(t+1))·X_t·W_t (an
    ``addcmul`` onto a 0-d zero, with 1/(t+1) in double precision: the factors reassociated, a rounding-level
    difference), elsewhere as the division and then the product (no host read of t)."""
    import torch

    coin_sums, count = per["coin_sum"], shared["count"]
    if count.device.type == "cpu" and coin_sums:
        zero = torch.zeros((), dtype=coin_sums[0].dtype)
        inverse = 1.0 / (float(count) + 1.0)
        return [torch.addcmul(zero, x, w, value=inverse) for x, w in zip(coin_sums, per["wealth"])]
    bets = torch._foreach_div(coin_sums, count + 1)
    torch._foreach_mul_(bets, per["wealth"])
    return bets


def _kt_multi_tensor_add_play(learner, per, shared, ys, coef, scratch=None):
    """y ← y + coef · (X_t/(t+1)) · W_t without the product as a buffer: on the CPU with a Python coef one ``addcmul``
    pass, y + (coef/(t+1))·X_t·W_t (the factors of :func:`_kt_multi_tensor_play` reassociated, coef/(t+1) in double
    precision: a rounding-level difference); else the ratios X_t/(t+1) are formed first (in ``scratch``, dead tensors
    shaped like ``ys``, or fresh) and then added, (coef·X_t/(t+1))·W_t."""
    import torch

    if not ys:
        return
    n1 = shared["count"] + 1
    if not isinstance(coef, torch.Tensor) and n1.device.type == "cpu":  # t + 1 read on the host without a sync
        if coef != 0:
            torch._foreach_addcmul_(ys, per["coin_sum"], per["wealth"], value=coef / float(n1))
        return
    if scratch is None:
        ratios = torch._foreach_div(per["coin_sum"], n1)
    else:
        ratios = scratch
        for r, x in zip(ratios, per["coin_sum"]):
            torch.div(x, n1, out=r)
    if isinstance(coef, torch.Tensor):
        torch._foreach_mul_(ratios, coef)
        torch._foreach_addcmul_(ys, ratios, per["wealth"])
    elif coef != 0:
        torch._foreach_addcmul_(ys, ratios, per["wealth"], value=coef)


def _kt_clipped_coins(learner, per, grads):
    """(c', a) with the coin c_t = a·c' = clip(−g_t/G, −1, 1) (:func:`_clipped_coin`): c' = clip(g_t, −G, G) in one
    pass and a = −1/G, to be folded into the passes that use the coin (derived here: clip is odd and commutes with a
    positive scaling, so clip(−g/G, −1, 1) = −clip(g, −G, G)/G; exact for G = 1, else a rounding-level difference)."""
    import torch

    bound = float(learner.lipschitz)
    return [torch.clamp(g, -bound, bound) for g in grads], -1.0 / bound


def _kt_scale_free_coins(learner, per, grads):
    """(c_t, 1) for ``lipschitz=None``: h_t = max(h_{t−1}, |g_t|) in place, c_t = −g_t/h_t, 0 where h_t = 0
    (:func:`_scale_free_coin`)."""
    import torch

    coins = []
    for h, g in zip(per["scale"], grads):
        torch.maximum(h, g.abs(), out=h)
        positive = h > 0
        c = torch.neg(g).div_(torch.where(positive, h, 1.0))
        coins.append(c.masked_fill_(positive.logical_not_(), 0.0))
    return coins, 1.0


def _kt_multi_tensor_updater(coins):
    def update(learner, per, shared, grads, played, grad_sq):
        """X_t = X_{t−1} + c_t, W_t = W_{t−1} + c_t w_t (w_t = ``played``, the bet), t ← t + 1; the coin as
        ``coins`` gives it, c_t = a·c' (one ``add`` and one ``addcmul`` pass with the scalar a)."""
        import torch

        bets = played if played is not None else _kt_multi_tensor_play(learner, per, shared)
        c, a = coins(learner, per, grads)
        torch._foreach_add_(per["coin_sum"], c, alpha=a)
        torch._foreach_addcmul_(per["wealth"], c, bets, value=a)
        return {"count": shared["count"] + 1}

    return update


KT.multi_tensor_kernels = tuple(
    MultiTensorKernel(fields, ("count",), _kt_multi_tensor_play, _kt_multi_tensor_updater(coins),
                      add_play=_kt_multi_tensor_add_play, update_uses_play=True, coordinatewise=True, fused="kt")
    for fields, coins in ((("coin_sum", "wealth"), _kt_clipped_coins),
                          (("coin_sum", "scale", "wealth"), _kt_scale_free_coins))
)


# ----------------------------------------------------------------------------------------------------------------------

_ONS_GAMMA = (2 - math.log(3)) / 2  # exp-concavity constant of −ln(1 − zβ) for |z| ≤ 1, |β| ≤ 1/2 (derived below)
_ONS_A0 = 1.0  # initial value of the ONS accumulator A


class ONSBettorState(NamedTuple):
    wealth: Any  # W_t per coordinate
    fraction: Any  # β_{t+1} ∈ [−1/2, 1/2] per coordinate
    curvature: Any  # A_t = A_0 + Σ z̃_s² per coordinate


@dataclass(frozen=True)
class ONSBettor:
    r"""Coin betting with the fraction learned by Online Newton Step, per coordinate (Cutkosky & Orabona, COLT 2018).

    With z_t = clip(g_t/G, −1, 1) per coordinate, wealth W_0 = ε, fraction β_1 = 0, A_0 = 1 (a choice made
    here; any A_0 > 0 works and enters the bound):

        play w_t = β_t W_{t−1};   W_t = W_{t−1}(1 − z_t β_t);   z̃_t = z_t/(1 − z_t β_t);   A_t = A_{t−1} + z̃_t²;
        β_{t+1} = clip(β_t − (1/γ) z̃_t/A_t, −1/2, 1/2),    1/γ = 2/(2 − ln 3).

    The constant (as in ``ons_bettor`` of acutkosky/jaxol, jaxol/paramfree.py) is derived here:
    1 − zβ = (1 − zβ_t)(1 − y) with y = z̃_t(β − β_t) ∈ [−2, 2/3], and −ln(1 − y) ≥ y + (γ/2) y² on that interval
    exactly when γ/2 ≤ (2 − ln 3)/4 (the ratio (−ln(1−y) − y)/y² increases in y), so the ONS losses −ln(1 − z_tβ) are
    γ-exp-concave in the ONS sense.

    Regret (derived): the ONS analysis gives Σ ln(1 − z_tβ_t) ≥ Σ ln(1 − z_tβ) − (γ/2)A_0β² − ln(A_T/A_0)/(2γ) for
    every |β| ≤ 1/2, and ln(1 + r) ≥ r − r² for |r| ≤ 1/2, so with X = −Σz_t, V = Σz_t² ≤ Σ‖g_t‖²/G²:

        W_T ≥ ε (1 + 4V/A_0)^{−1/(2γ)} exp(ψ(X)),    ψ(X) = max_{|β|≤1/2} (β X − β²(V + γA_0/2)),

    and per coordinate Reg_T(u_i) = G(ε − W_T + u_i X) ≤ G(ε + max_{0≤x≤Σ‖g_t‖/G} (|u_i| x − W_T-bound(x))). Summed over
    coordinates as for :class:`KT` (``dim`` needed). Without ``dim``, a dimension-free bound (derived): the fraction
    moves by at most |z̃_s|/(γA_0) ≤ 2|z_s|/(γA_0) per round, so |β_t| ≤ (2/(γA_0)) Σ_{s<t} |z_s|, the wealth lost per
    coordinate is at most ε Σ_t |z_t||β_t|, and Cauchy–Schwarz over coordinates gives
    Reg_T(u) ≤ Gε (2/(γA_0)) Σ_t ‖z_t‖ Σ_{s<t} ‖z_s‖ + ‖u‖ Σ_t ‖g_t‖. ``math.inf`` when some ‖g_t‖ > G.

    Args:
        eps: initial wealth ε per coordinate (> 0).
        lipschitz: the gradient bound G (> 0).

    Example:
        >>> import numpy as np
        >>> from online_learners import ONSBettor
        >>> learner = ONSBettor(eps=1.0)
        >>> state = learner.update(learner.init(np.zeros(1)), np.array([-1.0]))
        >>> bool(learner.predict(state)[0] > 0)
        True
    """

    eps: float = 1.0
    lipschitz: float = 1.0

    def __post_init__(self):
        _checks.freeze(
            self,
            eps=check_positive("eps", self.eps, "ONSBettor"),
            lipschitz=check_positive("lipschitz", self.lipschitz, "ONSBettor"),
        )

    def init(self, params) -> ONSBettorState:
        zeros = tree.tree_zeros_like(params)
        return ONSBettorState(
            wealth=tree.tree_map(lambda z: z + self.eps, zeros),
            fraction=zeros,
            curvature=tree.tree_map(lambda z: z + _ONS_A0, zeros),
        )

    def predict(self, state: ONSBettorState, hint=None):
        return lmap(lambda b, w: b * w, state.fraction, state.wealth)

    def update(self, state: ONSBettorState, grad) -> ONSBettorState:
        _checks.gradient("ONSBettor", grad, state.wealth)
        z = tree.tree_scale(_clipped_coin(grad, self.lipschitz), -1.0)
        wealth = lmap(lambda w, zi, b: w * (1 - zi * b), state.wealth, z, state.fraction)
        ztil = lmap(lambda zi, b: zi / (1 - zi * b), z, state.fraction)
        curvature = lmap(lambda a, zt: a + zt * zt, state.curvature, ztil)

        def step(b, zt, a):
            return xp_of(b).clip(b - zt / (_ONS_GAMMA * a), -0.5, 0.5)

        fraction = lmap(step, state.fraction, ztil, curvature)
        return ONSBettorState(wealth=wealth, fraction=fraction, curvature=curvature)

    def coordinate_bound(self, comparator: float, grad_sq_norms: Sequence[float]) -> float:
        """The regret bound of one coordinate (see the class docstring)."""
        if not len(grad_sq_norms):
            return 0.0
        g = self.lipschitz
        v = sum((math.sqrt(float(q)) / g) * (math.sqrt(float(q)) / g) for q in grad_sq_norms)  # in units of G
        xmax = sum(math.sqrt(float(q)) for q in grad_sq_norms) / g
        quad = v + _ONS_GAMMA * _ONS_A0 / 2
        log_scale = math.log(self.eps) - math.log1p(4 * v / _ONS_A0) / (2 * _ONS_GAMMA)
        s = float(comparator)

        def psi(x):
            return x * x / (4 * quad) if x <= quad else x / 2 - quad / 4

        def phi(x):
            return s * x - _safe_exp(log_scale + psi(x))

        return g * (self.eps + sup_concave(phi, 0.0, xmax))

    def dimension_free_bound(self, comparator_norm: float, grad_sq_norms: Sequence[float]) -> float:
        """Gε (2/(γA_0)) Σ_t ‖z_t‖ Σ_{s<t} ‖z_s‖ + ‖u‖ Σ_t ‖g_t‖, valid in any dimension (see the class docstring)."""
        norms = [math.sqrt(float(q)) / self.lipschitz for q in grad_sq_norms]
        lost, past = 0.0, 0.0
        for z in norms:
            lost += z * past * 2 / (_ONS_GAMMA * _ONS_A0)
            past += z
        return self.lipschitz * self.eps * lost + float(comparator_norm) * self.lipschitz * past

    def regret_bound(self, comparator_norm: float, grad_sq_norms: Sequence[float], dim=None) -> float:
        if not _gradients_within(grad_sq_norms, self.lipschitz):
            return math.inf
        per_coordinate = coordinatewise_total(lambda s: self.coordinate_bound(s, grad_sq_norms), dim, comparator_norm)
        return min(per_coordinate, self.dimension_free_bound(comparator_norm, grad_sq_norms))


# ----------------------------------------------------------------------------------------------------------------------


class COCOBState(NamedTuple):
    scale: Any  # L_t = max(ε_L, max_{s≤t} |g_s|) per coordinate
    abs_sum: Any  # Σ |g_s| per coordinate
    reward: Any  # R_t per coordinate
    grad_sum: Any  # θ_t = Σ g_s per coordinate


@dataclass(frozen=True)
class COCOB:
    r"""COCOB-Backprop, per coordinate (Orabona & Tommasi, NeurIPS 2017, arXiv 1705.07795, Algorithm 2).

    Played point relative to the start (Δ = w − w_1; the recursion of Algorithm 2):

        L_t = max(L_{t−1}, |g_t|),  G_t = G_{t−1} + |g_t|,  R_t = max(R_{t−1} − Δ_t g_t, 0),  θ_t = θ_{t−1} + g_t,
        Δ_{t+1} = −θ_t/(L_t · max(G_t + L_t, α L_t)) · (L_t + R_t),

    with L_0 = ``eps`` (a division guard, derived here: L_t is a divisor that would start at 0). The recursion is
    checked in tests/test_learners_zoo.py against ``optax.contrib.scale_by_cocob`` (an independent implementation) on
    the same gradient stream; a learner that returns points (not increments) avoids the bug of optax #1227.

    Regret: COCOB-Backprop has no published regret guarantee (its reward truncation at 0 breaks the coin-betting
    wealth identity). The bound returned is the elementary one (derived): with ρ_t = R_t/L_t, |g_t| ≤ L_t and
    L_t non-decreasing, ρ_t ≤ 2ρ_{t−1} + 1, so |Δ_{t+1,i}| ≤ 1 + ρ_t ≤ 2^t, and
    Reg_T(u) ≤ Σ_t ‖g_t‖(√dim·2^{t−1} + ‖u‖). It is finite and true, and says nothing useful beyond a few dozen
    rounds (``dim`` needed).

    Args:
        alpha: the cap α ≥ 1 on the betting fraction's denominator (default 100).
        eps: initial scale L_0 (> 0), a division guard.

    Example:
        >>> import numpy as np
        >>> from online_learners import COCOB
        >>> learner = COCOB()
        >>> state = learner.update(learner.init(np.zeros(1)), np.array([1.0]))
        >>> learner.predict(state)  # −θ/(L·max(G+L, αL))·(L+R) = −1/100
        array([-0.01])
    """

    alpha: float = 100.0
    eps: float = 1e-8

    def __post_init__(self):
        _checks.freeze(
            self,
            alpha=_checks.real("COCOB", "alpha", self.alpha, low=1.0, what="a finite number >= 1"),
            eps=check_positive("eps", self.eps, "COCOB"),
        )

    def init(self, params) -> COCOBState:
        zeros = tree.tree_zeros_like(params)
        return COCOBState(scale=tree.tree_map(lambda z: z + self.eps, zeros), abs_sum=zeros, reward=zeros,
                          grad_sum=zeros)

    def predict(self, state: COCOBState, hint=None):
        def play(lsc, gsum, rew, theta):
            # The same expression with every quantity divided by L first, −(θ/L)(1 + R/L)/max(G/L + 1, α): ratios
            # before products, so L·max(G + L, αL) (of order L², 1e60 at gradients of 1e30) is never formed and a
            # float32 run is scale-free over the whole float32 range (tested at 1e-30 and 1e30).
            xp = xp_of(lsc)
            return -(theta / lsc) * (1 + rew / lsc) / xp.maximum(gsum / lsc + 1, self.alpha)

        return lmap(play, state.scale, state.abs_sum, state.reward, state.grad_sum)

    def update(self, state: COCOBState, grad) -> COCOBState:
        _checks.gradient("COCOB", grad, state.grad_sum)
        delta = self.predict(state)
        absg = tree.tree_map(lambda g: xp_of(g).abs(g), grad)
        return COCOBState(
            scale=lmap(lambda lsc, a: xp_of(lsc).maximum(lsc, a), state.scale, absg),
            abs_sum=tree.tree_add(state.abs_sum, absg),
            reward=lmap(lambda r, d, g: xp_of(r).maximum(r - d * g, 0.0), state.reward, delta, grad),
            grad_sum=tree.tree_add(state.grad_sum, grad),
        )

    def regret_bound(self, comparator_norm: float, grad_sq_norms: Sequence[float], dim=None) -> float:
        if dim is None:
            return math.inf
        plays = []
        for t in range(len(grad_sq_norms)):
            plays.append(0.0 if t == 0 else math.sqrt(int(dim)) * (2.0**t if t < 1000 else math.inf))
        return elementary_bound(comparator_norm, grad_sq_norms, plays)
