"""DeepFill v2 (Yu et al., *Free-Form Image Inpainting with Gated Convolution*): gated convolutions,
a coarse and a refinement stage with contextual attention, and the SN-PatchGAN discriminator.

Key names are those of nipponjo/deepfillv2-pytorch's ``networks_tf.py`` (``conv1``..``conv17``,
``xconv*``, ``pmconv*``, ``allconv*``; ``<layer>.conv.weight``, upsampling layers
``<layer>.conv.conv.weight``), the layout of the converted official weights; its ``networks.py``
layout is renamed onto them by ``zoo.formats.deepfill``. This module knows nothing about files.

``layout`` selects the port's two forward passes (tests/fixtures/parity/deepfill/README.md):

* ``"tf"``: TensorFlow SAME zero padding computed from each input's size (a 3x3 stride-2 conv
  on an even size pads 0 before, 1 after), TensorFlow align-corners nearest down-sampling in the
  attention (``floor(linspace(0, n - 1, n // s) + 0.5)``), no score fusion;
* ``"pt"``: symmetric padding ``rate * (k - 1) // 2``, ``F.interpolate`` nearest down-sampling,
  the 3x3 identity score fusion applied twice.

``net(x, mask) -> (stage1, stage2)``: x ``[N, 5, H, W]`` = (image in [-1, 1] times (1 - mask),
ones, mask), mask ``[N, 1, H, W]`` with 1 = hole; both outputs tanh, in [-1, 1]. H and W must be
multiples of 8. Without autograd on float32 CPU tensors the forward is
``zoo.archs.deepfill_fast.forward`` (``fast_path.gate``). Inside, stage 2 sees ``stage1 * mask + x[:, :3] * (1 - mask)``. The attention's
mask of usable background patches comes from the **first** sample's mask and is applied to every
sample, as in the reference: batch only samples that share one mask (``zoo.tasks.inpaint`` does).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from . import deepfill_fast, fast_path
from .descriptor import Descriptor
from .limits import ArchLimits, Int, OneOf


@dataclass(frozen=True)
class Layout:
    same_padding: bool  # TF SAME padding (else symmetric)
    tf_nearest: bool  # TF align-corners nearest down-sampling (else F.interpolate)
    fuse: bool  # the attention's 3x3 identity score fusion


LAYOUTS = {"tf": Layout(same_padding=True, tf_nearest=True, fuse=False),
           "pt": Layout(same_padding=False, tf_nearest=False, fuse=True)}
RATE, SOFTMAX_SCALE, MASK_DOWN = 2, 10.0, 8


def same_pad(x: torch.Tensor, k: int, stride: int, rate: int = 1) -> torch.Tensor:
    """TensorFlow's SAME zero padding of ``x`` [N, C, H, W] for a k x k kernel."""
    pads = []
    for size in (x.shape[3], x.shape[2]):  # F.pad order: width first
        out = -(size // -stride)
        total = max((out - 1) * stride + (k - 1) * rate + 1 - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


def downsample(x: torch.Tensor, factor: int, tf_nearest: bool) -> torch.Tensor:
    """Nearest down-sampling by ``factor``: TF align-corners indices, or ``F.interpolate``'s ``factor * i``."""
    if not tf_nearest:
        return F.interpolate(x, scale_factor=1.0 / factor, mode="nearest", recompute_scale_factor=False)
    rows = torch.linspace(0, x.shape[2] - 1, x.shape[2] // factor, device=x.device).add_(0.5).floor_().long()
    cols = torch.linspace(0, x.shape[3] - 1, x.shape[3] // factor, device=x.device).add_(0.5).floor_().long()
    return x[:, :, rows][..., cols]


class GatedConv(nn.Module):
    """conv -> (features, gates) halves -> act(features) * sigmoid(gates); ungated when ``act`` is None."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, rate: int = 1, *, act: str | None = "elu",
                 same_padding: bool = True) -> None:
        super().__init__()
        self.cout, self.k, self.stride, self.rate, self.act, self.same = cout, k, stride, rate, act, same_padding
        padding = 0 if same_padding else rate * (k - 1) // 2
        self.conv = nn.Conv2d(cin, 2 * cout if act else cout, k, stride=stride, padding=padding, dilation=rate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.same:
            x = same_pad(x, self.k, self.stride, self.rate)
        y = self.conv(x)
        if self.act is None:
            return y
        features, gates = y.split(self.cout, dim=1)
        features = F.elu(features) if self.act == "elu" else F.relu(features)
        return features * torch.sigmoid(gates)


class GatedUpConv(nn.Module):
    """x2 nearest up-sampling, then a gated 3x3 conv."""

    def __init__(self, cin: int, cout: int, same_padding: bool) -> None:
        super().__init__()
        self.conv = GatedConv(cin, cout, 3, same_padding=same_padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest", recompute_scale_factor=False))


def _extract(x: torch.Tensor, k: int, stride: int) -> torch.Tensor:
    """k x k patches of x [1, C, H, W] with stride, after SAME zero padding: [L, C, k, k]. (On the
    sizes the attention sees, SAME and the pt layout's symmetric padding are the same pads.)"""
    padded = same_pad(x, k, stride)
    patches = F.unfold(padded, kernel_size=k, stride=stride)  # [1, C*k*k, L]
    return patches[0].t().reshape(-1, x.shape[1], k, k)


def fuse_diagonal(scores: torch.Tensor) -> torch.Tensor:
    """The reference's score fusion: a zero-padded 3x3 identity-kernel convolution of the 2-D
    ``scores``, i.e. each entry plus its two diagonal neighbours (shifted adds: 12x faster on
    CPU than a one-channel convolution of a 4096x4096 map)."""
    out = scores.clone()
    out[1:, 1:] += scores[:-1, :-1]
    out[:-1, :-1] += scores[1:, 1:]
    return out


def contextual_attention(f: torch.Tensor, mask: torch.Tensor, layout: Layout) -> torch.Tensor:
    """The reference's contextual attention with foreground = background = ``f`` [N, C, h, w]
    (h = H / 4, even): each position becomes a softmax(10 * cosine score)-weighted paste of 4x4
    background patches, scored on 3x3 patches of 2x-down-sampled features; patches touching the
    hole (of the first sample's mask, 8x down-sampled) get no weight. Same shape out."""
    n, c, h, w = f.shape
    raw = [_extract(f[i : i + 1], 2 * RATE, RATE) for i in range(n)]  # [L, C, 4, 4] each
    small = downsample(f, RATE, layout.tf_nearest)
    hs, ws = small.shape[2:]
    m = downsample(mask[:1], MASK_DOWN, layout.tf_nearest)
    valid = (_extract(m, 3, 1).mean(dim=[1, 2, 3]) == 0).to(f.dtype).reshape(1, -1, 1, 1)  # [1, L, 1, 1]
    out = []
    for i in range(n):
        patches = _extract(small[i : i + 1], 3, 1)  # [L, C, 3, 3]
        norm = patches.square().sum(dim=[1, 2, 3], keepdim=True).sqrt().clamp_min(1e-4)
        scores = F.conv2d(F.pad(small[i : i + 1], [1, 1, 1, 1]), patches / norm)  # [1, L, hs, ws]
        if layout.fuse:
            scores = fuse_diagonal(scores.reshape(hs * ws, hs * ws))
            scores = scores.reshape(hs, ws, hs, ws).permute(1, 0, 3, 2).reshape(hs * ws, hs * ws)
            scores = fuse_diagonal(scores)
            scores = scores.reshape(ws, hs, ws, hs).permute(1, 0, 3, 2)
        scores = scores.reshape(1, hs * ws, hs, ws) * valid
        attention = F.softmax(scores * SOFTMAX_SCALE, dim=1) * valid
        out.append(F.conv_transpose2d(attention, raw[i], stride=RATE, padding=1) / 4.0)
    return torch.cat(out).reshape(n, c, h, w)


# the generator's layers in the order forward runs them (their names are the state-dict keys)
COARSE = ("conv1", "conv2_downsample", "conv3", "conv4_downsample", "conv5", "conv6", "conv7_atrous", "conv8_atrous",
          "conv9_atrous", "conv10_atrous", "conv11", "conv12", "conv13_upsample", "conv14", "conv15_upsample", "conv16", "conv17")
CONV_BRANCH = ("xconv1", "xconv2_downsample", "xconv3", "xconv4_downsample", "xconv5", "xconv6", "xconv7_atrous",
               "xconv8_atrous", "xconv9_atrous", "xconv10_atrous")
ATTENTION_BRANCH_IN = ("pmconv1", "pmconv2_downsample", "pmconv3", "pmconv4_downsample", "pmconv5", "pmconv6")
ATTENTION_BRANCH_OUT = ("pmconv9", "pmconv10")
JOINED = ("allconv11", "allconv12", "allconv13_upsample", "allconv14", "allconv15_upsample", "allconv16", "allconv17")


class DeepFillV2(nn.Module):
    """DeepFill v2 generator: ``net(x, mask) -> (stage1, stage2)`` (module docstring)."""

    def __init__(self, cnum: int = 48, cnum_in: int = 5, layout: str = "tf") -> None:
        super().__init__()
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be 'tf' or 'pt', not {layout!r}")
        if layout == "tf" and 3 in (cnum // 4, cnum // 2, cnum):
            raise ValueError(f"cnum {cnum} would make a layer of the tf layout ungated (it builds any 3-channel layer ungated)")
        self.cnum, self.cnum_in, self.layout = cnum, cnum_in, layout
        self._layout = LAYOUTS[layout]
        same = self._layout.same_padding
        c = cnum

        def g(cin, cout, k=3, stride=1, rate=1, act="elu"):
            return GatedConv(cin, cout, k, stride, rate, act=act, same_padding=same)

        # stage 1 (coarse)
        self.conv1 = g(cnum_in, c // 2, 5)
        self.conv2_downsample = g(c // 2, c, stride=2)
        self.conv3 = g(c, c)
        self.conv4_downsample = g(c, 2 * c, stride=2)
        self.conv5 = g(2 * c, 2 * c)
        self.conv6 = g(2 * c, 2 * c)
        for i, rate in zip((7, 8, 9, 10), (2, 4, 8, 16)):
            setattr(self, f"conv{i}_atrous", g(2 * c, 2 * c, rate=rate))
        self.conv11 = g(2 * c, 2 * c)
        self.conv12 = g(2 * c, 2 * c)
        self.conv13_upsample = GatedUpConv(2 * c, c, same)
        self.conv14 = g(c, c)
        self.conv15_upsample = GatedUpConv(c, c // 2, same)
        self.conv16 = g(c // 2, c // 4)
        self.conv17 = g(c // 4, 3, act=None)
        # stage 2, convolution branch
        self.xconv1 = g(3, c // 2, 5)
        self.xconv2_downsample = g(c // 2, c // 2, stride=2)
        self.xconv3 = g(c // 2, c)
        self.xconv4_downsample = g(c, c, stride=2)
        self.xconv5 = g(c, 2 * c)
        self.xconv6 = g(2 * c, 2 * c)
        for i, rate in zip((7, 8, 9, 10), (2, 4, 8, 16)):
            setattr(self, f"xconv{i}_atrous", g(2 * c, 2 * c, rate=rate))
        # stage 2, attention branch
        self.pmconv1 = g(3, c // 2, 5)
        self.pmconv2_downsample = g(c // 2, c // 2, stride=2)
        self.pmconv3 = g(c // 2, c)
        self.pmconv4_downsample = g(c, 2 * c, stride=2)
        self.pmconv5 = g(2 * c, 2 * c)
        self.pmconv6 = g(2 * c, 2 * c, act="relu")
        self.pmconv9 = g(2 * c, 2 * c)
        self.pmconv10 = g(2 * c, 2 * c)
        # stage 2, both branches
        self.allconv11 = g(4 * c, 2 * c)
        self.allconv12 = g(2 * c, 2 * c)
        self.allconv13_upsample = GatedUpConv(2 * c, c, same)
        self.allconv14 = g(c, c)
        self.allconv15_upsample = GatedUpConv(c, c // 2, same)
        self.allconv16 = g(c // 2, c // 4)
        self.allconv17 = g(c // 4, 3, act=None)

    @property
    def descriptor(self) -> Descriptor:
        """Inpainting: image (3 channels, [-1, 1]) + mask in, the filled image out; H, W multiples of 8."""
        return Descriptor(task="inpaint", inputs="image+mask", in_channels=3, out_channels=3, value_range=(-1.0, 1.0),
                          size_multiple=8, min_size=16, context=None, activation_bytes=24.0 * self.cnum)

    # activation_bytes: the convolutions' peak per pixel, beside the attention's score maps (which grow
    # with the square of the area: zoo.tasks.inpaint.ATTENTION_COPIES). Measured (VmHWM less the
    # attention estimate): cnum 48: 1030-1230 B at 256-512 px (1152 predicted); cnum 24: 476 B at 384 px.

    @staticmethod
    def make_input(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``x`` [N, 5, H, W] for ``image`` [N, 3, H, W] in [-1, 1] and ``mask`` [N, 1, H, W]
        (1 = hole): ``cat(image * (1 - mask), ones, ones * mask)``, as the reference feeds it."""
        ones = torch.ones_like(mask)
        return torch.cat([image * (1 - mask), ones, ones * mask], dim=1)

    def _run(self, names: tuple[str, ...], x: torch.Tensor) -> torch.Tensor:
        for name in names:
            x = getattr(self, name)(x)
        return x

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n, _, h, w = x.shape
        if h % 8 or w % 8 or x.shape[1] != self.cnum_in or mask.shape != (n, 1, h, w):
            raise ValueError(f"DeepFill v2 takes x [N, {self.cnum_in}, H, W] and mask [N, 1, H, W] with H, W multiples "
                             f"of 8, not {list(x.shape)} and {list(mask.shape)}")
        if fast_path.gate(self, x):
            return deepfill_fast.forward(self, x, mask)
        stage1 = torch.tanh(self._run(COARSE, x))
        xnow = stage1 * mask + x[:, :3] * (1.0 - mask)
        hallu = self._run(CONV_BRANCH, xnow)
        pm = self._run(ATTENTION_BRANCH_IN, xnow)
        pm = self._run(ATTENTION_BRANCH_OUT, contextual_attention(pm, mask, self._layout))
        y = self._run(JOINED, torch.cat([hallu, pm], dim=1))
        return stage1, torch.tanh(y)


class SpectralNormConv(nn.Conv2d):
    """A conv whose weight is divided by its largest singular value, estimated by one power
    iteration from ``weight_u`` [C_out, 1] (updated in training mode only; the reference also
    divides the stored weight in place on every call, which this does not)."""

    def __init__(self, cin: int, cout: int, k: int, stride: int, padding: int) -> None:
        super().__init__(cin, cout, k, stride=stride, padding=padding)
        self.register_buffer("weight_u", torch.randn(cout, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.flatten(1)
        with torch.no_grad():
            v = F.normalize(w.t() @ self.weight_u, dim=0, eps=1e-12)
            u = F.normalize(w @ v, dim=0, eps=1e-12)
            if self.training:
                self.weight_u.copy_(u)
        sigma = u.t() @ w @ v
        return F.conv2d(x, self.weight / sigma, self.bias, self.stride, self.padding)


class SNConvBlock(nn.Module):
    def __init__(self, cin: int, cout: int, same_padding: bool) -> None:
        super().__init__()
        self.same = same_padding
        self.conv_sn = SpectralNormConv(cin, cout, 5, 2, 0 if same_padding else 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.conv_sn(same_pad(x, 5, 2) if self.same else x), 0.2)


class DeepFillV2Discriminator(nn.Module):
    """SN-PatchGAN: six spectral-normalised 5x5 stride-2 convs with leaky ReLU 0.2; ``net(x)`` with x
    [N, 4, H, W] (image in [-1, 1] and mask) -> flattened patch scores [N, 4 * cnum * H/64 * W/64]."""

    def __init__(self, cnum: int = 64, cnum_in: int = 4, layout: str = "tf") -> None:
        super().__init__()
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be 'tf' or 'pt', not {layout!r}")
        self.layout = layout
        same = LAYOUTS[layout].same_padding
        widths = [cnum_in, cnum, 2 * cnum, 4 * cnum, 4 * cnum, 4 * cnum, 4 * cnum]
        for i in range(6):
            setattr(self, f"conv{i + 1}", SNConvBlock(widths[i], widths[i + 1], same))

    @property
    def descriptor(self) -> Descriptor:
        return Descriptor(task="discriminate", in_channels=4, out_channels=1, value_range=(-1.0, 1.0), size_multiple=64,
                          same_size=False, context=None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i in range(6):
            x = getattr(self, f"conv{i + 1}")(x)
        return x.flatten(1)


ARCHS: dict[str, type[nn.Module]] = {"deepfillv2": DeepFillV2, "deepfillv2_d": DeepFillV2Discriminator}

LIMITS = {
    "deepfillv2": ArchLimits(kwargs={"cnum": Int(4, 512), "cnum_in": Int(5, 5), "layout": OneOf(("tf", "pt"))},
                             max_parameters=200_000_000, largest_released=4_052_478),
    "deepfillv2_d": ArchLimits(kwargs={"cnum": Int(1, 1024), "cnum_in": Int(4, 4), "layout": OneOf(("tf", "pt"))},
                               max_parameters=300_000_000, largest_released=5_946_816),
}
