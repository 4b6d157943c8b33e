"""The scaling rule of the conversion: s_n, and the points x_n, w_n it makes of the anchor and the increment.

Given the anchor x_{n−1}, the learner's increment Δ_n, an increment multiplier ``lr`` (1 in ``minimize``; the
optimizers' learning rate) and the scalar s_n ([CMO23] = Cutkosky, Mehta, Orabona, ICML 2023, arXiv 2302.03775):

============== ============================== ================================ =======================================
name           s_n                            x_n                              w_n (where the gradient is taken)
============== ============================== ================================ =======================================
``uniform``    U[0, 1)                        x_{n−1} + lr Δ_n                 x_{n−1} + s_n lr Δ_n  ([CMO23] Alg. 1)
``exponential``Exp(1)                         x_{n−1} + s_n lr Δ_n             x_n   (E-O2NC, Zhang & Cutkosky 2024)
``none``       1                              x_{n−1} + lr Δ_n                 x_n   (no randomisation)
``midpoint``   1/2                            x_{n−1} + lr Δ_n                 x_{n−1} + lr Δ_n/2 (deterministic,
                                                                                      second-order smooth, [CMO23])
replay         given values in [0, 1], in     as ``uniform``                   as ``uniform``
               order
============== ============================== ================================ =======================================

In one formula: w_n = x_{n−1} + (s_n lr) Δ_n and x_n = x_{n−1} + c_n Δ_n with c_n = lr for every *full-step* scaling
(all but ``exponential``) and c_n = s_n lr for ``exponential``; ``none`` is the full step with s_n = 1. The lag
x_n − w_n = (c_n − s_n lr) Δ_n is what a shell that keeps only w_n adds back to recover the anchor.

Both random scalings make ⟨∇F(w_n), Δ_n⟩ an unbiased estimate of F(x_n) − F(x_{n−1}) ([CMO23] Theorem 7, §3): for
s ~ U[0,1] by the fundamental theorem of calculus along the segment, and for s ~ Exp(1) by integrating by parts,
E_s⟨∇F(x + sΔ), Δ⟩ = ∫_0^∞ e^{−s} dF(x + sΔ) = E_s[F(x + sΔ)] − F(x). The midpoint rule is exact up to
(H/24)‖Δ‖³ for an H-Lipschitz Hessian (midpoint quadrature, derived here: φ(t) = ⟨∇F(x + tΔ), Δ⟩ has an
H‖Δ‖³-Lipschitz derivative, and |∫_0^1 φ − φ(1/2)| ≤ M ∫_0^1 (t − 1/2)²/2 dt = M/24 for an M-Lipschitz φ').

s_n comes from :mod:`o2nc.conversion.draw`: a pure function of the integer seed and n, the same in every shell.
Every scaling is supported by every shell (``minimize``, ``o2nc.torch.O2NC``, ``o2nc.jax.o2nc``, the batched
runners): :data:`SHELLS` lists them, and a shell refuses at construction a scaling it does not list.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from o2nc.conversion import draw

__all__ = ["Scaling", "resolve_scaling", "SCALINGS", "SHELLS", "check_supported", "coefficients"]

SCALINGS = ("uniform", "exponential", "none", "midpoint")
#: The shells that run each scaling (``"replay"``: a given 1-D array of s values).
SHELLS = {name: ("minimize", "torch", "jax", "batched") for name in SCALINGS + ("replay",)}


def check_supported(name: str, shell: str) -> None:
    """Refuse, at construction, a scaling that ``shell`` does not run, naming the shells that do."""
    if shell not in SHELLS.get(name, ()):
        raise ValueError(f"`scaling` {name!r} is not supported by the {shell} shell; it runs in: "
                         f"{', '.join(SHELLS.get(name, ())) or 'no shell'}")


@dataclass(frozen=True)
class Scaling:
    """A scaling rule: how s_n is drawn, and whether the anchor moves by lr Δ_n (``full_step``) or s_n lr Δ_n."""

    name: str
    values: np.ndarray | None = None  # replayed s-sequence, float64, 1-D

    @property
    def full_step(self) -> bool:
        """True when x_n = x_{n−1} + lr Δ_n (uniform, none, midpoint, replay); False when x_n = x_{n−1} + s_n lr Δ_n."""
        return self.name != "exponential"

    @property
    def query_at_anchor(self) -> bool:
        """True when the gradient point is the new anchor, w_n = x_n (exponential, none)."""
        return self.name in ("exponential", "none")

    @property
    def constant(self) -> float | None:
        """s_n when it does not depend on n (none: 1, midpoint: 1/2), else None."""
        return {"none": 1.0, "midpoint": 0.5}.get(self.name)

    def sample(self, key, start: int, count: int, bits: int = 53) -> np.ndarray:
        """s_{start+1}, …, s_{start+count} as a float64 numpy array (counters start … start+count−1).

        ``key`` is :func:`o2nc.conversion.draw.seed_key` of the run's seed; ``bits`` (53 or 24) the precision of
        the uniform draw (:func:`o2nc.conversion.draw.bits_for` of the run's dtype).
        """
        if self.name in ("uniform", "exponential"):
            u = draw.uniform(key, np.arange(start, start + count, dtype=np.uint32), bits, np.float64)
            return u if self.name == "uniform" else draw.exponential(u)
        if self.constant is not None:
            return np.full(count, self.constant)
        if start + count > self.values.shape[0]:
            raise ValueError(
                f"scaling: the replayed s-sequence has {self.values.shape[0]} values, "
                f"but step {start + count} was requested"
            )
        return self.values[start : start + count]

    def at(self, key, n: int, bits: int = 53) -> float:
        """s_{n+1} as a Python float (host side, no array work): the value of ``sample(key, n, 1, bits)[0]``."""
        if self.name in ("uniform", "exponential"):
            u = draw.uniform(key, int(n), bits)
            return u if self.name == "uniform" else draw.exponential(u)
        if self.constant is not None:
            return self.constant
        if n >= self.values.shape[0]:
            raise ValueError(
                f"scaling: the replayed s-sequence has {self.values.shape[0]} values, but step {n + 1} was requested"
            )
        return float(self.values[n])

    def traced(self, key, n, dtype, values=None):
        """s_{n+1} for an integer array counter ``n`` (uint32 in jax, int64 in torch), as a 0-d array of ``dtype``,
        with no host work (for ``jax.jit``). A replayed sequence ``values`` (an array of the backend) gives NaN beyond
        its end, which makes the failure visible under ``jit``."""
        import array_api_compat

        xp = array_api_compat.array_namespace(n)
        if self.name in ("uniform", "exponential"):
            bits = 53 if dtype == xp.float64 else 24
            u = draw.uniform(key, n, bits, dtype)
            return u if self.name == "uniform" else draw.exponential(u)
        if self.constant is not None:
            return xp.asarray(self.constant, dtype=dtype)
        size = values.shape[0]
        index = xp.astype(n, xp.int32) if hasattr(xp, "int32") else n
        inside = index < size
        return xp.where(inside, xp.astype(values[xp.minimum(index, size - 1)], dtype),
                        xp.asarray(float("nan"), dtype=dtype))

    def points(self, anchor, delta, s, lr=1.0):
        """(x_n, w_n) from x_{n−1} = ``anchor``, Δ_n = ``delta`` and s_n (arrays that broadcast; module table)."""
        w_coef, x_coef = self.coefficients(s, lr)
        w = anchor + w_coef * delta
        return (anchor + x_coef * delta if self.full_step else w), w

    def coefficients(self, s, lr=1.0):
        """(w_coef, x_coef): w_n = x_{n−1} + w_coef Δ_n, x_n = x_{n−1} + x_coef Δ_n (module table)."""
        return coefficients(self.full_step, s, lr)


def coefficients(full_step: bool, s, lr=1.0):
    """(s·lr, lr) for a full-step scaling, (s·lr, s·lr) for ``exponential`` ([CMO23] Alg. 1; Zhang & Cutkosky 2024)."""
    w_coef = s * lr
    return w_coef, (lr if full_step else w_coef)


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
        raise TypeError(
            f"`scaling` must be one of {SCALINGS} or a 1-D array of s values, got {type(scaling).__name__}"
        ) from None
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"`scaling` as an array must be 1-D and non-empty, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError("`scaling` as an array must hold finite s values")
    outside = np.flatnonzero((values < 0.0) | (values > 1.0))
    if outside.size:
        # A replay is a full step (module table): w_n lies on the segment [x_{n−1}, x_n] only for s_n ∈ [0, 1], and
        # the path bound L_k (o2nc.conversion.epoch) and the unbiasedness of [CMO23] Theorem 7 both rest on that.
        raise ValueError(f"`scaling` as an array must hold s values in [0, 1] (a replayed uniform scaling: the "
                         f"gradient point w_n = x_(n-1) + s_n lr Δ_n on the step's segment), got "
                         f"s[{outside[0]}] = {values[outside[0]]!r}")
    return Scaling("replay", values)
