"""``python app.py`` as a real server for end-to-end tests (browser, gradio_client).

``serve_app(tmp_dir)`` starts the app in a subprocess on a free 127.0.0.1 port, offline
(HF_HUB_OFFLINE=1, HF_ENDPOINT on a closed port, downloads off) with a fresh cache
(``tmp_dir/cache``), waits until ``GET /config`` answers, yields a ``Served`` (url, log_path,
pid) and always stops the process (terminate, then kill) when the block ends, also when start-up
fails. The server's stdout and stderr go to ``log_path`` (``tmp_dir/server.log``). ``command``
starts something else that serves the app (``zoo serve`` from an installed wheel).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, NamedTuple

__all__ = ["AppServerError", "Served", "free_port", "serve_app"]

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app.py"
CLOSED_ENDPOINT = "http://127.0.0.1:9"  # nothing listens on the discard port: connections are refused
# The caller's own limits must not change what a test sees.
_DROPPED = ("ZOO_MAX_MEGAPIXELS", "ZOO_MAX_PARAMETERS", "ZOO_DOWNLOAD_DEADLINE", "ZOO_MAX_DOWNLOAD_BYTES", "ZOO_OFFLINE")


class Served(NamedTuple):
    url: str  # ends with "/"
    log_path: Path
    pid: int


class AppServerError(RuntimeError):
    """The app exited or did not answer in time; the message ends with its log."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, chars: int = 20000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"


@contextmanager
def serve_app(
    tmp_dir: Path | str,
    env_extra: Mapping[str, str | None] | None = None,
    *,
    start_timeout: float = 120.0,
    command: Callable[[int], list[str]] | None = None,
    cwd: Path | str | None = None,
) -> Iterator[Served]:
    """Run ``python app.py`` (or ``command(port)``, in ``cwd``; default ``tmp_dir``) for the
    duration of the block; yields ``Served(url, log_path, pid)``.

    ``env_extra`` is applied last (a value of None removes the variable).
    Raises ``AppServerError`` (with the log) if the app exits or ``/config`` does not answer
    within ``start_timeout`` seconds.
    """
    tmp = Path(tmp_dir)
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    env.update(
        {
            "ZOO_CACHE": str(tmp / "cache"),
            "HF_HUB_OFFLINE": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_ENDPOINT": CLOSED_ENDPOINT,
            "ZOO_APP_DOWNLOADS": "off",
            "GRADIO_ANALYTICS_ENABLED": "False",
            "GRADIO_SERVER_NAME": "127.0.0.1",
            "GRADIO_SERVER_PORT": str(port),
            "PYTHONUNBUFFERED": "1",
        }
    )
    for key, value in (env_extra or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    log_path = tmp / "server.log"
    url = f"http://127.0.0.1:{port}/"
    with open(log_path, "wb") as log:
        argv = command(port) if command is not None else [sys.executable, str(APP)]
        proc = subprocess.Popen(argv, cwd=cwd or tmp, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + start_timeout
            while True:
                if proc.poll() is not None:
                    raise AppServerError(f"app.py exited with {proc.returncode}:\n{_tail(log_path)}")
                try:
                    with urllib.request.urlopen(url + "config", timeout=5) as response:
                        if response.status == 200:
                            break
                except (urllib.error.URLError, OSError):
                    pass
                if time.monotonic() > deadline:
                    raise AppServerError(f"app.py did not answer on {url} within {start_timeout:g} s:\n{_tail(log_path)}")
                time.sleep(0.5)
            yield Served(url, log_path, proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
