"""Training augmentation and test-time padding.

Training (:class:`TrainTransform`): a random ``crop_size`` square window (zero
padded where it extends past a smaller image), forced to contain a target pixel
with probability ``target_prob``, then transpose / horizontal flip / vertical
flip (each with probability 1/2, in that order), then optional Gaussian noise.
Every random draw comes from the generator the dataset passes in, seeded by
(base seed, epoch, sample index), so batches do not depend on worker count.

Test: :func:`pad_to_multiple` pads bottom/right with zeros to a multiple of a
stride (a tuple of strides means their lcm, e.g. (32, 14) -> 224) and
:func:`crop_to` cuts the prediction back to the image size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import InputError


@dataclass(frozen=True)
class Augmented:
    image: np.ndarray  # float32 H x W, normalised (raw_input transforms: 0-255, C x H x W with channels)
    mask: np.ndarray  # bool H x W
    box: tuple[int, int, int, int]  # (y0, x0, h, w) in original image coordinates
    hflip: bool
    vflip: bool
    transpose: bool


def crop_window(arr: np.ndarray, y0: int, x0: int, h: int, w: int, fill=0) -> np.ndarray:
    """``arr[y0:y0+h, x0:x0+w]`` where the window may extend past the array (filled with ``fill``)."""
    out = np.full((h, w), fill, dtype=arr.dtype)
    H, W = arr.shape
    ys, xs = max(y0, 0), max(x0, 0)
    ye, xe = min(y0 + h, H), min(x0 + w, W)
    if ye > ys and xe > xs:
        out[ys - y0 : ye - y0, xs - x0 : xe - x0] = arr[ys:ye, xs:xe]
    return out


def _start(rng: np.random.Generator, length: int, size: int, must: int | None) -> int:
    """A window start along one axis; windows larger than the image may start before 0."""
    lo, hi = min(0, length - size), max(0, length - size)
    if must is not None:  # the window must contain pixel ``must``
        lo, hi = max(lo, must - size + 1), min(hi, must)
    return int(rng.integers(lo, hi + 1))


class TrainTransform:
    """Seeded random crop + flips/transposes + optional noise (see module doc).

    ``noise``: standard deviation of additive Gaussian noise on the 0-255 scale
    (applied with probability 1/2 per sample); 0 disables it. ``seed`` is the
    base seed combined with the epoch and sample index.
    """

    def __init__(
        self,
        crop_size: int = 448,
        target_prob: float = 0.5,
        flip: bool = True,
        transpose: bool = True,
        noise: float = 0.0,
        seed: int = 0,
    ):
        if int(crop_size) < 1:
            raise InputError(f"crop_size must be a positive integer, got {crop_size}")
        if not 0.0 <= float(target_prob) <= 1.0:
            raise InputError(f"target_prob must lie in [0, 1], got {target_prob}")
        if float(noise) < 0:
            raise InputError(f"noise must be >= 0, got {noise}")
        self.crop_size = int(crop_size)
        self.target_prob = float(target_prob)
        self.flip = bool(flip)
        self.transpose = bool(transpose)
        self.noise = float(noise)
        self.seed = int(seed)

    def __repr__(self) -> str:
        return (
            f"TrainTransform(crop_size={self.crop_size}, target_prob={self.target_prob}, flip={self.flip}, "
            f"transpose={self.transpose}, noise={self.noise}, seed={self.seed})"
        )

    def __call__(
        self, image: np.ndarray, mask: np.ndarray, rng: np.random.Generator, pixel_std: float = 1.0
    ) -> Augmented:
        H, W = image.shape
        c = self.crop_size
        ty = tx = None
        # Draw every random number in a fixed order, whatever branch is taken, for reproducibility.
        want_target = rng.random() < self.target_prob
        pick = rng.random()
        if want_target and mask.any():
            ys, xs = np.nonzero(mask)
            k = min(int(pick * ys.size), ys.size - 1)
            ty, tx = int(ys[k]), int(xs[k])
        y0 = _start(rng, H, c, ty)
        x0 = _start(rng, W, c, tx)
        img = crop_window(image, y0, x0, c, c, 0.0)
        msk = crop_window(mask, y0, x0, c, c, False)
        coins = rng.random(4)
        tr = self.transpose and coins[0] < 0.5
        hf = self.flip and coins[1] < 0.5
        vf = self.flip and coins[2] < 0.5
        if tr:
            img, msk = img.T, msk.T
        if hf:
            img, msk = img[:, ::-1], msk[:, ::-1]
        if vf:
            img, msk = img[::-1], msk[::-1]
        if self.noise > 0 and coins[3] < 0.5:
            img = img + rng.normal(0.0, self.noise / pixel_std, img.shape).astype(np.float32)
        return Augmented(
            np.ascontiguousarray(img, dtype=np.float32), np.ascontiguousarray(msk), (y0, x0, c, c), hf, vf, tr
        )


def stride_of(multiple: int | tuple[int, ...] | list[int]) -> int:
    """One stride from an int or a tuple of strides (their least common multiple)."""
    ms = (multiple,) if isinstance(multiple, int) else tuple(multiple)
    if not ms or any(int(m) < 1 for m in ms):
        raise InputError(f"padding multiple must be positive integers, got {multiple}")
    return math.lcm(*(int(m) for m in ms))


def pad_to_multiple(
    x: torch.Tensor, multiple: int | tuple[int, ...] = 32, value: float = 0.0
) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad N x C x H x W bottom/right to a multiple of ``multiple`` (tuple: lcm); return (padded, (H, W))."""
    if x.ndim != 4:
        raise InputError(f"pad_to_multiple expects an N x C x H x W tensor, got shape {tuple(x.shape)}")
    m = stride_of(multiple)
    H, W = int(x.shape[-2]), int(x.shape[-1])
    ph, pw = (-H) % m, (-W) % m
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), value=value)
    return x, (H, W)


def crop_to(y: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Cut a padded output back to the top-left ``size`` = (H, W)."""
    H, W = int(size[0]), int(size[1])
    if y.shape[-2] < H or y.shape[-1] < W:
        raise InputError(f"crop_to: output {tuple(y.shape[-2:])} is smaller than the target size {(H, W)}")
    return y[..., :H, :W]


def _starts(length: int, tile: int, step: int) -> list[int]:
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, step))
    starts.append(length - tile)
    return starts


def _ramp(n: int, overlap: int) -> torch.Tensor:
    """1-D stitching weights: 1 in the middle, falling linearly across half the overlap at each end."""
    i = torch.arange(n, dtype=torch.float32)
    edge = max(overlap // 2, 1)
    return torch.clamp(torch.minimum((i + 1) / (edge + 1), (n - i) / (edge + 1)), max=1.0)


@torch.no_grad()
def predict_tiled(fn, x: torch.Tensor, tile: int = 512, overlap: int = 64, multiple: int | tuple = 32,
                  on_tile=None) -> torch.Tensor:
    """Run ``fn`` (N x C x h x w -> N x 1 x h x w) over overlapping tiles and stitch the outputs.

    Images no larger than ``tile`` run in one piece (padded to ``multiple``).
    Tiles are ``tile`` rounded up to the multiple; neighbouring outputs are
    blended with linear ramps over the overlap, so seams get no hard edges.
    The result has the input's spatial size. ``on_tile(done, total)`` is called
    after each tile (progress of long work on a large image).
    """
    if x.ndim != 4:
        raise InputError(f"predict_tiled expects an N x C x H x W tensor, got shape {tuple(x.shape)}")
    m = stride_of(multiple)
    tile = int(math.ceil(int(tile) / m) * m)
    N, _, H, W = x.shape
    if max(H, W) <= tile:
        xp, size = pad_to_multiple(x, m)
        return crop_to(fn(xp), size)
    if not 0 <= overlap < tile:
        raise InputError(f"overlap must lie in [0, tile={tile}), got {overlap}")
    out = weight = None
    step = tile - overlap
    corners = [(y0, x0) for y0 in _starts(H, tile, step) for x0 in _starts(W, tile, step)]
    for done, (y0, x0) in enumerate(corners, 1):
        patch = x[..., y0 : y0 + tile, x0 : x0 + tile]
        pp, size = pad_to_multiple(patch, m)
        y = crop_to(fn(pp), size)
        if out is None:
            out = torch.zeros((N, y.shape[1], H, W), dtype=y.dtype, device=y.device)
            weight = torch.zeros((1, 1, H, W), dtype=y.dtype, device=y.device)
        w = (_ramp(size[0], overlap)[:, None] * _ramp(size[1], overlap)[None, :]).to(y)
        out[..., y0 : y0 + size[0], x0 : x0 + size[1]] += y * w
        weight[..., y0 : y0 + size[0], x0 : x0 + size[1]] += w
        if on_tile is not None:
            on_tile(done, len(corners))
    return out / weight
