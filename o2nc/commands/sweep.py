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

A spec file is data: it names registered objectives, learners and baselines only, and cannot run code.  An
objective "module:factory" of your own is imported only when you allow its module with --allow-import MODULE
(never with --dry-run).  A worker process that dies is replaced and its runs are run again (at most twice);
several sweeps on one database share the work (each run is claimed by one of them).  The exit status is 0 only
when every run of the spec is stored as done: 1 when some failed (stored errors; --retry-failed runs them again)
or are missing, 2 on a bad spec or a damaged or unusable database.  The database is checked on open; when it was
corrupted or edited without updating its checksums, --drop-damaged deletes the damaged runs (or rebuilds the file
from the runs that verify, keeping the damaged file beside it) and the sweep recomputes them.
"""

EPILOG = """\
examples:
  o2nc sweep experiments/small.toml                      # local processes, one per CPU
  o2nc sweep experiments/small.toml --workers 1 --db /tmp/small.db
  o2nc sweep experiments/full.toml --executor dask --scheduler tcp://127.0.0.1:8786
  o2nc sweep experiments/small.toml --dry-run            # list the runs, run nothing
  o2nc sweep my_spec.toml --allow-import my_objectives   # the spec names my_objectives:factory
  o2nc sweep experiments/small.toml --drop-damaged       # drop runs that fail their checksum, recompute them
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
    p.add_argument("--dry-run", action="store_true",
                   help="show how many runs are stored and pending; run, import and write nothing")
    p.add_argument("--allow-import", action="append", default=[], metavar="MODULE",
                   help="let the spec name objective factories 'MODULE:factory' of this module (exactly this "
                        "module; repeatable); without it a spec names registered objectives only")
    p.add_argument("--drop-damaged", action="store_true",
                   help="delete the runs of the database whose checksum fails (or rebuild a corrupted file from "
                        "the runs that verify), then run the sweep, which recomputes them")
    p.set_defaults(run=run)


def _error(msg) -> int:
    print(f"o2nc sweep: error: {msg}", file=sys.stderr)
    return 2


def run(args) -> int:
    from o2nc.experiments import SpecError, Store, StoreError, load_spec, run_sweep
    from o2nc.experiments.build import check_module_name
    from o2nc.experiments.store import drop_damaged

    try:
        allowed = [check_module_name(m) for m in args.allow_import]
    except ValueError as exc:
        return _error(exc)
    try:
        spec = load_spec(args.spec, allow_import=allowed, imports=not args.dry_run)
    except SpecError as exc:
        return _error(exc)
    except (ValueError, TypeError, RecursionError) as exc:  # a check the spec module missed: still one line
        return _error(f"{args.spec}: {type(exc).__name__}: {exc}")
    if args.workers is not None and args.workers < 1:
        return _error(f"--workers: expected an integer >= 1, got {args.workers}")
    if args.scheduler and args.executor != "dask":
        return _error("--scheduler needs --executor dask")
    if args.dry_run and args.drop_damaged:
        return _error("--drop-damaged writes to the database; it cannot be combined with --dry-run")
    db = Path(args.db) if args.db else Path("results") / f"{spec.name}.db"
    try:
        if args.dry_run:
            runs = {r.key: r for r in spec.runs()}
            stored = {}
            if db.exists():
                with Store(db, readonly=True) as store:
                    for note in store.notes:
                        print(f"o2nc sweep: note: {note}", file=sys.stderr)
                    stored = store.status(runs)
            done = sum(1 for s in stored.values() if s == "done")
            failed = sum(1 for s in stored.values() if s == "error")
            print(f"{spec.name}: {len(runs)} runs; {done} done, {failed} failed, {len(runs) - done - failed} "
                  f"pending; results in {db}")
            return 0
        if args.drop_damaged and db.exists():
            info = drop_damaged(db)
            how = (f"rebuilt from the {info['kept']} runs that verify (the damaged file is kept as "
                   f"{info['moved_to']})" if info["rebuilt"] else f"{info['kept']} runs verify")
            if not info["dropped"] and not info["sweeps"] and not info["rebuilt"]:
                print(f"o2nc sweep: {db}: nothing to drop ({info['kept']} runs verify)", file=sys.stderr)
            else:
                print(f"o2nc sweep: {db}: dropped {len(info['dropped'])} damaged run(s)"
                      + (f" and sweep record(s) {', '.join(info['sweeps'])}" if info["sweeps"] else "")
                      + f"; {how}" + ("; they are recomputed now" if info["dropped"] else ""), file=sys.stderr)
        with Store(db) as store:
            for note in store.notes:
                print(f"o2nc sweep: note: {note}", file=sys.stderr)
            report = run_sweep(spec, store, executor=args.executor, workers=args.workers, scheduler=args.scheduler,
                               progress=not args.no_progress, retry_failed=args.retry_failed)
    except StoreError as exc:
        return _error(exc)
    except (ImportError, ValueError, TypeError, OSError) as exc:
        return _error(f"{type(exc).__name__}: {exc}")
    except KeyboardInterrupt:
        print(f"\no2nc sweep: interrupted; finished runs are stored in {db}; run the same command to resume",
              file=sys.stderr)
        return 130
    if args.no_progress:
        print(report.summary() + f"; results in {db}")
    for what, items in (("failed", report.errors), ("missing", report.missing)):
        for label, err in items[:10]:
            print(f"  {what}: {label}: {err}", file=sys.stderr)
        if len(items) > 10:
            print(f"  ... and {len(items) - 10} more {what}", file=sys.stderr)
    return 0 if report.complete else 1
