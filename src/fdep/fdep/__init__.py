"""FDEP: frozen VFM priors fused into a zoo network's top feature by SAMF, trained with CO-ISD."""

from .export import export_light
from .model import SHARES, VARIANTS, FDEPModel
from .samf import FUSIONS, SAMF, AddFusion, ConcatFusion

__all__ = ["FUSIONS", "SAMF", "SHARES", "VARIANTS", "AddFusion", "ConcatFusion", "FDEPModel", "export_light"]
