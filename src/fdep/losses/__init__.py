"""Training losses: EEDM (edge-enhanced difficulty mining), SoftIoU, BCE and the CO-ISD combination."""

from .basic import BCELoss, SoftIoULoss, bce_loss, soft_iou_loss
from .build import LOSSES, DeepSupervisionLoss, build_loss
from .coisd import CoISDLoss, distillation_loss
from .eedm import EEDM_FORMS, EEDMLoss, edge_band, eedm_loss

__all__ = [
    "EEDM_FORMS",
    "LOSSES",
    "BCELoss",
    "CoISDLoss",
    "DeepSupervisionLoss",
    "EEDMLoss",
    "SoftIoULoss",
    "bce_loss",
    "build_loss",
    "distillation_loss",
    "edge_band",
    "eedm_loss",
    "soft_iou_loss",
]
