#!/usr/bin/env python
"""CPU speed of gan-zoo's DeepFill v2 side by side with the reference port, on identical weights.

    python benchmarks/bench_deepfill.py --reference DIR [--size 512] [--hole 128] [--layouts tf pt]
                                        [--threads 2] [--repeats 5] [--warmup 1] [--json out.json]

DIR is a checkout of nipponjo/deepfillv2-pytorch (fetched into a scratch folder, never committed).
For each layout the port's ``Generator(cnum_in=5, cnum=48)`` (``networks_tf.py`` or ``networks.py``)
is built with seeded random weights, its ``state_dict()`` converted by gan-zoo's reader, and both
run ``G(x, mask)`` on a seeded random image with a centred ``--hole`` square hole under
``torch.inference_mode()``, interleaved with a 4096^2 fp32 matmul in the same rounds
(bench_esrgan.time_cases). Reported: medians, the reference / gan-zoo speed ratio, the matmul
fraction (multiply-adds of the convolutions and of the attention's two patch convolutions,
counted from the shapes) and the largest difference of ``stage2``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch import nn

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from bench_esrgan import side_by_side, time_cases  # noqa: E402

from zoo.archs.deepfill import DeepFillV2  # noqa: E402
from zoo.formats import deepfill as fmt  # noqa: E402


def macs(net: DeepFillV2, x: torch.Tensor, mask: torch.Tensor) -> int:
    """Multiply-adds of every convolution (counted by hooks on a plain forward) and of the
    attention's score and paste-back convolutions (L patches x P positions x C x 9, x C x 16)."""
    from zoo.archs import fast_path

    total = 0

    def count(module: nn.Conv2d, _inputs, output) -> None:
        nonlocal total
        total += output.numel() * module.in_channels * module.kernel_size[0] * module.kernel_size[1] // module.groups

    hooks = [m.register_forward_hook(count) for m in net.modules() if isinstance(m, nn.Conv2d)]
    with fast_path.plain(), torch.inference_mode():
        net(x, mask)
    for h in hooks:
        h.remove()
    patches = (x.shape[2] // 8) * (x.shape[3] // 8)  # = positions: both are the H/8 x W/8 grid
    channels = 2 * net.cnum
    return total + patches * patches * channels * (9 + 16)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", required=True, help="checkout of nipponjo/deepfillv2-pytorch")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--hole", type=int, default=128)
    parser.add_argument("--layouts", nargs="+", default=["tf", "pt"], choices=["tf", "pt"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--matmul-calls", type=int, default=1)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sys.path.insert(0, str(Path(args.reference).resolve()))
    from model import networks, networks_tf  # the reference code, from the scratch folder

    g = torch.Generator().manual_seed(0)
    image = torch.rand(1, 3, args.size, args.size, generator=g) * 2 - 1
    mask = torch.zeros(1, 1, args.size, args.size)
    start = (args.size - args.hole) // 2
    mask[..., start : start + args.hole, start : start + args.hole] = 1
    x = torch.cat([image * (1 - mask), torch.ones_like(mask), mask], dim=1)
    cases = []
    for layout in args.layouts:
        torch.manual_seed(1)
        module = networks_tf if layout == "tf" else networks
        reference = module.Generator(cnum_in=5, cnum=48).eval().requires_grad_(False)
        converted = fmt.convert({k: v.detach().clone() for k, v in reference.state_dict().items()})
        ours = DeepFillV2(**converted.arch_kwargs).eval().requires_grad_(False)
        ours.load_state_dict(converted.state_dict, strict=True)
        with torch.inference_mode():
            diff = (reference(x, mask)[1] - ours(x, mask)[1]).abs().max().item()
        count = macs(ours, x, mask)
        for who, net in (("reference", reference), ("zoo", ours)):
            cases.append({"key": f"{layout}|{who}", "layout": layout, "net": net, "macs": count, "diff": diff})

    def call(case: dict) -> None:
        with torch.inference_mode():
            case["net"](x, mask)

    times, mm, load = time_cases(args, cases, call)
    side_by_side(args, "layout", args.layouts, {"reference": "nipponjo/deepfillv2-pytorch", "zoo": "gan-zoo"}, cases, times, mm, load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
