"""Weights pipeline: registry source -> download -> convert -> cache -> load.

A converted model is a folder holding ``model.safetensors`` (gan-zoo key names),
``config.json`` (``family``, ``arch``, ``arch_kwargs``, provenance) and ``README.md`` (the
model card): the layout of huggingface_hub's ``PyTorchModelHubMixin``, so the folder can be
pushed to the Hub as it is. Each source of an entry gets its own cache folder
``<cache>/models/<name>/<source key>/``; a second load reads that folder and needs neither
network nor conversion.

The cache root is ``$ZOO_CACHE``, else ``$XDG_CACHE_HOME/gan-zoo``, else ``~/.cache/gan-zoo``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from importlib import resources, util
from pathlib import Path
from typing import Any

from . import download
from .atomic import give_usual_mode, replace_folder
from .errors import CheckpointError, DownloadError, IntegrityError, OfflineError, ZooError
from .registry import (
    BundledSource,
    HubSource,
    ManualSource,
    ModelInfo,
    PackagedSource,
    Source,
    UrlSource,
)

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
CARD_FILE = "README.md"
FORMAT_VERSION = 2  # 2: config.json records weights_sha256
BUNDLED_DIR = Path(__file__).parent / "weights"


def cache_root() -> Path:
    env = os.environ.get("ZOO_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "gan-zoo"


def source_dir(info: ModelInfo, source: Source) -> Path:
    """Where the conversion of ``info`` from ``source`` is cached (bundled: the bundle itself)."""
    if isinstance(source, BundledSource):
        return BUNDLED_DIR / source.folder
    return cache_root() / "models" / info.name / source.key


def is_converted_folder(folder: Path) -> bool:
    return (folder / WEIGHTS_FILE).is_file() and (folder / CONFIG_FILE).is_file()


def is_zoo_owned(folder: Path) -> bool:
    """True for a converted folder gan-zoo wrote that holds nothing else (so it may be replaced)."""
    try:
        names = {p.name for p in folder.iterdir()}
        config = json.loads((folder / CONFIG_FILE).read_text())
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(config, dict) and "zoo_format" in config and names <= set(FOLDER_FILES) and WEIGHTS_FILE in names


# ---------------------------------------------------------------------------------------------
# Writing and reading converted folders

FOLDER_FILES = (WEIGHTS_FILE, CONFIG_FILE, CARD_FILE)
MAX_CONFIG_BYTES = 1 << 20  # a converted folder's config.json is a few KB


def write_converted(folder: Path, converted, *, name: str, task: str, provenance: dict[str, Any], card: str | None) -> Path:
    """Write ``converted`` (a ``zoo.formats.base.Converted``) as a converted folder, atomically.

    ``folder`` may be new, empty, or a converted folder gan-zoo wrote (replaced as a whole);
    anything else is refused (``atomic.replace_folder``). Weights are stored float32, each
    tensor on its own (tied weights are copied, as safetensors stores no shared memory), and
    their sha256 goes into ``config.json`` so every later load can check them; so does the
    network's descriptor (``zoo.archs.descriptor``), so the folder states its own limits.
    """
    from safetensors.torch import save_file

    from .archs import describe

    with replace_folder(Path(folder), is_zoo_owned) as tmp:
        save_file(_tensors_to_save(converted.state_dict), str(tmp / WEIGHTS_FILE), metadata={"format": "pt", "producer": "gan-zoo"})
        give_usual_mode(tmp / WEIGHTS_FILE)  # safetensors writes 0600 through a temporary file
        config = {
            "zoo_format": FORMAT_VERSION,
            "name": name,
            "task": task,
            **converted.folder_config(),
            "descriptor": describe(converted.arch, converted.arch_kwargs).as_json(),
            "weights_sha256": download.sha256_file(tmp / WEIGHTS_FILE),
            "source": provenance,
            "notes": list(converted.notes),
        }
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
        if card:
            (tmp / CARD_FILE).write_text(card)
    return Path(folder)


def _tensors_to_save(state_dict: dict[str, Any]) -> dict[str, Any]:
    """CPU, contiguous, float32 (floats) tensors that share no memory with each other."""
    import torch

    out: dict[str, Any] = {}
    seen: set[tuple[int, int]] = set()
    for key, value in state_dict.items():
        t = value.detach().to("cpu")
        if t.is_floating_point() and t.dtype != torch.float32:
            t = t.float()
        t = t.contiguous()
        where = (t.untyped_storage().data_ptr(), t.untyped_storage().nbytes())
        if where in seen or t.untyped_storage().nbytes() != t.numel() * t.element_size():
            t = t.clone()
        seen.add((t.untyped_storage().data_ptr(), t.untyped_storage().nbytes()))
        out[key] = t
    return out


def read_config(folder: Path) -> dict[str, Any]:
    """A converted folder's ``config.json``, checked: a JSON object naming a known family and
    architecture, with ``arch_kwargs`` an object (its values are checked when the net is built)."""
    from .archs import arch_classes

    path = folder / CONFIG_FILE
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise CheckpointError(f"{path} is {path.stat().st_size:,} bytes, too large for a converted folder's config")
        config = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise CheckpointError(f"{path} nests too deeply to be a converted folder's config") from None
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path} is unreadable ({' '.join(str(exc).split())[:200]})") from None
    if not isinstance(config, dict):
        raise CheckpointError(f"{path} holds a JSON {type(config).__name__}, not an object; is this a gan-zoo folder?")
    for key in ("family", "arch", "arch_kwargs"):
        if key not in config:
            raise CheckpointError(f"{path} lacks {key!r}; is this a gan-zoo folder?")
    from .families import family_names

    if not isinstance(config["family"], str) or config["family"] not in family_names():
        raise CheckpointError(f"{path}: unknown family {str(config['family'])[:60]!r}")
    if not isinstance(config["arch"], str) or config["arch"] not in arch_classes():
        raise CheckpointError(f"{path}: unknown architecture {str(config['arch'])[:60]!r}")
    if not isinstance(config["arch_kwargs"], dict):
        raise CheckpointError(f"{path}: arch_kwargs must be a JSON object, not {type(config['arch_kwargs']).__name__}")
    digest = config.get("weights_sha256")
    if digest is not None and not (isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest)):
        raise CheckpointError(f"{path}: weights_sha256 is not a sha256 hex digest")
    return config


def check_folder(folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check a converted folder without allocating its network: (config, the meta net's state dict).

    The config's kwargs must be within the architecture's limits (the network is built on the
    meta device), the weights file's header must list exactly the network's keys and shapes,
    and its sha256 must be the one recorded at conversion.
    """
    from safetensors import SafetensorError, safe_open

    from .archs import build

    folder = Path(folder)
    config = read_config(folder)
    what = str(folder / WEIGHTS_FILE)
    expected = build(config["arch"], config["arch_kwargs"], meta=True).state_dict()
    try:
        with safe_open(what, framework="pt", device="cpu") as f:
            header = {k: f.get_slice(k).get_shape() for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{what} is corrupt ({str(exc).splitlines()[0][:200]})") from None
    _check_header(header, expected, what)
    digest = config.get("weights_sha256")
    if digest is not None and download.sha256_file(folder / WEIGHTS_FILE) != digest:
        raise IntegrityError(f"{what} has changed since it was converted (its sha256 is not the one in {CONFIG_FILE})")
    return config, expected


def load_folder(folder: Path):
    """(network in eval mode, config dict) from a converted folder; keys must match exactly.

    ``check_folder`` runs first, so nothing large is allocated before it is known to fit.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from .archs import build, load_strict
    from .formats.tensors import finalize

    config, expected = check_folder(folder)
    what = str(Path(folder) / WEIGHTS_FILE)
    try:
        state_dict = load_file(what, device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{what} is corrupt ({str(exc).splitlines()[0][:200]})") from None
    finalize(state_dict, expected, what)
    net = build(config["arch"], config["arch_kwargs"])
    load_strict(net, state_dict, what=what)
    return net.eval(), config


def _check_header(header: dict[str, list[int]], expected: dict[str, Any], what: str) -> None:
    """The safetensors header's keys and shapes must be the network's (before any data is read)."""
    missing = [k for k in expected if k not in header]
    unexpected = [k for k in header if k not in expected]
    wrong = [k for k in expected if k in header and list(header[k]) != list(expected[k].shape)]
    if missing or unexpected or wrong:
        first = (missing or unexpected or wrong)[0]
        raise CheckpointError(
            f"{what} does not match its config.json ({len(missing)} missing, {len(unexpected)} unexpected, "
            f"{len(wrong)} wrong-shape keys, e.g. {first[:80]})"
        )


# ---------------------------------------------------------------------------------------------
# Resolving a registry entry to a converted folder


def imported_dir(info: ModelInfo) -> Path:
    """Cache slot for files a user imported by hand that match no registered source."""
    return cache_root() / "models" / info.name / "imported"


def single(info: ModelInfo) -> ModelInfo:
    """The entry whose weights ``info`` stands for: a translation entry's default direction."""
    return info.variant() if info.directions else info


def cached_folder(info: ModelInfo) -> Path | None:
    """The converted folder of the highest-priority source already available locally (imports last)."""
    info = single(info)
    for folder in [source_dir(info, source) for source in info.sources] + [imported_dir(info)]:
        if is_converted_folder(folder):
            return folder
    return None


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
            read_config(folder)
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
            return load_folder(folder)
        except (CheckpointError, IntegrityError) as exc:
            failures.append(_discard_damaged(folder, exc))
    return load_folder(_materialize_first(info, failures))


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


def check_entry(converted, info: ModelInfo) -> None:
    """A file converted for a registry entry must be that entry's network: same family, same
    architecture, and the kwargs the entry records for its released weights."""
    from .errors import WrongFamilyError

    if converted.family != info.family:
        raise WrongFamilyError(f"the file is a {converted.family} checkpoint, but {info.name} is a {info.family} model")
    if info.arch and converted.arch != info.arch:
        raise CheckpointError(f"the file is a {converted.arch} network, but {info.name} is a {info.arch} network")
    differ = [f"{k}={converted.arch_kwargs.get(k)!r} (expected {v!r})" for k, v in info.arch_kwargs.items()
              if converted.arch_kwargs.get(k) != v]
    if differ:
        raise CheckpointError(f"the file is not {info.name}'s network: its {', '.join(differ[:3])}")


# ---------------------------------------------------------------------------------------------
# Pins: the first download of a file without a published sha256 fixes what later ones must be


def pin_path(info: ModelInfo, source: Source) -> Path:
    return cache_root() / "pins" / info.name / f"{source.key}.json"


def check_pin(info: ModelInfo, source: Source, digest: str) -> None:
    """Raise ``IntegrityError`` when a pin exists for this source and ``digest`` differs from it."""
    path = pin_path(info, source)
    try:
        pin = json.loads(path.read_text())
        pinned = pin["sha256"]
    except FileNotFoundError:
        return
    except (OSError, ValueError, KeyError, TypeError):
        raise IntegrityError(f"the pin {path} is unreadable; delete it to accept the file {info.name} now downloads") from None
    if digest != pinned:
        raise IntegrityError(
            f"{source.describe()} is not the file first downloaded for {info.name} on {pin.get('date', '?')} "
            f"(sha256 {digest[:16]}..., pinned {str(pinned)[:16]}...); it was removed. If upstream really replaced it, "
            f"delete {path} and download again"
        )


def write_pin(info: ModelInfo, source: Source, digest: str, size: int) -> None:
    """Record the sha256 of a first download (kept if a pin already exists)."""
    import datetime

    path = pin_path(info, source)
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    date = datetime.date.today().isoformat()
    tmp.write_text(json.dumps({"sha256": digest, "size": size, "source": source.describe(), "date": date}, indent=2) + "\n")
    os.replace(tmp, path)


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


def card_text(info: ModelInfo) -> str | None:
    """The model card of ``info`` (``model_cards/<card>``), or None if it is missing."""
    from .cards import read_card

    return read_card(info.card)


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


def import_file(path: Path, *, name: str | None = None, out: Path | None = None, config: dict[str, Any] | None = None):
    """Convert an official file by hand (``zoo import``). Returns (folder, converted).

    With ``name`` of a registry entry, the file must be that entry's file (checked against
    every digest the registry knows) and lands in the entry's cache, so ``zoo.load(name)``
    finds it. ``out`` writes the folder elsewhere. Otherwise the folder is ``./<stem>``.
    """
    from .cards import generic_card
    from .formats import read_official
    from .registry import get

    path = Path(path)
    info = get(name) if name is not None and _registered(name) else None
    if info is not None and info.directions:
        info = _direction_for_file(info, path)
    if info is not None:
        source = _matching_source(info, path)
        converted = read_official(path, official_kwargs=config or info.config or None)
        check_entry(converted, info)
        provenance = {"kind": "import", "file": path.name, "sha256": download.sha256_file(path)}
        if out is not None:
            folder = out
        elif source is not None:
            folder = source_dir(info, source)
        else:
            folder = imported_dir(info)
        write_converted(folder, converted, name=info.name, task=info.task, provenance=provenance, card=card_text(info))
        return folder, converted
    from .loading import task_of

    from .registry import check_name

    if name is not None:
        check_name(name)
    converted = read_official(path, official_kwargs=config)
    label = name or path.stem
    folder = out or Path.cwd() / label
    task = task_of(converted.family)
    card = generic_card(label, converted.family, task, path.name)
    provenance = {"kind": "import", "file": path.name}
    write_converted(folder, converted, name=label, task=task, provenance=provenance, card=card)
    return folder, converted


def _direction_for_file(info: ModelInfo, path: Path) -> ModelInfo:
    """The single-direction entry a translation checkpoint belongs to: named, the only one, or by file name."""
    if "@" in info.name or len(info.directions) == 1:
        return info.variant()
    for d in info.directions:
        if d.official_name and path.stem == d.official_name:
            return info.variant(d.name)
    options = " or ".join(f"--name {info.name}@{d.name} ({d.official_name or d.label()})" for d in info.directions)
    raise ZooError(f"{info.name} has {len(info.directions)} directions and {path.name} does not say which it is; use {options}")


def _is_registered(info: ModelInfo) -> bool:
    return _registered(info.base_name)


def _registered(name: str) -> bool:
    from .errors import UnknownModelError
    from .registry import get

    try:
        get(name)
        return True
    except UnknownModelError:
        return False


def _matching_source(info: ModelInfo, path: Path) -> Source | None:
    """The entry's source that ``path`` is a copy of, judged by sha256; None for the "imported" slot.

    A checkpoint whose entry publishes digests must match one of them (IntegrityError
    otherwise). ncnn files and entries without digests go to the "imported" slot.
    """
    actual = download.sha256_file(path)
    for source in info.sources:
        if isinstance(source, PackagedSource) and actual in source.sha256.values():
            return source
        digest = getattr(source, "sha256", None)
        prefix = getattr(source, "sha256_prefix", None)
        if (isinstance(digest, str) and actual == digest) or (prefix and actual.startswith(prefix)):
            return source
    from .formats.ncnn import ncnn_pair

    if ncnn_pair(path) is not None:
        return None
    pinned = [s for s in info.sources if isinstance(getattr(s, "sha256", None), str) or getattr(s, "sha256_prefix", None)]
    unpinned_manual = [s for s in info.sources if isinstance(s, ManualSource) and not s.sha256]
    if unpinned_manual:
        return unpinned_manual[0]
    if pinned:
        raise IntegrityError(
            f"{path.name} is not the official file of {info.name} (sha256 {actual[:16]}... matches none of its registered digests)"
        )
    return None
