"""SIRST evaluation: HSE (HSE-P x HSE-T), IoU, nIoU, Pd, Fa and AUC (SPEC.md section 2).

``evaluate`` is the functional form; ``SIRSTMetrics`` the torchmetrics class.
Both accumulate the same per-image statistics (see :mod:`fdep.metrics.core`).
"""

from .core import NoTargetError
from .detections import classify_detections
from .functional import evaluate
from .specs import METRIC_SPECS, MetricSpec, metric_specs

__all__ = ["evaluate", "SIRSTMetrics", "NoTargetError", "classify_detections", "MetricSpec", "METRIC_SPECS",
           "metric_specs"]


def __getattr__(name: str):
    # torchmetrics is imported only when the class is used.
    if name == "SIRSTMetrics":
        from .torchmetric import SIRSTMetrics

        return SIRSTMetrics
    raise AttributeError(name)
