"""The one factory of networks: :func:`create_model` builds first, then loads weights.

timm's layering: :mod:`.weights` (weight-set data) and :mod:`.registry` (names) import nothing of
each other; :mod:`.pretrained` reads and writes the folder format; :mod:`.weight_sources` finds a
weight set's folder; this module alone builds networks, so no import circle is needed to load
weights into one.

A network is named by a registered name, an ``fdep.models`` entry point, or a spec
(``package.module:Name``, ``path/to/file.py:Name``; :mod:`.spec`). A built module that is a
:class:`SIRSTNet` is used as it is (encode/decode and all); any other ``nn.Module`` is wrapped in
:class:`.external.ExternalNetwork` (logits out, deep supervision as the zoo's).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import ModelError
from .base import SIRSTNet
from .external import ExternalNetwork, OutputSpec
from .init_schemes import apply_init
from .pretrained import CONFIG_NAME, WEIGHTS_NAME, load_state_checked, model_kwargs, read_pretrained_config, read_state
from .pretrained_config import check_network_size
from .probe import first_line
from .registry import get_model_factory, is_known, is_model, list_models
from .spec import accepts, check_source, is_spec, resolve_spec
from .weight_sources import weights_folder


def build_module(name: str, in_chans: int | None = None, **kwargs: Any) -> tuple[nn.Module, dict[str, Any]]:
    """(the module ``name`` builds with ``kwargs``, where it came from) -- no wrapping, no weights.

    ``in_chans`` is passed when the factory takes an argument of that name (zoo networks do; a
    network of your own gets its channels through its own arguments in ``kwargs``).
    """
    if is_spec(name):
        factory, src = resolve_spec(name)
        source = src.to_dict()
    else:
        factory = get_model_factory(name)
        source = {"spec": name, "kind": "registry" if is_model(name) else "entry-point"}
    kw = dict(kwargs)
    if in_chans is not None and "in_chans" not in kw and (
            (isinstance(factory, type) and issubclass(factory, SIRSTNet)) or accepts(factory, "in_chans")):
        kw["in_chans"] = in_chans
    try:
        net = factory(**kw)
    except ModelError:
        raise
    except Exception as e:  # noqa: BLE001 - a bad keyword or the user's own constructor failing: one line
        args = ", ".join(f"{k}={v!r}" for k, v in kw.items()) or "no arguments"
        raise ModelError(f"building model {name!r} with {args} failed: {first_line(e)}") from None
    if not isinstance(net, nn.Module):
        raise ModelError(f"model {name!r}: its factory returned a {type(net).__name__}, not a torch.nn.Module")
    return net, source


def create_model(name: str, in_chans: int | None = None, init: str = "original", weights: str | None = None,
                 outputs: OutputSpec | dict | None = None, size_multiple: int | None = None,
                 probe_size: int = 64, **kwargs: Any) -> nn.Module:
    """Build a network by name or spec (see the module doc).

    ``init``: "original" (the initialisation of the network's own paper code) or "authors" (as the FDEP
    authors' PAL copy starts; :mod:`fdep.models.init_schemes`; networks of your own keep theirs).
    ``weights``: a published weight set's tag (``"nuaa-sirst"``), a folder in the Hub layout or a cached
    Hub repo id (:mod:`fdep.models.weights`): the network is built as the weights record it, then they are
    loaded (eval mode); an ``in_chans``, ``init``, output or keyword argument that conflicts with the record
    is refused rather than dropped. ``outputs``: how to read a network of your own's output
    (:class:`OutputSpec`); ``size_multiple``: skip finding it by dry runs (networks of your own).
    """
    outputs = OutputSpec.from_dict(outputs) if isinstance(outputs, dict) else outputs
    if weights is not None:
        return load_weights(name, weights, in_chans=in_chans, init=init, outputs=outputs, **kwargs)
    in_chans = 1 if in_chans is None else int(in_chans)
    net, source = build_module(name, in_chans, **kwargs)
    if isinstance(net, SIRSTNet):
        if outputs is not None and not outputs.is_default():
            raise ModelError(f"model {name!r} is an fdep network (SIRSTNet): it returns logits and its deep "
                             f"supervision itself; drop output_select / output_form / deep_supervision")
        if not net.model_name:
            net.model_name = name if is_spec(name) else name.lower()
        if kwargs:  # recorded with the weights, so exports rebuild the same network
            net.init_kwargs = {**(getattr(net, "init_kwargs", None) or {}), **kwargs}
        return apply_init(net, net.model_name, init)
    return ExternalNetwork(net, name, in_chans, outputs, init_kwargs=kwargs, source=source,
                           size_multiple=size_multiple, probe_size=probe_size)


def rebuild_network(name: str, in_chans: int = 1, kwargs: dict | None = None, source: dict | None = None,
                    output: dict | None = None, size_multiple: int | None = None,
                    where: str = "checkpoint") -> nn.Module:
    """The network a checkpoint or exported folder records, fresh weights. A file it was trained from must
    still be there, unchanged (ModelError on one line otherwise: :func:`fdep.models.spec.check_source`)."""
    spec = check_source(source, where) if source else None
    net = create_model(spec or name, in_chans=in_chans, outputs=OutputSpec.from_dict(output) if output else None,
                       size_multiple=size_multiple, **(kwargs or {}))
    if isinstance(net, ExternalNetwork):
        net.model_name = name
        net.model_source = dict(source or net.model_source)
    elif spec and spec != name:
        net.model_name = name
    return net


def network_record(net: nn.Module) -> dict[str, Any]:
    """What rebuilds ``net`` with :func:`rebuild_network` (name, in_chans, kwargs, and for a network of your
    own its source, output reading and size multiple)."""
    extra = net.network_record() if isinstance(net, ExternalNetwork) else {}
    return {"name": net.model_name, "in_chans": int(getattr(net, "in_chans", 1)), "kwargs": model_kwargs(net),
            **extra}


def copy_network(net: nn.Module) -> nn.Module:
    """An independent copy carrying the same weights (for exporting the light branch)."""
    return copy.deepcopy(net)


def _conflicts(name: str, cfg: dict, in_chans, init: str, outputs: OutputSpec | None, kwargs: dict) -> list[str]:
    bad = []
    if in_chans is not None and int(in_chans) != int(cfg.get("in_chans", 1)):
        bad.append(f"in_chans={in_chans} (the weights have {cfg.get('in_chans', 1)})")
    if init != "original":
        bad.append(f"init={init!r} (loaded weights replace any initialisation)")
    recorded = cfg.get("kwargs") or {}
    bad += [f"{k}={v!r} (the weights were built with {k}={recorded[k]!r})" if k in recorded else
            f"{k}={v!r} (the weights record no {k}: built with its default)"
            for k, v in kwargs.items() if recorded.get(k, object()) != v]
    if outputs is not None and cfg.get("output") is not None and outputs != OutputSpec.from_dict(cfg["output"]):
        bad.append(f"outputs={outputs} (the weights record {cfg['output']})")
    return bad


def load_weights(model: str, weights: str | Path, map_location: str = "cpu", in_chans: int | None = None,
                 init: str = "original", outputs: OutputSpec | None = None, **kwargs: Any) -> nn.Module:
    """The network ``model`` with ``weights`` loaded (eval mode); its ``weight_set`` is the registry entry or None.

    Arguments that conflict with what the weights record are refused (ModelError listing them)."""
    folder, ws = weights_folder(model, weights)
    bad = _conflicts(model, read_pretrained_config(folder), in_chans, init, outputs, kwargs)
    if bad:
        raise ModelError(f"create_model({model!r}, weights={str(weights)!r}): conflicting argument"
                         f"{'s' if len(bad) > 1 else ''} {'; '.join(bad)}: drop them (the network is built as "
                         f"its weights record)")
    net = load_pretrained(folder, map_location=map_location)
    net.weight_set = ws
    net.weights_folder = folder
    return net


def load_pretrained(path: str | Path, map_location: str | torch.device = "cpu") -> nn.Module:
    """Rebuild a saved network from its config.json and load its weights (eval mode).

    The returned network carries ``pretrained_config`` (the config dict) and, when recorded,
    ``input_mean``/``input_std`` (the normalisation it was trained with, 0-255 scale).
    """
    path = Path(path)
    cfg = read_pretrained_config(path)
    name = cfg["model_name"]
    if not cfg.get("source") and not is_known(name):
        raise ModelError(f"{path / CONFIG_NAME}: network {name!r} is not registered; available: "
                         f"{', '.join(list_models()) or '(none)'}")
    if not cfg.get("source"):  # the described network's size against the stored one, before either is built
        in_chans, kwargs = int(cfg.get("in_chans", 1)), cfg.get("kwargs") or {}
        check_network_size(lambda: create_model(name, in_chans=in_chans, **kwargs), path / WEIGHTS_NAME,
                           path / CONFIG_NAME)
    state = read_state(path, map_location)
    if cfg.get("source"):
        net = rebuild_network(name, int(cfg.get("in_chans", 1)), cfg.get("kwargs"), cfg["source"], cfg.get("output"),
                              cfg.get("size_multiple"), where=str(path / CONFIG_NAME))
    else:
        net = create_model(name, in_chans=int(cfg.get("in_chans", 1)), **(cfg.get("kwargs") or {}))
    load_state_checked(getattr(net, "user_module", net), state, path / "model.safetensors", name)
    net.pretrained_config = cfg
    norm = cfg.get("normalization")
    if norm:
        net.input_mean, net.input_std = float(norm["mean"]), float(norm["std"])
    return net.to(map_location).eval()


def is_external(net: Any) -> bool:
    """True for a network from outside fdep wrapped by :class:`ExternalNetwork`."""
    return isinstance(net, ExternalNetwork)


__all__ = ["build_module", "copy_network", "create_model", "is_external", "load_pretrained", "load_weights",
           "network_record", "rebuild_network"]
