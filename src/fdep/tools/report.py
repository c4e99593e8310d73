"""``fdep report``: compare test runs in one HTML (self-contained) or Markdown page.

For each run directory (or its ``test_<split>/`` folder directly) the report reads
``results.json``, ``curves.npz`` and ``preds/<id>.png`` written by ``fdep test`` and shows

* a table like the paper's Tables 1/2: IoU, nIoU, Pd, Fa (x1e6), HSE-P, HSE-T,
  HSE (x100), parameters (M) and time (s), each with its difference to the first run;
* precision-recall curves at pixel and target level, and ROC curves;
* an overlay grid like the paper's Fig. 3: for a few test images, the image,
  then each run's prediction (correct detections red, false alarms blue, missed
  targets orange) and the ground truth.

Plots use matplotlib's Agg backend. HTML embeds every image as base64; Markdown
writes its PNGs to ``<report stem>_files/`` beside it.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, OutputExistsError
from ..fileio import atomic_write
from ..imageio import IMAGE_SUFFIXES, read_image, read_mask, read_prob_map
from ..metrics import classify_detections
from .overlay import detection_overlay, to_display

#: (results.json key, column title, scale, lower is better)
COLUMNS = (
    ("iou", "IoU", 100.0, False),
    ("niou", "nIoU", 100.0, False),
    ("pd", "Pd", 100.0, False),
    ("fa", "Fa (x1e-6)", 1e6, True),
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
    found = sorted(p for p in path.glob("test_*") if (p / "results.json").is_file())
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


# -- the table -------------------------------------------------------------------------------
def table_rows(runs: list[Run]) -> list[dict[str, Any]]:
    """Per run: label and, per column, (value as printed, difference to the first run or None)."""
    first = runs[0].results
    rows = []
    for k, r in enumerate(runs):
        cells = {}
        for key, _title, scale, _lower in COLUMNS:
            v = r.results.get(key)
            if v is None and key == "params_m" and r.results.get("params") is not None:
                v = r.results["params"] / 1e6
            v = float(v) * scale if isinstance(v, (int, float)) else None
            b = first.get(key)
            if b is None and key == "params_m" and first.get("params") is not None:
                b = first["params"] / 1e6
            diff = v - float(b) * scale if (k > 0 and v is not None and isinstance(b, (int, float))) else None
            cells[key] = (v, diff)
        rows.append({"label": r.label, "cells": cells})
    return rows


def _fmt(key: str, v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.3f}" if key == "latency_s" else f"{v:.2f}"


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


def _html(runs: list[Run], rows: list[dict[str, Any]], figures: dict[str, bytes], grid: bytes | None,
          grid_note: str) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(t)}</th>" for _k, t, _s, _l in COLUMNS)
    body = []
    for row in rows:
        cells = "".join(
            f"<td data-key=\"{k}\">{_fmt(k, row['cells'][k][0])}<span class=\"d\">{_fmt_diff(k, row['cells'][k][1])}"
            f"</span></td>" for k, _t, _s, _l in COLUMNS
        )
        body.append(f"<tr><th>{esc(row['label'])}</th>{cells}</tr>")
    sources = "".join(
        f"<li>{esc(r.label)}: <code>{esc(str(r.test_dir))}</code> ({esc(str(r.results.get('dataset', '?')))}, "
        f"split {esc(str(r.results.get('split', '?')))}, {esc(str(r.results.get('n_images', '?')))} images)</li>"
        for r in runs
    )
    plots = "".join(f'<img alt="{k}" src="{_b64(png)}">' for k, png in figures.items()) or "<p>no curves.npz</p>"
    grid_html = f'<img alt="overlays" src="{_b64(grid)}">' if grid else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>fdep report</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}th:first-child{{text-align:left}}
.d{{color:#666;font-size:85%}}img{{max-width:100%;margin:4px}}</style></head><body>
<h1>fdep report</h1>
<h2>Results</h2>
<p>IoU, nIoU, Pd, HSE-P, HSE-T, HSE x100; Fa x1e6; differences to the first run in brackets.</p>
<table><tr><th>Run</th>{head}</tr>
{''.join(body)}</table>
<ul>{sources}</ul>
<h2>Curves</h2>
{plots}
<h2>Detections</h2>
<p>{esc(grid_note)}</p>
{grid_html}
</body></html>
"""


def _markdown(runs: list[Run], rows: list[dict[str, Any]], figure_files: dict[str, str], grid_file: str | None,
              grid_note: str) -> str:
    lines = ["# fdep report", "", "## Results", "",
             "IoU, nIoU, Pd, HSE-P, HSE-T, HSE x100; Fa x1e6; differences to the first run in brackets.", "",
             "| Run | " + " | ".join(t for _k, t, _s, _l in COLUMNS) + " |",
             "|---|" + "---:|" * len(COLUMNS)]
    for row in rows:
        cells = " | ".join(_fmt(k, row["cells"][k][0]) + _fmt_diff(k, row["cells"][k][1]) for k, _t, _s, _l in COLUMNS)
        lines.append(f"| {row['label'].replace('|', '/')} | {cells} |")
    lines.append("")
    lines += [f"- {r.label}: `{r.test_dir}` ({r.results.get('dataset', '?')}, split {r.results.get('split', '?')})"
              for r in runs]
    lines += ["", "## Curves", ""]
    lines += [f"![{k}]({f})" for k, f in figure_files.items()] or ["no curves.npz"]
    lines += ["", "## Detections", "", grid_note, ""]
    if grid_file:
        lines.append(f"![overlays]({grid_file})")
    return "\n".join(lines) + "\n"


def write_report(run_dirs: list[str | os.PathLike], out_path: str | os.PathLike, *, split: str | None = None,
                 n_images: int = 4, overwrite: bool = False) -> Path:
    """Write the comparison report of ``run_dirs`` to ``out_path`` (.html or .md); returns the path."""
    out = Path(out_path)
    fmt = out.suffix.lower()
    if fmt not in (".html", ".htm", ".md"):
        raise InputError(f"{out}: report must end in .html or .md")
    if not run_dirs:
        raise InputError("no run directories given")
    if out.exists() and not overwrite:
        raise OutputExistsError(f"{out} already exists; use --overwrite or another --out")
    runs = [load_run(p, split) for p in run_dirs]
    _label_runs(runs)
    rows = table_rows(runs)
    figures = curve_figures(runs)
    grid, note = overlay_grid(runs, n_images)
    if fmt == ".md":
        files_dir = out.parent / f"{out.stem}_files"
        pngs = {**figures, **({"overlays": grid} if grid else {})}
        clash = [files_dir / f"{k}.png" for k in pngs if (files_dir / f"{k}.png").exists()]
        if clash and not overwrite:
            raise OutputExistsError(f"{clash[0]} already exists; use --overwrite or another --out")
        for k, png in pngs.items():
            with atomic_write(files_dir / f"{k}.png", "wb") as f:
                f.write(png)
        rel = {k: f"{files_dir.name}/{k}.png" for k in figures}
        text = _markdown(runs, rows, rel, f"{files_dir.name}/overlays.png" if grid else None, note)
    else:
        text = _html(runs, rows, figures, grid, note)
    with atomic_write(out, "w", encoding="utf-8") as f:
        f.write(text)
    return out
