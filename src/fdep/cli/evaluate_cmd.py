"""``fdep evaluate``: score probability maps against masks (HSE, IoU, nIoU, Pd, Fa, AUC)."""

from __future__ import annotations

import argparse
import sys

from ..errors import ConfigError, InputError
from ..fileio import atomic_path, check_output_file, write_json
from .options import add_overwrite


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="score prediction maps against GT masks (HSE, IoU, nIoU, Pd, Fa, AUC)",
        description="Score probability maps (PNG 8/16-bit or .npy in [0,1], matched to GT masks by file stem). "
        "Scores print x100, Fa x1e-6; --json writes fractions (Fa a raw ratio). Definitions: docs/metrics.md.",
    )
    p.add_argument("--pred", metavar="PRED_DIR", help="folder of <id>.png / <id>.npy probability maps")
    p.add_argument("--gt", metavar="GT_DIR", help="folder of <id>.png|bmp masks, or a dataset folder with --split")
    p.add_argument("--split", help="with a BasicIRSTD-layout dataset as --gt: use img_idx/<split>_<name>.txt")
    p.add_argument("--thresholds", default="99",
                   help="M (thresholds j/(M+1), j=1..M) or a comma-separated increasing list (default 99)")
    p.add_argument("--tolerance", type=float, default=3.0, help="centroid distance for a match, pixels (default 3)")
    p.add_argument("--bins", type=int, default=None,
                   help="binned HSE-P/AUC with this many score bins (bounded memory); default exact")
    p.add_argument("--json", metavar="OUT.json", help="write the scores (fractions) as JSON")
    p.add_argument("--curves", metavar="OUT.npz", help="write the PR/ROC and per-threshold curves")
    add_overwrite(p, "replace existing --json/--curves files", "--force")
    p.add_argument("--demo", metavar="DIR",
                   help="write a small synthetic prediction/GT example into DIR and evaluate it")
    p.set_defaults(func=run)


def parse_thresholds(text: str) -> int | list[float]:
    s = text.strip()
    try:
        return int(s) if "," not in s and "." not in s else [float(v) for v in s.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"--thresholds: expected an int or a comma-separated list of floats, got {text!r}") from None


def _check_out(path: str | None, overwrite: bool) -> None:
    """Before any work: ``path`` must be writable as a file (not a folder, not existing unless --overwrite)."""
    if path:
        check_output_file(path, replace=overwrite, flag="--overwrite")


def format_table(res: dict) -> str:
    import math

    from ..metrics.specs import SCORES

    cols = [(s.label, s.key, s.scale) for s in SCORES] + [("FA/image", "fa_per_image", 1), ("FA/MP", "fa_per_mpix", 1)]
    width = [max(8, len(c)) for c, _, _ in cols]
    head = "  ".join(f"{c:>{w}}" for (c, _, _), w in zip(cols, width))

    def cell(v, s, w):
        return f"{'n/a':>{w}}" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v * s:{w}.2f}"

    row = "  ".join(cell(res.get(k), s, w) for (_, k, s), w in zip(cols, width))
    return f"{head}\n{row}"


def run(args: argparse.Namespace) -> int:
    from ..metrics.files import evaluate_files, pair_files

    if args.demo:
        if args.pred or args.gt:
            raise InputError("--demo makes its own predictions and masks; do not pass --pred/--gt with it")
        from ..metrics.demo import write_demo

        pred_dir, gt_dir = write_demo(args.demo)
        print(f"demo predictions: {pred_dir}  masks: {gt_dir}")
        args.pred, args.gt = str(pred_dir), str(gt_dir)
    if not args.pred or not args.gt:
        raise InputError("pass --pred PRED_DIR and --gt GT_DIR (or --demo DIR)")
    _check_out(args.json, args.overwrite)
    _check_out(args.curves, args.overwrite)
    thresholds = parse_thresholds(args.thresholds)
    if args.split:
        from ..data.layout import split_mask_files

        pairing = pair_files(args.pred, split_mask_files(args.gt, args.split))
    else:
        pairing = pair_files(args.pred, args.gt)
    if pairing.extra_preds:
        names = ", ".join(p.name for p in pairing.extra_preds[:10])
        more = f" and {len(pairing.extra_preds) - 10} more" if len(pairing.extra_preds) > 10 else ""
        print(f"fdep evaluate: warning: {len(pairing.extra_preds)} predictions have no GT and are ignored: "
              f"{names}{more}", file=sys.stderr)
    if pairing.binary:
        print(f"fdep evaluate: note: every prediction holds only {pairing.binary}: read as binary maps (nonzero = "
              f"target), not as probabilities (at most 0.004, which would lose every target)", file=sys.stderr)
    # target-free scenes (sea, sky) measure false alarms: the target metrics are undefined there (NaN -> null)
    res = evaluate_files(pairing, thresholds, args.tolerance, bins=args.bins, curves=bool(args.curves),
                         undefined="nan")
    res = {k: (None if isinstance(v, float) and v != v else v) for k, v in res.items()}
    curves = res.pop("curves", None)
    nthr = thresholds if isinstance(thresholds, int) else len(thresholds)
    mode = "exact" if args.bins is None else f"{args.bins} bins"
    print(f"{res['n_images']} images, {res['n_targets']} targets, {nthr} thresholds, tolerance {args.tolerance:g} px,"
          f" HSE-P {mode}")
    print(format_table(res))
    from .test_cmd import no_target_note

    note = no_target_note(res)
    if note:
        print(f"{note}; a mask pixel is a target when its gray value is > 127 (or > 0 in masks whose maximum is 1)")
    if args.json:
        write_json(args.json, res)
        print(f"scores written to {args.json}")
    if curves is not None:
        import numpy as np

        with atomic_path(args.curves) as tmp, open(tmp, "wb") as f:
            np.savez(f, **{k: np.asarray(v) for k, v in curves.items()})
        print(f"curves written to {args.curves}")
    return 0
