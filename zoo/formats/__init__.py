"""Official checkpoint readers: file -> (arch, kwargs, state dict in gan-zoo key names).

``read_official(path, config)`` is the one entry point: it reads the file safely
(``checkpoint.read_checkpoint``, or the ncnn reader for .param/.bin pairs), then asks each
family's reader whether it recognises the keys. Family readers are data-driven modules with a
``convert(obj, config) -> Converted | None`` function.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import CheckpointError
from .base import Converted

FAMILY_READERS = ("esrgan", "pix2pix", "huggan")  # module names under zoo.formats, tried in order


def _readers():
    import importlib

    return [importlib.import_module(f"{__name__}.{name}") for name in FAMILY_READERS]


def convert_checkpoint(obj: Any, config: dict[str, Any] | None = None, *, what: str = "checkpoint") -> Converted:
    """Detect the family and layout of a loaded checkpoint object and convert it."""
    for reader in _readers():
        converted = reader.convert(obj, config)
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


def ncnn_pair(path: Path) -> tuple[Path, Path] | None:
    """The (.param, .bin) pair for either file of an ncnn model, or None if ``path`` is neither."""
    if path.suffix == ".param":
        return path, path.with_suffix(".bin")
    if path.suffix == ".bin" and path.with_suffix(".param").is_file():
        return path.with_suffix(".param"), path
    return None


def read_official(path: str | Path, config: dict[str, Any] | None = None) -> Converted:
    """Read an official checkpoint file (any supported family and layout) without running code."""
    from .checkpoint import read_checkpoint

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no such file: {path}")
    pair = ncnn_pair(path)
    if pair is not None:
        from .ncnn import read_ncnn

        converted = read_ncnn(*pair, config=config)
        check_keys(converted, path.name)
        return converted
    return convert_checkpoint(read_checkpoint(path), config, what=path.name)
