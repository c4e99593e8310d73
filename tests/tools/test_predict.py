"""fdep predict / load_predictor: mixed images, targets CSV/JSON, overlays, errors."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image

from fdep.cli.main import main
from fdep.errors import InputError, OutputExistsError, WeightsError
from fdep.imageio import read_prob_map
from fdep.tools.inference import load_predictor
from fdep.tools.predict import run_predict

from ._tools_helpers import (
    GAIN,
    LEVEL,
    MEAN,
    STD,
    blob_detector,
    mixed_images,
    random_net,
    reference_prob,
    save_net,
    tiny_registered,  # noqa: F401 (autouse fixture)
)

Q = 1.0 / 65535  # 16-bit PNG quantisation step


@pytest.fixture
def saved_random(tmp_path):
    net = random_net(0)
    return net, save_net(net, tmp_path / "net")


def test_predict_folder_of_mixed_images(tmp_path, saved_random):
    net, folder = saved_random
    gray = mixed_images(tmp_path / "in")
    report = run_predict(folder, tmp_path / "in", tmp_path / "out", overlay=True, batch_size=4)
    assert report["n_images"] == len(gray) == 5
    for stem, image in gray.items():
        prob = read_prob_map(tmp_path / "out" / "probs" / f"{stem}.png")
        assert prob.shape == image.shape
        np.testing.assert_allclose(prob, reference_prob(net, image), atol=Q)
        mask = np.asarray(Image.open(tmp_path / "out" / "masks" / f"{stem}.png"))
        np.testing.assert_array_equal(mask > 0, reference_prob(net, image) > 0.5)
        ov = Image.open(tmp_path / "out" / "overlays" / f"{stem}.png")
        assert ov.mode == "RGB" and ov.size == image.shape[::-1]
    assert [e["image"].split("/")[-1].split(".")[0] for e in report["images"]] == sorted(gray)


def test_batching_matches_single_images(tmp_path, saved_random):
    _, folder = saved_random
    pred = load_predictor(folder)
    rng = np.random.default_rng(1)
    images = [rng.uniform(0, 255, (40, 70)).astype(np.float32) for _ in range(3)]
    batched = pred.predict_batch(images)
    for im, b in zip(images, batched, strict=True):
        np.testing.assert_allclose(b, pred.probability(im), atol=1e-6)


def test_large_image_is_tiled_and_matches_full(tmp_path, saved_random):
    net, folder = saved_random
    tiled = load_predictor(folder, tile_pixels=64 * 64, tile=64, overlap=16)
    shapes = []
    run = tiled.run_logits
    tiled.run_logits = lambda x: (shapes.append(tuple(x.shape[-2:])), run(x))[1]
    image = np.random.default_rng(2).uniform(0, 255, (100, 150)).astype(np.float32)
    p = tiled.probability(image)
    assert p.shape == image.shape and p.min() >= 0 and p.max() <= 1
    assert len(shapes) > 1 and all(h <= 64 and w <= 64 for h, w in shapes)
    # away from tile seams the receptive field of this tiny net sees the same pixels
    full = reference_prob(net, image)
    assert np.mean(np.abs(p - full)) < 0.05


def test_targets_of_known_blobs(tmp_path):
    net = blob_detector()
    folder = save_net(net, tmp_path / "blob")
    img = np.full((50, 70), 20, dtype=np.uint8)
    img[10:13, 30:34] = 250            # 3 x 4 block
    img[40, 5] = img[41, 6] = 200      # diagonal pair: one target under 8-connectivity
    img[25, 60] = 140                  # below the 150 level: not a target
    (tmp_path / "in").mkdir()
    Image.fromarray(img, "L").save(tmp_path / "in" / "scene.png")
    report = run_predict(folder, tmp_path / "in", tmp_path / "out", threshold=0.5)

    def p(v):
        return 1 / (1 + np.exp(-GAIN * ((v - MEAN) / STD - LEVEL)))

    expected = [
        dict(target=1, centroid_y=11.0, centroid_x=31.5, area=12, peak_score=p(250), mean_score=p(250),
             bbox_y0=10, bbox_x0=30, bbox_h=3, bbox_w=4),
        dict(target=2, centroid_y=40.5, centroid_x=5.5, area=2, peak_score=p(200), mean_score=p(200),
             bbox_y0=40, bbox_x0=5, bbox_h=2, bbox_w=2),
    ]
    got = report["images"][0]["targets"]
    assert len(got) == 2
    for g, e in zip(got, expected, strict=True):
        for k, v in e.items():
            assert g[k] == pytest.approx(v, abs=1e-5), k
    on_disk = json.loads((tmp_path / "out" / "targets.json").read_text())
    assert on_disk["images"][0]["targets"] == got and on_disk["threshold"] == 0.5
    with open(tmp_path / "out" / "targets.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(int(r["area"]), float(r["centroid_y"]), float(r["centroid_x"]), int(r["bbox_h"])) for r in rows] == [
        (12, 11.0, 31.5, 3), (2, 40.5, 5.5, 2)]
    assert rows[0]["image"].endswith("scene.png")


def test_cli_predict_and_existing_outputs(tmp_path, saved_random, capsys):
    _, folder = saved_random
    mixed_images(tmp_path / "in")
    args = ["predict", "--checkpoint", str(folder), "--input", str(tmp_path / "in"), "--out", str(tmp_path / "o")]
    assert main(args) == 0
    before = (tmp_path / "o" / "targets.json").read_bytes()
    capsys.readouterr()
    assert main(args + ["--threshold", "0.1"]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "--overwrite" in err and "Traceback" not in err
    assert (tmp_path / "o" / "targets.json").read_bytes() == before
    assert main(args + ["--threshold", "0.1", "--overwrite"]) == 0
    assert json.loads((tmp_path / "o" / "targets.json").read_text())["threshold"] == 0.1


def test_unreadable_image_is_named_and_nothing_written(tmp_path, saved_random):
    _, folder = saved_random
    mixed_images(tmp_path / "in")
    (tmp_path / "in" / "z_broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(InputError, match="z_broken.png"):
        run_predict(folder, tmp_path / "in", tmp_path / "out")
    assert not (tmp_path / "out" / "probs").exists()


@pytest.mark.parametrize("content", [None, b"", b"garbage that is not a checkpoint"])
def test_missing_or_corrupt_checkpoint(tmp_path, content, capsys):
    if content is not None:
        pytest.importorskip("fdep.training.checkpoint", reason="reading .ckpt files needs the training engine")
    ckpt = tmp_path / "model.ckpt"
    if content is not None:
        ckpt.write_bytes(content)
    with pytest.raises(WeightsError, match="model.ckpt"):
        load_predictor(ckpt)
    (tmp_path / "in").mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "in" / "x.png")
    code = main(["predict", "--checkpoint", str(ckpt), "--input", str(tmp_path / "in"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code != 0 and "model.ckpt" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_corrupt_exported_dir_and_onnx(tmp_path, saved_random):
    _, folder = saved_random
    (folder / "model.safetensors").write_bytes(b"broken")
    with pytest.raises(WeightsError):
        load_predictor(folder)
    bad = tmp_path / "m.onnx"
    bad.write_bytes(b"not onnx")
    with pytest.raises(WeightsError, match="m.onnx"):
        load_predictor(bad)


def test_bad_arguments(tmp_path, saved_random):
    _, folder = saved_random
    with pytest.raises(InputError, match="no images"):
        (tmp_path / "empty").mkdir()
        run_predict(folder, tmp_path / "empty", tmp_path / "o")
    with pytest.raises(InputError, match="not found"):
        run_predict(folder, tmp_path / "nope", tmp_path / "o")
    mixed_images(tmp_path / "in")
    with pytest.raises(InputError, match="threshold"):
        run_predict(folder, tmp_path / "in", tmp_path / "o", threshold=1.5)
    (tmp_path / "file_out").write_text("x")
    with pytest.raises(OutputExistsError, match="file_out"):
        run_predict(folder, tmp_path / "in", tmp_path / "file_out")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "in" / "d_rgb.jpg")
    with pytest.raises(InputError, match="d_rgb"):
        run_predict(folder, tmp_path / "in", tmp_path / "o")


def test_predictor_uses_recorded_normalisation(tmp_path):
    """A network saved with other mean/std gives other probabilities: the recorded values are used."""
    from fdep.models import save_pretrained

    net = blob_detector()
    save_pretrained(net, tmp_path / "a", mean=MEAN, std=STD)
    save_pretrained(net, tmp_path / "b", mean=0.0, std=255.0)
    img = np.full((20, 20), 120.0, np.float32)
    pa, pb = load_predictor(tmp_path / "a").probability(img), load_predictor(tmp_path / "b").probability(img)
    assert pa[0, 0] == pytest.approx(float(torch.sigmoid(torch.tensor(GAIN * ((120 - MEAN) / STD - LEVEL)))), abs=1e-6)
    assert pb[0, 0] == pytest.approx(float(torch.sigmoid(torch.tensor(GAIN * (120 / 255 - LEVEL)))), abs=1e-6)


def test_out_of_memory_becomes_one_line_advice(tmp_path, saved_random):
    _, folder = saved_random
    pred = load_predictor(folder)

    def oom(x):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    pred.run_logits = oom
    with pytest.raises(InputError, match="out of memory.*--batch-size"):
        pred.predict_batch([np.zeros((40, 70), np.float32)] * 3)


def test_device_choice():
    from fdep.tools.inference import resolve_device

    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(InputError, match="unknown device"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="CUDA is not available"):
            resolve_device("cuda")


@pytest.mark.realdata
def test_predict_on_real_nuaa_images(nuaa_root, tmp_path, saved_random):
    """Real NUAA-SIRST files of every PNG mode it mixes (L, P, RGB) go through predict at their own size."""
    import shutil

    from fdep.imageio import read_image

    net, folder = saved_random
    names = ["Misc_1.png", "Misc_100.png", "Misc_10.png", "Misc_125.png", "Misc_104.png", "Misc_11.png"]  # L, P, RGB
    (tmp_path / "in").mkdir()
    for n in names:
        shutil.copy(nuaa_root / "images" / n, tmp_path / "in" / n)
    report = run_predict(folder, tmp_path / "in", tmp_path / "out", batch_size=3)
    assert report["n_images"] == len(names)
    for n in names:
        image = read_image(tmp_path / "in" / n)
        prob = read_prob_map(tmp_path / "out" / "probs" / n)
        assert prob.shape == image.shape
        np.testing.assert_allclose(prob, reference_prob(net, image), atol=Q)


def test_progress_counts_images_and_the_tiles_of_a_large_one(tmp_path, saved_random):
    _, folder = saved_random
    (tmp_path / "in").mkdir()
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 256, (100, 150), dtype=np.uint8), "L").save(tmp_path / "in" / "big.png")
    Image.fromarray(rng.integers(0, 256, (40, 50), dtype=np.uint8), "L").save(tmp_path / "in" / "small.png")
    calls = []
    run_predict(load_predictor(folder, tile_pixels=64 * 64, tile=64, overlap=16), tmp_path / "in",
                tmp_path / "out", progress=lambda *a: calls.append(a))
    big = [c for c in calls if c[2] == "big.png"]
    tiles = big[1][4]
    assert tiles == 2 * 3  # 100 x 150 in 64-pixel tiles overlapping by 16
    assert big == [(0, 2, "big.png", 0, 1)] + [(0, 2, "big.png", t, tiles) for t in range(1, tiles + 1)] + [
        (1, 2, "big.png", 1, 1)]
    assert [c for c in calls if c[2] == "small.png"] == [(1, 2, "small.png", 0, 1), (2, 2, "small.png", 1, 1)]


def test_progress_lines_are_throttled():
    """At most one line per interval, the first only once an interval has passed: quick work prints nothing."""
    import io

    from fdep.cli.progress import ProgressLine

    now, stream = [0.0], io.StringIO()
    line = ProgressLine(stream, every_s=10.0, clock=lambda: now[0])
    for t in (1, 5, 9.9, 10.0, 12, 19, 20.5, 21):
        now[0] = t
        line(f"at {t}")
    line.close()
    assert stream.getvalue() == "at 10.0\nat 20.5\n"


def test_cli_reports_progress_of_long_work_on_stderr_unless_quiet(tmp_path, saved_random, capsys, monkeypatch):
    """A log (stderr not a terminal) gets the image and the tile it is at (here with the interval set to 0, as
    if each step were long), and nothing with --quiet."""
    import fdep.progress

    _, folder = saved_random
    (tmp_path / "in").mkdir()
    image = np.random.default_rng(4).integers(0, 256, (1100, 1000), dtype=np.uint8)  # > 1 Mpixel: tiles of 512
    Image.fromarray(image, "L").save(tmp_path / "in" / "huge.png")
    args = ["predict", "--checkpoint", str(folder), "--input", str(tmp_path / "in")]
    monkeypatch.setattr(fdep.progress, "LOG_EVERY_S", 0.0)
    assert main(args + ["--out", str(tmp_path / "o2")]) == 0
    err = capsys.readouterr().err
    assert "fdep predict: image 1/1 (huge.png), tile 5/9" in err and "tile 9/9" in err
    assert main(args + ["--out", str(tmp_path / "o3"), "--quiet"]) == 0
    assert "fdep predict: image" not in capsys.readouterr().err
