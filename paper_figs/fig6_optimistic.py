"""Figure 6: the deterministic optimistic variant against plain O2NC — gradient calls to ε-stationarity against 1/ε.

Objective: F(x) = Σ_i log(1 + (x_i − c_i)²) in d = 4 (smooth, non-convex, L = 2, G = √d, Lipschitz Hessian),
δ = √(ε/H). Methods and parameters: :mod:`o2nc.deterministic` (the deterministic second-order-smooth result of
Cutkosky, Mehta, Orabona, ICML 2023, arXiv 2302.03775: midpoint gradients and optimistic online learning; the
parameter derivation is in that module). Calls include every inner fixed-point call.

Two comparisons: each method at its own theory tuning (optimistic: η = 1/L, T = ⌈√(2δ/(ηε))⌉; plain: T = ⌈4G²/ε²⌉),
which differ in T, D and η as well as in the hint; and the ablation at equal (T, D, η) — the optimistic tuning's —
with and without the hint (OGD with the same step and ball, midpoint gradients, no hint), which isolates the hint.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from _common import MARKERS, cached, finite, fit_text, new_figure, save, store

import o2nc
from o2nc.deterministic import calls_to_stationarity, optimistic_parameters
from o2nc.experiments import fit_exponent, interval_words
from online_learners import OGD

NAME = "fig6_optimistic"
TITLE = "Deterministic optimistic O2NC vs plain O2NC: calls to ε-stationarity"
FULL_TIME = "about 5 minutes on 2 cores"
THEORY = {"optimistic": -1.75, "plain": -3.5, "no hint": None}
D = 4


def _problem():
    centre = np.random.default_rng(0).uniform(-1, 1, D)
    z = np.linspace(-5, 5, 200_001)
    hessian_lipschitz = float(np.max(np.abs(4 * z * (z**2 - 3) / (1 + z**2) ** 3)))
    return centre, hessian_lipschitz


def no_hint_calls(grad, x0, eps: float, hessian_lipschitz: float, cap: int, smoothness: float = 2.0) -> float:
    """The ablation: the optimistic tuning's (T, D, η) (:func:`o2nc.deterministic.optimistic_parameters`, δ = √(ε/H))
    with OGD, midpoint gradients and no hint; calls until an epoch mean has ‖∇F‖ ≤ ε (the stopping rule of
    :func:`o2nc.deterministic.calls_to_stationarity`, whose evaluations are not counted)."""
    p = optimistic_parameters(eps, math.sqrt(eps / hessian_lipschitz), smoothness)
    reached = {}

    def stop(k, stats):
        if float(np.linalg.norm(grad(np.asarray(stats["mean"])))) <= eps:
            reached["calls"] = stats["grad_calls"]
            return True
        return False

    o2nc.minimize(grad, x0, learner=OGD(lr=p.lr, radius=p.radius), budget=cap, epoch_length=p.epoch_length,
                  scaling="midpoint", seed=0, callback=stop)
    return float(reached.get("calls", math.nan))


#: The second problem of the ablation: F(x) = Σ_i w_i log(1 + (x_i − c_i)²), curvatures spread over a factor 30
#: (L = 2·max w, G = max w, H = max w times the unweighted Hessian-Lipschitz constant).
WEIGHTS = (1.0, 3.0, 10.0, 30.0)


def weighted_ablation(eps_values, cap: int, db) -> list:
    """(ε, calls with the hint, calls without) on the weighted problem, both at the optimistic tuning's (T, D, η)."""
    centre, h0 = _problem()
    w = np.array(WEIGHTS)
    smooth, lip, hess = 2 * w.max(), w.max(), h0 * w.max()

    def grad(x):
        return w * 2 * (x - centre) / (1 + (x - centre) ** 2)

    out = []
    for eps in eps_values:
        base = {"figure": NAME, "problem": "weighted", "weights": list(WEIGHTS), "epsilon": float(eps), "d": D,
                "cap": cap, "seed": 0}
        hint = cached(db, {**base, "method": "optimistic"}, lambda: {"calls": finite(calls_to_stationarity(
            grad, centre + 3.0, float(eps), method="optimistic", lipschitz=lip, smoothness=smooth,
            hessian_lipschitz=hess, cap=cap))})
        plain = cached(db, {**base, "method": "no hint"}, lambda: {"calls": finite(no_hint_calls(
            grad, centre + 3.0, float(eps), hess, cap, smoothness=smooth))})
        out.append((float(eps), hint["calls"], plain["calls"]))
    return out


def make(out: Path, quick: bool = False) -> list[Path]:
    centre, hessian_lipschitz = _problem()
    grad = lambda x: 2 * (x - centre) / (1 + (x - centre) ** 2)  # noqa: E731
    grids = {
        "optimistic": np.geomspace(0.3, 0.003, 6 if quick else 9),
        "plain": np.geomspace(0.3, 0.075 if quick else 0.03, 3 if quick else 5),
    }
    grids["no hint"] = grids["optimistic"]
    cap = 10**6 if quick else 2 * 10**7
    db = store(quick)
    data, fits = {"d": D, "hessian_lipschitz": hessian_lipschitz}, {}
    fig, ax = new_figure()
    for i, (method, eps_values) in enumerate(grids.items()):
        calls = []
        for eps in eps_values:
            config = {"figure": NAME, "method": method, "epsilon": float(eps), "d": D, "cap": cap, "seed": 0}
            if method == "no hint":
                result = cached(db, config, lambda: {"calls": finite(no_hint_calls(
                    grad, centre + 3.0, float(eps), hessian_lipschitz, cap))})
            else:
                result = cached(db, config, lambda: {"calls": finite(calls_to_stationarity(
                    grad, centre + 3.0, float(eps), method=method, lipschitz=math.sqrt(D), smoothness=2.0,
                    hessian_lipschitz=hessian_lipschitz, cap=cap))})
            calls.append(np.nan if result["calls"] is None else result["calls"])
        calls = np.array(calls)
        ok = np.isfinite(calls)
        fit = fit_exponent(eps_values[ok], calls[ok])
        fits[method] = fit
        label = {"optimistic": "optimistic OGD + fixed-point hint, own tuning",
                 "plain": "OGD, uniform scaling (Algorithm 1), own tuning",
                 "no hint": "ablation: optimistic's (T, D, η), no hint"}[method]
        ax.loglog(1 / eps_values[ok], calls[ok], marker=MARKERS[i], color=f"C{i}",
                  ls="--" if method == "no hint" else "-", label=f"{label}: exponent {fit.exponent:.2f}")
        if THEORY[method] is not None:
            anchor = calls[ok][0] * (eps_values[ok] / eps_values[ok][0]) ** THEORY[method]
            ax.loglog(1 / eps_values[ok], anchor, ls=":", color=f"C{i}", lw=0.9,
                      label=rf"theory $\epsilon^{{{THEORY[method]:g}}}$ ({method})")
        data[method] = {"epsilon": eps_values.tolist(), "calls": [finite(c) for c in calls],
                        "exponent": fit.exponent, "ci": [fit.ci_low[0], fit.ci_high[0]]}
    ax.set_xlabel(r"$1/\epsilon$")
    ax.set_ylabel("gradient calls to $\\|\\nabla F(\\bar w)\\| \\leq \\epsilon$")
    ax.legend(loc="upper left", fontsize=5.5)
    opt, abl = np.array(data["optimistic"]["calls"], dtype=float), np.array(data["no hint"]["calls"], dtype=float)
    ratio = opt / abl
    weighted = weighted_ablation(np.geomspace(0.3, 0.01, 4), cap, db)
    w_ratio = np.array([h / n if h and n else np.nan for _, h, n in weighted])
    helps = bool(np.nanmin(ratio) < 1.0 or np.nanmin(w_ratio) < 1.0)
    data["hint_ratio"] = [finite(r) for r in ratio]
    data["weighted"] = {"weights": list(WEIGHTS), "runs": [{"epsilon": e, "hint": h, "no_hint": n}
                                                           for e, h, n in weighted]}
    caption = (
        f"{TITLE}. F(x) = Σ log(1 + (x_i − c_i)²), d = {D}, δ = √(ε/H). Fitted exponents of calls in ε "
        f"({interval_words(f.method for f in fits.values())}): "
        f"optimistic {fit_text(fits['optimistic'], THEORY['optimistic'])}; plain "
        f"{fit_text(fits['plain'], THEORY['plain'])}; ablation without the hint {fit_text(fits['no hint'])}. "
        "Calls include the inner fixed-point calls. The measured exponents are smaller in magnitude than the "
        "worst-case theory on this benign problem. The gap between the two own-tuned curves comes from their "
        "tunings (T, D and η differ), not from the hint alone: at the optimistic tuning's (T, D, η) the run with the "
        f"hint needs {np.nanmin(ratio):.2f}–{np.nanmax(ratio):.2f}× the calls of the run without it, and "
        f"{np.nanmin(w_ratio):.2f}–{np.nanmax(w_ratio):.2f}× on a second problem with curvatures spread over a "
        f"factor 30 (Σ w_i log(1 + (x_i − c_i)²), w = {', '.join(f'{v:g}' for v in WEIGHTS)}; ε from 0.3 to 0.01, not "
        "drawn)"
        + (" (below 1 where the hint pays for its inner calls)." if helps else
           ": on both problems tried the hint does not help at any ε (its inner fixed-point calls cost more than "
           "they save at this scale).")
    )
    return save(fig, NAME, out, data=data, caption=caption)
