"""Building translation entries (pix2pix, CycleGAN) from rows of data: one helper for both families."""

from __future__ import annotations

from ..registry import DIRECTION_NAMES, Direction, ModelInfo, UrlSource
from ..tasks.options import TranslateOptions

# A row: (name, title, description, tags, directions); directions in order AtoB, BtoA, each
# (official name, input domain, output domain). The file of a direction is <url>/<official name>.pth.
Row = tuple[str, str, str, tuple[str, ...], tuple[tuple[str, str, str], ...]]


def translation_entry(row: Row, *, family: str, arch: str, arch_kwargs: dict, url: str, config: dict, test_mode: str, resolution: int,
                      licence: str, paper: str, homepage: str) -> ModelInfo:
    """The registry entry of one row, its card ``model_cards/<name>.md``."""
    name, title, description, tags, directions = row
    if not 1 <= len(directions) <= len(DIRECTION_NAMES):
        raise ValueError(f"{name}: one or two directions, not {len(directions)}")
    dirs = tuple(
        Direction(name=which, input_domain=src, output_domain=dst, sources=(UrlSource(f"{url}/{official}.pth"),), official_name=official)
        for which, (official, src, dst) in zip(DIRECTION_NAMES, directions)
    )
    return ModelInfo(
        name=name, family=family, task="translate", title=title, description=description, licence=licence,
        sources=dirs[0].sources, card=f"{name}.md", paper=paper, homepage=homepage, config=dict(config), arch=arch, arch_kwargs=dict(arch_kwargs),
        tags=tags, options=TranslateOptions(directions=dirs, test_mode=test_mode, resolution=resolution),
    )
