"""fdep predict --input VIDEO: per-frame maps and targets, frames per second at the end (issue 26).

The videos are written here by cv2.VideoWriter with codecs that work offline (MJPG in .avi, mp4v in .mp4);
the per-frame results must equal predicting the decoded frames as images.
"""

from __future__ import annotations

import csv
import json

import cv2
import numpy as np
import pytest

from fdep.cli.main import main
from fdep.errors import InputError
from fdep.imageio import read_prob_map
from fdep.tools.inference import classical_predictor
from fdep.tools.predict import run_predict

H, W, N = 48, 64, 5


def _frames():
    rng = np.random.default_rng(0)
    frames = []
    for k in range(N):
        f = rng.normal(60, 4, (H, W)).clip(0, 255).astype(np.uint8)
        f[10 + 4 * k:13 + 4 * k, 20 + 5 * k:23 + 5 * k] = 250  # one moving bright target
        frames.append(f)
    return frames


def _write_video(path, fourcc):
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 10.0, (W, H), isColor=True)
    if not w.isOpened():
        pytest.skip(f"OpenCV cannot write {fourcc} {path.suffix} here")
    for f in _frames():
        w.write(cv2.cvtColor(f, cv2.COLOR_GRAY2BGR))
    w.release()
    return path


def _decoded(path):
    cap = cv2.VideoCapture(str(path))
    out = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        out.append(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY).astype(np.float32))
    return out


@pytest.mark.parametrize(("name", "fourcc"), [("ir.avi", "MJPG"), ("ir.mp4", "mp4v")])
def test_video_frames_are_predicted_like_images(tmp_path, name, fourcc):
    video = _write_video(tmp_path / name, fourcc)
    report = run_predict(None, video, tmp_path / "out", model="mpcm", batch_size=2)
    frames = _decoded(video)
    assert report["n_images"] == len(frames) == N
    assert [e["frame"] for e in report["images"]] == list(range(N))
    assert report["video"]["frames"] == N and report["video"]["frames_per_second"] > 0
    ref = classical_predictor("mpcm")
    for k, frame in enumerate(frames):
        want = ref.probability(frame)
        got = read_prob_map(tmp_path / "out" / "probs" / f"ir_{k:06d}.png")
        np.testing.assert_allclose(got, want, atol=1 / 65535)
    # the moving target is found in every frame, where it is
    for k, e in enumerate(report["images"]):
        assert any(abs(t["centroid_y"] - (11 + 4 * k)) < 2 and abs(t["centroid_x"] - (21 + 5 * k)) < 2
                   for t in e["targets"]), k
    rows = list(csv.DictReader((tmp_path / "out" / "targets.csv").open()))
    assert list(rows[0])[:3] == ["image", "frame", "target"]
    assert {int(r["frame"]) for r in rows} == set(range(N))


def test_cli_prints_frames_per_second(tmp_path, capsys):
    video = _write_video(tmp_path / "ir.avi", "MJPG")
    assert main(["predict", "--model", "mpcm", "--input", str(video), "--out", str(tmp_path / "out"),
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"{N} frame(s) of" in out and "frames/s" in out
    report = json.loads((tmp_path / "out" / "targets.json").read_text())
    assert report["video"]["frames"] == N
    # a second run into the same out is refused: its frame files exist
    assert main(["predict", "--model", "mpcm", "--input", str(video), "--out", str(tmp_path / "out"),
                 "--quiet"]) != 0


def test_unreadable_video_is_one_line(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all" * 10)
    with pytest.raises(InputError, match=r"broken\.mp4: cannot open video"):
        run_predict(None, bad, tmp_path / "out", model="mpcm")
