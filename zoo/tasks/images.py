"""Image <-> array conversions shared by the tasks: modes, bit depth, alpha, size limits.

Arrays here are numpy float32 ``H x W x C`` in [0, 1]. A ``Planes`` value splits an input image
into its colour planes (1 or 3 channels), an optional alpha plane, and what is needed to put
the output back together in the same mode and bit depth.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageOps

from ..errors import ImageError, ImageTooLargeError, MultiFrameImageError, UnreadableImageError

LUMA = (0.299, 0.587, 0.114)  # RGB -> gray weights, as cv2.COLOR_RGB2GRAY (Real-ESRGAN's choice)

DEFAULT_MAX_MEGAPIXELS = 16.0  # input limit; override with max_megapixels= or ZOO_MAX_MEGAPIXELS
ORIENTATION = 0x0112  # the EXIF Orientation tag: 1 upright, 2..8 mirrored / rotated

ImageLike = Union[Image.Image, np.ndarray]


def luma(rgb: np.ndarray) -> np.ndarray:
    """The luma (``LUMA`` weights) of ``[..., 3]`` RGB values, float32, same scale as the input."""
    return np.asarray(rgb, dtype=np.float32) @ np.asarray(LUMA, dtype=np.float32)


def max_megapixels(value: float | None = None) -> float:
    """The input size limit in megapixels: ``value``, else ``$ZOO_MAX_MEGAPIXELS``, else the default."""
    if value is not None:
        return float(value)
    env = os.environ.get("ZOO_MAX_MEGAPIXELS")
    if env:
        try:
            return float(env)
        except ValueError:
            raise ImageError(f"ZOO_MAX_MEGAPIXELS must be a number, not {env!r}") from None
    return DEFAULT_MAX_MEGAPIXELS


@dataclass
class Planes:
    """An image split for processing.

    ``color`` is float32 ``H x W x C`` (C = 1 or 3) in [0, 1]; ``alpha`` float32 ``H x W`` or None;
    ``bits`` is 8 or 16; ``gray`` says the colour was single-channel.
    """

    color: np.ndarray
    alpha: np.ndarray | None
    bits: int
    gray: bool

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), as PIL gives it."""
        return self.color.shape[1], self.color.shape[0]


def check_size(width: int, height: int, limit_megapixels: float | None = None) -> None:
    """Refuse an empty image or one over the megapixel limit (see ``max_megapixels``)."""
    if width == 0 or height == 0:
        raise ImageError(f"the image is empty ({width}x{height})")
    limit = max_megapixels(limit_megapixels)
    if width * height > limit * 1e6:
        raise ImageTooLargeError(
            f"the image is {width}x{height} ({width * height / 1e6:.1f} MP), over the {limit:g} MP limit "
            "(raise it with max_megapixels= / --max-megapixels / ZOO_MAX_MEGAPIXELS)",
            width, height, limit,
        )


def check_header(image: Image.Image, limit_megapixels: float | None = None, *, name: str = "the image") -> None:
    """Refuse, from the header alone (nothing is decoded), an image that is empty, over the megapixel
    limit, or made of several frames (animated GIF / PNG / WebP, multi-page TIFF).

    A camera JPEG stored as MPO (the photo plus previews) counts as one image: its first frame.
    """
    check_size(*image.size, limit_megapixels)
    frames = int(getattr(image, "n_frames", 1))
    if frames > 1 and image.format != "MPO":
        raise MultiFrameImageError(
            f"{name} has {frames} frames (an animation or a multi-page file); only single images are supported: "
            "save the frame you want as its own file first (e.g. `magick 'in.gif[0]' frame.png`)",
            frames,
        )


def upright(image: Image.Image) -> Image.Image:
    """``image`` decoded and turned as its EXIF Orientation tag says, the tag dropped (``image``
    itself when it has no tag or 1). A malformed EXIF block is ignored; unreadable pixels raise."""
    try:
        image.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise UnreadableImageError(f"the image is not readable ({' '.join(str(exc).split())})") from None
    try:
        orientation = image.getexif().get(ORIENTATION, 1)
    except Exception:  # noqa: BLE001  (broken EXIF: keep the pixels as stored)
        return image
    return image if orientation in (None, 1) else ImageOps.exif_transpose(image)


def open_image(path: str | Path, *, max_megapixels: float | None = None) -> Image.Image:
    """Open an image file as an upright, fully decoded PIL image.

    The size (against ``max_megapixels``, see ``max_megapixels()``) and the frame count are checked
    from the header before any pixel is decoded; an EXIF Orientation is applied; a palette image
    comes back RGB / RGBA. Any problem (corrupt, too large, animated) is one ``ImageError`` line.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"no such image file: {path}")
    try:
        with warnings.catch_warnings():
            # Pillow warns from 89 MP up; our own limit, checked before decoding, is the policy
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                check_header(im, max_megapixels, name=path.name)
                im.load()
                image = upright(im)
                image = im.copy() if image is im else image
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{path.name} is too large to open safely ({exc})") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise UnreadableImageError(f"{path.name} is not a readable image ({' '.join(str(exc).split())})") from None
    return image if image.mode != "P" else image.convert("RGBA" if "transparency" in image.info else "RGB")


def split(image: ImageLike, *, limit_megapixels: float | None = None) -> Planes:
    """Split a PIL image or numpy array into float planes, checking size and mode.

    The size is checked before anything is decoded or converted. A PIL image is turned upright
    by its EXIF Orientation tag (``upright``); of a multi-frame image (animated GIF, multi-page
    TIFF) the current frame is used: ``open_image`` refuses such files, pick a frame with ``seek``.
    """
    if isinstance(image, Image.Image):
        check_size(*image.size, limit_megapixels)
        return _split_pil(upright(image))
    if isinstance(image, np.ndarray):
        if image.ndim in (2, 3):
            check_size(image.shape[1], image.shape[0], limit_megapixels)
        return _split_array(image)
    raise ImageError(f"expected a PIL image or a numpy array, got {type(image).__name__}")


def _split_pil(image: Image.Image) -> Planes:
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return _split_array(np.asarray(image).astype(np.uint16))
    if mode == "I":
        arr = np.asarray(image)
        if arr.min() < 0 or arr.max() > 65535:
            raise ImageError("32-bit integer images are supported only with values in 0..65535")
        return _split_array(arr.astype(np.uint16))
    if mode == "F":
        return _split_array(np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0))
    if mode == "1":
        image = image.convert("L")
    elif mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode == "PA":
        image = image.convert("RGBA")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX"):
        image = image.convert("RGB")
    elif mode == "La":
        image = image.convert("LA")
    elif mode == "RGBa":
        image = image.convert("RGBA")
    if image.mode not in ("L", "LA", "RGB", "RGBA"):
        raise ImageError(f"unsupported image mode {mode!r}")
    return _split_array(np.asarray(image))


def _split_array(arr: np.ndarray) -> Planes:
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 2, 3, 4):
        raise ImageError(f"expected an H x W or H x W x C array with C in 1..4, got shape {list(arr.shape)}")
    if arr.dtype == np.uint8:
        bits, data = 8, arr.astype(np.float32) / 255.0
    elif arr.dtype == np.uint16:
        bits, data = 16, arr.astype(np.float32) / 65535.0
    elif arr.dtype in (np.float32, np.float64, np.float16):
        if arr.size and (not np.isfinite(arr).all()):
            raise ImageError("the image array holds NaN or infinite values")
        bits, data = 8, np.clip(arr.astype(np.float32), 0.0, 1.0)
    elif arr.dtype == np.bool_:
        bits, data = 8, arr.astype(np.float32)
    else:
        raise ImageError(f"unsupported array dtype {arr.dtype} (use uint8, uint16 or float in [0, 1])")
    channels = data.shape[2]
    alpha = data[:, :, -1] if channels in (2, 4) else None
    color = data[:, :, : 3 if channels >= 3 else 1]
    return Planes(np.ascontiguousarray(color), None if alpha is None else np.ascontiguousarray(alpha), bits, color.shape[2] == 1)


def match_channels(planes: Planes, channels: int, model: str) -> np.ndarray:
    """The colour planes as the network's ``channels`` (1 or 3): gray is repeated for a colour
    network; colour into a 1-channel network is refused (which gray conversion is up to the user)."""
    if planes.gray and channels == 3:
        return np.repeat(planes.color, 3, axis=2)
    if not planes.gray and channels == 1:
        raise ImageError(f"{model} takes 1-channel (grayscale) images, this one is colour; convert it to grayscale first")
    return planes.color


def quantize(plane: np.ndarray, bits: int) -> np.ndarray:
    """Float [0, 1] -> uint8 or uint16 with rounding (values outside [0, 1] are clipped)."""
    top = 255.0 if bits == 8 else 65535.0
    out = np.clip(plane, 0.0, 1.0) * top
    return np.rint(out, out=out).astype(np.uint8 if bits == 8 else np.uint16)


def merge_array(color: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """Stack integer colour (H x W x C) and alpha (H x W) planes into one array (2-D for gray)."""
    if alpha is not None:
        color = np.concatenate([color, alpha[:, :, None]], axis=2)
    return color[:, :, 0] if color.shape[2] == 1 else color


def to_pil(arr: np.ndarray) -> Image.Image:
    """An integer array from ``merge_array`` as a PIL image.

    uint8 gives L / LA / RGB / RGBA; 16-bit gray gives ``I;16``. Pillow holds no 16-bit colour,
    so 16-bit colour is reduced to 8 bits here (``Upscaler.upscale_array`` keeps 16 bits).
    """
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.dtype == np.uint16 and arr.ndim == 3:
        arr = np.rint(arr / 257.0).astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(arr))
