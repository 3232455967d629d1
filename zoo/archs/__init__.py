"""Network definitions, one module per family. Nothing here reads files.

``build(arch, kwargs)`` constructs a network by its registry name; ``load_strict`` loads a
state dict whose keys must match exactly.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..errors import CheckpointError
from .descriptor import Descriptor
from .limits import ArchLimits, count_parameters


def _modules():
    import importlib

    from ..families import arch_modules

    return [importlib.import_module(f"{__name__}.{name}") for name in arch_modules()]


def arch_classes() -> dict[str, type]:
    """Every architecture by name (imports torch)."""
    classes: dict[str, type] = {}
    for module in _modules():
        classes.update(module.ARCHS)
    return classes


def arch_limits() -> dict[str, "ArchLimits"]:
    """Every architecture's ``ArchLimits`` (kwarg rules and parameter ceiling) by name."""
    limits: dict[str, ArchLimits] = {}
    for module in _modules():
        limits.update(module.LIMITS)
    return limits


def build(arch: Any, kwargs: Any, *, meta: bool = False):
    """A freshly initialised ``torch.nn.Module`` of architecture ``arch``.

    ``kwargs`` is checked against the architecture's limits (types, ranges), then the network
    is built on the meta device (no memory) and its parameter count checked against the
    ceiling, before anything is allocated. ``meta=True`` returns that meta-device network.
    """
    import torch

    classes = arch_classes()
    if not isinstance(arch, str) or arch not in classes:
        raise CheckpointError(f"unknown architecture {str(arch)[:60]!r}")
    limits = arch_limits()[arch]
    limits.check_kwargs(arch, kwargs)
    try:
        with torch.device("meta"):
            net = classes[arch](**kwargs)
        limits.check_size(arch, count_parameters(net))
        if meta:
            return net
        return classes[arch](**kwargs)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"cannot build {arch} with {dict(kwargs)}: {exc}") from None


def describe(arch: str, kwargs: Mapping[str, Any]) -> "Descriptor":
    """The ``Descriptor`` of ``arch`` built with ``kwargs`` (on the meta device: nothing allocated)."""
    return build(arch, kwargs, meta=True).descriptor


def load_strict(net, state_dict: Mapping[str, Any], what: str = "checkpoint", *, check_only: bool = False) -> None:
    """``net.load_state_dict(strict=True)`` with a one-line error naming the first differences.

    ``check_only`` compares keys and shapes without loading (e.g. for a net on the meta device).
    """
    expected = net.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    wrong = [
        f"{k} {list(state_dict[k].shape)} vs {list(v.shape)}"
        for k, v in expected.items()
        if k in state_dict and tuple(state_dict[k].shape) != tuple(v.shape)
    ]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing (e.g. {missing[0]})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]})")
    if wrong:
        problems.append(f"{len(wrong)} with wrong shape (e.g. {wrong[0]})")
    if problems:
        raise CheckpointError(f"{what} does not match the network: " + "; ".join(problems))
    if not check_only:
        net.load_state_dict(state_dict, strict=True)
