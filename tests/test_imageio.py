import numpy as np
import pytest
from PIL import Image

from fdep.errors import InputError
from fdep.imageio import read_image, read_mask, read_prob_map, write_prob_png16


def test_modes_read_as_same_gray(tmp_path):
    gray = (np.arange(64, dtype=np.uint8).reshape(8, 8) * 3).astype(np.uint8)
    Image.fromarray(gray, "L").save(tmp_path / "l.png")
    Image.fromarray(np.stack([gray] * 3, -1), "RGB").save(tmp_path / "rgb.png")
    Image.fromarray(gray, "L").convert("P").save(tmp_path / "p.png")
    ref = read_image(tmp_path / "l.png")
    assert ref.dtype == np.float32 and ref.shape == (8, 8)
    np.testing.assert_allclose(read_image(tmp_path / "rgb.png"), ref, atol=1)
    np.testing.assert_allclose(read_image(tmp_path / "p.png"), ref, atol=1)


def test_mask_binarised_above_127(tmp_path):
    m = np.array([[0, 64, 127, 128, 255]], dtype=np.uint8)
    Image.fromarray(m).save(tmp_path / "m.png")
    assert read_mask(tmp_path / "m.png").tolist() == [[False, False, False, True, True]]


def test_corrupt_image_one_line_error(tmp_path):
    p = tmp_path / "bad.png"
    p.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(InputError, match="bad.png"):
        read_image(p)


def test_prob_png16_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    p = rng.random((5, 7))
    write_prob_png16(tmp_path / "p.png", p)
    q = read_prob_map(tmp_path / "p.png")
    assert np.max(np.abs(p - q)) <= 0.5 / 65535 + 1e-12


def test_prob_npy_rejects_nan_and_range(tmp_path):
    np.save(tmp_path / "n.npy", np.array([[0.1, np.nan]]))
    np.save(tmp_path / "r.npy", np.array([[0.1, 1.5]]))
    with pytest.raises(InputError, match="NaN"):
        read_prob_map(tmp_path / "n.npy")
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        read_prob_map(tmp_path / "r.npy")
