"""The one table of the scores fdep prints: each key's label, the scale to its printed unit, and its direction.

``results.json``, the validation log (``val/<key>``) and the Python API keep fractions and Fa as a raw
ratio; tables print ``scale`` x the stored value under ``label`` (the paper's units: x100, Fa x1e-6,
params in M, time in s). Reports, sweeps, training and the best-checkpoint choice read this table, so
a label or a scale cannot differ between them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from .units import FA_LABEL, FA_SCALE


class MetricSpec(NamedTuple):
    """How one stored value is printed."""

    key: str  #: results.json key (also the val/ key fdep train logs)
    label: str  #: the column title tables print
    scale: float  #: printed value = scale x stored value
    lower_is_better: bool  #: Fa, parameters and time: the smaller the better


#: every printed metric by key; the scores come in the order fdep's one-line summaries print them
METRIC_SPECS: dict[str, MetricSpec] = {s.key: s for s in (
    MetricSpec("hse", "HSE", 100.0, False),
    MetricSpec("hse_p", "HSE-P", 100.0, False),
    MetricSpec("hse_t", "HSE-T", 100.0, False),
    MetricSpec("iou", "IoU", 100.0, False),
    MetricSpec("niou", "nIoU", 100.0, False),
    MetricSpec("pd", "Pd", 100.0, False),
    MetricSpec("fa", FA_LABEL, FA_SCALE, True),
    MetricSpec("auc", "AUC", 100.0, False),
    MetricSpec("params_m", "P (M)", 1.0, True),
    MetricSpec("latency_s", "Time (s)", 1.0, True),
)}


def metric_specs(keys: Iterable[str]) -> tuple[MetricSpec, ...]:
    """The specs of ``keys``, in that order (a table's column order)."""
    return tuple(METRIC_SPECS[k] for k in keys)


#: the detection scores fdep.metrics.evaluate returns (validated every epoch, as val/<key>)
SCORES = metric_specs(("hse", "hse_p", "hse_t", "iou", "niou", "pd", "fa", "auc"))
#: the scores the FDEP paper prints for every row (all of SCORES but AUC)
PAPER_SCORES = tuple(s for s in SCORES if s.key != "auc")
