"""Build the trainable model (an FDEPModel) from a :class:`TrainConfig`.

One place decides how a config becomes a network, so training, resuming and
loading a checkpoint always rebuild the same module tree.
"""

from __future__ import annotations

import warnings

from torch import nn

from ..errors import ConfigError
from .config import TrainConfig


def build_vfm(cfg: TrainConfig, weights: str | None = None):
    """The frozen VFM of a config (``weights`` overrides ``cfg.vfm_weights``)."""
    from ..vfm import load_vfm

    return load_vfm(cfg.vfm, layers=cfg.vfm_layers, weights=weights if weights is not None else cfg.vfm_weights)


def output_spec(cfg: TrainConfig):
    """The config's output keys as a :class:`fdep.models.OutputSpec` (None when all are at their defaults)."""
    from ..models import OutputSpec

    spec = OutputSpec(select=cfg.output_select, form=cfg.output_form, deep_supervision=cfg.deep_supervision)
    return None if spec.is_default() else spec


def build_network(cfg: TrainConfig, source: dict | None = None, where: str = "checkpoint") -> nn.Module:
    """The plain network of ``cfg`` (model, model_kwargs, in_chans, init, output keys). ``source``: what a
    checkpoint recorded of a network file; that file must still be there, unchanged."""
    from ..models import create_model
    from ..models.factory import rebuild_network

    if isinstance(source, dict):
        out = output_spec(cfg)
        return rebuild_network(cfg.model, cfg.in_chans, cfg.model_kwargs, source, out.to_dict() if out else None,
                               where=where)
    return create_model(cfg.model, in_chans=cfg.in_chans, init=cfg.init, outputs=output_spec(cfg),
                        **(cfg.model_kwargs or {}))


def build_model(cfg: TrainConfig, vfm: nn.Module | dict | None = None, vfm_weights: str | None = None,
                source: dict | None = None, where: str = "checkpoint") -> nn.Module:
    """FDEPModel for ``cfg`` (variant original: no VFM is loaded).

    ``vfm``: an already loaded VFM, or its ``describe()`` dict when the VFM
    itself is never run (light-branch inference, training from a feature
    cache), used instead of loading ``cfg.vfm``; ``vfm_weights``: override of
    ``cfg.vfm_weights``; ``source``: see :func:`build_network`.
    """
    from ..framework import FDEPModel

    if cfg.mean is None or cfg.std is None:
        raise ConfigError("mean/std must be known before the model is built (they come from the training data)")
    network = build_network(cfg, source, where)
    if cfg.variant == "original":
        vfm = None
    elif vfm is None:
        if vfm_weights == "random":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                vfm = build_vfm(cfg, weights="random")
        else:
            vfm = build_vfm(cfg, weights=vfm_weights)
    return FDEPModel(
        network,
        vfm,
        variant=cfg.variant,
        layers=cfg.vfm_layers,
        share=cfg.share,
        fusion=cfg.fusion,
        samf_form=cfg.samf_form,
        edl_weight=cfg.edl_weight,
        input_mean=float(cfg.mean),
        input_std=float(cfg.std),
        fdep_at=cfg.fdep_at,
    )
