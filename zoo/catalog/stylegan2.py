"""Registry entries of the StyleGAN2 family: NVIDIA's released stylegan2-ada-pytorch generators.

The files are NVIDIA persistence pickles (``G``, ``D``, ``G_ema``), read by
``zoo.formats.nvidia_pickle`` without running their code; gan-zoo converts ``G_ema``. They are
served from NVIDIA's CDN, which publishes no checksum, so ``sha256`` stays None: the first
download is pinned and later ones must match it. Licence: the NVIDIA Source Code License
(non-commercial, research or evaluation only) for code and weights; each training set has its
own terms (the cards say which).

``arch_kwargs`` hold what the tensors of each release must show (resolutions, channel table,
mapping depth where the training configuration fixes it): the shapes in
tests/fixtures/parity/stylegan2/manifests for ffhq, metfaces, afhqcat and afhqdog; the
configurations of stylegan2-ada-pytorch's train.py (``paper512``, ``cifar``) for the others.
"""

from __future__ import annotations

from ..registry import ModelInfo, UrlSource, register
from ..tasks.options import GenerateOptions

URL = "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained"
PAPER = "https://arxiv.org/abs/2006.06676"
HOMEPAGE = "https://github.com/NVlabs/stylegan2-ada-pytorch"
LICENCE = "LicenseRef-NVIDIA-Source-Code-License"


def _channels(resolution: int) -> list[int]:
    return [min(32768 // r, 512) for r in (2**i for i in range(2, resolution.bit_length()))]


def _kwargs(resolution: int, c_dim: int = 0, mapping_layers: int | None = 8) -> dict:
    kwargs = {"z_dim": 512, "c_dim": c_dim, "w_dim": 512, "img_resolution": resolution, "img_channels": 3,
              "channels": _channels(resolution), "architecture": "skip"}
    return kwargs if mapping_layers is None else {**kwargs, "mapping_layers": mapping_layers}


# name, file, title, description, dataset, resolution, c_dim, tags, arch_kwargs
TABLE = (
    ("stylegan2-ffhq", "ffhq", "StyleGAN2 FFHQ faces (1024 px)", "Human faces from Flickr (FFHQ), 1024x1024.", "FFHQ", 1024, 0,
     ("faces", "default"), _kwargs(1024)),
    ("stylegan2-metfaces", "metfaces", "StyleGAN2-ADA MetFaces portraits (1024 px)",
     "Faces from portraits in the Metropolitan Museum of Art's collection, 1024x1024 (ADA, fine-tuned from FFHQ).", "MetFaces", 1024, 0,
     ("faces", "art"), _kwargs(1024)),
    ("stylegan2-afhqcat", "afhqcat", "StyleGAN2-ADA AFHQ cats (512 px)", "Cat faces (AFHQ Cat), 512x512.", "AFHQ Cat", 512, 0,
     ("animals",), _kwargs(512)),
    ("stylegan2-afhqdog", "afhqdog", "StyleGAN2-ADA AFHQ dogs (512 px)", "Dog faces (AFHQ Dog), 512x512.", "AFHQ Dog", 512, 0,
     ("animals",), _kwargs(512)),
    ("stylegan2-afhqwild", "afhqwild", "StyleGAN2-ADA AFHQ wild animals (512 px)", "Wild-animal faces (AFHQ Wild), 512x512.",
     "AFHQ Wild", 512, 0, ("animals",), _kwargs(512)),
    ("stylegan2-brecahad", "brecahad", "StyleGAN2-ADA BreCaHAD histology (512 px)",
     "Breast-cancer histopathology crops (BreCaHAD), 512x512.", "BreCaHAD", 512, 0, ("medical",), _kwargs(512)),
    ("stylegan2-cifar10", "cifar10", "StyleGAN2-ADA CIFAR-10 (32 px, conditional)",
     "The ten CIFAR-10 classes (airplane ... truck), 32x32, conditioned on the class.", "CIFAR-10", 32, 10,
     ("conditional",), _kwargs(32, c_dim=10, mapping_layers=None)),
)

ENTRIES = [
    ModelInfo(
        name=name, family="stylegan2", task="generate", title=title, description=description, licence=LICENCE,
        sources=(UrlSource(f"{URL}/{file}.pkl"),), card=f"{name}.md", paper=PAPER, homepage=HOMEPAGE, arch="stylegan2",
        arch_kwargs=arch_kwargs, tags=tags, options=GenerateOptions(resolution=resolution, dataset=dataset, c_dim=c_dim),
    )
    for name, file, title, description, dataset, resolution, c_dim, tags, arch_kwargs in TABLE
]

for _entry_info in ENTRIES:
    register(_entry_info)
