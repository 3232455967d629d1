"""The cache layout: where converted folders, pins and bundled weights live.

A converted model is cached per source of its entry: ``<cache>/models/<name>/<source key>/``
(hand imports that match no source: ``.../imported``); bundled folders live inside the package
(``zoo/weights/<folder>``). The cache root is ``$ZOO_CACHE``, else ``$XDG_CACHE_HOME/gan-zoo``,
else ``~/.cache/gan-zoo``. Pins (``<cache>/pins/<name>/<source key>.json``) record the sha256 of
the first download of a file whose registry entry publishes none; later downloads must match.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .converted import is_converted_folder
from .errors import IntegrityError
from .registry import BundledSource, ModelInfo, Source


BUNDLED_DIR = Path(__file__).parent / "weights"


def cache_root() -> Path:
    env = os.environ.get("ZOO_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "gan-zoo"


def source_dir(info: ModelInfo, source: Source) -> Path:
    """Where the conversion of ``info`` from ``source`` is cached (bundled: the bundle itself)."""
    if isinstance(source, BundledSource):
        return BUNDLED_DIR / source.folder
    return cache_root() / "models" / info.name / source.key


def imported_dir(info: ModelInfo) -> Path:
    """Cache slot for files a user imported by hand that match no registered source."""
    return cache_root() / "models" / info.name / "imported"


def single(info: ModelInfo) -> ModelInfo:
    """The entry whose weights ``info`` stands for: a translation entry's default direction."""
    return info.variant() if info.directions else info


def cached_folder(info: ModelInfo) -> Path | None:
    """The converted folder of the highest-priority source already available locally (imports last)."""
    info = single(info)
    for folder in [source_dir(info, source) for source in info.sources] + [imported_dir(info)]:
        if is_converted_folder(folder):
            return folder
    return None


def pin_path(info: ModelInfo, source: Source) -> Path:
    return cache_root() / "pins" / info.name / f"{source.key}.json"


def check_pin(info: ModelInfo, source: Source, digest: str) -> None:
    """Raise ``IntegrityError`` when a pin exists for this source and ``digest`` differs from it."""
    path = pin_path(info, source)
    try:
        pin = json.loads(path.read_text())
        pinned = pin["sha256"]
    except FileNotFoundError:
        return
    except (OSError, ValueError, KeyError, TypeError):
        raise IntegrityError(f"the pin {path} is unreadable; delete it to accept the file {info.name} now downloads") from None
    if digest != pinned:
        raise IntegrityError(
            f"{source.describe()} is not the file first downloaded for {info.name} on {pin.get('date', '?')} "
            f"(sha256 {digest[:16]}..., pinned {str(pinned)[:16]}...); it was removed. If upstream really replaced it, "
            f"delete {path} and download again"
        )


def write_pin(info: ModelInfo, source: Source, digest: str, size: int) -> None:
    """Record the sha256 of a first download (kept if a pin already exists)."""
    import datetime

    from .atomic import replace_file

    path = pin_path(info, source)
    if path.exists():
        return
    date = datetime.date.today().isoformat()
    with replace_file(path) as tmp:
        tmp.write_text(json.dumps({"sha256": digest, "size": size, "source": source.describe(), "date": date}, indent=2) + "\n")
