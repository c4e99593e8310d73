"""Benchmark fdep.metrics.evaluate against a plain per-threshold implementation (measured in the same run).

201 synthetic 512x512 prediction maps (a few targets, clutter blobs, smooth background noise;
fdep.metrics.synthetic), 99 thresholds; evaluate runs with its default thread count and with
workers=1. Baseline (a): label every image at every threshold with scikit-image, centroids from
regionprops, greedy matching in Python, sklearn for HSE-P/AUC (how BasicIRSTD /
PyIRSTDMetrics-style code works); it is timed on a subset and extrapolated linearly (stated in the
output). Baseline (b): pyirstdmetrics, only when importable.

    PYTHONPATH=src python benchmarks/bench_metrics.py [--n 201] [--size 512] [--baseline-images 6]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def plain_baseline(preds, gts, thresholds, tol=3.0) -> dict:
    """Per-threshold skimage labelling + Python greedy matching + sklearn pixel metrics."""
    from skimage.measure import label, regionprops
    from sklearn.metrics import average_precision_score, roc_auc_score

    def comps(mask):
        return [r.centroid for r in sorted(regionprops(label(mask, connectivity=2)),
                                           key=lambda r: tuple(r.coords[0]))]

    n_gt = 0
    n_match = np.zeros(len(thresholds))
    n_pred = np.zeros(len(thresholds))
    for p, g in zip(preds, gts):
        gc = comps(g)
        n_gt += len(gc)
        for j, t in enumerate(thresholds):
            pc = comps(p > t)
            n_pred[j] += len(pc)
            taken = [False] * len(pc)
            for gy, gx in gc:
                for k, (py, px) in enumerate(pc):
                    if not taken[k] and (py - gy) ** 2 + (px - gx) ** 2 < tol * tol:
                        taken[k] = True
                        n_match[j] += 1
                        break
    y = np.concatenate([g.ravel() for g in gts])
    s = np.concatenate([p.ravel() for p in preds])
    prec = np.where(n_pred > 0, n_match / np.maximum(n_pred, 1), 0.0)
    rec = n_match / max(n_gt, 1)
    hse_t = float(np.sum(prec * (rec - np.append(rec[1:], 0.0))))
    return {"hse_t": hse_t, "hse_p": average_precision_score(y, s), "auc": roc_auc_score(y, s)}


def main() -> None:
    from fdep.metrics import evaluate
    from fdep.metrics._inputs import make_thresholds
    from fdep.metrics._parallel import default_workers
    from fdep.metrics.synthetic import synthetic_set

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=201)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--thresholds", type=int, default=99)
    ap.add_argument("--baseline-images", type=int, default=6, help="images the plain baseline is timed on")
    ap.add_argument("--repeat", type=int, default=3, help="evaluate() runs; the best is reported")
    args = ap.parse_args()

    t0 = time.perf_counter()
    preds, gts = synthetic_set(args.n, args.size, seed=0)
    print(f"data: {args.n} maps {args.size}x{args.size}, {sum(int(g.any()) for g in gts)} with targets, "
          f"generated in {time.perf_counter() - t0:.1f} s; {args.thresholds} thresholds")
    times, cpu = [], []
    for _ in range(args.repeat):
        t, c = time.perf_counter(), time.process_time()
        res = evaluate(preds, gts, thresholds=args.thresholds)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    t_fast = min(times)
    print(f"fdep.metrics.evaluate (exact): {t_fast:.2f} s wall, {min(cpu):.2f} s CPU (best of {args.repeat}: "
          f"{', '.join(f'{x:.2f}' for x in times)})  HSE={res['hse'] * 100:.2f}")
    serial = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        res_1 = evaluate(preds, gts, thresholds=args.thresholds, workers=1)
        serial.append(time.perf_counter() - t)
    print(f"fdep.metrics.evaluate (exact, workers=1): {min(serial):.2f} s wall (best of {args.repeat}); "
          f"default workers={default_workers()} is {min(serial) / t_fast:.2f}x faster; identical results: "
          f"{res_1 == res}")
    t = time.perf_counter()
    res_b = evaluate(preds, gts, thresholds=args.thresholds, bins=10_000)
    t_binned = time.perf_counter() - t
    print(f"fdep.metrics.evaluate (bins=10000): {t_binned:.2f} s; |HSE-P error| = "
          f"{abs(res_b['hse_p'] - res['hse_p']):.2e}, |AUC error| = {abs(res_b['auc'] - res['auc']):.2e}")

    k = min(args.baseline_images, args.n)
    sub_p, sub_g = preds[:k], gts[:k]
    t, c = time.perf_counter(), time.process_time()
    ref = plain_baseline(sub_p, sub_g, make_thresholds(args.thresholds))
    t_sub = time.perf_counter() - t
    c_sub = time.process_time() - c
    t_base = t_sub * args.n / k
    mine = evaluate(sub_p, sub_g, thresholds=args.thresholds)
    agree = all(abs(mine[key] - ref[key]) < 1e-9 for key in ("hse_t", "hse_p", "auc"))
    print(f"(a) per-threshold skimage + Python matching: {t_sub:.2f} s on {k} images -> "
          f"{t_base:.1f} s extrapolated linearly to {args.n}; results on the subset agree: {agree}")
    print(f"    speed-up of fdep.metrics over (a): {t_base / t_fast:.0f}x wall, "
          f"{c_sub * args.n / k / min(cpu):.0f}x CPU time")
    try:
        import pyirstdmetrics  # noqa: F401
    except ImportError:
        print("(b) pyirstdmetrics: not installed, skipped")
    else:
        from pyirstdmetrics import ProbabilityDetectionAndFalseAlarmRate

        # num_bins=M+1 gives thresholds linspace(0, 1, M+1, endpoint=False) = 0, 1/(M+1), ..., M/(M+1).
        metric = ProbabilityDetectionAndFalseAlarmRate(num_bins=args.thresholds + 1)
        t = time.perf_counter()
        for p, g in zip(preds, gts):
            metric.update(prob=p, mask=g)
        metric.get()
        t_b = time.perf_counter() - t
        print(f"(b) pyirstdmetrics ProbabilityDetectionAndFalseAlarmRate: {t_b:.1f} s, "
              f"ratio {t_b / t_fast:.0f}x")
    print("note: wall times depend on machine load; the ratios are measured in this same run")


if __name__ == "__main__":
    main()
