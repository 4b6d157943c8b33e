"""Random scalings of the learner's increment: where the conversion queries the gradient.

Given the anchor x_{n−1}, the increment Δ_n and a scalar s_n, a scaling returns the next anchor x_n and the gradient
point w_n:

============== ============================== ============================== =========================================
name           s_n                            x_n                            w_n
============== ============================== ============================== =========================================
``uniform``    U[0, 1]                        x_{n−1} + Δ_n                  x_{n−1} + s_n Δ_n   ([CMO23] Algorithm 1)
``exponential``Exp(1)                         x_{n−1} + s_n Δ_n              x_n      (exponentiated O2NC, o2nc.md §15)
``none``       1                              x_{n−1} + Δ_n                  x_n      (no randomisation)
``midpoint``   1/2                            x_{n−1} + Δ_n                  x_{n−1} + Δ_n/2   (deterministic,
                                                                                          second-order smooth, §9)
replay         given values, in order         as ``uniform``                 as ``uniform``
============== ============================== ============================== =========================================

Both random scalings make ⟨∇F(w_n), Δ_n⟩ an unbiased estimate of F(x_n) − F(x_{n−1}) ([CMO23] Theorem 7): for
s ~ U[0,1] by the fundamental theorem of calculus along the segment, and for s ~ Exp(1) by integrating by parts,
E_s⟨∇F(x + sΔ), Δ⟩ = ∫_0^∞ e^{−s} dF(x + sΔ) = E_s[F(x + sΔ)] − F(x). The midpoint rule is exact up to
(H/24)‖Δ‖³ for an H-Lipschitz Hessian (midpoint quadrature; o2nc.md §9), which is what the deterministic optimistic
variant exploits.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

__all__ = ["Scaling", "resolve_scaling", "SCALINGS"]

SCALINGS = ("uniform", "exponential", "none", "midpoint")


@dataclass(frozen=True)
class Scaling:
    """A scaling rule: how s_n is drawn, and whether the anchor moves by Δ_n (``full_step``) or by s_n Δ_n."""

    name: str
    values: Optional[np.ndarray] = None  # replayed s-sequence, float64, 1-D

    @property
    def full_step(self) -> bool:
        """True when x_n = x_{n−1} + Δ_n (uniform, none, replay); False when x_n = x_{n−1} + s_n Δ_n."""
        return self.name != "exponential"

    @property
    def query_at_anchor(self) -> bool:
        """True when the gradient point is the new anchor, w_n = x_n."""
        return self.name in ("exponential", "none")

    def sample(self, rng: np.random.Generator, start: int, count: int) -> np.ndarray:
        """s_{start+1}, …, s_{start+count} as float64; ``rng`` is only used by the random scalings."""
        if self.name == "uniform":
            return rng.random(count)
        if self.name == "exponential":
            return rng.exponential(1.0, count)
        if self.name == "none":
            return np.ones(count)
        if self.name == "midpoint":
            return np.full(count, 0.5)
        if start + count > self.values.shape[0]:
            raise ValueError(
                f"scaling: the replayed s-sequence has {self.values.shape[0]} values, "
                f"but step {start + count} was requested"
            )
        return self.values[start : start + count]

    def points(self, anchor, delta, s):
        """(x_n, w_n) from x_{n−1} = ``anchor``, Δ_n = ``delta`` and the scalar s_n (single arrays)."""
        if self.name == "none":
            x_next = anchor + delta
            return x_next, x_next
        step = s * delta
        if self.full_step:
            return anchor + delta, anchor + step
        x_next = anchor + step
        return x_next, x_next


def resolve_scaling(scaling) -> Scaling:
    """Turn the user's ``scaling`` argument (a name, a 1-D array of s values, or a Scaling) into a Scaling."""
    if isinstance(scaling, Scaling):
        return scaling
    if isinstance(scaling, str):
        if scaling not in SCALINGS:
            raise ValueError(f"`scaling` must be one of {SCALINGS} or a 1-D array of s values, got {scaling!r}")
        return Scaling(scaling)
    try:
        values = np.asarray(scaling, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"`scaling` must be one of {SCALINGS} or a 1-D array of s values, got {type(scaling).__name__}")
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"`scaling` as an array must be 1-D and non-empty, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError("`scaling` as an array must hold finite s values")
    return Scaling("replay", values)
