"""Benchmark the classical methods (FKRW, MPCM, NIPPS): ours against straightforward loop versions, same run.

For each method, per-image wall and CPU time of the zoo's vectorised implementation
(``create_model(name).response``) and of the straightforward implementation in
``fdep.models.classical.reference`` (loops over pixels / candidates / patches,
a full SVD per NIPPS iteration, as the authors' MATLAB code does), on the same
images, in the same process, with the same thread settings; the ratio of the
two is the machine-independent figure. CPU time (``time.process_time``) is what
a single-threaded run costs on an idle machine; on a shared, loaded machine the
wall time can be several times larger. Also printed: the FDEP paper's per-image
times (Table S3: FKRW 0.189 s, MPCM 0.104 s, NIPPS 31.047 s, measured on their
machine over SIRST3) and our speed-up over them, and how far ours is from the
reference on the timed images (largest difference relative to the response's
maximum).

Images: an evenly spaced subset of the NUAA-SIRST test split when the shared
data is present (../shared/data or $FDEP_SHARED_DATA), else synthetic scenes
with the NUAA test split's most common sizes.

    PYTHONPATH=src python benchmarks/bench_classical.py [--images 20] [--ref-images 3] [--threads 1]
    PYTHONPATH=src python benchmarks/bench_classical.py --write-docs docs/models.md

``--write-docs`` rewrites only the part of the file between the
``<!-- bench_classical:begin -->`` and ``<!-- bench_classical:end -->`` markers.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from common import DocSection, shared_data
from fdep.errors import FdepError, InputError

SECTION = DocSection("bench_classical")
BEGIN, END = SECTION.markers
#: (text, body, where="<text>"): ``text`` with the section's body replaced
replace_section = SECTION.replace
METHODS = ("fkrw", "mpcm", "nipps")
#: typical NUAA-SIRST test image sizes (H, W), for the synthetic fallback
NUAA_SIZES = ((240, 320), (211, 306), (223, 344), (157, 209), (256, 320), (250, 250), (247, 294), (278, 456))


def load_images(data: Path | None, split: str, n: int) -> tuple[list[np.ndarray], str]:
    """``n`` gray 0-255 float64 images: evenly spaced over the split, or synthetic scenes."""
    if data is not None and (data / "images").is_dir():
        from fdep.data import load_dataset

        ds = load_dataset(str(data), split=split)
        picks = np.linspace(0, len(ds) - 1, min(n, len(ds))).round().astype(int)
        return [ds.load(int(i))[0].astype(np.float64) for i in picks], f"{ds.name}/{split}"
    rng = np.random.default_rng(0)
    images = []
    for i in range(n):
        h, w = NUAA_SIZES[i % len(NUAA_SIZES)]
        yy, xx = np.mgrid[:h, :w]
        img = 90 + 30 * np.sin(yy / 23.0 + i) * np.cos(xx / 31.0) + rng.normal(0, 3, (h, w))
        for _ in range(2):
            y, x = rng.integers(10, h - 10), rng.integers(10, w - 10)
            img[y - 1: y + 2, x - 1: x + 2] += 80
        images.append(np.round(img.clip(0, 255)))
    return images, "synthetic (NUAA test sizes)"


def references():
    from fdep.models.classical import reference

    return {"fkrw": reference.fkrw_reference, "mpcm": reference.mpcm_reference,
            "nipps": lambda im: reference.nipps_reference(im)[0]}


def time_one(fn, image) -> tuple[float, float, np.ndarray]:
    """(wall seconds, CPU seconds of this process, output)."""
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn(image)
    return time.perf_counter() - t0, time.process_time() - c0, np.asarray(out)


def bench_method(name: str, images: list[np.ndarray], ref_images: int) -> dict:
    from fdep.models import create_model

    model = create_model(name)

    def ours(im):
        return model.response(torch.from_numpy(im)).numpy()

    ours(images[0][:64, :64])  # warm-up (allocator, lazy imports)
    ours_wall, ours_cpu, ours_out = zip(*(time_one(ours, im) for im in images))
    ref = references()[name]
    ref_wall, ref_cpu, diffs = [], [], []
    for im, mine in zip(images[:ref_images], ours_out):
        t, c, r = time_one(ref, im)
        ref_wall.append(t)
        ref_cpu.append(c)
        diffs.append(float(np.abs(mine - r).max() / max(1e-12, float(np.abs(r).max()))))
    k = len(ref_wall)
    nan = float("nan")
    return {
        "method": name, "n": len(images), "ref_n": k, "paper_s": model.paper_time_s,
        "ours_wall": statistics.mean(ours_wall), "ours_cpu": statistics.mean(ours_cpu), "ours_max": max(ours_wall),
        "ref_wall": statistics.mean(ref_wall) if k else nan, "ref_cpu": statistics.mean(ref_cpu) if k else nan,
        # the ratio compares the same images
        "ratio_wall": statistics.mean(ref_wall) / statistics.mean(ours_wall[:k]) if k else nan,
        "ratio_cpu": statistics.mean(ref_cpu) / max(1e-9, statistics.mean(ours_cpu[:k])) if k else nan,
        "max_rel_diff": max(diffs) if diffs else nan,
    }


def format_table(rows: list[dict]) -> str:
    lines = ["| method | ours: wall / CPU s per image (max wall) | straightforward: wall / CPU s per image | "
             "speed-up vs straightforward (wall / CPU) | paper s/img (Table S3) | speed-up vs paper (wall / CPU) | "
             "max rel. diff |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['method']} | {r['ours_wall']:.4f} / {r['ours_cpu']:.4f} ({r['ours_max']:.3f}), n={r['n']} | "
            f"{r['ref_wall']:.3f} / {r['ref_cpu']:.3f}, n={r['ref_n']} | {r['ratio_wall']:.1f}x / "
            f"{r['ratio_cpu']:.1f}x | {r['paper_s']} | {r['paper_s'] / r['ours_wall']:.1f}x / "
            f"{r['paper_s'] / r['ours_cpu']:.1f}x | {r['max_rel_diff']:.1e} |")
    return "\n".join(lines)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--methods", default=",".join(METHODS), help="comma-separated (default: fkrw,mpcm,nipps)")
    p.add_argument("--data", type=Path, default=None, help="dataset folder (default: shared NUAA-SIRST if present)")
    p.add_argument("--split", default="test")
    p.add_argument("--images", type=int, default=20, help="images timed with our implementation (default 20)")
    p.add_argument("--ref-images", type=int, default=3,
                   help="of those, how many the straightforward implementation also runs (default 3)")
    p.add_argument("--threads", type=int, default=1, help="torch and BLAS threads (default 1)")
    p.add_argument("--write-docs", type=Path, default=None, help="rewrite the marked section of this file")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        methods = [m.strip().lower() for m in args.methods.split(",") if m.strip()]
        bad = [m for m in methods if m not in METHODS]
        if bad or not methods:
            raise InputError(f"unknown method(s) {', '.join(bad) or '(none)'}; choose from {', '.join(METHODS)}")
        if args.images < 1 or not 0 <= args.ref_images <= args.images:
            raise InputError("--images must be >= 1 and 0 <= --ref-images <= --images")
        if args.write_docs is not None:
            SECTION.check(args.write_docs)  # fail before measuring
        torch.set_num_threads(args.threads)
        import fdep.models.classical.reference  # noqa: F401  (load scipy's BLAS before limiting its threads)

        try:  # numpy/scipy's BLAS too (the references' SVDs): oversubscribed threads stall on a busy machine
            from threadpoolctl import threadpool_limits

            threadpool_limits(args.threads)
        except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
            pass
        data = args.data if args.data is not None else shared_data() / "NUAA-SIRST"
        images, source = load_images(data, args.split, args.images)
        load0 = os.getloadavg()[0]
        rows = []
        for name in methods:
            print(f"{name}: {len(images)} images, straightforward on {args.ref_images} ...", file=sys.stderr,
                  flush=True)
            rows.append(bench_method(name, images, args.ref_images))
        load1 = os.getloadavg()[0]
    except FdepError as e:
        print(f"bench_classical: error: {e}", file=sys.stderr)
        return 2
    px = [im.size for im in images]
    header = (f"Measured {datetime.date.today()} on {platform.processor() or platform.machine()}, "
              f"{os.cpu_count()} CPUs, {args.threads} thread(s), load average {load0:.1f} -> {load1:.1f} "
              f"(a shared machine); images: {source}, {len(images)} images, mean {statistics.mean(px) / 1e3:.0f}k "
              f"px (max {max(px) / 1e3:.0f}k).")
    table = format_table(rows)
    print(header)
    print(table)
    if args.write_docs is not None:
        SECTION.write(args.write_docs, f"{header}\n\n{table}\n")
        print(f"wrote {args.write_docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
