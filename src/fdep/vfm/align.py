"""Aligning VFM feature maps with a pixel window (a crop, or the unpadded image).

Convention: a map computed on an image padded to a multiple of the patch size ``p`` has cell
(i, j) centred on pixel ((i + 0.5) p, (j + 0.5) p). A window (y0, x0, h, w) in image pixels is
described by a ``ceil(h/p) x ceil(w/p)`` grid whose cells divide the window evenly; cell (a, b)
is centred on (y0 + (a + 0.5) h / gh, x0 + (b + 0.5) w / gw). Values there are bilinearly
interpolated from the map (edge cells extended inside the map's extent); points outside the
image extent (where the data pipeline zero-padded the crop) get zero features. The
augmentation flags are then applied in the data pipeline's order: transpose, hflip, vflip.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F


def _centres(start: float, length: float, n: int, device) -> torch.Tensor:
    return start + (torch.arange(n, device=device, dtype=torch.float32) + 0.5) * (length / n)


def _sample(maps: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor, patch: int, extent: tuple[float, float]):
    """Bilinear samples of B x C x GH x GW ``maps`` at pixel rows ``ys`` x columns ``xs``."""
    b, _, gh_src, gw_src = maps.shape
    u = (ys / patch - 0.5).clamp(0, gh_src - 1)  # cell-index coordinates, border-extended
    v = (xs / patch - 0.5).clamp(0, gw_src - 1)
    # align_corners=True: -1/+1 are the first/last cell centres
    gy = u / max(gh_src - 1, 1) * 2 - 1 if gh_src > 1 else torch.zeros_like(u)
    gx = v / max(gw_src - 1, 1) * 2 - 1 if gw_src > 1 else torch.zeros_like(v)
    grid = torch.stack(torch.meshgrid(gy, gx, indexing="ij")[::-1], dim=-1)  # (gh, gw, [x, y])
    grid = grid.unsqueeze(0).expand(b, -1, -1, -1).to(maps.dtype)
    out = F.grid_sample(maps, grid, mode="bilinear", padding_mode="border", align_corners=True)
    inside = ((ys >= 0) & (ys < extent[0]))[:, None] & ((xs >= 0) & (xs < extent[1]))[None, :]
    return out * inside.to(out.dtype)


def apply_flags(t: torch.Tensor, transpose: bool = False, hflip: bool = False, vflip: bool = False) -> torch.Tensor:
    """The data pipeline's augmentation order on the last two dims: transpose, then hflip, then vflip."""
    if transpose:
        t = t.transpose(-1, -2)
    if hflip:
        t = t.flip(-1)
    if vflip:
        t = t.flip(-2)
    return t


def crop_feature_maps(
    maps: torch.Tensor,
    patch: int,
    box: Sequence[int],
    image_hw: tuple[int, int] | None = None,
    transpose: bool = False,
    hflip: bool = False,
    vflip: bool = False,
) -> torch.Tensor:
    """Resample ``maps`` (... x GH x GW, computed on the padded full image) to the crop window ``box``.

    ``box`` = (y0, x0, h, w) in image pixels (may extend past the image); ``image_hw`` is the
    image size (default: the map's padded extent GH*p x GW*p). Returns ... x ceil(h/p) x
    ceil(w/p) (transposed when ``transpose``), in the crop's own orientation.
    """
    y0, x0, h, w = (int(v) for v in box)
    lead = maps.shape[:-2]
    gh_src, gw_src = maps.shape[-2:]
    extent = image_hw or (gh_src * patch, gw_src * patch)
    gh, gw = math.ceil(h / patch), math.ceil(w / patch)
    flat = maps.reshape(1, -1, gh_src, gw_src)
    ys = _centres(y0, h, gh, maps.device)
    xs = _centres(x0, w, gw, maps.device)
    out = _sample(flat.float(), ys, xs, patch, extent).reshape(*lead, gh, gw)
    return apply_flags(out, transpose, hflip, vflip)


def window_align(maps: list[torch.Tensor], hw: tuple[int, int], patch: int) -> list[torch.Tensor]:
    """Live VFM maps (N x Cd x ceil(H/p) x ceil(W/p), padded input) -> the same grid over the H x W window.

    Identity when H and W are multiples of the patch size (no padding happened).
    """
    h, w = hw
    if h % patch == 0 and w % patch == 0:
        return list(maps)
    gh, gw = math.ceil(h / patch), math.ceil(w / patch)
    out = []
    for m in maps:
        ys = _centres(0, h, gh, m.device)
        xs = _centres(0, w, gw, m.device)
        out.append(_sample(m, ys, xs, patch, (h, w)))
    return out
