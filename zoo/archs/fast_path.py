"""The one no-grad CPU fast path gate of every network, and the one place that calls oneDNN directly.

Networks keep their plain ``forward`` as the readable reference (the official maths, module by
module). Under ``torch.no_grad()`` / ``torch.inference_mode()``, a network whose ``gate`` says
yes runs a faster route of its own instead (channels_last tensors, convolutions with fused
activations through ``conv_pointwise`` / ``conv_transpose_pointwise``); outputs differ from the
plain forward by float32 rounding only.

``gate(net, x)`` is the same rule everywhere. The plain forward runs when:

* ``FAST_PATH`` is False (the one switch: benchmarks' baselines, debugging; ``plain()`` is a
  context manager for it), or ``$ZOO_FAST_PATH`` is ``0`` at import;
* autograd is on, the network is in training mode, autocast is on, or torch is scripting,
  tracing (ONNX export included) or compiling;
* the input is not a non-empty float32 CPU tensor with the network's input rank (NCHW images;
  ``net.FAST_PATH_INPUT_NDIM`` when it declares another, e.g. 3 for StyleGAN2's ws), or a
  parameter is not float32 on the CPU;
* oneDNN is disabled or this torch build lacks its fused ops (``have_onednn``): the fallback;
* any forward hook or pre-hook is registered globally, or on any submodule, or a submodule's
  ``forward`` was replaced: except the module types the network's fast route itself calls as
  modules (``net.FAST_PATH_MODULE_CALLS``, e.g. norm layers, whose hooks therefore still run).
  Hooks on the network itself run either way (they wrap its ``forward``);
* an active Dropout, or a convolution with non-zero padding modes or string padding.
"""

from __future__ import annotations

import contextlib
import os
from contextvars import ContextVar
from typing import Callable, Iterator, Sequence

import torch
from torch import nn

FAST_PATH = os.environ.get("ZOO_FAST_PATH", "1").strip() not in ("0", "false", "no", "off")

_HAVE_ONEDNN: bool | None = None


def have_onednn() -> bool:
    """Whether this torch build has the oneDNN fused-convolution ops the fast routes call."""
    global _HAVE_ONEDNN
    if _HAVE_ONEDNN is None:
        try:
            torch.ops.mkldnn._convolution_pointwise.default
            torch.ops.mkldnn._convolution_transpose_pointwise.default
            _HAVE_ONEDNN = torch.backends.mkldnn.is_available()
        except (AttributeError, RuntimeError):
            _HAVE_ONEDNN = False
    return _HAVE_ONEDNN


@contextlib.contextmanager
def plain() -> Iterator[None]:
    """Within the block every network runs its plain forward."""
    global FAST_PATH
    old, FAST_PATH = FAST_PATH, False
    try:
        yield
    finally:
        FAST_PATH = old


def replaced(module: nn.Module) -> bool:
    """True when calling ``module`` may do something other than its class's forward."""
    return bool(module._forward_hooks or module._forward_pre_hooks or "forward" in module.__dict__)


def gate(net: nn.Module, x: torch.Tensor) -> bool:
    """True when ``net``'s fast route may replace its plain forward on ``x`` (module docstring)."""
    if not FAST_PATH or torch.is_grad_enabled() or net.training or torch.is_autocast_enabled("cpu"):
        return False
    if x.device.type != "cpu" or x.dtype != torch.float32 or x.ndim != getattr(net, "FAST_PATH_INPUT_NDIM", 4) or x.numel() == 0:
        return False
    if torch.jit.is_scripting() or torch.jit.is_tracing() or torch.compiler.is_compiling():
        return False
    if not (torch.backends.mkldnn.enabled and have_onednn()):
        return False
    if nn.modules.module._global_forward_hooks or nn.modules.module._global_forward_pre_hooks:
        return False
    called_as_modules = tuple(getattr(net, "FAST_PATH_MODULE_CALLS", ()))
    for m in net.modules():
        if isinstance(m, nn.Dropout) and m.training and m.p > 0:
            return False
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) and (m.padding_mode != "zeros" or isinstance(m.padding, str)):
            return False
        if m is not net and replaced(m) and not (called_as_modules and isinstance(m, called_as_modules)):
            return False
    return all(p.device.type == "cpu" and p.dtype == torch.float32 for p in net.parameters())


_INTERRUPT: ContextVar[Callable[[], None] | None] = ContextVar("zoo_fast_path_interrupt", default=None)


@contextlib.contextmanager
def interruptible(check: Callable[[], None]) -> Iterator[None]:
    """Within the block (this thread / context), ``check()`` runs before every fast-path convolution;
    it raises to stop a forward pass part-way (a request that was cancelled). Costs one context
    variable read per convolution when unused."""
    token = _INTERRUPT.set(check)
    try:
        yield
    finally:
        _INTERRUPT.reset(token)


def _poll() -> None:
    check = _INTERRUPT.get()
    if check is not None:
        check()


def conv_pointwise(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, padding: Sequence[int],
                   stride: Sequence[int], dilation: Sequence[int], groups: int, act: str = "none",
                   scalars: Sequence[float] = ()) -> torch.Tensor:
    """``act(conv2d(x, weight, bias))`` in one oneDNN call; ``act`` is a oneDNN post-op name:
    "none", "relu", "leaky_relu" (``scalars=(slope,)``), "tanh". The output has x's memory format."""
    _poll()
    return torch.ops.mkldnn._convolution_pointwise(
        x, weight, bias, list(padding), list(stride), list(dilation), groups, act, list(scalars), ""
    )


def conv_transpose_pointwise(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, padding: Sequence[int],
                             output_padding: Sequence[int], stride: Sequence[int], dilation: Sequence[int], groups: int,
                             act: str = "none", scalars: Sequence[float] = ()) -> torch.Tensor:
    """``act(conv_transpose2d(x, weight, bias))`` in one oneDNN call (post-ops as ``conv_pointwise``)."""
    _poll()
    return torch.ops.mkldnn._convolution_transpose_pointwise(
        x, weight, bias, list(padding), list(output_padding), list(stride), list(dilation), groups, act, list(scalars), ""
    )
