"""``fdep report``: compare test runs in one HTML (self-contained) or Markdown page.

For each run directory (or its ``test_<split>/`` folder directly) the report reads
``results.json``, ``curves.npz`` and ``preds/<id>.png`` written by ``fdep test`` and shows

* a table like the paper's Tables 1/2: IoU, nIoU, Pd, Fa (x1e-6), HSE-P, HSE-T,
  HSE (x100), parameters (M) and time (s), each with its difference to the first run;
* under each run, the row the FDEP paper publishes for the same network, variant
  and dataset (test split; :mod:`fdep.tools.papercmp`), with the run's difference to it;
* precision-recall curves at pixel and target level, and ROC curves;
* an overlay grid like the paper's Fig. 3: for a few test images, the image,
  then each run's prediction (correct detections red, false alarms blue, missed
  targets orange) and the ground truth;
* learning curves of each run from its ``metrics.csv`` (written by ``fdep train``):
  training loss, and validation HSE, HSE-P and Pd over epochs, with HSE-P's chance
  level, so a run that is not learning shows at a glance.

Plots use matplotlib's Agg backend. HTML embeds every image as base64; Markdown
writes its PNGs to ``<report stem>_files/`` beside it.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, OutputExistsError
from ..fileio import atomic_write, check_output_file, is_moved_aside
from ..imageio import IMAGE_SUFFIXES, read_image, read_mask, read_prob_map
from ..metrics import classify_detections
from ..metrics.units import FA_LABEL, FA_SCALE, FA_UNIT
from .overlay import detection_overlay, to_display

#: (results.json key, column title, scale, lower is better)
COLUMNS = (
    ("iou", "IoU", 100.0, False),
    ("niou", "nIoU", 100.0, False),
    ("pd", "Pd", 100.0, False),
    ("fa", FA_LABEL, FA_SCALE, True),
    ("hse_p", "HSE-P", 100.0, False),
    ("hse_t", "HSE-T", 100.0, False),
    ("hse", "HSE", 100.0, False),
    ("params_m", "P (M)", 1.0, True),
    ("latency_s", "Time (s)", 1.0, True),
)


@dataclass
class Run:
    """One test output folder and what it holds."""

    test_dir: Path
    label: str
    results: dict[str, Any]
    curves: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def preds_dir(self) -> Path:
        return self.test_dir / "preds"

    @property
    def run_dir(self) -> Path:
        """The training run directory (where metrics.csv lives) when test_dir is its test_<split>/."""
        return self.test_dir.parent if self.test_dir.name.startswith("test_") else self.test_dir


# -- reading runs -------------------------------------------------------------------------
def find_test_dir(path: Path, split: str | None) -> Path:
    """``path`` itself when it holds results.json, else ``path/test_<split>`` (the only one if split is None)."""
    if (path / "results.json").is_file():
        return path
    if not path.is_dir():
        raise InputError(f"{path}: run directory not found")
    if split is not None:
        cand = path / f"test_{split}"
        if not (cand / "results.json").is_file():
            raise InputError(f"{path}: no test_{split}/results.json (run fdep test --split {split} first)")
        return cand
    # test_<split>.old-<time>/ is an earlier output fdep test --overwrite moved aside, not another split
    found = sorted(p for p in path.glob("test_*") if (p / "results.json").is_file() and not is_moved_aside(p))
    if not found:
        raise InputError(f"{path}: no test_<split>/results.json found (run fdep test on this run first)")
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise InputError(f"{path}: several test outputs ({names}); choose one with --split")
    return found[0]


def load_run(path: str | os.PathLike, split: str | None = None) -> Run:
    test_dir = find_test_dir(Path(path), split)
    try:
        results = json.loads((test_dir / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InputError(f"{test_dir / 'results.json'}: cannot read ({e})") from None
    if not isinstance(results, dict):
        raise InputError(f"{test_dir / 'results.json'}: expected a JSON object")
    curves: dict[str, np.ndarray] = {}
    if (test_dir / "curves.npz").is_file():
        try:
            with np.load(test_dir / "curves.npz", allow_pickle=False) as z:
                curves = {k: np.asarray(z[k]) for k in z.files}
        except (OSError, ValueError) as e:
            raise InputError(f"{test_dir / 'curves.npz'}: cannot read ({e})") from None
    run_dir = test_dir.parent if test_dir.name.startswith("test_") else test_dir
    return Run(test_dir=test_dir, label=run_dir.name, results=results, curves=curves)


def _label_runs(runs: list[Run]) -> None:
    """Label each run 'model variant' when that is unique, else by its directory name."""
    descr = [" ".join(str(r.results.get(k)) for k in ("model", "variant") if r.results.get(k)) for r in runs]
    if all(descr) and len(set(descr)) == len(descr):
        for r, d in zip(runs, descr, strict=True):
            r.label = d
    elif len({r.label for r in runs}) < len(runs):
        for i, r in enumerate(runs):
            r.label = f"{i + 1}: {r.test_dir}"


def tested_on(results: dict[str, Any]) -> tuple[str, str, Any]:
    """What a run was tested on: (dataset name, split, number of images) from its results.json."""
    name = results.get("dataset_name") or Path(str(results.get("dataset", "?"))).name
    return str(name), str(results.get("split", "?")), results.get("n_images")


def data_mismatch(runs: list[Run]) -> str | None:
    """A sentence when the runs were not all tested on the same data (their numbers do not compare), else None."""
    tested = [tested_on(r.results) for r in runs]
    if len(set(tested)) < 2:
        return None
    each = "; ".join(f"{r.label} on {name}/{split}" + (f" ({n} images)" if n is not None else "")
                     for r, (name, split, n) in zip(runs, tested, strict=True))
    return f"the runs were tested on different data, so their numbers and differences do not compare: {each}"


# -- the table -------------------------------------------------------------------------------
def table_rows(runs: list[Run]) -> list[dict[str, Any]]:
    """Per run: label and, per column, (value as printed, difference to the first run or None).

    A run that matches a row of the paper is followed by that row (kind "paper"): the paper's value and,
    as the difference, run - paper (the paper's time, measured on its GPU, without a difference). Runs that
    differ only in their seed (:func:`seed_groups`) are followed by their mean ± std (kind "seeds", with
    ``std`` per column) and then by the paper's row, its differences taken to the mean.
    """
    from .papercmp import cross_dataset, paper_comparison

    first = runs[0].results
    groups = seed_groups(runs)
    last_of_group = {members[-1]: members for members in groups}
    grouped = {i for members in groups for i in members}
    rows = []
    for k, r in enumerate(runs):
        cells = {}
        for key, _title, _scale, _lower in COLUMNS:
            v, b = _scaled(r.results, key), _scaled(first, key)
            cells[key] = (v, v - b if (k > 0 and v is not None and b is not None) else None)
        cross = r.results.get("cross_dataset") or cross_dataset(r.results)
        rows.append({"label": r.label + (f" [{cross}]" if cross else ""), "cells": cells, "kind": "run"})
        if k in last_of_group:
            members = [runs[i] for i in last_of_group[k]]
            summary = _seed_row(members)
            rows.append(summary)
            cmp = paper_comparison(r.results)
            if cmp is not None:
                paper = _paper_table_row(cmp)
                for key, (theirs, _d) in paper["cells"].items():
                    mean = summary["cells"][key][0]
                    if theirs is not None and mean is not None and key != "latency_s":
                        paper["cells"][key] = (theirs, mean - theirs)
                rows.append(paper)
            continue
        if k in grouped:
            continue
        cmp = paper_comparison(r.results)
        if cmp is not None:
            rows.append(_paper_table_row(cmp))
    return rows


def _scaled(results: dict[str, Any], key: str) -> float | None:
    """A results.json value in the table's unit (params_m from params where only that is recorded)."""
    scale = next(s for k, _t, s, _l in COLUMNS if k == key)
    v = results.get(key)
    if v is None and key == "params_m" and results.get("params") is not None:
        v = results["params"] / 1e6
    return float(v) * scale if isinstance(v, (int, float)) and not isinstance(v, bool) else None


#: training settings that may differ between the seeds of one row (the seed itself and what follows from it)
SEED_FREE_KEYS = ("seed", "seeds", "out", "mean", "std", "progress", "num_workers")


def seed_groups(runs: list[Run]) -> list[list[int]]:
    """Indices of runs (two or more) whose training configs and test data differ only in the seed."""
    keys: dict[str, list[int]] = {}
    for i, r in enumerate(runs):
        cfg = r.results.get("train_config")
        if not isinstance(cfg, dict) or cfg.get("seed") is None:
            continue
        same = {k: v for k, v in cfg.items() if k not in SEED_FREE_KEYS}
        key = json.dumps([same, tested_on(r.results), r.results.get("model"), r.results.get("variant")],
                         sort_keys=True, default=str)
        keys.setdefault(key, []).append(i)
    return [members for members in keys.values() if len(members) > 1]


def _seed_row(members: list[Run]) -> dict[str, Any]:
    from ..metrics.spread import is_collapsed
    from .seeds import mean_std

    seeds = [m.results["train_config"]["seed"] for m in members]
    cells, std = {}, {}
    for key, _t, _s, _l in COLUMNS:
        mean, sd, _n = mean_std(_scaled(m.results, key) for m in members)
        cells[key], std[key] = (mean, None), sd
    collapsed = [s for s, m in zip(seeds, members, strict=True) if is_collapsed(m.results.get("output_spread"))]
    label = f"mean ± std over seeds {', '.join(map(str, seeds))}" + (
        f" (collapsed: seed {', '.join(map(str, collapsed))})" if collapsed else "")
    return {"label": label, "cells": cells, "std": std, "kind": "seeds"}


def _paper_table_row(cmp: dict[str, Any]) -> dict[str, Any]:
    got = {m["metric"]: (m["paper"], m["diff"]) for m in cmp["metrics"]}
    if cmp.get("paper_time_s") is not None:
        got["latency_s"] = (cmp["paper_time_s"], None)
    cells = {key: got.get(key, (None, None)) for key, _t, _s, _l in COLUMNS}
    label = f"paper, Table {cmp['table']}: {cmp['network']} \"{cmp['label']}\", {cmp['dataset']}"
    return {"label": label, "cells": cells, "kind": "paper", "notes": cmp.get("notes") or []}


def _fmt(key: str, v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.3f}" if key == "latency_s" else f"{v:.2f}"


def _fmt_std(row: dict[str, Any], key: str) -> str:
    """`` ± std`` of a seed summary row's column (empty elsewhere)."""
    sd = (row.get("std") or {}).get(key)
    return "" if sd is None else f" ± {_fmt(key, sd)}"


def _fmt_diff(key: str, d: float | None) -> str:
    if d is None:
        return ""
    return f" ({d:+.3f})" if key == "latency_s" else f" ({d:+.2f})"


# -- curves ------------------------------------------------------------------------------------
def _find_key(curves: dict[str, np.ndarray], must: tuple[str, ...], avoid: tuple[str, ...] = ()) -> str | None:
    for k in sorted(curves):
        low = k.lower()
        if all(t in low for t in must) and not any(t in low for t in avoid):
            return k
    return None


#: curves.npz keys (fdep.metrics.evaluate(curves=True) as saved by fdep test): kind -> (x key, y key)
CURVE_KEYS = {
    "pixel_pr": ("pixel_recall", "pixel_precision"),
    "target_pr": ("target_recall", "target_precision"),
    "roc": ("roc_fpr", "roc_tpr"),
}


def curve_xy(curves: dict[str, np.ndarray], kind: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(x, y) of a curve in curves.npz: kind 'pixel_pr' / 'target_pr' (recall, precision) or 'roc' (fpr, tpr).

    The keys of :data:`CURVE_KEYS` are used; other files are searched for keys holding the same words.
    """
    if all(k in curves for k in CURVE_KEYS[kind]):
        keys = CURVE_KEYS[kind]
    elif kind == "roc":
        keys = (_find_key(curves, ("fpr",)), _find_key(curves, ("tpr",)))
    else:
        level = kind.split("_")[0]
        other = "target" if level == "pixel" else "pixel"
        keys = (_find_key(curves, (level, "recall")), _find_key(curves, (level, "precision")))
        if level == "pixel" and None in keys:  # unqualified names mean pixel level
            keys = (_find_key(curves, ("recall",), (other,)), _find_key(curves, ("precision",), (other,)))
    if None in keys:
        return None
    x, y = (np.asarray(curves[k], dtype=np.float64).ravel() for k in keys)
    ok = np.isfinite(x) & np.isfinite(y) if x.size == y.size else None
    return (x[ok], y[ok]) if ok is not None and ok.any() else None


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def curve_figures(runs: list[Run]) -> dict[str, bytes]:
    """PNG bytes of the pixel PR, target PR and ROC plots (only those some run has data for)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    specs = (
        ("pixel_pr", "Pixel-level precision-recall", "recall", "precision"),
        ("target_pr", "Target-level precision-recall", "recall", "precision"),
        ("roc", "ROC (pixel level)", "false positive rate", "true positive rate"),
    )
    figures = {}
    for kind, title, xl, yl in specs:
        data = [(r.label, curve_xy(r.curves, kind)) for r in runs]
        if not any(xy is not None for _, xy in data):
            continue
        fig = Figure(figsize=(4.6, 4.0))
        ax = fig.subplots()
        for label, xy in data:
            if xy is not None:  # in threshold order, as fdep.metrics computes them
                ax.plot(xy[0], xy[1], label=label, linewidth=1.2)
        if kind == "roc":
            ax.set_xscale("symlog", linthresh=1e-6)
        ax.set(title=title, xlabel=xl, ylabel=yl, ylim=(0, 1.02))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower left" if kind != "roc" else "lower right")
        figures[kind] = _png(fig)
    return figures


# -- learning curves ----------------------------------------------------------------------------
#: what the learning curves show -> the metrics.csv column fdep train's CSVLogger writes
LEARNING_COLUMNS = {"train_loss": "train/loss_epoch", "hse": "val/hse", "hse_p": "val/hse_p", "pd": "val/pd",
                    "pos_frac": "val/pos_frac"}


def read_learning_curves(run_dir: Path) -> dict[str, tuple[np.ndarray, np.ndarray]] | None:
    """(epochs, values) per :data:`LEARNING_COLUMNS` key from RUN_DIR/metrics.csv (epochs 1-based; the last
    value logged for an epoch wins, e.g. after a resume). None when the file is absent or unreadable.
    HSE logged as -1 (no target in the validation data) becomes NaN."""
    path = run_dir / "metrics.csv"
    if not path.is_file():
        return None
    per: dict[str, dict[int, float]] = {k: {} for k in LEARNING_COLUMNS}
    step_loss: dict[int, list[float]] = {}
    try:
        with open(path, newline="", encoding="utf-8") as f:
            for rec in csv.DictReader(f):
                try:
                    epoch = int(float(rec.get("epoch") or "nan")) + 1
                except ValueError:
                    continue  # rows without an epoch (learning-rate rows)
                for key, col in LEARNING_COLUMNS.items():
                    if rec.get(col):
                        per[key][epoch] = float(rec[col])
                if rec.get("train/loss_step"):
                    step_loss.setdefault(epoch, []).append(float(rec["train/loss_step"]))
    except (OSError, ValueError, csv.Error):
        return None
    for epoch, losses in step_loss.items():  # an interrupted epoch logged steps only: their mean
        per["train_loss"].setdefault(epoch, float(np.mean(losses)))
    out = {}
    for key, d in per.items():
        if d:
            e = np.array(sorted(d), dtype=np.int64)
            v = np.array([d[i] for i in e], dtype=np.float64)
            if key == "hse":
                v[v < 0] = np.nan
            out[key] = (e, v)
    return out


def learning_summary(curves: dict[str, tuple[np.ndarray, np.ndarray]]) -> str:
    """One line: validations, best HSE and its epoch, the last validation, and any chance-level tail."""
    from ..training.chance import CHANCE_FACTOR, trailing_chance

    parts = []
    if "hse" in curves:
        e, v = curves["hse"]
        parts.append(f"{len(e)} validations")
        if np.isfinite(v).any():
            i = int(np.nanargmax(v))
            parts.append(f"best HSE {100 * v[i]:.2f} at epoch {e[i]}")
        last = {k: curves[k][1][-1] for k in ("hse", "hse_p", "pd") if k in curves}
        parts.append(f"last (epoch {e[-1]}): " + ", ".join(
            f"{name} {100 * last[k]:.2f}" for k, name in (("hse", "HSE"), ("hse_p", "HSE-P"), ("pd", "Pd"))
            if k in last and math.isfinite(last[k])))
    if "hse_p" in curves and "pos_frac" in curves:
        hp = dict(zip(*curves["hse_p"]))
        pf = dict(zip(*curves["pos_frac"]))
        epochs = [ep for ep in curves["hse_p"][0] if ep in pf]
        n = trailing_chance([hp[ep] for ep in epochs], [pf[ep] for ep in epochs])
        if n:
            parts.append(f"HSE-P at chance level (< {CHANCE_FACTOR:g} x the positive-pixel fraction) for the "
                         f"last {n} validation(s): not learning yet")
    if "train_loss" in curves:
        parts.append(f"training loss {curves['train_loss'][1][-1]:.4g} at epoch {curves['train_loss'][0][-1]}")
    return "; ".join(parts) or "metrics.csv holds no training loss or validation scores"


def learning_figure(label: str, curves: dict[str, tuple[np.ndarray, np.ndarray]]) -> bytes:
    """PNG: training loss (left) and validation HSE, HSE-P, Pd x100 with HSE-P's chance level (right)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    from ..training.chance import CHANCE_FACTOR

    fig = Figure(figsize=(9.0, 3.2))
    ax_loss, ax_val = fig.subplots(1, 2)
    if "train_loss" in curves:
        e, v = curves["train_loss"]
        ax_loss.plot(e, v, color="black", linewidth=1.2, marker="." if len(e) < 30 else None)
    ax_loss.set(title="training loss", xlabel="epoch")
    ax_loss.grid(alpha=0.3)
    for key, name, colour in (("hse", "HSE", "tab:red"), ("hse_p", "HSE-P", "tab:blue"), ("pd", "Pd", "tab:green")):
        if key in curves:
            e, v = curves[key]
            ax_val.plot(e, 100 * v, label=name, color=colour, linewidth=1.2, marker="." if len(e) < 30 else None)
    if "pos_frac" in curves:
        e, v = curves["pos_frac"]
        ax_val.plot(e, 100 * CHANCE_FACTOR * v, color="grey", linestyle="--", linewidth=1.0,
                    label=f"HSE-P chance level ({CHANCE_FACTOR:g} x positive fraction)")
    ax_val.set(title="validation (x100)", xlabel="epoch", ylim=(-2, 102))
    ax_val.grid(alpha=0.3)
    if ax_val.lines:
        ax_val.legend(fontsize=7, loc="best")
    from matplotlib.ticker import MaxNLocator

    for ax in (ax_loss, ax_val):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(label, fontsize=9)
    return _png(fig)


def learning_sections(runs: list[Run]) -> list[tuple[str, bytes | None, str]]:
    """Per run: (label, learning-curve PNG or None, summary line or why there is none)."""
    out = []
    for r in runs:
        curves = read_learning_curves(r.run_dir)
        if curves is None:
            out.append((r.label, None, f"no readable metrics.csv in {r.run_dir} (written by fdep train)"))
        elif not curves:
            out.append((r.label, None, "metrics.csv holds no training loss or validation scores"))
        else:
            out.append((r.label, learning_figure(r.label, curves), learning_summary(curves)))
    return out


# -- overlay grid ---------------------------------------------------------------------------
def _dataset_dirs(results: dict[str, Any]) -> list[Path]:
    spec = str(results.get("dataset") or "")
    return [Path(p) for p in spec.split("+") if p and Path(p).is_dir()]


def _find_file(folder: Path, stem: str, suffixes: tuple[str, ...]) -> Path | None:
    for s in suffixes:
        for cand in (folder / f"{stem}{s}", folder / f"{stem}{s.upper()}"):
            if cand.is_file():
                return cand
    return None


def _image_and_mask(dirs: list[Path], image_id: str) -> tuple[np.ndarray, np.ndarray] | None:
    for d in dirs:
        img = _find_file(d / "images", image_id, IMAGE_SUFFIXES)
        msk = _find_file(d / "masks", image_id, (".png", ".bmp"))
        if img is not None and msk is not None:
            image, mask = read_image(img), read_mask(msk)
            if image.shape != mask.shape:  # a known dataset quirk (NUAA Misc_111): show the image's size
                import cv2

                mask = cv2.resize(mask.astype(np.uint8), image.shape[::-1], interpolation=cv2.INTER_NEAREST) > 0
            return image, mask
    return None


def choose_ids(runs: list[Run], n: int) -> list[str]:
    """Up to ``n`` image ids every run has a prediction for, evenly spread over the sorted list."""
    common = None
    for r in runs:
        ids = {p.stem for p in r.preds_dir.glob("*.png")} if r.preds_dir.is_dir() else set()
        common = ids if common is None else common & ids
    ids = sorted(common or ())
    if len(ids) <= n:
        return ids
    picks = np.linspace(0, len(ids) - 1, n).round().astype(int)
    return [ids[i] for i in picks]


def overlay_grid(runs: list[Run], n_images: int = 4, threshold: float = 0.5) -> tuple[bytes | None, str]:
    """PNG of the Fig. 3-style grid (rows: images; columns: image, runs..., GT) and a note."""
    ids = choose_ids(runs, n_images)
    dirs = _dataset_dirs(runs[0].results)
    if not ids:
        return None, "no saved predictions (preds/) common to all runs: no overlay grid"
    if not dirs:
        return None, f"dataset {runs[0].results.get('dataset')!r} not found on this machine: no overlay grid"
    tol = float(runs[0].results.get("tolerance", 3.0) or 3.0)
    rows = []
    for image_id in ids:
        pair = _image_and_mask(dirs, image_id)
        if pair is None:
            continue
        image, gt = pair
        panels = [to_display(image)]
        for r in runs:
            prob = read_prob_map(r.preds_dir / f"{image_id}.png")
            if prob.shape != image.shape:
                raise InputError(f"{r.preds_dir / (image_id + '.png')}: size {prob.shape} differs from the image "
                                 f"{image.shape}")
            panels.append(detection_overlay(image, *classify_detections(prob, gt, threshold, tol)))
        panels.append(np.repeat((gt.astype(np.uint8) * 255)[..., None], 3, axis=2))
        rows.append((image_id, panels))
    if not rows:
        return None, "images of the predicted ids not found in the dataset folder: no overlay grid"
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    titles = ["Image"] + [r.label for r in runs] + ["True label"]
    ncol = len(titles)
    fig = Figure(figsize=(2.2 * ncol, 2.3 * len(rows)))
    axes = np.atleast_2d(fig.subplots(len(rows), ncol, squeeze=False))
    for i, (image_id, panels) in enumerate(rows):
        for j, panel in enumerate(panels):
            ax = axes[i, j]
            ax.imshow(panel, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(titles[j], fontsize=8)
            if j == 0:
                ax.set_ylabel(image_id, fontsize=7)
    fig.suptitle("red: correct detections, blue: false alarms, orange: missed targets", fontsize=9)
    return _png(fig), f"{len(rows)} image(s); binarised at p > {threshold}, match tolerance {tol:g} px"


# -- writing ----------------------------------------------------------------------------------
def _b64(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def timing_text(results: dict[str, Any]) -> str:
    """What a run's Time was measured under ('time on cpu: 1 thread, 1.9 of 2 cores busy ...'), from results.json."""
    from ..cpu import describe_conditions

    if not results.get("timing"):
        return "time: threads and load not recorded"
    return f"time on {results.get('device', '?')}: {describe_conditions(results['timing'])}"


def _paper_notes(rows: list[dict[str, Any]]) -> list[str]:
    return [f"{row['label']}: {n}" for row in rows if row.get("kind") == "paper" for n in row.get("notes", ())]


#: how the Results table is read (both formats)
TABLE_NOTE = (f"IoU, nIoU, Pd, HSE-P, HSE-T, HSE x100; {FA_LABEL}: Fa in units of 1e-6 ({FA_UNIT}); in brackets: "
              "a run's difference to the first run. Time (s): fdep test's mean seconds per image, measured under "
              "the device, threads and load listed with each run below. "
              "A \"paper\" row under a run is the FDEP paper's published row for the same network, variant and "
              "dataset (values as printed), in brackets the run's difference to it (run - paper); its time was "
              "measured on the paper's GPU. Runs that differ only in their seed are followed by their "
              "mean ± sample std "
              "(bold), and the paper's row then gives the mean's difference to it.")


def _html(runs: list[Run], rows: list[dict[str, Any]], figures: dict[str, bytes], grid: bytes | None,
          grid_note: str, learning: list[tuple[str, bytes | None, str]]) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(t)}</th>" for _k, t, _s, _l in COLUMNS)
    body = []
    for row in rows:
        cells = "".join(
            f"<td data-key=\"{k}\">{_fmt(k, row['cells'][k][0])}{_fmt_std(row, k)}<span class=\"d\">"
            f"{_fmt_diff(k, row['cells'][k][1])}"
            f"</span></td>" for k, _t, _s, _l in COLUMNS
        )
        tr = {"paper": '<tr class="paper">', "seeds": '<tr class="seeds">'}.get(row.get("kind"), "<tr>")
        body.append(f"{tr}<th>{esc(row['label'])}</th>{cells}</tr>")
    notes = "".join(f"<li>{esc(n)}</li>" for n in _paper_notes(rows))
    mismatch = data_mismatch(runs)
    warning = f'<p class="warn"><b>Warning: {esc(mismatch)}.</b></p>' if mismatch else ""
    sources = "".join(
        f"<li>{esc(r.label)}: <code>{esc(str(r.test_dir))}</code> ({esc(str(r.results.get('dataset', '?')))}, "
        f"split {esc(str(r.results.get('split', '?')))}, {esc(str(r.results.get('n_images', '?')))} images; "
        f"{esc(timing_text(r.results))})</li>"
        for r in runs
    )
    plots = "".join(f'<img alt="{k}" src="{_b64(png)}">' for k, png in figures.items()) or "<p>no curves.npz</p>"
    grid_html = f'<img alt="overlays" src="{_b64(grid)}">' if grid else ""
    learn = "".join(
        f"<h3>{esc(label)}</h3><p>{esc(note)}</p>" + (f'<img alt="learning curves" src="{_b64(png)}">' if png else "")
        for label, png, note in learning)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>fdep report</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}th:first-child{{text-align:left}}
.d{{color:#666;font-size:85%}}tr.seeds{{font-weight:bold}}tr.paper{{color:#555;font-style:italic;background:#f6f6f6}}
img{{max-width:100%;margin:4px}}.warn{{color:#a00}}</style></head><body>
<h1>fdep report</h1>
<h2>Results</h2>
<p>{esc(TABLE_NOTE)}</p>
{warning}
<table><tr><th>Run</th>{head}</tr>
{''.join(body)}</table>
{f"<ul>{notes}</ul>" if notes else ""}
<ul>{sources}</ul>
<h2>Curves</h2>
{plots}
<h2>Detections</h2>
<p>{esc(grid_note)}</p>
{grid_html}
<h2>Learning curves</h2>
<p>From each run's metrics.csv: training loss per epoch; validation HSE, HSE-P and Pd (x100). The dashed line
is HSE-P's chance level (2 x the validation data's positive-pixel fraction): a run whose HSE-P stays under it
has not started to learn.</p>
{learn}
</body></html>
"""


def _markdown(runs: list[Run], rows: list[dict[str, Any]], figure_files: dict[str, str], grid_file: str | None,
              grid_note: str, learning: list[tuple[str, str | None, str]]) -> str:
    mismatch = data_mismatch(runs)
    warning = [f"**Warning: {mismatch}.**", ""] if mismatch else []
    lines = ["# fdep report", "", "## Results", "", TABLE_NOTE, "", *warning,
             "| Run | " + " | ".join(t for _k, t, _s, _l in COLUMNS) + " |",
             "|---|" + "---:|" * len(COLUMNS)]
    for row in rows:
        cells = " | ".join(_fmt(k, row["cells"][k][0]) + _fmt_std(row, k) + _fmt_diff(k, row["cells"][k][1])
                           for k, _t, _s, _l in COLUMNS)
        label = row["label"].replace("|", "/")
        lines.append({"paper": f"| *{label}* | {cells} |", "seeds": f"| **{label}** | {cells} |"}.get(
            row.get("kind"), f"| {label} | {cells} |"))
    lines.append("")
    lines += [f"- note: {n}" for n in _paper_notes(rows)]
    lines += [f"- {r.label}: `{r.test_dir}` ({r.results.get('dataset', '?')}, split {r.results.get('split', '?')}; "
              f"{timing_text(r.results)})" for r in runs]
    lines += ["", "## Curves", ""]
    lines += [f"![{k}]({f})" for k, f in figure_files.items()] or ["no curves.npz"]
    lines += ["", "## Detections", "", grid_note, ""]
    if grid_file:
        lines.append(f"![overlays]({grid_file})")
    lines += ["", "## Learning curves", "",
              "From each run's metrics.csv: training loss per epoch; validation HSE, HSE-P and Pd (x100). The dashed "
              "line is HSE-P's chance level (2 x the validation data's positive-pixel fraction): a run whose HSE-P "
              "stays under it has not started to learn.", ""]
    for label, file, note in learning:
        lines += [f"### {label}", "", note, ""] + ([f"![learning curves]({file})", ""] if file else [])
    return "\n".join(lines) + "\n"


def write_report(run_dirs: list[str | os.PathLike], out_path: str | os.PathLike, *, split: str | None = None,
                 n_images: int = 4, overwrite: bool = False, warn: Callable[[str], None] | None = None) -> Path:
    """Write the comparison report of ``run_dirs`` to ``out_path`` (.html or .md); returns the path.

    ``warn`` is called with the sentence the report carries when the runs were tested on different data.
    """
    out = Path(out_path)
    fmt = out.suffix.lower()
    if fmt not in (".html", ".htm", ".md"):
        raise InputError(f"{out}: report must end in .html or .md")
    if not run_dirs:
        raise InputError("no run directories given")
    check_output_file(out, replace=overwrite)
    runs = [load_run(p, split) for p in run_dirs]
    _label_runs(runs)
    mismatch = data_mismatch(runs)
    if mismatch and warn is not None:
        warn(mismatch)
    rows = table_rows(runs)
    figures = curve_figures(runs)
    grid, note = overlay_grid(runs, n_images)
    learning = learning_sections(runs)
    if fmt == ".md":
        files_dir = out.parent / f"{out.stem}_files"
        learn_pngs = {f"learning_{i + 1}": png for i, (_l, png, _n) in enumerate(learning) if png}
        pngs = {**figures, **({"overlays": grid} if grid else {}), **learn_pngs}
        clash = [files_dir / f"{k}.png" for k in pngs if (files_dir / f"{k}.png").exists()]
        if clash and not overwrite:
            raise OutputExistsError(f"{clash[0]} already exists; use --overwrite or another --out")
        for k, png in pngs.items():
            with atomic_write(files_dir / f"{k}.png", "wb") as f:
                f.write(png)
        rel = {k: f"{files_dir.name}/{k}.png" for k in figures}
        learn_md = [(label, f"{files_dir.name}/learning_{i + 1}.png" if png else None, n)
                    for i, (label, png, n) in enumerate(learning)]
        text = _markdown(runs, rows, rel, f"{files_dir.name}/overlays.png" if grid else None, note, learn_md)
    else:
        text = _html(runs, rows, figures, grid, note, learning)
    with atomic_write(out, "w", encoding="utf-8") as f:
        f.write(text)
    return out
