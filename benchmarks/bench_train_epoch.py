"""Time whole training epochs of fdep (``protocol: authors``) and of the authors' own loop on the same data.

The authors' side is ``train_model.py``'s ``train_fn`` (generic branch) from a PAL checkout
(``--pal``): their ``SirstDataset`` (random crop, the albumentations 1.3.0 ``train_transform`` of
``train_model.py:560-584``, edge band) in a shuffled ``DataLoader`` of batch 16, their
``<X>_No_Sigmoid`` network, ``edgeSCE_loss``, ``AdamW(lr=1e-3)``, ``torch.cuda.amp`` autocast and
GradScaler (both inactive on a CPU, so fp32 there), and their per-batch ``SigmoidMetric`` /
``SamplewiseSigmoidMetric`` updates. It needs albumentations 1.3.0 (not an fdep dependency: run
this script from an environment that has it). The fdep side is ``fdep train``'s own parts: the
``SIRSTDataModule`` and ``SIRSTModule`` of the same config, fitted by a Lightning ``Trainer`` with
the precision and memory format ``fdep train`` would choose (``--precision``, default auto);
validation is left out on both sides (it is not part of ``train_fn``).

Both train on the training split of ``--data`` (BasicIRSTD layout; the authors' side reads it
through a temporary folder of symlinks, as their script wants one folder of training images).
Each side runs ``--epochs`` epochs; the first is warm-up, the median of the others is reported,
and the sides alternate epoch by epoch (fdep, authors, fdep, ...) so a change of load hits both.
Prints each epoch's time and the ratio fdep / authors (below 1: fdep is faster).

    python benchmarks/bench_train_epoch.py --pal /path/to/PAL --data data/NUAA-SIRST --model acm --epochs 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

from pal_checkout import build_pal, is_deep, use_pal_checkout


def _authors_transform(mean, std):
    """``train_model.py:560-584`` verbatim (albumentations 1.3.0)."""
    import albumentations as A
    from albumentations.pytorch import ToTensorV2

    return A.Compose([
        A.SomeOf([
            A.VerticalFlip(p=0.5),
            A.HorizontalFlip(p=0.5),
            A.Transpose(p=0.5),
            A.RandomRotate90(p=0.5),
            A.RandomBrightness(limit=0.3, p=0.2),
            A.RandomContrast(limit=0.3, p=0.2),
            A.Rotate(limit=45, p=0.3),
            A.ShiftScaleRotate(shift_limit=0.1, scale_limit=0, rotate_limit=0, p=0.5),
            A.ShiftScaleRotate(shift_limit=0, scale_limit=0.2, rotate_limit=0, p=0.5),
            A.GaussNoise(var_limit=(10.0, 50.0), mean=0, always_apply=False, p=0.2),
            A.NoOp(),
            A.NoOp(),
        ], 3, p=0.5),
        A.Normalize(mean=mean, std=std, max_pixel_value=255.0),
        ToTensorV2(),
    ])


def _numpy2_samplewise(base):
    """Their ``SamplewiseSigmoidMetric`` with its per-sample histograms read as scalars: their code stores a
    1-element array into an array element, which NumPy 2 refuses; the work done per batch is the same."""
    import numpy as np

    class Samplewise(base):
        def batch_intersection_union(self, output, target):
            predict = (output.cpu().detach().numpy() > self.score_thresh).astype("int64")
            target = (target.cpu().detach().numpy() > self.score_thresh).astype("int64")
            intersection = predict * (predict == target)
            n = intersection.shape[0]
            inter, union = np.zeros(n), np.zeros(n)
            for b in range(n):
                i = np.histogram(intersection[b], bins=1, range=(1, 1))[0][0]
                p = np.histogram(predict[b], bins=1, range=(1, 1))[0][0]
                t = np.histogram(target[b], bins=1, range=(1, 1))[0][0]
                inter[b], union[b] = i, p + t - i
            return inter, union

    return Samplewise


class AuthorsEpoch:
    """The authors' ``train_fn`` over their loader, one call per epoch."""

    def __init__(self, pal: Path, model: str, train_dir: Path, crop: int, mean, std, workers: int) -> None:
        from components.dataset_final_edge_copy_paste_final_2_img_path import SirstDataset
        from components.metric_new_crop import SamplewiseSigmoidMetric, SigmoidMetric
        from loss.Edge_loss import edgeSCE_loss
        from torch.utils.data import DataLoader

        ds = SirstDataset(image_dir=str(train_dir / "image"), mask_dir=str(train_dir / "mask"), patch_size=crop,
                          transform=_authors_transform(mean, std), mode="train")
        self.loader = DataLoader(ds, batch_size=16, num_workers=workers, pin_memory=torch.cuda.is_available(),
                                 shuffle=True)
        self.model = build_pal(pal, model)
        self.loss_fn = edgeSCE_loss
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=1e-3)
        self.scaler = torch.amp.GradScaler("cuda", enabled=torch.cuda.is_available())
        self.iou, self.niou = SigmoidMetric(), _numpy2_samplewise(SamplewiseSigmoidMetric)(1, score_thresh=0.5)
        self.steps = 0

    def __call__(self) -> float:
        t0 = time.perf_counter()
        self.model.train()
        self.iou.reset()
        self.niou.reset()
        for data, targets, edge in self.loader:
            targets = targets.unsqueeze(1)
            with torch.autocast("cuda", enabled=torch.cuda.is_available()):
                out = self.model(data)
                loss = self.loss_fn(out, targets, edge)
            pred = torch.sigmoid(out)
            self.iou.update(pred, targets)
            self.niou.update(pred, targets)
            self.iou.get()
            self.niou.get()
            self.opt.zero_grad()
            self.scaler.scale(loss).backward()
            self.scaler.step(self.opt)
            self.scaler.update()
            self.steps += 1
        return time.perf_counter() - t0


class FdepEpochs:
    """fdep's datamodule and module of a ``protocol: authors`` config, fitted for ``epochs`` epochs by a Lightning
    Trainer; after each fdep epoch ``between()`` runs (the authors' epoch), so the two sides alternate."""

    def __init__(self, data: Path, model: str, crop: int, precision: str, workers: int, seed: int) -> None:
        from fdep.training.config import TrainConfig
        from fdep.training.datamodule import SIRSTDataModule, normalisation
        from fdep.training.module import SIRSTModule
        from fdep.training.precision import effective_precision

        cfg = TrainConfig.from_dict({"protocol": "authors", "model": model, "variant": "original",
                                     "data": str(data), "crop": crop, "num_workers": workers, "seed": seed,
                                     "precision": precision, "accelerator": "cpu"})
        cfg = cfg.replace(precision=effective_precision(cfg))
        mean, std = normalisation(cfg)
        self.cfg = cfg.replace(mean=mean, std=std)
        self.dm = SIRSTDataModule(self.cfg)
        self.module = SIRSTModule(**self.cfg.to_dict())

    def run(self, epochs: int, between) -> list[float]:
        import lightning as L

        times: list[float] = []
        t0 = [0.0]

        class Alternate(L.Callback):
            def on_train_epoch_start(self, trainer, module):
                t0[0] = time.perf_counter()

            def on_train_epoch_end(self, trainer, module):
                times.append(time.perf_counter() - t0[0])
                between(len(times), times[-1])

        trainer = L.Trainer(max_epochs=epochs, accelerator="cpu", devices=1, precision=self.cfg.precision,
                            logger=False, enable_checkpointing=False, enable_progress_bar=False,
                            enable_model_summary=False, limit_val_batches=0, num_sanity_val_steps=0,
                            callbacks=[Alternate()])
        trainer.fit(self.module, datamodule=self.dm)
        return times


def _link_training_split(data: Path, tmp: Path) -> tuple[Path, int]:
    """``tmp/image`` and ``tmp/mask``: symlinks to the training split's files (the authors' folder layout)."""
    from fdep.data import load_dataset

    ds = load_dataset(str(data), split="train")
    (tmp / "image").mkdir()
    (tmp / "mask").mkdir()
    for s in ds.samples:
        img, msk = Path(s.image), Path(s.mask)
        os.symlink(img.resolve(), tmp / "image" / img.name)
        os.symlink(msk.resolve(), tmp / "mask" / img.name)
    return tmp, len(ds.samples)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pal", required=True, help="a YuChuang1205/PAL checkout")
    ap.add_argument("--data", required=True, help="a dataset folder in the BasicIRSTD layout")
    ap.add_argument("--model", default="acm")
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=3, help="per side; the first is warm-up")
    ap.add_argument("--precision", default="auto", help="fdep's precision (auto: what fdep train picks)")
    ap.add_argument("--workers", type=int, default=0, help="DataLoader workers, both sides")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None, help="also write the figures here")
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    if is_deep(a.model):
        ap.error("deep-supervision networks take another branch of train_fn; this script times the generic one")
    import lightning  # noqa: F401  (before the torchvision stand-in: Lightning probes for torchvision on import)

    import fdep.training.module  # noqa: F401

    use_pal_checkout(a.pal)
    torch.manual_seed(a.seed)
    with tempfile.TemporaryDirectory(prefix="fdep-bench-epoch-") as tmp:
        train_dir, n = _link_training_split(Path(a.data), Path(tmp))
        fdep = FdepEpochs(Path(a.data), a.model, a.crop, a.precision, a.workers, a.seed)
        mean, std = fdep.cfg.mean / 255.0, fdep.cfg.std / 255.0
        authors = AuthorsEpoch(Path(a.pal), a.model, train_dir, a.crop, (mean,) * 3, (std,) * 3, a.workers)
        times: dict[str, list[float]] = {"fdep": [], "authors": []}

        def authors_epoch(epoch: int, fdep_seconds: float) -> None:
            times["authors"].append(authors())
            print(f"epoch {epoch}: fdep {fdep_seconds:7.2f} s, authors {times['authors'][-1]:7.2f} s", flush=True)

        times["fdep"] = fdep.run(a.epochs, authors_epoch)
    timed = {k: v[1:] or v for k, v in times.items()}
    med = {k: statistics.median(v) for k, v in timed.items()}
    ratio = med["fdep"] / med["authors"]
    print(f"{a.model}, {n} training images, batch 16, crop {a.crop}, {torch.get_num_threads()} thread(s), "
          f"fdep precision {fdep.cfg.precision}, authors fp32 (CPU): median epoch fdep {med['fdep']:.2f} s, "
          f"authors {med['authors']:.2f} s, fdep / authors = {ratio:.2f}")
    if a.json:
        Path(a.json).write_text(json.dumps({"model": a.model, "images": n, "crop": a.crop,
                                            "threads": torch.get_num_threads(), "precision": fdep.cfg.precision,
                                            "epochs": times, "median": med, "ratio": ratio}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
