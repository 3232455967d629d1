"""Importing official files by hand (``zoo import``), and matching a file to a registry entry.

A file converted for a registry entry must be that entry's network (``check_entry``: family,
architecture, released kwargs); under a registry name it lands in the cache slot of the source
it is a copy of (judged by sha256), else in the entry's "imported" slot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import download
from .cache import imported_dir, source_dir
from .cards import card_text
from .converted import write_converted
from .errors import CheckpointError, IntegrityError, ZooError
from .registry import ManualSource, ModelInfo, PackagedSource, Source


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
