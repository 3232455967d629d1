"""Readers for HugGAN (huggingface/community-events ``huggan/pytorch``) pix2pix / CycleGAN files.

The HugGAN sprint's generators were pushed with huggingface_hub's ``PyTorchModelHubMixin`` of
spring 2022: ``pytorch_model.bin`` = ``torch.save(model.state_dict())`` (a bare state dict, zip
format), plus ``config.json`` only if a ``config`` dict was passed to ``push_to_hub``, which the
HugGAN training scripts never do. huggingface_hub >= 0.21 writes ``model.safetensors`` instead,
and >= 0.22 also writes the constructor kwargs to ``config.json``. docs/huggan.md has the evidence.

Layouts (key names are those of ``zoo.archs.huggan``, which copies them):

* ``huggan-unet`` (family pix2pix): ``down1..down8.model.0.weight``, ``up1..up7.model.0.weight``,
  ``final.2.weight`` / ``final.2.bias``. Kwargs ``in_channels`` / ``out_channels`` from shapes.
* ``huggan-resnet`` (family cyclegan): ``model.{1,4,7}``, blocks ``model.{10+k}.block.{1,5}``
  (junyanz's are ``conv_block``), ``model.{11+n,15+n,19+n}``; kwargs ``channels`` and
  ``num_residual_blocks`` from the keys.
* ``huggan-pix2pix-d`` / ``huggan-cyclegan-d``: ``model.{0,2,5,8}`` + ``model.12`` (junyanz's
  PatchGAN ends at ``model.11``); the pix2pix one's last conv has no bias and sees 2x channels.

The official config (``config.json`` of the repo, or ``config=``) holds constructor kwargs:
``{"in_channels": 3, "out_channels": 3}`` or ``{"input_shape": [3, 256, 256],
"num_residual_blocks": 9}``; they must agree with the weights. The train.py argument names
``channels`` / ``n_residual_blocks`` are accepted too.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..errors import CheckpointError
from .base import Converted, convert_bare, merge_official_config, rename_keys

LAYOUTS = {  # layout -> (family, arch)
    "huggan-unet": ("pix2pix", "huggan_unet"),
    "huggan-resnet": ("cyclegan", "huggan_resnet"),
    "huggan-pix2pix-d": ("pix2pix", "huggan_pix2pix_d"),
    "huggan-cyclegan-d": ("cyclegan", "huggan_cyclegan_d"),
}

UNET_RULES = [(r"((?:down[1-8]|up[1-7])\.model\.0\.weight|final\.2\.(?:weight|bias))", r"\1")]
D_TOP_CONVS = (0, 2, 5, 8, 12)

UNET_NAMES = {"in_channels": "in_channels", "out_channels": "out_channels"}
RESNET_NAMES = {"channels": "channels", "num_residual_blocks": "num_residual_blocks", "n_residual_blocks": "num_residual_blocks"}
PIX2PIX_D_NAMES = {"in_channels": "in_channels"}
CYCLEGAN_D_NAMES = {"channels": "channels"}


def _top_convs(keys: set[str], suffix: str) -> set[int]:
    return {int(m.group(1)) for k in keys if (m := re.fullmatch(rf"model\.(\d+)\.{suffix}", k))}


def _shape(sd: dict[str, Any], key: str) -> tuple[int, ...]:
    return tuple(int(d) for d in getattr(sd.get(key), "shape", ()))


def _resnet_blocks(keys: set[str]) -> list[int]:
    return sorted({int(m.group(1)) for k in keys if (m := re.match(r"model\.(\d+)\.block\.", k))})


def detect(sd: dict[str, Any]) -> str | None:
    """The HugGAN layout of a state dict, or None (never claims junyanz or ESRGAN layouts)."""
    keys = set(sd)
    if {"down1.model.0.weight", "up1.model.0.weight", "final.2.weight"} <= keys:
        return "huggan-unet"
    first = _shape(sd, "model.1.weight")
    if len(first) == 4 and first[0] == 64 and first[2:] == (7, 7) and "model.0.weight" not in keys:
        blocks = _resnet_blocks(keys)
        n = len(blocks)
        if blocks == list(range(10, 10 + n)) and {1, 4, 7, 11 + n, 15 + n, 19 + n} <= _top_convs(keys, "weight"):
            return "huggan-resnet"
    if _top_convs(keys, "weight") == set(D_TOP_CONVS) and all(re.fullmatch(r"model\.\d+\.(weight|bias)", k) for k in keys):
        if _shape(sd, "model.0.weight")[2:] == (4, 4) and _shape(sd, "model.12.weight") == (1, 512, 4, 4):
            return "huggan-cyclegan-d" if "model.12.bias" in keys else "huggan-pix2pix-d"
    return None


def resnet_rules(n: int) -> list[tuple[str, str]]:
    top = "|".join(str(i) for i in (1, 4, 7, 11 + n, 15 + n, 19 + n))
    rules = [(rf"model\.({top})\.(weight|bias)", r"model.\1.\2")]
    if n:
        blocks = "|".join(str(10 + k) for k in range(n))
        rules.append((rf"model\.({blocks})\.block\.([15])\.(weight|bias)", r"model.\1.block.\2.\3"))
    return rules


D_RULES = [(r"model\.(0|2|5|8|12)\.(weight|bias)", r"model.\1.\2")]


def _resnet_config(official_kwargs: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """Turn the official ``input_shape`` into ``channels`` (the only part the network uses)."""
    official_kwargs = dict(official_kwargs)
    if "input_shape" in official_kwargs:
        shape = official_kwargs.pop("input_shape")
        if not (isinstance(shape, (list, tuple)) and len(shape) == 3 and all(isinstance(d, int) and d > 0 for d in shape)):
            raise CheckpointError(f"huggan-resnet: input_shape must be [channels, height, width], not {shape!r}")
        if "channels" in official_kwargs and official_kwargs["channels"] != shape[0]:
            raise CheckpointError(f"huggan-resnet: config channels={official_kwargs['channels']!r} contradicts input_shape={shape!r}")
        official_kwargs["channels"] = shape[0]
        notes.append(f"input_shape {list(shape)}: only its channel count shapes the network; height and width are free")
    return official_kwargs


def convert_state_dict(sd: dict[str, Any], official_kwargs: dict[str, Any] | None) -> Converted | None:
    layout = detect(sd)
    if layout is None:
        return None
    family, arch = LAYOUTS[layout]
    official_kwargs = dict(official_kwargs or {})
    notes: list[str] = []
    keys = set(sd)
    if layout == "huggan-unet":
        inferred = {"in_channels": _shape(sd, "down1.model.0.weight")[1], "out_channels": _shape(sd, "final.2.weight")[0]}
        kwargs = merge_official_config(inferred, official_kwargs, UNET_NAMES, layout=layout)
        state_dict = rename_keys(sd, UNET_RULES, layout)
    elif layout == "huggan-resnet":
        n = len(_resnet_blocks(keys))
        inferred = {"channels": _shape(sd, "model.1.weight")[1], "num_residual_blocks": n}
        kwargs = merge_official_config(inferred, _resnet_config(official_kwargs, notes), RESNET_NAMES, layout=layout)
        state_dict = rename_keys(sd, resnet_rules(n), layout)
        if kwargs["channels"] != 3:
            notes.append(
                f"{kwargs['channels']} channels: the published ReflectionPad2d(channels) makes the output size differ from the input's"
            )
    else:
        in_total = _shape(sd, "model.0.weight")[1]
        if layout == "huggan-pix2pix-d":
            if in_total % 2:
                raise CheckpointError(f"{layout}: the first conv takes {in_total} channels, not 2 x in_channels")
            kwargs = merge_official_config({"in_channels": in_total // 2}, official_kwargs, PIX2PIX_D_NAMES, layout=layout)
        else:
            kwargs = merge_official_config({"channels": in_total}, official_kwargs, CYCLEGAN_D_NAMES, layout=layout)
        state_dict = rename_keys(sd, D_RULES, layout)
    return Converted(family, arch, kwargs, state_dict, layout, notes)


def convert(obj: Any, official_kwargs: dict[str, Any] | None = None) -> Converted | None:
    """Convert a loaded checkpoint object if it is a HugGAN pix2pix/CycleGAN network; None if not."""
    return convert_bare(obj, official_kwargs, convert_state_dict)


# ---------------------------------------------------------------------------------------------
# Hub repos saved with PyTorchModelHubMixin

MIXIN_WEIGHTS = ("model.safetensors", "pytorch_model.bin")  # newer mixin first; never both needed


def read_mixin_config(path: Path | None) -> dict[str, Any] | None:
    """The ``config.json`` of a ``PyTorchModelHubMixin`` repo (constructor kwargs), or None.

    A gan-zoo converted folder's config (with ``arch`` and ``family``) is refused: load that with
    ``converted.load_folder`` instead.
    """
    if path is None:
        return None
    try:
        official_kwargs = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{Path(path).name} is unreadable ({exc})") from None
    if not isinstance(official_kwargs, dict):
        raise CheckpointError(f"{Path(path).name} does not hold a JSON object")
    if "arch" in official_kwargs and "family" in official_kwargs:
        raise CheckpointError(f"{Path(path).name} is a gan-zoo converted folder's config, not an official one")
    return official_kwargs


def read_mixin_files(weights: str | Path, config_json: str | Path | None = None) -> Converted:
    """Convert the files of a ``PyTorchModelHubMixin`` repo (HugGAN or other official layouts).

    ``weights`` is its ``pytorch_model.bin`` (read with ``torch.load(weights_only=True)``) or
    ``model.safetensors``; ``config_json`` its ``config.json`` if it has one, passed to the family
    readers as the official config.
    """
    from . import read_official

    return read_official(weights, official_kwargs=read_mixin_config(Path(config_json) if config_json is not None else None))
