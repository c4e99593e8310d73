"""Learning curves of each run from its metrics.csv (written by fdep train): the training loss and validation HSE,
HSE-P and Pd over epochs with HSE-P's chance level, a plot and a one-line summary per run."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from .figures import new_figure, png_bytes
from .runs import Run

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
    from ...training.chance import CHANCE_FACTOR, trailing_chance

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
    from ...training.chance import CHANCE_FACTOR

    fig = new_figure((9.0, 3.2))
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
    return png_bytes(fig)


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
