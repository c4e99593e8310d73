"""Export the inference network to ONNX (dynamic N, H, W) and TorchScript, verified against PyTorch.

The exported graph takes the *normalised* image ``(x - mean) / std`` (N x C x H x W,
H and W multiples of ``size_multiple``) and returns N x 1 x H x W logits, exactly
as the PyTorch network does; the ONNX file records mean/std/size_multiple/in_chans
(JSON-encoded) in its metadata_props so ``fdep predict`` can preprocess for it.

For an ``fdep`` (CO-ISD) checkpoint the inference network is the light branch,
i.e. the plain original network (``fdep.framework.export_light``); ``original`` is
the plain network too; ``fdep-main`` needs the VFM and exports the whole model.

Exporters: ``dynamo`` (torch.export-based, the default since torch 2.9) with
H/W declared as multiples of ``size_multiple``; ``legacy`` (TorchScript-based,
deprecated) with ``dynamic_axes``; ``auto`` tries dynamo and falls back to
legacy when dynamo cannot trace the network or its output disagrees.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import InputError, ModelError
from ..fileio import atomic_path, check_output_file
from .export_options import DEFAULT_ATOL, DEFAULT_OPSET, DEFAULT_RTOL, EXPORTERS  # noqa: F401 (public here too)


class _Logits(nn.Module):
    """Wrap a network so it returns one logit tensor (the final deep-supervision map)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x)
        return out[-1] if isinstance(out, (list, tuple)) else out


def inference_network(model: nn.Module, meta: dict[str, Any]) -> nn.Module:
    """The network that runs at inference: the light branch for fdep/original, else the model."""
    from ..models import ExternalNetwork, SIRSTNet

    if isinstance(model, (SIRSTNet, ExternalNetwork)) or meta.get("variant") == "fdep-main":
        return model.eval()
    if meta.get("variant") in ("fdep", "original") or hasattr(model, "network"):
        from ..framework import export_light

        return export_light(model).eval()
    return model.eval()


def _sample_shapes(meta: dict[str, Any], size: int | None) -> list[tuple[int, int, int, int]]:
    """Two input shapes (different N, H, W) used to verify dynamic shapes."""
    m = _sample_multiple(meta)
    c = int(meta.get("in_chans") or 1)
    h = size or 2 * m
    h = max(m, (h + m - 1) // m * m)
    return [(1, c, h, h + m), (2, c, h + m, h)]


def _compare(name: str, got: np.ndarray, ref: np.ndarray, shape: tuple, atol: float, rtol: float) -> float:
    if got.shape != ref.shape:
        raise ModelError(f"{name} export check failed: output shape {got.shape} != PyTorch {ref.shape} "
                         f"for input {shape}")
    err = float(np.max(np.abs(got - ref))) if got.size else 0.0
    if not np.allclose(got, ref, atol=atol, rtol=rtol):
        raise ModelError(
            f"{name} export check failed: max |exported - PyTorch| = {err:.3g} on input {shape} "
            f"(tolerance atol={atol:g}, rtol={rtol:g})"
        )
    return err


@contextlib.contextmanager
def _quiet():
    """Silence the exporters' progress prints and deprecation chatter (errors still raise)."""
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "torch._dynamo", "onnxscript")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, lv in zip(loggers, levels, strict=True):
            lg.setLevel(lv)


def _onnx_export(net: nn.Module, x: torch.Tensor, path: Path, exporter: str, opset: int, multiple: int) -> None:
    with _quiet():
        if exporter == "dynamo":
            n = torch.export.Dim("batch", min=1, max=4096)
            h = multiple * torch.export.Dim("h_blocks", min=1, max=4096)
            w = multiple * torch.export.Dim("w_blocks", min=1, max=4096)
            # external_data=False: the weights go inside the .onnx (fdep's networks are far below protobuf's
            # 2 GB), not into a PATH.data file beside it, which the temporary name would leave behind
            torch.onnx.export(net, (x,), str(path), dynamo=True, opset_version=opset, external_data=False,
                              input_names=["image"], output_names=["logits"],
                              dynamic_shapes={"x": {0: n, 2: h, 3: w}}, verbose=False)
        else:
            axes = {0: "batch", 2: "height", 3: "width"}
            torch.onnx.export(net, (x,), str(path), dynamo=False, opset_version=opset,
                              input_names=["image"], output_names=["logits"],
                              dynamic_axes={"image": axes, "logits": axes})


def _add_metadata(path: Path, meta: dict[str, Any]) -> None:
    import onnx

    model = onnx.load(str(path))
    del model.metadata_props[:]
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value)
    onnx.save(model, str(path))


def _verify_onnx(path: Path, net: nn.Module, shapes, atol: float, rtol: float) -> float:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    worst = 0.0
    gen = torch.Generator().manual_seed(0)
    for shape in shapes:
        x = torch.randn(*shape, generator=gen)
        with torch.inference_mode():
            ref = net(x).float().numpy()
        got = session.run(None, {name: x.numpy()})[0]
        worst = max(worst, _compare("ONNX", got, ref, shape, atol, rtol))
    return worst


def export_onnx(
    model: nn.Module,
    meta: dict[str, Any],
    out: str | os.PathLike,
    *,
    opset: int = DEFAULT_OPSET,
    exporter: str = "auto",
    size: int | None = None,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
) -> dict[str, Any]:
    """Export ``model`` (already the inference network, eval, CPU) to ``out`` and verify it.

    Returns a summary dict (exporter used, max abs error, shapes checked). Raises
    ModelError naming the exporter(s) and the mismatch when no exporter gives a
    model that agrees with PyTorch on both sample shapes.
    """
    if exporter not in EXPORTERS:
        raise InputError(f"unknown exporter {exporter!r}; choose one of {', '.join(EXPORTERS)}")
    out = Path(out)
    net = _Logits(model.cpu()).eval()
    shapes = _sample_shapes(meta, size)
    multiple = _sample_multiple(meta)
    x = torch.randn(*shapes[0], generator=torch.Generator().manual_seed(1))
    record = {k: meta[k] for k in META_KEYS if k in meta}
    record.update(input="normalised (x - mean) / std, grayscale 0-255 scale, N x C x H x W",
                  output="logits N x 1 x H x W (apply sigmoid)")
    tried: list[str] = []
    for name in (["dynamo", "legacy"] if exporter == "auto" else [exporter]):
        try:
            with atomic_path(out) as tmp:
                _onnx_export(net, x, tmp, name, opset, multiple)
                err = _verify_onnx(tmp, net, shapes, atol, rtol)
                _add_metadata(tmp, record)
        except ModelError as e:
            tried.append(f"{name}: {e}")
            continue
        except Exception as e:  # exporter failures come in many types (torch, onnx, onnxscript)
            tried.append(f"{name} exporter: {_first_line(e)}")
            continue
        return dict(format="onnx", path=str(out), exporter=name, opset=opset, max_abs_error=err,
                    checked_shapes=[list(s) for s in shapes])
    raise ModelError(f"ONNX export of {meta.get('model') or type(model).__name__} failed: " + " | ".join(tried))


#: what an exported file records of its network's preprocessing (input_range: fdep.inputrange)
META_KEYS = ("model", "variant", "in_chans", "mean", "std", "size_multiple", "input_range")


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0] if text else ''}"


def _sample_multiple(meta: dict[str, Any]) -> int:
    m = meta.get("size_multiple") or 32
    return math.lcm(*m) if isinstance(m, (list, tuple)) else int(m)


def export_torchscript(
    model: nn.Module,
    meta: dict[str, Any],
    out: str | os.PathLike,
    *,
    size: int | None = None,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
) -> dict[str, Any]:
    """Trace the inference network with ``torch.jit.trace``, verify on two shapes, save atomically.

    The preprocessing meta is stored as ``fdep_meta.json`` in the archive's extra files.
    """
    out = Path(out)
    net = _Logits(model.cpu()).eval()
    shapes = _sample_shapes(meta, size)
    x = torch.randn(*shapes[0], generator=torch.Generator().manual_seed(1))
    try:
        with _quiet(), torch.inference_mode(False), torch.no_grad():
            traced = torch.jit.trace(net, (x,), check_trace=False)
    except Exception as e:
        raise ModelError(f"TorchScript trace of {meta.get('model') or type(model).__name__} failed: "
                         f"{_first_line(e)}") from None
    worst = 0.0
    gen = torch.Generator().manual_seed(0)
    for shape in shapes:
        xi = torch.randn(*shape, generator=gen)
        with torch.no_grad():
            worst = max(worst, _compare("TorchScript", traced(xi).numpy(), net(xi).numpy(), shape, atol, rtol))
    record = {k: meta[k] for k in META_KEYS if k in meta}
    with atomic_path(out) as tmp, _quiet():
        torch.jit.save(traced, str(tmp), _extra_files={"fdep_meta.json": json.dumps(record)})
    return dict(format="torchscript", path=str(out), max_abs_error=worst, checked_shapes=[list(s) for s in shapes])


def load_for_export(checkpoint: str | os.PathLike,
                    vfm_weights: str | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """The inference network and its preprocessing meta from a .ckpt or an exported network folder."""
    from ..errors import WeightsError

    path = Path(checkpoint)
    if not path.exists():
        raise WeightsError(f"{path}: checkpoint not found")
    if path.suffix.lower() == ".onnx":
        raise InputError(f"{path}: already an ONNX file; export from the .ckpt or exported network folder")
    if path.is_dir():
        from .inference import _load_exported_dir

        return _load_exported_dir(path)
    from ..training.checkpoint import load_model_from_checkpoint

    kw = {"vfm_weights": vfm_weights} if vfm_weights is not None else {}
    model, meta = load_model_from_checkpoint(path, map_location="cpu", **kw)
    return inference_network(model, meta), dict(meta)


def check_export_outputs(*files: str | os.PathLike | None, overwrite: bool = False) -> None:
    """Every output file can be written (see :func:`fdep.fileio.check_output_file`): checked before the network
    is loaded and before any exporter runs, so a bad second path does not cost the first export."""
    from ..errors import OutputExistsError

    for p in (f for f in files if f is not None):
        if Path(p).exists() and not overwrite and not Path(p).is_dir():
            raise OutputExistsError(f"{p} already exists; use --overwrite or another file name")
        check_output_file(p, replace=overwrite)


def run_export(
    checkpoint: str | os.PathLike,
    onnx: str | os.PathLike | None = None,
    torchscript: str | os.PathLike | None = None,
    *,
    opset: int = DEFAULT_OPSET,
    exporter: str = "auto",
    overwrite: bool = False,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
    vfm_weights: str | None = None,
) -> list[dict[str, Any]]:
    """``fdep export``: write the requested formats (each verified); returns one summary per file."""
    if onnx is None and torchscript is None:
        raise InputError("nothing to export: give --onnx FILE and/or --torchscript FILE")
    check_export_outputs(onnx, torchscript, overwrite=overwrite)
    net, meta = load_for_export(checkpoint, vfm_weights)
    summaries = []
    if onnx is not None:
        summaries.append(export_onnx(net, meta, onnx, opset=opset, exporter=exporter, atol=atol, rtol=rtol))
    if torchscript is not None:
        summaries.append(export_torchscript(net, meta, torchscript, atol=atol, rtol=rtol))
    return summaries
