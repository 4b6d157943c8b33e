"""Figure 2: complexity in ε — gradient queries until a (δ, ε)-certificate against 1/ε at fixed δ, log–log.

The sweep and its methods are in ``_complexity.py``. Fitted exponents (bootstrap 95% intervals, over every seed's
run) from :func:`o2nc.experiments.fit_exponent`; theory lines ε^-3 (O2NC, [CMO23]) and ε^-4 (INGD, Zhang et al.
2020, stochastic) drawn through each method's point at the largest ε.
"""
from __future__ import annotations

from pathlib import Path

from _common import new_figure, save
from _complexity import DELTA_FIXED, plot_scaling, results, spec

NAME = "fig2_complexity_eps"
TITLE = "Complexity in ε: queries to a (δ, ε)-certificate"
FULL_TIME = "about 60 minutes on 2 cores (shared with figure 3)"


def make(out: Path, quick: bool = False) -> list[Path]:
    rows = results(quick)
    objectives = [o["label"] for o in spec(quick)["objectives"]]
    fig, axes = new_figure(ncols=len(objectives), figsize=(6.8, 2.6))
    data, lines = {"delta": DELTA_FIXED, "objectives": {}}, []
    for ax, objective in zip(axes, objectives):
        data["objectives"][objective], found = plot_scaling(ax, rows, objective, key="epsilon", fixed_key="delta",
                                                            fixed_value=DELTA_FIXED, theory_index=0)
        lines += found
        ax.set_xlabel(r"$1/\epsilon$ ($\epsilon$ in units of $G$)")
        ax.legend(title="slope in $1/\\epsilon$", loc="lower right", fontsize=6)
    axes[0].set_ylabel(f"gradient queries (δ = {DELTA_FIXED})")
    caption = (f"{TITLE} at δ = {DELTA_FIXED}; median and interquartile band over seeds; dotted: theory slopes "
               "(O2NC ε^-3, INGD ε^-4). Fitted exponents in ε with 95% bootstrap intervals: " + "; ".join(lines)
               + ". The theory exponents are worst-case upper bounds over the function class; single problems can be "
               "easier.")
    return save(fig, NAME, out, data=data, caption=caption)
