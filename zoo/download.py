"""Network access: offline detection, verified URL downloads, and Hub downloads.

Every download streams into ``<dest>.part``, hashing as it goes; only a complete file whose
size and sha256 match what the registry expects is renamed into place. Anything else is
deleted and reported as one ``ZooError`` line.

Limits (environment variables, read at each download):

* ``ZOO_DOWNLOAD_DEADLINE``: seconds one URL download may take in all, connection to last
  byte (default 3600). Each read also gives up after ``TIMEOUT_S`` (30 s) without data.
* ``ZOO_MAX_DOWNLOAD_BYTES``: the most bytes taken from one source whose size the registry
  does not know (default 4 GiB). A known size is itself the limit: a larger body is refused
  from its ``Content-Length``, or stopped as soon as it grows past that size.

Hub downloads (``hub_download``) first ask the Hub for the file's size (one HEAD, no
retries), so an unreachable Hub fails at once and an oversized file is never fetched;
huggingface_hub's own retry warnings are silenced and its errors mapped to ours. The same
deadline applies: a response hook on huggingface_hub's HTTP session checks it between the
network reads of our own downloads (``_hub_deadline``).
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from .errors import DownloadError, IntegrityError, OfflineError, ZooError

CHUNK = 1 << 20
TIMEOUT_S = 30.0
DEADLINE_S = 3600.0
MAX_BYTES = 4 << 30
HUB_HEAD_TIMEOUT_S = 10.0
TRUE_VALUES = ("1", "true", "yes", "on")


def is_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` or ``ZOO_OFFLINE`` is set: no network access is attempted."""
    return any(os.environ.get(v, "").strip().lower() in TRUE_VALUES for v in ("HF_HUB_OFFLINE", "ZOO_OFFLINE"))


def _env_limit(name: str, default: float) -> float:
    """A positive number from ``$name`` (``default`` when unset); anything else is a one-line ZooError."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise ZooError(f"{name} must be a positive number, not {raw!r}")
    return value


def download_deadline() -> float:
    """Seconds one URL download may take in all (``$ZOO_DOWNLOAD_DEADLINE``, default 1 hour)."""
    return _env_limit("ZOO_DOWNLOAD_DEADLINE", DEADLINE_S)


def max_download_bytes() -> int:
    """Most bytes taken from a source of unknown size (``$ZOO_MAX_DOWNLOAD_BYTES``, default 4 GiB)."""
    return int(_env_limit("ZOO_MAX_DOWNLOAD_BYTES", MAX_BYTES))


def one_line(text: object) -> str:
    """``text`` with every run of whitespace (newlines included) made one space."""
    return " ".join(str(text).split())


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_file(path: Path, sha256: str | None, size: int | None, *, what: str) -> None:
    """Raise ``IntegrityError`` (after deleting ``path``) when its size or sha256 is not as expected."""
    actual_size = path.stat().st_size
    problem = None
    if size is not None and actual_size != size:
        problem = f"size {actual_size} bytes, expected {size}"
    elif sha256 is not None:
        actual = sha256_file(path)
        if actual != sha256.lower():
            problem = f"sha256 {actual[:16]}..., expected {sha256[:16]}..."
    if problem:
        path.unlink(missing_ok=True)
        raise IntegrityError(f"{what} is corrupt or not the expected file ({problem}); it was removed")


def size_refused(what: str, amount: str, size: int | None, limit: int) -> ZooError:
    """The error for a body of the wrong size: past the registry's ``size`` if known, else over the per-source cap."""
    if size is not None:
        return IntegrityError(f"{what} is not the expected file ({amount}, expected {size} bytes); nothing was kept")
    return DownloadError(
        f"{what} is too large ({amount}; the limit for a source of unknown size is {limit} bytes, "
        "set by ZOO_MAX_DOWNLOAD_BYTES); nothing was kept"
    )


def download_url(
    url: str,
    dest: Path,
    *,
    sha256: str | None = None,
    size: int | None = None,
    sha256_prefix: str | None = None,
    progress: bool = True,
) -> Path:
    """Download ``url`` to ``dest`` (verified). Raises OfflineError, DownloadError or IntegrityError.

    At most ``size`` bytes (else ``max_download_bytes()``) are read, within ``download_deadline()``
    seconds; the ``.part`` file is removed on any failure.
    """
    if is_offline():
        raise OfflineError(f"offline (HF_HUB_OFFLINE/ZOO_OFFLINE set); cannot fetch {url}")
    limit = size if size is not None else max_download_bytes()
    deadline_s = download_deadline()
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        digest, received = _fetch(url, part, limit=limit, size=size, deadline_s=deadline_s, progress=progress)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    problem = None
    if size is not None and received != size:
        problem = f"size {received} bytes, expected {size}"
    elif sha256 is not None and digest.hexdigest() != sha256.lower():
        problem = f"sha256 {digest.hexdigest()[:16]}..., expected {sha256[:16]}..."
    elif sha256_prefix is not None and not digest.hexdigest().startswith(sha256_prefix.lower()):
        problem = f"sha256 {digest.hexdigest()[:16]}..., expected {sha256_prefix}..."
    if problem:
        part.unlink(missing_ok=True)
        raise IntegrityError(f"download of {url} is corrupt or not the expected file ({problem}); it was removed")
    os.replace(part, dest)
    return dest


def _fetch(url: str, part: Path, *, limit: int, size: int | None, deadline_s: float, progress: bool):
    """Stream ``url`` into ``part``: (sha256 object, bytes received), or one-line errors.

    Reads use ``read1`` (whatever has arrived, up to ``CHUNK``) with the socket timeout set to
    the per-read timeout or the time left, whichever is shorter, so a trickling server cannot
    outlive the deadline, and no more than ``limit`` bytes are ever written.
    """
    deadline = time.monotonic() + deadline_s
    digest = hashlib.sha256()
    received = 0
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "gan-zoo"})
        with urllib.request.urlopen(request, timeout=min(TIMEOUT_S, deadline_s)) as response, open(part, "wb") as out:
            declared = response.length  # parsed Content-Length; None when absent (chunked, close-delimited)
            if declared is not None and declared > limit:
                raise size_refused(f"download of {url}", f"{declared} bytes announced", size, limit)
            sock = getattr(getattr(response.fp, "raw", None), "_sock", None)
            bar = _progress_bar(declared if declared is not None else size, part.name.removesuffix(".part")) if progress else None
            try:
                while True:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError("deadline")
                    if sock is not None:
                        sock.settimeout(min(TIMEOUT_S, left))
                    block = response.read1(min(CHUNK, limit + 1 - received))
                    if not block:
                        break
                    if received + len(block) > limit:
                        raise size_refused(f"download of {url}", f"more than {limit} bytes sent", size, limit)
                    out.write(block)
                    digest.update(block)
                    received += len(block)
                    if bar is not None:
                        bar.update(len(block))
            finally:
                if bar is not None:
                    bar.close()
        if declared is not None and received != declared:
            raise DownloadError(f"download of {url} was cut short ({received} of {declared} bytes)")
    except urllib.error.HTTPError as exc:
        exc.close()
        raise DownloadError(_http_error_message(url, exc)) from None
    except urllib.error.URLError as exc:
        raise DownloadError(f"cannot reach {url} ({one_line(exc.reason)})") from None
    except TimeoutError:
        if time.monotonic() >= deadline:
            raise DownloadError(
                f"download of {url} did not finish within {deadline_s:g} s ({received} bytes received; "
                "raise ZOO_DOWNLOAD_DEADLINE to allow longer)"
            ) from None
        raise DownloadError(f"download of {url} stalled (no data for {TIMEOUT_S:g} s after {received} bytes)") from None
    except http.client.HTTPException as exc:
        raise DownloadError(f"download of {url} was cut short ({type(exc).__name__} after {received} bytes)") from None
    except OSError as exc:
        raise DownloadError(f"download of {url} failed ({one_line(exc)})") from None
    return digest, received


def _http_error_message(url: str, exc: urllib.error.HTTPError) -> str:
    """One line for an HTTP error status, a redirect loop (urllib's text spans lines) included."""
    reason = one_line(exc.reason)
    if 300 <= exc.code < 400 and "infinite loop" in reason:
        return f"too many redirects fetching {url} (redirect loop at {exc.url})"
    return f"{url} answered HTTP {exc.code} {reason}"


def _progress_bar(total: int | None, name: str):
    """A progress bar on stderr when it is a terminal (none in logs and pipes, like huggingface_hub's)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=name, leave=False, disable=None)


def hub_endpoint() -> str | None:
    """``$HF_ENDPOINT`` read now (huggingface_hub reads it only once, at import)."""
    return os.environ.get("HF_ENDPOINT") or None


class RemoteFileMissing(DownloadError):
    """The Hub repo exists at that revision but has no such file (a real 404 entry-not-found)."""


class HubUnreachable(DownloadError):
    """No connection to the Hub (refused, DNS, connect timeout): nothing is known about the repo."""


_QUIET_LOCK = threading.Lock()
_QUIET = {"depth": 0, "level": logging.NOTSET}


@contextmanager
def quiet_hub():
    """Mute huggingface_hub's warning logs (retry / resume chatter) while gan-zoo calls it.

    Our own error says what failed, in one line. A user who set ``HF_HUB_VERBOSITY`` to info or
    debug keeps the logs. Nested and concurrent uses share one saved level.
    """
    logger = logging.getLogger("huggingface_hub")
    with _QUIET_LOCK:
        if _QUIET["depth"] == 0:
            _QUIET["level"] = logger.level
            if logger.getEffectiveLevel() >= logging.WARNING:
                logger.setLevel(logging.ERROR)
        _QUIET["depth"] += 1
    try:
        yield
    finally:
        with _QUIET_LOCK:
            _QUIET["depth"] -= 1
            if _QUIET["depth"] == 0:
                logger.setLevel(_QUIET["level"])


def httpx_module():
    """The HTTP client huggingface_hub uses (``httpx2`` in 2.x, ``httpx`` before)."""
    try:
        import httpx2 as httpx
    except ImportError:  # pragma: no cover - older huggingface_hub
        import httpx
    return httpx


def hub_download(repo_id: str, filename: str, revision: str, cache_dir: Path, *, size: int | None = None) -> Path:
    """``hf_hub_download`` of one file at a revision, with gan-zoo's errors and limits.

    ``size`` is the registry's size of this very file, if it knows one. Unless the file is cached
    at a pinned commit, one HEAD (no retries) asks the Hub for its size first: an unreachable Hub
    raises ``HubUnreachable`` at once (a copy cached for that revision is used instead, as
    huggingface_hub would), and a file of another ``size``, or over ``max_download_bytes()``, is
    refused before any byte is fetched. The body is stopped if it outgrows that limit too.
    ``RemoteFileMissing`` is raised only when the Hub says the file does not exist.
    """
    if is_offline():
        raise OfflineError(f"offline (HF_HUB_OFFLINE/ZOO_OFFLINE set); cannot fetch {repo_id}/{filename}")
    from huggingface_hub import hf_hub_download, try_to_load_from_cache

    what = f"{repo_id}/{filename}"
    limit = size if size is not None else max_download_bytes()
    cached = None
    with quiet_hub():
        try:
            hit = try_to_load_from_cache(repo_id, filename, cache_dir=str(cache_dir), revision=revision)
            cached = Path(hit) if isinstance(hit, str) else None
            if cached is None or not re.fullmatch(r"[0-9a-f]{40}", revision):
                remote = _hub_file_size(repo_id, filename, revision)
                if remote is not None and (remote > limit or (size is not None and remote != size)):
                    raise size_refused(f"{what} on the Hub", f"{remote} bytes", size, limit)
            with _hub_deadline(what, download_deadline()):
                path = Path(
                    hf_hub_download(
                        repo_id, filename, revision=revision, cache_dir=str(cache_dir), endpoint=hub_endpoint(),
                        tqdm_class=_capped_bar(what, size, limit),
                    )
                )
        except Exception as exc:
            error = _hub_error(exc, repo_id, filename, revision)
            if error is None:
                raise
            if not (isinstance(error, HubUnreachable) and cached is not None):
                raise error from None
            path = cached
    verify_hub_blob(path, what=what)
    return path


_DEADLINE = threading.local()  # (monotonic deadline, seconds, what) of this thread's Hub download


class HubDeadline(DownloadError):
    """A Hub download took longer than ``download_deadline()``."""


@contextmanager
def _hub_deadline(what: str, seconds: float):
    """Within the block, Hub responses on this thread must be read to the end before ``seconds`` pass."""
    from huggingface_hub import get_session

    hooks = get_session().event_hooks["response"]
    if _deadline_hook not in hooks:
        hooks.append(_deadline_hook)  # the session is huggingface_hub's, shared: the hook is idle on other threads
    _DEADLINE.value = (time.monotonic() + seconds, seconds, what)
    try:
        yield
    finally:
        _DEADLINE.value = None


def _deadline_hook(response) -> None:
    """httpx response hook: wrap the body stream so each network read checks this thread's deadline."""
    active = getattr(_DEADLINE, "value", None)
    if active is None:
        return
    deadline, seconds, what = active
    inner = response.stream

    class DeadlineStream(httpx_module().SyncByteStream):
        def __iter__(self):
            for piece in inner:
                if time.monotonic() > deadline:
                    raise HubDeadline(
                        f"download of {what} from the Hub did not finish within {seconds:g} s "
                        "(raise ZOO_DOWNLOAD_DEADLINE to allow longer); nothing was kept"
                    )
                yield piece

        def close(self) -> None:
            inner.close()

    response.stream = DeadlineStream()


def _hub_file_size(repo_id: str, filename: str, revision: str) -> int | None:
    """The size the Hub announces for a file (HEAD, no retries); None if it gives none."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    endpoint = hub_endpoint()
    url = hf_hub_url(repo_id, filename, revision=revision, endpoint=endpoint)
    return get_hf_file_metadata(url, timeout=HUB_HEAD_TIMEOUT_S, endpoint=endpoint).size


def _capped_bar(what: str, size: int | None, limit: int):
    """huggingface_hub's progress-bar class, made to stop a body that grows past ``limit`` bytes."""
    from huggingface_hub.utils import tqdm

    class CappedBar(tqdm):
        taken = 0

        def update(self, n=1):
            self.taken += n or 0
            if self.taken > limit:
                raise size_refused(f"{what} from the Hub", f"more than {limit} bytes sent", size, limit)
            return super().update(n)

    return CappedBar


def http_reason(exc) -> str:
    """``HTTP <status> <text>`` in one line for a huggingface_hub ``HfHubHTTPError``."""
    status = getattr(getattr(exc, "response", None), "status_code", None)
    text = one_line(str(exc).split("\n")[0])
    return f"HTTP {text}" if status is not None and text.startswith(str(status)) else f"HTTP {status}: {text}"


def _hub_error(exc: Exception, repo_id: str, filename: str, revision: str) -> ZooError | None:
    """The one-line gan-zoo error for what ``hf_hub_download`` (or the HEAD before it) raised."""
    from huggingface_hub import constants
    from huggingface_hub.errors import (
        FileMetadataError,
        HfHubHTTPError,
        HFValidationError,
        LocalEntryNotFoundError,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    httpx = httpx_module()
    what = f"{repo_id}/{filename}"
    cause = exc.__cause__ if isinstance(exc, LocalEntryNotFoundError) and exc.__cause__ is not None else exc
    reason = one_line(str(cause).split("\n")[0]) or type(cause).__name__
    where = hub_endpoint() or constants.ENDPOINT
    if isinstance(exc, ZooError):
        return exc
    if isinstance(exc, RepositoryNotFoundError):
        return DownloadError(f"Hub repo {repo_id} not found (or private)")
    if isinstance(exc, RevisionNotFoundError):
        return DownloadError(f"Hub repo {repo_id} has no revision {revision}")
    if isinstance(exc, RemoteEntryNotFoundError):  # before LocalEntryNotFoundError: both are EntryNotFoundError
        return RemoteFileMissing(f"Hub repo {repo_id}@{revision[:12]} has no file {filename}")
    if isinstance(cause, FileMetadataError):
        return DownloadError(f"{where} does not answer like a Hub for {what} ({reason})")
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, LocalEntryNotFoundError)):
        return HubUnreachable(f"cannot reach the Hub at {where} for {what} ({reason})")
    if isinstance(exc, httpx.TimeoutException):
        return DownloadError(f"the Hub at {where} timed out on {what} ({reason})")
    if isinstance(exc, HfHubHTTPError):
        return DownloadError(f"Hub download of {what} failed ({http_reason(exc)})")
    if isinstance(exc, httpx.HTTPError):
        return DownloadError(f"Hub download of {what} was interrupted ({reason})")
    if isinstance(exc, (OSError, HFValidationError)):
        return DownloadError(f"Hub download of {what} failed ({reason})")
    return None


def verify_hub_blob(path: Path, *, what: str) -> None:
    """Check a file in the Hub cache against the name of its blob, which is its ETag.

    huggingface_hub stores each file as ``blobs/<etag>`` but does not check the bytes. The Hub's
    ETag of an LFS file is its sha256, and of a regular file its git blob sha1, so both can be
    checked here. A mismatch removes the blob and its snapshot link, so a retry downloads again.
    """
    blob = path.resolve()
    name = blob.name
    if re.fullmatch(r"[0-9a-f]{64}", name):
        actual = sha256_file(blob)
    elif re.fullmatch(r"[0-9a-f]{40}", name):
        digest = hashlib.sha1(b"blob %d\0" % blob.stat().st_size)
        with open(blob, "rb") as f:
            for block in iter(lambda: f.read(CHUNK), b""):
                digest.update(block)
        actual = digest.hexdigest()
    else:
        return  # an ETag that is not a content hash: nothing to check against
    if actual != name:
        blob.unlink(missing_ok=True)
        path.unlink(missing_ok=True)
        raise IntegrityError(f"{what} from the Hub is corrupt (content hash {actual[:16]}..., expected {name[:16]}...); it was removed")
