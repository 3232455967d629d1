"""Registry entries of the pix2pix family: the generators released with junyanz/pytorch-CycleGAN-and-pix2pix.

Every released file is one generator (``scripts/download_pix2pix_model.sh <name>``), served
over plain http from the authors' Berkeley server, the only official location. Upstream
publishes no checksum, so ``sha256`` stays None: the first download is pinned and later ones must match it.

All five files are the default pix2pix generator: ``unet_256``, batch norm, dropout on (the
default ``--no_dropout`` is off), 3 -> 3 channels, ngf 64. Dropout has no weights, so the
config has to say so; ``netG`` and ``norm`` make the converter reject a file whose keys are not
that architecture. The test-time behaviour is the official one (batch statistics, see the
cards): the running statistics stored in these files are not what upstream's ``test.py`` uses.
"""

from __future__ import annotations

from ..registry import BundledSource, Direction, register
from ..tasks.options import TranslateOptions
from .bundled import bundled_entry
from .translation import translation_entry

URL = "http://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch"
PAPER = "https://arxiv.org/abs/1611.07004"
HOMEPAGE = "https://github.com/junyanz/pytorch-CycleGAN-and-pix2pix"
LICENCE = "BSD-2-Clause"
CONFIG = {"netG": "unet_256", "norm": "batch", "use_dropout": True}
ARCH_KWARGS = {"input_nc": 3, "output_nc": 3, "num_downs": 8, "ngf": 64, "norm": "batch", "use_dropout": True}  # unet_256
RESOLUTION = 256

# name, title, description, tags, directions in order (AtoB first): (official name, input, output)
TABLE = (
    (
        "pix2pix-edges2shoes",
        "pix2pix edges → shoes",
        "Turns a black-on-white edge drawing of a shoe into a shoe photo (U-Net, paired training on UT Zappos50K).",
        ("sketch", "photo"),
        (("edges2shoes", "shoe edge map", "shoe photo"),),
    ),
    (
        "pix2pix-sat2map",
        "pix2pix aerial photo ↔ map",
        "Aerial photo to Google Maps-style map and back (two U-Nets, paired training on tiles scraped from Google Maps).",
        ("map", "aerial"),
        (
            ("sat2map", "aerial photo", "Google Maps-style map"),
            ("map2sat", "Google Maps-style map", "aerial photo"),
        ),
    ),
    (
        "pix2pix-facades",
        "pix2pix facade labels → photo",
        "Paints a building facade photo from a colour-coded facade label map (CMP Facades). Only this direction was released.",
        ("label-map", "photo", "architecture"),
        (("facades_label2photo", "facade label map", "facade photo"),),
    ),
    (
        "pix2pix-day2night",
        "pix2pix day → night",
        "Re-renders a daytime outdoor scene as the same scene at night (U-Net, paired webcam frames).",
        ("photo",),
        (("day2night", "daytime outdoor photo", "night-time photo of the same scene"),),
    ),
)


ENTRIES = [
    translation_entry(row, family="pix2pix", arch="unet", arch_kwargs=ARCH_KWARGS, url=URL, config=CONFIG, test_mode="official", resolution=RESOLUTION,
                      licence=LICENCE, paper=PAPER, homepage=HOMEPAGE)
    for row in TABLE
]

# Trained by gan-zoo (zoo train pix2pix ... --set paired=gray) on offline:photos (docs/training.md):
# gray in, colour out; the translate task keeps the input's luma and takes only the chroma from it.
COLORIZE_SHA256 = "8d0b3af44481175ac3777c70c0f799cbf130f557e66eb03a9070f37cc020ed69"
COLORIZE = bundled_entry(
    "pix2pix-colorize", family="pix2pix", task="translate", title="pix2pix colorize (demo, bundled)",
    description="Colours a grayscale photo (a small U-Net trained here on 23 photos: demo quality). Colour photos "
                "are reduced to gray first; the result keeps the input's brightness at full resolution.",
    licence="GPL-2.0-or-later", arch="unet", paper=PAPER, tags=("photo", "colorize"),
    arch_kwargs={"input_nc": 1, "output_nc": 3, "num_downs": 6, "ngf": 16, "norm": "batch", "use_dropout": True},
    options=TranslateOptions(directions=(Direction("AtoB", "grayscale photo", "colour photo",
                                                   (BundledSource(folder="pix2pix-colorize", sha256=COLORIZE_SHA256),),
                                                   official_name="colorize"),),
                             test_mode="official", resolution=256),
)

for _entry_info in (*ENTRIES, COLORIZE):
    register(_entry_info)
