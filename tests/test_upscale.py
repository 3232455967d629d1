"""The upscale task: modes, bit depths, alpha, outscale, tiling, progress, limits, interpolation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import zoo
from conftest import PARITY
from zoo.errors import ImageError, WrongFamilyError
from zoo.tasks.tiling import tile_regions

FAST = "realesr-animevideov3"  # packaged, loads offline, small


@pytest.fixture(scope="module")
def fast():
    return zoo.load(FAST)


@pytest.fixture(scope="module")
def crop(astronaut):
    return astronaut[80:80 + 48, 180:180 + 64]  # 64x48 RGB


def level_diff(a, b) -> int:
    return int(np.abs(np.asarray(a, dtype=np.int64) - np.asarray(b, dtype=np.int64)).max())


def test_rgb_pil_in_pil_out(fast, crop):
    out = fast(Image.fromarray(crop))
    assert out.mode == "RGB" and out.size == (256, 192)
    # a faithful upscaler: downscaling the result gives back (roughly) the input
    back = np.asarray(out.resize((64, 48), Image.BICUBIC), dtype=np.float32)
    assert np.abs(back - crop).mean() < 8


def test_matches_the_network_directly(fast, crop):
    """The task adds nothing but conversion: one pass equals net(x) clamped and rounded."""
    x = torch.from_numpy(crop.astype(np.float32) / 255).permute(2, 0, 1)[None]
    with torch.no_grad():
        y = fast.net(x).clamp(0, 1)[0].permute(1, 2, 0).numpy()
    expected = np.rint(y * 255).astype(np.uint8)
    assert level_diff(fast.upscale_array(crop, tile=0), expected) == 0


def test_gray_and_gray_alpha(fast, crop):
    gray = Image.fromarray(crop).convert("L")
    out = fast(gray)
    assert out.mode == "L" and out.size == (256, 192)
    la = gray.copy()
    la.putalpha(Image.linear_gradient("L").resize(gray.size))
    out = fast(la)
    assert out.mode == "LA" and out.size == (256, 192)


@pytest.mark.parametrize("alpha_mode", ["model", "resize"])
def test_rgba_alpha_is_upscaled_separately_and_reattached(fast, crop, alpha_mode):
    alpha = np.zeros((48, 64), np.uint8)
    alpha[8:40, 16:48] = 255  # an opaque square on a transparent background
    rgba = Image.fromarray(np.dstack([crop, alpha]))
    out = fast(rgba, alpha=alpha_mode)
    assert out.mode == "RGBA" and out.size == (256, 192)
    a = np.asarray(out)[:, :, 3].astype(int)
    assert a[64:128, 96:160].min() >= 250 and a[:16].max() <= 5  # inside opaque, outside transparent
    rgb_only = np.asarray(fast(Image.fromarray(crop)))
    assert level_diff(np.asarray(out)[:, :, :3], rgb_only) == 0  # colour unaffected by alpha


def test_sixteen_bit_gray_keeps_sixteen_bits(fast):
    ramp = (np.linspace(0, 65535, 40 * 32).reshape(32, 40)).astype(np.uint16)
    image = Image.fromarray(ramp)
    assert image.mode == "I;16"
    out = fast(image)
    assert out.mode == "I;16" and out.size == (160, 128)
    values = np.asarray(out)
    assert values.dtype == np.uint16 and (values % 257 != 0).mean() > 0.5  # not just 8-bit levels
    assert abs(int(values.max()) - 65535) < 4000 and int(values.min()) < 4000


def test_sixteen_bit_colour_arrays(fast, crop):
    deep = crop.astype(np.uint16) * 257
    out16 = fast.upscale_array(deep)
    assert out16.dtype == np.uint16 and out16.shape == (192, 256, 3)
    out8 = fast.upscale_array(crop)
    assert np.abs(out16.astype(np.int64) // 257 - out8).max() <= 1
    pil = fast(deep)
    assert pil.mode == "RGB"  # Pillow has no 16-bit colour mode: documented reduction to 8 bits


def test_float_arrays_and_outscale(fast, crop):
    out = fast(crop.astype(np.float32) / 255, outscale=2)
    assert out.size == (128, 96)
    out = fast(Image.fromarray(crop), outscale=3.5)
    assert out.size == (224, 168)
    out = fast(Image.fromarray(crop), outscale=1)
    assert out.size == (64, 48)
    with pytest.raises(ImageError, match="outscale"):
        fast(Image.fromarray(crop), outscale=0)


def test_default_context_covers_the_srvgg_receptive_field(fast, astronaut):
    assert fast.default_overlap >= 16 + 2  # animevideov3: 16 convs + first + last
    image = astronaut[:400, :480]
    assert len(tile_regions(400, 480, 160)) == 9
    assert level_diff(fast.upscale_array(image, tile=160), fast.upscale_array(image, tile=0)) == 0


def test_rrdbnet_default_context_within_one_level(astronaut):
    """Real RRDBNet weights (anime 6B: the packaged, smaller RRDBNet) with the default context.

    benchmarks/bench_tiling.py measures the same on realesrgan-x4plus and more images.
    """
    up = zoo.load("realesrgan-x4plus-anime-6b")
    image = astronaut[100:292, 120:344]  # 224 x 192 in 2 x 2 tiles of 112 with 96 px of context
    assert up.default_overlap == 96
    tiled = up.upscale_array(image, tile=112)
    assert level_diff(tiled, up.upscale_array(image, tile=0)) <= 1
    assert level_diff(up.upscale_array(image, tile=112, overlap=16), tiled) > 8  # control: context matters


def test_small_tiles_still_within_one_level(fast, astronaut):
    image = astronaut[200:296, 200:328]
    assert level_diff(fast.upscale_array(image, tile=32), fast.upscale_array(image, tile=0)) <= 1


def test_too_little_context_shows_seams(fast, astronaut):
    """The control for the two tests above: without context the tiles do not match."""
    image = astronaut[200:296, 200:328]
    assert level_diff(fast.upscale_array(image, tile=32, overlap=0), fast.upscale_array(image, tile=0)) > 8


def test_progress_reports_every_tile(fast, astronaut):
    calls = []
    rgba = np.dstack([astronaut[:96, :128], np.full((96, 128), 200, np.uint8)])
    fast(rgba, tile=64, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(i, 8) for i in range(1, 9)]  # 2x2 tiles, colour then alpha


def test_odd_sizes_with_pixel_unshuffle_network():
    up = zoo.load(PARITY / "esrgan" / "realesrgan_rrdbnet_x2_f24_b1_g12" / "checkpoint.pth")
    assert up.scale == 2 and up.multiple == 2
    image = (np.random.default_rng(0).random((17, 23, 3)) * 255).astype(np.uint8)
    out = up.upscale_array(image, tile=8, overlap=4)
    assert out.shape == (34, 46, 3)
    assert out.shape == up.upscale_array(image, tile=0).shape


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((0, 10, 3), np.uint8), "empty"),
        (np.zeros((4, 4, 5), np.uint8), "C in 1..4"),
        (np.zeros((4, 4, 3), np.int64), "unsupported array dtype"),
        (np.full((4, 4), np.nan, np.float32), "NaN"),
        ("not an image", "expected a PIL image"),
    ],
)
def test_bad_inputs_are_clear_errors(fast, bad, message):
    with pytest.raises(ImageError, match=message):
        fast(bad)


def test_megapixel_limit(fast, monkeypatch):
    big = Image.new("RGB", (3000, 2000))
    with pytest.raises(ImageError, match=r"3000x2000 \(6.0 MP\), over the 5 MP limit"):
        fast(big, max_megapixels=5)
    monkeypatch.setenv("ZOO_MAX_MEGAPIXELS", "0.001")
    with pytest.raises(ImageError, match="over the 0.001 MP limit"):
        fast(Image.new("RGB", (40, 40)))


def test_other_modes_are_converted(fast):
    cmyk = Image.new("CMYK", (16, 12), (0, 128, 255, 0))
    assert fast(cmyk).mode == "RGB"
    palette = Image.new("P", (16, 12))
    assert fast(palette).mode == "RGB"
    bilevel = Image.new("1", (16, 12))
    assert fast(bilevel).mode == "L"


def _perturbed_copy(tmp_path, source):
    sd = torch.load(source, weights_only=True)
    params = sd["params"]
    torch.manual_seed(1)
    other = {k: v + 0.05 * torch.randn_like(v) for k, v in params.items()}
    path = tmp_path / "other.pth"
    torch.save({"params": other}, path)
    return path


def test_network_interpolation_blends_weights(tmp_path):
    source = PARITY / "esrgan" / "realesr_srvgg_x4_prelu_f16_c4" / "checkpoint.pth"
    a = zoo.load(source)
    b = zoo.load(_perturbed_copy(tmp_path, source))
    before = {k: v.clone() for k, v in a.net.state_dict().items()}
    x = torch.rand(1, 3, 12, 16)
    with torch.no_grad():
        ya, yb = a.net(x), b.net(x)
        assert torch.equal(a.interpolate(b, 0.0).net(x), ya)
        torch.testing.assert_close(a.interpolate(b, 1.0).net(x), yb)
        half = a.interpolate(b, 0.5)
        expected = {k: (a.net.state_dict()[k] + b.net.state_dict()[k]) / 2 for k in a.net.state_dict()}
        for key, value in half.net.state_dict().items():
            torch.testing.assert_close(value, expected[key])
        assert (half.net(x) - ya).abs().max() > 1e-3 and (half.net(x) - yb).abs().max() > 1e-3
    assert all(torch.equal(v, before[k]) for k, v in a.net.state_dict().items()), "interpolating must not change the original"
    rrdb = zoo.load(PARITY / "esrgan" / "realesrgan_rrdbnet_x4_f16_b2_g8" / "checkpoint.pth")
    with pytest.raises(WrongFamilyError, match="cannot interpolate"):
        a.interpolate(rrdb, 0.5)


def test_load_with_registry_partner(tmp_path, fresh_cache, temp_entries):
    from zoo.registry import ManualSource, ModelInfo
    from zoo.tasks.options import UpscaleOptions
    from zoo.importing import import_file

    source = PARITY / "esrgan" / "realesr_srvgg_x4_prelu_f16_c4" / "checkpoint.pth"
    common = dict(family="esrgan", task="upscale", description="test", licence="BSD-3-Clause", card="realesr-general-x4v3.md", arch="srvgg")
    temp_entries(
        ModelInfo(name="pair-a", title="A", sources=(ManualSource("https://example.invalid/", "a.pth"),), options=UpscaleOptions(4, "pair-b"), **common),
        ModelInfo(name="pair-b", title="B", sources=(ManualSource("https://example.invalid/", "b.pth"),), options=UpscaleOptions(4, "pair-a"), **common),
    )
    import_file(source, name="pair-a")
    import_file(_perturbed_copy(tmp_path, source), name="pair-b")
    x = torch.rand(1, 3, 8, 8)
    blended = zoo.load("pair-a", interpolate=0.25)
    manual = zoo.load("pair-a").interpolate(zoo.load("pair-b"), 0.25)
    with torch.no_grad():
        assert torch.equal(blended.net(x), manual.net(x))


def test_wrong_family_model_is_not_an_upscaler():
    """The network's descriptor decides, not the family a config names."""
    from zoo.archs.cyclegan import ResnetGenerator
    from zoo.tasks.upscale import Upscaler

    up = zoo.load(PARITY / "esrgan" / "realesr_srvgg_x4_prelu_f16_c4" / "checkpoint.pth")
    with pytest.raises(WrongFamilyError, match="is a translation generator, not an upscaler"):
        Upscaler(ResnetGenerator(ngf=8, n_blocks=1), up.info, up.folder_config)
