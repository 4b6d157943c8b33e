"""Figure 1: certificate and radius against gradient calls on six bank problems, O2NC learners against baselines.

Every run goes through :mod:`o2nc.methods` (one ``run`` for O2NC and the baselines).  Each point is one run with a
budget of N gradient calls, tuned for that N: O2NC (Algorithm 1 of [CMO23], restarts,
``o2nc.theory.ogd_parameters`` for T and D = δ/T, with the stochastic problem's σ in T as the sweep runner takes it)
with OGD at the theory step, AdaGradNorm, and KT through the reductions (Cutkosky & Orabona 2018); the baselines SGD
(constant step δ/G, so each step moves at most δ), INGD (Zhang et al. 2020) and gradient sampling (Burke, Lewis, Overton
2005) from ``o2nc.baselines``. Certificates are upper bounds on min ‖∂_δ F‖ computed with exact gradients: O2NC's best
epoch (‖ĝ_k‖ with radius r_k ≤ δ), INGD's and gradient sampling's own, SGD's by ``o2nc.certify.goldstein`` at its output
(calls counted apart). Median and interquartile band over seeds.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from _common import MARKERS, cached, new_figure, save, store

import o2nc.methods as methods
import objectives
from o2nc.methods.tuning import constants

NAME = "fig1_certificates"
TITLE = "Certificate and radius against gradient calls: O2NC learners and baselines"
FULL_TIME = "about 40 minutes on 2 cores"
DELTA = 0.1
FLOOR = 1e-8  # certificates below this (INGD and gradient sampling reach exactly 0 at kinks) are drawn here
PROBLEMS = ("o2nc_toy", "chained_crescent_1", "nesterov_n2", "mxhilb", "max_affine", "phase_retrieval")
#: label -> (o2nc.methods name, its parameters).  KT through the reductions: DirectionMagnitude(KT, OGD on the unit
#: ball) inside BallConstraint(δ/T), the learner defaults of o2nc.methods.learners.
O2NC_METHODS = {"O2NC + OGD": ("o2nc_ogd", {}), "O2NC + AdaGradNorm": ("o2nc_adagrad_norm", {}),
                "O2NC + KT (reductions)": ("o2nc", {"learner": "direction_magnitude"})}
BASELINES = {"SGD": "sgd", "INGD": "ingd", "gradient sampling": "gradient_sampling"}


def method_for(label: str, objective):
    """The :mod:`o2nc.methods` value drawn under ``label``: SGD at the constant step δ/G (each step moves ≤ δ)."""
    if label in O2NC_METHODS:
        name, params = O2NC_METHODS[label]
        return methods.get(name, **params)
    params = {"lr": DELTA / float(objective.lipschitz)} if BASELINES[label] == "sgd" else {}
    return methods.get(BASELINES[label], **params)


def sigma_of(objective) -> float:
    """σ of the theory tuning (:func:`o2nc.methods.tuning.constants`): 0 for an exact oracle; for a stochastic one
    the declared noise, else σ = G (E‖g − ∇F‖² ≤ E‖g‖² ≤ G²), the σ of [CMO23] Theorem 8's σ/√T term."""
    return constants(objective, stochastic=objective.is_stochastic).sigma


def run_method(objective, label, budget, seed):
    """One run (budget N, δ, seed) and what the figure keeps of it: the certificate's ε, its radius (O2NC: the
    selected epoch's r_k; a baseline: its δ), the calls and the certificate's fields."""
    run = method_for(label, objective).run(objective, budget=budget, delta=DELTA, seed=seed)
    cert = run.certificate  # exact gradients: O2NC's epoch (recomputed on a stochastic oracle), a baseline's own
    out = {"certificate": float(cert.epsilon),
           "radius": float(cert.delta) if label in O2NC_METHODS else float(run.delta),
           "grad_calls": int(run.grad_calls), "certificate_claim": {**cert.as_dict(), "is_proof": cert.is_proof}}
    if label not in O2NC_METHODS:
        out["value_calls"] = int(run.value_calls)
    return out


def make(out: Path, quick: bool = False) -> list[Path]:
    budgets = [1000, 4000] if quick else [1000, 4000, 16_000, 64_000]
    seeds = 2 if quick else 5
    db = store(quick)
    fig, axes = new_figure(nrows=2, ncols=len(PROBLEMS), figsize=(7.2, 3.2), sharex=True)
    data = {"budgets": budgets, "delta": DELTA, "problems": {}}
    labels = [(m, "o2nc") for m in O2NC_METHODS] + [(label, "baseline") for label in BASELINES]
    for j, problem in enumerate(PROBLEMS):
        objective = objectives.get(problem)
        data["problems"][problem] = {}
        for i, (label, kind) in enumerate(labels):
            cert, radius = np.empty((len(budgets), seeds)), np.empty((len(budgets), seeds))
            for b, budget in enumerate(budgets):
                for seed in range(seeds):
                    config = {"figure": NAME, "problem": problem, "method": label, "budget": budget,
                              "delta": DELTA, "seed": seed}
                    if kind == "o2nc" and objective.is_stochastic:  # T depends on σ (Theorem 8's σ/√T term)
                        config["sigma"] = sigma_of(objective)
                    result = cached(db, config, lambda: run_method(objective, label, budget, seed))
                    cert[b, seed], radius[b, seed] = result["certificate"], result["radius"]
            median, (low, high) = np.median(cert, axis=1), np.percentile(cert, [25, 75], axis=1)
            top, bottom = axes[0, j], axes[1, j]
            shown = lambda v: np.maximum(v, FLOOR)  # noqa: E731  (certificates of exactly 0 drawn at the floor)
            top.loglog(budgets, shown(median), marker=MARKERS[i], label=label, color=f"C{i}")
            top.fill_between(budgets, shown(low), shown(high), alpha=0.2, color=f"C{i}", lw=0)
            if kind == "o2nc":
                bottom.loglog(budgets, np.median(radius, axis=1), marker=MARKERS[i], color=f"C{i}")
            data["problems"][problem][label] = {"certificate_median": median.tolist(), "q25": low.tolist(),
                                                "q75": high.tolist(),
                                                "radius_median": np.median(radius, axis=1).tolist()}
        axes[0, j].set_title(f"{problem}\n(d = {objective.dim})", fontsize=6.5)
        axes[1, j].axhline(DELTA, color="0.4", ls=":", lw=0.9)
        axes[1, j].set_xlabel("gradient calls $N$")
    axes[0, 0].set_ylabel(r"certificate $\|\hat g\|$")
    axes[1, 0].set_ylabel("O2NC radius $r_k$ (dotted: $\\delta$)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(O2NC_METHODS) + len(BASELINES), fontsize=6)
    for ax in axes.flat:
        ax.tick_params(labelsize=5.5)
        ax.set_xticks(budgets, [f"{b // 1000}k" for b in budgets])
        ax.set_xlim(budgets[0] / 1.4, budgets[-1] * 1.4)  # room for the end ticks' labels inside the figure
        ax.minorticks_off()
    best = {p: min(data["problems"][p], key=lambda m: data["problems"][p][m]["certificate_median"][-1])
            for p in PROBLEMS}
    caption = (
        f"{TITLE}. δ = {DELTA}; runs tuned for each budget N ∈ {budgets}; median and interquartile band over {seeds} "
        "seeds. Smallest median certificate at the largest budget: "
        + "; ".join(f"{p}: {m} ({data['problems'][p][m]['certificate_median'][-1]:.3g})" for p, m in best.items())
        + f". Certificates below {FLOOR:g} (INGD and gradient sampling can certify exactly 0 at a kink) are drawn "
        "at that floor. O2NC's radius r_k stays below δ by construction (D = δ/T), so its certificates are for a "
        "smaller ball than the baselines' δ."
    )
    return save(fig, NAME, out, data=data, caption=caption)
