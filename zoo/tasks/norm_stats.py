"""Whole-image normalisation statistics for tiled inference.

pix2pix / CycleGAN generators normalise with the statistics of the tensor they are given:
InstanceNorm always, BatchNorm in the "official" test mode (batch statistics). Cut the image
into tiles and every tile is normalised with its own mean and variance, so tiles of sky and of
grass come out with different contrast and the seams show. The cure here
(``run_tiled_with_image_stats``): one pass over a reduced copy of the whole image records each
such layer's per-channel mean and (biased) variance, then every tile is normalised with those
image-wide figures. Exact when the copy is the image itself; a copy at half the resolution
leaves a few levels of difference (features are not scale-invariant). Refining the figures
with full-resolution tiled passes was tried and dropped: each pass fixes only the next layer
down, and the deeper layers got worse before they got better (RESULTS.md).

Statistics are per channel, ``[N, C, 1, 1]`` tensors; the layers keep their affine parameters
and eps. ``benchmarks/RESULTS.md`` ("Translate: large images") measures what this buys.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

import torch
from torch import nn
from torch.nn import functional as F

Stats = dict[nn.Module, tuple[torch.Tensor, torch.Tensor]]


def input_statistics_layers(net: nn.Module) -> list[nn.Module]:
    """The norm layers of ``net`` that normalise with the statistics of their input."""
    layers: list[nn.Module] = []
    for module in net.modules():
        if isinstance(module, nn.InstanceNorm2d) and not module.track_running_stats:
            layers.append(module)
        elif isinstance(module, nn.BatchNorm2d) and (module.training or not module.track_running_stats):
            layers.append(module)
    return layers


def _affine(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    if getattr(module, "affine", False) and module.weight is not None:
        x = x * module.weight.view(1, -1, 1, 1) + module.bias.view(1, -1, 1, 1)
    return x


def _moments(module: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample (InstanceNorm) or per-batch (BatchNorm) mean and biased variance, [N or 1, C, 1, 1]."""
    dims = (2, 3) if isinstance(module, nn.InstanceNorm2d) else (0, 2, 3)
    var, mean = torch.var_mean(x.float(), dim=dims, keepdim=True, correction=0)
    return mean, var


@contextmanager
def _patched(layers: list[nn.Module], forward) -> Iterator[None]:
    saved = {m: m.__dict__.get("forward") for m in layers}
    try:
        for m in layers:
            m.forward = forward.__get__(m)  # type: ignore[method-assign]
        yield
    finally:
        for m, old in saved.items():
            if old is None:
                del m.forward
            else:
                m.forward = old


@contextmanager
def recording(net: nn.Module) -> Iterator[Stats]:
    """Within the block, every input-statistics norm layer records the moments it used."""
    stats: Stats = {}

    def forward(self: nn.Module, x: torch.Tensor) -> torch.Tensor:
        mean, var = _moments(self, x)
        stats[self] = (mean, var)
        return _affine(self, ((x.float() - mean) * torch.rsqrt(var + self.eps)).to(x.dtype))

    with _patched(input_statistics_layers(net), forward):
        yield stats


@contextmanager
def frozen(net: nn.Module, stats: Stats) -> Iterator[None]:
    """Within the block, those layers normalise with ``stats`` instead of their input's moments."""
    layers = input_statistics_layers(net)
    missing = [m for m in layers if m not in stats]
    if missing:
        raise ValueError(f"no recorded statistics for {len(missing)} norm layer(s)")

    def forward(self: nn.Module, x: torch.Tensor) -> torch.Tensor:
        mean, var = stats[self]
        return _affine(self, ((x.float() - mean) * torch.rsqrt(var + self.eps)).to(x.dtype))

    with _patched(layers, forward):
        yield


def record(net: nn.Module, x: torch.Tensor, forward: Callable[[torch.Tensor], torch.Tensor] | None = None) -> Stats:
    """Run ``net`` once on ``x`` (through ``forward`` if given) and return the statistics its norm layers used."""
    with recording(net) as stats:
        (forward or net)(x)
    return dict(stats)


def reduced(x: torch.Tensor, max_side: int, multiple: int) -> torch.Tensor:
    """``x`` ([N, C, H, W]) area-resized so its long side is at most ``max_side`` (sizes kept on ``multiple``)."""
    height, width = x.shape[2:]
    factor = min(1.0, max_side / max(height, width))
    size = [max(multiple, round(s * factor / multiple) * multiple) for s in (height, width)]
    if size == [height, width]:
        return x
    return F.interpolate(x, size=size, mode="area")


def run_tiled_with_image_stats(
    net: nn.Module,
    forward: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    sink: Callable,
    *,
    tile: int,
    overlap: int,
    multiple: int,
    stats_side: int,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """``run_tiled(forward, x, 1, sink, ...)`` with every tile normalised by image-wide statistics.

    ``net`` is the module whose norm layers are patched (``forward`` calls it, e.g. after moving
    the tile to a device); ``x`` is ``[1, C, H, W]``. The statistics are recorded on a copy of
    ``x`` reduced to a long side of ``stats_side`` (exact when ``x`` is no larger).
    """
    from .tiling import run_tiled

    with frozen(net, record(net, reduced(x, stats_side, multiple), forward)):
        run_tiled(forward, x, 1, sink, tile=tile, overlap=overlap, multiple=multiple, progress=progress)
