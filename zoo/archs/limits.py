"""What an architecture's constructor may be asked for, checked before any memory is used.

Constructor kwargs come from files (a checkpoint's shapes, a converted folder's
``config.json``, a Hub repo's config), so they are untrusted. Each architecture declares an
``ArchLimits``: the type and range of every kwarg, and a ceiling on its parameter count.

* The kwarg ranges are structural sanity bounds, far above any released network (so that,
  e.g., ``num_conv=300000`` is refused at once instead of building 300k modules).
* The parameter ceiling is the resource bound, set well above the largest released network of
  the family (each module states its largest). It is checked on the meta device, where
  building allocates nothing. ``$ZOO_MAX_PARAMETERS`` (a number, e.g. ``2e9``) replaces every
  ceiling for a user who really has a bigger network.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..errors import CheckpointError

MAX_PARAMETERS_ENV = "ZOO_MAX_PARAMETERS"


@dataclass(frozen=True)
class Int:
    """An ``int`` (not a bool) in ``lo..hi`` inclusive."""

    lo: int
    hi: int

    def check(self, value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be an integer, not {type(value).__name__} {value!r}"[:120]
        if not self.lo <= value <= self.hi:
            return f"must be in {self.lo}..{self.hi}, not {value}"
        return None


@dataclass(frozen=True)
class OneOf:
    """One of a few exact values (strings, None, small ints)."""

    values: tuple[Any, ...]

    def check(self, value: Any) -> str | None:
        if not any(value is v or (type(value) is type(v) and value == v) for v in self.values):
            return f"must be one of {', '.join(map(repr, self.values))}, not {value!r}"[:160]
        return None


@dataclass(frozen=True)
class Ints:
    """A list of at most ``max_len`` ints (not bools), each in ``lo..hi``."""

    lo: int
    hi: int
    max_len: int

    def check(self, value: Any) -> str | None:
        if not isinstance(value, (list, tuple)) or not 0 < len(value) <= self.max_len:
            return f"must be a list of 1..{self.max_len} integers, not {str(value)[:80]}"
        for v in value:
            problem = Int(self.lo, self.hi).check(v)
            if problem:
                return f"holds {v!r}, which {problem}"
        return None


@dataclass(frozen=True)
class Real:
    """A number (int or float, not bool) in ``lo..hi``; None too when ``optional``."""

    lo: float
    hi: float
    optional: bool = False

    def check(self, value: Any) -> str | None:
        if value is None and self.optional:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not self.lo <= value <= self.hi:
            return f"must be a number in {self.lo:g}..{self.hi:g}{' or null' if self.optional else ''}, not {str(value)[:60]}"
        return None


BOOL = OneOf((False, True))


@dataclass(frozen=True)
class ArchLimits:
    """The kwargs an architecture accepts (name -> rule) and its parameter ceiling."""

    kwargs: Mapping[str, Int | OneOf | Ints | Real]
    max_parameters: int
    largest_released: int = 0  # parameters of the largest official network, for the record
    required: tuple[str, ...] = field(default=())

    def check_kwargs(self, arch: str, kwargs: Any) -> None:
        """Raise ``CheckpointError`` unless ``kwargs`` is a dict this architecture accepts."""
        if not isinstance(kwargs, Mapping):
            raise CheckpointError(f"{arch}: arch_kwargs must be a JSON object, not {type(kwargs).__name__}")
        for key, value in kwargs.items():
            rule = self.kwargs.get(key) if isinstance(key, str) else None
            if rule is None:
                raise CheckpointError(f"{arch}: unknown argument {str(key)[:60]!r}")
            problem = rule.check(value)
            if problem:
                raise CheckpointError(f"{arch}: {key} {problem}")
        missing = [k for k in self.required if k not in kwargs]
        if missing:
            raise CheckpointError(f"{arch}: arch_kwargs lacks {', '.join(missing)}")

    def ceiling(self) -> int:
        """The parameter ceiling in force: ``$ZOO_MAX_PARAMETERS`` if set, else ``max_parameters``."""
        env = os.environ.get(MAX_PARAMETERS_ENV, "").strip()
        if not env:
            return self.max_parameters
        try:
            value = float(env)
        except ValueError:
            raise CheckpointError(f"{MAX_PARAMETERS_ENV} must be a number, not {env[:40]!r}") from None
        if not value > 0:
            raise CheckpointError(f"{MAX_PARAMETERS_ENV} must be positive, not {env[:40]!r}")
        return int(value)

    def check_size(self, arch: str, parameters: int) -> None:
        limit = self.ceiling()
        if parameters > limit:
            raise CheckpointError(
                f"{arch} with these arguments has {parameters:,} parameters, over the {limit:,} ceiling for this "
                f"architecture (the largest released one has {self.largest_released:,}); "
                f"set {MAX_PARAMETERS_ENV} to allow a bigger network"
            )


def count_parameters(net: Any) -> int:
    """Parameters and buffers of ``net`` (works on the meta device)."""
    return sum(int(t.numel()) for t in net.state_dict().values())
