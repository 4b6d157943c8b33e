r"""Queries of O2NC + projected OGD at its theory tuning to the first certified epoch on the tight family.

For each (ε, δ, seed): the theory budget N_th = the smallest N with ``o2nc.theory.ogd_bound(N, δ, G, gap, σ) ≤ ε``
(Theorem 8 of Cutkosky, Mehta, Orabona, ICML 2023, arXiv 2302.03775: gap/(δK) + (G+σ)/√T), the tuning
``o2nc.theory.ogd_parameters(N_th, δ, G, gap, σ)`` (T, K, D = δ/T, η = D/(G√T)), and a run of ``o2nc.minimize`` with
restarted ``OGD(lr=η, radius=D)`` on the objective's stochastic oracle.  After every epoch its certificate is recomputed
with exact gradients at the epoch's points (the mean of exact gradients, Definition 5 of the same paper; the radius is ≤
δ by D = δ/T), and the run stops at the first epoch whose exact certificate is ≤ ε.  Recorded: the queries to the end of
that epoch, and their ratio to N_th.

The exponents come from one least-squares fit log q = c + a·log ε + b·log δ over all runs, with a 95% percentile
bootstrap interval that resamples seeds (all grid points of a seed together; 2000 replicates).

Usage: ``python experiments/tight_family_rates.py [--quick] [--jobs 2] [--out results.json]``.
"""
from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import objectives  # noqa: E402
import o2nc  # noqa: E402
from o2nc.methods.tuning import theory_budget  # noqa: E402  (smallest N with ogd_bound ≤ ε)
from o2nc.theory import ogd_parameters  # noqa: E402
from objectives.tight_family import gradients  # noqa: E402
from online_learners import OGD  # noqa: E402

#: The sweep of the report: constants shrunk (not exponents) so that it runs in minutes on 2 cores: G + σ is small
#: against ε (G must exceed κ·ε_max) so that T = ((G+σ)δN/gap)^{2/3} ≈ 4((G+σ)/ε)² stays ≤ ~900, and gap is large
#: enough that every run travels ℓ/δ = gap/(κεδ) ≥ 31 epochs (a run certifies about one epoch after reaching the
#: kink, which biases the fitted exponents towards 0 by about that epoch over ℓ/δ).
GRID = dict(eps=[0.02 * 10 ** (i / 4) for i in range(5)], delta=[0.01, 0.01 * math.sqrt(2), 0.02], seeds=5,
            G=0.26, sigma=0.04, gap=0.15, slope_factor=1.2)
#: A small grid for the default-run check of the script (seconds).
QUICK = dict(eps=[0.1, 0.2], delta=[0.05, 0.1], seeds=2, G=0.35, sigma=0.05, gap=0.1, slope_factor=1.5)


def run_one(eps: float, delta: float, seed: int, G: float, sigma: float, gap: float, slope_factor: float) -> dict:
    """One run: queries to the first epoch whose exact-gradient certificate is ≤ ε (None when none within N_th)."""
    obj = objectives.get("tight_ramp", eps=eps, delta=delta, G=G, sigma=sigma, gap=gap, slope_factor=slope_factor)
    ex = obj.extra
    budget = theory_budget(eps, delta, G, gap, sigma)
    p = ogd_parameters(budget, delta, G, gap, sigma)
    T = p.epoch_length
    points: list = []

    def oracle(w, rng):
        points.append(np.array(w, dtype=np.float64))
        return obj.stochastic_grad(w, rng)

    found: dict = {}

    def callback(k, stats):
        W = np.array(points)
        points.clear()
        cert = float(np.linalg.norm(gradients(W, ex["slope"], ex["perturbation_slope"], ex["plateau"]).mean(axis=0)))
        radius = float(np.max(np.linalg.norm(W - W.mean(axis=0), axis=1)))
        if cert <= eps:
            found.update(queries=int(stats["grad_calls"]), epoch=int(k), certificate=cert, radius=radius)
            return True
        return False

    start = time.perf_counter()
    o2nc.minimize(oracle, obj.x0.copy(), learner=OGD(lr=p.lr, radius=p.radius), budget=budget, epoch_length=T,
                  seed=seed, delta=delta, callback=callback)
    queries = found.get("queries")
    return dict(eps=eps, delta=delta, seed=seed, budget=budget, T=T, K=p.epochs, queries=queries,
                ratio=None if queries is None else queries / budget, epoch=found.get("epoch"),
                certificate=found.get("certificate"), radius=found.get("radius"),
                lower_bound_epochs=ex["lower_bound_epochs"], lower_bound_queries=T * ex["lower_bound_epochs"],
                seconds=time.perf_counter() - start)


def _fit(rows):
    X = np.array([[1.0, math.log(r["eps"]), math.log(r["delta"])] for r in rows])
    y = np.array([math.log(r["queries"]) for r in rows])
    return np.linalg.lstsq(X, y, rcond=None)[0]


def fit(rows: list, replicates: int = 2000, seed: int = 0) -> dict:
    """Least-squares exponents of queries in ε and δ with 95% bootstrap intervals over seeds (censored runs refused)."""
    censored = [r for r in rows if r["queries"] is None]
    if censored:
        raise ValueError(f"{len(censored)} runs certified nothing within their theory budget; no fit")
    coef = _fit(rows)
    seeds = sorted({r["seed"] for r in rows})
    by_seed = {s: [r for r in rows if r["seed"] == s] for s in seeds}
    rng = np.random.default_rng(seed)
    boot = np.array([_fit([r for s in rng.choice(seeds, len(seeds)) for r in by_seed[s]])
                     for _ in range(replicates)])
    lo, hi = np.percentile(boot, [2.5, 97.5], axis=0)
    ratios = np.array([r["ratio"] for r in rows])
    return dict(eps_exponent=float(coef[1]), eps_ci=[float(lo[1]), float(hi[1])],
                delta_exponent=float(coef[2]), delta_ci=[float(lo[2]), float(hi[2])], runs=len(rows),
                ratio_min=float(ratios.min()), ratio_median=float(np.median(ratios)), ratio_max=float(ratios.max()),
                bound_violations=int(np.sum(ratios > 1.0)))


def sweep(grid: dict, jobs: int = 2) -> list:
    consts = {k: grid[k] for k in ("G", "sigma", "gap", "slope_factor")}
    cases = [(e, d, s) for e, d, s in itertools.product(grid["eps"], grid["delta"], range(grid["seeds"]))]
    cases.sort(key=lambda c: c[0] ** 3 * c[1])       # the longest runs first
    if jobs <= 1:
        return [run_one(e, d, s, **consts) for e, d, s in cases]
    with ProcessPoolExecutor(jobs) as pool:
        futures = [pool.submit(run_one, e, d, s, **consts) for e, d, s in cases]
        return [f.result() for f in futures]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the small grid (seconds)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None, help="write runs and fit as JSON")
    args = ap.parse_args(argv)
    grid = QUICK if args.quick else GRID
    start = time.perf_counter()
    rows = sweep(grid, args.jobs)
    result = fit(rows)
    for r in sorted(rows, key=lambda r: (r["eps"], r["delta"], r["seed"])):
        print(f"eps={r['eps']:.4f} delta={r['delta']:.4f} seed={r['seed']} T={r['T']} N_th={r['budget']} "
              f"queries={r['queries']} epochs={r['epoch'] + 1} (l/delta={r['lower_bound_epochs']:.1f}) "
              f"ratio={r['ratio']:.3f}")
    print(json.dumps(result, indent=1))
    print(f"wall {time.perf_counter() - start:.0f} s")
    if args.out:
        args.out.write_text(json.dumps(dict(grid=grid, runs=rows, fit=result), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
