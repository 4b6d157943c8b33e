"""Figure 3: complexity in δ — gradient queries until a (δ, ε)-certificate against 1/δ at fixed ε, log–log.

Same sweep as figure 2 (``_complexity.py``); theory line δ^-1 ([CMO23]; Zhang et al. 2020 for INGD) through each
method's point at the largest δ; fitted exponents with bootstrap 95% intervals from
:func:`o2nc.experiments.fit_exponent`.
"""
from __future__ import annotations

from pathlib import Path

from _common import new_figure, save
from _complexity import EPSILON_FIXED, plot_scaling, results, spec

NAME = "fig3_complexity_delta"
TITLE = "Complexity in δ: queries to a (δ, ε)-certificate"
FULL_TIME = "about 60 minutes on 2 cores (shared with figure 2)"


def make(out: Path, quick: bool = False) -> list[Path]:
    rows = results(quick)
    eps_fixed = EPSILON_FIXED[quick]
    objectives = [o["label"] for o in spec(quick)["objectives"]]
    fig, axes = new_figure(ncols=len(objectives), figsize=(6.8, 2.6))
    data, lines = {"epsilon": eps_fixed, "objectives": {}}, []
    for ax, objective in zip(axes, objectives):
        data["objectives"][objective], found = plot_scaling(ax, rows, objective, key="delta", fixed_key="epsilon",
                                                            fixed_value=eps_fixed, theory_index=1)
        lines += found
        ax.set_xlabel(r"$1/\delta$")
        ax.legend(title="slope in $1/\\delta$", loc="upper left", fontsize=6)
    axes[0].set_ylabel(f"gradient queries (ε = {eps_fixed} G)")
    caption = (f"{TITLE} at ε = {eps_fixed}·G; median and interquartile band over seeds; dotted: theory slope δ^-1. "
               "Fitted exponents in δ with 95% bootstrap intervals: " + "; ".join(lines) + ".")
    return save(fig, NAME, out, data=data, caption=caption)
