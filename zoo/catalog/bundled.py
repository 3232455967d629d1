"""Building the entries of the demo weights shipped inside gan-zoo (``zoo/weights/<name>``).

They were trained with ``zoo train`` on data that exists offline (``zoo.train.datasets``), so every
task works with no network; each entry is tagged ``demo`` and its card (``model_cards/<name>.md``,
also the folder's README.md) gives the data, its licence, the command, the steps, the wall time and
the quality figures. The weights' licence is their training data's.
"""

from __future__ import annotations

from typing import Any

from ..registry import BundledSource, ModelInfo

HOMEPAGE = "https://github.com/gan-zoo/gan-zoo"  # trained by gan-zoo itself: no upstream release
DEMO_TAG = "demo"


def bundled_entry(name: str, *, family: str, task: str, title: str, description: str, licence: str, arch: str,
                  arch_kwargs: dict[str, Any], options: Any, sha256: str | None = None, tags: tuple[str, ...] = (),
                  paper: str = "") -> ModelInfo:
    """The entry of ``zoo/weights/<name>`` (pinned to ``sha256``); a translation entry's sources are
    its first direction's (each direction names its own folder and digest)."""
    directions = getattr(options, "directions", ())
    sources = directions[0].sources if directions else (BundledSource(folder=name, sha256=sha256),)
    return ModelInfo(
        name=name, family=family, task=task, title=title, description=description, licence=licence,
        sources=sources, card=f"{name}.md", paper=paper, homepage=HOMEPAGE, arch=arch,
        arch_kwargs=dict(arch_kwargs), tags=(*tags, DEMO_TAG), options=options,
    )


def is_demo(info: ModelInfo) -> bool:
    """Whether ``info`` is one of the bundled demo models."""
    return DEMO_TAG in info.tags
