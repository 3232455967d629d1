"""Network access: offline detection, verified URL downloads, and Hub downloads.

Every download streams into ``<dest>.part``, hashing as it goes; only a complete file whose
size and sha256 match what the registry expects is renamed into place. Anything else is
deleted and reported.
"""

from __future__ import annotations

import hashlib
import os
import re
import urllib.error
import urllib.request
from pathlib import Path

from .errors import DownloadError, IntegrityError, OfflineError

CHUNK = 1 << 20
TIMEOUT_S = 30.0
TRUE_VALUES = ("1", "true", "yes", "on")


def is_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` or ``ZOO_OFFLINE`` is set: no network access is attempted."""
    return any(os.environ.get(v, "").strip().lower() in TRUE_VALUES for v in ("HF_HUB_OFFLINE", "ZOO_OFFLINE"))


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


def download_url(
    url: str,
    dest: Path,
    *,
    sha256: str | None = None,
    size: int | None = None,
    sha256_prefix: str | None = None,
    progress: bool = True,
) -> Path:
    """Download ``url`` to ``dest`` (verified). Raises OfflineError, DownloadError or IntegrityError."""
    if is_offline():
        raise OfflineError(f"offline (HF_HUB_OFFLINE/ZOO_OFFLINE set); cannot fetch {url}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    digest = hashlib.sha256()
    received = 0
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "gan-zoo"})
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response, open(part, "wb") as out:
            length = response.headers.get("Content-Length")
            expected = int(length) if length is not None and length.isdigit() else size
            bar = _progress_bar(expected, dest.name) if progress else None
            while block := response.read(CHUNK):
                out.write(block)
                digest.update(block)
                received += len(block)
                if bar is not None:
                    bar.update(len(block))
            if bar is not None:
                bar.close()
        if length is not None and length.isdigit() and received != int(length):
            raise DownloadError(f"download of {url} was cut short ({received} of {length} bytes)")
    except urllib.error.HTTPError as exc:
        part.unlink(missing_ok=True)
        raise DownloadError(f"{url} answered HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        part.unlink(missing_ok=True)
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"cannot reach {url} ({reason})") from None
    except DownloadError:
        part.unlink(missing_ok=True)
        raise
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


def _progress_bar(total: int | None, name: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=name, leave=False)


def hub_endpoint() -> str | None:
    """``$HF_ENDPOINT`` read now (huggingface_hub reads it only once, at import)."""
    return os.environ.get("HF_ENDPOINT") or None


def hub_download(repo_id: str, filename: str, revision: str, cache_dir: Path) -> Path:
    """``hf_hub_download`` of one file at a pinned revision, with gan-zoo's errors."""
    if is_offline():
        raise OfflineError(f"offline (HF_HUB_OFFLINE/ZOO_OFFLINE set); cannot fetch {repo_id}/{filename}")
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        path = Path(
            hf_hub_download(
                repo_id,
                filename,
                revision=revision,
                cache_dir=str(cache_dir),
                endpoint=hub_endpoint(),
            )
        )
    except RepositoryNotFoundError:
        raise DownloadError(f"Hub repo {repo_id} not found (or private)") from None
    except RevisionNotFoundError:
        raise DownloadError(f"Hub repo {repo_id} has no revision {revision}") from None
    except EntryNotFoundError:
        raise RemoteFileMissing(f"Hub repo {repo_id}@{revision[:12]} has no file {filename}") from None
    except LocalEntryNotFoundError:
        raise DownloadError(f"cannot reach the Hub for {repo_id}/{filename} and it is not cached") from None
    except (HfHubHTTPError, OSError) as exc:
        raise DownloadError(f"Hub download of {repo_id}/{filename} failed ({str(exc).splitlines()[0]})") from None
    verify_hub_blob(path, what=f"{repo_id}/{filename}")
    return path


class RemoteFileMissing(DownloadError):
    """The Hub repo exists at that revision but has no such file."""


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
