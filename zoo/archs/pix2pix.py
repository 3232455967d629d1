"""pix2pix networks (junyanz/pytorch-CycleGAN-and-pix2pix): U-Net generator, PatchGAN and pixel discriminators.

Module names reproduce the official ``state_dict`` keys exactly: the U-Net is nested blocks whose
``nn.Sequential`` is called ``model`` (``model.model.1.model.3.model.1.weight`` ...), the
discriminators are one Sequential (``model.{i}`` / ``net.{i}``). Layers without parameters
(activations, Dropout) keep their official positions, so indices line up.

Tensors: images NCHW float32 in [-1, 1] (the official ``Normalize(0.5, 0.5)`` range); generator
outputs end in tanh; discriminators return raw logits ``[N, 1, H', W']`` (no sigmoid).
"""

from __future__ import annotations

import torch
from torch import nn

from .norms import conv_bias, norm_layer


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
        self.outermost = outermost
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

    def __init__(self, input_nc: int = 3, output_nc: int = 3, num_downs: int = 8, ngf: int = 64, norm: str = "batch",
                 use_dropout: bool = False) -> None:
        super().__init__()
        if num_downs < 5:
            raise ValueError(f"num_downs must be at least 5, not {num_downs}")
        self.input_nc, self.output_nc, self.num_downs = input_nc, output_nc, num_downs
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.size_multiple
        if x.ndim != 4 or x.shape[1] != self.input_nc or x.shape[2] % m or x.shape[3] % m:
            raise ValueError(f"expected [N, {self.input_nc}, H, W] with H, W multiples of {m}, got {list(x.shape)}")
        return self.model(x)


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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class PixelDiscriminator(nn.Module):
    """1x1 PatchGAN (``pixel``): classifies every pixel; output ``[N, 1, H, W]`` logits."""

    def __init__(self, input_nc: int = 6, ndf: int = 64, norm: str = "batch") -> None:
        super().__init__()
        self.input_nc = input_nc
        bias = conv_bias(norm)
        self.net = nn.Sequential(
            nn.Conv2d(input_nc, ndf, 1, 1, 0),
            nn.LeakyReLU(0.2),
            nn.Conv2d(ndf, ndf * 2, 1, 1, 0, bias=bias),
            norm_layer(norm, ndf * 2),
            nn.LeakyReLU(0.2),
            nn.Conv2d(ndf * 2, 1, 1, 1, 0, bias=bias),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


ARCHS: dict[str, type[nn.Module]] = {"unet": UnetGenerator, "nlayer_d": NLayerDiscriminator, "pixel_d": PixelDiscriminator}
