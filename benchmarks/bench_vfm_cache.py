"""Feature cache vs live VFM: feature discrepancy on random crops and accuracy after a short training run.

Small and CPU-sized: a tiny random DINOv2 (hidden 64, 4 blocks, patch 14), synthetic scenes
(fdep.data.generate_synthetic when available, else simple blobs on smooth clutter made here),
random crops with flips/transposes following the data contract (box + flags). Two FDEP (CO-ISD)
runs with identical seeds and crops differ only in where the VFM maps come from:

- live:   the VFM runs on each (zero-padded, flipped) crop, maps window-aligned to the crop;
- cached: maps of the full image, computed once, resampled onto the crop's grid
          (fdep.vfm.FeatureCache, fp16 memory-mapped).

Prints the relative L2 difference of the maps, step times, and threshold-free pixel scores
(average precision = area under the PR curve, as HSE-P integrates it, and the best F1) of the light
branch (what "fdep" deploys) and the main branch on held-out images, for each seed.

    PYTHONPATH=src python benchmarks/bench_vfm_cache.py [--steps 150] [--seeds 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from fdep.framework import FDEPModel
from fdep.imageio import read_image, read_mask, write_image_png, write_mask_png
from fdep.losses import CoISDLoss
from fdep.models import Features, SIRSTNet, create_model, list_models
from fdep.vfm import FeatureCache, window_align, write_feature_cache
from fdep.vfm.backbone import VFM
from fdep.vfm.cache import dataset_images


def make_dataset(root: Path, n: int, size: int) -> Path:
    """A BasicIRSTD folder: fdep.data's synthetic scenes when present, else blobs on smooth clutter."""
    try:
        from fdep.data import generate_synthetic

        return Path(generate_synthetic(root, n=n, size=size, seed=0, name="synth"))
    except ImportError:
        pass
    rng = np.random.default_rng(0)
    folder = root / "synth"
    yy, xx = np.mgrid[:size, :size]
    for i in range(n):
        low = rng.normal(size=(size // 8 + 1, size // 8 + 1))
        clutter = np.kron(low, np.ones((8, 8)))[:size, :size]
        img = 90 + 25 * clutter + rng.normal(0, 4, (size, size))
        mask = np.zeros((size, size), bool)
        for _ in range(rng.integers(1, 4)):
            cy, cx, r = rng.uniform(4, size - 4), rng.uniform(4, size - 4), rng.uniform(1.0, 3.0)
            blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r**2))
            img += rng.uniform(25, 60) * blob
            mask |= blob > 0.5
        write_image_png(folder / "images" / f"{i:04d}.png", np.clip(img, 0, 255).astype(np.uint8))
        write_mask_png(folder / "masks" / f"{i:04d}.png", mask)
    return folder


class SmallNet(SIRSTNet):
    """Fallback network when the zoo is not registered here (3 levels, top 32 ch at stride 4)."""

    top_channels, top_stride = 32, 4

    def __init__(self, in_chans=1):
        super().__init__(in_chans)
        c = torch.nn.Conv2d

        def cbr(cin, cout, stride=1):
            return torch.nn.Sequential(c(cin, cout, 3, stride, 1, bias=False), torch.nn.BatchNorm2d(cout),
                                       torch.nn.ReLU(inplace=True))

        self.e0, self.e1, self.e2 = cbr(in_chans, 16), cbr(16, 32, 2), cbr(32, 32, 2)
        self.d1, self.d0, self.head = cbr(64, 16), cbr(32, 16), c(16, 1, 1)

    def encode(self, x):
        s0 = self.e0(x)
        s1 = self.e1(s0)
        return Features(self.e2(s1), (s0, s1))

    def decode(self, f):
        s0, s1 = f.skips
        up = torch.nn.functional.interpolate
        d1 = self.d1(torch.cat([up(f.top, size=s1.shape[-2:], mode="bilinear"), s1], 1))
        d0 = self.d0(torch.cat([up(d1, size=s0.shape[-2:], mode="bilinear"), s0], 1))
        return self.head(d0)


def random_crop(img, mask, crop, rng):
    """The data contract's crop: window (y0, x0, crop, crop) possibly past the image (zero padding in
    normalised space), then transpose, hflip, vflip."""
    H, W = img.shape
    y0 = int(rng.integers(min(0, H - crop), max(0, H - crop) + 1))
    x0 = int(rng.integers(min(0, W - crop), max(0, W - crop) + 1))
    out_i, out_m = np.zeros((crop, crop), np.float32), np.zeros((crop, crop), np.float32)
    ys, xs = slice(max(y0, 0), min(y0 + crop, H)), slice(max(x0, 0), min(x0 + crop, W))
    out_i[ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0] = img[ys, xs]
    out_m[ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0] = mask[ys, xs]
    flags = [bool(rng.random() < 0.5) for _ in range(3)]  # transpose, hflip, vflip

    def augment(a: np.ndarray) -> np.ndarray:
        if flags[0]:
            a = a.T
        if flags[1]:
            a = a[:, ::-1]
        if flags[2]:
            a = a[::-1, :]
        return np.ascontiguousarray(a)

    out_i, out_m = augment(out_i), augment(out_m)
    return out_i, out_m, (y0, x0, crop, crop), flags


def build_net(name: str):
    if name != "small" and name in list_models():
        return create_model(name), name
    note = "" if name == "small" else f" (fallback: {name} not registered here)"
    return SmallNet(), "SmallNet" + note


def scores(prob: np.ndarray, gt: np.ndarray) -> tuple[float, float]:
    """Threshold-free pixel scores: average precision (area under the PR curve, like HSE-P) and best F1."""
    order = np.argsort(-prob, kind="stable")
    hits = gt[order].astype(np.float64)
    tp = np.cumsum(hits)
    precision = tp / np.arange(1, len(hits) + 1)
    recall = tp / max(hits.sum(), 1)
    ap = float(np.sum(np.diff(np.concatenate([[0.0], recall])) * precision))
    f1 = float(np.max(2 * precision * recall / np.maximum(precision + recall, 1e-12)))
    return ap, f1


def run(mode, seed, train, test, vfm, cache, mean, std, args):
    torch.manual_seed(seed)
    net, _ = build_net(args.network)
    model = FDEPModel(net, vfm, variant="fdep", input_mean=mean, input_std=std)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr)
    loss_fn = CoISDLoss("eedm")
    rng = np.random.default_rng(seed)
    model.train()
    t_steps = 0.0
    for _ in range(args.steps):
        picks = rng.integers(0, len(train), args.batch)
        items = [(train[i][0], *random_crop(train[i][1], train[i][2], args.crop, rng)) for i in picks]
        x = torch.from_numpy(np.stack([(it[1] - mean) / std * (it[1] != 0) for it in items]))[:, None].float()
        t = torch.from_numpy(np.stack([it[2] for it in items]))[:, None]
        t0 = time.perf_counter()
        feats = None
        if mode == "cached":
            batch = {"id": [it[0] for it in items], "box": torch.tensor([it[3] for it in items]),
                     "transpose": torch.tensor([it[4][0] for it in items]),
                     "hflip": torch.tensor([it[4][1] for it in items]),
                     "vflip": torch.tensor([it[4][2] for it in items])}
            feats = cache.for_batch(batch)
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x, vfm_features=feats), t).backward()
        opt.step()
        t_steps += time.perf_counter() - t0
    model.eval()
    light_p, main_p, gts = [], [], []
    with torch.no_grad():
        for _, img, mask in test:
            x = torch.from_numpy((img - mean) / std)[None, None].float()
            light_p.append(torch.sigmoid(model(x))[0, 0].numpy())
            model.variant = "fdep-main"  # evaluate the main branch too (live VFM on the full image)
            main_p.append(torch.sigmoid(model(x))[0, 0].numpy())
            model.variant = "fdep"
            gts.append(mask)
    cat = np.concatenate
    gt = cat([g.ravel() for g in gts]).astype(bool)
    return (*scores(cat([p.ravel() for p in light_p]), gt), *scores(cat([p.ravel() for p in main_p]), gt),
            1e3 * t_steps / args.steps)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=40, help="synthetic images (3/4 train, 1/4 test)")
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--crop", type=int, default=64)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--network", default="small", help="'small' (a 3-level net defined here) or a registered name")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1; 0 keeps torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from transformers import Dinov2Config, Dinov2Model

    torch.manual_seed(123)
    vfm = VFM(Dinov2Model(Dinov2Config(hidden_size=64, num_hidden_layers=4, num_attention_heads=4,
                                       intermediate_size=128, image_size=56, patch_size=14)), "tiny-dinov2")
    _, net_name = build_net(args.network)
    with tempfile.TemporaryDirectory() as tmp:
        folder = make_dataset(Path(tmp), args.n, args.size)
        data = [(i, read_image(p) / 255.0, read_mask(folder / "masks" / f"{i}.png").astype(np.float32))
                for i, p in dataset_images(folder)]
        split = len(data) * 3 // 4
        train, test = data[:split], [(i, img, m.astype(bool)) for i, img, m in data[split:]]
        mean = float(np.mean([d[1].mean() for d in train])) * 255
        std = float(np.mean([d[1].std() for d in train])) * 255
        train = [(i, img * 255, m) for i, img, m in train]
        test = [(i, img * 255, m) for i, img, m in test]
        cache = FeatureCache(write_feature_cache(vfm, ((i, img / 255) for i, img, _ in train), f"{tmp}/cache"))

        # 1. feature discrepancy, cached-crop vs live-crop maps, by source of difference
        rel = {}
        for kind in ("patch-aligned, no flips", "any offset, no flips", "any offset + flips"):
            rng = np.random.default_rng(0)
            acc = np.zeros(len(vfm.layers))
            n_crops = 24
            for _ in range(n_crops):
                img_id, img, mask = train[int(rng.integers(0, len(train)))]
                crop_i, _, box, flags = random_crop(img, mask, args.crop, rng)
                if kind != "any offset + flips":
                    y0 = box[0] // 14 * 14 if kind.startswith("patch") else box[0]
                    x0 = box[1] // 14 * 14 if kind.startswith("patch") else box[1]
                    y0, x0 = max(y0, 0), max(x0, 0)
                    crop_i = np.zeros((args.crop, args.crop), np.float32)
                    sub_ = img[y0 : y0 + args.crop, x0 : x0 + args.crop]
                    crop_i[: sub_.shape[0], : sub_.shape[1]] = sub_
                    box, flags = (y0, x0, args.crop, args.crop), (False, False, False)
                live = window_align(vfm(torch.from_numpy(crop_i / 255.0)[None, None].float()), crop_i.shape, 14)
                cached = cache.get(img_id, box, *flags)
                for k in range(len(vfm.layers)):
                    acc[k] += float((cached[k] - live[k][0]).norm() / live[k][0].norm()) / n_crops
            rel[kind] = acc
        print(f"network {net_name}; tiny random DINOv2 (hidden 64, 4 blocks, patch 14); {len(train)} train / "
              f"{len(test)} test images {args.size}x{args.size}, crops {args.crop}, batch {args.batch}, "
              f"{args.steps} steps, CPU {torch.get_num_threads()} threads")
        for kind, acc in rel.items():
            print(f"relative L2 difference cached vs live maps ({kind}): "
                  + ", ".join(f"L{layer} {r:.3f}" for layer, r in zip(vfm.layers, acc)))
        print(f"| {'seed':>4s} | {'mode':6s} | {'light AP':>9s} | {'light bestF1':>12s} | {'main AP':>8s} | "
              f"{'main bestF1':>11s} | {'ms/step':>7s} |")
        print("|------|--------|-----------|--------------|----------|-------------|---------|")
        res = {"live": [], "cached": []}
        for seed in range(args.seeds):
            for mode in ("live", "cached"):
                r = run(mode, seed, train, test, vfm, cache, mean, std, args)
                res[mode].append(r)
                print(f"| {seed:4d} | {mode:6s} | {r[0]:9.4f} | {r[1]:12.4f} | {r[2]:8.4f} | {r[3]:11.4f} "
                      f"| {r[4]:7.1f} |")
        live, cached = np.mean(res["live"], 0), np.mean(res["cached"], 0)
        print(f"mean over seeds: light AP live {live[0]:.4f} vs cached {cached[0]:.4f} "
              f"(diff {cached[0] - live[0]:+.4f}); "
              f"main AP live {live[2]:.4f} vs cached {cached[2]:.4f} (diff {cached[2] - live[2]:+.4f}); "
              f"step time cached/live {cached[4] / live[4]:.3f}")


if __name__ == "__main__":
    main()
