"""Write NVIDIA persistence-style pickles (``*.pkl``) of a ``zoo.archs.stylegan2.Generator``, for tests.

The structure is the one tests/fixtures/parity/stylegan2/README.md describes ("The persistence
pickle"): a dict with ``G``, ``D``, ``G_ema``, ``training_set_kwargs`` and ``augment_pipe``; each
network and submodule a call of ``torch_utils.persistence._reconstruct_persistent_obj(meta)``
with ``type``, ``version``, ``module_src``, ``class_name`` and ``state`` (the module's attribute
dict, with ``_init_kwargs`` as a ``dnnlib.util.EasyDict``). ``module_src`` is a harmless stand-in
unless a test passes another one. Stand-in modules for ``torch_utils.persistence`` and
``dnnlib.util`` exist only while the file is written.
"""

from __future__ import annotations

import pickle
import sys
import types
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

HARMLESS_SRC = "# stand-in for NVIDIA's networks.py: a safe loader never runs this\n"
CLASS_NAMES = {"SkipConv": "Conv2dLayer"}  # ours -> NVIDIA's, where they differ


def _reconstruct_persistent_obj(meta):  # never called: only its name is written
    raise AssertionError("the stand-in is for pickling only")


class EasyDict(dict):
    pass


class _Record:
    def __init__(self, meta: dict) -> None:
        self.meta = meta

    def __reduce__(self):
        return (_reconstruct_persistent_obj, (self.meta,))


class _Extra:
    """Extra pickled content (e.g. an evil reduce) hidden in a network's state."""

    def __init__(self, reduce: tuple) -> None:
        self.reduce = reduce

    def __reduce__(self):
        return self.reduce


def record(module: nn.Module, *, init_kwargs: dict | None = None, module_src: str = HARMLESS_SRC,
           extra_state: dict | None = None) -> _Record:
    state: dict[str, Any] = {
        "training": False,
        "_parameters": OrderedDict((k, v) for k, v in module._parameters.items()),
        "_buffers": OrderedDict((k, v) for k, v in module._buffers.items()),
        "_non_persistent_buffers_set": set(),
        "_modules": OrderedDict((k, record(v, module_src=module_src)) for k, v in module._modules.items()),
        "_forward_hooks": OrderedDict(),
        "_init_args": (),
        "_init_kwargs": EasyDict(_easy(init_kwargs or {})),
    }
    for key in ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "num_ws"):
        if hasattr(module, key):
            state[key] = getattr(module, key)
    if hasattr(module, "weight_gain"):
        state["weight_gain"] = np.float64(module.weight_gain)  # NVIDIA stores some gains as numpy scalars
    state.update(extra_state or {})
    name = CLASS_NAMES.get(type(module).__name__, type(module).__name__)
    return _Record({"type": "class", "version": 6, "module_src": module_src, "class_name": name, "state": state})


def _easy(value: Any) -> Any:
    if isinstance(value, dict):
        return EasyDict({k: _easy(v) for k, v in value.items()})
    return value


def write(path: Path, g_ema: nn.Module, init_kwargs: dict, *, protocol: int = 3, module_src: str = HARMLESS_SRC,
          extra_state: dict | None = None, top: dict | None = None) -> Path:
    """Write ``{'G': ..., 'D': None, 'G_ema': ..., 'training_set_kwargs': None, 'augment_pipe': None}``."""
    fake_persistence = types.ModuleType("torch_utils.persistence")
    fake_persistence._reconstruct_persistent_obj = _reconstruct_persistent_obj
    fake_util = types.ModuleType("dnnlib.util")
    fake_util.EasyDict = EasyDict
    names = {"torch_utils": types.ModuleType("torch_utils"), "torch_utils.persistence": fake_persistence,
             "dnnlib": types.ModuleType("dnnlib"), "dnnlib.util": fake_util}
    saved = {k: sys.modules.get(k) for k in names}
    _reconstruct_persistent_obj.__module__, _reconstruct_persistent_obj.__qualname__ = "torch_utils.persistence", "_reconstruct_persistent_obj"
    EasyDict.__module__, EasyDict.__qualname__ = "dnnlib.util", "EasyDict"
    sys.modules.update(names)
    try:
        g = record(g_ema, init_kwargs=init_kwargs, module_src=module_src, extra_state=extra_state)
        data = {"G": g, "D": None, "G_ema": g, "training_set_kwargs": None, "augment_pipe": None, **(top or {})}
        Path(path).write_bytes(pickle.dumps(data, protocol=protocol))
    finally:
        for key, value in saved.items():
            if value is None:
                sys.modules.pop(key, None)
            else:
                sys.modules[key] = value
    return Path(path)
