"""The options several commands share, spelled and defaulted one way everywhere (docs/tools.md, "Conventions").

``--device`` (default auto), ``--threads`` (default: the free cores), ``--quiet`` (no progress output;
results still print) and ``--overwrite`` (each command's help says what it replaces or moves aside;
older spellings stay as aliases). Importing this module imports no torch: the parser is built without it.
"""

from __future__ import annotations

import argparse

DEVICE_HELP = "auto (cuda when available, else cpu; default), cpu, cuda, cuda:N"
THREADS_HELP = ("CPU threads for torch: a number, or auto (default: the cores not busy with other work, at least 1; "
                "$OMP_NUM_THREADS when set)")


def add_device(p: argparse.ArgumentParser, what: str = "") -> None:
    p.add_argument("--device", default="auto", help=(what + ": " if what else "") + DEVICE_HELP)


def add_threads(p: argparse.ArgumentParser) -> None:
    """``--threads``: the CLI applies it (fdep.cpu.configure_threads) before the command imports torch."""
    p.add_argument("--threads", default=None, metavar="N", help=THREADS_HELP)


def add_quiet(p: argparse.ArgumentParser, what: str = "no progress output") -> None:
    p.add_argument("--quiet", action="store_true", help=f"{what}; results and errors still print")


def add_overwrite(p: argparse.ArgumentParser, help: str, *aliases: str) -> None:
    """``--overwrite`` (plus former spellings such as evaluate's ``--force``, kept as aliases)."""
    text = help + (f" ({', '.join(aliases)}: former spelling)" if aliases else "")
    p.add_argument("--overwrite", *aliases, dest="overwrite", action="store_true", help=text)


def add_input_range(p: argparse.ArgumentParser) -> None:
    """--input-range: how images' stored values map onto fdep's 0-255 scale (fdep.inputrange, docs/data.md)."""
    p.add_argument("--input-range", default=None, metavar="RANGE",
                   help="how the images' stored values map onto fdep's 0-255 gray scale: auto (default: 8-bit as "
                   "is, 16-bit / 257, float as is), a bit depth such as 14bit (0..16383 onto 0-255), LO,HI "
                   "(e.g. 295,320 for kelvin, 0,1 for 0-1 floats; clipped) or minmax (each image's own range). "
                   "fdep warns when inputs lie far from the range the weights were trained on")
