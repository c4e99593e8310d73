"""``fdep test``: evaluate a training checkpoint, or a classical method, on a dataset split (all metrics, maps)."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from .options import add_device, add_input_range, add_quiet, add_threads


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
    which.add_argument("--checkpoint", nargs="+", help="a .ckpt written by fdep train (RUN_DIR/checkpoints/best.ckpt), "
                       "an exported network folder (RUN_DIR/light, fdep export --hub) or an .onnx file from fdep "
                       "export; several (e.g. the seeds of one row): each is tested into its own RUN_DIR/test_<split>, "
                       "then their mean ± std is printed")
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
    add_input_range(p)
    add_quiet(p, "no progress lines (by default the image it is at, on stderr: at most every 10 s in a log, every "
                 "second on a terminal)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from ..tools.tester import run_test

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from .weights_arg import checkpoint_from_weights

    checkpoints = args.checkpoint or [None]
    if len(checkpoints) > 1:
        if args.out is not None:
            raise InputError("--out takes one checkpoint; several are each tested into their own "
                             "RUN_DIR/test_<split>")
        results = []
        for ckpt in checkpoints:
            results.append(run_test(ckpt, args.data, split=args.split, overwrite=args.overwrite, device=args.device,
                                    save_preds=not args.no_preds, vfm_weights=args.vfm_weights,
                                    progress=not args.quiet, input_range=args.input_range,
                                    warn=lambda text: print(f"fdep test: {text}", file=sys.stderr)))
            print(format_results(results[-1]) + f"  [{ckpt}]", flush=True)
        print(format_mean_std(results))
        return 0
    args.checkpoint = checkpoints[0]
    checkpoint, model, ws = checkpoint_from_weights(args)
    res = run_test(checkpoint, args.data, split=args.split, out=args.out, overwrite=args.overwrite,
                   device=args.device, save_preds=not args.no_preds, vfm_weights=args.vfm_weights,
                   progress=not args.quiet, model=model, input_range=args.input_range,
                   warn=lambda text: print(f"fdep test: {text}", file=sys.stderr))
    print(format_results(res))
    if res.get("cross_dataset"):
        print(f"{res['cross_dataset']}: the paper's rows are in-dataset, so none is shown as the comparison")
    note = no_target_note(res)
    if note:
        print(note)
    if ws is not None and ws.scores:
        where = " (on the test split of the dataset they were trained on)" if res.get("cross_dataset") else ""
        print(f"recorded for weights {ws.name}{where}: " + "  ".join(f"{k} {v:.2f}" for k, v in ws.scores.items()))
    from ..tools.papercmp import format_comparison

    text = format_comparison(res.get("paper"))
    if text:
        print(text)
    return 0


def false_alarm_text(res: dict) -> str:
    """False alarms (predicted targets matching no GT target) per image and per megapixel."""
    if res.get("fa_per_image") is None:
        return "false alarms n/a"
    return f"false alarms {res['fa_per_image']:.3g}/image {res['fa_per_mpix']:.3g}/MP"


def no_target_note(res: dict) -> str | None:
    """The line saying why target metrics are n/a on a set whose masks hold no target (None otherwise)."""
    if res.get("n_targets") != 0:
        return None
    return (f"no target in the ground truth of these {res.get('n_images')} images (target-free scenes): Pd, HSE, "
            f"HSE-P, HSE-T and AUC are undefined (n/a); Fa and the false alarms measure the background")


def format_results(res: dict) -> str:
    """One line in the paper's units (x100, Fa x1e-6)."""
    from ..cpu import describe_conditions
    from ..metrics.units import FA_LABEL, fa_text

    def pct(k: str) -> str:
        v = res.get(k)
        return "n/a" if v is None else f"{100 * v:.2f}"

    return (f"{res['model']} ({res['variant']}) on {res['dataset_name']}/{res['split']} ({res['n_images']} images): "
            f"HSE {pct('hse')}  HSE-P {pct('hse_p')}  HSE-T {pct('hse_t')}  IoU {pct('iou')}  nIoU {pct('niou')}  "
            f"Pd {pct('pd')}  {FA_LABEL} {fa_text(res.get('fa'))}  {false_alarm_text(res)}  "
            f"params {res['params_m']:.2f}M  latency {1000 * res['latency_s']:.1f} ms/img ({res['device']}"
            + (f"; {describe_conditions(res['timing'])})" if res.get("timing") else ")"))


def format_mean_std(results: list[dict]) -> str:
    """The mean ± sample std of several test results (e.g. seeds), naming seeds and collapsed ones, and the paper's
    row with the mean's difference when they all match the same one."""
    from ..metrics.specs import METRIC_SPECS, PAPER_SCORES
    from ..metrics.spread import is_collapsed
    from ..tools.seeds import format_mean_std as fmt
    from ..tools.seeds import mean_std

    seeds = [(r.get("train_config") or {}).get("seed") for r in results]
    parts = []
    for key, title, scale, _lower in PAPER_SCORES:
        mean, std, _n = mean_std(None if r.get(key) is None else scale * r[key] for r in results)
        parts.append(f"{title} {fmt(mean, std)}")
    collapsed = [str(s) for s, r in zip(seeds, results) if is_collapsed(r.get("output_spread"))]
    networks = {(r.get("model"), r.get("variant")) for r in results}
    text = (f"mean ± std over {len(results)} checkpoints"
            + (f" (seeds {', '.join(map(str, seeds))})" if all(s is not None for s in seeds) else "")
            + ": " + "  ".join(parts))
    if collapsed:
        text += f"\ncollapsed (constant output): seed(s) {', '.join(collapsed)}"
    if len(networks) > 1:
        text += ("\nnote: these checkpoints are of different networks or variants ("
                 + ", ".join(f"{m} {v}" for m, v in sorted(networks, key=str)) + "): their mean is not one row's")
    papers = {json.dumps(r.get("paper"), sort_keys=True, default=str) for r in results}
    if len(papers) == 1 and results[0].get("paper"):
        cmp = results[0]["paper"]
        diffs = []
        for m in cmp["metrics"]:
            if m["metric"] not in ("hse", "hse_p", "hse_t", "iou", "pd"):
                continue
            mean, _s, _n = mean_std(None if r.get(m["metric"]) is None else
                                    METRIC_SPECS[m["metric"]].scale * r[m["metric"]] for r in results)
            if mean is not None and m.get("paper") is not None:
                diffs.append(f"{m['title']} {m['paper']:.2f} ({mean - m['paper']:+.2f})")
        text += f"\npaper: {cmp['source']}: " + "  ".join(diffs) + "  (in brackets: mean - paper)"
    return text
