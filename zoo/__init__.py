"""gan-zoo: official GAN checkpoints as safe, cached PyTorch models with image tasks on top.

Public API::

    zoo.list_models(task=None, family=None) -> list[ModelInfo]
    zoo.info(name) -> ModelInfo
    zoo.load(name_or_path, device="cpu", dtype=None, config=None) -> task object

Importing this package is light: torch, numpy and gradio are imported only when a model is
loaded or a task runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import ZooError
from .registry import ModelInfo

__version__ = "0.1.0"
__all__ = ["ModelInfo", "ZooError", "info", "list_models", "load", "__version__"]

if TYPE_CHECKING:
    from .tasks.base import Task


def list_models(task: str | None = None, family: str | None = None) -> list[ModelInfo]:
    """Registry entries, optionally filtered by task ("upscale", ...) and family ("esrgan", ...)."""
    from .registry import all_models

    return all_models(task=task, family=family)


def info(name: str) -> ModelInfo:
    """The registry entry called ``name`` (``UnknownModelError`` if there is none)."""
    from .registry import get

    return get(name)


def load(name_or_path: Any, device: str = "cpu", dtype: Any = None, config: dict | None = None, **kwargs: Any) -> "Task":
    """A ready task object (``Upscaler``, ...) for a registry name, a converted folder, or an official file.

    ``config`` holds official constructor kwargs for settings the weights cannot reveal (see
    ``zoo.formats``); it applies to official files only. The returned object has ``.net``
    (the ``torch.nn.Module`` in eval mode) and ``.info``.
    """
    from .loading import load as _load

    return _load(name_or_path, device=device, dtype=dtype, config=config, **kwargs)
