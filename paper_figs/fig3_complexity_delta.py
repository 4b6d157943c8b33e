"""Figure 3: complexity in δ — gradient queries until a (δ, ε)-certificate against 1/δ at fixed ε, log–log.

Same sweeps as figure 2 (``_complexity.py``): the tight family beside a problem of the bank; theory line δ^-1
([CMO23]; Zhang et al. 2020 for INGD) through each method's point at the largest δ, named in the legend; fitted
exponents with bootstrap 95% intervals (:func:`o2nc.experiments.fit_exponent`), negative as in queries ~ δ^exponent;
hollow markers: travel-limited medians.
"""
from __future__ import annotations

from pathlib import Path

from _common import new_figure, save
from _complexity import FIXED, PANELS, intervals, plot_scaling, results

from o2nc.experiments import interval_words

NAME = "fig3_complexity_delta"
TITLE = "Complexity in δ: queries to a (δ, ε)-certificate"
FULL_TIME = "about 30 minutes on 2 cores (shared with figure 2)"


def make(out: Path, quick: bool = False) -> list[Path]:
    rows = results(quick)
    fig, axes = new_figure(ncols=len(PANELS), figsize=(7.2, 2.8))
    data, lines = {"objectives": {}}, []
    for ax, objective in zip(axes, PANELS):
        eps = FIXED[objective]["epsilon"][quick]
        data["objectives"][objective], found = plot_scaling(ax, rows, objective, key="delta", fixed_key="epsilon",
                                                            fixed_value=eps, theory_index=1)
        data["objectives"][objective]["epsilon"] = eps
        lines += found
        ax.set_xlabel("1/δ")
        unit = "" if objective == "tight_ramp" else "·G"
        ax.set_ylabel(f"gradient queries (ε = {eps}{unit})")
        ax.legend(loc="upper left", fontsize=5.5)
    caption = (f"{TITLE}. Left: the tight family at ε = {FIXED['tight_ramp']['epsilon'][quick]}; right: o2nc_toy at "
               f"ε = {FIXED['o2nc_toy']['epsilon'][quick]}·G. Median and interquartile band over seeds; dotted: theory "
               "slope δ^-1; hollow markers: travel-limited medians (T·‖x0 − x*‖/δ ≤ queries ≤ 1.5·T·‖x0 − x*‖/δ). "
               f"Fitted exponents in δ with {interval_words(intervals(data))}: " + "; ".join(lines) + ".")
    return save(fig, NAME, out, data=data, caption=caption)
