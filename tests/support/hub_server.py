"""A small Hugging Face Hub look-alike on 127.0.0.1 for tests.

``LocalHub`` speaks enough of the Hub HTTP API for the *real*
``huggingface_hub`` client (checked against 2.4.0) pointed at it with
``endpoint=hub.url``:

* ``hf_hub_download`` (branch, tag or full commit sha), ``snapshot_download``,
  ``HfApi.model_info`` / ``repo_info`` / ``list_repo_tree`` / ``list_repo_files``
  / ``list_repo_refs`` / ``file_exists`` / ``repo_exists``;
* ``HfApi.create_repo`` / ``delete_repo`` / ``upload_folder`` / ``upload_file``
  / ``create_commit`` (regular uploads only: the preupload answer is always
  ``"regular"``, so neither Git LFS nor Xet storage is ever used).

Only model repos are supported. Any ``Authorization`` header is accepted.

Repos are versioned like git: every commit gets a new 40-hex sha, branches
move, and older commits stay downloadable by sha. Files whose name ends with
one of ``lfs_suffixes`` are *described* like Git LFS files (``X-Linked-Etag``
= sha256 on ``/resolve``, ``lfs`` block in tree listings), but their bytes are
still served directly by ``/resolve`` (no redirect).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .file_server import BackgroundHTTPServer, filler, parse_range, send, stream

__all__ = ["DEFAULT_LFS_SUFFIXES", "LocalHub", "git_blob_sha1"]

DEFAULT_LFS_SUFFIXES: tuple[str, ...] = (
    ".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".onnx", ".pkl", ".h5", ".msgpack", ".npz", ".zip",
)
_REPO = r"(?P<repo>[^/]+(?:/[^/]+)?)"  # "name" or "namespace/name"


def git_blob_sha1(data: bytes) -> str:
    """The git object id of a blob: what the Hub uses as ETag / ``oid`` of a regular file."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class _Commit:
    sha: str
    parent: str | None
    files: dict[str, bytes]
    message: str
    date: str


@dataclass
class _Repo:
    repo_id: str
    private: bool = False
    created_at: str = field(default_factory=_now)
    commits: dict[str, _Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def resolve(self, revision: str) -> str | None:
        """Commit sha for a branch, tag or full sha (``refs/heads/x`` / ``refs/tags/x`` accepted)."""
        for prefix, refs in (("refs/heads/", self.branches), ("refs/tags/", self.tags)):
            if revision.startswith(prefix):
                return refs.get(revision[len(prefix) :])
        if revision in self.branches:
            return self.branches[revision]
        if revision in self.tags:
            return self.tags[revision]
        return revision if revision in self.commits else None


@dataclass
class _Fault:
    kind: str  # "flip" | "short" | "drop" | "grow" | "trickle" | "status"
    times: int | None  # remaining affected requests, None = forever
    status: int = 500
    extra: int = 0
    every: float = 0.2


class _HubError(Exception):
    """Turned into an HTTP error response with the Hub's ``X-Error-Code`` header."""

    def __init__(self, status: int, code: str | None, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, dict(headers or {})


class LocalHub(BackgroundHTTPServer):
    """In-memory Hub served over HTTP. Use as ``with LocalHub() as hub: ... endpoint=hub.url``.

    Python API (thread-safe; what the tests use to arrange and inspect state):

    * ``add_repo(repo_id, files, branch="main") -> sha``: create a repo whose first commit holds exactly ``files``.
    * ``commit_files(repo_id, files, branch="main", delete=()) -> sha``: new commit on ``branch`` (created from
      ``main`` if missing) = previous tree + ``files`` - ``delete``.
    * ``files_at(repo_id, revision="main") -> dict[str, bytes]``; ``head(repo_id, branch)``; ``history(repo_id, branch)``;
      ``tag(repo_id, tag, revision)``; ``has_repo(repo_id)``.
    * ``request_log`` (``[(method, path)]``), ``headers_log``, ``requests(method, contains)``, ``clear_log()``.
    * Fault injection: ``corrupt(repo_id, filename, mode)``, ``fail(repo_id, filename, status)``,
      ``clear_faults()``, and ``unreachable()`` (context manager: connections refused).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        *,
        user: str = "test-user",
        lfs_suffixes: Iterable[str] = DEFAULT_LFS_SUFFIXES,
    ) -> None:
        super().__init__(host)
        self.user = user
        self.lfs_suffixes = tuple(lfs_suffixes)
        self._repos: dict[str, _Repo] = {}
        self._faults: dict[tuple[str, str | None], _Fault] = {}
        self._counter = 0
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., None]]] = [
            ("GET", re.compile(rf"^/api/models/{_REPO}$"), self._api_model_info),
            ("GET", re.compile(rf"^/api/models/{_REPO}/revision/(?P<rev>[^/]+)$"), self._api_model_info),
            ("GET", re.compile(rf"^/api/models/{_REPO}/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?$"), self._api_tree),
            ("GET", re.compile(rf"^/api/models/{_REPO}/refs$"), self._api_refs),
            ("POST", re.compile(rf"^/api/models/{_REPO}/preupload/(?P<rev>[^/]+)$"), self._api_preupload),
            ("POST", re.compile(rf"^/api/models/{_REPO}/commit/(?P<rev>[^/]+)$"), self._api_commit),
            ("POST", re.compile(r"^/api/repos/create$"), self._api_create_repo),
            ("DELETE", re.compile(r"^/api/repos/delete$"), self._api_delete_repo),
            ("POST", re.compile(r"^/api/validate-yaml$"), self._api_validate_yaml),
            ("GET", re.compile(r"^/api/whoami-v2$"), self._api_whoami),
            ("GET", re.compile(rf"^/{_REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)$"), self._resolve),
        ]

    # ======================================================================= Python API
    def add_repo(self, repo_id: str, files: Mapping[str, bytes], branch: str = "main", *, private: bool = False) -> str:
        """Create ``repo_id`` with one commit on ``branch`` containing exactly ``files``; returns its sha."""
        with self._lock:
            if repo_id in self._repos:
                raise ValueError(f"repo {repo_id!r} already exists")
            self._repos[repo_id] = _Repo(repo_id, private=private)
            return self._commit(repo_id, branch, dict(files), "Initial commit")

    def commit_files(
        self,
        repo_id: str,
        files: Mapping[str, bytes],
        branch: str = "main",
        *,
        delete: Iterable[str] = (),
        message: str = "Update files",
    ) -> str:
        """New commit on ``branch``: previous tree updated with ``files``, minus ``delete``. Returns the new sha."""
        with self._lock:
            repo = self._repo(repo_id)
            base = repo.branches.get(branch) or repo.branches.get("main")
            tree = dict(repo.commits[base].files) if base else {}
            for path in delete:
                tree.pop(path, None)
            tree.update(files)
            return self._commit(repo_id, branch, tree, message)

    def files_at(self, repo_id: str, revision: str = "main") -> dict[str, bytes]:
        """Copy of the files of ``repo_id`` at a branch, tag or commit sha."""
        with self._lock:
            repo = self._repo(repo_id)
            sha = repo.resolve(revision)
            if sha is None:
                raise KeyError(f"unknown revision {revision!r} of {repo_id!r}")
            return dict(repo.commits[sha].files)

    def head(self, repo_id: str, branch: str = "main") -> str:
        with self._lock:
            return self._repo(repo_id).branches[branch]

    def history(self, repo_id: str, branch: str = "main") -> list[str]:
        """Commit shas reachable from ``branch``, newest first."""
        with self._lock:
            repo = self._repo(repo_id)
            out, sha = [], repo.branches.get(branch)
            while sha is not None:
                out.append(sha)
                sha = repo.commits[sha].parent
            return out

    def tag(self, repo_id: str, tag: str, revision: str = "main") -> str:
        """Point tag ``tag`` at ``revision``; returns the tagged sha."""
        with self._lock:
            repo = self._repo(repo_id)
            sha = repo.resolve(revision)
            if sha is None:
                raise KeyError(revision)
            repo.tags[tag] = sha
            return sha

    def has_repo(self, repo_id: str) -> bool:
        with self._lock:
            return repo_id in self._repos

    def corrupt(
        self, repo_id: str, filename: str, mode: str = "flip", *, times: int | None = None, extra: int = 64 << 20,
        every: float = 0.2,
    ) -> None:
        """Make GET ``/resolve`` of ``filename`` (any revision) misbehave; HEAD stays honest.

        * ``"flip"``: same length, one byte changed. huggingface_hub does NOT notice (it does not hash
          downloads): only a caller-side checksum catches it.
        * ``"short"``: only the first half is sent, with a matching (smaller) Content-Length; the client
          compares with the HEAD size and raises ``OSError("Consistency check failed ...")`` at once.
        * ``"drop"``: full Content-Length advertised but the connection dies at the middle of the file (also
          for Range requests). huggingface_hub retries up to 5 times, sleeping 1 s each, then raises
          ``httpx2.RemoteProtocolError`` (slow: ~5 s); with ``times=1`` the first retry succeeds (~1 s). It
          only sends ``Range`` if bytes were already written, and it buffers 10 MB chunks, so for small
          files the retry is a plain full GET.
        * ``"grow"``: HEAD announces the true size, but GET sends the file followed by ``extra`` zero bytes,
          with a ``Content-Length`` that says so (a hostile mirror). huggingface_hub reads it all before its
          size check; how much the client took is logged in ``sent_log``.
        * ``"trickle"``: the true Content-Length, but one byte every ``every`` seconds (never slow enough
          for a per-read timeout; only an overall deadline ends it). ``sent_log`` records what was taken.

        ``times``: number of GETs affected (None = all).
        """
        if mode not in ("flip", "short", "drop", "grow", "trickle"):
            raise ValueError(mode)
        with self._lock:
            self._faults[(repo_id, filename)] = _Fault(mode, times, extra=extra, every=every)

    def fail(self, repo_id: str, filename: str | None = None, status: int = 500, *, times: int | None = None) -> None:
        """Answer ``status`` to requests (HEAD and GET) for ``filename`` or, if None, to every request on the repo.

        Note: for 5xx/429 huggingface_hub retries with backoff (1, 2, 4, 8 s...) when nothing is cached.
        """
        with self._lock:
            self._faults[(repo_id, filename)] = _Fault("status", times, status=status)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # ======================================================================= state helpers
    def _repo(self, repo_id: str) -> _Repo:
        repo = self._repos.get(repo_id)
        if repo is None:
            raise KeyError(f"unknown repo {repo_id!r}")
        return repo

    def _commit(self, repo_id: str, branch: str, files: dict[str, bytes], message: str) -> str:
        """Record a commit whose full tree is ``files`` and move ``branch`` to it (caller holds the lock)."""
        repo = self._repos[repo_id]
        parent = repo.branches.get(branch)
        self._counter += 1
        digest = hashlib.sha1(f"{repo_id}\n{parent}\n{message}\n{self._counter}\n".encode())
        for path in sorted(files):
            digest.update(f"{path}\0{git_blob_sha1(files[path])}\n".encode())
        sha = digest.hexdigest()
        repo.commits[sha] = _Commit(sha, parent, {p: bytes(d) for p, d in files.items()}, message, _now())
        repo.branches[branch] = sha
        return sha

    def _is_lfs(self, path: str) -> bool:
        return path.lower().endswith(self.lfs_suffixes)

    def _entry(self, path: str, data: bytes) -> dict[str, Any]:
        """Tree / sibling entry of a file, with an ``lfs`` block for LFS-style files (like the Hub)."""
        entry: dict[str, Any] = {"type": "file", "path": path, "size": len(data), "oid": git_blob_sha1(data)}
        if self._is_lfs(path):
            sha256 = hashlib.sha256(data).hexdigest()
            pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {len(data)}\n".encode()
            entry["oid"] = git_blob_sha1(pointer)
            entry["lfs"] = {"oid": sha256, "size": len(data), "pointerSize": len(pointer)}
        return entry

    def _lookup(self, repo_id: str, revision: str) -> tuple[_Repo, _Commit]:
        """Repo and commit, or the Hub's RepoNotFound / RevisionNotFound error."""
        repo = self._repos.get(repo_id)
        if repo is None:
            raise _HubError(404, "RepoNotFound", f"Repository {repo_id} not found")
        sha = repo.resolve(revision)
        if sha is None:
            raise _HubError(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        return repo, repo.commits[sha]

    def _take_fault(self, repo_id: str, filename: str | None, method: str) -> _Fault | None:
        with self._lock:
            for key in ((repo_id, filename), (repo_id, None)):
                fault = self._faults.get(key)
                if fault is None or (fault.kind != "status" and method != "GET"):
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        del self._faults[key]
                return fault
        return None

    # ======================================================================= HTTP plumbing
    def handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        split = urlsplit(handler.path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        route_method = "GET" if method == "HEAD" else method
        for verb, pattern, func in self._routes:
            match = pattern.match(split.path)
            if verb != route_method or match is None:
                continue
            params = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
            try:
                filename = params.get("path") if func == self._resolve else None
                fault = self._take_fault(params["repo"], filename, method) if "repo" in params else None
                if fault is not None and fault.kind == "status":
                    raise _HubError(fault.status, None, f"Simulated error {fault.status}")
                with self._lock:
                    func(handler, method, query=query, fault=fault, **params)
            except _HubError as err:
                headers = {"Content-Type": "application/json", **err.headers, "X-Error-Message": err.message}
                if err.code:
                    headers["X-Error-Code"] = err.code
                body = json.dumps({"error": err.message}).encode()
                send(handler, err.status, body, headers, head=method == "HEAD")
            return
        send(handler, 404, b'{"error": "Not Found"}', {"Content-Type": "application/json"}, head=method == "HEAD")

    @staticmethod
    def _json(handler: BaseHTTPRequestHandler, method: str, payload: Any, status: int = 200) -> None:
        body = json.dumps(payload).encode()
        send(handler, status, body, {"Content-Type": "application/json"}, head=method == "HEAD")

    @staticmethod
    def _body(handler: BaseHTTPRequestHandler) -> bytes:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        if handler.headers.get("Content-Encoding", "").lower() == "gzip":
            raw = gzip.decompress(raw)
        return raw

    # ======================================================================= endpoints
    def _resolve(
        self, h: BaseHTTPRequestHandler, method: str, *, repo: str, rev: str, path: str, fault: _Fault | None, **_: Any
    ) -> None:
        """HEAD/GET ``/{repo}/resolve/{rev}/{path}``: the file bytes (200, or 206 for ``Range``).

        Headers: ``X-Repo-Commit`` (resolved sha), ``ETag`` (quoted git blob sha1), ``Content-Length``,
        ``Accept-Ranges``; for LFS-style files also ``X-Linked-Etag`` (quoted sha256) and ``X-Linked-Size``.
        Errors (404): ``X-Error-Code`` RepoNotFound / RevisionNotFound / EntryNotFound (the latter with
        ``X-Repo-Commit`` so the client can cache the miss).
        """
        _, commit = self._lookup(repo, rev)
        data = commit.files.get(path)
        if data is None:
            raise _HubError(404, "EntryNotFound", f"{path} does not exist on {rev}", {"X-Repo-Commit": commit.sha})
        entry = self._entry(path, data)
        headers = {
            "Content-Type": "application/octet-stream",
            "X-Repo-Commit": commit.sha,
            "ETag": f'"{entry["oid"]}"',
            "Accept-Ranges": "bytes",
        }
        if "lfs" in entry:
            headers["X-Linked-Etag"] = f'"{entry["lfs"]["oid"]}"'
            headers["X-Linked-Size"] = str(len(data))
        body = data
        if fault is not None and fault.kind == "grow" and method == "GET":
            total = len(data) + fault.extra
            self._record_sent(h, stream(h, 200, filler(data, total), headers, length=total))
            return
        if fault is not None and fault.kind == "trickle" and method == "GET":

            def slowly() -> Iterator[bytes]:
                for i in range(len(data)):
                    time.sleep(fault.every)
                    yield data[i : i + 1]

            self._record_sent(h, stream(h, 200, slowly(), headers, length=len(data)))
            return
        if fault is not None and fault.kind == "flip":
            i = len(data) // 2
            body = data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1 :] if data else b"\x00"
        start = 0
        status = 200
        rng = parse_range(h.headers.get("Range"), len(body)) if method == "GET" else None
        if rng is not None:
            start, end = rng
            if start >= len(body):
                send(h, 416, b"", {**headers, "Content-Range": f"bytes */{len(body)}"})
                return
            headers["Content-Range"] = f"bytes {start}-{end}/{len(body)}"
            body, status = body[start : end + 1], 206
        if fault is not None and fault.kind == "short":
            body = body[: max(0, len(data) // 2 - start)]
        stop_after = None
        if fault is not None and fault.kind == "drop":
            stop_after = max(0, len(data) // 2 - start)
        send(h, status, body, headers, head=method == "HEAD", stop_after=stop_after)

    def _api_model_info(
        self, h: BaseHTTPRequestHandler, method: str, *, repo: str, rev: str = "main", query: dict[str, str], **_: Any
    ) -> None:
        """GET ``/api/models/{repo}[/revision/{rev}]``: ModelInfo JSON (``id``, ``sha``, ``siblings``...).

        ``siblings`` are ``{"rfilename"}``; with ``?blobs=true`` also ``size``, ``blobId`` and ``lfs``.
        """
        info, commit = self._lookup(repo, rev)
        blobs = query.get("blobs", "").lower() in ("1", "true")
        siblings = []
        for path in sorted(commit.files):
            sibling: dict[str, Any] = {"rfilename": path}
            if blobs:
                entry = self._entry(path, commit.files[path])
                sibling.update(size=entry["size"], blobId=entry["oid"])
                if "lfs" in entry:
                    lfs = entry["lfs"]
                    sibling["lfs"] = {"sha256": lfs["oid"], "size": lfs["size"], "pointerSize": lfs["pointerSize"]}
            siblings.append(sibling)
        payload = {
            "_id": hashlib.md5(repo.encode()).hexdigest()[:24],
            "id": repo,
            "modelId": repo,
            "author": repo.split("/")[0] if "/" in repo else self.user,
            "sha": commit.sha,
            "lastModified": commit.date,
            "createdAt": info.created_at,
            "private": info.private,
            "disabled": False,
            "gated": False,
            "downloads": 0,
            "likes": 0,
            "tags": [],
            "siblings": siblings,
        }
        self._json(h, method, payload)

    def _api_tree(
        self, h: BaseHTTPRequestHandler, method: str, *, repo: str, rev: str, path: str = "", query: dict[str, str], **_: Any
    ) -> None:
        """GET ``/api/models/{repo}/tree/{rev}[/{path}]``: list of ``{type, path, size, oid[, lfs]}``.

        Files have ``type="file"``, folders ``type="directory"``. ``?recursive=true`` lists the whole
        sub-tree (folders included), otherwise direct children only. One page (no ``Link`` header).
        Unknown folder -> 404 EntryNotFound.
        """
        _, commit = self._lookup(repo, rev)
        recursive = query.get("recursive", "").lower() in ("1", "true")
        prefix = path.strip("/") + "/" if path.strip("/") else ""
        files = {p: d for p, d in commit.files.items() if p.startswith(prefix)}
        if prefix and not files:
            raise _HubError(404, "EntryNotFound", f"{path} does not exist on {rev}")
        entries: dict[str, dict[str, Any]] = {}
        for file_path, data in files.items():
            parts = file_path[len(prefix) :].split("/")
            for depth in range(1, len(parts)):  # folders between prefix and file
                if not recursive and depth > 1:
                    break
                folder = prefix + "/".join(parts[:depth])
                oid = hashlib.sha1(folder.encode()).hexdigest()
                entries.setdefault(folder, {"type": "directory", "path": folder, "size": 0, "oid": oid})
            if recursive or len(parts) == 1:
                entries[file_path] = self._entry(file_path, data)
        self._json(h, method, [entries[k] for k in sorted(entries)])

    def _api_refs(self, h: BaseHTTPRequestHandler, method: str, *, repo: str, **_: Any) -> None:
        """GET ``/api/models/{repo}/refs``: ``{"branches": [...], "tags": [...], "converts": []}``."""
        info = self._repos.get(repo)
        if info is None:
            raise _HubError(404, "RepoNotFound", f"Repository {repo} not found")

        def refs(kind: str, items: dict[str, str]) -> list[dict[str, str]]:
            return [{"name": n, "ref": f"refs/{kind}/{n}", "targetCommit": s} for n, s in sorted(items.items())]

        self._json(h, method, {"branches": refs("heads", info.branches), "tags": refs("tags", info.tags), "converts": []})

    def _api_preupload(self, h: BaseHTTPRequestHandler, method: str, *, repo: str, rev: str, **_: Any) -> None:
        """POST ``/api/models/{repo}/preupload/{rev}``: ``{"files": [{path, uploadMode, shouldIgnore, oid}], "commitOid"}``.

        ``uploadMode`` is always ``"regular"`` (content then travels base64 in the commit call; no LFS/Xet).
        ``oid`` is the git blob sha1 of the file currently at ``rev`` (or null); the client skips files whose
        local sha1 matches it (no-op detection).
        """
        request = json.loads(self._body(h) or b"{}")
        _, commit = self._lookup(repo, rev)
        files = [
            {
                "path": f["path"],
                "uploadMode": "regular",
                "shouldIgnore": False,
                "oid": git_blob_sha1(commit.files[f["path"]]) if f["path"] in commit.files else None,
            }
            for f in request.get("files", [])
        ]
        self._json(h, method, {"files": files, "commitOid": commit.sha})

    def _api_commit(self, h: BaseHTTPRequestHandler, method: str, *, repo: str, rev: str, **_: Any) -> None:
        """POST ``/api/models/{repo}/commit/{branch}`` (NDJSON): creates a commit, moves the branch.

        Lines: ``{"key": "header", "value": {"summary", "description", "parentCommit"?}}`` then
        ``file`` (base64 ``content``), ``deletedFile``, ``deletedFolder``. ``lfsFile`` is refused (400).
        Returns ``{"success": true, "commitOid", "commitUrl", "hookOutput": ""}``.
        """
        lines = [json.loads(line) for line in self._body(h).splitlines() if line.strip()]
        info, parent = self._lookup(repo, rev)
        branch = rev[len("refs/heads/") :] if rev.startswith("refs/heads/") else rev
        if branch not in info.branches:
            raise _HubError(400, None, f"Can only commit to a branch, not {rev!r}")
        if not lines or lines[0].get("key") != "header":
            raise _HubError(400, None, "First line must be the commit header")
        header = lines[0]["value"]
        if header.get("parentCommit") and header["parentCommit"] != parent.sha:
            raise _HubError(412, None, "A commit has happened since. Please refresh and try again.")
        tree = dict(parent.files)
        for line in lines[1:]:
            key, value = line.get("key"), line.get("value", {})
            path = value.get("path", "")
            if key == "file":
                content = value.get("content", "")
                tree[path] = base64.b64decode(content) if value.get("encoding") == "base64" else content.encode()
            elif key == "deletedFile":
                if path not in tree:
                    raise _HubError(404, "EntryNotFound", f"A file with this name doesn't exist: {path}")
                del tree[path]
            elif key == "deletedFolder":
                folder = path.rstrip("/") + "/"
                for p in [p for p in tree if p.startswith(folder)]:
                    del tree[p]
            else:
                raise _HubError(400, None, f"Unsupported commit operation {key!r} (only regular files are accepted)")
        sha = self._commit(repo, branch, tree, header.get("summary") or "commit")
        commit_url = f"{self.url}/{repo}/commit/{sha}"
        self._json(h, method, {"success": True, "commitOid": sha, "commitUrl": commit_url, "hookOutput": ""})

    def _api_create_repo(self, h: BaseHTTPRequestHandler, method: str, **_: Any) -> None:
        """POST ``/api/repos/create`` ``{name, organization, type, visibility}``: ``{"url", "name", "id"}``.

        New repos get an initial commit with a ``.gitattributes`` (like the Hub). 409 (with ``url``) if it exists.
        Only ``type`` model (or missing) is accepted.
        """
        request = json.loads(self._body(h) or b"{}")
        if request.get("type") not in (None, "model"):
            raise _HubError(400, None, "This test hub only supports model repos")
        repo_id = f"{request.get('organization') or self.user}/{request['name']}"
        url = f"{self.url}/{repo_id}"
        if repo_id in self._repos:
            self._json(h, method, {"error": "You already created this model repo", "url": url}, status=409)
            return
        private = request.get("visibility") == "private" or bool(request.get("private"))
        self._repos[repo_id] = _Repo(repo_id, private=private)
        gitattributes = "".join(f"*{s} filter=lfs diff=lfs merge=lfs -text\n" for s in self.lfs_suffixes).encode()
        self._commit(repo_id, "main", {".gitattributes": gitattributes}, "initial commit")
        self._json(h, method, {"url": url, "name": repo_id, "id": hashlib.md5(repo_id.encode()).hexdigest()[:24]})

    def _api_delete_repo(self, h: BaseHTTPRequestHandler, method: str, **_: Any) -> None:
        """DELETE ``/api/repos/delete`` ``{name, organization}``: 200 ``{}`` or 404 RepoNotFound."""
        request = json.loads(self._body(h) or b"{}")
        repo_id = f"{request.get('organization') or self.user}/{request['name']}"
        if self._repos.pop(repo_id, None) is None:
            raise _HubError(404, "RepoNotFound", f"Repository {repo_id} not found")
        self._json(h, method, {})

    def _api_validate_yaml(self, h: BaseHTTPRequestHandler, method: str, **_: Any) -> None:
        """POST ``/api/validate-yaml`` (sent before committing a README.md): always ``{"errors": [], "warnings": []}``."""
        self._body(h)
        self._json(h, method, {"errors": [], "warnings": []})

    def _api_whoami(self, h: BaseHTTPRequestHandler, method: str, **_: Any) -> None:
        """GET ``/api/whoami-v2``: a fixed user for any token."""
        auth = {"type": "access_token", "accessToken": {"role": "write"}}
        self._json(h, method, {"type": "user", "name": self.user, "fullname": self.user, "orgs": [], "auth": auth})
