"""The Results table: per run its scores in the paper's units and its differences, the mean ± std of runs that
differ only in their seed, and the paper's row under the run it matches; and each cell as printed."""

from __future__ import annotations

import json
from typing import Any

from ...metrics.specs import metric_specs
from .runs import Run, tested_on

#: the table's columns, in the order of the paper's Tables 1/2
COLUMNS = metric_specs(("iou", "niou", "pd", "fa", "hse_p", "hse_t", "hse", "params_m", "latency_s"))

#: training settings that may differ between the seeds of one row (the seed itself and what follows from it)
SEED_FREE_KEYS = ("seed", "seeds", "out", "mean", "std", "progress", "num_workers")


def table_rows(runs: list[Run]) -> list[dict[str, Any]]:
    """Per run: label and, per column, (value as printed, difference to the first run or None).

    A run that matches a row of the paper is followed by that row (kind "paper"): the paper's value and,
    as the difference, run - paper (the paper's time, measured on its GPU, without a difference). Runs that
    differ only in their seed (:func:`seed_groups`) are followed by their mean ± std (kind "seeds", with
    ``std`` per column) and then by the paper's row, its differences taken to the mean.
    """
    from ..papercmp import cross_dataset, paper_comparison

    first = runs[0].results
    groups = seed_groups(runs)
    last_of_group = {members[-1]: members for members in groups}
    grouped = {i for members in groups for i in members}
    rows = []
    for k, r in enumerate(runs):
        cells = {}
        for spec in COLUMNS:
            v, b = scaled(r.results, spec.key), scaled(first, spec.key)
            cells[spec.key] = (v, v - b if (k > 0 and v is not None and b is not None) else None)
        cross = r.results.get("cross_dataset") or cross_dataset(r.results)
        rows.append({"label": r.label + (f" [{cross}]" if cross else ""), "cells": cells, "kind": "run"})
        if k in last_of_group:
            members = [runs[i] for i in last_of_group[k]]
            summary = _seed_row(members)
            rows.append(summary)
            cmp = paper_comparison(r.results)
            if cmp is not None:
                paper = _paper_table_row(cmp)
                for key, (theirs, _d) in paper["cells"].items():
                    mean = summary["cells"][key][0]
                    if theirs is not None and mean is not None and key != "latency_s":
                        paper["cells"][key] = (theirs, mean - theirs)
                rows.append(paper)
            continue
        if k in grouped:
            continue
        cmp = paper_comparison(r.results)
        if cmp is not None:
            rows.append(_paper_table_row(cmp))
    return rows


def scaled(results: dict[str, Any], key: str) -> float | None:
    """A results.json value in the table's unit (params_m from params where only that is recorded)."""
    scale = next(s.scale for s in COLUMNS if s.key == key)
    v = results.get(key)
    if v is None and key == "params_m" and results.get("params") is not None:
        v = results["params"] / 1e6
    return float(v) * scale if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def seed_groups(runs: list[Run]) -> list[list[int]]:
    """Indices of runs (two or more) whose training configs and test data differ only in the seed."""
    keys: dict[str, list[int]] = {}
    for i, r in enumerate(runs):
        cfg = r.results.get("train_config")
        if not isinstance(cfg, dict) or cfg.get("seed") is None:
            continue
        same = {k: v for k, v in cfg.items() if k not in SEED_FREE_KEYS}
        key = json.dumps([same, tested_on(r.results), r.results.get("model"), r.results.get("variant")],
                         sort_keys=True, default=str)
        keys.setdefault(key, []).append(i)
    return [members for members in keys.values() if len(members) > 1]


def _seed_row(members: list[Run]) -> dict[str, Any]:
    from ...metrics.spread import is_collapsed
    from ..seeds import mean_std

    seeds = [m.results["train_config"]["seed"] for m in members]
    cells, std = {}, {}
    for spec in COLUMNS:
        mean, sd, _n = mean_std(scaled(m.results, spec.key) for m in members)
        cells[spec.key], std[spec.key] = (mean, None), sd
    collapsed = [s for s, m in zip(seeds, members, strict=True) if is_collapsed(m.results.get("output_spread"))]
    label = f"mean ± std over seeds {', '.join(map(str, seeds))}" + (
        f" (collapsed: seed {', '.join(map(str, collapsed))})" if collapsed else "")
    return {"label": label, "cells": cells, "std": std, "kind": "seeds"}


def _paper_table_row(cmp: dict[str, Any]) -> dict[str, Any]:
    got = {m["metric"]: (m["paper"], m["diff"]) for m in cmp["metrics"]}
    if cmp.get("paper_time_s") is not None:
        got["latency_s"] = (cmp["paper_time_s"], None)
    cells = {spec.key: got.get(spec.key, (None, None)) for spec in COLUMNS}
    label = f"paper, Table {cmp['table']}: {cmp['network']} \"{cmp['label']}\", {cmp['dataset']}"
    return {"label": label, "cells": cells, "kind": "paper", "notes": cmp.get("notes") or []}


def paper_notes(rows: list[dict[str, Any]]) -> list[str]:
    """The notes of the paper's rows (e.g. a test split of another size), each after its row's label."""
    return [f"{row['label']}: {n}" for row in rows if row.get("kind") == "paper" for n in row.get("notes", ())]


# -- cells as printed ----------------------------------------------------------------------------------
def value_text(key: str, v: float | None) -> str:
    """A value as the table prints it: 3 decimals for the time, 2 elsewhere, '-' for none."""
    if v is None:
        return "-"
    return f"{v:.3f}" if key == "latency_s" else f"{v:.2f}"


def std_text(row: dict[str, Any], key: str) -> str:
    """`` ± std`` of a seed summary row's column (empty elsewhere)."""
    sd = (row.get("std") or {}).get(key)
    return "" if sd is None else f" ± {value_text(key, sd)}"


def diff_text(key: str, d: float | None) -> str:
    """A difference as the table prints it, `` (+1.23)``; empty for none."""
    if d is None:
        return ""
    return f" ({d:+.3f})" if key == "latency_s" else f" ({d:+.2f})"
