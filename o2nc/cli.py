"""The ``o2nc`` command line: ``o2nc run``, ``o2nc list`` (and the experiment commands)."""
from __future__ import annotations

import argparse
import importlib
import os
import sys

COMMANDS = ("run", "listing", "sweep", "fit", "figs")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="o2nc",
        description="Non-smooth non-convex optimization through online learning (O2NC). "
                    "Start with `o2nc run` (no arguments) and `o2nc list`.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"o2nc.commands.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"o2nc.commands.{name}":
                raise
            continue
        module.add_parser(subparsers)
    return parser


def main(argv=None) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except (ValueError, TypeError) as err:
        print(f"o2nc {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
