"""Reader for torchvision's VGG16 ImageNet checkpoint, made into LPIPS-VGG (``zoo.archs.lpips``).

The file (``vgg16-397923af.pth``, 553,433,881 bytes, a plain state dict) holds ``features.{i}``
(the 13 convolutions) and ``classifier.{0,3,6}`` (the ImageNet head). LPIPS uses the features
only: the head's 123.6M parameters are dropped, and a note says so. The linear heads come from
the ``lpips`` package (``lpips/weights/v0.1/vgg.pth``, its ``lin{k}.model.1.weight``), read with
``weights_only`` and checked against the sha256 below, so the converted folder holds the whole
distance network.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from ..errors import CheckpointError
from .base import Converted
from .checkpoint import is_state_dict

FAMILY = "perceptual"
ARCH = "lpips_vgg16"
CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
CLASSIFIER_INDICES = (0, 3, 6)
HEADS_FILE = ("weights", "v0.1", "vgg.pth")
HEADS_SHA256 = "a78928a0af1e5f0fcb1f3b9e8f8c3a2a5a3de244d830ad5c1feddc79b8432868"  # lpips 0.1.4


def _vgg16_keys() -> set[str]:
    keys = {f"features.{i}.{p}" for i in CONV_INDICES for p in ("weight", "bias")}
    return keys | {f"classifier.{i}.{p}" for i in CLASSIFIER_INDICES for p in ("weight", "bias")}


def heads_path() -> Path:
    """The ``lpips`` package's v0.1 VGG heads file (found without importing the package)."""
    spec = importlib.util.find_spec("lpips")
    if spec is None or not spec.submodule_search_locations:
        raise CheckpointError("LPIPS needs the linear heads of the lpips package: pip install lpips")
    return Path(list(spec.submodule_search_locations)[0]).joinpath(*HEADS_FILE)


def read_heads(path: Path | None = None) -> dict[str, Any]:
    """``lin{k}.weight`` ``[1, C_k, 1, 1]`` from the lpips package's file, checked by sha256."""
    from .. import download
    from .checkpoint import read_checkpoint

    path = heads_path() if path is None else Path(path)
    if not path.is_file():
        raise CheckpointError(f"the lpips package has no {'/'.join(HEADS_FILE)} ({path}); reinstall lpips")
    if download.sha256_file(path) != HEADS_SHA256:
        raise CheckpointError(f"{path} is not lpips 0.1.4's VGG heads file (its sha256 differs)")
    raw = read_checkpoint(path)
    expected = {f"lin{k}.model.1.weight" for k in range(5)}
    if not isinstance(raw, dict) or set(raw) != expected:
        raise CheckpointError(f"{path} does not hold the five LPIPS heads")
    return {f"lin{k}.weight": raw[f"lin{k}.model.1.weight"] for k in range(5)}


def convert(obj: Any, official_kwargs: dict[str, Any] | None = None) -> Converted | None:
    """torchvision's VGG16 state dict -> LPIPS-VGG (None for anything else)."""
    if not is_state_dict(obj) or set(obj) != _vgg16_keys():
        return None
    if official_kwargs:
        raise CheckpointError("LPIPS-VGG takes no constructor arguments")
    state_dict = {k: v for k, v in obj.items() if k.startswith("features.")}
    state_dict.update(read_heads())
    dropped = sum(int(v.numel()) for k, v in obj.items() if k.startswith("classifier."))
    notes = [f"classifier.* (the ImageNet head, {dropped / 1e6:.1f}M parameters) is not part of LPIPS and was not kept",
             "linear heads: lpips 0.1.4 weights/v0.1/vgg.pth"]
    return Converted(FAMILY, ARCH, {}, state_dict, "torchvision-vgg16", notes)
