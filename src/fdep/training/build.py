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


def build_model(cfg: TrainConfig, vfm: nn.Module | dict | None = None, vfm_weights: str | None = None) -> nn.Module:
    """FDEPModel for ``cfg`` (variant original: no VFM is loaded).

    ``vfm``: an already loaded VFM, or its ``describe()`` dict when the VFM
    itself is never run (light-branch inference, training from a feature
    cache), used instead of loading ``cfg.vfm``; ``vfm_weights``: override of
    ``cfg.vfm_weights``.
    """
    from ..framework import FDEPModel
    from ..models import create_model

    if cfg.mean is None or cfg.std is None:
        raise ConfigError("mean/std must be known before the model is built (they come from the training data)")
    network = create_model(cfg.model, in_chans=cfg.in_chans, init=cfg.init)
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
    )
