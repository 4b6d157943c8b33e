"""The complexity sweep behind figures 2 and 3: queries until a (δ, ε) certificate, over ε, δ and seeds.

O2NC with restarted OGD and AdaGradNorm at the theory parameters (Cutkosky, Mehta, Orabona, ICML 2023, arXiv
2302.03775, Theorem 8 and its OGD corollary) against INGD (Zhang, Lin, Jegelka, Sra, Jadbabaie, ICML 2020), on a
deterministic problem and on a stochastic one (whose
certificates are recomputed with exact gradients, counted apart). The sweep runs through
:func:`o2nc.experiments.run_sweep` into the figures' store, so it resumes after an interruption.
"""
from __future__ import annotations

import numpy as np

from _common import MARKERS, fit_text, store
from o2nc.experiments import fit_exponent, load_spec, run_sweep

DELTA_FIXED = 0.1
EPSILON_FIXED = {True: 0.075, False: 0.06}  # ε (in units of G) at which figure 3 varies δ, by quick
METHODS = [
    {"name": "O2NC + OGD", "learner": "ogd", "tuning": "theory"},
    {"name": "O2NC + AdaGradNorm", "learner": "adagrad_norm", "tuning": "theory"},
    {"name": "INGD", "baseline": "ingd"},
]
THEORY = {"O2NC + OGD": (-3.0, -1.0), "O2NC + AdaGradNorm": (-3.0, -1.0), "INGD": (-4.0, -1.0)}


def spec(quick: bool) -> dict:
    return {
        "name": "figs-complexity-quick" if quick else "figs-complexity",
        "seeds": 2 if quick else 5,
        "deltas": [0.2, 0.1, 0.05] if quick else [0.4, 0.2, 0.1, 0.05, 0.025],
        "measure": {"epsilons": [0.3, 0.15, 0.075, 0.0375] if quick else [0.3, 0.2, 0.13, 0.09, 0.06, 0.04, 0.027],
                    "epsilon_scale": "lipschitz", "max_queries": 200_000 if quick else 5_000_000,
                    "certificate": "auto"},
        "objectives": [{"name": "o2nc_toy", "label": "o2nc_toy (exact gradients)"},
                       {"name": "phase_retrieval", "label": "phase_retrieval (stochastic)"}],
        # AdaGradNorm tracks OGD closely; the quick set leaves it out to stay within its time
        "methods": METHODS[::2] if quick else METHODS,
    }


def results(quick: bool) -> list[dict]:
    """Every run of the current spec (running the missing ones first) as {objective, method, epsilon, delta, ...}."""
    sp = spec(quick)
    db = store(quick)
    run_sweep(sp, db, executor="process", workers=2, progress=False)
    rows = []
    for run in load_spec(sp).runs():  # exactly this spec's runs, not older ones stored under the same sweep name
        row = db.get(run.key)
        if row is None or row["status"] != "done" or row["config"]["measure"] != "epsilon":
            continue
        c, r = row["config"], row["result"]
        rows.append({"objective": c["objective"]["label"], "method": c["method"]["name"], "epsilon": c["epsilon"],
                     "delta": c["delta"], "seed": c["seed"], "queries": r.get("queries"),
                     "censored": bool(r.get("censored"))})
    return rows


def plot_scaling(ax, rows, objective, *, key: str, fixed_key: str, fixed_value: float, theory_index: int):
    """One panel: median queries against 1/``key`` at fixed ``fixed_key`` per method, with fitted exponents.

    Returns (panel data, caption fragments). The theory slope (THEORY[method][theory_index]) is drawn dotted through
    the method's point at the largest ``key``; censored runs are left out of medians and fits and counted.
    """
    order = [m["name"] for m in METHODS]
    data, lines = {}, []
    for method in methods_in(rows, objective):
        i = order.index(method)
        picked = [r for r in rows if r["objective"] == objective and r["method"] == method
                  and np.isclose(r[fixed_key], fixed_value)]
        censored = sum(r["censored"] for r in picked)
        pts = [(r[key], r["queries"]) for r in picked if not r["censored"]]
        if len({x for x, _ in pts}) < 2:
            lines.append(f"{objective}, {method}: too few certified runs to fit ({censored} censored)")
            continue
        fit = fit_exponent([x for x, _ in pts], [q for _, q in pts])
        xs, med, low, high = medians(rows, objective, method, key, fixed_key, fixed_value)
        ax.loglog(1 / xs, med, marker=MARKERS[i], color=f"C{i}", label=f"{method}: {-fit.exponent:.2f}")
        ax.fill_between(1 / xs, low, high, color=f"C{i}", alpha=0.2, lw=0)
        theory = THEORY[method][theory_index]
        ax.loglog(1 / xs, med[-1] * (xs / xs[-1]) ** theory, color=f"C{i}", ls=":", lw=0.9)
        data[method] = {key: xs.tolist(), "median": med.tolist(), "q25": low.tolist(), "q75": high.tolist(),
                        "exponent": fit.exponent, "ci": [fit.ci_low[0], fit.ci_high[0]], "theory": theory,
                        "censored": censored}
        lines.append(f"{objective}, {method}: {fit_text(fit, theory)}" + (f", {censored} censored" if censored else ""))
    ax.set_title(objective)
    return data, lines


def methods_in(rows, objective) -> list[str]:
    present = {r["method"] for r in rows if r["objective"] == objective}
    return [m["name"] for m in METHODS if m["name"] in present]


def medians(rows, objective, method, key, fixed_key, fixed_value):
    """(x values, median queries, [q25, q75]) over seeds at a fixed ``fixed_key``; censored runs count as missing."""
    pick = [r for r in rows if r["objective"] == objective and r["method"] == method
            and np.isclose(r[fixed_key], fixed_value) and not r["censored"]]
    xs = sorted({r[key] for r in pick})
    med, low, high = [], [], []
    for x in xs:
        q = np.array([r["queries"] for r in pick if r[key] == x], dtype=float)
        med.append(np.median(q))
        low.append(np.percentile(q, 25))
        high.append(np.percentile(q, 75))
    return np.array(xs), np.array(med), np.array(low), np.array(high)
