"""The FDEP framework: SAMF, the two-branch FDEPModel (frozen VFM + shared network) and light export."""

from .export import export_light
from .model import SHARES, VARIANTS, FDEPModel
from .samf import FUSIONS, SAMF, SAMF_FORMS, AddFusion, ConcatFusion

__all__ = ["FUSIONS", "SAMF", "SAMF_FORMS", "SHARES", "VARIANTS", "AddFusion", "ConcatFusion", "FDEPModel",
           "export_light"]
