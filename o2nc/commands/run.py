"""``o2nc run``: one run of O2NC (or of a baseline) on an objective of the bank, with certificates and a plot."""
from __future__ import annotations

import argparse
import contextlib
import csv
import math
import sys
import tempfile
from pathlib import Path

import numpy as np

from o2nc.cli import UsageError
from o2nc.methods.learners import build_learner
from o2nc.methods.tuning import theory_parameters

DEFAULT_OBJECTIVE = "chained_crescent_1"

HELP = """Run O2NC (online-to-non-convex conversion) on one objective of the bank.

With no arguments: O2NC with projected OGD at the paper's parameters (epoch length T, radius D = δ/T,
step D/(G√T), from the budget, δ, the objective's Lipschitz constant G and gap F(x0) − F*) on the
non-smooth non-convex chained crescent function I of Haarala, Miettinen and Mäkelä (n = 50). It prints each epoch's
certificate ‖ĝ_k‖ and radius r_k, the final certificate, and writes o2nc-run.png (certificate and radius
against gradient calls) and o2nc-run.csv (every epoch) into --out.

Every learner of `o2nc list learners` plays in the ball ‖Δ‖ ≤ D = δ/T, so every epoch with s ≤ 1 has radius
r_k ≤ T·D = δ: OGD, AdaGradNorm, optimistic OGD and FTRL take the radius D; the unconstrained learners (KT, ONS
bettor, COCOB, FreeGrad, PFMD, direction-magnitude) are wrapped in BallConstraint(learner, radius=D), and those that
take a gradient bound get G (G + σ with --stochastic when the objective declares its noise σ). The final
certificate is the best epoch among those with r_k ≤ δ; when there is none the run says so ("no certificate at δ").

With --method NAME (or --baseline NAME) it runs a baseline of o2nc.baselines instead (INGD, gradient sampling,
SGD, Adam, ...), with its hyperparameters from --method-param KEY=VALUE and its certificate radius δ = --delta; it
prints the certificate of the returned point and writes the method's trace (calls, value, running certificate).

When the objective has no known F* (e.g. the hard instance hard_chain), the gap comes from the objective's own
bound on F(x0) − inf F, or from --gap.

Examples:
  o2nc run
  o2nc run --objective o2nc_toy --budget 50000 --delta 0.05
  o2nc run --learner adagrad_norm --param n=200 --out results/
  o2nc run --method ingd --objective o2nc_toy --budget 5000
  o2nc run --baseline sgd --method-param lr=0.01 --method-param schedule=sqrt
  o2nc list                                   # the objectives, learners and baselines you can name here
"""


def _parse_value(text: str):
    """KEY=VALUE's value: an int, else a float, else true/false (a bool) or none (None), else the string."""
    special = {"true": True, "false": False, "none": None}
    if text.lower() in special:
        return special[text.lower()]
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
            raise UsageError(f"{flag} expects KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        if not key.strip():
            raise UsageError(f"{flag} expects KEY=VALUE with a non-empty KEY, got {pair!r}")
        out[key.strip()] = _parse_value(value.strip())
    return out


@contextlib.contextmanager
def _user_input(what: str = ""):
    """Validation of the command line: a ValueError/TypeError raised while the arguments are checked (by this module,
    the objective's factory, the learner's or baseline's constructor) is a user error, reported in one line."""
    try:
        yield
    except UsageError:
        raise
    except (ValueError, TypeError) as err:
        raise UsageError(f"{what}{err}") from err


def _check_args(args) -> None:
    """The flags that need no objective, checked before anything is built or run."""
    if args.budget < 1:
        raise UsageError(f"--budget: expected a positive integer, got {args.budget}")
    if not (args.delta > 0 and math.isfinite(args.delta)):
        raise UsageError(f"--delta: expected a finite number > 0, got {args.delta}")
    if args.epoch_length is not None and not 1 <= args.epoch_length <= args.budget:
        raise UsageError(f"--epoch-length: expected an integer between 1 and the budget {args.budget}, "
                         f"got {args.epoch_length}")
    if args.seed < 0:
        raise UsageError(f"--seed: expected an integer >= 0, got {args.seed}")
    if args.gap is not None and not (args.gap > 0 and math.isfinite(args.gap)):
        raise UsageError(f"--gap: expected a finite number > 0, got {args.gap}")


def _writable_folder(text: str) -> Path:
    """``--out`` as a folder that exists (created if needed) and accepts a file, checked before the run."""
    out = Path(text)
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as err:
        raise UsageError(f"--out: cannot write into {text!r} ({err.strerror or err}); give a writable folder") \
            from None
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
    p.add_argument("--method", default="o2nc", metavar="NAME",
                   help="o2nc (default) or a baseline name (see `o2nc list baselines`)")
    p.add_argument("--baseline", metavar="NAME", help="a baseline name; the same as --method NAME")
    p.add_argument("--method-param", action="append", metavar="KEY=VALUE",
                   help="baseline hyperparameter, repeatable (e.g. lr=0.01); δ is --delta")
    p.add_argument("--gap", type=float, default=None,
                   help="F(x0) − inf F for the paper's parameters (default: from F*, else the objective's bound)")
    p.add_argument("--budget", type=int, default=20_000,
                   help="gradient calls N (function evaluations for zero-order baselines; default 20000)")
    p.add_argument("--delta", type=float, default=0.1, help="Goldstein radius δ (default 0.1)")
    p.add_argument("--epoch-length", type=int, default=None, help="T (default: the paper's choice for N, δ, G)")
    p.add_argument("--scaling", default="uniform", choices=["uniform", "exponential", "none", "midpoint"],
                   help="random scaling of Δ (default uniform, Algorithm 1; midpoint: s = 1/2)")
    p.add_argument("--stochastic", action="store_true",
                   help="use the objective's stochastic oracle (certificates become estimates)")
    p.add_argument("--seed", type=int, default=0, help="seed of the scaling and the oracle (default 0)")
    p.add_argument("--no-restart", action="store_true", help="do not restart the learner each epoch")
    p.add_argument("--out", default=".", help="folder for the plot and the CSV (default: the working folder)")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no per-epoch lines")
    p.set_defaults(run=run)


def _gap(objective, x0, override):
    """F(x0) − F*, else the objective's ``extra["gap_bound"]`` (an upper bound on F(x0) − inf F), else --gap."""
    if override is not None:
        if not (override > 0 and math.isfinite(override)):
            raise UsageError(f"--gap: expected a finite number > 0, got {override}")
        return float(override)
    if objective.f_star is not None:
        return max(float(objective.value(x0)) - objective.f_star, 1e-12)
    bound = (getattr(objective, "extra", None) or {}).get("gap_bound")
    if bound is not None and bound > 0:
        return float(bound)
    raise UsageError(f"objective {objective.name!r} has no known F*, so the gap F(x0) − F* that sets "
                     "the paper's parameters is unknown; give --gap or pick another objective")


def _method_name(args) -> str:
    if args.baseline is not None:
        if args.method not in ("o2nc", args.baseline):
            raise UsageError(f"--method {args.method} and --baseline {args.baseline} disagree; give one")
        return args.baseline
    return args.method


def run(args) -> int:
    import objectives
    import o2nc

    _check_args(args)
    method = _method_name(args)
    params = _params(args.param, "--param")
    with _user_input("--objective/--param: "):
        objective = objectives.get(args.objective, **params)
    x0 = np.array(objective.x0, dtype=np.float64)
    if method != "o2nc":
        return _run_baseline(args, method, objective, x0)
    if args.method_param:
        raise UsageError("--method-param is for baselines; O2NC's learner takes --learner-param")
    learner_params = _params(args.learner_param, "--learner-param")
    if objective.lipschitz is None:
        raise UsageError(f"objective {objective.name!r} has no Lipschitz constant G")
    gap = _gap(objective, x0, args.gap)
    lipschitz = float(objective.lipschitz)
    if args.stochastic and not objective.is_stochastic:
        raise UsageError(f"objective {objective.name!r} has no stochastic oracle; drop --stochastic")
    sigma = _noise(objective) if args.stochastic else 0.0
    # A stochastic oracle has E‖g‖² ≤ G² + σ², the bound the OGD step uses; T balances gap/(δK) against
    # (G + σ)/√T ([CMO23] Theorem 8; o2nc.theory.ogd_parameters).
    second_moment = math.sqrt(lipschitz**2 + sigma**2)
    with _user_input("--epoch-length: " if args.epoch_length is not None else ""):
        theory = theory_parameters(args.budget, args.delta, second_moment if sigma > 0 else lipschitz, gap, sigma,
                                   epoch_length=args.epoch_length)
    epoch_length = theory.epoch_length
    with _user_input(f"--learner {args.learner}: "):
        learner = build_learner(args.learner, learner_params, theory, gradient_scale=lipschitz + sigma, size=x0.size)
    out = _writable_folder(args.out)
    grad = objective.stochastic_grad if args.stochastic else objective.grad

    say = (lambda *a, **k: None) if args.quiet else print
    say(f"O2NC on {objective.name} (d = {x0.size}), learner {learner}")
    noise = f", σ = {sigma:.4g}" if sigma > 0 else ""
    say(f"budget N = {args.budget}, δ = {args.delta}, G = {lipschitz:.4g}{noise}, gap = {gap:.4g}: "
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

    from o2nc.minimize import NonFiniteEpochError, NonFiniteGradientError, NonFiniteStepError

    try:
        res = o2nc.minimize(grad, x0, learner=learner, budget=args.budget, epoch_length=epoch_length,
                            scaling=args.scaling, seed=args.seed, restart=not args.no_restart,
                            value=objective.value, progress=not args.quiet and sys.stderr.isatty(), callback=report,
                            delta=args.delta, stochastic=args.stochastic)
    except (NonFiniteGradientError, NonFiniteStepError, NonFiniteEpochError) as err:
        raise UsageError(f"the run stopped: {err}") from err
    epochs = len(res.epochs.calls)
    if every > 1:
        say(f"(every {_ordinal(every)} epoch shown; all {epochs} are in the CSV)")

    calls = list(res.epochs.calls)
    csv_path = out / "o2nc-run.csv"
    with open(csv_path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["epoch", "grad_calls", "certificate", "radius", "value", "within_delta"])
        for k in range(epochs):
            radius = float(res.epochs.radius[k])
            writer.writerow([k + 1, calls[k], float(res.epochs.certificate[k]), radius, float(res.epochs.value[k]),
                             int(radius <= args.delta)])
    from o2nc.plotting import plot_run

    png = plot_run(calls, res.epochs.certificate, res.epochs.radius, out / "o2nc-run.png",
                   title=f"O2NC on {objective.name}", delta=args.delta)
    k = res.selected_epoch
    print(f"final certificate (epoch {k + 1} of {epochs}): {res.certificate.describe(args.delta)}; "
          f"F(w̄) = {float(res.epochs.value[k]):.6g} (F* = {_fmt_star(objective.f_star)}); "
          f"{res.grad_calls} gradient calls in all")
    print(f"wrote {png} and {csv_path}")
    return 0


def _ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, …, 11th, 12th, 13th, 21st, …"""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _noise(objective) -> float:
    """σ with E‖g − ∇F‖² ≤ σ², from the objective's declared variance bound (0 when it declares none)."""
    from o2nc.methods.tuning import noise_variance

    variance = noise_variance(objective)
    if variance is None or variance <= 0:
        return 0.0
    if not math.isfinite(variance):
        raise UsageError(f"objective {objective.name!r} declares an infinite noise variance; the theory "
                         "parameters need E‖g‖² < ∞")
    return math.sqrt(variance)


def _fmt_star(f_star) -> str:
    return "unknown" if f_star is None else f"{f_star:g}"


def _run_baseline(args, name: str, objective, x0) -> int:
    """One run of a baseline (o2nc.baselines): certificate of the returned point, its trace as CSV and a plot."""
    from o2nc import baselines

    if name not in baselines.names():
        raise UsageError(f"unknown method {name!r}; use o2nc or a baseline: {', '.join(baselines.names())}")
    if args.learner != "ogd" or args.learner_param or args.epoch_length is not None or args.no_restart:
        raise UsageError("--learner, --learner-param, --epoch-length and --no-restart are O2NC options; "
                         "a baseline takes --method-param")
    mparams = _params(args.method_param, "--method-param")
    if "delta" in mparams:
        raise UsageError("give the baseline's δ with --delta, not --method-param delta=...")
    with _user_input(f"--method {name}: "):
        method = baselines.get(name, delta=args.delta, **mparams)  # a bad value raises ValueError naming it
    oracle = "stochastic" if args.stochastic else "exact"
    if args.stochastic and not objective.is_stochastic:
        raise UsageError(f"objective {objective.name!r} has no stochastic oracle; drop --stochastic")
    out = _writable_folder(args.out)
    kw = {"oracle": oracle} if method.order == "first-order" else {}
    say = (lambda *a, **k: None) if args.quiet else print
    unit = "gradient calls" if method.order == "first-order" else "function evaluations"
    say(f"{name} on {objective.name} (d = {x0.size}): {method}")
    say(f"budget N = {args.budget} {unit}, δ = {args.delta}")
    from o2nc.baselines._base import NonFiniteOracleError

    try:
        res = method.minimize(objective, x0, budget=args.budget, seed=args.seed, **kw)
    except NonFiniteOracleError as err:
        raise UsageError(f"the run stopped: {err}") from err

    trace = res.trace
    calls = np.asarray(trace["calls"])
    csv_path = out / "o2nc-run.csv"
    with open(csv_path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["iteration", "calls", "value", "certificate"])
        for i in range(calls.shape[0]):
            writer.writerow([i + 1, int(calls[i]), float(trace["value"][i]), float(trace["certificate"][i])])
    # _plot_trace draws a number: the certificate's ε (NaN when the run computed none)
    png = _plot_trace(trace, res._replace(certificate=res.epsilon), out / "o2nc-run.png",
                      title=f"{name} on {objective.name}")
    sources = {"own": "the method's own certificate, exact gradients",
               "estimate": "the method's running quantity, stochastic gradients",
               "goldstein": f"sampled Goldstein certificate, {res.certificate_calls} exact calls counted apart",
               "none": "no certificate"}
    value = float(objective.value(res.point))
    claim = "the run computed no certificate" if res.certificate is None else res.certificate.describe(args.delta)
    print(f"final certificate ({sources.get(res.certificate_source, res.certificate_source)}): {claim}; "
          f"F = {value:.6g} (F* = {_fmt_star(objective.f_star)}); {res.grad_calls} gradient calls, "
          f"{res.value_calls} function evaluations; stopped: {res.stopped}")
    print(f"wrote {png} and {csv_path}" if png else f"wrote {csv_path}")
    return 0


def _plot_trace(trace, res, path, *, title: str):
    """Running certificate (where the method has one) and F at the iterates against oracle calls."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from o2nc.plotting import PALETTE

    calls = np.asarray(trace["calls"], dtype=float)
    cert = np.asarray(trace["certificate"], dtype=float)
    value = np.asarray(trace["value"], dtype=float)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.0, 5.0), sharex=True, constrained_layout=True)
    ok = np.isfinite(cert) & (cert > 0)
    if ok.any():
        top.plot(calls[ok], cert[ok], color=PALETTE[0], lw=1.2, label="running certificate")
        top.set_yscale("log")
    top.axhline(res.certificate, color=PALETTE[1], ls="--", lw=1.2, label="certificate of the returned point")
    top.set_ylabel("certificate")
    top.legend(frameon=False)
    fin = np.isfinite(value)
    if fin.any():
        bottom.plot(calls[fin], value[fin], color=PALETTE[2], lw=1.2)
    bottom.set_ylabel("F at the iterate")
    bottom.set_xlabel("oracle calls")
    if title:
        top.set_title(title)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
