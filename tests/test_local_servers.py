"""The local Hub / file servers used by the test-suite, exercised with the REAL clients.

``huggingface_hub`` talks HTTP to ``LocalHub`` (``endpoint=hub.url``); nothing is mocked.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import urllib.error
import urllib.request
from pathlib import Path

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")  # read at import time by huggingface_hub

import huggingface_hub
import pytest
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, hf_hub_download, snapshot_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

try:
    from support.file_server import FileServer
    from support.hub_server import LocalHub
except ImportError:  # when tests/ is itself a package
    from tests.support.file_server import FileServer
    from tests.support.hub_server import LocalHub

SHA_RE = re.compile(r"^[0-9a-f]{40}$")
REPO = "zoo-test/tiny-gan"
TOKEN = "test-token"


@pytest.fixture(autouse=True)
def _online_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """huggingface_hub freezes these env vars into constants at import: force the values these tests need."""
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    # Telemetry off also stops the client from fetching {huggingface.co}/api/agent-harnesses for its user agent.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_TELEMETRY", True)


@pytest.fixture
def hub() -> LocalHub:
    with LocalHub() as server:
        yield server


@pytest.fixture
def cache(tmp_path: Path) -> str:
    return str(tmp_path / "hf-cache")


def _download(hub: LocalHub, cache: str, filename: str, revision: str = "main") -> bytes:
    path = hf_hub_download(REPO, filename, revision=revision, endpoint=hub.url, cache_dir=cache, token=TOKEN)
    return Path(path).read_bytes()


# --------------------------------------------------------------------------- LocalHub: downloads


def test_hf_hub_download_by_branch_and_by_commit_sha(hub: LocalHub, cache: str) -> None:
    sha1 = hub.add_repo(REPO, {"config.json": b'{"v": 1}', "model.safetensors": b"\x01" * 64})
    sha2 = hub.commit_files(REPO, {"config.json": b'{"v": 2}'})
    assert SHA_RE.match(sha1) and SHA_RE.match(sha2) and sha1 != sha2
    assert hub.head(REPO) == sha2 and hub.history(REPO) == [sha2, sha1]

    assert _download(hub, cache, "config.json") == b'{"v": 2}'
    assert _download(hub, cache, "config.json", revision=sha1) == b'{"v": 1}'
    assert _download(hub, cache, "config.json", revision=sha2) == b'{"v": 2}'
    assert _download(hub, cache, "model.safetensors", revision=sha1) == b"\x01" * 64

    # The cache layout follows the commit the server reported in X-Repo-Commit.
    assert (Path(cache) / "models--zoo-test--tiny-gan" / "refs" / "main").read_text() == sha2
    # The token reached the server, and every request went to our server.
    assert all(h.get("authorization") == f"Bearer {TOKEN}" for h in hub.headers_log)
    assert ("GET", f"/{REPO}/resolve/{sha1}/config.json") in hub.request_log


def test_lfs_style_file_is_cached_under_its_sha256(hub: LocalHub, cache: str) -> None:
    weights = os.urandom(4096)
    sha = hub.add_repo(REPO, {"model.safetensors": weights, "config.json": b"{}"})
    path = hf_hub_download(REPO, "model.safetensors", revision=sha, endpoint=hub.url, cache_dir=cache)
    assert Path(path).read_bytes() == weights
    # X-Linked-Etag (sha256) wins over ETag: the blob is named after the content's sha256 ...
    assert Path(os.path.realpath(path)).name == hashlib.sha256(weights).hexdigest()
    # ... while a regular file's blob is named after its git blob sha1 (the ETag).
    cfg = hf_hub_download(REPO, "config.json", revision=sha, endpoint=hub.url, cache_dir=cache)
    assert Path(os.path.realpath(cfg)).name == hashlib.sha1(b"blob 2\0{}").hexdigest()


def test_second_download_at_pinned_sha_is_served_from_cache(hub: LocalHub, cache: str) -> None:
    sha = hub.add_repo(REPO, {"model.safetensors": b"weights" * 100})
    first = hf_hub_download(REPO, "model.safetensors", revision=sha, endpoint=hub.url, cache_dir=cache)
    assert hub.requests("GET", contains="/resolve/") == [f"/{REPO}/resolve/{sha}/model.safetensors"]

    hub.clear_log()
    second = hf_hub_download(REPO, "model.safetensors", revision=sha, endpoint=hub.url, cache_dir=cache)
    assert second == first
    assert hub.request_log == []  # pinned sha + cached file: not even a HEAD

    # Even with the server unreachable the pinned file (and the cached branch ref) still resolve.
    hf_hub_download(REPO, "model.safetensors", revision="main", endpoint=hub.url, cache_dir=cache)
    hub.clear_log()
    with hub.unreachable():
        assert hf_hub_download(REPO, "model.safetensors", revision=sha, endpoint=hub.url, cache_dir=cache) == first
        assert hf_hub_download(REPO, "model.safetensors", endpoint=hub.url, cache_dir=cache) == first
    assert hub.request_log == []


def test_snapshot_download_gets_all_files(hub: LocalHub, cache: str) -> None:
    files = {
        "config.json": b'{"arch": "stylegan2"}',
        "model.safetensors": os.urandom(2048),
        "README.md": b"# tiny\n",
        "extra/sub/notes.txt": b"nested",
    }
    sha = hub.add_repo(REPO, files)
    folder = snapshot_download(REPO, endpoint=hub.url, cache_dir=cache, token=TOKEN)

    assert Path(folder).name == sha
    got = {p.relative_to(folder).as_posix(): p.read_bytes() for p in Path(folder).rglob("*") if p.is_file()}
    assert got == files
    assert ("GET", f"/api/models/{REPO}/revision/main") in hub.request_log
    assert ("GET", f"/api/models/{REPO}/tree/{sha}") in hub.request_log

    # Pinned to the sha and fully cached: no request at all the second time.
    hub.clear_log()
    assert snapshot_download(REPO, revision=sha, endpoint=hub.url, cache_dir=cache) == folder
    assert hub.request_log == []


def test_api_listing_matches_repo_content(hub: LocalHub) -> None:
    sha = hub.add_repo(REPO, {"a.json": b"{}", "w/model.safetensors": b"12345"})
    hub.tag(REPO, "v1.0")
    api = HfApi(endpoint=hub.url, token=TOKEN)

    info = api.model_info(REPO, files_metadata=True)
    assert info.sha == sha
    assert sorted(s.rfilename for s in info.siblings) == ["a.json", "w/model.safetensors"]
    lfs = {s.rfilename: s.lfs for s in info.siblings}
    assert lfs["a.json"] is None and lfs["w/model.safetensors"].sha256 == hashlib.sha256(b"12345").hexdigest()

    tree = {e.path: e for e in api.list_repo_tree(REPO, recursive=True, revision=sha)}
    assert set(tree) == {"a.json", "w", "w/model.safetensors"}
    assert tree["w/model.safetensors"].size == 5
    assert sorted(api.list_repo_files(REPO, revision="v1.0")) == ["a.json", "w/model.safetensors"]
    refs = api.list_repo_refs(REPO)
    assert [(b.name, b.target_commit) for b in refs.branches] == [("main", sha)]
    assert [(t.name, t.target_commit) for t in refs.tags] == [("v1.0", sha)]
    assert api.file_exists(REPO, "a.json") and not api.file_exists(REPO, "missing.json")
    assert api.repo_exists(REPO) and not api.repo_exists("zoo-test/nope")


# --------------------------------------------------------------------------- LocalHub: uploads


def test_create_repo_and_upload_folder_round_trip(hub: LocalHub, cache: str, tmp_path: Path) -> None:
    api = HfApi(endpoint=hub.url, token=TOKEN)
    url = api.create_repo(REPO, exist_ok=True)
    assert url.repo_id == REPO and url.startswith(hub.url)
    assert api.create_repo(REPO, exist_ok=True).repo_id == REPO  # 409 accepted with exist_ok
    with pytest.raises(HfHubHTTPError) as conflict:
        api.create_repo(REPO)
    assert conflict.value.response.status_code == 409
    initial = hub.head(REPO)

    folder = tmp_path / "export"
    folder.mkdir()
    files = {
        "model.safetensors": os.urandom(10_000),
        "config.json": json.dumps({"arch": "tiny", "res": 64}).encode(),
        "README.md": b"---\nlicense: apache-2.0\nlibrary_name: gan-zoo\n---\n# tiny GAN\n",
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)

    commit = api.upload_folder(repo_id=REPO, folder_path=folder, commit_message="Add tiny GAN")
    assert SHA_RE.match(commit.oid) and commit.oid != initial
    assert commit.oid == hub.head(REPO) and hub.history(REPO) == [commit.oid, initial]
    assert commit.commit_url == f"{hub.url}/{REPO}/commit/{commit.oid}"
    assert hub.files_at(REPO, commit.oid) == {**files, ".gitattributes": hub.files_at(REPO, initial)[".gitattributes"]}
    # Everything went through the "regular" (base64-in-commit) path: no LFS batch, no Xet.
    assert hub.requests("POST", contains="/preupload/") == [f"/api/models/{REPO}/preupload/main"]
    assert hub.requests("POST", contains="/commit/") == [f"/api/models/{REPO}/commit/main"]
    assert not [p for _, p in hub.request_log if "xet" in p or "lfs" in p or "info/lfs" in p]

    for name, data in files.items():
        assert _download(hub, cache, name, revision=commit.oid) == data

    # Re-uploading identical files is a no-op (preupload returns the remote oid) ...
    again = api.upload_folder(repo_id=REPO, folder_path=folder)
    assert again.oid == commit.oid and hub.history(REPO) == [commit.oid, initial]
    # ... a changed file makes a new commit, and the old one stays downloadable by sha.
    (folder / "config.json").write_bytes(b'{"arch": "tiny", "res": 128}')
    newer = api.upload_folder(repo_id=REPO, folder_path=folder)
    assert newer.oid not in (commit.oid, initial)
    assert _download(hub, cache, "config.json", revision=newer.oid) == b'{"arch": "tiny", "res": 128}'
    assert _download(hub, cache, "config.json", revision=commit.oid) == files["config.json"]


def test_create_commit_adds_and_deletes(hub: LocalHub) -> None:
    hub.add_repo(REPO, {"old.bin": b"old", "keep.txt": b"keep", "dir/a.txt": b"a", "dir/b.txt": b"b"})
    api = HfApi(endpoint=hub.url, token=TOKEN)
    info = api.create_commit(
        repo_id=REPO,
        operations=[
            CommitOperationAdd("new.json", b'{"n": 1}'),
            CommitOperationDelete("old.bin"),
            CommitOperationDelete("dir/", is_folder=True),
        ],
        commit_message="swap files",
    )
    assert info.oid == hub.head(REPO)
    assert hub.files_at(REPO) == {"keep.txt": b"keep", "new.json": b'{"n": 1}'}
    with pytest.raises(EntryNotFoundError):
        api.delete_file("does-not-exist.txt", repo_id=REPO)


# --------------------------------------------------------------------------- LocalHub: errors & faults


def test_missing_repo_file_and_revision_raise_hub_errors(hub: LocalHub, cache: str) -> None:
    sha = hub.add_repo(REPO, {"config.json": b"{}"})
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("zoo-test/nope", "config.json", endpoint=hub.url, cache_dir=cache)
    with pytest.raises(EntryNotFoundError) as missing:
        hf_hub_download(REPO, "nope.json", endpoint=hub.url, cache_dir=cache)
    assert isinstance(missing.value, HfHubHTTPError) and missing.value.response.status_code == 404
    # The miss is cached under the commit reported by X-Repo-Commit.
    assert (Path(cache) / "models--zoo-test--tiny-gan" / ".no_exist" / sha / "nope.json").exists()
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(REPO, "config.json", revision="no-such-branch", endpoint=hub.url, cache_dir=cache)
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(REPO, "config.json", revision="0" * 40, endpoint=hub.url, cache_dir=cache)
    with pytest.raises(RevisionNotFoundError):
        snapshot_download(REPO, revision="no-such-branch", endpoint=hub.url, cache_dir=cache)
    with pytest.raises(RepositoryNotFoundError):
        HfApi(endpoint=hub.url).model_info("zoo-test/nope")


def test_corrupted_bytes_keep_length_and_pass_the_client_unnoticed(hub: LocalHub, cache: str) -> None:
    weights = os.urandom(1000)
    sha = hub.add_repo(REPO, {"model.safetensors": weights})
    hub.corrupt(REPO, "model.safetensors", mode="flip")
    got = Path(hf_hub_download(REPO, "model.safetensors", revision=sha, endpoint=hub.url, cache_dir=cache)).read_bytes()
    # huggingface_hub only checks the size: integrity must be verified by the caller (sha256 from the tree).
    assert len(got) == len(weights) and got != weights
    expected = {e.path: e for e in HfApi(endpoint=hub.url).list_repo_tree(REPO, revision=sha)}["model.safetensors"]
    assert expected.lfs.sha256 == hashlib.sha256(weights).hexdigest() != hashlib.sha256(got).hexdigest()
    assert hub.files_at(REPO, sha)["model.safetensors"] == weights  # the stored file is untouched


def test_short_body_fails_the_client_consistency_check(hub: LocalHub, cache: str) -> None:
    sha = hub.add_repo(REPO, {"model.safetensors": b"w" * 1000})
    hub.corrupt(REPO, "model.safetensors", mode="short", times=1)
    with pytest.raises(OSError, match="Consistency check failed"):
        hf_hub_download(REPO, "model.safetensors", revision=sha, endpoint=hub.url, cache_dir=cache)
    # The fault was used up: the next attempt succeeds.
    assert _download(hub, cache, "model.safetensors", revision=sha) == b"w" * 1000


def test_dropped_connection_is_retried_and_range_is_supported(hub: LocalHub, cache: str) -> None:
    data = os.urandom(3000)
    sha = hub.add_repo(REPO, {"model.safetensors": data})
    hub.corrupt(REPO, "model.safetensors", mode="drop", times=1)
    assert _download(hub, cache, "model.safetensors", revision=sha) == data  # client sleeps 1 s, then retries
    assert len(hub.requests("GET", contains="/resolve/")) == 2

    # /resolve honours Range like the Hub (what a resuming client sends).
    url = f"{hub.url}/{REPO}/resolve/{sha}/model.safetensors"
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Range": "bytes=1000-"}), timeout=5) as resp:
        assert resp.status == 206 and resp.read() == data[1000:]
        assert resp.headers["Content-Range"] == "bytes 1000-2999/3000"
        assert resp.headers["X-Repo-Commit"] == sha


def test_fail_returns_the_requested_status(hub: LocalHub, cache: str) -> None:
    hub.add_repo(REPO, {"config.json": b"{}"})
    hub.fail(REPO, status=403, times=1)
    with pytest.raises(HfHubHTTPError) as err:
        HfApi(endpoint=hub.url).model_info(REPO)
    assert err.value.response.status_code == 403
    assert HfApi(endpoint=hub.url).model_info(REPO).sha == hub.head(REPO)


# --------------------------------------------------------------------------- FileServer


def test_file_server_serves_registered_bytes_with_ranges() -> None:
    payload = os.urandom(5000)
    with FileServer({"releases/model.pth": payload}) as fs:
        url = fs.url_for("releases/model.pth")
        assert url == f"{fs.url}/releases/model.pth"
        with urllib.request.urlopen(url, timeout=5) as resp:
            assert resp.status == 200
            assert int(resp.headers["Content-Length"]) == len(payload)
            assert resp.headers["ETag"] == f'"{hashlib.sha256(payload).hexdigest()}"'
            assert resp.read() == payload
        req = urllib.request.Request(url, headers={"Range": "bytes=4000-"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert resp.status == 206 and resp.read() == payload[4000:]
            assert resp.headers["Content-Range"] == "bytes 4000-4999/5000"
        assert fs.request_log == [("GET", "/releases/model.pth")] * 2


def test_file_server_truncated_download_is_short() -> None:
    payload = b"x" * 10_000
    with FileServer({"model.pth": payload}) as fs:
        fs.truncate("model.pth", keep=1234, times=1)
        with urllib.request.urlopen(fs.url_for("model.pth"), timeout=5) as resp:
            assert int(resp.headers["Content-Length"]) == len(payload)
            with pytest.raises(http.client.IncompleteRead) as short:
                resp.read()
        assert len(short.value.partial) == 1234 < len(payload)
        # Only the first request was truncated.
        with urllib.request.urlopen(fs.url_for("model.pth"), timeout=5) as resp:
            assert resp.read() == payload


def test_file_server_corruption_404_500_redirect_and_unreachable() -> None:
    payload = bytes(range(256)) * 4
    with FileServer({"a.bin": payload}) as fs:
        fs.corrupt("a.bin")
        with urllib.request.urlopen(fs.url_for("a.bin"), timeout=5) as resp:
            body = resp.read()
        assert len(body) == len(payload) and body != payload
        fs.corrupt("a.bin", data=b"something else")
        with urllib.request.urlopen(fs.url_for("a.bin"), timeout=5) as resp:
            assert resp.read() == b"something else"
        fs.clear_faults()

        with pytest.raises(urllib.error.HTTPError) as not_found:
            urllib.request.urlopen(fs.url_for("missing.bin"), timeout=5)
        assert not_found.value.code == 404
        fs.fail("a.bin", status=500, times=1)
        with pytest.raises(urllib.error.HTTPError) as server_error:
            urllib.request.urlopen(fs.url_for("a.bin"), timeout=5)
        assert server_error.value.code == 500

        fs.redirect("latest.bin", "a.bin")
        with urllib.request.urlopen(fs.url_for("latest.bin"), timeout=5) as resp:
            assert resp.read() == payload and resp.url == fs.url_for("a.bin")

        with fs.unreachable():
            with pytest.raises(urllib.error.URLError) as refused:
                urllib.request.urlopen(fs.url_for("a.bin"), timeout=5)
            assert isinstance(refused.value.reason, ConnectionRefusedError)
        with urllib.request.urlopen(fs.url_for("a.bin"), timeout=5) as resp:  # back on the same port
            assert resp.read() == payload
