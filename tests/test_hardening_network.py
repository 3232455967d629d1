"""Hostile-network findings: every download failure is one ZooError line, fast, with no partial file.

All against the real local servers (``FileServer``, ``LocalHub``) and the real clients
(urllib, huggingface_hub); nothing is mocked.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from pathlib import Path

import pytest

import zoo
from conftest import CLOSED_ENDPOINT, PARITY
from zoo import cli, download, importing
from zoo.download import DownloadError, HubUnreachable, RemoteFileMissing
from zoo.errors import IntegrityError, OfflineError, ZooError
from zoo.registry import HubSource, ModelInfo
from zoo.tasks.options import UpscaleOptions

CKPT = (PARITY / "esrgan" / "realesrgan_rrdbnet_x4_f16_b2_g8" / "checkpoint.pth").read_bytes()
SHA = hashlib.sha256(CKPT).hexdigest()
BIG = 64 << 20  # a hostile body: far more than any limit set below
MIB = 1 << 20


def entry(name: str, *sources) -> ModelInfo:
    return ModelInfo(
        name=name, family="esrgan", task="upscale", title=name, description="test entry", licence="BSD-3-Clause",
        sources=tuple(sources), card="realesrgan-x4plus.md", arch="rrdbnet", options=UpscaleOptions(scale=4),
    )


def leftovers(root: Path) -> list[Path]:
    """Partial files a failed download might leave (urllib ``.part``, huggingface_hub ``.incomplete``)."""
    return [p for p in root.rglob("*") if p.name.endswith((".part", ".incomplete"))]


def one_line(exc: BaseException) -> str:
    message = str(exc)
    assert isinstance(exc, ZooError) and message and "\n" not in message, repr(message)
    return message


def hub_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("huggingface_hub") and r.levelno >= logging.WARNING]


# --------------------------------------------------------------------------------- URL downloads


@pytest.mark.parametrize("nbytes, every, length", [(1, 0.2, 30), (1, 10.0, 3)], ids=["trickle", "one-byte-per-10s"])
def test_url_download_has_an_overall_deadline(online, fresh_cache, file_server, monkeypatch, nbytes, every, length):
    """Finding 1: bytes arriving slowly kept the download alive forever; now the deadline ends it."""
    monkeypatch.setenv("ZOO_DOWNLOAD_DEADLINE", "1")
    file_server.add("slow.pth", b"x" * length)
    file_server.trickle("slow.pth", nbytes=nbytes, every=every)
    dest = fresh_cache / "downloads" / "slow.pth"
    start = time.monotonic()
    with pytest.raises(DownloadError) as err:
        download.download_url(file_server.url_for("slow.pth"), dest, progress=False)
    assert time.monotonic() - start < 4
    assert "did not finish within 1 s" in one_line(err.value) and "ZOO_DOWNLOAD_DEADLINE" in str(err.value)
    assert not dest.exists() and not leftovers(fresh_cache)


def test_limits_from_the_environment_are_checked(online, fresh_cache, file_server, monkeypatch):
    monkeypatch.setenv("ZOO_DOWNLOAD_DEADLINE", "soon")
    with pytest.raises(ZooError, match="ZOO_DOWNLOAD_DEADLINE must be a positive number, not 'soon'"):
        download.download_url(file_server.url_for("x.pth"), fresh_cache / "x.pth", progress=False)
    monkeypatch.setenv("ZOO_DOWNLOAD_DEADLINE", "1")
    monkeypatch.setenv("ZOO_MAX_DOWNLOAD_BYTES", "-5")
    with pytest.raises(ZooError, match="ZOO_MAX_DOWNLOAD_BYTES must be a positive number"):
        download.download_url(file_server.url_for("x.pth"), fresh_cache / "x.pth", progress=False)


@pytest.mark.parametrize("framing", ["length", "close", "chunked"])
@pytest.mark.parametrize("known_size", [True, False], ids=["registry-size", "per-source-cap"])
def test_oversized_url_body_is_stopped_at_the_limit(online, fresh_cache, file_server, monkeypatch, framing, known_size):
    """Finding 2: a body larger than expected was written in full before the size was checked."""
    monkeypatch.setenv("ZOO_MAX_DOWNLOAD_BYTES", str(MIB))
    file_server.add("big.pth", CKPT)
    file_server.inflate("big.pth", BIG, framing)
    dest = fresh_cache / "downloads" / "big.pth"
    size = len(CKPT) if known_size else None
    with pytest.raises(IntegrityError if known_size else DownloadError) as err:
        download.download_url(file_server.url_for("big.pth"), dest, sha256=SHA, size=size, progress=False)
    message = one_line(err.value)
    limit = len(CKPT) if known_size else MIB
    if framing == "length":  # refused from the Content-Length, before reading the body
        assert f"{BIG} bytes announced" in message
    else:
        assert f"more than {limit} bytes sent" in message
    assert ("not the expected file" if known_size else "ZOO_MAX_DOWNLOAD_BYTES") in message
    [(path, sent)] = file_server.wait_sent()
    assert path == "/big.pth" and sent < BIG // 2, f"the client read {sent} of {BIG} bytes"
    assert not dest.exists() and not leftovers(fresh_cache)


def test_registry_size_also_bounds_a_zoo_load(online, fresh_cache, file_server, temp_entries):
    from zoo.registry import UrlSource

    file_server.add("big.pth", CKPT)
    file_server.inflate("big.pth", BIG, "close")
    temp_entries(entry("tiny-big", UrlSource(file_server.url_for("big.pth"), sha256=SHA, size=len(CKPT))))
    with pytest.raises(IntegrityError, match=f"more than {len(CKPT)} bytes sent"):
        zoo.load("tiny-big")
    assert file_server.wait_sent()[0][1] < BIG // 2
    assert not leftovers(fresh_cache) and not (fresh_cache / "models" / "tiny-big").exists()


def _redirect_loop(fs):
    fs.redirect("loop.pth", "back.pth")
    fs.redirect("back.pth", "loop.pth")
    return "loop.pth", r"too many redirects fetching .*/loop\.pth \(redirect loop at .*\.pth\)"


def _redirect_chain(fs):
    for i in range(12):
        fs.redirect(f"hop{i}.pth", f"hop{i + 1}.pth")
    return "hop0.pth", "too many redirects"


def _redirect_to_file_scheme(fs):
    fs.redirect("evil.pth", "file:///etc/passwd")
    return "evil.pth", "answered HTTP 302 .*Redirection to url 'file:///etc/passwd' is not allowed"


def _status(fs):
    fs.fail("err.pth", 503)
    return "err.pth", "answered HTTP 503"


def _truncated(fs):
    fs.add("cut.pth", CKPT)
    fs.truncate("cut.pth", keep=1000)
    return "cut.pth", "was cut short"


@pytest.mark.parametrize(
    "arrange", [_redirect_loop, _redirect_chain, _redirect_to_file_scheme, _status, _truncated],
    ids=lambda f: f.__name__.strip("_"),
)
def test_every_url_download_error_is_one_line(online, fresh_cache, file_server, arrange):
    """Finding 3: a redirect loop gave urllib's several-line text; every error is now one line."""
    path, expected = arrange(file_server)
    dest = fresh_cache / "downloads" / "f.pth"
    with pytest.raises(DownloadError) as err:
        download.download_url(file_server.url_for(path), dest, sha256=SHA, progress=False)
    assert re.search(expected, one_line(err.value)), str(err.value)
    assert not dest.exists() and not leftovers(fresh_cache)


def test_unreachable_url_is_one_line(online, fresh_cache, file_server):
    with file_server.unreachable(), pytest.raises(DownloadError, match="cannot reach") as err:
        download.download_url(file_server.url_for("x.pth"), fresh_cache / "x.pth", progress=False)
    one_line(err.value)


# --------------------------------------------------------------------------------- Hub downloads


def test_dropped_hub_connection_is_one_stderr_line(online, fresh_cache, local_hub, temp_entries, capfd, caplog):
    """Finding 4: a connection drop printed hundreds of lines of retries and tracebacks."""
    sha = local_hub.add_repo("someone/drops", {"tiny.pth": CKPT})
    local_hub.corrupt("someone/drops", "tiny.pth", mode="drop")
    temp_entries(entry("tiny-drops", HubSource("someone/drops", revision=sha, filename="tiny.pth", sha256=SHA)))
    assert cli.main(["download", "tiny-drops"]) == 1
    err = capfd.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: cannot download tiny-drops: "), err
    assert "Hub download of someone/drops/tiny.pth was interrupted" in err
    assert not hub_warnings(caplog), "huggingface_hub's retry warnings must stay quiet"
    assert not leftovers(fresh_cache) and not (fresh_cache / "models" / "tiny-drops").exists()


def test_oversized_hub_file_is_refused_before_download(online, fresh_cache, local_hub, monkeypatch):
    """Finding 4: the Hub's announced size is checked against the registry size, or the cap, first."""
    sha = local_hub.add_repo("someone/big", {"tiny.pth": CKPT})
    with pytest.raises(IntegrityError, match=rf"someone/big/tiny.pth on the Hub is not the expected file \({len(CKPT)} bytes, expected 1000"):
        download.hub_download("someone/big", "tiny.pth", sha, fresh_cache / "hub", size=1000)
    monkeypatch.setenv("ZOO_MAX_DOWNLOAD_BYTES", "1000")
    with pytest.raises(DownloadError, match="too large .* unknown size is 1000 bytes, set by ZOO_MAX_DOWNLOAD_BYTES") as err:
        download.hub_download("someone/big", "tiny.pth", sha, fresh_cache / "hub")
    one_line(err.value)
    assert local_hub.requests("HEAD", contains="/resolve/") and not local_hub.requests("GET", contains="/resolve/")
    monkeypatch.setenv("ZOO_MAX_DOWNLOAD_BYTES", str(len(CKPT)))  # exactly the size: allowed
    path = download.hub_download("someone/big", "tiny.pth", sha, fresh_cache / "hub", size=len(CKPT))
    assert path.read_bytes() == CKPT


def test_hub_body_larger_than_announced_is_stopped(online, fresh_cache, local_hub, monkeypatch):
    sha = local_hub.add_repo("someone/grows", {"tiny.pth": CKPT})
    local_hub.corrupt("someone/grows", "tiny.pth", mode="grow", extra=BIG)
    monkeypatch.setenv("ZOO_MAX_DOWNLOAD_BYTES", str(MIB))
    with pytest.raises(DownloadError, match=f"someone/grows/tiny.pth from the Hub is too large \\(more than {MIB} bytes sent") as err:
        download.hub_download("someone/grows", "tiny.pth", sha, fresh_cache / "hub")
    one_line(err.value)
    [(_, sent)] = local_hub.wait_sent()
    assert sent < BIG // 2, f"the client read {sent} of {BIG + len(CKPT)} bytes"
    assert not leftovers(fresh_cache) and not list((fresh_cache / "hub").rglob("blobs/*"))


def test_hub_download_has_an_overall_deadline(online, fresh_cache, local_hub, monkeypatch):
    """Finding 1 for the Hub: one byte every 0.2 s never trips huggingface_hub's 10 s read timeout."""
    data = b"x" * 40  # 8 s at this pace: far past the deadline, yet short if the deadline is ever lost
    sha = local_hub.add_repo("someone/slow", {"tiny.pth": data})
    local_hub.corrupt("someone/slow", "tiny.pth", mode="trickle", every=0.2)
    monkeypatch.setenv("ZOO_DOWNLOAD_DEADLINE", "1.5")
    start = time.monotonic()
    with pytest.raises(DownloadError, match="someone/slow/tiny.pth from the Hub did not finish within 1.5 s") as err:
        download.hub_download("someone/slow", "tiny.pth", sha, fresh_cache / "hub")
    one_line(err.value)
    assert time.monotonic() - start < 6
    assert not leftovers(fresh_cache) and not list((fresh_cache / "hub").rglob("blobs/*"))
    local_hub.clear_faults()
    assert download.hub_download("someone/slow", "tiny.pth", sha, fresh_cache / "hub").read_bytes() == data


def test_hub_errors_are_typed_one_line_and_fast(online, fresh_cache, local_hub):
    """Finding 6: only a real 404 of the file is RemoteFileMissing; nothing retries for long."""
    sha = local_hub.add_repo("someone/repo", {"config.json": b"{}"})
    cache = fresh_cache / "hub"
    cases = [
        (("someone/repo", "nope.json", sha), RemoteFileMissing, "has no file nope.json"),
        (("someone/none", "config.json", "main"), DownloadError, "not found"),
        (("someone/repo", "config.json", "no-branch"), DownloadError, "has no revision no-branch"),
    ]
    local_hub.fail("someone/repo", "model.safetensors", status=500)
    cases.append((("someone/repo", "model.safetensors", sha), DownloadError, "failed \\(HTTP 500"))
    for args, kind, pattern in cases:
        start = time.monotonic()
        with pytest.raises(kind, match=pattern) as err:
            download.hub_download(*args, cache)
        assert time.monotonic() - start < 3, args
        assert kind is RemoteFileMissing or not isinstance(err.value, RemoteFileMissing)
        one_line(err.value)
    with local_hub.unreachable(), pytest.raises(HubUnreachable, match="cannot reach the Hub at http://127.0.0.1:") as err:
        download.hub_download("someone/repo", "config.json", sha, cache)
    assert not isinstance(err.value, RemoteFileMissing)


def test_cached_hub_file_survives_an_unreachable_hub(online, fresh_cache, local_hub):
    """The size check (a HEAD) does not break huggingface_hub's fallback to its cache."""
    sha = local_hub.add_repo("someone/cached", {"config.json": b'{"a": 1}'})
    cache = fresh_cache / "hub"
    first = download.hub_download("someone/cached", "config.json", "main", cache)
    local_hub.clear_log()
    with local_hub.unreachable():
        assert download.hub_download("someone/cached", "config.json", "main", cache) == first
        assert download.hub_download("someone/cached", "config.json", sha, cache) == first
    assert local_hub.request_log == []


def test_hf_reference_without_network_fails_fast_and_blames_the_network(online, fresh_cache, monkeypatch, caplog):
    """Finding 6: ``zoo.load("hf:...")`` retried for ~70 s, then said the repo lacked config.json."""
    monkeypatch.setenv("HF_ENDPOINT", CLOSED_ENDPOINT)
    start = time.monotonic()
    with pytest.raises(OfflineError) as err:
        zoo.load("hf:someone/unreachable")
    assert time.monotonic() - start < 5
    message = one_line(err.value)
    assert f"cannot reach the Hub at {CLOSED_ENDPOINT}" in message and "config.json nor" not in message
    assert message.endswith("try again with network access") and "zoo download" not in message  # not a registry name
    assert not hub_warnings(caplog)


# --------------------------------------------------------------------------------- push


def test_push_without_network_is_one_line(online, fresh_cache, tmp_path, monkeypatch, capfd, caplog):
    """Finding 5: ``zoo push`` with the Hub unreachable printed a 72-line httpx traceback."""
    monkeypatch.setenv("HF_ENDPOINT", CLOSED_ENDPOINT)
    folder = tmp_path / "converted"
    importing.import_file(PARITY / "esrgan" / "realesrgan_rrdbnet_x4_f16_b2_g8" / "checkpoint.pth", out=folder)
    capfd.readouterr()
    start = time.monotonic()
    assert cli.main(["push", str(folder), "--repo", "me/tiny", "--token", "test-token"]) == 1
    assert time.monotonic() - start < 5
    out, err = capfd.readouterr()
    assert err == f"error: cannot reach the Hub at {CLOSED_ENDPOINT} to push me/tiny ([Errno 111] Connection refused)\n", err
    assert not hub_warnings(caplog)


def test_push_http_error_is_one_line(online, fresh_cache, local_hub, tmp_path, capfd):
    folder = tmp_path / "converted"
    importing.import_file(PARITY / "esrgan" / "realesrgan_rrdbnet_x4_f16_b2_g8" / "checkpoint.pth", out=folder)
    local_hub.add_repo("me/locked", {"a.txt": b"a"})
    local_hub.fail("me/locked", status=403)
    capfd.readouterr()
    assert cli.main(["push", str(folder), "--repo", "me/locked", "--token", "test-token"]) == 1
    err = capfd.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: push to me/locked failed (HTTP 403") and "check the token" in err, err
