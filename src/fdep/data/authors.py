"""The authors' training augmentation (``augment: authors``), re-implemented with OpenCV and numpy.

What the released script does to a training image (PAL ``train_model.py`` with
``albumentations==1.3.0`` as its README pins, and
``components/dataset_final_edge_copy_paste_final_2_img_path.py``), step by step:

1. **Crop** on the raw 8-bit image: a dimension smaller than the patch is zero padded at the
   bottom/right (black, before normalisation); the window start is uniform over the valid range.
   (``target_prob`` > 0, an fdep extension, forces the window onto a target pixel with that
   probability; the authors' value is 0.)
2. **SomeOf(n=3, p=0.5)**: with probability 1/2, three operations are drawn *with replacement*,
   with probabilities proportional to the ``p`` each one was declared with, and each drawn one
   is applied unconditionally (albumentations 1.3.0 calls them with ``force_apply=True``; its
   ``p`` is only a weight). Declared weights: vertical flip .5, horizontal flip .5, transpose .5,
   rotate90 (k uniform in 0..3) .5, brightness (limit .3) .2, contrast (limit .3) .2,
   rotate (+-45 degrees) .3, shift (+-10 % of each side) .5, scale (0.8-1.2) .5, Gaussian noise
   (variance 10-50) .2, two no-ops .5 each; total 4.9. The same operation may be drawn twice
   (two flips cancel).
3. Normalisation (``(x - mean) / std``) is the dataset's job, after this transform.

Geometric operations warp the image with bilinear interpolation and the mask with nearest
neighbour, both with OpenCV's BORDER_REFLECT_101 (albumentations' default: content is mirrored
into the corners, targets included), about the centre ``(w/2 - 0.5, h/2 - 0.5)``. Photometric
ones work on uint8 through a lookup table and truncate: brightness ``x + 255 b``, contrast
``x * a`` (about 0, not about the mean), noise ``x + N(0, sigma)`` independently per channel,
each clipped to 0..255 and cast to uint8. Images are 8-bit with ``channels`` identical channels
(the authors read grayscale images as RGB) until noise makes the channels differ.

Random numbers come from the generator the dataset passes in (seeded by base seed, epoch and
item), not from Python's ``random``: the distribution is the authors', the draws are fdep's.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import InputError
from .transforms import Augmented

#: (operation, declared albumentations p = its weight in SomeOf) in the authors' order
AUTHORS_OPS: tuple[tuple[str, float], ...] = (
    ("vflip", 0.5),
    ("hflip", 0.5),
    ("transpose", 0.5),
    ("rot90", 0.5),
    ("brightness", 0.2),
    ("contrast", 0.2),
    ("rotate", 0.3),
    ("shift", 0.5),
    ("scale", 0.5),
    ("noise", 0.2),
    ("noop", 0.5),
    ("noop", 0.5),
)
SOMEOF_N = 3
SOMEOF_P = 0.5


def authors_crop(image: np.ndarray, mask: np.ndarray, size: int, rng: np.random.Generator,
                 must: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray, int, int]:
    """(image patch, mask patch, y0, x0): zero pad bottom/right to ``size`` where smaller, uniform start.

    ``must``: a (row, col) the window has to contain (the start range is narrowed to it).
    """
    h, w = image.shape[:2]
    ph, pw = max(h, size) - h, max(w, size) - w
    if ph or pw:
        pad = ((0, ph), (0, pw)) + ((0, 0),) * (image.ndim - 2)
        image = np.pad(image, pad, mode="constant")
        mask = np.pad(mask, ((0, ph), (0, pw)), mode="constant")
    H, W = image.shape[:2]
    starts = []
    for length, m in ((H, None if must is None else must[0]), (W, None if must is None else must[1])):
        lo, hi = 0, length - size
        if m is not None:
            lo, hi = max(lo, m - size + 1), min(hi, m)
        starts.append(int(rng.integers(lo, hi + 1)))
    y0, x0 = starts
    return image[y0 : y0 + size, x0 : x0 + size], mask[y0 : y0 + size, x0 : x0 + size], y0, x0


def _warp(image: np.ndarray, mask: np.ndarray, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Affine warp: image bilinear, mask nearest, both reflect-101 at the border (albumentations' defaults)."""
    h, w = image.shape[:2]
    img = cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    msk = cv2.warpAffine(mask, matrix, (w, h), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT_101)
    return img.reshape(image.shape), msk


def _centre(image: np.ndarray) -> tuple[float, float]:
    h, w = image.shape[:2]
    return (w / 2 - 0.5, h / 2 - 0.5)


def rotate(image: np.ndarray, mask: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """albumentations 1.3.0 Rotate: ``angle`` degrees (counter-clockwise) about the centre."""
    return _warp(image, mask, cv2.getRotationMatrix2D(_centre(image), angle, 1.0))


def shift_scale(image: np.ndarray, mask: np.ndarray, scale: float, dx: float, dy: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """albumentations 1.3.0 ShiftScaleRotate without rotation: scale about the centre, shift by (dx w, dy h)."""
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D(_centre(image), 0.0, scale)
    matrix[0, 2] += dx * w
    matrix[1, 2] += dy * h
    return _warp(image, mask, matrix)


def _lut(image: np.ndarray, lut: np.ndarray) -> np.ndarray:
    return np.clip(lut, 0, 255).astype(np.uint8)[image]


def brightness(image: np.ndarray, beta: float) -> np.ndarray:
    """``x + beta * 255`` on uint8, clipped and truncated (RandomBrightness, brightness_by_max)."""
    lut = np.arange(256, dtype=np.float32)
    if beta != 0:
        lut += beta * 255
    return _lut(image, lut)


def contrast(image: np.ndarray, alpha: float) -> np.ndarray:
    """``x * alpha`` on uint8, clipped and truncated (RandomContrast: scales about 0)."""
    lut = np.arange(256, dtype=np.float32)
    if alpha != 1:
        lut *= alpha
    return _lut(image, lut)


def gauss_noise(image: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """``x + N(0, sigma)`` per pixel and channel, clipped to 0..255 and truncated to uint8."""
    noisy = image.astype(np.float32) + rng.normal(0.0, sigma, image.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def apply_op(name: str, image: np.ndarray, mask: np.ndarray, rng: np.random.Generator
             ) -> tuple[np.ndarray, np.ndarray]:
    """One of :data:`AUTHORS_OPS` with its parameters drawn from ``rng``."""
    if name == "vflip":
        return image[::-1], mask[::-1]
    if name == "hflip":
        return image[:, ::-1], mask[:, ::-1]
    if name == "transpose":
        return image.swapaxes(0, 1), mask.T
    if name == "rot90":
        k = int(rng.integers(0, 4))
        return np.rot90(image, k), np.rot90(mask, k)
    if name == "brightness":
        return brightness(image, float(rng.uniform(-0.3, 0.3))), mask
    if name == "contrast":
        return contrast(image, 1.0 + float(rng.uniform(-0.3, 0.3))), mask
    if name == "rotate":
        return rotate(np.ascontiguousarray(image), np.ascontiguousarray(mask), float(rng.uniform(-45, 45)))
    if name == "shift":
        dx, dy = float(rng.uniform(-0.1, 0.1)), float(rng.uniform(-0.1, 0.1))
        return shift_scale(np.ascontiguousarray(image), np.ascontiguousarray(mask), 1.0, dx, dy)
    if name == "scale":
        return shift_scale(np.ascontiguousarray(image), np.ascontiguousarray(mask), float(rng.uniform(0.8, 1.2)),
                           0.0, 0.0)
    if name == "noise":
        return gauss_noise(image, float(rng.uniform(10.0, 50.0)) ** 0.5, rng), mask
    if name == "noop":
        return image, mask
    raise InputError(f"unknown augmentation operation {name!r}")


def to_uint8(image: np.ndarray) -> np.ndarray:
    """A 0-255 float image as uint8 (rounded; exact for 8-bit sources)."""
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


class AuthorsTransform:
    """The authors' crop + SomeOf augmentation on raw 0-255 images (see the module doc).

    Called by the dataset *before* normalisation (``raw_input``): ``image`` is the float32 H x W
    grayscale image on the 0-255 scale; the result holds a float32 0-255 image, H x W for
    ``channels`` 1 and channels-first C x H x W otherwise. ``box`` is the crop window; the
    flip flags are False because the later geometry is not recorded (a VFM feature cache cannot
    follow this augmentation).
    """

    raw_input = True

    def __init__(self, crop_size: int = 448, target_prob: float = 0.0, channels: int = 3, seed: int = 0):
        if int(crop_size) < 1:
            raise InputError(f"crop_size must be a positive integer, got {crop_size}")
        if not 0.0 <= float(target_prob) <= 1.0:
            raise InputError(f"target_prob must lie in [0, 1], got {target_prob}")
        if int(channels) < 1:
            raise InputError(f"channels must be >= 1, got {channels}")
        self.crop_size = int(crop_size)
        self.target_prob = float(target_prob)
        self.channels = int(channels)
        self.seed = int(seed)
        weights = np.array([p for _, p in AUTHORS_OPS], dtype=np.float64)
        self.op_probs = weights / weights.sum()

    def __repr__(self) -> str:
        return (f"AuthorsTransform(crop_size={self.crop_size}, target_prob={self.target_prob}, "
                f"channels={self.channels}, seed={self.seed})")

    def draw_ops(self, rng: np.random.Generator) -> list[str]:
        """The operations of one item: none with probability 1/2, else 3 drawn with replacement by weight."""
        if rng.random() >= SOMEOF_P:
            return []
        idx = rng.choice(len(AUTHORS_OPS), size=SOMEOF_N, replace=True, p=self.op_probs)
        return [AUTHORS_OPS[int(i)][0] for i in idx]

    def __call__(self, image: np.ndarray, mask: np.ndarray, rng: np.random.Generator, pixel_std: float = 1.0
                 ) -> Augmented:
        must = None
        want_target = rng.random() < self.target_prob
        pick = rng.random()
        if want_target and mask.any():
            ys, xs = np.nonzero(mask)
            k = min(int(pick * ys.size), ys.size - 1)
            must = (int(ys[k]), int(xs[k]))
        img = to_uint8(image)
        if self.channels > 1:
            img = np.repeat(img[:, :, None], self.channels, axis=2)
        img, msk, y0, x0 = authors_crop(img, mask.astype(np.uint8), self.crop_size, rng, must)
        for name in self.draw_ops(rng):
            img, msk = apply_op(name, img, msk, rng)
        out = img.astype(np.float32)
        if out.ndim == 3:
            out = out.transpose(2, 0, 1)
        c = self.crop_size
        return Augmented(np.ascontiguousarray(out), np.ascontiguousarray(msk > 0), (y0, x0, c, c), False, False,
                         False)
