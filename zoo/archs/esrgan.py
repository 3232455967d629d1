"""ESRGAN family networks: RRDBNet (ESRGAN, Real-ESRGAN) and SRVGGNetCompact (Real-ESRGAN v3).

Key names follow BasicSR (``conv_first``, ``body.{i}.rdb{k}.conv{j}``, ...), which is also
the layout Real-ESRGAN ships. The original ESRGAN "new arch" and "old arch" files are mapped
onto these names by ``zoo.formats.esrgan``; this module knows nothing about files.

Tensors: images are float32 NCHW, RGB, nominal range [0, 1] in and out. Outputs are not
clamped (the task layer clamps).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

LRELU_SLOPE_RRDB = 0.2
LRELU_SLOPE_SRVGG = 0.1  # SRVGGNetCompact's 'leakyrelu' uses 0.1, unlike RRDB's 0.2


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
        return torch.add(x, x5, alpha=0.2)


class RRDB(nn.Module):
    """Residual-in-residual dense block: three dense blocks, output ``x + 0.2 * rdb3(rdb2(rdb1(x)))``."""

    def __init__(self, num_feat: int, num_grow_ch: int = 32) -> None:
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.add(x, self.rdb3(self.rdb2(self.rdb1(x))), alpha=0.2)


class RRDBNet(nn.Module):
    """The ESRGAN generator, covering BasicSR/Real-ESRGAN and both original ESRGAN layouts.

    ``scale`` is the overall upscaling factor. ``unshuffle`` is the pixel-unshuffle factor
    applied to the input first (Real-ESRGAN x2 uses 2 and x1 uses 4; the original ESRGAN
    code uses 1). The trunk then upsamples by ``scale * unshuffle`` in nearest+conv stages
    ``conv_up1, conv_up2, ...``. With ``unshuffle > 1`` the input height and width must be
    divisible by ``unshuffle``.

    Input ``[N, num_in_ch, H, W]`` in [0, 1]; output ``[N, num_out_ch, H*scale, W*scale]``.
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.num_in_ch:
            raise ValueError(f"expected [N, {self.num_in_ch}, H, W], got {list(x.shape)}")
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

    Input ``[N, num_in_ch, H, W]`` in [0, 1]; output ``[N, num_out_ch, H*upscale, W*upscale]``.
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
        self.num_in_ch = num_in_ch
        self.num_out_ch = num_out_ch
        layers: list[nn.Module] = [nn.Conv2d(num_in_ch, num_feat, 3, 1, 1), _activation(act_type, num_feat)]
        for _ in range(num_conv):
            layers += [nn.Conv2d(num_feat, num_feat, 3, 1, 1), _activation(act_type, num_feat)]
        layers.append(nn.Conv2d(num_feat, num_out_ch * upscale * upscale, 3, 1, 1))
        self.body = nn.ModuleList(layers)

    size_multiple = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.num_in_ch:
            raise ValueError(f"expected [N, {self.num_in_ch}, H, W], got {list(x.shape)}")
        out = x
        for layer in self.body:
            out = layer(out)
        # As in the reference, the nearest-upsampled input is added (broadcast when it has 1 channel).
        return F.pixel_shuffle(out, self.scale) + F.interpolate(x, scale_factor=self.scale, mode="nearest")


ARCHS: dict[str, type[nn.Module]] = {"rrdbnet": RRDBNet, "srvgg": SRVGGNetCompact}
