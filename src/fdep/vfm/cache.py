"""Feature cache: the frozen VFM's maps of every full image, computed once (fp16, memory-mapped).

Layout of a cache folder::

    meta.json            {"format": "fdep-vfm-cache", "version": 1, "vfm": {name, layers, patch_size,
                          embed_dim}, "dtype": "float16", "images": {id: {"hw": [H, W], "grid": [gh, gw]}}}
    features/<id>.npy    L x Cd x ceil(H/p) x ceil(W/p) float16 (maps of the full image padded to p)

Training reads the window of each random crop with :func:`fdep.vfm.align.crop_feature_maps`
(bilinear resampling onto the crop's own patch grid, then the crop's flips/transpose).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from ..errors import ConfigError, DataError, OutputExistsError
from ..fileio import atomic_path, write_json
from .align import crop_feature_maps
from .backbone import VFM

FORMAT = "fdep-vfm-cache"
IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff")


def dataset_images(folder: str | Path, split: str | None = None) -> list[tuple[str, Path]]:
    """(id, path) of a BasicIRSTD folder's images: all of them, or those listed in img_idx/<split>_<name>.txt."""
    folder = Path(folder)
    img_dir = folder / "images"
    if not img_dir.is_dir():
        raise DataError(f"{folder}: no images/ folder (expected the BasicIRSTD layout NAME/images, NAME/masks)")
    files = {p.stem: p for p in sorted(img_dir.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES}
    if split is None:
        return sorted(files.items())
    idx = folder / "img_idx" / f"{split}_{folder.name}.txt"
    if not idx.is_file():
        raise DataError(f"split file {idx} not found")
    ids = [t.strip() for t in idx.read_text().splitlines() if t.strip()]
    missing = [i for i in ids if i not in files]
    if missing:
        raise DataError(f"{idx}: id {missing[0]!r} has no image in {img_dir}")
    return [(i, files[i]) for i in ids]


def _safe_id(image_id: str) -> str:
    if not image_id or "/" in image_id or "\\" in image_id or image_id.startswith("."):
        raise DataError(f"image id {image_id!r} cannot name a cache file")
    return image_id


def write_feature_cache(
    vfm: VFM, images: Iterable[tuple[str, np.ndarray]], out_dir: str | Path, progress=None
) -> Path:
    """Compute and store ``vfm``'s maps of each (id, H x W image in [0, 1]); returns ``out_dir``.

    Refuses to touch a folder that already holds a cache (OutputExistsError). Each feature file
    and meta.json are written atomically; meta.json last, so an interrupted run leaves no
    readable (half) cache.
    """
    out = Path(out_dir)
    if (out / "meta.json").exists():
        raise OutputExistsError(f"{out} already holds a feature cache (meta.json); choose another --out")
    feat_dir = out / "features"
    feat_dir.mkdir(parents=True, exist_ok=True)
    index: dict[str, dict] = {}
    device = next(vfm.parameters()).device
    for image_id, img in images:
        arr = np.asarray(img, dtype=np.float32)
        if arr.ndim != 2:
            raise DataError(f"image {image_id!r}: expected an H x W grayscale array, got shape {arr.shape}")
        x = torch.from_numpy(arr)[None, None].to(device)
        maps = torch.stack([m[0] for m in vfm(x)]).to(torch.float16).cpu().numpy()
        with atomic_path(feat_dir / f"{_safe_id(image_id)}.npy") as tmp:
            np.save(tmp, maps)
        index[image_id] = {"hw": list(arr.shape), "grid": list(maps.shape[-2:])}
        if progress:
            progress(image_id)
    write_json(out / "meta.json", {"format": FORMAT, "version": 1, "vfm": vfm.describe(), "dtype": "float16",
                                   "images": index})
    return out


class FeatureCache:
    """Read a feature cache: crop-aligned VFM maps for data items (see :mod:`fdep.vfm.align`)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        meta_path = self.root / "meta.json"
        if not meta_path.is_file():
            raise DataError(f"{self.root} is not a feature cache (no meta.json); build one with `fdep vfm cache`")
        meta = json.loads(meta_path.read_text())
        if meta.get("format") != FORMAT:
            raise DataError(f"{meta_path}: not an fdep VFM feature cache")
        self.vfm_info: dict = meta["vfm"]
        self.images: dict[str, dict] = meta["images"]
        self.patch_size = int(self.vfm_info["patch_size"])
        self.layers = tuple(self.vfm_info["layers"])
        self._open: dict[str, np.ndarray] = {}

    def check(self, vfm_info: dict) -> None:
        """ConfigError unless the cache was made by the same VFM name and layers."""
        for key in ("name", "layers"):
            if list(np.atleast_1d(vfm_info.get(key))) != list(np.atleast_1d(self.vfm_info.get(key))):
                raise ConfigError(f"feature cache {self.root} was built with VFM {key} {self.vfm_info.get(key)!r}, "
                                  f"the model uses {vfm_info.get(key)!r}")

    def _maps(self, image_id: str) -> np.ndarray:
        if image_id not in self._open:
            if image_id not in self.images:
                raise DataError(f"image id {image_id!r} is not in feature cache {self.root}")
            self._open[image_id] = np.load(self.root / "features" / f"{image_id}.npy", mmap_mode="r")
        return self._open[image_id]

    def get(self, image_id: str, box: Sequence[int] | None = None, transpose=False, hflip=False, vflip=False):
        """L x Cd x gh x gw float32 maps aligned with ``box`` (y0, x0, h, w; default the full image)."""
        maps = self._maps(image_id)
        H, W = self.images[image_id]["hw"]
        y0, x0, h, w = (int(v) for v in (box if box is not None else (0, 0, H, W)))
        p = self.patch_size
        gh, gw = maps.shape[-2:]
        # read only the rows/columns the window needs (+1 cell margin for interpolation)
        r0 = min(max(int(np.floor(y0 / p)) - 1, 0), gh - 1)
        r1 = max(min(int(np.ceil((y0 + h) / p)) + 1, gh), r0 + 1)
        c0 = min(max(int(np.floor(x0 / p)) - 1, 0), gw - 1)
        c1 = max(min(int(np.ceil((x0 + w) / p)) + 1, gw), c0 + 1)
        window = torch.from_numpy(np.array(maps[:, :, r0:r1, c0:c1], dtype=np.float32))
        return crop_feature_maps(window, p, (y0 - r0 * p, x0 - c0 * p, h, w), image_hw=(H - r0 * p, W - c0 * p),
                                 transpose=bool(transpose), hflip=bool(hflip), vflip=bool(vflip))

    def for_batch(self, batch: dict) -> list[torch.Tensor]:
        """Maps for a collated data batch (keys id, box, and optionally transpose/hflip/vflip) -> L tensors."""
        ids = batch["id"]
        n = len(ids)

        def flag(key, i):
            v = batch.get(key)
            return bool(v[i]) if v is not None else False

        items = [self.get(ids[i], batch["box"][i].tolist(), flag("transpose", i), flag("hflip", i), flag("vflip", i))
                 for i in range(n)]
        return [torch.stack([it[k] for it in items]) for k in range(len(self.layers))]

    def __len__(self) -> int:
        return len(self.images)

    def __iter__(self) -> Iterator[str]:
        return iter(self.images)
