"""How every task runs its network in float16 or bfloat16: autocast over float32 weights, with a guard.

``zoo.load(name, device="cuda", dtype="float16")`` keeps the parameters in float32 and runs each
forward under ``torch.autocast(device, dtype)``. Autocast's own op lists then decide the
precision per operation: convolutions and matrix products run in the reduced dtype (tensor
cores on a GPU), while the operations that break in float16 stay float32: sums of squares and
``rsqrt`` (StyleGAN2's demodulation), softmax (DeepFill's contextual attention), norms
(InstanceNorm / BatchNorm statistics, LPIPS's unit-normalised features), ``pow`` and ``exp``. A
cast of the whole network (``net.half()``, what the official Real-ESRGAN and StyleGAN2 scripts
do) runs those in float16 too, which is where their NaN / black-image reports come from.

The guard: an output holding NaN or Inf (an activation beyond float16's 65504) is never
returned. The same call runs again in float32, and a warning says so once per model, so a
reduced-precision run loses nothing but the time of that one call. bfloat16 has float32's range
(it does not overflow where float32 does not), at 8 bits of mantissa instead of 11.

Measured on the CPU (tests/test_precision.py, every family against its float32 output):
float16 within about 1 8-bit level, bfloat16 within about 16. On a GPU this was not measured
here (no GPU was lent to these sessions): the code is device-neutral (inputs move to the task's
device, outputs come back to the CPU as float32), but its CUDA figures are unknown.

The CPU fast paths are float32 only (``fast_path.gate`` refuses autocast): on a CPU without
native float16 / bfloat16 arithmetic (AVX512-FP16, AMX) a reduced dtype is much slower than
float32 and only worth it to check numerics.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, TypeVar

import torch

T = TypeVar("T")


def _tensors(value: Any):
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _tensors(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item)


def all_finite(value: Any) -> bool:
    """True when every floating-point tensor in ``value`` (a tensor, or tuples / lists / dicts of them) is finite."""
    return all(bool(torch.isfinite(t).all()) for t in _tensors(value) if t.is_floating_point())


class Precision:
    """Runs network calls of one task in its dtype on its device (module docstring).

    ``precision(fn, *args)`` returns ``fn(*args)``, computed under autocast for float16 /
    bfloat16 and again in float32 when that result is not finite. ``fn`` must be repeatable
    (seed any random draws inside it)."""

    def __init__(self, device: torch.device, dtype: torch.dtype, name: str) -> None:
        self.device = device
        self.dtype = dtype
        self.name = name
        self.fallbacks = 0  # calls that were computed again in float32

    @property
    def reduced(self) -> bool:
        return self.dtype != torch.float32

    def __call__(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if not self.reduced:
            return fn(*args, **kwargs)
        with torch.autocast(self.device.type, dtype=self.dtype):
            out = fn(*args, **kwargs)
        if all_finite(out):
            return out
        self.fallbacks += 1
        if self.fallbacks == 1:
            dtype = str(self.dtype).removeprefix("torch.")
            warnings.warn(f"{self.name}: {dtype} overflowed (NaN or Inf in the output); computing it in float32 instead",
                          RuntimeWarning, stacklevel=2)
        return fn(*args, **kwargs)
