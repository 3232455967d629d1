"""The families gan-zoo knows: each declares itself once, and every table is derived from the list.

A family module here (``zoo/families/<name>.py``) holds one ``Family``: its name, its task, its
architectures and the ``zoo.archs`` modules defining them, the ``zoo.formats`` readers that can
claim its files, its ``zoo.catalog`` module and its parity runner. ``MODULES`` lists them in
detection order: a file is offered to the readers of earlier families first. Nothing here
imports torch; the derived tables below are what the registry, loaders, CLI and tests use.

Adding a family: its network (``zoo/archs``), its reader (``zoo/formats``), its entries
(``zoo/catalog``), its declaration here, and its name in ``MODULES``. See docs/architecture.md.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Mapping

MODULES = ("esrgan", "pix2pix", "cyclegan", "stylegan2", "deepfill", "perceptual")  # one line per family, in detection order


@dataclass(frozen=True)
class Family:
    """One family's declaration (plain data: module names, not modules).

    * ``archs``: its architecture names (keys of ``ARCHS`` in its ``arch_modules``).
    * ``readers``: modules under ``zoo.formats`` whose files it may come from, in the order they
      are tried: a module with ``read_file(path, official_kwargs)`` claims whole files (ncnn
      pairs), one with ``convert(obj, official_kwargs)`` a loaded checkpoint object.
    * ``catalog``: the module under ``zoo.catalog`` that registers its entries.
    * ``recipe``: its training recipe, a module under ``zoo.train.recipes`` ("" for none).
    * ``parity_runner``: the function of ``tests/parity.py`` that runs its fixture cases
      ("" for a family without official fixtures: its tests compare it with the official code live).
    * ``front_end``: its task has a ``zoo`` command and an app tab; False for a network other
      tasks use (the perceptual family's LPIPS, a projection distance).
    * ``task_defaults``: what its task assumes for a file without a registry entry (e.g. the
      pix2pix test mode).
    """

    name: str
    task: str
    title: str
    archs: tuple[str, ...]
    arch_modules: tuple[str, ...]
    readers: tuple[str, ...]
    catalog: str
    parity_runner: str
    task_defaults: Mapping[str, Any] = field(default_factory=dict)
    front_end: bool = True
    recipe: str = ""


@lru_cache(maxsize=None)
def families() -> tuple[Family, ...]:
    """Every declared family, in ``MODULES`` order."""
    return tuple(importlib.import_module(f"{__name__}.{name}").FAMILY for name in MODULES)


def family(name: str) -> Family:
    for f in families():
        if f.name == name:
            return f
    raise KeyError(name)


def _unique(items) -> tuple:
    return tuple(dict.fromkeys(items))


def family_names() -> tuple[str, ...]:
    return tuple(f.name for f in families())


def task_names() -> tuple[str, ...]:
    """The tasks the declared families serve, in first-declared order."""
    return _unique(f.task for f in families())


def front_end_tasks() -> tuple[str, ...]:
    """The tasks with a ``zoo`` command and an app tab."""
    return _unique(f.task for f in families() if f.front_end)


def task_of_family() -> dict[str, str]:
    return {f.name: f.task for f in families()}


def family_of_arch() -> dict[str, str]:
    return {arch: f.name for f in families() for arch in f.archs}


def arch_modules() -> tuple[str, ...]:
    return _unique(m for f in families() for m in f.arch_modules)


def reader_modules() -> tuple[str, ...]:
    """Modules under ``zoo.formats``, in the order files are offered to them."""
    return _unique(m for f in families() for m in f.readers)


def catalog_modules() -> tuple[str, ...]:
    return _unique(f.catalog for f in families())
