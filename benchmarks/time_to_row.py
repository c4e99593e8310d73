"""Time to a row: how long each protocol trains before its validation HSE is near its final value.

Trains the same network on the same data with the same seed twice, one protocol after the other
on the same machine in one run: ``--protocol authors`` (their released recipe: constant lr,
validation on the test split, networks starting at p ~ 0.5) and ``--protocol fdep`` (held-out
validation, cosine schedule, the output prior). Each ``fdep train`` runs as a child process whose
per-epoch lines are time-stamped as they arrive, so the wall time of every validation is known.
For each protocol it prints:

* the final validation HSE: the mean of the last ``--final-window`` validations (one epoch's value
  is noisy: validation sets are small);
* the first epoch whose validation HSE reaches ``--fraction`` (default 90 %) of that final value,
  and the wall time from the start of training to the end of that epoch;
* the ratio fdep / authors of those wall times (below 1: fdep gets there sooner).

The two validations are on different images (the authors' on the test split, fdep's on held-out
training images), so each run is measured against its own final value, which is what "time to
the end of the run's learning" means; the test-split scores of both runs are in docs/results.md.

    python benchmarks/time_to_row.py --data ../shared/data/NUAA-SIRST --model acm --crop 256 \\
        --authors-epochs 400 --fdep-epochs 100 --out runs/time_to_row
    python benchmarks/time_to_row.py --data synthetic --epochs 3     # a smoke run

Run it pinned to one core on an otherwise idle core (``OMP_NUM_THREADS=1 taskset -c 0``); it
passes ``--threads 1``.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

EPOCH_LINE = re.compile(r"^epoch (\d+)/(\d+)\s+val: hse ([0-9.]+)")


def train_timed(protocol: str, args: argparse.Namespace, epochs: int, out: Path) -> list[tuple[int, float, float]]:
    """Run ``fdep train --protocol PROTOCOL``; returns (epoch, seconds since start, val HSE) per validation."""
    cmd = [sys.executable, "-m", "fdep.cli.main", "train", "--protocol", protocol, "--model", args.model,
           "--variant", "original", "--data", args.data, "--crop", str(args.crop), "--seed", str(args.seed),
           "--epochs", str(epochs), "--num-workers", "0", "--threads", "1", "--quiet", "--out", str(out),
           "--overwrite", *args.extra]
    if args.data == "synthetic":
        cmd += ["--synthetic-n", "24", "--synthetic-size", "64"]
    points: list[tuple[int, float, float]] = []
    log = out.parent / f"{out.name}.log"
    with open(log, "w") as f:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        t0 = None
        for line in proc.stdout:
            f.write(line if t0 is None else f"[{time.perf_counter() - t0:9.1f} s] {line}")  # usable if cut short
            f.flush()
            if t0 is None and line.startswith("training "):  # the model is built: the first epoch starts now
                t0 = time.perf_counter()
            m = EPOCH_LINE.match(line)
            if m and t0 is not None:
                points.append((int(m.group(1)), time.perf_counter() - t0, float(m.group(3))))
        code = proc.wait()
    if code != 0:
        raise SystemExit(f"fdep train --protocol {protocol} failed (exit {code}); see {log}")
    return points


def time_to_fraction(points: list[tuple[int, float, float]], fraction: float, window: int) -> dict:
    """The first validation reaching ``fraction`` x the mean of the last ``window`` validations."""
    final = sum(p[2] for p in points[-window:]) / len(points[-window:])
    reached = next((p for p in points if p[2] >= fraction * final), points[-1])
    return {"final_hse": final, "epoch": reached[0], "seconds": reached[1], "hse": reached[2],
            "total_seconds": points[-1][1], "epochs": points[-1][0]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="dataset folder, or synthetic")
    ap.add_argument("--model", default="acm")
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=None, help="both protocols' epochs (else the two below)")
    ap.add_argument("--authors-epochs", type=int, default=400)
    ap.add_argument("--fdep-epochs", type=int, default=100)
    ap.add_argument("--fraction", type=float, default=0.9)
    ap.add_argument("--final-window", type=int, default=5)
    ap.add_argument("--out", default="runs/time_to_row")
    ap.add_argument("--json", default=None, help="also write the numbers here")
    ap.add_argument("extra", nargs="*", help="more fdep train options for both runs (after --)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = {}
    # fdep first: the short run is complete even when a long authors' run is cut short (its log is time-stamped)
    plan = (("fdep", args.epochs or args.fdep_epochs), ("authors", args.epochs or args.authors_epochs))
    for protocol, epochs in plan:
        points = train_timed(protocol, args, epochs, out / protocol)
        result[protocol] = {**time_to_fraction(points, args.fraction, args.final_window),
                            "curve": [list(p) for p in points]}
        r = result[protocol]
        print(f"{protocol:>7}: {r['epochs']} epochs in {r['total_seconds']:.0f} s; final val HSE {r['final_hse']:.2f} "
              f"(mean of the last {args.final_window}); {100 * args.fraction:.0f} % of it first at epoch {r['epoch']} "
              f"(HSE {r['hse']:.2f}) after {r['seconds']:.0f} s", flush=True)
    ratio = result["fdep"]["seconds"] / result["authors"]["seconds"] if result["authors"]["seconds"] else float("nan")
    whole = result["fdep"]["total_seconds"] / result["authors"]["total_seconds"]
    print(f"time to {100 * args.fraction:.0f} % of the final val HSE, fdep / authors: {ratio:.3f} "
          f"({result['fdep']['seconds']:.0f} s vs {result['authors']['seconds']:.0f} s); whole runs: {whole:.3f}")
    result["ratio_time_to_fraction"], result["ratio_whole_run"] = ratio, whole
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
