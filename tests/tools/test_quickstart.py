"""fdep quickstart end to end, shrunk (the real sizes are timed in docs/training.md)."""

from __future__ import annotations

import json

import pytest

from fdep.tools import quickstart


@pytest.mark.slow
def test_quickstart_small(tmp_path, monkeypatch, capsys):
    pytest.importorskip("fdep.tools.report")
    # the shipped val_every (5) with --epochs 1: the one epoch is validated, so best.ckpt exists to test
    monkeypatch.setattr(quickstart, "QUICK", {**quickstart.QUICK, "synthetic_n": 24, "synthetic_size": 64, "crop": 64,
                                              "progress": False})
    lines: list[str] = []
    report = quickstart.run_quickstart(tmp_path / "qs", epochs=1, say=lines.append)
    text = "\n".join(lines)
    assert report.is_file() and report.suffix == ".html"
    html = report.read_text()
    assert "data:image/png;base64," in html  # plots embedded: self-contained
    assert "RANDOMLY INITIALISED" in text  # no DINOv2 weights here, and it says so
    assert f"Report: {report.resolve()}" in text and "NUAA-SIRST" in text
    for variant in ("original", "fdep"):
        res = json.loads((tmp_path / "qs" / f"acm_{variant}" / "test_test" / "results.json").read_text())
        assert res["variant"] == variant and res["n_images"] > 0
    assert (tmp_path / "qs" / "vfm_cache" / "meta.json").is_file()
    # a second run into the same folder refuses to overwrite
    from fdep.errors import OutputExistsError

    with pytest.raises(OutputExistsError):
        quickstart.run_quickstart(tmp_path / "qs", epochs=1, say=lines.append)
    # ... and with --overwrite repeats itself in place (make demo run twice)
    assert quickstart.run_quickstart(tmp_path / "qs", overwrite=True, epochs=1, say=lines.append) == report


@pytest.mark.parametrize("epochs", [None, 1, 3, 5, 7, 30])
def test_quickstart_validates_every_run_at_least_once(epochs):
    """--epochs below the validation interval still validates (on the last epoch): best.ckpt exists to test."""
    settings = quickstart.quick_settings(epochs)
    assert settings["epochs"] == (epochs or quickstart.QUICK["epochs"])
    assert 1 <= settings["val_every"] <= settings["epochs"]
    assert settings["val_every"] == min(quickstart.QUICK["val_every"], settings["epochs"])
