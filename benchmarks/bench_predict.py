"""Benchmark ``fdep predict``'s inference paths on one network: batching and ONNX vs PyTorch.

A random network of the zoo (default ACM) is saved with ``save_pretrained`` and
exported to ONNX (legacy exporter, verified); then the same images go through

* PyTorch, one image per call (batch 1),
* PyTorch, ``--batch`` same-size images per call,
* onnxruntime (CPU), one image per call,

each timed round-robin over ``--repeats`` rounds (median seconds per image) so
the ratios against "PyTorch batch 1", measured in the same run, survive a busy
machine. Outputs of the three paths are compared too (max |difference|).

    PYTHONPATH=src python benchmarks/bench_predict.py [--model acm] [--size 256] [--batch 8] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from fdep.errors import FdepError
from fdep.models import create_model, save_pretrained
from fdep.tools.export import export_onnx
from fdep.tools.inference import load_predictor


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="acm")
    ap.add_argument("--size", type=int, default=256, help="image side (default 256)")
    ap.add_argument("--batch", type=int, default=8, help="images per batch (default 8)")
    ap.add_argument("--repeats", type=int, default=5, help="timed rounds (default 5)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        torch.manual_seed(0)
        net = create_model(args.model).eval()
        mean, std = 100.0, 30.0
        with tempfile.TemporaryDirectory() as tmp:
            folder = save_pretrained(net, Path(tmp) / "net", mean=mean, std=std)
            meta = dict(model=args.model, variant="original", in_chans=1, mean=mean, std=std,
                        size_multiple=net.size_multiple)
            export_onnx(net, meta, Path(tmp) / "net.onnx", exporter="legacy")
            torch_pred, onnx_pred = load_predictor(folder), load_predictor(Path(tmp) / "net.onnx")
            rng = np.random.default_rng(0)
            images = [rng.uniform(0, 255, (args.size, args.size)).astype(np.float32) for _ in range(args.batch)]
            paths = {
                "PyTorch batch 1": lambda: [torch_pred.predict_batch([im])[0] for im in images],
                f"PyTorch batch {args.batch}": lambda: torch_pred.predict_batch(images),
                "onnxruntime batch 1": lambda: [onnx_pred.predict_batch([im])[0] for im in images],
            }
            outputs = {k: fn() for k, fn in paths.items()}  # warm-up, and the outputs to compare
            times: dict[str, list[float]] = {k: [] for k in paths}
            for _ in range(args.repeats):
                for k, fn in paths.items():
                    t0 = time.perf_counter()
                    fn()
                    times[k].append((time.perf_counter() - t0) / len(images))
    except FdepError as e:
        print(f"bench_predict: error: {e}", file=sys.stderr)
        return 2
    base_key = "PyTorch batch 1"
    base = statistics.median(times[base_key])
    print(f"{args.model}, {args.size}x{args.size}, {len(images)} images, median of {args.repeats} rounds, "
          f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    print(f"{'path':<22} {'s/image':>9} {'x batch-1':>10} {'max |diff| vs batch-1':>22}")
    for k, ts in times.items():
        med = statistics.median(ts)
        diff = max(float(np.abs(a - b).max()) for a, b in zip(outputs[k], outputs[base_key], strict=True))
        print(f"{k:<22} {med:>9.4f} {med / base:>10.2f} {diff:>22.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
