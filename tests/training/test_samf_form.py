"""The SAMF form in configs and checkpoints: default, paper configs, legacy checkpoints, resume checks."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from fdep.errors import ConfigError, WeightsError
from fdep.framework import SAMF, SAMF_FORMS
from fdep.framework.samf import DEFAULT_SAMF_FORM, LEGACY_SAMF_FORM
from fdep.training import checkpoint as ckpt_mod
from fdep.training import config as config_mod
from fdep.training.build import build_model
from fdep.training.checkpoint import config_from_checkpoint, load_model_from_checkpoint
from fdep.training.config import TrainConfig, resolve

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
#: a VFM description (FDEPModel needs no VFM module for variant fdep's light-branch inference)
DESC = {"name": "tiny", "layers": [1, 2], "embed_dim": 32, "patch_size": 14}


def test_config_forms_follow_the_framework():
    assert config_mod.SAMF_FORMS == SAMF_FORMS
    assert TrainConfig().samf_form == DEFAULT_SAMF_FORM == "table1"
    assert ckpt_mod.LEGACY_SAMF_FORM == LEGACY_SAMF_FORM == "literal"
    assert resolve(None, {"samf_form": "literal"}).samf_form == "literal"
    with pytest.raises(ConfigError, match="samf_form"):
        resolve(None, {"samf_form": "eq1-6"})


def test_paper_configs_use_the_table1_form():
    files = sorted(p for d in ("nuaa-sirst", "nudt-sirst", "irstd-1k", "sirst3") for p in (CONFIGS / d).glob("*.yaml"))
    fdep = [p for p in files if "_fdep" in p.name]
    assert len(fdep) == 8 * 2 * 4
    for p in fdep:
        assert config_mod.load_yaml(p).get("samf_form") == "table1", p
        assert resolve(p, {}).samf_form == "table1"


def _checkpoint(form: str, recorded: str | None, path: Path) -> Path:
    """A variant-fdep checkpoint of ACM trained with SAMF ``form``; its config records ``recorded``
    (None: no samf_form key, as written before forms existed)."""
    cfg = TrainConfig(model="acm", variant="fdep", vfm_layers=[1, 2], mean=100.0, std=30.0, samf_form=form)
    torch.manual_seed(0)
    model = build_model(cfg, vfm=dict(DESC))
    assert all(isinstance(f, SAMF) and f.form == form for f in model.fusions)
    hp = cfg.to_dict()
    if recorded is None:
        del hp["samf_form"]
    else:
        hp["samf_form"] = recorded
    torch.save({"state_dict": {f"model.{k}": v for k, v in model.state_dict().items()}, "hyper_parameters": hp,
                "fdep": {"format": 1, "model": "acm", "variant": "fdep", "vfm": dict(DESC)}}, path)
    return path


def test_legacy_checkpoint_reloads_with_the_literal_form(tmp_path):
    path = _checkpoint("literal", None, tmp_path / "old.ckpt")
    assert config_from_checkpoint(torch.load(path, weights_only=True)).samf_form == "literal"
    net, meta = load_model_from_checkpoint(path)
    assert meta["config"]["samf_form"] == "literal"
    assert net(torch.zeros(1, 1, 32, 32)).shape == (1, 1, 32, 32)


def test_recorded_form_is_used_and_a_wrong_one_is_refused(tmp_path):
    _, meta = load_model_from_checkpoint(_checkpoint("table1", "table1", tmp_path / "new.ckpt"))
    assert meta["config"]["samf_form"] == "table1"
    with pytest.raises(WeightsError, match="do not fit"):
        load_model_from_checkpoint(_checkpoint("table1", None, tmp_path / "mislabelled.ckpt"))


def test_resume_with_another_form_is_one_line_error(tmp_path):
    from fdep.training.module import SIRSTModule

    ckpt = torch.load(_checkpoint("literal", None, tmp_path / "old.ckpt"), weights_only=True)
    cfg = TrainConfig(model="acm", variant="fdep", vfm_layers=[1, 2], mean=100.0, std=30.0)  # table1 default
    module = SIRSTModule(vfm_module=dict(DESC), **cfg.to_dict())
    with pytest.raises(WeightsError, match="samf_form 'literal', this run uses 'table1'"):
        module.on_load_checkpoint(ckpt)
    same = SIRSTModule(vfm_module=dict(DESC), **cfg.replace(samf_form="literal").to_dict())
    same.on_load_checkpoint(ckpt)  # the form it was trained with: accepted
