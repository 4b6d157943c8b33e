"""The ``o2nc`` command line: ``o2nc run``, ``o2nc list`` (and the experiment commands).

A user error (a bad flag value, an unknown name, an unwritable output folder) prints one line,
``o2nc COMMAND: <message>``, on stderr and exits with status 2, never a traceback. A command raises
:class:`UsageError` for those; anything else that escapes it is a bug and keeps its traceback.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

COMMANDS = ("run", "listing", "sweep", "fit", "figs", "profile")


class UsageError(ValueError):
    """A user error on the command line: the message names the flag and what it accepts."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors: ``o2nc run: argument --budget: invalid int value: 'x'`` and exit status 2
    (argparse itself prints the whole usage first)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="o2nc",
        description="Non-smooth non-convex optimization through online learning (O2NC). "
                    "Start with `o2nc run` (no arguments) and `o2nc list`.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"o2nc.commands.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"o2nc.commands.{name}":
                raise
            continue
        module.add_parser(subparsers)
    return parser


def _user_errors(command: str) -> tuple:
    """The exceptions that are user errors for ``command``. ``run`` and ``list`` turn their own validation failures
    into :class:`UsageError`, so a stray ValueError/TypeError there is a bug with a traceback; the other commands
    still report any ValueError/TypeError in one line (their validation is not yet separated from the work)."""
    from o2nc.commands import listing, run

    strict = {"run": run, "list": listing}
    if command in strict:
        return (UsageError,)
    return (UsageError, ValueError, TypeError)


def main(argv=None) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # argparse: --help (0) or a one-line usage error (2)
        return stop.code if isinstance(stop.code, int) else 2
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except _user_errors(args.command) as err:
        print(f"o2nc {args.command}: {err}", file=sys.stderr)
        return 2
    except SystemExit as stop:  # a command's one-line exit message
        if isinstance(stop.code, str):
            print(stop.code, file=sys.stderr)
            return 2
        return stop.code if isinstance(stop.code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
