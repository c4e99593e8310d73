"""``fdep models``: list the registered networks and classical methods with their size, cost and FDEP interface."""

from __future__ import annotations

import argparse
import json

from ..errors import InputError
from ..models.profile import ModelSummary, summarize_models

HEADER = ("name", "kind", "params (M)", "paper (M)", "diff %", "GFLOPs", "GMACs", "top ch/stride", "deep sup.",
          "source")
#: text columns (left-aligned); the others are numbers
LEFT = {"name", "kind", "source"}


def _row(s: ModelSummary) -> tuple[str, ...]:
    paper = f"{s.paper_params_m:.2f}" if s.paper_params_m else "-"
    diff = f"{s.params_diff_pct:+.2f}" if s.params_diff_pct is not None else "-"
    # classical methods: no FLOP count, no FDEP top feature
    return (
        s.name,
        s.kind,
        f"{s.params_m:.2f}",
        paper,
        diff,
        "-" if s.gflops is None else f"{s.gflops:.2f}",
        "-" if s.gmacs is None else f"{s.gmacs:.2f}",
        f"{s.top_channels}/{s.top_stride}" if s.top_channels else "-",
        "yes" if s.deep_supervision else "no",
        s.source,
    )


def format_table(rows: list[tuple[str, ...]], header: tuple[str, ...] = HEADER) -> str:
    """Plain aligned text table (first column left-aligned, the rest right-aligned)."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(r: tuple[str, ...]) -> str:
        cells = (c.ljust(w) if h in LEFT else c.rjust(w) for h, c, w in zip(header, r, widths))
        return "  ".join(cells).rstrip()

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def run(args: argparse.Namespace) -> int:
    if args.size < 32 or args.size % 32:
        raise InputError(f"--size must be a positive multiple of 32, got {args.size}")
    summaries = summarize_models(args.names or None, size=args.size, in_chans=args.in_chans)
    if args.json:
        print(json.dumps([s.to_dict() for s in summaries], indent=2))
    else:
        print(f"FLOPs/MACs at 1x{args.in_chans}x{args.size}x{args.size} (conv/matmul only; GFLOPs = 2 x GMACs; "
              f"'-' for classical methods)")
        print(format_table([_row(s) for s in summaries]))
    return 0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "models",
        help="list the model zoo: kind, parameters, FLOPs, FDEP top feature, deep supervision, source",
        description="List registered networks and classical methods with their kind (learned/classical), "
        "parameter count (ours and the paper's; diff % compares the paper with ours plus the parameters the "
        "reference code builds but never uses), FLOPs/MACs of one forward pass, the channels/stride of the FDEP "
        "top feature, whether training returns side outputs, and the source. Classical methods have 0 "
        "parameters and no FLOPs or top feature ('-').",
    )
    p.add_argument("names", nargs="*", help="networks to list (default: all registered)")
    p.add_argument("--size", type=int, default=256, help="input height and width for FLOPs (default: 256)")
    p.add_argument("--in-chans", type=int, default=1, help="input channels (default: 1)")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.set_defaults(func=run)
