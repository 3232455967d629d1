"""The common shape of task objects returned by ``zoo.load``.

A task object holds ``.net`` (the ``torch.nn.Module``, eval mode, float32 parameters on the
task's device), ``.info`` (the registry entry, or a synthetic one for files), ``.folder_config``
(the converted folder's ``config.json``), the device and the dtype its forward passes compute in,
and ``.precision`` (``zoo.tasks.precision``), through which every task calls its network.
Subclasses add ``__call__`` on PIL images.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from ..archs.descriptor import Descriptor, noun
from ..errors import WrongFamilyError
from ..registry import ModelInfo
from .precision import Precision

DTYPES = {
    None: torch.float32,
    "float32": torch.float32,
    "fp32": torch.float32,
    "float16": torch.float16,
    "fp16": torch.float16,
    "half": torch.float16,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
}


def resolve_dtype(dtype: Any) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    try:
        return DTYPES[dtype]
    except KeyError:
        raise ValueError(f"unsupported dtype {dtype!r} (use float32, float16 or bfloat16)") from None


DEVICE_TYPES = ("cpu", "cuda")


def resolve_device(device: Any) -> torch.device:
    """``device`` as a ``torch.device``: "cpu", "cuda" or "cuda:N" of a GPU that is here (ValueError otherwise)."""
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"unknown device {device!r} (use cpu or cuda)") from None
    if resolved.type not in DEVICE_TYPES:
        raise ValueError(f"device {resolved.type} is not supported (use cpu or cuda)")
    if resolved.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError("no CUDA GPU is available here (torch.cuda.is_available() is False); use cpu")
        if resolved.index is not None and resolved.index >= count:
            raise ValueError(f"there is no {resolved}: this machine has {count} CUDA GPU(s), cuda:0 to cuda:{count - 1}")
    return resolved


class Task:
    """Base of the task objects: holds the network and where it runs."""

    task: str = ""

    def __init__(self, net: torch.nn.Module, info: ModelInfo, folder_config: dict[str, Any], *, device: str = "cpu", dtype: Any = None,
                 companions: Callable[[str], Any] | None = None) -> None:
        self.info = info
        self._companions = companions
        self.folder_config = folder_config
        self.descriptor = self.check_network(net, info.name)
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype)
        dtype_name = str(self.dtype).removeprefix("torch.")
        if not self.descriptor.supports(self.device.type, dtype_name):
            raise ValueError(
                f"{dtype_name} does not run on {self.device.type} for {info.name}; "
                f"use {' or '.join(self.descriptor.dtypes.get(self.device.type, ('float32',)))}"
            )
        self.precision = Precision(self.device, self.dtype, info.name)
        self.net = self.place(net)

    @classmethod
    def check_network(cls, net: torch.nn.Module, name: str) -> Descriptor:
        """The network's descriptor, if it serves this task (``WrongFamilyError`` otherwise)."""
        descriptor = getattr(net, "descriptor", None)
        if not isinstance(descriptor, Descriptor) or descriptor.task != cls.task:
            what = descriptor.noun if isinstance(descriptor, Descriptor) else f"a {type(net).__name__}"
            raise WrongFamilyError(f"{name} is {what}, not {noun(cls.task)}")
        return descriptor

    def place(self, net: torch.nn.Module) -> torch.nn.Module:
        """``net`` on this task's device, in eval mode, with frozen float32 parameters (a reduced
        dtype is the compute dtype of ``precision``, not the weights')."""
        net = net.to(device=self.device, dtype=torch.float32).eval()
        for p in net.parameters():
            p.requires_grad_(False)
        return net

    def companion(self, role: str) -> Any | None:
        """A network this task may use beside its own (``zoo.loading.load_companion``: "discriminator",
        "lpips"), or None when it is not here."""
        return self._companions(role) if self._companions is not None else None

    @property
    def name(self) -> str:
        return self.info.name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.info.name!r}, arch={self.folder_config.get('arch')!r}, device={str(self.device)!r}, dtype={self.dtype})"
