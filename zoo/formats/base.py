"""Shared pieces of the official-checkpoint readers: the result type, key renaming, config checks.

A family reader turns an official state dict into a ``Converted``: the arch name and its
constructor kwargs (``zoo.archs``), and a state dict with the arch's own key names. Renaming
is data (lists of regex rules); every key must be claimed by exactly one rule, so nothing is
silently dropped or invented.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from ..errors import CheckpointError


@dataclass
class Converted:
    """An official checkpoint in gan-zoo's terms.

    ``state_dict`` uses the key names of ``zoo.archs`` and loads strictly into
    ``build(arch, arch_kwargs)``. ``layout`` names the official layout it came from.
    ``companions``: other networks of the same file that tasks use beside this one, by role
    (``"discriminator"``: the D of an NVIDIA pickle, for projection); each is a ``Converted``.
    """

    family: str
    arch: str
    arch_kwargs: dict[str, Any]
    state_dict: dict[str, Any]
    layout: str
    notes: list[str] = field(default_factory=list)
    wrapper: str = ""  # the wrapper key the state dict was taken from ('' for a bare state dict)
    companions: dict[str, "Converted"] = field(default_factory=dict)

    def network(self):
        """The ``torch.nn.Module`` these weights make: built within the arch's limits, loaded strictly, eval mode."""
        from ..archs import build, load_strict

        net = build(self.arch, self.arch_kwargs)
        load_strict(net, self.state_dict, what=self.layout)
        return net.eval()

    def folder_config(self) -> dict[str, Any]:
        """This network's part of a converted folder's ``config.json`` (the folder config)."""
        return {
            "family": self.family,
            "arch": self.arch,
            "arch_kwargs": dict(self.arch_kwargs),
            "converted_from": self.layout,
            "wrapper": self.wrapper,
        }


RenameRule = tuple[str, str]


def rename_keys(state_dict: Mapping[str, Any], rules: Iterable[RenameRule], layout: str) -> dict[str, Any]:
    """Apply regex rename ``rules`` (pattern, replacement) to every key.

    A key no rule matches, or two keys that land on the same name, raise ``CheckpointError``.
    Order of keys is kept.
    """
    compiled = [(re.compile(p), r) for p, r in rules]
    out: dict[str, Any] = {}
    for key, value in state_dict.items():
        for pattern, repl in compiled:
            if pattern.fullmatch(key):
                new = pattern.sub(repl, key)
                break
        else:
            raise CheckpointError(f"unexpected key {key!r} for the {layout} layout")
        if new in out:
            raise CheckpointError(f"keys collide on {new!r} in the {layout} layout")
        out[new] = value
    return out


def max_index(keys: Iterable[str], pattern: str) -> int:
    """Largest integer captured by ``pattern`` (one group) over ``keys``; -1 if none matches."""
    regex = re.compile(pattern)
    found = [int(m.group(1)) for k in keys if (m := regex.match(k))]
    return max(found, default=-1)


def merge_official_config(
    inferred: dict[str, Any],
    given: Mapping[str, Any] | None,
    names: Mapping[str, str],
    *,
    layout: str,
    ignored: Iterable[str] = (),
    fixed: Mapping[str, Any] | None = None,
    checks: Mapping[str, Callable[[Any, dict[str, Any]], bool]] | None = None,
) -> dict[str, Any]:
    """Combine kwargs inferred from the weights with an official constructor-kwargs dict.

    ``names`` maps official kwarg names to ours. A given value that differs from the inferred
    one is an error unless ``checks`` holds a predicate for that kwarg that accepts it (used
    where the weights leave a choice, e.g. old-arch x2 vs x3); then it is taken. ``fixed``
    lists official kwargs whose only supported value is known (e.g. ``norm_type: None``).
    Keys in ``ignored`` or in ``GENERIC_IGNORED`` are skipped; any other key is an error.
    """
    result = dict(inferred)
    ignored = set(ignored) | GENERIC_IGNORED
    for key, value in (given or {}).items():
        if key in ignored:
            continue
        if fixed is not None and key in fixed:
            if value != fixed[key]:
                raise CheckpointError(f"{layout}: {key}={value!r} is not supported (only {fixed[key]!r})")
            continue
        if key not in names:
            raise CheckpointError(f"{layout}: unknown config key {key!r}")
        ours = names[key]
        check = (checks or {}).get(ours)
        if check is not None:
            if not check(value, result):
                raise CheckpointError(f"{layout}: config {key}={value!r} contradicts the weights")
            result[ours] = value
        elif ours not in result or result[ours] is None:
            result[ours] = value
        elif result[ours] != value:
            raise CheckpointError(
                f"{layout}: config {key}={value!r} contradicts the weights, which say {result[ours]!r}"
            )
    return result


# Keys in official config dicts that cannot change a network's structure.
GENERIC_IGNORED = frozenset({"batch", "seed", "class", "module", "type", "name", "class_name", "init_type", "init_gain", "gpu_ids"})


def convert_bare(
    obj: Any, official_kwargs: dict[str, Any] | None, convert_state_dict: Callable[[dict[str, Any], dict[str, Any] | None], "Converted | None"]
) -> "Converted | None":
    """``convert`` of a reader whose official files are bare state dicts (a ``module.`` prefix on
    every key, as DataParallel leaves it, is stripped); None when ``obj`` is not a state dict."""
    from .checkpoint import is_state_dict, strip_prefix

    if not is_state_dict(obj):
        return None
    return convert_state_dict(strip_prefix(obj, "module."), official_kwargs)

