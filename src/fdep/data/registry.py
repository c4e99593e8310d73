"""The public SIRST datasets fdep knows by name: split sizes, normalisation, sources.

The literature split lists ship with the package (``fdep/data/splits``) so a
dataset can be prepared from an archive that lacks them. Normalisation constants
are the ones the literature uses (SPEC.md section 6, 0-255 grayscale scale).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

from ..errors import DataError


@dataclass(frozen=True)
class KnownDataset:
    """What fdep knows about one public dataset."""

    name: str
    n_train: int
    n_test: int
    mean: float | None = None
    std: float | None = None
    #: a direct archive URL that needs no browser (None: only a browser link exists)
    url: str | None = None
    #: the official page where the data is published
    page: str = ""
    #: union datasets: the component names
    components: tuple[str, ...] = ()
    #: folder names (lower-case) the release uses for images and masks
    image_dirs: tuple[str, ...] = ("images",)
    mask_dirs: tuple[str, ...] = ("masks",)
    #: suffixes after the id in mask file stems (e.g. NUAA's "Misc_1_pixels0.png")
    mask_stem_suffixes: tuple[str, ...] = ()
    #: id -> quirk fixed by ``prepare`` (documented in docs/data.md)
    mask_resize_ids: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())


NUAA_COMMIT = "ebe623cf8f7f0b113d3936f2698c3490483caf4e"

KNOWN: dict[str, KnownDataset] = {
    d.name: d
    for d in (
        KnownDataset(
            "NUAA-SIRST",
            213,
            214,
            101.06,
            34.62,
            url=f"https://github.com/YimianDai/sirst/archive/{NUAA_COMMIT}.zip",
            page="https://github.com/YimianDai/sirst",
            mask_stem_suffixes=("_pixels0",),
            mask_resize_ids=("Misc_111",),
        ),
        KnownDataset(
            "NUDT-SIRST",
            663,
            664,
            107.81,
            33.02,
            url=None,
            page="https://github.com/YeRen123455/Infrared-Small-Target-Detection "
            "(Google Drive folder https://drive.google.com/drive/folders/1YGoYaBi9dLwoTwoeTytEs5m-VeeCDXf7)",
        ),
        KnownDataset(
            "IRSTD-1K",
            800,
            201,
            87.47,
            39.72,
            url="https://drive.usercontent.google.com/download?id=1QxUJrgBjzHbIFMXA-Cu9y56twzUTf-ZH"
            "&export=download&confirm=t",
            page="https://github.com/RuiZhang97/ISNet "
            "(Google Drive file https://drive.google.com/file/d/1QxUJrgBjzHbIFMXA-Cu9y56twzUTf-ZH)",
            image_dirs=("irstd1k_img", "images"),
            mask_dirs=("irstd1k_label", "masks"),
        ),
        KnownDataset(
            "SIRST3",
            1676,
            1079,
            components=("NUAA-SIRST", "NUDT-SIRST", "IRSTD-1K"),
            page="the union of NUAA-SIRST, NUDT-SIRST and IRSTD-1K",
        ),
    )
}


def normalise_name(name: str) -> str:
    """Case- and punctuation-insensitive key: 'irstd1k' == 'IRSTD-1K'."""
    return "".join(c for c in name.lower() if c.isalnum())


def find_known(name: str) -> KnownDataset | None:
    """The known dataset called ``name`` (any case, with or without dashes), else None."""
    key = normalise_name(name)
    for d in KNOWN.values():
        if normalise_name(d.name) == key:
            return d
    return None


def get_known(name: str) -> KnownDataset:
    d = find_known(name)
    if d is None:
        raise DataError(f"unknown dataset {name!r}; known datasets: {', '.join(KNOWN)}")
    return d


def packaged_split(name: str, split: str) -> list[str]:
    """The literature split list shipped with fdep for a known dataset."""
    d = get_known(name)
    res = resources.files("fdep.data").joinpath("splits", f"{split}_{d.name}.txt")
    if not res.is_file():
        raise DataError(f"fdep ships no {split!r} split list for {d.name}")
    return [line.strip() for line in res.read_text(encoding="utf-8").splitlines() if line.strip()]
