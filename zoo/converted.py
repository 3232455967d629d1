"""The converted folder: ``model.safetensors`` + ``config.json`` (the folder config) + ``README.md``.

The layout of huggingface_hub's ``PyTorchModelHubMixin``, so a folder can be pushed to the Hub as
it is. The folder config holds ``family``, ``arch``, ``arch_kwargs`` (gan-zoo's names), the
network's ``descriptor``, the ``weights_sha256`` of ``model.safetensors``, provenance and notes.
A companion network of the same file (``Converted.companions``: the discriminator D of an NVIDIA
pickle) is stored beside it as ``<role>.safetensors``, described under ``companions`` in the
config the same way (arch, kwargs, descriptor, sha256), and read by ``load_companion``.
Writing is atomic (``atomic.replace_folder``); reading checks everything before allocating.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from . import download
from .atomic import give_new_file_mode, replace_folder
from .errors import CheckpointError, IntegrityError


WEIGHTS_FILE = "model.safetensors"


CONFIG_FILE = "config.json"


CARD_FILE = "README.md"


FORMAT_VERSION = 2  # 2: config.json records weights_sha256


COMPANION_ROLES = ("discriminator",)


FOLDER_FILES = (WEIGHTS_FILE, CONFIG_FILE, CARD_FILE) + tuple(f"{role}.safetensors" for role in COMPANION_ROLES)


MAX_CONFIG_BYTES = 1 << 20  # a converted folder's config.json is a few KB


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

    unknown = sorted(set(converted.companions) - set(COMPANION_ROLES))
    if unknown:
        raise ValueError(f"unknown companion roles {unknown}")

    def save(part, file: str) -> dict[str, Any]:
        save_file(_tensors_to_save(part.state_dict), str(tmp / file), metadata={"format": "pt"})
        # one metadata key: safetensors writes a metadata map in no fixed order, so two keys
        # would make the same weights give files of different sha256
        give_new_file_mode(tmp / file)  # safetensors writes 0600 through a temporary file
        return {**part.folder_config(), "descriptor": describe(part.arch, part.arch_kwargs).as_json(),
                "weights_sha256": download.sha256_file(tmp / file)}

    with replace_folder(Path(folder), is_zoo_owned) as tmp:
        main = save(converted, WEIGHTS_FILE)
        companions = {role: {"file": f"{role}.safetensors", **save(part, f"{role}.safetensors")}
                      for role, part in converted.companions.items()}
        config = {
            "zoo_format": FORMAT_VERSION,
            "name": name,
            "task": task,
            **main,
            "source": provenance,
            "notes": list(converted.notes),
        }
        if companions:
            config["companions"] = companions
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


def read_folder_config(folder: Path) -> dict[str, Any]:
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


def check_folder(folder: Path, *, pinned_sha256: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check a converted folder without allocating its network: (config, the meta net's state dict).

    The config's kwargs must be within the architecture's limits (the network is built on the
    meta device), the weights file's header must list exactly the network's keys and shapes,
    and its sha256 must be the one recorded at conversion, and ``pinned_sha256`` when the
    registry pins one (bundled weights: a rewritten config.json cannot vouch for other bytes).
    """
    folder = Path(folder)
    config = read_folder_config(folder)
    if pinned_sha256 is not None and config.get("weights_sha256") != pinned_sha256:
        raise IntegrityError(f"{folder} holds weights that are not the ones this version of gan-zoo shipped "
                             "(their sha256 is not the registry's pin)")
    return config, _check_weights(folder / WEIGHTS_FILE, config)


def _check_weights(path: Path, part: dict[str, Any]) -> dict[str, Any]:
    """The meta state dict of ``part``'s network (arch, arch_kwargs) after checking the
    safetensors header of ``path`` against it and the file against ``part``'s sha256."""
    from safetensors import SafetensorError, safe_open

    from .archs import build

    what = str(path)
    expected = build(part["arch"], part["arch_kwargs"], meta=True).state_dict()
    try:
        with safe_open(what, framework="pt", device="cpu") as f:
            header = {k: f.get_slice(k).get_shape() for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{what} is corrupt ({str(exc).splitlines()[0][:200]})") from None
    _check_header(header, expected, what)
    digest = part.get("weights_sha256")
    if digest is not None and download.sha256_file(path) != digest:
        raise IntegrityError(f"{what} has changed since it was converted (its sha256 is not the one in {CONFIG_FILE})")
    return expected


def load_folder(folder: Path, *, pinned_sha256: str | None = None):
    """(network in eval mode, config dict) from a converted folder; keys must match exactly.

    ``check_folder`` runs first (with ``pinned_sha256``), so nothing large is allocated before it
    is known to fit. The config comes back with ``loaded_from`` (the folder; not stored) for ``load_companion``.
    """
    config, expected = check_folder(folder, pinned_sha256=pinned_sha256)
    net = _load_weights(Path(folder) / WEIGHTS_FILE, config, expected)
    return net, {**config, "loaded_from": str(Path(folder))}


def _load_weights(path: Path, part: dict[str, Any], expected: dict[str, Any]):
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from .archs import build, load_strict
    from .formats.tensors import finalize

    what = str(path)
    try:
        state_dict = load_file(what, device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{what} is corrupt ({str(exc).splitlines()[0][:200]})") from None
    finalize(state_dict, expected, what)
    net = build(part["arch"], part["arch_kwargs"])
    load_strict(net, state_dict, what=what)
    return net.eval()


def load_companion(folder: Path, config: dict[str, Any], role: str):
    """The companion network ``role`` of the folder whose config ``load_folder`` returned (eval
    mode), checked as the main one is; None when the folder has none (converted from a file without
    it, or fetched without it)."""
    folder = Path(folder)
    part = (config.get("companions") or {}).get(role) if role in COMPANION_ROLES else None
    if not isinstance(part, dict) or part.get("file") != f"{role}.safetensors" or not (folder / part["file"]).is_file():
        return None
    for key in ("arch", "arch_kwargs"):
        if key not in part:
            raise CheckpointError(f"{folder / CONFIG_FILE}: companion {role!r} lacks {key!r}")
    from .archs import arch_classes

    if not isinstance(part["arch"], str) or part["arch"] not in arch_classes() or not isinstance(part["arch_kwargs"], dict):
        raise CheckpointError(f"{folder / CONFIG_FILE}: companion {role!r} names no known architecture")
    path = folder / part["file"]
    return _load_weights(path, part, _check_weights(path, part))


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
