#!/usr/bin/env python
"""CPU speed of gan-zoo's StyleGAN2 generator side by side with NVIDIA's, on identical weights.

    python benchmarks/bench_stylegan2.py --official DIR [--sizes 1024 256] [--threads 2]
                                         [--repeats 3] [--warmup 1] [--json out.json]

DIR is a checkout of NVlabs/stylegan2-ada-pytorch (fetched into a scratch folder, never committed;
its CPU path runs the reference upfirdn2d / bias_act ops, nothing is compiled). For each size the
official ``training.networks.Generator`` is built with seeded random weights (ffhq configuration:
z = w = 512, 8 mapping layers, channel_base 32768, channel_max 512, fp32, no conv_clamp), its
``state_dict()`` is converted by gan-zoo's own reader, and both run ``G(z)`` (batch 1, noise mode
const, truncation 1) under ``torch.inference_mode()``, interleaved with a 4096^2 fp32 matmul in
the same rounds (bench_esrgan.time_cases). Reported: medians, the official/gan-zoo speed ratio,
the matmul fraction (of the multiply-adds counted from the layer shapes), and the largest output
difference.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from bench_esrgan import side_by_side, time_cases  # noqa: E402

from zoo.archs.stylegan2 import Generator  # noqa: E402
from zoo.formats import stylegan2 as fmt  # noqa: E402


def init_kwargs(size: int) -> dict:
    return {"z_dim": 512, "c_dim": 0, "w_dim": 512, "img_resolution": size, "img_channels": 3,
            "mapping_kwargs": {"num_layers": 8},
            "synthesis_kwargs": {"channel_base": 32768, "channel_max": 512, "num_fp16_res": 0, "conv_clamp": None}}


def synthesis_macs(net: Generator) -> int:
    """Multiply-adds of the convolutions (modulated 3x3, ToRGB 1x1), counted from the shapes."""
    total = 0
    for res in net.synthesis.block_resolutions:
        block = getattr(net.synthesis, f"b{res}")
        for name in ("conv0", "conv1", "torgb"):
            layer = getattr(block, name, None)
            if layer is not None:
                o, i, kh, kw = layer.weight.shape
                out_side = res + 1 if name == "conv0" else res  # the transposed conv's 2H+1 grid
                total += o * i * kh * kw * out_side * out_side
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official", required=True, help="checkout of NVlabs/stylegan2-ada-pytorch")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 256])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--matmul-calls", type=int, default=1)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sys.path.insert(0, str(Path(args.official).resolve()))
    from training.networks import Generator as Official  # the official code, from the scratch folder

    cases = []
    for size in args.sizes:
        torch.manual_seed(size)
        kwargs = init_kwargs(size)
        official = Official(**kwargs).eval().requires_grad_(False)
        with torch.no_grad():
            official.mapping.w_avg.normal_(0, 0.5)
            for name, buf in official.named_buffers():
                if name.endswith("noise_const"):
                    buf.normal_()
        converted = fmt.convert({k: v.detach().clone() for k, v in official.state_dict().items()}, kwargs)
        ours = Generator(**converted.arch_kwargs).eval().requires_grad_(False)
        ours.load_state_dict(converted.state_dict, strict=True)
        z = torch.randn(1, 512, generator=torch.Generator().manual_seed(1))
        with torch.inference_mode():
            diff = (official(z, None, noise_mode="const", force_fp32=True) - ours(z, None)).abs().max().item()
        macs = synthesis_macs(ours)
        cases += [{"key": f"{size}|official", "size": size, "net": official, "z": z, "macs": macs, "diff": diff, "official": True},
                  {"key": f"{size}|zoo", "size": size, "net": ours, "z": z, "macs": macs, "diff": diff, "official": False}]

    def call(case: dict) -> None:
        with torch.inference_mode():
            if case["official"]:
                case["net"](case["z"], None, noise_mode="const", force_fp32=True)
            else:
                case["net"](case["z"], None)

    times, mm, load = time_cases(args, cases, call)
    side_by_side(args, "size", args.sizes, {"official": "NVIDIA stylegan2-ada-pytorch", "zoo": "gan-zoo"}, cases, times, mm, load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
