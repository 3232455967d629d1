"""Tiled inference for fully convolutional image-to-image networks.

The input is cut into core tiles; each is run with ``overlap`` pixels of real context on every
side (clipped at the image border), and only the core of each output is kept. With enough
context the result equals a single pass to within rounding, while memory stays bounded by the
tile size whatever the image size. Output tiles are handed to a ``sink`` so the caller can
quantise them straight into the final array (no full-size float output is ever held).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

import torch
from torch.nn import functional as F

Region = tuple[int, int, int, int]  # y0, y1, x0, x1 (end-exclusive), in input pixels
Sink = Callable[[Region, torch.Tensor], None]
Progress = Callable[[int, int], None]


def _starts(length: int, tile: int) -> list[int]:
    return list(range(0, length, tile)) if tile > 0 else [0]


def tile_regions(height: int, width: int, tile: int, multiple: int = 1) -> list[Region]:
    """Core tiles covering ``height x width``; ``tile`` is rounded down to a multiple (0 = one tile)."""
    if tile <= 0 or (tile >= height and tile >= width):
        return [(0, height, 0, width)]
    tile = max(multiple, tile - tile % multiple)
    return [
        (y, min(y + tile, height), x, min(x + tile, width))
        for y in _starts(height, tile)
        for x in _starts(width, tile)
    ]


ACTIVATION_BUDGET_MB = 1024  # default: 1536x1536 x4 with realesrgan-x4plus stays within 2 GB peak RSS


def activation_budget(value_mb: float | None = None) -> int:
    """Bytes a forward's activations may take: ``value_mb``, else ``$ZOO_TILE_MEMORY_MB``, else 1024 MB."""
    text = os.environ.get("ZOO_TILE_MEMORY_MB") if value_mb is None else str(value_mb)
    try:
        mb = float(text) if text else ACTIVATION_BUDGET_MB
    except ValueError:
        raise ValueError(f"ZOO_TILE_MEMORY_MB must be a number of megabytes, not {text!r}") from None
    if mb <= 0:
        raise ValueError(f"the tile memory budget must be positive, not {mb:g} MB")
    return int(mb * 2**20)


@dataclass(frozen=True)
class TilePlan:
    """How an image is cut: ``tile`` (core side in input pixels, 0 = one pass), the number of
    ``tiles``, the input pixels the network runs on (``processed``, context included), ``overhead``
    (processed / image pixels, 1.0 for one pass) and the expected activation peak in bytes."""

    tile: int
    tiles: int
    processed: int
    overhead: float
    peak_bytes: int


def plan_tiles(height: int, width: int, *, context: int, multiple: int, bytes_per_pixel: float,
               budget: int | None = None, fallback_tile: int = 0, fixed_tile: int | None = None) -> TilePlan:
    """The fewest, largest tiles whose forward fits ``budget`` bytes of activations
    (``activation_budget()`` when None): one pass when the whole (padded) image fits. A network
    with no measured ``bytes_per_pixel`` (0) gets ``fallback_tile``, its descriptor's fixed tile;
    ``fixed_tile`` (0 = one pass) is the plan of a tile the caller chose."""
    budget = activation_budget() if budget is None else int(budget)
    h, w = -(-height // multiple) * multiple, -(-width // multiple) * multiple
    context = -(-context // multiple) * multiple

    def made(tile: int) -> TilePlan:
        regions = tile_regions(h, w, tile, multiple)
        boxes = [with_context(region, context, h, w) for region in regions]
        areas = [(y1 - y0) * (x1 - x0) for y0, y1, x0, x1 in boxes]
        return TilePlan(0 if len(regions) == 1 else tile, len(regions), sum(areas), sum(areas) / (h * w),
                        int(max(areas) * bytes_per_pixel))

    if fixed_tile is not None:
        return made(int(fixed_tile))
    if bytes_per_pixel <= 0:
        return made(fallback_tile)
    if h * w * bytes_per_pixel <= budget:
        return made(0)
    # Candidate tiles split the height or the width evenly into n; tiles at the border have context
    # on their inner sides only, so the largest actual tile (not tile + 2 * context) must fit.
    candidates = sorted({-(-(-(-side // n)) // multiple) * multiple for side in (h, w) for n in range(1, 129)}, reverse=True)
    fitting = []
    for plan in map(made, candidates):  # largest tiles first: stop once more tiles could not win
        if fitting and plan.tiles > fitting[0].tiles:
            break
        if plan.peak_bytes <= budget:
            fitting.append(plan)
    if not fitting:  # not even a tile as small as its context fits: run such tiles anyway (overhead <= 9x)
        return made(max(multiple, context))
    return min(fitting, key=lambda plan: (plan.tiles, plan.processed))


def with_context(region: Region, context: int, height: int, width: int) -> Region:
    """``region`` grown by ``context`` pixels on every side, clipped to the ``height x width`` image."""
    y0, y1, x0, x1 = region
    return max(0, y0 - context), min(height, y1 + context), max(0, x0 - context), min(width, x1 + context)


def run_tiled(
    fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    scale: int,
    sink: Sink,
    *,
    tile: int = 0,
    overlap: int = 0,
    multiple: int = 1,
    progress: Progress | None = None,
) -> None:
    """Run ``fn`` over ``x`` ([N, C, H, W], H and W multiples of ``multiple``) tile by tile.

    ``fn`` maps [N, C, h, w] to [N, C', h*scale, w*scale]. For each core region ``sink`` receives
    the region (input coordinates) and the matching output crop. ``progress(done, total)`` is
    called after each tile.
    """
    _, _, height, width = x.shape
    if height % multiple or width % multiple:
        raise ValueError(f"input {height}x{width} is not a multiple of {multiple}")
    overlap = -(-overlap // multiple) * multiple  # context must keep tiles on the size grid
    regions = tile_regions(height, width, tile, multiple)
    for done, (y0, y1, x0, x1) in enumerate(regions, start=1):
        ey0, ey1, ex0, ex1 = with_context((y0, y1, x0, x1), overlap, height, width)
        out = fn(x[:, :, ey0:ey1, ex0:ex1])
        oy, ox = (y0 - ey0) * scale, (x0 - ex0) * scale
        sink((y0, y1, x0, x1), out[:, :, oy : oy + (y1 - y0) * scale, ox : ox + (x1 - x0) * scale])
        if progress is not None:
            progress(done, len(regions))


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, int, int]:
    """Pad the bottom/right of [N, C, H, W] up to a multiple of ``multiple``; returns (x, pad_h, pad_w).

    Reflection, repeated when the pad is larger than the image (a side of one pixel, which
    cannot be reflected, is replicated).
    """
    height, width = x.shape[2:]
    pad_h, pad_w = (-height) % multiple, (-width) % multiple
    while x.shape[2] < height + pad_h or x.shape[3] < width + pad_w:
        step_h, step_w = height + pad_h - x.shape[2], width + pad_w - x.shape[3]
        if min(x.shape[2], x.shape[3]) == 1:
            return F.pad(x, (0, step_w, 0, step_h), mode="replicate"), pad_h, pad_w
        x = F.pad(x, (0, min(step_w, x.shape[3] - 1), 0, min(step_h, x.shape[2] - 1)), mode="reflect")
    return x, pad_h, pad_w

