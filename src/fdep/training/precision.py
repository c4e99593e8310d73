"""The precision a run really uses: ``auto`` resolved per machine and protocol, 16-bit autocast off CUDA as fp32.

``auto`` on CUDA is the authors' fp16 autocast + GradScaler under ``protocol: authors`` and bf16 otherwise (fp16
overflowed on SAMF-fused activations, docs/training.md); on a CPU it is bf16 autocast where that is faster than
fp32 (AMX, measured) and fp32 elsewhere.
"""

from __future__ import annotations

import logging

from .config import TrainConfig
from .hardware import uses_cuda

log = logging.getLogger("fdep.training")


def fast_bf16_flags(flags: set[str]) -> bool:
    """Whether CPU ``flags`` (of /proc/cpuinfo) mean bf16 autocast trains faster than fp32: AMX-BF16 only.

    Measured (docs/benchmarks.md, ACM, crop 256, whole training epochs): on a 2-core Xeon with AMX, an
    ACM step took 0.89 s in bf16 vs 1.25 s in fp32; on a 2-core Xeon with AVX512-BF16 but no AMX, bf16 +
    channels_last was slower than fp32 (7.73 s vs 5.89 s per epoch with 2 threads, 10.66 s vs 9.92 s with
    1), so AVX512-BF16 alone does not count.
    """
    return "amx_bf16" in flags


def cpu_has_fast_bf16() -> bool:
    """:func:`fast_bf16_flags` of this machine's CPU (False where /proc/cpuinfo cannot be read)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return fast_bf16_flags(set(line.split(":", 1)[1].split()))
    except OSError:
        pass
    return False


def effective_precision(cfg: TrainConfig) -> str:
    """The precision a run really uses.

    ``auto``: on CUDA the authors' fp16 autocast + GradScaler under ``protocol: authors`` and bf16
    otherwise (fp16 overflowed on SAMF-fused activations, docs/training.md); on a CPU bf16-mixed
    where it is native (:func:`cpu_has_fast_bf16`), else 32-true. 16-bit float mixed precision off
    CUDA runs 32-true: fp16 autocast is a CUDA feature (Lightning refuses 16-mixed on CPU) and the
    authors' script wraps its steps in ``torch.cuda.amp.autocast``, which does nothing on CPU.
    """
    if cfg.precision == "auto":
        if uses_cuda(cfg):
            return "16-mixed" if cfg.protocol == "authors" else "bf16-mixed"
        return "bf16-mixed" if cpu_has_fast_bf16() else "32-true"
    if cfg.precision.startswith("16") and not uses_cuda(cfg):
        return "32-true"
    return cfg.precision


def with_effective_precision(cfg: TrainConfig) -> TrainConfig:
    """``cfg`` with the precision it really runs in (recorded so in config.yaml), saying so when it differs."""
    precision = effective_precision(cfg)
    if precision == cfg.precision:
        return cfg
    if cfg.precision == "auto":
        log.info("precision auto: this run uses %s", precision)
    else:
        log.info("precision %s needs CUDA; this run uses %s (the authors' fp16 autocast is CUDA-only too)",
                 cfg.precision, precision)
    return cfg.replace(precision=precision)
