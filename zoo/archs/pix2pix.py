"""pix2pix networks (junyanz/pytorch-CycleGAN-and-pix2pix): U-Net generator, PatchGAN and pixel discriminators.

Module names reproduce the official ``state_dict`` keys exactly: the U-Net is nested blocks whose
``nn.Sequential`` is called ``model`` (``model.model.1.model.3.model.1.weight`` ...), the
discriminators are one Sequential (``model.{i}`` / ``net.{i}``). Layers without parameters
(activations, Dropout) keep their official positions, so indices line up.

Tensors: images NCHW float32 in [-1, 1] (the official ``Normalize(0.5, 0.5)`` range); generator
outputs end in tanh; discriminators return raw logits ``[N, 1, H', W']`` (no sigmoid).

Under no_grad in a test mode on the CPU the U-Net runs ``UnetGenerator._forward_fast`` (the
oneDNN channels_last path of ``zoo.archs.norms``): the recursion unrolled into a down pass and an
up pass, LeakyReLU / ReLU / Tanh fused into the convs, and each skip concatenation written once,
already ReLU'd, into the up-conv's input buffer. Same state_dict, outputs equal to the plain
forward within float32 rounding; ``fast_path.FAST_PATH = False`` or autograd selects the plain forward.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .descriptor import Descriptor
from .limits import BOOL, ArchLimits, Int, OneOf
from .norms import NORMS, conv_bias, norm_layer
from . import fast_path
from .translate_fast import MODULE_CALLS, apply_norm, conv, conv_transpose, post_op


class UnetSkipBlock(nn.Module):
    """One U-Net level: ``[x, up(sub(down(x)))]`` concatenated on channels (outermost: no skip).

    ``model`` holds, by position (as in the reference):
    outermost ``[downconv, sub, ReLU, upconv, Tanh]``; innermost ``[LeakyReLU, downconv, ReLU,
    upconv, upnorm]``; others ``[LeakyReLU, downconv, downnorm, sub, ReLU, upconv, upnorm(, Dropout)]``.
    Convs are 4x4, stride 2, padding 1.
    """

    def __init__(
        self,
        outer_nc: int,
        inner_nc: int,
        *,
        input_nc: int | None = None,
        submodule: nn.Module | None = None,
        outermost: bool = False,
        innermost: bool = False,
        norm: str = "batch",
        use_dropout: bool = False,
    ) -> None:
        super().__init__()
        self.outermost, self.innermost = outermost, innermost
        bias = conv_bias(norm)
        input_nc = outer_nc if input_nc is None else input_nc
        down = nn.Conv2d(input_nc, inner_nc, 4, 2, 1, bias=bias)
        if outermost:
            up = nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, 2, 1)  # always with bias
            layers = [down, submodule, nn.ReLU(), up, nn.Tanh()]
        elif innermost:
            up = nn.ConvTranspose2d(inner_nc, outer_nc, 4, 2, 1, bias=bias)
            layers = [nn.LeakyReLU(0.2), down, nn.ReLU(), up, norm_layer(norm, outer_nc)]
        else:
            up = nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, 2, 1, bias=bias)
            layers = [nn.LeakyReLU(0.2), down, norm_layer(norm, inner_nc), submodule, nn.ReLU(), up, norm_layer(norm, outer_nc)]
            if use_dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            return self.model(x)
        # The reference's first LeakyReLU works in place on x, so its skip branch carries the
        # activated input, not x itself; this reproduces that explicitly.
        activated = self.model[0](x)
        return torch.cat([activated, self.model[1:](activated)], 1)


class UnetGenerator(nn.Module):
    """U-Net generator (``unet_128``: num_downs 7, ``unet_256``: num_downs 8).

    Input ``[N, input_nc, H, W]`` in [-1, 1] with H and W multiples of ``2**num_downs``; output
    ``[N, output_nc, H, W]`` in (-1, 1). Dropout(0.5) sits in the ``num_downs - 5`` ngf*8
    blocks around the innermost one when ``use_dropout``.
    """

    FAST_PATH_MODULE_CALLS = MODULE_CALLS  # norm layers run as modules in the fast route

    def __init__(self, input_nc: int = 3, output_nc: int = 3, num_downs: int = 8, ngf: int = 64, norm: str = "batch",
                 use_dropout: bool = False) -> None:
        super().__init__()
        if num_downs < 5:
            raise ValueError(f"num_downs must be at least 5, not {num_downs}")
        self.input_nc, self.output_nc, self.num_downs, self.norm = input_nc, output_nc, num_downs, norm
        block = UnetSkipBlock(ngf * 8, ngf * 8, innermost=True, norm=norm)
        for _ in range(num_downs - 5):
            block = UnetSkipBlock(ngf * 8, ngf * 8, submodule=block, norm=norm, use_dropout=use_dropout)
        for outer, inner in ((ngf * 4, ngf * 8), (ngf * 2, ngf * 4), (ngf, ngf * 2)):
            block = UnetSkipBlock(outer, inner, submodule=block, norm=norm)
        self.model = UnetSkipBlock(output_nc, ngf, input_nc=input_nc, submodule=block, outermost=True, norm=norm)

    @property
    def size_multiple(self) -> int:
        """Input height and width must be multiples of this (the bottleneck is 1x1 at this size)."""
        return 2**self.num_downs

    @property
    def descriptor(self) -> Descriptor:
        """Generator, [-1, 1]; its bottleneck sees the whole (padded) image, so it is never tiled."""
        return Descriptor(task="translate", in_channels=self.input_nc, out_channels=self.output_nc, value_range=(-1.0, 1.0),
                          size_multiple=self.size_multiple, min_size=self.size_multiple, context=None,
                          image_statistics=self.norm != "none")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.size_multiple
        if x.ndim != 4 or x.shape[1] != self.input_nc or x.shape[2] % m or x.shape[3] % m:
            raise ValueError(f"expected [N, {self.input_nc}, H, W] with H, W multiples of {m}, got {list(x.shape)}")
        if fast_path.gate(self, x):
            return self._forward_fast(x)
        return self.model(x)

    def _levels(self) -> list[UnetSkipBlock]:
        """The blocks from the outermost (index 0) to the innermost."""
        blocks = [self.model]
        while not blocks[-1].innermost:
            blocks.append(blocks[-1].model[1 if blocks[-1].outermost else 3])
        return blocks

    def _forward_fast(self, x: torch.Tensor) -> torch.Tensor:
        """The no-grad CPU path: ``[N, input_nc, H, W]`` float32 in, contiguous NCHW out.

        Block i's output is ``cat([a_i, u_i])`` (a_i its LeakyReLU'd input, u_i its up branch) and
        its parent's first step is a ReLU, so the parent's up-conv input is
        ``cat([relu(a_i), relu(u_i)])`` (relu(leaky_relu(d)) == relu(d) exactly): written once
        into a channels_last buffer, no concatenation of the block outputs.
        """
        blocks = self._levels()
        outer, inner = blocks[0], blocks[-1]
        # Down pass: skips[k] = a of blocks[k + 1] (the LeakyReLU'd input, channels_last).
        a = conv(x, outer.model[0], *post_op(blocks[1].model[0]))
        skips = [a]
        for k, blk in enumerate(blocks[1:-1], start=1):
            d = apply_norm(blk.model[2], conv(a, blk.model[1]))
            a = F.leaky_relu_(d, blocks[k + 1].model[0].negative_slope)
            skips.append(a)
        r = conv(a, inner.model[1], *post_op(inner.model[2]))
        u = apply_norm(inner.model[4], conv_transpose(r, inner.model[3]))
        # Up pass: the input of block k's up-conv is relu(cat([skips[k], u of block k + 1])).
        for k in range(len(blocks) - 2, 0, -1):
            blk = blocks[k]
            u = apply_norm(blk.model[6], conv_transpose(_relu_cat(skips[k], u), blk.model[5]))
        return conv_transpose(_relu_cat(skips[0], u), outer.model[3], *post_op(outer.model[4])).contiguous()


def _relu_cat(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``relu(cat([a, b], 1))`` in one pass into a new channels_last tensor (a, b: [N, C, H, W])."""
    out = torch.empty(a.shape[0], a.shape[1] + b.shape[1], *a.shape[2:], dtype=a.dtype, memory_format=torch.channels_last)
    torch.clamp_min(a, 0, out=out[:, : a.shape[1]])
    torch.clamp_min(b, 0, out=out[:, a.shape[1] :])
    return out


class NLayerDiscriminator(nn.Module):
    """PatchGAN discriminator (``basic`` = 3 layers): 4x4 convs, LeakyReLU 0.2, raw logits.

    Input ``[N, input_nc, H, W]`` (pix2pix: the concatenation [A, B]); output ``[N, 1, H', W']``
    with H' = H/2^min(n_layers, ...) - 2 for sizes divisible by 2^n_layers (70x70 patches for 3).
    """

    def __init__(self, input_nc: int = 6, ndf: int = 64, n_layers: int = 3, norm: str = "batch") -> None:
        super().__init__()
        self.input_nc = input_nc
        bias = conv_bias(norm)
        layers: list[nn.Module] = [nn.Conv2d(input_nc, ndf, 4, 2, 1), nn.LeakyReLU(0.2)]
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2**n, 8)
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, 2, 1, bias=bias), norm_layer(norm, ndf * mult), nn.LeakyReLU(0.2)]
        prev, mult = mult, min(2**n_layers, 8)
        layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, 1, 1, bias=bias), norm_layer(norm, ndf * mult), nn.LeakyReLU(0.2)]
        layers.append(nn.Conv2d(ndf * mult, 1, 4, 1, 1))
        self.model = nn.Sequential(*layers)
        self.n_layers, self.norm = n_layers, norm

    @property
    def descriptor(self) -> Descriptor:
        """PatchGAN: raw logits, one per 70x70 patch (n_layers 3); sees the concatenated pair."""
        return Descriptor(task="discriminate", in_channels=self.input_nc, out_channels=1, value_range=(-1.0, 1.0),
                          same_size=False, context=None, image_statistics=self.norm != "none")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class PixelDiscriminator(nn.Module):
    """1x1 PatchGAN (``pixel``): classifies every pixel; output ``[N, 1, H, W]`` logits."""

    def __init__(self, input_nc: int = 6, ndf: int = 64, norm: str = "batch") -> None:
        super().__init__()
        self.input_nc, self.norm = input_nc, norm
        bias = conv_bias(norm)
        self.net = nn.Sequential(
            nn.Conv2d(input_nc, ndf, 1, 1, 0),
            nn.LeakyReLU(0.2),
            nn.Conv2d(ndf, ndf * 2, 1, 1, 0, bias=bias),
            norm_layer(norm, ndf * 2),
            nn.LeakyReLU(0.2),
            nn.Conv2d(ndf * 2, 1, 1, 1, 0, bias=bias),
        )

    @property
    def descriptor(self) -> Descriptor:
        """1x1 PatchGAN: a logit per pixel."""
        return Descriptor(task="discriminate", in_channels=self.input_nc, out_channels=1, value_range=(-1.0, 1.0),
                          context=0, image_statistics=self.norm != "none")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


ARCHS: dict[str, type[nn.Module]] = {"unet": UnetGenerator, "nlayer_d": NLayerDiscriminator, "pixel_d": PixelDiscriminator}

# Released: the unet_256 generators (54.4M parameters) and the n_layers=3 PatchGAN (2.8M).
LIMITS = {
    "unet": ArchLimits(
        kwargs={"input_nc": Int(1, 64), "output_nc": Int(1, 64), "num_downs": Int(5, 16), "ngf": Int(1, 512),
                "norm": OneOf(NORMS), "use_dropout": BOOL},
        max_parameters=600_000_000, largest_released=54_423_824,
    ),
    "nlayer_d": ArchLimits(
        kwargs={"input_nc": Int(1, 128), "ndf": Int(1, 512), "n_layers": Int(0, 16), "norm": OneOf(NORMS)},
        max_parameters=100_000_000, largest_released=2_770_500,
    ),
    "pixel_d": ArchLimits(
        kwargs={"input_nc": Int(1, 128), "ndf": Int(1, 1024), "norm": OneOf(NORMS)},
        max_parameters=10_000_000, largest_released=9_281,
    ),
}
