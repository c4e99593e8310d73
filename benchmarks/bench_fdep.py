"""FDEP cost on CPU: inference latency and training-step time, original vs FDEP variants.

One table per network (default acm, dnanet, msdanet; whatever of them is registered, else every
registered network), all measured in this run at --size x --size with a ViT-S/14-sized DINOv2
(random weights: timing only). Prints medians and ratios to the original network:

- inference (batch 1, eval, no_grad): original network, a second instance of it (the noise
  floor: any difference there is measurement noise), FDEP "fdep" (light branch, what gets
  deployed; the very same module call), FDEP "fdep-main" (VFM + SAMF);
- training step (batch --batch, forward + CO-ISD/EEDM loss + backward + AdamW step): original,
  "fdep" with the live VFM, "fdep" with cached VFM features (read from an fp16 memory-mapped
  feature cache, crop-aligned, each step).

Goals (issue 5): fdep inference within 3 % of original; cached CO-ISD step <= 1.5x original.

    PYTHONPATH=src python benchmarks/bench_fdep.py [--networks acm,dnanet] [--size 256] [--reps 10]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings

import numpy as np
import torch

from fdep.framework import FDEPModel
from fdep.losses import CoISDLoss
from fdep.models import count_parameters, create_model, list_models
from fdep.vfm import FeatureCache, load_vfm, write_feature_cache


def _interleaved(fns: dict, reps: int, warmup: int = 2) -> dict:
    """Median time of each callable, run round-robin so machine load hits them alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {k: [] for k in fns}
    for _ in range(reps):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def bench_network(name: str, vfm, size: int, batch: int, reps: int, cache: FeatureCache) -> None:
    torch.manual_seed(0)
    net = create_model(name).eval()
    twin = create_model(name).eval()  # a second instance of the same network: the timing noise floor
    light = FDEPModel(create_model(name), vfm, variant="fdep").eval()
    main = FDEPModel(create_model(name), vfm, variant="fdep-main").eval()
    x1 = torch.randn(1, 1, size, size)
    with torch.no_grad():
        inf = _interleaved({"original": lambda: net(x1), "original, 2nd instance": lambda: twin(x1),
                            "fdep": lambda: light(x1), "fdep-main": lambda: main(x1)}, reps)

    xb = torch.randn(batch, 1, size, size)
    tb = torch.zeros(batch, 1, size, size)
    tb[:, :, size // 2 : size // 2 + 4, size // 3 : size // 3 + 3] = 1
    loss = CoISDLoss("eedm")
    ids = list(cache)[:batch]
    box = torch.tensor([[0, 0, size, size]] * batch)
    flags = torch.zeros(batch, dtype=torch.bool)
    batch_dict = {"id": ids, "box": box, "hflip": flags, "vflip": flags, "transpose": flags}

    def make_step(model, cached: bool):
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
        model.train()

        def step():
            feats = cache.for_batch(batch_dict) if cached else None
            opt.zero_grad(set_to_none=True)
            loss(model(xb, vfm_features=feats), tb).backward()
            opt.step()

        return step

    orig = FDEPModel(create_model(name), None, variant="original")
    live = FDEPModel(create_model(name), vfm, variant="fdep")
    cached = FDEPModel(create_model(name), vfm, variant="fdep")
    train = _interleaved({"original": make_step(orig, False), "fdep live VFM": make_step(live, False),
                          "fdep cached features": make_step(cached, True)}, max(3, reps // 2), warmup=1)

    p_net, p_fdep = count_parameters(net), count_parameters(live)
    print(f"\n## {name}  (params: original {p_net / 1e6:.3f} M, FDEP training {p_fdep / 1e6:.3f} M, "
          f"+SAMF {(p_fdep - p_net) / 1e6:.3f} M)")
    print(f"| {'inference, batch 1':28s} | {'ms':>9s} | {'x original':>10s} |")
    print(f"|{'-' * 30}|{'-' * 11}|{'-' * 12}|")
    for k, v in inf.items():
        print(f"| {k:28s} | {v * 1e3:9.1f} | {v / inf['original']:10.3f} |")
    print(f"| {f'training step, batch {batch}':28s} | {'ms':>9s} | {'x original':>10s} |")
    print(f"|{'-' * 30}|{'-' * 11}|{'-' * 12}|")
    for k, v in train.items():
        print(f"| {k:28s} | {v * 1e3:9.1f} | {v / train['original']:10.3f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--networks", default="acm,dnanet,msdanet")
    ap.add_argument("--vfm", default="dinov2_vits14")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (default 1: stable on a shared machine; 0 keeps torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    wanted = [n for n in args.networks.split(",") if n]
    registered = list_models(kind="learned")  # FDEP wraps learned networks only
    names = [n for n in wanted if n in registered]
    if len(names) < len(wanted):
        missing = sorted(set(wanted) - set(names))
        print(f"note: not registered here: {', '.join(missing)}")
        if not names:
            names = registered
            print(f"note: falling back to every registered network: {', '.join(names) or '(none)'}")
    if not names:
        raise SystemExit("no registered network to benchmark")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vfm = load_vfm(args.vfm, weights="random")
    print(f"VFM {args.vfm} (random weights, timing only), layers {list(vfm.layers)}; CPU, "
          f"{torch.get_num_threads()} threads, input {args.size}x{args.size}; medians of interleaved runs")
    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(0)
        images = [(f"img{i}", rng.random((args.size, args.size), dtype=np.float32)) for i in range(args.batch)]
        cache = FeatureCache(write_feature_cache(vfm, images, f"{tmp}/cache"))
        for name in names:
            bench_network(name, vfm, args.size, args.batch, args.reps, cache)


if __name__ == "__main__":
    main()
