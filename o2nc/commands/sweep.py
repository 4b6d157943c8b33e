"""``o2nc sweep SPEC``: run or resume a complexity sweep and store every result in an SQLite database."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

DESCRIPTION = """\
Run (or resume) the sweep described by SPEC, a TOML, YAML or JSON file listing objectives x methods x delta x
budgets / epsilon targets x seeds (see experiments/small.toml for a commented example).

Every run is keyed by a hash of its full configuration and stored as soon as it finishes in an SQLite database
(default: results/<spec name>.db).  Run the same command again after an interruption (Ctrl-C, a crash, a kill):
finished runs are kept and skipped, the others run.  `o2nc fit DB` then fits the exponents.
"""

EPILOG = """\
examples:
  o2nc sweep experiments/small.toml                      # local processes, one per CPU
  o2nc sweep experiments/small.toml --workers 1 --db /tmp/small.db
  o2nc sweep experiments/full.toml --executor dask --scheduler tcp://127.0.0.1:8786
  o2nc sweep experiments/small.toml --dry-run            # list the runs, run nothing
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("sweep", help="run or resume a sweep of runs from a spec file",
                              description=DESCRIPTION, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", metavar="SPEC", help="the sweep spec (.toml, .yaml/.yml or .json)")
    p.add_argument("--db", metavar="PATH", help="results database (default: results/<spec name>.db)")
    p.add_argument("--executor", choices=["process", "thread", "serial", "dask"], default="process",
                   help="where runs execute: local processes (default), threads, in this process, or dask")
    p.add_argument("--workers", type=int, metavar="N",
                   help="parallel workers (default: the number of CPUs; for dask without --scheduler, the size "
                        "of the local cluster)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="address of a running dask scheduler, e.g. tcp://127.0.0.1:8786 (with --executor dask; "
                        "without it a local cluster on 127.0.0.1 is started)")
    p.add_argument("--retry-failed", action="store_true", help="run again the runs stored with an error")
    p.add_argument("--no-progress", action="store_true", help="no progress bar and no summary table")
    p.add_argument("--dry-run", action="store_true", help="show how many runs are stored and pending; run nothing")
    p.set_defaults(run=run)


def run(args) -> int:
    from o2nc.experiments import SpecError, Store, StoreError, load_spec, run_sweep

    try:
        spec = load_spec(args.spec)
    except SpecError as exc:
        print(f"o2nc sweep: error: {exc}", file=sys.stderr)
        return 2
    if args.workers is not None and args.workers < 1:
        print(f"o2nc sweep: error: --workers: expected an integer >= 1, got {args.workers}", file=sys.stderr)
        return 2
    if args.scheduler and args.executor != "dask":
        print("o2nc sweep: error: --scheduler needs --executor dask", file=sys.stderr)
        return 2
    db = Path(args.db) if args.db else Path("results") / f"{spec.name}.db"
    try:
        if args.dry_run:
            runs = {r.key: r for r in spec.runs()}
            stored = {}
            if db.exists():
                with Store(db, readonly=True) as store:
                    stored = store.status(runs)
            done = sum(1 for s in stored.values() if s == "done")
            failed = sum(1 for s in stored.values() if s == "error")
            print(f"{spec.name}: {len(runs)} runs; {done} done, {failed} failed, {len(runs) - done - failed} "
                  f"pending; results in {db}")
            return 0
        report = run_sweep(spec, db, executor=args.executor, workers=args.workers, scheduler=args.scheduler,
                           progress=not args.no_progress, retry_failed=args.retry_failed)
    except StoreError as exc:
        print(f"o2nc sweep: error: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:
        print(f"o2nc sweep: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\no2nc sweep: interrupted; finished runs are stored in {db}; run the same command to resume",
              file=sys.stderr)
        return 130
    if args.no_progress:
        print(f"{spec.name}: {report.total} runs: {report.skipped} already stored, {report.done} done now, "
              f"{report.failed} failed now; results in {db}")
    for label, err in report.errors[:10]:
        print(f"  failed: {label}: {err}", file=sys.stderr)
    return 0 if report.failed == 0 else 1
