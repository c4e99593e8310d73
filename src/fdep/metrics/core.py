"""The one implementation behind ``evaluate`` and ``SIRSTMetrics``.

Per image we compute *sufficient statistics* (small fixed-size counts plus, in
exact mode, the target pixels' scores); they are summed over images (and over
processes under DDP) and turned into scores by :func:`scores`. Both the
functional and the torchmetrics form feed the same functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError
from . import pixel
from .components import LevelIndex, greater_mask, label_components, threshold_components
from .matching import match_levels

UNDEFINED_KEYS = ("hse_p", "hse_t", "hse", "pd", "auc")


class NoTargetError(DataError):
    """The evaluated data holds no GT target pixel, so Pd, HSE-T, HSE-P, HSE and AUC are undefined."""


@dataclass(frozen=True)
class Setup:
    """Thresholds and the internal level set (thresholds plus 0.5 for Pd/Fa/IoU)."""

    thresholds: np.ndarray
    tolerance: float
    bins: int | None = None
    levels: np.ndarray = field(init=False)
    sel: np.ndarray = field(init=False)  # 1-based level index of each threshold
    j05: int = field(init=False)  # 1-based level index of 0.5
    index: LevelIndex = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        levels = np.unique(np.concatenate([self.thresholds, [0.5]]))
        object.__setattr__(self, "levels", levels)
        object.__setattr__(self, "sel", np.searchsorted(levels, self.thresholds) + 1)
        object.__setattr__(self, "j05", int(np.searchsorted(levels, 0.5)) + 1)
        object.__setattr__(self, "index", LevelIndex(levels))

    @property
    def nlev(self) -> int:
        return len(self.levels)


# Names and shapes of the summed statistics (the torchmetrics states use the same names).
def count_shapes(setup: Setup) -> dict[str, int]:
    """Summed integer statistics: name -> length (0 = scalar)."""
    k = setup.nlev + 1
    shapes = {"n_images": 0, "n_targets": 0, "n_pixels": 0, "inter": 0, "union": 0,
              "n_match": k, "n_pred": k, "fa_pixels": k}
    if setup.bins:
        shapes.update(hist_pos=setup.bins, hist_neg=setup.bins)
    return shapes


def image_stats(p: np.ndarray, g: np.ndarray, setup: Setup
                ) -> tuple[dict[str, np.ndarray | int], float, np.ndarray]:
    """Counts of one checked image (pred in [0,1], bool gt), its nIoU term and its target pixels' scores."""
    ng, garea, gsy, gsx, _ = label_components(g)  # GT components in label order
    gcy, gcx = gsy / np.maximum(garea, 1), gsx / np.maximum(garea, 1)
    comps, n_pred, pix_above = threshold_components(p, setup.levels, level_index=setup.index,
                                                    near=(gcy, gcx, setup.tolerance))
    n_match, m_area = match_levels(gcy, gcx, comps, setup.nlev, setup.tolerance)
    # IoU terms from counts already known: |P| = pixels above 0.5, |P & G| = target pixels above 0.5.
    pos = p[g]
    inter = int(np.count_nonzero(greater_mask(pos, 0.5)))
    union = int(pix_above[setup.j05]) + int(pos.size) - inter
    out: dict[str, np.ndarray | int] = {
        "n_images": 1, "n_targets": int(ng), "n_pixels": int(p.size), "inter": inter, "union": union,
        "n_match": n_match, "n_pred": n_pred, "fa_pixels": pix_above - m_area,
    }
    if setup.bins:
        out["hist_pos"], out["hist_neg"] = pixel.binned_hist(p, g, setup.bins)
    return out, (inter / union if union else 0.0), pos


def add_into(total: dict[str, np.ndarray | int], part: dict[str, np.ndarray | int]) -> None:
    for k, v in part.items():
        total[k] = total[k] + v if k in total else (v.copy() if isinstance(v, np.ndarray) else v)


def scores(tot: dict, niou_sum: float, groups: pixel.Groups, setup: Setup, undefined: str = "raise",
           with_curves: bool = False) -> dict:
    """Final scores (fractions; Fa a raw ratio) from summed statistics and pixel groups."""
    n_images = int(tot["n_images"])
    if n_images == 0:
        raise DataError("no images to evaluate")
    n_gt = int(tot["n_targets"])
    n_match = np.asarray(tot["n_match"], np.int64)
    n_pred = np.asarray(tot["n_pred"], np.int64)
    fa_pix = np.asarray(tot["fa_pixels"], np.int64)
    n_pixels = int(tot["n_pixels"])
    union = int(tot["union"])
    # false alarms as objects: predicted targets (components at 0.5) that match no GT target, the measure of
    # target-free scenes (sea, sky) besides the pixel ratio Fa
    false_targets = int(n_pred[setup.j05] - n_match[setup.j05])
    res = {
        "iou": float(tot["inter"]) / union if union else 0.0,
        "niou": float(niou_sum) / n_images,
        "fa": float(fa_pix[setup.j05]) / n_pixels if n_pixels else 0.0,
        "false_alarms": false_targets,
        "fa_per_image": false_targets / n_images,
        "fa_per_mpix": false_targets / (n_pixels / 1e6) if n_pixels else 0.0,
        "n_images": n_images,
        "n_targets": n_gt,
    }
    m = n_match[setup.sel].astype(np.float64)
    npred = n_pred[setup.sel]
    prec_t = np.divide(m, npred, out=np.zeros_like(m), where=npred > 0)
    if n_gt == 0:
        if undefined == "raise":
            raise NoTargetError("the ground truth holds no target at all: Pd, HSE-T, HSE-P, HSE and AUC are "
                                "undefined (pass undefined='nan' to get NaN instead)")
        rec_t = np.full(len(m), np.nan)
        res.update({k: float("nan") for k in UNDEFINED_KEYS})
    else:
        rec_t = m / n_gt
        hse_t = float(np.sum(prec_t * (rec_t - np.concatenate([rec_t[1:], [0.0]]))))
        hse_p = pixel.average_precision(groups)
        res.update(pd=float(n_match[setup.j05]) / n_gt, hse_t=hse_t, hse_p=hse_p, hse=hse_p * hse_t,
                   auc=pixel.roc_auc(groups))
        if np.isnan(res["auc"]) and undefined == "raise":
            raise NoTargetError("every pixel is a target pixel: AUC is undefined (pass undefined='nan')")
    ordered = {k: res[k] for k in ("hse_p", "hse_t", "hse", "iou", "niou", "pd", "fa", "auc", "false_alarms",
                                   "fa_per_image", "fa_per_mpix", "n_images", "n_targets")}
    if with_curves:
        c = {"thresholds": setup.thresholds.copy(), "target_precision": prec_t, "target_recall": rec_t,
             "pd": rec_t.copy(), "fa": fa_pix[setup.sel] / n_pixels, "n_match": n_match[setup.sel],
             "n_pred": npred, "n_targets": np.int64(n_gt)}
        c.update(pixel.curves(groups))
        ordered["curves"] = c
    return ordered
