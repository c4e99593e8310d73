"""Precision-recall and ROC curves of the runs, read from each run's curves.npz and drawn as one plot each."""

from __future__ import annotations

import numpy as np

from .figures import new_figure, png_bytes
from .runs import Run

#: curves.npz keys (fdep.metrics.evaluate(curves=True) as saved by fdep test): kind -> (x key, y key)
CURVE_KEYS = {
    "pixel_pr": ("pixel_recall", "pixel_precision"),
    "target_pr": ("target_recall", "target_precision"),
    "roc": ("roc_fpr", "roc_tpr"),
}

#: the plots: kind -> (title, x label, y label)
PLOTS = {
    "pixel_pr": ("Pixel-level precision-recall", "recall", "precision"),
    "target_pr": ("Target-level precision-recall", "recall", "precision"),
    "roc": ("ROC (pixel level)", "false positive rate", "true positive rate"),
}


def _find_key(curves: dict[str, np.ndarray], must: tuple[str, ...], avoid: tuple[str, ...] = ()) -> str | None:
    for k in sorted(curves):
        low = k.lower()
        if all(t in low for t in must) and not any(t in low for t in avoid):
            return k
    return None


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


def curve_figures(runs: list[Run]) -> dict[str, bytes]:
    """PNG bytes of the pixel PR, target PR and ROC plots (only those some run has data for)."""
    figures = {}
    for kind, (title, xl, yl) in PLOTS.items():
        data = [(r.label, curve_xy(r.curves, kind)) for r in runs]
        if not any(xy is not None for _, xy in data):
            continue
        fig = new_figure((4.6, 4.0))
        ax = fig.subplots()
        for label, xy in data:
            if xy is not None:  # in threshold order, as fdep.metrics computes them
                ax.plot(xy[0], xy[1], label=label, linewidth=1.2)
        if kind == "roc":
            ax.set_xscale("symlog", linthresh=1e-6)
        ax.set(title=title, xlabel=xl, ylabel=yl, ylim=(0, 1.02))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower left" if kind != "roc" else "lower right")
        figures[kind] = png_bytes(fig)
    return figures
