"""From an image to targets in three lines (issue 26 §5), with the shipped weights and tiny inputs:

    detect = fdep.load_predictor("acm.nuaa-sirst")
    prob, targets = detect(image)      # any dtype, range and channel count

and ``fdep export --model NAME --weights TAG`` as predict takes them.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import fdep
from fdep.cli.main import main
from fdep.errors import InputError, ModelError, WeightsError
from fdep.models.weights import WEIGHTS
from fdep.tools.image_input import bit_depth, to_gray255
from fdep.tools.inference import Detection


@pytest.fixture(scope="module")
def detect():
    return fdep.load_predictor("acm.nuaa-sirst")


@pytest.fixture(scope="module")
def scene() -> np.ndarray:
    """64 x 80, dark noisy sky spanning 0-255 exactly, one 3 x 3 target at rows 30-32, columns 40-42."""
    rng = np.random.default_rng(0)
    img = rng.normal(60, 8, (64, 80)).clip(1, 200)
    img[30:33, 40:43] = 255
    img[0, 0] = 0
    return img.astype(np.uint8)


def test_three_lines_from_an_image_to_targets(detect, scene):
    prob, targets = detect(scene)
    assert isinstance(detect(scene), Detection)
    assert prob.shape == scene.shape and prob.dtype == np.float32 and prob.min() >= 0 and prob.max() <= 1
    assert len(targets) == 1
    t = targets[0]
    assert abs(t.centroid_y - 31) < 1 and abs(t.centroid_x - 41) < 1 and 4 <= t.area <= 25
    assert t.peak_score == pytest.approx(float(prob.max())) and t.peak_score > 0.5
    assert detect.in_chans == 3  # the shipped weights take 3 channels: a gray image is replicated


def _forms(img: np.ndarray) -> dict[str, np.ndarray]:
    f = img.astype(np.float64)
    return {
        "float 0-1": f / 255.0,
        "float32 0-255": f.astype(np.float32),
        "uint16 full range": img.astype(np.uint16) * 257,
        "14-bit in uint16": np.round(f * 16383 / 255).astype(np.uint16),
        "12-bit in int32": np.round(f * 4095 / 255).astype(np.int32),
        "kelvin 295-320": 295.0 + f / 255.0 * 25.0,
        "H x W x 1": img[..., None],
        "1 x H x W": img[None],
        "RGB": np.repeat(img[..., None], 3, axis=-1),
        "3 x H x W": np.repeat(img[None], 3, axis=0),
        "RGBA": np.concatenate([np.repeat(img[..., None], 3, -1), np.full(img.shape + (1,), 255, np.uint8)], -1),
    }


@pytest.mark.parametrize("form", list(_forms(np.zeros((2, 2), np.uint8))))
def test_every_dtype_range_and_layout_gives_the_same_answer(detect, scene, form):
    """A 0-1 float image once gave 0 targets without a word, a 1-channel image was refused by the 3-channel
    weights, and 14-bit data in a 16-bit array arrived as 0-64: each form maps to the same 0-255 image."""
    ref, ref_targets = detect(scene)
    prob, targets = detect(_forms(scene)[form])
    np.testing.assert_allclose(prob, ref, atol=2e-3)
    assert [(round(t.centroid_y), round(t.centroid_x)) for t in targets] == [
        (round(t.centroid_y), round(t.centroid_x)) for t in ref_targets]


def test_input_range_policy():
    x = np.array([[0, 1000], [16383, 5]], np.uint16)
    assert bit_depth(255) == 8 and bit_depth(256) == 10 and bit_depth(16383) == 14 and bit_depth(70000) == 16
    np.testing.assert_allclose(to_gray255(x), x * (255 / 16383), rtol=1e-6)  # auto: 14-bit
    np.testing.assert_allclose(to_gray255(x, "dtype"), x / 257, rtol=1e-6)  # the file's full range
    np.testing.assert_allclose(to_gray255(x, (0, 1000)), np.clip(x * 0.255, 0, 255), rtol=1e-6)  # declared
    np.testing.assert_array_equal(to_gray255(np.array([[True, False]])), [[255.0, 0.0]])
    np.testing.assert_allclose(to_gray255(np.array([[-1.0, 1.0]])), [[0.0, 255.0]])  # stretched
    np.testing.assert_array_equal(to_gray255(np.full((3, 3), 7.0)), np.full((3, 3), 7.0))  # 0-255 float as is
    for bad, says in ((np.array([[np.nan, 1.0]]), "NaN"), (np.zeros((2, 3, 5, 5)), "2 or 3 dimensions"),
                      (np.zeros((7, 8, 9)), "C = 1, 3 or 4"), (np.zeros((0, 4)), "empty"),
                      (np.array([["a"]]), "numeric")):
        with pytest.raises(InputError, match=says):
            to_gray255(bad)
    with pytest.raises(InputError, match="low < high"):
        to_gray255(x, (5, 5))
    with pytest.raises(InputError, match="use 'auto', 'dtype'"):
        to_gray255(x, "full")


def test_loading_by_name(detect, scene):
    same = fdep.load_predictor("acm", weights="nuaa-sirst")
    np.testing.assert_array_equal(same(scene).prob, detect(scene).prob)
    assert detect.threshold == 0.5  # recorded with the weights
    with pytest.raises(WeightsError, match=r"several networks publish weights of that name \(acm.nuaa-sirst, "
                                           r"alcnet.nuaa-sirst\); name one"):
        fdep.load_predictor("nuaa-sirst")
    acm_tags = ", ".join(w.tag for w in WEIGHTS if w.model == "acm")  # every published tag, listed in order
    assert acm_tags.startswith("nuaa-sirst")
    says = (r"acm is a network: name its trained weights, load_predictor\('acm', weights=TAG\) or 'acm'.TAG "
            r"\(published tags: " + re.escape(acm_tags) + r"\)")
    with pytest.raises(WeightsError, match=says):
        fdep.load_predictor("acm")
    with pytest.raises(WeightsError, match="no such checkpoint, folder or .onnx file, nor a published weight set"):
        fdep.load_predictor("runs/missing/best.ckpt")
    with pytest.raises(WeightsError, match="not a weight set of acm"):
        fdep.load_predictor("acm", weights="no-such-tag")
    with pytest.raises(ModelError, match="unknown model 'acmm'"):
        fdep.load_predictor("acmm", weights="nuaa-sirst")
    prob, targets = fdep.load_predictor("mpcm")(scene)  # a classical method: no weights
    assert prob.shape == scene.shape


def test_threshold_and_bad_calls(detect, scene):
    assert len(detect(scene, threshold=0.999).targets) == 0
    with pytest.raises(InputError, match=r"threshold must lie in \[0, 1\)"):
        detect(scene, threshold=1.5)
    with pytest.raises(InputError, match="NaN"):
        detect(np.full((8, 8), np.nan))


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")
def test_export_takes_model_and_weights_as_predict_does(tmp_path, scene, capsys):
    out = tmp_path / "acm.pt"
    assert main(["export", "--model", "acm", "--weights", "nuaa-sirst", "--torchscript", str(out)]) == 0
    assert "matches PyTorch" in capsys.readouterr().out
    traced = torch.jit.load(str(out))
    ref = fdep.load_predictor("acm.nuaa-sirst")
    x = torch.from_numpy((scene.astype(np.float32) - ref.mean) / ref.std)[None, None].expand(1, 3, -1, -1)
    x = torch.nn.functional.pad(x, (0, 96 - 80, 0, 0))  # to the size multiple (32)
    with torch.no_grad():
        p = torch.sigmoid(traced(x))[0, 0, :, :80].numpy()
    np.testing.assert_allclose(p, ref(scene).prob, atol=1e-4)
    assert main(["export", "--model", "acm", "--torchscript", str(tmp_path / "b.pt")]) == 2
    assert "--model acm needs --weights TAG" in capsys.readouterr().err
    assert main(["export", "--model", "mpcm", "--torchscript", str(tmp_path / "c.pt")]) == 2
    assert "mpcm is a classical method: it has no trained weights to export" in capsys.readouterr().err
    assert main(["export", "--model", "acm", "--weights", "nope", "--torchscript", str(tmp_path / "d.pt")]) == 2
    assert "not a weight set of acm" in capsys.readouterr().err
