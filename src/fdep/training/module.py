"""The LightningModule: FDEPModel + CO-ISD loss + AdamW + full-image validation.

Checkpoints hold the trainable weights only. FDEPModel keeps the frozen VFM
out of its module tree; as a safeguard any tensor outside
``trainable_state_dict()`` is dropped on save and taken from the freshly built
model on load. The config in ``hyper_parameters`` and ``checkpoint["fdep"]["vfm"]``
(the VFM's description) record what to rebuild.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import lightning as L
import torch
from torch import nn

from ..errors import TrainingError, WeightsError
from ..metrics.specs import SCORES
from ..metrics.units import FA_LABEL, fa_text
from .checkpoint import recorded_hyper_parameters
from .config import TrainConfig

log = logging.getLogger("fdep.training")

#: score bins of the validation metric (fdep.metrics' binned mode; docs/metrics.md)
VAL_BINS = 10_000

#: metric keys logged under val/ (fractions; fa is the raw ratio)
VAL_KEYS = tuple(s.key for s in SCORES)


def format_val_scores(vals: dict[str, float]) -> str:
    """The validation scores of the per-epoch line: x100, Fa in the paper's unit (FA_LABEL)."""
    text = "  ".join(f"{k} {100 * vals[k]:.2f}" for k in ("hse", "hse_p", "hse_t", "iou", "niou", "pd") if k in vals)
    return text + (f"  {FA_LABEL} {fa_text(vals['fa'])}" if "fa" in vals else "")


def _finite(v: Any) -> float:
    v = float(v)
    return v if math.isfinite(v) else float("nan")


class SIRSTModule(L.LightningModule):
    """Trains one network in one variant; ``hparams`` is the full TrainConfig."""

    def __init__(self, vfm_module: nn.Module | dict | None = None, **config: Any) -> None:
        super().__init__()
        self.save_hyperparameters(config)
        self.cfg = TrainConfig.from_dict(config, source="checkpoint hyper_parameters")
        from .build import build_model

        self.model = build_model(self.cfg, vfm=vfm_module)
        from ..losses import CoISDLoss, build_loss

        loss_kw = {"form": self.cfg.eedm_form} if self.cfg.loss == "eedm" else {}
        # deep supervision: the loss summed over a branch's outputs (as the authors' torch.mean(l_0 + ... + l_k))
        self.criterion = CoISDLoss(build_loss(self.cfg.loss, **loss_kw), alpha=self.cfg.alpha,
                                   edl_weight=self.cfg.edl_weight)
        from ..metrics import SIRSTMetrics

        # binned pixel scores: memory stays fixed over any validation set (exact mode keeps ~4.4 bytes per pixel,
        # ~2 GiB for SIRST3's test split); HSE-P moves by ~4e-5, target metrics not at all. fdep test is exact.
        self.val_metrics = SIRSTMetrics(bins=VAL_BINS)
        self.size_multiple = int(self.network.size_multiple)
        self.last_val: dict[str, float] = {}
        self._cache = None
        # chance-level tracking (fdep.training.chance): target/all pixel counts of the validation data
        self._val_pixels = [0, 0]
        self._chance_streak: list[int] = []  # epochs (1-based) of the current run of chance validations
        self._chance_warned = False
        self._train_probs = [0.0, 0, 0.0, 0]  # sum p on target, target pixels, sum p on background, background pixels
        self._printed_val_line = False

    # ------------------------------------------------------------ structure
    @property
    def network(self) -> nn.Module:
        """The plain SIRST network inside the FDEPModel."""
        return getattr(self.model, "network", self.model)

    def _trainable_keys(self) -> set[str]:
        return {"model." + k for k in self.model.trainable_state_dict()}

    def _vfm_keys(self) -> set[str]:
        return {k for k in self.state_dict() if k.startswith("model.") and k not in self._trainable_keys()}

    # ------------------------------------------------------------ training
    def set_feature_cache(self, cache: Any) -> None:
        """Use cached VFM features (fdep.vfm cache reader) instead of running the VFM in training."""
        self._cache = cache

    def channels(self, x: torch.Tensor) -> torch.Tensor:
        """Grayscale N x 1 x H x W replicated to the network's ``in_chans`` (the authors read images as RGB)."""
        c = self.cfg.in_chans
        return x.expand(-1, c, -1, -1) if x.shape[1] == 1 and c > 1 else x

    def forward(self, x: torch.Tensor, vfm_features: Any = None) -> Any:
        return self.model(x, vfm_features=vfm_features) if vfm_features is not None else self.model(x)

    def uses_channels_last(self) -> bool:
        """cfg.channels_last, or (null) on for bf16 autocast on a CPU: an ACM step at batch 16, crop 256 took
        0.32 s instead of 0.38 s (docs/benchmarks.md)."""
        if self.cfg.channels_last is not None:
            return bool(self.cfg.channels_last)
        return self.cfg.precision.startswith("bf16") and self.device.type == "cpu"

    def on_fit_start(self) -> None:
        if self.uses_channels_last():
            self.to(memory_format=torch.channels_last)

    def on_train_epoch_start(self) -> None:
        self._reset_train_probs()
        # the learning rate is a function of the epoch: set it from the schedule, so a resumed run whose
        # epoch count was changed (--resume --epochs N) follows the new schedule from its first epoch
        sched = self.lr_schedulers()
        if sched is not None:
            factor = lr_lambda(self.cfg)(self.current_epoch)
            for group, base in zip(self.optimizers().optimizer.param_groups, sched.base_lrs):
                group["lr"] = base * factor
        vfm = getattr(self.model, "vfm", None)
        if vfm is not None:
            vfm.eval()

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        # the global RNG (dropout, drop-path) is reseeded per step and rank: a resumed run draws the same numbers
        # whatever consumed random numbers before (e.g. DataLoader iterators created in a different order)
        torch.manual_seed((self.cfg.seed * 1_000_003 + self.current_epoch * 100_003 + batch_idx) * 101
                          + self.global_rank)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        x, y = self.channels(batch["image"]), batch["mask"]
        if self.uses_channels_last():
            x = x.contiguous(memory_format=torch.channels_last)
        feats = None
        if self._cache is not None:
            feats = [f.to(device=x.device, dtype=x.dtype) for f in self._cache.for_batch(batch)]
        out = self(x, vfm_features=feats)
        loss = self.criterion(out, y)
        self._track_probabilities(out, y)
        if not torch.isfinite(loss):
            hint = ("16-bit mixed precision overflows on large activations: use --precision bf16-mixed or 32-true"
                    if str(self.trainer.precision).startswith("16") else
                    "lower the learning rate (--lr) or enable gradient clipping (--grad-clip)")
            raise TrainingError(f"training loss is {loss.item()} at epoch {self.current_epoch}, step {batch_idx}: "
                                f"{hint}")
        self.log("train/loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=x.shape[0],
                 sync_dist=True)
        return loss

    def _track_probabilities(self, out: Any, y: torch.Tensor) -> None:
        """Add this batch's mean predicted probability on target and on background pixels to the epoch's sums.

        These move long before the validation HSE does (an EEDM run first pushes the background down,
        then lifts the targets: docs/results.md), so ``fdep train`` prints them to show learning is under way.
        """
        branch = out.get("main", out.get("light")) if isinstance(out, dict) else out
        logit = branch[-1] if isinstance(branch, (list, tuple)) else branch
        with torch.no_grad():
            p = torch.sigmoid(logit.detach().float())
            on = y > 0.5
            n_on = int(on.sum().item())
            sums = self._train_probs
            sums[0] += float(p[on].sum().item()) if n_on else 0.0
            sums[1] += n_on
            sums[2] += float(p[~on].sum().item())
            sums[3] += int(on.numel()) - n_on

    def train_probabilities(self) -> tuple[float, float]:
        """(mean probability on target pixels, on background pixels) of this epoch's training batches so far."""
        s = self._train_probs
        return (s[0] / s[1] if s[1] else float("nan"), s[2] / s[3] if s[3] else float("nan"))

    def on_train_epoch_end(self) -> None:
        p_target, p_background = self.train_probabilities()
        self.log_dict({"train/p_target": _finite(p_target), "train/p_background": _finite(p_background)},
                      sync_dist=True)
        if self.trainer.is_global_zero and not self._printed_val_line:
            self.print(f"epoch {self.current_epoch + 1}/{self.trainer.max_epochs}  " + self._train_probs_text())
        self._printed_val_line = False

    def _train_probs_text(self) -> str:
        p_target, p_background = self.train_probabilities()
        return f"train: p(target) {p_target:.4f}  p(background) {p_background:.4f}"

    # ------------------------------------------------------------ validation
    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        from ..data import crop_to, pad_to_multiple

        x, y = self.channels(batch["image"]), batch["mask"]
        # val_pad black: the raw image padded with 0 before normalising (the authors'), i.e. -mean/std after it
        value = -float(self.cfg.mean) / float(self.cfg.std) if self.cfg.val_pad == "black" else 0.0
        xp, (h, w) = pad_to_multiple(x, self.size_multiple, value=value)
        with self._validation_precision():
            logits = self.model(xp)
        prob = torch.sigmoid(crop_to(logits, (h, w)).float())
        self.val_metrics.update(prob, y)
        self._val_pixels[0] += int((y > 0.5).sum().item())
        self._val_pixels[1] += int(y.numel())

    def _validation_precision(self) -> Any:
        """fp32 (autocast off) when ``val_precision: 32-true``, else the training precision (Lightning's context)."""
        import contextlib

        if self.cfg.val_precision == "32-true":
            return torch.autocast(device_type=self.device.type, enabled=False)
        return contextlib.nullcontext()

    def _reset_train_probs(self) -> None:
        self._train_probs = [0.0, 0, 0.0, 0]

    def on_validation_epoch_end(self) -> None:
        res = self.val_metrics.compute()
        self.val_metrics.reset()
        vals = {k: _finite(res[k]) for k in VAL_KEYS if k in res}
        # HSE is undefined on data without targets: log -1 so "max" selection still works, and say so
        if math.isnan(vals.get("hse", float("nan"))):
            vals["hse"] = -1.0
        pos, pix = self._val_pixels
        self._val_pixels = [0, 0]
        if self.trainer.world_size > 1:  # every rank scored its share of the images: add the counts up
            t = self.trainer.strategy.reduce(torch.tensor([pos, pix], dtype=torch.float64, device=self.device),
                                             reduce_op="sum")
            pos, pix = (float(v) for v in t.tolist())
        vals["pos_frac"] = pos / pix if pix else float("nan")
        self.log_dict({f"val/{k}": v for k, v in vals.items()}, sync_dist=False, rank_zero_only=False)
        self.last_val = vals
        if self.trainer.is_global_zero and not self.trainer.sanity_checking:
            line = f"epoch {self.current_epoch + 1}/{self.trainer.max_epochs}  val: " + format_val_scores(vals)
            if self.trainer.state.fn == "fit":  # validation inside fit: report the training epoch too
                line += "  | " + self._train_probs_text()
                self._printed_val_line = True
            self.print(line)
            self._track_chance(vals)

    def _track_chance(self, vals: dict[str, float]) -> None:
        """Count validations in a row at chance level; say so once after ``chance_patience`` of them."""
        from .chance import CHANCE_FACTOR, at_chance

        if not at_chance(vals.get("hse_p", float("nan")), vals["pos_frac"]):
            self._chance_streak = []
            return
        self._chance_streak.append(self.current_epoch + 1)
        k = self.cfg.chance_patience
        if k <= 0 or self._chance_warned or len(self._chance_streak) < k:
            return
        self._chance_warned = True
        late = ("with the EEDM loss a run can sit at chance for hundreds of epochs and then take off (measured: "
                "ACM on NUAA-SIRST stayed at chance for 220 epochs and reached HSE 74 by epoch 380)"
                if self.cfg.loss == "eedm" else "some runs leave chance level only after many epochs")
        log.warning(
            "validation HSE-P has been at chance level for %d validations in a row (epochs %d-%d; HSE-P %.4g < "
            "%g x the validation positive-pixel fraction %.3g): the network does not separate targets from "
            "background yet. Training continues: %s. Follow val/hse_p in metrics.csv or with fdep report RUN_DIR "
            "(chance_patience sets when this is said; 0 never).",
            len(self._chance_streak), self._chance_streak[0], self._chance_streak[-1], vals["hse_p"],
            CHANCE_FACTOR, vals["pos_frac"], late)

    # ------------------------------------------------------------ optimisation
    def configure_optimizers(self) -> Any:
        cfg = self.cfg
        params = [p for p in self.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        if cfg.scheduler == "none" and cfg.warmup_epochs == 0:
            return opt
        lam = lr_lambda(cfg)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lam)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch"}}

    # ------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        drop = self._vfm_keys()
        checkpoint["state_dict"] = {k: v for k, v in checkpoint["state_dict"].items() if k not in drop}
        checkpoint["fdep"] = {"format": 1, "model": self.cfg.model, "variant": self.cfg.variant,
                              "vfm": getattr(self.model, "vfm_info", None),
                              "model_source": getattr(self.network, "model_source", None)}
        # the gray range of the training images (fdep.inputrange), checked against later inputs
        checkpoint["fdep"]["input_range"] = getattr(self, "input_range", None)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        from ..models.spec import check_source

        check_source((checkpoint.get("fdep") or {}).get("model_source"), "--resume")  # a network file, unchanged
        hp = recorded_hyper_parameters(checkpoint)
        keys = ["model", "variant"]
        if self.cfg.variant != "original" and self.cfg.fusion == "samf":
            keys.append("samf_form")  # the two forms hold different weights
        for key in keys:
            if key in hp and hp[key] != getattr(self.cfg, key):
                raise WeightsError(f"checkpoint was trained with {key} {hp[key]!r}, this run uses "
                                   f"{getattr(self.cfg, key)!r}")
        sd = checkpoint["state_dict"]
        own = self.state_dict()
        for k in self._vfm_keys():
            sd.setdefault(k, own[k])


def lr_lambda(cfg: TrainConfig):
    """Per-epoch LR factor: linear warm-up, then cosine to min_lr or poly (power 0.9)."""
    epochs, warm = cfg.epochs, cfg.warmup_epochs
    floor = cfg.min_lr / cfg.lr if cfg.lr > 0 else 0.0

    def f(epoch: int) -> float:
        if epoch < warm:
            return (epoch + 1) / (warm + 1)
        t = (epoch - warm) / max(1, epochs - warm)
        t = min(max(t, 0.0), 1.0)
        if cfg.scheduler == "cosine":
            return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t))
        if cfg.scheduler == "poly":
            return (1 - t) ** 0.9
        return 1.0

    return f
