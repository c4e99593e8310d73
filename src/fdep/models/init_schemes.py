"""Weight initialisation schemes: each network's original code, or the authors' (PAL) code.

fdep builds every network with the initialisation of its own paper's code (``init="original"``).
The FDEP authors trained the Table 1 networks from their PAL copies, which differ for some of
them; ``init="authors"`` re-initialises a freshly built network the way PAL's copy starts.
:data:`AUTHORS_INIT` maps a network name to the function that does so; a network absent from it
starts identically under both schemes (docs/models.md lists which is which).

What PAL does (``model/<X>/<X>_no_sigmoid.py``; its ``train_model.py`` calls no init of its own):

- DNA-Net: no init call at all, so every conv keeps PyTorch's default (fdep's original applies
  the DNA-Net trainer's Xavier-normal to every conv weight).
- MLCL-Net: ``weights_init`` (Kaiming-normal fan_out, zero bias) reaches only the residual blocks
  and the MLCL modules; the stem, the three 1x1 projections and the head keep the default.
- GGL-Net: ``weights_init`` reaches the stem, residual blocks, GSMs, LCLs, the fusions' 1x1
  projection and the head; the fusions' channel and spatial attention define ``init_weights``
  but never call it, so their convs keep the default.

"PyTorch's default" is the module's own ``reset_parameters()``: conv/linear weights
kaiming_uniform(a=sqrt(5)), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), biases U(same bound);
norm layers weight 1, bias 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from torch import nn

from ..choices import INITS

#: network name -> function(model) re-initialising it as the authors' PAL copy starts
AUTHORS_INIT: dict[str, Callable[[nn.Module], None]] = {}


def _authors(name: str):
    def deco(fn: Callable[[nn.Module], None]) -> Callable[[nn.Module], None]:
        AUTHORS_INIT[name] = fn
        return fn

    return deco


def pytorch_default(modules: nn.Module | Iterable[nn.Module]) -> None:
    """Reset every parameterised layer in ``modules`` (and below) to PyTorch's default initialisation."""
    roots = [modules] if isinstance(modules, nn.Module) else list(modules)
    for root in roots:
        for m in root.modules():
            if hasattr(m, "reset_parameters") and any(True for _ in m.parameters(recurse=False)):
                m.reset_parameters()


@_authors("dnanet")
def _dnanet(model: nn.Module) -> None:
    # PAL's DNA_No_Sigmoid calls no init: every conv (and BN) at PyTorch's default.
    pytorch_default(model)


@_authors("mlclnet")
def _mlclnet(model: nn.Module) -> None:
    # PAL applies weights_init inside Resnet1/Resnet2 and MLCL only; Stage.layer1 (our stem),
    # conv1..conv3 (our proj1..proj3) and layer (our head) keep the default.
    pytorch_default([model.stem, model.proj1, model.proj2, model.proj3, model.head])


@_authors("gglnet")
def _gglnet(model: nn.Module) -> None:
    # PAL's Sbam applies weights_init to hl_layer (our .high) only; its ChannelAttention and
    # SpatialAttention define init_weights but nobody calls it.
    pytorch_default([m for fusion in model.sbam for m in (fusion.channel, fusion.spatial)])


def apply_init(model: nn.Module, name: str, init: str = "original") -> nn.Module:
    """Re-initialise ``model`` (network ``name``) per ``init``; "original" leaves it as built."""
    from ..errors import ConfigError

    if init not in INITS:
        raise ConfigError(f"init: {init!r} is not one of {', '.join(INITS)}")
    if init == "authors":
        fn = AUTHORS_INIT.get(name.lower())
        if fn is not None:
            fn(model)
    return model
