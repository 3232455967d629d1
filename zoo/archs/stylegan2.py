"""StyleGAN2 generator with NVIDIA's key names and call signatures (stylegan2-ada-pytorch).

The state-dict keys are those of ``training/networks.py`` ``Generator`` (``synthesis.b{r}.*``
first, then ``mapping.*``), so NVIDIA files load as they are and rosinality files are renamed onto
them (``zoo.formats.stylegan2``). This module knows nothing about files.

Signature (tests/fixtures/parity/stylegan2/README.md has the maths and the exact scale factors):

* ``net.mapping(z, c, truncation_psi=1, truncation_cutoff=None) -> ws`` ``[N, num_ws, w_dim]``;
  z ``[N, z_dim]`` (any scale: it is normalised), c ``[N, c_dim]`` or None when ``c_dim == 0``.
* ``net.synthesis(ws, noise_mode="const", noise=None) -> img`` ``[N, img_channels, R, R]``,
  nominal range [-1, 1], not clamped. ``noise_mode``: "const" (the stored maps), "none",
  "random". ``noise``: one tensor per conv layer (4x4 first), broadcastable to ``[N, 1, r, r]``,
  used instead of the stored maps (still scaled by each layer's ``noise_strength``).
* ``net(z, c, truncation_psi=1, truncation_cutoff=None, noise_mode="const", noise=None)``.

Parameters are float32; a task may run the synthesis network in float16 / bfloat16 under
autocast (``zoo.tasks.precision``: the demodulation sums stay float32 there). NVIDIA's
``num_fp16_res`` is a training-time precision choice, not a weight: it is accepted and ignored.
``channels`` lists the feature width at each resolution
4, 8, ..., R (NVIDIA: ``min(channel_base // r, channel_max)``; rosinality tables too).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from . import fast_path, stylegan2_fast
from .descriptor import Descriptor
from .limits import BOOL, ArchLimits, Int, Ints, OneOf, Real

SQRT2 = math.sqrt(2.0)
LRELU_SLOPE = 0.2


def setup_filter(taps: list[int] | tuple[int, ...]) -> torch.Tensor:
    """The normalised 2-D FIR filter ``outer(taps, taps) / sum^2`` (``[4, 4]`` for [1, 3, 3, 1])."""
    f = torch.as_tensor(taps, dtype=torch.float32)
    f = torch.outer(f, f)
    return f / f.sum()


def fir(x: torch.Tensor, f: torch.Tensor, pad: tuple[int, int], gain: float) -> torch.Tensor:
    """Depthwise FIR filtering of ``x`` [N, C, H, W] with ``f`` [kh, kw] after padding
    ``pad`` = (before, after) on both axes; the filter is flipped (a true convolution)."""
    c = x.shape[1]
    weight = (f * gain).flip([0, 1]).to(x.dtype)[None, None].repeat(c, 1, 1, 1)
    x = F.pad(x, [pad[0], pad[1], pad[0], pad[1]])
    return F.conv2d(x, weight, groups=c)


def upsample2d(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """x2 up-sampling: zeros inserted after each sample, padding (2, 1), the filter times 4."""
    n, c, h, w = x.shape
    up = x.new_zeros(n, c, h * 2, w * 2)
    up[:, :, ::2, ::2] = x
    return fir(up, f, (2, 1), 4.0)


def lrelu_agc(x: torch.Tensor, bias: torch.Tensor, gain: float, clamp: float | None, linear: bool = False) -> torch.Tensor:
    """NVIDIA's ``bias_act``: (x + b), leaky ReLU 0.2 (unless ``linear``), times ``gain``, clamped to ±clamp.

    ``x`` is a fresh intermediate (a conv output): without autograd it is updated in place (one
    buffer instead of four, 1.3x faster at 1024 px); with autograd every step is out of place.
    """
    b = bias.to(x.dtype).reshape(1, -1, 1, 1)
    if torch.is_grad_enabled() and (x.requires_grad or bias.requires_grad):
        x = x + b
        x = F.leaky_relu(x, LRELU_SLOPE) if not linear else x
        x = x * gain if gain != 1 else x
        return x.clamp(-clamp, clamp) if clamp is not None else x
    x = x.add_(b)
    if not linear:
        x = F.leaky_relu_(x, LRELU_SLOPE)
    if gain != 1:
        x = x.mul_(gain)
    if clamp is not None:
        x = x.clamp_(-clamp, clamp)
    return x


def modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, *, demodulate: bool, up: int,
                     padding: int, f: torch.Tensor | None = None) -> torch.Tensor:
    """The modulated convolution, one grouped conv for the batch.

    x [N, I, H, W], weight [O, I, k, k] (stored, no gain), styles [N, I]. W' = W * s (per input
    channel), demodulated per output channel by (sum W'^2 + 1e-8)^-1/2. ``up == 2``: a transposed
    conv with stride 2 of the weights as stored, then the FIR filter (padding 1, gain 4).
    """
    n, cin, h, w = x.shape
    cout, _, kh, kw = weight.shape
    wts = weight.unsqueeze(0) * styles.reshape(n, 1, cin, 1, 1)
    if demodulate:
        wts = wts * (wts.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt().reshape(n, cout, 1, 1, 1)
    x = x.reshape(1, n * cin, h, w)
    if up == 1:
        y = F.conv2d(x, wts.reshape(n * cout, cin, kh, kw), padding=padding, groups=n)
    else:
        wt = wts.transpose(1, 2).reshape(n * cin, cout, kh, kw)
        y = F.conv_transpose2d(x, wt, stride=2, groups=n)
        y = fir(y, f, (1, 1), 4.0)
    return y.reshape(n, cout, *y.shape[2:])


class FullyConnectedLayer(nn.Module):
    """``weight`` [out, in] stored as N(0,1)/lr; runs with gain lr/sqrt(in) (bias: lr)."""

    def __init__(self, in_features: int, out_features: int, *, activation: bool = False, lr_multiplier: float = 1.0,
                 bias_init: float = 0.0) -> None:
        super().__init__()
        self.activation = activation
        self.weight = nn.Parameter(torch.randn([out_features, in_features]) / lr_multiplier)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init)))
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight * self.weight_gain
        b = self.bias * self.bias_gain
        if not self.activation:
            return torch.addmm(b.unsqueeze(0), x, w.t())
        return F.leaky_relu(x.matmul(w.t()) + b, LRELU_SLOPE) * SQRT2


def resolution_table(img_resolution: int, channels: list[int] | None) -> tuple[list[int], list[int]]:
    """(resolutions 4..R, their widths): ``channels`` checked, or NVIDIA's default table
    ``min(32768 // r, 512)``. ValueError for a resolution that is not a power of two >= 4."""
    if img_resolution < 4 or img_resolution & (img_resolution - 1):
        raise ValueError(f"img_resolution must be a power of two >= 4, not {img_resolution}")
    resolutions = [2**i for i in range(2, int(math.log2(img_resolution)) + 1)]
    widths = list(channels) if channels is not None else [min(32768 // r, 512) for r in resolutions]
    if len(widths) != len(resolutions):
        raise ValueError(f"channels must list one width per resolution 4..{img_resolution} ({len(resolutions)}), not {len(widths)}")
    return resolutions, widths


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


class MappingNetwork(nn.Module):
    """z (and an embedded label c) -> w, broadcast to ``num_ws`` copies, truncated toward ``w_avg``."""

    def __init__(self, z_dim: int, c_dim: int, w_dim: int, num_ws: int, num_layers: int, embed_features: int,
                 layer_features: int, lr_multiplier: float) -> None:
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws, self.num_layers = z_dim, c_dim, w_dim, num_ws, num_layers
        features = [z_dim + embed_features] + [layer_features] * (num_layers - 1) + [w_dim]
        if c_dim > 0:
            self.embed = FullyConnectedLayer(c_dim, embed_features)
        for i in range(num_layers):
            setattr(self, f"fc{i}", FullyConnectedLayer(features[i], features[i + 1], activation=True, lr_multiplier=lr_multiplier))
        self.register_buffer("w_avg", torch.zeros([w_dim]))

    def forward(self, z: torch.Tensor, c: torch.Tensor | None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None) -> torch.Tensor:
        parts = []
        if self.z_dim > 0:
            if z.ndim != 2 or z.shape[1] != self.z_dim:
                raise ValueError(f"z must be [N, {self.z_dim}], not {list(z.shape)}")
            parts.append(normalize_2nd_moment(z.float()))
        if self.c_dim > 0:
            if c is None or c.ndim != 2 or c.shape[1] != self.c_dim or c.shape[0] != z.shape[0]:
                raise ValueError(f"this generator is conditional: c must be [N, {self.c_dim}]")
            parts.append(normalize_2nd_moment(self.embed(c.float())))
        x = torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
        for i in range(self.num_layers):
            x = getattr(self, f"fc{i}")(x)
        x = x.unsqueeze(1).repeat([1, self.num_ws, 1])
        if truncation_psi != 1:
            cut = self.num_ws if truncation_cutoff is None else int(truncation_cutoff)
            x[:, :cut] = self.w_avg.lerp(x[:, :cut], truncation_psi)
        return x


class SynthesisLayer(nn.Module):
    """A modulated 3x3 conv (``up`` 2 for a block's first), noise, bias, leaky ReLU, clamp."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, *, up: int, use_noise: bool,
                 conv_clamp: float | None, resample_filter: list[int]) -> None:
        super().__init__()
        self.resolution, self.up, self.use_noise, self.conv_clamp = resolution, up, use_noise, conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, 3, 3]))
        if use_noise:
            self.register_buffer("noise_const", torch.randn([resolution, resolution]))
            self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str, noise: torch.Tensor | None, gain: float = 1.0) -> torch.Tensor:
        styles = self.affine(w)
        x = modulated_conv2d(x, self.weight, styles, demodulate=True, up=self.up, padding=1, f=self.resample_filter)
        if self.use_noise:
            if noise is not None:
                x = x.add_(noise.to(x.dtype) * self.noise_strength)
            elif noise_mode == "const":
                x = x.add_(self.noise_const * self.noise_strength)
            elif noise_mode == "random":
                x = x.add_(torch.randn([x.shape[0], 1, self.resolution, self.resolution], device=x.device) * self.noise_strength)
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return lrelu_agc(x, self.bias, SQRT2 * gain, clamp)


class ToRGBLayer(nn.Module):
    """A modulated 1x1 conv without demodulation (styles times 1/sqrt(in)), bias, clamp."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, conv_clamp: float | None) -> None:
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, 1, 1]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        self.weight_gain = 1 / math.sqrt(in_channels)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w) * self.weight_gain
        x = modulated_conv2d(x, self.weight, styles, demodulate=False, up=1, padding=0)
        return lrelu_agc(x, self.bias, 1.0, self.conv_clamp, linear=True)


class SkipConv(nn.Module):
    """The 'resnet' architecture's shortcut: a 1x1 conv without bias, x2 up-sampled (gain sqrt(0.5))."""

    def __init__(self, in_channels: int, out_channels: int, resample_filter: list[int]) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, 1, 1]))
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.weight_gain = 1 / math.sqrt(in_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = (self.weight * self.weight_gain).transpose(0, 1)
        y = F.conv_transpose2d(x, w, stride=2)
        return fir(y, self.resample_filter, (2, 2), 4.0) * math.sqrt(0.5)


class SynthesisBlock(nn.Module):
    """One resolution: (const | up-conv), conv, and ToRGB for 'skip' (or the last block)."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, img_channels: int, *,
                 is_last: bool, architecture: str, use_noise: bool, conv_clamp: float | None, resample_filter: list[int]) -> None:
        super().__init__()
        self.in_channels, self.architecture, self.is_last = in_channels, architecture, is_last
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        layer = dict(use_noise=use_noise, conv_clamp=conv_clamp, resample_filter=resample_filter)
        self.num_conv = self.num_torgb = 0
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn([out_channels, resolution, resolution]))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim, resolution, up=2, **layer)
            self.num_conv += 1
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim, resolution, up=1, **layer)
        self.num_conv += 1
        if is_last or architecture == "skip":
            self.torgb = ToRGBLayer(out_channels, img_channels, w_dim, conv_clamp)
            self.num_torgb += 1
        if in_channels != 0 and architecture == "resnet":
            self.skip = SkipConv(in_channels, out_channels, resample_filter)

    def forward(self, x, img, ws: torch.Tensor, noise_mode: str, noises: list) -> tuple[torch.Tensor, torch.Tensor | None]:
        w_iter = iter(ws.unbind(dim=1))
        n_iter = iter(noises)
        if self.in_channels == 0:
            x = self.const.unsqueeze(0).repeat([ws.shape[0], 1, 1, 1])
            x = self.conv1(x, next(w_iter), noise_mode, next(n_iter))
        elif self.architecture == "resnet":
            y = self.skip(x)
            x = self.conv0(x, next(w_iter), noise_mode, next(n_iter))
            x = self.conv1(x, next(w_iter), noise_mode, next(n_iter), gain=math.sqrt(0.5))
            x = y + x
        else:
            x = self.conv0(x, next(w_iter), noise_mode, next(n_iter))
            x = self.conv1(x, next(w_iter), noise_mode, next(n_iter))
        if img is not None:
            img = upsample2d(img, self.resample_filter)
        if self.is_last or self.architecture == "skip":
            y = self.torgb(x, next(w_iter)).float()
            img = y if img is None else img.add_(y)  # img is the fresh up-sampled image
        return x, img


class SynthesisNetwork(nn.Module):
    """ws [N, num_ws, w_dim] -> img [N, img_channels, R, R]; without autograd on float32 CPU
    tensors the forward is ``zoo.archs.stylegan2_fast.synthesize`` (``fast_path.gate``)."""

    FAST_PATH_INPUT_NDIM = 3  # the gate's input is ws

    def __init__(self, w_dim: int, img_resolution: int, img_channels: int, channels: list[int], *, architecture: str,
                 use_noise: bool, conv_clamp: float | None, resample_filter: list[int]) -> None:
        super().__init__()
        self.w_dim, self.img_resolution, self.img_channels = w_dim, img_resolution, img_channels
        self.block_resolutions = [2**i for i in range(2, int(math.log2(img_resolution)) + 1)]
        self.num_ws = 0
        for i, res in enumerate(self.block_resolutions):
            block = SynthesisBlock(channels[i - 1] if i else 0, channels[i], w_dim, res, img_channels,
                                   is_last=res == img_resolution, architecture=architecture, use_noise=use_noise,
                                   conv_clamp=conv_clamp, resample_filter=resample_filter)
            self.num_ws += block.num_conv + (block.num_torgb if res == img_resolution else 0)
            setattr(self, f"b{res}", block)
        self.num_layers = sum(getattr(self, f"b{r}").num_conv for r in self.block_resolutions)

    def conv_layers(self) -> list[SynthesisLayer]:
        """The modulated conv layers in order, 4x4 first: one per map of ``forward``'s ``noise``."""
        blocks = [getattr(self, f"b{r}") for r in self.block_resolutions]
        return [getattr(b, name) for b in blocks for name in ("conv0", "conv1") if hasattr(b, name)]

    def forward(self, ws: torch.Tensor, noise_mode: str = "const", noise: list | None = None) -> torch.Tensor:
        if noise_mode not in ("const", "none", "random"):
            raise ValueError(f"noise_mode must be 'const', 'none' or 'random', not {noise_mode!r}")
        if ws.ndim != 3 or ws.shape[1:] != (self.num_ws, self.w_dim):
            raise ValueError(f"ws must be [N, {self.num_ws}, {self.w_dim}], not {list(ws.shape)}")
        if noise is not None and len(noise) != self.num_layers:
            raise ValueError(f"noise must hold {self.num_layers} tensors (one per conv layer), not {len(noise)}")
        noises = list(noise) if noise is not None else [None] * self.num_layers
        ws = ws.float()
        if fast_path.gate(self, ws):
            return stylegan2_fast.synthesize(self, ws, noise_mode, noises)
        x = img = None
        w_idx = n_idx = 0
        for res in self.block_resolutions:
            block = getattr(self, f"b{res}")
            block_ws = ws.narrow(1, w_idx, block.num_conv + block.num_torgb)
            x, img = block(x, img, block_ws, noise_mode, noises[n_idx : n_idx + block.num_conv])
            w_idx += block.num_conv
            n_idx += block.num_conv
        return img


class Generator(nn.Module):
    """StyleGAN2 generator (NVIDIA's ``Generator``): mapping + synthesis; see the module docstring."""

    def __init__(
        self,
        z_dim: int = 512,
        c_dim: int = 0,
        w_dim: int = 512,
        img_resolution: int = 1024,
        img_channels: int = 3,
        channels: list[int] | None = None,
        mapping_layers: int = 8,
        embed_features: int | None = None,
        layer_features: int | None = None,
        lr_multiplier: float = 0.01,
        architecture: str = "skip",
        conv_clamp: float | None = None,
        use_noise: bool = True,
        resample_filter: list[int] | None = None,
    ) -> None:
        super().__init__()
        _, channels = resolution_table(img_resolution, channels)
        embed = (w_dim if embed_features is None else embed_features) if c_dim > 0 else 0
        self.z_dim, self.c_dim, self.w_dim = z_dim, c_dim, w_dim
        self.img_resolution, self.img_channels = img_resolution, img_channels
        self.synthesis = SynthesisNetwork(w_dim, img_resolution, img_channels, channels, architecture=architecture,
                                          use_noise=use_noise, conv_clamp=conv_clamp, resample_filter=list(resample_filter or [1, 3, 3, 1]))
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(z_dim, c_dim, w_dim, self.num_ws, mapping_layers, embed,
                                      w_dim if layer_features is None else layer_features, lr_multiplier)

    @property
    def w_avg(self) -> torch.Tensor:
        return self.mapping.w_avg

    @property
    def descriptor(self) -> Descriptor:
        """Generator from a latent: out ``img_channels`` x R x R in nominal [-1, 1]; never tiled."""
        return Descriptor(task="generate", inputs="latent", in_channels=self.z_dim, out_channels=self.img_channels,
                          value_range=(-1.0, 1.0), same_size=False, context=None, min_size=self.img_resolution)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None, noise_mode: str = "const", noise: list | None = None) -> torch.Tensor:
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, noise_mode=noise_mode, noise=noise)


def downsample_fir(x: torch.Tensor, f: torch.Tensor, pad: int) -> torch.Tensor:
    """The FIR filter (gain 1) after padding ``pad`` on every side; then every second pixel."""
    return fir(x, f, (pad, pad), 1.0)[:, :, ::2, ::2]


class DiscConv(nn.Module):
    """NVIDIA's ``Conv2dLayer`` in the discriminator: weight gain 1/sqrt(fan_in), optional x2 down-sampling
    (3x3: FIR with padding 2 then a stride-2 conv; 1x1: FIR with padding 1, subsampling, then the conv)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, *, bias: bool = True, activation: bool = True,
                 down: bool = False, conv_clamp: float | None = None, resample_filter: list[int]) -> None:
        super().__init__()
        self.activation, self.down, self.conv_clamp = activation, down, conv_clamp
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = nn.Parameter(torch.zeros([out_channels])) if bias else None
        self.padding = kernel_size // 2
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size * kernel_size)

    def forward(self, x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        w = self.weight * self.weight_gain
        k = w.shape[-1]
        if self.down and k == 1:
            x = F.conv2d(downsample_fir(x, self.resample_filter, 1), w)
        elif self.down:
            x = F.conv2d(fir(x, self.resample_filter, (self.padding + 1, self.padding + 1), 1.0), w, stride=2)
        else:
            x = F.conv2d(x, w, padding=self.padding)
        bias = self.bias if self.bias is not None else torch.zeros(x.shape[1], dtype=x.dtype, device=x.device)
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return lrelu_agc(x, bias, (SQRT2 if self.activation else 1.0) * gain, clamp, linear=not self.activation)


class DiscriminatorBlock(nn.Module):
    """One resolution of the discriminator: (fromrgb), conv0, conv1 down, and the resnet shortcut."""

    def __init__(self, in_channels: int, tmp_channels: int, out_channels: int, img_channels: int, *, architecture: str,
                 conv_clamp: float | None, resample_filter: list[int]) -> None:
        super().__init__()
        self.in_channels, self.architecture = in_channels, architecture
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        layer = dict(conv_clamp=conv_clamp, resample_filter=resample_filter)
        if in_channels == 0 or architecture == "skip":
            self.fromrgb = DiscConv(img_channels, tmp_channels, 1, **layer)
        self.conv0 = DiscConv(tmp_channels, tmp_channels, 3, **layer)
        self.conv1 = DiscConv(tmp_channels, out_channels, 3, down=True, **layer)
        if architecture == "resnet":
            self.skip = DiscConv(tmp_channels, out_channels, 1, bias=False, activation=False, down=True, resample_filter=resample_filter)

    def forward(self, x, img):
        if self.in_channels == 0 or self.architecture == "skip":
            y = self.fromrgb(img)
            x = x + y if x is not None else y
            img = downsample_fir(img, self.resample_filter, 1) if self.architecture == "skip" else None
        if self.architecture == "resnet":
            y = self.skip(x, gain=math.sqrt(0.5))
            x = self.conv1(self.conv0(x), gain=math.sqrt(0.5))
            x = y + x
        else:
            x = self.conv1(self.conv0(x))
        return x, img


class DiscriminatorEpilogue(nn.Module):
    """4x4: minibatch standard deviation, conv, fc, out (projected onto the label's embedding if conditional)."""

    def __init__(self, in_channels: int, cmap_dim: int, img_channels: int, *, architecture: str, mbstd_group_size: int,
                 mbstd_num_channels: int, conv_clamp: float | None, resample_filter: list[int]) -> None:
        super().__init__()
        self.architecture, self.cmap_dim = architecture, cmap_dim
        self.mbstd_group_size, self.mbstd_num_channels = mbstd_group_size, mbstd_num_channels
        if architecture == "skip":
            self.fromrgb = DiscConv(img_channels, in_channels, 1, resample_filter=resample_filter)
        self.conv = DiscConv(in_channels + mbstd_num_channels, in_channels, 3, conv_clamp=conv_clamp, resample_filter=resample_filter)
        self.fc = FullyConnectedLayer(in_channels * 16, in_channels, activation=True)
        self.out = FullyConnectedLayer(in_channels, 1 if cmap_dim == 0 else cmap_dim)

    def minibatch_std(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g = min(self.mbstd_group_size, n) if self.mbstd_group_size else n
        f = self.mbstd_num_channels
        y = x.reshape(g, -1, f, c // f, h, w)
        y = (y - y.mean(dim=0)).square().mean(dim=0)
        y = (y + 1e-8).sqrt().mean(dim=[2, 3, 4]).reshape(-1, f, 1, 1).repeat(g, 1, h, w)
        return torch.cat([x, y], dim=1)

    def forward(self, x: torch.Tensor, img, cmap: torch.Tensor | None) -> torch.Tensor:
        if self.architecture == "skip":
            x = x + self.fromrgb(img)
        if self.mbstd_num_channels > 0:
            x = self.minibatch_std(x)
        x = self.out(self.fc(self.conv(x).flatten(1)))
        if self.cmap_dim > 0:
            x = (x * cmap).sum(dim=1, keepdim=True) * (1 / math.sqrt(self.cmap_dim))
        return x


class Discriminator(nn.Module):
    """StyleGAN2 discriminator (NVIDIA's ``Discriminator``): ``net(img, c) -> logits [N, 1]``.

    img ``[N, img_channels, R, R]`` in [-1, 1]; c ``[N, c_dim]`` or None. ``channels`` lists the
    widths at 4, 8, ..., R as the generator's do. ``features`` gives every block's output
    (projection's distance).
    """

    def __init__(self, c_dim: int = 0, img_resolution: int = 1024, img_channels: int = 3, channels: list[int] | None = None,
                 architecture: str = "resnet", conv_clamp: float | None = None, mbstd_group_size: int = 4,
                 mbstd_num_channels: int = 1, cmap_dim: int | None = None, mapping_layers: int = 8,
                 resample_filter: list[int] | None = None) -> None:
        super().__init__()
        resolutions, channels = resolution_table(img_resolution, channels)
        width = dict(zip(resolutions, channels))
        filt = list(resample_filter or [1, 3, 3, 1])
        self.c_dim, self.img_resolution, self.img_channels = c_dim, img_resolution, img_channels
        self.block_resolutions = resolutions[:0:-1]  # R, R/2, ..., 8
        for res in self.block_resolutions:
            setattr(self, f"b{res}", DiscriminatorBlock(width[res] if res < img_resolution else 0, width[res], width[res // 2],
                                                        img_channels, architecture=architecture, conv_clamp=conv_clamp,
                                                        resample_filter=filt))
        cmap = (width[4] if cmap_dim is None else cmap_dim) if c_dim > 0 else 0
        if c_dim > 0:
            self.mapping = _LabelMapping(c_dim, cmap, mapping_layers)
        self.b4 = DiscriminatorEpilogue(width[4], cmap, img_channels, architecture=architecture, mbstd_group_size=mbstd_group_size,
                                        mbstd_num_channels=mbstd_num_channels, conv_clamp=conv_clamp, resample_filter=filt)

    @property
    def descriptor(self) -> Descriptor:
        return Descriptor(task="discriminate", in_channels=self.img_channels, out_channels=1, value_range=(-1.0, 1.0),
                          size_multiple=self.img_resolution, min_size=self.img_resolution, same_size=False, context=None)

    def features(self, img: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor | None]:
        """The output of every block, R/2 down to 4 px (what projection compares), and the image the
        epilogue takes (the 'skip' architecture's down-sampled input; None otherwise)."""
        feats, x = [], None
        for res in self.block_resolutions:
            x, img = getattr(self, f"b{res}")(x, img)
            feats.append(x)
        return feats, img

    def forward(self, img: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        feats, img = self.features(img)
        cmap = self.mapping(c) if self.c_dim > 0 else None
        return self.b4(feats[-1], img, cmap)


class _LabelMapping(nn.Module):
    """The conditional discriminator's label mapping (NVIDIA's MappingNetwork with z_dim 0, no w_avg)."""

    def __init__(self, c_dim: int, cmap_dim: int, num_layers: int) -> None:
        super().__init__()
        self.num_layers = num_layers
        self.embed = FullyConnectedLayer(c_dim, cmap_dim)
        for i in range(num_layers):
            setattr(self, f"fc{i}", FullyConnectedLayer(cmap_dim, cmap_dim, activation=True, lr_multiplier=0.01))

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        x = normalize_2nd_moment(self.embed(c.float()))
        for i in range(self.num_layers):
            x = getattr(self, f"fc{i}")(x)
        return x


ARCHS: dict[str, type[nn.Module]] = {"stylegan2": Generator, "stylegan2_d": Discriminator}

# Released: the 1024 px generators (ffhq, metfaces; 30.4M parameters).
LIMITS = {
    "stylegan2": ArchLimits(
        kwargs={"z_dim": Int(1, 4096), "c_dim": Int(0, 100_000), "w_dim": Int(1, 4096), "img_resolution": Int(4, 4096),
                "img_channels": Int(1, 4), "channels": Ints(1, 4096, max_len=11), "mapping_layers": Int(1, 32),
                "embed_features": Int(1, 4096), "layer_features": Int(1, 4096), "lr_multiplier": Real(1e-6, 100.0),
                "architecture": OneOf(("orig", "skip", "resnet")), "conv_clamp": Real(1e-3, 1e6, optional=True),
                "use_noise": BOOL, "resample_filter": Ints(0, 1000, max_len=16)},
        max_parameters=300_000_000, largest_released=30_370_060,
    ),
    "stylegan2_d": ArchLimits(
        kwargs={"c_dim": Int(0, 100_000), "img_resolution": Int(4, 4096), "img_channels": Int(1, 4), "channels": Ints(1, 4096, max_len=11),
                "architecture": OneOf(("orig", "skip", "resnet")), "conv_clamp": Real(1e-3, 1e6, optional=True),
                "mbstd_group_size": Int(1, 64), "mbstd_num_channels": Int(0, 16), "cmap_dim": Int(1, 4096), "mapping_layers": Int(0, 32),
                "resample_filter": Ints(0, 1000, max_len=16)},
        max_parameters=300_000_000, largest_released=29_012_513,  # the 1024 px D (ffhq, metfaces)
    ),
}
