"""A static file server on 127.0.0.1 for tests of "upstream URL" downloads.

``FileServer`` serves a ``dict`` of ``path -> bytes`` over real HTTP and can
misbehave on purpose (truncated bodies, corrupted bytes, error statuses,
redirects, connection refused, trickled or oversized bodies) so that download
and integrity code can be tested without internet access.

The module also holds ``BackgroundHTTPServer``, the small threaded-server base
shared with ``hub_server.LocalHub``.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, unquote, urlsplit

__all__ = ["BackgroundHTTPServer", "FileServer", "filler", "parse_range", "send", "stream"]


# --------------------------------------------------------------------------- base


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: BackgroundHTTPServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client hangs up; print anything else (it is a bug in a test server)."""
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Forwards every request to ``server.owner.handle(handler, method)``.

    HTTP/1.0 (the ``BaseHTTPRequestHandler`` default): one request per connection,
    so stopping the listener really makes the server unreachable, and a body cut
    short is seen by clients as a broken connection.
    """

    server: _Server
    server_version = "LocalTestServer/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def _dispatch(self, method: str) -> None:
        owner = self.server.owner
        owner._record(method, self)
        owner.handle(self, method)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch("HEAD")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")


def send(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    *,
    head: bool = False,
    content_length: int | None = None,
    stop_after: int | None = None,
) -> None:
    """Write one response.

    ``content_length`` overrides the advertised length (defaults to ``len(body)``);
    ``stop_after`` sends only that many body bytes and then lets the connection
    close, which clients see as a truncated transfer. ``head`` omits the body.
    """
    handler.send_response(status)
    sent = {k.lower() for k in (headers or {})}
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    if "content-length" not in sent:
        handler.send_header("Content-Length", str(len(body) if content_length is None else content_length))
    handler.send_header("Connection", "close")
    handler.end_headers()
    if head:
        return
    handler.wfile.write(body if stop_after is None else body[:stop_after])
    handler.wfile.flush()


def stream(
    handler: BaseHTTPRequestHandler,
    status: int,
    pieces: Iterable[bytes],
    headers: Mapping[str, str] | None = None,
    *,
    length: int | None = None,
    framing: str = "length",
) -> int:
    """Write one response whose body is produced piece by piece; return the body bytes written.

    ``framing``: ``"length"`` announces ``Content-Length: length``; ``"close"`` sends no length
    (an HTTP/1.0 body that ends when the connection closes); ``"chunked"`` uses
    ``Transfer-Encoding: chunked``. Writing stops quietly when the client hangs up, so the
    count says how much the client took (plus what the socket buffers held).
    """
    handler.send_response(status)
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    if framing == "chunked":
        handler.send_header("Transfer-Encoding", "chunked")
    elif framing == "length" and length is not None:
        handler.send_header("Content-Length", str(length))
    handler.send_header("Connection", "close")
    handler.end_headers()
    sent = 0
    try:
        for piece in pieces:
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if framing == "chunked" else piece)
            sent += len(piece)
        if framing == "chunked":
            handler.wfile.write(b"0\r\n\r\n")
        handler.wfile.flush()
    except OSError:  # the client hung up (BrokenPipe, ConnectionReset)
        pass
    return sent


def filler(data: bytes, total: int, piece: int = 1 << 16) -> Iterator[bytes]:
    """``data`` then zero bytes, ``total`` bytes in all, in pieces of ``piece`` bytes (nothing held in memory)."""
    for i in range(0, len(data), piece):
        yield data[i : i + piece]
    left = total - len(data)
    zeros = bytes(piece)
    while left > 0:
        yield zeros[: min(piece, left)]
        left -= piece


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Parse ``Range: bytes=START-[END]`` into an inclusive ``(start, end)``; ``None`` if absent or unsupported."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    start_s, _, end_s = header[len("bytes=") :].partition("-")
    if not start_s:  # suffix ranges ("bytes=-N") are not needed by our clients
        return None
    start = int(start_s)
    end = min(int(end_s), size - 1) if end_s else size - 1
    return start, end


class BackgroundHTTPServer:
    """A ``ThreadingHTTPServer`` on ``127.0.0.1`` running in a daemon thread.

    Subclasses implement ``handle(handler, method)``. Usable as a context manager;
    ``url`` is ``http://127.0.0.1:PORT``. Every request is appended to
    ``request_log`` as ``(method, path)`` (path as sent, without the query string)
    and its headers, with lower-cased names, to ``headers_log`` (same index).
    Streamed responses (``stream``) append ``(path, body bytes written)`` to
    ``sent_log`` when they end: how much a client took before it hung up.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.request_log: list[tuple[str, str]] = []
        self.headers_log: list[dict[str, str]] = []
        self.sent_log: list[tuple[str, int]] = []
        self._lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle
    @property
    def url(self) -> str:
        if not self.port:
            raise RuntimeError("server not started")
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Start listening (on a free port the first time, on the same port after ``stop()``)."""
        if self._server is not None:
            return
        server = _Server((self.host, self.port), _Handler)
        server.owner = self
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}:{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop listening; new connections are refused. Idempotent."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Any:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @contextmanager
    def unreachable(self) -> Iterator[None]:
        """Inside the block connections to ``url`` are refused (the listener is closed), then it comes back."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    # -- request log
    def _record(self, method: str, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.request_log.append((method, urlsplit(handler.path).path))
            self.headers_log.append({k.lower(): v for k, v in handler.headers.items()})

    def requests(self, method: str | None = None, contains: str = "") -> list[str]:
        """Paths of logged requests, optionally filtered by method and by a substring of the path."""
        with self._lock:
            return [p for m, p in self.request_log if (method is None or m == method) and contains in p]

    def clear_log(self) -> None:
        with self._lock:
            self.request_log.clear()
            self.headers_log.clear()
            self.sent_log.clear()

    def _record_sent(self, handler: BaseHTTPRequestHandler, sent: int) -> None:
        with self._lock:
            self.sent_log.append((urlsplit(handler.path).path, sent))

    def wait_sent(self, count: int = 1, timeout: float = 10.0) -> list[tuple[str, int]]:
        """``sent_log`` once it holds ``count`` entries (streams end when the client hangs up), or after ``timeout``."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if len(self.sent_log) >= count:
                    break
            time.sleep(0.02)
        with self._lock:
            return list(self.sent_log)

    def handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


# --------------------------------------------------------------------------- static files


@dataclass
class _Fault:
    kind: str  # "truncate" | "corrupt" | "status" | "redirect" | "trickle" | "inflate"
    times: int | None  # remaining number of affected requests; None = forever
    keep: int | None = None
    data: bytes | None = None
    status: int = 500
    location: str = ""
    every: float = 0.0
    total: int = 0
    framing: str = "length"


def _flip_middle_byte(data: bytes) -> bytes:
    """Same length, one byte changed (empty input becomes one byte so it still differs)."""
    if not data:
        return b"\x00"
    i = len(data) // 2
    return data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1 :]


def _paced(pieces: list[bytes], every: float) -> Iterator[bytes]:
    """``pieces`` with ``every`` seconds of silence between two of them."""
    for i, piece in enumerate(pieces):
        if i:
            time.sleep(every)
        yield piece


class FileServer(BackgroundHTTPServer):
    """Serve ``files`` (``path -> bytes``) at ``url``; GET and HEAD, with ``Range`` support.

    Paths are given without or with a leading ``/`` (``"w/model.pth"`` is served
    at ``{url}/w/model.pth``; use ``url_for``). Normal responses carry
    ``Content-Length``, ``ETag`` and ``Accept-Ranges: bytes``; unknown paths give 404.

    Faults (each affects the next ``times`` GET requests for that path, or all
    of them when ``times`` is None; HEAD is always answered honestly, except for
    ``fail`` which also applies to HEAD):

    * ``truncate(path, keep)``: full ``Content-Length`` but only ``keep`` bytes
      (default: half) are sent before the connection closes.
    * ``corrupt(path, data)``: serve ``data`` instead (default: the same bytes
      with one byte flipped, i.e. same length).
    * ``fail(path, status)``: answer ``status`` (404, 500, ...) with a small body.
    * ``redirect(path, target)``: answer 302 to ``target`` (a path on this
      server or an absolute URL).
    * ``trickle(path, nbytes, every)``: honest headers, then the body ``nbytes``
      at a time with ``every`` seconds between pieces (a stalling server).
    * ``inflate(path, total, framing)``: the file followed by zero bytes,
      ``total`` bytes in all, framed by ``Content-Length`` (``"length"``), by the
      connection closing (``"close"``) or chunked (``"chunked"``).

    ``trickle`` and ``inflate`` log to ``sent_log`` how much the client took.
    """

    def __init__(self, files: Mapping[str, bytes] | None = None, host: str = "127.0.0.1") -> None:
        super().__init__(host)
        self.files: dict[str, bytes] = {}
        self._faults: dict[str, _Fault] = {}
        for path, data in (files or {}).items():
            self.add(path, data)

    @staticmethod
    def _key(path: str) -> str:
        return "/" + path.lstrip("/")

    def add(self, path: str, data: bytes) -> None:
        """Register (or replace) a file (also possible while running)."""
        with self._lock:
            self.files[self._key(path)] = bytes(data)

    def url_for(self, path: str) -> str:
        """Absolute URL of ``path`` (server must be started)."""
        return self.url + quote(self._key(path))

    # -- faults
    def truncate(self, path: str, keep: int | None = None, *, times: int | None = None) -> None:
        self._set_fault(path, _Fault("truncate", times, keep=keep))

    def corrupt(self, path: str, data: bytes | None = None, *, times: int | None = None) -> None:
        self._set_fault(path, _Fault("corrupt", times, data=data))

    def fail(self, path: str, status: int = 500, *, times: int | None = None) -> None:
        self._set_fault(path, _Fault("status", times, status=status))

    def redirect(self, path: str, target: str, *, times: int | None = None) -> None:
        location = target if "://" in target else quote(self._key(target))
        self._set_fault(path, _Fault("redirect", times, location=location))

    def trickle(self, path: str, nbytes: int = 1, every: float = 1.0, *, times: int | None = None) -> None:
        self._set_fault(path, _Fault("trickle", times, keep=nbytes, every=every))

    def inflate(self, path: str, total: int, framing: str = "length", *, times: int | None = None) -> None:
        if framing not in ("length", "close", "chunked"):
            raise ValueError(framing)
        self._set_fault(path, _Fault("inflate", times, total=total, framing=framing))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _set_fault(self, path: str, fault: _Fault) -> None:
        with self._lock:
            self._faults[self._key(path)] = fault

    def _take_fault(self, key: str, method: str) -> _Fault | None:
        """Return the active fault for this request and consume one use of it."""
        with self._lock:
            fault = self._faults.get(key)
            if fault is None or (method == "HEAD" and fault.kind != "status"):
                return None
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    del self._faults[key]
            return fault

    # -- serving
    def handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        key = unquote(urlsplit(handler.path).path)
        head = method == "HEAD"
        if method not in ("GET", "HEAD"):
            send(handler, 405, b"method not allowed", head=head)
            return
        fault = self._take_fault(key, method)
        with self._lock:
            data = self.files.get(key)
        if fault is not None and fault.kind == "status":
            send(handler, fault.status, f"error {fault.status}".encode(), {"Content-Type": "text/plain"}, head=head)
            return
        if fault is not None and fault.kind == "redirect":
            send(handler, 302, b"", {"Location": fault.location}, head=head)
            return
        if data is None:
            send(handler, 404, b"not found", {"Content-Type": "text/plain"}, head=head)
            return

        etag = f'"{hashlib.sha256(data).hexdigest()}"'
        body = data
        if fault is not None and fault.kind == "corrupt":
            body = fault.data if fault.data is not None else _flip_middle_byte(data)
        headers = {"Content-Type": "application/octet-stream", "ETag": etag, "Accept-Ranges": "bytes"}
        if fault is not None and fault.kind in ("trickle", "inflate") and not head:
            if fault.kind == "trickle":
                n = max(1, fault.keep or 1)
                pieces: Iterable[bytes] = _paced([data[i : i + n] for i in range(0, len(data), n)], fault.every)
                sent = stream(handler, 200, pieces, headers, length=len(data))
            else:
                sent = stream(handler, 200, filler(data, fault.total), headers, length=fault.total, framing=fault.framing)
            self._record_sent(handler, sent)
            return
        status = 200
        rng = parse_range(handler.headers.get("Range"), len(body))
        if rng is not None:
            start, end = rng
            if start >= len(body):
                send(handler, 416, b"", {"Content-Range": f"bytes */{len(body)}"}, head=head)
                return
            headers["Content-Range"] = f"bytes {start}-{end}/{len(body)}"
            body, status = body[start : end + 1], 206
        stop_after = None
        if fault is not None and fault.kind == "truncate":
            stop_after = fault.keep if fault.keep is not None else len(body) // 2
        send(handler, status, body, headers, head=head, stop_after=stop_after)
