"""Measure task: a perceptual distance between two images (LPIPS-VGG, ``zoo.archs.lpips``).

``zoo.load("lpips-vgg16")(a, b)`` gives the LPIPS distance of two PIL images of one size (0 for
identical images). ``distance(x, y)`` is the differentiable form on ``[N, 3, H, W]`` tensors in
[-1, 1] that projection (``zoo.tasks.project``) minimises. Images larger than the entry's
``compare_side`` (256) are area-resized to it first, as the official StyleGAN2 projector prepares
its images for VGG.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

from ..errors import ZooError
from .base import Task

COMPARE_SIDE = 256


class PerceptualDistance(Task):
    """LPIPS between two images (``.net``: ``net(a, b) -> [N]``)."""

    task = "measure"

    def __init__(self, net: torch.nn.Module, info, folder_config: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(net, info, folder_config, **kwargs)
        self.compare_side: int = int(getattr(info.options, "compare_side", COMPARE_SIDE) or COMPARE_SIDE)

    def distance(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """LPIPS per sample ``[N]`` of ``x`` and ``y`` ``[N, 3, H, W]`` in [-1, 1] (gradients flow to both)."""
        if x.shape != y.shape:
            raise ZooError(f"the images differ in size ({list(x.shape)} and {list(y.shape)})")
        return self.precision(self.net, self._prepare(x), self._prepare(y)).float()

    def to_target(self, y: torch.Tensor):
        """``x -> distance(x, y)`` with the fixed image ``y``'s trunk activations computed once."""
        fixed = self.net.to_target(self._prepare(y))  # the fixed image's taps in float32
        return lambda x: self.precision(fixed, self._prepare(x)).float()

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` checked, area-resized to at most ``compare_side``, on the task's device (float32)."""
        if min(x.shape[2:]) < self.descriptor.min_size:
            raise ZooError(f"LPIPS needs images of at least {self.descriptor.min_size} pixels on each side, not {x.shape[3]}x{x.shape[2]}")
        if max(x.shape[2:]) > self.compare_side:
            scale = self.compare_side / max(x.shape[2:])
            x = F.interpolate(x, size=(max(1, round(x.shape[2] * scale)), max(1, round(x.shape[3] * scale))), mode="area")
        return x.to(self.device, torch.float32)

    def __call__(self, a: Image.Image, b: Image.Image) -> float:
        """The LPIPS distance of two PIL images of one size (converted to RGB)."""
        for image in (a, b):
            if not isinstance(image, Image.Image):
                raise ZooError(f"LPIPS compares PIL images, not {type(image).__name__}")
        if a.size != b.size:
            raise ZooError(f"the images differ in size ({a.width}x{a.height} and {b.width}x{b.height})")
        x, y = (torch.from_numpy(np.asarray(i.convert("RGB"), dtype=np.float32)).permute(2, 0, 1)[None] / 127.5 - 1 for i in (a, b))
        with torch.inference_mode():
            return float(self.distance(x, y)[0])


TASK_CLASS = PerceptualDistance  # what zoo.load returns for this task (zoo.loading.task_class)
