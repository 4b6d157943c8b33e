r"""The one tuning: [CMO23]'s theory parameters from the budget N, δ, G, σ and the gap, and where G, σ, gap come from.

* :func:`theory_parameters` — T, K, D = δ/T, η = D/(G√T) (:func:`o2nc.theory.ogd_parameters`; Cutkosky, Mehta,
  Orabona, ICML 2023, Theorem 8 and §4; :mod:`o2nc.theory` names the restatement followed).
* :func:`theory_budget` — the smallest N whose Theorem-8 bound (:func:`o2nc.theory.ogd_bound`) is ≤ ε.
* :func:`constants` — (G, gap, σ) of an objective for one run:

  σ (E‖g − ∇F‖² ≤ σ²): 0 for an exact oracle; for a stochastic one the given ``sigma``, else √ of the variance the
  objective declares (``extra["variance_bound"]`` or ``extra["noise_variance"]``), else σ = G: E‖g − ∇F‖² =
  E‖g‖² − ‖∇F‖² ≤ E‖g‖² ≤ G² under [CMO23]'s assumption E‖g‖² ≤ G² (the σ ≤ G of [CMO23]'s OGD corollary).
  G: the given ``lipschitz``, else the objective's; for a stochastic oracle with a known σ > 0, G = √(Lipschitz² + σ²),
  since E‖g‖² = ‖∇F‖² + E‖g − ∇F‖² ≤ Lipschitz² + σ² for an unbiased oracle (derived here: the cross term has mean 0).
  gap: the given ``gap``, else F(x0) − f*, else the objective's ``extra["gap_bound"]`` (an upper bound on F(x0) − inf F,
  as the zero-chain hard instance gives, derived in ``objectives/hard_instance.py``).
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from o2nc.theory import OGDParameters, ogd_bound, ogd_parameters

__all__ = ["Constants", "constants", "noise_variance", "theory_parameters", "theory_budget", "OGDParameters"]


class Constants(NamedTuple):
    """The theory constants of one run: G (E‖g‖² ≤ G²), gap (≥ F(x0) − inf F), σ (E‖g − ∇F‖² ≤ σ²), and
    ``info``: each value and where it came from (``lipschitz_declared``, ``noise_variance`` when one entered G,
    ``sigma``, ``sigma_source``, ``gap_source``)."""

    lipschitz: float
    gap: float
    sigma: float
    info: dict


def noise_variance(obj) -> float | None:
    """The noise variance σ² ≥ E‖g − ∇F‖² an objective declares (``extra["variance_bound"]`` or
    ``extra["noise_variance"]``), or None.  Infinite values (heavy tails) are returned as they are."""
    extra = getattr(obj, "extra", None) or {}
    for k in ("variance_bound", "noise_variance"):
        v = extra.get(k)
        if v is not None:
            return float(v)
    return None


def _label(obj, name: str | None) -> str:
    return repr(name if name is not None else getattr(obj, "name", type(obj).__name__))


def constants(obj, *, stochastic: bool, lipschitz: float | None = None, gap: float | None = None,
              sigma: float | None = None, x0: Any = None, name: str | None = None) -> Constants:
    """(G, gap, σ, info) of ``obj`` for a run on its exact (``stochastic=False``) or stochastic oracle (module
    docstring); ``lipschitz``, ``gap`` and ``sigma`` override the objective's.  ``x0``: the start whose gap is
    F(x0) − f* (the objective's ``x0`` by default).  A missing constant is a ValueError saying which to give."""
    what = _label(obj, name)
    lip = lipschitz if lipschitz is not None else getattr(obj, "lipschitz", None)
    if lip is None or not (lip > 0 and math.isfinite(lip)):
        raise ValueError(f"objective {what} has no Lipschitz constant; set 'lipschitz' (a bound G with E‖g‖² ≤ G²)")
    info: dict[str, Any] = {"lipschitz_declared": float(lip)}
    G = float(lip)
    var, sigma_source = None, "exact oracle"
    if stochastic:
        if sigma is not None:
            var, sigma_source = float(sigma) ** 2, "spec"
        else:
            var = noise_variance(obj)
            sigma_source = "declared variance" if var is not None else "second moment (σ ≤ G)"
    if var is not None:
        if not math.isfinite(var):
            raise ValueError(f"objective {what} declares an infinite noise variance; the theory tuning needs "
                             "E‖g‖² ≤ G² < ∞ (set 'lipschitz' to a second-moment bound, or use the exact oracle)")
        if var > 0:
            G = math.sqrt(G * G + var)
            info["noise_variance"] = var
        s = math.sqrt(var)
    else:
        s = G if stochastic else 0.0
    info["sigma"], info["sigma_source"] = float(s), sigma_source
    if gap is not None:
        info["gap_source"] = "spec"
    else:
        f_star = getattr(obj, "f_star", None)
        bound = (getattr(obj, "extra", None) or {}).get("gap_bound")
        if f_star is not None:
            start = np.asarray(obj.x0 if x0 is None else x0, dtype=np.float64)
            gap = float(obj.value(start)) - float(f_star)
            if not gap > 0:
                gap = max(gap, 0.0) + 1e-12 * (1 + abs(float(f_star)))  # x0 already optimal: any tiny positive gap
            info["gap_source"] = "f_star"
        elif bound is not None and float(bound) > 0:
            gap = float(bound)
            info["gap_source"] = "gap_bound"
        else:
            raise ValueError(f"objective {what} has no known f_star and no gap_bound; set 'gap' (F(x0) − inf F)")
    return Constants(float(G), float(gap), float(s), info)


def theory_parameters(budget: int, delta: float, lipschitz: float, gap: float, sigma: float = 0.0, *,
                      epoch_length: int | None = None) -> OGDParameters:
    r"""T, K, D = δ/T and η = D/(G√T) for a budget of N calls: :func:`o2nc.theory.ogd_parameters`, with
    T = min(⌈((G + σ) δ N / gap)^{2/3}⌉, ⌈N/2⌉) unless ``epoch_length`` gives T ([CMO23] Theorem 8 and §4)."""
    return ogd_parameters(budget, delta, lipschitz, gap, sigma, epoch_length=epoch_length)


def theory_budget(epsilon: float, delta: float, lipschitz: float, gap: float, sigma: float = 0.0,
                  cap: int = 10 ** 13) -> int:
    """Smallest N with ogd_bound(N, δ, G, gap, σ) ≤ ε (doubling, then bisection to 0.1%; the bound decreases in N
    up to the rounding of T and K).  ogd_bound = gap/(δK) + (G + σ)/√T ([CMO23] Theorem 8 with restarted OGD, σ/√T
    its noise term; derived in :func:`o2nc.theory.ogd_bound`), with T and K of ``ogd_parameters(N, δ, G, gap, σ)``."""
    if ogd_bound(2, delta, lipschitz, gap, sigma) <= epsilon:
        return 2
    hi = 4
    while ogd_bound(hi, delta, lipschitz, gap, sigma) > epsilon:
        hi *= 2
        if hi > cap:
            raise ValueError(f"epsilon={epsilon:g} needs more than {cap} calls by the theory bound")
    lo = hi // 2
    while hi - lo > max(1, lo // 1000):
        mid = (lo + hi) // 2
        if ogd_bound(mid, delta, lipschitz, gap, sigma) <= epsilon:
            hi = mid
        else:
            lo = mid
    return hi
