"""Train the authors' own network, loss and optimiser on NUAA-SIRST, epoch by epoch, beside an fdep run.

The network is PAL's ``<X>_No_Sigmoid`` from a checkout (``--pal``), the loss their
``edgeSCE_loss`` with their edge band, the optimiser ``AdamW(lr=1e-3)``; on a CPU their
``torch.cuda.amp.autocast`` does nothing, so this runs fp32 as their script would there. The
batches come from fdep's ``protocol: authors`` data pipeline (their crop, SomeOf augmentation,
per-image-mean normalisation, 3 channels, last partial batch kept), which equals albumentations
1.3.0 operation by operation (docs/training.md). Per epoch it writes a CSV row: training loss, the
mean probability on target and on background pixels of the training batches, and the spatial std
of the logits on the first test image (0 means the output no longer depends on the input).

    PYTHONPATH=src python benchmarks/authors_loop.py --pal PAL --model alcnet --data data/NUAA-SIRST \\
        --epochs 25 --out authors_alcnet.csv
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import torch

from pal_checkout import authors_edges, build_pal, is_deep, pal_final, use_pal_checkout


def loop_arguments(doc: str, epochs: int, argv: list[str] | None) -> argparse.Namespace:
    """The options of the scripts that train the authors' loop on fdep's batches (this one, same_start.py)."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--pal", required=True, help="a PAL checkout (model/, loss/, components/)")
    ap.add_argument("--model", default="alcnet")
    ap.add_argument("--data", required=True)
    ap.add_argument("--epochs", type=int, default=epochs)
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    return ap.parse_args(argv)


def first_test_image(dm) -> torch.Tensor:
    """The first validation image of fdep's datamodule, 3 channels, cropped to multiples of 32 (a fixed probe)."""
    probe = dm.val_set[0]["image"][None].expand(-1, 3, -1, -1)
    h, w = probe.shape[-2] // 32 * 32, probe.shape[-1] // 32 * 32
    return probe[..., :h, :w].contiguous()


def main(argv: list[str] | None = None) -> int:
    a = loop_arguments(__doc__, 25, argv)
    from fdep.training.config import TrainConfig
    from fdep.training.datamodule import SIRSTDataModule

    use_pal_checkout(a.pal)
    from loss.Edge_loss import edgeSCE_loss

    torch.manual_seed(a.seed)
    cfg = TrainConfig.from_dict({"protocol": "authors", "model": a.model, "variant": "original", "data": a.data,
                                 "crop": a.crop, "num_workers": 0, "seed": a.seed})
    dm = SIRSTDataModule(cfg)
    dm.setup("fit")
    loader = dm.train_dataloader()
    probe = first_test_image(dm)
    net = build_pal(Path(a.pal), a.model).train()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    deep = is_deep(a.model)
    with open(a.out, "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["epoch", "loss", "p_target", "p_background", "logit_std_test0", "seconds"])
        for epoch in range(a.epochs):
            t0 = time.perf_counter()
            sums = [0.0, 0, 0.0, 0]
            losses = []
            net.train()
            for batch in loader:
                x = batch["image"].expand(-1, 3, -1, -1)
                y = batch["mask"]
                edge = authors_edges(y)
                out = net(x)
                outs = list(out) if deep else [out]
                loss = sum(edgeSCE_loss(o, y, edge) for o in outs)
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(float(loss.detach()))
                with torch.no_grad():
                    p = torch.sigmoid(pal_final(outs, a.model))
                    on = y > 0.5
                    sums[0] += float(p[on].sum())
                    sums[1] += int(on.sum())
                    sums[2] += float(p[~on].sum())
                    sums[3] += int((~on).sum())
            net.eval()
            with torch.no_grad():
                o = pal_final(net(probe), a.model)
            row = [epoch + 1, sum(losses) / len(losses), sums[0] / max(1, sums[1]), sums[2] / max(1, sums[3]),
                   float(o.std()), time.perf_counter() - t0]
            wr.writerow(row)
            f.flush()
            e, loss_, pt, pb, sd, sec = row
            print(f"epoch {e} loss {loss_:.4f} p(target) {pt:.4f} p(background) {pb:.4f} logit std {sd:.5f} "
                  f"({sec:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
