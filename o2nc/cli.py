"""The ``o2nc`` command line: ``o2nc run``, ``o2nc list`` (and the experiment commands).

A user error (a bad flag value, an unknown name, an unwritable output folder) prints one line,
``o2nc COMMAND: <message>``, on stderr and exits with status 2, never a traceback. A command raises
:class:`UsageError` for those; anything else that escapes it is a bug and keeps its traceback.

Ctrl-C prints one line and exits with status 130 (128 + SIGINT, what a shell reports for an interrupted command);
a command may first keep what it has (``o2nc run`` writes the epochs it completed). Output into a pipe that closes
early (``o2nc list | head -1``) ends quietly with status 141 (128 + SIGPIPE, what a shell reports for a command
stopped by its closed pipe).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
from pathlib import Path

COMMANDS = ("run", "listing", "sweep", "fit", "figs", "profile")

#: Exit statuses besides 0 and 2 (a user error): 128 + the signal number, as a shell reports a command ended by it.
INTERRUPTED = 130  # SIGINT (Ctrl-C)
BROKEN_PIPE = 141  # SIGPIPE (the reader of stdout went away)


class UsageError(ValueError):
    """A user error on the command line: the message names the flag and what it accepts."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors: ``o2nc run: argument --budget: invalid int value: 'x'`` and exit status 2
    (argparse itself prints the whole usage first)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: {message}\n")


def writable_folder(text: str, flag: str = "--out") -> Path:
    """An output folder given on the command line (``flag``), created if needed and checked to accept a file before
    any work is done: an unwritable one (or a file of that name) is a :class:`UsageError` naming ``flag``."""
    out = Path(text)
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as err:
        raise UsageError(f"{flag}: cannot write into {text!r} ({err.strerror or err}); give a writable folder") \
            from None
    return out


def build_parser() -> argparse.ArgumentParser:
    from o2nc import __version__

    parser = ArgumentParser(
        prog="o2nc",
        description="Non-smooth non-convex optimization through online learning (O2NC). "
                    "Start with `o2nc run` (no arguments) and `o2nc list`.",
    )
    parser.add_argument("--version", action="version", version=f"o2nc {__version__}")
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
    """Run the command line ``argv`` (default ``sys.argv[1:]``) and return its exit status."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    prog = "o2nc"
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as stop:  # argparse: --help, --version (0) or a one-line usage error (2)
            status = stop.code if isinstance(stop.code, int) else 2
        else:
            prog = f"o2nc {args.command}" if getattr(args, "command", None) else prog
            status = _dispatch(parser, args)
        sys.stdout.flush()  # a closed pipe shows here, not at the interpreter's exit
        return status
    except KeyboardInterrupt as err:  # a command's message says what it kept; else a bare Ctrl-C
        print(f"{prog}: {err or 'interrupted'}", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:
        # the standard recipe (Python's signal documentation, "Note on SIGPIPE"): what is left to write goes to
        # devnull, so that the interpreter's own flush at exit does not fail again
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):  # stdout without a file descriptor (a test's StringIO)
            pass
        return BROKEN_PIPE


def _dispatch(parser, args) -> int:
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
