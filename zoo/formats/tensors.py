"""Checks on the tensors a checkpoint holds: nothing larger than its data, nothing but real numbers.

Two moments:

* ``check_loaded`` right after a file is read, before any conversion: every tensor must be
  backed by data the file really stores. ``torch.save`` keeps views as they are, so a 2 KB file
  can hold an expanded (stride-0) tensor that claims 9000 x 9000 values; anything that
  materialised it (``.contiguous()``, saving, building a network to match) would allocate
  gigabytes. Complex and quantized tensors are refused here too (no network of gan-zoo has
  them).
* ``finalize`` once the keys and shapes are known to match the network (so every size is bounded
  by the architecture's limits): each value's dtype must fit its slot (floating weights for
  floating parameters, integers for counters), sparse tensors are made dense, and NaN or
  infinite weights are refused as damage.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping

from ..errors import CheckpointError

MAX_DEPTH = 32  # containers nest a few levels in real checkpoints


def _tensors(obj: Any, path: str = "", depth: int = 0) -> Iterator[tuple[str, Any]]:
    """(dotted path, tensor) of every tensor in nested dicts, lists and tuples."""
    import torch

    if isinstance(obj, torch.Tensor):
        yield path or "<root>", obj
    elif depth > MAX_DEPTH:
        raise CheckpointError(f"the checkpoint nests containers more than {MAX_DEPTH} levels deep")
    elif isinstance(obj, Mapping):
        for key, value in obj.items():
            yield from _tensors(value, f"{path}.{key}" if path else str(key), depth + 1)
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            yield from _tensors(value, f"{path}[{i}]", depth + 1)


def check_loaded(obj: Any, what: str) -> None:
    """Refuse tensors that claim more values than their storage holds, and non-real dtypes."""
    import torch

    for key, t in _tensors(obj):
        name = f"{what}: tensor {key[:80]!r}"
        if t.is_complex():
            raise CheckpointError(f"{name} is complex ({t.dtype}); network weights are real numbers")
        if t.is_quantized:
            raise CheckpointError(f"{name} is quantized ({t.dtype}); gan-zoo reads float checkpoints only")
        if t.layout == torch.sparse_coo:
            check_loaded({"indices": t._indices(), "values": t._values()}, name)
            continue  # made dense by finalize, once its shape is known to fit the network
        if t.layout != torch.strided:
            raise CheckpointError(f"{name} has the {t.layout} layout; save it dense (or sparse COO)")
        stored = t.untyped_storage().nbytes()
        if t.numel() * t.element_size() > stored:
            raise CheckpointError(
                f"{name} claims {t.numel():,} values {list(t.shape)} but the file stores {stored // t.element_size():,} "
                "(an expanded view); refused, as expanding it would allocate memory the file does not justify"
            )


def finalize(state_dict: dict[str, Any], expected: Mapping[str, Any], what: str) -> None:
    """Make ``state_dict`` (keys and shapes already matching ``expected``) safe to load and save.

    In place: sparse tensors become dense; a float slot must get a floating tensor and an
    integer slot an integer one; floating weights must be finite.
    """
    import torch

    for key, value in list(state_dict.items()):
        slot = expected[key]
        if value.layout != torch.strided:
            value = value.to_dense()
            check_loaded(value, what)
            state_dict[key] = value
        if value.is_meta:
            continue  # a shape-only analysis (manifests): there are no values or dtypes to judge
        if slot.is_floating_point() != value.is_floating_point() or value.dtype == torch.bool:
            kind = "floating-point" if slot.is_floating_point() else "integer"
            raise CheckpointError(f"{what}: {key} is {value.dtype}, but the network holds {kind} values there")
        if value.is_floating_point() and value.numel() and not bool(torch.isfinite(value).all()):
            raise CheckpointError(f"{what}: {key} holds NaN or infinite values; the file is damaged")
