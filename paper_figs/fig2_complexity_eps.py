"""Figure 2: complexity in ε — gradient queries until a (δ, ε)-certificate against 1/ε at fixed δ, log–log.

The sweep and its methods are in ``_complexity.py``. Fitted exponents (bootstrap 95% intervals, over every seed's
run) from :func:`o2nc.experiments.fit_exponent`; theory lines ε^-3 (O2NC, [CMO23]) and ε^-4 (INGD, Zhang et al.
2020, stochastic) drawn through each method's first point.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from _common import MARKERS, fit_text, new_figure, save
from _complexity import DELTA_FIXED, METHODS, THEORY, medians, results, spec
from o2nc.experiments import fit_exponent

NAME = "fig2_complexity_eps"
TITLE = "Complexity in ε: queries to a (δ, ε)-certificate"
FULL_TIME = "about 60 minutes on 2 cores (shared with figure 3)"


def make(out: Path, quick: bool = False) -> list[Path]:
    rows = results(quick)
    objectives = [o["label"] for o in spec(quick)["objectives"]]
    fig, axes = new_figure(ncols=len(objectives), figsize=(6.8, 2.6), sharey=False)
    data, lines = {"delta": DELTA_FIXED, "objectives": {}}, []
    for ax, objective in zip(axes, objectives):
        data["objectives"][objective] = {}
        for i, method in enumerate(m["name"] for m in METHODS):
            if method not in {m["name"] for m in spec(quick)["methods"]}:
                continue
            eps, med, low, high = medians(rows, objective, method, "epsilon", "delta", DELTA_FIXED)
            pts = [(r["epsilon"], r["queries"]) for r in rows if r["objective"] == objective
                   and r["method"] == method and np.isclose(r["delta"], DELTA_FIXED) and not r["censored"]]
            censored = sum(1 for r in rows if r["objective"] == objective and r["method"] == method
                           and np.isclose(r["delta"], DELTA_FIXED) and r["censored"])
            if len({e for e, _ in pts}) < 2:
                lines.append(f"{objective}, {method}: too few certified runs to fit ({censored} censored)")
                continue
            fit = fit_exponent([p[0] for p in pts], [p[1] for p in pts])
            ax.loglog(1 / eps, med, marker=MARKERS[i], color=f"C{i}", label=f"{method}: {-fit.exponent:.2f}")
            ax.fill_between(1 / eps, low, high, color=f"C{i}", alpha=0.2, lw=0)
            theory = THEORY[method][0]
            ax.loglog(1 / eps, med[0] * (eps / eps[0]) ** theory, color=f"C{i}", ls=":", lw=0.9)
            data["objectives"][objective][method] = {
                "epsilon": eps.tolist(), "median": med.tolist(), "q25": low.tolist(), "q75": high.tolist(),
                "exponent": fit.exponent, "ci": [fit.ci_low[0], fit.ci_high[0]], "theory": theory,
                "censored": censored}
            lines.append(f"{objective}, {method}: {fit_text(fit, theory)}"
                         + (f", {censored} censored" if censored else ""))
        ax.set_title(objective)
        ax.set_xlabel(r"$1/\epsilon$ ($\epsilon$ in units of $G$)")
        ax.legend(title="slope in $1/\\epsilon$", loc="lower right", fontsize=6)
    axes[0].set_ylabel(f"gradient queries (δ = {DELTA_FIXED})")
    caption = (f"{TITLE} at δ = {DELTA_FIXED}; median and interquartile band over seeds; dotted: theory slopes "
               "(O2NC ε^-3, INGD ε^-4) through the first point. Fitted exponents in ε with 95% bootstrap intervals: "
               + "; ".join(lines) + ". The theory exponents are worst-case upper bounds over the function class; "
               "single problems can be easier.")
    return save(fig, NAME, out, data=data, caption=caption)
