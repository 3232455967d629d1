"""junyanz pix2pix / CycleGAN layouts: inference over the whole architecture grid, legacy file
flavours, the released manifests, test-time semantics, and bad input.

Facts (key layouts, legacy keys, test-time semantics) are in
tests/fixtures/parity/pix2pix_cyclegan/README.md. Nets here are small (ngf/ndf 8) and random;
full-size shapes are checked on the meta device.
"""

from __future__ import annotations

import json
import random
from collections import OrderedDict
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from conftest import PARITY
from support.hostile import CodePayload
from zoo.archs import build, load_strict
from zoo.archs.cyclegan import ResnetGenerator
from zoo.archs.norms import set_test_mode
from zoo.archs.pix2pix import NLayerDiscriminator, PixelDiscriminator, UnetGenerator
from zoo.errors import CheckpointError, UnsafeCheckpointError, WrongFamilyError
from zoo.formats import convert_checkpoint, read_official

CASES = PARITY / "pix2pix_cyclegan"
MANIFESTS = sorted((CASES / "manifests").glob("*.json"))
ESRGAN_FILE = PARITY / "esrgan" / "realesrgan_rrdbnet_x4_f16_b2_g8" / "checkpoint.pth"
NORMS = ("batch", "instance", "none")
CHANNELS = ((3, 3), (1, 3), (3, 1), (1, 1))  # (input_nc, output_nc), cycled through the grids


# ---------------------------------------------------------------------------------------------
# helpers


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These nets are tiny: one intra-op thread is ~100x faster than two on a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def randomize(net: nn.Module, seed: int) -> nn.Module:
    """Give every bias, norm parameter and BatchNorm statistic non-trivial values (as the fixtures do)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.copy_(torch.rand(module.weight.shape, generator=g) * 0.8 + 0.6)
                module.bias.copy_(torch.randn(module.bias.shape, generator=g) * 0.15)
                module.running_mean.copy_(torch.randn(module.running_mean.shape, generator=g) * 0.3)
                module.running_var.copy_(torch.rand(module.running_var.shape, generator=g) * 1.5 + 0.5)
                module.num_batches_tracked.fill_(int(torch.randint(1, 1000, (1,), generator=g)))
            elif isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)) and module.bias is not None:
                module.bias.copy_(torch.randn(module.bias.shape, generator=g) * 0.05)
    return net.eval()


def smooth_input(shape, seed: int) -> torch.Tensor:
    """A smooth random image in [-1, 1] (upsampled noise)."""
    g = torch.Generator().manual_seed(seed)
    n, c, h, w = shape
    coarse = torch.randn(n, c, max(h // 8, 1), max(w // 8, 1), generator=g)
    return torch.tanh(nn.functional.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False))


def rebuild(converted) -> nn.Module:
    net = build(converted.arch, converted.arch_kwargs)
    load_strict(net, converted.state_dict)
    return net.eval()


def outputs(net: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Eval-mode output and the official (batch statistics, dropout off) output."""
    with torch.no_grad():
        result = {"eval": set_test_mode(net, "eval")(x).clone(), "official": set_test_mode(net, "official")(x).clone()}
    set_test_mode(net, "eval")
    return result


def assert_same_net(original: nn.Module, converted, x: torch.Tensor) -> nn.Module:
    """The converted state dict holds the original's exact tensors and the rebuilt net computes the same."""
    expected = original.state_dict()
    assert list(converted.state_dict) == list(expected), "key order differs from the architecture's"
    for key, value in expected.items():
        assert torch.equal(converted.state_dict[key], value), key
    net = rebuild(converted)
    got, want = outputs(net, x), outputs(original, x)
    for mode in want:
        assert torch.equal(got[mode], want[mode]), mode
    return net


def count(net: nn.Module, kind: type) -> int:
    return sum(isinstance(m, kind) for m in net.modules())


def with_legacy_instance_stats(sd: dict, net: nn.Module, seed: int, *, counter: bool) -> tuple[OrderedDict, dict]:
    """``sd`` as a 2018 / PyTorch <= 0.3 file stores it: InstanceNorm running stats after each norm's conv.

    Returns (the legacy state dict, {module name: (mean, var)}) so a test can show what using
    the stats would do.
    """
    g = torch.Generator().manual_seed(seed)
    stats = {}
    for name, module in net.named_modules():
        if isinstance(module, nn.InstanceNorm2d):
            c = module.num_features
            stats[name] = (torch.randn(c, generator=g) * 0.5, torch.rand(c, generator=g) * 1.5 + 0.5)
    # put each norm's keys where the norm sits in the module order (before the next module's keys)
    order = [name for name, _ in net.named_modules()]
    keyed = []
    for key, value in sd.items():
        keyed.append((order.index(key.rpartition(".")[0]), 0, key, value))
    for name, (mean, var) in stats.items():
        pos = order.index(name)
        keyed.append((pos, 1, f"{name}.running_mean", mean))
        keyed.append((pos, 2, f"{name}.running_var", var))
        if counter:
            keyed.append((pos, 3, f"{name}.num_batches_tracked", torch.tensor(7, dtype=torch.long)))
    out = OrderedDict((key, value) for _, _, key, value in sorted(keyed, key=lambda t: (t[0], t[1])))
    return out, stats


def tracking_copy(net: nn.Module, stats: dict) -> nn.Module:
    """A copy of ``net`` whose InstanceNorms *use* the given running stats (what a wrong loader does)."""
    import copy

    wrong = copy.deepcopy(net)
    for name, (mean, var) in stats.items():
        parent_name, _, child = name.rpartition(".")
        parent = wrong.get_submodule(parent_name)
        norm = nn.InstanceNorm2d(mean.numel(), affine=False, track_running_stats=True)
        norm.running_mean.copy_(mean)
        norm.running_var.copy_(var)
        setattr(parent, child, norm)
    return wrong.eval()


def save(obj, path: Path, *, legacy: bool) -> Path:
    torch.save(obj, path, _use_new_zipfile_serialization=not legacy)
    return path


# ---------------------------------------------------------------------------------------------
# 1. the architecture grid: kwargs inferred from the weights, strict keys, identical outputs

UNET_GRID = [
    (num_downs, norm, dropout)
    for num_downs in (5, 6, 7, 8)
    for norm in NORMS
    for dropout in (False, True)
]


UNET_IDS = [f"d{d}-{n}-{'drop' if p else 'nodrop'}" for d, n, p in UNET_GRID]


@pytest.mark.parametrize("num_downs,norm,dropout", UNET_GRID, ids=UNET_IDS)
def test_unet_grid(num_downs, norm, dropout):
    i = UNET_GRID.index((num_downs, norm, dropout))
    input_nc, output_nc = CHANNELS[i % len(CHANNELS)]
    kwargs = dict(input_nc=input_nc, output_nc=output_nc, num_downs=num_downs, ngf=8, norm=norm, use_dropout=dropout)
    torch.manual_seed(i)
    original = randomize(UnetGenerator(**kwargs), i)
    sd = original.state_dict()

    # the weights alone: everything but dropout, which has no keys (the default is off)
    inferred = convert_checkpoint(sd)
    assert (inferred.family, inferred.arch, inferred.layout) == ("pix2pix", "unet", "junyanz-unet")
    assert inferred.arch_kwargs == {**kwargs, "use_dropout": False}
    # the official define_G kwargs agree and supply use_dropout
    official = dict(input_nc=input_nc, output_nc=output_nc, ngf=8, netG=f"unet_{2 ** num_downs}", norm=norm,
                    use_dropout=dropout, init_type="normal", init_gain=0.02, gpu_ids=[])
    given = convert_checkpoint(sd, official_kwargs=official)
    assert given.arch_kwargs == kwargs
    net = assert_same_net(original, given, smooth_input((1, input_nc, 2**num_downs, 2**num_downs), i))
    assert count(net, nn.Dropout) == (num_downs - 5 if dropout else 0)
    assert count(net, nn.BatchNorm2d if norm == "batch" else nn.InstanceNorm2d) == (
        0 if norm == "none" else 2 * num_downs - 3  # two per middle block, one in the innermost
    )


RESNET_GRID = [(n_blocks, norm, dropout) for n_blocks in (2, 6, 9) for norm in NORMS for dropout in (False, True)]


RESNET_IDS = [f"b{b}-{n}-{'drop' if p else 'nodrop'}" for b, n, p in RESNET_GRID]


@pytest.mark.parametrize("n_blocks,norm,dropout", RESNET_GRID, ids=RESNET_IDS)
def test_resnet_grid(n_blocks, norm, dropout):
    i = RESNET_GRID.index((n_blocks, norm, dropout))
    input_nc, output_nc = CHANNELS[i % len(CHANNELS)]
    kwargs = dict(input_nc=input_nc, output_nc=output_nc, ngf=8, norm=norm, use_dropout=dropout, n_blocks=n_blocks,
                  padding_type="reflect")
    torch.manual_seed(100 + i)
    original = randomize(ResnetGenerator(**kwargs), 100 + i)
    sd = original.state_dict()

    inferred = convert_checkpoint(sd)  # dropout shows in a resnet's keys: nothing else is needed
    assert (inferred.family, inferred.arch, inferred.layout) == ("cyclegan", "resnet", "junyanz-resnet")
    assert inferred.arch_kwargs == kwargs
    official = dict(input_nc=input_nc, output_nc=output_nc, ngf=8, netG=f"resnet_{n_blocks}blocks", norm=norm,
                    use_dropout=dropout, init_type="normal", init_gain=0.02, gpu_ids=[])
    given = convert_checkpoint(sd, official_kwargs=official)
    assert given.arch_kwargs == kwargs
    net = assert_same_net(original, given, smooth_input((2, input_nc, 32, 36), 100 + i))
    assert count(net, nn.Dropout) == (n_blocks if dropout else 0)
    with pytest.raises(CheckpointError, match="use_dropout"):
        convert_checkpoint(sd, official_kwargs={"use_dropout": not dropout})


@pytest.mark.parametrize("padding_type", ["zero", "replicate"])
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("dropout", [False, True], ids=["nodrop", "drop"])
def test_resnet_other_padding_types(padding_type, norm, dropout):
    """define_G always uses reflect, but the class takes zero (visible in the keys) and replicate (config)."""
    kwargs = dict(input_nc=3, output_nc=3, ngf=8, norm=norm, use_dropout=dropout, n_blocks=2, padding_type=padding_type)
    torch.manual_seed(7)
    original = randomize(ResnetGenerator(**kwargs), 7)
    sd = original.state_dict()
    if padding_type == "zero":
        converted = convert_checkpoint(sd)
    else:  # replicate and reflect have the same keys: only the config can tell
        assert convert_checkpoint(sd).arch_kwargs["padding_type"] == "reflect"
        converted = convert_checkpoint(sd, official_kwargs={"padding_type": "replicate"})
    assert converted.arch_kwargs == kwargs
    assert_same_net(original, converted, smooth_input((1, 3, 16, 20), 7))
    if padding_type == "zero":
        with pytest.raises(CheckpointError, match="padding_type"):
            convert_checkpoint(sd, official_kwargs={"padding_type": "reflect"})


NLAYER_GRID = [(n_layers, norm) for n_layers in (0, 1, 2, 3, 5) for norm in NORMS]


@pytest.mark.parametrize("n_layers,norm", NLAYER_GRID, ids=[f"n{n}-{m}" for n, m in NLAYER_GRID])
def test_nlayer_discriminator_grid(n_layers, norm):
    i = NLAYER_GRID.index((n_layers, norm))
    input_nc = (6, 4, 2)[i % 3]  # pix2pix D sees input_nc + output_nc channels
    kwargs = dict(input_nc=input_nc, ndf=8, n_layers=n_layers, norm=norm)
    torch.manual_seed(200 + i)
    original = randomize(NLayerDiscriminator(**kwargs), 200 + i)
    sd = original.state_dict()
    inferred = convert_checkpoint(sd)
    assert (inferred.family, inferred.arch, inferred.layout) == ("pix2pix", "nlayer_d", "junyanz-nlayer_d")
    assert inferred.arch_kwargs == kwargs
    official = dict(input_nc=input_nc, ndf=8, netD="n_layers", n_layers_D=n_layers, norm=norm, init_type="normal",
                    init_gain=0.02, gpu_ids=[])
    assert convert_checkpoint(sd, official_kwargs=official).arch_kwargs == kwargs
    if n_layers == 3:  # netD 'basic' is n_layers 3 whatever n_layers_D says (define_D ignores it)
        assert convert_checkpoint(sd, official_kwargs={**official, "netD": "basic", "n_layers_D": 3}).arch_kwargs == kwargs
    else:
        with pytest.raises(CheckpointError, match="netD='basic'"):
            convert_checkpoint(sd, official_kwargs={**official, "netD": "basic"})
    x = smooth_input((2, input_nc, 96, 128), 200 + i)
    assert_same_net(original, inferred, x)
    assert original(x).shape[1] == 1  # raw logit map


@pytest.mark.parametrize("norm", NORMS)
def test_pixel_discriminator(norm):
    kwargs = dict(input_nc=6, ndf=8, norm=norm)
    torch.manual_seed(300)
    original = randomize(PixelDiscriminator(**kwargs), 300)
    sd = original.state_dict()
    inferred = convert_checkpoint(sd)
    assert (inferred.family, inferred.arch) == ("pix2pix", "pixel_d")
    assert inferred.arch_kwargs == kwargs
    # define_D is always called with n_layers_D (default 3), which the pixel discriminator ignores
    official = dict(input_nc=6, ndf=8, netD="pixel", n_layers_D=3, norm=norm, init_type="normal", init_gain=0.02, gpu_ids=[])
    assert convert_checkpoint(sd, official_kwargs=official).arch_kwargs == kwargs
    with pytest.raises(CheckpointError, match="netD='basic'"):
        convert_checkpoint(sd, official_kwargs={"netD": "basic"})
    assert_same_net(original, inferred, smooth_input((2, 6, 20, 24), 300))


def test_norm_types_give_different_outputs_on_the_same_weights():
    """The norm type matters (so inferring it is not a formality): batch vs none on the same conv weights."""
    torch.manual_seed(1)
    a = randomize(ResnetGenerator(ngf=8, n_blocks=2, norm="batch"), 1)
    b = ResnetGenerator(ngf=8, n_blocks=2, norm="none").eval()
    b.load_state_dict({k: v for k, v in a.state_dict().items() if k in b.state_dict()})
    x = smooth_input((1, 3, 16, 16), 1)
    with torch.no_grad():
        assert (a(x) - b(x)).abs().max() > 1e-2


# ---------------------------------------------------------------------------------------------
# legacy flavours of released files


def _instance_nets():
    torch.manual_seed(5)
    return {
        "unet": randomize(UnetGenerator(3, 3, num_downs=6, ngf=8, norm="instance"), 5),
        "resnet": randomize(ResnetGenerator(3, 3, ngf=8, norm="instance", n_blocks=3), 5),
        "nlayer_d": randomize(NLayerDiscriminator(6, ndf=8, n_layers=3, norm="instance"), 5),
        "pixel_d": randomize(PixelDiscriminator(6, ndf=8, norm="instance"), 5),
    }


INSTANCE_SHAPES = {"unet": (1, 3, 64, 64), "resnet": (1, 3, 24, 28), "nlayer_d": (1, 6, 48, 40), "pixel_d": (1, 6, 16, 16)}


@pytest.mark.parametrize("counter", [False, True], ids=["pre-0.4.1(mean,var)", "0.4.1+(mean,var,count)"])
@pytest.mark.parametrize("arch", list(INSTANCE_SHAPES))
def test_legacy_instance_norm_stats_are_dropped_and_never_used(arch, counter):
    net = _instance_nets()[arch]
    clean = net.state_dict()
    legacy, stats = with_legacy_instance_stats(clean, net, seed=11, counter=counter)
    assert len(legacy) == len(clean) + len(stats) * (3 if counter else 2) and stats
    converted = convert_checkpoint(legacy)
    assert converted.arch == arch and converted.arch_kwargs["norm"] == "instance"
    assert any("dropped" in note and str(len(stats) * (3 if counter else 2)) in note for note in converted.notes)
    x = smooth_input(INSTANCE_SHAPES[arch], 11)
    assert_same_net(net, converted, x)
    # control: a loader that used the stats (track_running_stats=True in eval) would be far off
    with torch.no_grad():
        assert (tracking_copy(net, stats)(x) - net(x)).abs().max() > 1e-2


def test_legacy_stats_on_a_non_instance_layer_are_refused():
    """The official loader pops these keys only for InstanceNorm modules; anywhere else they are an error."""
    sd = OrderedDict(ResnetGenerator(ngf=8, n_blocks=2, norm="batch").state_dict())
    sd["model.3.running_mean"] = torch.zeros(8)  # model.3 is a ReLU
    with pytest.raises(CheckpointError, match="unexpected key 'model.3.running_mean'"):
        convert_checkpoint(sd)
    none = OrderedDict(UnetGenerator(3, 3, num_downs=5, ngf=8, norm="none").state_dict())
    none["model.model.1.model.1.weight_extra"] = torch.zeros(1)
    with pytest.raises(CheckpointError, match="weight_extra"):
        convert_checkpoint(none)


@pytest.mark.parametrize("arch", ["unet", "resnet", "nlayer_d", "pixel_d"])
def test_batchnorm_without_num_batches_tracked_loads(arch):
    """pix2pix files of 2017 (PyTorch < 0.4.1) have no BatchNorm counters; the value never matters."""
    torch.manual_seed(9)
    net = randomize(
        {
            "unet": lambda: UnetGenerator(3, 3, num_downs=5, ngf=8, norm="batch", use_dropout=True),
            "resnet": lambda: ResnetGenerator(3, 3, ngf=8, norm="batch", n_blocks=2),
            "nlayer_d": lambda: NLayerDiscriminator(6, ndf=8, n_layers=2, norm="batch"),
            "pixel_d": lambda: PixelDiscriminator(6, ndf=8, norm="batch"),
        }[arch](),
        9,
    )
    sd = net.state_dict()
    old = OrderedDict((k, v) for k, v in sd.items() if not k.endswith("num_batches_tracked"))
    missing = len(sd) - len(old)
    assert missing == count(net, nn.BatchNorm2d) > 0
    converted = convert_checkpoint(old)
    assert list(converted.state_dict) == list(sd)
    counters = [converted.state_dict[k] for k in sd if k.endswith("num_batches_tracked")]
    assert all(c.dtype == torch.long and c.ndim == 0 for c in counters)
    assert any("filled" in note and str(missing) in note for note in converted.notes)
    rebuilt = rebuild(converted)
    x = smooth_input({"unet": (1, 3, 32, 32), "resnet": (1, 3, 16, 16)}.get(arch, (1, 6, 32, 32)), 9)
    for mode, y in outputs(net, x).items():
        assert torch.equal(outputs(rebuilt, x)[mode], y), mode


def test_missing_parameters_are_not_filled():
    """Only BatchNorm counters may be missing; a missing running stat or conv weight is an error."""
    sd = OrderedDict(UnetGenerator(3, 3, num_downs=6, ngf=8, norm="batch").state_dict())
    broken = OrderedDict((k, v) for k, v in sd.items() if k != "model.model.1.model.2.running_var")
    with pytest.raises(CheckpointError, match="1 missing .*model.model.1.model.2.running_var"):
        convert_checkpoint(broken)
    broken = OrderedDict((k, v) for k, v in sd.items() if k != "model.model.1.model.3.model.1.weight")
    with pytest.raises(CheckpointError) as exc:
        convert_checkpoint(broken)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("legacy", [True, False], ids=["legacy-pickle", "zip"])
@pytest.mark.parametrize("metadata", [True, False], ids=["_metadata", "no-metadata"])
def test_files_in_every_serialization_read_from_a_path(tmp_path, legacy, metadata):
    torch.manual_seed(3)
    net = randomize(UnetGenerator(3, 3, num_downs=6, ngf=8, norm="batch", use_dropout=True), 3)
    sd = net.state_dict()
    assert hasattr(sd, "_metadata")
    obj = sd if metadata else OrderedDict(sd.items())
    path = save(obj, tmp_path / "latest_net_G.pth", legacy=legacy)
    with open(path, "rb") as f:
        assert (f.read(2) == b"PK") is not legacy  # the file really is in the format under test
    reloaded = torch.load(path, weights_only=True)
    assert hasattr(reloaded, "_metadata") is metadata
    converted = read_official(path, official_kwargs={"netG": "unet_64", "use_dropout": True})
    assert converted.arch_kwargs == dict(input_nc=3, output_nc=3, num_downs=6, ngf=8, norm="batch", use_dropout=True)
    assert_same_net(net, converted, smooth_input((1, 3, 64, 64), 3))


def test_pix2pix_2017_release_flavour(tmp_path):
    """Legacy pickle, no _metadata, no num_batches_tracked: how the first pix2pix files were written."""
    torch.manual_seed(4)
    net = randomize(UnetGenerator(3, 3, num_downs=7, ngf=8, norm="batch", use_dropout=True), 4)
    old = OrderedDict((k, v) for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked"))
    path = save(old, tmp_path / "facades_label2photo.pth", legacy=True)
    converted = read_official(path, official_kwargs={"netG": "unet_128", "norm": "batch", "use_dropout": True})
    assert converted.family == "pix2pix"
    rebuilt = rebuild(converted)
    x = smooth_input((1, 3, 128, 128), 4)
    for mode, y in outputs(net, x).items():
        assert torch.equal(outputs(rebuilt, x)[mode], y), mode


def test_cyclegan_2018_release_flavour(tmp_path):
    """Legacy pickle with _metadata and InstanceNorm running stats + counters (issue #461)."""
    net = _instance_nets()["resnet"]
    legacy, stats = with_legacy_instance_stats(net.state_dict(), net, seed=12, counter=True)
    legacy._metadata = net.state_dict()._metadata
    path = save(legacy, tmp_path / "latest_net_G_A.pth", legacy=True)
    assert path.read_bytes()[:2] != b"PK"
    reloaded = torch.load(path, weights_only=True)
    assert hasattr(reloaded, "_metadata") and len(reloaded) == len(net.state_dict()) + 3 * len(stats)
    converted = read_official(path)
    assert (converted.family, converted.arch) == ("cyclegan", "resnet")
    assert converted.arch_kwargs == dict(input_nc=3, output_nc=3, ngf=8, norm="instance", use_dropout=False, n_blocks=3,
                                         padding_type="reflect")
    assert_same_net(net, converted, smooth_input((1, 3, 24, 28), 12))


@pytest.mark.parametrize("arch", ["unet", "resnet", "nlayer_d"])
def test_dataparallel_module_prefix_is_stripped(arch):
    torch.manual_seed(6)
    net = {
        "unet": lambda: UnetGenerator(1, 3, num_downs=5, ngf=8, norm="instance"),
        "resnet": lambda: ResnetGenerator(3, 1, ngf=8, norm="batch", n_blocks=2),
        "nlayer_d": lambda: NLayerDiscriminator(4, ndf=8, n_layers=2, norm="batch"),
    }[arch]()
    randomize(net, 6)
    wrapped = nn.DataParallel(net).state_dict()
    assert all(k.startswith("module.") for k in wrapped)
    converted = convert_checkpoint(wrapped)
    assert converted.arch == arch
    shape = {"unet": (1, 1, 32, 32), "resnet": (1, 3, 16, 16), "nlayer_d": (1, 4, 32, 32)}[arch]
    assert_same_net(net, converted, smooth_input(shape, 6))
    # a prefix on only some keys is not DataParallel's: refused, not half-stripped
    partial = OrderedDict((("module." + k if i == 0 else k), v) for i, (k, v) in enumerate(net.state_dict().items()))
    with pytest.raises(CheckpointError):
        convert_checkpoint(partial)


# ---------------------------------------------------------------------------------------------
# 2. the released manifests (full size, meta device)


def meta_state_dict(shapes: dict[str, list[int]]) -> OrderedDict:
    return OrderedDict((k, torch.empty(shape, device="meta")) for k, shape in shapes.items())


def official_arch_kwargs(config: dict) -> tuple[str, dict]:
    """Our constructor kwargs for define_G kwargs, written from the official define_G (not from the reader)."""
    net_g = config["netG"]
    common = dict(input_nc=config["input_nc"], output_nc=config["output_nc"], ngf=config["ngf"], norm=config["norm"],
                  use_dropout=config["use_dropout"])
    if net_g.startswith("unet_"):
        return "unet", {**common, "num_downs": {"unet_128": 7, "unet_256": 8}[net_g]}
    return "resnet", {**common, "n_blocks": {"resnet_6blocks": 6, "resnet_9blocks": 9}[net_g], "padding_type": "reflect"}


def _check_against_manifest(converted, manifest: dict) -> None:
    arch, kwargs = official_arch_kwargs(manifest["config"])
    assert (converted.family, converted.arch, converted.arch_kwargs) == (manifest["family"], arch, kwargs)
    with torch.device("meta"):
        net = build(converted.arch, converted.arch_kwargs)
    ours = OrderedDict((k, list(v.shape)) for k, v in net.state_dict().items())
    got = OrderedDict((k, list(v.shape)) for k, v in converted.state_dict.items())
    assert list(got) == list(manifest["state_dict"]) == list(ours), "keys differ (or their order does)"
    assert got == manifest["state_dict"] == ours
    assert len(ours) == manifest["num_keys"]
    assert sum(p.numel() for p in net.parameters()) == manifest["num_params"]
    assert sum(b.numel() for b in net.buffers()) == manifest["num_buffer_elements"]


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.stem)
def test_manifest_keys_and_shapes_match_exactly(path):
    manifest = json.loads(path.read_text())
    official = meta_state_dict(manifest["state_dict"])
    inferred = convert_checkpoint(official)  # nothing but the weights
    given = convert_checkpoint(official, official_kwargs=manifest["config"])  # the official define_G kwargs agree
    _check_against_manifest(given, manifest)
    # without the config, only the U-Net's dropout (invisible in the keys) is unknown; it defaults to off
    expected = dict(given.arch_kwargs, use_dropout=False if given.arch == "unet" else given.arch_kwargs["use_dropout"])
    assert inferred.arch_kwargs == expected
    assert inferred.notes == given.notes == []


LEGACY_MANIFESTS = [p for p in MANIFESTS if "legacy_instance_norm_keys_possibly_present" in json.loads(p.read_text())]


def test_every_manifest_is_checked():
    assert [p.stem for p in MANIFESTS] == ["cyclegan_horse2zebra", "cyclegan_style_monet", "pix2pix_facades_label2photo"]
    assert {p.stem for p in LEGACY_MANIFESTS} >= {"cyclegan_style_monet"}


@pytest.mark.parametrize("path", LEGACY_MANIFESTS, ids=lambda p: p.stem)
@pytest.mark.parametrize("counter", [False, True], ids=["mean,var", "mean,var,count"])
def test_manifest_with_legacy_instance_norm_keys(path, counter):
    manifest = json.loads(path.read_text())
    legacy_keys = {k: v for k, v in manifest["legacy_instance_norm_keys_possibly_present"].items()
                   if counter or not k.endswith("num_batches_tracked")}
    assert legacy_keys and not set(legacy_keys) & set(manifest["state_dict"])
    everything = list({**manifest["state_dict"], **legacy_keys}.items())
    random.Random(0).shuffle(everything)  # file order must not matter; the result is in the official order
    official = meta_state_dict(dict(everything))
    converted = convert_checkpoint(official, official_kwargs=manifest["config"])
    _check_against_manifest(converted, manifest)
    assert any(f"dropped {len(legacy_keys)} legacy InstanceNorm" in note for note in converted.notes)
    assert convert_checkpoint(official).arch_kwargs == converted.arch_kwargs


@pytest.mark.parametrize("path", [p for p in MANIFESTS if "pix2pix" in p.stem], ids=lambda p: p.stem)
def test_manifest_as_released_in_2017_without_counters(path):
    manifest = json.loads(path.read_text())
    old = {k: v for k, v in manifest["state_dict"].items() if not k.endswith("num_batches_tracked")}
    assert len(old) < len(manifest["state_dict"])
    converted = convert_checkpoint(meta_state_dict(old), official_kwargs=manifest["config"])
    _check_against_manifest(converted, manifest)


# ---------------------------------------------------------------------------------------------
# 3. test-time semantics on the public fixtures


def _fixture(name: str):
    case_dir = CASES / name
    case = json.loads((case_dir / "case.json").read_text())
    converted = read_official(case_dir / case["checkpoint"]["file"], official_kwargs=case["config"])
    return case, rebuild(converted), load_file(str(case_dir / "io.safetensors"))


@pytest.mark.parametrize("name", ["pix2pix_unet128_bn_dropout", "pix2pix_patchgan_d_bn"])
def test_official_mode_uses_batch_statistics_and_eval_mode_running_statistics(name):
    case, net, io = _fixture(name)
    tol = case["tolerance"]
    x = io["input"]
    buffers = {k: v.clone() for k, v in net.state_dict().items()}
    with torch.no_grad():
        official = set_test_mode(net, "official")(x)
        again = net(x)  # deterministic: dropout is off
        evaluated = set_test_mode(net, "eval")(x)
        official_after_eval = set_test_mode(net, "official")(x)
    torch.testing.assert_close(official, io["output_bn_batchstats"], atol=tol["atol"], rtol=tol["rtol"])
    torch.testing.assert_close(evaluated, io["output"], atol=tol["atol"], rtol=tol["rtol"])
    assert torch.equal(official, again) and torch.equal(official, official_after_eval)
    # official mode must not touch the running statistics (test.py's side effect is not reproduced)
    assert all(torch.equal(v, buffers[k]) for k, v in net.state_dict().items())
    # control: the two semantics really differ on this case
    assert (official - evaluated).abs().max() > 100 * tol["atol"]
    if name.startswith("pix2pix_unet"):
        assert net.num_downs == 7 and count(net, nn.Dropout) == 2  # unet_128 with dropout, from config
        # the official default also runs Dropout(0.5): random, so only the eval/official variants are checked
        with torch.no_grad():
            net.train()
            assert not torch.equal(net(x), net(x))
        set_test_mode(net, "eval")


def test_cyclegan_eval_and_official_modes_are_identical():
    case, net, io = _fixture("cyclegan_resnet9_in_legacy")
    x = io["input"]
    with torch.no_grad():
        evaluated = set_test_mode(net, "eval")(x)
        official = set_test_mode(net, "official")(x)
    assert torch.equal(evaluated, official)
    torch.testing.assert_close(evaluated, io["output"], atol=case["tolerance"]["atol"], rtol=case["tolerance"]["rtol"])


def test_cyclegan_legacy_fixture_matches_its_modern_twin():
    case_dir = CASES / "cyclegan_resnet9_in_legacy"
    case = json.loads((case_dir / "case.json").read_text())
    legacy = read_official(case_dir / "checkpoint.pth", official_kwargs=case["config"])
    modern = read_official(case_dir / "checkpoint_modern.pth", official_kwargs=case["config"])
    dropped = case["checkpoint"]["keys_in_file_not_in_current_model (official loader pops them)"]
    assert any(f"dropped {len(dropped)} " in note for note in legacy.notes) and modern.notes == []
    assert legacy.arch_kwargs == modern.arch_kwargs
    assert list(legacy.state_dict) == list(modern.state_dict)
    assert len(legacy.state_dict) == case["checkpoint"]["num_keys_of_current_official_model"]
    assert all(torch.equal(legacy.state_dict[k], modern.state_dict[k]) for k in modern.state_dict)
    # control: the file's own (random) stats, if used, give the large error case.json reports
    raw = torch.load(case_dir / "checkpoint.pth", weights_only=True)
    net = rebuild(legacy)
    stats = {k.rpartition(".")[0]: None for k in dropped}
    stats = {name: (raw[f"{name}.running_mean"], raw[f"{name}.running_var"]) for name in stats}
    x = load_file(str(case_dir / "io.safetensors"))["input"]
    with torch.no_grad():
        err = (tracking_copy(net, stats)(x) - net(x)).abs().max().item()
    assert err == pytest.approx(case["controls"]["max_abs_diff_if_legacy_running_stats_were_used"], rel=1e-3)


# ---------------------------------------------------------------------------------------------
# 4. bad input


@pytest.fixture
def small_unet_file(tmp_path) -> Path:
    torch.manual_seed(8)
    sd = UnetGenerator(3, 3, num_downs=5, ngf=8, norm="instance").state_dict()
    return save(sd, tmp_path / "latest_net_G.pth", legacy=False)


def test_checkpoint_of_another_family(small_unet_file):
    esrgan = read_official(ESRGAN_FILE)
    assert esrgan.family == "esrgan"
    # what zoo.weights does for a registry entry of a given family
    from zoo.importing import check_entry

    with pytest.raises(WrongFamilyError, match="esrgan checkpoint, but pix2pix-facades is a pix2pix model"):
        check_entry(esrgan, SimpleNamespace(name="pix2pix-facades", family="pix2pix", arch="unet", arch_kwargs={}))
    unet = read_official(small_unet_file)
    with pytest.raises(WrongFamilyError, match="pix2pix checkpoint"):
        check_entry(unet, SimpleNamespace(name="realesrgan-x4plus", family="esrgan", arch="rrdbnet", arch_kwargs={}))
    # a pix2pix config for an ESRGAN file, and an ESRGAN config for a pix2pix file
    with pytest.raises(CheckpointError, match="netG"):
        read_official(ESRGAN_FILE, official_kwargs={"netG": "unet_256", "norm": "batch"})
    with pytest.raises(CheckpointError, match="unknown config key 'num_block'"):
        read_official(small_unet_file, official_kwargs={"num_block": 23})


def test_a_generator_file_with_a_discriminator_config_is_refused(small_unet_file):
    with pytest.raises(CheckpointError, match="netD"):
        read_official(small_unet_file, official_kwargs={"netD": "basic"})
    with pytest.raises(CheckpointError, match="unknown config key 'ndf'"):
        read_official(small_unet_file, official_kwargs={"ndf": 8})


def _assert_one_line(exc: pytest.ExceptionInfo, name: str) -> None:
    message = str(exc.value)
    assert name in message and "\n" not in message and message.strip() == message


def _corrupt_files(tmp_path: Path, good: Path) -> dict[str, bytes]:
    data = good.read_bytes()
    legacy = save(torch.load(good, weights_only=True), tmp_path / "legacy.pth", legacy=True).read_bytes()
    rng = random.Random(0)
    return {
        "truncated_zip.pth": data[: len(data) // 2],
        "truncated_zip_tail.pth": data[:-64],
        "truncated_legacy.pth": legacy[: len(legacy) // 2],
        "truncated_legacy_tail.pth": legacy[:-16],
        "random.pth": rng.randbytes(4096),
        "random_zip_header.pth": b"PK\x03\x04" + rng.randbytes(4096),
        "random_pickle_header.pth": b"\x80\x02" + rng.randbytes(4096),
        "empty.pth": b"",
    }


CORRUPT = ["truncated_zip", "truncated_zip_tail", "truncated_legacy", "truncated_legacy_tail", "random", "random_zip_header",
           "random_pickle_header", "empty"]


@pytest.mark.parametrize("kind", CORRUPT)
def test_corrupt_files_fail_with_one_line_errors(tmp_path, small_unet_file, kind):
    name = f"{kind}.pth"
    path = tmp_path / name
    path.write_bytes(_corrupt_files(tmp_path, small_unet_file)[name])
    with pytest.raises(CheckpointError) as exc:
        read_official(path)
    _assert_one_line(exc, name)
    if kind == "empty":
        assert str(exc.value) == "empty.pth is empty"
    assert not isinstance(exc.value, UnsafeCheckpointError), str(exc.value)


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no such file"):
        read_official(tmp_path / "missing.pth")


def test_state_dict_with_a_broken_tensor_is_refused(tmp_path):
    sd = OrderedDict(UnetGenerator(3, 3, num_downs=5, ngf=8, norm="batch").state_dict())
    sd["model.model.0.weight"] = sd["model.model.0.weight"][:4]  # wrong shape: ngf says 8
    with pytest.raises(CheckpointError, match="wrong shape") as exc:
        read_official(save(sd, tmp_path / "bad_shape.pth", legacy=False))
    _assert_one_line(exc, "bad_shape.pth")


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_code_carrying_pickle_is_refused_and_never_runs(tmp_path, legacy):
    marker = tmp_path / "code-ran"
    sd = OrderedDict(ResnetGenerator(ngf=8, n_blocks=2).state_dict())
    sd["model.1.bias"] = CodePayload(marker)
    path = save(sd, tmp_path / "latest_net_G_A.pth", legacy=legacy)
    with pytest.raises(UnsafeCheckpointError, match="refused to load latest_net_G_A.pth") as exc:
        read_official(path)
    _assert_one_line(exc, "latest_net_G_A.pth")
    assert not marker.exists()
    torch.load(path, weights_only=False)  # control: the payload does run when unpickled without limits
    assert marker.exists()


CONTRADICTIONS = [
    ("unet", {"ngf": 32}, "ngf"),
    ("unet", {"input_nc": 1}, "input_nc"),
    ("unet", {"output_nc": 1}, "output_nc"),
    ("unet", {"norm": "batch"}, "norm"),
    ("unet", {"norm": "none"}, "norm"),
    ("unet", {"netG": "unet_256"}, "netG"),
    ("unet", {"netG": "resnet_9blocks"}, "netG"),
    ("resnet", {"norm": "batch"}, "norm"),
    ("resnet", {"ngf": 64}, "ngf"),
    ("resnet", {"netG": "resnet_6blocks"}, "netG"),
    ("resnet", {"netG": "unet_256"}, "netG"),
    ("resnet", {"use_dropout": True}, "use_dropout"),
    ("resnet", {"padding_type": "zero"}, "padding_type"),
    ("nlayer_d", {"ndf": 64}, "ndf"),
    ("nlayer_d", {"n_layers_D": 4}, "n_layers_D"),
    ("nlayer_d", {"norm": "batch"}, "norm"),
    ("nlayer_d", {"input_nc": 3}, "input_nc"),
    ("nlayer_d", {"netD": "pixel"}, "netD"),
    ("pixel_d", {"netD": "n_layers"}, "netD"),
    ("pixel_d", {"ndf": 16}, "ndf"),
]


CONTRADICTION_IDS = [f"{a}-{f}={list(c.values())[0]}" for a, c, f in CONTRADICTIONS]


@pytest.mark.parametrize("arch,config,field", CONTRADICTIONS, ids=CONTRADICTION_IDS)
def test_config_that_contradicts_the_weights_names_the_field(arch, config, field):
    sd = _instance_nets()[arch].state_dict()  # ngf/ndf 8, instance norm, no dropout, 3 blocks, 3 layers
    with pytest.raises(CheckpointError, match=rf"\b{field}\b") as exc:
        convert_checkpoint(sd, official_kwargs=config)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("arch", ["unet", "resnet", "nlayer_d", "pixel_d"])
@pytest.mark.parametrize("key", ["n_downsampling", "ngf_", "upscale"])
def test_unknown_config_keys_are_errors(arch, key):
    sd = _instance_nets()[arch].state_dict()
    with pytest.raises(CheckpointError, match=f"unknown config key '{key}'"):
        convert_checkpoint(sd, official_kwargs={key: 1})


def test_invalid_norm_value_is_an_error_not_a_crash():
    sd = UnetGenerator(3, 3, num_downs=5, ngf=8, norm="instance").state_dict()
    with pytest.raises(CheckpointError, match="norm"):
        convert_checkpoint(sd, official_kwargs={"norm": "layer"})
