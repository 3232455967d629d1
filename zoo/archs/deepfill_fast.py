"""No-grad CPU fast route of the DeepFill v2 generator (``zoo.archs.deepfill``).

``DeepFillV2.forward`` calls ``forward`` when ``zoo.archs.fast_path.gate`` allows it. Same
parameters, nothing cached; outputs differ from the plain forward by float32 rounding only. What
it does differently (measured at 512x512, cnum 48, on this CPU; benchmarks/RESULTS.md):

* activations are channels_last and the convolutions are single oneDNN calls with their bias
  (1.3-6x faster per layer than NCHW here); TF SAME padding of a stride-1 layer is the conv's own
  symmetric padding (no padded copy), only the stride-2 layers pad first;
* a gated layer is two convolutions, one per half of the weight (features, gates), so both
  outputs are contiguous and the gates' sigmoid (and pmconv6's ReLU) is a oneDNN post-op;
* ELU is computed as ``exp(min(f, 0)) - 1 + max(f, 0)`` in place: this torch build's ELU kernel
  is about 30x slower than its sigmoid (12 ms against 3.4 ms for the whole gate on a 96-channel
  128x128 map).

The contextual attention runs as in the plain forward (it works per sample on small maps).
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from . import deepfill as arch  # attributes are read at call time (arch imports this module)
from . import fast_path

_CL = torch.channels_last


def _cl(x: torch.Tensor) -> torch.Tensor:
    return x.contiguous(memory_format=_CL)


def gated(layer, x: torch.Tensor) -> torch.Tensor:
    """``GatedConv.forward`` on a channels_last ``x``."""
    conv = layer.conv
    if layer.same and layer.stride == 1:
        pad = layer.rate * (layer.k - 1) // 2  # SAME for an odd kernel at stride 1: the same on both sides
        padding = (pad, pad)
    elif layer.same:
        x, padding = _cl(arch.same_pad(x, layer.k, layer.stride, layer.rate)), (0, 0)
    else:
        padding = conv.padding
    x = _cl(x)
    if layer.act is None:
        return fast_path.conv_pointwise(x, _cl(conv.weight), conv.bias, padding, conv.stride, conv.dilation, 1)
    c = layer.cout  # features and gates as two convolutions: contiguous halves, the sigmoid fused into the second
    w, b = conv.weight, conv.bias
    features = fast_path.conv_pointwise(x, _cl(w[:c]), b[:c], padding, conv.stride, conv.dilation, 1,
                                        "relu" if layer.act == "relu" else "none")
    gates = fast_path.conv_pointwise(x, _cl(w[c:]), b[c:], padding, conv.stride, conv.dilation, 1, "sigmoid")
    if layer.act == "elu":
        features = features.clamp(max=0).exp_().sub_(1).add_(features.clamp_(min=0))
    return features.mul_(gates)


def run(net, names: tuple[str, ...], x: torch.Tensor) -> torch.Tensor:
    for name in names:
        layer = getattr(net, name)
        if hasattr(layer, "cout"):
            x = gated(layer, x)
        else:  # GatedUpConv
            x = gated(layer.conv, F.interpolate(x, scale_factor=2, mode="nearest", recompute_scale_factor=False))
    return x


def forward(net, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``DeepFillV2.forward`` (arguments already checked): (stage1, stage2), NCHW."""
    stage1 = torch.tanh(run(net, arch.COARSE, _cl(x)))
    xnow = _cl(stage1 * mask + x[:, :3] * (1.0 - mask))
    hallu = run(net, arch.CONV_BRANCH, xnow)
    pm = run(net, arch.ATTENTION_BRANCH_IN, xnow)
    pm = run(net, arch.ATTENTION_BRANCH_OUT, _cl(arch.contextual_attention(pm.contiguous(), mask, net._layout)))
    y = run(net, arch.JOINED, _cl(torch.cat([hallu, pm], dim=1)))
    return stage1.contiguous(), torch.tanh(y).contiguous()
