"""ESRGAN family networks: RRDBNet (ESRGAN, Real-ESRGAN) and SRVGGNetCompact (Real-ESRGAN v3).

Key names follow BasicSR (``conv_first``, ``body.{i}.rdb{k}.conv{j}``, ...), which is also
the layout Real-ESRGAN ships. The original ESRGAN "new arch" and "old arch" files are mapped
onto these names by ``zoo.formats.esrgan``; this module knows nothing about files.

Tensors: images are float32 NCHW, RGB, nominal range [0, 1] in and out. Outputs are not
clamped (the task layer clamps).

CPU inference fast path
-----------------------
When ``zoo.archs.fast_path.gate`` allows it (no autograd, eval mode, float32 CPU input, oneDNN
available, no hooks on submodules: the rule every network shares), both networks run a
channels_last oneDNN path instead of the module-by-module forward. It computes the same function (only float32 rounding differs, ~1e-6,
far inside the 1e-4 parity tolerance) and needs no preparation: the state dict, its key order
and the parameters are never touched (weights are viewed/converted per call, ~10 ms for the
16.7M-parameter RRDBNet). Whenever autograd is on (training, or an inference call without
``no_grad``), while tracing/exporting/compiling, on other devices and dtypes, or with
``fast_path.FAST_PATH = False``, the plain forward runs, so gradients are exactly the reference ones.
Outputs are contiguous NCHW either way.

Measured on a 2-core AMD EPYC (Zen 3, AVX2, KVM guest), torch 2.14.1, 2 threads, fp32, quiet
machine, medians of 10 interleaved runs; RRDBNet x4plus 1x3x128x128 (294 GMAC), SRVGG
general-x4v3 1x3x256x256 (79 GMAC). ``benchmarks/bench_esrgan.py`` gives the current figures:

* channels_last (NHWC) activations and weights: RRDBNet 4.36 s -> 3.89 s (1.12x), SRVGG
  1.70 s -> 0.97 s (1.76x). oneDNN's NHWC kernels read and write the tensors as they are;
  with NCHW every conv reorders its input to a blocked layout and its output back, and those
  temporaries cost 130k-530k page faults per RRDBNet forward.
* conv + (leaky) ReLU fused (``fast_path.conv_pointwise``, a oneDNN post-op):
  one pass less over each activation; RRDBNet -1.0 %.
* dense-block concatenations written into channels_last buffers shared by all 3 * num_block
  dense blocks (``torch.cat(out=...)``) instead of fresh tensors: RRDBNet -1.6 %. The four
  widths are views of one storage (192 channels for x4plus instead of 96+128+160+192).
* the upsampling tail runs over horizontal bands of low-res rows (``TAIL_BAND_PIXELS`` output
  pixels each, ``TAIL_HALO`` rows of context; exact, the tail sees 3 rows), so a large tile
  never holds several full-resolution 64-channel tensors at once. With the shared storage
  above this cuts the peak RSS of RRDBNet x4plus on a 576x576 input from 1.73 GB to 1.36 GB,
  for about 1.5 % of speed.
* nearest x2 upsample + 3x3 conv done on the low-resolution grid: each of the four output
  phases only sees a 2x2 neighbourhood, so one 2x2 conv with 4x the output channels (taps
  summed from the 3x3 kernel) plus an interleave replaces upsample + conv and needs 16/36 of
  the multiply-adds: RRDBNet -1.3 % (the x2/x4 tail alone: 0.45 s -> 0.36 s).

Tried and not kept (no gain within +-1 %, or slower): a single wide channels_last buffer read
through channel slices (oneDNN copies a strided NHWC slice to a contiguous one first, which
costs the same as the concatenation); accumulating ``x + 0.2 * conv5`` into x with oneDNN's
in-place sum post-op; folding SRVGG's upsampled-input residual into its last conv; oneDNN
blocked tensors (``to_mkldnn``, prepacked weights: conv 1-2 % slower, and no cat/LeakyReLU
for them); prepacked/cached channels_last weights (<= 0.3 %, so no ``prepare_for_inference``);
reusing buffers to avoid page faults in SRVGG (saves the faults, costs as much in extra
passes); torch.compile (inductor, freezing): 72 s to compile, then 4.8 s per RRDBNet call,
slower than this path.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from . import fast_path
from .descriptor import Descriptor, round_up
from .limits import ArchLimits, Int, OneOf

LRELU_SLOPE_RRDB = 0.2
LRELU_SLOPE_SRVGG = 0.1  # SRVGGNetCompact's 'leakyrelu' uses 0.1, unlike RRDB's 0.2
RESIDUAL_SCALE = 0.2  # RDB and RRDB residual scaling
TAIL_BAND_PIXELS = 1 << 18  # output pixels per band of the RRDBNet upsampling tail (fast path): 64 MB per 64-ch tensor
TAIL_HALO = 4  # low-res rows of context around each band (the tail needs 3)


def upsample_factors(total: int) -> list[int]:
    """Factors of the nearest-neighbour + conv upsampling stages for a total factor.

    Powers of two are done in x2 steps (1 -> [], 2 -> [2], 4 -> [2, 2], 8 -> [2, 2, 2]);
    3 is one x3 step, as in the ESRGAN old-arch code.
    """
    if total == 3:
        return [3]
    if total < 1 or total & (total - 1):
        raise ValueError(f"unsupported upsampling factor {total} (use 1, 2, 3, 4 or 8)")
    return [2] * int(math.log2(total))


# --------------------------------------------------------------------------------------------
# oneDNN fast-path helpers (inference only; see the module docstring)
# --------------------------------------------------------------------------------------------

_CL = torch.channels_last
_ONE = [1, 1]


def _conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, slope: float | None = None,
          relu: bool = False) -> torch.Tensor:
    """Conv (stride 1, padding 1) with an optional fused LeakyReLU(slope) or ReLU (oneDNN post-op).

    x and weight channels_last; the output is channels_last.
    """
    act, scalars = ("leaky_relu", [slope]) if slope is not None else ("relu", []) if relu else ("none", [])
    return fast_path.conv_pointwise(x, weight, bias, _ONE, _ONE, _ONE, 1, act, scalars)


def _cl(t: torch.Tensor) -> torch.Tensor:
    return t.contiguous(memory_format=_CL)


def _overlapping_channels_last(n: int, channels: list[int], h: int, w: int) -> list[torch.Tensor]:
    """channels_last [n, c, h, w] tensors for each c, all views of one storage sized for the largest.

    The dense blocks need one concatenation buffer per width; sharing the storage holds one
    (nf + 4 gc)-channel buffer instead of four (RRDBNet x4plus: 192 channels instead of 576,
    about 510 MB less for a 576 x 576 tile). Writing one view overwrites the others.
    """
    storage = torch.empty(n * h * w * max(channels))
    return [storage[: n * h * w * c].view(n, h, w, c).permute(0, 3, 1, 2) for c in channels]


def _subpixel_weight(weight: torch.Tensor) -> torch.Tensor:
    """3x3 kernel [O, I, 3, 3] -> the 2x2 kernels [4*O, I, 2, 2] of ``conv3x3(nearest_x2(x))``.

    Output pixel (2i+a, 2j+b) of the conv on the upsampled image reads input rows i-1, i (a=0)
    or i, i+1 (a=1): taps that land on the same low-resolution pixel are summed. Output channel
    ``(2a+b)*O + o`` holds phase (a, b) of output channel o.
    """
    w0, w1, w2 = weight[:, :, 0], weight[:, :, 1], weight[:, :, 2]
    rows = (torch.stack((w0, w1 + w2), 2), torch.stack((w0 + w1, w2), 2))  # [O, I, 2, 3] per a
    phases = []
    for r in rows:
        c0, c1, c2 = r[..., 0], r[..., 1], r[..., 2]
        phases.append(torch.stack((c0, c1 + c2), 3))  # b = 0
        phases.append(torch.stack((c0 + c1, c2), 3))  # b = 1
    return torch.cat(phases, 0)


def _upconv2x_lrelu(x: torch.Tensor, conv: nn.Conv2d, slope: float) -> torch.Tensor:
    """``lrelu(conv(nearest_x2(x)))`` without materialising the upsampled input (channels_last in/out)."""
    n, _, h, w = x.shape
    o = conv.out_channels
    weight = _cl(_subpixel_weight(conv.weight))
    bias = conv.bias.repeat(4) if conv.bias is not None else None
    # 2x2 kernel with padding 1 -> (h+1) x (w+1); phase (a, b) is the window starting at (a, b).
    full = _conv(x, weight, bias, slope=slope)
    out = torch.empty(n, o, 2 * h, 2 * w, memory_format=_CL)
    out_v = out.permute(0, 2, 3, 1).view(n, h, 2, w, 2, o)
    full_v = full.permute(0, 2, 3, 1)  # NHWC view, no copy
    for a in (0, 1):
        for b in (0, 1):
            k = 2 * a + b
            out_v[:, :, a, :, b, :].copy_(full_v[:, a:a + h, b:b + w, k * o:(k + 1) * o])
    return out


RRDB_CONTEXT, RRDB_TILE = 96, 384  # measured tiling defaults (see RRDBNet.descriptor)
SRVGG_TILE = 512

class ResidualDenseBlock(nn.Module):
    """Five 3x3 convs with dense connections; output ``x + 0.2 * conv5(...)``."""

    def __init__(self, num_feat: int = 64, num_grow_ch: int = 32) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_grow_ch, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat + num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv3 = nn.Conv2d(num_feat + 2 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv4 = nn.Conv2d(num_feat + 3 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv5 = nn.Conv2d(num_feat + 4 * num_grow_ch, num_feat, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = F.leaky_relu(self.conv1(x), LRELU_SLOPE_RRDB, inplace=True)
        x2 = F.leaky_relu(self.conv2(torch.cat((x, x1), 1)), LRELU_SLOPE_RRDB, inplace=True)
        x3 = F.leaky_relu(self.conv3(torch.cat((x, x1, x2), 1)), LRELU_SLOPE_RRDB, inplace=True)
        x4 = F.leaky_relu(self.conv4(torch.cat((x, x1, x2, x3), 1)), LRELU_SLOPE_RRDB, inplace=True)
        x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))
        return torch.add(x, x5, alpha=RESIDUAL_SCALE)

    def _forward_fast_(self, x: torch.Tensor, cat_bufs: list[torch.Tensor]) -> torch.Tensor:
        """Fast path, in place: ``x <- x + 0.2 * conv5(...)``. x channels_last, owned by the caller.

        ``cat_bufs[k]`` are channels_last [N, nf + (k+1)*gc, H, W] views of ONE storage shared by
        all blocks; ``cat(out=)`` into them replaces the reference's fresh concatenations (same
        values). Each concatenation is rebuilt from the pieces (x, x1, ...), never from the
        previous view, because the views overlap.
        """
        pieces = [x]
        feats = x
        for k, conv in enumerate((self.conv1, self.conv2, self.conv3, self.conv4)):
            pieces.append(_conv(feats, _cl(conv.weight), conv.bias, slope=LRELU_SLOPE_RRDB))
            feats = torch.cat(pieces, 1, out=cat_bufs[k])
        return x.add_(_conv(feats, _cl(self.conv5.weight), self.conv5.bias), alpha=RESIDUAL_SCALE)


class RRDB(nn.Module):
    """Residual-in-residual dense block: three dense blocks, output ``x + 0.2 * rdb3(rdb2(rdb1(x)))``."""

    def __init__(self, num_feat: int, num_grow_ch: int = 32) -> None:
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.add(x, self.rdb3(self.rdb2(self.rdb1(x))), alpha=RESIDUAL_SCALE)

    def _forward_fast(self, x: torch.Tensor, out: torch.Tensor, cat_bufs: list[torch.Tensor]) -> torch.Tensor:
        """Fast path: writes ``x + 0.2 * rdb3(rdb2(rdb1(x)))`` into ``out`` (x is left intact)."""
        out.copy_(x)
        for rdb in (self.rdb1, self.rdb2, self.rdb3):
            rdb._forward_fast_(out, cat_bufs)
        return torch.add(x, out, alpha=RESIDUAL_SCALE, out=out)


class RRDBNet(nn.Module):
    """The ESRGAN generator, covering BasicSR/Real-ESRGAN and both original ESRGAN layouts.

    ``scale`` is the overall upscaling factor. ``unshuffle`` is the pixel-unshuffle factor
    applied to the input first (Real-ESRGAN x2 uses 2 and x1 uses 4; the original ESRGAN
    code uses 1). The trunk then upsamples by ``scale * unshuffle`` in nearest+conv stages
    ``conv_up1, conv_up2, ...``. With ``unshuffle > 1`` the input height and width must be
    divisible by ``unshuffle``.

    Input ``[N, num_in_ch, H, W]`` float32 in [0, 1] (any memory layout); output
    ``[N, num_out_ch, H*scale, W*scale]`` float32, not clamped. Under no_grad on CPU the fused
    oneDNN path runs (module docstring); it returns a contiguous NCHW tensor as well.
    """

    def __init__(
        self,
        num_in_ch: int = 3,
        num_out_ch: int = 3,
        num_feat: int = 64,
        num_block: int = 23,
        num_grow_ch: int = 32,
        scale: int = 4,
        unshuffle: int = 1,
    ) -> None:
        super().__init__()
        if unshuffle not in (1, 2, 4):
            raise ValueError(f"unshuffle must be 1, 2 or 4, not {unshuffle}")
        self.scale = scale
        self.unshuffle = unshuffle
        self.num_feat = num_feat
        self.num_grow_ch = num_grow_ch
        self.num_in_ch = num_in_ch
        self.num_out_ch = num_out_ch
        self.up_factors = upsample_factors(scale * unshuffle)
        self.conv_first = nn.Conv2d(num_in_ch * unshuffle * unshuffle, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*(RRDB(num_feat, num_grow_ch) for _ in range(num_block)))
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        for i in range(len(self.up_factors)):
            self.add_module(f"conv_up{i + 1}", nn.Conv2d(num_feat, num_feat, 3, 1, 1))
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)

    @property
    def size_multiple(self) -> int:
        """Input height and width must be multiples of this."""
        return self.unshuffle

    @property
    def descriptor(self) -> Descriptor:
        """Upscaler, [0, 1]. Its receptive field spans hundreds of pixels, but on the real x4plus
        weights 96 pixels of context keep tiles within one 8-bit level of a single pass (48: 14
        levels, 64: 9); tiles of 384 keep that overhead at (576/384)^2 = 2.25x and memory bounded
        (benchmarks/RESULTS.md, "Tiling seams")."""
        return Descriptor(task="upscale", in_channels=self.num_in_ch, out_channels=self.num_out_ch, scale=self.scale,
                          size_multiple=self.unshuffle, min_size=self.unshuffle, context=RRDB_CONTEXT, context_exact=False,
                          tile=RRDB_TILE, activation_bytes=self.activation_bytes())

    def activation_bytes(self) -> float:
        """Peak bytes per input pixel of a forward. The fast path runs the upsampling tail in bands,
        so the trunk dominates: a dense block's concatenation buffer (num_feat + 4 * grow channels)
        and about six num_feat maps, at the trunk's resolution (the input's, / unshuffle^2).
        Measured: 2.31 KB on x4plus and anime-6b at 384-512 px (2304 predicted), whatever the block count."""
        channels = (self.num_feat + 4 * self.num_grow_ch) + 6 * self.num_feat
        return 4.0 * channels / self.unshuffle**2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.num_in_ch:
            raise ValueError(f"expected [N, {self.num_in_ch}, H, W], got {list(x.shape)}")
        if fast_path.gate(self, x):
            return self._forward_fast(x)
        if self.unshuffle > 1:
            x = F.pixel_unshuffle(x, self.unshuffle)
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        for i, factor in enumerate(self.up_factors):
            conv = getattr(self, f"conv_up{i + 1}")
            feat = F.interpolate(feat, scale_factor=factor, mode="nearest")
            feat = F.leaky_relu(conv(feat), LRELU_SLOPE_RRDB, inplace=True)
        feat = F.leaky_relu(self.conv_hr(feat), LRELU_SLOPE_RRDB, inplace=True)
        return self.conv_last(feat)

    def _forward_fast(self, x: torch.Tensor) -> torch.Tensor:
        """The no-grad CPU path (module docstring): channels_last, fused oneDNN convs, reused
        concatenation buffers, and the x2 upsampling stages computed on the low-resolution grid."""
        if self.unshuffle > 1:
            x = F.pixel_unshuffle(x, self.unshuffle)
        x = _cl(x)
        feat = _conv(x, _cl(self.conv_first.weight), self.conv_first.bias)
        n, nf, h, w = feat.shape
        if len(self.body):
            gc = self.body[0].rdb1.conv1.out_channels
            cat_bufs = _overlapping_channels_last(n, [nf + k * gc for k in (1, 2, 3, 4)], h, w)
            ping = [torch.empty_like(feat), torch.empty_like(feat)]
            trunk = feat
            for i, block in enumerate(self.body):
                trunk = block._forward_fast(trunk, ping[i % 2], cat_bufs)
            del cat_bufs, ping
        else:
            trunk = feat
        feat = feat + _conv(trunk, _cl(self.conv_body.weight), self.conv_body.bias)
        return self._tail_in_bands(feat)

    def _tail_fast(self, feat: torch.Tensor) -> torch.Tensor:
        """Upsampling stages, conv_hr and conv_last on channels_last low-res features -> NCHW output."""
        for i, factor in enumerate(self.up_factors):
            conv = getattr(self, f"conv_up{i + 1}")
            if factor == 2:
                feat = _upconv2x_lrelu(feat, conv, LRELU_SLOPE_RRDB)
            else:
                feat = F.interpolate(feat, scale_factor=factor, mode="nearest")
                feat = _conv(_cl(feat), _cl(conv.weight), conv.bias, slope=LRELU_SLOPE_RRDB)
        feat = _conv(feat, _cl(self.conv_hr.weight), self.conv_hr.bias, slope=LRELU_SLOPE_RRDB)
        return _conv(feat, _cl(self.conv_last.weight), self.conv_last.bias).contiguous()

    def _tail_in_bands(self, feat: torch.Tensor) -> torch.Tensor:
        """``_tail_fast`` over horizontal bands of low-res rows, so high-res memory stays bounded.

        The tail sees at most 3 low-res rows beyond its own (nearest x2 + 3x3 conv twice, then two
        3x3 convs at full resolution), so bands computed with ``TAIL_HALO`` rows of context give
        the same output as one pass. A 384x384 tile of RRDBNet x4 would otherwise hold several
        1536x1536x64 float tensors (600 MB each) at once.
        """
        n, _, h, w = feat.shape
        up = math.prod(self.up_factors)
        rows = max(1, TAIL_BAND_PIXELS // (w * up * up))
        if rows >= h:
            return self._tail_fast(feat)
        out = torch.empty(n, self.num_out_ch, h * up, w * up, dtype=feat.dtype)
        for r0 in range(0, h, rows):
            r1 = min(h, r0 + rows)
            e0, e1 = max(0, r0 - TAIL_HALO), min(h, r1 + TAIL_HALO)
            band = self._tail_fast(feat[:, :, e0:e1])  # an H slice of channels_last stays channels_last
            out[:, :, r0 * up : r1 * up] = band[:, :, (r0 - e0) * up : (r1 - e0) * up]
        return out


def _activation(act_type: str, num_feat: int) -> nn.Module:
    if act_type == "prelu":
        return nn.PReLU(num_parameters=num_feat)
    if act_type == "relu":
        return nn.ReLU(inplace=True)
    if act_type == "leakyrelu":
        return nn.LeakyReLU(negative_slope=LRELU_SLOPE_SRVGG, inplace=True)
    raise ValueError(f"act_type must be 'prelu', 'relu' or 'leakyrelu', not {act_type!r}")


class SRVGGNetCompact(nn.Module):
    """Real-ESRGAN's compact VGG-style network (realesr-general-x4v3, realesr-animevideov3).

    ``body`` holds conv(in->nf), act, then ``num_conv`` x (conv(nf->nf), act), then
    conv(nf -> out * upscale^2). Output is ``pixel_shuffle(body(x)) + nearest_upsample(x)``.

    Input ``[N, num_in_ch, H, W]`` float32 in [0, 1] (any memory layout); output
    ``[N, num_out_ch, H*upscale, W*upscale]`` float32, not clamped. Under no_grad on CPU the
    channels_last oneDNN path runs (module docstring); it returns a contiguous NCHW tensor.
    """

    def __init__(
        self,
        num_in_ch: int = 3,
        num_out_ch: int = 3,
        num_feat: int = 64,
        num_conv: int = 16,
        upscale: int = 4,
        act_type: str = "prelu",
    ) -> None:
        super().__init__()
        self.scale = upscale
        self.num_feat = num_feat
        self.num_in_ch = num_in_ch
        self.num_out_ch = num_out_ch
        self.num_conv = num_conv
        layers: list[nn.Module] = [nn.Conv2d(num_in_ch, num_feat, 3, 1, 1), _activation(act_type, num_feat)]
        for _ in range(num_conv):
            layers += [nn.Conv2d(num_feat, num_feat, 3, 1, 1), _activation(act_type, num_feat)]
        layers.append(nn.Conv2d(num_feat, num_out_ch * upscale * upscale, 3, 1, 1))
        self.body = nn.ModuleList(layers)

    size_multiple = 1

    @property
    def descriptor(self) -> Descriptor:
        """Upscaler, [0, 1]. Each output pixel sees exactly num_conv + 2 input pixels around it
        (one per 3x3 conv), so that much context (rounded up to 8) makes tiling exact."""
        # measured 781 B per input pixel on animevideov3 (64 features, x4) at 384-512 px; this is 15 % above
        return Descriptor(task="upscale", in_channels=self.num_in_ch, out_channels=self.num_out_ch, scale=self.scale,
                          context=round_up(self.num_conv + 2, 8), context_exact=True, tile=SRVGG_TILE,
                          activation_bytes=4.0 * (2 * self.num_feat + 2 * self.num_out_ch * self.scale**2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.num_in_ch:
            raise ValueError(f"expected [N, {self.num_in_ch}, H, W], got {list(x.shape)}")
        if fast_path.gate(self, x):
            return self._forward_fast(x)
        out = x
        for layer in self.body:
            out = layer(out)
        # As in the reference, the nearest-upsampled input is added (broadcast when it has 1 channel).
        return F.pixel_shuffle(out, self.scale) + F.interpolate(x, scale_factor=self.scale, mode="nearest")

    def _forward_fast(self, x: torch.Tensor) -> torch.Tensor:
        """The no-grad CPU path: channels_last activations, ReLU/LeakyReLU fused into the convs."""
        x = _cl(x)
        out = x
        body = list(self.body)
        for conv, act in zip(body[0:-1:2], body[1::2]):
            weight = _cl(conv.weight)
            if isinstance(act, nn.PReLU):  # per-channel slopes: no oneDNN post-op, one cheap extra pass
                out = F.prelu(_conv(out, weight, conv.bias), act.weight)
            elif isinstance(act, nn.LeakyReLU):
                out = _conv(out, weight, conv.bias, slope=act.negative_slope)
            elif isinstance(act, nn.ReLU):
                out = _conv(out, weight, conv.bias, relu=True)
            else:
                out = act(_conv(out, weight, conv.bias))
        out = _conv(out, _cl(body[-1].weight), body[-1].bias)
        out = F.pixel_shuffle(out, self.scale) + F.interpolate(x, scale_factor=self.scale, mode="nearest")
        return out.contiguous()


ARCHS: dict[str, type[nn.Module]] = {"rrdbnet": RRDBNet, "srvgg": SRVGGNetCompact}

# Released: RealESRGAN_x4plus (RRDBNet, 23 blocks, 64 features) and realesr-general-x4v3
# (SRVGGNetCompact, 32 convs) are the largest of their kinds.
LIMITS = {
    "rrdbnet": ArchLimits(
        kwargs={"num_in_ch": Int(1, 64), "num_out_ch": Int(1, 64), "num_feat": Int(1, 1024), "num_block": Int(0, 512),
                "num_grow_ch": Int(1, 1024), "scale": Int(1, 16), "unshuffle": OneOf((1, 2, 4))},
        max_parameters=200_000_000, largest_released=16_697_987,
    ),
    "srvgg": ArchLimits(
        kwargs={"num_in_ch": Int(1, 64), "num_out_ch": Int(1, 64), "num_feat": Int(1, 1024), "num_conv": Int(0, 1024),
                "upscale": Int(1, 16), "act_type": OneOf(("prelu", "relu", "leakyrelu"))},
        max_parameters=50_000_000, largest_released=1_213_296,
    ),
}
