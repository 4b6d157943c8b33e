"""``o2nc run``: one run of O2NC (or of a baseline) on an objective of the bank, with certificates and a plot."""
from __future__ import annotations

import argparse
import contextlib
import csv
import math
import re
import sys
import warnings

import numpy as np

from o2nc.cli import UsageError, writable_folder

DEFAULT_OBJECTIVE = "chained_crescent_1"

HELP = """Run O2NC (online-to-non-convex conversion) on one objective of the bank.

With no arguments: O2NC with projected OGD at the paper's parameters (epoch length T, radius D = δ/T,
step D/(G√T), from the budget, δ, the objective's Lipschitz constant G and gap F(x0) − F*) on the
non-smooth non-convex chained crescent function I of Haarala, Miettinen and Mäkelä (n = 50). It prints each epoch's
certificate ‖ĝ_k‖ and radius r_k, the final certificate, and writes o2nc-run.png (certificate and radius
against gradient calls) and o2nc-run.csv (every epoch) into --out.

Every learner of `o2nc list learners` plays in the ball ‖Δ‖ ≤ D = δ/T, so every epoch has radius r_k ≤ T·D = δ
with a full-step scaling (the uniform default; under the exponential one, whose steps move the anchor by s_n‖Δ_n‖,
only in expectation): OGD, AdaGradNorm, optimistic OGD and FTRL take the radius D; the unconstrained learners (KT, ONS
bettor, COCOB, FreeGrad, PFMD, direction-magnitude) are wrapped in BallConstraint(learner, radius=D), and those that
take a gradient bound get G (√(G² + σ²) with --stochastic when the objective declares its noise σ: the
second-moment bound of the theory tuning, the same for every method of o2nc.methods). The final
certificate is the best epoch among those with r_k ≤ δ; when there is none the run says so ("no certificate at δ").

A run that stops early keeps what it did: on Ctrl-C (exit status 130) or a number that is not finite (a gradient,
a step, an epoch's statistics or F; exit status 2) the epochs completed so far are written to the CSV and the plot,
and one line on stderr says why the run stopped and where its epochs are.

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
    from o2nc.conversion.draw import check_seed

    try:
        check_seed(args.seed, "--seed")  # the range of minimize's seeds, checked before anything is built
    except (TypeError, ValueError) as err:
        raise UsageError(str(err)) from None
    if args.gap is not None and not (args.gap > 0 and math.isfinite(args.gap)):
        raise UsageError(f"--gap: expected a finite number > 0, got {args.gap}")


class _Stopped(Exception):
    """A run that ended before its budget: ``reason`` says why (a non-finite number, or Ctrl-C when ``interrupted``);
    ``partial`` is a :class:`o2nc.methods.Run` of the epochs it completed, for the CSV and the plot (None: none)."""

    def __init__(self, reason: str, partial=None, *, interrupted: bool = False):
        super().__init__(reason)
        self.reason, self.partial, self.interrupted = reason, partial, interrupted


class _Epochs:
    """The epochs of an O2NC run as ``on_epoch`` reports them: what is written when the run stops early."""

    def __init__(self):
        self.rows = []  # one (calls, certificate, radius, radius_bound, mean) per epoch, appended whole

    def add(self, stats) -> None:
        self.rows.append((int(stats["grad_calls"]), float(stats["certificate"]), float(stats["radius"]),
                          float(stats["radius_bound"]), np.array(stats["mean"], dtype=np.float64).reshape(-1)))

    def run(self, objective, delta: float):
        """The completed epochs as a :class:`o2nc.methods.Run` without a certificate, holding the trace of a full
        run (F at the epoch means is evaluated here, as the full run's ``evaluate=True`` does); None if none."""
        from o2nc.methods.result import Run

        if not self.rows:
            return None
        calls, certificate, radius, radius_bound, mean = zip(*self.rows)
        with np.errstate(all="ignore"):
            value = np.array([float(np.asarray(objective.value(m.copy()))) for m in mean])
        trace = {"calls": np.array(calls, dtype=np.int64), "value": value,
                 "certificate": np.array(certificate), "radius": np.array(radius),
                 "radius_bound": np.array(radius_bound), "mean": np.vstack(mean)}
        # written, never reported as the run's result: the run claims no certificate
        return Run(method="o2nc", point=mean[-1], certificate=None, delta=delta, grad_calls=calls[-1],
                   value_calls=len(value), trace=trace, stopped="budget", info={"epochs": len(calls)})


@contextlib.contextmanager
def _run_warnings():
    """The warnings of a run (numpy's overflow warnings, ...), held while it runs and shown when it ends or is
    interrupted; dropped when it stops on a non-finite number: the one line that reports it says what they led to."""
    held, shown = [], True
    try:
        with warnings.catch_warnings(record=True) as held:
            yield
    except _Stopped as stop:
        shown = stop.interrupted
        raise
    finally:
        for w in held if shown else ():  # through the filters again: a caller's own catch_warnings sees them
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)


def _reason(err) -> str:
    """A non-finite error's message without its note for library callers on where the completed epochs are kept
    (``o2nc run`` writes them instead)."""
    return re.sub(r"; the \d+ (completed|earlier) epochs are kept in this error's `result`", "", str(err))


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
    p.add_argument("--compare", metavar="NAME",
                   help="also run the baseline NAME (its defaults) at the same budget, δ and seed, and draw both")
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


def _method_name(args) -> str:
    if args.baseline is not None:
        if args.method not in ("o2nc", args.baseline):
            raise UsageError(f"--method {args.method} and --baseline {args.baseline} disagree; give one")
        return args.baseline
    return args.method


def _o2nc_method(args):
    """O2NC with --learner at the theory tuning of ``o2nc.methods`` (the one tuning: T, D = δ/T, η from N, δ, G, σ,
    gap), with the command's overrides."""
    import o2nc.methods

    if args.method_param:
        raise UsageError("--method-param is for baselines; O2NC's learner takes --learner-param")
    with _user_input(f"--learner {args.learner}/--learner-param: "):
        return o2nc.methods.get("o2nc", learner=args.learner,
                                learner_params=_params(args.learner_param, "--learner-param"),
                                epoch_length=args.epoch_length, scaling=args.scaling, restart=not args.no_restart,
                                gap=args.gap, certificate="algorithm", evaluate=True)


def _baseline_method(args, name: str, *, flag: str = "--method", params: bool = True):
    """The baseline ``name`` of ``o2nc.methods`` with --method-param (``params=False``: its defaults, for --compare)."""
    import o2nc.methods

    entry = _entry(name, flag)
    if entry.family != "baseline":
        raise UsageError(f"{flag} {name}: O2NC configurations run as --method o2nc with --learner; "
                         f"baselines: {', '.join(_baselines())}")
    mparams = _params(args.method_param, "--method-param") if params else {}
    if "delta" in mparams:
        raise UsageError("give the baseline's δ with --delta, not --method-param delta=...")
    with _user_input(f"--method {name}: "):
        return o2nc.methods.get(name, **mparams)


def _baselines() -> list:
    import o2nc.methods

    return [e.name for e in o2nc.methods.entries() if e.family == "baseline"]


def _entry(name: str, flag: str):
    import o2nc.methods

    if name not in o2nc.methods.names():
        raise UsageError(f"{flag}: unknown method {name!r}; use o2nc or a baseline: {', '.join(_baselines())}")
    return o2nc.methods.entry(name)


def run(args) -> int:
    import objectives

    _check_args(args)
    name = _method_name(args)
    if name == "o2nc":
        method = _o2nc_method(args)
    else:
        if args.learner != "ogd" or args.learner_param or args.epoch_length is not None or args.no_restart:
            raise UsageError("--learner, --learner-param, --epoch-length and --no-restart are O2NC options; "
                             "a baseline takes --method-param")
        method = _baseline_method(args, name)
    compare = None
    if args.compare is not None:
        if name != "o2nc":
            raise UsageError(f"--compare draws a baseline beside O2NC; drop --method {name}")
        compare = _baseline_method(args, args.compare, flag="--compare", params=False)
    params = _params(args.param, "--param")
    with _user_input("--objective/--param: "):
        objective = objectives.get(args.objective, **params)
    if args.stochastic and not objective.is_stochastic:
        raise UsageError(f"objective {objective.name!r} has no stochastic oracle; drop --stochastic")
    oracle = "stochastic" if args.stochastic else "exact"
    x0 = np.array(objective.x0, dtype=np.float64)
    out = writable_folder(args.out)
    say = (lambda *a, **k: None) if args.quiet else print
    runs, stop = [], None
    try:
        runs.append(_run_o2nc(args, method, objective, x0, oracle, say) if name == "o2nc"
                    else _run_baseline(args, method, objective, x0, oracle, say, primary=True))
        if compare is not None:
            runs.append(_run_baseline(args, compare, objective, x0, oracle, say, primary=False))
    except _Stopped as err:
        stop = err
    except KeyboardInterrupt:  # between the runs, or in a baseline (which keeps no partial trace)
        stop = _Stopped("interrupted", interrupted=True)
    if stop is None:
        _write_results(runs, out, args.delta, objective, say)
        return 0
    if stop.partial is not None:
        runs.append(stop.partial)
    kept = "no epoch was completed; nothing was written"
    if runs:
        done, note = "what was completed", ""
        if stop.partial is not None:
            count = len(stop.partial.trace["calls"])
            done = f"the {count} completed epoch{'s' if count != 1 else ''}"
            note = f" (stopped after {count} epoch{'s' if count != 1 else ''})"
        *tables, png = _write_results(runs, out, args.delta, objective, say, note)
        kept = f"wrote {done} to {', '.join(str(p) for p in tables)} and {png}"
    message = f"{'interrupted' if stop.interrupted else 'the run stopped: ' + stop.reason}; {kept}"
    if stop.interrupted:
        raise KeyboardInterrupt(message) from None  # the command line's status 130
    raise UsageError(message) from None


def _write_results(runs, out, delta: float, objective, say, note: str = "") -> list:
    """The CSV of each run (the first as o2nc-run.csv, a compared baseline's as o2nc-run-NAME.csv) and one plot of
    them all, o2nc-run.png; the paths written. The CSV comes first: a second Ctrl-C during the plot keeps it."""
    paths = []
    for k, res in enumerate(runs):
        stem = "o2nc-run" if k == 0 else f"o2nc-run-{res.method}"
        csv_path = out / f"{stem}.csv"
        _write_csv(res, csv_path, delta)
        say(f"wrote {csv_path}")
        paths.append(csv_path)
    from o2nc.plotting import plot_runs

    title = f"{_label(runs[0])} on {objective.name}" + "".join(f" vs {r.method}" for r in runs[1:]) + note
    png = plot_runs(runs, out / "o2nc-run.png", delta=delta, title=title)
    print(f"wrote {png}")
    return [*paths, png]


def _label(res) -> str:
    return "O2NC" if res.method == "o2nc" else res.method


def _run_o2nc(args, method, objective, x0, oracle, say):
    with _user_input():
        plan = method.plan(objective, budget=args.budget, delta=args.delta, x0=x0, oracle=oracle)
    info, T = plan.info, plan.epoch_length
    say(f"O2NC on {objective.name} (d = {x0.size}), learner {plan.learner}")
    sigma = info.get("sigma", 0.0) or 0.0
    noise = f", σ = {sigma:.4g}" if sigma > 0 else ""
    say(f"budget N = {args.budget}, δ = {args.delta}, G = {info['lipschitz']:.4g}{noise}, gap = {info['gap']:.4g}: "
        f"T = {T}, K = {args.budget // T}, D = δ/T = {info['radius']:.3g}")
    say(f"{'epoch':>6} {'grad calls':>11} {'certificate ‖ĝ‖':>16} {'radius r':>10} {'F(w̄)':>12}")
    epochs = args.budget // T
    every = max(1, math.ceil(epochs / 40))

    epochs_so_far = _Epochs()

    def report(k, stats):
        epochs_so_far.add(stats)
        if args.quiet or (k % every and k != epochs - 1):
            return
        from tqdm.auto import tqdm

        tqdm.write(f"{k + 1:>6} {stats['grad_calls']:>11} {float(stats['certificate']):>16.5g} "
                   f"{float(stats['radius']):>10.4g} {float(objective.value(stats['mean'])):>12.6g}")

    from o2nc.methods.oracles import NonFiniteOracleError
    from o2nc.minimize import NonFiniteEpochError, NonFiniteGradientError, NonFiniteStepError

    with _run_warnings():
        try:
            res = method.run(objective, budget=args.budget, delta=args.delta, seed=args.seed, x0=x0, oracle=oracle,
                             on_epoch=report, progress=not args.quiet and sys.stderr.isatty())
        except (NonFiniteGradientError, NonFiniteStepError, NonFiniteEpochError, NonFiniteOracleError) as err:
            raise _Stopped(_reason(err), epochs_so_far.run(objective, args.delta)) from None
        except KeyboardInterrupt:
            raise _Stopped("interrupted", epochs_so_far.run(objective, args.delta), interrupted=True) from None
    epochs = len(res.trace["calls"])
    if every > 1:
        say(f"(every {_ordinal(every)} epoch shown; all {epochs} are in the CSV)")
    k = res.info["selected_epoch"]
    print(f"final certificate (epoch {k + 1} of {epochs}): {res.certificate.describe(args.delta)}; "
          f"F(w̄) = {float(res.trace['value'][k]):.6g} (F* = {_fmt_star(objective.f_star)}); "
          f"{res.grad_calls} gradient calls in all")
    return res


def _run_baseline(args, method, objective, x0, oracle, say, *, primary: bool):
    """One run of a baseline: the certificate of the returned point and its trace, with F evaluated at the iterates
    where the method itself did not (for the CSV and the plot; those evaluations are not the method's calls)."""
    unit = "gradient calls" if method.order == "first-order" else "function evaluations"
    say(f"{method.name} on {objective.name} (d = {x0.size}): {method.baseline(args.delta)}")
    say(f"budget N = {args.budget} {unit}, δ = {args.delta}")
    from o2nc.methods.oracles import NonFiniteOracleError

    with _run_warnings():
        try:
            with _user_input(f"--method {method.name}: "):
                res = method.run(objective, budget=args.budget, delta=args.delta, seed=args.seed, x0=x0,
                                 oracle=oracle, record=True)
        except NonFiniteOracleError as err:  # no partial trace: a baseline returns its trace only at the end
            raise _Stopped(str(err)) from None
    res = _with_values(res, objective)
    sources = {"own": "the method's own certificate, exact gradients",
               "estimate": "the method's running quantity, stochastic gradients",
               "goldstein": f"sampled Goldstein certificate, {res.certificate_calls} exact calls counted apart",
               "none": "no certificate"}
    value = float(objective.value(res.point))
    claim = "the run computed no certificate" if res.certificate is None else res.certificate.describe(args.delta)
    what = "final certificate" if primary else f"{method.name}'s final certificate"
    print(f"{what} ({sources.get(res.certificate_source, res.certificate_source)}): "
          f"{claim}; F = {value:.6g} (F* = {_fmt_star(objective.f_star)}); {res.grad_calls} gradient calls, "
          f"{res.value_calls} function evaluations; stopped: {res.stopped}")
    return res


def _with_values(res, objective):
    """``res`` with ``trace["value"]`` filled by F at the recorded iterates where the method left NaN (one value per
    trace row when the history records one iterate per row; otherwise the trace is kept as it is)."""
    import dataclasses

    xs = (res.history or {}).get("x")
    value = np.asarray(res.trace["value"], dtype=float)
    if xs is None or len(xs) != value.shape[0] or not np.isnan(value).any():
        return res
    filled = value.copy()
    for i in np.flatnonzero(np.isnan(value)):
        filled[i] = float(objective.value(np.asarray(xs[i], dtype=np.float64)))
    return dataclasses.replace(res, trace={**res.trace, "value": filled})


def _write_csv(res, path, delta: float) -> None:
    """Every row of the run's trace: O2NC's epochs (certificate, radius, F at the mean, within δ) or a baseline's
    iterations (calls, F at the iterate, running certificate)."""
    trace = res.trace
    rows = len(trace["calls"])
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        if "radius" in trace:
            writer.writerow(["epoch", "grad_calls", "certificate", "radius", "value", "within_delta"])
            for k in range(rows):
                radius = float(trace["radius"][k])
                writer.writerow([k + 1, int(trace["calls"][k]), float(trace["certificate"][k]), radius,
                                 float(trace["value"][k]), int(radius <= delta)])
        else:
            writer.writerow(["iteration", "calls", "value", "certificate"])
            for i in range(rows):
                writer.writerow([i + 1, int(trace["calls"][i]), float(trace["value"][i]),
                                 float(trace["certificate"][i])])


def _ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, …, 11th, 12th, 13th, 21st, …"""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _fmt_star(f_star) -> str:
    return "unknown" if f_star is None else f"{f_star:g}"
