"""Benchmark fdep.metrics.evaluate against a plain per-threshold implementation (measured in the same run).

Two cases, 201 maps of 512x512 each, 99 thresholds:

* smooth: fdep.metrics.synthetic.synthetic_set (a few targets, clutter blobs, smooth background
  noise: a trained network's output);
* stress: fdep.metrics.synthetic.noisy_set (independent uniform noise in [0, 0.05] on every
  pixel, so the low thresholds cut the map into thousands of components: an under-trained
  network or a classical method; issue 12).

For each, evaluate runs with its default thread count and with workers=1 (best and median of
--repeat runs), and once with bins=10000. Baseline (a): label every image at every threshold with
scikit-image, centroids from regionprops, greedy matching in Python, sklearn for HSE-P/AUC (how
BasicIRSTD / PyIRSTDMetrics-style code works); it is timed on a subset and extrapolated linearly
(stated in the output). Baseline (b): pyirstdmetrics, only when importable. --memory adds the
peak working memory of one evaluate call; --stream feeds SIRSTMetrics a SIRST3-sized stream
(2,755 synthetic maps, 256x256 to 1024x1024) and reports its peak memory.

    PYTHONPATH=src python benchmarks/bench_metrics.py [--case both] [--n 201] [--size 512]
        [--baseline-images 6] [--repeat 5] [--memory] [--stream]   (--case none --stream: the stream only)
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
import tracemalloc

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
        gc_ = comps(g)
        n_gt += len(gc_)
        for j, t in enumerate(thresholds):
            pc = comps(p > t)
            n_pred[j] += len(pc)
            taken = [False] * len(pc)
            for gy, gx in gc_:
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


def _rss_mib() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MiB, from /proc/self/status."""
    cur = peak = float("nan")
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                cur = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    return cur, peak


def _reset_rss_peak() -> bool:
    """Reset the kernel's peak-RSS mark (Linux: write 5 to clear_refs); False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_memory(fn) -> tuple[float, float | None]:
    """(tracemalloc peak of numpy/Python allocations, peak RSS growth) of ``fn()`` in MiB.

    tracemalloc sees every numpy array (OpenCV's outputs are numpy arrays) but not memory that
    C++ code allocates internally; the RSS growth sees everything but only when the kernel lets
    the peak mark be reset (None otherwise).
    """
    gc.collect()
    ok = _reset_rss_peak()
    rss0, _ = _rss_mib()
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    _, hwm = _rss_mib()
    return peak / 2**20, (hwm - rss0) if ok else None


def _fmt_runs(ts: list[float]) -> str:
    return f"best {min(ts):.2f} s, median {statistics.median(ts):.2f} s ({', '.join(f'{t:.2f}' for t in ts)})"


def run_case(name: str, preds, gts, args) -> dict:
    from fdep.metrics import evaluate
    from fdep.metrics._inputs import make_thresholds
    from fdep.metrics._parallel import default_workers

    tag = f"[{name}]"
    print(f"{tag} {len(preds)} maps {args.size}x{args.size}, {sum(int(g.any()) for g in gts)} with targets, "
          f"{args.thresholds} thresholds")
    evaluate(preds[:4], gts[:4], thresholds=args.thresholds)  # warm-up (imports, tables)
    times, cpu = [], []
    for _ in range(args.repeat):
        t, c = time.perf_counter(), time.process_time()
        res = evaluate(preds, gts, thresholds=args.thresholds)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    print(f"{tag} evaluate (exact, workers={default_workers()}): {_fmt_runs(times)} wall; "
          f"CPU best {min(cpu):.2f} s; HSE={res['hse'] * 100:.2f}")
    serial = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        res_1 = evaluate(preds, gts, thresholds=args.thresholds, workers=1)
        serial.append(time.perf_counter() - t)
    print(f"{tag} evaluate (exact, workers=1): {_fmt_runs(serial)}; identical results: {res_1 == res}")
    t = time.perf_counter()
    res_b = evaluate(preds, gts, thresholds=args.thresholds, bins=10_000)
    t_binned = time.perf_counter() - t
    print(f"{tag} evaluate (bins=10000): {t_binned:.2f} s; |HSE-P error| = {abs(res_b['hse_p'] - res['hse_p']):.2e}, "
          f"|AUC error| = {abs(res_b['auc'] - res['auc']):.2e}")
    out = {"best": min(times), "median": statistics.median(times), "cpu": min(cpu)}
    if args.memory:
        traced, rss = peak_memory(lambda: evaluate(preds, gts, thresholds=args.thresholds))
        rss_s = f"{rss:.0f} MiB" if rss is not None else "n/a (peak mark not resettable here)"
        print(f"{tag} peak working memory of one evaluate call: {traced:.0f} MiB traced (numpy), "
              f"peak RSS growth {rss_s} (the {len(preds)} input maps, {sum(p.nbytes for p in preds) / 2**20:.0f} MiB, "
              "not counted)")
        out["mem"] = (traced, rss)
    k = min(args.baseline_images, len(preds))
    if k:
        sub_p, sub_g = preds[:k], gts[:k]
        t, c = time.perf_counter(), time.process_time()
        ref = plain_baseline(sub_p, sub_g, make_thresholds(args.thresholds))
        t_sub = time.perf_counter() - t
        c_sub = time.process_time() - c
        t_base = t_sub * len(preds) / k
        mine = evaluate(sub_p, sub_g, thresholds=args.thresholds)
        agree = all(abs(mine[key] - ref[key]) < 1e-9 for key in ("hse_t", "hse_p", "auc"))
        print(f"{tag} (a) per-threshold skimage + Python matching: {t_sub:.2f} s on {k} images -> "
              f"{t_base:.1f} s extrapolated linearly to {len(preds)}; results on the subset agree: {agree}")
        out.update(base=t_base, ratio=t_base / out["best"], ratio_median=t_base / out["median"],
                   ratio_cpu=c_sub * len(preds) / k / out["cpu"])
        print(f"{tag} speed-up over (a): {out['ratio']:.0f}x wall (best run), {out['ratio_median']:.0f}x (median run), "
              f"{out['ratio_cpu']:.0f}x CPU time")
    try:
        import pyirstdmetrics  # noqa: F401
    except ImportError:
        print(f"{tag} (b) pyirstdmetrics: not installed, skipped")
    else:
        from pyirstdmetrics import ProbabilityDetectionAndFalseAlarmRate

        # num_bins=M+1 gives thresholds linspace(0, 1, M+1, endpoint=False) = 0, 1/(M+1), ..., M/(M+1).
        metric = ProbabilityDetectionAndFalseAlarmRate(num_bins=args.thresholds + 1)
        t = time.perf_counter()
        for p, g in zip(preds, gts):
            metric.update(prob=p, mask=g)
        metric.get()
        t_b = time.perf_counter() - t
        print(f"{tag} (b) pyirstdmetrics ProbabilityDetectionAndFalseAlarmRate: {t_b:.1f} s, "
              f"ratio {t_b / out['best']:.0f}x")
    return out


def sirst3_sizes(seed: int = 0) -> list[tuple[int, int]]:
    """Image sizes of a SIRST3-like stream (2,755 maps): NUDT-like 256x256, IRSTD-1K-like 512x512,
    NUAA-like sizes 135-456 px wide, and 100 maps of 1024x1024, shuffled."""
    rng = np.random.default_rng(seed)
    sizes = [(256, 256)] * 1327 + [(512, 512)] * 1001 + [(1024, 1024)] * 100
    sizes += [(int(rng.integers(120, 420)), int(rng.integers(135, 457))) for _ in range(327)]
    return [sizes[i] for i in rng.permutation(len(sizes))]


def stream(args) -> None:
    """SIRSTMetrics.update over a SIRST3-sized stream: time and peak memory (maps made on the fly)."""
    import torch

    from fdep.metrics import SIRSTMetrics
    from fdep.metrics.synthetic import synthetic_pair

    sizes = sirst3_sizes()
    if args.stream_images:
        sizes = sizes[: args.stream_images]
    npix = sum(h * w for h, w in sizes)
    print(f"[stream] {len(sizes)} synthetic maps ({npix / 1e6:.0f} M pixels, "
          f"{sum(1 for s in sizes if s == (1024, 1024))} of 1024x1024), generated on the fly, one update per map")
    for bins in (10_000, None):
        if bins is None and args.stream_exact_images:
            sizes_b = sizes[: args.stream_exact_images]
        else:
            sizes_b = sizes
        rng = np.random.default_rng(1)
        m = SIRSTMetrics(bins=bins)
        t_upd = 0.0

        def run(m=m, sizes_b=sizes_b, rng=rng) -> None:
            nonlocal t_upd
            for h, w in sizes_b:
                p, g = synthetic_pair(rng, (h, w))
                t = time.perf_counter()
                m.update(torch.from_numpy(p)[None, None], torch.from_numpy(g)[None, None])
                t_upd += time.perf_counter() - t
            t = time.perf_counter()
            m.compute()
            t_upd += time.perf_counter() - t

        traced, rss = peak_memory(run)
        mp = sum(h * w for h, w in sizes_b) / 1e6
        rss_s = f"{rss:.0f} MiB" if rss is not None else "n/a"
        mode = "bins=10000" if bins else "exact (bins=None)"
        print(f"[stream] SIRSTMetrics({mode}) over {len(sizes_b)} maps ({mp:.0f} M pixels): update+compute "
              f"{t_upd:.1f} s; peak memory {traced:.0f} MiB traced (numpy), peak RSS growth {rss_s}"
              + ("" if bins else f"; {traced * 2**20 / (mp * 1e6):.1f} bytes per pixel"))


def main() -> None:
    from fdep.metrics.synthetic import noisy_set, synthetic_set

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=("both", "smooth", "stress", "none"), default="both",
                    help="evaluate cases to run (none: only --stream)")
    ap.add_argument("--n", type=int, default=201)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--thresholds", type=int, default=99)
    ap.add_argument("--baseline-images", type=int, default=6, help="images the plain baseline is timed on")
    ap.add_argument("--repeat", type=int, default=5, help="evaluate() runs per setting (best and median reported)")
    ap.add_argument("--memory", action="store_true", help="also measure the peak memory of one evaluate call")
    ap.add_argument("--stream", action="store_true", help="also run SIRSTMetrics over a SIRST3-sized stream")
    ap.add_argument("--stream-images", type=int, default=0, help="limit the stream (0 = all 2,755)")
    ap.add_argument("--stream-exact-images", type=int, default=300,
                    help="maps fed to the exact-mode class (its memory grows with every pixel; 0 = all)")
    args = ap.parse_args()

    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
    results = {}
    for name, make in (("smooth", synthetic_set), ("stress", noisy_set)):
        if args.case in ("both", name):
            t0 = time.perf_counter()
            preds, gts = make(args.n, args.size, seed=0)
            print(f"[{name}] generated in {time.perf_counter() - t0:.1f} s")
            results[name] = run_case(name, preds, gts, args)
            del preds, gts
            gc.collect()
    if args.stream:
        stream(args)
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for name, r in results.items():
        ratio = f", {r['ratio']:.0f}x (best) / {r['ratio_median']:.0f}x (median) over (a)" if "ratio" in r else ""
        print(f"summary {name}: {r['best']:.2f} s best, {r['median']:.2f} s median{ratio}")
    print("note: wall times depend on machine load; the ratios are measured in this same run")


if __name__ == "__main__":
    main()
