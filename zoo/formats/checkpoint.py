"""Safe reading of checkpoint files: safetensors, and torch pickles without running their code.

``read_checkpoint`` returns the object stored in the file (usually a dict of tensors, or a
dict wrapping one). Pickles are read with ``torch.load(weights_only=True)``, whose unpickler
only rebuilds tensors and plain containers; a pickle that asks for any other global is
refused with ``UnsafeCheckpointError`` before any of its code runs.
"""

from __future__ import annotations

import argparse
import io
import json
import pickle
import re
import struct
import warnings
import zipfile
from pathlib import Path
from typing import Any

from ..errors import CheckpointError, UnsafeCheckpointError
from .tensors import check_loaded

NCNN_PARAM_MAGIC = b"7767517"
# What torch's weights-only unpickler says when a pickle asks for something that could run code
# (a global, a reduce call, an object build). Other unpickling errors ("Unsupported operand",
# truncation) mean a damaged file, not a malicious one.
CODE_REQUEST = re.compile(r"GLOBAL|Unsupported global|reduce|Can only (?:build|create)|NEWOBJ|unsupported class", re.IGNORECASE)


def sniff(path: Path) -> str:
    """Guess a file's format from its first bytes: safetensors, torch-zip, torch-legacy, ncnn-param."""
    with open(path, "rb") as f:
        head = f.read(16)
    if len(head) == 0:
        raise CheckpointError(f"{path.name} is empty")
    if head.startswith(b"PK\x03\x04"):
        return "torch-zip"
    if head[:1] == b"\x80" and len(head) >= 2 and head[1] in range(2, 6):
        return "torch-legacy"
    if head.startswith(NCNN_PARAM_MAGIC):
        return "ncnn-param"
    if len(head) >= 9:
        (header_len,) = struct.unpack("<Q", head[:8])
        if 0 < header_len < 100_000_000 and head[8:9] == b"{":
            return "safetensors"
    raise CheckpointError(
        f"{path.name} is not a checkpoint gan-zoo can read (expected .safetensors, a torch .pth/.pt, "
        "or an ncnn .param/.bin pair)"
    )


def read_safetensors(path: Path) -> dict[str, Any]:
    """All tensors of a safetensors file, on the CPU."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path.name} is not a valid safetensors file ({exc})") from None


def read_torch_pickle(path: Path) -> Any:
    """``torch.load(weights_only=True)`` with one-line errors; zip files are memory-mapped.

    Pickles written with protocol 3-5 (``torch.save(..., pickle_protocol=4)``) are rewritten
    into protocol 2 first (``pickle_protocol``), since torch's weights-only reader knows only
    protocol 2; the same allow-list then decides what they may build.
    """
    import torch

    from .pickle_protocol import legacy_to_protocol2, protocol_of, zip_to_protocol2

    fmt = sniff(path)
    try:
        with warnings.catch_warnings(), torch.serialization.safe_globals(SAFE_EXTRA_GLOBALS):
            warnings.simplefilter("ignore")  # torch's protocol and storage warnings; errors are reported below
            if fmt == "torch-zip" and zipfile.is_zipfile(path):
                rewritten = zip_to_protocol2(path)
                if rewritten is None:
                    return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
                return torch.load(rewritten, map_location="cpu", weights_only=True)
            with open(path, "rb") as f:
                head = f.read(2)
            if protocol_of(head) > 2:
                return torch.load(io.BytesIO(legacy_to_protocol2(path.read_bytes())), map_location="cpu", weights_only=True)
            return torch.load(path, map_location="cpu", weights_only=True)
    except UnsafeCheckpointError as exc:
        raise UnsafeCheckpointError(f"refused to load {path.name}: {exc}, which could run code; {SAFE_READING}") from None
    except CheckpointError as exc:
        raise CheckpointError(f"{path.name} is not a readable torch checkpoint ({exc})") from None
    except pickle.UnpicklingError as exc:
        message = _unpickler_reason(str(exc))
        if CODE_REQUEST.search(message):
            what = _refused_global(message)
            raise UnsafeCheckpointError(
                f"refused to load {path.name}: the pickle asks for {what}, which could run code; {SAFE_READING}"
            ) from None
        raise CheckpointError(f"{path.name} is not a readable torch checkpoint ({message})") from None
    except (RuntimeError, EOFError, ValueError, OSError, zipfile.BadZipFile, struct.error, KeyError, IndexError,
            TypeError, AttributeError, RecursionError, MemoryError) as exc:
        raise CheckpointError(
            f"{path.name} is corrupt or truncated ({_unpickler_reason(str(exc)) or type(exc).__name__})"
        ) from None


SAFE_READING = "gan-zoo reads only tensors and plain containers from pickles, and never runs their code"
# Plain-data classes training scripts pickle next to the weights, allowed on top of torch's list:
# argparse.Namespace holds a training run's arguments (rosinality's train.py saves 'args'); it only
# receives attributes, it runs nothing.
SAFE_EXTRA_GLOBALS = [argparse.Namespace]


def _unpickler_reason(text: str) -> str:
    """The cause in one of torch's load errors, without its advice (which would be to run the file's code)."""
    found = re.search(r"WeightsUnpickler error:\s*(.+?)(?:\n\s*\n|\nCheck the documentation|$)", text, re.DOTALL)
    reason = found.group(1) if found else text
    lines = [line.strip() for line in reason.strip().splitlines() if line.strip()]
    keep = [line for line in lines if "weights_only" not in line and "trusted source" not in line]
    return " ".join(keep or lines[:1])[:300]


def _refused_global(message: str) -> str:
    """The global a weights-only unpickler refused, from torch's error text."""
    found = re.search(r"GLOBAL (\S+)", message) or re.search(r"Unsupported global: (\S+)", message)
    return found.group(1) if found else "a global outside the allow-list"


def read_checkpoint(path: str | Path) -> Any:
    """The object stored in a checkpoint file, read without executing any pickled code."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no such file: {path}")
    fmt = sniff(path)
    if fmt in ("torch-zip", "torch-legacy", "safetensors"):
        obj = read_safetensors(path) if fmt == "safetensors" else read_torch_pickle(path)
        check_loaded(obj, path.name)
        return obj
    raise CheckpointError(f"{path.name} is an ncnn .param file; import it with its .bin (zoo import {path})")


def is_state_dict(obj: Any) -> bool:
    """True for a non-empty mapping of str -> tensor (``_metadata`` aside)."""
    import torch

    if not isinstance(obj, dict) or not obj:
        return False
    return all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())


def strip_prefix(state_dict: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Remove ``prefix`` from every key when all keys carry it (DataParallel's ``module.``)."""
    if state_dict and all(k.startswith(prefix) for k in state_dict):
        return {k[len(prefix):]: v for k, v in state_dict.items()}
    return state_dict
