"""The run directory's guarantees: one writer (a lock), ``--overwrite`` that loses nothing and reuses
nothing, ``--resume`` that writes only into the run the checkpoint came from (or a new one), and a
``metrics.csv`` whose history survives resuming.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from ..errors import ConfigError, OutputExistsError, WeightsError
from ..fileio import FolderLock, atomic_write, check_output_folder, move_aside, write_failure
from .config import TrainConfig

log = logging.getLogger("fdep.training")

METRICS = "metrics.csv"


def checkpoint_run_dir(ckpt: Path) -> Path | None:
    """The run directory a checkpoint lies in (``RUN/checkpoints/X.ckpt`` with ``RUN/config.yaml``), or None."""
    if ckpt.parent.name == "checkpoints" and (ckpt.parent.parent / "config.yaml").is_file():
        return ckpt.parent.parent
    return None


def model_files_near(folder: str | os.PathLike, exported: bool = True) -> list[Path]:
    """The loadable files in or beside ``folder`` that exist: checkpoints (best.ckpt, last.ckpt) in it, in its
    checkpoints/ and in its parent's checkpoints/ (``folder`` a run, its checkpoints/ or its light/), and with
    ``exported`` the network folders written by fdep train/export (RUN_DIR/light). For messages that say
    exactly what to pass instead of a folder that is none of these."""
    folder = Path(folder)
    found = [base / name for base in (folder, folder / "checkpoints", folder.parent / "checkpoints")
             for name in ("best.ckpt", "last.ckpt") if (base / name).is_file()]
    if exported:
        found += [d for d in (folder / "light", folder.parent / "light") if (d / "config.json").is_file()]
    return list(dict.fromkeys(found))


def pass_instead(folder: str | os.PathLike, exported: bool = True) -> str:
    """``"pass A (or B)"`` naming what :func:`model_files_near` found, or what kind of path is expected."""
    found = model_files_near(folder, exported)
    if found:
        return "pass " + str(found[0]) + (f" (or {', '.join(map(str, found[1:]))})" if found[1:] else "")
    return ("pass a .ckpt written by fdep train" + (", an exported network folder (RUN_DIR/light, fdep export --hub) "
                                                    "or an .onnx file from fdep export" if exported else ""))


def resolve_resume(resume: str, out: str | None) -> tuple[Path, Path]:
    """(checkpoint, run directory) of ``--resume`` (a run directory, a .ckpt, or "" meaning --out).

    The run directory is ``--out`` when given, else the run directory the checkpoint came from.
    A checkpoint outside any run directory needs ``--out``: its folder is the user's, not a run's.
    """
    target = Path(resume) if resume else (Path(out) if out else None)
    if target is None:
        raise ConfigError("--resume needs a run directory or checkpoint (or --out RUN_DIR)")
    if target.is_dir():
        ckpt = target / "checkpoints" / "last.ckpt"
        if not ckpt.exists():
            last = [p for p in model_files_near(target, exported=False) if p.name == "last.ckpt"]
            where = f"; {pass_instead(target, exported=False)}" if not last else f"; pass {last[0]}"
            raise WeightsError(f"{target}: no checkpoints/last.ckpt in it, nothing to resume{where}")
        return ckpt, Path(out) if out else target
    if not target.exists():
        raise WeightsError(f"{target}: checkpoint not found")
    if out:
        return target, Path(out)
    source = checkpoint_run_dir(target)
    if source is None:
        raise ConfigError(f"{target}: not inside a run directory (RUN_DIR/checkpoints/ beside RUN_DIR/config.yaml), "
                          f"so there is no run to continue in place; pass --out NEW_RUN_DIR to continue it there")
    return target, source


def same_dir(a: Path, b: Path) -> bool:
    """Whether two paths name the same folder (False where either cannot be resolved)."""
    try:
        return a.resolve() == b.resolve()
    except OSError:  # pragma: no cover
        return False


def continues_in_place(resume: str | os.PathLike | None, out: Path) -> bool:
    """Whether resuming ``resume`` into ``out`` continues the checkpoint's own run directory."""
    if resume is None:
        return False
    ckpt = Path(resume)
    return ckpt.parent.name == "checkpoints" and same_dir(ckpt.parent.parent, out)


def _inside(p: str | os.PathLike | None, folder: Path) -> bool:
    if not p:
        return False
    try:
        return Path(p).resolve().is_relative_to(folder.resolve())
    except OSError:  # pragma: no cover
        return False


def _check_move_aside(cfg: TrainConfig, out: Path, resume: str | os.PathLike | None) -> None:
    """Refuse ``--overwrite`` where moving ``out`` aside would pull inputs of this very run away."""
    if _inside(Path.cwd(), out):
        raise ConfigError(f"--overwrite would move {out} aside, but it holds the current directory; run from "
                          f"elsewhere")
    for what, value in (("--data", None if cfg.data == "synthetic" else cfg.data), ("--resume", resume),
                        ("--vfm-cache", cfg.vfm_cache), ("--vfm-weights", cfg.vfm_weights),
                        ("--vfm", cfg.vfm if cfg.vfm and os.path.exists(str(cfg.vfm)) else None)):
        if _inside(value, out):
            raise ConfigError(f"{what} {value} lies inside {out}, which --overwrite moves aside; move it out first, "
                              f"or choose another --out")


class RunDir:
    """An open run directory: its path and the lock held on it while fdep writes there."""

    def __init__(self, path: Path, lock: FolderLock, moved_aside: Path | None = None,
                 continuing: bool = False) -> None:
        self.path, self.lock, self.moved_aside, self.continuing = path, lock, moved_aside, continuing

    def close(self) -> None:
        self.lock.release()


def open_run_dir(cfg: TrainConfig, overwrite: bool, resume: str | os.PathLike | None = None) -> RunDir:
    """Create or reuse RUN_DIR under its lock (see docs/training.md, "Run directory guarantees").

    * A live fdep process writing into RUN_DIR: refused at once (:class:`fdep.errors.FolderInUseError`).
    * Continuing a run in its own directory (``--resume``): reused as it is.
    * Otherwise an existing non-empty RUN_DIR is refused, or with ``overwrite`` renamed to
      ``RUN_DIR.old-<time>`` (nothing deleted) and a fresh RUN_DIR made.
    """
    if not cfg.out:
        raise ConfigError("no output directory given: set out (--out RUN_DIR)")
    out = check_output_folder(cfg.out)
    continuing = continues_in_place(resume, out)
    if continuing and overwrite:
        raise ConfigError(f"--overwrite and --resume {out} contradict each other: resuming continues the run in "
                          f"{out}; to start over, drop --resume (the old run is then moved aside)")
    out.mkdir(parents=True, exist_ok=True)
    lock = FolderLock(out, "fdep train").acquire()
    try:
        if lock.took_over:
            log.info("%s: the run that held it (pid %s) is no longer running; taking over its lock", out,
                     lock.took_over.get("pid"))
        user_files = [p for p in out.iterdir() if p.name != FolderLock.NAME]
        moved = None
        if user_files and not continuing:
            if not overwrite:
                raise OutputExistsError(f"{out}: run directory exists and is not empty (use --overwrite to move it "
                                        f"aside and start afresh, or --resume to continue it)")
            _check_move_aside(cfg, out, resume)
            moved = move_aside(out)
            lock.moved_to(moved)
            out.mkdir()
            new_lock = FolderLock(out, "fdep train").acquire()
            lock.release()
            lock = new_lock
            log.info("--overwrite: the earlier contents of %s were moved to %s", out, moved)
        elif continuing:
            remove_leftovers(out)
        return RunDir(out, lock, moved, continuing)
    except BaseException:
        lock.release()
        raise


def discard_if_unstarted(run: RunDir) -> bool:
    """After a run that failed (or was stopped) before its first checkpoint, in a directory it started
    empty: remove what it wrote (config.yaml, logs), so that nothing blocks the corrected rerun.

    A continued run (``--resume`` in place) and a run with any checkpoint keep everything.
    """
    if run.continuing or any((run.path / "checkpoints").glob("*.ckpt")):
        return False
    written = [p for p in run.path.iterdir() if p.name != FolderLock.NAME]
    for p in written:
        with contextlib.suppress(OSError):
            shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
    if written:
        log.info("%s: the run stopped before its first checkpoint; removed what it had written", run.path)
    return bool(written)


def restore_if_untouched(run: RunDir) -> bool:
    """After a run that failed before writing anything: put the directory ``--overwrite`` moved aside back."""
    if run.moved_aside is None or any(p.name != FolderLock.NAME for p in run.path.iterdir()):
        return False
    run.close()
    try:
        run.path.rmdir()
        os.rename(run.moved_aside, run.path)
    except OSError:  # pragma: no cover - someone else is using the name now
        return False
    log.info("nothing was written: %s restored from %s", run.path, run.moved_aside)
    run.moved_aside = None
    return True


def remove_leftovers(out: Path) -> int:
    """Delete temporaries of a killed fdep process in a run directory we hold the lock of."""
    n = 0
    candidates = [*out.glob(".*.tmp"), *out.glob(".light.*"), *(out / "checkpoints").glob(".*.ckpt.*.tmp")]
    for p in candidates:
        with contextlib.suppress(OSError):
            if p.is_dir():
                shutil.rmtree(p)
            else:
                p.unlink()
            n += 1
    return n


# --- metrics.csv history ----------------------------------------------------------------------


def _read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    text = path.read_text(encoding="utf-8", errors="replace")
    if text and not text.endswith("\n"):  # a row cut by a kill: drop it
        text = text[: text.rfind("\n") + 1]
    reader = csv.DictReader(io.StringIO(text))
    rows = [r for r in reader if None not in r and None not in r.values()]
    return list(reader.fieldnames or []), rows


def keep_history(run_dir: Path, epochs_done: int, global_step: int, source: Path | None = None) -> int:
    """Make RUN_DIR/metrics.csv hold the rows of the ``epochs_done`` finished epochs before a resume.

    Rows of the epoch in progress when the run stopped are dropped (they are logged again). ``source``:
    the metrics.csv of the run the checkpoint came from, when resuming into a new run directory.
    Returns the number of rows kept.
    """
    src = source if source is not None else run_dir / METRICS
    if not src.is_file():
        return 0
    try:
        header, rows = _read_rows(src)
    except (OSError, csv.Error):
        log.warning("%s: unreadable, the metrics history of the earlier epochs is not carried over", src)
        return 0

    def finished(r: dict[str, str]) -> bool:
        with contextlib.suppress(ValueError):
            if r.get("epoch"):
                return int(float(r["epoch"])) < epochs_done
            if r.get("step"):
                return int(float(r["step"])) < global_step
        return False

    kept = [r for r in rows if finished(r)]
    with atomic_write(run_dir / METRICS, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=sorted(header))
        w.writeheader()
        w.writerows(kept)
    return len(kept)


def history_csv_logger(save_dir: Path) -> Any:
    """Lightning's CSVLogger writing RUN_DIR/metrics.csv, but keeping the rows already there (Lightning
    deletes the file when the logger starts) and saving every row at once, so a killed run keeps the
    rows of its finished epochs. Header changes rewrite the file atomically."""
    from lightning.fabric.loggers.logger import rank_zero_experiment
    from lightning.pytorch.loggers import CSVLogger
    from lightning.pytorch.loggers.csv_logs import ExperimentWriter

    class KeepingWriter(ExperimentWriter):
        def _check_log_dir_exists(self) -> None:  # Lightning's deletes metrics.csv here
            path = Path(self.metrics_file_path)
            if path.is_file():
                with contextlib.suppress(OSError, csv.Error):
                    header, _ = _read_rows(path)
                    if header != sorted(header):  # appended rows follow the sorted header
                        self._rewrite_with_new_header(sorted(header))
                    self.metrics_keys = sorted(header)

        def save(self) -> None:  # a full disk named with the file, not as a traceback from inside Lightning
            try:
                super().save()
            except OSError as e:
                raise write_failure(self.metrics_file_path, e) from None

        def _rewrite_with_new_header(self, fieldnames: list[str]) -> None:
            path = Path(self.metrics_file_path)
            _, rows = _read_rows(path)
            with atomic_write(path, "w", encoding="utf-8", newline="") as f:
                w = csv.DictWriter(f, fieldnames=fieldnames)
                w.writeheader()
                w.writerows(rows)

    class HistoryCSVLogger(CSVLogger):
        @property
        @rank_zero_experiment
        def experiment(self) -> Any:
            if self._experiment is None:
                os.makedirs(self.root_dir, exist_ok=True)
                self._experiment = KeepingWriter(log_dir=self.log_dir)
            return self._experiment

    return HistoryCSVLogger(save_dir=str(save_dir), name="", version="", flush_logs_every_n_steps=1)
