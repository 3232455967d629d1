"""The tile planner: one pass when the image fits the activation budget, else the fewest, largest
tiles that do; the networks' measured activation memory (descriptor.activation_bytes)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import zoo
from zoo.archs import describe
from zoo.tasks.tiling import activation_budget, plan_tiles, tile_regions

MB = 2**20


def test_one_pass_when_the_image_fits():
    plan = plan_tiles(448, 448, context=96, multiple=1, bytes_per_pixel=2304, budget=1024 * MB)
    assert plan.tile == 0 and plan.tiles == 1 and plan.overhead == 1.0 and plan.peak_bytes == 448 * 448 * 2304


@pytest.mark.parametrize("size", [(1024, 1024), (1536, 1536), (2048, 1536), (4000, 300), (999, 1001)])
def test_fewest_tiles_that_fit(size):
    h, w = size
    budget = 1024 * MB
    plan = plan_tiles(h, w, context=96, multiple=1, bytes_per_pixel=2304, budget=budget)
    assert plan.tiles > 1 and plan.peak_bytes <= budget
    assert plan.tiles == len(tile_regions(h, w, plan.tile))
    # no grid with fewer tiles fits: every larger even split needs more memory than the budget
    for n in range(1, 40):
        for side in (h, w):
            tile = -(-side // n)
            other = plan_tiles(h, w, context=96, multiple=1, bytes_per_pixel=2304, fixed_tile=tile)
            if other.tiles < plan.tiles:
                assert other.peak_bytes > budget, (tile, other)


def test_1024_runs_in_four_tiles_not_nine():
    plan = plan_tiles(1024, 1024, context=96, multiple=1, bytes_per_pixel=2304, budget=1024 * MB)
    assert (plan.tile, plan.tiles) == (512, 4) and plan.overhead == pytest.approx(1.41, abs=0.01)  # border tiles: context inward only


def test_fixed_tile_and_fallback():
    fixed = plan_tiles(600, 600, context=10, multiple=4, bytes_per_pixel=100, fixed_tile=200)
    assert fixed.tile == 200 and fixed.tiles == 9
    unknown = plan_tiles(600, 600, context=10, multiple=4, bytes_per_pixel=0, fallback_tile=256)
    assert unknown.tile == 256 and unknown.tiles == 9  # a network with no measured memory keeps its descriptor's tile
    assert plan_tiles(600, 600, context=10, multiple=4, bytes_per_pixel=100, fixed_tile=0).tiles == 1


def test_budget_from_the_environment(monkeypatch):
    assert activation_budget() == 1024 * MB
    monkeypatch.setenv("ZOO_TILE_MEMORY_MB", "256")
    assert activation_budget() == 256 * MB and activation_budget(64) == 64 * MB
    monkeypatch.setenv("ZOO_TILE_MEMORY_MB", "lots")
    with pytest.raises(ValueError, match="ZOO_TILE_MEMORY_MB must be a number"):
        activation_budget()
    with pytest.raises(ValueError, match="must be positive"):
        activation_budget(0)


def test_upscaler_plans_by_default_and_stays_within_a_level_of_one_pass(fast_model):
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (72, 88, 3), dtype=np.uint8))
    one_pass = np.asarray(fast_model(image, tile=0), np.int16)
    assert fast_model.plan(88, 72).tiles == 1
    assert np.array_equal(np.asarray(fast_model(image), np.int16), one_pass)  # it fits: planned = one pass
    small = fast_model.plan(88, 72, memory_mb=5)  # 5 MB of activations: tiles
    assert small.tiles > 1 and small.peak_bytes <= 5 * MB
    tiled = np.asarray(fast_model(image, memory_mb=5), np.int16)
    assert np.abs(tiled - one_pass).max() <= 1
    tiny = fast_model.plan(88, 72, memory_mb=0.01)  # nothing fits: tiles as small as their context, not 1-pixel ones
    assert tiny.tile == fast_model.default_overlap


@pytest.fixture(scope="module")
def fast_model():
    return zoo.load("realesr-animevideov3")


PROBE = r"""
import json, sys, torch
from zoo.archs import build
arch, kwargs, side = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(2)
net = build(arch, kwargs).eval()
def status(key):
    return next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith(key))
x = torch.rand(1, 3, side, side)
with torch.inference_mode():
    net(torch.rand(1, 3, 16, 16))
    base = status("VmRSS:")
    open("/proc/self/clear_refs", "w").write("5")  # restart the high-water mark here
    net(x)
print(json.dumps((status("VmHWM:") - base) / side**2))
"""


@pytest.mark.slow
@pytest.mark.parametrize("arch, kwargs, side", [("srvgg", {"num_conv": 16}, 384), ("rrdbnet", {"num_block": 2}, 384),
                                                ("resnet", {"n_blocks": 9}, 1024)])
def test_measured_activation_memory_is_within_the_descriptor(arch, kwargs, side):
    """A forward's real peak (VmHWM beyond the resident set before it) stays under what the descriptor
    promises the planner, and not far below it (the budget is not wasted)."""
    try:
        open("/proc/self/clear_refs", "w").close()
    except OSError:
        pytest.skip("needs Linux /proc/self/clear_refs")
    out = subprocess.run([sys.executable, "-c", PROBE, arch, json.dumps(kwargs), str(side)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    measured = json.loads(out.stdout.strip().splitlines()[-1])
    promised = describe(arch, kwargs).activation_bytes
    assert 0.6 * promised <= measured <= 1.1 * promised, (measured, promised)


# -- the same planner for translate (ResNet generators) and inpaint (one pass or context windows) --


@pytest.fixture(scope="module")
def resnet():
    return zoo.load("cyclegan-photo2cartoon")


def test_translate_runs_one_pass_when_it_fits_and_planned_tiles_otherwise(resnet, astronaut):
    d = resnet.descriptor
    assert d.activation_bytes > 0 and d.image_statistics
    image = Image.fromarray(astronaut).resize((480, 384), Image.BICUBIC)  # natural: a reduced copy keeps its statistics
    plan = resnet.plan(480, 384)
    assert plan.tiles.tiles == 1 and plan.stats_side == 0
    one_pass = np.asarray(resnet(image, size="native", tile=0), np.int16)
    assert np.array_equal(np.asarray(resnet(image, size="native"), np.int16), one_pass)
    budget_mb = 24  # about 116,000 pixels of this small resnet's activations: tiles, and statistics from a reduced copy
    small = resnet.plan(480, 384, memory_mb=budget_mb)
    assert small.tiles.tiles == 4 and small.tiles.peak_bytes <= budget_mb * MB
    assert 0 < small.stats_side < 480 and small.stats_side**2 * d.activation_bytes <= budget_mb * MB
    tiled = np.asarray(resnet(image, size="native", memory_mb=budget_mb), np.int16)
    assert tiled.shape == one_pass.shape and not np.array_equal(tiled, one_pass)
    diff = np.abs(tiled - one_pass)  # measured: mean 1.8, 99th percentile 8 levels
    assert diff.mean() < 2.5 and np.percentile(diff, 99) < 12  # tiles agree: image-wide (if reduced) statistics
    fixed = resnet.plan(480, 384, tile=240)
    assert fixed.tile == 240 and fixed.stats_side == 2048  # a tile the caller chose keeps the full statistics copy


def test_translate_plans_from_the_environment_budget(resnet, monkeypatch):
    monkeypatch.setenv("ZOO_TILE_MEMORY_MB", "24")
    assert resnet.plan(480, 384).tiles.tiles == 4
    monkeypatch.setenv("ZOO_TILE_MEMORY_MB", "4096")
    assert resnet.plan(2000, 1500).tiles.tiles == 1


def test_unets_are_never_tiled():
    unet = zoo.load("pix2pix-colorize")
    assert unet.descriptor.context is None
    plan = unet.plan(3000, 2000, memory_mb=1)
    assert plan.tiles.tiles == 1 and plan.stats_side == 0


@pytest.fixture(scope="module")
def inpainter():
    return zoo.load("deepfill-nature")


def test_inpaint_auto_runs_whole_only_when_the_pass_fits_the_budget(inpainter):
    assert inpainter.plan(256, 256).strategy == "native"
    need = inpainter.pass_bytes(256, 256)
    assert inpainter.plan(256, 256).peak_bytes == need
    assert inpainter.plan(256, 256, memory_mb=need / MB * 0.9).strategy == "windows"
    assert inpainter.plan(256, 256, memory_mb=need / MB * 1.1).strategy == "native"
    assert inpainter.plan(600, 400, memory_mb=10_000).strategy == "windows"  # beyond 512 px: windows whatever the memory
    assert inpainter.plan(600, 400, strategy="native").strategy == "native"
    windows = inpainter.plan(600, 400)
    assert windows.peak_bytes == inpainter.pass_bytes(inpainter.trained_side, inpainter.trained_side)
    # the attention grows with the square of the area
    assert inpainter.pass_bytes(512, 512) > 4 * inpainter.pass_bytes(256, 256)


def test_inpaint_under_a_small_budget_equals_the_windows_strategy(inpainter):
    rng = np.random.default_rng(2)
    image = Image.fromarray(rng.integers(0, 256, (192, 224, 3), dtype=np.uint8))
    mask = np.zeros((192, 224), bool)
    mask[60:90, 100:140] = True
    need = inpainter.pass_bytes(224, 192)
    native = np.asarray(inpainter(image, mask))
    windows = np.asarray(inpainter(image, mask, strategy="windows"))
    assert not np.array_equal(native, windows)
    assert np.array_equal(np.asarray(inpainter(image, mask, memory_mb=need / MB / 2)), windows)
    assert np.array_equal(np.asarray(inpainter(image, mask)), native)
