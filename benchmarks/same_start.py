"""Train the authors' network and fdep's from the same initial weights on the same batches, side by side.

Both networks start from one draw of the authors' initialisation (PAL's ``<X>_No_Sigmoid`` built under
``--seed``, its tensors copied into fdep's network with ``compare_with_pal``'s mapping). Each step feeds
both the same batch of fdep's ``protocol: authors`` pipeline and the same dropout draws; the authors'
side takes their ``edgeSCE_loss`` and ``AdamW(lr=1e-3)``, fdep's side its own criterion and
``SIRSTModule.configure_optimizers``. fp32 throughout. Per epoch it prints and writes: both losses,
the largest step-loss difference, p(target)/p(background) of the training batches, and the logits'
spatial std on the first test image. Equal columns mean fdep's network, loss and optimiser train
exactly as the authors' do from that start; a gap shows at the step where the two part.

    PYTHONPATH=src python benchmarks/same_start.py --pal PAL --model alcnet --data data/NUAA-SIRST \\
        --epochs 12 --seed 0 --out same_start_alcnet.csv
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import torch

from authors_loop import first_test_image, loop_arguments
from equality_harness import transfer
from pal_checkout import authors_edges, build_pal, is_deep, use_pal_checkout
from pal_mapping import build_mapping


def _last(out):
    """The final map of a network's output (a list for deep supervision, a dict for fdep's module)."""
    if isinstance(out, dict):
        out = out.get("main", out.get("light"))
    return out[-1] if isinstance(out, (list, tuple)) else out


def main(argv: list[str] | None = None) -> int:
    a = loop_arguments(__doc__, 12, argv)
    from fdep.training.config import TrainConfig
    from fdep.training.datamodule import SIRSTDataModule, normalisation
    from fdep.training.module import SIRSTModule

    use_pal_checkout(a.pal)
    from loss.Edge_loss import edgeSCE_loss

    cfg_dict = {"protocol": "authors", "model": a.model, "variant": "original", "data": a.data,
                "crop": a.crop, "num_workers": 0, "seed": a.seed, "precision": "32-true"}
    cfg = TrainConfig.from_dict(cfg_dict)
    mean, std = normalisation(cfg)
    cfg = cfg.replace(mean=mean, std=std)
    dm = SIRSTDataModule(cfg)
    dm.setup("fit")
    loader = dm.train_dataloader()
    probe = first_test_image(dm)
    torch.manual_seed(a.seed)
    pal = build_pal(Path(a.pal), a.model).train()
    module = SIRSTModule(**cfg.to_dict())
    ours = module.network
    transfer(pal, ours, build_mapping(a.model, pal, ours, probe))
    module.train()
    pal_opt = torch.optim.AdamW(pal.parameters(), lr=1e-3)
    opt = module.configure_optimizers()
    opt = opt["optimizer"] if isinstance(opt, dict) else opt
    deep = is_deep(a.model)
    step = 0
    with open(a.out, "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["epoch", "loss_authors", "loss_fdep", "max_step_loss_diff", "p_target_authors",
                     "p_background_authors", "p_target_fdep", "p_background_fdep", "logit_std_authors",
                     "logit_std_fdep", "max_logit_diff_test0", "seconds"])
        for epoch in range(a.epochs):
            t0 = time.perf_counter()
            sums = {k: [0.0, 0, 0.0, 0] for k in ("authors", "fdep")}
            losses = {"authors": [], "fdep": []}
            worst = 0.0
            pal.train()
            module.train()
            for batch in loader:
                y = batch["mask"]
                x = module.channels(batch["image"])
                torch.manual_seed(a.seed * 1_000_003 + step)
                out_a = pal(x)
                outs = list(out_a) if deep else [out_a]
                loss_a = sum(edgeSCE_loss(o, y, authors_edges(y)) for o in outs)
                pal_opt.zero_grad()
                loss_a.backward()
                pal_opt.step()
                torch.manual_seed(a.seed * 1_000_003 + step)
                out_f = module(x)
                loss_f = module.criterion(out_f, y)
                opt.zero_grad()
                loss_f.backward()
                opt.step()
                step += 1
                worst = max(worst, abs(float(loss_a.detach()) - float(loss_f.detach())))
                losses["authors"].append(float(loss_a.detach()))
                losses["fdep"].append(float(loss_f.detach()))
                with torch.no_grad():
                    on = y > 0.5
                    for k, o in (("authors", _last(out_a)), ("fdep", _last(out_f))):
                        p = torch.sigmoid(o.float())
                        s = sums[k]
                        s[0] += float(p[on].sum())
                        s[1] += int(on.sum())
                        s[2] += float(p[~on].sum())
                        s[3] += int((~on).sum())
            pal.eval()
            module.eval()
            with torch.no_grad():
                la, lf = _last(pal(probe)), _last(module(probe))
            pt = {k: (s[0] / max(1, s[1]), s[2] / max(1, s[3])) for k, s in sums.items()}
            row = [epoch + 1, sum(losses["authors"]) / len(losses["authors"]),
                   sum(losses["fdep"]) / len(losses["fdep"]), worst, *pt["authors"], *pt["fdep"],
                   float(la.std()), float(lf.std()), float((la - lf).abs().max()), time.perf_counter() - t0]
            wr.writerow(row)
            f.flush()
            print(f"epoch {row[0]}  loss authors {row[1]:.5f} fdep {row[2]:.5f} (max step diff {row[3]:.2e})  "
                  f"p(t)/p(b) authors {row[4]:.4f}/{row[5]:.4f} fdep {row[6]:.4f}/{row[7]:.4f}  "
                  f"logit std authors {row[8]:.5f} fdep {row[9]:.5f} (max diff {row[10]:.2e})  ({row[11]:.1f} s)",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
