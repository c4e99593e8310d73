"""Full-image inference from any saved form of a network: ``load_predictor(path)``.

A :class:`Predictor` turns a grayscale image (H x W float array on the 0-255
scale) into a probability map (H x W in [0, 1]): it normalises with the
mean/std recorded with the weights, zero-pads bottom/right to the network's
size multiple, runs the network, crops back and applies the sigmoid. Images
with more than ``tile_pixels`` pixels are run in overlapping tiles
(``fdep.data.predict_tiled``). ``predict_batch`` batches same-size images.

Three sources are accepted, all giving the same predictor:

* a Lightning checkpoint (``.ckpt``) written by ``fdep train``;
* a directory written by ``fdep.models.save_pretrained`` (``RUN_DIR/light``);
* an ONNX file written by ``fdep export`` (run with onnxruntime).

A classical (training-free) method needs no file: :func:`classical_predictor`
(``fdep predict --model mpcm``) feeds it the raw 0-255 gray image (mean 0,
std 1: no normalisation), whole (no padding, no tiles: its response depends on
the whole image), and takes its output as probabilities (no sigmoid).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch

from ..errors import InputError, WeightsError

#: images with more pixels than this are run in tiles (the same rule as ``fdep test``)
DEFAULT_TILE_PIXELS = 1024 * 1024
DEFAULT_TILE = 512
DEFAULT_OVERLAP = 64


def resolve_device(device: str | None) -> torch.device:
    """``"auto"``/None -> CUDA when available else CPU; otherwise the named device (checked)."""
    if device in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError):
        raise InputError(f"unknown device {device!r}; use cpu, cuda, cuda:N or auto") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device {device!r} requested but CUDA is not available on this machine")
    return dev


def _lcm(multiple: int | Sequence[int]) -> int:
    if isinstance(multiple, (list, tuple)):
        return math.lcm(*(int(m) for m in multiple))
    return int(multiple)


class Detection(NamedTuple):
    """What a :class:`Predictor` finds in one image: ``prob, targets = predictor(image)``."""

    prob: np.ndarray  #: H x W float32 probabilities in [0, 1]
    targets: list  #: fdep.tools.targets.Target records (centroid_y/x, area, peak_score, mean_score, bbox)


class Predictor:
    """Image (H x W, 0-255) -> probability map (H x W, [0, 1]) for one loaded network.

    ``prob, targets = predictor(image)`` takes any numpy image (:meth:`__call__`); ``predict_batch`` the
    H x W 0-255 gray arrays ``fdep.imageio.read_image`` returns.

    ``run_logits`` maps a normalised N x C x h x w float tensor (h, w multiples of
    ``size_multiple``) to N x 1 x h x w logits; the backends differ only there.
    ``outputs="probability"`` (classical methods) means ``run_logits`` already
    returns probabilities: no sigmoid is applied.
    """

    def __init__(
        self,
        run_logits: Callable[[torch.Tensor], torch.Tensor],
        *,
        mean: float,
        std: float,
        size_multiple: int | Sequence[int] = 32,
        in_chans: int = 1,
        device: torch.device | str = "cpu",
        source: str = "",
        meta: dict[str, Any] | None = None,
        tile_pixels: float = DEFAULT_TILE_PIXELS,
        tile: int = DEFAULT_TILE,
        overlap: int = DEFAULT_OVERLAP,
        outputs: str = "logits",
    ) -> None:
        if outputs not in ("logits", "probability"):
            raise ValueError(f"outputs must be 'logits' or 'probability', got {outputs!r}")
        if not std or not math.isfinite(float(std)) or float(std) <= 0:
            raise WeightsError(f"{source}: recorded normalisation std must be > 0, got {std!r}")
        if not math.isfinite(float(mean)):
            raise WeightsError(f"{source}: recorded normalisation mean must be a finite number, got {mean!r}")
        self.run_logits = run_logits
        self.mean = float(mean)
        self.std = float(std)
        self.size_multiple = size_multiple
        self.multiple = _lcm(size_multiple)
        self.in_chans = int(in_chans)
        self.device = torch.device(device)
        self.source = source
        self.meta = dict(meta or {})
        self.tile_pixels = tile_pixels if math.isinf(tile_pixels) else int(tile_pixels)  # inf: never tile
        self.tile = int(tile)
        self.overlap = int(overlap)
        self.outputs = outputs
        self.threshold = float(self.meta.get("threshold") or 0.5)

    # -- one batch of same-size images -------------------------------------------------
    def _to_tensor(self, images: Sequence[np.ndarray]) -> torch.Tensor:
        x = torch.from_numpy(np.stack([np.asarray(im, dtype=np.float32) for im in images]))[:, None]
        x = (x - self.mean) / self.std
        if self.in_chans != 1:
            x = x.expand(-1, self.in_chans, -1, -1)
        return x.to(self.device)

    def _padded_logits(self, x: torch.Tensor) -> torch.Tensor:
        from ..data import crop_to, pad_to_multiple

        padded, size = pad_to_multiple(x, self.multiple)
        return crop_to(self.run_logits(padded), size)

    @torch.inference_mode()
    def logits(self, images: Sequence[np.ndarray], on_tile: Callable[[int, int], None] | None = None
               ) -> torch.Tensor:
        """N x 1 x H x W raw outputs of same-size images (tiled when they are large).

        Logits for networks; probabilities when ``outputs == "probability"``. ``on_tile(done, total)``
        follows the tiles of a large batch (see ``fdep.data.predict_tiled``).
        """
        shapes = {np.shape(im) for im in images}
        if len(shapes) != 1 or len(next(iter(shapes))) != 2:
            raise InputError(f"a batch must hold 2-D images of one size, got shapes {sorted(shapes)}")
        x = self._to_tensor(images)
        h, w = x.shape[-2:]
        try:
            if h * w > self.tile_pixels:
                from ..data import predict_tiled

                return predict_tiled(self._padded_logits, x, tile=self.tile, overlap=self.overlap,
                                     multiple=self.multiple, on_tile=on_tile)
            return self._padded_logits(x)
        except torch.OutOfMemoryError:
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
            raise InputError(
                f"out of memory on {self.device} running a batch of {len(images)} image(s) of {h} x {w}; "
                f"use a smaller --batch-size (or run large images in tiles)"
            ) from None

    def predict_batch(self, images: Sequence[np.ndarray], on_tile: Callable[[int, int], None] | None = None
                      ) -> list[np.ndarray]:
        """Probability maps (float32, [0, 1]) of same-size images, in order (``on_tile``: see :meth:`logits`)."""
        out = self.logits(images, on_tile).float()
        prob = (torch.sigmoid(out) if self.outputs == "logits" else out.clamp(0.0, 1.0))[:, 0]
        return list(prob.cpu().numpy())

    def probability(self, image: Any, input_range: str | tuple[float, float] = "auto") -> np.ndarray:
        """Probability map (H x W float32 in [0, 1]) of one image of any dtype, range and channel layout
        (mapped to the 0-255 gray scale by ``input_range``: :func:`fdep.tools.image_input.to_gray255`)."""
        from .image_input import to_gray255

        prob = self.predict_batch([to_gray255(image, input_range)])[0]
        if not np.isfinite(prob).all():
            raise WeightsError(f"{self.source}: the network produced NaN/inf probabilities (diverged weights?)")
        return prob

    def __call__(self, image: Any, threshold: float | None = None,
                 input_range: str | tuple[float, float] = "auto") -> Detection:
        """``(prob, targets)`` of one image: the probability map and the detected targets (8-connected
        components of ``prob > threshold``, each with centroid, area, peak/mean score and box).

        ``image``: a numpy array of any dtype, range and channel count (see :meth:`probability`);
        ``threshold``: default the one recorded with the weights, else 0.5.
        """
        from .targets import find_targets

        t = self.threshold if threshold is None else float(threshold)
        if not 0.0 <= t < 1.0:
            raise InputError(f"threshold must lie in [0, 1), got {t}")
        prob = self.probability(image, input_range)
        return Detection(prob, find_targets(prob, t))


# -- loading ----------------------------------------------------------------------------
def load_predictor(
    source: str | os.PathLike,
    device: str | torch.device | None = "cpu",
    *,
    weights: str | os.PathLike | None = None,
    vfm_weights: str | None = None,
    tile_pixels: int = DEFAULT_TILE_PIXELS,
    tile: int = DEFAULT_TILE,
    overlap: int = DEFAULT_OVERLAP,
) -> Predictor:
    """A :class:`Predictor` from a name or a file::

        detect = fdep.load_predictor("acm.nuaa-sirst")      # a published weight set, NETWORK.TAG
        detect = fdep.load_predictor("acm", weights="nuaa-sirst")   # the same; weights= also takes a folder
        prob, targets = detect(image)                        # any numpy image (see Predictor.__call__)

    ``source`` is, in this order: an existing ``.ckpt``, exported network folder or ``.onnx`` file; a
    published weight set ``NETWORK.TAG`` (``fdep models --weights`` lists them); a network name with
    ``weights=`` (a tag, a folder written by ``fdep export --hub`` or a cached Hub repo id), or a classical
    method's name (``"mpcm"``: no weights); a tag only one network publishes. ``vfm_weights``: where the
    VFM weights are, for ``fdep-main`` checkpoints. Raises :class:`WeightsError` (one line) when nothing
    of that name exists or the file is missing, corrupt, or lacks the normalisation it needs.
    """
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    opts = dict(tile_pixels=tile_pixels, tile=tile, overlap=overlap)
    path = resolve_source(source, weights)
    if isinstance(path, str):  # a classical method's name
        return classical_predictor(path, dev)
    if path.is_dir():
        model, meta = _load_exported_dir(path)
    elif path.suffix.lower() == ".onnx":
        return _onnx_predictor(path, dev, **opts)
    else:
        from ..training.checkpoint import load_model_from_checkpoint

        kw = {"vfm_weights": vfm_weights} if vfm_weights is not None else {}
        model, meta = load_model_from_checkpoint(path, map_location="cpu", **kw)
    return torch_predictor(model, meta, dev, source=str(path), **opts)


def resolve_source(source: str | os.PathLike, weights: str | os.PathLike | None = None) -> Path | str:
    """The file or folder :func:`load_predictor` loads for ``source``/``weights``, or a classical method's name."""
    from ..models import get_model_factory, is_model
    from ..models.weight_sources import weights_folder
    from ..models.weights import WEIGHTS

    text = str(source)
    if weights is not None:
        if not is_model(text):
            get_model_factory(text)  # ModelError: unknown network, with the names
        return weights_folder(text, weights)[0]
    path = Path(text).expanduser()
    if path.exists():
        return path
    if "." in text and is_model(text.split(".", 1)[0]):
        model, tag = text.split(".", 1)
        if any(w.model == model.lower() and w.tag == tag for w in WEIGHTS):
            return weights_folder(model, tag)[0]
    published = ", ".join(w.name for w in WEIGHTS) or "none"
    if is_model(text):
        if getattr(get_model_factory(text), "kind", "learned") == "classical":
            return text.lower()
        tags = ", ".join(w.tag for w in WEIGHTS if w.model == text.lower()) or "none published yet"
        raise WeightsError(f"{text} is a network: name its trained weights, load_predictor({text!r}, weights=TAG) "
                           f"or {text!r}.TAG (published tags: {tags}), or pass a .ckpt / exported folder / .onnx")
    same_tag = [w for w in WEIGHTS if w.tag == text]
    if len(same_tag) == 1:
        return weights_folder(same_tag[0].model, same_tag[0].tag)[0]
    if same_tag:
        names = ", ".join(w.name for w in same_tag)
        raise WeightsError(f"{text}: several networks publish weights of that name ({names}); name one, e.g. "
                           f"load_predictor({same_tag[0].name!r})")
    raise WeightsError(f"{text}: no such checkpoint, folder or .onnx file, nor a published weight set (published: "
                       f"{published}; or a network name with weights=)")


def classical_predictor(name: str, device: str | torch.device | None = "cpu", **kwargs: Any) -> Predictor:
    """A predictor running the registered classical method ``name`` (kwargs go to its constructor).

    A learned network has nothing to run without trained weights: :class:`WeightsError` naming the
    options. The method gets the raw 0-255 gray image and runs on it whole.
    """
    from ..models import create_model, get_model_factory, list_models

    dev = device if isinstance(device, torch.device) else resolve_device(device)
    if getattr(get_model_factory(name), "kind", "learned") != "classical":
        raise WeightsError(f"{name} is a learned network and needs trained weights: pass --checkpoint (a .ckpt, an "
                           f"exported folder or an .onnx file); --model runs only the classical methods "
                           f"({', '.join(list_models(kind='classical'))})")
    model = create_model(name, **kwargs).to(dev).eval()
    meta = {"model": model.model_name, "variant": "classical", "in_chans": model.in_chans, "mean": 0.0,
            "std": 1.0, "size_multiple": 1, "vfm": None, "params": dict(getattr(model, "init_kwargs", {}))}
    return Predictor(model, mean=0.0, std=1.0, size_multiple=1, in_chans=model.in_chans, device=dev,
                     source=f"classical method {model.model_name}", meta=meta, tile_pixels=math.inf,
                     outputs="probability")


def torch_predictor(model: torch.nn.Module, meta: dict[str, Any], device: torch.device | str = "cpu",
                    source: str = "", **opts: Any) -> Predictor:
    """A predictor around an in-memory network (eval mode, logits out) and its preprocessing meta."""
    from ..models import final_output

    missing = [k for k in ("mean", "std") if meta.get(k) is None]
    if missing:
        raise WeightsError(f"{source or 'model'}: no normalisation {'/'.join(missing)} recorded with the weights "
                           f"(save with fdep.models.save_pretrained(net, dir, mean=..., std=...))")
    model = model.to(device).eval()

    def run(x: torch.Tensor) -> torch.Tensor:
        return final_output(model(x))

    return Predictor(
        run, mean=meta["mean"], std=meta["std"], size_multiple=meta.get("size_multiple") or 32,
        in_chans=meta.get("in_chans") or getattr(model, "in_chans", 1), device=device, source=source,
        meta=meta, **opts,
    )


def _load_exported_dir(path: Path) -> tuple[torch.nn.Module, dict[str, Any]]:
    """A ``save_pretrained`` directory: the network plus the normalisation recorded with it."""
    from ..models import load_pretrained

    if not (path / "config.json").is_file():  # a run directory, its checkpoints/ ...: say what to pass instead
        from ..training.rundir import pass_instead

        raise WeightsError(f"{path}: not an exported network folder (no config.json); {pass_instead(path)}")

    net = load_pretrained(path)
    config = getattr(net, "pretrained_config", None) or {}
    norm = config.get("normalization") or {}
    meta = {
        "model": getattr(net, "model_name", ""),
        "variant": (config.get("extra") or {}).get("variant", "original"),
        "in_chans": int(getattr(net, "in_chans", 1)),
        "mean": getattr(net, "input_mean", None) if getattr(net, "input_mean", None) is not None else norm.get("mean"),
        "std": getattr(net, "input_std", None) if getattr(net, "input_std", None) is not None else norm.get("std"),
        "size_multiple": int(getattr(net, "size_multiple", 32)),
        # the gray range of the training images (fdep.inputrange), kept under "extra"; absent in older folders
        "input_range": (config.get("extra") or {}).get("input_range"),
    }
    threshold = (config.get("extra") or {}).get("threshold")
    if isinstance(threshold, (int, float)) and not isinstance(threshold, bool) and 0.0 <= threshold < 1.0:
        meta["threshold"] = float(threshold)  # what the weights were scored at (fdep export --hub records it)
    return net.eval(), meta


def _onnx_predictor(path: Path, device: torch.device, **opts: Any) -> Predictor:
    """A predictor running an exported ONNX file with onnxruntime."""
    import onnxruntime as ort

    providers = ["CPUExecutionProvider"]
    if device.type == "cuda":
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise InputError("device cuda requested for an ONNX model but onnxruntime has no CUDAExecutionProvider")
        providers.insert(0, ("CUDAExecutionProvider", {"device_id": device.index or 0}))
    try:
        session = ort.InferenceSession(str(path), providers=providers)
    except Exception as e:  # onnxruntime raises its own exception types for corrupt files
        raise WeightsError(f"{path}: cannot load ONNX model ({type(e).__name__}: {str(e).splitlines()[0]})") from None
    meta = read_onnx_meta(session.get_modelmeta().custom_metadata_map, path)
    input_name = session.get_inputs()[0].name

    def run(x: torch.Tensor) -> torch.Tensor:
        out = session.run(None, {input_name: x.detach().cpu().numpy().astype(np.float32, copy=False)})[0]
        return torch.from_numpy(out).to(x.device)

    return Predictor(run, mean=meta["mean"], std=meta["std"], size_multiple=meta["size_multiple"],
                     in_chans=meta["in_chans"], device=device, source=str(path), meta=meta, **opts)


def read_onnx_meta(props: dict[str, str], path: object) -> dict[str, Any]:
    """Parse the metadata_props ``fdep export`` writes (values JSON-encoded)."""
    missing = [k for k in ("mean", "std", "size_multiple", "in_chans") if k not in props]
    if missing:
        raise WeightsError(f"{path}: ONNX file lacks fdep metadata {', '.join(missing)} (export it with fdep export)")
    meta: dict[str, Any] = {}
    for key, value in props.items():
        try:
            meta[key] = json.loads(value)
        except ValueError:
            meta[key] = value
    return meta
