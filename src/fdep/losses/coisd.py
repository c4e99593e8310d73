"""CO-ISD objective: L = L(main) + alpha * L(light) [+ edl_weight * explicit distillation]."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .build import DeepSupervisionLoss, build_loss


def _final(out):
    return out[-1] if isinstance(out, (list, tuple)) else out


def distillation_loss(light, main) -> torch.Tensor:
    """Explicit distillation (paper Table 5 "EDL"): BCE of the light branch's final map against the
    main branch's detached final probabilities (the main branch is the teacher)."""
    return F.binary_cross_entropy_with_logits(_final(light), torch.sigmoid(_final(main)).detach())


class CoISDLoss:
    """Callable(outputs_dict, target) -> scalar for FDEPModel's training outputs.

    ``outputs_dict`` holds "main" and/or "light" (each one map or a deep-supervision list). With
    both: ``base(main) + alpha * base(light)`` plus ``edl_weight * distillation_loss`` when
    ``edl_weight > 0``; with one branch only (variants fdep-main / original): ``base(that)``.
    ``base_loss``: a name for :func:`build_loss` or a callable(outputs, target).
    """

    def __init__(self, base_loss="eedm", alpha: float = 1.0, edl_weight: float = 0.0):
        if isinstance(base_loss, str):
            base_loss = build_loss(base_loss)
        elif not isinstance(base_loss, DeepSupervisionLoss):
            base_loss = DeepSupervisionLoss(base_loss)
        self.base = base_loss
        self.alpha = float(alpha)
        self.edl_weight = float(edl_weight)

    def components(self, outputs: dict, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each term separately (for logging); "total" is what ``__call__`` returns."""
        if not isinstance(outputs, dict) or not ({"main", "light"} & outputs.keys()):
            raise ValueError("CoISDLoss expects a dict with 'main' and/or 'light' outputs")
        parts: dict[str, torch.Tensor] = {}
        if "main" in outputs:
            parts["main"] = self.base(outputs["main"], target)
        if "light" in outputs:
            parts["light"] = self.base(outputs["light"], target)
        if "main" in parts and "light" in parts:
            total = parts["main"] + self.alpha * parts["light"]
            if self.edl_weight > 0:
                parts["edl"] = distillation_loss(outputs["light"], outputs["main"])
                total = total + self.edl_weight * parts["edl"]
        else:
            total = next(iter(parts.values()))
        parts["total"] = total
        return parts

    def __call__(self, outputs: dict, target: torch.Tensor) -> torch.Tensor:
        return self.components(outputs, target)["total"]
