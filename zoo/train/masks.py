"""Free-form training holes for inpainting (DeepFill v2's brush strokes plus a random box).

After the strokes of Yu et al. (ICCV 2019, the ``brush_stroke_mask`` of the official release):
1..4 strokes, each a polyline of 4..12 vertices with random turns, drawn with a round brush of
random width, and a random box of up to half the image per side; the union is the hole. Sizes
are relative to the image (the official numbers for 256 px, scaled). Everything is drawn from the
generator passed in, so a step's mask is a pure function of (seed, step).
"""

from __future__ import annotations

import math

import numpy as np
import torch


def _uniform(gen: torch.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=gen))


def _int(gen: torch.Generator, lo: int, hi: int) -> int:
    """An integer in lo..hi inclusive."""
    return int(torch.randint(lo, hi + 1, (1,), generator=gen))


def free_form_mask(gen: torch.Generator, height: int, width: int, *, box: bool = True) -> np.ndarray:
    """A ``[height, width]`` bool hole: brush strokes and (optionally) a box."""
    from PIL import Image, ImageDraw

    side = min(height, width)
    k = side / 256.0
    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    for _ in range(_int(gen, 1, 4)):
        x, y = _uniform(gen, 0, width), _uniform(gen, 0, height)
        brush = max(2, round(_uniform(gen, 12, 40) * k))
        angle = _uniform(gen, 0, 2 * math.pi)
        points = [(x, y)]
        for i in range(_int(gen, 4, 12)):
            angle += _uniform(gen, -math.pi / 2.5, math.pi / 2.5) + (math.pi if i % 2 else 0.0)
            length = _uniform(gen, 10, 60) * k
            x = min(max(x + length * math.cos(angle), 0), width - 1)
            y = min(max(y + length * math.sin(angle), 0), height - 1)
            points.append((x, y))
        draw.line(points, fill=255, width=brush, joint="curve")
        r = brush / 2
        for px, py in points:
            draw.ellipse((px - r, py - r, px + r, py + r), fill=255)
    hole = np.asarray(canvas) > 0
    if box:
        bh, bw = _int(gen, side // 8, height // 2), _int(gen, side // 8, width // 2)
        top, left = _int(gen, 0, height - bh), _int(gen, 0, width - bw)
        hole[top : top + bh, left : left + bw] = True
    return hole
