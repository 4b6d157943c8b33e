"""Figure 1: certificate and radius against gradient calls on six bank problems, O2NC learners against baselines.

Each point is one run with a budget of N gradient calls, tuned for that N: O2NC (Algorithm 1 of [CMO23], restarts,
``o2nc.theory.ogd_parameters`` for T and D = δ/T, with the stochastic problem's σ in T as the sweep runner takes it) with OGD at the theory step, AdaGradNorm, and KT through the
reductions (Cutkosky & Orabona 2018); the baselines SGD (constant step δ/G, so each step moves at most δ), INGD
(Zhang et al. 2020) and gradient sampling (Burke, Lewis, Overton 2005) from ``o2nc.baselines``. Certificates are
upper bounds on min ‖∂_δ F‖ computed with exact gradients: O2NC's best epoch (‖ĝ_k‖ with radius r_k ≤ δ), INGD's and
gradient sampling's own, SGD's by ``o2nc.certify.goldstein`` at its output (calls counted apart). Median and
interquartile band over seeds.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from _common import MARKERS, cached, new_figure, save, store
import o2nc
import o2nc.baselines as baselines
import objectives
from o2nc.experiments.runner import resolve_constants
from online_learners import KT, OGD, AdaGradNorm, BallConstraint, DirectionMagnitude

NAME = "fig1_certificates"
TITLE = "Certificate and radius against gradient calls: O2NC learners and baselines"
FULL_TIME = "about 40 minutes on 2 cores"
DELTA = 0.1
FLOOR = 1e-8  # certificates below this (INGD and gradient sampling reach exactly 0 at kinks) are drawn here
PROBLEMS = ("o2nc_toy", "chained_crescent_1", "nesterov_n2", "mxhilb", "max_affine", "phase_retrieval")
O2NC_METHODS = ("O2NC + OGD", "O2NC + AdaGradNorm", "O2NC + KT (reductions)")
BASELINES = {"SGD": "sgd", "INGD": "ingd", "gradient sampling": "gradient_sampling"}


def o2nc_learner(name, p, lipschitz):
    if name == "O2NC + OGD":
        return OGD(lr=p.lr, radius=p.radius)
    if name == "O2NC + AdaGradNorm":
        return AdaGradNorm(radius=p.radius)
    magnitude = KT(eps=p.radius * lipschitz, lipschitz=lipschitz)
    return BallConstraint(DirectionMagnitude(magnitude, OGD(lr=1.0 / lipschitz, radius=1.0)), radius=p.radius)


def theory_constants(objective):
    """(G, gap, σ) as the sweep runner takes them (:func:`o2nc.experiments.runner.resolve_constants`): σ = 0 for an
    exact oracle; for a stochastic one the declared noise, else σ = G (E‖g − ∇F‖² ≤ E‖g‖² ≤ G²), the σ of
    [CMO23] Theorem 8's σ/√T term that ``ogd_parameters`` balances T with."""
    G, gap, info = resolve_constants(objective, {"name": objective.name}, stochastic=objective.is_stochastic)
    return G, gap, info["sigma"]


def run_o2nc(objective, method, budget, seed):
    x0 = np.array(objective.x0)
    lipschitz, gap, sigma = theory_constants(objective)
    p = o2nc.theory.ogd_parameters(budget, DELTA, lipschitz, gap, sigma)
    stochastic = objective.is_stochastic
    grad = objective.stochastic_grad if stochastic else objective.grad
    res = o2nc.minimize(grad, x0, learner=o2nc_learner(method, p, lipschitz), budget=budget,
                        epoch_length=p.epoch_length, seed=seed, record=stochastic)
    if stochastic:  # the epoch certificates recomputed with exact gradients at the same points
        points = np.asarray(res.history.w)[: res.epochs.mean.shape[0] * p.epoch_length]
        points = points.reshape(-1, p.epoch_length, points.shape[-1])
        certificates = np.array([np.linalg.norm(np.mean([objective.grad(w) for w in epoch], axis=0))
                                 for epoch in points])
    else:
        certificates = np.asarray(res.epochs.certificate)
    k = int(np.argmin(certificates))  # D = δ/T: every epoch's radius is ≤ δ, so the best epoch is a claim at δ
    claim = o2nc.Certificate(point=None, delta=float(res.epochs.radius[k]), epsilon=float(certificates[k]),
                             kind="exact-gradient epoch", radius_kind="exact", calls=p.epoch_length)
    return {"certificate": float(certificates[k]), "radius": float(res.epochs.radius[k]),
            "grad_calls": int(res.grad_calls), "certificate_claim": {**claim.as_dict(), "is_proof": claim.is_proof}}


def run_baseline(objective, method, budget, seed):
    lipschitz = float(objective.lipschitz)
    params = {"lr": DELTA / lipschitz} if method == "sgd" else {}
    result = baselines.get(method, delta=DELTA, **params).minimize(objective, np.array(objective.x0),
                                                                     budget=budget, seed=seed)
    cert = result.certificate  # certify=True (the default): an o2nc.Certificate with exact gradients
    return {"certificate": float(cert.epsilon), "radius": float(result.delta),
            "grad_calls": int(result.grad_calls), "value_calls": int(result.value_calls),
            "certificate_claim": {**cert.as_dict(), "is_proof": cert.is_proof}}


def make(out: Path, quick: bool = False) -> list[Path]:
    budgets = [1000, 4000] if quick else [1000, 4000, 16_000, 64_000]
    seeds = 2 if quick else 5
    db = store(quick)
    fig, axes = new_figure(nrows=2, ncols=len(PROBLEMS), figsize=(7.2, 3.2), sharex=True)
    data = {"budgets": budgets, "delta": DELTA, "problems": {}}
    methods = [(m, "o2nc") for m in O2NC_METHODS] + [(label, name) for label, name in BASELINES.items()]
    for j, problem in enumerate(PROBLEMS):
        objective = objectives.get(problem)
        data["problems"][problem] = {}
        for i, (label, kind) in enumerate(methods):
            cert, radius = np.empty((len(budgets), seeds)), np.empty((len(budgets), seeds))
            for b, budget in enumerate(budgets):
                for seed in range(seeds):
                    config = {"figure": NAME, "problem": problem, "method": label, "budget": budget,
                              "delta": DELTA, "seed": seed}
                    if kind == "o2nc" and objective.is_stochastic:  # T depends on σ (Theorem 8's σ/√T term)
                        config["sigma"] = theory_constants(objective)[2]
                    if kind == "o2nc":
                        result = cached(db, config, lambda: run_o2nc(objective, label, budget, seed))
                    else:
                        result = cached(db, config, lambda: run_baseline(objective, kind, budget, seed))
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
        axes[0, j].set_title(f"{problem} (d={objective.dim})", fontsize=6.5)
        axes[1, j].axhline(DELTA, color="0.4", ls=":", lw=0.9)
        axes[1, j].set_xlabel("gradient calls $N$")
    axes[0, 0].set_ylabel(r"certificate $\|\hat g\|$")
    axes[1, 0].set_ylabel("O2NC radius $r_k$ (dotted: $\\delta$)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(methods), fontsize=6)
    for ax in axes.flat:
        ax.tick_params(labelsize=5.5)
        ax.set_xticks(budgets, [f"{b // 1000}k" for b in budgets])
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
