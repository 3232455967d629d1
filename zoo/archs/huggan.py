"""HugGAN (huggingface/community-events, ``huggan/pytorch``) pix2pix and CycleGAN networks.

These are Erik Linder-Norén's PyTorch-GAN networks as the HugGAN sprint (spring 2022) published
them, a different architecture from junyanz's (``zoo.archs.pix2pix`` / ``zoo.archs.cyclegan``).
Module names reproduce the published ``state_dict`` keys exactly, and parameter-free layers keep
their published positions so the Sequential indices line up (docs/huggan.md has the evidence):

* ``HugganUNetGenerator`` (``GeneratorUNet``): ``down1..down8.model.0.weight`` (4x4 stride-2 convs,
  no bias), ``up1..up7.model.0.weight`` (4x4 stride-2 transposed convs, no bias),
  ``final.2.weight`` / ``final.2.bias``. InstanceNorm2d layers (affine=False) have no keys.
* ``HugganResNetGenerator`` (``GeneratorResNet``): ``model.1`` (7x7), ``model.4`` / ``model.7``
  (stride-2 3x3), residual blocks ``model.{10+k}.block.{1,5}``, then with n blocks
  ``model.{11+n}`` / ``model.{15+n}`` (3x3 after a nearest x2 upsampling) and ``model.{19+n}``
  (7x7); every conv has a bias.
* ``HugganPix2PixDiscriminator`` / ``HugganCycleGANDiscriminator``: ``model.{0,2,5,8}`` 4x4
  stride-2 convs and ``model.12`` (the last conv: no bias in pix2pix's, a bias in CycleGAN's).

Tensors: NCHW float32 images in [-1, 1] (the HugGAN scripts' ``Normalize(0.5, 0.5)``); the
generators end in tanh, so outputs are in (-1, 1); discriminators return raw scores
``[N, 1, H/16, W/16]`` (trained with an MSE loss, no sigmoid).

Test-time semantics are those of ``from_pretrained`` (which calls ``eval()``): Dropout is off.
InstanceNorm2d here has no running statistics, so it normalises with each sample's own statistics
in train and eval mode alike (biased variance, eps 1e-5). Upsampling is nearest-neighbour x2.
"""

from __future__ import annotations

import torch
from torch import nn

from .cyclegan import RESNET_CONTEXT, RESNET_TILE
from .descriptor import Descriptor
from .limits import ArchLimits, Int

UNET_DOWN = ((64, False, 0.0), (128, True, 0.0), (256, True, 0.0), (512, True, 0.5), (512, True, 0.5), (512, True, 0.5),
             (512, True, 0.5), (512, False, 0.5))  # (out channels, InstanceNorm, dropout) of down1..down8
UNET_UP = ((512, 512, 0.5), (1024, 512, 0.5), (1024, 512, 0.5), (1024, 512, 0.5), (1024, 256, 0.0), (512, 128, 0.0),
           (256, 64, 0.0))  # (in channels, out channels, dropout) of up1..up7


def _check_image(x: torch.Tensor, channels: int, multiple: int, what: str) -> None:
    if x.ndim != 4 or x.shape[1] != channels or x.shape[2] % multiple or x.shape[3] % multiple:
        raise ValueError(f"{what}: expected [N, {channels}, H, W] with H, W multiples of {multiple}, got {list(x.shape)}")


class _Down(nn.Module):
    """``model`` = [Conv2d(4, 2, 1, bias=False), (InstanceNorm2d,) LeakyReLU(0.2), (Dropout)]."""

    def __init__(self, in_ch: int, out_ch: int, normalize: bool, dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_ch, out_ch, 4, 2, 1, bias=False)]
        if normalize:
            layers.append(nn.InstanceNorm2d(out_ch))
        layers.append(nn.LeakyReLU(0.2))
        if dropout:
            layers.append(nn.Dropout(dropout))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class _Up(nn.Module):
    """``model`` = [ConvTranspose2d(4, 2, 1, bias=False), InstanceNorm2d, ReLU, (Dropout)]; then [up, skip]."""

    def __init__(self, in_ch: int, out_ch: int, dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.ConvTranspose2d(in_ch, out_ch, 4, 2, 1, bias=False), nn.InstanceNorm2d(out_ch), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return torch.cat((self.model(x), skip), 1)


class HugganUNetGenerator(nn.Module):
    """HugGAN pix2pix ``GeneratorUNet(in_channels, out_channels)``: 8 levels, fixed widths.

    Input ``[N, in_channels, H, W]`` in [-1, 1] with H and W multiples of 256 (= 2**8: the
    bottleneck ``down8`` is H/256 x W/256 and every skip must match exactly); output
    ``[N, out_channels, H, W]`` in (-1, 1). Widths 64, 128, 256, 512 x 5 down; up1..up7 give
    512, 512, 512, 512, 256, 128, 64 channels before their skip is concatenated. The last stage
    is nearest x2 upsampling, ZeroPad2d((1, 0, 1, 0)), Conv2d(128, out, 4, padding=1) with a
    bias, tanh. Dropout(0.5) in down4..down8 and up1..up4 is active only in train mode.
    """

    size_multiple = 256

    def __init__(self, in_channels: int = 3, out_channels: int = 3) -> None:
        super().__init__()
        if in_channels < 1 or out_channels < 1:
            raise ValueError(f"channel counts must be positive, not {in_channels}, {out_channels}")
        self.in_channels, self.out_channels = in_channels, out_channels
        prev = in_channels
        for i, (width, normalize, dropout) in enumerate(UNET_DOWN, 1):
            setattr(self, f"down{i}", _Down(prev, width, normalize, dropout))
            prev = width
        for i, (cin, cout, dropout) in enumerate(UNET_UP, 1):
            setattr(self, f"up{i}", _Up(cin, cout, dropout))
        self.final = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.ZeroPad2d((1, 0, 1, 0)),
            nn.Conv2d(128, out_channels, 4, padding=1),
            nn.Tanh(),
        )

    @property
    def descriptor(self) -> Descriptor:
        """Generator, [-1, 1]; its bottleneck sees the whole image, so it is never tiled."""
        return Descriptor(task="translate", in_channels=self.in_channels, out_channels=self.out_channels,
                          value_range=(-1.0, 1.0), size_multiple=256, min_size=256, context=None, image_statistics=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_image(x, self.in_channels, self.size_multiple, "HugganUNetGenerator")
        skips = []
        for i in range(1, 9):
            x = getattr(self, f"down{i}")(x)
            skips.append(x)
        x = skips.pop()  # the bottleneck (down8) feeds up1 directly
        for i in range(1, 8):
            x = getattr(self, f"up{i}")(x, skips.pop())
        return self.final(x)


class _ResidualBlock(nn.Module):
    """``x + block(x)``, ``block`` = [ReflPad(1), Conv3x3, IN, ReLU, ReflPad(1), Conv3x3, IN]."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(features, features, 3),
            nn.InstanceNorm2d(features),
            nn.ReLU(),
            nn.ReflectionPad2d(1),
            nn.Conv2d(features, features, 3),
            nn.InstanceNorm2d(features),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


def resnet_output_size(size: int, channels: int) -> int:
    """Output height (or width) of ``HugganResNetGenerator`` for an input of ``size`` pixels.

    The first and last 7x7 convs are padded by ``channels`` pixels (not 3), so each changes the
    size by ``2 * channels - 6``; the stride-2 convs give ceil(s / 2); the upsamplings double.
    With 3 channels and a multiple of 4 the output has the input's size.
    """
    s = size + 2 * channels - 6
    for _ in range(2):
        s = (s + 1) // 2
    return s * 4 + 2 * channels - 6


class HugganResNetGenerator(nn.Module):
    """HugGAN CycleGAN ``GeneratorResNet(input_shape, num_residual_blocks)``; ``channels`` = input_shape[0].

    ``model`` = ReflectionPad2d(channels) [sic: the published code pads by the channel count],
    Conv2d(channels, 64, 7), IN, ReLU; 2 x [Conv2d(3, stride 2, padding 1), IN, ReLU] (64 -> 128
    -> 256); ``num_residual_blocks`` residual blocks at 256; 2 x [nearest Upsample x2, Conv2d(3,
    padding 1), IN, ReLU] (256 -> 128 -> 64); ReflectionPad2d(channels), Conv2d(64, channels, 7), tanh.

    Input ``[N, channels, H, W]`` in [-1, 1]; output ``[N, channels, H', W']`` in (-1, 1). With
    3 channels (every published model) H and W must be multiples of 4 and the output has the same
    size; with other channel counts the size changes (``resnet_output_size``), as in the reference.
    The input height/width of ``input_shape`` play no part in the network.
    """

    size_multiple = 4

    def __init__(self, channels: int = 3, num_residual_blocks: int = 9) -> None:
        super().__init__()
        if channels < 1:
            raise ValueError(f"channels must be positive, not {channels}")
        if num_residual_blocks < 0:
            raise ValueError(f"num_residual_blocks must be >= 0, not {num_residual_blocks}")
        self.channels, self.num_residual_blocks = channels, num_residual_blocks
        layers: list[nn.Module] = [nn.ReflectionPad2d(channels), nn.Conv2d(channels, 64, 7), nn.InstanceNorm2d(64), nn.ReLU()]
        for cin, cout in ((64, 128), (128, 256)):
            layers += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.InstanceNorm2d(cout), nn.ReLU()]
        layers += [_ResidualBlock(256) for _ in range(num_residual_blocks)]
        for cin, cout in ((256, 128), (128, 64)):
            layers += [
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.Conv2d(cin, cout, 3, stride=1, padding=1),
                nn.InstanceNorm2d(cout),
                nn.ReLU(),
            ]
        layers += [nn.ReflectionPad2d(channels), nn.Conv2d(64, channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    @property
    def descriptor(self) -> Descriptor:
        """Generator, [-1, 1]; tiled like junyanz's ResNet. Only the published 3-channel layout keeps
        the image size (its first ReflectionPad2d pads by the channel count)."""
        return Descriptor(task="translate", in_channels=self.channels, out_channels=self.channels, value_range=(-1.0, 1.0),
                          size_multiple=4, min_size=8, same_size=self.channels == 3, context=RESNET_CONTEXT,
                          context_exact=False, tile=RESNET_TILE, image_statistics=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_image(x, self.channels, 1, "HugganResNetGenerator")
        if self.channels == 3 and (x.shape[2] % 4 or x.shape[3] % 4):
            raise ValueError(f"HugganResNetGenerator: H and W must be multiples of 4, got {list(x.shape)}")
        return self.model(x)


def _d_layers(in_ch: int, last_bias: bool) -> list[nn.Module]:
    """[Conv(4, 2, 1), (IN,) LeakyReLU(0.2)] x 4 (in -> 64 -> 128 -> 256 -> 512), ZeroPad2d((1, 0, 1, 0)), Conv(512, 1, 4, padding 1)."""
    layers: list[nn.Module] = []
    for i, (cin, cout) in enumerate(((in_ch, 64), (64, 128), (128, 256), (256, 512))):
        layers.append(nn.Conv2d(cin, cout, 4, stride=2, padding=1))
        if i:
            layers.append(nn.InstanceNorm2d(cout))
        layers.append(nn.LeakyReLU(0.2))
    layers += [nn.ZeroPad2d((1, 0, 1, 0)), nn.Conv2d(512, 1, 4, padding=1, bias=last_bias)]
    return layers


class HugganPix2PixDiscriminator(nn.Module):
    """HugGAN pix2pix ``Discriminator(in_channels)``: PatchGAN on ``cat([img_a, img_b], 1)``.

    ``forward(img_a, img_b)``, each ``[N, in_channels, H, W]`` in [-1, 1] with H, W multiples of
    16; returns raw scores ``[N, 1, H/16, W/16]``. The last conv has no bias.
    """

    size_multiple = 16

    def __init__(self, in_channels: int = 3) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.model = nn.Sequential(*_d_layers(in_channels * 2, last_bias=False))

    @property
    def descriptor(self) -> Descriptor:
        return Descriptor(task="discriminate", inputs="image_pair", in_channels=self.in_channels, out_channels=1,
                          value_range=(-1.0, 1.0), size_multiple=16, min_size=16, same_size=False, context=None,
                          image_statistics=True)

    def forward(self, img_a: torch.Tensor, img_b: torch.Tensor) -> torch.Tensor:
        for img in (img_a, img_b):
            _check_image(img, self.in_channels, self.size_multiple, "HugganPix2PixDiscriminator")
        return self.model(torch.cat((img_a, img_b), 1))


class HugganCycleGANDiscriminator(nn.Module):
    """HugGAN CycleGAN ``Discriminator(channels)``: PatchGAN on one image.

    Input ``[N, channels, H, W]`` in [-1, 1] with H, W multiples of 16; returns raw scores
    ``[N, 1, H/16, W/16]``. The last conv has a bias.
    """

    size_multiple = 16

    def __init__(self, channels: int = 3) -> None:
        super().__init__()
        self.channels = channels
        self.model = nn.Sequential(*_d_layers(channels, last_bias=True))

    @property
    def descriptor(self) -> Descriptor:
        return Descriptor(task="discriminate", in_channels=self.channels, out_channels=1, value_range=(-1.0, 1.0),
                          size_multiple=16, min_size=16, same_size=False, context=None, image_statistics=True)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        _check_image(img, self.channels, self.size_multiple, "HugganCycleGANDiscriminator")
        return self.model(img)


ARCHS: dict[str, type[nn.Module]] = {
    "huggan_unet": HugganUNetGenerator,
    "huggan_resnet": HugganResNetGenerator,
    "huggan_pix2pix_d": HugganPix2PixDiscriminator,
    "huggan_cyclegan_d": HugganCycleGANDiscriminator,
}

# Their networks have fixed widths; only channels and the number of residual blocks vary.
LIMITS = {
    "huggan_unet": ArchLimits(kwargs={"in_channels": Int(1, 64), "out_channels": Int(1, 64)},
                              max_parameters=600_000_000, largest_released=54_404_099),
    "huggan_resnet": ArchLimits(kwargs={"channels": Int(1, 64), "num_residual_blocks": Int(0, 256)},
                                max_parameters=150_000_000, largest_released=11_378_179),
    "huggan_pix2pix_d": ArchLimits(kwargs={"in_channels": Int(1, 64)}, max_parameters=100_000_000, largest_released=2_767_808),
    "huggan_cyclegan_d": ArchLimits(kwargs={"channels": Int(1, 64)}, max_parameters=100_000_000, largest_released=2_764_737),
}
