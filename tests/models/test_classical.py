"""The classical methods (FKRW, MPCM, NIPPS): equal to straightforward loop implementations, and the zoo contract.

The references in fdep.models.classical.reference loop over pixels, candidates and
patches exactly as the papers/authors' MATLAB code describe; the zoo's vectorised
versions must give the same raw responses on small images.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from fdep.errors import ModelError
from fdep.models import create_model, get_model_factory, list_models
from fdep.models.classical import FKRW, MPCM, NIPPS, ClassicalMethod, response_to_probability
from fdep.models.classical.fkrw import fkrw_preprocess, fkrw_response, random_walker_windows
from fdep.models.classical.mpcm import mpcm_response
from fdep.models.classical.nipps import (
    image_from_patches,
    leading_count,
    partial_svt,
    patch_image,
    patch_index,
    patch_positions,
)
from fdep.models.classical.reference import fkrw_reference, mpcm_reference, nipps_reference


def _scene(h: int, w: int, seed: int = 0, noise: float = 1.0) -> np.ndarray:
    """A smooth background, noise, a few bright blobs (one 3 x 3 plateau with equal values) and a dark blob."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    img = 80 + 30 * np.sin(yy / 9.0 + seed) + 20 * np.cos(xx / 13.0) + rng.normal(0, noise, (h, w))
    img[h // 5: h // 5 + 3, w // 3: w // 3 + 3] = 200.0  # plateau: ties in the brightness order
    img[(2 * h) // 3, (3 * w) // 4] += 60
    img[h // 2: h // 2 + 2, 4:6] += 45
    img[h - 8: h - 5, w - 9: w - 6] -= 40  # a dark target (MPCM responds to both polarities)
    return np.round(img.clip(0, 255))


# -- registry and contract -------------------------------------------------------------------------
def test_registered_as_classical_with_paper_defaults():
    assert list_models(kind="classical") == ["fkrw", "mpcm", "nipps"]
    assert set(list_models(kind="learned")).isdisjoint(list_models(kind="classical"))
    with pytest.raises(ModelError, match="unknown model kind"):
        list_models(kind="other")
    times = {"fkrw": 0.189, "mpcm": 0.104, "nipps": 31.047}  # the FDEP paper's Table S3
    for name in list_models(kind="classical"):
        cls = get_model_factory(name)
        assert issubclass(cls, ClassicalMethod) and cls.kind == "classical" and cls.outputs == "probability"
        assert cls.size_multiple == 1 and cls.top_channels == 0 and cls.source
        assert cls.paper_time_s == times[name]
        assert sum(p.numel() for p in create_model(name).parameters()) == 0
    # the published settings (see each module's docstring for the source)
    assert create_model("mpcm").init_kwargs == {"scales": [3, 5, 7, 9], "polarity": "both"}
    assert create_model("fkrw").init_kwargs == {"k": 4.0, "beta": 200.0, "window": 11, "exponent": 6.0}
    assert create_model("nipps").init_kwargs == {"patch_size": 50, "step": 10, "lambda_l": 2.0, "ratio_n": 0.005,
                                                 "tol": 1e-7, "max_iter": 1000, "rho": 1.5}


@pytest.mark.parametrize("name", ["fkrw", "mpcm", "nipps"])
def test_forward_contract(name):
    kwargs = {"patch_size": 16, "step": 4} if name == "nipps" else {}
    m = create_model(name, **kwargs)
    x = torch.from_numpy(np.stack([_scene(37, 45, 0), _scene(37, 45, 1)]))[:, None].float()  # odd size: no multiple
    y = m(x)
    assert y.shape == (2, 1, 37, 45) and y.dtype == torch.float32
    assert float(y.min()) >= 0 and float(y.amax(dim=(1, 2, 3)).min()) == 1.0  # per-image max normalisation
    # batched = one by one; three identical channels = gray
    torch.testing.assert_close(m(x[1:]), y[1:])
    m3 = create_model(name, in_chans=3, **kwargs)
    torch.testing.assert_close(m3(x.expand(-1, 3, -1, -1)), y)
    # the probability is the response mapped by max(R, 0) / max(max(R, 0)), per image
    r = m.response(x[0, 0].double())
    torch.testing.assert_close(y[0, 0].double(), response_to_probability(r), atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", ["fkrw", "mpcm", "nipps"])
def test_input_errors_and_no_features(name):
    m = create_model(name)
    with pytest.raises(ModelError, match="negative values"):
        m(torch.full((1, 1, 20, 20), -1.0))
    with pytest.raises(ModelError, match="floating-point"):
        m(torch.zeros(1, 1, 20, 20, dtype=torch.uint8))
    with pytest.raises(ModelError, match="NaN"):
        m(torch.full((1, 1, 20, 20), float("nan")))
    with pytest.raises(ModelError, match="expected 1 input channel"):
        m(torch.zeros(1, 2, 20, 20))
    for call in (lambda: m.encode(torch.zeros(1, 1, 32, 32)), lambda: m.decode(None)):
        with pytest.raises(ModelError, match=f"{name} is a classical method: it has no encoder/decoder"):
            call()


def test_constructor_errors():
    for bad in ({"scales": [4]}, {"scales": []}, {"polarity": "dark"}):
        with pytest.raises(ModelError, match="mpcm"):
            MPCM(**bad)
    for bad in ({"beta": 0}, {"window": 10}):
        with pytest.raises(ModelError, match="fkrw"):
            FKRW(**bad)
    for bad in ({"patch_size": 0}, {"ratio_n": 1.5}, {"rho": 1.0}):
        with pytest.raises(ModelError, match="nipps"):
            NIPPS(**bad)


def test_response_to_probability_is_monotone_per_image():
    r = torch.tensor([[[-3.0, 0.0], [2.0, 4.0]], [[-1.0, -2.0], [-0.5, 0.0]]], dtype=torch.float64)
    p = response_to_probability(r)
    torch.testing.assert_close(p[0], torch.tensor([[0.0, 0.0], [0.5, 1.0]], dtype=torch.float64))
    assert torch.equal(p[1], torch.zeros(2, 2, dtype=torch.float64))  # nothing responds: all 0, no NaN
    flat = r[0].reshape(-1)
    order = torch.argsort(flat)
    assert bool((p[0].reshape(-1)[order].diff() >= 0).all())


# -- MPCM --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bright_only", [False, True])
@pytest.mark.parametrize("scales", [(3, 5, 7, 9), (1, 3), (11,)])
def test_mpcm_equals_pixel_loop(scales, bright_only):
    img = _scene(23, 30, seed=2)
    ref = mpcm_reference(img, scales, bright_only)
    ours = mpcm_response(torch.from_numpy(img)[None], scales, bright_only)[0].numpy()
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-7)


def test_mpcm_sees_dark_targets_unless_bright_only():
    img = np.full((25, 25), 100.0)
    img[11:14, 11:14] = 40.0
    both = mpcm_response(torch.from_numpy(img)[None])[0]
    bright = mpcm_response(torch.from_numpy(img)[None], bright_only=True)[0]
    assert float(both[12, 12]) > 0 and float(bright.max()) == 0


# -- NIPPS -------------------------------------------------------------------------------------------
def test_patch_positions_follow_the_authors_grid():
    # MATLAB: [1 : step : (n - 1) * step, size - patch + 1] with n = ceil((size - patch) / step) + 1
    for size, patch, step in [(225, 50, 10), (250, 50, 10), (50, 50, 10), (61, 20, 7)]:
        n = math.ceil((size - patch) / step) + 1
        want = [p - 1 for p in range(1, (n - 1) * step + 1, step)] + [size - patch]
        assert patch_positions(size, patch, step).tolist() == want


def test_patch_image_round_trip():
    img = torch.from_numpy(_scene(33, 41)).double()
    idx = patch_index(33, 41, 10, 4)
    d = patch_image(img, idx)
    assert d.shape == (len(patch_positions(33, 10, 4)) * len(patch_positions(41, 10, 4)), 100)
    torch.testing.assert_close(d[0], img[:10, :10].reshape(-1))
    torch.testing.assert_close(image_from_patches(d, idx, (33, 41)), img)


def test_partial_svt_matches_svd():
    g = torch.Generator().manual_seed(0)
    for shape in [(12, 30), (30, 12)]:
        m = torch.randn(*shape, generator=g, dtype=torch.float64)
        u, s, vt = torch.linalg.svd(m, full_matrices=False)
        for keep, tau in [(1, 0.5), (3, 2.0), (12, 100.0)]:
            s2 = s.clone()
            s2[keep:] = (s[keep:] - tau).clamp(min=0)
            torch.testing.assert_close(partial_svt(m, keep, tau), (u * s2) @ vt, atol=1e-10, rtol=1e-10)
    assert leading_count(torch.tensor([10.0, 1.0, 0.06, 0.04]), 0.005) == 3  # 0.006 >= 0.005 > 0.004
    assert leading_count(torch.tensor([10.0, 0.001]), 0.005) == 1


@pytest.mark.parametrize("shape,patch,step", [((40, 52), 16, 4), ((33, 47), 10, 2)])
def test_nipps_equals_patch_loop_with_full_svd(shape, patch, step):
    img = _scene(*shape, seed=3)
    ref, ref_iters = nipps_reference(img, patch_size=patch, step=step)
    m = NIPPS(patch_size=patch, step=step)
    ours = m.response(torch.from_numpy(img)).numpy()
    assert m.last_iterations == ref_iters > 1
    assert ref.max() > 1  # a non-trivial target image
    _assert_nipps_close(ours, ref)


def test_nipps_image_smaller_than_the_patch():
    img = _scene(18, 40, seed=3)  # 18 < 30: the patch shrinks to 18 x 18, in both implementations
    ref, ref_iters = nipps_reference(img, patch_size=30, step=2)
    m = NIPPS(patch_size=30, step=2)
    ours = m.response(torch.from_numpy(img)).numpy()
    assert ours.shape == (18, 40) and m.last_iterations == ref_iters
    np.testing.assert_allclose(ours, ref, atol=1e-9)


def _assert_nipps_close(ours: np.ndarray, ref: np.ndarray) -> None:
    """Equal up to the solver's own sensitivity.

    The inexact ALM amplifies round-off: the reference with its SVD swapped for another float64 SVD
    of the same matrices already moves single pixels by ~1e-5 of the maximum, and an entry of T that
    sits at the shrinkage threshold can move one pixel by ~1e-3. So: almost every pixel within 1e-6 of
    the maximum, none beyond 1e-2 (a wrong step or index moves whole patches by far more).
    """
    scale = max(1.0, float(np.abs(ref).max()))
    diff = np.abs(ours - ref) / scale
    assert (diff > 1e-6).mean() < 0.005, f"{(diff > 1e-6).sum()} pixels differ by more than 1e-6"
    assert diff.max() < 1e-2, f"max difference {diff.max():.2e}"


# -- FKRW --------------------------------------------------------------------------------------------
def test_fkrw_preprocess_clips_isolated_peaks_and_smooths():
    img = np.full((8, 9), 100.0)
    img[3, 4] = 255.0  # a single hot pixel: clipped to its neighbours' maximum
    x = fkrw_preprocess(torch.from_numpy(img)).numpy()
    np.testing.assert_allclose(x, np.full((8, 9), 100 / 255))


def test_random_walker_windows_equals_sparse_solve():
    from fdep.models.classical.reference import _random_walker

    g = torch.Generator().manual_seed(1)
    win = torch.rand(5, 11, 11, generator=g, dtype=torch.float64) * 0.2
    win[:, 4:7, 4:7] += 0.5
    ours = random_walker_windows(win, 200.0)
    for w, p in zip(win, ours):
        np.testing.assert_allclose(p.numpy(), _random_walker(w.numpy(), 200.0), atol=1e-10)
    assert float(ours[:, 5, 5].min()) == 1.0 and float(ours[:, 0].abs().max()) == 0.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fkrw_equals_candidate_loop(seed):
    img = _scene(48, 57, seed=seed)
    # a bright diagonal streak: a chain of candidates whose windows overlap (the visiting order matters)
    for i in range(20):
        img[10 + i, 25 + i] = min(255.0, img[10 + i, 25 + i] + 50 + i)
    ref = fkrw_reference(img)
    ours = fkrw_response(torch.from_numpy(img)).numpy()
    assert (ref != 0).sum() > 3
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-9 * np.abs(ref).max())


def test_fkrw_without_candidates_and_tiny_images():
    flat = torch.full((20, 20), 90.0, dtype=torch.float64)
    assert float(fkrw_response(flat).abs().max()) == 0.0
    with pytest.raises(ModelError, match="larger than 5 pixels"):
        fkrw_response(torch.zeros(5, 30, dtype=torch.float64))


# -- real images (when the shared data is present) ----------------------------------------------------
@pytest.mark.realdata
def test_equal_to_references_on_nuaa_crops(nuaa_root):
    from fdep.imageio import read_image

    image = next(p for p in sorted((nuaa_root / "images").iterdir()) if p.stem == "Misc_1")
    img = read_image(image).astype(np.float64)[:64, :80]
    np.testing.assert_allclose(mpcm_response(torch.from_numpy(img)[None])[0].numpy(), mpcm_reference(img),
                               rtol=1e-9, atol=1e-6)
    ref = fkrw_reference(img)
    np.testing.assert_allclose(fkrw_response(torch.from_numpy(img)).numpy(), ref, rtol=1e-9,
                               atol=1e-9 * max(1.0, np.abs(ref).max()))
    ref, _ = nipps_reference(img, patch_size=30, step=10)
    _assert_nipps_close(NIPPS(patch_size=30, step=10).response(torch.from_numpy(img)).numpy(), ref)
