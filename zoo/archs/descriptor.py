"""What a network takes, gives and needs: its ``Descriptor`` (in the spirit of spandrel's).

Every network of ``zoo.archs`` has a ``descriptor`` property built from its own constructor
arguments. Tasks and the app read it instead of lists of architecture names: which task a
network serves, its channels and scale, the size multiple and minimum size of its input, how
much context a tile needs to be seamless, the tile size its memory allows, which dtypes run on
which device. ``zoo.weights`` writes it into a converted folder's ``config.json`` (key
``descriptor``), so a folder states its own limits; on load it is computed again from the network,
which is the authority.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

NOUNS = {"upscale": "an upscaler", "translate": "a translation generator", "discriminate": "a discriminator",
         "generate": "an image generator", "measure": "a perceptual distance",
         "inpaint": "an inpainting network"}
DTYPES = ("float32", "float16", "bfloat16")  # compute dtypes: reduced ones run under autocast (zoo.tasks.precision)


@dataclass(frozen=True)
class Descriptor:
    """A network's contract.

    * ``task``: what it is for: ``upscale``, ``translate`` (image-to-image generators),
      ``discriminate``, ``generate`` (images from a latent), ``measure`` (a distance of two images), ``inpaint`` (image + mask in).
    * ``inputs``: ``image`` (one NCHW tensor), ``image_pair`` (two), ``image+mask``, ``latent``.
    * ``in_channels`` / ``out_channels``; ``scale``: output size / input size.
    * ``value_range``: (low, high) of input and output pixel values, e.g. (0, 1) or (-1, 1).
    * ``size_multiple``: input H and W must be multiples of it (pad first); ``min_size``: the
      smallest H and W it accepts after padding to the multiple.
    * ``same_size``: the output is exactly ``scale`` times the (padded) input.
    * ``context``: input pixels around a tile that make tiled output equal one pass (``None``:
      the receptive field is the whole image, never tile); ``context_exact`` says whether that is
      the exact receptive field or a measured value (benchmarks/RESULTS.md).
    * ``tile``: the default tile size (input pixels) for bounded memory; 0 = one pass.
    * ``image_statistics``: it normalises with statistics of the image (BatchNorm in test mode
      "official", InstanceNorm), so tiles need statistics of the whole image.
    * ``dtypes``: device type -> compute dtype names that run there (every network of ``zoo.archs``
      runs all three on both, float32 weights under autocast: ``zoo.tasks.precision``).
    * ``activation_bytes``: peak memory of one fp32 CPU forward per input pixel, beyond the
      weights (measured: ``benchmarks/bench_memory.py --activations``); 0 = not measured, and
      tasks tile with ``tile``. The tile planner (``zoo.tasks.tiling.plan_tiles``) reads it.
    """

    task: str
    in_channels: int
    out_channels: int
    inputs: str = "image"
    scale: int = 1
    value_range: tuple[float, float] = (0.0, 1.0)
    size_multiple: int = 1
    min_size: int = 1
    same_size: bool = True
    context: int | None = 0
    context_exact: bool = True
    tile: int = 0
    image_statistics: bool = False
    dtypes: dict[str, tuple[str, ...]] = field(default_factory=lambda: {"cpu": DTYPES, "cuda": DTYPES})
    activation_bytes: float = 0.0

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples as lists)."""
        data = dataclasses.asdict(self)
        data["value_range"] = list(self.value_range)
        data["dtypes"] = {k: list(v) for k, v in self.dtypes.items()}
        return data

    @property
    def noun(self) -> str:
        """What the network is, in words ("an upscaler")."""
        return noun(self.task)

    def supports(self, device_type: str, dtype: str) -> bool:
        return dtype in self.dtypes.get(device_type, ())


def noun(task: str) -> str:
    """What a network for ``task`` is, in words: "an upscaler", "a translation generator", ..."""
    return NOUNS.get(task, f"a {task} network")


def round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple
