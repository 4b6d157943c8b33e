"""``o2nc run``: one O2NC run on an objective of the bank, with per-epoch certificates and a plot."""
from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path

import numpy as np

DEFAULT_OBJECTIVE = "chained_crescent_1"

HELP = """Run O2NC (online-to-non-convex conversion) on one objective of the bank.

With no arguments: O2NC with projected OGD at the paper's parameters (epoch length T, radius D = δ/T,
step D/(G√T), from the budget, δ, the objective's Lipschitz constant G and gap F(x0) − F*) on the
non-smooth non-convex chained crescent function I of Haarala, Miettinen and Mäkelä (n = 50). It prints each epoch's
certificate ‖ĝ_k‖ and radius r_k, the final (δ, ε) certificate, and writes o2nc-run.png (certificate
and radius against gradient calls) and o2nc-run.csv (every epoch) into --out.

Examples:
  o2nc run
  o2nc run --objective o2nc_toy --budget 50000 --delta 0.05
  o2nc run --learner adagrad_norm --param n=200 --out results/
  o2nc list                                   # the objectives and learners you can name here
"""


def _parse_value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _params(pairs, flag: str) -> dict:
    out = {}
    for pair in pairs or ():
        if "=" not in pair:
            raise SystemExit(f"o2nc run: {flag} expects KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        out[key.strip()] = _parse_value(value.strip())
    return out


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("run", help="run O2NC once on an objective, print certificates, plot them",
                              description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--objective", default=DEFAULT_OBJECTIVE, help=f"objective name (default {DEFAULT_OBJECTIVE})")
    p.add_argument("--param", action="append", metavar="KEY=VALUE",
                   help="objective parameter, repeatable (e.g. n=200 for the scalable families)")
    p.add_argument("--learner", default="ogd", help="learner name (default ogd, at the paper's parameters)")
    p.add_argument("--learner-param", action="append", metavar="KEY=VALUE",
                   help="learner hyperparameter, repeatable; overrides the theory defaults")
    p.add_argument("--budget", type=int, default=20_000, help="gradient calls N (default 20000)")
    p.add_argument("--delta", type=float, default=0.1, help="Goldstein radius δ (default 0.1)")
    p.add_argument("--epoch-length", type=int, default=None, help="T (default: the paper's choice for N, δ, G)")
    p.add_argument("--scaling", default="uniform", choices=["uniform", "exponential", "none"],
                   help="random scaling of Δ (default uniform, Algorithm 1)")
    p.add_argument("--stochastic", action="store_true",
                   help="use the objective's stochastic oracle (certificates become estimates)")
    p.add_argument("--seed", type=int, default=0, help="seed of the scaling and the oracle (default 0)")
    p.add_argument("--no-restart", action="store_true", help="do not restart the learner each epoch")
    p.add_argument("--out", default=".", help="folder for the plot and the CSV (default: the working folder)")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no per-epoch lines")
    p.set_defaults(run=run)


def _learner(name: str, overrides: dict, theory):
    from online_learners import registry

    if name == "ogd":
        params = {"lr": theory.lr, "radius": theory.radius}
    elif name == "adagrad_norm":
        params = {"radius": theory.radius}
    else:
        params = {}
    params.update(overrides)
    return registry.get(name, **params)


def run(args) -> int:
    import objectives
    import o2nc

    params = _params(args.param, "--param")
    objective = objectives.get(args.objective, **params)
    x0 = np.array(objective.x0, dtype=np.float64)
    if objective.f_star is None:
        raise SystemExit(f"o2nc run: objective {objective.name!r} has no known F*, so the gap F(x0) − F* that sets "
                         "the paper's parameters is unknown; pick another objective")
    if objective.lipschitz is None:
        raise SystemExit(f"o2nc run: objective {objective.name!r} has no Lipschitz constant G")
    gap = max(float(objective.value(x0)) - objective.f_star, 1e-12)
    lipschitz = float(objective.lipschitz)
    theory = o2nc.theory.ogd_parameters(args.budget, args.delta, lipschitz, gap)
    epoch_length = args.epoch_length or theory.epoch_length
    if args.epoch_length:
        theory = theory._replace(epoch_length=epoch_length, radius=args.delta / epoch_length,
                                 lr=args.delta / epoch_length / (lipschitz * math.sqrt(epoch_length)))
    learner = _learner(args.learner, _params(args.learner_param, "--learner-param"), theory)
    if args.stochastic:
        if not objective.is_stochastic:
            raise SystemExit(f"o2nc run: objective {objective.name!r} has no stochastic oracle; drop --stochastic")
        grad = objective.stochastic_grad
    else:
        grad = objective.grad

    say = (lambda *a, **k: None) if args.quiet else print
    say(f"O2NC on {objective.name} (d = {x0.size}), learner {learner}")
    say(f"budget N = {args.budget}, δ = {args.delta}, G = {lipschitz:.4g}, gap = {gap:.4g}: "
        f"T = {epoch_length}, K = {args.budget // epoch_length}, D = δ/T = {theory.radius:.3g}")
    say(f"{'epoch':>6} {'grad calls':>11} {'certificate ‖ĝ‖':>16} {'radius r':>10} {'F(w̄)':>12}")
    epochs = args.budget // epoch_length
    every = max(1, math.ceil(epochs / 40))

    def report(k, stats):
        if args.quiet or (k % every and k != epochs - 1):
            return
        from tqdm.auto import tqdm

        tqdm.write(f"{k + 1:>6} {stats['grad_calls']:>11} {float(stats['certificate']):>16.5g} "
                   f"{float(stats['radius']):>10.4g} {float(objective.value(stats['mean'])):>12.6g}")

    res = o2nc.minimize(grad, x0, learner=learner, budget=args.budget, epoch_length=epoch_length,
                        scaling=args.scaling, seed=args.seed, restart=not args.no_restart,
                        value=objective.value, progress=not args.quiet and sys.stderr.isatty(), callback=report)
    if every > 1:
        say(f"(every {every}th epoch shown; all {epochs} are in the CSV)")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    calls = [(k + 1) * epoch_length for k in range(epochs)]
    csv_path = out / "o2nc-run.csv"
    with open(csv_path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["epoch", "grad_calls", "certificate", "radius", "value"])
        for k in range(epochs):
            writer.writerow([k + 1, calls[k], float(res.epochs.certificate[k]), float(res.epochs.radius[k]),
                             float(res.epochs.value[k])])
    from o2nc.plotting import plot_run

    png = plot_run(calls, res.epochs.certificate, res.epochs.radius, out / "o2nc-run.png",
                   title=f"O2NC on {objective.name}", delta=args.delta)
    k = res.selected_epoch
    kind = "estimate from stochastic gradients" if args.stochastic else "exact gradients"
    print(f"final certificate (epoch {k + 1} of {epochs}, {kind}): w̄ is (δ, ε)-stationary with "
          f"δ = r = {float(res.epochs.radius[k]):.4g} ≤ {args.delta}, ε = ‖ĝ‖ = {float(res.epochs.certificate[k]):.5g}; "
          f"F(w̄) = {float(res.epochs.value[k]):.6g} (F* = {objective.f_star:g}); {res.grad_calls} gradient calls")
    print(f"wrote {png} and {csv_path}")
    return 0
