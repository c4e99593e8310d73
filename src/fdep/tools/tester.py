"""``fdep test``: full-image inference on a split, every metric, saved probability maps.

The metrics are computed on the network's float32 probabilities, not on the
16-bit PNGs saved as an output: rounding to 1/65535 merges nearby scores into
ties and moves HSE-P (0.8101 -> 0.8032 on a synthetic set). To keep memory
bounded, each float map is spilled to a temporary .npy in the output folder and
scored in two streaming passes (``fdep.metrics``' exact loader), then deleted;
results.json equals ``fdep.metrics.evaluate`` on the float maps. ``fdep evaluate``
on the saved PNGs gives the rounded numbers. When the run matches a row the paper
publishes (network, variant, dataset, test split), results.json holds the
comparison under "paper" (see :mod:`fdep.tools.papercmp`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..cpu import LoadMeter, timing_conditions
from ..errors import InputError, OutputExistsError, WeightsError
from ..fileio import check_output_folder, lock_output, results_work_folder, write_json
from ..inputrange import InputRange, gray_range, parse_input_range, range_warning
from ..progress import Counter

log = logging.getLogger("fdep.tools")

#: images with more pixels than this are processed in overlapping tiles
TILE_PIXELS = 1024 * 1024
#: images read before a first input-range warning is given (the final one covers them all)
RANGE_EARLY = 16


def quantise16(prob: np.ndarray) -> np.ndarray:
    """The values a 16-bit PNG stores for ``prob`` (round(p*65535)/65535): what ``fdep evaluate`` scores."""
    return np.round(np.clip(prob, 0.0, 1.0) * 65535.0) / 65535.0


@torch.no_grad()
def predict_full(model: nn.Module, x: torch.Tensor, multiple: int, tile: int = 512,
                 pad_value: float = 0.0) -> torch.Tensor:
    """Probabilities for a normalised 1 x C x H x W image: pad to ``multiple``, run, crop back (tiles if large).

    A model whose ``outputs`` is "probability" (a classical method, fed raw 0-255 intensities) runs on the
    whole image as it is: no padding, no tiles, no sigmoid.
    """
    from ..data import crop_to, pad_to_multiple, predict_tiled

    if getattr(model, "outputs", "logits") == "probability":
        return model(x).float().clamp(0.0, 1.0)
    h, w = x.shape[-2:]
    if h * w > TILE_PIXELS:
        logits = predict_tiled(model, x, tile=tile, overlap=64, multiple=multiple)
    else:
        xp, (h, w) = pad_to_multiple(x, multiple, value=pad_value)
        logits = crop_to(model(xp), (h, w))
    return torch.sigmoid(logits.float())


def run_test(
    checkpoint: str | os.PathLike | None,
    data: str,
    split: str = "test",
    out: str | os.PathLike | None = None,
    overwrite: bool = False,
    device: str = "cpu",
    save_preds: bool = True,
    vfm_weights: str | None = None,
    progress: bool = True,
    model: str | None = None,
    input_range: str | None = None,
    warn: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Evaluate a checkpoint (or, with ``model``, a classical method) on ``data``/``split``.

    ``input_range``: how the images' stored values map onto fdep's 0-255 scale (``fdep.inputrange``: auto,
    14bit, LO,HI, minmax). When images lie far from the gray range the weights were trained on, a warning
    goes to ``warn`` (as soon as it is known) and into results.json "warnings".

    ``checkpoint`` is what ``fdep predict`` takes: a ``.ckpt``, an exported network folder
    (RUN_DIR/light, ``fdep export --hub``) or an ``.onnx`` file from ``fdep export`` (run with onnxruntime;
    its ``params`` are the weights stored in the file).

    Returns the results dict (also written to OUT/results.json). ``out`` defaults to
    RUN_DIR/test_<split> next to the checkpoint's run directory, and for a classical method to
    runs/<model>/test_<dataset>_<split>. An existing non-empty ``out`` is refused, or with
    ``overwrite`` renamed to ``OUT.old-<time>`` (nothing deleted). A classical method gets the raw
    0-255 images (its meta has mean 0, std 1) and returns probabilities.
    """
    run_dir: Path | None = None  # the training run the weights come from, where known
    declared = parse_input_range(input_range)  # a bad value fails before any work
    if (checkpoint is None) == (model is None):
        raise InputError("give either --checkpoint (trained weights) or --model (a classical method), not both "
                         "or neither")
    if out is not None:  # before any work; a default --out is checked once the checkpoint names it
        check_output_folder(out)
    from .inference import resolve_device

    device = str(resolve_device(device))  # cuda on a CPU-only torch: one line before any work, as predict says
    if model is not None:
        from .inference import classical_predictor

        predictor = classical_predictor(model, "cpu")
        model, meta = predictor.run_logits, predictor.meta
        source = predictor.source
        if out is None:
            out = Path("runs") / meta["model"] / f"test_{_data_label(data)}_{split}"
    elif Path(checkpoint).suffix.lower() == ".onnx" and Path(checkpoint).is_file():  # from fdep export
        from .inference import load_predictor

        checkpoint = Path(checkpoint)
        predictor = load_predictor(checkpoint, device)
        model, meta = predictor.run_logits, {"model": checkpoint.stem, "variant": "unknown", "vfm": None,
                                             **predictor.meta}
        source = str(checkpoint)
        if out is None:
            out = checkpoint.parent / f"test_{split}"
    elif Path(checkpoint).is_dir():  # an exported network folder (RUN_DIR/light, fdep export --hub)
        from .inference import _load_exported_dir

        checkpoint = Path(checkpoint)
        model, meta = _load_exported_dir(checkpoint)
        extra = (getattr(model, "pretrained_config", None) or {}).get("extra") or {}
        meta = {**meta, "vfm": extra.get("vfm"), "epochs_trained": extra.get("epochs_trained"),
                "config": extra.get("train_config")}
        source = str(checkpoint)
        run_dir = checkpoint.parent if checkpoint.name == "light" else checkpoint
        if out is None:
            out = run_dir / f"test_{split}"
    else:
        from ..training.checkpoint import load_model_from_checkpoint

        checkpoint = Path(checkpoint)
        model, meta = load_model_from_checkpoint(checkpoint, map_location="cpu", vfm_weights=vfm_weights)
        source = str(checkpoint)
        run_dir = checkpoint.parent.parent if checkpoint.parent.name == "checkpoints" else checkpoint.parent
        if out is None:
            out = run_dir / f"test_{split}"
    out = check_output_folder(out)
    lock = lock_output(out, "fdep test")  # before any work: a second test into the same out stops here
    try:
        return _test_locked(model, meta, source, run_dir, checkpoint, data, split, out, overwrite, device, save_preds,
                            progress, declared, warn)
    finally:
        lock.release()


def _test_locked(model: Any, meta: dict[str, Any], source: str, run_dir: Path | None, checkpoint: Any, data: str,
                 split: str, out: Path, overwrite: bool, device: str, save_preds: bool, progress: bool,
                 declared: InputRange | None, warn: Callable[[str], None] | None) -> dict[str, Any]:
    """The test itself, under the lock on ``out``."""
    from ..data import load_dataset
    from ..imageio import write_prob_png16
    from ..metrics.functional import evaluate_loader
    from ..metrics.spread import is_collapsed, map_spread

    remove_legacy_spills(out)
    earlier = out.is_dir() and any(out.iterdir())
    if earlier and not overwrite:
        raise OutputExistsError(f"{out}: exists and is not empty (use --overwrite to move it aside, or another --out)")
    data = resolve_data(data, run_dir)
    # raw 0-255 items: normalised with the weights' statistics, never the data's
    ds = load_dataset(data, split=split, stats=False, input_range=declared)
    ranges: list[tuple[str, float, float]] = []
    if isinstance(model, nn.Module):  # an ONNX graph runs where its predictor put it
        model = model.to(device)
    # padding as the run validated: the authors' protocol pads the raw image with black (val_pad, docs/training.md)
    pad_value = -meta["mean"] / meta["std"] if (meta.get("config") or {}).get("val_pad") == "black" else 0.0
    mean, std = float(meta["mean"]), float(meta["std"])
    times: list[float] = []
    spreads: list[float] = []  # each map's pixel std: a constant (collapsed) network shows as ~0
    raw = meta.get("variant") == "classical"
    # the progress convention of every command (fdep.progress): a rewritten line on a terminal, a clean line every
    # 10 s in a log (tqdm's carriage returns made one 3,682-character line of a 214-image log)
    counter = Counter("fdep test: image", total=len(ds), enabled=progress)
    with results_work_folder(out, overwrite=earlier, log=log.info) as work, counter:
        spill = work / ".float-maps"
        spill.mkdir()
        early = None
        meter = LoadMeter().start()  # the other processes' load while the latencies are measured
        for i in range(len(ds)):
            image, mask = ds.load(i)  # raw 0-255 (a classical method takes it as it is)
            ranges.append((ds.ids[i], *gray_range(image)))
            if len(ranges) == min(len(ds), RANGE_EARLY):  # said early, before the long part of the work
                early = range_warning(ranges, meta.get("input_range"), declared and declared.text)
                if early and warn:
                    warn(early)
            item = {"mask": torch.from_numpy(mask)[None].float(), "id": ds.ids[i]}
            x = torch.from_numpy(image if raw else (image - np.float32(mean)) / np.float32(std))[None, None].to(device)
            if x.shape[1] != meta["in_chans"]:
                x = x.expand(-1, meta["in_chans"], -1, -1) if x.shape[1] == 1 else x[:, :1]
            t0 = time.perf_counter()
            prob = predict_full(model, x, meta["size_multiple"], pad_value=pad_value)
            if str(device).startswith("cuda"):
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
            p = prob[0, 0].cpu().numpy() + np.float32(0.0)  # float32 as computed (+0.0 turns -0.0 into 0.0)
            if not np.isfinite(p).all():
                raise WeightsError(f"{source}: the network produced NaN/inf probabilities on image "
                                    f"{item['id']!r} (diverged weights?)")
            spreads.append(map_spread(p))
            np.save(spill / f"{i}_p.npy", p)
            np.save(spill / f"{i}_g.npy", item["mask"][0].numpy() > 0.5)
            if save_preds:
                write_prob_png16(work / "preds" / f"{item['id']}.png", p)
            counter.update(1, str(item["id"]))
        meter.stop()

        def load(i: int) -> tuple[np.ndarray, np.ndarray]:
            return np.load(spill / f"{i}_p.npy"), np.load(spill / f"{i}_g.npy")

        # a target-free set (sea and sky backgrounds) measures false alarms: target metrics are undefined (None)
        res = evaluate_loader(len(ds), load, curves=True, undefined="nan")
        shutil.rmtree(spill)
        curves = res.pop("curves", None)
        results = _results(res, model, meta, times, device, data, ds, split, checkpoint, meter)
        results["output_spread"] = float(np.mean(spreads)) if spreads else None
        results["collapsed"] = is_collapsed(results["output_spread"])
        results["input_range"] = declared.text if declared else "auto"
        warning = range_warning(ranges, meta.get("input_range"), declared and declared.text)
        results["warnings"] = [warning] if warning else []
        if warning and warn and not early:
            warn(warning)
        if raw:
            results["kind"] = "classical"
            results["method_params"] = meta.get("params", {})
        from .papercmp import cross_dataset, paper_comparison

        results["cross_dataset"] = cross_dataset(results)
        results["paper"] = paper_comparison(results)
        write_json(work / "results.json", results)
        if curves is not None:
            save_curves(work / "curves.npz", curves)
    log.info("test results in %s", out)
    return results


def _results(res: dict[str, Any], model: nn.Module, meta: dict[str, Any], times: list[float], device: str,
             data: str, ds: Any, split: str, checkpoint: Any, meter: LoadMeter) -> dict[str, Any]:
    """results.json: the scores, then what was tested and how."""
    from ..models import count_parameters

    res = {k: (undefined_to_none(float(v)) if isinstance(v, (float, np.floating)) else v) for k, v in res.items()}
    vfm = getattr(model, "vfm", None)
    vfm_ids = {id(p) for p in vfm.parameters()} if vfm is not None else set()
    vfm_params = count_parameters(vfm) if vfm is not None else 0
    # FDEPModel keeps its VFM outside the module tree; exclude it either way
    params = (sum(p.numel() for p in model.parameters() if id(p) not in vfm_ids) if isinstance(model, nn.Module)
              else onnx_weights(checkpoint))
    results = {
        **{k: _jsonable(v) for k, v in res.items()},
        "params": params,
        "params_m": params / 1e6,
        "vfm_params": vfm_params,
        # the first image warms up kernels and caches: it is left out of the mean when there are others
        "latency_s": float(np.mean(times[1:] if len(times) > 1 else times)),
        "device": device,
        "timing": timing_conditions(meter),
        "model": meta["model"],
        "variant": meta["variant"],
        "vfm": meta["vfm"],
        "dataset": data,
        "dataset_name": getattr(ds, "name", None) or _data_label(data),
        "split": split,
        "checkpoint": None if checkpoint is None else str(checkpoint),
        "epochs_trained": meta.get("epochs_trained"),
        "scored_on": "float32 probabilities (preds/*.png are rounded to 1/65535)",
        "train_config": meta.get("config"),
    }
    return results


def undefined_to_none(v: float) -> float | None:
    """NaN (a metric undefined on these images, e.g. Pd without GT targets) as None: null in strict JSON."""
    return None if v != v else v


def _data_label(data: str) -> str:
    """The dataset names of a spec (``.``, ``..``, trailing slashes and symlinks named as the folder they are)."""
    from ..data import dataset_name

    return "+".join(dataset_name(p.strip()) for p in str(data).split("+") if p.strip())


def resolve_data(data: str, run_dir: Path | None) -> str:
    """``--data synthetic``: the data the run generated for itself (RUN_DIR/data/synthetic); else ``data``."""
    if data != "synthetic":
        return data
    from ..training.datamodule import synthetic_dataset

    folder = synthetic_dataset(run_dir) if run_dir is not None else None
    if folder is None or not folder.is_dir():
        where = f"{folder} not found" if folder is not None else "these weights come from no run directory"
        raise InputError(f"--data synthetic means the synthetic data a run generated for itself, but {where}; "
                         f"pass the dataset folder (--data ROOT/NAME)")
    return str(folder)


def onnx_weights(path: str | os.PathLike) -> int:
    """Numbers stored as weights (initializers) in an ONNX file: its parameter count (an exporter may fold
    BatchNorms into convolutions, so it can be below the PyTorch network's)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    return int(sum(np.prod(t.dims, dtype=np.int64) for t in graph.initializer))


def remove_legacy_spills(out: Path) -> int:
    """Delete ``OUT/.float-maps.*`` folders: float maps of a test killed under fdep <= 0.x, which spilled into
    OUT itself (no run writes there any more: maps now spill into the work folder beside OUT)."""
    n = 0
    for p in out.glob(".float-maps.*") if out.is_dir() else ():
        with contextlib.suppress(OSError):
            shutil.rmtree(p)
            n += 1
    if n:
        log.info("%s: removed %d folder(s) of float maps left by an interrupted fdep test", out, n)
    return n


def _jsonable(v: Any) -> Any:
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    if isinstance(v, torch.Tensor):
        return v.item() if v.numel() == 1 else v.tolist()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return v


def save_curves(path: Path, curves: Any) -> None:
    """Write the curves dict of fdep.metrics.evaluate(curves=True) as an .npz, atomically."""
    from ..fileio import atomic_path

    arrays: dict[str, np.ndarray] = {}

    def walk(prefix: str, obj: Any) -> None:
        if isinstance(obj, dict):
            for k, v in obj.items():
                walk(f"{prefix}_{k}" if prefix else str(k), v)
        else:
            arrays[prefix] = np.asarray(obj.cpu() if isinstance(obj, torch.Tensor) else obj)

    walk("", curves)
    with atomic_path(path) as tmp:
        np.savez(tmp, **arrays)
