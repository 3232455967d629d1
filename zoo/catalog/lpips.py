"""Registry entry of the perceptual family: LPIPS-VGG from torchvision's VGG16 and the lpips heads.

torchvision's ImageNet VGG16 (``vgg16-397923af.pth``) is a direct download from
download.pytorch.org, which this project cannot reach from its test machines; the entry is a
manual source with the file's published sha256 (torchvision names files by its first eight hex
digits), so ``zoo download lpips-vgg16`` says what to fetch and ``zoo import FILE`` converts it
(``zoo.formats.lpips``, the heads from the lpips package). Projection uses it when present.
"""

from __future__ import annotations

from ..registry import ManualSource, ModelInfo, register
from ..tasks.options import MeasureOptions

VGG16_URL = "https://download.pytorch.org/models/vgg16-397923af.pth"
VGG16_SHA256 = "397923af8e79cdbb6a7127f12361acd7a2f83e06b05044ddf496e83de57a5bf0"  # 553,433,881 bytes

ENTRY = register(ModelInfo(
    name="lpips-vgg16", family="perceptual", task="measure", title="LPIPS-VGG perceptual distance",
    description="LPIPS v0.1 with torchvision's ImageNet VGG16 trunk: the distance StyleGAN2 projection uses when present.",
    licence="BSD-3-Clause AND BSD-2-Clause", sources=(ManualSource(url=VGG16_URL, filename="vgg16-397923af.pth", sha256=VGG16_SHA256),),
    card="lpips-vgg16.md", paper="https://arxiv.org/abs/1801.03924", homepage="https://github.com/richzhang/PerceptualSimilarity",
    arch="lpips_vgg16", arch_kwargs={}, tags=("perceptual",), options=MeasureOptions(trained_on="ImageNet-1k (trunk); BAPPS (heads)"),
))
