"""Rate fits: log–log exponents with confidence intervals.

The model is a power law y = C · x₁^{b₁} · x₂^{b₂} ⋯ with multiplicative noise, fitted by ordinary least squares on
logarithms:  log y = a + Σ_j b_j log x_j + noise.  The runs of a sweep come in design cells (one distinct x, several
seeds), and the interval of an exponent comes from one of three schemes:

- ``"cells"`` (the default): the seeds of one cell share that cell's departure from the straight line (a
  deterministic tuning's rounding, a finite-size effect), so they are not independent evidence about the line; the
  unit is the cell (Field & Welsh, *Bootstrapping clustered data*, J. R. Statist. Soc. B 69(3), 2007: resampling
  the runs as if independent is inconsistent under such a random cell effect).  The regressors are constant within
  a cell, so the least-squares coefficients depend on the responses only through the k cell means ȳ_c, whose
  errors are the cell's departure plus its seeds' mean noise; the interval is the classical Student-t interval of
  a regression coefficient, on the cell means with weights n_c and k − #parameters degrees of freedom.  With one
  run per cell it is the ordinary least-squares interval.  With as many cells as parameters the cell means have no
  spread to measure and :func:`fit_power_law` falls back to ``"residual"`` (the row's ``method`` says so);
  :func:`fit_store` (``o2nc fit``) reports no interval there instead (method ``"none"``, see below).
- ``"residual"``: a bootstrap percentile interval (Efron & Tibshirani, *An Introduction to the Bootstrap*, 1993,
  ch. 13) that resamples the n residuals as if independent (ibid. ch. 9.5).  Where seeds barely differ and the
  cells depart from the line it counts each cell's departure once per seed and is too narrow: on the tight
  family's rate sweep (75 runs, 15 cells) the cell-mean residuals spread 3.5× more than the seeds within a cell,
  and this interval of the ε-exponent was 2.6× narrower than the cell interval.  Measured in
  ``tests/test_experiments.py``: with a random cell effect it covers the true exponent in about half of the trials.
- ``"stratified"``: resamples the runs within each cell (needs two or more per cell): the seed-to-seed spread only.

Theory to hold the exponents against ([CMO23] Theorem 8 with restarted OGD, and [CMO23]'s matching lower bound):
O2NC with OGD needs N = O(ε⁻³ δ⁻¹) queries, so
queries ~ ε^{-3} at fixed δ and ~ δ^{-1} at fixed ε; at fixed δ its certificate after N calls is ~ N^{-1/3}.

What a fit over stored runs (:func:`fit_store`) reports beside the exponent, so that it can be read
(``docs/complexity.md``):

- **censoring**: a group with a censored run (no certificate within ``max_queries``) is not fitted: leaving the
  censored runs out would drop the largest counts and bias the exponent towards 0, and a least-squares fit cannot take
  a run known only to exceed the cap.  The row says how many runs were censored and gives no exponent.
- **bound ratios**: each epsilon run's queries over O2NC's Theorem-8 budget N_ε at its (ε, δ) (stored by
  :mod:`o2nc.experiments.runner`); ``bound_violations`` counts runs above 1 (a censored run counts when its cap is:
  its ratio exceeds ``bound_ratio_above`` = max_queries / N_ε).  :func:`bound_ratios` puts the censored runs in the
  distribution at their lower bound and says which quantiles are then only lower bounds.
- **travel**: a group is ``travel_limited`` when the median of its runs' queries / (T·‖x0 − x*‖/δ) lies in
  [:data:`TRAVEL_FLOOR`, :data:`TRAVEL_LIMIT`] = [1, 1.5]: a run cannot reach x* in fewer than T·‖x0 − x*‖/δ
  queries (the anchor moves at most δ per epoch, [CMO23] Theorem 8's D = δ/T; in expectation under the exponential
  scaling), so a median in that band says the runs stopped about when they reached x*, and the fitted exponent is
  that of T(ε)·‖x0 − x*‖/δ — the tuning's epoch length times the distance — and says nothing about the certificate's
  rate unless the distance itself scales with ε (as on the tight family).  A median below 1 says that at least half
  the runs certified before they could reach x*: their count is not a travel time, and the row says that instead.
- **no interval**: with as many design cells as parameters (two ε values at one δ) a line passes through the cell
  means exactly and nothing measures its error; :func:`fit_store` with the default ``"cells"`` interval reports the
  exponent without an interval (``RateFit.method == "none"``, ``ci_low``/``ci_high`` NaN; ``null`` in JSON, "—" in
  the table) rather than a bootstrap of the seeds that, with deterministic seeds, has zero width.
- **no spread**: an interval of zero width means the runs (or, for the t interval, the cell means) lie exactly on one
  curve (the counts are deterministic functions of the tuning); the row says so.
"""
from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["RateFit", "fit_power_law", "fit_exponent", "fit_store", "THEORY", "FitRow", "fits_json", "TRAVEL_LIMIT",
           "TRAVEL_FLOOR", "is_travel_limited", "bound_ratios", "interval_words"]

#: Exponents predicted for O2NC + OGD (theory tuning), by what the fit is against.
THEORY = {"epsilon": -3.0, "delta": -1.0, "budget": -1.0 / 3.0}

#: A group whose median queries / (T·‖x0 − x*‖/δ) lies in [TRAVEL_FLOOR, TRAVEL_LIMIT] is flagged travel-limited
#: (module docstring): at least the travel time to x*, and at most half again as much.
TRAVEL_LIMIT = 1.5
TRAVEL_FLOOR = 1.0


def is_travel_limited(ratio: float | None) -> bool | None:
    """Whether a median travel ratio queries / (T·‖x0 − x*‖/δ) says the runs stopped about when they reached x*:
    ``TRAVEL_FLOOR ≤ ratio ≤ TRAVEL_LIMIT`` (module docstring); None when no ratio was stored."""
    return None if ratio is None else bool(TRAVEL_FLOOR <= ratio <= TRAVEL_LIMIT)


def _percent(level: float) -> str:
    """A confidence level as a percentage: 0.95 -> "95%", 0.975 -> "97.5%"."""
    return f"{100 * level:.10g}%"


@dataclass(frozen=True)
class RateFit:
    """A fitted power law.

    Attributes:
        exponents: the fitted b_j, one per regressor.
        intercept: a (log C).
        ci_low, ci_high: the interval of each exponent at ``level`` (NaN where ``method`` is ``"none"``).
        level: confidence level (0.95 by default).
        n: observations used.
        cells: distinct design points.
        r2: coefficient of determination of the log–log fit.
        method: ``"cells"`` (t interval on the cell means), ``"residual"`` or ``"stratified"`` bootstrap, or
            ``"none"`` (no interval: :func:`fit_store` with as many design cells as parameters).
        n_boot: bootstrap replicates (0 for the "cells" interval, which resamples nothing).
    """

    exponents: tuple
    intercept: float
    ci_low: tuple
    ci_high: tuple
    level: float
    n: int
    cells: int
    r2: float
    method: str
    n_boot: int

    @property
    def exponent(self) -> float:
        """The first (often the only) exponent."""
        return self.exponents[0]

    def contains(self, value: float, j: int = 0) -> bool:
        return bool(self.ci_low[j] <= value <= self.ci_high[j])


def _ols(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Batched least squares: X (B, n, p), Y (B, n) -> coefficients (B, p)."""
    XtX = np.einsum("bni,bnj->bij", X, X)
    XtY = np.einsum("bni,bn->bi", X, Y)
    return np.linalg.solve(XtX, XtY[..., None])[..., 0]


def fit_power_law(xs: Sequence[Sequence[float]] | np.ndarray, y: Sequence[float], *, n_boot: int = 2000,
                  level: float = 0.95, seed: int = 0, bootstrap: str = "cells") -> RateFit:
    """Fit log y = a + Σ_j b_j log x_j by least squares, with a confidence interval for each b_j.

    Args:
        xs: (n, p) regressors (or (n,) for one), all > 0.
        y: (n,) responses, all > 0.
        n_boot: bootstrap replicates (≥ 100).
        level: confidence level in (0, 1).
        seed: bootstrap seed.
        bootstrap: ``"cells"`` (default: t interval on the design cells' means), ``"residual"``
            (the n residuals as if independent) or ``"stratified"`` (seeds within each distinct x); the module
            docstring says what each interval holds.

    Raises:
        ValueError: non-positive or non-finite data, fewer distinct design points than parameters, bad level.

    Example:
        >>> import numpy as np
        >>> eps = np.repeat([0.4, 0.2, 0.1, 0.05], 5)
        >>> q = 7.0 * eps ** -3 * np.exp(0.1 * np.random.default_rng(0).standard_normal(20))
        >>> f = fit_power_law(eps, q)
        >>> bool(abs(f.exponent + 3) < 0.1 and f.contains(-3.0))
        True
    """
    X = np.asarray(xs, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise ValueError(f"xs: expected {y.shape[0]} rows of regressors, got shape {np.shape(xs)}")
    if not (np.all(np.isfinite(X)) and np.all(X > 0)):
        raise ValueError("xs: every regressor must be finite and > 0 (log–log fit)")
    if not (np.all(np.isfinite(y)) and np.all(y > 0)):
        raise ValueError("y: every response must be finite and > 0 (log–log fit)")
    if not (0 < level < 1):
        raise ValueError(f"level: expected a number in (0, 1), got {level}")
    if n_boot < 100:
        raise ValueError(f"n_boot: expected at least 100 replicates, got {n_boot}")
    n, p = X.shape
    L = np.log(X)
    D = np.hstack([np.ones((n, 1)), L])
    cells, cell_id = np.unique(L, axis=0, return_inverse=True)
    cell_id = cell_id.reshape(-1)
    if np.linalg.matrix_rank(np.hstack([np.ones((len(cells), 1)), cells])) < p + 1:
        raise ValueError(f"xs: {len(cells)} distinct design points cannot determine {p} exponent(s) and an "
                         "intercept (vary each regressor over at least two values)")
    ly = np.log(y)
    coef = _ols(D[None], ly[None])[0]
    resid = ly - D @ coef
    ss_tot = float(np.sum((ly - ly.mean()) ** 2))
    r2 = 1.0 - float(resid @ resid) / ss_tot if ss_tot > 0 else 1.0

    if bootstrap not in ("cells", "residual", "stratified"):
        raise ValueError(f"bootstrap: expected 'cells', 'residual' or 'stratified', got {bootstrap!r}")
    rng = np.random.default_rng(seed)
    counts = np.bincount(cell_id)
    if bootstrap == "stratified":
        if counts.min() < 2:
            raise ValueError("bootstrap: 'stratified' needs at least two observations at every distinct x")
        method = "stratified"
        idx = np.empty((n_boot, n), dtype=np.int64)
        pos = 0
        for c in range(len(cells)):
            members = np.flatnonzero(cell_id == c)
            idx[:, pos:pos + len(members)] = members[rng.integers(0, len(members), (n_boot, len(members)))]
            pos += len(members)
        boot = _ols(D[idx], ly[idx])
    elif bootstrap == "residual" or len(cells) <= p + 1:
        method = "residual"  # (for "cells": as many cells as parameters leave the cell means no spread to use)
        # residuals inflated by sqrt(n/(n − #parameters)) for the fitted degrees of freedom (Davison & Hinkley,
        # *Bootstrap Methods and their Application*, 1997, §6.2)
        scale = math.sqrt(n / max(n - p - 1, 1))
        r = resid * scale
        Yb = (D @ coef)[None, :] + r[rng.integers(0, n, (n_boot, n))]
        boot = _ols(np.broadcast_to(D, (n_boot, n, p + 1)), Yb)
    else:
        method = "cells"
        boot = None
        lo, hi = _cell_interval(D, ly, cell_id, counts, coef, level)
    if boot is not None:
        alpha = (1 - level) / 2
        lo = np.quantile(boot[:, 1:], alpha, axis=0)
        hi = np.quantile(boot[:, 1:], 1 - alpha, axis=0)
    return RateFit(exponents=tuple(float(v) for v in coef[1:]), intercept=float(coef[0]),
                   ci_low=tuple(float(v) for v in lo), ci_high=tuple(float(v) for v in hi), level=level, n=n,
                   cells=len(cells), r2=r2, method=method, n_boot=0 if method == "cells" else n_boot)


def _cell_interval(D: np.ndarray, ly: np.ndarray, cell_id: np.ndarray, counts: np.ndarray, coef: np.ndarray,
                   level: float) -> tuple[np.ndarray, np.ndarray]:
    """Student-t intervals of the exponents from the k design cells' means (module docstring): the weighted least
    squares of the cell means ȳ_c on the cell's regressors with weights n_c — the same coefficients as the fit over
    all runs — with the residual variance s² = Σ n_c (ȳ_c − ŷ_c)² / (k − #parameters) of the cell means, so
    Cov(b) = s² (D_cᵀ W D_c)⁻¹ and b_j ± t_{k−#parameters, (1+level)/2} · √Cov_jj (the classical interval of a
    regression coefficient, here on the cell means, whose errors are the cell's departure plus its seeds' mean
    noise; Field & Welsh 2007, J. R. Statist. Soc. B 69(3), on why the cell and not the run is the unit)."""
    from scipy import stats

    k, q = len(counts), D.shape[1]
    first = np.unique(cell_id, return_index=True)[1]
    Dc = D[first]
    yc = np.bincount(cell_id, weights=ly, minlength=k) / counts
    r = yc - Dc @ coef
    s2 = float(np.sum(counts * r * r)) / (k - q)
    cov = s2 * np.linalg.inv(Dc.T @ (counts[:, None] * Dc))
    half = stats.t.ppf((1 + level) / 2, k - q) * np.sqrt(np.diag(cov)[1:])
    return coef[1:] - half, coef[1:] + half


#: What each interval scheme is called where a fit is printed (module docstring).
INTERVAL_NAMES = {"cells": "t intervals on the design cells' means", "residual": "residual-bootstrap intervals",
                  "stratified": "seed-bootstrap intervals"}

#: Why a fit over stored runs has no interval (``RateFit.method == "none"``; module docstring).
NO_INTERVAL = ("no interval: as many design cells as parameters (e.g. two ε values at one δ), so the line passes "
               "through the cell means exactly and nothing measures its error (sweep more values, or choose "
               "--bootstrap residual or stratified for the seed-to-seed spread alone)")


def interval_words(methods: Iterable[str], level: float = 0.95) -> str:
    """How a caption or table names the intervals of fits made by ``methods`` (each a :attr:`RateFit.method`):
    ``"95% t intervals on the design cells' means"`` when they share one scheme, each scheme with its count
    otherwise."""
    counts = Counter(methods)
    if not counts:
        return f"{_percent(level)} intervals"
    if len(counts) == 1:
        return f"{_percent(level)} {INTERVAL_NAMES[next(iter(counts))]}"
    return f"{_percent(level)} " + " or ".join(f"{INTERVAL_NAMES[m]} ({n} fits)" for m, n in counts.items())


def fit_exponent(x: Sequence[float], y: Sequence[float], **kw) -> RateFit:
    """One-regressor log–log fit: y ≈ C x^b; see :func:`fit_power_law`."""
    return fit_power_law(np.asarray(x, dtype=np.float64).reshape(-1), y, **kw)


# --------------------------------------------------------------------------------------------------------------
# fits over a results store
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FitRow:
    """One fitted exponent of a group of stored runs."""

    objective: str
    method: str
    against: str  # "epsilon", "delta" or "budget"
    fixed: str  # what was held fixed, e.g. "delta=0.1" (digits enough to tell the groups apart), or "joint"
    fit: RateFit | None
    theory: float
    censored: int  # runs that never certified (epsilon runs only); a group with any is not fitted
    note: str = ""
    estimates: int = 0  # fitted runs whose certificate is a stochastic estimate, not a proof
    runs: int = 0  # runs of the group, censored ones included
    bound_ratios: tuple = ()  # queries / Theorem-8 budget of the certified runs (certificate / bound for budget fits)
    bound_violations: int = 0  # runs above their Theorem-8 budget (censored runs whose cap is above it included)
    travel_ratio: float | None = None  # median queries / (T·‖x0 − x*‖/δ), None when not stored
    travel_limited: bool | None = None  # TRAVEL_FLOOR ≤ travel_ratio ≤ TRAVEL_LIMIT
    fixed_value: float | None = None  # the value of the variable held fixed (None for "joint")
    censored_ratios: tuple = ()  # bound_ratio_above of the censored runs: lower bounds on their bound ratios


#: ``certificate_source`` values of results stored before ``certificate_claim`` existed, by whether they prove.
_SOURCE_IS_PROOF = {"algorithm-exact": True, "exact-recomputed": True, "own": True, "goldstein": True,
                    "algorithm-stochastic": False, "estimate": False}


def is_proof(result: dict) -> bool | None:
    """Whether a stored run's certificate is a proof (an :class:`o2nc.Certificate` of a proof kind) or only a
    stochastic estimate: its ``certificate_claim["is_proof"]``, else (older results) read off ``certificate_source``;
    None when neither says."""
    claim = result.get("certificate_claim")
    if isinstance(claim, dict) and "is_proof" in claim:
        return bool(claim["is_proof"])
    return _SOURCE_IS_PROOF.get(result.get("certificate_source"))


def _points(rows: Iterable[dict]):
    for row in rows:
        if row["status"] != "done":
            continue
        c, r = row["config"], row["result"]
        yield c, r


def _fixed_labels(values: Iterable[float], name: str) -> dict[float, str]:
    """``name=value`` for each distinct value, with the fewest significant digits (at least 6, as ``:g``) that
    print distinct values distinctly: 0.1 and 0.1000001 are two groups and must read as two (17 digits always do)."""
    values = sorted(set(values))
    digits = 6
    while len({f"{v:.{digits}g}" for v in values}) < len(values):
        digits += 1
    return {v: f"{name}={v:.{digits}g}" for v in values}


def fit_store(store, *, sweep: str | None = None, against: str = "epsilon", n_boot: int = 2000,
              level: float = 0.95, seed: int = 0, bootstrap: str = "cells") -> list[FitRow]:
    """Exponents of the stored runs, per (objective, method), with censoring, bound ratios and travel (module
    docstring).

    ``against="epsilon"``: log queries on log ε at each fixed δ, plus a joint fit on (log ε, log δ) over all δ;
    ``against="delta"``: log queries on log δ at each fixed ε; ``against="budget"``: log (mean certificate) on log N at
    each fixed δ.  The runs are grouped by the fixed value as stored (the float, not a rounded label).  A group with
    censored epsilon runs (no certified epoch within ``max_queries``) is not fitted and says how many.  Fitted runs
    whose certificate is a stochastic estimate rather than a proof (:func:`is_proof`) are counted in ``estimates`` and
    named in the note.  With the ``"cells"`` interval and as many design cells as parameters the fit has no interval
    (``fit.method == "none"``, module docstring).
    """
    if against not in THEORY:
        raise ValueError(f"against: expected one of {', '.join(THEORY)}, got {against!r}")
    groups: dict[tuple, list] = {}
    info: dict[tuple, dict] = {}
    measure = "budget" if against == "budget" else "epsilon"
    fixed_name = "epsilon" if against == "delta" else "delta"
    for c, r in _points(store.rows(sweep=sweep)):
        if c["measure"] != measure:
            continue
        base = (c["objective"]["label"], c["method"]["name"])
        keys = [base + (0, float(c[fixed_name]))]  # grouped by the float; labelled below
        if against == "epsilon":
            keys.append(base + (1, None))  # the joint fit, after the fixed-δ ones
        for key in keys:
            g = info.setdefault(key, {"runs": 0, "censored": 0, "estimates": 0, "ratios": [], "violations": 0,
                                      "travel": [], "censored_ratios": []})
            g["runs"] += 1
            if "bound_ratio" in r and r["bound_ratio"] is not None:
                g["ratios"].append(float(r["bound_ratio"]))
                g["violations"] += int(r["bound_ratio"] > 1.0)
            if measure == "epsilon" and r.get("censored"):
                g["censored"] += 1
                above = r.get("bound_ratio_above")
                if above is not None:  # the run's ratio exceeds max_queries / N_ε
                    g["censored_ratios"].append(float(above))
                    g["violations"] += int(above >= 1.0)
                continue
            if r.get("travel_ratio") is not None:
                g["travel"].append(float(r["travel_ratio"]))
            if is_proof(r) is False:
                g["estimates"] += 1
            if measure == "epsilon":
                if key[2] == 1:
                    xs = (c["epsilon"], c["delta"])
                else:
                    xs = (c["epsilon"],) if against == "epsilon" else (c["delta"],)
                groups.setdefault(key, []).append((xs, r["queries"]))
            else:
                groups.setdefault(key, []).append(((c["budget"],), r["certificate_mean"]))
    labels = _fixed_labels((k[3] for k in info if k[2] == 0), fixed_name)
    out = []
    for key in sorted(info):
        g = info[key]
        pts = groups.get(key, [])
        fit, notes = None, []
        if g["censored"]:
            notes.append(f"{g['censored']} of {g['runs']} runs censored at max_queries: not fitted (leaving them out "
                         "would bias the exponent towards 0)")
        elif pts:
            X = np.array([p[0] for p in pts], dtype=float)
            Y = np.array([p[1] for p in pts], dtype=float)
            if key[2] == 1 and len(np.unique(X[:, 1])) < 2:
                continue  # a single δ: the joint fit adds nothing
            try:
                fit = fit_power_law(X, Y, n_boot=n_boot, level=level, seed=seed, bootstrap=bootstrap)
            except ValueError as exc:
                notes.append(str(exc))
        else:
            notes.append("no certified run")
        if fit is not None and bootstrap == "cells" and fit.method != "cells":
            # as many cells as parameters: fit_power_law fell back to the residual bootstrap, whose interval (the
            # seeds' spread alone) says nothing about the line through the cell means (module docstring)
            nan = (math.nan,) * len(fit.exponents)
            fit = dataclasses.replace(fit, ci_low=nan, ci_high=nan, method="none", n_boot=0)
        if fit is not None and fit.method != "none" and (
                max(h - lo for lo, h in zip(fit.ci_low, fit.ci_high)) <= 1e-9 * (1 + fit.r2)):
            what = "design cells' means" if fit.method == "cells" else "runs"
            notes.append(f"no spread: the {what} lie exactly on the fitted line, so the {INTERVAL_NAMES[fit.method]} "
                         "have no width (counts fixed by the tuning)")
        if g["estimates"]:
            notes.append(f"{g['estimates']} of {len(pts)} runs: stochastic estimates, not proofs")
        travel = float(np.median(g["travel"])) if g["travel"] else None
        if is_travel_limited(travel):
            notes.append(f"travel-limited: median queries / (T·|x0 − x*|/δ) = {travel:.2f}")
        elif travel is not None and travel < TRAVEL_FLOOR:
            shown = f"{travel:.3g}" if travel < 0.9995 else f"{travel:.6g}"  # never a printed "1 < 1"
            notes.append(f"stopped before reaching x*: median queries / (T·|x0 − x*|/δ) = {shown} < 1, so at "
                         "least half the runs certified before the anchor could travel to x*")
        out.append(FitRow(objective=key[0], method=key[1], against=against,
                          fixed="joint" if key[2] == 1 else labels[key[3]], fit=fit,
                          theory=THEORY[against], censored=g["censored"], note="; ".join(notes),
                          estimates=g["estimates"], runs=g["runs"], bound_ratios=tuple(g["ratios"]),
                          bound_violations=g["violations"], travel_ratio=travel,
                          travel_limited=is_travel_limited(travel), fixed_value=key[3],
                          censored_ratios=tuple(g["censored_ratios"])))
    return out


_QUANTILES = ("min", "q1", "median", "q3", "max")


def bound_ratios(rows: list[FitRow]) -> list[dict]:
    """Per (objective, method): the distribution of the bound ratios of its runs (from the rows fitted at fixed δ or
    ε, each run once): ``n`` runs, of which ``censored`` are known only to exceed ``bound_ratio_above``; ``min``,
    quartiles and ``max`` with each censored run at that lower bound, and ``lower_bound`` naming the quantiles that
    are then only lower bounds (those that would change were a censored ratio larger: each quantile is a
    nondecreasing function of every value, so the value with the censored runs at their lower bounds is a lower
    bound and is exact when it does not move as they grow; derived here); ``above_1`` the runs above 1 (a censored
    run counts when its lower bound is ≥ 1, as in :attr:`FitRow.bound_violations`)."""
    seen: dict[tuple, tuple[list, list]] = {}
    kinds = {fr.against for fr in rows}
    once = {"epsilon"} if "epsilon" in kinds else {"delta"}  # the same epsilon runs make both kinds of fit
    for fr in rows:
        if fr.fixed == "joint" or not (fr.against in once or fr.against == "budget"):
            continue
        vals, cens = seen.setdefault((fr.objective, fr.method, fr.against == "budget"), ([], []))
        vals.extend(fr.bound_ratios)
        cens.extend(fr.censored_ratios)
    out = []
    for (obj, meth, budget), (vals, cens) in sorted(seen.items()):
        if not vals and not cens:
            continue
        v, c = np.asarray(vals, dtype=float), np.asarray(cens, dtype=float)
        probs = [0.0, 0.25, 0.5, 0.75, 1.0]
        q = np.quantile(np.concatenate([v, c]), probs)
        big = 2.0 * float(np.max(np.concatenate([v, c]))) + 1.0  # any value above every stored one
        q_big = np.quantile(np.concatenate([v, np.full(c.size, big)]), probs)
        entry = {"objective": obj, "method": meth, "kind": "certificate/bound" if budget else "queries/budget",
                 "n": int(v.size + c.size), "censored": int(c.size)}
        entry.update({name: float(x) for name, x in zip(_QUANTILES, q)})
        entry["lower_bound"] = [name for name, lo, hi in zip(_QUANTILES, q, q_big) if hi != lo]
        entry["above_1"] = int(np.sum(v > 1.0)) + int(np.sum(c >= 1.0))
        out.append(entry)
    return out


def fits_json(rows: list[FitRow]) -> dict:
    """The fits as JSON data: ``{"fits": [...], "budget_fits": [...], "bound_ratios": [...]}``.

    Each entry of ``fits`` is one exponent: ``objective``, ``method``, ``variable`` (``"epsilon"`` or ``"delta"``),
    ``fixed`` (``"delta=…"``, ``"epsilon=…"`` or ``"joint"``), ``fixed_value`` (the float held fixed; None for
    ``"joint"``), ``exponent`` (None when the group is not fitted), ``ci`` ([lo, hi]; None when the group is not
    fitted or the fit has no interval), ``interval`` (the :attr:`RateFit.method`; None when not fitted), ``level``,
    ``theory``, ``runs``, ``censored``, ``bound_violations``, ``travel_limited`` (None when no run stored its travel),
    ``travel_ratio``, ``n``, ``r2``, ``note`` (saying why when there is no interval).  ``budget_fits`` holds the
    certificate-vs-budget exponents in the same form (``variable`` = ``"budget"``); ``bound_ratios`` is
    :func:`bound_ratios`."""
    fits, budget = [], []
    for fr in rows:
        f = fr.fit
        names = ["epsilon", "delta"] if fr.fixed == "joint" else [fr.against]
        has_ci = f is not None and f.method != "none"
        note = "; ".join(filter(None, [fr.note, NO_INTERVAL if f is not None and not has_ci else ""]))
        for j, var in enumerate(names):
            entry = {"objective": fr.objective, "method": fr.method, "variable": var, "fixed": fr.fixed,
                     "fixed_value": fr.fixed_value, "exponent": None if f is None else f.exponents[j],
                     "ci": [f.ci_low[j], f.ci_high[j]] if has_ci else None,
                     "interval": None if f is None else f.method, "level": None if f is None else f.level,
                     "theory": THEORY[var], "runs": fr.runs, "censored": fr.censored,
                     "bound_violations": fr.bound_violations, "travel_limited": fr.travel_limited,
                     "travel_ratio": fr.travel_ratio, "n": None if f is None else f.n,
                     "r2": None if f is None else f.r2, "note": note}
            (budget if var == "budget" else fits).append(entry)
    return {"fits": fits, "budget_fits": budget, "bound_ratios": bound_ratios(rows)}


def fit_table(rows: list[FitRow], level: float | None = None) -> str:
    """The fits as a plain-text table (exponent, interval at ``level`` — by default the fits' own —, theory, fitted
    runs, censored, bound violations, travel), with a line under it saying why a fit shows "—" for its interval."""
    from o2nc.experiments.sweep import format_table

    if level is None:
        level = next((fr.fit.level for fr in rows if fr.fit is not None), 0.95)

    def travel(fr):
        return "-" if fr.travel_ratio is None else f"{fr.travel_ratio:.2f}" + (" *" if fr.travel_limited else "")

    body, bare = [], 0
    for fr in rows:
        f = fr.fit
        parts = ([("epsilon (joint)", 0, THEORY["epsilon"]), ("delta (joint)", 1, THEORY["delta"])]
                 if fr.fixed == "joint" else [(f"{fr.against} @ {fr.fixed}", 0, fr.theory)])
        bare += int(f is not None and f.method == "none")
        for label, j, theory in parts:
            if f is None:
                body.append([fr.objective, fr.method, label, "-", "-", theory, fr.runs, fr.censored,
                             fr.bound_violations, travel(fr), fr.note])
            else:
                ci = "—" if f.method == "none" else f"[{f.ci_low[j]:.3f}, {f.ci_high[j]:.3f}]"
                body.append([fr.objective, fr.method, label, f"{f.exponents[j]:.3f}", ci, theory, fr.runs,
                             fr.censored, fr.bound_violations, travel(fr), fr.note if j == 0 else ""])
    if not body:
        return "(nothing to fit)"
    table = format_table(["objective", "method", "against", "exponent", f"{_percent(level)} CI", "theory", "runs",
                          "censored", "over bound", "travel", "note"], body)
    if bare:
        table += f"\n— ({bare} fit{'s' if bare > 1 else ''}): {NO_INTERVAL}"
    return table


def ratio_table(rows: list[FitRow]) -> str:
    """:func:`bound_ratios` as a plain-text table: a quantile marked ≥ is only a lower bound (censored runs)."""
    from o2nc.experiments.sweep import format_table

    body, dist = [], bound_ratios(rows)
    for b in dist:
        shown = [("≥" if name in b["lower_bound"] else "") + f"{b[name]:.3f}" for name in _QUANTILES]
        body.append([b["objective"], b["method"], b["kind"], b["n"], b["censored"], *shown, b["above_1"]])
    if not body:
        return "(no run stored a bound ratio)"
    table = format_table(["objective", "method", "ratio", "n", "censored", *_QUANTILES, "> 1"], body)
    if any(b["censored"] for b in dist):
        table += ("\n(a censored run enters at max_queries / budget, a lower bound on its ratio: quantiles marked ≥ "
                  "are lower bounds, and it counts in '> 1' when that bound is ≥ 1)")
    return table
