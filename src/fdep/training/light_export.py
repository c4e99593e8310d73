"""RUN_DIR/light: the inference network of a finished run, exported from its best (else last) checkpoint.

For variant ``fdep`` that is the light branch (the original network with the CO-ISD weights), for
``original`` the network itself; ``fdep-main`` runs the VFM at inference and has nothing light to export.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

from ..errors import OutputError
from .config import TrainConfig
from .rundir import same_dir

log = logging.getLogger("fdep.training")


def export_run(out: Path, cfg: TrainConfig, best: str | os.PathLike | None = None) -> Path | None:
    """Export the inference network of this run's best (else last) checkpoint to RUN_DIR/light.

    ``best``: the best checkpoint the run's callback recorded (used only when it lies in
    RUN_DIR/checkpoints). Variant fdep-main needs the VFM at inference, so there is no light
    network to export.
    """
    from ..models import save_pretrained
    from .checkpoint import load_model_from_checkpoint

    if cfg.variant == "fdep-main":
        log.info("variant fdep-main runs the VFM at inference: no light network exported")
        return None
    ckpts = out / "checkpoints"
    if best is None:
        best = ckpts / "best.ckpt"
    best = Path(best) if best else None
    usable = best is not None and best.is_file() and same_dir(best.parent, ckpts)
    src = best if usable else ckpts / "last.ckpt"
    net, meta = load_model_from_checkpoint(src)
    dest = out / "light"
    extra = {"variant": meta["variant"], "vfm": meta["vfm"], "checkpoint": str(src),
             "epochs_trained": meta["epochs_trained"], "train_config": cfg.to_dict(),
             "input_range": meta.get("input_range")}
    # written beside and moved into place file by file, so an earlier export is only replaced by a complete one
    tmp = Path(tempfile.mkdtemp(prefix=".light.", dir=out))
    try:
        save_pretrained(net, tmp / "light", mean=meta["mean"], std=meta["std"], extra=extra)
        dest.mkdir(exist_ok=True)
        for f in sorted((tmp / "light").iterdir()):
            os.replace(f, dest / f.name)
    except OutputError as e:  # name the file of RUN/light it was for, not the temporary folder's
        raise OutputError(str(e).replace(str(tmp / "light"), str(dest)), e.reason) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("exported the %s network (%s, from %s) to %s", meta["model"], meta["variant"], src.name, dest)
    return dest
