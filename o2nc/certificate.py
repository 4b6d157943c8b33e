"""``o2nc.Certificate``: what the library claims about a point, as one value.

A point x is Goldstein (δ, ε)-stationary when dist(0, ∂_δ F(x)) ≤ ε, with ∂_δ F(x) the convex hull of the
subgradients in the closed δ-ball around x (Goldstein, Math. Prog. 13, 1977; Zhang, Lin, Jegelka, Sra, Jadbabaie,
ICML 2020, Definition 4).  Every certificate the library prints or stores is one of these values, and every sentence
it prints about a certificate comes from :meth:`Certificate.describe`, so no caller can word a claim that the
numbers do not support.

Kinds (what ``epsilon`` is, for the point ``point`` and the radius ``delta``):

* ``"exact-gradient epoch"`` — an O2NC epoch run on exact gradients: ε = ‖(1/T) Σ_t ∇F(w_t)‖ with w̄ the mean of the
  w_t and δ = max_t ‖w_t − w̄‖.  Uniform weights over points whose mean is w̄ are feasible in [CMO23] Definition 5,
  so ‖∇F(w̄)‖_δ ≤ ε and a fortiori dist(0, ∂_δ F(w̄)) ≤ ε (Cutkosky, Mehta, Orabona, ICML 2023, §3).  A proof.
* ``"sampled one-sided"`` — the min-norm element of the hull of exact gradients at points of the δ-ball: an upper
  bound on dist(0, ∂_δ F(x)) (Burke, Lewis, Overton, SIAM J. Optim. 15(3), 2005).  A proof of (δ, ε); a large ε
  proves nothing.
* ``"mean-constrained upper bound"`` — the same with the weighted mean of the points constrained to x: an upper bound
  on ‖∇F(x)‖_δ of [CMO23] Definition 5, hence on the Goldstein distance.  A proof.
* ``"stochastic estimate"`` — built from stochastic gradients: an estimate, not a proof for this run.  What it
  estimates is ``estimate`` (one of :data:`ESTIMATES`): ``"epoch mean"``, the norm of an O2NC epoch's mean stochastic
  gradient, whose expectation (averaged over epochs) [CMO23] Theorem 8 bounds; ``"min-norm hull"``, the min-norm
  element of the hull of stochastic gradients at points of the ball (the sampled certificate on a noisy oracle);
  ``"baseline running"``, a baseline's own running quantity (INGD's ‖m‖) built from stochastic gradients, which no
  result bounds; None, said no more precisely than "a combination of stochastic gradients".

``radius_kind`` says whether ``delta`` is the exact largest distance of the points used (``"exact"``) or a proven
upper bound on it (``"bound"``, e.g. a path length).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Certificate", "KINDS", "RADIUS_KINDS", "PROOF_KINDS", "ESTIMATES"]

KINDS = ("exact-gradient epoch", "sampled one-sided", "mean-constrained upper bound", "stochastic estimate")
#: The kinds whose ε is a proven upper bound on dist(0, ∂_δ F(point)).
PROOF_KINDS = KINDS[:3]
RADIUS_KINDS = ("exact", "bound")
#: What a ``"stochastic estimate"`` is, by its ``estimate`` field, as :meth:`Certificate.describe` words it (None: only
#: that it combines stochastic gradients).  Only "epoch mean" is a quantity a theorem speaks of ([CMO23] Theorem 8
#: bounds its expectation, averaged over epochs); none of them bounds anything for one run.
ESTIMATES = {
    None: "a combination of stochastic gradients at points within {radius} of the point has norm {eps}",
    "epoch mean": ("the epoch's mean stochastic gradient has norm {eps} over points within {radius} of the point (its "
                   "expectation, averaged over epochs, is what [CMO23] Theorem 8 bounds)"),
    "min-norm hull": ("the min-norm element of the hull of stochastic gradients at points within {radius} of the "
                      "point has norm {eps}"),
    "baseline running": ("the method's own running quantity, a combination of stochastic gradients at points within "
                         "{radius} of the point, has norm {eps} (no result bounds it or its expectation)"),
}


def _number(name: str, value: Any, *, allow_inf: bool = False) -> float:
    if isinstance(value, bool):
        raise TypeError(f"Certificate: `{name}` must be a number, got {value!r}")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"Certificate: `{name}` must be a number, got {value!r}") from None
    if math.isnan(value) or value < 0 or (math.isinf(value) and not allow_inf):
        raise ValueError(f"Certificate: `{name}` must be a number ≥ 0, got {value!r}")
    return value


def _compared(a: float, b: float, digits_a: int = 4, digits_b: int = 6) -> tuple[str, str]:
    """``a`` and ``b`` as printed in one sentence that compares them (r against δ): ``digits_a`` and ``digits_b``
    significant digits where the printed numbers compare as ``a`` and ``b`` do, else the fewest common significant
    digits that make them (17 always do: ``float(f"{x:.17g}") == x`` for every double), so a printed "r = 0.1 > δ =
    0.1" or "r = 0.1 ≤ δ = 0.099996" cannot happen (derived here)."""
    sa, sb = f"{a:.{digits_a}g}", f"{b:.{digits_b}g}"
    if not (math.isfinite(a) and math.isfinite(b)):
        return sa, sb

    def order(x: float, y: float) -> int:
        return (x > y) - (x < y)

    digits = max(digits_a, digits_b)
    while order(float(sa), float(sb)) != order(a, b):
        sa, sb = f"{a:.{digits}g}", f"{b:.{digits}g}"
        digits += 1
    return sa, sb


@dataclass(frozen=True)
class Certificate:
    """A (δ, ε) claim about one point, with how it was obtained and what it cost.

    Attributes:
        point: the certified point (an array of the run's backend).
        delta: the radius actually achieved: every point whose gradient entered ε lies within ``delta`` of ``point``.
        epsilon: the certified norm (see the module docstring for what it bounds, by ``kind``).
        kind: one of :data:`KINDS`.
        radius_kind: ``"exact"`` (the largest distance, computed) or ``"bound"`` (a proven upper bound on it).
        calls: the oracle calls it cost: for a run's own certificate, the calls the run had made when it was
            obtained (the count complexity experiments measure); for one computed afterwards (sampled gradients at
            the point), the calls spent computing it.
        estimate: for kind ``"stochastic estimate"``, what ε is (a key of :data:`ESTIMATES`; keyword only); None
            for every other kind.  Not part of :meth:`as_dict`.

    Example:
        >>> import numpy as np
        >>> c = Certificate(point=np.zeros(2), delta=0.05, epsilon=0.01, kind="exact-gradient epoch", calls=100)
        >>> c.proves(delta=0.1, epsilon=0.02), c.proves(delta=0.01)
        (True, False)
    """

    point: Any
    delta: float
    epsilon: float
    kind: str
    radius_kind: str = "exact"
    calls: int = 0
    estimate: str | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        object.__setattr__(self, "delta", _number("delta", self.delta, allow_inf=True))
        object.__setattr__(self, "epsilon", _number("epsilon", self.epsilon, allow_inf=True))
        if self.kind not in KINDS:
            raise ValueError(f"Certificate: `kind` must be one of {KINDS}, got {self.kind!r}")
        if self.radius_kind not in RADIUS_KINDS:
            raise ValueError(f"Certificate: `radius_kind` must be one of {RADIUS_KINDS}, got {self.radius_kind!r}")
        if isinstance(self.calls, bool) or int(self.calls) != self.calls or self.calls < 0:
            raise ValueError(f"Certificate: `calls` must be an integer ≥ 0, got {self.calls!r}")
        object.__setattr__(self, "calls", int(self.calls))
        if self.estimate not in ESTIMATES:
            raise ValueError(f"Certificate: `estimate` must be one of {tuple(ESTIMATES)}, got {self.estimate!r}")
        if self.estimate is not None and self.kind != "stochastic estimate":
            raise ValueError(f"Certificate: `estimate` describes a 'stochastic estimate' only (None for kind "
                             f"{self.kind!r}), got {self.estimate!r}")

    @property
    def is_proof(self) -> bool:
        """Whether ``epsilon`` is a proven bound (every kind but ``"stochastic estimate"``)."""
        return self.kind in PROOF_KINDS

    def proves(self, delta: float, epsilon: float | None = None) -> bool:
        """True when this certificate proves (δ, ε)-stationarity of ``point`` (ε defaults to ``self.epsilon``).

        That needs a proof kind, ``self.delta ≤ delta`` and ``self.epsilon ≤ epsilon``.  False proves nothing.
        """
        eps = self.epsilon if epsilon is None else float(epsilon)
        return self.is_proof and self.delta <= float(delta) and self.epsilon <= eps and math.isfinite(self.epsilon)

    def as_dict(self) -> dict:
        """The scalar fields, for JSON, CSV and the results store (``point`` left out)."""
        return {"delta": self.delta, "epsilon": self.epsilon, "kind": self.kind, "radius_kind": self.radius_kind,
                "calls": self.calls}

    def describe(self, requested_delta: float | None = None) -> str:
        """The one sentence the library prints about this certificate; true by construction.

        With ``requested_delta``, a certificate whose radius exceeds it is reported as no certificate at that δ.
        """
        r_text, d_text = f"{self.delta:.4g}", None
        if requested_delta is not None:  # r and δ printed so that they compare as the numbers do
            requested_delta = float(requested_delta)
            r_text, d_text = _compared(self.delta, requested_delta)
        radius = f"r = {r_text}" + (" (exact)" if self.radius_kind == "exact" else " (upper bound)")
        if requested_delta is not None and not self.delta <= requested_delta:
            return (f"no certificate at δ = {d_text}: the smallest radius reached is {radius} > δ "
                    f"(at that radius ε = {self.epsilon:.5g}, {self.kind})")
        at = f"δ = {d_text}" if requested_delta is not None else f"δ = {r_text}"
        if not math.isfinite(self.epsilon):
            return f"no certificate: ε is not finite ({self.kind}, {radius})"
        if self.kind == "stochastic estimate":
            what = ESTIMATES[self.estimate].format(eps=f"{self.epsilon:.5g}", radius=radius)
            return f"estimate, not a proof: {what}"
        within = f"{radius} ≤ δ" if requested_delta is not None else radius
        what = {"exact-gradient epoch": "epoch mean of exact gradients",
                "sampled one-sided": "a convex combination of exact gradients at points within r, an upper bound",
                "mean-constrained upper bound": "mean-constrained min-norm, an upper bound"}[self.kind]
        return f"(δ, ε)-stationary with {at}, ε = {self.epsilon:.5g} ({what}; {within}; {self.calls} calls)"

    def __repr__(self) -> str:
        return (f"Certificate(delta={self.delta:.6g} ({self.radius_kind}), epsilon={self.epsilon:.6g}, "
                f"kind={self.kind!r}, calls={self.calls})")
