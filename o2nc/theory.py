r"""The paper's parameter choices and guarantees for O2NC with online gradient descent.

Source: Cutkosky, Mehta, Orabona, ICML 2023 (arXiv 2302.03775), [CMO23] below, Theorem 8 and its OGD corollary
(§4); the bound with its constants and σ terms is derived in :func:`ogd_bound` from Theorem 8's inequality and the
standard OGD regret, so nothing here rests on a restatement that a reader cannot check. Notation: budget N
gradient calls, δ the Goldstein radius, G a bound on ‖g‖ (E‖g‖² ≤ G²), σ the gradient noise (E‖g − ∇F‖² ≤ σ²),
gap = F(x_0) − inf F.
"""
from __future__ import annotations

import math
from typing import NamedTuple

from o2nc.methods.checks import check_count, check_positive

__all__ = ["OGDParameters", "ogd_parameters", "ogd_bound", "ogd_rate"]


class OGDParameters(NamedTuple):
    epoch_length: int  # T
    epochs: int  # K = ⌊N/T⌋
    radius: float  # D = δ/T
    lr: float  # η = D/(G√T)


def _check(budget, delta, lipschitz, gap, sigma=0.0):
    check_count("", "budget", budget, minimum=2)
    for name, v in (("delta", delta), ("lipschitz", lipschitz), ("gap", gap)):
        check_positive("", name, v)
    check_positive("", "sigma", sigma, allow_zero=True)


def ogd_parameters(budget: int, delta: float, lipschitz: float, gap: float, sigma: float = 0.0, *,
                   epoch_length: int | None = None) -> OGDParameters:
    r"""Epoch length, epochs, radius and step of O2NC with restarted projected OGD for a budget of N calls.

    T = min(⌈((G + σ) δ N / gap)^{2/3}⌉, ⌈N/2⌉),  K = ⌊N/T⌋,  D = δ/T,  η = D/(G√T)

    ([CMO23] §4, σ = 0 there.) D = δ/T keeps every gradient point of an epoch within δ of the epoch mean
    ([CMO23]'s locality argument, with a full-step scaling: each step moves the anchor by at most D), so each epoch
    certificate is a (δ, ·) certificate.

    With noise σ (E‖g − ∇F‖² ≤ σ²), T balances the two terms of the bound of :func:`ogd_bound` (derived): with
    K ≈ N/T they are gap/(δK) ≈ gap·T/(δN), increasing in T, and (G + σ)/√T, decreasing; equal when
    gap·T/(δN) = (G + σ)/√T, i.e. T^{3/2} = (G + σ) δ N / gap.  At σ = 0 this is the paper's T.  (The exact minimiser
    of gap·T/(δN) + (G + σ)/√T is T^{3/2} = (G + σ)δN/(2 gap); at the balanced T the sum is at most 2^{5/3}/3 ≈ 1.06
    times its minimum, a constant the rate does not see.)  The OGD step keeps G, the bound E‖g‖² ≤ G² that the regret
    bound ‖u‖²/(2η) + (η/2)Σ E‖g_n‖² ≤ D G √T uses (Zinkevich, ICML 2003).

    Args:
        budget: N ≥ 2 gradient calls.
        delta: δ > 0, the Goldstein radius.
        lipschitz: G > 0 with E‖g‖² ≤ G² (for exact gradients, the Lipschitz constant).
        gap: F(x_0) − inf F > 0 (or an upper bound on it).
        sigma: σ ≥ 0 with E‖g − ∇F‖² ≤ σ² (0 for an exact oracle).
        epoch_length: T given instead of balanced (1 ≤ T ≤ N): K = ⌊N/T⌋, D = δ/T and η = D/(G√T) at that T, the
            same relations of [CMO23] §4 (D = δ/T keeps every epoch within δ; η is OGD's step for radius D).

    Example:
        >>> from o2nc.theory import ogd_parameters
        >>> ogd_parameters(budget=10_000, delta=0.1, lipschitz=1.0, gap=1.0)
        OGDParameters(epoch_length=100, epochs=100, radius=0.001, lr=0.0001)
        >>> ogd_parameters(budget=10_000, delta=0.1, lipschitz=1.0, gap=1.0, sigma=7.0).epoch_length  # (8·1000)^{2/3}
        400

    References:
        Cutkosky, Mehta, Orabona, ICML 2023 (arXiv 2302.03775), Theorem 8 and §4.
    """
    _check(budget, delta, lipschitz, gap, sigma)
    if epoch_length is None:
        # The small relative guard keeps an exact power such as 1000^{2/3} = 100 from rounding up to 101.
        balance = ((lipschitz + sigma) * delta * budget / gap) ** (2.0 / 3.0)
        epoch_length = max(1, min(math.ceil(balance * (1 - 1e-12)), math.ceil(budget / 2)))
    else:
        check_count("", "epoch_length", epoch_length)
        if epoch_length > budget:
            raise ValueError(f"`epoch_length` must be an integer between 1 and the budget {budget}, "
                             f"got {epoch_length!r}")
        epoch_length = int(epoch_length)
    epochs = budget // epoch_length
    radius = delta / epoch_length
    lr = radius / (lipschitz * math.sqrt(epoch_length))
    return OGDParameters(epoch_length, epochs, radius, lr)


def ogd_bound(budget: int, delta: float, lipschitz: float, gap: float, sigma: float = 0.0) -> float:
    r"""Theorem 8's bound on E[(1/K) Σ_k ‖ĝ_k‖] with exact-gradient certificates, at :func:`ogd_parameters` (same σ).

    Theorem 8 of [CMO23] with M = KT steps:

        E[(1/K) Σ_k ‖(1/T) Σ_t ∇F(w_t^k)‖] ≤ gap/(D M) + E[R_T]/(D M) + σ/√T.

    Restarted OGD with η = D/(G√T) has regret ≤ ‖u‖²/(2η) + (η/2) Σ_t E‖g_t‖² ≤ D G √T per epoch against ‖u‖ = D
    (derived from the standard OGD bound with E‖g‖² ≤ G²; Zinkevich, ICML 2003), so E[R_T] ≤ K D G √T, and with
    D = δ/T, M = KT:

        gap/(DM) = gap/(δK),   E[R_T]/(DM) ≤ K(δ/T) G √T / ((δ/T) K T) = G/√T,   so
        bound = gap/(δ K) + (G + σ)/√T,

    with T and K those of ``ogd_parameters(budget, delta, lipschitz, gap, sigma)`` (σ = 0 for an exact oracle).

    This is the exact form of the derivation, not the paper's rounded constants (not checked here against
    the paper's text). It bounds an expectation over the random scalings (and the oracle noise).

    Example:
        >>> from o2nc.theory import ogd_bound, ogd_parameters
        >>> p = ogd_parameters(10**6, 0.1, 100.0, 1.0, sigma=100.0)
        >>> ogd_bound(10**6, 0.1, 100.0, 1.0, sigma=100.0) == 1.0 / (0.1 * p.epochs) + 200.0 / p.epoch_length ** 0.5
        True

    References:
        Cutkosky, Mehta, Orabona, ICML 2023 (arXiv 2302.03775), Theorem 8.
    """
    _check(budget, delta, lipschitz, gap, sigma)
    p = ogd_parameters(budget, delta, lipschitz, gap, sigma)
    return gap / (delta * p.epochs) + (lipschitz + sigma) / math.sqrt(p.epoch_length)


def ogd_rate(epsilon: float, delta: float, lipschitz: float, gap: float, sigma: float = 0.0) -> float:
    r"""The order of the gradient calls that suffice for E‖∇F‖_δ ≤ ε: (G + σ)² · gap · δ^{-1} ε^{-3} ([CMO23]).

    Derived from :func:`ogd_bound`: at the balanced T both terms equal (G + σ)/√T, T = ((G + σ)δN/gap)^{2/3}, so
    the bound is 2 (G + σ)^{2/3} gap^{1/3} (δN)^{-1/3}, which is ≤ ε once N ≥ 8 (G + σ)² gap δ^{-1} ε^{-3}.  The
    parameters are integers (T rounded up and capped at ⌈N/2⌉, K = ⌊N/T⌋), which raises the bound at that N:
    measured over random (ε, δ, G, σ, gap) at N = ⌈8·rate⌉, at most 1.07ε where the balanced T lies in [10, N/10]
    and 1.8ε where it lies in [1, N/2] (``tests/test_theory.py``).  Outside [1, N/2] the rate claims nothing: where
    the cap binds (a gap small against δε) or T would be below 1 (ε > 2(G + σ)) the bound at that N exceeded ε by
    factors over 40 in the same search.  At σ = 0 (or σ ≤ G, absorbed in the constant) this is [CMO23]'s
    O(G² gap δ^{-1} ε^{-3}).  Only the order is meaningful (no constant is claimed); complexity experiments compare
    fitted exponents with −3 in ε and −1 in δ.
    """
    for name, v in (("epsilon", epsilon), ("delta", delta), ("lipschitz", lipschitz), ("gap", gap)):
        if not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            raise ValueError(f"`{name}` must be a finite number > 0, got {v!r}")
    if not isinstance(sigma, (int, float)) or not math.isfinite(sigma) or sigma < 0:
        raise ValueError(f"`sigma` must be a finite number ≥ 0, got {sigma!r}")
    return (lipschitz + sigma) ** 2 * gap / (delta * epsilon**3)
