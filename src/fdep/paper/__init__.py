"""The FDEP paper's published numbers as data, and the lookup that finds the row a run reproduces.

``results.csv`` (shipped with the package) holds every row of the paper's Tables 1-6 and
supplementary Tables S1-S4 with the values exactly as printed (percent, Fa x1e-6, params in M),
the network, variant, dataset, the FDEP settings in the paper's terms and a note where the paper
is inconsistent. :func:`paper_row` answers "what did the paper publish for this network, variant
and dataset"; :func:`run_setting` turns an fdep training config into the paper's terms so a run
with a non-default VFM, fusion or sharing finds its ablation row (or none). This package imports
nothing else of fdep.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

TITLE = "Rethinking Infrared Small Target Detection: A Foundation-Driven Efficient Paradigm"

#: metric column -> (title, factor from fdep's fractions/ratios to the paper's printed unit, unit)
METRICS: dict[str, tuple[str, float, str]] = {
    "iou": ("IoU", 100.0, "%"),
    "niou": ("nIoU", 100.0, "%"),
    "pd": ("Pd", 100.0, "%"),
    "fa": ("Fa", 1e6, "x1e-6"),
    "hse_p": ("HSE-P", 100.0, "%"),
    "hse_t": ("HSE-T", 100.0, "%"),
    "hse": ("HSE", 100.0, "%"),
    "params_m": ("P", 1.0, "M"),
    "time_s": ("Time", 1.0, "s"),
}

#: the FDEP settings a row may fix (paper terms); an empty value in the file means "not stated"
SETTING_KEYS = ("vfm", "samf", "share", "edl", "vfm_layers", "vfm_frozen")
VARIANTS = ("original", "fdep-main", "fdep", "other")

#: tables searched by :func:`paper_row`, in this order: the main comparisons first, then the ablations
TABLE_ORDER = ("1", "2", "S3", "S4", "3", "4", "5", "S1", "S2", "6")
EXPECTED_ROWS = {"1": 24, "2": 72, "S3": 18, "S4": 54, "3": 5, "4": 6, "5": 6, "S1": 8, "S2": 6, "6": 5}

#: the paper's datasets: normalised name -> (printed name, test images, component datasets)
DATASETS: dict[str, tuple[str, int, tuple[str, ...]]] = {
    "nuaasirst": ("NUAA-SIRST", 214, ()),
    "nudtsirst": ("NUDT-SIRST", 664, ()),
    "irstd1k": ("IRSTD-1K", 201, ()),
    "sirst3": ("SIRST3", 1079, ("nuaasirst", "nudtsirst", "irstd1k")),
}

#: other spellings of network names (normalised) -> the paper's network (normalised)
NETWORK_ALIASES = {"ilnetl": "ilnet"}  # ILNet's large version, the one the paper's 4.04 M params count

#: fdep VFM names / Hugging Face ids -> the paper's backbone names (Tables 4 and S2)
VFM_NAMES = {
    "dinov2_vits14": "ViT-S/14", "facebook/dinov2-small": "ViT-S/14",
    "dinov2_vitb14": "ViT-B/14", "facebook/dinov2-base": "ViT-B/14",
    "dinov2_vitl14": "ViT-L/14", "facebook/dinov2-large": "ViT-L/14",
}
SHARE_NAMES = {"encoder+decoder": "E+D", "encoder": "E", "decoder": "D"}


class PaperDataError(ValueError):
    """The packaged results.csv is malformed (a packaging bug, never user input)."""


def normalise(name: str) -> str:
    """Case- and punctuation-free key: 'MLCL-Net' -> 'mlclnet' (fdep's registry name)."""
    return "".join(c for c in str(name).lower() if c.isalnum())


@dataclass(frozen=True)
class PaperRow:
    """One printed row: values in the paper's units (percent, Fa x1e-6, params M, time s)."""

    table: str
    dataset: str
    network: str
    variant: str
    label: str
    description: str = ""
    setting: dict[str, str] = field(default_factory=dict)
    values: dict[str, float] = field(default_factory=dict)
    note: str = ""

    @property
    def source(self) -> str:
        """Where the row is printed, e.g. 'FDEP paper, Table 2 (ACM, "+ FDEP Framework", NUAA-SIRST)'."""
        kind = "supplementary Table" if self.table.startswith("S") else "Table"
        return f'FDEP paper ("{TITLE}"), {kind} {self.table} ({self.network}, "{self.label}", {self.dataset})'


def _parse(text: str) -> list[PaperRow]:
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    reader = csv.DictReader(lines)
    need = {"table", "dataset", "network", "variant", "label", "description", "note", *SETTING_KEYS, *METRICS}
    missing = need - set(reader.fieldnames or ())
    if missing:
        raise PaperDataError(f"results.csv lacks columns {sorted(missing)}")
    out = []
    for i, rec in enumerate(reader, start=2):
        if rec["variant"] not in VARIANTS:
            raise PaperDataError(f"results.csv row {i}: unknown variant {rec['variant']!r}")
        if rec["table"] not in EXPECTED_ROWS:
            raise PaperDataError(f"results.csv row {i}: unknown table {rec['table']!r}")
        try:
            values = {k: float(rec[k]) for k in METRICS if rec[k].strip()}
        except ValueError as e:
            raise PaperDataError(f"results.csv row {i}: {e}") from None
        setting = {k: rec[k].strip() for k in SETTING_KEYS if rec[k].strip()}
        out.append(PaperRow(rec["table"], rec["dataset"], rec["network"], rec["variant"], rec["label"],
                            rec["description"], setting, values, rec["note"]))
    return out


@lru_cache(maxsize=1)
def all_rows() -> tuple[PaperRow, ...]:
    """Every row of the packaged results.csv, in file order (tables in the paper's order within a file)."""
    text = resources.files(__name__).joinpath("results.csv").read_text(encoding="utf-8")
    return tuple(_parse(text))


def dataset_key(name: str) -> str | None:
    """The paper's dataset a dataset name means: 'NUAA-SIRST', 'nuaa_sirst', or a union such as
    'NUAA-SIRST+NUDT-SIRST+IRSTD-1K' (= SIRST3, in any order). None for anything else."""
    parts = sorted(normalise(p) for p in str(name).split("+") if p.strip())
    if len(parts) == 1 and parts[0] in DATASETS:
        return parts[0]
    for key, (_n, _t, comps) in DATASETS.items():
        if comps and parts == sorted(comps):
            return key
    return None


def rows(table: str | None = None, network: str | None = None, variant: str | None = None,
         dataset: str | None = None) -> list[PaperRow]:
    """The rows matching every given filter (network and dataset compared normalised)."""
    net = _network_key(network) if network is not None else None
    ds = dataset_key(dataset) if dataset is not None else None
    return [r for r in all_rows()
            if (table is None or r.table == str(table))
            and (net is None or normalise(r.network) == net)
            and (variant is None or r.variant == variant)
            and (dataset is None or normalise(r.dataset) == ds)]


def _network_key(network: str) -> str:
    key = normalise(network)
    return NETWORK_ALIASES.get(key, key)


def default_setting(variant: str) -> dict[str, str]:
    """The paper's FDEP configuration (Tables 1/2): DINOv2 ViT-L/14, SAMF, shared encoder+decoder, no EDL,
    blocks 6/12/18/24. Empty for variant original."""
    if variant not in ("fdep", "fdep-main"):
        return {}
    return {"vfm": "ViT-L/14", "samf": "yes", "share": "E+D", "edl": "no", "vfm_layers": "6/12/18/24"}


def run_setting(config: Mapping[str, Any]) -> dict[str, str] | None:
    """An fdep training config (TrainConfig.to_dict()) in the paper's terms; None when the run uses
    something no paper row reports (another VFM, random VFM weights).

    fusion concat and add both count as "without SAMF": the paper does not say what replaces it.
    """
    variant = str(config.get("variant", ""))
    if variant not in ("fdep", "fdep-main"):
        return {}
    vfm = VFM_NAMES.get(str(config.get("vfm", "")).strip().lower())
    if vfm is None or str(config.get("vfm_weights") or "").lower() == "random":
        return None
    setting = {"vfm": vfm, "samf": "yes" if config.get("fusion", "samf") == "samf" else "no",
               "share": SHARE_NAMES.get(str(config.get("share", "encoder+decoder")), "?"),
               "edl": "yes" if float(config.get("edl_weight") or 0.0) > 0 else "no"}
    layers = config.get("vfm_layers")
    if layers:
        setting["vfm_layers"] = "/".join(str(int(x)) for x in layers)
    elif vfm == "ViT-L/14":  # fdep's default for a 24-block VFM: evenly spaced quarters
        setting["vfm_layers"] = "6/12/18/24"
    return setting


def _setting_matches(row: PaperRow, setting: Mapping[str, str]) -> bool:
    # a key the row leaves unstated matches anything; a key the row states must be the run's
    return all(setting.get(k) == v for k, v in row.setting.items() if k != "vfm_frozen")


def paper_row(network: str, variant: str, dataset: str,
              setting: Mapping[str, str] | None = None) -> PaperRow | None:
    """The paper's row for ``network`` (fdep or paper spelling) in ``variant`` on ``dataset``.

    ``setting`` (paper terms, see :func:`run_setting`) selects an ablation row; None means the
    paper's default configuration. Tables are searched in :data:`TABLE_ORDER` (Tables 1 and 2
    before the supplementary repeats and the ablations); None when the paper has no such row.
    """
    if variant not in ("original", "fdep-main", "fdep"):
        return None
    want = default_setting(variant) if setting is None else dict(setting)
    order = {t: i for i, t in enumerate(TABLE_ORDER)}
    for row in sorted(rows(network=network, variant=variant, dataset=dataset), key=lambda r: order[r.table]):
        if _setting_matches(row, want):  # original rows state no setting: the first one is taken
            return row
    return None


def paper_test_size(dataset: str) -> int | None:
    """Images in the paper's test split of ``dataset`` (None for a dataset the paper does not use)."""
    key = dataset_key(dataset)
    return DATASETS[key][1] if key else None


def compare(scores: Mapping[str, Any], row: PaperRow) -> list[tuple[str, float | None, float, float | None]]:
    """(metric, run value, paper value, run - paper) in the paper's units, for each metric the row prints.

    ``scores`` holds fdep's values (fractions, Fa a raw ratio, params_m in M) as in results.json;
    the paper's Time column is left out (another machine).
    """
    out = []
    for key, (_t, factor, _u) in METRICS.items():
        if key == "time_s" or key not in row.values:
            continue
        v = scores.get(key)
        if v is None and key == "params_m" and scores.get("params") is not None:
            v = float(scores["params"]) / 1e6
        run = float(v) * factor if isinstance(v, (int, float)) and v == v else None
        paper = row.values[key]
        out.append((key, run, paper, None if run is None else run - paper))
    return out


__all__ = ["PaperRow", "PaperDataError", "METRICS", "TABLE_ORDER", "EXPECTED_ROWS", "all_rows", "rows",
           "paper_row", "run_setting", "default_setting", "dataset_key", "paper_test_size", "compare", "normalise"]
