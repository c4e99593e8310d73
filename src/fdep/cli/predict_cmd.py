"""``fdep predict``: run a trained network, or a classical method, on your own images."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .options import add_device, add_input_range, add_quiet, add_threads


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict",
        help="probability maps, masks, target lists and overlays for your images",
        description="Run a trained network (Lightning .ckpt, exported network folder or .onnx), or a classical "
        "method (--model fkrw|mpcm|nipps, no weights), on one image or a folder of images of any size and mode. "
        "Writes OUT/probs/*.png (16-bit probabilities), OUT/masks/*.png, OUT/targets.csv, OUT/targets.json and, "
        "with --overlay, OUT/overlays/*.png.",
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--checkpoint", help="a .ckpt, an exported network folder (RUN_DIR/light) or an .onnx file")
    which.add_argument("--model", help="a classical method to run without weights (fkrw, mpcm, nipps; see fdep "
                       "models): it gets the raw 0-255 gray image")
    p.add_argument("--input", required=True, help="an image file, a folder of images, or a video file (.mp4, .avi, "
                   ".mkv, ...; read with OpenCV: per-frame maps OUT/probs/<video>_<frame>.png, a frame column in the "
                   "targets, frames per second at the end)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--threshold", type=float, default=0.5, help="binarisation threshold, prob > t (default 0.5)")
    p.add_argument("--overlay", action="store_true", help="also write overlay PNGs")
    p.add_argument("--batch-size", type=int, default=8, help="images of the same size per batch (default 8)")
    add_device(p)
    add_threads(p)
    add_quiet(p, "no progress lines (by default long work reports the image and tile it is at, on stderr, at most "
                 "every 10 s in a log, every second on a terminal)")
    p.add_argument("--weights", help="with --model NAME: a published weight set of that network (e.g. nuaa-sirst; "
                   "fdep models --weights lists them), a folder written by fdep export --hub, or a Hugging Face repo "
                   "id in the local cache")
    p.add_argument("--vfm-weights", default=None,
                   help="VFM weights for fdep-main checkpoints, whose inference runs the VFM (default: as recorded)")
    p.add_argument("--overwrite", action="store_true", help="replace outputs that already exist in --out")
    add_input_range(p)
    p.add_argument("--skip-unreadable", action="store_true",
                   help="predict the readable images when some cannot be read (listed in targets.json 'skipped'); "
                   "by default every unreadable image is named and nothing is predicted")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..tools.predict import run_predict
    from .progress import ProgressLine
    from .weights_arg import checkpoint_from_weights

    line = ProgressLine()

    def progress(done: int, total: int, name: str, tile: int, tiles: int) -> None:
        where = f", tile {tile}/{tiles}" if tiles > 1 else ""
        line(f"fdep predict: image {min(done + 1, total)}/{total} ({name}){where}")

    def warn(text: str) -> None:
        line.close()  # a progress line rewritten in place ends before the warning
        line.shown = False
        print(f"fdep predict: {text}", file=sys.stderr)

    checkpoint, model, _ = checkpoint_from_weights(args)
    try:
        report = run_predict(
            checkpoint, args.input, args.out, threshold=args.threshold, overlay=args.overlay,
            batch_size=args.batch_size, device=args.device, overwrite=args.overwrite, vfm_weights=args.vfm_weights,
            progress=None if args.quiet else progress, skip_unreadable=args.skip_unreadable, model=model,
            input_range=args.input_range, warn=warn,
        )
    finally:
        line.close()
    if report["skipped"]:
        names = ", ".join(Path(s["image"]).name for s in report["skipped"])
        print(f"fdep predict: warning: skipped {len(report['skipped'])} unreadable image(s): {names}", file=sys.stderr)
    video = report.get("video")
    if video:
        fps = video["frames_per_second"]
        speed = f"{fps:.1f} frames/s" if fps else "frames/s not measured"
        print(f"{video['frames']} frame(s) of {video['path']}, {report['n_targets']} target(s) at threshold "
              f"{report['threshold']}; results in {args.out} (targets.csv, targets.json); {speed} "
              f"({video['seconds']:.2f} s: reading, inference and writing)")
    else:
        print(f"{report['n_images']} image(s), {report['n_targets']} target(s) at threshold {report['threshold']}; "
              f"results in {args.out} (targets.csv, targets.json)")
    return 0
