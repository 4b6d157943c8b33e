"""``o2nc fit DB``: log-log exponents (queries against epsilon and delta) with confidence intervals."""
from __future__ import annotations

import argparse
import json
import sys

DESCRIPTION = """\
Fit power laws to the runs stored by `o2nc sweep` and print the exponents with confidence intervals (at --level),
next to the theory for O2NC with OGD: queries ~ eps^-3 at fixed delta, ~ delta^-1 at fixed eps, and a mean
certificate ~ N^-1/3 after N calls (Cutkosky, Mehta, Orabona, ICML 2023).

--against epsilon fits log(queries) on log(eps) at each delta, and jointly on (log eps, log delta);
--against delta fits on log(delta) at each eps; --against budget fits the certificate on log(N).
A group with runs that never reached eps within max_queries (censored) is not fitted: the `censored` column
counts them and the note says why (leaving them out would bias the exponent towards 0). Runs whose certificate is
a stochastic estimate rather than a proof (an O2NC run's own epoch norms on a stochastic oracle) are fitted and
named in the `note` column. Runs are grouped by the delta (or eps) held fixed as stored, printed with the digits
needed to tell the groups apart. With as many design cells as parameters (two eps values at one delta) a line
passes through the cell means exactly and nothing measures its error: the exponent is printed with no interval
("—"; "ci": null in JSON) and a line under the table says why.

Every run stores its bound ratio: queries / the Theorem-8 budget of O2NC with OGD at its (eps, delta) and the
objective's G, gap and sigma (a budget run: mean certificate / Theorem-8 bound). `over bound` counts the runs above
1, and a table after the fits gives the distribution per objective and method (a censored run enters at
max_queries / budget, a lower bound: its `censored` column counts them, quantiles marked >= are lower bounds, and
`> 1` counts a censored run whose lower bound is >= 1). `travel` is the median of queries / (T |x0 - x*| / delta)
for O2NC (T the epoch length, x* the objective's minimiser): each epoch moves at most delta, so no run reaches x*
below 1; a value from 1 to 1.5 (marked *) means the runs stopped as soon as they could travel to x*, and the
exponent is that of the epoch length times the distance, not of the certificate (docs/complexity.md); below 1 the
note says the runs stopped before reaching x*.

--json prints {"fits": [{"objective", "method", "variable": "epsilon"|"delta", "fixed", "exponent",
"ci": [lo, hi] or null, "interval", "theory", "runs", "censored", "bound_violations", "travel_limited", ...}],
"budget_fits": [...], "bound_ratios": [...]}.

The database is checked before anything is fitted (its structure and every run's checksum): a store changed outside
o2nc or corrupted is an error (exit status 2) that names the damaged runs; `o2nc sweep SPEC --db DB --drop-damaged`
drops them and recomputes them.
"""

EPILOG = """\
examples:
  o2nc fit results/small.db
  o2nc fit results/small.db --against budget
  o2nc fit results/small.db --sweep small --json > fits.json
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("fit", help="fit complexity exponents with confidence intervals from a results db",
                              description=DESCRIPTION, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("db", metavar="DB", help="results database written by `o2nc sweep`")
    p.add_argument("--sweep", metavar="NAME", help="only the runs of this sweep (default: all runs in DB)")
    p.add_argument("--against", choices=["epsilon", "delta", "budget", "all"], default="all",
                   help="which exponent to fit (default: all three)")
    p.add_argument("--boot", type=int, default=2000, metavar="N", help="bootstrap replicates (default 2000)")
    p.add_argument("--level", type=float, default=0.95, help="confidence level (default 0.95)")
    p.add_argument("--bootstrap", choices=["cells", "residual", "stratified"], default="cells",
                   help="cells (default): Student-t interval on the design cells' means (seeds of one cell share "
                        "its departure from the line; no interval with as many cells as parameters); residual: "
                        "bootstrap of the runs' residuals as if independent; stratified: bootstrap of the seeds "
                        "within each target only")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(run=run)


def run(args) -> int:
    from o2nc.experiments import Store, StoreError, fit_store, fit_table, interval_words
    from o2nc.experiments.fit import fits_json, ratio_table

    if not (0 < args.level < 1):
        print(f"o2nc fit: error: --level: expected a number in (0, 1), got {args.level}", file=sys.stderr)
        return 2
    if args.boot < 100:
        print(f"o2nc fit: error: --boot: expected at least 100, got {args.boot}", file=sys.stderr)
        return 2
    kinds = ["epsilon", "delta", "budget"] if args.against == "all" else [args.against]
    finished: dict[str, int] = {}
    try:
        with Store(args.db, readonly=True) as store:  # checked on open: a damaged store is an error, never fitted
            for note in store.notes:
                print(f"o2nc fit: note: {note}", file=sys.stderr)
            if args.sweep is not None and args.sweep not in store.sweeps():
                print(f"o2nc fit: error: --sweep: {args.db} has no sweep {args.sweep!r}; it has: "
                      f"{', '.join(store.sweeps()) or 'none'}", file=sys.stderr)
                return 2
            rows = [r for k in kinds for r in fit_store(store, sweep=args.sweep, against=k, n_boot=args.boot,
                                                        level=args.level, bootstrap=args.bootstrap)]
            if not rows:  # say what the store holds instead
                for row in store.rows(sweep=args.sweep):
                    if row["status"] == "done":
                        m = row["config"].get("measure", "?")
                        finished[m] = finished.get(m, 0) + 1
    except StoreError as exc:
        print(f"o2nc fit: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(fits_json(rows), indent=2))
        return 0
    if not rows:
        wanted = "epsilon or budget" if args.against == "all" else "budget" if args.against == "budget" else "epsilon"
        where = args.db if args.sweep is None else f"sweep {args.sweep!r} of {args.db}"
        held = ", ".join(f"{n} {m}" for m, n in sorted(finished.items())) or "none"
        other = sorted(set(finished) & {"epsilon", "budget"})
        hint = f"; --against {'budget' if other == ['budget'] else 'epsilon'} fits them" if other else ""
        print(f"no finished {wanted} runs to fit in {where} (finished runs: {held}{hint})")
        return 0
    for k in kinds:
        part = [r for r in rows if r.against == k]
        if part:
            methods = [r.fit.method for r in part if r.fit is not None and r.fit.method != "none"]
            words = interval_words(methods, args.level) if methods else "no intervals: see the line under the table"
            print(f"\nexponents against {k} ({words}):")
            print(fit_table(part, level=args.level))
    print("\nbound ratios (epsilon runs: queries / O2NC's Theorem-8 budget at the run's eps, delta; budget runs: mean "
          "certificate / Theorem-8 bound):")
    print(ratio_table(rows))
    return 0
