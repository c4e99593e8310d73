"""``fdep train``: train a network (original, fdep-main or fdep) from a config and/or flags."""

from __future__ import annotations

import argparse
import logging
from dataclasses import fields

from ..training.config import FIELD_NAMES, TrainConfig, field_help, protocol_settings, shown_value
from .options import add_quiet, add_threads


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a network (Lightning; DDP/AMP via flags)",
        description="Train a SIRST network in variant original, fdep-main or fdep. Settings come from the "
        "defaults, then --config YAML, then flags. Every effective setting is written to RUN_DIR/config.yaml. "
        "See docs/training.md.",
    )
    p.add_argument("--config", help="YAML file of settings (keys = the option names below, with underscores)")
    p.add_argument("--resume", nargs="?", const="", default=None, metavar="RUN_DIR_OR_CKPT",
                   help="continue a run from its last.ckpt (a run directory, a .ckpt, or --out when no value); "
                   "it goes on in the checkpoint's run directory, or in --out when given (a new or empty one)")
    p.add_argument("--overwrite", action="store_true",
                   help="an existing, non-empty --out is renamed to OUT.old-<time> (nothing is deleted) and the "
                   "run starts in a fresh, empty OUT")
    add_quiet(p, "no progress bar")
    add_threads(p)
    for f in fields(TrainConfig):
        if "flag" in f.metadata:  # set by a flag of its own (progress: --quiet, added above)
            continue
        p.add_argument("--" + f.name.replace("_", "-"), dest=f.name, default=None, metavar=f.name.upper(),
                       help=option_help(f.name).replace("%", "%%"))
    p.set_defaults(func=run)


def option_help(name: str) -> str:
    """A config key's --help text: its help, its default and, for a key the protocol sets, the authors' value."""
    default = shown_value(getattr(TrainConfig(), name))
    authors = protocol_settings("authors")
    preset = f"; protocol authors: {shown_value(authors[name])}" if name in authors else ""
    return f"{field_help()[name]} (default: {default}{preset})"


def overrides_from_args(args: argparse.Namespace) -> dict:
    """The config fields given on the command line (raw strings, coerced by the config)."""
    d = {name: getattr(args, name) for name in FIELD_NAMES if getattr(args, name, None) is not None}
    if args.quiet:
        d["progress"] = False
    return d


def run(args: argparse.Namespace) -> int:
    from ..training.checkpoint import config_from_checkpoint, read_checkpoint
    from ..training.config import TrainConfig, resolve
    from ..training.rundir import resolve_resume
    from ..training.train import train

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    overrides = overrides_from_args(args)
    resume_ckpt = None
    if args.resume is not None:
        resume_ckpt, run_dir = resolve_resume(args.resume, overrides.get("out"))
        if args.config:
            cfg = resolve(args.config, overrides)
        else:
            base = config_from_checkpoint(read_checkpoint(resume_ckpt), resume_ckpt).to_dict()
            base.update(overrides)
            cfg = TrainConfig.from_dict(base, source="command line")
        cfg = cfg.replace(out=str(run_dir))
    else:
        cfg = resolve(args.config, overrides)
    out = train(cfg, resume=str(resume_ckpt) if resume_ckpt else None, overwrite=args.overwrite)
    print(f"fdep train: done; run directory {out} (checkpoints in {out / 'checkpoints'})")
    return 0
