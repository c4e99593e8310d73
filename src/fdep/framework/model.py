"""FDEPModel: a network + frozen VFM + SAMF fusion, trained with CO-ISD (SPEC section 4).

Works with any ``SIRSTNet`` through ``encode``/``decode`` alone:

- light branch: ``decode(encode(x))`` -- the original network;
- main branch:  ``decode(features.with_top(SAMF_k(... SAMF_1(top, F_1) ..., F_k)))``.

and with any network at all through a named layer (``fdep_at``, :mod:`.layer_tap`): the main branch
runs the whole network with the fused feature in place of that layer's output, the light branch runs
it unchanged. Both branches share every weight; the encoder runs in both (twice per step, where
encode/decode runs it once). The ``share`` ablations need the encoder/decoder split and are refused
on this path: a copied decoder fed by a named layer would still take the copy's own skip features.

With ``share="encoder+decoder"`` (the paper's CO-ISD) both branches use the same network: the
encoder runs once (its output is the same for both branches) and the decoder twice. Ablations
``share="encoder"`` / ``"decoder"`` give the main branch a deep copy of the network and use only
the copy's ``decode`` / ``encode`` respectively (the copy's other half is never called, gets no
gradient and is left untouched by the optimiser).

The VFM is deliberately kept out of the module tree: it is not in ``parameters()`` (so no
optimiser sees it), not in ``state_dict()`` (checkpoints record only its name and layers through
``fdep_config()``) and ``.train()`` cannot switch it out of eval mode. ``.to()``/``.cuda()``/
``.half()`` still move it along.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import nn

from ..choices import SHARES, VARIANTS
from ..errors import ConfigError, ModelError
from ..models.base import SIRSTNet
from ..models.external import ExternalNetwork
from ..models.factory import network_record, rebuild_network
from ..vfm.align import window_align
from .layer_tap import LayerTap
from .samf import DEFAULT_SAMF_FORM, FUSIONS, LEGACY_SAMF_FORM, SAMF_FORMS, make_fusion


def _vfm_info(vfm) -> dict | None:
    if vfm is None:
        return None
    if isinstance(vfm, dict):
        missing = {"name", "layers", "embed_dim", "patch_size"} - vfm.keys()
        if missing:
            raise ConfigError(f"VFM description lacks {sorted(missing)}")
        return dict(vfm)
    return vfm.describe()


class FDEPModel(nn.Module):
    """FDEP wrapper around a network.

    Args:
        network: the SIRSTNet or :class:`ExternalNetwork` to wrap (its weights are shared by both branches).
        vfm: a :class:`fdep.vfm.VFM`, or its ``describe()`` dict when VFM features will always be
            passed in (feature cache); None only for variant "original".
        variant: "original" (light branch only), "fdep-main" (main branch only; needs the VFM at
            inference) or "fdep" (CO-ISD: both in training, light only in eval).
        layers: the VFM blocks fused, in order (a subset of the VFM's layers; default all).
        share: "encoder+decoder" | "encoder" | "decoder" (what the two branches share).
        fusion: "samf" | "add" | "concat" (the latter two: SAMF off).
        samf_form: "table1" (sized as the paper's Table 1; default) | "literal" (Eq. 1-6 as printed);
            see :mod:`fdep.framework.samf`. Recorded for every fusion, used by "samf" only.
        edl_weight: weight of the explicit distillation term (recorded here, applied by
            :class:`fdep.losses.CoISDLoss`).
        input_mean, input_std: the data's normalisation (0-255 scale); the VFM gets
            ``(x * std + mean) / 255`` clamped to [0, 1].
        fdep_at: the submodule (dotted name, as ``named_modules`` spells it; of the user's own module for
            an ExternalNetwork) whose output is the deepest encoder feature; None: ``encode``/``decode``.
    """

    def __init__(
        self,
        network: SIRSTNet,
        vfm=None,
        variant: str = "fdep",
        layers: Sequence[int] | None = None,
        share: str = "encoder+decoder",
        fusion: str = "samf",
        samf_form: str = DEFAULT_SAMF_FORM,
        edl_weight: float = 0.0,
        input_mean: float = 0.0,
        input_std: float = 255.0,
        fdep_at: str | None = None,
    ):
        super().__init__()
        if variant not in VARIANTS:
            raise ConfigError(f"unknown FDEP variant {variant!r}; choose from {', '.join(VARIANTS)}")
        if share not in SHARES:
            raise ConfigError(f"unknown share {share!r}; choose from {', '.join(SHARES)}")
        if fusion not in FUSIONS:
            raise ConfigError(f"unknown fusion {fusion!r}; choose from {', '.join(FUSIONS)}")
        if samf_form not in SAMF_FORMS:
            raise ConfigError(f"unknown SAMF form {samf_form!r}; choose from {', '.join(SAMF_FORMS)}")
        if not isinstance(network, (SIRSTNet, ExternalNetwork)):
            raise ModelError(f"FDEP needs a SIRSTNet or an ExternalNetwork (fdep.models.create_model), got "
                             f"{type(network).__name__}")
        if getattr(network, "kind", "learned") == "classical":
            name = network.model_name
            raise ModelError(f"{name} is a classical method: it has no encoder/decoder to train or to enhance with "
                             f"FDEP; run it with `fdep test --model {name}` or `fdep predict --model {name}`")
        uses_main = variant != "original"
        self.fdep_at = fdep_at or None
        self.tap = None
        if uses_main and self.fdep_at is not None:
            if variant == "fdep" and share != "encoder+decoder":
                raise ConfigError(f"share {share!r} needs the encoder/decoder split of encode/decode; with fdep_at "
                                  f"only share 'encoder+decoder' (the paper's CO-ISD) is possible")
            self.tap = LayerTap(network, self.fdep_at, network.in_chans, network.size_multiple)
            top_channels = self.tap.channels
        elif uses_main:
            if not isinstance(network, SIRSTNet):
                raise ModelError(f"{network.model_name}: has no encode/decode; name the submodule whose output is "
                                 f"its deepest encoder feature with fdep_at (fdep models inspect "
                                 f"{network.model_name} lists candidates)")
            if not network.top_channels:
                raise ModelError(f"{network.model_name}: top_channels is not set; it cannot be wrapped by FDEP")
            top_channels = network.top_channels
        self.variant, self.share, self.fusion, self.samf_form = variant, share, fusion, samf_form
        self.edl_weight = float(edl_weight)
        self.input_mean, self.input_std = float(input_mean), float(input_std)
        self.network = network
        info = _vfm_info(vfm)
        if variant != "original" and info is None:
            raise ConfigError(f"variant {variant!r} needs a VFM (or its description, with cached features)")
        object.__setattr__(self, "vfm", vfm if isinstance(vfm, nn.Module) else None)
        self.vfm_info = info
        vfm_layers = tuple(info["layers"]) if info else ()
        self.layers = tuple(int(i) for i in (layers if layers is not None else vfm_layers))
        unknown = [i for i in self.layers if i not in vfm_layers]
        if variant != "original" and (unknown or not self.layers):
            raise ConfigError(f"FDEP layers {list(self.layers)} must be a non-empty subset of the VFM's layers "
                              f"{list(vfm_layers)} (load the VFM with those layers)")
        self._layer_index = [vfm_layers.index(i) for i in self.layers] if variant != "original" else []
        self.fusions = nn.ModuleList(
            [make_fusion(fusion, info["embed_dim"], top_channels, samf_form) for _ in self.layers]
            if uses_main else []
        )
        # ablations: the main branch's own copy of the non-shared half
        self.main_net = copy.deepcopy(network) if variant == "fdep" and share != "encoder+decoder" else None

    # -- VFM handling -------------------------------------------------------------------------
    def _apply(self, fn, recurse=True):
        super()._apply(fn, recurse)
        if self.vfm is not None:
            self.vfm._apply(fn)
        return self

    def vfm_input(self, x: torch.Tensor) -> torch.Tensor:
        """The normalised network input mapped back to [0, 1] for the VFM."""
        return ((x * self.input_std + self.input_mean) / 255.0).clamp(0.0, 1.0)

    def _priors(self, x: torch.Tensor, vfm_features) -> list[torch.Tensor]:
        if vfm_features is None:
            if self.vfm is None:
                raise ModelError("this FDEPModel has no VFM module: pass vfm_features (e.g. from a feature cache)")
            maps = window_align(self.vfm(self.vfm_input(x)), x.shape[-2:], self.vfm.patch_size)
        else:
            maps = list(vfm_features)
            if len(maps) != len(self.vfm_info["layers"]):
                raise ModelError(f"expected {len(self.vfm_info['layers'])} VFM maps (layers "
                                 f"{self.vfm_info['layers']}), got {len(maps)}")
        return [maps[i].to(x.dtype) for i in self._layer_index]

    # -- forward ------------------------------------------------------------------------------
    def _fused(self, top: torch.Tensor, priors: list[torch.Tensor]) -> torch.Tensor:
        for fuse, prior in zip(self.fusions, priors):
            top = fuse(top, prior)
        return top

    def _main_at_layer(self, x: torch.Tensor, vfm_features):
        """The main branch of the named-layer path: the network with the fused feature at ``fdep_at``."""
        priors = self._priors(x, vfm_features)
        # a copy: a network may modify that layer's output in place (ReLU(inplace=True) after it), which the
        # fusion's last op may need for its backward; a copy costs one feature map and changes no value
        with self.tap.replaced(self.network, lambda top: self._fused(top, priors).clone()):
            return self.network(x)

    def _main(self, x: torch.Tensor, feats, vfm_features):
        if self.main_net is not None and self.share == "decoder":
            feats = self.main_net.encode(x)
        top = self._fused(feats.top, self._priors(x, vfm_features))
        decoder = self.main_net if self.main_net is not None and self.share == "encoder" else self.network
        return decoder.decode(feats.with_top(top))

    def forward(self, x: torch.Tensor, vfm_features=None):
        """Training: dict with "main" and/or "light" outputs. Eval: one logit map (light branch for
        "fdep" and "original", never touching the VFM; main branch for "fdep-main")."""
        if not self.training and self.variant != "fdep-main":
            return self.network(x)
        if self.variant == "original":
            return {"light": self.network(x)}
        if self.tap is not None:
            main = self._main_at_layer(x, vfm_features)
            if not self.training:
                return main
            return {"main": main} if self.variant == "fdep-main" else {"main": main, "light": self.network(x)}
        self.network.check_input(x)
        feats = self.network.encode(x)
        main = self._main(x, feats, vfm_features)
        if not self.training:
            return main
        if self.variant == "fdep-main":
            return {"main": main}
        return {"main": main, "light": self.network.decode(feats)}

    @classmethod
    def from_config(cls, config: dict, vfm=None) -> FDEPModel:
        """Rebuild the wrapper recorded by :meth:`fdep_config` (fresh weights; load a state dict next).

        ``vfm``: the loaded VFM (its name and layers must match the record), or None to use the
        recorded description (then VFM maps must be passed to ``forward``). A record without
        ``samf_form`` predates the forms and gets the literal one it was trained with.
        """
        rec = config.get("vfm")
        if vfm is not None and rec is not None:
            got = _vfm_info(vfm)
            if got["layers"] != rec["layers"] or got["embed_dim"] != rec["embed_dim"]:
                raise ConfigError(f"the checkpoint was trained with VFM {rec['name']} layers {rec['layers']} "
                                  f"(dim {rec['embed_dim']}), got {got['name']} layers {got['layers']} "
                                  f"(dim {got['embed_dim']})")
        network = rebuild_network(config["network"], int(config.get("in_chans", 1)), config.get("network_kwargs"),
                                  config.get("network_source"), config.get("network_output"),
                                  config.get("size_multiple"))
        return cls(network, vfm if vfm is not None else rec, variant=config["variant"],
                   layers=config.get("layers") or None, share=config.get("share", "encoder+decoder"),
                   fusion=config.get("fusion", "samf"),
                   samf_form=config.get("samf_form", LEGACY_SAMF_FORM), edl_weight=config.get("edl_weight", 0.0),
                   input_mean=config.get("input_mean", 0.0), input_std=config.get("input_std", 255.0),
                   fdep_at=config.get("fdep_at"))

    # -- checkpoints ----------------------------------------------------------------------------
    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        """Everything trained (network, fusion modules, ablation copies); never the VFM."""
        return self.state_dict()

    def fdep_config(self) -> dict:
        """What a checkpoint records to rebuild this wrapper: network, variant, ablations, SAMF form, VFM."""
        rec = network_record(self.network)
        return {
            "network": rec["name"],
            "in_chans": rec["in_chans"],
            "network_kwargs": rec["kwargs"],
            **{key: rec[k] for k, key in (("source", "network_source"), ("output", "network_output"),
                                          ("size_multiple", "size_multiple")) if k in rec},
            "fdep_at": self.fdep_at,
            "variant": self.variant,
            "share": self.share,
            "fusion": self.fusion,
            "samf_form": self.samf_form,
            "layers": list(self.layers),
            "edl_weight": self.edl_weight,
            "input_mean": self.input_mean,
            "input_std": self.input_std,
            "vfm": self.vfm_info,
        }
