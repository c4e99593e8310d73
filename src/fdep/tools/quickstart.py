"""``fdep quickstart``: the whole pipeline on a fresh machine in minutes, with no data and no weights.

Generates a small synthetic dataset, trains a small network as ``original``
and as ``fdep`` (DINOv2 ViT-S/14 weights when found locally, otherwise a
clearly announced randomly initialised frozen ViT-S/14), tests both, and writes
the HTML report. Sizes are chosen to finish well within 10 minutes on 2 CPU
cores (docs/training.md gives the measured time).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from ..errors import OutputExistsError, WeightsError
from ..metrics.units import FA_LABEL, fa_text
from ..training.config import TrainConfig

log = logging.getLogger("fdep.tools")

#: the quick-start settings (measured: see docs/training.md)
QUICK = dict(model="acm", synthetic_n=160, synthetic_size=128, crop=128, epochs=30, batch_size=4, lr=1e-2,
             loss="softiou", warmup_epochs=0, val_every=5, num_workers=0, scheduler="cosine", min_lr=1e-4,
             accelerator="cpu", devices="1", vfm="dinov2_vits14")
#: VFM blocks used: DINOv2 ViT-S/14's quarters with real weights; with random weights only its first 4 blocks
#: are kept (a smaller random ViT: it carries no knowledge either way, and costs a third)
LAYERS_REAL, LAYERS_RANDOM = [3, 6, 9, 12], [1, 2, 3, 4]


def find_vfm_weights(vfm_weights: str | None) -> tuple[str | None, str]:
    """(weights argument for load_vfm, a sentence saying what is used)."""
    from ..vfm import load_vfm

    if vfm_weights:
        load_vfm(QUICK["vfm"], weights=vfm_weights)  # fail early with the VFM loader's message
        return vfm_weights, f"DINOv2 ViT-S/14 weights from {vfm_weights}"
    try:
        load_vfm(QUICK["vfm"])
        return None, "DINOv2 ViT-S/14 weights found in the local Hugging Face cache"
    except WeightsError:
        return "random", ("no DINOv2 weights found locally: the FDEP run uses a RANDOMLY INITIALISED frozen ViT-S/14, "
                          "so the pipeline runs end to end, but its 'prior' carries no pretrained "
                          "knowledge: a difference between the two runs is no evidence for FDEP")


def build_cache(spec: Path, cache: Path, weights: str | None, layers: list[int]) -> Path:
    """Write the VFM feature cache of every image of the dataset folder ``spec``."""
    import warnings

    from ..imageio import read_image
    from ..vfm import load_vfm, write_feature_cache
    from ..vfm.cache import dataset_images

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the random-weights warning was announced above
        vfm = load_vfm(QUICK["vfm"], layers=layers, weights=weights)
    images = ((i, read_image(p) / 255.0) for i, p in dataset_images(spec))
    return write_feature_cache(vfm, images, cache)


def quick_settings(epochs: int | None = None) -> dict:
    """The TrainConfig settings of both runs; ``epochs`` (``--epochs``) replaces QUICK's.

    Fewer epochs than QUICK's validation interval validate every ``epochs`` epochs instead, i.e. on the
    last one: a run that never validated would have no best.ckpt to test.
    """
    settings = {k: v for k, v in QUICK.items() if k not in ("synthetic_n", "synthetic_size")}
    if epochs:
        settings["epochs"] = epochs
    settings["val_every"] = max(1, min(settings["val_every"], settings["epochs"]))
    return settings


def run_quickstart(out: str | Path = "runs/quickstart", overwrite: bool = False, vfm_weights: str | None = None,
                   epochs: int | None = None, say: Callable[[str], None] = print) -> Path:
    """Run the quick-start; returns the report path.

    torch's CPU threads are left as the caller set them: ``fdep quickstart`` chooses them like every
    command (:func:`fdep.cpu.configure_threads`: the free cores, or --threads).
    """
    from ..training.train import train
    from .report import write_report
    from .tester import run_test

    t0 = time.perf_counter()
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise OutputExistsError(f"{out}: exists and is not empty (use --overwrite, or another --out)")

    def step(msg: str) -> None:
        say(f"[quickstart {time.perf_counter() - t0:6.1f}s] {msg}")

    import torch

    step(f"using {torch.get_num_threads()} CPU thread(s) for torch")

    from ..data import generate_synthetic

    data_root = out / "data"
    spec = data_root / "synthetic"
    if not spec.exists():
        step(f"1/5 generating {QUICK['synthetic_n']} synthetic {QUICK['synthetic_size']}x{QUICK['synthetic_size']} "
             f"infrared scenes in {spec}")
        generate_synthetic(data_root, n=QUICK["synthetic_n"], size=QUICK["synthetic_size"], seed=0)
    weights, sentence = find_vfm_weights(vfm_weights)
    step(f"VFM: {sentence}")
    layers = LAYERS_RANDOM if weights == "random" else LAYERS_REAL
    cache = out / "vfm_cache"
    if not (cache / "meta.json").exists():
        step(f"2/5 computing the frozen VFM's features of every image once (feature cache {cache})")
        build_cache(spec, cache, weights, layers)
    settings = quick_settings(epochs)
    run_dirs = []
    for i, variant in enumerate(("original", "fdep")):
        run = out / f"{QUICK['model']}_{variant}"
        extra = dict(vfm_weights=weights, vfm_layers=layers, vfm_cache=str(cache)) if variant != "original" else {}
        cfg = TrainConfig(**settings, variant=variant, data=str(spec), out=str(run), **extra)
        step(f"{3 + i}/5 training {QUICK['model']} as {variant} for {cfg.epochs} epochs -> {run}")
        train(cfg, overwrite=overwrite)
        step(f"    testing {run.name} on the test split")
        res = run_test(run / "checkpoints" / "best.ckpt", str(spec), split="test", out=run / "test_test",
                       overwrite=overwrite, vfm_weights=weights)
        step(f"    {run.name}: HSE {100 * res['hse']:.2f}  IoU {100 * res['iou']:.2f}  Pd {100 * res['pd']:.2f}  "
             f"{FA_LABEL} {fa_text(res['fa'])}")
        run_dirs.append(run)
    report = out / "report.html"
    step(f"5/5 writing the report {report}")
    write_report(run_dirs, report, overwrite=overwrite)
    step(f"done in {time.perf_counter() - t0:.0f} s")
    say("")
    say(f"Report: {report.resolve()}")
    say("")
    say("The same on NUAA-SIRST with real DINOv2 ViT-L/14 weights (see docs/training.md):")
    say("  fdep data download NUAA-SIRST --root data               # the dataset, into data/NUAA-SIRST")
    say("  huggingface-cli download facebook/dinov2-large        # DINOv2 ViT-L/14 into the local HF cache")
    say("  fdep train --config configs/nuaa-sirst/acm_fdep.yaml --data data/NUAA-SIRST --out runs/nuaa_acm_fdep")
    say("  fdep train --config configs/nuaa-sirst/acm_original.yaml --data data/NUAA-SIRST --out runs/nuaa_acm_orig")
    say("  fdep test --checkpoint runs/nuaa_acm_fdep/checkpoints/best.ckpt --data data/NUAA-SIRST")
    say("  fdep test --checkpoint runs/nuaa_acm_orig/checkpoints/best.ckpt --data data/NUAA-SIRST")
    say("  fdep report runs/nuaa_acm_orig runs/nuaa_acm_fdep --out nuaa_report.html")
    return report
