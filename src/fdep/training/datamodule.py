"""LightningDataModule over fdep.data: training crops, full-image validation.

Reproducibility does not depend on hook order, worker count or resuming: the
training sampler draws its permutation from (seed, epoch) and hands every
index to the dataset together with the epoch, so each worker seeds the
augmentation of an item from (epoch, item) through ``dataset.set_epoch``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ..cpu import usable_cores
from ..errors import ConfigError
from .config import TrainConfig

log = logging.getLogger("fdep.training")


def synthetic_root(cfg: TrainConfig) -> Path:
    """Where ``data: synthetic`` is generated (inside the run directory, reused on resume)."""
    if not cfg.out:
        raise ConfigError("data: synthetic needs an output directory (--out) to generate the images in")
    return Path(cfg.out) / "data"


def synthetic_dataset(run_dir: str | os.PathLike) -> Path:
    """The dataset folder ``data: synthetic`` generated in the run directory ``run_dir`` (``fdep test`` reads it
    for ``--data synthetic``)."""
    return Path(run_dir) / "data" / "synthetic"


def data_spec(cfg: TrainConfig) -> str:
    """The fdep.data dataset spec of a config (generated synthetic data resolved to its folder)."""
    if not cfg.data:
        raise ConfigError("no training data given: set data (--data ROOT/NAME, or --data synthetic)")
    if cfg.data == "synthetic":
        return str(synthetic_dataset(synthetic_root(cfg).parent))
    return cfg.data


def ensure_synthetic(cfg: TrainConfig) -> None:
    """Generate ``data: synthetic`` once (deterministic in the seed; skipped when present)."""
    if cfg.data != "synthetic":
        return
    from ..data import generate_synthetic

    root = synthetic_root(cfg)
    if (root / "synthetic").exists():  # generate_synthetic builds it atomically
        return
    log.info("generating %d synthetic %dx%d images in %s", cfg.synthetic_n, cfg.synthetic_size,
             cfg.synthetic_size, root)
    generate_synthetic(root, n=cfg.synthetic_n, size=cfg.synthetic_size, seed=cfg.seed, name="synthetic")


class Renormalised(Dataset):
    """A dataset whose images are re-normalised to fixed (mean, std) and whose items may carry the epoch.

    fdep.data normalises with each dataset's own constants; a model expects the
    constants it was trained with, so images are mapped to those. Indices may be
    ``(index, epoch)`` pairs (from :class:`EpochSampler`): the epoch is passed to
    ``set_epoch`` of the wrapped dataset before the item is drawn.
    """

    def __init__(self, ds: Any, mean: float, std: float) -> None:
        self.ds = ds
        self.mean, self.std = float(mean), float(std)
        self._scale = float(ds.std) / self.std
        self._shift = (float(ds.mean) - self.mean) / self.std
        self._epoch: int | None = None

    def __len__(self) -> int:
        return len(self.ds)

    @property
    def ids(self) -> list[str]:
        return self.ds.ids

    def __getitem__(self, index: int | tuple[int, int]) -> dict[str, Any]:
        if isinstance(index, tuple):
            index, epoch = index
            if epoch != self._epoch and hasattr(self.ds, "set_epoch"):
                self.ds.set_epoch(epoch)
                self._epoch = epoch
        item = dict(self.ds[index])
        if self._scale != 1.0 or self._shift != 0.0:
            item["image"] = item["image"] * self._scale + self._shift
        return item


class EpochSampler(Sampler):
    """A random permutation drawn from (seed, epoch), yielding ``(index, epoch)`` pairs.

    ``epoch_fn`` is read when iteration starts, so the permutation is right
    even when the DataLoader iterator is created before ``set_epoch`` is
    called (Lightning does so on the first epoch of a resumed run).
    """

    def __init__(self, n: int, seed: int, epoch_fn: Callable[[], int]) -> None:
        self.n, self.seed, self.epoch_fn = n, seed, epoch_fn

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch = int(self.epoch_fn())
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        for i in torch.randperm(self.n, generator=g).tolist():
            yield (i, epoch)


def collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack tensors, keep ids as a list."""
    out: dict[str, Any] = {}
    for key in items[0]:
        vals = [it[key] for it in items]
        if isinstance(vals[0], torch.Tensor):
            out[key] = torch.stack(vals)
        elif isinstance(vals[0], (bool, int, float)):
            out[key] = torch.tensor(vals)
        else:
            out[key] = vals
    return out


class SIRSTDataModule(L.LightningDataModule):
    """Training crops from the training split; validation on full images."""

    def __init__(self, cfg: TrainConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.train_set: Renormalised | None = None
        self.val_set: Renormalised | None = None

    def prepare_data(self) -> None:
        ensure_synthetic(self.cfg)

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        self.train_set, self.val_set = build_datasets(self.cfg)
        check_val_batch_size(self.cfg, self.val_set)

    def _epoch(self) -> int:
        """The epoch the next training iterator serves.

        Lightning creates the iterator of a resumed run's first epoch before the loop's "completed"
        counter (``current_epoch``) catches up with an end-of-epoch checkpoint; the "processed"
        counter is right in both the fresh and the resumed case.
        """
        trainer = getattr(self, "trainer", None)
        if trainer is None:
            return 0
        try:
            return int(trainer.fit_loop.epoch_progress.current.processed)
        except AttributeError:  # pragma: no cover - other Lightning versions
            return int(trainer.current_epoch)

    def workers(self) -> int:
        """DataLoader workers per process: cfg.num_workers, or chosen from the cores (see :func:`auto_workers`)."""
        if self.cfg.num_workers is not None:
            return int(self.cfg.num_workers)
        trainer = getattr(self, "trainer", None)
        procs = int(getattr(trainer, "num_devices", 1) or 1) if trainer is not None else 1
        return auto_workers(procs)

    def train_dataloader(self) -> DataLoader:
        cfg = self.cfg
        assert self.train_set is not None
        batch = min(cfg.batch_size, len(self.train_set))
        workers = self.workers()
        return DataLoader(
            self.train_set,
            batch_size=batch,
            sampler=EpochSampler(len(self.train_set), cfg.seed, self._epoch),
            num_workers=workers,
            collate_fn=collate,
            drop_last=cfg.drop_last and len(self.train_set) >= 2 * batch,
            pin_memory=False,
            persistent_workers=workers > 0,  # started once, not again every epoch
        )

    def val_dataloader(self) -> DataLoader:
        cfg = self.cfg
        assert self.val_set is not None
        sampler = None
        trainer = getattr(self, "trainer", None)
        if trainer is not None and trainer.world_size > 1:
            # every validation image exactly once across processes (no padding repeats)
            from lightning.pytorch.overrides.distributed import UnrepeatedDistributedSampler

            sampler = UnrepeatedDistributedSampler(self.val_set, num_replicas=trainer.world_size,
                                                   rank=trainer.global_rank, shuffle=False)
        workers = min(self.workers(), 2)
        return DataLoader(self.val_set, batch_size=cfg.val_batch_size, shuffle=False, sampler=sampler,
                          num_workers=workers, collate_fn=collate, persistent_workers=workers > 0)


def check_val_batch_size(cfg: TrainConfig, val_set: Any) -> None:
    """Validation batches full images as they are: with ``val_batch_size`` > 1 every validation image must have
    one size. Checked from the image headers when the data is set up, before the first epoch (mixed sizes
    failed in torch.stack after the first training epoch): ConfigError naming two sizes and their images."""
    if cfg.val_batch_size <= 1:
        return
    from ..imageio import image_size

    samples = getattr(getattr(val_set, "ds", val_set), "samples", None) or []
    first: dict[tuple[int, int], str] = {}
    for s in samples:
        first.setdefault(image_size(s.image), s.id)
        if len(first) > 1:
            (a, ida), (b, idb) = list(first.items())[:2]
            raise ConfigError(
                f"val_batch_size: {cfg.val_batch_size}, but the validation images differ in size ({ida}: "
                f"{a[0]} x {a[1]}, {idb}: {b[0]} x {b[1]}); full images are batched as they are, so use "
                f"--val-batch-size 1 (the default)")


def auto_workers(processes: int = 1, cores: int | None = None) -> int:
    """Workers per training process: the cores left after one per process, shared out, at most 4.

    On a 2-core machine with one process that is 1 (the main process keeps a core for the model);
    4 workers there (the former default) oversubscribed the cores (measured in docs/training-evidence.md).
    """
    cores = usable_cores() if cores is None else cores
    return max(0, min(4, cores // max(1, processes) - 1))


def make_transform(cfg: TrainConfig) -> Any:
    """The training augmentation of ``cfg.augment``: fdep's crop + flips, or the authors' recipe."""
    from ..data import AuthorsTransform, TrainTransform

    if cfg.augment == "authors":
        return AuthorsTransform(crop_size=cfg.crop, target_prob=cfg.target_prob, channels=cfg.in_chans,
                                seed=cfg.seed)
    return TrainTransform(crop_size=cfg.crop, target_prob=cfg.target_prob, flip=cfg.flip,
                          transpose=cfg.transpose, noise=cfg.noise, seed=cfg.seed)


def training_input_range(cfg: TrainConfig) -> dict:
    """The gray range of the run's training images (sampled; ``fdep.inputrange``), recorded with its weights so
    that ``fdep predict``/``fdep test`` can warn about inputs far from it (14-bit data, kelvin floats, ...)."""
    from ..data.dataset import split_image_files
    from ..data.stats import sample_range_record

    return sample_range_record(split_image_files(data_spec(cfg), cfg.train_split))


def split_ids(cfg: TrainConfig) -> tuple[list[str] | None, list[str] | None]:
    """(training ids, validation ids) when ``val_split: carve``; (None, None) when whole splits are used."""
    if cfg.val_split != "carve":
        return None, None
    from ..data import load_dataset, split_train_val

    ids = load_dataset(data_spec(cfg), split=cfg.train_split).ids
    return split_train_val(ids, val_fraction=cfg.val_fraction, seed=cfg.seed)


def build_datasets(cfg: TrainConfig) -> tuple[Renormalised, Renormalised]:
    """(training set with augmentation, validation set of full images), normalised with cfg.mean/std."""
    from ..data import load_dataset

    spec = data_spec(cfg)
    transform = make_transform(cfg)
    train_ids, val_ids = split_ids(cfg)
    if train_ids is not None:
        train = load_dataset(spec, split=cfg.train_split, ids=train_ids, transform=transform)
        val = load_dataset(spec, split=cfg.train_split, ids=val_ids)
    else:
        if cfg.val_split == "test":
            log.warning("!!! validating and selecting the best checkpoint on the TEST split (val_split: test), as "
                        "asked: test scores of this run are not independent of model selection !!!")
        train = load_dataset(spec, split=cfg.train_split, transform=transform)
        val = load_dataset(spec, split=cfg.val_split)
    mean, std = normalisation(cfg, train)
    return Renormalised(train, mean, std), Renormalised(val, mean, std)


def normalisation(cfg: TrainConfig, train_ds: Any = None) -> tuple[float, float]:
    """cfg.mean/std, else computed from the images the run trains on per ``cfg.normalisation``.

    ``dataset``: the dataset's constants (the literature's for known datasets, pixel-pooled
    statistics of the training split otherwise); ``per-image-mean``: the authors' mean of
    per-image means and stds over the training images (the carved training part with
    ``val_split: carve``).
    """
    if cfg.mean is not None and cfg.std is not None:
        return float(cfg.mean), float(cfg.std)
    if train_ds is None:
        from ..data import load_dataset

        train_ids, _ = split_ids(cfg)
        train_ds = load_dataset(data_spec(cfg), split=cfg.train_split, ids=train_ids)
    if cfg.normalisation == "per-image-mean":
        from ..data.stats import per_image_stats

        mean, std = per_image_stats([s.image for s in train_ds.samples])
        log.info("normalisation: mean of per-image means %.3f and stds %.3f over %d training images", mean, std,
                 len(train_ds.samples))
    else:
        mean, std = float(train_ds.mean), float(train_ds.std)
    return (float(cfg.mean) if cfg.mean is not None else mean), (float(cfg.std) if cfg.std is not None else std)
