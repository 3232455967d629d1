"""Context windows around the holes of a mask, for inpainting images larger than the network's
trained size (``zoo.tasks.inpaint``).

Each connected hole (8-connectivity, ``scipy.ndimage.label``) gets its bounding box grown by
``margin`` pixels on every side; a window that would leave the image is shifted back inside
(keeping its size) and only clipped when it is larger than the image. Windows that overlap are
merged into their union until none overlap, so every hole pixel inside a window belongs to that
window's holes and each window's context is known image only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Box:
    """Rows ``top:bottom`` and columns ``left:right`` of an image."""

    top: int
    left: int
    bottom: int
    right: int

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def width(self) -> int:
        return self.right - self.left

    def overlaps(self, other: "Box") -> bool:
        return self.top < other.bottom and other.top < self.bottom and self.left < other.right and other.left < self.right

    def union(self, other: "Box") -> "Box":
        return Box(min(self.top, other.top), min(self.left, other.left), max(self.bottom, other.bottom), max(self.right, other.right))

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.top, self.bottom), slice(self.left, self.right)


def _inside(start: int, stop: int, size: int) -> tuple[int, int]:
    """[start, stop) shifted to lie within [0, size), clipped only when longer than size."""
    length = min(stop - start, size)
    start = min(max(start, 0), size - length)
    return start, start + length


def grow(box: Box, margin: int, height: int, width: int) -> Box:
    top, bottom = _inside(box.top - margin, box.bottom + margin, height)
    left, right = _inside(box.left - margin, box.right + margin, width)
    return Box(top, left, bottom, right)


def hole_windows(hole: np.ndarray, margin: int) -> list[Box]:
    """Non-overlapping windows (top to bottom, left to right) covering every hole pixel with at
    least ``margin`` pixels of context where the image allows."""
    from scipy import ndimage

    height, width = hole.shape
    labels, count = ndimage.label(hole, structure=np.ones((3, 3), dtype=bool))
    boxes = [grow(Box(s[0].start, s[1].start, s[0].stop, s[1].stop), margin, height, width)
             for s in ndimage.find_objects(labels) if s is not None]
    merged = True
    while merged:
        merged = False
        out: list[Box] = []
        for box in boxes:
            for i, kept in enumerate(out):
                if kept.overlaps(box):
                    out[i] = grow(kept.union(box), 0, height, width)
                    merged = True
                    break
            else:
                out.append(box)
        boxes = out
    return sorted(boxes, key=lambda b: (b.top, b.left))
