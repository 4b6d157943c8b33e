"""``o2nc figs``: regenerate the paper figures from cached results (running missing computations first)."""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

from o2nc.cli import UsageError, writable_folder

HELP = """Regenerate the figures of paper_figs/ (PNG, PDF, the plotted numbers as JSON, a caption).

Each figure reads its numbers from a results store (paper_figs/cache/ in a source checkout, ./o2nc-figs/cache/
for an installed package, $O2NC_FIGS_CACHE when set) and computes only what is missing, so an interrupted run
resumes and a second run redraws from the cache. --quick uses small budgets; o2nc figs --list gives each figure's
measured time with --quick and its expected time at full budgets.

Examples:
  o2nc figs --quick                  # every figure, small budgets, into paper_figs/quick/ (or ./o2nc-figs/quick/)
  o2nc figs fig6_optimistic          # one figure at full budgets, into paper_figs/full/ (or ./o2nc-figs/full/)
  o2nc figs --list
"""

#: Wall time in seconds of ``o2nc figs NAME --quick`` from an empty cache, measured one figure at a time on a 2-core
#: x86_64 machine with little else running (1-minute load 1.1 to 2.6). Figure 3 alone includes the sweep it shares
#: with figure 2; figures 2 and 3 run their sweep on both cores.
QUICK_SECONDS = {
    "fig1_certificates": 36,
    "fig2_complexity_eps": 48,
    "fig3_complexity_delta": 46,
    "fig4_hard_instance": 19,
    "fig5_parameter_free": 51,
    "fig6_optimistic": 5,
    "fig7_equivalences": 4,
    "fig8_digits": 8,
    "fig9_char_lm": 22,
}


def quick_time(name: str) -> str:
    seconds = QUICK_SECONDS.get(name)
    return "not measured" if seconds is None else f"about {seconds} s on 2 cores"


def figures_dir() -> Path:
    """The figure scripts: ``paper_figs/`` beside the ``o2nc`` package (a source checkout, or the installed
    ``paper_figs`` package that the wheel puts next to ``o2nc``)."""
    here = Path(__file__).resolve().parents[2] / "paper_figs"
    if not (here / "_common.py").is_file():
        raise SystemExit(f"o2nc figs: the figure scripts were not found at {here}; reinstall o2nc "
                         "(pip install o2nc, or pip install -e . in a source checkout)")
    return here


def is_source_checkout(figures: Path) -> bool:
    return (figures.parent / "pyproject.toml").is_file()


def output_root(figures: Path) -> Path:
    """paper_figs/ in a source checkout; ./o2nc-figs/ otherwise (an installed package is not written into)."""
    return figures if is_source_checkout(figures) else Path.cwd() / "o2nc-figs"


def load(path: Path):
    spec = importlib.util.spec_from_file_location(f"paper_figs_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


def available() -> dict:
    return {p.stem: p for p in sorted(figures_dir().glob("fig*_*.py"))}


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("figs", help="regenerate the paper figures from cached results", description=HELP,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="*", help="figures to make (default: all); see --list")
    p.add_argument("--quick", action="store_true", help="small budgets (the whole set in a few minutes)")
    p.add_argument("--out", default=None, help="output folder (default paper_figs/quick or paper_figs/full in a source "
                   "checkout, ./o2nc-figs/quick or ./o2nc-figs/full for an installed package)")
    p.add_argument("--list", action="store_true",
                   help="list the figures with their measured --quick time and expected full-budget time")
    p.set_defaults(run=run)


def run(args) -> int:
    figures = available()
    unknown = [n for n in args.names if n not in figures]
    if unknown:
        raise UsageError(f"unknown figure(s) {', '.join(unknown)}; known: {', '.join(figures)}")
    if args.list:  # the named figures, else all
        for name in args.names or list(figures):
            module = load(figures[name])
            print(f"{name:<28} {module.TITLE}  (--quick: {quick_time(name)}; full budgets: {module.FULL_TIME})")
        return 0
    root = output_root(figures_dir())
    out = writable_folder(args.out or str(root / ("quick" if args.quick else "full")))  # before any work
    if root != figures_dir():
        os.environ.setdefault("O2NC_FIGS_CACHE", str(root / "cache"))
    for name in args.names or list(figures):
        start = time.perf_counter()
        module = load(figures[name])
        paths = module.make(out, quick=args.quick)
        print(f"{name}: wrote {', '.join(p.name for p in paths)} in {time.perf_counter() - start:.1f} s")
    return 0
