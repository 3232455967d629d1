"""NVIDIA persistence pickles (``*.pkl`` of stylegan2-ada-pytorch and stylegan3), read without running code.

The official loader executes each network's ``module_src`` (the whole networks.py) and imports
NVIDIA's packages. Here a ``pickle.Unpickler`` resolves only the globals such a file contains
(tests/fixtures/parity/stylegan2/README.md, "The persistence pickle"), each to an inert
stand-in: ``_reconstruct_persistent_obj`` returns a ``Persistent`` record of its ``meta`` dict
(``module_src`` is kept as text and never executed), ``EasyDict`` is a dict, storages are read
with ``torch.load(weights_only=True)``, numpy scalars only of numeric dtypes. Any other global
(``os.system``, ``builtins.eval``, ...) is refused before anything is built; a TensorFlow-era
pickle (``dnnlib.tflib``) is named as such.

``read_file`` returns G_ema as a ``Converted`` (its state dict rebuilt in ``state_dict()`` order
from the records, its ``init_kwargs`` as the official kwargs, overridden by ``zoo.load``'s).
"""

from __future__ import annotations

import codecs
import collections
import io
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CheckpointError, UnsafeCheckpointError
from .base import Converted

SIGNATURES = (b"torch_utils.persistence", b"dnnlib.tflib")  # PyTorch-era and TensorFlow-era NVIDIA pickles
SNIFF_BYTES = 1 << 20
PERSISTENCE_VERSION = 6


@dataclass
class Persistent:
    """What ``torch_utils.persistence._reconstruct_persistent_obj(meta)`` would have rebuilt."""

    meta: dict[str, Any]

    @property
    def class_name(self) -> str:
        return str(self.meta.get("class_name", ""))

    @property
    def state(self) -> dict[str, Any]:
        state = self.meta.get("state")
        if not isinstance(state, dict):
            raise CheckpointError(f"persistent {self.class_name} has no state dict")
        return state


class _EasyDict(dict):
    """``dnnlib.util.EasyDict``: a dict (with a ``__dict__`` for pickle's BUILD, which it leaves empty)."""


def _reconstruct(meta: Any) -> Persistent:
    if not isinstance(meta, dict) or meta.get("type") != "class":
        raise CheckpointError("a persistent object's meta is not a class record")
    if meta.get("version") != PERSISTENCE_VERSION:
        raise CheckpointError(f"persistence format version {meta.get('version')!r} is not supported (only {PERSISTENCE_VERSION})")
    return Persistent(meta)


def _storage_from_bytes(blob: bytes):
    import torch

    if not isinstance(blob, (bytes, bytearray)):
        raise CheckpointError("a storage record is not bytes")
    return torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)


def _numpy_dtype(*args: Any):
    import numpy as np

    dtype = np.dtype(*args)
    if dtype.kind not in "biuf":
        raise UnsafeCheckpointError(f"the pickle asks for a numpy {dtype} value; only numbers are read")
    return dtype


def _numpy_scalar(dtype: Any, data: Any = None):
    import numpy as np

    if not isinstance(dtype, np.dtype) or dtype.kind not in "biuf" or not isinstance(data, bytes):
        raise UnsafeCheckpointError("the pickle asks for a numpy scalar that is not a plain number")
    return np.frombuffer(data, dtype=dtype, count=1)[0].item()


def _encode(text: str, encoding: str = "utf-8") -> bytes:
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1", "utf-8", "utf8"):
        raise UnsafeCheckpointError("the pickle asks for _codecs.encode with unexpected arguments")
    return codecs.encode(text, encoding)


def _allowed() -> dict[tuple[str, str], Any]:
    import torch._utils

    rebuild_param_state = getattr(torch._utils, "_rebuild_parameter_with_state", None)
    table = {
        ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct,
        ("dnnlib.util", "EasyDict"): _EasyDict,
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
        ("torch._utils", "_rebuild_parameter"): torch._utils._rebuild_parameter,
        ("torch.storage", "_load_from_bytes"): _storage_from_bytes,
        ("numpy.core.multiarray", "scalar"): _numpy_scalar,
        ("numpy._core.multiarray", "scalar"): _numpy_scalar,
        ("numpy", "dtype"): _numpy_dtype,
        ("builtins", "set"): set,
        ("__builtin__", "set"): set,
        ("_codecs", "encode"): _encode,
    }
    if rebuild_param_state is not None:
        table[("torch._utils", "_rebuild_parameter_with_state")] = rebuild_param_state
    return table


class _Unpickler(pickle.Unpickler):
    def __init__(self, file) -> None:
        super().__init__(file)
        self._table = _allowed()

    def find_class(self, module: str, name: str) -> Any:
        found = self._table.get((module, name))
        if found is not None:
            return found
        if module.startswith("dnnlib.tflib"):
            raise CheckpointError(
                "a TensorFlow-era StyleGAN pickle (dnnlib.tflib); convert it with NVIDIA's "
                "stylegan2-ada-pytorch legacy.py first, then load the converted .pkl"
            )
        raise UnsafeCheckpointError(f"the pickle asks for {module}.{name}, which could run code")

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafeCheckpointError("the pickle uses persistent ids, which NVIDIA's pickles do not")


def is_persistence_pickle(path: Path) -> bool:
    """True when ``path`` is a pickle naming NVIDIA's ``torch_utils.persistence`` (or TensorFlow-era
    ``dnnlib.tflib``) near its start."""
    with open(path, "rb") as f:
        head = f.read(SNIFF_BYTES)
    return head[:1] == b"\x80" and any(s in head for s in SIGNATURES)


def load(path: Path) -> dict[str, Any]:
    """The top-level dict of a persistence pickle, with ``Persistent`` records for the networks."""
    try:
        with open(path, "rb") as f:
            obj = _Unpickler(f).load()
    except (CheckpointError, UnsafeCheckpointError):
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, KeyError, IndexError, RuntimeError,
            MemoryError, RecursionError, OSError) as exc:
        raise CheckpointError(f"{path.name} is a damaged NVIDIA pickle ({' '.join(str(exc).split())[:200] or type(exc).__name__})") from None
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path.name} is an NVIDIA pickle, but not of a dict of networks")
    return obj


def state_dict_of(record: Persistent, prefix: str = "") -> dict[str, Any]:
    """The record's ``state_dict()``: its parameters, persistent buffers, then its children's."""
    import torch

    state = record.state
    out: dict[str, Any] = {}
    skip = set(state.get("_non_persistent_buffers_set") or ())
    for name, value in (state.get("_parameters") or {}).items():
        if value is not None:
            out[prefix + name] = value.detach() if isinstance(value, torch.Tensor) else value
    for name, value in (state.get("_buffers") or {}).items():
        if value is not None and name not in skip:
            out[prefix + name] = value
    for name, child in (state.get("_modules") or {}).items():
        if child is None:
            continue
        if not isinstance(child, Persistent):
            raise CheckpointError(f"{prefix}{name} is not a persistent NVIDIA module")
        out.update(state_dict_of(child, f"{prefix}{name}."))
    for key, value in out.items():
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{key} is a {type(value).__name__}, not a tensor")
    return out


def _plain(value: Any) -> Any:
    """init_kwargs with EasyDicts as dicts and tuples as lists (JSON-ready)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def read_file(path: Path, official_kwargs: dict[str, Any] | None = None) -> Converted | None:
    """G_ema of an NVIDIA persistence pickle as a ``Converted``; None when ``path`` is not one."""
    from .stylegan2 import convert_nvidia

    path = Path(path)
    if not is_persistence_pickle(path):
        return None
    top = load(path)
    g_ema = top.get("G_ema")
    if not isinstance(g_ema, Persistent):
        raise CheckpointError(f"{path.name} is an NVIDIA pickle without a G_ema network (keys: {', '.join(map(str, list(top)[:6]))})")
    source = str(g_ema.meta.get("module_src", ""))
    if g_ema.class_name != "Generator":
        raise CheckpointError(f"{path.name}: G_ema is a {g_ema.class_name!r}, not a Generator")
    if "SynthesisInput" in source or "filtered_lrelu" in source:
        raise CheckpointError(f"{path.name} is a StyleGAN3 ('T'/'R', alias-free) generator, which gan-zoo does not support yet")
    init_kwargs = _plain(g_ema.state.get("_init_kwargs") or {})
    converted = convert_nvidia(state_dict_of(g_ema), {**init_kwargs, **(official_kwargs or {})})
    converted.layout = "nvidia-pickle"
    converted.wrapper = "G_ema"
    held = [k for k in ("G", "D") if isinstance(top.get(k), Persistent)]
    if held:
        converted.notes.append(f"the pickle also holds {' and '.join(held)}; G_ema was taken (module_src was never executed)")
    if "D" in held:
        try:
            converted.companions["discriminator"] = _discriminator(top, path)
            converted.notes.append("D was kept beside G_ema as the discriminator (projection's fallback distance)")
        except CheckpointError as exc:
            converted.notes.append(f"D was not kept: {exc}")
    return converted


def _discriminator(top: dict[str, Any], path: Path) -> Converted:
    from . import check_keys
    from .stylegan2 import convert_nvidia_discriminator

    d = top.get("D")
    if not isinstance(d, Persistent) or d.class_name != "Discriminator":
        raise CheckpointError(f"{path.name} holds no discriminator D")
    converted = convert_nvidia_discriminator(state_dict_of(d), _plain(d.state.get("_init_kwargs") or {}))
    converted.layout = "nvidia-pickle"
    converted.wrapper = "D"
    check_keys(converted, f"{path.name} D")
    return converted


def read_discriminator(path: Path) -> Converted:
    """The discriminator ``D`` of an NVIDIA persistence pickle (projection and training use it)."""
    path = Path(path)
    if not is_persistence_pickle(path):
        raise CheckpointError(f"{path.name} is not an NVIDIA persistence pickle")
    return _discriminator(load(path), path)
