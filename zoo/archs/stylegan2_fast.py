"""No-grad CPU fast route of the StyleGAN2 synthesis network (``zoo.archs.stylegan2``).

``SynthesisNetwork.forward`` calls ``synthesize`` when ``zoo.archs.fast_path.gate`` allows it (no
autograd, eval mode, float32 CPU, no hooks). Same parameters, buffers and state dict, nothing
cached; the image differs from the plain forward by float32 rounding only. What it does
differently (each measured at 1024 px on this CPU, benchmarks/RESULTS.md):

* every activation is channels_last: oneDNN then runs the 3x3 convolutions about 2x, the
  depthwise FIR filters 2.6x and the 3-channel ToRGB convolutions 10x faster than on NCHW
  tensors (it reorders NCHW tensors to its blocked layout and back on every call);
* one sample at a time, so each modulated convolution is a plain convolution with that sample's
  weights (the plain forward's grouped convolution over the batch does not exist for
  channels_last tensors); the images are concatenated at the end;
* the layer gain (sqrt(2), times sqrt(0.5) in 'resnet' blocks) is folded into the demodulated
  weights, the noise strength and the bias: lrelu(g * v) == g * lrelu(v) for g > 0;
* the bias is added by the convolution (a oneDNN bias), the FIR filter's padding is the
  convolution's zero padding (no padded copy), and the skip image's x2 up-sampling is one
  depthwise transposed convolution of the FIR filter (stride 2, padding 1) instead of zero
  insertion, padding and a 4x4 filter.

Tensors: ``x`` [1, C, r, r] channels_last float32, unbounded features; ``img`` [1, 3, r, r]
channels_last, nominal [-1, 1]; ``w`` [1, w_dim].
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from . import fast_path

_CL = torch.channels_last
_ONE = (1, 1)
_ZERO = (0, 0)
SQRT2 = math.sqrt(2.0)
LRELU_SLOPE = 0.2


def _cl(x: torch.Tensor) -> torch.Tensor:
    return x.contiguous(memory_format=_CL)


def _depthwise_fir(f: torch.Tensor, channels: int, gain: float) -> torch.Tensor:
    """The FIR filter as a depthwise conv weight [C, 1, kh, kw], flipped (fir() convolves)."""
    return _cl((f * gain).flip([0, 1])[None, None].expand(channels, 1, -1, -1))


def _modulated(layer, w: torch.Tensor, demodulate: bool, gain: float) -> torch.Tensor:
    """The layer's weight [O, I, k, k] scaled by the styles of ``w`` [1, w_dim], demodulated per
    output channel when asked, times ``gain``."""
    styles = layer.affine(w)
    if not demodulate:
        styles = styles * layer.weight_gain
    wts = layer.weight * styles.reshape(1, -1, 1, 1)
    if demodulate:
        scale = (wts.square().sum(dim=[1, 2, 3]) + 1e-8).rsqrt() * gain
        return wts * scale.reshape(-1, 1, 1, 1)
    return wts * gain if gain != 1 else wts


def synthesis_layer(layer, x: torch.Tensor, w: torch.Tensor, noise_mode: str, noise: torch.Tensor | None,
                    gain: float = 1.0) -> torch.Tensor:
    """``SynthesisLayer.forward`` for one sample (x channels_last, noise [1|r, ...] or None)."""
    g = SQRT2 * gain
    wts = _modulated(layer, w, True, g)
    bias = layer.bias * g
    if layer.up == 1:
        y = fast_path.conv_pointwise(x, _cl(wts), bias, _ONE, _ONE, _ONE, 1)
    else:
        up = fast_path.conv_transpose_pointwise(x, _cl(wts.transpose(0, 1)), None, _ZERO, _ZERO, (2, 2), _ONE, 1)
        channels = wts.shape[0]
        y = fast_path.conv_pointwise(up, _depthwise_fir(layer.resample_filter, channels, 4.0), bias, _ONE, _ONE, _ONE, channels)
    if layer.use_noise:
        strength = layer.noise_strength * g
        if noise is not None:
            y = y.add_(noise.to(y.dtype).reshape(1, 1, *noise.shape[-2:]) * strength)
        elif noise_mode == "const":
            y = y.add_(layer.noise_const * strength)
        elif noise_mode == "random":
            y = y.add_(torch.randn([1, 1, layer.resolution, layer.resolution], device=y.device) * strength)
    y = F.leaky_relu_(y, LRELU_SLOPE)
    if layer.conv_clamp is not None:
        y = y.clamp_(-layer.conv_clamp * gain, layer.conv_clamp * gain)
    return y


def to_rgb(layer, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``ToRGBLayer.forward`` for one sample: a 1x1 conv with modulated, not demodulated weights."""
    y = fast_path.conv_pointwise(x, _cl(_modulated(layer, w, False, 1.0)), layer.bias, _ZERO, _ONE, _ONE, 1)
    if layer.conv_clamp is not None:
        y = y.clamp_(-layer.conv_clamp, layer.conv_clamp)
    return y


def upsample_image(img: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """``upsample2d``: zero insertion, padding (2, 1) and the FIR filter times 4 are one depthwise
    transposed convolution of the (unflipped) filter with stride 2 and padding 1."""
    channels = img.shape[1]
    weight = _cl((f * 4.0)[None, None].expand(channels, 1, -1, -1))
    return fast_path.conv_transpose_pointwise(img, weight, None, _ONE, _ZERO, (2, 2), _ONE, channels)


def skip_conv(skip, x: torch.Tensor) -> torch.Tensor:
    """``SkipConv.forward`` (the 'resnet' shortcut), its sqrt(0.5) folded into the 1x1 weight."""
    weight = (skip.weight * (skip.weight_gain * math.sqrt(0.5))).transpose(0, 1)
    y = fast_path.conv_transpose_pointwise(x, _cl(weight), None, _ZERO, _ZERO, (2, 2), _ONE, 1)
    channels = y.shape[1]
    return fast_path.conv_pointwise(y, _depthwise_fir(skip.resample_filter, channels, 4.0), None, (2, 2), _ONE, _ONE, channels)


def synthesis_block(block, x, img, ws: torch.Tensor, noise_mode: str, noises: list) -> tuple:
    """``SynthesisBlock.forward`` for one sample; ``ws`` [1, k, w_dim]."""
    w_iter = iter(ws.unbind(dim=1))
    n_iter = iter(noises)
    if block.in_channels == 0:
        x = _cl(block.const.unsqueeze(0))
        x = synthesis_layer(block.conv1, x, next(w_iter), noise_mode, next(n_iter))
    elif hasattr(block, "skip"):  # the 'resnet' architecture's shortcut
        y = skip_conv(block.skip, x)
        x = synthesis_layer(block.conv0, x, next(w_iter), noise_mode, next(n_iter))
        x = synthesis_layer(block.conv1, x, next(w_iter), noise_mode, next(n_iter), gain=math.sqrt(0.5))
        x = y.add_(x)
    else:
        x = synthesis_layer(block.conv0, x, next(w_iter), noise_mode, next(n_iter))
        x = synthesis_layer(block.conv1, x, next(w_iter), noise_mode, next(n_iter))
    if img is not None:
        img = upsample_image(img, block.resample_filter)
    if hasattr(block, "torgb"):
        y = to_rgb(block.torgb, x, next(w_iter))
        img = y if img is None else img.add_(y)
    return x, img


def _sample_noise(noise: torch.Tensor | None, i: int) -> torch.Tensor | None:
    """Sample ``i``'s map of a noise tensor broadcastable to [N, 1, r, r]."""
    if noise is None or noise.ndim < 4 or noise.shape[0] == 1:
        return noise
    return noise[i]


def synthesize(net, ws: torch.Tensor, noise_mode: str, noises: list) -> torch.Tensor:
    """``SynthesisNetwork.forward`` (arguments already checked): [N, C, R, R] NCHW float32.

    Noise mode "random" draws the same maps from the global generator as the plain forward (one
    [N, 1, r, r] draw per layer with noise, in layer order) before the samples are run."""
    n = ws.shape[0]
    if noise_mode == "random":
        noises = [given if given is not None or not layer.use_noise
                  else torch.randn([n, 1, layer.resolution, layer.resolution], device=ws.device)
                  for layer, given in zip(net.conv_layers(), noises)]
    images = []
    for i in range(ws.shape[0]):
        x = img = None
        w_idx = n_idx = 0
        sample_ws = ws[i : i + 1]
        for res in net.block_resolutions:
            block = getattr(net, f"b{res}")
            block_ws = sample_ws.narrow(1, w_idx, block.num_conv + block.num_torgb)
            block_noises = [_sample_noise(n, i) for n in noises[n_idx : n_idx + block.num_conv]]
            x, img = synthesis_block(block, x, img, block_ws, noise_mode, block_noises)
            w_idx += block.num_conv
            n_idx += block.num_conv
        images.append(img)
    return torch.cat(images).contiguous()
