"""``o2nc profile SPEC``: every method on a problem set of the bank: performance and data profiles, a leaderboard."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

DESCRIPTION = """\
Run (or resume) the profile described by SPEC (see experiments/profile.toml): every method of o2nc.methods on the
problems it lists, at each method's theory tuning and at its best setting on an equal grid, counting the calls to a
(delta, eps) certificate for every eps and seed: the method's oracle calls until then (at most max_queries per
run) plus the calls of the certificate itself (not capped); a doubling grid counts its certified run alone.  Then
write, into --out:

  performance_profile.png   Dolan-More performance profiles (one curve per method, log tau)
  data_profile.png          More-Wild data profiles (calls per dimension + 1)
  leaderboard.md            per problem class: share solved and median calls ratio to the best, ranges over seeds,
                            runs that stopped with an error (the entry marked with a dagger)
  profile.json              methods, problems, calls[method][problem] (per seed, null where unsolved),
                            certificate_calls[configuration][problem] (the certificate's part of each count),
                            performance_profile_at_1[method] (share of problems on which it is fastest),
                            errors (each run stopped with an error: counted as unsolved), setup.calls_counted

Runs are stored as they finish in an SQLite database (default: OUT/profile.db); run the same command again after an
interruption and only the missing runs are computed.  --quick runs the spec's [quick] subset.
"""

EPILOG = """\
examples:
  o2nc profile experiments/profile.toml --quick                 # the quick subset, a few minutes
  o2nc profile experiments/profile.toml --out experiments/profile
  o2nc profile experiments/profile.toml --executor dask --scheduler tcp://127.0.0.1:8786
  o2nc profile experiments/profile.toml --benchopt bench_o2nc    # then: benchopt run bench_o2nc
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("profile", help="performance/data profiles and a leaderboard of every method",
                              description=DESCRIPTION, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", metavar="SPEC", help="the profile spec (.toml, .yaml/.yml or .json)")
    p.add_argument("--out", metavar="DIR", help="output folder (default: results/<spec name>[-quick])")
    p.add_argument("--quick", action="store_true", help="run the spec's [quick] subset only")
    p.add_argument("--db", metavar="PATH", help="results database (default: OUT/profile.db)")
    p.add_argument("--executor", choices=["process", "thread", "serial", "dask"], default="process",
                   help="where runs execute: local processes (default), threads, in this process, or dask")
    p.add_argument("--workers", type=int, metavar="N", help="parallel workers (default: the number of CPUs)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="a running dask scheduler (with --executor dask)")
    p.add_argument("--retry-failed", action="store_true", help="run again the runs stored with an error")
    p.add_argument("--no-progress", action="store_true", help="no progress bar and no summary table")
    p.add_argument("--benchopt", metavar="DIR",
                   help="write the spec's problems and methods as a benchopt benchmark into DIR (for `benchopt run "
                        "DIR`) and run nothing")
    p.set_defaults(run=run)


def run(args) -> int:
    from o2nc.cli import UsageError
    from o2nc.experiments import SpecError, Store, StoreError
    from o2nc.experiments.profile import collect, load_profile, run_profile
    from o2nc.experiments.profile_report import write_report

    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers: expected an integer >= 1, got {args.workers}")
    if args.scheduler and args.executor != "dask":
        raise UsageError("--scheduler needs --executor dask")
    try:
        prof = load_profile(args.spec, quick=args.quick)
    except SpecError as exc:
        raise UsageError(str(exc)) from None
    if args.benchopt:
        from o2nc.benchopt import generate

        try:
            dest = generate(args.benchopt, prof)
        except OSError as exc:
            raise UsageError(f"--benchopt: cannot write {args.benchopt} ({exc.strerror})") from None
        print(f"benchopt benchmark: {len(prof.problems)} problems x {len(prof.methods)} methods in {dest}; run it "
              f"with: benchopt run {dest}")
        return 0
    out = Path(args.out) if args.out else Path("results") / prof.name
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out: cannot create {out} ({exc.strerror})") from None
    db = Path(args.db) if args.db else out / "profile.db"
    try:
        with Store(db) as store:
            _, report = run_profile(prof, store, executor=args.executor, workers=args.workers,
                                    scheduler=args.scheduler, progress=not args.no_progress,
                                    retry_failed=args.retry_failed)
            collected = collect(prof, store)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    except KeyboardInterrupt:
        print(f"\no2nc profile: interrupted; finished runs are stored in {db}; run the same command to resume",
              file=sys.stderr)
        return 130
    data = write_report(prof, collected, out)
    n = len(data["problems"])
    print(f"{report.summary()}; results in {db}")
    print(f"{len(data['methods'])} method entries x {n} problems -> {out}/performance_profile.png, "
          f"data_profile.png, leaderboard.md, profile.json")
    best = sorted(data["performance_profile_at_1"].items(), key=lambda kv: -kv[1])[:5]
    print("fastest on the most problems: " + ", ".join(f"{e} {v:.0%}" for e, v in best))
    if data["errors"]:
        print(f"{len(data['errors'])} run(s) stopped with an error: counted as unsolved, marked in leaderboard.md "
              f"(profile.json: errors; --retry-failed runs them again)", file=sys.stderr)
    for label, err in report.errors[:5]:
        print(f"  failed: {label}: {err}", file=sys.stderr)
    return 0 if report.complete else 1
