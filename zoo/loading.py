"""``zoo.load``: a registry name, a converted folder, a Hub repo or an official file -> task object."""

from __future__ import annotations

import functools
import importlib
import re
from pathlib import Path
from typing import Any

from .errors import CheckpointError, UnknownModelError, ZooError
from .families import task_names, task_of_family
from .registry import NAME_PATTERN, HubSource, ModelInfo, get

HUB_REVISION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,127}")  # a commit hash, branch or tag

def task_class(task: str) -> type:
    """The task class of ``task``: ``TASK_CLASS`` of the module ``zoo.tasks.<task>``."""
    if task not in task_names():
        raise ZooError(f"the {task} task is not available in this version of gan-zoo")
    return importlib.import_module(f"zoo.tasks.{task}").TASK_CLASS


def task_of(family_name: str) -> str:
    return task_of_family()[family_name]


def file_info(path: Path, family: str) -> ModelInfo:
    """A registry-like entry for a model loaded from a file or folder outside the registry."""
    return ModelInfo(
        name=path.stem if path.is_file() else path.name,
        family=family,
        task=task_of(family),
        title=path.name,
        description=f"loaded from {path}",
        licence="unknown (that of the original file)",
        sources=(),
        card="",
    )


def parse_hub_ref(ref: str) -> HubSource:
    """``hf:ORG/NAME[@REVISION]`` -> a Hub source of a converted gan-zoo folder."""
    body = ref[len("hf://") :] if ref.startswith("hf://") else ref[len("hf:") :]
    repo_id, _, revision = body.partition("@")
    org, _, name = repo_id.partition("/")
    if not (NAME_PATTERN.fullmatch(org) and NAME_PATTERN.fullmatch(name)) or (revision and not HUB_REVISION.fullmatch(revision)):
        raise UnknownModelError(f"bad Hub reference {ref[:100]!r}; use hf:ORG/NAME[@REVISION]")
    return HubSource(repo_id=repo_id, revision=revision or "main")


def load_network(name_or_path: Any, *, config: dict | None = None) -> tuple[Any, ModelInfo, dict]:
    """(network in eval mode on the CPU, entry, converted config) for anything ``zoo.load`` takes."""
    from . import converted, weights

    if isinstance(name_or_path, str) and name_or_path.startswith(("hf:", "hf://")):
        source = parse_hub_ref(name_or_path)
        info = ModelInfo(
            name=source.repo_id.replace("/", "--"), family="", task="", title=source.repo_id,
            description=f"Hub repo {source.repo_id}", licence="see the repo's card", sources=(source,), card="",
            config=dict(config or {}),
        )
        net, cfg = weights.load_entry(info)
        return net, _with_family(info, cfg), cfg
    path = Path(name_or_path) if isinstance(name_or_path, (str, Path)) else None
    if path is not None and (path.exists() or isinstance(name_or_path, Path) or "/" in str(name_or_path) or path.suffix):
        if not path.exists():
            raise CheckpointError(f"no such file or folder: {path}")
        if path.is_dir():
            if not converted.is_converted_folder(path):
                raise CheckpointError(f"{path} is not a converted folder (model.safetensors + config.json)")
            net, cfg = converted.load_folder(path)
            return net, file_info(path, cfg["family"]), cfg
        from .formats import read_official

        converted = read_official(path, official_kwargs=config)
        net = converted.network()
        cfg = {**converted.folder_config(), "name": path.stem, "task": task_of(converted.family), "notes": converted.notes,
               "loaded_from": str(path)}
        if converted.companions:
            cfg["companions"] = {role: part.folder_config() for role, part in converted.companions.items()}
        return net.eval(), file_info(path, converted.family), cfg
    if not isinstance(name_or_path, str):
        raise TypeError(f"zoo.load takes a model name or a path, not {type(name_or_path).__name__}")
    if config:
        raise ValueError("config= applies to official checkpoint files, not to registry names")
    info = get(name_or_path)
    net, cfg = weights.load_entry(info)
    return net, info, cfg


def _with_family(info: ModelInfo, cfg: dict) -> ModelInfo:
    import dataclasses

    family = cfg.get("family", info.family)
    return dataclasses.replace(info, family=family, task=task_of_family().get(family, info.task))


def load(
    name_or_path: Any,
    *,
    device: str = "cpu",
    dtype: Any = None,
    config: dict | None = None,
    interpolate: float | None = None,
    partner: str | None = None,
):
    """See ``zoo.load``. ``interpolate`` blends with the entry's ``interpolate_with`` partner
    (or ``partner``): 0 = this model, 1 = the partner."""
    net, info, cfg = load_network(name_or_path, config=config)
    companions = functools.partial(load_companion, cfg, device=device)
    task = task_class(task_of(cfg["family"]))(net, info, cfg, device=device, dtype=dtype, companions=companions)
    if interpolate is not None:
        other_name = partner or getattr(info.options, "interpolate_with", None)
        if other_name is None:
            raise ZooError(f"{info.name} has no interpolation partner; pass partner=NAME")
        other = load(other_name, device=device, dtype=dtype)
        task = task.interpolate(other, float(interpolate))
    return task


PERCEPTUAL_MODEL = "lpips-vgg16"  # the registry entry projection measures with when it is here


def load_companion(cfg: dict, role: str, *, device: str = "cpu"):
    """A network a task uses beside its own, or None when it is not here (nothing is downloaded):

    * ``"discriminator"``: the model's own D, stored beside it in its converted folder
      (``converted.load_companion``) or read again from the official file it was loaded from;
    * ``"lpips"``: the LPIPS-VGG distance (``zoo.load("lpips-vgg16")``) once its weights
      have been imported.
    """
    from . import converted, weights

    if role == "lpips":
        info = get(PERCEPTUAL_MODEL)
        return load(PERCEPTUAL_MODEL, device=device) if weights.available_locally(info) else None
    where = Path(cfg.get("loaded_from") or "")
    if not cfg.get("loaded_from") or role not in (cfg.get("companions") or {}):
        return None
    if where.is_dir():
        net = converted.load_companion(where, cfg, role)
    else:
        from .formats import read_official

        part = read_official(where).companions.get(role)
        net = part.network() if part is not None else None
    return net.to(device) if net is not None else None

