"""Translate task: pix2pix / CycleGAN image-to-image translation on images of any size.

``Translator(image, direction="AtoB")`` takes a PIL image or numpy array (RGB, L, LA, RGBA; 8 or
16 bit; floats in [0, 1]) and returns a PIL image of the same size: RGB for 3-channel generators,
L for 1-channel ones, with the input's alpha re-attached unchanged. Networks see NCHW float32 in
[-1, 1] (the official ``Normalize(0.5, 0.5)``) and return (-1, 1) (tanh), mapped back with
``(y + 1) / 2``.

Sizes (``size=``), measured in benchmarks/RESULTS.md ("Translate: any size"):

* ``"trained"``: resize so the short side is the training resolution (256 for every released
  model), aspect kept, reflect-pad to the network's multiple, translate, resize back. Objects
  are at the scale the network was trained on. (The official test script squashes every image
  to 256 x 256 instead, distorting the aspect.) The U-Net default: its bottleneck spans the
  whole trained window, so at other scales it sees layouts it never saw in training.
* ``"native"``: translate at the image's own size, reflect-padded to the multiple the network
  needs and cropped back. The ResNet default (fully convolutional, local receptive field; the
  official README's ``--preprocess none``). One pass when the image's activations fit the memory
  budget (``memory_mb``, ``$ZOO_TILE_MEMORY_MB``, 1024 MB by default: about 1400 x 1400 for
  resnet_9blocks), otherwise the fewest, largest tiles that fit (``plan``; ``tile`` fixes one),
  with ``overlap`` pixels of context. Tiled, the norm layers use statistics recorded on a copy
  of the whole image reduced to at most 2048 pixels a side and to what fits the same budget
  (``zoo.tasks.norm_stats``), so tiles agree with each other instead of each being normalised
  on its own, and the statistics pass stays within the budget too.
* ``"auto"``: ``"trained"`` for U-Nets, ``"native"`` for ResNets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.nn import functional as F

from ..archs.descriptor import Descriptor
from ..errors import ImageError, UnknownModelError, WrongFamilyError
from ..families import family
from ..registry import ModelInfo
from . import images, norm_stats
from .options import TranslateOptions
from .base import Task
from .tiling import TilePlan, activation_budget, pad_to_multiple, plan_tiles, run_tiled

SIZES = ("auto", "trained", "native")
DEFAULT_RESOLUTION = 256
MIN_SIDE = 8  # the smallest image side translated in any mode
# Networks whose receptive field is the whole image (descriptor context None: the U-Nets) run at
# the trained scale by default and are never tiled. The others (ResNets) run in one pass when
# their activations fit the memory budget (the descriptor's activation_bytes per pixel), so the
# output is exact there. Larger images are tiled; every tile is normalised with statistics
# recorded on a copy of the image reduced to at most 2048 pixels a side (and to what fits the
# budget): benchmarks/RESULTS.md, "Translate: any size".
STATS_SIDE = 2048  # longest side of the reduced copy the tiled pass takes its statistics from


@dataclass(frozen=True)
class TranslatePlan:
    """How a native-size translation runs: its tiles (``zoo.tasks.tiling.TilePlan``), the context
    around each (``overlap``) and, when tiled with image-wide statistics, the long side of the copy
    they are recorded on (``stats_side``; 0 when there is no statistics pass)."""

    tiles: TilePlan
    overlap: int
    stats_side: int

    @property
    def tile(self) -> int:
        return self.tiles.tile

ProgressFn = Callable[[int, int], None]


class Translator(Task):
    """Image-to-image translation with one or two generators (``AtoB``, ``BtoA``).

    ``.net`` is the default direction's generator; ``.network(direction)`` loads the other one on
    first use (registry entries only). ``test_mode`` is "official" (BatchNorm with the image's own
    statistics, as pix2pix's test.py) or "eval" (running statistics); default: the entry's.
    """

    task = "translate"

    def __init__(
        self,
        net: nn.Module,
        info: ModelInfo,
        folder_config: dict[str, Any],
        *,
        device: str = "cpu",
        dtype: Any = None,
        test_mode: str | None = None,
        companions=None,
    ) -> None:
        super().__init__(net, info, folder_config, device=device, dtype=dtype, companions=companions)
        options = info.options if isinstance(info.options, TranslateOptions) else None  # None: a file, no entry
        self.test_mode_default: str = options.test_mode if options else family(folder_config["family"]).task_defaults.get("test_mode", "eval")
        self.test_mode = test_mode or self.test_mode_default
        self.resolution = options.resolution if options else int(trained_option(folder_config, "resolution") or DEFAULT_RESOLUTION)
        self.colorizer = is_colorizer(folder_config)
        default = info.directions[0].name if info.directions else "AtoB"
        self._nets: dict[str, nn.Module] = {default: self._prepare(self.net)}
        self._descriptors: dict[str, Descriptor] = {default: self.descriptor}
        self.default_direction = default

    # -- directions ----------------------------------------------------------------------------

    @property
    def directions(self) -> list[str]:
        """Direction names this translator offers (``AtoB`` first)."""
        return [d.name for d in self.info.directions] if self.info.directions else [self.default_direction]

    def direction_name(self, direction: str | None) -> str:
        """``direction`` (a name, or an official name such as ``zebra2horse``) as ``AtoB`` / ``BtoA``."""
        if direction is None:
            return self.default_direction
        if self.info.directions:
            return self.info.direction(direction).name
        if direction != self.default_direction:
            raise UnknownModelError(f"{self.name} has only the {self.default_direction} direction")
        return direction

    def network(self, direction: str | None = None) -> nn.Module:
        """The generator of ``direction``, loading (and caching) it on first use."""
        name = self.direction_name(direction)
        if name not in self._nets:
            from ..loading import load_network

            net, _, _ = load_network(f"{self.info.base_name}@{name}")
            self._descriptors[name] = self.check_network(net, f"{self.info.base_name}@{name}")
            self._nets[name] = self._prepare(self.place(net))
        return self._nets[name]

    def _prepare(self, net: nn.Module) -> nn.Module:
        from ..archs.norms import set_test_mode

        return set_test_mode(net, self.test_mode)

    def set_test_mode(self, mode: str) -> None:
        """Switch every loaded generator to "official" or "eval" test-time behaviour."""
        from ..archs.norms import set_test_mode

        for net in self._nets.values():
            set_test_mode(net, mode)
        self.test_mode = mode

    # -- public API ----------------------------------------------------------------------------

    def __call__(
        self,
        image: images.ImageLike,
        *,
        direction: str | None = None,
        size: str = "auto",
        tile: int | None = None,
        overlap: int | None = None,
        progress: ProgressFn | None = None,
        max_megapixels: float | None = None,
        memory_mb: float | None = None,
    ) -> Image.Image:
        """Translate ``image``; returns a PIL image of the input's size (RGB or L, plus its alpha).
        ``tile`` None: planned from the memory budget ``memory_mb`` (see ``plan``); 0: one pass."""
        arr = self.translate_array(
            image, direction=direction, size=size, tile=tile, overlap=overlap, progress=progress, max_megapixels=max_megapixels,
            memory_mb=memory_mb,
        )
        return images.to_pil(arr)

    def translate_array(
        self,
        image: images.ImageLike,
        *,
        direction: str | None = None,
        size: str = "auto",
        tile: int | None = None,
        overlap: int | None = None,
        progress: ProgressFn | None = None,
        max_megapixels: float | None = None,
        memory_mb: float | None = None,
    ) -> np.ndarray:
        """Like ``__call__`` but returns the integer array (uint8, or uint16 for 16-bit input), H x W [x C]."""
        if size not in SIZES:
            raise ValueError(f"size must be one of {SIZES}, not {size!r}")
        name = self.direction_name(direction)
        net = self.network(name)
        d = self._descriptors[name]
        if not d.same_size:
            raise WrongFamilyError(
                f"{self.name}: this network's output size differs from its input's (a {d.in_channels}-channel HugGAN ResNet "
                "pads by its channel count); only the published 3-channel layout can translate images"
            )
        planes = images.split(image, limit_megapixels=max_megapixels)
        width, height = planes.size
        if min(width, height) < MIN_SIDE:
            raise ImageError(f"the image is {width}x{height}; {self.name} needs at least {MIN_SIDE} pixels on each side")
        if size == "auto":
            size = "trained" if d.context is None else "native"
        # at native size the image is reflect-padded to the multiple, which needs less padding than image
        least = max(d.min_size - d.size_multiple + 1, d.size_multiple // 2 + 1, MIN_SIDE)
        if size == "native" and min(width, height) < least:
            raise ImageError(
                f"the image is {width}x{height}; {self.name} translates at native size only from {least} pixels on each "
                f"side (it needs multiples of {d.size_multiple}); use size='trained'"
            )
        if self.colorizer and not planes.gray:
            planes = images.Planes(color=images.luma(planes.color)[:, :, None], alpha=planes.alpha, bits=planes.bits, gray=True)
        color = images.match_channels(planes, d.in_channels, self.name)
        x = torch.from_numpy(np.ascontiguousarray(color.transpose(2, 0, 1)))[None] * 2 - 1
        with torch.inference_mode():
            if size == "trained":
                y = self._run_trained(net, x, d.size_multiple)
                if progress is not None:
                    progress(1, 1)
            else:
                y = self._run_native(name, x, tile, overlap, progress, memory_mb)
        rgb = ((y[0].float() + 1) / 2).clamp(0, 1).permute(1, 2, 0).cpu().numpy()
        if self.colorizer and rgb.shape[2] == 3:
            rgb = keep_luma(rgb, color[:, :, 0])
        out = images.quantize(rgb, planes.bits)
        return images.merge_array(out, None if planes.alpha is None else images.quantize(planes.alpha, planes.bits))

    # -- internals -----------------------------------------------------------------------------

    def _forward(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return self.precision(net, x.to(self.device)).float().cpu()

    def _run_trained(self, net: nn.Module, x: torch.Tensor, multiple: int) -> torch.Tensor:
        """Translate at the training scale: see ``at_trained_scale``."""
        return at_trained_scale(lambda t: self._forward(net, t), x, self.resolution, multiple)

    def plan(self, width: int, height: int, *, direction: str | None = None, tile: int | None = None,
             overlap: int | None = None, memory_mb: float | None = None) -> TranslatePlan:
        """How an image of width x height runs at native size: with ``tile`` None, one pass when the
        generator's activations (its descriptor's ``activation_bytes``) fit ``memory_mb``
        (``tiling.activation_budget``), else the fewest, largest tiles that fit; a fixed ``tile``
        otherwise (0 = one pass). U-Nets (context None) are never tiled."""
        d = self._descriptors[self.direction_name(direction)]
        multiple = d.size_multiple
        overlap = (d.context or 0) if overlap is None else int(overlap)
        if overlap < 0 or (tile is not None and int(tile) < 0):
            raise ValueError("tile and overlap must be >= 0")
        if d.context is None:
            tile = 0  # the receptive field is the whole padded image: never tiled
        budget = activation_budget(memory_mb)
        tiles = plan_tiles(height, width, context=overlap, multiple=multiple, bytes_per_pixel=d.activation_bytes,
                           budget=budget, fallback_tile=d.tile, fixed_tile=None if tile is None else int(tile))
        stats_side = 0
        if tiles.tiles > 1 and d.image_statistics:
            stats_side = STATS_SIDE
            if tile is None and d.activation_bytes > 0:  # the statistics pass is one forward of the copy: keep it in the budget
                fits = int((budget / d.activation_bytes) ** 0.5) // multiple * multiple
                stats_side = max(multiple, min(STATS_SIDE, fits))
        return TranslatePlan(tiles, overlap, stats_side)

    def _run_native(self, name: str, x: torch.Tensor, tile: int | None, overlap: int | None, progress: ProgressFn | None,
                    memory_mb: float | None = None) -> torch.Tensor:
        """The direction ``name``'s generator over ``x`` [1, C, H, W] at its own size, as ``plan`` says."""
        net, d = self.network(name), self._descriptors[name]
        height, width = x.shape[2:]
        multiple = d.size_multiple
        plan = self.plan(width, height, direction=name, tile=tile, overlap=overlap, memory_mb=memory_mb)
        padded, _, _ = pad_to_multiple(x, multiple)
        out = torch.empty((1, d.out_channels, *padded.shape[2:]))

        def sink(region: tuple[int, int, int, int], y: torch.Tensor) -> None:
            y0, y1, x0, x1 = region
            out[:, :, y0:y1, x0:x1] = y

        if plan.tile > 0 and norm_stats.input_statistics_layers(net):
            norm_stats.run_tiled_with_image_stats(
                net, lambda t: self._forward(net, t), padded, sink, tile=plan.tile, overlap=plan.overlap, multiple=multiple,
                stats_side=plan.stats_side or STATS_SIDE, progress=progress,
            )
        else:
            run_tiled(lambda t: self._forward(net, t), padded, 1, sink, tile=plan.tile, overlap=plan.overlap,
                      multiple=multiple, progress=progress)
        return out[:, :, :height, :width]


def trained_option(folder_config: dict[str, Any], key: str) -> Any:
    """An option of the ``zoo train`` run that made this folder (None for converted checkpoints)."""
    source = folder_config.get("source") or {}
    return (source.get("options") or {}).get(key) if source.get("kind") == "trained" else None


def is_colorizer(folder_config: dict[str, Any]) -> bool:
    """True for a model trained to colour the luma of photos (``zoo train pix2pix --set paired=gray``):
    colour inputs are then reduced to their luma, and the output keeps the input's luma."""
    return trained_option(folder_config, "paired") == "gray"


def keep_luma(rgb: np.ndarray, luma: np.ndarray) -> np.ndarray:
    """``rgb`` [H, W, 3] in [0, 1] with its luma replaced by ``luma`` [H, W] (BT.601 YCbCr, the
    luma the input was made with): the network contributes only the chroma, so the colourised
    photo is as sharp as the input even though the network ran at its trained scale."""
    delta = luma.astype(np.float32) - images.luma(rgb)
    return np.clip(rgb + delta[:, :, None], 0.0, 1.0)


def at_trained_scale(forward: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, resolution: int, multiple: int) -> torch.Tensor:
    """Resize ``x`` ([1, C, H, W] in [-1, 1]) so its short side is ``resolution`` (aspect kept),
    reflect-pad to ``multiple``, run ``forward``, crop, and resize back to H x W (bicubic, antialiased).

    The network sees objects at the scale of its training crops, whatever the image size; the
    official test script instead squashes every image to ``resolution`` x ``resolution``.
    """
    height, width = x.shape[2:]
    factor = resolution / min(height, width)
    size = (max(1, round(height * factor)), max(1, round(width * factor)))
    small = F.interpolate(x, size=size, mode="bicubic", antialias=True, align_corners=False).clamp_(-1, 1)
    padded, _, _ = pad_to_multiple(small, multiple)
    y = forward(padded)[:, :, : size[0], : size[1]]
    return F.interpolate(y, size=(height, width), mode="bicubic", antialias=True, align_corners=False).clamp_(-1, 1)


TASK_CLASS = Translator  # what zoo.load returns for this task (zoo.loading.task_class)
