"""HugGAN (huggingface/community-events huggan/pytorch) pix2pix / CycleGAN networks and files.

No reference code is on disk. Parity evidence is of two kinds, both written from the published
layer lists (docs/huggan.md quotes them, from huggingface/community-events @ 33a0ed27):

* key and shape lists derived in this file from those layer lists (``published_*_keys``), as
  data, independently of ``zoo.archs.huggan``;
* an independent functional formulation of each forward pass (``torch.nn.functional`` calls on
  the raw state dict, nearest upsampling written as ``repeat_interleave``), compared in float64.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import zoo
import zoo.formats
from conftest import PARITY
from zoo.archs import build, load_strict
from zoo.archs.huggan import (
    HugganCycleGANDiscriminator,
    HugganPix2PixDiscriminator,
    HugganResNetGenerator,
    HugganUNetGenerator,
    resnet_output_size,
)
from zoo.errors import CheckpointError
from zoo.formats import esrgan as esrgan_reader
from zoo.formats import huggan as huggan_reader
from zoo.formats import pix2pix as junyanz_reader
from zoo.formats import read_official
from zoo.formats.checkpoint import read_checkpoint

# ------------------------------------------------------------------------------------------------
# The published layer lists, as data (test oracle; transcribed from modeling_pix2pix.py and
# modeling_cyclegan.py @ 33a0ed27, not imported from zoo).

UNET_DOWN = [  # name, in, out (Conv2d 4x4 s2 p1, bias=False)
    ("down1", None, 64), ("down2", 64, 128), ("down3", 128, 256), ("down4", 256, 512),
    ("down5", 512, 512), ("down6", 512, 512), ("down7", 512, 512), ("down8", 512, 512),
]
UNET_UP = [  # name, in, out (ConvTranspose2d 4x4 s2 p1, bias=False)
    ("up1", 512, 512), ("up2", 1024, 512), ("up3", 1024, 512), ("up4", 1024, 512),
    ("up5", 1024, 256), ("up6", 512, 128), ("up7", 256, 64),
]
UNET_NORM = {"down1": False, "down8": False}  # every other down and every up has InstanceNorm2d


def published_unet_keys(in_ch: int, out_ch: int) -> dict[str, tuple[int, ...]]:
    keys: dict[str, tuple[int, ...]] = {}
    for name, cin, cout in UNET_DOWN:
        keys[f"{name}.model.0.weight"] = (cout, cin or in_ch, 4, 4)
    for name, cin, cout in UNET_UP:
        keys[f"{name}.model.0.weight"] = (cin, cout, 4, 4)  # ConvTranspose2d: [in, out, k, k]
    keys["final.2.weight"] = (out_ch, 128, 4, 4)  # final = [Upsample, ZeroPad2d, Conv2d, Tanh]
    keys["final.2.bias"] = (out_ch,)
    return keys


def published_resnet_layers(channels: int, n_blocks: int) -> list[tuple]:
    """GeneratorResNet's ``model`` Sequential, one tuple per layer."""
    layers: list[tuple] = [("reflect", channels), ("conv", channels, 64, 7, 1, 0), ("in",), ("relu",)]
    layers += [("conv", 64, 128, 3, 2, 1), ("in",), ("relu",), ("conv", 128, 256, 3, 2, 1), ("in",), ("relu",)]
    layers += [("block", 256)] * n_blocks
    layers += [("up",), ("conv", 256, 128, 3, 1, 1), ("in",), ("relu",), ("up",), ("conv", 128, 64, 3, 1, 1), ("in",), ("relu",)]
    layers += [("reflect", channels), ("conv", 64, channels, 7, 1, 0), ("tanh",)]
    return layers


def published_resnet_keys(channels: int, n_blocks: int) -> dict[str, tuple[int, ...]]:
    keys: dict[str, tuple[int, ...]] = {}
    for i, layer in enumerate(published_resnet_layers(channels, n_blocks)):
        if layer[0] == "conv":
            _, cin, cout, k, _, _ = layer
            keys[f"model.{i}.weight"], keys[f"model.{i}.bias"] = (cout, cin, k, k), (cout,)
        elif layer[0] == "block":  # block = [ReflPad, Conv, IN, ReLU, ReflPad, Conv, IN]
            for j in (1, 5):
                keys[f"model.{i}.block.{j}.weight"], keys[f"model.{i}.block.{j}.bias"] = (256, 256, 3, 3), (256,)
    return keys


def published_d_layers(in_ch: int, last_bias: bool) -> list[tuple]:
    layers: list[tuple] = []
    for cin, cout, norm in ((in_ch, 64, False), (64, 128, True), (128, 256, True), (256, 512, True)):
        layers.append(("conv", cin, cout, 4, 2, 1, True))
        if norm:
            layers.append(("in",))
        layers.append(("lrelu",))
    return layers + [("zeropad",), ("conv", 512, 1, 4, 1, 1, last_bias)]


def published_d_keys(in_ch: int, last_bias: bool) -> dict[str, tuple[int, ...]]:
    keys: dict[str, tuple[int, ...]] = {}
    for i, layer in enumerate(published_d_layers(in_ch, last_bias)):
        if layer[0] == "conv":
            _, cin, cout, k, _, _, bias = layer
            keys[f"model.{i}.weight"] = (cout, cin, k, k)
            if bias:
                keys[f"model.{i}.bias"] = (cout,)
    return keys


def shapes(net) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in net.state_dict().items()}


# ------------------------------------------------------------------------------------------------
# Independent functional formulations (eval mode: no dropout; InstanceNorm = per-sample stats)


def nearest2(x: torch.Tensor) -> torch.Tensor:
    return x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)


def inorm(x: torch.Tensor) -> torch.Tensor:
    mean = x.mean(dim=(2, 3), keepdim=True)
    var = x.var(dim=(2, 3), keepdim=True, unbiased=False)
    return (x - mean) / torch.sqrt(var + 1e-5)


def functional_unet(sd: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    skips = []
    for name, _, _ in UNET_DOWN:
        x = F.conv2d(x, sd[f"{name}.model.0.weight"], None, stride=2, padding=1)
        if UNET_NORM.get(name, True):
            x = inorm(x)
        x = F.leaky_relu(x, 0.2)
        skips.append(x)
    x = skips.pop()
    for name, _, _ in UNET_UP:
        x = F.relu(inorm(F.conv_transpose2d(x, sd[f"{name}.model.0.weight"], None, stride=2, padding=1)))
        x = torch.cat([x, skips.pop()], 1)
    x = F.pad(nearest2(x), (1, 0, 1, 0))
    return torch.tanh(F.conv2d(x, sd["final.2.weight"], sd["final.2.bias"], padding=1))


def functional_resnet(sd: dict[str, torch.Tensor], x: torch.Tensor, channels: int, n_blocks: int) -> torch.Tensor:
    for i, layer in enumerate(published_resnet_layers(channels, n_blocks)):
        kind = layer[0]
        if kind == "reflect":
            x = F.pad(x, (layer[1],) * 4, mode="reflect")
        elif kind == "conv":
            x = F.conv2d(x, sd[f"model.{i}.weight"], sd[f"model.{i}.bias"], stride=layer[4], padding=layer[5])
        elif kind == "in":
            x = inorm(x)
        elif kind == "relu":
            x = F.relu(x)
        elif kind == "up":
            x = nearest2(x)
        elif kind == "tanh":
            x = torch.tanh(x)
        elif kind == "block":
            y = F.pad(x, (1, 1, 1, 1), mode="reflect")
            y = F.relu(inorm(F.conv2d(y, sd[f"model.{i}.block.1.weight"], sd[f"model.{i}.block.1.bias"])))
            y = F.pad(y, (1, 1, 1, 1), mode="reflect")
            x = x + inorm(F.conv2d(y, sd[f"model.{i}.block.5.weight"], sd[f"model.{i}.block.5.bias"]))
    return x


def functional_d(sd: dict[str, torch.Tensor], x: torch.Tensor, last_bias: bool) -> torch.Tensor:
    for i, layer in enumerate(published_d_layers(x.shape[1], last_bias)):
        kind = layer[0]
        if kind == "conv":
            x = F.conv2d(x, sd[f"model.{i}.weight"], sd.get(f"model.{i}.bias"), stride=layer[4], padding=layer[5])
        elif kind == "in":
            x = inorm(x)
        elif kind == "lrelu":
            x = F.leaky_relu(x, 0.2)
        elif kind == "zeropad":
            x = F.pad(x, (1, 0, 1, 0))
    return x


def official_init(net: torch.nn.Module, seed: int) -> torch.nn.Module:
    """The HugGAN scripts' ``weights_init_normal`` (convs N(0, 0.02)), plus small random biases."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * (0.02 if name.endswith("weight") else 0.1))
    return net.eval()


def image(shape, seed: int, dtype=torch.float32) -> torch.Tensor:
    return (torch.rand(shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1).to(dtype)


@pytest.fixture(scope="module")
def unet() -> HugganUNetGenerator:
    return official_init(HugganUNetGenerator(), 1)


@pytest.fixture(scope="module")
def unet_files(unet, tmp_path_factory):
    """The UNet saved as the 2022 mixin did (pytorch_model.bin) and as safetensors."""
    from safetensors.torch import save_file

    folder = tmp_path_factory.mktemp("huggan-unet")
    torch.save(unet.state_dict(), folder / "pytorch_model.bin")
    save_file({k: v.contiguous() for k, v in unet.state_dict().items()}, str(folder / "model.safetensors"))
    return folder


# ------------------------------------------------------------------------------------------------
# Keys and numerics


def test_state_dict_keys_match_the_published_layer_lists():
    with torch.device("meta"):
        check_published_keys()


def check_published_keys():
    assert shapes(HugganUNetGenerator()) == published_unet_keys(3, 3)
    assert list(HugganUNetGenerator(1, 2).state_dict()) == list(published_unet_keys(1, 2))
    assert shapes(HugganUNetGenerator(1, 2)) == published_unet_keys(1, 2)
    for channels, n in ((3, 9), (3, 6), (1, 2), (3, 0)):
        assert shapes(HugganResNetGenerator(channels, n)) == published_resnet_keys(channels, n)
    keys9 = list(HugganResNetGenerator(3, 9).state_dict())
    assert keys9[:6] == ["model.1.weight", "model.1.bias", "model.4.weight", "model.4.bias", "model.7.weight", "model.7.bias"]
    assert "model.18.block.5.bias" in keys9 and keys9[-6:] == [
        "model.20.weight", "model.20.bias", "model.24.weight", "model.24.bias", "model.28.weight", "model.28.bias"]
    assert shapes(HugganPix2PixDiscriminator(3)) == published_d_keys(6, last_bias=False)
    assert shapes(HugganCycleGANDiscriminator(3)) == published_d_keys(3, last_bias=True)


def test_test_time_semantics():
    with torch.device("meta"):
        unet = HugganUNetGenerator()
    norms = [m for m in unet.modules() if isinstance(m, torch.nn.InstanceNorm2d)]
    assert len(norms) == 6 + 7 and all(not m.affine and not m.track_running_stats for m in norms)
    dropouts = [name for name, m in unet.named_modules() if isinstance(m, torch.nn.Dropout)]
    assert dropouts == [f"down{i}.model.{2 if i == 8 else 3}" for i in range(4, 9)] + [f"up{i}.model.3" for i in range(1, 5)]
    assert all(m.p == 0.5 for m in unet.modules() if isinstance(m, torch.nn.Dropout))
    ups = [m for m in HugganResNetGenerator(3, 1).modules() if isinstance(m, torch.nn.Upsample)]
    assert len(ups) == 2 and all(m.mode == "nearest" and m.scale_factor == 2 for m in ups)


def test_unet_matches_the_functional_formulation(unet):
    # float32 (the UNet is large; float64 convs are slow on CPU): a structural slip would show as
    # differences of order 0.1, rounding differences stay near 1e-6.
    x = image((2, 3, 256, 256), 0)
    with torch.no_grad():
        ours = unet(x)
        reference = functional_unet(unet.state_dict(), x)
        again = unet(x)
    assert ours.shape == (2, 3, 256, 256)
    assert (ours - reference).abs().max().item() < 1e-5
    assert torch.equal(ours, again), "eval mode is deterministic (dropout off)"
    assert 0.01 < reference.std().item() and reference.abs().max().item() < 1


def test_unet_dropout_is_active_only_in_train_mode(unet):
    x = image((1, 3, 256, 256), 3)
    try:
        unet.train()
        with torch.no_grad():
            a, b = unet(x), unet(x)
    finally:
        unet.eval()
    assert not torch.equal(a, b)
    with torch.no_grad():
        assert torch.equal(unet(x), unet(x))


@pytest.mark.parametrize("channels, n_blocks, size", [(3, 9, (32, 24)), (3, 2, (32, 32)), (1, 2, (48, 40)), (2, 0, (28, 36))])
def test_resnet_matches_the_functional_formulation(channels, n_blocks, size):
    net = official_init(HugganResNetGenerator(channels, n_blocks), 4).double()
    x = image((1, channels, *size), 5, torch.float64)
    with torch.no_grad():
        ours = net(x)
        reference = functional_resnet(net.state_dict(), x, channels, n_blocks)
    expected = (1, channels, resnet_output_size(size[0], channels), resnet_output_size(size[1], channels))
    assert tuple(reference.shape) == expected == tuple(ours.shape)
    if channels == 3:
        assert expected[2:] == size
    else:  # the ReflectionPad2d(channels) quirk changes the size
        assert expected[2:] != size
    assert (ours - reference).abs().max().item() < 1e-10


def test_discriminators_match_the_functional_formulation():
    a, b = image((2, 3, 64, 48), 6, torch.float64), image((2, 3, 64, 48), 7, torch.float64)
    d_p2p = official_init(HugganPix2PixDiscriminator(3), 8).double()
    d_cyc = official_init(HugganCycleGANDiscriminator(3), 9).double()
    with torch.no_grad():
        p2p, cyc = d_p2p(a, b), d_cyc(a)
        assert p2p.shape == cyc.shape == (2, 1, 4, 3)
        assert (p2p - functional_d(d_p2p.state_dict(), torch.cat([a, b], 1), False)).abs().max().item() < 1e-10
        assert (cyc - functional_d(d_cyc.state_dict(), a, True)).abs().max().item() < 1e-10


def test_size_checks():
    with pytest.raises(ValueError, match="multiples of 256"):
        HugganUNetGenerator()(torch.zeros(1, 3, 128, 256))
    with pytest.raises(ValueError, match="multiples of 4"):
        HugganResNetGenerator(3, 0)(torch.zeros(1, 3, 30, 32))
    with pytest.raises(ValueError, match=r"\[N, 3, H, W\]"):
        HugganResNetGenerator(3, 0)(torch.zeros(1, 1, 32, 32))


# ------------------------------------------------------------------------------------------------
# Reading files


def outputs_equal(net_a, net_b, x) -> bool:
    with torch.no_grad():
        return torch.equal(net_a(x), net_b(x))


def load_converted(converted, what="test"):
    net = build(converted.arch, converted.arch_kwargs)
    load_strict(net, converted.state_dict, what=what)
    return net.eval()


def same_tensors(converted, net) -> bool:
    """The converted state dict holds exactly ``net``'s tensors (read_official checked keys and shapes)."""
    ours = net.state_dict()
    return set(converted.state_dict) == set(ours) and all(torch.equal(v, ours[k]) for k, v in converted.state_dict.items())


def test_unet_round_trips_through_read_official(unet, unet_files):
    for name in ("pytorch_model.bin", "model.safetensors"):
        converted = read_official(unet_files / name)
        assert (converted.family, converted.arch, converted.layout) == ("pix2pix", "huggan_unet", "huggan-unet")
        assert converted.arch_kwargs == {"in_channels": 3, "out_channels": 3}
        assert sorted(converted.state_dict) == sorted(published_unet_keys(3, 3))
        assert same_tensors(converted, unet)
    assert outputs_equal(load_converted(converted), unet, image((1, 3, 256, 256), 10))
    config = read_official(unet_files / "pytorch_model.bin", official_kwargs={"in_channels": 3, "out_channels": 3})
    assert config.arch_kwargs == {"in_channels": 3, "out_channels": 3}
    with pytest.raises(CheckpointError, match="in_channels=1 contradicts the weights"):
        read_official(unet_files / "pytorch_model.bin", official_kwargs={"in_channels": 1})
    with pytest.raises(CheckpointError, match="unknown config key 'num_residual_blocks'"):
        read_official(unet_files / "pytorch_model.bin", official_kwargs={"num_residual_blocks": 9})


@pytest.mark.parametrize("legacy", [False, True])
def test_resnet_round_trips_through_read_official(tmp_path, legacy):
    from safetensors.torch import save_file

    net = official_init(HugganResNetGenerator(3, 9), 11)
    sd = net.state_dict()
    torch.save(sd, tmp_path / "pytorch_model.bin", _use_new_zipfile_serialization=not legacy)
    save_file({k: v.contiguous() for k, v in sd.items()}, str(tmp_path / "model.safetensors"))
    x = image((1, 3, 32, 32), 12)
    for name in ("pytorch_model.bin", "model.safetensors"):
        converted = read_official(tmp_path / name)
        assert (converted.family, converted.arch, converted.layout) == ("cyclegan", "huggan_resnet", "huggan-resnet")
        assert converted.arch_kwargs == {"channels": 3, "num_residual_blocks": 9}
        assert outputs_equal(load_converted(converted), net, x)
    hub_config = {"input_shape": [3, 256, 256], "num_residual_blocks": 9}
    converted = read_official(tmp_path / "model.safetensors", official_kwargs=hub_config)
    assert converted.arch_kwargs == {"channels": 3, "num_residual_blocks": 9}
    assert any("input_shape" in note for note in converted.notes)
    train_names = {"channels": 3, "n_residual_blocks": 9}  # the train.py argument names
    assert read_official(tmp_path / "model.safetensors", official_kwargs=train_names).arch_kwargs == converted.arch_kwargs
    with pytest.raises(CheckpointError, match="num_residual_blocks=6 contradicts the weights, which say 9"):
        read_official(tmp_path / "model.safetensors", official_kwargs={"input_shape": [3, 256, 256], "num_residual_blocks": 6})
    with pytest.raises(CheckpointError, match="channels=1 contradicts the weights"):
        read_official(tmp_path / "model.safetensors", official_kwargs={"input_shape": [1, 256, 256]})
    with pytest.raises(CheckpointError, match="input_shape must be"):
        read_official(tmp_path / "model.safetensors", official_kwargs={"input_shape": 3})
    with pytest.raises(CheckpointError, match="unknown config key 'in_channels'"):
        read_official(tmp_path / "model.safetensors", official_kwargs={"in_channels": 3})


def test_other_resnet_shapes_and_module_prefix(tmp_path):
    net = official_init(HugganResNetGenerator(1, 3), 13)
    torch.save({f"module.{k}": v for k, v in net.state_dict().items()}, tmp_path / "g.pth")
    converted = read_official(tmp_path / "g.pth")
    assert converted.arch_kwargs == {"channels": 1, "num_residual_blocks": 3}
    assert any("output size" in note for note in converted.notes)
    assert outputs_equal(load_converted(converted), net, image((1, 1, 40, 40), 14))
    empty = official_init(HugganResNetGenerator(3, 0), 15)
    torch.save(empty.state_dict(), tmp_path / "g0.pth")
    assert read_official(tmp_path / "g0.pth").arch_kwargs == {"channels": 3, "num_residual_blocks": 0}


def test_strictness(tmp_path):
    sd = HugganResNetGenerator(3, 2).state_dict()
    extra = {**sd, "model.2.running_mean": torch.zeros(64)}
    with pytest.raises(CheckpointError, match="unexpected key 'model.2.running_mean'"):
        zoo.formats.convert_checkpoint(extra)
    missing = {k: v for k, v in sd.items() if k != "model.13.bias"}
    with pytest.raises(CheckpointError, match="1 missing"):
        zoo.formats.convert_checkpoint(missing)
    gap = {k: v for k, v in sd.items() if not k.startswith("model.11.block.")}  # blocks must be contiguous
    with pytest.raises(CheckpointError):
        zoo.formats.convert_checkpoint(gap)
    usd = HugganUNetGenerator().state_dict()
    wrong = {**usd, "up7.model.0.weight": torch.zeros(256, 32, 4, 4)}
    with pytest.raises(CheckpointError, match="wrong shape"):
        zoo.formats.convert_checkpoint(wrong)
    with pytest.raises(CheckpointError, match="unexpected key 'final.3.weight'"):
        zoo.formats.convert_checkpoint({**usd, "final.3.weight": torch.zeros(1)})


def test_discriminator_files_convert():
    for net, arch, family, kwargs in (
        (official_init(HugganPix2PixDiscriminator(3), 16), "huggan_pix2pix_d", "pix2pix", {"in_channels": 3}),
        (official_init(HugganCycleGANDiscriminator(1), 17), "huggan_cyclegan_d", "cyclegan", {"channels": 1}),
    ):
        converted = huggan_reader.convert(net.state_dict())
        assert (converted.arch, converted.family, converted.arch_kwargs) == (arch, family, kwargs)
        zoo.formats.check_keys(converted, "test")
        rebuilt = load_converted(converted)
        x = image((1, kwargs.get("in_channels", kwargs.get("channels")), 32, 32), 18)
        args = (x, x.flip(3)) if family == "pix2pix" else (x,)
        with torch.no_grad():
            assert torch.equal(rebuilt(*args), net(*args))


def test_discriminator_files_through_read_official(tmp_path):
    torch.save(HugganCycleGANDiscriminator(3).state_dict(), tmp_path / "D_A_10.pth")
    assert read_official(tmp_path / "D_A_10.pth").arch == "huggan_cyclegan_d"


def junyanz_state_dicts():
    yield "unet-batch", build("unet", {"num_downs": 7, "ngf": 8, "norm": "batch", "use_dropout": True}).state_dict()
    yield "unet-instance", build("unet", {"num_downs": 8, "ngf": 8, "norm": "instance"}).state_dict()
    for norm in ("instance", "batch", "none"):
        yield f"resnet-{norm}", build("resnet", {"ngf": 8, "n_blocks": 2, "norm": norm}).state_dict()
        yield f"nlayer-{norm}", build("nlayer_d", {"ndf": 8, "n_layers": 3, "norm": norm}).state_dict()
        yield f"pixel-{norm}", build("pixel_d", {"ndf": 8, "norm": norm}).state_dict()
    for case in sorted(PARITY.glob("*/*/checkpoint*.pth")):
        obj = read_checkpoint(case)
        yield case.parent.name, obj


def test_huggan_reader_claims_no_junyanz_or_esrgan_file():
    seen = 0
    for name, obj in junyanz_state_dicts():
        assert huggan_reader.convert(obj) is None, name
        seen += 1
    assert seen >= 15


def test_other_readers_claim_no_huggan_generator():
    with torch.device("meta"):
        check_other_readers()


def check_other_readers():
    for sd in (HugganUNetGenerator().state_dict(), HugganResNetGenerator(3, 9).state_dict(), HugganResNetGenerator(3, 0).state_dict()):
        assert esrgan_reader.convert(sd) is None
        assert junyanz_reader.convert(sd) is None
    for sd in (HugganPix2PixDiscriminator().state_dict(), HugganCycleGANDiscriminator().state_dict()):
        assert esrgan_reader.convert(sd) is None


# ------------------------------------------------------------------------------------------------
# Hub repos laid out like the HugGAN ones


def hub_files(repo_id: str, sha: str, endpoint: str, cache: Path) -> tuple[Path, Path | None]:
    """(weights, config.json or None) of a mixin repo, as loading.py would fetch them."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    def get(name: str) -> Path | None:
        try:
            return Path(hf_hub_download(repo_id, name, revision=sha, endpoint=endpoint, cache_dir=cache))
        except EntryNotFoundError:
            return None

    config = get("config.json")
    for name in huggan_reader.MIXIN_WEIGHTS:
        weights = get(name)
        if weights is not None:
            return weights, config
    raise AssertionError("no weights")


README = b"---\ntags:\n- huggan\n- gan\nlicense: mit\n---\n\n# MyModelName\n"
GITATTRIBUTES = b"*.bin filter=lfs diff=lfs merge=lfs -text\n"


def test_hub_repo_without_config_json(online, fresh_cache, local_hub, unet, unet_files, tmp_path):
    files = {".gitattributes": GITATTRIBUTES, "README.md": README, "pytorch_model.bin": (unet_files / "pytorch_model.bin").read_bytes()}
    sha = local_hub.add_repo("huggan/pix2pix-facades", files)
    weights, config = hub_files("huggan/pix2pix-facades", sha, local_hub.url, tmp_path / "hf")
    assert weights.name == "pytorch_model.bin" and config is None
    converted = huggan_reader.read_mixin_files(weights, config)
    assert (converted.family, converted.arch, converted.layout) == ("pix2pix", "huggan_unet", "huggan-unet")
    assert same_tensors(converted, unet)


def test_hub_repo_with_config_json(online, fresh_cache, local_hub, tmp_path):
    from safetensors.torch import save_file

    net = official_init(HugganResNetGenerator(3, 2), 20)
    torch.save(net.state_dict(), tmp_path / "pytorch_model.bin")
    config = {"input_shape": [3, 256, 256], "num_residual_blocks": 2}
    files = {
        "README.md": README,
        "pytorch_model.bin": (tmp_path / "pytorch_model.bin").read_bytes(),
        "config.json": json.dumps(config).encode(),
    }
    sha = local_hub.add_repo("Someone/sim2real-tiny", files)
    weights, config_path = hub_files("Someone/sim2real-tiny", sha, local_hub.url, tmp_path / "hf")
    converted = huggan_reader.read_mixin_files(weights, config_path)
    assert (converted.family, converted.arch) == ("cyclegan", "huggan_resnet")
    assert converted.arch_kwargs == {"channels": 3, "num_residual_blocks": 2}
    assert outputs_equal(load_converted(converted), net, image((1, 3, 32, 32), 21))

    # the newer mixin layout (model.safetensors + kwargs config.json) reads the same way
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(tmp_path / "model.safetensors"))
    newer = local_hub.commit_files("Someone/sim2real-tiny", {"model.safetensors": (tmp_path / "model.safetensors").read_bytes()},
                                   delete=("pytorch_model.bin",))
    weights, config_path = hub_files("Someone/sim2real-tiny", newer, local_hub.url, tmp_path / "hf")
    assert weights.name == "model.safetensors"
    assert huggan_reader.read_mixin_files(weights, config_path).arch_kwargs == converted.arch_kwargs

    bad = local_hub.commit_files("Someone/sim2real-tiny", {"config.json": b'{"input_shape": [3, 256, 256], "num_residual_blocks": 9}'})
    weights, config_path = hub_files("Someone/sim2real-tiny", bad, local_hub.url, tmp_path / "hf")
    with pytest.raises(CheckpointError, match="num_residual_blocks=9 contradicts the weights, which say 2"):
        huggan_reader.read_mixin_files(weights, config_path)


def test_a_gan_zoo_config_is_not_an_official_one(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"family": "cyclegan", "arch": "huggan_resnet", "arch_kwargs": {}}))
    with pytest.raises(CheckpointError, match="gan-zoo converted folder"):
        huggan_reader.read_mixin_config(tmp_path / "config.json")


def test_hf_reference_loads_a_huggan_repo(online, fresh_cache, local_hub, tmp_path):
    from zoo.loading import load_network

    net = official_init(HugganResNetGenerator(3, 2), 22)
    torch.save(net.state_dict(), tmp_path / "pytorch_model.bin")
    files = {"README.md": README, "pytorch_model.bin": (tmp_path / "pytorch_model.bin").read_bytes()}
    sha = local_hub.add_repo("huggingnft/tiny__2__tiny", files)
    loaded, info, cfg = load_network(f"hf:huggingnft/tiny__2__tiny@{sha}")
    assert cfg["arch"] == "huggan_resnet" and info.family == "cyclegan"
    assert outputs_equal(loaded, net, image((1, 3, 32, 32), 23))

    # the same reference gives a working translator: [0, 1] pixels in, the network's output back
    translator = zoo.load(f"hf:huggingnft/tiny__2__tiny@{sha}")
    assert translator.task == "translate"
    x = image((1, 3, 32, 36), 24)
    pixels = np.rint((x[0].permute(1, 2, 0).numpy() + 1) / 2 * 255).astype(np.uint8)
    with torch.no_grad():
        y = net.eval()(torch.from_numpy(pixels.astype(np.float32) / 255).permute(2, 0, 1)[None] * 2 - 1)
    expected = np.rint(np.clip((y[0].permute(1, 2, 0).numpy() + 1) / 2, 0, 1) * 255)
    assert np.abs(translator.translate_array(pixels).astype(int) - expected).max() <= 1
