"""The translate task: directions, sizes, tiling with image-wide statistics, modes, alpha, bad input.

Networks are small junyanz generators with random weights, imported into a fresh cache under
temporary registry entries; references are computed here directly from the network.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch.nn import functional as F

import zoo
from zoo.archs import build
from zoo.archs.norms import set_test_mode
from zoo.errors import ImageError, UnknownModelError, WrongFamilyError, ZooError
from zoo.registry import Direction, ManualSource, ModelInfo
from zoo.tasks import norm_stats
from zoo.tasks.tiling import run_tiled
from zoo.importing import import_file
from zoo.tasks.options import TranslateOptions

RESNET = {"input_nc": 3, "output_nc": 3, "ngf": 8, "norm": "instance", "n_blocks": 2}
UNET = {"input_nc": 3, "output_nc": 3, "num_downs": 5, "ngf": 8, "norm": "batch", "use_dropout": True}


def _net(arch: str, kwargs: dict, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    net = build(arch, kwargs)
    for m in net.modules():  # non-trivial BatchNorm running statistics, so "official" and "eval" differ
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
    return net.eval()


def _entry(name: str, family: str, directions: list[tuple[str, str, str, str]], test_mode: str, resolution: int = 256) -> ModelInfo:
    return ModelInfo(
        name=name, family=family, task="translate", title=name, description="test entry", licence="test", sources=(), card="",
        arch={"pix2pix": "unet", "cyclegan": "resnet"}[family],
        options=TranslateOptions(
            tuple(Direction(d, a, b, (ManualSource(f"https://example.invalid/{o}.pth", f"{o}.pth"),), o) for d, a, b, o in directions),
            test_mode=test_mode, resolution=resolution),
    )


@pytest.fixture
def pair(fresh_cache, temp_entries, tmp_path):
    """A two-direction CycleGAN-like entry "t-h2z" (ResNet, instance norm); returns (AtoB net, BtoA net)."""
    nets = {"h2z": _net("resnet", RESNET, 1), "z2h": _net("resnet", RESNET, 2)}
    temp_entries(_entry("t-h2z", "cyclegan", [("AtoB", "horse", "zebra", "h2z"), ("BtoA", "zebra", "horse", "z2h")], "eval"))
    for official, net in nets.items():
        torch.save(net.state_dict(), tmp_path / f"{official}.pth")
        import_file(tmp_path / f"{official}.pth", name="t-h2z")
    return nets["h2z"], nets["z2h"]


@pytest.fixture
def unet_entry(fresh_cache, temp_entries, tmp_path):
    """A one-direction pix2pix-like entry "t-p2p" (U-Net 32, batch norm), trained size 64."""
    net = _net("unet", UNET, 3)
    temp_entries(_entry("t-p2p", "pix2pix", [("AtoB", "edges", "photo", "e2p")], "official", resolution=64))
    torch.save(net.state_dict(), tmp_path / "e2p.pth")
    import_file(tmp_path / "e2p.pth", name="t-p2p", config={"use_dropout": True})
    return net


def _rgb(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth RGB test image (uint8): gradients plus a few blobs, so norm statistics vary across it."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([xx / w, yy / h, 0.5 + 0.5 * np.sin(xx / 9.0) * np.cos(yy / 13.0)], axis=2)
    for _ in range(6):
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(5, 30)
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.uniform(0, 1, 3)
    return np.rint(np.clip(img, 0, 1) * 255).astype(np.uint8)


def _reference(net: torch.nn.Module, arr: np.ndarray, multiple: int) -> np.ndarray:
    """Native-size translation computed directly: [-1, 1], reflect pad bottom/right, crop, (y + 1) / 2."""
    x = torch.from_numpy(arr.astype(np.float32) / 255).permute(2, 0, 1)[None] * 2 - 1
    h, w = arr.shape[:2]
    x = F.pad(x, (0, (-w) % multiple, 0, (-h) % multiple), mode="reflect")
    with torch.no_grad():
        y = net(x)[0, :, :h, :w]
    return np.rint(np.clip((y.permute(1, 2, 0).numpy() + 1) / 2, 0, 1) * 255).astype(np.uint8)


# -- directions -----------------------------------------------------------------------------------


def test_both_directions_by_name_and_official_name(pair):
    a2b, b2a = pair
    translator = zoo.load("t-h2z")
    assert translator.task == "translate" and translator.directions == ["AtoB", "BtoA"]
    arr = _rgb(60, 90)
    out = translator.translate_array(arr)  # default: AtoB at native size
    assert np.array_equal(out, _reference(a2b, arr, 4))
    back = translator.translate_array(arr, direction="BtoA")
    assert np.array_equal(back, _reference(b2a, arr, 4))
    assert np.array_equal(translator.translate_array(arr, direction="z2h"), back)
    assert not np.array_equal(out, back)
    with pytest.raises(UnknownModelError, match="no direction 'sideways'.*AtoB"):
        translator(arr, direction="sideways")


def test_a_direction_entry_loads_alone(pair):
    _, b2a = pair
    only = zoo.load("t-h2z@BtoA")
    assert only.directions == ["BtoA"]
    arr = _rgb(40, 44, seed=3)
    assert np.array_equal(only.translate_array(arr), _reference(b2a, arr, 4))
    with pytest.raises(UnknownModelError):
        only.translate_array(arr, direction="AtoB")


def test_import_needs_to_know_the_direction(pair, tmp_path):
    torch.save(pair[0].state_dict(), tmp_path / "latest_net_G.pth")
    with pytest.raises(ZooError, match=r"does not say which.*t-h2z@AtoB"):
        import_file(tmp_path / "latest_net_G.pth", name="t-h2z")
    folder, _ = import_file(tmp_path / "latest_net_G.pth", name="t-h2z@AtoB")
    assert "t-h2z@AtoB" in str(folder)


# -- sizes ----------------------------------------------------------------------------------------


def test_unet_default_is_the_trained_resolution_in_official_mode(unet_entry):
    translator = zoo.load("t-p2p")
    assert translator.test_mode == "official"
    arr = _rgb(50, 70, seed=1)
    out = translator.translate_array(arr)  # auto -> trained: short side 64 (the entry's resolution), aspect kept
    assert out.shape == (50, 70, 3)
    net = set_test_mode(unet_entry, "official")
    x = torch.from_numpy(arr.astype(np.float32) / 255).permute(2, 0, 1)[None] * 2 - 1
    small = F.interpolate(x, size=(64, 90), mode="bicubic", antialias=True, align_corners=False).clamp(-1, 1)  # short side 64
    with torch.no_grad():
        y = net(F.pad(small, (0, 6, 0, 0), mode="reflect"))[:, :, :, :90]  # padded to 96 = 3 x 32, cropped back
        y = F.interpolate(y, size=(50, 70), mode="bicubic", antialias=True, align_corners=False).clamp(-1, 1)
    expected = np.rint(((y[0].permute(1, 2, 0).numpy() + 1) / 2) * 255).astype(np.uint8)
    assert np.abs(out.astype(int) - expected).max() <= 1
    # "eval" uses the running statistics instead: a visibly different picture
    translator.set_test_mode("eval")
    assert np.abs(translator.translate_array(arr).astype(int) - out).mean() > 2


def test_unet_native_pads_to_its_multiple(unet_entry):
    translator = zoo.load("t-p2p")
    arr = _rgb(40, 75, seed=2)
    out = translator.translate_array(arr, size="native")
    assert np.array_equal(out, _reference(set_test_mode(unet_entry, "official"), arr, 32))
    with pytest.raises(ImageError, match="size='trained'"):
        translator.translate_array(_rgb(12, 40), size="native")  # 12 <= 32 / 2: too small to reflect-pad
    assert translator.translate_array(_rgb(12, 40), size="trained").shape == (12, 40, 3)


def test_tiles_use_image_wide_statistics(pair):
    a2b, _ = pair
    translator = zoo.load("t-h2z")
    arr = _rgb(200, 232, seed=4)
    one_pass = translator.translate_array(arr, tile=0).astype(int)
    tiled = translator.translate_array(arr, tile=64, overlap=48).astype(int)
    # statistics from the whole image (the reduced copy is the image itself at this size): same picture
    assert np.abs(tiled - one_pass).max() <= 1

    # each tile normalised with its own statistics (what plain tiling does) is visibly off
    x = torch.from_numpy(arr.astype(np.float32) / 255).permute(2, 0, 1)[None] * 2 - 1
    out = torch.empty(1, 3, 200, 232)

    def sink(region, y):
        out[:, :, region[0] : region[1], region[2] : region[3]] = y

    with torch.no_grad():
        run_tiled(a2b, x, 1, sink, tile=64, overlap=48, multiple=4)
    naive = np.rint(np.clip((out[0].permute(1, 2, 0).numpy() + 1) / 2, 0, 1) * 255).astype(int)
    assert np.abs(naive - one_pass).max() > 10


def test_recorded_statistics_reproduce_the_pass(pair):
    a2b, _ = pair
    x = torch.from_numpy(_rgb(48, 64).astype(np.float32) / 255).permute(2, 0, 1)[None] * 2 - 1
    with torch.no_grad():
        plain = a2b(x)
        stats = norm_stats.record(a2b, x)
        assert len(stats) == len(norm_stats.input_statistics_layers(a2b)) == 1 + 2 + 2 * 2 + 2  # stem, 2 down, 2 per block, 2 up
        with norm_stats.frozen(a2b, stats):
            frozen = a2b(x)
            shifted = a2b(x * 0.5)  # frozen statistics do not follow the input
        assert torch.allclose(frozen, plain, atol=5e-4)  # float32 rounding (the fast path fuses differently)
        assert not torch.allclose(shifted, a2b(x * 0.5), atol=1e-3)
    assert all("forward" not in m.__dict__ for m in norm_stats.input_statistics_layers(a2b))  # the patch is gone
    with torch.no_grad():
        assert torch.allclose(a2b(x), plain, atol=5e-4)


# -- modes, channels, alpha -------------------------------------------------------------------------


def test_gray_into_rgb_model_and_alpha_kept(pair):
    a2b, _ = pair
    translator = zoo.load("t-h2z")
    gray = _rgb(36, 52)[:, :, 0]
    out = translator(Image.fromarray(gray, "L"))
    assert out.mode == "RGB" and out.size == (52, 36)
    assert np.array_equal(np.asarray(out), _reference(a2b, np.repeat(gray[:, :, None], 3, axis=2), 4))
    rgba = np.dstack([_rgb(36, 52, seed=5), np.linspace(0, 255, 52, dtype=np.uint8)[None].repeat(36, 0)])
    out = translator(Image.fromarray(rgba, "RGBA"))
    assert out.mode == "RGBA" and np.array_equal(np.asarray(out)[:, :, 3], rgba[:, :, 3])


def test_one_channel_models(fresh_cache, temp_entries, tmp_path):
    net = _net("resnet", {**RESNET, "input_nc": 1, "output_nc": 1}, 7)
    temp_entries(_entry("t-gray", "cyclegan", [("AtoB", "gray", "gray", "g2g")], "eval"))
    torch.save(net.state_dict(), tmp_path / "g2g.pth")
    import_file(tmp_path / "g2g.pth", name="t-gray")
    translator = zoo.load("t-gray")
    gray = _rgb(32, 40)[:, :, 1]
    out = translator(Image.fromarray(gray, "L"))
    assert out.mode == "L" and out.size == (40, 32)
    assert np.array_equal(np.asarray(out), _reference(net, gray[:, :, None], 4)[:, :, 0])
    with pytest.raises(ImageError, match="1-channel"):
        translator(Image.fromarray(_rgb(32, 40)))


def test_sixteen_bit_input_stays_sixteen_bit(pair):
    translator = zoo.load("t-h2z")
    arr16 = _rgb(24, 28).astype(np.uint16) * 257
    out = translator.translate_array(arr16)
    assert out.dtype == np.uint16 and out.shape == (24, 28, 3)
    eight = translator.translate_array(_rgb(24, 28)).astype(int) * 257
    assert np.abs(out.astype(int) - eight).max() <= 257


# -- bad input ------------------------------------------------------------------------------------


def test_too_small_and_too_large_images(pair):
    translator = zoo.load("t-h2z")
    with pytest.raises(ImageError, match="needs at least 8 pixels"):
        translator(Image.new("RGB", (7, 40)))
    with pytest.raises(ImageError, match="over the 0.01 MP limit"):
        translator(Image.new("RGB", (200, 200)), max_megapixels=0.01)
    with pytest.raises(ValueError, match="size must be one of"):
        translator(Image.new("RGB", (16, 16)), size="huge")


def test_an_upscaler_is_not_a_translator(tmp_path):
    from zoo.archs.esrgan import SRVGGNetCompact
    from zoo.loading import load_network
    from zoo.tasks.translate import Translator

    torch.save({"params": SRVGGNetCompact(num_feat=8, num_conv=2, upscale=2).state_dict()}, tmp_path / "sr.pth")
    net, info, cfg = load_network(tmp_path / "sr.pth")
    with pytest.raises(WrongFamilyError, match="not a translation generator"):
        Translator(net, info, cfg)


def test_registry_translate_entries_resolve_their_directions():
    entry = zoo.info("cyclegan-horse2zebra")
    parts = entry.parts()
    assert [p.name for p in parts] == ["cyclegan-horse2zebra@AtoB", "cyclegan-horse2zebra@BtoA"]
    assert parts[1].sources[0].url.endswith("/zebra2horse.pth")
    with pytest.raises(ZooError, match="not available offline.*zoo download cyclegan-horse2zebra@AtoB"):
        zoo.load("cyclegan-horse2zebra")


def test_download_fetches_every_direction_then_works_offline(online, fresh_cache, file_server, temp_entries, tmp_path, monkeypatch):
    from zoo import cli
    from zoo.registry import UrlSource

    nets = {"a2b": _net("resnet", RESNET, 8), "b2a": _net("resnet", RESNET, 9)}
    for official, net in nets.items():
        torch.save(net.state_dict(), tmp_path / f"{official}.pth")
        file_server.add(f"models/{official}.pth", (tmp_path / f"{official}.pth").read_bytes())  # no published checksum
    directions = tuple(
        Direction(d, a, b, (UrlSource(file_server.url_for(f"models/{o}.pth")),), o)
        for d, a, b, o in (("AtoB", "a", "b", "a2b"), ("BtoA", "b", "a", "b2a"))
    )
    temp_entries(ModelInfo(name="t-dl", family="cyclegan", task="translate", title="t", description="d", licence="x",
                           sources=(), card="", arch="resnet", options=TranslateOptions(directions, test_mode="eval")))
    assert cli.main(["download", "t-dl"]) == 0
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    translator = zoo.load("t-dl")
    arr = _rgb(32, 40, seed=9)
    assert np.array_equal(translator.translate_array(arr, direction="BtoA"), _reference(nets["b2a"], arr, 4))
    config = translator.folder_config
    assert config["source"]["kind"] == "url" and len(config["source"]["sha256"]) == 64  # recorded on first download
