#!/usr/bin/env python
"""Seams: tiled upscaling vs one pass, on natural images, with each model's default tiling.

    python benchmarks/bench_tiling.py [--models M ...] [--size 256] [--overlaps 16 32 48]

For each model and image (centre crops of at most SIZE x SIZE of scikit-image's astronaut
(512x512), coffee (400x600), chelsea (300x451) and camera (512x512); pick SIZE above the default
tile so that it splits them), prints the largest difference in
8-bit levels between tiled output and a single pass, and the share of pixels that differ.
``--overlaps`` also measures other context widths at the default tile size, which is how the
defaults in ``zoo/tasks/upscale.py`` were chosen. Acceptance (issue 2): at most 1 level.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from skimage import data

import zoo

OFFLINE_MODELS = ["realesrgan-x4plus", "realesrgan-x4plus-anime-6b", "realesr-animevideov3"]


def crops(size: int) -> dict[str, np.ndarray]:
    """Centre crops of at most SIZE x SIZE (smaller images keep their full height or width)."""
    images = {"astronaut": data.astronaut(), "coffee": data.coffee(), "chelsea": data.chelsea(), "camera": data.camera()}
    out = {}
    for name, image in images.items():
        h, w = image.shape[:2]
        ch, cw = min(size, h), min(size, w)
        y, x = (h - ch) // 2, (w - cw) // 2
        out[name] = np.ascontiguousarray(image[y : y + ch, x : x + cw])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=OFFLINE_MODELS)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--images", nargs="+", default=None, help="subset of astronaut coffee chelsea camera")
    parser.add_argument("--overlaps", nargs="*", type=int, default=[], help="extra context widths to measure")
    parser.add_argument("--tile", type=int, default=None, help="tile size instead of the model's default (context stays default)")
    parser.add_argument("--json", default=None, help="write the records here")
    args = parser.parse_args()
    records = []
    images = crops(args.size)
    if args.images:
        images = {k: v for k, v in images.items() if k in args.images}
    for model in args.models:
        up = zoo.load(model)
        for name, image in images.items():
            start = time.perf_counter()
            single = up.upscale_array(image, tile=0).astype(np.int64)
            one_pass_s = time.perf_counter() - start
            for overlap in [up.default_overlap, *[o for o in args.overlaps if o != up.default_overlap]]:
                start = time.perf_counter()
                tiled = up.upscale_array(image, tile=args.tile, overlap=overlap).astype(np.int64)
                diff = np.abs(tiled - single)
                record = {
                    "model": model, "image": name, "size": list(image.shape[:2]), "tile": args.tile or up.default_tile, "overlap": overlap,
                    "default": overlap == up.default_overlap, "max_levels": int(diff.max()),
                    "share_differing": round(float((diff > 0).mean()), 6),
                    "one_pass_s": round(one_pass_s, 1), "tiled_s": round(time.perf_counter() - start, 1),
                }
                records.append(record)
                print(json.dumps(record), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(records, f, indent=1)
    worst = max(r["max_levels"] for r in records if r["default"])
    print(f"worst difference with the default tiling: {worst} level(s)")
    return 0 if worst <= 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
