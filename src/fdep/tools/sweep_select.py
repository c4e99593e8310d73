"""Choosing the rows of ``fdep sweep``: config files, folders, globs or a paper table, with the sweep's
overrides and seeds, each made a :class:`~.sweep_row.Row` with its run directory."""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..errors import InputError
from .sweep_row import Row

#: paper table name -> dataset folders of configs/ it covers
PAPER_TABLES: dict[str, tuple[str, ...]] = {
    "table1": ("sirst3",),
    "table2": ("nuaa-sirst", "nudt-sirst", "irstd-1k"),
}


def find_configs(specs: Sequence[str], configs_root: str | os.PathLike = "configs") -> list[Path]:
    """Config files named by ``specs``: files, folders (their *.yaml), globs, or a paper table name.

    ``table1`` / ``table2`` select the configs of that table under ``configs_root`` (its datasets'
    folders that exist); a following dataset name (``table2 nuaa-sirst``) narrows it to one dataset.
    """
    specs = list(specs)
    root = Path(configs_root)
    found: list[Path] = []
    i = 0
    while i < len(specs):
        spec = specs[i]
        key = spec.lower().replace(" ", "")
        if key in PAPER_TABLES:
            datasets, named = PAPER_TABLES[key], False
            if i + 1 < len(specs) and specs[i + 1].lower() in {d for ds in PAPER_TABLES.values() for d in ds}:
                if specs[i + 1].lower() not in datasets:
                    raise InputError(f"{spec} has no dataset {specs[i + 1]!r} (it covers {', '.join(datasets)})")
                datasets, named = (specs[i + 1].lower(),), True
                i += 1
            folders = [root / d for d in datasets if named or (root / d).is_dir()] or [root / datasets[0]]
            for folder in folders:
                if not folder.is_dir():
                    raise InputError(f"{folder}: no such config folder (--configs-root points to the repository's "
                                     f"configs/)")
                found += sorted(folder.glob("*.yaml"))
        elif Path(spec).is_dir():
            found += sorted(Path(spec).glob("*.yaml"))
        elif any(c in spec for c in "*?["):
            matches = sorted(Path(p) for p in glob.glob(spec, recursive=True) if p.endswith((".yaml", ".yml")))
            if not matches:
                raise InputError(f"{spec}: the pattern matches no YAML config")
            found += matches
        elif Path(spec).is_file():
            found.append(Path(spec))
        else:
            raise InputError(f"{spec}: not a config file, folder, glob or paper table ({', '.join(PAPER_TABLES)})")
        i += 1
    unique = list(dict.fromkeys(p.resolve() for p in found))
    if not unique:
        raise InputError("no configs selected")
    return unique


def parse_overrides(pairs: Sequence[str]) -> dict[str, str]:
    """``KEY=VALUE`` strings -> dict (passed to ``fdep train`` as ``--key value``)."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--set {pair!r}: expected KEY=VALUE (e.g. --set epochs=100)")
        out[key.strip().replace("-", "_")] = value.strip()
    return out


def _rebase_data(data: str, data_root: str | None) -> str:
    """Point a config's ``data/NAME`` paths (joined by +) at ``data_root``."""
    if not data_root:
        return data
    return "+".join(str(Path(data_root) / Path(p).name) for p in data.split("+"))


def parse_seeds(text: str | None) -> list[int] | None:
    """``--seeds 0,1,2`` (or ``0-4``) -> [0, 1, 2]; None or empty: None."""
    if not text:
        return None
    seeds: list[int] = []
    try:
        for part in str(text).split(","):
            lo, sep, hi = part.strip().partition("-")
            seeds += list(range(int(lo), int(hi) + 1)) if sep and lo else [int(part)]
    except ValueError:
        raise InputError(f"--seeds {text!r}: expected integers separated by commas, e.g. 0,1,2 or 0-4") from None
    return _unique_seeds(seeds, "--seeds")


def _unique_seeds(seeds: Any, source: str) -> list[int]:
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool)
                                                           for s in seeds):
        raise InputError(f"{source}: expected a non-empty list of integer seeds, got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise InputError(f"{source}: seed listed twice in {seeds}")
    return list(seeds)


def make_rows(configs: Sequence[Path], out: str | os.PathLike | None = None, data_root: str | None = None,
              overrides: dict[str, str] | None = None, seeds: list[int] | None = None) -> list[Row]:
    """One :class:`Row` per config and seed; run directories under ``out`` (default: each config's own ``out``).

    ``seeds`` (``--seeds``), else a config's own ``seeds:`` list, makes one row per seed, named
    ``dataset/config/seedN`` with run directory ``.../config/seedN``; without either a config is one row with
    the seed it sets.
    """
    from ..training.config import safe_load_bounded

    overrides = dict(overrides or {})
    if seeds is not None and "seed" in overrides:
        raise InputError("give either --seeds or --set seed=..., not both")
    rows, names = [], set()
    for path in configs:
        try:
            cfg = safe_load_bounded(path.read_text(encoding="utf-8"), path) or {}
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(f"{path}: cannot read the config ({e})") from None
        if not isinstance(cfg, dict) or "model" not in cfg:
            raise InputError(f"{path}: not a training config (no 'model' key)")
        dataset = path.parent.name
        name = f"{dataset}/{path.stem}"
        if name in names:
            raise InputError(f"two configs would share the row name {name}")
        names.add(name)
        run_dir = Path(out) / dataset / path.stem if out else Path(cfg.get("out") or f"runs/{dataset}/{path.stem}")
        data = overrides.get("data") or _rebase_data(str(cfg.get("data", "")), data_root)
        base = Row(name=name, config=str(path), run_dir=str(run_dir.resolve()), data=data,
                   model=str(cfg["model"]), variant=str(cfg.get("variant", "original")), dataset=dataset,
                   epochs=int(overrides.get("epochs", cfg.get("epochs", 0)) or 0),
                   overrides={k: v for k, v in overrides.items() if k != "data"}, group=name)
        row_seeds = seeds if seeds is not None else (
            _unique_seeds(cfg["seeds"], f"{path}: seeds") if cfg.get("seeds") is not None else None)
        if row_seeds is None:
            rows.append(base)
            continue
        for seed in row_seeds:
            rows.append(Row(**{**asdict(base), "name": f"{name}/seed{seed}", "seed": seed,
                               "run_dir": str(Path(base.run_dir) / f"seed{seed}"),
                               "overrides": {**base.overrides, "seed": str(seed)}}))
    return rows
