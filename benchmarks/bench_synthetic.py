"""How fast is the synthetic generator, and how hard are its scenes?

Generates the default synthetic dataset (500 images, 256 x 256, seed 0) and
scores two classical single-frame detectors on its test split: a white top-hat
(15 x 15 ellipse) and an MPCM-like multiscale patch contrast (Wei et al. 2016,
scales 3/5/7/9). Each score map is divided by its image maximum so it lies in
[0, 1]. The same detectors run on the real NUAA-SIRST test split when it is
present (``--nuaa DIR``), so the synthetic difficulty can be read as a ratio
to a real dataset measured in the same run.

Scores use fdep.metrics.evaluate when it is importable; otherwise this script
computes the SPEC.md definitions itself (HSE-P = sklearn average precision over
all pixels; Pd/Fa/IoU at p > 0.5; HSE-T over t = j/100 with centroid matching
at distance < 3) and says so.

    PYTHONPATH=src python benchmarks/bench_synthetic.py [--n 500] [--nuaa ../shared/data/NUAA-SIRST]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from scipy import ndimage

from common import shared_data
from fdep.data import generate_synthetic, load_dataset
from fdep.imageio import read_image, read_mask


def tophat(img: np.ndarray) -> np.ndarray:
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (15, 15))
    return cv2.morphologyEx(img, cv2.MORPH_TOPHAT, k)


def mpcm(img: np.ndarray) -> np.ndarray:
    """Multiscale patch contrast: min over opposite neighbour pairs of d_i * d_{i+4}, bright targets only."""
    out = np.zeros_like(img)
    dirs = [(-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1)]
    for L in (3, 5, 7, 9):
        m = cv2.blur(img, (L, L), borderType=cv2.BORDER_REFLECT)
        d = []
        for dy, dx in dirs:
            M = np.float32([[1, 0, dx * L], [0, 1, dy * L]])  # neighbour patch mean moved onto the centre
            nb = cv2.warpAffine(
                m, M, (img.shape[1], img.shape[0]), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT
            )
            d.append(m - nb)
        pair = np.stack([np.where((d[i] > 0) & (d[i + 4] > 0), d[i] * d[i + 4], 0.0) for i in range(4)])
        out = np.maximum(out, pair.min(axis=0))
    return out


def normalise(s: np.ndarray) -> np.ndarray:
    s = np.maximum(s, 0).astype(np.float64)
    return s / s.max() if s.max() > 0 else s


def _components(b: np.ndarray):
    lab, n = ndimage.label(b, structure=np.ones((3, 3)))
    if n == 0:
        return lab, np.zeros((0, 2))
    return lab, np.array(ndimage.center_of_mass(b, lab, range(1, n + 1)))


def _match(gt_c: np.ndarray, pr_c: np.ndarray, tol: float) -> list[int]:
    used, matched = set(), []
    for g in gt_c:
        for j, p in enumerate(pr_c):
            if j not in used and np.hypot(*(g - p)) < tol:
                used.add(j)
                matched.append(j)
                break
    return matched


def reference_metrics(preds, gts, tol: float = 3.0) -> dict:
    """SPEC.md section 2, computed directly (used when fdep.metrics is not available)."""
    from sklearn.metrics import average_precision_score

    hse_p = average_precision_score(
        np.concatenate([g.ravel() for g in gts]), np.concatenate([p.ravel() for p in preds])
    )
    ts = np.arange(1, 100) / 100
    n_match, n_pred = np.zeros(len(ts)), np.zeros(len(ts))
    n_gt = inter = union = fa_pix = pd_hit = 0
    npix = sum(g.size for g in gts)
    for p, g in zip(preds, gts):
        _, gc = _components(g)
        n_gt += len(gc)
        for k, t in enumerate(ts):
            lab, pc = _components(p > t)
            m = _match(gc, pc, tol)
            n_match[k] += len(m)
            n_pred[k] += len(pc)
        b = p > 0.5
        lab, pc = _components(b)
        m = _match(gc, pc, tol)
        pd_hit += len(m)
        keep = np.isin(lab, [j + 1 for j in m])
        fa_pix += int((b & ~keep).sum())
        inter += int((b & g).sum())
        union += int((b | g).sum())
    P = np.where(n_pred > 0, n_match / np.maximum(n_pred, 1), 0.0)
    R = n_match / n_gt
    hse_t = float(np.sum(P * (R - np.append(R[1:], 0.0))))
    return {
        "hse_p": hse_p,
        "hse_t": hse_t,
        "hse": hse_p * hse_t,
        "iou": inter / max(union, 1),
        "pd": pd_hit / n_gt,
        "fa": fa_pix / npix,
    }


def score(ds, detector, evaluate):
    preds, gts = [], []
    for s in ds.samples:
        preds.append(normalise(detector(read_image(s.image))))
        gts.append(read_mask(s.mask))
    return evaluate(preds, gts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--nuaa", type=Path, default=shared_data() / "NUAA-SIRST")
    args = ap.parse_args()
    try:
        from fdep.metrics import evaluate

        source = "fdep.metrics.evaluate"
    except ImportError:
        evaluate, source = reference_metrics, "this script's reference implementation (fdep.metrics not importable)"
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        root = generate_synthetic(tmp, n=args.n, size=args.size, seed=0)
        gen_s = time.perf_counter() - t
        print(f"generated {args.n} images of {args.size}x{args.size} in {gen_s:.2f} s ({args.n / gen_s:.0f} img/s)")
        sets = {"synthetic": load_dataset(root, "test")}
        if (args.nuaa / "images").is_dir():
            sets["NUAA-SIRST"] = load_dataset(args.nuaa, "test")
        print(f"metrics from {source}; scores x100, Fa x1e6")
        print(f"{'dataset':<12}{'detector':<9}{'n':>5}{'HSE-P':>8}{'HSE-T':>8}{'HSE':>8}{'IoU':>8}{'Pd':>8}{'Fa':>10}")
        results = {}
        for name, ds in sets.items():
            for det_name, det in (("top-hat", tophat), ("MPCM", mpcm)):
                r = score(ds, det, evaluate)
                results[name, det_name] = r
                print(
                    f"{name:<12}{det_name:<9}{len(ds):>5}{100 * r['hse_p']:8.2f}{100 * r['hse_t']:8.2f}"
                    f"{100 * r['hse']:8.2f}{100 * r['iou']:8.2f}{100 * r['pd']:8.2f}{1e6 * r['fa']:10.1f}"
                )
        if "NUAA-SIRST" in sets:
            for det_name in ("top-hat", "MPCM"):
                a, b = results["synthetic", det_name]["hse"], results["NUAA-SIRST", det_name]["hse"]
                print(f"{det_name}: HSE synthetic / NUAA-SIRST = {a / b:.2f}" if b > 0 else f"{det_name}: NUAA HSE 0")


if __name__ == "__main__":
    main()
