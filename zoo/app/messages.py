"""What the web page says when something goes wrong: what happened and what to do *in the page*.

The library's messages (``ZooError``) are written for the CLI and Python: they name commands,
flags and environment variables. A visitor of the app can do none of that, so the app says it in
its own words: pick a model that works offline, upload a smaller image, paint a mask. The CLI keeps
its wording. ``for_people(exc)`` turns any ``ZooError`` into such a line: known kinds by their
type, the rest by the rewrite table ``REWRITES`` (data, applied in order).
"""

from __future__ import annotations

import re

import gradio as gr

import zoo
from zoo.errors import (
    DownloadError,
    ImageTooLargeError,
    MultiFrameImageError,
    OfflineError,
    UnknownModelError,
    UnreadableImageError,
    ZooError,
)
from zoo.registry import ModelInfo

from . import settings

# (pattern, replacement) on the library's one-line message: CLI advice out, page advice in.
REWRITES: tuple[tuple[str, str], ...] = (
    (r"\s*\((?:raise it|use|set|pass|see)[^()]*(?:--|`|=|ZOO_|HF_)[^()]*\)", ""),  # "(raise it with --max-megapixels ...)"
    (r";\s*use size='trained'", "; choose “Training scale” under Size"),
    (r":\s*(?:run|try) `zoo [^`]*`.*$", ""),
    (r"\s*\(e\.g\. `[^`]*`\)", ""),
    (r"`", ""),
    (r"\b(HF_HUB_OFFLINE|ZOO_OFFLINE|ZOO_MAX_MEGAPIXELS)(/\w+)*\b( is set)?", "this server is offline"),
    (r"@(AtoB|BtoA)\b", r" (\1)"),
)


def sentence(text: str) -> str:
    """``text`` with a capital first letter and a full stop."""
    text = " ".join(text.split()).strip(" ;:")
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def where_to_get_models() -> str:
    """The advice for a model that is not on this server, as this server allows."""
    if settings.downloads_allowed():
        return "Download it in the Model zoo tab, or pick a model marked “offline” in the Model list."
    return "This server does not download models: pick one marked “offline” in the Model list."


def model_not_here(info: ModelInfo) -> str:
    return f"{info.title} is not on this server yet. {where_to_get_models()}"


def too_large(width: int, height: int, limit: float) -> str:
    return (f"This image is {width}×{height} ({width * height / 1e6:.1f} megapixels); this server takes up to "
            f"{limit:g} megapixels. Upload a smaller or cropped image.")


def for_people(exc: BaseException) -> str:
    """The page's one-line message for ``exc`` (a ``ZooError`` or a ``ValueError`` from bad parameters)."""
    if isinstance(exc, ImageTooLargeError):
        return too_large(exc.width, exc.height, exc.limit)
    if isinstance(exc, UnreadableImageError):
        return "This file is not an image that can be read (corrupt, cut short, or another format). Upload a PNG, JPEG or WebP image."
    if isinstance(exc, MultiFrameImageError):
        return f"This file holds {exc.frames} frames (an animation or a multi-page file). Upload a single image."
    if isinstance(exc, UnknownModelError):
        return "There is no such model here. Pick one from the Model list."
    if isinstance(exc, OfflineError):
        name = re.match(r"\s*(?:cannot download )?([\w.@-]+)", str(exc))
        info = _entry(name.group(1)) if name else None
        return model_not_here(info) if info is not None else where_to_get_models()
    if isinstance(exc, DownloadError):
        return "The download failed (the network or the server that holds the weights did not answer). Try again later."
    text = " ".join(str(exc).split()) or type(exc).__name__
    for pattern, replacement in REWRITES:
        text = re.sub(pattern, replacement, text)
    return sentence(text)


def _entry(name: str) -> ModelInfo | None:
    try:
        return zoo.info(name.split("@")[0])
    except ZooError:
        return None


def user_error(message: str) -> gr.Error:
    """A ``gr.Error`` for the page: stays on screen until closed, no server traceback."""
    return gr.Error(message, duration=None, print_exception=False)
