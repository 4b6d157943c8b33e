"""The complexity sweeps behind figures 2 and 3: queries until a (δ, ε) certificate, over ε, δ and seeds.

Two panels, each its own sweep through :func:`o2nc.experiments.run_sweep` into the figures' store (resumable):

* the tight family ``tight_ramp`` (``objectives/tight_family.py``; the grid of ``experiments/rates.toml``, fewer
  targets with ``quick``): O2NC with restarted OGD at the theory tuning (Cutkosky, Mehta, Orabona, ICML 2023, arXiv
  2302.03775, Theorem 8), compiled, on the noisy oracle; SGD (step δ/G) on the noisy oracle; INGD (Zhang, Lin,
  Jegelka, Sra, Jadbabaie, ICML 2020) on the exact oracle (its own certificate is sound there);
* a problem of the bank, ``o2nc_toy`` (exact gradients), with O2NC + OGD and INGD, where the O2NC runs are
  travel-limited: they stop about when the anchor, moving at most δ per epoch, reaches the minimiser, so the slope
  is that of the tuned epoch length T(ε) ~ ε^-2, not of the theorem.

A point is drawn hollow when the median over its seeds of queries / (T·‖x0 − x*‖/δ) is travel-limited, between
:data:`o2nc.experiments.fit.TRAVEL_FLOOR` and :data:`~o2nc.experiments.fit.TRAVEL_LIMIT`
(:func:`o2nc.experiments.fit.is_travel_limited`, ``docs/complexity.md``): below 1 a run certified before it could
have reached x*.
"""
from __future__ import annotations

import numpy as np
from _common import MARKERS, fit_text, store

from o2nc.experiments import fit_exponent, load_spec, run_sweep
from o2nc.experiments.fit import is_travel_limited

TIGHT = {"G": 0.5, "sigma": 0.1, "gap": 0.4, "slope_factor": 1.2}
#: The fixed δ of figure 2 and the fixed ε of figure 3, per panel and by quick.
FIXED = {"tight_ramp": {"delta": 0.01, "epsilon": {True: 0.06325, False: 0.02}},
         "o2nc_toy": {"delta": 0.1, "epsilon": {True: 0.075, False: 0.06}}}
ORDER = ["O2NC + OGD", "INGD", "SGD"]
#: Worst-case exponents in (ε, δ): O2NC's Theorem 8 ([CMO23]); INGD's Õ(δ^-1 ε^-3) with exact gradients, the oracle it
#: runs on here (Zhang et al. 2020; Õ(δ^-1 ε^-4) with stochastic ones); SGD has no (δ, ε) guarantee on this class.
THEORY = {"O2NC + OGD": (-3.0, -1.0), "INGD": (-3.0, -1.0), "SGD": (None, None)}
PANELS = {"tight_ramp": "tight family (noisy; INGD exact)", "o2nc_toy": "o2nc_toy (bank, exact)"}


def tight_spec(quick: bool) -> dict:
    params = {"eps": "$epsilon", "delta": "$delta", **TIGHT}
    return {
        "name": "figs-tight-quick" if quick else "figs-tight",
        "seeds": 2 if quick else 5,
        "deltas": [0.01, 0.01414, 0.02],
        "measure": {"epsilons": [0.06325, 0.1125, 0.2] if quick else [0.02, 0.03557, 0.06325, 0.1125, 0.2],
                    "epsilon_scale": "absolute", "max_queries": 20_000_000, "doubling_start": 16},
        "objectives": [{"name": "tight_ramp", "label": "tight_ramp", "params": params},
                       {"name": "tight_ramp", "label": "tight_ramp-exact", "oracle": "exact", "params": params}],
        "methods": [{"name": "O2NC + OGD", "learner": "ogd", "tuning": "theory", "engine": "compiled",
                     "objectives": ["tight_ramp"]},
                    {"name": "INGD", "baseline": "ingd", "params": {"epsilon": "$epsilon", "descent": 0.25},
                     "objectives": ["tight_ramp-exact"]},
                    {"name": "SGD", "baseline": "sgd", "params": {"lr": "$delta / $lipschitz"},
                     "objectives": ["tight_ramp"]}],
    }


def bank_spec(quick: bool) -> dict:
    return {
        "name": "figs-bank-quick" if quick else "figs-bank",
        "seeds": 2 if quick else 5,
        "deltas": [0.2, 0.1, 0.05] if quick else [0.4, 0.2, 0.1, 0.05, 0.025],
        "measure": {"epsilons": [0.3, 0.15, 0.075, 0.0375] if quick else [0.3, 0.2, 0.13, 0.09, 0.06, 0.04, 0.027],
                    "epsilon_scale": "lipschitz", "max_queries": 200_000 if quick else 5_000_000},
        "objectives": [{"name": "o2nc_toy", "label": "o2nc_toy"}],
        "methods": [{"name": "O2NC + OGD", "learner": "ogd", "tuning": "theory", "engine": "compiled"},
                    {"name": "INGD", "baseline": "ingd", "params": {"epsilon": "$epsilon", "descent": 0.25}}],
    }


def results(quick: bool) -> list[dict]:
    """Every run of both specs (running the missing ones first) as {objective, method, epsilon, delta, ...}; the
    tight family's two labels (noisy and exact oracle) are one panel."""
    db = store(quick)
    rows = []
    for sp in (tight_spec(quick), bank_spec(quick)):
        run_sweep(sp, db, executor="process", workers=2, progress=False)
        for run in load_spec(sp).runs():  # exactly this spec's runs
            row = db.get(run.key)
            if row is None or row["status"] != "done":
                continue
            c, r = row["config"], row["result"]
            rows.append({"objective": c["objective"]["name"], "method": c["method"]["name"],
                         "epsilon": c["epsilon"], "delta": c["delta"], "seed": c["seed"], "queries": r.get("queries"),
                         "censored": bool(r.get("censored")), "travel_ratio": r.get("travel_ratio"),
                         "bound_ratio": r.get("bound_ratio")})
    return rows


def plot_scaling(ax, rows, objective, *, key: str, fixed_key: str, fixed_value: float, theory_index: int):
    """One panel: median queries against 1/``key`` at fixed ``fixed_key`` per method, with fitted exponents.

    Returns (panel data, caption fragments). The legend gives each method's fitted exponent (negative: queries ~
    ``key``^exponent); the theory slope is drawn dotted through the method's point at the largest ``key`` and
    named in the legend; travel-limited medians are hollow; censored runs are not fitted and are counted.
    """
    data, lines = {}, []
    for method in [m for m in ORDER if any(r["objective"] == objective and r["method"] == m for r in rows)]:
        i = ORDER.index(method)
        picked = [r for r in rows if r["objective"] == objective and r["method"] == method
                  and np.isclose(r[fixed_key], fixed_value)]
        censored = sum(r["censored"] for r in picked)
        pts = [(r[key], r["queries"]) for r in picked if not r["censored"]]
        if censored or len({x for x, _ in pts}) < 2:
            lines.append(f"{PANELS[objective]}, {method}: not fitted ({censored} of {len(picked)} runs censored)")
            continue
        fit = fit_exponent([x for x, _ in pts], [q for _, q in pts])
        xs, med, low, high, travel = medians(picked, key)
        color = f"C{i}"
        ax.loglog(1 / xs, med, color=color, lw=1.0, label=f"{method}: exponent {fit.exponent:.2f}")
        limited = np.array([bool(is_travel_limited(t)) for t in travel])
        ax.scatter(1 / xs[~limited], med[~limited], marker=MARKERS[i], color=color, s=14, zorder=3)
        ax.scatter(1 / xs[limited], med[limited], marker=MARKERS[i], facecolors="none", edgecolors=color, s=14,
                   zorder=3)
        ax.fill_between(1 / xs, low, high, color=color, alpha=0.2, lw=0)
        theory = THEORY[method][theory_index]
        if theory is not None:
            sym = "ε" if key == "epsilon" else "δ"
            ax.loglog(1 / xs, med[-1] * (xs / xs[-1]) ** theory, color=color, ls=":", lw=0.9,
                      label=f"theory {sym}^{theory:g} ({method})")
        data[method] = {key: xs.tolist(), "median": med.tolist(), "q25": low.tolist(), "q75": high.tolist(),
                        "travel_ratio_median": [None if t is None else float(t) for t in travel],
                        "exponent": fit.exponent, "ci": [fit.ci_low[0], fit.ci_high[0]], "interval": fit.method,
                        "theory": theory,
                        "censored": censored}
        note = f", travel-limited at {int(limited.sum())} of {len(xs)} points" if limited.any() else ""
        lines.append(f"{PANELS[objective]}, {method}: {fit_text(fit, theory)}{note}")
    ax.set_title(PANELS[objective])
    return data, lines


def intervals(data: dict) -> list[str]:
    """The interval scheme of every fit drawn (``RateFit.method``), for the caption's wording."""
    return [m["interval"] for panel in data["objectives"].values() for m in panel.values()
            if isinstance(m, dict) and "interval" in m]


def medians(picked, key):
    """(x values, median, q25, q75, median travel ratio or None) over the certified runs at each value of ``key``."""
    ok = [r for r in picked if not r["censored"]]
    xs = sorted({r[key] for r in ok})
    med, low, high, travel = [], [], [], []
    for x in xs:
        q = np.array([r["queries"] for r in ok if r[key] == x], dtype=float)
        med.append(np.median(q))
        low.append(np.percentile(q, 25))
        high.append(np.percentile(q, 75))
        t = [r["travel_ratio"] for r in ok if r[key] == x and r["travel_ratio"] is not None]
        travel.append(float(np.median(t)) if t else None)
    return np.array(xs), np.array(med), np.array(low), np.array(high), travel
