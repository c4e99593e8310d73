"""How far does a checkpoint chosen without the test split land from the one a test-split selection picks?

The authors validate on the test split every epoch and keep the best epoch, which picks a high
point of the epoch-to-epoch noise. fdep's protocol selects on held-out training images
(best.ckpt). For a run trained with ``--save-every N`` this script tests every kept epoch
(``checkpoints/epoch=NNNN.ckpt``), best.ckpt and last.ckpt on the test split with ``fdep test``'s
own code, and prints:

* each kept epoch's test HSE / IoU / Pd (the curve a test-split selection looks at);
* best.ckpt (held-out selection) and last.ckpt, with their test scores;
* the test-selected epoch (highest test IoU, the authors' rule, and highest test HSE) and the
  differences: held-out minus test-selected, last minus test-selected;
* the spread (max - min, std) of test HSE and IoU over the last quarter of the kept epochs: how
  stable the end of the run is.

    python benchmarks/selection_study.py runs/i27/acm_s0_e100 --data ../shared/data/NUAA-SIRST
    python benchmarks/selection_study.py RUN... --json study.json

``--json`` writes every number, for docs/results.md. Scores in the paper's units (x100).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
from pathlib import Path

KEYS = ("hse", "hse_p", "hse_t", "iou", "niou", "pd")


def test_scores(ckpt: Path, data: str, split: str) -> dict[str, float]:
    """fdep test of one checkpoint on ``split`` (no maps saved), in the paper's units."""
    from fdep.tools.tester import run_test

    with tempfile.TemporaryDirectory() as tmp:
        res = run_test(ckpt, data, split=split, out=Path(tmp) / "out", save_preds=False, progress=False)
    return {k: 100 * float(res[k]) for k in KEYS if res.get(k) is not None} | {
        "epochs_trained": res.get("epochs_trained"), "collapsed": bool(res.get("collapsed"))}


def study(run: Path, data: str, split: str) -> dict:
    ckpts = run / "checkpoints"
    kept = sorted(ckpts.glob("epoch=*.ckpt"), key=lambda p: int(re.findall(r"\d+", p.stem)[0]))
    if not kept:
        raise SystemExit(f"{run}: no checkpoints/epoch=*.ckpt (train with --save-every N)")
    curve = {int(re.findall(r"\d+", p.stem)[0]): test_scores(p, data, split) for p in kept}
    best = test_scores(ckpts / "best.ckpt", data, split)
    last = test_scores(ckpts / "last.ckpt", data, split)
    by_iou = max(curve, key=lambda e: curve[e]["iou"])
    by_hse = max(curve, key=lambda e: curve[e]["hse"])
    tail = [curve[e] for e in list(curve)[-max(2, len(curve) // 4):]]
    stability = {k: {"max_minus_min": max(t[k] for t in tail) - min(t[k] for t in tail),
                     "std": statistics.stdev(t[k] for t in tail)} for k in ("hse", "iou")}
    return {"run": str(run), "curve": curve, "held_out_best": best, "last": last,
            "test_selected_by_iou": {"epoch": by_iou, **curve[by_iou]},
            "test_selected_by_hse": {"epoch": by_hse, **curve[by_hse]},
            "tail_epochs": list(curve)[-len(tail):], "tail_stability": stability}


def _row(name: str, s: dict) -> str:
    return f"{name:<28}" + "".join(f"{s.get(k, float('nan')):8.2f}" for k in KEYS)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", help="run directories trained with --save-every")
    ap.add_argument("--data", required=True, help="the dataset to test on (ROOT/NAME)")
    ap.add_argument("--split", default="test")
    ap.add_argument("--json", default=None, help="write every number here")
    args = ap.parse_args(argv)
    out = []
    for run in args.runs:
        s = study(Path(run), args.data, args.split)
        out.append(s)
        print(f"\n{run}: test split '{args.split}', x100")
        print(f"{'':<28}" + "".join(f"{k:>8}" for k in KEYS))
        for epoch, sc in s["curve"].items():
            print(_row(f"epoch {epoch}", sc))
        held, last = s["held_out_best"], s["last"]
        t_iou, t_hse = s["test_selected_by_iou"], s["test_selected_by_hse"]
        print(_row(f"best.ckpt (held-out, ep {held['epochs_trained']})", held))
        print(_row("last.ckpt", last))
        print(_row(f"test-selected IoU (ep {t_iou['epoch']})", t_iou))
        print(_row(f"test-selected HSE (ep {t_hse['epoch']})", t_hse))
        print("held-out - test-selected(IoU): " + "  ".join(f"{k} {held[k] - t_iou[k]:+.2f}" for k in KEYS))
        print("last - test-selected(IoU):     " + "  ".join(f"{k} {last[k] - t_iou[k]:+.2f}" for k in KEYS))
        st = s["tail_stability"]
        print(f"last {len(s['tail_epochs'])} kept epochs: HSE range {st['hse']['max_minus_min']:.2f} "
              f"(std {st['hse']['std']:.2f}), IoU range {st['iou']['max_minus_min']:.2f} (std {st['iou']['std']:.2f})")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
