"""Figure 3: complexity in δ — gradient queries until a (δ, ε)-certificate against 1/δ at fixed ε, log–log.

Same sweep as figure 2 (``_complexity.py``); theory line δ^-1 ([CMO23]; Zhang et al. 2020 for INGD) through each
method's first point; fitted exponents with bootstrap 95% intervals from :func:`o2nc.experiments.fit_exponent`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from _common import MARKERS, fit_text, new_figure, save
from _complexity import EPSILON_FIXED, METHODS, THEORY, medians, results, spec
from o2nc.experiments import fit_exponent

NAME = "fig3_complexity_delta"
TITLE = "Complexity in δ: queries to a (δ, ε)-certificate"
FULL_TIME = "about 60 minutes on 2 cores (shared with figure 2)"


def make(out: Path, quick: bool = False) -> list[Path]:
    rows = results(quick)
    eps_fixed = EPSILON_FIXED[quick]
    objectives = [o["label"] for o in spec(quick)["objectives"]]
    methods = [m["name"] for m in METHODS if m["name"] in {x["name"] for x in spec(quick)["methods"]}]
    fig, axes = new_figure(ncols=len(objectives), figsize=(6.8, 2.6))
    data, lines = {"epsilon": eps_fixed, "objectives": {}}, []
    for ax, objective in zip(axes, objectives):
        data["objectives"][objective] = {}
        for i, method in enumerate(methods):
            i = [m["name"] for m in METHODS].index(method)
            deltas, med, low, high = medians(rows, objective, method, "delta", "epsilon", eps_fixed)
            pts = [(r["delta"], r["queries"]) for r in rows if r["objective"] == objective
                   and r["method"] == method and np.isclose(r["epsilon"], eps_fixed) and not r["censored"]]
            if len({d for d, _ in pts}) < 2:
                lines.append(f"{objective}, {method}: too few certified runs to fit")
                continue
            fit = fit_exponent([p[0] for p in pts], [p[1] for p in pts])
            ax.loglog(1 / deltas, med, marker=MARKERS[i], color=f"C{i}", label=f"{method}: {-fit.exponent:.2f}")
            ax.fill_between(1 / deltas, low, high, color=f"C{i}", alpha=0.2, lw=0)
            theory = THEORY[method][1]
            ax.loglog(1 / deltas, med[-1] * (deltas / deltas[-1]) ** theory, color=f"C{i}", ls=":", lw=0.9)
            data["objectives"][objective][method] = {
                "delta": deltas.tolist(), "median": med.tolist(), "q25": low.tolist(), "q75": high.tolist(),
                "exponent": fit.exponent, "ci": [fit.ci_low[0], fit.ci_high[0]], "theory": theory}
            lines.append(f"{objective}, {method}: {fit_text(fit, theory)}")
        ax.set_title(objective)
        ax.set_xlabel(r"$1/\delta$")
        ax.legend(title="slope in $1/\\delta$", loc="upper left", fontsize=6)
    axes[0].set_ylabel(f"gradient queries (ε = {eps_fixed} G)")
    caption = (f"{TITLE} at ε = {eps_fixed}·G; median and interquartile band over seeds; dotted: theory slope δ^-1. "
               "Fitted exponents in δ with 95% bootstrap intervals: " + "; ".join(lines) + ".")
    return save(fig, NAME, out, data=data, caption=caption)
