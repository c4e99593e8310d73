"""``fdep models``: list the registered networks and classical methods with their size, cost and FDEP interface,
the networks installed packages offer (entry points ``fdep.models``), and ``fdep models inspect SPEC``."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from ..errors import InputError

if TYPE_CHECKING:  # the zoo (and torch) is imported when the command runs, not to build the parser
    from ..models.profile import ModelSummary

HEADER = ("name", "kind", "params (M)", "paper (M)", "diff %", "GFLOPs", "GMACs", "top ch/stride", "deep sup.",
          "source")
#: text columns (left-aligned); the others are numbers
LEFT = {"name", "kind", "source", "dataset", "variant", "protocol", "sha256"}


def _unused_m(s: ModelSummary) -> float:
    """Millions of parameters the network's reference code builds but never uses (counted in the paper's P)."""
    from ..models import get_model_factory

    return int(getattr(get_model_factory(s.name), "paper_unused_params", 0)) / 1e6


def _row(s: ModelSummary) -> tuple[str, ...]:
    paper = f"{s.paper_params_m:.2f}" if s.paper_params_m else "-"
    diff = f"{s.params_diff_pct:+.2f}" if s.params_diff_pct is not None else "-"
    if s.params_diff_pct is not None and _unused_m(s):
        diff += "*"  # explained under the table
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
    if args.names and args.names[0] == "inspect":
        return run_inspect(args)
    if getattr(args, "weights", False):
        from ..models.weights import list_weights

        sets = [w for w in list_weights() if not args.names or w.model in args.names]
        print(json.dumps([w.to_dict() for w in sets], indent=2) if args.json else format_weights(sets))
        return 0
    if args.size < 32 or args.size % 32:
        raise InputError(f"--size must be a positive multiple of 32, got {args.size}")
    from ..models.profile import summarize_models

    summaries = summarize_models(args.names or None, size=args.size, in_chans=args.in_chans)
    if args.json:
        print(json.dumps([s.to_dict() for s in summaries], indent=2))
    else:
        print(f"FLOPs/MACs at 1x{args.in_chans}x{args.size}x{args.size} (conv/matmul only; GFLOPs = 2 x GMACs; "
              f"'-' for classical methods)")
        print(format_table([_row(s) for s in summaries]))
        for note in footnotes(summaries):
            print(note)
        if not args.names:
            for line in entry_point_lines():
                print(line)
    return 0


def entry_point_lines() -> list[str]:
    """The networks installed packages offer through the entry-point group fdep.models, with their origin."""
    from ..models.registry import ENTRY_POINT_GROUP, entry_point_origin, entry_points

    eps = entry_points()
    if not eps:
        return []
    return [f"\nnetworks offered by installed packages (entry points {ENTRY_POINT_GROUP}; use the name as --model):",
            *(f"  {name}  {entry_point_origin(ep)}" for name, ep in sorted(eps.items()))]


def _kwargs(text: str | None) -> dict:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"--model-kwargs: {text!r} is not JSON ({e.msg} at character {e.pos}); write e.g. "
                         f"'{{\"width\": 32}}'") from None
    if not isinstance(value, dict):
        raise InputError(f"--model-kwargs: {text!r} is not a JSON object of argument names to values")
    return value


def run_inspect(args: argparse.Namespace) -> int:
    """``fdep models inspect SPEC``: one dry run; parameters, size multiple, output form, candidate layers."""
    if len(args.names) != 2:
        raise InputError("usage: fdep models inspect SPEC (a registered name, path/to/file.py:Name or "
                         "package.module:Name) [--model-kwargs JSON] [--in-chans N] [--size S]")
    from ..models.inspection import inspect_network

    ins = inspect_network(args.names[1], in_chans=args.in_chans, size=args.size, **_kwargs(args.model_kwargs))
    if args.json:
        print(json.dumps(ins.to_dict(), indent=2))
        return 0
    src = ins.source
    where = f"file {src['path']} (sha256 {src['sha256'][:12]}...)" if src.get("kind") == "file" else src.get("kind")
    form = ins.prediction_form + (" (every value in [0, 1]: set output_form: probability)"
                                  if ins.prediction_form == "probability" else "")
    print(f"model       {ins.spec}  [{where}]")
    print(f"parameters  {ins.params / 1e6:.3f} M ({ins.params})")
    print(f"input       height and width multiples of {ins.size_multiple} (dry run on 2 x {ins.in_chans} x "
          f"{ins.size} x {ins.size})")
    print(f"output      {ins.output}; prediction: {ins.prediction or 'the tensor'!s} ({form}); training mode "
          f"returns {ins.train_maps} one-channel map(s){' (deep supervision)' if ins.train_maps > 1 else ''}")
    hw = (ins.size, ins.size)
    rows = [(r.name + ("  <- deepest encoder feature" if r.name == ins.deepest else ""), r.type_name,
             "x".join(map(str, r.shape)), str(r.shape[1]), str(r.stride(hw)))
            for r in ins.candidates(every=args.all)]
    print(f"\ncandidate layers for --fdep-at (one call per forward, N x C x h x w output"
          f"{'' if args.all else '; --all adds the layers inside blocks'}):")
    print(format_table(rows, ("name", "type", "output shape", "channels", "stride")))
    if ins.deepest:
        print(f"\ndeepest encoder feature: {ins.deepest} ({ins.deepest_how}); train with --fdep-at {ins.deepest}")
    return 0


def footnotes(summaries: list[ModelSummary]) -> list[str]:
    """One line per starred diff: why params (M) and paper (M) differ while diff % is about 0."""
    return [f"* {s.name}: the reference code builds {_unused_m(s):.2f} M parameters it never uses (fdep does not "
            f"build them); the paper counts them, so diff % compares it with {s.params_m:.2f} + {_unused_m(s):.2f} M"
            for s in summaries if s.params_diff_pct is not None and _unused_m(s)]


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "models",
        help="list the model zoo: kind, parameters, FLOPs, FDEP top feature, deep supervision, source",
        description="List registered networks and classical methods with their kind (learned/classical), "
        "parameter count (ours and the paper's; diff % compares the paper with ours plus the parameters the "
        "reference code builds but never uses), FLOPs/MACs of one forward pass, the channels/stride of the FDEP "
        "top feature, whether training returns side outputs, and the source. Classical methods have 0 "
        "parameters and no FLOPs or top feature ('-'). Networks installed packages offer (entry points "
        "fdep.models) are listed below the table with their origin. `fdep models inspect SPEC` dry-runs any "
        "network (a name, path/to/file.py:Name or package.module:Name) and prints its parameters, input size "
        "multiple, output form and the layers --fdep-at can name (docs/your-network.md).",
    )
    p.add_argument("names", nargs="*", help="networks to list (default: all registered); or: inspect SPEC")
    p.add_argument("--size", type=int, default=256, help="input height and width for FLOPs and inspect's dry run "
                   "(default: 256)")
    p.add_argument("--in-chans", type=int, default=1, help="input channels (default: 1)")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.add_argument("--model-kwargs", metavar="JSON", help="inspect: constructor arguments as JSON, e.g. "
                   "'{\"width\": 32}'")
    p.add_argument("--all", action="store_true",
                   help="inspect: also list the layers inside blocks (convs, norms, activations)")
    p.add_argument("--weights", action="store_true", help="list the published trained weight sets instead "
                   "(load one with create_model(NAME, weights=TAG) or --model NAME --weights TAG)")
    p.set_defaults(func=run)


WEIGHTS_HEADER = ("name", "dataset", "variant", "protocol", "crop", "epochs", "HSE", "IoU", "Pd", "paper HSE",
                  "paper IoU", "MB", "sha256")


def format_weights(sets) -> str:
    """The published weight sets as a table (scores x100, as the paper prints them)."""
    def num(d: dict, k: str) -> str:
        return f"{d[k]:.2f}" if d.get(k) is not None else "-"

    rows = [(w.name, w.dataset, w.variant, w.protocol, str(w.crop), str(w.epochs), num(w.scores, "hse"),
             num(w.scores, "iou"), num(w.scores, "pd"), num(w.paper, "hse"), num(w.paper, "iou"),
             f"{w.size_bytes / 1e6:.2f}", w.sha256[:12]) for w in sets]
    if not rows:
        return "no trained weight sets are published yet (docs/models.md)"
    return format_table(rows, WEIGHTS_HEADER)
