"""``fdep benchmark``: parameters, FLOPs and latency per network and FDEP variant."""

from __future__ import annotations

import argparse
import sys

from .options import add_device, add_quiet, add_threads


def add_parser(sub: argparse._SubParsersAction) -> None:
    from ..tools.benchmark import DEFAULT_VFM, VARIANTS

    p = sub.add_parser(
        "benchmark",
        help="params, FLOPs and latency per network and variant (the paper's P (M) / Time (s))",
        description="Measure every network under every variant in one run on one device and print a table with "
        "ratios against the original network. Timings on a shared machine are noisy: compare ratios.",
    )
    p.add_argument("--models", required=True, help="comma-separated network names, e.g. acm,dnanet")
    p.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated (default {','.join(VARIANTS)})")
    p.add_argument("--size", type=int, default=512, help="input side in pixels (default 512)")
    add_device(p)
    add_threads(p)
    add_quiet(p, "no 'measuring' lines")
    p.add_argument("--vfm", default=DEFAULT_VFM, help=f"VFM name or local folder (default {DEFAULT_VFM})")
    p.add_argument("--vfm-weights", default="random",
                   help="random (default: timing does not depend on weights) or a local weights path")
    p.add_argument("--vfm-layers", default=None, help="VFM blocks, e.g. 6,12,18,24 (default: evenly spaced)")
    p.add_argument("--repeats", type=int, default=10, help="timed forward passes per row (default 10; median)")
    p.add_argument("--warmup", type=int, default=2, help="untimed forward passes first (default 2)")
    p.add_argument("--json", dest="json_out", help="also write the rows to this JSON file")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --json file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..fileio import check_output_file, write_json
    from ..tools.benchmark import benchmark, format_conditions, format_table

    if args.json_out:
        check_output_file(args.json_out, replace=args.overwrite)
    rows = benchmark(
        args.models.split(","), [v.strip() for v in args.variants.split(",") if v.strip()], size=args.size,
        device=args.device, vfm=args.vfm, vfm_weights=args.vfm_weights, vfm_layers=args.vfm_layers,
        repeats=args.repeats, warmup=args.warmup,
        progress=None if args.quiet else lambda s: print(f"measuring {s}", file=sys.stderr),
    )
    print(format_table(rows))
    print(f"device {rows[0]['device']}, input {'x'.join(map(str, rows[0]['input']))}, median of {args.repeats} runs; "
          "x time / x P: ratio to the same network's original row")
    print(f"timed under: {format_conditions(rows)}")
    if args.json_out:
        write_json(args.json_out, {"rows": rows})
        print(f"wrote {args.json_out}")
    return 0
