"""Generate task: StyleGAN2 images from seeds, with truncation, style mixing and noise modes.

``ImageGenerator(seed)`` returns an RGB PIL image of the network's resolution. Seeds are NVIDIA's:
seed ``s`` draws ``z = numpy.random.RandomState(s).randn(1, z_dim)``, as the official
``generate.py`` does, so the same seed names the same image there and here; 8-bit output is
``clamp(x * 127.5 + 128)`` of the [-1, 1] image, as there. The same seed and settings give the same
image, bit for bit, on the same machine ("random" noise is drawn from the seed too).

W-space access for editing: ``ws(seed, ...)`` gives ``[1, num_ws, w_dim]``, ``render(ws)`` an image.
Edits move W along latent directions (``zoo.tasks.directions``): ``sefa0``, ``sefa1``, ...,
``ganspace0``, ... are computed once per model and cached; ``add_directions`` adds named ones
from ``.npy`` files. ``gen(seed, edits={"sefa0": 2.0}, edit_layers=(0, 8))``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from PIL import Image

from ..errors import ZooError
from . import directions as latent
from .base import Task

NOISE_MODES = ("const", "none", "random")
DIRECTIONS_PER_METHOD = 16  # computed and cached at once: sefa0..sefa15, ganspace0..ganspace15
PREVIEW_AMOUNTS = (-3.0, -1.5, 0.0, 1.5, 3.0)
MIN_PROJECT_SIDE = 16
PSI_RANGE = (-1.0, 2.0)
MAX_SEED = 2**32 - 1


class ImageGenerator(Task):
    """StyleGAN2 generation (``.net``: NVIDIA's Generator signature, see ``zoo.archs.stylegan2``)."""

    task = "generate"

    def __init__(self, net: torch.nn.Module, info, folder_config: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(net, info, folder_config, **kwargs)
        self.resolution: int = int(self.net.img_resolution)
        self.c_dim: int = int(self.net.c_dim)
        self.z_dim: int = int(self.net.z_dim)
        self.num_ws: int = int(self.net.num_ws)
        self.named: dict[str, latent.LatentDirection] = {}
        self._found: dict[str, list[latent.LatentDirection]] = {}
        self._weights_key: str | None = None

    # -- latents ------------------------------------------------------------------------------

    def z(self, seed: int) -> torch.Tensor:
        """NVIDIA's z for ``seed``: ``RandomState(seed).randn(1, z_dim)``, float32 ``[1, z_dim]``."""
        seed = check_seed(seed)
        return torch.from_numpy(np.random.RandomState(seed).randn(1, self.z_dim)).float()

    def label(self, class_index: int | None) -> torch.Tensor | None:
        """The one-hot label ``[1, c_dim]`` of a conditional generator (None for unconditional ones)."""
        if self.c_dim == 0:
            if class_index is not None:
                raise ZooError(f"{self.name} is unconditional; it takes no class")
            return None
        if class_index is None or isinstance(class_index, bool) or not isinstance(class_index, int) or not 0 <= class_index < self.c_dim:
            raise ZooError(f"{self.name} is conditional: give a class from 0 to {self.c_dim - 1}, not {class_index!r}")
        c = torch.zeros(1, self.c_dim)
        c[0, class_index] = 1
        return c

    def ws(self, seed: int, *, psi: float = 1.0, cutoff: int | None = None, class_index: int | None = None,
           mix_seed: int | None = None, mix_layer: int | None = None) -> torch.Tensor:
        """W+ latents ``[1, num_ws, w_dim]`` for ``seed`` after truncation (``psi`` toward the mean W,
        only the first ``cutoff`` layers when given); with ``mix_seed``, layers from ``mix_layer`` on
        take that seed's W (style mixing, as NVIDIA's style_mixing.py)."""
        psi = float(psi)
        if not PSI_RANGE[0] <= psi <= PSI_RANGE[1]:
            raise ZooError(f"truncation psi must be in {PSI_RANGE[0]:g}..{PSI_RANGE[1]:g}, not {psi:g}")
        if cutoff is not None and not (isinstance(cutoff, int) and 1 <= cutoff <= self.num_ws):
            raise ZooError(f"truncation cutoff must be a layer count from 1 to {self.num_ws}, not {cutoff!r}")
        c = self.label(class_index)
        with torch.inference_mode():
            ws = self.net.mapping(self.z(seed).to(self.device), None if c is None else c.to(self.device),
                                  truncation_psi=psi, truncation_cutoff=cutoff)
            if mix_seed is not None:
                if mix_layer is None or isinstance(mix_layer, bool) or not isinstance(mix_layer, int) or not 0 <= mix_layer < self.num_ws:
                    raise ZooError(f"style mixing needs a crossover layer from 0 to {self.num_ws - 1}, not {mix_layer!r}")
                other = self.net.mapping(self.z(mix_seed).to(self.device), None if c is None else c.to(self.device),
                                         truncation_psi=psi, truncation_cutoff=cutoff)
                ws = torch.cat([ws[:, :mix_layer], other[:, mix_layer:]], dim=1)
        return ws.float().cpu()

    # -- directions ---------------------------------------------------------------------------

    def directions(self, method: str = "sefa", k: int = DIRECTIONS_PER_METHOD) -> list[latent.LatentDirection]:
        """The top ``k`` (at most 16) unlabelled directions of ``method`` ("sefa" or "ganspace"), cached."""
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= DIRECTIONS_PER_METHOD:
            raise ZooError(f"the number of directions must be 1..{DIRECTIONS_PER_METHOD}, not {k!r}")
        if method not in self._found:  # read (or computed) once per method, not at every edit or slider move
            self._found[method] = latent.computed(self.net, method, DIRECTIONS_PER_METHOD, self.weights_key())
        return self._found[method][:k]

    def weights_key(self) -> str:
        """A sha256 naming these weights (the converted folder's, else one of the tensors): the cache key."""
        if self._weights_key is None:
            self._weights_key = self.folder_config.get("weights_sha256") or _tensors_sha256(self.net)
        return self._weights_key

    def add_directions(self, paths) -> list[str]:
        """Add named directions from ``.npy`` files (InterFaceGAN's format); returns their names."""
        found = latent.from_npy(paths, int(self.net.w_dim))
        self.named.update({d.name: d for d in found})
        return [d.name for d in found]

    def direction(self, name: str) -> latent.LatentDirection:
        """A direction by name: a named one, or ``<method><index>`` (``sefa0`` ... ``ganspace15``)."""
        if name in self.named:
            return self.named[name]
        for method in latent.METHODS:
            rest = name[len(method):] if isinstance(name, str) and name.startswith(method) else ""
            if rest.isdigit() and int(rest) < DIRECTIONS_PER_METHOD:
                return self.directions(method)[int(rest)]
        offered = ", ".join(list(self.named) + [f"sefa0..sefa{DIRECTIONS_PER_METHOD - 1}", f"ganspace0..ganspace{DIRECTIONS_PER_METHOD - 1}"])
        raise ZooError(f"unknown direction {str(name)[:40]!r}; {self.name} offers {offered}")

    def edit(self, ws: torch.Tensor, edits: dict[str, float] | None, layers: tuple[int, int] | None = None) -> torch.Tensor:
        """``ws`` moved along the named directions by their amounts, on W+ layers ``layers``."""
        if not edits:
            return ws
        return latent.apply(ws, [(self.direction(name), amount) for name, amount in edits.items()], layers)

    def preview(self, name: str, seed: int = 0, *, amounts=PREVIEW_AMOUNTS, psi: float = 0.7, size: int = 128,
                layers: tuple[int, int] | None = None) -> list[Image.Image]:
        """What a direction does: the images of ``seed`` moved by each amount (a strip, ``size`` px)."""
        ws = self.ws(seed, psi=psi)
        strip = []
        for amount in amounts:
            image = self.render(self.edit(ws, {name: amount}, layers))
            strip.append(image.resize((size, size), Image.LANCZOS) if image.width != size else image)
        return strip

    # -- projection ---------------------------------------------------------------------------

    def project(self, image: Image.Image, *, steps: int = 1000, space: str = "w", distance: str = "auto",
                discriminator: torch.nn.Module | None = None, perceptual=None, seed: int = 0, progress=None):
        """Project a photo into this generator's W or W+ (``zoo.tasks.project``; official schedule).

        The distance networks come from the model unless given: ``perceptual`` is LPIPS-VGG once
        ``lpips-vgg16`` has been imported, ``discriminator`` the model's own D when its converted
        folder (or its NVIDIA pickle) holds one; "auto" takes the first that is here, else pixel MSE.

        The photo is centre-cropped to a square and resized to the generator's resolution (Lanczos),
        as the official projector prepares it. Returns a ``Projection``; ``render(result.ws,
        noise=result.noise)`` draws it and ``edit(result.ws, ...)`` edits it with the same directions.
        """
        from .project import DISTANCES, project

        if distance not in DISTANCES:
            raise ZooError(f"distance must be one of {', '.join(DISTANCES)}, not {distance!r}")
        if perceptual is None and distance in ("auto", "lpips"):
            perceptual = self.companion("lpips")
        if discriminator is None and (distance == "discriminator" or (distance == "auto" and perceptual is None)):
            discriminator = self.companion("discriminator")
        if not isinstance(image, Image.Image):
            raise ZooError(f"projection takes a PIL image, not {type(image).__name__}")
        if min(image.size) < MIN_PROJECT_SIDE:
            raise ZooError(f"the photo is {image.width}x{image.height}; projection needs at least {MIN_PROJECT_SIDE} pixels on each side")
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        square = image.convert("RGB").crop((left, top, left + side, top + side)).resize((self.resolution,) * 2, Image.LANCZOS)
        arr = np.asarray(square, dtype=np.float32)
        if self.net.img_channels == 1:
            arr = arr.mean(axis=2, keepdims=True)
        target = torch.from_numpy(arr).permute(2, 0, 1)[None] / 127.5 - 1
        return project(self.net, target, steps=steps, space=space, distance=distance, discriminator=discriminator,
                       perceptual=perceptual, seed=seed, progress=progress)

    # -- images -------------------------------------------------------------------------------

    def render(self, ws: torch.Tensor, *, noise_mode: str = "const", noise_seed: int = 0,
               noise: list[torch.Tensor] | None = None) -> Image.Image:
        """The RGB image of W+ latents ``ws`` ``[1, num_ws, w_dim]`` (e.g. edited ones); ``noise``: one map
        per conv layer instead of the stored ones (a projection's own, ``Projection.noise``)."""
        if noise_mode not in NOISE_MODES:
            raise ZooError(f"noise mode must be one of {', '.join(NOISE_MODES)}, not {noise_mode!r}")
        if not isinstance(ws, torch.Tensor) or ws.shape != (1, self.num_ws, self.net.w_dim):
            raise ZooError(f"ws must be a [1, {self.num_ws}, {self.net.w_dim}] tensor")
        if not torch.isfinite(ws).all():
            raise ZooError("ws holds NaN or infinite values")
        maps = None if noise is None else [n.to(self.device) for n in noise]

        def synthesize() -> torch.Tensor:  # repeatable: "random" noise is re-seeded on each call
            if noise_mode == "random":
                torch.manual_seed(check_seed(noise_seed))
            return self.net.synthesis(ws.to(self.device), noise_mode=noise_mode, noise=maps)

        with torch.inference_mode():
            img = self.precision(synthesize)
        arr = (img.float().cpu()[0].permute(1, 2, 0) * 127.5 + 128).clamp(0, 255).to(torch.uint8).numpy()
        return Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr)

    def __call__(self, seed: int = 0, *, psi: float = 1.0, cutoff: int | None = None, noise_mode: str = "const",
                 class_index: int | None = None, mix_seed: int | None = None, mix_layer: int | None = None,
                 edits: dict[str, float] | None = None, edit_layers: tuple[int, int] | None = None) -> Image.Image:
        """The image of ``seed`` (see ``ws``, ``edit`` and ``render``); "random" noise is drawn from ``seed``."""
        ws = self.ws(seed, psi=psi, cutoff=cutoff, class_index=class_index, mix_seed=mix_seed, mix_layer=mix_layer)
        return self.render(self.edit(ws, edits, edit_layers), noise_mode=noise_mode, noise_seed=seed)


def _tensors_sha256(net: torch.nn.Module) -> str:
    import hashlib

    digest = hashlib.sha256()
    for name, tensor in net.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().float().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def check_seed(seed: Any) -> int:
    """``seed`` as an int in 0..2^32-1 (NumPy's RandomState range), else a one-line error."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) <= MAX_SEED:
        raise ZooError(f"a seed is an integer from 0 to {MAX_SEED}, not {seed!r}")
    return int(seed)


TASK_CLASS = ImageGenerator  # what zoo.load returns for this task (zoo.loading.task_class)
