"""Short VFM names and the Hugging Face ids and model classes behind them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VFMSpec:
    """A known VFM: its HF hub id, the transformers class family and its depth."""

    hf_id: str
    family: str  # "dinov2" | "dinov2_reg" | "dinov3"
    depth: int
    meta_file: str | None = None  # Meta's original checkpoint name, when one exists


_DINOV2 = {"s": ("small", 12), "b": ("base", 12), "l": ("large", 24), "g": ("giant", 40)}
_META_URL = "https://dl.fbaipublicfiles.com/dinov2"

VFM_SPECS: dict[str, VFMSpec] = {}
for _k, (_size, _depth) in _DINOV2.items():
    VFM_SPECS[f"dinov2_vit{_k}14"] = VFMSpec(
        f"facebook/dinov2-{_size}", "dinov2", _depth, f"dinov2_vit{_k}14/dinov2_vit{_k}14_pretrain.pth"
    )
    VFM_SPECS[f"dinov2_vit{_k}14_reg"] = VFMSpec(
        f"facebook/dinov2-with-registers-{_size}",
        "dinov2_reg",
        _depth,
        f"dinov2_vit{_k}14/dinov2_vit{_k}14_reg4_pretrain.pth",
    )
for _k, _depth in (("s", 12), ("b", 12), ("l", 24)):
    VFM_SPECS[f"dinov3_vit{_k}16"] = VFMSpec(f"facebook/dinov3-vit{_k}16-pretrain-lvd1689m", "dinov3", _depth)


def list_vfms() -> list[str]:
    """The short VFM names fdep knows."""
    return sorted(VFM_SPECS)


def meta_url(name: str) -> str | None:
    """Download address of Meta's original checkpoint for a short name (None when Meta ships none)."""
    spec = VFM_SPECS.get(name)
    return f"{_META_URL}/{spec.meta_file}" if spec and spec.meta_file else None


def default_layers(depth: int, n: int = 4) -> tuple[int, ...]:
    """Evenly spaced blocks ending at the last one: depth 24 -> 6,12,18,24; depth 12 -> 3,6,9,12."""
    return tuple(round(depth * (i + 1) / n) for i in range(n))
