r"""The paper's parameter choices and guarantees for O2NC with online gradient descent.

Source: Cutkosky, Mehta, Orabona, ICML 2023 (arXiv 2302.03775), Theorem 8 and its OGD corollary, as restated in
o2nc.md §5–6. Notation: budget N gradient calls, δ the Goldstein radius, G a bound on ‖g‖ (E‖g‖² ≤ G²), σ the
gradient noise (E‖g − ∇F‖² ≤ σ²), gap = F(x_0) − inf F.
"""
from __future__ import annotations

import math
from typing import NamedTuple

__all__ = ["OGDParameters", "ogd_parameters", "ogd_bound", "ogd_rate"]


class OGDParameters(NamedTuple):
    epoch_length: int  # T
    epochs: int  # K = ⌊N/T⌋
    radius: float  # D = δ/T
    lr: float  # η = D/(G√T)


def _check(budget, delta, lipschitz, gap, sigma=0.0):
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 2:
        raise ValueError(f"`budget` must be an integer ≥ 2, got {budget!r}")
    for name, v in (("delta", delta), ("lipschitz", lipschitz), ("gap", gap)):
        if not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            raise ValueError(f"`{name}` must be a finite number > 0, got {v!r}")
    if not isinstance(sigma, (int, float)) or not math.isfinite(sigma) or sigma < 0:
        raise ValueError(f"`sigma` must be a finite number ≥ 0, got {sigma!r}")


def ogd_parameters(budget: int, delta: float, lipschitz: float, gap: float) -> OGDParameters:
    r"""Epoch length, epochs, radius and step of O2NC with restarted projected OGD for a budget of N calls.

    T = min(⌈(G δ N / gap)^{2/3}⌉, ⌈N/2⌉),  K = ⌊N/T⌋,  D = δ/T,  η = D/(G√T)

    ([CMO23] §4 as restated by [HT-OCO] Corollary 3 at p = 2; o2nc.md §6). D = δ/T keeps every gradient point of an
    epoch within δ of the epoch mean (o2nc.md §5, locality), so each epoch certificate is a (δ, ·) certificate.

    Example:
        >>> from o2nc.theory import ogd_parameters
        >>> ogd_parameters(budget=10_000, delta=0.1, lipschitz=1.0, gap=1.0)
        OGDParameters(epoch_length=100, epochs=100, radius=0.001, lr=0.0001)
    """
    _check(budget, delta, lipschitz, gap)
    # The small relative guard keeps an exact power such as 1000^{2/3} = 100 from rounding up to 101.
    balance = (lipschitz * delta * budget / gap) ** (2.0 / 3.0)
    epoch_length = max(1, min(math.ceil(balance * (1 - 1e-12)), math.ceil(budget / 2)))
    epochs = budget // epoch_length
    radius = delta / epoch_length
    lr = radius / (lipschitz * math.sqrt(epoch_length))
    return OGDParameters(epoch_length, epochs, radius, lr)


def ogd_bound(budget: int, delta: float, lipschitz: float, gap: float, sigma: float = 0.0) -> float:
    r"""Theorem 8's bound on E[(1/K) Σ_k ‖ĝ_k‖] with exact-gradient certificates, at :func:`ogd_parameters`.

    Theorem 8 ([CMO23]; o2nc.md §5) with M = KT steps:

        E[(1/K) Σ_k ‖(1/T) Σ_t ∇F(w_t^k)‖] ≤ gap/(D M) + E[R_T]/(D M) + σ/√T.

    Restarted OGD with η = D/(G√T) has regret ≤ ‖u‖²/(2η) + (η/2) T G² = D G √T per epoch against ‖u‖ = D (derived
    from the standard OGD bound; learners.md §1), so E[R_T] ≤ K D G √T, and with D = δ/T:

        bound = gap/(δ K) + G/√T + σ/√T.

    This is the exact form of the derivation, not the paper's rounded constants (o2nc.md §6 marks those
    unverified). It bounds an expectation over the random scalings (and the oracle noise).
    """
    _check(budget, delta, lipschitz, gap, sigma)
    p = ogd_parameters(budget, delta, lipschitz, gap)
    return gap / (delta * p.epochs) + (lipschitz + sigma) / math.sqrt(p.epoch_length)


def ogd_rate(epsilon: float, delta: float, lipschitz: float, gap: float) -> float:
    r"""The order of the gradient calls that suffice for E‖∇F‖_δ ≤ ε: G² · gap · δ^{-1} ε^{-3} (o2nc.md §6).

    Only the order is meaningful (no constant is claimed); complexity experiments compare fitted exponents with −3
    in ε and −1 in δ.
    """
    for name, v in (("epsilon", epsilon), ("delta", delta), ("lipschitz", lipschitz), ("gap", gap)):
        if not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            raise ValueError(f"`{name}` must be a finite number > 0, got {v!r}")
    return lipschitz**2 * gap / (delta * epsilon**3)
