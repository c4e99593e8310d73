"""Settings no run can use, refused in one line before the run directory or the data are touched.

The Trainer's hardware arguments are checked by :mod:`fdep.training.hardware`; these are the
network's and the config's own: a classical method (nothing to train), a crop the network cannot
take, a network spec, constructor, output declaration or ``fdep_at`` layer that does not build, and
settings that do not work together.
"""

from __future__ import annotations

from ..errors import ConfigError
from .config import TrainConfig


def check_trainable(cfg: TrainConfig) -> None:
    """Refuse a network that has nothing to train or cannot take the configured crop."""
    kind, multiple = network_facts(cfg)
    if kind == "classical":  # before any output or data work
        raise ConfigError(f"model: {cfg.model!r} is a classical method and has nothing to train; run it with "
                          f"`fdep test --model {cfg.model}` or `fdep predict --model {cfg.model}`")
    if cfg.crop % multiple:  # training crops are not padded: the network would refuse the first batch
        lower = cfg.crop // multiple * multiple
        raise ConfigError(f"crop: {cfg.crop} is not a multiple of {multiple}, which {cfg.model} needs; use a crop "
                          f"that is a multiple of {multiple} (e.g. {max(lower, multiple)} or {lower + multiple})")


def network_facts(cfg: TrainConfig) -> tuple[str, int]:
    """(kind, input size multiple) of the config's network, checked before anything is written.

    A zoo name is looked up; any other network (a spec, an entry point, model_kwargs, output keys,
    fdep_at) is built once here, so a bad spec, constructor, output declaration or fdep_at layer is one
    line before the run directory or the data are touched.
    """
    from ..models import get_model_factory, is_model

    plain = is_model(cfg.model) and not cfg.model_kwargs and not cfg.fdep_at
    if plain:
        from .build import output_spec

        if output_spec(cfg) is None:
            factory = get_model_factory(cfg.model)
            return getattr(factory, "kind", "learned"), int(getattr(factory, "size_multiple", 1))
    from .build import build_network

    net = build_network(cfg)
    if getattr(net, "kind", "learned") == "classical":
        return "classical", 1
    if cfg.fdep_at and cfg.variant != "original":
        from ..framework.layer_tap import LayerTap

        if cfg.variant == "fdep" and cfg.share != "encoder+decoder":
            raise ConfigError(f"share: {cfg.share!r} needs the encoder/decoder split of encode/decode; with fdep_at "
                              f"only share encoder+decoder (the paper's CO-ISD) is possible")
        LayerTap(net, cfg.fdep_at, cfg.in_chans, net.size_multiple)
    return "learned", int(net.size_multiple)


def check_combination(cfg: TrainConfig) -> None:
    """Refuse settings that cannot work together (one-line ConfigError)."""
    if cfg.vfm_cache and cfg.augment == "authors":
        raise ConfigError("vfm_cache cannot follow augment: authors (its rotations, shifts and scalings move pixels "
                          "the cached VFM maps cannot follow): use augment: flips, or train without vfm_cache")
