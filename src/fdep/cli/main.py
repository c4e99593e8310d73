"""The ``fdep`` entry point: one program, one subcommand per module.

Each module listed in ``COMMANDS`` defines ``add_parser(subparsers)`` that adds
its subparser and sets ``func`` (taking the parsed ``argparse.Namespace`` and
returning an exit code). User errors (:class:`fdep.errors.FdepError`) print one
line and exit non-zero; so does a command whose optional extra is not installed
(:mod:`fdep.cli.extras`, exit 2); bugs keep their traceback.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import sys

from .. import __version__
from ..errors import FdepError
from .extras import command_extras_missing, extras_epilog, missing_extra_message

# Subcommand modules in fdep.cli, in the order `fdep --help` lists them.
COMMANDS: tuple[str, ...] = (
    "quickstart_cmd",
    "train_cmd",
    "test_cmd",
    "predict_cmd",
    "evaluate_cmd",
    "export_cmd",
    "benchmark_cmd",
    "report_cmd",
    "sweep_cmd",
    "models_cmd",
    "data_cmd",
    "vfm_cmd",
)


#: the longest error message printed: a message built from a value the user gave (a YAML list, a file name)
#: is cut here, so a crafted input cannot make fdep print megabytes
MAX_MESSAGE_CHARS = 2000


def one_line(message: object, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``message`` on one line (line breaks as spaces), at most about ``limit`` characters."""
    text = " ".join(str(message).split("\n"))
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


#: errors of a write that the user, not fdep, must fix: disk full, quota exceeded, file too large, read-only
NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})


def build_parser() -> argparse.ArgumentParser:
    """The whole argument tree; imports no torch, lightning or zoo (tests/test_cli_conventions.py)."""
    parser = argparse.ArgumentParser(
        prog="fdep",
        description="Infrared small target detection: FDEP, SIRST model zoo, HSE metrics.",
        epilog=extras_epilog(),
    )
    parser.add_argument("--version", action="version", version=f"fdep {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"{__package__}.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    lacking = command_extras_missing(args.command)  # before any work, and before torch's threads are set
    if lacking:
        print(f"fdep {args.command}: error: {lacking}", file=sys.stderr)
        return 2
    try:
        choice = None
        if hasattr(args, "threads"):  # a command that computes with torch: threads before torch is imported
            from ..cpu import configure_threads

            choice = configure_threads(args.threads)
        code = args.func(args)
        if choice is not None and choice.reduced and not getattr(args, "quiet", False):
            # said after the work (an error stays one line), and only when other load cost threads
            print(f"fdep {args.command}: ran with {choice.describe()}", file=sys.stderr)
    except FdepError as e:
        print(f"fdep {args.command}: error: {one_line(e)}", file=sys.stderr)
        return e.exit_code
    except ModuleNotFoundError as e:  # an optional extra's package: one line naming the extra to install
        line = missing_extra_message(args.command, e)
        if line is None:
            raise
        print(f"fdep {args.command}: error: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"fdep {args.command}: interrupted", file=sys.stderr)
        return 130
    except OSError as e:  # a write the command does not name itself: still one line, not a traceback
        if e.errno not in NO_ROOM:
            raise
        where = f"{e.filename}: " if e.filename else ""
        print(f"fdep {args.command}: error: {one_line(f'{where}cannot write ({e.strerror or e})')}", file=sys.stderr)
        return 1
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
