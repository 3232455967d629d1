"""Official checkpoint readers: file -> (arch, kwargs, state dict in gan-zoo key names).

``read_official(path, official_kwargs)`` is the one entry point. The readers are the modules the
families declare (``zoo.families``), in their order: a module with ``read_file(path, kwargs)``
may claim a whole file (ncnn's .param/.bin pairs); otherwise the file is read safely
(``checkpoint.read_checkpoint``) and each module with ``convert(obj, kwargs) -> Converted | None``
is asked whether it recognises the keys. ``official_kwargs`` are the official implementation's
constructor arguments for what the weights cannot reveal (``zoo.load(path, config=...)``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import CheckpointError
from .base import Converted

def _readers(kind: str) -> list[Any]:
    """The declared reader modules that have a ``kind`` function (``read_file`` or ``convert``)."""
    import importlib

    from ..families import reader_modules

    modules = [importlib.import_module(f"{__name__}.{name}") for name in reader_modules()]
    return [m for m in modules if hasattr(m, kind)]


def convert_checkpoint(obj: Any, official_kwargs: dict[str, Any] | None = None, *, what: str = "checkpoint") -> Converted:
    """Detect the family and layout of a loaded checkpoint object and convert it."""
    for reader in _readers("convert"):
        converted = reader.convert(obj, official_kwargs)
        if converted is not None:
            check_keys(converted, what)
            return converted
    raise CheckpointError(f"{what} matches no known layout ({_describe_keys(obj)})")


def check_keys(converted: Converted, what: str) -> None:
    """Strict key and shape check against the arch, built on the meta device (no memory used),
    within the arch's limits; then the values are made safe to load (``tensors.finalize``)."""
    from ..archs import build, load_strict
    from .tensors import finalize

    net = build(converted.arch, converted.arch_kwargs, meta=True)
    expected = net.state_dict()
    load_strict(net, converted.state_dict, what=what, check_only=True)
    finalize(converted.state_dict, expected, what)


def _describe_keys(obj: Any) -> str:
    if isinstance(obj, dict):
        keys = [str(k) for k in obj][:3]
        return "keys start " + ", ".join(keys) if keys else "empty dict"
    return f"a {type(obj).__name__}, not a dict of tensors"


def read_official(path: str | Path, official_kwargs: dict[str, Any] | None = None) -> Converted:
    """Read an official checkpoint file (any supported family and layout) without running code."""
    from .checkpoint import read_checkpoint

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no such file: {path}")
    for reader in _readers("read_file"):
        converted = reader.read_file(path, official_kwargs)
        if converted is not None:
            check_keys(converted, path.name)
            return converted
    return convert_checkpoint(read_checkpoint(path), official_kwargs, what=path.name)
