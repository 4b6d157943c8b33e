"""``o2nc figs``: regenerate the paper figures from cached results (running missing computations first)."""
from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

HELP = """Regenerate the figures of paper_figs/ (PNG, PDF, the plotted numbers as JSON, a caption).

Each figure reads its numbers from a results store under paper_figs/cache/ and computes only what is missing,
so an interrupted run resumes and a second run redraws from the cache. --quick uses small budgets (the whole
set in a few minutes on 2 cores); the full set states its expected time per figure (o2nc figs --list).

Examples:
  o2nc figs --quick                  # every figure, small budgets, into paper_figs/quick/
  o2nc figs fig6_optimistic          # one figure at full budgets, into paper_figs/full/
  o2nc figs --list
"""


def figures_dir() -> Path:
    here = Path(__file__).resolve().parents[2] / "paper_figs"
    if not here.is_dir():
        raise SystemExit("o2nc figs: paper_figs/ was not found next to the o2nc package; run from a source checkout "
                         "(pip install -e .)")
    return here


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
    p.add_argument("--out", default=None, help="output folder (default paper_figs/quick or paper_figs/full)")
    p.add_argument("--list", action="store_true", help="list the figures with their expected full-budget time")
    p.set_defaults(run=run)


def run(args) -> int:
    figures = available()
    if args.list:
        for name, path in figures.items():
            module = load(path)
            print(f"{name:<28} {module.TITLE}  (full budgets: {module.FULL_TIME})")
        return 0
    unknown = [n for n in args.names if n not in figures]
    if unknown:
        raise ValueError(f"unknown figure(s) {', '.join(unknown)}; known: {', '.join(figures)}")
    out = Path(args.out) if args.out else figures_dir() / ("quick" if args.quick else "full")
    for name in args.names or list(figures):
        start = time.perf_counter()
        module = load(figures[name])
        paths = module.make(out, quick=args.quick)
        print(f"{name}: wrote {', '.join(p.name for p in paths)} in {time.perf_counter() - start:.1f} s")
    return 0
