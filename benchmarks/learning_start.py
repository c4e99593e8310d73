"""Does a run learn from its first epochs? Reads runs' metrics.csv and prints the start criteria of issue 27.

For each run directory:

* p(target) / p(background) of the training batches at epoch 3 (criterion: above 2);
* validation HSE-P at epoch 5 against its chance level (2 x the validation data's positive-pixel
  fraction, ``val/pos_frac``; fdep.training.chance) and their ratio;
* the first epoch at which p(target) > 2 p(background), and the first at which HSE-P > 5 x chance;
* with ``--test``: the output spread of the run's test maps (results.json of ``fdep test``), the
  collapse check (a constant output has spread ~0; fdep.metrics.spread).

    python benchmarks/learning_start.py runs/i27/acm_s*_e100 runs/i27/alcnet_s*_e100

Prints one table row per run and, at the end, whether every run met the criteria.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import sys
from pathlib import Path


def epoch_rows(run: Path) -> dict[int, dict[str, float]]:
    """metrics.csv merged per 1-based epoch (training and validation values are logged on separate lines)."""
    rows: dict[int, dict[str, float]] = {}
    with open(run / "metrics.csv", newline="") as f:
        for r in csv.DictReader(f):
            if r.get("epoch") in (None, ""):
                continue
            e = int(float(r["epoch"])) + 1
            for k, v in r.items():
                if v not in ("", None) and k != "epoch":
                    with contextlib.suppress(ValueError):
                        rows.setdefault(e, {})[k] = float(v)
    return rows


def start_of(run: Path) -> dict:
    rows = epoch_rows(run)

    def get(e: int, k: str) -> float:
        return rows.get(e, {}).get(k, math.nan)

    ratio3 = get(3, "train/p_target") / get(3, "train/p_background")
    chance5 = 2 * get(5, "val/pos_frac")
    first_sep = next((e for e in sorted(rows) if get(e, "train/p_target") > 2 * get(e, "train/p_background")), None)
    first_val = next((e for e in sorted(rows) if get(e, "val/hse_p") > 5 * 2 * get(e, "val/pos_frac")), None)
    out = {"run": str(run), "p_ratio_epoch3": ratio3, "hse_p_epoch5": 100 * get(5, "val/hse_p"),
           "chance_epoch5": 100 * chance5, "hse_p_over_chance_epoch5": get(5, "val/hse_p") / chance5,
           "first_epoch_p_ratio_over_2": first_sep, "first_epoch_hse_p_over_5x_chance": first_val,
           "epochs": max(rows) if rows else 0}
    tests = sorted(run.glob("test_*/results.json"))
    if tests:
        res = json.loads(tests[0].read_text())
        out["test_output_spread"] = res.get("output_spread")
        out["collapsed"] = res.get("collapsed")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    found = [start_of(Path(r)) for r in args.runs]
    print(f"{'run':<40}{'p ratio ep3':>12}{'HSE-P ep5':>10}{'chance':>8}{'x chance':>9}{'ep p>2x':>8}"
          f"{'ep 5x ch':>9}{'spread':>9}")
    ok = True
    for s in found:
        spread = s.get("test_output_spread")
        print(f"{Path(s['run']).name:<40}{s['p_ratio_epoch3']:>12.2f}{s['hse_p_epoch5']:>10.2f}"
              f"{s['chance_epoch5']:>8.3f}{s['hse_p_over_chance_epoch5']:>9.0f}{str(s['first_epoch_p_ratio_over_2']):>8}"
              f"{str(s['first_epoch_hse_p_over_5x_chance']):>9}" + (f"{spread:>9.4f}" if spread is not None else
                                                                      f"{'-':>9}"))
        ok &= s["p_ratio_epoch3"] > 2 and s["hse_p_over_chance_epoch5"] > 5 and not s.get("collapsed")
    print(f"every run: p(target) > 2 p(background) at epoch 3, HSE-P > 5 x chance at epoch 5, none collapsed: {ok}")
    if args.json:
        Path(args.json).write_text(json.dumps(found, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
