"""LPIPS with a VGG16 trunk (Zhang et al. 2018, version 0.1): a learned perceptual image distance.

The network is torchvision's ``vgg16().features`` (the 13 convolutions with their ReLUs and
max-pools, same indices, so the keys are ``features.{i}.weight`` / ``.bias`` as in torchvision's
checkpoint) and LPIPS's five linear heads ``lin{k}.weight`` ``[1, C_k, 1, 1]`` (the ``lpips``
package's ``lin{k}.model.1.weight``). This module knows nothing about files
(``zoo.formats.lpips`` reads them).

``net(a, b) -> [N]``: a and b are ``[N, 3, H, W]`` RGB in [-1, 1]. Each is shifted and scaled
channel-wise (``(x - shift) / scale``, LPIPS's ScalingLayer), run through the trunk; the
activations after relu1_2, relu2_2, relu3_3, relu4_3 and relu5_3 are divided by their L2 norm over
channels (+1e-10), the squared differences weighted per channel by the head, averaged over the
pixels and summed over the five layers. 0 for identical images; about 0.1-0.7 for different ones.
"""

from __future__ import annotations

import torch
from torch import nn

from .descriptor import Descriptor
from .limits import ArchLimits

# torchvision's VGG16 configuration "D": conv widths, "M" for a 2x2 max-pool
VGG16_LAYERS = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512)
TAPS = (3, 8, 15, 22, 29)  # indices of relu1_2, relu2_2, relu3_3, relu4_3, relu5_3 in ``features``
WIDTHS = (64, 128, 256, 512, 512)
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
EPS = 1e-10


def vgg16_features() -> nn.Sequential:
    """torchvision's ``vgg16().features`` up to relu5_3 (30 modules; its final max-pool, index 30,
    is not used by LPIPS and has no parameters)."""
    layers: list[nn.Module] = []
    channels = 3
    for item in VGG16_LAYERS:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(channels, int(item), kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            channels = int(item)
    return nn.Sequential(*layers)


class LPIPSVGG16(nn.Module):
    """``net(a, b)``: the LPIPS distance per sample ``[N]`` of two [-1, 1] RGB batches."""

    def __init__(self) -> None:
        super().__init__()
        self.features = vgg16_features()
        for k, width in enumerate(WIDTHS):
            setattr(self, f"lin{k}", nn.Conv2d(width, 1, kernel_size=1, bias=False))
        self.register_buffer("shift", torch.tensor(SHIFT).reshape(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(SCALE).reshape(1, 3, 1, 1), persistent=False)

    @property
    def descriptor(self) -> Descriptor:
        """A distance between two RGB images in [-1, 1] (any size from 16 px: four 2x pools)."""
        return Descriptor(task="measure", inputs="image_pair", in_channels=3, out_channels=1, value_range=(-1.0, 1.0),
                          min_size=16, same_size=False, context=None)

    def taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The five unit-normalised activations of ``x`` [N, 3, H, W] in [-1, 1]."""
        h = (x - self.shift) / self.scale
        out = []
        for i, layer in enumerate(self.features):
            h = layer(h)
            if i in TAPS:
                out.append(h / (h.square().sum(dim=1, keepdim=True).sqrt() + EPS))
                if i == TAPS[-1]:
                    break
        return out

    def compare(self, taps_a: list[torch.Tensor], taps_b: list[torch.Tensor]) -> torch.Tensor:
        """The distance [N] of two images' ``taps``."""
        total = taps_a[0].new_zeros(taps_a[0].shape[0])
        for k, (fa, fb) in enumerate(zip(taps_a, taps_b)):
            total = total + getattr(self, f"lin{k}")((fa - fb).square()).mean(dim=[1, 2, 3])
        return total

    def to_target(self, b: torch.Tensor):
        """``x -> net(x, b)`` with ``b``'s taps computed once (an optimisation toward a fixed image)."""
        self._check(b, b)
        with torch.no_grad():
            fixed = self.taps(b)

        def distance(a: torch.Tensor) -> torch.Tensor:
            self._check(a, b)
            return self.compare(self.taps(a), fixed)

        return distance

    @staticmethod
    def _check(a: torch.Tensor, b: torch.Tensor) -> None:
        if a.shape != b.shape or a.ndim != 4 or a.shape[1] != 3:
            raise ValueError(f"LPIPS compares two [N, 3, H, W] batches of one shape, not {list(a.shape)} and {list(b.shape)}")

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        self._check(a, b)
        return self.compare(self.taps(a), self.taps(b))


ARCHS: dict[str, type[nn.Module]] = {"lpips_vgg16": LPIPSVGG16}

LIMITS = {"lpips_vgg16": ArchLimits(kwargs={}, max_parameters=100_000_000, largest_released=14_716_160)}
