"""The per-task options of a registry entry, each validated by the task that owns it.

A ``ModelInfo`` holds what every entry has (name, family, task, licence, sources, card, arch,
...) plus ``options``: one of these, for its task. ``zoo.registry.register`` checks that the
options belong to the entry's task and calls their ``validate``. This module imports nothing
heavy (the catalog builds entries from it at import time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..registry import DIRECTION_NAMES, NAME_PATTERN, TEST_MODES, Direction


@dataclass(frozen=True)
class UpscaleOptions:
    """Upscaling: the network's ``scale``; ``interpolate_with`` names a model whose weights blend
    with this one's (ESRGAN network interpolation), ``interpolate_label`` says what moving toward
    it does."""

    task: ClassVar[str] = "upscale"
    scale: int
    interpolate_with: str | None = None
    interpolate_label: str = ""

    def validate(self, name: str) -> None:
        if isinstance(self.scale, bool) or not isinstance(self.scale, int) or not 1 <= self.scale <= 16:
            raise ValueError(f"{name}: scale must be an integer in 1..16, not {self.scale!r}")
        if self.interpolate_with is not None and not NAME_PATTERN.fullmatch(self.interpolate_with):
            raise ValueError(f"{name}: interpolate_with must be a model name, not {self.interpolate_with!r}")

    def summary(self) -> dict[str, Any]:
        return {"scale": self.scale, "interpolate_with": self.interpolate_with, "interpolate_label": self.interpolate_label}


@dataclass(frozen=True)
class TranslateOptions:
    """Image-to-image translation: its ``directions`` (``AtoB`` first, then optionally ``BtoA``,
    each with its own weights), the ``test_mode`` its norm layers use ("official": the image's own
    statistics, as upstream's test.py; "eval": running statistics), the training ``resolution``."""

    task: ClassVar[str] = "translate"
    directions: tuple[Direction, ...]
    test_mode: str
    resolution: int = 256

    def validate(self, name: str) -> None:
        names = [d.name for d in self.directions]
        if not names or len(set(names)) != len(names) or not set(names) <= set(DIRECTION_NAMES) or names[0] != "AtoB":
            raise ValueError(f"{name}: directions must be AtoB, then optionally BtoA, not {names}")
        if self.test_mode not in TEST_MODES:
            raise ValueError(f"{name}: test_mode must be one of {TEST_MODES}, not {self.test_mode!r}")
        if isinstance(self.resolution, bool) or not isinstance(self.resolution, int) or not 8 <= self.resolution <= 4096:
            raise ValueError(f"{name}: resolution must be an integer in 8..4096, not {self.resolution!r}")

    def summary(self) -> dict[str, Any]:
        return {
            "directions": [
                {"name": d.name, "input": d.input_domain, "output": d.output_domain, "official_name": d.official_name,
                 "sources": [s.describe() for s in d.sources]}
                for d in self.directions
            ],
            "test_mode": self.test_mode,
            "resolution": self.resolution,
        }


@dataclass(frozen=True)
class GenerateOptions:
    """Generation from a latent: the image ``resolution``, the number of classes ``c_dim`` of a
    conditional generator (0: unconditional), and what the training images were (``dataset``)."""

    task: ClassVar[str] = "generate"
    resolution: int
    dataset: str
    c_dim: int = 0

    def validate(self, name: str) -> None:
        r = self.resolution
        if isinstance(r, bool) or not isinstance(r, int) or r < 4 or r & (r - 1):
            raise ValueError(f"{name}: resolution must be a power of two >= 4, not {r!r}")
        if isinstance(self.c_dim, bool) or not isinstance(self.c_dim, int) or self.c_dim < 0:
            raise ValueError(f"{name}: c_dim must be a non-negative integer, not {self.c_dim!r}")
        if not self.dataset:
            raise ValueError(f"{name}: name the training dataset")

    def summary(self) -> dict[str, Any]:
        return {"resolution": self.resolution, "dataset": self.dataset, "c_dim": self.c_dim}


@dataclass(frozen=True)
class MeasureOptions:
    """A perceptual distance between two images (used by other tasks, e.g. projection): what its
    trunk was trained on (``trained_on``) and the side its inputs are compared at (``compare_side``;
    larger images are area-resized to it, as the official StyleGAN2 projector does)."""

    task: ClassVar[str] = "measure"
    trained_on: str
    compare_side: int = 256

    def validate(self, name: str) -> None:
        if not self.trained_on:
            raise ValueError(f"{name}: name what the trunk was trained on")
        if isinstance(self.compare_side, bool) or not isinstance(self.compare_side, int) or self.compare_side < 16:
            raise ValueError(f"{name}: compare_side must be an integer >= 16, not {self.compare_side!r}")

    def summary(self) -> dict[str, Any]:
        return {"trained_on": self.trained_on, "compare_side": self.compare_side}


@dataclass(frozen=True)
class InpaintOptions:
    """Inpainting: the side the network was trained at (``trained_size``: holes are inpainted in a
    context window scaled to about this size) and what the training images were (``dataset``)."""

    task: ClassVar[str] = "inpaint"
    trained_size: int
    dataset: str

    def validate(self, name: str) -> None:
        if isinstance(self.trained_size, bool) or not isinstance(self.trained_size, int) or self.trained_size < 64 or self.trained_size % 8:
            raise ValueError(f"{name}: trained_size must be a multiple of 8 >= 64, not {self.trained_size!r}")
        if not self.dataset:
            raise ValueError(f"{name}: name the training dataset")

    def summary(self) -> dict[str, Any]:
        return {"trained_size": self.trained_size, "dataset": self.dataset}
