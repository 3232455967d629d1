"""Error types of gan-zoo.

Every error a user can cause (bad input, unknown name, no network, corrupt file) is a
``ZooError`` whose message is one line that says what went wrong and, where there is one,
the fix. The CLI prints ``error: <message>`` and exits with status 1; the app shows the
message. Anything that is not a ``ZooError`` is a bug in gan-zoo.
"""

from __future__ import annotations


class ZooError(Exception):
    """Base class: a user-facing, one-line error."""


class UnknownModelError(ZooError, KeyError):
    """A model name that the registry does not hold."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class OfflineError(ZooError):
    """Weights are needed, none are cached or shipped, and the network is not available."""


class DownloadError(ZooError):
    """A download failed (HTTP error, unreachable server, interrupted transfer)."""


class IntegrityError(ZooError):
    """A file's size or sha256 does not match what the registry expects."""


class CheckpointError(ZooError):
    """A checkpoint file cannot be read or does not match any known layout."""


class UnsafeCheckpointError(CheckpointError):
    """A pickle asked for something a weights-only reader refuses (it could run code)."""


class WrongFamilyError(ZooError):
    """A checkpoint or model of one family was given to a task of another."""


class ImageError(ZooError):
    """An input image is unreadable, empty, too large, or of a mode the task cannot take."""


class ImageTooLargeError(ImageError):
    """An image over the megapixel limit; ``width``, ``height`` and ``limit`` (MP) say by how much."""

    def __init__(self, message: str, width: int, height: int, limit: float) -> None:
        super().__init__(message)
        self.width, self.height, self.limit = width, height, limit


class UnreadableImageError(ImageError):
    """A file that is not an image Pillow can decode (corrupt, truncated, another format)."""


class MultiFrameImageError(ImageError):
    """An animation or a multi-page file where one image is expected; ``frames`` says how many."""

    def __init__(self, message: str, frames: int) -> None:
        super().__init__(message)
        self.frames = frames
