"""No-grad CPU fast path of the pix2pix / CycleGAN generators (``zoo.archs.pix2pix``, ``zoo.archs.cyclegan``).

Under ``torch.no_grad()`` / ``torch.inference_mode()``, in a test mode, with float32 CPU tensors,
the generators run their convs as single oneDNN calls with fused activations (channels_last
where that pays) instead of module by module. Same parameters and state_dict, nothing cached;
outputs differ from the plain forward by float32 rounding only. ``zoo.archs.fast_path`` decides
when (its ``gate``) and holds the switch (``FAST_PATH``). benchmarks/RESULTS.md ("pix2pix /
CycleGAN: CPU speed") measures each trick.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from . import fast_path

# --------------------------------------------------------------------------------------------
# No-grad CPU fast path, shared by pix2pix.py (U-Net) and cyclegan.py (ResNet)
# --------------------------------------------------------------------------------------------
#
# Under ``torch.no_grad()`` / ``torch.inference_mode()``, in a test mode (the generator not in
# training mode, no active Dropout), with float32 CPU tensors, the generators run their convs as
# single oneDNN calls (activations fused, channels_last where that pays, see ``_layout``) instead
# of module by module. Same parameters, buffers and state_dict; nothing is cached or prepacked.
# Outputs differ from the plain forward by float32 rounding only (both are as far from a float64
# evaluation). Norm layers with running statistics (eval BatchNorm), and any norm layer whose
# ``forward`` was replaced or hooked (``zoo.tasks.norm_stats`` does that), are called as modules;
# norms with the input's own statistics run as ``_batch_stats_norm``. When the plain forward runs
# instead is ``zoo.archs.fast_path.gate``'s rule, the same for every network.

_CL = torch.channels_last
# The gate is zoo.archs.fast_path.gate; norm layers are called as modules by run_fast, so their
# hooks (zoo.tasks.norm_stats records and replays image statistics through them) still run.
MODULE_CALLS = (nn.BatchNorm2d, nn.InstanceNorm2d)


def cl(x: torch.Tensor) -> torch.Tensor:
    """``x`` in channels_last memory format (no copy when it already is)."""
    return x.contiguous(memory_format=_CL)


# Layout choice per layer, from measurements on the unet_256 / resnet_9blocks layers (see
# benchmarks/RESULTS.md): channels_last wins while the activations are large next to the weight;
# for weight-heavy layers (the U-Net's inner levels) oneDNN's channels_last path first copies the
# weight into channels_last order (10 ms for a 1024x512x4x4 kernel), so NCHW is kept; and a
# transposed conv whose input is tiny next to its weight (1x1 .. 8x8 inputs, 2-8 M weights) runs
# fastest as one GEMM on the weight as stored plus col2im (oneDNN reorders such weights slowly).
NCHW_RATIO = 4  # weight elements > NCHW_RATIO x input elements: NCHW tensors
GEMM_RATIO = 64  # transposed conv with weight elements >= GEMM_RATIO x input elements: GEMM + col2im


def _layout(x: torch.Tensor, m: nn.Module) -> torch.Tensor:
    return x.contiguous() if m.weight.numel() > NCHW_RATIO * x.numel() else cl(x)


def _activate_(x: torch.Tensor, act: str, scalars: tuple) -> torch.Tensor:
    """The post-op ``act`` applied in place."""
    if act == "relu":
        return x.relu_()
    if act == "leaky_relu":
        return F.leaky_relu_(x, scalars[0])
    if act == "tanh":
        return x.tanh_()
    return x


def conv(x: torch.Tensor, m: nn.Conv2d, act: str = "none", scalars: tuple = ()) -> torch.Tensor:
    """``act(m(x))`` as one oneDNN call; ``act`` is a oneDNN post-op name ("none", "relu",
    "leaky_relu" with ``scalars=(slope,)``, "tanh"). [N, C, H, W] float32 in any layout; the
    output is channels_last, or NCHW for weight-heavy layers (``NCHW_RATIO``)."""
    return fast_path.conv_pointwise(_layout(x, m), m.weight, m.bias, m.padding, m.stride, m.dilation, m.groups, act, scalars)


def conv_transpose(x: torch.Tensor, m: nn.ConvTranspose2d, act: str = "none", scalars: tuple = ()) -> torch.Tensor:
    """``act(m(x))`` for a transposed conv (post-ops as ``conv``). Any layout in; out as ``conv``,
    or NCHW from the GEMM route (``GEMM_RATIO``)."""
    if m.weight.numel() >= GEMM_RATIO * x.numel() and m.groups == 1 and all(o < s for o, s in zip(m.output_padding, m.stride)):
        return _activate_(_conv_transpose_gemm(x, m), act, scalars)
    return fast_path.conv_transpose_pointwise(
        _layout(x, m), m.weight, m.bias, m.padding, m.output_padding, m.stride, m.dilation, m.groups, act, scalars
    )


def _conv_transpose_gemm(x: torch.Tensor, m: nn.ConvTranspose2d) -> torch.Tensor:
    """``m(x)`` (groups 1) as a GEMM on the stored weight ``[Cin, Cout*kh*kw]`` plus col2im (``F.fold``).

    Column ``(o, i, j)`` of ``x^T W`` at input pixel p is what p adds to output pixel
    ``p * stride - padding + (i, j) * dilation``; fold sums those contributions, which is the
    transposed conv. NCHW float32 out.
    """
    n, cin, h, w = x.shape
    ho = (h - 1) * m.stride[0] - 2 * m.padding[0] + m.dilation[0] * (m.kernel_size[0] - 1) + m.output_padding[0] + 1
    wo = (w - 1) * m.stride[1] - 2 * m.padding[1] + m.dilation[1] * (m.kernel_size[1] - 1) + m.output_padding[1] + 1
    rows = x.permute(0, 2, 3, 1).reshape(n * h * w, cin)  # a view when x is channels_last
    weight = m.weight.reshape(cin, -1)
    if h * w < 16:  # BLAS is much faster this way round for very few rows (measured)
        cols = torch.mm(rows, weight).view(n, h * w, -1).transpose(1, 2)
    else:
        cols = torch.mm(weight.t(), rows.t()).view(-1, n, h * w).transpose(0, 1)
    out = F.fold(cols, (ho, wo), m.kernel_size, dilation=m.dilation, padding=m.padding, stride=m.stride)
    if m.bias is not None:
        out += m.bias.view(1, -1, 1, 1)
    return out


def apply_norm(m: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``m(x)`` for a norm layer (or Identity): [N, C, H, W] float32 in any layout, channels_last out.

    Normalisation with the input's own statistics (InstanceNorm2d without running statistics;
    BatchNorm2d in the "official" mode: training, no running statistics) runs as
    ``_batch_stats_norm`` (per sample for InstanceNorm). Anything else (running statistics,
    Identity), a single value per channel (the module raises), and any layer whose ``forward``
    was replaced or hooked (``zoo.tasks.norm_stats``) is called as the module.
    """
    if not fast_path.replaced(m) and x.shape[2] * x.shape[3] > 1:
        if type(m) is nn.InstanceNorm2d and not m.track_running_stats:
            return _batch_stats_norm(x, m.weight, m.bias, m.eps, per_sample=True)
        if type(m) is nn.BatchNorm2d and m.training and not m.track_running_stats:
            return _batch_stats_norm(x, m.weight, m.bias, m.eps, per_sample=False)
    return cl(m(x))


def _batch_stats_norm(x: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None, eps: float,
                      per_sample: bool) -> torch.Tensor:
    """Normalise [N, C, H, W] ``x`` (any layout) with its own per-channel statistics; channels_last out.

    Statistics over (H, W) of each sample (``per_sample``: InstanceNorm) or over (N, H, W)
    (BatchNorm): mean and biased variance; then ``x * a + b`` with ``a = weight / sqrt(var + eps)``,
    ``b = bias - mean * a``, the transform of torch's CPU batch_norm. torch's own channels_last
    batch_norm kernel is not used: its statistics are less accurate (measured: 2e-5 .. 6e-5
    output errors where |mean| >> std, against 1e-6 for its NCHW kernel); ``_mean_var`` is as
    accurate as the NCHW kernel, for ~20 ms more per resnet_9blocks forward.
    """
    n, c, h, w = x.shape
    groups = cl(x).permute(0, 2, 3, 1).reshape(n if per_sample else 1, -1, c)  # a view: [G, P, C]
    stats = [_mean_var(g) for g in groups]
    mean = torch.stack([m for m, _ in stats]).unsqueeze(1)  # [G, 1, C]
    scale = torch.stack([v for _, v in stats]).unsqueeze(1).add_(eps).rsqrt_()
    if weight is not None:
        scale.mul_(weight)
    shift = -mean * scale
    if bias is not None:
        shift.add_(bias)
    return torch.addcmul(shift, groups, scale).view(n, h, w, c).permute(0, 3, 1, 2)


def _mean_var(rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-column mean and biased variance of contiguous [P, C] ``rows`` (two reads of ``rows``).

    The variance sums ``(x - mean)^2`` over chunks of about 1 MB, so the squared deviations are
    never written out in full (a 64x256x256 tensor is 16 MB; its passes cost ~4 ms each here).
    """
    p, c = rows.shape
    mean = _column_sum(rows).div_(p)
    step = max(1, (1 << 18) // c)
    var = sum(_column_sum((chunk - mean).square_()) for chunk in rows.split(step))
    return mean, var.div_(p)


def _column_sum(rows: torch.Tensor) -> torch.Tensor:
    """``rows.sum(0)`` for a contiguous [P, C] (torch's cascaded sum: accurate); summed as a
    [P/k, k*C] view first when C is small (slow otherwise: 14 ms instead of 1 ms for [65536, 64])."""
    p, c = rows.shape
    k = 1
    while k * c < 512 and p % (2 * k) == 0:
        k *= 2
    return rows.view(p // k, k * c).sum(0).view(k, c).sum(0)


def post_op(m: nn.Module | None) -> tuple[str, tuple]:
    """The oneDNN post-op equal to activation module ``m`` (("none", ()) when there is none)."""
    if type(m) is nn.ReLU:
        return "relu", ()
    if type(m) is nn.LeakyReLU:
        return "leaky_relu", (m.negative_slope,)
    if type(m) is nn.Tanh:
        return "tanh", ()
    return "none", ()


def run_fast(layers: list[nn.Module], x: torch.Tensor) -> torch.Tensor:
    """Run a Sequential's ``layers`` on channels_last ``x`` with the fast-path ops (channels_last out).

    A conv directly followed by ReLU / LeakyReLU / Tanh gets it as a fused post-op; norm layers
    go through ``apply_norm``; a module with a ``forward_fast(x)`` method (e.g. a residual block) uses
    it; any other module (pads, activations, eval Dropout, Identity) is called as it is, all of
    which keep channels_last.
    """
    i = 0
    while i < len(layers):
        m = layers[i]
        nxt = layers[i + 1] if i + 1 < len(layers) else None
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            act, scalars = post_op(nxt)
            x = (conv_transpose if isinstance(m, nn.ConvTranspose2d) else conv)(x, m, act, scalars)
            i += 2 if act != "none" else 1
            continue
        if isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)):
            x = apply_norm(m, x)
        elif hasattr(m, "forward_fast"):
            x = m.forward_fast(x)
        else:
            x = m(x)
        i += 1
    return x
