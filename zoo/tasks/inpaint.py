"""Inpaint task: DeepFill v2 fills the holes of a mask; nothing outside the (dilated) hole changes.

``Inpainter(image, mask)`` takes a PIL image (RGB, L, RGBA, LA; alpha is kept as it is) and a mask
of the same size: white = hole. A mask may be a PIL image (1-bit or L: value > 127; RGBA or LA:
alpha > 0, a brush layer), a boolean array, or a 0/1 array. ``dilation`` grows the hole by that
many pixels first. Only the hole's pixels are taken from the network; every other pixel of the
output is the input's, bit for bit. 8-bit values are ``trunc((x + 1) * 127.5)`` as the reference
saves them.

Strategies (``strategy``):

* ``"native"``: the whole image at its own size, padded (edge pixels, marked known) to multiples
  of 8. Memory grows with the square of the image's area (the attention compares every pair of
  8x8 patches: 9 GB at 1280x1280); above ``MAX_ATTENTION_BYTES`` (6 GiB) it is refused.
* ``"windows"``: a context window around each connected hole (``zoo.tasks.windows``: the hole's
  box grown by ``margin``, shifted inward at the borders, overlapping windows merged), scaled so
  that its longer side is the model's trained size (256 for the releases), inpainted, scaled
  back (bicubic) and pasted into the hole only.
* ``"auto"`` (default): native when the image's longer side is at most ``NATIVE_MAX_SIDE`` (beyond a
  few times its trained size the network paints wrong shapes: benchmarks/RESULTS.md) and the
  pass's memory (the descriptor's ``activation_bytes`` per pixel plus the attention's score maps)
  fits the memory budget (``memory_mb``, ``$ZOO_TILE_MEMORY_MB``, 1024 MB by default: the tile
  planner's), else windows. ``plan`` says which, and the memory of its largest pass.

``feather`` (pixels, default 0) blends the result into the hole's outer ring: within ``feather``
pixels of the hole's edge the output mixes the input and the result linearly (the pixels outside
the hole still stay the input's).

Pre-processing is the reference's test.py: ``x = cat(image * (1 - mask), ones, ones * mask)``
with the image in [-1, 1]. One image and one mask per call (the network's attention would give a
batch the first sample's mask).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

from ..errors import ImageError, ZooError
from . import images
from .base import Task
from .tiling import activation_budget

MAX_DILATE = 64
MAX_FEATHER = 64
NATIVE_MAX_SIDE = 512  # "auto": longer sides up to this run whole
DEFAULT_MARGIN = 128  # context pixels around each hole (IOPaint's crop margin)
STRATEGIES = ("auto", "native", "windows")
# The attention compares every pair of 8x8-pixel patches: its score maps take about
# ATTENTION_COPIES x patches^2 float32 values (measured: 9.0 GB peak at 1280x1280, 25,600 patches).
ATTENTION_COPIES = 3.5
MAX_ATTENTION_BYTES = 6 * 2**30


@dataclass(frozen=True)
class InpaintPlan:
    """How an image is inpainted: ``strategy`` ("native" or "windows") and the expected activation
    peak of its largest network pass (``peak_bytes``: the whole image, or one trained-size window)."""

    strategy: str
    peak_bytes: int


def check_strategy(strategy: str) -> None:
    if strategy not in STRATEGIES:
        raise ZooError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")


def attention_bytes(width: int, height: int) -> int:
    """The contextual attention's score maps for one pass over width x height (padded to 8)."""
    patches = -(-height // 8) * -(-width // 8)
    return int(ATTENTION_COPIES * patches**2 * 4)


def mask_array(mask: Any, size: tuple[int, int]) -> np.ndarray:
    """The hole as a boolean array [H, W] (True = fill) from a mask of ``size`` (width, height)."""
    if isinstance(mask, Image.Image):
        if mask.size != tuple(size):
            raise ImageError(f"the mask is {mask.width}x{mask.height} but the image is {size[0]}x{size[1]}; they must match")
        if mask.mode in ("RGBA", "LA", "PA") or (mask.mode == "P" and "transparency" in mask.info):
            return np.asarray(mask.convert("RGBA"))[..., 3] > 0
        return np.asarray(mask.convert("L")) > 127
    arr = np.asarray(mask)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim != 2:
        raise ImageError(f"a mask array must be [H, W], not {list(arr.shape)}")
    if arr.shape != (size[1], size[0]):
        raise ImageError(f"the mask is {arr.shape[1]}x{arr.shape[0]} but the image is {size[0]}x{size[1]}; they must match")
    if arr.dtype == bool:
        return arr
    values = np.unique(arr)
    if not np.all(np.isin(values, (0, 1))):
        raise ImageError("a numeric mask array must hold only 0 and 1 (1 = hole); pass a boolean array or an image")
    return arr.astype(bool)


def dilate(hole: np.ndarray, pixels: int) -> np.ndarray:
    """The hole grown by ``pixels`` (a square neighbourhood)."""
    if isinstance(pixels, bool) or not isinstance(pixels, int) or not 0 <= pixels <= MAX_DILATE:
        raise ZooError(f"dilation must be 0..{MAX_DILATE} pixels, not {pixels!r}")
    if pixels == 0:
        return hole
    t = torch.from_numpy(hole.astype(np.float32))[None, None]
    return F.max_pool2d(t, 2 * pixels + 1, stride=1, padding=pixels)[0, 0].numpy() > 0


def feather_weights(hole: np.ndarray, pixels: int) -> np.ndarray:
    """Per pixel, how much of the result to take: 1 deep inside the hole, rising linearly over the
    ``pixels`` nearest its edge (1 / (pixels + 1) on the edge itself), 0 outside."""
    inside = torch.from_numpy(hole.astype(np.float32))[None, None]
    weight = torch.zeros_like(inside)
    for _ in range(pixels + 1):  # erode one pixel at a time; each surviving ring adds a step
        weight += inside
        inside = -F.max_pool2d(-inside, 3, stride=1, padding=1)
    return (weight / (pixels + 1)).clamp(max=1)[0, 0].numpy()


class Inpainter(Task):
    """DeepFill v2 inpainting (``.net``: ``net(x, mask) -> (stage1, stage2)``, see ``zoo.archs.deepfill``)."""

    task = "inpaint"

    def pass_bytes(self, width: int, height: int) -> int:
        """Expected activation peak of one pass over width x height (padded to 8): the convolutions'
        (descriptor ``activation_bytes`` per pixel) plus the attention's score maps."""
        h, w = -(-height // 8) * 8, -(-width // 8) * 8
        return int(self.descriptor.activation_bytes * h * w) + attention_bytes(width, height)

    def plan(self, width: int, height: int, *, strategy: str = "auto", memory_mb: float | None = None) -> InpaintPlan:
        """The strategy an image of width x height gets (module docstring) and its largest pass's memory."""
        check_strategy(strategy)
        whole = self.pass_bytes(width, height)
        if strategy == "auto":
            fits = whole <= activation_budget(memory_mb)
            strategy = "native" if max(width, height) <= NATIVE_MAX_SIDE and fits else "windows"
        if strategy == "native":
            return InpaintPlan("native", whole)
        side = self.trained_side
        return InpaintPlan("windows", self.pass_bytes(side, side))

    @property
    def trained_side(self) -> int:
        """The side context windows are scaled to (the model's trained size, 256 for the releases)."""
        return int(getattr(self.info.options, "trained_size", 256) or 256)

    def __call__(self, image: Image.Image, mask: Any, *, dilation: int = 0, strategy: str = "auto", margin: int = DEFAULT_MARGIN,
                 feather: int = 0, max_megapixels: float | None = None, progress: Callable[[int, int], None] | None = None,
                 memory_mb: float | None = None) -> Image.Image:
        """``image`` with its hole filled (same size and mode). An empty mask gives the image back
        unchanged (callers that want to say so check ``hole(...).any()`` first and pass the hole
        itself); a mask covering everything is an error. ``progress(done, total)`` is called after
        each network pass (one per context window, or one for the whole image)."""
        if not isinstance(image, Image.Image):
            raise ImageError(f"inpainting takes a PIL image, not {type(image).__name__}")
        check_strategy(strategy)
        for name, value, top in (("margin", margin, 4096), ("feather", feather, MAX_FEATHER)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
                raise ZooError(f"{name} must be 0..{top} pixels, not {value!r}")
        images.check_header(image, max_megapixels)
        image = images.upright(image)
        hole = self.hole(mask, image.size, dilation)
        if not hole.any():
            return image.copy()
        if hole.all():
            raise ImageError("the mask covers the whole image: there is nothing to fill the hole from")
        if image.mode not in ("RGB", "RGBA", "L", "LA"):
            if image.mode.startswith("I") or image.mode == "F":
                raise ImageError(f"inpainting takes 8-bit images, not mode {image.mode}")
            image = image.convert("RGBA" if image.mode in ("P", "PA") and image.has_transparency_data else "RGB")
        arr = np.asarray(image)
        color = arr if arr.ndim == 3 else arr[..., None]
        alpha = color[..., -1:] if image.mode in ("RGBA", "LA") else None
        color = color[..., :-1] if alpha is not None else color
        rgb = np.repeat(color, 3, axis=2) if color.shape[2] == 1 else color
        if self.plan(image.width, image.height, strategy=strategy, memory_mb=memory_mb).strategy == "native":
            filled = self._fill(np.ascontiguousarray(rgb), hole)
            if progress is not None:
                progress(1, 1)
        else:
            filled = self._fill_windows(np.ascontiguousarray(rgb), hole, margin, progress)
        if color.shape[2] == 1:  # gray in, gray out: the hole gets the result's luma
            filled = np.round(images.luma(filled))[..., None]
        if feather:
            weight = feather_weights(hole, feather)[..., None]
            filled = np.round(weight * filled + (1 - weight) * color).astype(np.uint8)
        out = np.where(hole[..., None], filled.astype(np.uint8), color)
        if alpha is not None:
            out = np.concatenate([out, alpha], axis=2)
        return Image.fromarray(out[..., 0] if out.shape[2] == 1 else out, mode=image.mode)

    @staticmethod
    def hole(mask: Any, size: tuple[int, int], dilation: int = 0) -> np.ndarray:
        """The pixels to fill, a boolean [H, W] array, of a mask for an image of ``size`` (width, height)."""
        return dilate(mask_array(mask, size), dilation)

    def _fill_windows(self, rgb: np.ndarray, hole: np.ndarray, margin: int,
                      progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """``_fill`` per context window (``zoo.tasks.windows``), each scaled to the trained size."""
        from .windows import hole_windows

        side = self.trained_side
        filled = rgb.copy()
        boxes = hole_windows(hole, margin)
        for done, box in enumerate(boxes, start=1):
            crop, crop_hole = rgb[box.slices], hole[box.slices]
            scale = side / max(box.height, box.width)
            size = (max(16, round(box.width * scale / 8) * 8), max(16, round(box.height * scale / 8) * 8))
            small = np.asarray(Image.fromarray(crop).resize(size, Image.LANCZOS))
            # a pixel of the small mask is hole when any input pixel under it is
            small_hole = np.asarray(Image.fromarray(crop_hole.astype(np.uint8) * 255).resize(size, Image.BOX)) > 0
            result = self._fill(np.ascontiguousarray(small), small_hole)
            back = np.asarray(Image.fromarray(result).resize((box.width, box.height), Image.BICUBIC))
            filled[box.slices] = back  # only its hole pixels are used (__call__ pastes the hole alone)
            if progress is not None:
                progress(done, len(boxes))
        return filled

    def _fill(self, rgb: np.ndarray, hole: np.ndarray) -> np.ndarray:
        """The network's composite (uint8 [H, W, 3]) of ``rgb`` uint8 [H, W, 3] with ``hole`` [H, W]."""
        h, w = hole.shape
        need = attention_bytes(w, h)
        if need > MAX_ATTENTION_BYTES:
            raise ImageError(f"inpainting {w}x{h} in one pass needs about {need / 2**30:.0f} GB for the attention; "
                             "use the windows strategy (the default for large images)")
        ph, pw = -h % 8, -w % 8
        image = torch.from_numpy(np.array(rgb)).permute(2, 0, 1)[None].float() / 127.5 - 1
        m = torch.from_numpy(hole.astype(np.float32))[None, None]
        if ph or pw:
            image = F.pad(image, [0, pw, 0, ph], mode="replicate")
            m = F.pad(m, [0, pw, 0, ph])  # the padding is known context, not hole
        if min(image.shape[2:]) < self.descriptor.min_size:
            raise ImageError(f"the image is {w}x{h}; inpainting needs at least {self.descriptor.min_size} pixels on each side")
        x = self.net.make_input(image, m)
        with torch.inference_mode():
            _, stage2 = self.precision(self.net, x.to(self.device), m.to(self.device))
        out = image * (1 - m) + stage2.float().cpu() * m
        u8 = ((out[0, :, :h, :w].permute(1, 2, 0) + 1) * 127.5).clamp(0, 255).to(torch.uint8)
        return u8.numpy()


TASK_CLASS = Inpainter  # what zoo.load returns for this task (zoo.loading.task_class)
