"""What a classical (training-free) method is in the zoo, and how its response becomes a probability.

A classical method is registered like a network and built with ``create_model``,
but it has no weights, no encoder/decoder and no training: ``forward`` maps raw
grayscale intensities to a probability-like map directly.

* **Input**: N x C x H x W intensities on the 0-255 scale, exactly as read from
  the image file (``fdep.imageio.read_image``), *not* the mean/std-normalised
  tensors the networks get; C = ``in_chans`` (several channels are averaged to
  gray). Any H and W (``size_multiple`` is 1). A negative value means the
  caller normalised the image, which the methods' parameters do not expect
  (``ModelError``).
* **Output**: N x 1 x H x W probabilities in [0, 1] (``outputs = "probability"``;
  the networks return logits), in the input's floating dtype and device. The
  methods compute in float64 on the CPU whatever the input's device.
* **Response to probability**: each method computes its raw response R (MPCM:
  the multiscale contrast, FKRW: the weighted facet/random-walker map, NIPPS:
  the recovered target image), then :func:`response_to_probability` maps it
  per image to ``p = max(R, 0) / max(max(R, 0))`` (0 everywhere when no pixel
  responds). This is monotone in R within an image, keeps every positive
  response distinguishable, and is how the methods' own code ends (FKRW
  divides its map by the maximum; NIPPS's target image is non-negative, so
  ``R / max R`` is its usual min-max display). Across images it is a per-image rescaling,
  so pooled metrics (HSE-P, AUC) rank pixels of different images by their
  fraction of that image's strongest response.
"""

from __future__ import annotations

import torch

from ...errors import ModelError
from ..base import Features, SIRSTNet


def response_to_probability(response: torch.Tensor) -> torch.Tensor:
    """Per-image ``max(R, 0) / max(max(R, 0))`` over the last two dims (all-zero maps stay 0)."""
    r = response.clamp(min=0)
    peak = r.amax(dim=(-2, -1), keepdim=True)
    return torch.where(peak > 0, r / torch.where(peak > 0, peak, torch.ones_like(peak)), torch.zeros_like(r))


class ClassicalMethod(SIRSTNet):
    """Base of the training-free methods: raw 0-255 gray in, probabilities out, no encode/decode.

    Subclasses implement :meth:`response` (one H x W float64 image -> H x W raw
    response) or, when they batch, :meth:`responses` (N x H x W -> N x H x W).
    """

    kind = "classical"
    outputs = "probability"
    size_multiple = 1
    top_channels = 0
    top_stride = 1
    #: the FDEP paper's per-image time for this method (Table S3, seconds), for comparison
    paper_time_s: float | None = None

    def __init__(self, in_chans: int = 1) -> None:
        super().__init__(in_chans)
        self.init_kwargs: dict = {}

    # -- the contract networks have and classical methods do not ---------------------------------
    def _no_features(self) -> ModelError:
        return ModelError(f"{self.model_name} is a classical method: it has no encoder/decoder (and no FDEP "
                          f"top feature); call it directly on raw 0-255 images")

    def encode(self, x: torch.Tensor) -> Features:
        raise self._no_features()

    def decode(self, features: Features) -> torch.Tensor:
        raise self._no_features()

    # -- computing -------------------------------------------------------------------------------
    def response(self, image: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """Raw response (H x W float64) of one H x W float64 image on the 0-255 scale."""
        raise NotImplementedError

    def responses(self, images: torch.Tensor) -> torch.Tensor:
        """Raw responses of N same-size images (N x H x W float64); per image unless a method batches."""
        return torch.stack([self.response(im) for im in images]) if len(images) else images.clone()

    def check_input(self, x: torch.Tensor) -> None:
        super().check_input(x)
        if not x.is_floating_point():
            raise ModelError(f"{self.model_name}: expected a floating-point tensor of 0-255 intensities, "
                             f"got {x.dtype}")
        if x.numel() and not torch.isfinite(x).all():
            raise ModelError(f"{self.model_name}: the input holds NaN or infinite values")
        if x.numel() and float(x.min()) < 0:
            raise ModelError(f"{self.model_name}: expected raw 0-255 intensities, got negative values "
                             f"(a normalised image?); classical methods take the image as read from file")

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """N x C x H x W raw intensities -> N x 1 x H x W probabilities in [0, 1]."""
        self.check_input(x)
        gray = x.detach().to("cpu", torch.float64).mean(dim=1)  # the methods compute on the CPU, in float64
        prob = response_to_probability(self.responses(gray))
        return prob[:, None].to(x.device, x.dtype)
