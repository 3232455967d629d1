"""Upscale task: ESRGAN-family super-resolution on images of any size and mode.

``Upscaler(image)`` takes a PIL image or numpy array (RGB, L, LA, RGBA, 8 or 16 bit; floats in
[0, 1]) and returns a PIL image of the same mode, ``outscale`` times larger. Large images are
processed in tiles with overlapping context, so memory is bounded by the tile size and no seam
shows (tiled and one-pass outputs differ by at most one 8-bit level). Alpha is upscaled
separately (by the network, or by a bicubic resize) and re-attached.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

import numpy as np
import torch
from PIL import Image

from ..errors import ImageError
from . import images
from .base import Task
from .tiling import TilePlan, pad_to_multiple, plan_tiles, run_tiled

ALPHA_MODES = ("model", "resize")

ProgressFn = Callable[[int, int], None]


class Upscaler(Task):
    """Super-resolution with an ESRGAN-family network (``.net``: NCHW float in [0, 1] -> x``scale``)."""

    task = "upscale"

    def __init__(self, net: torch.nn.Module, info, folder_config: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(net, info, folder_config, **kwargs)
        d = self.descriptor
        self.scale: int = d.scale
        self.multiple: int = d.size_multiple
        self.in_channels: int = d.in_channels
        self.default_tile, self.default_overlap = d.tile, d.context or 0

    def plan(self, width: int, height: int, *, tile: int | None = None, overlap: int | None = None,
             memory_mb: float | None = None) -> TilePlan:
        """How an image of width x height runs: with ``tile`` None, the fewest, largest tiles whose
        activations fit ``memory_mb`` (``tiling.activation_budget``; one pass when the image fits);
        else that fixed tile (0 = one pass). ``overhead`` is the context's extra work."""
        from .tiling import activation_budget

        overlap = self.default_overlap if overlap is None else int(overlap)
        return plan_tiles(height, width, context=overlap, multiple=self.multiple, bytes_per_pixel=self.descriptor.activation_bytes,
                          budget=activation_budget(memory_mb), fallback_tile=self.default_tile, fixed_tile=tile)

    # -- public API --------------------------------------------------------------------------

    def __call__(
        self,
        image: images.ImageLike,
        *,
        outscale: float | None = None,
        tile: int | None = None,
        overlap: int | None = None,
        alpha: str = "model",
        progress: ProgressFn | None = None,
        max_megapixels: float | None = None,
        memory_mb: float | None = None,
    ) -> Image.Image:
        """Upscale ``image``; returns a PIL image in the input's mode (16-bit colour comes back 8-bit).

        ``outscale`` is the final factor (default: the network's own); other factors are applied
        as a Lanczos resize of the network output. ``tile`` is the tile size in input pixels
        (0: one pass; None: planned from the memory budget ``memory_mb``, see ``plan``), ``overlap``
        the context around each tile, ``alpha`` "model" or "resize".
        """
        arr = self.upscale_array(
            image, outscale=outscale, tile=tile, overlap=overlap, alpha=alpha, progress=progress, max_megapixels=max_megapixels,
            memory_mb=memory_mb,
        )
        return images.to_pil(arr)

    def upscale_array(
        self,
        image: images.ImageLike,
        *,
        outscale: float | None = None,
        tile: int | None = None,
        overlap: int | None = None,
        alpha: str = "model",
        progress: ProgressFn | None = None,
        max_megapixels: float | None = None,
        memory_mb: float | None = None,
    ) -> np.ndarray:
        """Like ``__call__`` but returns an integer array (uint8, or uint16 for 16-bit input), H x W [x C]."""
        if alpha not in ALPHA_MODES:
            raise ValueError(f"alpha must be one of {ALPHA_MODES}, not {alpha!r}")
        if outscale is not None and not (0 < outscale <= 16):
            raise ImageError(f"outscale must be in (0, 16], not {outscale}")
        overlap = self.default_overlap if overlap is None else int(overlap)
        if (tile is not None and int(tile) < 0) or overlap < 0:
            raise ValueError("tile and overlap must be >= 0")
        planes = images.split(image, limit_megapixels=max_megapixels)
        tile = self.plan(*planes.size, tile=tile, overlap=overlap, memory_mb=memory_mb).tile
        color_in = images.match_channels(planes, self.in_channels, self.name)
        passes = 1 + (planes.alpha is not None and alpha == "model")
        tracker = _PassProgress(progress, passes)

        color = self._run(color_in, planes.bits, to_gray=planes.gray and self.in_channels == 3, tile=tile, overlap=overlap, progress=tracker)
        alpha_out = None
        if planes.alpha is not None:
            if alpha == "model":
                alpha_in = np.repeat(planes.alpha[:, :, None], self.in_channels, axis=2)
                tracker.next_pass()
                alpha_out = self._run(alpha_in, planes.bits, to_gray=self.in_channels == 3, tile=tile, overlap=overlap, progress=tracker)[:, :, 0]
            else:
                alpha_out = _resize_plane(planes.alpha, color.shape[1], color.shape[0], Image.BICUBIC, planes.bits)

        if outscale is not None and outscale != self.scale:
            width, height = planes.size
            size = (max(1, round(width * outscale)), max(1, round(height * outscale)))
            color = np.stack([_resize_plane(color[:, :, c], *size, Image.LANCZOS, planes.bits) for c in range(color.shape[2])], axis=2)
            if alpha_out is not None:
                alpha_out = _resize_plane(alpha_out, *size, Image.LANCZOS, planes.bits)
        return images.merge_array(color, alpha_out)

    def interpolate(self, other: "Upscaler", alpha: float) -> "Upscaler":
        """A new upscaler whose weights are ``(1 - alpha) * self + alpha * other`` (ESRGAN's network interpolation)."""
        from ..blend import blend_state_dicts

        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], not {alpha}")
        blended = blend_state_dicts(self.net.state_dict(), other.net.state_dict(), alpha, names=(self.name, other.name))
        net = copy.deepcopy(self.net)
        net.load_state_dict(blended, strict=True)
        result = copy.copy(self)
        result.net = net.eval()
        return result

    # -- internals ---------------------------------------------------------------------------

    def _run(self, plane: np.ndarray, bits: int, *, to_gray: bool, tile: int, overlap: int, progress: "_PassProgress") -> np.ndarray:
        """Network over an H x W x C float plane -> integer H*s x W*s x (1 if to_gray else C)."""
        height, width = plane.shape[:2]
        x = torch.from_numpy(np.ascontiguousarray(plane.transpose(2, 0, 1)))[None]
        x, pad_h, pad_w = pad_to_multiple(x, self.multiple)
        s = self.scale
        out = np.empty(((height + pad_h) * s, (width + pad_w) * s, 1 if to_gray else plane.shape[2]), np.uint8 if bits == 8 else np.uint16)
        luma = torch.tensor(images.LUMA, dtype=torch.float32).view(1, 3, 1, 1)

        def sink(region: tuple[int, int, int, int], y: torch.Tensor) -> None:
            y0, y1, x0, x1 = region
            y = y.float().cpu()
            if to_gray:
                y = (y * luma).sum(dim=1, keepdim=True)
            tile_arr = y[0].permute(1, 2, 0).cpu().numpy()
            out[y0 * s : y1 * s, x0 * s : x1 * s] = images.quantize(tile_arr, bits)

        with torch.inference_mode():
            run_tiled(self._forward, x, s, sink, tile=tile, overlap=overlap, multiple=self.multiple, progress=progress)
        return out[: height * s, : width * s]

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.precision(self.net, x.to(self.device))


def _resize_plane(plane: np.ndarray, width: int, height: int, resample: int, bits: int) -> np.ndarray:
    """Resize one plane (integer or float in [0, 1]) to width x height; returns it quantised to ``bits``."""
    top = 255.0 if bits == 8 else 65535.0
    data = plane.astype(np.float32) / top if plane.dtype != np.float32 else plane
    resized = Image.fromarray(np.ascontiguousarray(data, dtype=np.float32)).resize((width, height), resample=resample)
    return images.quantize(np.asarray(resized), bits)


class _PassProgress:
    """Turns per-pass tile counts into one overall ``progress(done, total)`` stream."""

    def __init__(self, callback: ProgressFn | None, passes: int) -> None:
        self.callback = callback
        self.passes = passes
        self.index = 0

    def next_pass(self) -> None:
        self.index += 1

    def __call__(self, done: int, total: int) -> None:
        if self.callback is not None:
            self.callback(self.index * total + done, self.passes * total)


TASK_CLASS = Upscaler  # what zoo.load returns for this task (zoo.loading.task_class)
