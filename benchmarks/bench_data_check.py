"""How long does `fdep data check` take now that it decodes every pixel?

A PNG truncated behind an intact header has the right size and passed the header-only check, to
fail only when training reached it; `fdep data check` (and `load_dataset`, on the ids it loads)
therefore decodes every image. This times, on one dataset folder, the full check
(``fdep.data.check_dataset``) against the header-only image reading it replaced, best of
``--repeat`` runs, and extrapolates to SIRST3's 2,755 pairs (NUAA-SIRST + NUDT-SIRST + IRSTD-1K).

    PYTHONPATH=src python benchmarks/bench_data_check.py [--data ../shared/data/NUAA-SIRST] [--repeat 3]

Without ``--data`` (or when the folder is missing) it times a synthetic 427-image 256x256 set
written to a temporary folder, so the script always runs.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

SIRST3_PAIRS = 2755


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def measure(folder: Path, repeat: int) -> dict[str, float]:
    from fdep.data import check_dataset
    from fdep.data.layout import scan
    from fdep.imageio import image_size

    layout = scan(folder)
    images = list(layout.images.values())
    full = _best(lambda: check_dataset(folder), repeat)
    headers = _best(lambda: [image_size(p) for p in images], repeat)
    decode = _best(lambda: [image_size(p, decode=True) for p in images], repeat)
    return {"pairs": len(images), "check_s": full, "headers_s": headers, "decode_s": decode}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=None, help="a dataset folder ROOT/NAME (default: synthetic)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is kept (default 3)")
    ap.add_argument("--n", type=int, default=427, help="synthetic images when no --data (default 427)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.data
        if folder is None or not folder.is_dir():
            from fdep.data import generate_synthetic

            folder = generate_synthetic(tmp, n=args.n, size=256, seed=0, name="synthetic")
        r = measure(folder, args.repeat)
    per = r["check_s"] / max(r["pairs"], 1)
    print(f"{folder.name}: {r['pairs']} pairs, {os.cpu_count()} CPU(s), load {os.getloadavg()[0]:.1f}, "
          f"best of {args.repeat}")
    print(f"  fdep data check (every image and mask decoded): {r['check_s']:.2f} s ({1000 * per:.1f} ms per pair)")
    print(f"  image headers only (the check before):           {r['headers_s']:.2f} s")
    print(f"  image pixels decoded (what the check adds):      {r['decode_s']:.2f} s")
    print(f"  SIRST3 ({SIRST3_PAIRS} pairs) at this rate:           {per * SIRST3_PAIRS:.1f} s")


if __name__ == "__main__":
    main()
