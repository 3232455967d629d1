"""CycleGAN's ResNet generator (junyanz/pytorch-CycleGAN-and-pix2pix ``ResnetGenerator``).

One ``nn.Sequential`` named ``model``, laid out as the reference (keys ``model.{i}``):
0 ReflectionPad(3), 1 conv 7x7 (in -> ngf), 2 norm, 3 ReLU, then two stride-2 3x3 convs
(4 and 7, norms 5 and 8), ``n_blocks`` ResnetBlocks from index 10, two transposed convs (10+n
and 13+n, norms 11+n and 14+n), ReflectionPad(3), the final 7x7 conv (17+n, always with a
bias), Tanh. Each block is ``conv_block``: [pad, conv, norm, ReLU, (Dropout,) pad, conv, norm].

Tensors: NCHW float32 in [-1, 1] in, (-1, 1) out, same size when H and W are multiples of 4.

Under no_grad in a test mode on the CPU the generator runs the channels_last oneDNN fast path of
``zoo.archs.norms`` (``run_fast``): every conv and transposed conv one oneDNN call on
channels_last tensors, the final Tanh fused into the last conv, InstanceNorm computed on the
channels_last data (``translate_fast._batch_stats_norm``), the residual added in place. Same state_dict, outputs equal to the plain forward within float32
rounding; ``fast_path.FAST_PATH = False`` or autograd selects the plain forward.
"""

from __future__ import annotations

import torch
from torch import nn

from .descriptor import Descriptor
from .limits import BOOL, ArchLimits, Int, OneOf
from .norms import NORMS, conv_bias, norm_layer
from . import fast_path
from .translate_fast import MODULE_CALLS, cl, run_fast

PADDINGS = {"reflect": nn.ReflectionPad2d, "replicate": nn.ReplicationPad2d}


RESNET_TILE, RESNET_CONTEXT = 2048, 64  # measured defaults (see ResnetGenerator.descriptor)

class ResnetBlock(nn.Module):
    """``x + conv_block(x)`` with two 3x3 convs (padding_type: reflect, replicate or zero)."""

    def __init__(self, dim: int, norm: str, use_dropout: bool, padding_type: str = "reflect") -> None:
        super().__init__()
        bias = conv_bias(norm)

        def conv() -> list[nn.Module]:
            if padding_type == "zero":
                return [nn.Conv2d(dim, dim, 3, padding=1, bias=bias)]
            if padding_type not in PADDINGS:
                raise ValueError(f"padding_type must be reflect, replicate or zero, not {padding_type!r}")
            return [PADDINGS[padding_type](1), nn.Conv2d(dim, dim, 3, padding=0, bias=bias)]

        layers = conv() + [norm_layer(norm, dim), nn.ReLU(True)]
        if use_dropout:
            layers.append(nn.Dropout(0.5))
        layers += conv() + [norm_layer(norm, dim)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)

    def forward_fast(self, x: torch.Tensor) -> torch.Tensor:
        """Fast-path block (channels_last in and out): ``conv_block(x) + x``, the sum made in place."""
        return run_fast(list(self.conv_block), x).add_(x)


class ResnetGenerator(nn.Module):
    """ResNet generator (``resnet_6blocks`` / ``resnet_9blocks``, any ``n_blocks``).

    Input ``[N, input_nc, H, W]`` in [-1, 1]; output ``[N, output_nc, H', W']`` in (-1, 1), where
    H' = H when H is a multiple of 4 (two stride-2 downsamplings, two x2 upsamplings).
    """

    FAST_PATH_MODULE_CALLS = MODULE_CALLS  # norm layers run as modules in the fast route

    size_multiple = 4

    def __init__(self, input_nc: int = 3, output_nc: int = 3, ngf: int = 64, norm: str = "instance", use_dropout: bool = False,
                 n_blocks: int = 9, padding_type: str = "reflect") -> None:
        super().__init__()
        if n_blocks < 0:
            raise ValueError(f"n_blocks must be >= 0, not {n_blocks}")
        self.input_nc, self.output_nc, self.norm, self.ngf = input_nc, output_nc, norm, ngf
        bias = conv_bias(norm)
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, 7, padding=0, bias=bias), norm_layer(norm, ngf), nn.ReLU(True)]
        for mult in (1, 2):
            layers += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1, bias=bias), norm_layer(norm, ngf * mult * 2), nn.ReLU(True)]
        layers += [ResnetBlock(ngf * 4, norm, use_dropout, padding_type) for _ in range(n_blocks)]
        for mult in (4, 2):
            layers += [
                nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, stride=2, padding=1, output_padding=1, bias=bias),
                norm_layer(norm, ngf * mult // 2),
                nn.ReLU(True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    @property
    def descriptor(self) -> Descriptor:
        """Generator, [-1, 1], fully convolutional. The translate task runs it in one pass when its
        activations fit the memory budget, else in planned tiles with 64 pixels of context and
        image-wide statistics (benchmarks/RESULTS.md, "Translate: any size"); ``tile`` (2048) is
        the fallback when no budget applies. 8 pixels is the least its two stride-2 stages can
        reflect-pad."""
        return Descriptor(task="translate", in_channels=self.input_nc, out_channels=self.output_nc, value_range=(-1.0, 1.0),
                          size_multiple=4, min_size=8, context=RESNET_CONTEXT, context_exact=False, tile=RESNET_TILE,
                          image_statistics=self.norm != "none", activation_bytes=self.activation_bytes())

    def activation_bytes(self) -> float:
        """Peak bytes per input pixel of a forward: the full-resolution stages dominate (the last
        up-sampling's ngf-channel output and its normalised copy, plus the input and the output).
        Measured on resnet_9blocks (ngf 64): 519-527 B at 768-1536 px (536 predicted)."""
        return 4.0 * (2 * self.ngf + self.input_nc + self.output_nc)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.input_nc:
            raise ValueError(f"expected [N, {self.input_nc}, H, W], got {list(x.shape)}")
        if fast_path.gate(self, x):
            return run_fast(list(self.model), cl(x)).contiguous()
        return self.model(x)


ARCHS: dict[str, type[nn.Module]] = {"resnet": ResnetGenerator}

# Released: the resnet_9blocks generators (11.4M parameters).
LIMITS = {
    "resnet": ArchLimits(
        kwargs={"input_nc": Int(1, 64), "output_nc": Int(1, 64), "ngf": Int(1, 512), "norm": OneOf(NORMS), "use_dropout": BOOL,
                "n_blocks": Int(0, 256), "padding_type": OneOf(("reflect", "replicate", "zero"))},
        max_parameters=150_000_000, largest_released=11_378_179,
    ),
}
