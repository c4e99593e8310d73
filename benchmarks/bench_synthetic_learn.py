"""Is the synthetic dataset learnable? A tiny U-Net trained the same way on synthetic and on NUAA-SIRST.

Trains a 3-level U-Net (16-32-64 channels, ~0.1 M parameters) for the same
number of steps with the same recipe (TrainTransform crops of --crop (256), target_prob
0.5, flips/transposes; AdamW 1e-3; BCE + soft IoU) on the synthetic training
split and, when present, on the NUAA-SIRST training split, then scores both on
their test splits (full images padded to a multiple of 32 and cropped back).
Prints the HSE of each and the synthetic/NUAA ratio measured in the same run,
next to the white top-hat baseline of bench_synthetic.py.

    PYTHONPATH=src python benchmarks/bench_synthetic_learn.py --steps 600 [--nuaa DIR] [--device cuda]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader

from bench_synthetic import normalise, reference_metrics, tophat
from common import default_device, shared_data
from fdep.data import TrainTransform, crop_to, generate_synthetic, load_dataset, pad_to_multiple
from fdep.imageio import read_image, read_mask


def block(i, o):
    return nn.Sequential(
        nn.Conv2d(i, o, 3, padding=1),
        nn.BatchNorm2d(o),
        nn.ReLU(inplace=True),
        nn.Conv2d(o, o, 3, padding=1),
        nn.BatchNorm2d(o),
        nn.ReLU(inplace=True),
    )


class TinyUNet(nn.Module):
    def __init__(self, c=16):
        super().__init__()
        self.e1, self.e2, self.e3 = block(1, c), block(c, 2 * c), block(2 * c, 4 * c)
        self.d2, self.d1 = block(6 * c, 2 * c), block(3 * c, c)
        self.head = nn.Conv2d(c, 1, 1)

    def forward(self, x):
        a = self.e1(x)
        b = self.e2(F.max_pool2d(a, 2))
        c = self.e3(F.max_pool2d(b, 2))
        b = self.d2(torch.cat([F.interpolate(c, scale_factor=2.0), b], 1))
        a = self.d1(torch.cat([F.interpolate(b, scale_factor=2.0), a], 1))
        return self.head(a)


def loss_fn(logits, mask):
    p = torch.sigmoid(logits)
    inter = (p * mask).sum((1, 2, 3))
    soft_iou = 1 - (inter + 1) / (p.sum((1, 2, 3)) + mask.sum((1, 2, 3)) - inter + 1)
    return F.binary_cross_entropy_with_logits(logits, mask) + soft_iou.mean()


def train_and_score(spec, steps, device, crop=256, workers=4, seed=0):
    torch.manual_seed(seed)
    ds = load_dataset(spec, "train", transform=TrainTransform(crop_size=crop, target_prob=0.5, seed=seed))
    net = TinyUNet().to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(seed)
    step, epoch = 0, 0
    t = time.perf_counter()
    net.train()
    while step < steps:
        ds.set_epoch(epoch)
        for batch in DataLoader(ds, batch_size=16, shuffle=True, num_workers=workers, generator=g, drop_last=True):
            x, m = batch["image"].to(device), batch["mask"].to(device)
            loss = loss_fn(net(x), m)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if step >= steps:
                break
        epoch += 1
    train_s = time.perf_counter() - t
    test = load_dataset(spec, "test")
    net.eval()
    preds, gts = [], []
    with torch.no_grad():
        for i in range(len(test)):
            item = test[i]
            x, size = pad_to_multiple(item["image"][None].to(device), 32)
            preds.append(torch.sigmoid(crop_to(net(x), size))[0, 0].double().cpu().numpy())
            gts.append(item["mask"][0].numpy() > 0.5)
    return reference_metrics(preds, gts), train_s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--device", default=default_device())
    ap.add_argument("--nuaa", type=Path, default=shared_data() / "NUAA-SIRST")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        syn = generate_synthetic(tmp, n=500, size=256, seed=0)
        print(f"generated 500 synthetic images in {time.perf_counter() - t:.2f} s")
        sets = {"synthetic": syn}
        if (args.nuaa / "images").is_dir():
            sets["NUAA-SIRST"] = args.nuaa
        print(f"tiny U-Net, {args.steps} steps of batch 16, crops {args.crop}, on {args.device}; SPEC metrics x100")
        print(f"{'dataset':<12}{'method':<10}{'HSE-P':>8}{'HSE-T':>8}{'HSE':>8}{'IoU':>8}{'Pd':>8}{'Fa x1e6':>10}")
        hse = {}
        for name, spec in sets.items():
            test = load_dataset(spec, "test")
            th = reference_metrics(
                [normalise(tophat(read_image(s.image))) for s in test.samples],
                [read_mask(s.mask) for s in test.samples],
            )
            r, train_s = train_and_score(spec, args.steps, args.device, args.crop, args.workers)
            for method, m in (("top-hat", th), ("tiny-unet", r)):
                print(
                    f"{name:<12}{method:<10}{100 * m['hse_p']:8.2f}{100 * m['hse_t']:8.2f}{100 * m['hse']:8.2f}"
                    f"{100 * m['iou']:8.2f}{100 * m['pd']:8.2f}{1e6 * m['fa']:10.1f}"
                )
            print(f"  ({name}: training took {train_s:.1f} s)")
            hse[name] = r["hse"]
        if len(hse) == 2 and hse["NUAA-SIRST"] > 0:
            print(f"tiny U-Net HSE synthetic / NUAA-SIRST = {hse['synthetic'] / hse['NUAA-SIRST']:.2f}")


if __name__ == "__main__":
    main()
