"""Training data: images from folders (or an IDX file), sampled as a pure function of (seed, step).

Every sample of a step is drawn from its own generator seeded with ``(seed, step, slot)``, where
``slot`` is the sample's place in the *global* batch. A process of a multi-process run takes its
slice of the slots, so N processes see exactly the samples one process would, and a resumed run
sees exactly what an uninterrupted one would: no sampler or RNG state has to be saved.

Layouts (``ImageBatch`` tensors are ``[N, C, H, W]`` float32 in [-1, 1], RGB, or 1 channel for
gray sources):

* ``SingleImages``: one set (StyleGAN2, DeepFill v2, ESRGAN).
* ``PairedImages``: aligned (A, B): one folder of ``A|B`` side-by-side images (pix2pix's own
  layout), two folders matched by file stem, or one folder with A derived from B (``gray``: the
  luma of B, for colorisation).
* ``UnpairedImages``: two sets drawn independently (CycleGAN).

Augmentation is the usual: an optional resize of each image so its shorter side is ``load_side``
(large photos then give crops with content, not flat patches), a random crop of ``size`` (the same
window for A and B of a pair), and a random horizontal flip. Images are decoded once and kept in
memory (``max_images`` guards against a folder too large for that).
"""

from __future__ import annotations

import gzip
import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from ..errors import ZooError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
MAX_IMAGES = 200_000


def step_generator(seed: int, step: int, slot: int, stream: str = "") -> torch.Generator:
    """The generator of one sample (or, with ``slot`` -1, of a whole step) of stream ``stream``."""
    digest = hashlib.blake2b(f"{seed}/{step}/{slot}/{stream}".encode(), digest_size=8).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest, "little") & ((1 << 63) - 1))


def list_images(folder: Path) -> list[Path]:
    """The image files under ``folder`` (recursively), sorted by relative path."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ZooError(f"no such data folder: {folder}")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise ZooError(f"{folder} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    if len(files) > MAX_IMAGES:
        raise ZooError(f"{folder} holds {len(files):,} images; the in-memory loader takes at most {MAX_IMAGES:,}")
    return files


def read_idx_images(path: Path) -> np.ndarray:
    """The ``[N, H, W]`` uint8 images of an IDX file (MNIST / Fashion-MNIST format, optionally gzipped)."""
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            magic, n, h, w = struct.unpack(">IIII", f.read(16))
            if magic != 0x00000803:
                raise ZooError(f"{path} is not an IDX image file (magic {magic:#x})")
            data = np.frombuffer(f.read(n * h * w), dtype=np.uint8)
    except (OSError, EOFError, struct.error) as exc:
        raise ZooError(f"{path} is unreadable ({' '.join(str(exc).split())[:120]})") from None
    if data.size != n * h * w:
        raise ZooError(f"{path} is truncated: {data.size} of {n * h * w} bytes")
    return data.reshape(n, h, w)


def read_idx_labels(path: Path) -> np.ndarray:
    """The ``[N]`` uint8 labels of an IDX label file."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        magic, n = struct.unpack(">II", f.read(8))
        if magic != 0x00000801:
            raise ZooError(f"{path} is not an IDX label file (magic {magic:#x})")
        return np.frombuffer(f.read(n), dtype=np.uint8).copy()


def short_side_size(size: tuple[int, int], side: int) -> tuple[int, int]:
    """(width, height) of an image of ``size`` scaled so its shorter side is ``side``."""
    k = side / min(size)
    return max(side, round(size[0] * k)), max(side, round(size[1] * k))


def load_image(path: Path, *, channels: int, load_side: int | None) -> np.ndarray:
    """``[H, W, C]`` uint8 (C = 3 RGB or 1 gray), the shorter side resized to ``load_side`` if given."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im = im.convert("RGB" if channels == 3 else "L")
            if load_side and min(im.size) != load_side:
                im = im.resize(short_side_size(im.size, load_side), Image.LANCZOS)
            arr = np.asarray(im)
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise ZooError(f"{path} is not a readable image ({' '.join(str(exc).split())[:120]})") from None
    return arr[:, :, None] if arr.ndim == 2 else arr


class ImageSet:
    """A list of images in memory: ``[H, W, C]`` uint8 each (sizes may differ)."""

    def __init__(self, images: Sequence[np.ndarray], names: Sequence[str], description: str) -> None:
        if not images:
            raise ZooError(f"{description}: no images")
        self.images, self.names, self.description = list(images), list(names), description

    @classmethod
    def from_source(cls, source: str | Path, *, channels: int = 3, load_side: int | None = None) -> "ImageSet":
        """A folder of images, or an IDX image file (gray; ``channels`` 3 repeats it)."""
        path = Path(source)
        if path.is_file():
            arr = read_idx_images(path)
            images = [a[:, :, None].repeat(channels, axis=2) for a in arr]
            return cls(images, [f"{path.name}[{i}]" for i in range(len(images))], str(path))
        return cls.from_files(list_images(path), channels=channels, load_side=load_side, root=path)

    @classmethod
    def from_files(cls, files: Sequence[Path], *, channels: int = 3, load_side: int | None = None,
                   root: Path | None = None) -> "ImageSet":
        """These image files, named relative to ``root`` (default: by file name)."""
        names = [str(f.relative_to(root)) if root is not None else f.name for f in files]
        return cls([load_image(f, channels=channels, load_side=load_side) for f in files], names,
                   str(root) if root is not None else "image files")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def channels(self) -> int:
        return self.images[0].shape[2]


def _window(gen: torch.Generator, hw: tuple[int, int], size: int | None) -> tuple[int, int, int, int]:
    h, w = hw
    if size is None:
        return 0, 0, h, w
    if h < size or w < size:
        raise ZooError(f"an image of {w}x{h} is smaller than the crop size {size}")
    top = int(torch.randint(0, h - size + 1, (1,), generator=gen))
    left = int(torch.randint(0, w - size + 1, (1,), generator=gen))
    return top, left, size, size


def to_tensor(arrays: list[np.ndarray]) -> torch.Tensor:
    """``[H, W, C]`` uint8 arrays of one size -> ``[N, C, H, W]`` float32 in [-1, 1]."""
    x = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float()
    return x / 127.5 - 1.0


def gray(x: torch.Tensor) -> torch.Tensor:
    """``[N, 3, H, W]`` in [-1, 1] -> its luma (ITU-R 601, what Pillow's ``convert("L")`` uses), 1 channel."""
    from ..tasks.images import LUMA

    weights = torch.tensor(LUMA, dtype=x.dtype).view(1, 3, 1, 1)
    return (x * weights).sum(1, keepdim=True)


@dataclass
class Crops:
    """How samples are cut: crop ``size`` (None: whole images, all of one size) and flips."""

    size: int | None
    flip: bool = True


class SingleImages:
    """Single images: ``batch(seed, step, slots) -> [len(slots), C, size, size]``."""

    def __init__(self, images: ImageSet, crops: Crops) -> None:
        self.images, self.crops = images, crops

    def describe(self) -> str:
        return f"{len(self.images):,} images from {self.images.description}"

    def sample(self, gen: torch.Generator) -> np.ndarray:
        i = int(torch.randint(0, len(self.images), (1,), generator=gen))
        img = self.images.images[i]
        top, left, h, w = _window(gen, img.shape[:2], self.crops.size)
        out = img[top : top + h, left : left + w]
        if self.crops.flip and bool(torch.rand((), generator=gen) < 0.5):
            out = out[:, ::-1]
        return np.ascontiguousarray(out)

    def batch(self, seed: int, step: int, slots: Sequence[int]) -> torch.Tensor:
        return to_tensor([self.sample(step_generator(seed, step, s, "single")) for s in slots])


class PairedImages:
    """Aligned pairs: ``batch(...) -> (A, B)``, the same crop and flip for both.

    ``pairs`` lists (A image, B image) arrays of equal size; ``derive_a`` (instead) makes A from
    B's tensor (``gray``)."""

    def __init__(self, pairs: list[tuple[np.ndarray, np.ndarray]] | None, crops: Crops, *, description: str,
                 single: ImageSet | None = None, derive_a: Callable[[torch.Tensor], torch.Tensor] | None = None) -> None:
        if (pairs is None) == (single is None) or (single is not None and derive_a is None):
            raise ValueError("give pairs, or single images with derive_a")
        self.pairs, self.single, self.derive_a, self.crops, self.description = pairs, single, derive_a, crops, description

    def describe(self) -> str:
        n = len(self.pairs) if self.pairs is not None else len(self.single)
        return f"{n:,} pairs from {self.description}"

    @classmethod
    def side_by_side(cls, folder: Path, crops: Crops, *, load_side: int | None = None) -> "PairedImages":
        """pix2pix's layout: each image is A (left half) | B (right half)."""
        images = ImageSet.from_source(folder, load_side=None)
        pairs = []
        for arr, name in zip(images.images, images.names):
            if arr.shape[1] % 2:
                raise ZooError(f"{name}: an A|B image must have an even width, not {arr.shape[1]}")
            half = arr.shape[1] // 2
            pairs.append((arr[:, :half], arr[:, half:]))
        return cls(_resized_pairs(pairs, load_side), crops, description=f"{folder} (A|B)")

    @classmethod
    def matched(cls, folder_a: Path, folder_b: Path, crops: Crops, *, load_side: int | None = None) -> "PairedImages":
        """Two folders whose images are matched by file stem (every A needs its B)."""
        a_files = {p.stem: p for p in list_images(folder_a)}
        b_files = {p.stem: p for p in list_images(folder_b)}
        missing = sorted(set(a_files) ^ set(b_files))
        if missing:
            raise ZooError(f"{len(missing)} images have no partner in the other folder, e.g. {missing[0]!r}")
        pairs = []
        for stem in sorted(a_files):
            a = load_image(a_files[stem], channels=3, load_side=load_side)
            b = load_image(b_files[stem], channels=3, load_side=load_side)
            if a.shape != b.shape:
                raise ZooError(f"{stem}: A is {a.shape[1]}x{a.shape[0]} but B is {b.shape[1]}x{b.shape[0]}")
            pairs.append((a, b))
        return cls(pairs, crops, description=f"{folder_a} + {folder_b}")

    def batch(self, seed: int, step: int, slots: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        a_list, b_list = [], []
        for s in slots:
            gen = step_generator(seed, step, s, "paired")
            if self.pairs is not None:
                i = int(torch.randint(0, len(self.pairs), (1,), generator=gen))
                a, b = self.pairs[i]
            else:
                i = int(torch.randint(0, len(self.single), (1,), generator=gen))
                a = b = self.single.images[i]
            top, left, h, w = _window(gen, b.shape[:2], self.crops.size)
            flip = self.crops.flip and bool(torch.rand((), generator=gen) < 0.5)
            cut = [x[top : top + h, left : left + w] for x in (a, b)]
            if flip:
                cut = [x[:, ::-1] for x in cut]
            a_list.append(np.ascontiguousarray(cut[0]))
            b_list.append(np.ascontiguousarray(cut[1]))
        b_t = to_tensor(b_list)
        return (self.derive_a(b_t) if self.derive_a is not None else to_tensor(a_list)), b_t


def _resized_pairs(pairs, load_side):
    if not load_side:
        return pairs
    from PIL import Image

    out = []
    for a, b in pairs:
        size = short_side_size((a.shape[1], a.shape[0]), load_side)
        out.append(tuple(np.asarray(Image.fromarray(x).resize(size, Image.LANCZOS)) for x in (a, b)))
    return out


class UnpairedImages:
    """Two sets drawn independently: ``batch(...) -> (A, B)``."""

    def __init__(self, a: SingleImages, b: SingleImages) -> None:
        self.a, self.b = a, b

    def describe(self) -> str:
        return f"A: {self.a.describe()}; B: {self.b.describe()}"

    def batch(self, seed: int, step: int, slots: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        a = to_tensor([self.a.sample(step_generator(seed, step, s, "A")) for s in slots])
        b = to_tensor([self.b.sample(step_generator(seed, step, s, "B")) for s in slots])
        return a, b
