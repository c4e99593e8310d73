"""Seed statistics: the mean and standard deviation of a row trained with several seeds.

One function computes them for every place that shows a row over seeds (``fdep sweep``'s
results.md/csv, ``fdep report``, ``fdep test`` given several checkpoints), so the three agree.
The standard deviation is the sample one (n - 1 in the denominator), as seed studies report it;
with one value it is undefined (None). A seed that failed or did not run has no numbers and is
counted, not averaged; a collapsed seed (a constant output, :mod:`fdep.metrics.spread`) is a real
outcome of the recipe, so its numbers are averaged and it is named.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any


def mean_std(values: Iterable[float | None]) -> tuple[float | None, float | None, int]:
    """(mean, sample std, n) of the values that are not None or NaN; (None, None, 0) for none."""
    xs = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    if not xs:
        return None, None, 0
    mean = sum(xs) / len(xs)
    std = math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else None
    return mean, std, len(xs)


def format_mean_std(mean: float | None, std: float | None, digits: int = 2) -> str:
    """``77.12 ± 0.85`` (``77.12`` with one value, ``-`` with none)."""
    if mean is None:
        return "-"
    return f"{mean:.{digits}f}" + (f" ± {std:.{digits}f}" if std is not None else "")


def summarise(records: Sequence[dict[str, Any]], keys: Sequence[str]) -> dict[str, Any]:
    """The seed summary of one row's per-seed records (each with ``seed``, ``stage`` and the ``keys``).

    Returns ``{key: mean, key_std: std, ...}`` plus ``n`` (seeds with numbers), ``of`` (seeds listed),
    ``seeds`` (those with numbers), ``collapsed`` and ``missing`` (seed -> stage of those without numbers).
    """
    out: dict[str, Any] = {}
    for key in keys:
        out[key], out[f"{key}_std"], _ = mean_std(r.get(key) for r in records)
    scored = [r for r in records if any(r.get(k) is not None for k in keys)]
    out["n"] = len(scored)
    out["of"] = len(records)
    out["seeds"] = [r.get("seed") for r in scored]
    out["collapsed"] = [r.get("seed") for r in scored if r.get("collapsed")]
    out["missing"] = {r.get("seed"): r.get("stage", "not run") for r in records if r not in scored}
    return out


def summary_note(summary: dict[str, Any]) -> str:
    """``3 of 3 seeds; seed 2 collapsed`` / ``2 of 3 seeds (seed 1: failed)``."""
    text = f"{summary['n']} of {summary['of']} seeds"
    if summary["missing"]:
        text += " (" + ", ".join(f"seed {s}: {st}" for s, st in summary["missing"].items()) + ")"
    if summary["collapsed"]:
        text += "; collapsed: " + ", ".join(f"seed {s}" for s in summary["collapsed"])
    return text
