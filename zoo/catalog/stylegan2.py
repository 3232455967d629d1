"""Registry entries of the StyleGAN2 family: NVIDIA's released StyleGAN2 generators.

Two releases: stylegan2-ada-pytorch's (``stylegan2-ffhq``, ...), and the StyleGAN2 pickles the
stylegan3 repository distributes on NGC (``stylegan2-ffhq-512``, ..., named by dataset and
resolution; their ``init_kwargs`` use stylegan3's flattened layout).

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
from .bundled import bundled_entry

URL = "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained"
NGC_URL = "https://api.ngc.nvidia.com/v2/models/nvidia/research/stylegan2/versions/1/files"  # the stylegan3 repo's
SG3_PAPER = "https://arxiv.org/abs/2106.12423"
SG3_HOMEPAGE = "https://github.com/NVlabs/stylegan3"
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

# The stylegan3 repository's StyleGAN2 pickles: (dataset id, resolution, dataset, title dataset, tags).
# Only what is certain from the file names and configurations is required of the tensors.
NGC_TABLE = (
    ("ffhq", 1024, "FFHQ", "FFHQ faces", ("faces",)), ("ffhq", 512, "FFHQ", "FFHQ faces", ("faces",)),
    ("ffhq", 256, "FFHQ", "FFHQ faces", ("faces",)), ("ffhqu", 1024, "FFHQ-U", "FFHQ faces, unaligned", ("faces",)),
    ("ffhqu", 256, "FFHQ-U", "FFHQ faces, unaligned", ("faces",)), ("metfaces", 1024, "MetFaces", "MetFaces portraits", ("faces", "art")),
    ("metfacesu", 1024, "MetFaces-U", "MetFaces portraits, unaligned", ("faces", "art")),
    ("afhqv2", 512, "AFHQv2", "AFHQv2 animal faces", ("animals",)), ("afhqcat", 512, "AFHQ Cat", "AFHQ cats", ("animals",)),
    ("afhqdog", 512, "AFHQ Dog", "AFHQ dogs", ("animals",)), ("afhqwild", 512, "AFHQ Wild", "AFHQ wild animals", ("animals",)),
    ("brecahad", 512, "BreCaHAD", "BreCaHAD histology", ("medical",)), ("cifar10", 32, "CIFAR-10", "CIFAR-10 (conditional)", ("conditional",)),
    ("celebahq", 256, "CelebA-HQ", "CelebA-HQ faces", ("faces",)), ("lsundog", 256, "LSUN Dog", "LSUN dogs", ("animals",)),
)


def _ngc_entry(key: str, resolution: int, dataset: str, label: str, tags: tuple[str, ...]) -> ModelInfo:
    c_dim = 10 if key == "cifar10" else 0
    name = f"stylegan2-{key}-{resolution}"
    return ModelInfo(
        name=name, family="stylegan2", task="generate", title=f"StyleGAN2 {label} ({resolution} px, stylegan3 release)",
        description=f"{label}, {resolution}x{resolution}: the StyleGAN2 generator distributed with the stylegan3 repository.",
        licence=LICENCE, sources=(UrlSource(f"{NGC_URL}/stylegan2-{key}-{resolution}x{resolution}.pkl"),), card=f"{name}.md",
        paper=SG3_PAPER, homepage=SG3_HOMEPAGE, arch="stylegan2", tags=tags,
        arch_kwargs={"z_dim": 512, "c_dim": c_dim, "w_dim": 512, "img_resolution": resolution, "img_channels": 3},
        options=GenerateOptions(resolution=resolution, dataset=dataset, c_dim=c_dim),
    )


ENTRIES = [
    ModelInfo(
        name=name, family="stylegan2", task="generate", title=title, description=description, licence=LICENCE,
        sources=(UrlSource(f"{URL}/{file}.pkl"),), card=f"{name}.md", paper=PAPER, homepage=HOMEPAGE, arch="stylegan2",
        arch_kwargs=arch_kwargs, tags=tags, options=GenerateOptions(resolution=resolution, dataset=dataset, c_dim=c_dim),
    )
    for name, file, title, description, dataset, resolution, c_dim, tags, arch_kwargs in TABLE
] + [_ngc_entry(*row) for row in NGC_TABLE]

# Trained by gan-zoo (zoo train stylegan2 --data offline:fashion-mnist ...).
FASHION = bundled_entry(
    "stylegan2-fashion-32", family="stylegan2", task="generate", title="StyleGAN2 Fashion-MNIST (32 px, demo, bundled)",
    description="Clothing and shoe silhouettes, 32x32 gray (a small StyleGAN2 trained here on Fashion-MNIST: demo quality).",
    licence="MIT", arch="stylegan2", paper=PAPER, tags=("clothes",),
    arch_kwargs={"z_dim": 128, "w_dim": 128, "img_resolution": 32, "img_channels": 1, "channels": [128, 128, 64, 32],
                 "mapping_layers": 4, "architecture": "skip"},
    options=GenerateOptions(resolution=32, dataset="Fashion-MNIST"),
    sha256="f34b9ccc1b1302e2b31fd1a8eaed8c9536438422f5aad85de01976861ddc5cfc",
)

for _entry_info in (*ENTRIES, FASHION):
    register(_entry_info)
