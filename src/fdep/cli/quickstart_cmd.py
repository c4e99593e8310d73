"""``fdep quickstart``: synthetic data -> train original and fdep -> test -> HTML report, in minutes on a CPU."""

from __future__ import annotations

import argparse
import logging

from .options import add_threads


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "quickstart",
        help="the whole pipeline on synthetic data in a few CPU minutes",
        description="Generate a synthetic dataset, train a small network as original and fdep (DINOv2 ViT-S/14 "
        "weights when found locally, otherwise a randomly initialised frozen ViT, announced), test both and "
        "write an HTML report.",
    )
    p.add_argument("--out", default="runs/quickstart", help="output folder (default: runs/quickstart)")
    p.add_argument("--overwrite", action="store_true", help="allow writing into an existing, non-empty --out")
    p.add_argument("--vfm-weights", default=None,
                   help="DINOv2 ViT-S/14 weights (Hugging Face folder or Meta .pth); default: the local HF cache")
    p.add_argument("--epochs", type=int, default=None, help="training epochs per run (default: 30)")
    add_threads(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..tools.quickstart import run_quickstart

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    run_quickstart(args.out, overwrite=args.overwrite, vfm_weights=args.vfm_weights, epochs=args.epochs)
    return 0
