"""``SIRSTMetrics``: the torchmetrics form of :func:`fdep.metrics.evaluate`.

It accumulates exactly the statistics ``evaluate`` computes per image (see
:mod:`fdep.metrics.core`): counts are ``add_state(..., dist_reduce_fx="sum")``
tensors, so under DDP every process adds its images and the sums are exact.
Exact mode (``bins=None``) also keeps the target and background pixel scores as
"cat" list states (memory grows with the number of pixels, like torchmetrics'
own exact average precision); ``bins=10000`` keeps two fixed-size histograms
instead (bounded memory, documented error in docs/metrics.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torchmetrics import Metric
from torchmetrics.utilities.data import dim_zero_cat

from . import pixel
from ._inputs import check_bins, check_gt, check_pred, check_tolerance, make_thresholds, to_numpy
from .core import Setup, count_shapes, image_stats, scores


class SIRSTMetrics(Metric):
    """HSE-P, HSE-T, HSE, IoU, nIoU, Pd, Fa, AUC over all images passed to ``update``.

    update(preds, target): preds N x 1 x H x W (or N x H x W, or H x W) probabilities in [0, 1],
    target the same shape, binary. compute() returns the dict of ``evaluate`` (python numbers).
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(self, thresholds: int | Sequence[float] = 99, tolerance: float = 3.0, bins: int | None = None,
                 undefined: str = "raise", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if undefined not in ("raise", "nan"):
            raise ValueError("undefined must be 'raise' or 'nan'")
        self.setup = Setup(make_thresholds(thresholds), check_tolerance(tolerance), check_bins(bins))
        self.undefined = undefined
        for name, n in count_shapes(self.setup).items():
            default = torch.zeros(n, dtype=torch.int64) if n else torch.tensor(0, dtype=torch.int64)
            self.add_state(name, default=default, dist_reduce_fx="sum")
        self.add_state("niou_sum", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        if self.setup.bins is None:
            self.add_state("pos_scores", default=[], dist_reduce_fx="cat")
            self.add_state("neg_scores", default=[], dist_reduce_fx="cat")

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        p_all, g_all = to_numpy(preds), to_numpy(target)
        if p_all.shape != g_all.shape:
            raise ValueError(f"preds shape {tuple(p_all.shape)} differs from target shape {tuple(g_all.shape)}")
        if p_all.ndim == 4:
            if p_all.shape[1] != 1:
                raise ValueError(f"expected N x 1 x H x W predictions, got {tuple(p_all.shape)}")
            p_all, g_all = p_all[:, 0], g_all[:, 0]
        elif p_all.ndim == 2:
            p_all, g_all = p_all[None], g_all[None]
        elif p_all.ndim != 3:
            raise ValueError(f"expected N x 1 x H x W, N x H x W or H x W, got {tuple(p_all.shape)}")
        for i in range(p_all.shape[0]):
            where = f"batch image {i}"
            p = check_pred(p_all[i], where)
            g = check_gt(g_all[i], p.shape, where)
            st, niou, pos = image_stats(p, g, self.setup)
            for name, v in st.items():
                cur = getattr(self, name)
                setattr(self, name, cur + torch.as_tensor(v, dtype=torch.int64, device=cur.device))
            self.niou_sum += niou
            if self.setup.bins is None:
                self.pos_scores.append(torch.from_numpy(pos.astype(np.float64)).to(self.device))
                self.neg_scores.append(torch.from_numpy(np.ascontiguousarray(p[~g])).to(self.device))

    def compute(self) -> dict:
        tot = {name: getattr(self, name).detach().cpu().numpy() for name in count_shapes(self.setup)}
        tot = {k: (int(v) if v.ndim == 0 else v) for k, v in tot.items()}
        if self.setup.bins:
            groups = pixel.binned_groups(tot["hist_pos"], tot["hist_neg"])
        else:
            pos = _cat(self.pos_scores).astype(np.float64)
            u, cnt = np.unique(pos, return_counts=True)
            counter = pixel.NegativeCounter(u)
            for part in _parts(self.neg_scores):  # image by image: no second copy of every score
                counter.add(part)
            groups = counter.groups(cnt)
        return scores(tot, float(self.niou_sum), groups, self.setup, self.undefined)


def _parts(x: list | torch.Tensor) -> list[np.ndarray]:
    """A list state's tensors (or the one tensor it becomes after a DDP sync) as numpy arrays."""
    parts = x if isinstance(x, list) else [x]
    return [t.detach().cpu().numpy() for t in parts]


def _cat(x: list | torch.Tensor) -> np.ndarray:
    if isinstance(x, list) and not x:
        return np.zeros(0)
    t = dim_zero_cat(x) if isinstance(x, list) else x
    return t.detach().cpu().numpy()
