"""Training configuration: one dataclass, YAML in and out, CLI overrides, two protocols.

Every effective setting of a run lives in :class:`TrainConfig`. A YAML file may
set any subset of its fields (unknown keys are a :class:`ConfigError` naming
them, with a did-you-mean); command-line flags override the file; the result is
written to ``RUN_DIR/config.yaml`` so ``fdep train --config RUN_DIR/config.yaml``
repeats the run exactly.

``protocol`` names a coherent set of values for the keys that differ between fdep's own
protocol (held-out validation, HSE selection, cosine schedule, fp32, flips; the defaults) and
the authors' released training script (:data:`PROTOCOL_SETTINGS`). A protocol only supplies
values: any of its keys given in the file or on the command line wins.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import reprlib
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from ..choices import EEDM_FORMS, FUSIONS, INITS, LOSSES, OUTPUT_FORMS, SAMF_FORMS, SHARES, VARIANTS
from ..errors import ConfigError
from ..fileio import atomic_write
from ..metrics.specs import SCORES

# the choices the torch side implements (VARIANTS, SHARES, FUSIONS, SAMF_FORMS, LOSSES, EEDM_FORMS, INITS,
# OUTPUT_FORMS) come from fdep.choices, which both sides import; these are the config's own
AUGMENTS = ("flips", "authors")
NORMALISATIONS = ("dataset", "per-image-mean")
#: what picks best.ckpt: the final epoch ("last", no selection) or the highest of a score where higher is better
SELECT_METRICS = ("last", *(s.key for s in SCORES if not s.lower_is_better))
SCHEDULERS = ("cosine", "poly", "none")
VAL_PADS = ("mean", "black")
VAL_PRECISIONS = ("train", "32-true")
PRECISIONS = ("auto", "32-true", "32", "bf16-mixed", "bf16", "16-mixed", "16", "bf16-true", "16-true", "64-true", "64")

#: What each protocol sets, under any key a config file or flag gives explicitly. "fdep" is the
#: dataclass defaults; "authors" is the released training script (docs/training.md has the table).
PROTOCOL_SETTINGS: dict[str, dict[str, Any]] = {
    "fdep": {},  # filled in below from the defaults
    "authors": {
        "in_chans": 3,  # grayscale read as RGB: 3 identical channels
        "val_split": "test",  # validated on the test split every epoch ...
        "select_metric": "iou",  # ... and the checkpoint with the best mIoU kept
        "val_every": 1,
        "scheduler": "none",  # constant AdamW lr 1e-3, weight decay 1e-2
        "warmup_epochs": 0,
        "precision": "auto",  # auto: fp16 autocast + GradScaler on CUDA as theirs; bf16 on CPUs with AMX
        "augment": "authors",
        "target_prob": 0.0,  # uniform crops
        "normalisation": "per-image-mean",
        "eedm_form": "released",
        "drop_last": False,  # their DataLoader keeps the last partial batch (NUAA-SIRST: 14 steps, not 13)
        "val_pad": "black",  # raw image zero padded (bottom/right) before normalisation
        "val_precision": "32-true",  # their val_fn runs without autocast
        "select_from": 2,  # num_start_test_epochs = 1: validated from the 2nd epoch on
        "select_floor": 0.0,  # best_mIoU starts at 0 and must be beaten strictly: nothing saved while IoU is 0
        "init": "authors",  # the networks' initialisation in the authors' code (fdep.models: init=)
        "output_prior": None,  # the networks start as the authors' do (p ~ 0.5 everywhere); a named option there
        "ema_decay": None,
    },
}


def option(default: Any, help: str, **meta: Any) -> Any:
    """A TrainConfig field: its default, and in its metadata the ``help`` that ``fdep train --help``, the options
    table of docs/training.md and the value checks read (``choices``: the values it accepts; ``flag``: a
    command-line flag other than ``--key-name`` that sets it)."""
    return field(default=default, metadata={"help": help, **meta})


@dataclass
class TrainConfig:
    """Every setting of a training run (defaults follow the paper where it gives one)."""

    # --- protocol
    protocol: str = option("fdep", "fdep (held-out validation, the last epoch of a cosine schedule, flips) | authors "
                           "(the authors' released script): sets the keys it governs that are not given (the "
                           "authors values are shown beside the defaults)", choices=tuple(PROTOCOL_SETTINGS))
    # --- network and FDEP
    model: str = option("acm", "the network: a registered name (fdep models; installed packages' entry points "
                        "included) or one of your own, path/to/file.py:Name or package.module:Name "
                        "(docs/your-network.md)")
    model_kwargs: dict[str, Any] | None = option(
        None, "constructor arguments of the network, a mapping (JSON on the command line: '{\"width\": 32}'); zoo "
        "networks too")
    fdep_at: str | None = option(None, "the submodule whose output is the deepest encoder feature, for networks "
                                 "without encode/decode (null: their encode/decode; fdep models inspect lists "
                                 "candidates; docs/fdep.md section 6)")
    output_select: str | None = option(None, "which output is the prediction: null (the lone map, or the last of a "
                                       "list/tuple), an index, a dict key or a dotted path")
    output_form: str = option("logits", "what the network returns: logits | probability (it ends in a sigmoid; "
                              "trained on logit(p))", choices=OUTPUT_FORMS)
    deep_supervision: bool | None = option(None, "train the network's other one-channel output maps too (null: when "
                                           "it returns some)")
    init: str = option("original", "weight initialisation: original (each network's paper code) | authors (PAL's "
                       "code)", choices=INITS)
    variant: str = option("fdep", "original | fdep-main (FDEP w/o CO-ISD) | fdep (CO-ISD)", choices=VARIANTS)
    in_chans: int = option(1, "input channels of the network (grayscale is replicated to them)")
    vfm: str = option("dinov2_vitl14", "VFM name or local folder (fdep.vfm.load_vfm)")
    vfm_weights: str | None = option(None, "null: the VFM's default weights; a path; or \"random\"")
    vfm_layers: list[int] | None = option(None, "VFM blocks to tap (null: evenly spaced quarters)")
    vfm_cache: str | None = option(None, "folder of cached VFM features (fdep vfm cache)")
    share: str = option("encoder+decoder", "which parts the main and light branches share", choices=SHARES)
    fusion: str = option("samf", "samf | concat | add", choices=FUSIONS)
    samf_form: str = option("table1", "table1 (SAMF sized as the paper's Table 1) | literal (Eq. 1-6 as printed); "
                            "docs/fdep.md, \"SAMF forms\"", choices=SAMF_FORMS)
    alpha: float = option(1.0, "weight of the light-branch loss in CO-ISD")
    edl_weight: float = option(0.0, "explicit distillation loss weight (Table 5 ablation)")
    # --- data
    data: str | None = option(None, "\"ROOT/NAME\" (several joined by \"+\") or \"synthetic\"")
    train_split: str = option("train", "split list the training images come from")
    val_split: str = option("carve", "\"carve\" (val_fraction of train) or a split name, e.g. \"test\"")
    val_fraction: float = option(0.1, "share of the training split held out for validation")
    synthetic_n: int = option(200, "images generated for data: synthetic")
    synthetic_size: int = option(256, "their size")
    normalisation: str = option("dataset", "dataset (literature / pixel-pooled constants) | per-image-mean (mean of "
                                "per-image means and stds)", choices=NORMALISATIONS)
    mean: float | None = option(None, "normalisation mean (0-255); null: the training data's")
    std: float | None = option(None, "normalisation std (0-255); null: the training data's")
    augment: str = option("flips", "flips (crop + flips/transposes [+ noise]) | authors (their albumentations "
                          "recipe)", choices=AUGMENTS)
    crop: int = option(448, "random training crop (padded when the image is smaller); the authors' script: 256")
    target_prob: float = option(0.5, "probability that a crop is centred near a target")
    flip: bool = option(True, "random horizontal/vertical flips (augment: flips)")
    transpose: bool = option(True, "random transposes (augment: flips)")
    noise: float = option(0.0, "additive Gaussian noise std (0-255 scale) in augment: flips")
    # --- optimisation
    epochs: int = option(400, "training epochs")
    batch_size: int = option(16, "per device")
    drop_last: bool = option(True, "drop the last partial training batch of an epoch")
    lr: float = option(1e-3, "AdamW learning rate")
    weight_decay: float = option(1e-2, "AdamW weight decay (torch default)")
    scheduler: str = option("cosine", "cosine (to min_lr) | poly (power 0.9) | none; stepped per epoch",
                            choices=SCHEDULERS)
    min_lr: float = option(1e-5, "final learning rate of the cosine schedule")
    warmup_epochs: int = option(0, "linear warm-up epochs before the schedule")
    loss: str = option("eedm", "eedm | softiou | bce", choices=LOSSES)
    eedm_form: str = option("text", "text (8-neighbour edge band x4) | released (the authors' code: x4 everywhere)",
                            choices=EEDM_FORMS)
    grad_clip: float | None = option(None, "gradient norm clipping (null: off)")
    seed: int = option(0, "seeds initialisation, the train/val carve, crops and sampling")
    seeds: list[int] | None = option(None, "fdep sweep runs the config once per seed listed (rows CONFIG/seedN, then "
                                     "their mean ± std); fdep train uses seed")
    output_prior: float | None = option(0.01, "each output starts at this mean target probability: the bias of its "
                                        "last convolution, found by a dry run, is set so (focal-loss prior), and a "
                                        "head reading non-negative features starts with non-negative weights; null: "
                                        "the network's own initialisation (the authors protocol)")
    ema_decay: float | None = option(None, "exponential moving average of the weights, updated every step "
                                     "(Lightning's EMAWeightAveraging): validation, best/last.ckpt and light/ use the "
                                     "averaged weights; null: off")
    # --- validation and logging
    val_every: int = option(1, "validate every N epochs")
    select_metric: str = option("last", "what picks best.ckpt: last (the final epoch; no selection) or a validation "
                                f"metric, highest wins: {', '.join(SELECT_METRICS[1:])}", choices=SELECT_METRICS)
    val_batch_size: int = option(1, "full images of different sizes: 1 unless all share a size")
    val_pad: str = option("mean", "validation padding to the size multiple: mean (0 after normalising) | black (raw "
                          "0, the authors')", choices=VAL_PADS)
    val_precision: str = option("train", "validation precision: train (as training) | 32-true (fp32, the authors')",
                                choices=VAL_PRECISIONS)
    select_from: int = option(1, "first epoch whose validation may become best.ckpt")
    select_floor: float | None = option(None, "best.ckpt only once the metric beats this (null: any value)")
    log_every: int = option(10, "log the training loss every N steps")
    save_every: int = option(0, "also keep checkpoints/epoch=NNNN.ckpt (1-based) every N epochs, e.g. to test every "
                             "kept epoch afterwards (benchmarks/selection_study.py); 0: only best and last")
    chance_patience: int = option(20, "warn once when this many validations in a row show chance-level HSE-P (0: "
                                  "never)")
    # --- hardware (Lightning Trainer arguments)
    accelerator: str = option("auto", "cpu | gpu | auto ...")
    devices: str = option("1", "1, 4, \"0,1\", auto ...")
    num_nodes: int = option(1, "machines (multi-node DDP)")
    strategy: str = option("auto", "auto | ddp | ddp_spawn ... (Lightning)")
    precision: str = option("auto", "auto (bf16-mixed on CPUs with AMX, else 32-true: AVX512-BF16 alone measured "
                            "slower than fp32; CUDA: 16-mixed under authors, bf16-mixed under fdep) | 32-true | "
                            "16-mixed | bf16-mixed ...", choices=PRECISIONS)
    channels_last: bool | None = option(None, "channels_last memory format (null: on for bf16 on a CPU, measured "
                                        "faster)")
    num_workers: int | None = option(None, "DataLoader workers per device (null/auto: from the free cores, at most "
                                     "4)")
    limit_train_batches: float = option(1.0, "fraction (<=1.0) or number (>1) of batches per epoch")
    # --- output
    out: str | None = option(None, "the run directory")
    export_light: bool = option(True, "export the inference network to RUN_DIR/light at the end")
    progress: bool = option(True, "show Lightning's progress bar (flag: --quiet turns it off)", flag="--quiet")

    # ------------------------------------------------------------------ helpers
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "config") -> TrainConfig:
        """Build from a mapping; unknown keys raise ConfigError naming them.

        Defaults <- the protocol's settings (``d["protocol"]``, default fdep) <- every key of ``d``.
        """
        check_keys(d, source)
        cfg = cls()
        protocol = coerce("protocol", d.get("protocol", cfg.protocol), source)
        if protocol not in PROTOCOL_SETTINGS:
            raise ConfigError(f"{source}: protocol: {protocol!r} is not one of {', '.join(PROTOCOL_SETTINGS)}")
        for k, v in PROTOCOL_SETTINGS[protocol].items():
            setattr(cfg, k, v)
        for k, v in d.items():
            setattr(cfg, k, coerce(k, v, source))
        cfg.validate(source)
        return cfg

    def replace(self, **overrides: Any) -> TrainConfig:
        d = self.to_dict()
        d.update(overrides)
        return TrainConfig.from_dict(d)

    def validate(self, source: str = "config") -> None:
        """Raise ConfigError for values no run can use."""

        def bad(key: str, msg: str) -> ConfigError:
            return ConfigError(f"{source}: {key}: {msg}")

        for f in fields(self):  # the values each field accepts: its metadata's "choices"
            choices = f.metadata.get("choices")
            if choices is not None and getattr(self, f.name) not in choices:
                raise bad(f.name, f"{getattr(self, f.name)!r} is not one of {', '.join(choices)}")
        for f in fields(self):  # nan/inf pass every comparison below unnoticed (nan < 0 is False)
            v = getattr(self, f.name)
            if isinstance(v, float) and not math.isfinite(v):
                raise bad(f.name, f"must be a finite number, got {v}")
        for key in ("epochs", "batch_size", "crop", "val_every", "val_batch_size", "num_nodes",
                    "synthetic_n", "synthetic_size", "log_every", "in_chans", "select_from"):
            if getattr(self, key) < 1:
                raise bad(key, f"must be >= 1, got {getattr(self, key)}")
        for key in ("lr", "alpha", "edl_weight", "weight_decay", "min_lr", "noise", "warmup_epochs", "num_workers"):
            if getattr(self, key) is not None and getattr(self, key) < 0:
                raise bad(key, f"must be >= 0, got {getattr(self, key)}")
        if self.chance_patience < 0:
            raise bad("chance_patience", f"must be >= 0, got {self.chance_patience}")
        if self.save_every < 0:
            raise bad("save_every", f"must be >= 0, got {self.save_every}")
        if self.output_prior is not None and not 0.0 < self.output_prior < 1.0:
            raise bad("output_prior", f"must lie in (0, 1) (or null to disable), got {self.output_prior}")
        if self.ema_decay is not None and not 0.0 < self.ema_decay < 1.0:
            raise bad("ema_decay", f"must lie in (0, 1) (or null to disable), got {self.ema_decay}")
        if not 0.0 < self.val_fraction < 1.0:
            raise bad("val_fraction", f"must lie in (0, 1), got {self.val_fraction}")
        if not 0.0 <= self.target_prob <= 1.0:
            raise bad("target_prob", f"must lie in [0, 1], got {self.target_prob}")
        if self.std is not None and self.std <= 0:
            raise bad("std", f"must be > 0, got {self.std}")
        if self.grad_clip is not None and self.grad_clip <= 0:
            raise bad("grad_clip", f"must be > 0 (or null to disable), got {self.grad_clip}")
        if self.limit_train_batches <= 0:
            raise bad("limit_train_batches", f"must be > 0, got {self.limit_train_batches}")
        if self.vfm_layers is not None and (not self.vfm_layers or min(self.vfm_layers) < 1):
            raise bad("vfm_layers", f"must be a non-empty list of block numbers >= 1, got {self.vfm_layers}")


FIELD_NAMES = tuple(f.name for f in fields(TrainConfig))
_DEFAULTS = TrainConfig()
#: the keys a protocol governs (the union over protocols)
PROTOCOL_KEYS = tuple(k for k in FIELD_NAMES if any(k in v for v in PROTOCOL_SETTINGS.values()))
PROTOCOL_SETTINGS["fdep"] = {k: getattr(_DEFAULTS, k) for k in PROTOCOL_KEYS}


def protocol_settings(name: str) -> dict[str, Any]:
    """The keys protocol ``name`` sets and their values."""
    if name not in PROTOCOL_SETTINGS:
        raise ConfigError(f"unknown protocol {name!r}; choose from {', '.join(PROTOCOL_SETTINGS)}")
    return dict(PROTOCOL_SETTINGS[name])


def field_type(name: str) -> Any:
    """The annotated type of a field (resolved from the string annotations)."""
    return typing.get_type_hints(TrainConfig)[name]


def check_keys(d: dict[str, Any], source: str) -> None:
    unknown = [k for k in d if k not in FIELD_NAMES]
    if unknown:
        parts = []
        for k in unknown:
            close = difflib.get_close_matches(str(k), FIELD_NAMES, n=1, cutoff=0.6)
            parts.append(f"{k!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ConfigError(f"{source}: unknown key{'s' if len(parts) > 1 else ''} {', '.join(parts)}")


def _base_types(tp: Any) -> tuple[Any, bool]:
    """(the non-None type, whether None is allowed) of an annotation."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0], True
    return tp, False


def coerce(key: str, value: Any, source: str = "config") -> Any:
    """Convert a YAML or command-line value to the field's type (ConfigError if impossible)."""
    tp, optional = _base_types(field_type(key))
    if key == "num_workers" and isinstance(value, str) and value.strip().lower() == "auto":
        value = None
    if value is None or (isinstance(value, str) and value.lower() in ("none", "null") and tp is not str):
        if optional:
            return None
        raise ConfigError(f"{source}: {key}: must not be empty")
    if isinstance(value, str) and optional and tp is str and value.lower() in ("none", "null"):
        return None
    try:
        if tp is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "yes", "1", "on", "false", "no", "0", "off"):
                return value.lower() in ("true", "yes", "1", "on")
            raise ValueError(value)
        if tp is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            return int(value)
        if tp is float:
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        if tp is str:
            if isinstance(value, (dict, list)):
                raise ValueError(value)
            return str(value)
        if typing.get_origin(tp) is dict:
            return _mapping(key, value, source)
        if typing.get_origin(tp) is list:
            if isinstance(value, str):
                value = [v for v in value.replace(" ", "").split(",") if v]
            if not isinstance(value, (list, tuple)):
                raise ValueError(value)
            return [int(v) for v in value]
    except (TypeError, ValueError):
        shown = _SHORT_REPR.repr(value)
        raise ConfigError(f"{source}: {key}: cannot use {shown} as {_type_name(tp)}") from None
    raise AssertionError(f"unhandled config type {tp} for {key}")  # pragma: no cover


def _short_repr() -> reprlib.Repr:
    """repr() cut short: a value quoted in an error message stays a few dozen characters long."""
    r = reprlib.Repr()
    r.maxstring, r.maxother, r.maxlist, r.maxtuple, r.maxdict, r.maxlevel = 40, 40, 4, 4, 4, 3
    return r


_SHORT_REPR = _short_repr()
def _mapping(key: str, value: Any, source: str) -> dict[str, Any]:
    """A YAML mapping, or JSON text of one (``--model-kwargs '{"width": 32}'``), with text keys."""
    import json

    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{source}: {key}: {value!r} is not JSON ({e.msg} at character {e.pos}); "
                              f"write e.g. '{{\"width\": 32}}'") from None
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ValueError(value)
    return dict(value)


def _type_name(tp: Any) -> str:
    if typing.get_origin(tp) is list:
        return "a list of integers (e.g. 6,12,18,24)"
    if typing.get_origin(tp) is dict:
        return "a mapping of argument names to values"
    return {bool: "true/false", int: "an integer", float: "a number", str: "text"}.get(tp, str(tp))


#: what a config YAML may expand to: nodes once its aliases are followed (a full config has about 150), and
#: its size on disk. YAML aliases repeat a node without copying it, so 200 bytes can stand for a list of 10^6
#: items (a "billion laughs"): refused before it is built, or printed in an error message.
MAX_YAML_NODES = 10_000
MAX_YAML_BYTES = 1 << 20


def _expanded_nodes(root: yaml.Node, limit: int) -> int:
    """Nodes of a composed YAML document with every alias followed, counting stops past ``limit``.

    Aliases share nodes, so the sizes of shared nodes are memoised (a DAG costs its own size to walk); a node
    that contains itself expands without end and counts as ``limit + 1``.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in on_path:  # a recursive alias (&a [*a])
            return limit + 1
        on_path.add(key)
        total = 1
        children = (node.value if isinstance(node, yaml.SequenceNode)
                    else [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else [])
        for child in children:
            total += size(child)
            if total > limit:
                break
        on_path.discard(key)
        sizes[key] = min(total, limit + 1)
        return sizes[key]

    return size(root)


def safe_load_bounded(text: str, source: object) -> Any:
    """``yaml.safe_load`` of a config, refusing one that expands past :data:`MAX_YAML_NODES` nodes or is larger
    than :data:`MAX_YAML_BYTES` (ConfigError, one short line), before any Python object is built from it."""
    if len(text) > MAX_YAML_BYTES:
        raise ConfigError(f"{source}: {len(text)} characters, more than a config may hold ({MAX_YAML_BYTES})")
    loader = yaml.SafeLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise ConfigError(f"{source}: invalid YAML{where}") from None
        except RecursionError:
            raise ConfigError(f"{source}: invalid YAML (nested too deeply)") from None
        if node is None:
            return None
        try:
            n = _expanded_nodes(node, MAX_YAML_NODES)
        except RecursionError:
            raise ConfigError(f"{source}: invalid YAML (nested too deeply)") from None
        if n > MAX_YAML_NODES:
            raise ConfigError(f"{source}: expands to more than {MAX_YAML_NODES} values once its aliases (*name) are "
                              f"followed; a config needs far fewer (write the values out)")
        try:
            return loader.construct_document(node)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise ConfigError(f"{source}: invalid YAML{where} ({str(getattr(e, 'problem', '') or '')[:80]})") \
                from None
    finally:
        loader.dispose()


def load_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """Read a config YAML into a dict (keys checked, values not yet coerced)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read config ({e})") from None
    d = safe_load_bounded(text, path)
    if d is None:
        return {}
    if not isinstance(d, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level, got {type(d).__name__}")
    check_keys(d, str(path))
    return d


def resolve(config_path: str | os.PathLike | None, overrides: dict[str, Any]) -> TrainConfig:
    """Defaults <- YAML file <- overrides (flags). Returns a validated config."""
    d: dict[str, Any] = {}
    source = "command line"
    if config_path is not None:
        d.update(load_yaml(config_path))
        source = str(config_path)
    d.update({k: v for k, v in overrides.items() if v is not None})
    return TrainConfig.from_dict(d, source=source)


def save_yaml(cfg: TrainConfig, path: str | os.PathLike) -> None:
    """Write every effective setting (atomically), in field order."""
    header = "# fdep train: every effective setting of this run (fdep train --config THIS_FILE repeats it)\n"
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write(header)
        yaml.safe_dump(cfg.to_dict(), f, sort_keys=False, default_flow_style=None)


def shown_value(value: Any) -> str:
    """A setting's value as --help and the options table show it: spelt as in YAML (null, true, false)."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    return str(value)


def field_help() -> dict[str, str]:
    """Field -> its help text (the ``help`` of its metadata; --help and docs/training.md show it)."""
    return {f.name: f.metadata["help"] for f in fields(TrainConfig)}


__all__ = ["TrainConfig", "FIELD_NAMES", "PROTOCOL_KEYS", "load_yaml", "protocol_settings", "resolve", "save_yaml",
           "coerce", "field_help", "option", "shown_value"]
