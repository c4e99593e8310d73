"""What FDEP at a named layer costs: a CO-ISD training step on the named-layer path vs encode/decode.

On the encode/decode path (zoo networks) the encoder runs once and both branches decode its output;
on the named-layer path (``fdep_at``, any network) the main branch runs the whole network with the
fused feature in place of the layer's output and the light branch runs it again unchanged, so the
encoder runs twice. For each zoo network this measures, in the same run and interleaved (so machine
load hits both alike), the median time of one training step (forward with VFM features given, the
CO-ISD/EEDM loss, backward, AdamW) of the same weights on both paths, and prints the ratio
named-layer / encode/decode, with the threads and the load the timing ran under.

    PYTHONPATH=src python benchmarks/bench_fdep_at.py [--networks acm,dnanet] [--size 256] [--batch 4]
"""

from __future__ import annotations

import argparse
import copy

import torch

from bench_fdep import _interleaved  # round-robin medians, as every FDEP cost figure
from fdep.cpu import LoadMeter, configure_threads, describe_conditions, timing_conditions
from fdep.framework import FDEPModel
from fdep.losses import CoISDLoss
from fdep.models import create_model, list_models
from fdep.models.inspection import encode_top_module

VFM = {"name": "timing-only", "layers": [3, 6, 9, 12], "embed_dim": 384, "patch_size": 14}


def step_fn(model: FDEPModel, x, t, feats):
    loss = CoISDLoss("eedm")
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    model.train()

    def step():
        opt.zero_grad(set_to_none=True)
        loss(model(x, vfm_features=feats), t).backward()
        opt.step()

    return step


def bench(name: str, size: int, batch: int, reps: int) -> tuple[float, float, str]:
    torch.manual_seed(0)
    net = create_model(name)
    m = net.size_multiple
    size = max(m, size // m * m)
    x = torch.randn(batch, 1, size, size)
    t = torch.zeros(batch, 1, size, size)
    t[:, :, size // 2: size // 2 + 4, size // 3: size // 3 + 3] = 1
    at = encode_top_module(net, x[:1])  # what `fdep models inspect` marks
    ref = FDEPModel(net, VFM, variant="fdep")
    tap = FDEPModel(copy.deepcopy(net), VFM, variant="fdep", fdep_at=at)
    tap.load_state_dict(ref.state_dict())
    side = -(-size // 14)
    feats = [torch.randn(batch, VFM["embed_dim"], side, side) for _ in VFM["layers"]]
    fns = {"encode/decode": step_fn(ref, x, t, feats), "named layer": step_fn(tap, x, t, feats)}
    med = _interleaved(fns, reps, warmup=1)
    return med["encode/decode"], med["named layer"], at


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--networks", default="acm,dnanet,msdanet,uiunet")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", default=None)
    a = ap.parse_args(argv)
    configure_threads(a.threads)
    names = [n for n in a.networks.split(",") if n in list_models(kind="learned")]
    print(f"CO-ISD training step, batch {a.batch} at {a.size} x {a.size}, VFM features given (ViT-S/14 sized), "
          f"median of {a.reps}")
    print(f"{'network':10s} {'fdep_at':12s} {'encode/decode s':>16s} {'named layer s':>14s} {'ratio':>6s}")
    with LoadMeter() as load:
        for name in names:
            base, named, at = bench(name, a.size, a.batch, a.reps)
            print(f"{name:10s} {at:12s} {base:16.3f} {named:14.3f} {named / base:6.2f}", flush=True)
    print(f"({describe_conditions(timing_conditions(load))})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
