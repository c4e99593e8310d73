"""The authors' script's details under protocol authors: last partial batch kept, fp32 validation,
black validation padding, selection from epoch 2 above IoU 0; and the training probabilities line."""

from __future__ import annotations

import pytest
import torch

from fdep.training.config import TrainConfig


def _module(**over):
    from fdep.training.module import SIRSTModule

    d = {"protocol": "authors", "variant": "original", "mean": 100.0, "std": 25.0, "model": "acm"}
    d.update(over)
    return SIRSTModule(**TrainConfig.from_dict(d).to_dict())


@pytest.mark.parametrize("protocol", ["authors", "fdep"])
def test_last_partial_batch_kept_only_by_the_authors(tiny_data, protocol):
    from fdep.training.datamodule import SIRSTDataModule

    for batch in (5, 3, 7):
        cfg = TrainConfig.from_dict({"protocol": protocol, "data": str(tiny_data), "batch_size": batch, "crop": 32,
                                     "num_workers": 0})
        dm = SIRSTDataModule(cfg)
        dm.setup("fit")
        n = len(dm.train_set)
        if n % batch and n >= 2 * batch:
            break
    assert n % batch  # a partial last batch exists
    loader = dm.train_dataloader()
    assert len(loader) == (-(-n // batch) if protocol == "authors" else n // batch)


def _captured_input(mod, h, w):
    seen = {}
    net = mod.network

    def hook(_m, args):
        seen["x"] = args[0].detach().clone()

    handle = net.register_forward_pre_hook(hook)
    try:
        mod.eval()
        batch = {"image": torch.zeros(1, 1, h, w), "mask": torch.zeros(1, 1, h, w)}
        mod.validation_step(batch, 0)
    finally:
        handle.remove()
    return seen["x"]


def test_validation_padding_black_is_raw_zero():
    mod = _module()
    x = _captured_input(mod, 40, 50)  # ACM pads to a multiple of its size_multiple
    assert x.shape[-2] % mod.size_multiple == 0 and x.shape[-2] > 40 and x.shape[-1] > 50
    assert torch.all(x[..., :40, :50] == 0)
    assert torch.allclose(x[..., 40:, :], torch.tensor(-100.0 / 25.0))  # raw 0 after (x - mean) / std
    assert torch.allclose(x[..., :, 50:], torch.tensor(-100.0 / 25.0))
    fd = _module(protocol="fdep")
    assert torch.all(_captured_input(fd, 40, 50) == 0)  # fdep: the mean grey (0 after normalising)


def test_validation_runs_in_fp32_under_a_bf16_training_precision():
    dtypes = {}

    def run(mod):
        conv = next(m for m in mod.network.modules() if isinstance(m, torch.nn.Conv2d))
        handle = conv.register_forward_hook(lambda _m, _a, out: dtypes.__setitem__(mod.cfg.protocol, out.dtype))
        try:
            with torch.autocast("cpu", dtype=torch.bfloat16):  # what Lightning wraps validation_step in
                _captured_input(mod, 32, 32)
        finally:
            handle.remove()

    run(_module())
    run(_module(protocol="fdep"))
    assert dtypes == {"authors": torch.float32, "fdep": torch.bfloat16}


def test_selection_rule():
    from fdep.training.selection import SelectionCheckpoint

    authors = SelectionCheckpoint(monitor="val/iou", mode="max", select_from=2, floor=0.0)
    assert not authors.selectable(1, 0.5)  # the authors do not validate epoch 1
    assert not authors.selectable(2, 0.0)  # best_mIoU starts at 0: IoU 0 saves nothing
    assert authors.selectable(2, 1e-6) and not authors.selectable(3, float("nan"))
    fdep = SelectionCheckpoint(monitor="val/hse", mode="max")
    assert fdep.selectable(1, 0.0) and fdep.selectable(1, -1.0)


def test_training_probabilities_on_target_and_background():
    mod = _module()
    y = torch.zeros(1, 1, 2, 2)
    y[0, 0, 0, 0] = 1
    logit = torch.logit(torch.tensor([[[[0.9, 0.2], [0.4, 0.3]]]]))
    mod._track_probabilities({"light": [logit * 0, logit]}, y)  # deep supervision: the final map counts
    p_t, p_b = mod.train_probabilities()
    assert p_t == pytest.approx(0.9) and p_b == pytest.approx((0.2 + 0.4 + 0.3) / 3)
    mod._reset_train_probs()
    assert all(v != v for v in mod.train_probabilities())  # nan before any batch
