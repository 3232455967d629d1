#!/usr/bin/env python
"""StyleGAN2 projection with each distance: seconds per step, and how close it gets to a known target.

    python benchmarks/bench_project.py [--size 256] [--time-steps 12] [--quality-size 64]
                                       [--quality-steps 200] [--threads 2] [--json out.json]

Every network holds seeded random weights (no released weights can be had here): a StyleGAN2
generator of the ffhq configuration (channels min(32768 / r, 512), 8 mapping layers), NVIDIA's
discriminator of the same size, and LPIPS-VGG (a seeded random VGG16 trunk with the lpips
package's real heads). The target is the generator's own image of a known latent (seed 5, psi
0.7), so the distance a projection reaches is measured against an image the generator can make.

* seconds per step: ``zoo.tasks.project.project`` at ``--size`` for ``--time-steps`` steps
  (the first included), per distance;
* closeness: at ``--quality-size``, after ``--quality-steps`` steps, the pixel MSE and the
  LPIPS (same random trunk) of the projected image to the target, next to those of the start
  (the mean W), and the distance of the found W to the true one in units of W's spread.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from zoo.archs.lpips import LPIPSVGG16  # noqa: E402
from zoo.archs.stylegan2 import Discriminator, Generator  # noqa: E402
from zoo.formats import lpips as lpips_format  # noqa: E402
from zoo.tasks.project import project  # noqa: E402

DISTANCES = ("mse", "discriminator", "lpips")


def networks(size: int) -> tuple[Generator, Discriminator, LPIPSVGG16]:
    torch.manual_seed(0)
    g = Generator(img_resolution=size).eval()
    with torch.no_grad():
        g.mapping.w_avg.copy_(g.mapping(torch.randn(4096, 512), None)[:, 0].mean(0))
    d = Discriminator(img_resolution=size).eval()
    lp = LPIPSVGG16()
    lp.load_state_dict({**lp.state_dict(), **lpips_format.read_heads()})
    for net in (g, d, lp):
        net.requires_grad_(False)
    return g, d, lp.eval()


def target_of(g: Generator) -> tuple[torch.Tensor, torch.Tensor]:
    z = torch.from_numpy(np.random.RandomState(5).randn(1, g.z_dim)).float()
    with torch.no_grad():
        ws = g.mapping(z, None, truncation_psi=0.7)
        return g.synthesis(ws).clamp(-1, 1), ws


def run(g, d, lp, target, distance: str, steps: int):
    return project(g, target, steps=steps, distance=distance, discriminator=d if distance == "discriminator" else None,
                   perceptual=lp if distance == "lpips" else None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--time-steps", type=int, default=12)
    parser.add_argument("--quality-size", type=int, default=64)
    parser.add_argument("--quality-steps", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = {}
    g, d, lp = networks(args.size)
    target, _ = target_of(g)
    for distance in DISTANCES:
        rows[distance] = {"seconds_per_step": run(g, d, lp, target, distance, args.time_steps).seconds_per_step}
        print(f"  {distance}: {rows[distance]['seconds_per_step']:.2f} s/step at {args.size} px", flush=True)
    g, d, lp = networks(args.quality_size)
    target, true_ws = target_of(g)
    with torch.no_grad():
        w = g.mapping(torch.randn(10_000, 512, generator=torch.Generator().manual_seed(123)), None)[:, :1]
        w_std = float(((w - w.mean(0)).square().sum() / len(w)) ** 0.5)
    for distance in DISTANCES:
        result = run(g, d, lp, target, distance, args.quality_steps)
        with torch.no_grad():
            start = g.synthesis(g.w_avg.expand(1, g.num_ws, -1).clone(), noise=result.noise).clamp(-1, 1)
            end = g.synthesis(result.ws, noise=result.noise).clamp(-1, 1)
            rows[distance].update({
                "start_mse": float((start - target).square().mean()), "end_mse": float((end - target).square().mean()),
                "start_lpips": float(lp(start, target)), "end_lpips": float(lp(end, target)),
                "w_error_in_std": float((result.ws[0, 0] - true_ws[0, 0]).norm() / w_std),
            })
        print(f"  {distance}: {json.dumps(rows[distance])}", flush=True)
    print(f"| distance | s/step at {args.size} px | pixel MSE start -> end | LPIPS start -> end | W error / W std |")
    print("|---|---:|---:|---:|---:|")
    for distance, r in rows.items():
        print(f"| {distance} | {r['seconds_per_step']:.2f} | {r['start_mse']:.4f} -> {r['end_mse']:.4f} | "
              f"{r['start_lpips']:.4f} -> {r['end_lpips']:.4f} | {r['w_error_in_std']:.2f} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
