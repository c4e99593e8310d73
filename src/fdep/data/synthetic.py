"""Synthetic infrared-like scenes with small targets, in the BasicIRSTD layout.

Each image: multi-scale clutter (power-law FFT-filtered noise for clouds, a
rougher terrain band below a random horizon), bright cloud/ridge edges, column
(fixed-pattern) and temporal sensor noise, and point-like distractors (single
hot pixels and 2-pixel glints that are NOT targets). 1-5 targets per image:
elliptical Gaussian blobs of radius 1-9 px whose peak is the local clutter
standard deviation times a signal-to-clutter ratio (SCR) drawn log-uniformly
from SCR_RANGE = [2, 20] (hard -> easy). Masks are the targets' ellipses.

``metadata.json`` lists every target (centre, radius, axes, angle, peak
amplitude, requested SCR, measured contrast and SCR, pixel count) and every
distractor. Background textures are generated for a whole chunk of images with
one batched FFT, so 500 images of 256 x 256 take a few seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np
import scipy.fft
import scipy.special

from ..errors import InputError, OutputExistsError
from ..fileio import check_output_folder, default_mode, write_json
from ..imageio import check_written
from .layout import split_train_val, write_split_file
from .stats import STATS_FILE, ids_digest

CHUNK = 64
TEST_FRACTION = 0.3
SCR_RANGE = (2.0, 20.0)


def _power_law_noise(rng: np.random.Generator, n: int, size: int, beta: np.ndarray) -> np.ndarray:
    """n fields of 1/f^beta noise (per-image beta), each scaled to zero mean, unit std."""
    white = rng.standard_normal((n, size, size), dtype=np.float32)
    spec = scipy.fft.rfft2(white, workers=-1)
    fy = np.fft.fftfreq(size).astype(np.float32)[:, None]
    fx = np.fft.rfftfreq(size).astype(np.float32)[None, :]
    f = np.sqrt(fy * fy + fx * fx)
    f[0, 0] = 1.0
    spec *= f[None] ** (-beta.astype(np.float32)[:, None, None] / 2)
    spec[:, 0, 0] = 0.0
    out = scipy.fft.irfft2(spec, s=(size, size), workers=-1)
    out -= out.mean(axis=(1, 2), keepdims=True)
    out /= out.std(axis=(1, 2), keepdims=True) + 1e-6
    return out


def _backgrounds(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """A chunk of clutter backgrounds on the 0-255 scale (float32, before targets)."""

    def u(lo, hi):  # one float32 parameter per image, broadcastable over H x W
        return rng.uniform(lo, hi, n).astype(np.float32)[:, None, None]

    clouds = _power_law_noise(rng, n, size, rng.uniform(2.4, 3.6, n))
    terrain = _power_law_noise(rng, n, size, rng.uniform(1.6, 2.4, n))
    ys = np.arange(size, dtype=np.float32)[None, :, None]
    # horizon: a smooth random line; below it terrain, above it sky with clouds (absent in ~30% of images)
    horizon = u(0.35, 1.3) * size
    slope = u(-0.25, 0.25)
    xs = np.arange(size, dtype=np.float32)[None, None, :]
    line = horizon + slope * (xs - size / 2) + 6 * clouds[:, :1, :]  # wobble from the first cloud row
    ground = scipy.special.expit((ys - line) / np.float32(2))
    sky_level = u(60, 140)
    ground_level = sky_level + u(-40, 60)
    cloud_amp = u(4, 30)
    terrain_amp = u(6, 28)
    bg = (1 - ground) * (sky_level + cloud_amp * clouds) + ground * (ground_level + terrain_amp * terrain)
    # bright edges: ridges of the cloud field (|gradient| of a thresholded field) and the horizon itself
    sharp = np.tanh(np.float32(3) * clouds)
    edges = np.abs(np.diff(sharp, axis=2, prepend=0)) + np.abs(np.diff(sharp, axis=1, prepend=0))
    bg += u(0, 12) * edges
    bg += u(0, 20) * np.exp(-(((ys - line) / 1.5) ** 2))
    # sensor: column fixed-pattern noise + temporal Gaussian noise
    bg += rng.standard_normal((n, 1, size), dtype=np.float32) * u(0, 2.5)
    bg += rng.standard_normal((n, size, size), dtype=np.float32) * u(1, 4)
    return bg.astype(np.float32)


def _place(rng, size: int, radii: list[float], taken: list[tuple[float, float, float]]):
    """Centres for targets of the given radii, apart from each other and the borders."""
    out = []
    for r in radii:
        for _ in range(200):
            cy, cx = rng.uniform(r + 2, size - r - 3, 2)
            if all((cy - y) ** 2 + (cx - x) ** 2 > (r + q + 6) ** 2 for y, x, q in taken):
                taken.append((cy, cx, r))
                out.append((cy, cx))
                break
        else:
            out.append(None)
    return out


def _render_target(img, mask, cy, cx, a, b, theta, amp):
    """Add an elliptical Gaussian (1/4 of its peak at the ellipse edge) and mark the ellipse in ``mask``."""
    size = img.shape[0]
    R = int(np.ceil(max(a, b) * 2.5)) + 1
    y0, y1 = max(int(cy) - R, 0), min(int(cy) + R + 2, size)
    x0, x1 = max(int(cx) - R, 0), min(int(cx) + R + 2, size)
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    dy, dx = yy - cy, xx - cx
    c, s = np.cos(theta), np.sin(theta)
    u, v = (c * dx + s * dy) / a, (-s * dx + c * dy) / b
    d2 = u * u + v * v
    img[y0:y1, x0:x1] += amp * np.exp(-np.log(4.0) * d2)
    inside = d2 <= 1.0
    # the pixel holding the centre always belongs to the target (1 px radius targets)
    inside[int(cy) - y0, int(cx) - x0] = True
    mask[y0:y1, x0:x1] |= inside
    return (slice(y0, y1), slice(x0, x1)), inside


def _local_stats(img, mask, cy, cx, half=15):
    """Mean and std of the non-target pixels in a (2*half+1)^2 window around the target."""
    size = img.shape[0]
    y0, y1 = max(int(cy) - half, 0), min(int(cy) + half + 1, size)
    x0, x1 = max(int(cx) - half, 0), min(int(cx) + half + 1, size)
    win, m = img[y0:y1, x0:x1], mask[y0:y1, x0:x1]
    bg = win[~m]
    return float(bg.mean()), float(bg.std() + 1e-6)


def synth_images(n: int = 500, size: int = 256, seed: int = 0, scr_range=SCR_RANGE):
    """Generate ``n`` (image uint8, mask bool, record dict) triples (in memory)."""
    if n < 1 or size < 32:
        raise InputError(f"synthetic data needs n >= 1 and size >= 32, got n={n}, size={size}")
    rng = np.random.default_rng(seed)
    lo, hi = np.log(scr_range[0]), np.log(scr_range[1])
    for start in range(0, n, CHUNK):
        m = min(CHUNK, n - start)
        bgs = _backgrounds(rng, m, size)
        for k in range(m):
            idx = start + k
            bg = bgs[k]
            img = bg.copy()
            mask = np.zeros((size, size), dtype=bool)
            n_t = int(rng.integers(1, 6))
            radii = rng.uniform(1.0, 9.0, n_t)
            radii = np.sort(radii)[::-1].tolist()  # place big ones first
            taken: list = []
            centres = _place(rng, size, radii, taken)
            targets = []
            # clutter std measured on the background alone, before any target is added
            for r, c in zip(radii, centres):
                if c is None:
                    continue
                cy, cx = c
                ratio = rng.uniform(0.5, 1.0)
                a, b = max(r, 0.7), max(r * ratio, 0.7)
                theta = float(rng.uniform(0, np.pi))
                _, lstd = _local_stats(bg, np.zeros_like(mask), cy, cx)
                scr = float(np.exp(rng.uniform(lo, hi)))
                amp = scr * max(lstd, 2.0)
                _render_target(img, mask, cy, cx, a, b, theta, amp)
                targets.append(
                    dict(
                        y=float(cy),
                        x=float(cx),
                        radius=float(r),
                        axes=[float(a), float(b)],
                        angle=theta,
                        amplitude=float(amp),
                        scr=scr,
                    )
                )
            # point-like distractors: hot pixels and 2-px glints, kept off the targets
            distractors = []
            for _ in range(int(rng.integers(0, 6))):
                py, px = (int(v) for v in rng.integers(2, size - 3, 2))
                if mask[max(py - 4, 0) : py + 5, max(px - 4, 0) : px + 5].any():
                    continue
                amp = float(rng.uniform(15, 60))
                img[py, px] += amp
                if rng.random() < 0.4:
                    img[py, px + 1] += amp * 0.6
                distractors.append(dict(y=py, x=px, amplitude=amp))
            out = np.clip(np.rint(img), 0, 255).astype(np.uint8)
            # measured contrast on the final 8-bit image: target mean minus local background mean
            for t in targets:
                (sl, inside) = _render_target(
                    np.zeros_like(img), np.zeros_like(mask), t["y"], t["x"], t["axes"][0], t["axes"][1], t["angle"], 0.0
                )
                lmean, lstd = _local_stats(out.astype(np.float32), mask, t["y"], t["x"])
                vals = out[sl][inside].astype(np.float32)
                t["n_pixels"] = int(inside.sum())
                t["contrast"] = float(vals.max() - lmean)
                t["measured_scr"] = float((vals.max() - lmean) / lstd)
            yield out, mask, {"id": f"synth_{idx:05d}", "targets": targets, "distractors": distractors}


def generate_synthetic(out_root, n: int = 500, size: int = 256, seed: int = 0, name: str = "synthetic") -> Path:
    """Write a synthetic dataset folder ``out_root/name`` (BasicIRSTD layout) and return its path.

    Refuses to touch an existing folder; builds in a temporary folder and renames it into place.
    """
    out_root = Path(out_root)
    dest = out_root / name
    if dest.exists():
        raise OutputExistsError(f"{dest} already exists; choose another --out or name")
    check_output_folder(out_root)
    out_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=out_root))
    try:
        os.chmod(tmp, default_mode(directory=True))  # mkdtemp makes it 0700; the dataset is renamed from it
        (tmp / "images").mkdir()
        (tmp / "masks").mkdir()
        records, ids = [], []
        s = s2 = 0.0
        npix = 0
        sums = {}
        for img, mask, rec in synth_images(n, size, seed):
            i = rec["id"]
            check_written(cv2.imwrite(str(tmp / "images" / f"{i}.png"), img), dest / "images" / f"{i}.png")
            check_written(cv2.imwrite(str(tmp / "masks" / f"{i}.png"), mask.astype(np.uint8) * 255),
                          dest / "masks" / f"{i}.png")
            f = img.astype(np.float64)
            sums[i] = (float(f.sum()), float((f * f).sum()), f.size)
            records.append(rec)
            ids.append(i)
        train, test = split_train_val(ids, TEST_FRACTION, seed)
        write_split_file(tmp / "img_idx" / f"train_{name}.txt", train)
        write_split_file(tmp / "img_idx" / f"test_{name}.txt", test)
        for i in train:
            a, b, c = sums[i]
            s, s2, npix = s + a, s2 + b, npix + c
        mean = s / npix
        std = max((s2 / npix - mean * mean) ** 0.5, 1e-6)
        write_json(
            tmp / STATS_FILE,
            {"mean": mean, "std": std, "n_pixels": npix, "n_images": len(train), "train_ids_sha1": ids_digest(train)},
        )
        meta = {
            "generator": "fdep.data.synthetic",
            "n": n,
            "size": size,
            "seed": seed,
            "scr_range": list(SCR_RANGE),
            "images": records,
        }
        with open(tmp / "metadata.json", "w", encoding="utf-8") as fh:
            json.dump(meta, fh)
        os.rename(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest
