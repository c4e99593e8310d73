"""``fdep test``: evaluate a training checkpoint, or a classical method, on a dataset split (all metrics, maps)."""

from __future__ import annotations

import argparse
import logging

from .options import add_device, add_quiet, add_threads


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "test",
        help="evaluate a checkpoint (or a classical method) on a dataset split",
        description="Full-image inference (padded to the network's multiple and cropped back; tiles for large "
        "images) on a split, every metric of fdep.metrics computed on the float probabilities, OUT/results.json, "
        "OUT/curves.npz and 16-bit probability maps OUT/preds/<id>.png (rounded to 1/65535, so fdep evaluate "
        "on them can differ slightly). When the paper publishes a row for the run's network, variant and "
        "dataset (test split), that row and the differences are printed too. --model runs a classical method "
        "(fkrw, mpcm, nipps) without weights on the raw 0-255 images.",
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--checkpoint", help="a .ckpt written by fdep train (RUN_DIR/checkpoints/best.ckpt), an "
                       "exported network folder (RUN_DIR/light, fdep export --hub) or an .onnx file from fdep export")
    which.add_argument("--model", help="a classical method to evaluate without weights (fkrw, mpcm, nipps); "
                       "default --out: runs/MODEL/test_DATASET_SPLIT")
    p.add_argument("--data", required=True, help="dataset folder ROOT/NAME (several joined by +), or synthetic: the "
                   "data a run trained with data: synthetic generated for itself (RUN_DIR/data/synthetic)")
    p.add_argument("--split", default="test", help="split list to evaluate (default: test)")
    p.add_argument("--out", default=None, help="output folder (default: RUN_DIR/test_<split>)")
    p.add_argument("--overwrite", action="store_true",
                   help="an existing, non-empty --out is renamed to OUT.old-<time> (nothing deleted) first")
    add_device(p)
    add_threads(p)
    p.add_argument("--weights", help="with --model NAME: a published weight set of that network (e.g. nuaa-sirst; "
                   "fdep models --weights lists them), a folder written by fdep export --hub, or a Hugging Face repo "
                   "id in the local cache")
    p.add_argument("--vfm-weights", default=None, help="VFM weights for variant fdep-main (default: as trained)")
    p.add_argument("--no-preds", action="store_true", help="do not save the probability maps")
    add_quiet(p, "no progress lines (by default the image it is at, on stderr: at most every 10 s in a log, every "
                 "second on a terminal)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..tools.tester import run_test

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from .weights_arg import checkpoint_from_weights

    checkpoint, model, ws = checkpoint_from_weights(args)
    res = run_test(checkpoint, args.data, split=args.split, out=args.out, overwrite=args.overwrite,
                   device=args.device, save_preds=not args.no_preds, vfm_weights=args.vfm_weights,
                   progress=not args.quiet, model=model)
    print(format_results(res))
    if ws is not None and ws.scores:
        print(f"recorded for weights {ws.name}: " + "  ".join(f"{k} {v:.2f}" for k, v in ws.scores.items()))
    from ..tools.papercmp import format_comparison

    text = format_comparison(res.get("paper"))
    if text:
        print(text)
    return 0


def format_results(res: dict) -> str:
    """One line in the paper's units (x100, Fa x1e-6)."""
    from ..cpu import describe_conditions
    from ..metrics.units import FA_LABEL, fa_text

    def pct(k: str) -> str:
        v = res.get(k)
        return "n/a" if v is None else f"{100 * v:.2f}"

    return (f"{res['model']} ({res['variant']}) on {res['dataset_name']}/{res['split']} ({res['n_images']} images): "
            f"HSE {pct('hse')}  HSE-P {pct('hse_p')}  HSE-T {pct('hse_t')}  IoU {pct('iou')}  nIoU {pct('niou')}  "
            f"Pd {pct('pd')}  {FA_LABEL} {fa_text(res.get('fa'))}  "
            f"params {res['params_m']:.2f}M  latency {1000 * res['latency_s']:.1f} ms/img ({res['device']}"
            + (f"; {describe_conditions(res['timing'])})" if res.get("timing") else ")"))
