"""Time one training step of fdep (``protocol: authors``) and of the authors' own loop, same network, batch, device.

The authors' side is their network class from a PAL checkout (``--pal``), their ``edgeSCE_loss``
(``loss/Edge_loss.py``), AdamW(lr 1e-3) and, on CUDA, ``torch.cuda.amp.autocast`` + GradScaler,
exactly as ``train_model.py``'s ``train_fn`` (on a CPU their autocast does nothing: fp32). The fdep
side is ``SIRSTModule.training_step``'s work (FDEPModel forward, CO-ISD/EEDM released loss, the
p(target)/p(background) tracking) with the precision ``fdep train`` would use (``--precision``,
default auto: bf16 on CPUs with AMX/AVX512-BF16, the authors' fp16 on CUDA) and channels_last
where asked. Both see the same random batches; the first ``--warmup`` steps are not timed.
Steps alternate (fdep, authors, fdep, ...) so load changes hit both. Prints the median step times
and the ratio fdep / authors. Data loading and augmentation are not part of a step.

    PYTHONPATH=src python benchmarks/bench_train_step.py --pal /path/to/PAL --model acm --crop 256 --steps 10
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from common import default_device
from pal_checkout import build_pal, use_pal_checkout


def authors_step_fn(pal: Path, name: str, device: torch.device):
    """A closure doing one step of the authors' train_fn on (x, y)."""
    use_pal_checkout(pal)
    from loss.Edge_loss import edgeSCE_loss

    model = build_pal(pal, name).to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    cuda = device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=cuda)

    def step(x, y):
        edge = torch.zeros_like(y, dtype=torch.int64)  # their N x 1 x H x W edge band: any int map costs the same
        with torch.autocast("cuda", enabled=cuda):
            out = model(x)
            if isinstance(out, (list, tuple)):
                loss = sum(edgeSCE_loss(o, y, edge) for o in out)
            else:
                loss = edgeSCE_loss(out, y, edge)
        opt.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        return float(loss.detach())

    return step


def fdep_step_fn(name: str, device: torch.device, precision: str, channels_last: bool):
    """A closure doing the work of one fdep training step (module forward, loss, backward, AdamW)."""
    from fdep.training.config import TrainConfig
    from fdep.training.module import SIRSTModule
    from fdep.training.precision import effective_precision

    cfg = TrainConfig.from_dict({"protocol": "authors", "model": name, "variant": "original", "mean": 110.68,
                                 "std": 29.35, "precision": precision,
                                 "accelerator": "gpu" if device.type == "cuda" else "cpu"})
    prec = effective_precision(cfg)
    mod = SIRSTModule(**cfg.to_dict()).to(device).train()
    if channels_last:
        mod = mod.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW([p for p in mod.parameters() if p.requires_grad], lr=1e-3, weight_decay=1e-2)
    dtype = {"bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}.get(prec)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype is torch.float16)

    def step(x, y):
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            out = mod(mod.channels(x))
            loss = mod.criterion(out, y)
        mod._track_probabilities(out, y)
        opt.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        return float(loss.detach())

    return step, prec


def run(pal: Path, name: str, crop: int, batch: int, steps: int, warmup: int, device: str, precision: str,
        channels_last: bool) -> dict:
    dev = torch.device(device)
    torch.manual_seed(0)
    ours, prec = fdep_step_fn(name, dev, precision, channels_last)
    theirs = authors_step_fn(pal, name, dev)
    xs = [torch.randn(batch, 3, crop, crop, device=dev) for _ in range(2)]
    ys = [(torch.rand(batch, 1, crop, crop, device=dev) > 0.999).float() for _ in range(2)]
    times = {"fdep": [], "authors": []}
    for i in range(warmup + steps):
        for who, fn in (("fdep", ours), ("authors", theirs)):
            if dev.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            fn(xs[i % 2], ys[i % 2])
            if dev.type == "cuda":
                torch.cuda.synchronize()
            if i >= warmup:
                times[who].append(time.perf_counter() - t0)
    f, a = statistics.median(times["fdep"]), statistics.median(times["authors"])
    return {"model": name, "device": str(dev), "crop": crop, "batch": batch, "steps": steps,
            "fdep_precision": prec, "channels_last": channels_last, "threads": torch.get_num_threads(),
            "fdep_step_s": f, "authors_step_s": a, "ratio_fdep_over_authors": f / a}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pal", help="a checkout of YuChuang1205/PAL (without it: nothing to compare, exit 0)")
    ap.add_argument("--model", default="acm")
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--device", default=default_device())
    ap.add_argument("--precision", default="auto", help="fdep's precision (default auto, as fdep train)")
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--json", help="also write the result here")
    a = ap.parse_args(argv)
    if not a.pal:
        print("bench_train_step: no --pal checkout given; nothing to compare")
        return 0
    res = run(Path(a.pal), a.model, a.crop, a.batch, a.steps, a.warmup, a.device, a.precision, a.channels_last)
    print(f"{res['model']} batch {res['batch']} crop {res['crop']} on {res['device']} ({res['threads']} threads): "
          f"fdep {res['fdep_step_s']:.3f} s/step ({res['fdep_precision']}"
          f"{', channels_last' if res['channels_last'] else ''}), authors {res['authors_step_s']:.3f} s/step; "
          f"ratio fdep/authors {res['ratio_fdep_over_authors']:.2f}")
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
