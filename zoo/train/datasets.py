"""Named offline datasets: the data the bundled demo weights were trained on, by name.

``zoo train ... --data offline:NAME`` uses one of these instead of a folder, so a card can name
its data and licence and the README's command reproduces the run on any machine with the same
Debian packages. Each photo set is split by a fixed rule into training and held-out images (the
held-out ones are what the cards' quality figures are measured on).

* ``photos`` (what the bundled photo models train on): ``mate-nature``'s training split and
  ``plasma-photos``, the 13 photographs among Debian's ``plasma-workspace-wallpapers`` (GPL-2+;
  the others are drawings), 23 photos; ``photos-a`` / ``photos-b-cartoon`` halve them
  alternately for CycleGAN's two unpaired domains, the second half cartoon-stylised.
* ``mate-nature``: the 12 nature photos of Debian's ``mate-backgrounds`` (GPL-2+, large JPEGs in
  ``/usr/share/backgrounds/mate/nature``). Held out: every sixth in name order (GreenMeadow,
  YellowFlower).
* ``app-examples``: the app's three example photos (``zoo/app/examples``, from scikit-image: public
  domain / CC0), never trained on: more held-out photos for the cards.
* ``fashion-mnist``: Debian's ``dataset-fashion-mnist`` (MIT; 60,000 training and 10,000 test
  images, 28x28 gray, 10 labelled classes), read from its IDX files.

``cartoon`` is the classical stylisation that makes CycleGAN's second domain out of *other*
photos than its first: median smoothing, colour posterisation and dark Sobel edges. Because it is
a known function, a held-out photo's true stylisation exists, so the CycleGAN card can measure
photo -> cartoon against it (the model never sees a pair in training).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import ZooError

MATE_NATURE = Path("/usr/share/backgrounds/mate/nature")
PLASMA = Path("/usr/share/wallpapers")
# the photographs among Plasma's wallpapers (the others are drawings and abstract art)
PLASMA_PHOTOS = ("BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf", "Grey", "Kite",
                 "MilkyWay", "OneStandsOut", "Path", "Volna", "summer_1am")
FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
APP_EXAMPLES = Path(__file__).resolve().parent.parent / "app" / "examples"  # installed with the package
APP_PHOTOS = ("astronaut.jpg", "chelsea.jpg", "coffee.jpg")  # the photos themselves (not their gray copies or crops)
HELD_OUT_EVERY = 6  # every sixth photo in name order is held out (index 5, 11, ...)

@dataclass(frozen=True)
class OfflineDataset:
    """A named set: ``files()`` lists its images (None: ``needs[0]`` is an IDX file), ``needs`` is
    what must exist (from Debian ``package``), ``style`` is applied to every image."""

    name: str
    description: str
    licence: str
    package: str
    needs: tuple[Path, ...]
    files: Callable[[], list[Path]] | None = None
    style: Callable[[np.ndarray], np.ndarray] | None = None


def _images(folder: Path) -> list[Path]:
    from .data import list_images

    return list_images(folder)


def mate_training() -> list[Path]:
    return [f for i, f in enumerate(_images(MATE_NATURE)) if i % HELD_OUT_EVERY != HELD_OUT_EVERY - 1]


def mate_held_out() -> list[Path]:
    return [f for i, f in enumerate(_images(MATE_NATURE)) if i % HELD_OUT_EVERY == HELD_OUT_EVERY - 1]


def plasma_photos() -> list[Path]:
    """One file per wallpaper of ``PLASMA_PHOTOS``: the smallest whose short side is at least 800 px."""
    files = _images(PLASMA)
    chosen = []
    for name in PLASMA_PHOTOS:
        sizes = []
        for f in files:
            if f.parts[-4:-2] == (name, "contents"):
                w, _, h = f.stem.partition("x")
                if w.isdigit() and h.isdigit() and min(int(w), int(h)) >= 800:
                    sizes.append((int(w) * int(h), f))
        if sizes:
            chosen.append(min(sizes)[1])
    return chosen


def all_photos() -> list[Path]:
    """The training photos of both packages (mate's nature set first, then Plasma's photographs)."""
    return mate_training() + plasma_photos()


def cartoon(rgb: np.ndarray, *, levels: int = 4, edge: float = 0.12) -> np.ndarray:
    """``[H, W, 3]`` uint8 -> its cartoon: 5x5 median, ``levels`` levels per channel, dark edges
    where the Sobel gradient of the smoothed luma exceeds ``edge`` (of the full range)."""
    from scipy import ndimage

    from ..tasks.images import luma

    smooth = ndimage.median_filter(rgb, size=(5, 5, 1)).astype(np.float32)
    step = 256.0 / levels
    poster = (np.floor(smooth / step) + 0.5) * step
    gray = luma(smooth) / 255.0
    grad = np.hypot(ndimage.sobel(gray, 0), ndimage.sobel(gray, 1)) / 4.0
    out = np.where((grad > edge)[:, :, None], poster * 0.25, poster)
    return np.clip(out, 0, 255).astype(np.uint8)


GPL = "GPL-2.0-or-later"
PHOTOS = ("mate-backgrounds plasma-workspace-wallpapers", (MATE_NATURE, PLASMA))
DATASETS = {
    d.name: d
    for d in (
        OfflineDataset("mate-nature", "the nature photos of Debian's mate-backgrounds (training split)", GPL,
                       "mate-backgrounds", (MATE_NATURE,), mate_training),
        OfflineDataset("mate-nature-held-out", "the held-out nature photos of mate-backgrounds", GPL,
                       "mate-backgrounds", (MATE_NATURE,), mate_held_out),
        OfflineDataset("plasma-photos", "the 13 photographs among Debian's plasma-workspace-wallpapers", GPL,
                       "plasma-workspace-wallpapers", (PLASMA,), plasma_photos),
        OfflineDataset("photos", "23 photos: mate-nature's training split and plasma-photos", GPL, *PHOTOS, all_photos),
        OfflineDataset("photos-a", "every other photo of offline:photos (CycleGAN's domain A: photos)", GPL, *PHOTOS,
                       lambda: all_photos()[0::2]),
        OfflineDataset("photos-b-cartoon", "the other photos of offline:photos, cartoon-stylised (CycleGAN's domain B)", GPL,
                       *PHOTOS, lambda: all_photos()[1::2], cartoon),
        OfflineDataset("app-examples", "the app's example photos (astronaut, cat, coffee; scikit-image's, public domain / "
                       "CC0)", "CC0-1.0", "gan-zoo (zoo/app/examples)", (APP_EXAMPLES,),
                       lambda: [APP_EXAMPLES / name for name in APP_PHOTOS if (APP_EXAMPLES / name).is_file()]),
        OfflineDataset("fashion-mnist", "Fashion-MNIST's 60,000 training images (28x28 gray)", "MIT", "dataset-fashion-mnist",
                       (FASHION_MNIST / "train-images-idx3-ubyte.gz",)),
        OfflineDataset("fashion-mnist-test", "Fashion-MNIST's 10,000 test images (28x28 gray)", "MIT", "dataset-fashion-mnist",
                       (FASHION_MNIST / "t10k-images-idx3-ubyte.gz",)),
    )
}

PREFIX = "offline:"


def lookup(spec: str) -> OfflineDataset:
    name = spec[len(PREFIX):] if spec.startswith(PREFIX) else spec
    if name not in DATASETS:
        raise ZooError(f"unknown offline dataset {name!r}; known: {', '.join(DATASETS)}")
    found = DATASETS[name]
    if not all(p.exists() for p in found.needs):
        raise ZooError(f"offline dataset {name} needs {found.package} (apt install {found.package})")
    return found


def is_idx(spec: str | Path) -> bool:
    """Whether a data source is an IDX file (gray images) rather than a folder of images."""
    if isinstance(spec, str) and spec.startswith(PREFIX):
        return lookup(spec).files is None
    return Path(spec).is_file()


def image_set(spec: str | Path, *, channels: int = 3, load_side: int | None = None):
    """``offline:NAME`` or a folder / IDX file -> ``data.ImageSet`` (stylised where the dataset says)."""
    from .data import ImageSet

    if isinstance(spec, str) and "," in spec:
        parts = [image_set(p.strip(), channels=channels, load_side=load_side) for p in spec.split(",") if p.strip()]
        return ImageSet([a for p in parts for a in p.images], [n for p in parts for n in p.names],
                        " + ".join(p.description for p in parts))
    if isinstance(spec, str) and spec.startswith(PREFIX):
        found = lookup(spec)
        if found.files is None:
            images = ImageSet.from_source(found.needs[0], channels=channels)
        else:
            images = ImageSet.from_files(found.files(), channels=channels, load_side=load_side)
        if found.style is not None:
            images.images = [found.style(a) for a in images.images]
        images.description = f"{PREFIX}{found.name} ({found.description}; {found.licence})"
        return images
    return ImageSet.from_source(Path(spec), channels=channels, load_side=load_side)


def describe_source(spec: str | Path) -> dict:
    """What a card says about a data source: name, description and licence where known."""
    if isinstance(spec, str) and "," in spec:
        parts = [describe_source(p.strip()) for p in spec.split(",") if p.strip()]
        return {"data": spec, "description": "; ".join(p["description"] for p in parts),
                "licence": " AND ".join(sorted({p["licence"] for p in parts}))}
    if isinstance(spec, str) and spec.startswith(PREFIX):
        found = lookup(spec)
        return {"data": f"{PREFIX}{found.name}", "description": found.description, "licence": found.licence,
                "package": found.package}
    return {"data": str(spec), "description": "a user folder", "licence": "that of the images"}
