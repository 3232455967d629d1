"""Registry entries of the CycleGAN family: the generators released with junyanz/pytorch-CycleGAN-and-pix2pix.

Upstream releases one file per direction (``scripts/download_cyclegan_model.sh <name>``), so an
entry pairs the two generators of a dataset as its AtoB and BtoA directions where both were
released. Files are served over plain http from the authors' Berkeley server, the only official
location; no checksum is published, so ``sha256`` stays None.

All files are ``resnet_9blocks``, instance norm, no dropout, 3 -> 3 channels, ngf 64. ``netG``
and ``norm`` in the config make the converter reject a file of any other architecture.
InstanceNorm normalises each image with its own statistics in train and eval mode alike and
there is no dropout, so plain eval mode is the official behaviour.
"""

from __future__ import annotations

from ..registry import BundledSource, Direction, register
from ..tasks.options import TranslateOptions
from .bundled import bundled_entry
from .translation import translation_entry

URL = "http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models"
PAPER = "https://arxiv.org/abs/1703.10593"
HOMEPAGE = "https://github.com/junyanz/pytorch-CycleGAN-and-pix2pix"
LICENCE = "BSD-2-Clause"
CONFIG = {"netG": "resnet_9blocks", "norm": "instance", "use_dropout": False}
ARCH_KWARGS = {"input_nc": 3, "output_nc": 3, "ngf": 64, "norm": "instance", "use_dropout": False, "n_blocks": 9, "padding_type": "reflect"}
RESOLUTION = 256

# name, title, description, tags, directions in order (AtoB first): (official name, input, output)
TABLE = (
    (
        "cyclegan-horse2zebra",
        "CycleGAN horse ↔ zebra",
        "Paints zebra stripes on horses, and turns zebras into horses (unpaired ImageNet photos).",
        ("photo", "animals", "default"),
        (
            ("horse2zebra", "horse photo", "zebra photo"),
            ("zebra2horse", "zebra photo", "horse photo"),
        ),
    ),
    (
        "cyclegan-apple2orange",
        "CycleGAN apple ↔ orange",
        "Turns apples into oranges and oranges into apples (unpaired ImageNet photos).",
        ("photo", "objects"),
        (
            ("apple2orange", "apple photo", "orange photo"),
            ("orange2apple", "orange photo", "apple photo"),
        ),
    ),
    (
        "cyclegan-summer2winter-yosemite",
        "CycleGAN summer ↔ winter (Yosemite)",
        "Changes the season of Yosemite landscape photos between summer and winter (unpaired Flickr photos).",
        ("photo", "landscape", "season"),
        (
            ("summer2winter_yosemite", "Yosemite summer photo", "Yosemite winter photo"),
            ("winter2summer_yosemite", "Yosemite winter photo", "Yosemite summer photo"),
        ),
    ),
    (
        "cyclegan-monet2photo",
        "CycleGAN Monet ↔ photo",
        "Turns Monet paintings into photo-like images, and landscape photos into Monet-style paintings.",
        ("painting", "photo", "landscape"),
        (
            ("monet2photo", "Monet painting", "landscape photo"),
            ("style_monet", "landscape photo", "Monet-style painting"),
        ),
    ),
    (
        "cyclegan-style-cezanne",
        "CycleGAN photo → Cézanne style",
        "Renders a landscape photo in the style of Paul Cézanne's paintings (only this direction was released).",
        ("painting", "photo", "landscape"),
        (("style_cezanne", "landscape photo", "Cézanne-style painting"),),
    ),
    (
        "cyclegan-style-ukiyoe",
        "CycleGAN photo → ukiyo-e style",
        "Renders a landscape photo in the style of Japanese ukiyo-e woodblock prints (only this direction was released).",
        ("painting", "photo", "landscape"),
        (("style_ukiyoe", "landscape photo", "ukiyo-e-style print"),),
    ),
    (
        "cyclegan-style-vangogh",
        "CycleGAN photo → Van Gogh style",
        "Renders a landscape photo in the style of Vincent van Gogh's paintings (only this direction was released).",
        ("painting", "photo", "landscape"),
        (("style_vangogh", "landscape photo", "Van Gogh-style painting"),),
    ),
    (
        "cyclegan-sat2map",
        "CycleGAN aerial photo ↔ map",
        "Aerial photo to Google Maps-style map and back, learned without paired tiles (not the pix2pix files).",
        ("map", "aerial"),
        (
            ("sat2map", "aerial photo", "Google Maps-style map"),
            ("map2sat", "Google Maps-style map", "aerial photo"),
        ),
    ),
    (
        "cyclegan-cityscapes",
        "CycleGAN Cityscapes photo ↔ labels",
        "Street-scene photo to Cityscapes semantic label colour map and back, learned without paired images.",
        ("label-map", "segmentation", "street"),
        (
            ("cityscapes_photo2label", "street-scene photo", "Cityscapes semantic label colour map"),
            ("cityscapes_label2photo", "Cityscapes semantic label colour map", "street-scene photo"),
        ),
    ),
    (
        "cyclegan-facades",
        "CycleGAN facade photo ↔ labels",
        "Building facade photo to CMP Facades colour label map and back, learned without paired images.",
        ("label-map", "photo", "architecture"),
        (
            ("facades_photo2label", "facade photo", "facade label map"),
            ("facades_label2photo", "facade label map", "facade photo"),
        ),
    ),
    (
        "cyclegan-iphone2dslr-flower",
        "CycleGAN iPhone → DSLR (flowers)",
        "Gives iPhone close-ups of flowers a DSLR look with a shallow depth of field (blurred background).",
        ("photo", "enhancement"),
        (("iphone2dslr_flower", "iPhone flower photo", "DSLR-style flower photo with shallow depth of field"),),
    ),
)


ENTRIES = [
    translation_entry(row, family="cyclegan", arch="resnet", arch_kwargs=ARCH_KWARGS, url=URL, config=CONFIG, test_mode="eval", resolution=RESOLUTION,
                      licence=LICENCE, paper=PAPER, homepage=HOMEPAGE)
    for row in TABLE
]

# Trained by gan-zoo (zoo train cyclegan ...) on unpaired halves of offline:photos, the second half
# cartoon-stylised (zoo.train.datasets.cartoon); docs/training.md.
PHOTO2CARTOON = bundled_entry(
    "cyclegan-photo2cartoon", family="cyclegan", task="translate", title="CycleGAN photo ↔ cartoon (demo, bundled)",
    description="Turns a photo into a flat-colour cartoon with dark outlines, and back (a small ResNet pair trained here "
                "on 23 unpaired photos for 1,900 steps: demo quality, its held-out figures are below doing nothing).",
    licence="GPL-2.0-or-later", arch="resnet", paper=PAPER, tags=("photo", "style"),
    arch_kwargs={"input_nc": 3, "output_nc": 3, "ngf": 24, "norm": "instance", "use_dropout": False, "n_blocks": 6,
                 "padding_type": "reflect"},
    options=TranslateOptions(directions=(
        Direction("AtoB", "photo", "cartoon", (BundledSource(
            folder="cyclegan-photo2cartoon/AtoB", sha256="57450fc9b4c8d060055126a63a03aac13bd1668ed25f02c88b10e9c29fa84ead"),),
            official_name="photo2cartoon"),
        Direction("BtoA", "cartoon", "photo", (BundledSource(
            folder="cyclegan-photo2cartoon/BtoA", sha256="d08a963c7f821b3aa26877d34fc9b5bcb442ec76c469e9f56fbb9a22e7fb5fa9"),),
            official_name="cartoon2photo"),
    ), test_mode="eval", resolution=256),
)

for _entry_info in (*ENTRIES, PHOTO2CARTOON):
    register(_entry_info)
