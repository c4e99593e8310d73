"""A test run's scores next to the row the FDEP paper publishes for the same network, variant and dataset.

Used by ``fdep test`` (printed, and stored in results.json under "paper") and ``fdep report``
(a "paper" line under the run). A run matches when it was scored on the ``test`` split of one of
the paper's datasets (NUAA-SIRST, NUDT-SIRST, IRSTD-1K, or their union SIRST3) and the paper
reports its network in its variant; FDEP runs must also use the paper's settings (VFM, SAMF,
sharing, EDL, DINO blocks) or those of one of its ablation rows. Anything else gets no paper row.
"""

from __future__ import annotations

from typing import Any

from ..paper import DATASETS, METRICS, compare, dataset_key, paper_row, paper_test_size, run_setting


def _config_of(results: dict[str, Any]) -> dict[str, Any]:
    """The training config recorded in results.json; older files only name the variant and VFM
    (the paper's defaults are then assumed for the rest)."""
    cfg = results.get("train_config")
    if isinstance(cfg, dict):
        return cfg
    return {"variant": results.get("variant"), "vfm": results.get("vfm")}


def trained_on(results: dict[str, Any]) -> str | None:
    """The dataset the tested weights were trained on (its name), from the recorded training config."""
    data = _config_of(results).get("data")
    if not data:
        return None
    return "+".join(p.rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1] for p in str(data).split("+"))


def tested_on(results: dict[str, Any]) -> str:
    """The name of the dataset a results.json was scored on."""
    return str(results.get("dataset_name") or results.get("dataset") or "")


def _printed(name: str) -> str:
    key = dataset_key(name)
    return DATASETS[key][0] if key else name


def cross_dataset(results: dict[str, Any]) -> str | None:
    """``cross-dataset: trained on NUAA-SIRST, tested on NUDT-SIRST`` when the weights were trained on another
    dataset than the one tested, else None (same dataset, or the training data is not recorded).

    Names are compared as the paper's datasets where they are one (any spelling, any parent folder), else
    literally; a run trained on ``synthetic`` data and tested on a real dataset is cross-dataset too.
    """
    if results.get("variant") == "classical":
        return None
    train = trained_on(results)
    test = tested_on(results)
    if not train or not test:
        return None
    a, b = dataset_key(train), dataset_key(test)
    same = a == b if (a or b) else train.lower() == test.lower()
    if same:
        return None
    return f"cross-dataset: trained on {_printed(train)}, tested on {_printed(test)}"


def paper_comparison(results: dict[str, Any]) -> dict[str, Any] | None:
    """The matching paper row and run - paper differences (JSON-able), or None when nothing matches.

    A cross-dataset test (:func:`cross_dataset`) matches no row: the paper's rows are in-dataset.
    """
    if results.get("split") != "test" or not results.get("model"):
        return None
    if cross_dataset(results):
        return None
    setting = run_setting(_config_of(results))
    if setting is None:
        return None
    dataset = str(results.get("dataset_name") or results.get("dataset") or "")
    # the paper lists its classical methods (FKRW, MPCM, NIPPS) as "original" rows
    variant = "original" if results.get("variant") == "classical" else str(results.get("variant"))
    row = paper_row(str(results["model"]), variant, dataset, setting)
    if row is None:
        return None
    metrics = [{"metric": k, "title": METRICS[k][0], "run": run, "paper": paper, "diff": diff}
               for k, run, paper, diff in compare(results, row)]
    n_paper = paper_test_size(row.dataset)
    n_run = results.get("n_images")
    notes = [row.note] if row.note else []
    if n_paper is not None and n_run is not None and int(n_run) != n_paper:
        notes.append(f"this test split has {n_run} images, the paper's {row.dataset} test split {n_paper}")
    return {"table": row.table, "network": row.network, "variant": row.variant, "label": row.label,
            "dataset": row.dataset, "source": row.source, "setting": row.setting, "metrics": metrics,
            "paper_time_s": row.values.get("time_s"), "notes": notes}


def format_comparison(cmp: dict[str, Any] | None) -> str:
    """The comparison as a small aligned table (paper units: x100, Fa x1e-6, params M); '' for None."""
    if not cmp:
        return ""
    metrics = cmp["metrics"]
    from ..metrics.units import FA_LABEL

    titles = [FA_LABEL if m["metric"] == "fa" else m["title"] + (" (M)" if m["metric"] == "params_m" else "")
              for m in metrics]
    width = [max(7, len(t)) for t in titles]

    def line(name: str, vals: list[str]) -> str:
        return f"{name:<11}" + "  ".join(f"{v:>{w}}" for v, w in zip(vals, width))

    def num(v: float | None, signed: bool = False) -> str:
        return "-" if v is None else (f"{v:+.2f}" if signed else f"{v:.2f}")

    lines = [f"paper: {cmp['source']}; run - paper below",
             line("", titles),
             line("this run", [num(m["run"]) for m in metrics]),
             line("paper", [num(m["paper"]) for m in metrics]),
             line("difference", [num(m["diff"], signed=True) for m in metrics])]
    lines += [f"note: {n}" for n in cmp.get("notes") or ()]
    return "\n".join(lines)
