"""What the operator of an app server decides, read from the environment (``zoo serve`` sets it).

* ``ZOO_APP_DOWNLOADS`` = ``off`` (the default, and always on a public Space unless set) | ``on`` |
  ``auto`` (on when the Hub answers within a second, off otherwise: what ``make demo`` uses). With
  downloads off the app registers no endpoint that downloads or writes weights, and the Hub
  client runs offline (``HF_HUB_OFFLINE=1``), so nothing waits on a network that is not there.
* ``ZOO_MAX_MEGAPIXELS``: the input size limit (default 4 MP here, stricter than the library's).
* ``ZOO_APP_MODEL_MEMORY_MB``: the memory the shared model cache may hold (default 3072).
* ``ZOO_APP_TASK_SLOTS``: runs of one task at a time (default: one per two CPU cores).
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

DOWNLOAD_MODES = ("off", "on", "auto")
APP_MAX_MEGAPIXELS = 4.0  # a CPU server cannot upscale 16 MP x4 in a reasonable time or memory
MODEL_MEMORY_MB = 3072
PROBE_TIMEOUT_S = 1.0


def download_mode() -> str:
    """``ZOO_APP_DOWNLOADS`` (off | on | auto), ``off`` when unset or unknown."""
    mode = (os.environ.get("ZOO_APP_DOWNLOADS") or "off").strip().lower()
    return mode if mode in DOWNLOAD_MODES else "off"


def hub_reachable(timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether a TCP connection to the Hub endpoint (``HF_ENDPOINT``) opens within ``timeout`` s."""
    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False


def settle_network_mode() -> bool:
    """Decide, once at start-up, whether this server downloads: resolves ``auto`` with a probe, writes
    the answer back to ``ZOO_APP_DOWNLOADS`` and sets ``HF_HUB_OFFLINE=1`` when it does not.
    Returns whether downloads are allowed."""
    mode = download_mode()
    allowed = mode == "on" or (mode == "auto" and hub_reachable())
    os.environ["ZOO_APP_DOWNLOADS"] = "on" if allowed else "off"
    if not allowed:
        os.environ["HF_HUB_OFFLINE"] = "1"
    return allowed


def downloads_allowed() -> bool:
    """Whether this server may download or convert weights on a visitor's request."""
    return download_mode() == "on" and os.environ.get("HF_HUB_OFFLINE", "").strip().lower() not in ("1", "true", "yes", "on")


def max_megapixels() -> float:
    """The app's input size limit in megapixels: ``ZOO_MAX_MEGAPIXELS``, else 4."""
    from zoo.tasks.images import max_megapixels as library_limit

    return library_limit(None) if os.environ.get("ZOO_MAX_MEGAPIXELS") else APP_MAX_MEGAPIXELS


def model_memory_bytes() -> int:
    """How many bytes of weights the shared model cache may keep loaded."""
    text = os.environ.get("ZOO_APP_MODEL_MEMORY_MB") or str(MODEL_MEMORY_MB)
    try:
        return int(float(text) * 2**20)
    except ValueError:
        raise SystemExit(f"error: ZOO_APP_MODEL_MEMORY_MB must be a number, not {text!r}") from None


def cpu_count() -> int:
    """CPUs this process may use (the affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def task_slots() -> int:
    """Concurrent runs of one task: ``ZOO_APP_TASK_SLOTS``, else one per two cores (at least one).

    A run already uses every core through torch's threads, so more at once only shares them."""
    text = os.environ.get("ZOO_APP_TASK_SLOTS")
    if text:
        try:
            return max(1, int(text))
        except ValueError:
            raise SystemExit(f"error: ZOO_APP_TASK_SLOTS must be a whole number, not {text!r}") from None
    return max(1, cpu_count() // 2)


def queue_size() -> int:
    """Requests waiting in the queue before new ones are refused (``Queue full``)."""
    return 64
