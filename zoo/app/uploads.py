"""Uploaded images, opened by the app itself so that a bad file gets a sentence, not a traceback.

Task events are registered with ``preprocess=False``: Gradio hands over the upload as it arrived
(``{"path": ..., "orig_name": ...}``) instead of decoding it first (its own decoder raises a raw
error naming temporary paths). Direct Python calls may pass a PIL image or a path instead.
"""

from __future__ import annotations

from typing import Any

from PIL import Image

from zoo.errors import ZooError
from zoo.tasks import images

from . import messages, settings


def upload_path(value: Any) -> str | None:
    """The file behind an upload value (a payload dict, a FileData, a path), or None."""
    if value is None:
        return None
    if isinstance(value, dict):
        return value.get("path")
    if hasattr(value, "path"):
        return value.path
    return str(value)


def header_size(value: Any) -> tuple[int, int] | None:
    """(width, height) of an upload from its header alone (nothing decoded), None if unreadable."""
    if isinstance(value, Image.Image):
        return value.size
    path = upload_path(value)
    if not path:
        return None
    try:
        with Image.open(path) as im:
            return im.size
    except Exception:  # noqa: BLE001  (an estimate must not fail; the run says what is wrong)
        return None


def open_upload(value: Any, missing: str) -> Image.Image:
    """The uploaded image, upright and decoded, within the app's size limit; ``missing`` is the
    message when there is none. Every problem is a ``gr.Error`` in the page's words."""
    if value is None or (isinstance(value, dict) and not value.get("path")):
        raise messages.user_error(missing)
    limit = settings.max_megapixels()
    try:
        if isinstance(value, Image.Image):
            images.check_header(value, limit)
            return value
        return images.open_image(upload_path(value), max_megapixels=limit)
    except ZooError as exc:
        raise messages.user_error(messages.for_people(exc)) from None


def limit_note() -> str:
    """The size limit, shown on every upload before anything is uploaded."""
    return f"up to {settings.max_megapixels():g} megapixels"
