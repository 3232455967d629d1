"""ESRGAN-family layouts: detection, config inference and overrides, and the released manifests."""

from __future__ import annotations

import json
import re

import pytest
import torch

from conftest import PARITY
from zoo.archs import build, load_strict
from zoo.archs.esrgan import RRDBNet, SRVGGNetCompact
from zoo.errors import CheckpointError
from zoo.formats import convert_checkpoint

MANIFESTS = sorted((PARITY / "esrgan" / "manifests").glob("*.json"))


def meta_state_dict(shapes: dict[str, list[int]]) -> dict[str, torch.Tensor]:
    return {k: torch.empty(shape, device="meta") for k, shape in shapes.items()}


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.stem)
def test_manifest_keys_and_shapes_match_exactly(path):
    manifest = json.loads(path.read_text())
    official = meta_state_dict(manifest["state_dict"])
    wrapped = {manifest["wrapper_keys"][0]: official} if manifest["wrapper_keys"] else official
    inferred = convert_checkpoint(wrapped)  # nothing but the weights
    given = convert_checkpoint(wrapped, official_kwargs=manifest["config"])  # the official kwargs agree
    assert inferred.arch_kwargs == given.arch_kwargs
    net = build(inferred.arch, inferred.arch_kwargs)
    ours = {k: list(v.shape) for k, v in net.state_dict().items()}
    converted = {k: list(v.shape) for k, v in inferred.state_dict.items()}
    assert list(converted) == list(ours), "keys differ (or their order does)"
    assert converted == ours
    assert len(ours) == manifest["num_tensors"]
    assert sum(p.numel() for p in net.parameters()) == manifest["num_params"]


def _basicsr_sd(**kwargs) -> dict[str, torch.Tensor]:
    return RRDBNet(**kwargs).state_dict()


def to_new_arch(sd):
    rules = [(r"body\.(\d+)\.rdb(\d)\.", r"RRDB_trunk.\1.RDB\2."), (r"^conv_body", "trunk_conv"), (r"^conv_up(\d)", r"upconv\1"), (r"^conv_hr", "HRconv")]
    out = {}
    for k, v in sd.items():
        for p, r in rules:
            k = re.sub(p, r, k)
        out[k] = v
    return out


def to_old_arch(sd, num_block: int, num_up: int):
    out = {}
    for k, v in sd.items():
        if m := re.match(r"body\.(\d+)\.rdb(\d)\.(conv\d)\.(\w+)", k):
            k = f"model.1.sub.{m[1]}.RDB{m[2]}.{m[3]}.0.{m[4]}"
        elif m := re.match(r"conv_up(\d)\.(\w+)", k):
            k = f"model.{3 * int(m[1])}.{m[2]}"
        else:
            name, param = k.rsplit(".", 1)
            index = {"conv_first": "0", "conv_body": f"1.sub.{num_block}", "conv_hr": str(3 * num_up + 2), "conv_last": str(3 * num_up + 4)}[name]
            k = f"model.{index}.{param}"
        out[k] = v
    return out


@pytest.mark.parametrize("scale,unshuffle", [(4, 1), (2, 2), (1, 4)])
def test_basicsr_scales_are_inferred(scale, unshuffle):
    sd = _basicsr_sd(num_feat=8, num_block=2, num_grow_ch=4, scale=scale, unshuffle=unshuffle)
    conv = convert_checkpoint({"params": sd})
    assert conv.layout == "basicsr-rrdbnet" and conv.wrapper == "params"
    assert conv.arch_kwargs == dict(num_in_ch=3, num_out_ch=3, num_feat=8, num_block=2, num_grow_ch=4, scale=scale, unshuffle=unshuffle)
    net = build(conv.arch, conv.arch_kwargs)
    load_strict(net, conv.state_dict)
    assert net(torch.rand(1, 3, 8, 12)).shape == (1, 3, 8 * scale, 12 * scale)


def test_training_checkpoint_prefers_params_ema_and_strips_module_prefix():
    ema = _basicsr_sd(num_feat=8, num_block=1, num_grow_ch=4)
    plain = {k: torch.zeros_like(v) for k, v in ema.items()}
    conv = convert_checkpoint({"params": plain, "params_ema": {f"module.{k}": v for k, v in ema.items()}})
    assert conv.wrapper == "params_ema"
    assert all(torch.equal(conv.state_dict[k], ema[k]) for k in ema)


@pytest.mark.parametrize("scale", [1, 2, 4, 8])
def test_old_arch_all_scales(scale):
    num_up = {1: 0, 2: 1, 4: 2, 8: 3}[scale]
    ours = RRDBNet(num_feat=8, num_block=2, num_grow_ch=32, scale=scale)
    conv = convert_checkpoint(to_old_arch(ours.state_dict(), 2, num_up))
    assert conv.layout == "esrgan-old-arch"
    assert conv.arch_kwargs["scale"] == scale and conv.arch_kwargs["num_block"] == 2
    net = build(conv.arch, conv.arch_kwargs)
    load_strict(net, conv.state_dict)
    x = torch.rand(1, 3, 6, 5)
    with torch.no_grad():
        torch.testing.assert_close(net(x), ours(x))


def test_old_arch_x3_needs_the_config_and_x2_weights_fit_it():
    ours = RRDBNet(num_feat=8, num_block=1, num_grow_ch=32, scale=3)
    old = to_old_arch(ours.state_dict(), 1, 1)
    assert convert_checkpoint(old).arch_kwargs["scale"] == 2  # the keys alone say x2
    conv = convert_checkpoint(old, official_kwargs={"upscale": 3, "gc": 16, "norm_type": None, "mode": "CNA"})
    net = build(conv.arch, conv.arch_kwargs)
    load_strict(net, conv.state_dict)
    assert net(torch.rand(1, 3, 5, 7)).shape == (1, 3, 15, 21)
    with pytest.raises(CheckpointError, match="contradicts"):
        convert_checkpoint(old, official_kwargs={"upscale": 4})
    with pytest.raises(CheckpointError, match="not supported"):
        convert_checkpoint(old, official_kwargs={"norm_type": "batch"})


def test_new_arch_is_renamed_and_config_checked():
    ours = RRDBNet(num_feat=8, num_block=2, num_grow_ch=4)
    conv = convert_checkpoint(to_new_arch(ours.state_dict()), official_kwargs={"in_nc": 3, "out_nc": 3, "nf": 8, "nb": 2, "gc": 4})
    assert conv.layout == "esrgan-new-arch"
    assert list(conv.state_dict) == list(ours.state_dict())
    with pytest.raises(CheckpointError, match="nf=16 contradicts the weights, which say 8"):
        convert_checkpoint(to_new_arch(ours.state_dict()), official_kwargs={"nf": 16})
    with pytest.raises(CheckpointError, match="unknown config key 'num_feats'"):
        convert_checkpoint(to_new_arch(ours.state_dict()), official_kwargs={"num_feats": 8})
    # keys that cannot change the network are ignored
    convert_checkpoint(to_new_arch(ours.state_dict()), official_kwargs={"seed": 1, "batch": 4})


def test_srvgg_activation_comes_from_config_when_weights_cannot_tell():
    relu = SRVGGNetCompact(num_feat=8, num_conv=2, upscale=2, act_type="relu").state_dict()
    with pytest.raises(CheckpointError, match="act_type"):
        convert_checkpoint({"params": relu})
    for act in ("relu", "leakyrelu"):
        conv = convert_checkpoint({"params": relu}, official_kwargs={"act_type": act})
        assert conv.arch_kwargs["act_type"] == act
    with pytest.raises(CheckpointError, match="contradicts"):
        convert_checkpoint({"params": relu}, official_kwargs={"act_type": "prelu"})
    prelu = SRVGGNetCompact(num_feat=8, num_conv=2, upscale=3).state_dict()
    conv = convert_checkpoint({"params_ema": prelu})
    assert conv.arch_kwargs == dict(num_in_ch=3, num_out_ch=3, num_feat=8, num_conv=2, upscale=3, act_type="prelu")


def test_relu_and_leakyrelu_differ():
    """The activation matters: the same weights give different outputs (so config must decide)."""
    torch.manual_seed(0)
    a = SRVGGNetCompact(num_feat=8, num_conv=2, upscale=2, act_type="relu")
    b = SRVGGNetCompact(num_feat=8, num_conv=2, upscale=2, act_type="leakyrelu")
    b.load_state_dict(a.state_dict())
    x = torch.rand(1, 3, 8, 8)
    assert (a(x) - b(x)).abs().max() > 1e-3


def test_unknown_layouts_are_refused():
    with pytest.raises(CheckpointError, match="matches no known layout"):
        convert_checkpoint({"encoder.weight": torch.zeros(2, 2)})
    with pytest.raises(CheckpointError, match="not a dict of tensors"):
        convert_checkpoint([1, 2, 3])
    sd = _basicsr_sd(num_feat=8, num_block=1, num_grow_ch=4)
    sd["extra.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError, match="unexpected key 'extra.weight'"):
        convert_checkpoint(sd)
