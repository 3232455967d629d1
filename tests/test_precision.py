"""Reduced precision (zoo.tasks.precision): every family in float16 and bfloat16 against float32.

The CPU runs autocast's float16 and bfloat16 kernels with the same roundings and the same range
as a GPU's, so overflow (the NaN / black images of whole-network ``.half()`` casts) shows here
too. Each case runs one model through its task, as a user does (``zoo.load(name, dtype=...)``),
and compares the 8-bit result with the float32 one. The bounds are about twice what was measured
(largest difference, float16 / bfloat16, in levels): x4plus 1 / 8, animevideov3 1 / 3, pix2pix
1 / 1, CycleGAN 1 / 2, StyleGAN2 (bundled) 1 / 6, StyleGAN2 (rosinality) 2 / 10, DeepFill 1 / 1.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from PIL import Image

import zoo
from zoo.tasks.precision import Precision, all_finite

from conftest import PARITY

ROSINALITY = PARITY / "stylegan2" / "rosi_size32_psi07" / "checkpoint.pt"


def astronaut_crop(astronaut, side: int) -> Image.Image:
    return Image.fromarray(astronaut).resize((side, side), Image.BICUBIC)


def hole(side: int) -> Image.Image:
    mask = np.zeros((side, side), np.uint8)
    mask[side // 4 : side // 2 + 4, side // 3 : side // 3 + side // 2] = 255
    return Image.fromarray(mask)


def run_case(case: str, dtype: str, astronaut) -> np.ndarray:
    """The case's 8-bit output (int array) computed in ``dtype``."""
    if case == "x4plus":  # real Real-ESRGAN weights
        return np.asarray(zoo.load("realesrgan-x4plus", dtype=dtype)(astronaut_crop(astronaut, 12)), int)
    if case == "animevideov3":  # real weights, SRVGGNetCompact
        return np.asarray(zoo.load("realesr-animevideov3", dtype=dtype)(astronaut_crop(astronaut, 32)), int)
    if case == "pix2pix":
        return np.asarray(zoo.load("pix2pix-colorize", dtype=dtype)(astronaut_crop(astronaut, 64)), int)
    if case == "cyclegan":
        return np.asarray(zoo.load("cyclegan-photo2cartoon", dtype=dtype)(astronaut_crop(astronaut, 64)), int)
    if case == "stylegan2":
        task = zoo.load("stylegan2-fashion-32", dtype=dtype)
        return np.stack([np.asarray(task(seed, psi=0.7), int) for seed in range(4)])
    if case == "stylegan2-rosinality":
        task = zoo.load(ROSINALITY, dtype=dtype)
        return np.stack([np.asarray(task(seed), int) for seed in range(2)])
    if case == "deepfill":
        return np.asarray(zoo.load("deepfill-nature", dtype=dtype)(astronaut_crop(astronaut, 64), hole(64)), int)
    raise AssertionError(case)


BOUNDS = {  # case: (float16, bfloat16) largest difference from float32, in 8-bit levels
    "x4plus": (2, 16), "animevideov3": (2, 6), "pix2pix": (2, 2), "cyclegan": (2, 4),
    "stylegan2": (2, 12), "stylegan2-rosinality": (4, 20), "deepfill": (2, 2),
}


@pytest.mark.parametrize("case", list(BOUNDS))
def test_every_family_runs_in_float16_and_bfloat16_close_to_float32(case, astronaut):
    reference = run_case(case, "float32", astronaut)
    assert reference.std() > 3  # a real picture, not a flat one
    for dtype, bound in zip(("float16", "bfloat16"), BOUNDS[case]):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no overflow fallback either: these models fit in float16
            out = run_case(case, dtype, astronaut)
        assert out.shape == reference.shape
        diff = np.abs(out - reference)
        assert diff.max() <= bound, f"{case} {dtype}: {diff.max()} levels"
        assert diff.mean() < bound / 4
    assert diff.max() > 0  # it really ran in bfloat16


def test_lpips_in_reduced_precision(tmp_path):
    from zoo.converted import write_converted
    from zoo.formats import lpips as fmt

    from test_lpips import torchvision_vgg16_state_dict

    folder = write_converted(tmp_path / "lpips", fmt.convert(torchvision_vgg16_state_dict()), name="lpips-test",
                             task="measure", provenance={}, card=None)
    rng = np.random.default_rng(0)
    a, b = (Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)) for _ in range(2))
    reference = zoo.load(folder)(a, b)
    assert reference > 0
    for dtype, bound in (("float16", 1e-3), ("bfloat16", 1e-2)):
        value = zoo.load(folder, dtype=dtype)(a, b)
        assert value != reference and abs(value - reference) <= bound * reference


def test_weights_stay_float32_and_the_forward_runs_under_autocast():
    task = zoo.load("realesr-animevideov3", dtype="float16")
    assert task.dtype == torch.float16 and all(p.dtype == torch.float32 for p in task.net.parameters())
    seen = []
    hook = task.net.body[0].register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    try:
        task(Image.new("RGB", (8, 8), (90, 120, 200)))
    finally:
        hook.remove()
    assert seen == [torch.float16]


def test_a_float16_overflow_is_computed_again_in_float32(astronaut):
    """Weights scaled so that the first activations pass float16's 65504 while the float32 result
    stays the same (PReLU is positively homogeneous): the guard returns the float32 image."""
    image = astronaut_crop(astronaut, 24)
    reference = np.asarray(zoo.load("realesr-animevideov3")(image), int)

    def scaled(dtype: str):
        task = zoo.load("realesr-animevideov3", dtype=dtype)
        first, second = task.net.body[0], task.net.body[2]
        with torch.no_grad():
            first.weight.mul_(1e5)
            first.bias.mul_(1e5)
            second.weight.mul_(1e-5)
        return task

    assert np.abs(np.asarray(scaled("float32")(image), int) - reference).max() <= 1  # same function in float32
    task = scaled("float16")
    with pytest.warns(RuntimeWarning, match="float16 overflowed.*float32"):
        out = np.asarray(task(image), int)
    assert task.precision.fallbacks >= 1
    assert np.abs(out - reference).max() <= 1
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.float16):  # what the guard caught
        raw = task.net(torch.rand(1, 3, 8, 8))
    assert not all_finite(raw)


def test_the_guard_passes_finite_results_through_and_checks_nested_outputs():
    precision = Precision(torch.device("cpu"), torch.bfloat16, "test")
    calls = []

    def fn(x):
        calls.append(torch.is_autocast_enabled("cpu"))
        return (x, {"y": x * 2})

    out = precision(fn, torch.ones(2))
    assert calls == [True] and precision.fallbacks == 0 and out[1]["y"].tolist() == [2.0, 2.0]
    assert not all_finite((torch.ones(1), [torch.tensor([float("nan")])]))
    assert all_finite((torch.ones(1), torch.tensor([1], dtype=torch.long)))
    full = Precision(torch.device("cpu"), torch.float32, "test")
    assert full(lambda: torch.is_autocast_enabled("cpu")) is False


@pytest.mark.parametrize("device, message", [
    ("tpu", "unknown device 'tpu'"),
    ("meta", "device meta is not supported"),
    ("cuda" if not torch.cuda.is_available() else "cuda:99", "no CUDA GPU is available|there is no cuda:99"),
])
def test_unavailable_devices_are_refused_in_one_line(device, message):
    with pytest.raises(ValueError, match=message):
        zoo.load("realesr-animevideov3", device=device)
