"""The runs a report compares: each test output folder's results.json and curves.npz, and its label."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InputError
from ...fileio import is_moved_aside


@dataclass
class Run:
    """One test output folder and what it holds."""

    test_dir: Path
    label: str
    results: dict[str, Any]
    curves: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def preds_dir(self) -> Path:
        return self.test_dir / "preds"

    @property
    def run_dir(self) -> Path:
        """The training run directory (where metrics.csv lives) when test_dir is its test_<split>/."""
        return self.test_dir.parent if self.test_dir.name.startswith("test_") else self.test_dir


def find_test_dir(path: Path, split: str | None) -> Path:
    """``path`` itself when it holds results.json, else ``path/test_<split>`` (the only one if split is None)."""
    if (path / "results.json").is_file():
        return path
    if not path.is_dir():
        raise InputError(f"{path}: run directory not found")
    if split is not None:
        cand = path / f"test_{split}"
        if not (cand / "results.json").is_file():
            raise InputError(f"{path}: no test_{split}/results.json (run fdep test --split {split} first)")
        return cand
    # test_<split>.old-<time>/ is an earlier output fdep test --overwrite moved aside, not another split
    found = sorted(p for p in path.glob("test_*") if (p / "results.json").is_file() and not is_moved_aside(p))
    if not found:
        raise InputError(f"{path}: no test_<split>/results.json found (run fdep test on this run first)")
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise InputError(f"{path}: several test outputs ({names}); choose one with --split")
    return found[0]


def load_run(path: str | os.PathLike, split: str | None = None) -> Run:
    test_dir = find_test_dir(Path(path), split)
    try:
        results = json.loads((test_dir / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InputError(f"{test_dir / 'results.json'}: cannot read ({e})") from None
    if not isinstance(results, dict):
        raise InputError(f"{test_dir / 'results.json'}: expected a JSON object")
    curves: dict[str, np.ndarray] = {}
    if (test_dir / "curves.npz").is_file():
        try:
            with np.load(test_dir / "curves.npz", allow_pickle=False) as z:
                curves = {k: np.asarray(z[k]) for k in z.files}
        except (OSError, ValueError) as e:
            raise InputError(f"{test_dir / 'curves.npz'}: cannot read ({e})") from None
    run_dir = test_dir.parent if test_dir.name.startswith("test_") else test_dir
    return Run(test_dir=test_dir, label=run_dir.name, results=results, curves=curves)


def label_runs(runs: list[Run]) -> None:
    """Label each run 'model variant' when that is unique, else by its directory name."""
    descr = [" ".join(str(r.results.get(k)) for k in ("model", "variant") if r.results.get(k)) for r in runs]
    if all(descr) and len(set(descr)) == len(descr):
        for r, d in zip(runs, descr, strict=True):
            r.label = d
    elif len({r.label for r in runs}) < len(runs):
        for i, r in enumerate(runs):
            r.label = f"{i + 1}: {r.test_dir}"


def tested_on(results: dict[str, Any]) -> tuple[str, str, Any]:
    """What a run was tested on: (dataset name, split, number of images) from its results.json."""
    name = results.get("dataset_name") or Path(str(results.get("dataset", "?"))).name
    return str(name), str(results.get("split", "?")), results.get("n_images")


def data_mismatch(runs: list[Run]) -> str | None:
    """A sentence when the runs were not all tested on the same data (their numbers do not compare), else None."""
    tested = [tested_on(r.results) for r in runs]
    if len(set(tested)) < 2:
        return None
    each = "; ".join(f"{r.label} on {name}/{split}" + (f" ({n} images)" if n is not None else "")
                     for r, (name, split, n) in zip(runs, tested, strict=True))
    return f"the runs were tested on different data, so their numbers and differences do not compare: {each}"


def timing_text(results: dict[str, Any]) -> str:
    """What a run's Time was measured under ('time on cpu: 1 thread, 1.9 of 2 cores busy ...'), from results.json."""
    from ...cpu import describe_conditions

    if not results.get("timing"):
        return "time: threads and load not recorded"
    return f"time on {results.get('device', '?')}: {describe_conditions(results['timing'])}"
