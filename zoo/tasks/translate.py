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
  official README's ``--preprocess none``). Images over ``tile`` pixels on a side (default 2048)
  are processed in tiles with ``overlap`` pixels of context, and the norm layers use statistics
  recorded on a copy of the whole image reduced to 2048 pixels (``zoo.tasks.norm_stats``), so
  tiles agree with each other instead of each being normalised on its own.
* ``"auto"``: ``"trained"`` for U-Nets, ``"native"`` for ResNets.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.nn import functional as F

from ..errors import ImageError, UnknownModelError, WrongFamilyError
from ..registry import ModelInfo
from . import images, norm_stats
from .base import Task
from .tiling import pad_to_multiple, run_tiled

SIZES = ("auto", "trained", "native")
GLOBAL_ARCHS = ("unet", "huggan_unet")  # receptive field = the whole trained window: no tiling
TRANSLATE_ARCHS = ("unet", "resnet", "huggan_unet", "huggan_resnet")
DEFAULT_RESOLUTION = 256
MIN_SIDE = 8  # below this a ResNet's downsampled features are too small to reflect-pad
# ResNets run in one pass up to 2048 pixels a side (about 2.8 GB for resnet_9blocks, and it covers
# the app's 4 MP limit), so the output is exact there. Larger images are tiled; every tile is
# normalised with statistics recorded on a copy of the image reduced to 2048 pixels a side
# (benchmarks/RESULTS.md, "Translate: any size").
RESNET_TILING = (2048, 64)  # (core tile, context) in input pixels
STATS_SIDE = 2048  # long side of the reduced copy the tiled pass takes its statistics from

ProgressFn = Callable[[int, int], None]


def network_io(net: nn.Module) -> tuple[int, int, int]:
    """(input channels, output channels, size multiple) of a translation generator."""
    cin = getattr(net, "input_nc", None) or getattr(net, "in_channels", None) or getattr(net, "channels")
    cout = getattr(net, "output_nc", None) or getattr(net, "out_channels", None) or getattr(net, "channels")
    return int(cin), int(cout), int(getattr(net, "size_multiple", 1))


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
        config: dict[str, Any],
        *,
        device: str = "cpu",
        dtype: Any = None,
        test_mode: str | None = None,
    ) -> None:
        if config.get("arch") not in TRANSLATE_ARCHS:
            raise WrongFamilyError(f"{info.name} is a {config.get('family')} {config.get('arch')} network, not a translation generator")
        super().__init__(net, info, config, device=device, dtype=dtype)
        self.test_mode = test_mode or info.test_mode or ("official" if config.get("family") == "pix2pix" else "eval")
        self.resolution = int(info.resolution or DEFAULT_RESOLUTION)
        default = info.directions[0].name if info.directions else "AtoB"
        self._nets: dict[str, nn.Module] = {default: self._prepare(self.net)}
        self._archs: dict[str, str] = {default: config["arch"]}
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

            net, _, config = load_network(f"{self.info.base_name}@{name}")
            if config.get("arch") not in TRANSLATE_ARCHS:
                raise WrongFamilyError(f"{self.info.base_name}@{name} is not a translation generator")
            self._nets[name], self._archs[name] = self._prepare(self.place(net)), config["arch"]
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
    ) -> Image.Image:
        """Translate ``image``; returns a PIL image of the input's size (RGB or L, plus its alpha)."""
        arr = self.translate_array(
            image, direction=direction, size=size, tile=tile, overlap=overlap, progress=progress, max_megapixels=max_megapixels
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
    ) -> np.ndarray:
        """Like ``__call__`` but returns the integer array (uint8, or uint16 for 16-bit input), H x W [x C]."""
        if size not in SIZES:
            raise ValueError(f"size must be one of {SIZES}, not {size!r}")
        name = self.direction_name(direction)
        net = self.network(name)
        arch = self._archs[name]
        cin, _, multiple = network_io(net)
        if arch == "huggan_resnet" and cin != 3:
            raise WrongFamilyError(
                f"{self.name}: a {cin}-channel HugGAN ResNet pads by its channel count, so its output size differs from the "
                "input's; only the published 3-channel layout can translate images"
            )
        planes = images.split(image, limit_megapixels=max_megapixels)
        width, height = planes.size
        if min(width, height) < MIN_SIDE:
            raise ImageError(f"the image is {width}x{height}; {self.name} needs at least {MIN_SIDE} pixels on each side")
        color = images.match_channels(planes, cin, self.name)
        if size == "auto":
            size = "trained" if arch in GLOBAL_ARCHS else "native"
        x = torch.from_numpy(np.ascontiguousarray(color.transpose(2, 0, 1)))[None] * 2 - 1
        with torch.inference_mode():
            if size == "trained":
                y = self._run_trained(net, x, multiple)
                if progress is not None:
                    progress(1, 1)
            else:
                y = self._run_native(net, arch, x, multiple, tile, overlap, progress)
        out = images.quantize(((y[0].float() + 1) / 2).permute(1, 2, 0).cpu().numpy(), planes.bits)
        return images.merge_array(out, None if planes.alpha is None else images.quantize(planes.alpha, planes.bits))

    # -- internals -----------------------------------------------------------------------------

    def _forward(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return net(x.to(device=self.device, dtype=self.dtype)).float().cpu()

    def _run_trained(self, net: nn.Module, x: torch.Tensor, multiple: int) -> torch.Tensor:
        """Translate at the training scale: see ``at_trained_scale``."""
        return at_trained_scale(lambda t: self._forward(net, t), x, self.resolution, multiple)

    def _run_native(
        self, net: nn.Module, arch: str, x: torch.Tensor, multiple: int, tile: int | None, overlap: int | None, progress: ProgressFn | None
    ) -> torch.Tensor:
        height, width = x.shape[2:]
        if arch in GLOBAL_ARCHS:
            if min(height, width) <= multiple // 2:
                raise ImageError(
                    f"the image is {width}x{height}; {self.name} translates at native size only from "
                    f"{multiple // 2 + 1} pixels on each side (its U-Net needs multiples of {multiple}); use size='trained'"
                )
            tile = 0  # the U-Net's receptive field is the whole padded image: never tiled
        tile = RESNET_TILING[0] if tile is None else int(tile)
        overlap = RESNET_TILING[1] if overlap is None else int(overlap)
        if tile < 0 or overlap < 0:
            raise ValueError("tile and overlap must be >= 0")
        padded, _, _ = pad_to_multiple(x, multiple)
        out = torch.empty((1, network_io(net)[1], *padded.shape[2:]))

        def sink(region: tuple[int, int, int, int], y: torch.Tensor) -> None:
            y0, y1, x0, x1 = region
            out[:, :, y0:y1, x0:x1] = y

        tiled = tile > 0 and max(padded.shape[2:]) > tile
        if tiled and norm_stats.input_statistics_layers(net):
            norm_stats.run_tiled_with_image_stats(
                net, lambda t: self._forward(net, t), padded, sink, tile=tile, overlap=overlap, multiple=multiple,
                stats_side=STATS_SIDE, progress=progress,
            )
        else:
            run_tiled(lambda t: self._forward(net, t), padded, 1, sink, tile=tile if tiled else 0, overlap=overlap,
                      multiple=multiple, progress=progress)
        return out[:, :, :height, :width]


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
