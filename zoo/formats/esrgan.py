"""Readers for the ESRGAN family's official checkpoint layouts.

Layouts (see tests/fixtures/parity/esrgan/README.md for the facts):

* ``basicsr-rrdbnet``: BasicSR / Real-ESRGAN RRDBNet, wrapped as ``{'params_ema': sd}`` or
  ``{'params': sd}`` (training files hold both; ``params_ema`` wins, as in Real-ESRGAN).
* ``esrgan-new-arch``: xinntao/ESRGAN ``RRDBNet_arch.py`` (``RRDB_trunk.N.RDBk``), bare dict.
* ``esrgan-old-arch``: xinntao/ESRGAN tag old-arch ``RRDB_Net`` (``model.1.sub.N.RDBk.convJ.0``).
* ``srvgg``: Real-ESRGAN SRVGGNetCompact (``body.N``).

Each converts to ``zoo.archs.esrgan`` key names with a list of rename rules.
"""

from __future__ import annotations

import math
from typing import Any, Iterator

from ..errors import CheckpointError
from .base import Converted, max_index, merge_official_config, rename_keys
from .checkpoint import is_state_dict, strip_prefix

FAMILY = "esrgan"
WRAPPER_KEYS = ("params_ema", "params")  # the official loader's preference order


def candidates(obj: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """State dicts this family could find in ``obj``: (wrapper key or '', state dict)."""
    if isinstance(obj, dict):
        for key in WRAPPER_KEYS:
            if is_state_dict(obj.get(key)):
                yield key, strip_prefix(obj[key], "module.")
                return
    if is_state_dict(obj):
        yield "", strip_prefix(obj, "module.")


def _has(keys: set[str], *names: str) -> bool:
    return all(n in keys for n in names)


def detect(state_dict: dict[str, Any]) -> str | None:
    """The layout name of an (unwrapped) ESRGAN-family state dict, or None."""
    keys = set(state_dict)
    if _has(keys, "conv_first.weight", "body.0.rdb1.conv1.weight"):
        return "basicsr-rrdbnet"
    if _has(keys, "conv_first.weight", "RRDB_trunk.0.RDB1.conv1.weight"):
        return "esrgan-new-arch"
    if _has(keys, "model.0.weight", "model.1.sub.0.RDB1.conv1.0.weight"):
        return "esrgan-old-arch"
    if "body.0.weight" in keys and "conv_first.weight" not in keys:
        w = state_dict["body.0.weight"]
        if getattr(w, "ndim", 0) == 4 and tuple(w.shape[2:]) == (3, 3):
            return "srvgg"
    return None


# ---------------------------------------------------------------------------------------------
# RRDBNet layouts

BASICSR_NAMES = {k: k for k in ("num_in_ch", "num_out_ch", "num_feat", "num_block", "num_grow_ch", "scale")}
NEW_ARCH_NAMES = {"in_nc": "num_in_ch", "out_nc": "num_out_ch", "nf": "num_feat", "nb": "num_block", "gc": "num_grow_ch"}
OLD_ARCH_NAMES = {**NEW_ARCH_NAMES, "upscale": "scale"}
OLD_ARCH_FIXED = {"norm_type": None, "act_type": "leakyrelu", "mode": "CNA", "res_scale": 1, "upsample_mode": "upconv"}

NEW_ARCH_RULES = [
    (r"RRDB_trunk\.(\d+)\.RDB(\d)\.(conv\d\.(?:weight|bias))", r"body.\1.rdb\2.\3"),
    (r"trunk_conv\.(weight|bias)", r"conv_body.\1"),
    (r"upconv([12])\.(weight|bias)", r"conv_up\1.\2"),
    (r"HRconv\.(weight|bias)", r"conv_hr.\1"),
    (r"(conv_first|conv_last)\.(weight|bias)", r"\1.\2"),
]

BASICSR_RULES = [
    (r"(body\.\d+\.rdb\d\.conv\d|conv_first|conv_body|conv_up[12]|conv_hr|conv_last)\.(weight|bias)", r"\1.\2"),
]


def old_arch_rules(num_block: int, num_up: int) -> list[tuple[str, str]]:
    """Rename rules of the old-arch Sequential for ``num_block`` RRDBs and ``num_up`` upsamplers."""
    rules = [
        (r"model\.0\.(weight|bias)", r"conv_first.\1"),
        (r"model\.1\.sub\.(\d+)\.RDB(\d)\.(conv\d)\.0\.(weight|bias)", r"body.\1.rdb\2.\3.\4"),
        (rf"model\.1\.sub\.{num_block}\.(weight|bias)", r"conv_body.\1"),
    ]
    rules += [(rf"model\.{3 * (i + 1)}\.(weight|bias)", rf"conv_up{i + 1}.\1") for i in range(num_up)]
    rules += [
        (rf"model\.{3 * num_up + 2}\.(weight|bias)", r"conv_hr.\1"),
        (rf"model\.{3 * num_up + 4}\.(weight|bias)", r"conv_last.\1"),
    ]
    return rules


def convert_basicsr(sd: dict[str, Any], official_kwargs: dict[str, Any] | None) -> Converted:
    keys = list(sd)
    num_feat, in_total = (int(d) for d in sd["conv_first.weight"].shape[:2])
    num_out = int(sd["conv_last.weight"].shape[0])
    num_in = int((official_kwargs or {}).get("num_in_ch", num_out))
    ratio = in_total // num_in if num_in and in_total % num_in == 0 else 0
    unshuffle = {1: 1, 4: 2, 16: 4}.get(ratio)
    if unshuffle is None:
        raise CheckpointError(
            f"basicsr-rrdbnet: conv_first takes {in_total} channels, which fits no scale for {num_in} input channels"
        )
    inferred = {
        "num_in_ch": num_in,
        "num_out_ch": num_out,
        "num_feat": num_feat,
        "num_block": max_index(keys, r"body\.(\d+)\.") + 1,
        "num_grow_ch": int(sd["body.0.rdb1.conv1.weight"].shape[0]),
        "scale": 4 // unshuffle,
    }
    kwargs = merge_official_config(inferred, official_kwargs, BASICSR_NAMES, layout="basicsr-rrdbnet")
    kwargs["unshuffle"] = unshuffle
    return Converted(FAMILY, "rrdbnet", kwargs, rename_keys(sd, BASICSR_RULES, "basicsr-rrdbnet"), "basicsr-rrdbnet")


def convert_new_arch(sd: dict[str, Any], official_kwargs: dict[str, Any] | None) -> Converted:
    keys = list(sd)
    inferred = {
        "num_in_ch": int(sd["conv_first.weight"].shape[1]),
        "num_out_ch": int(sd["conv_last.weight"].shape[0]),
        "num_feat": int(sd["conv_first.weight"].shape[0]),
        "num_block": max_index(keys, r"RRDB_trunk\.(\d+)\.") + 1,
        "num_grow_ch": int(sd["RRDB_trunk.0.RDB1.conv1.weight"].shape[0]),
    }
    kwargs = merge_official_config(inferred, official_kwargs, NEW_ARCH_NAMES, layout="esrgan-new-arch")
    kwargs.update(scale=4, unshuffle=1)
    return Converted(FAMILY, "rrdbnet", kwargs, rename_keys(sd, NEW_ARCH_RULES, "esrgan-new-arch"), "esrgan-new-arch")


def convert_old_arch(sd: dict[str, Any], official_kwargs: dict[str, Any] | None) -> Converted:
    keys = list(sd)
    num_block = max_index(keys, r"model\.1\.sub\.(\d+)\.")  # the trunk conv sits at index nb
    last = max_index(keys, r"model\.(\d+)\.")
    if (last - 4) % 3 or last < 4:
        raise CheckpointError(f"esrgan-old-arch: last layer model.{last} fits no upscaling factor")
    num_up = (last - 4) // 3
    inferred = {
        "num_in_ch": int(sd["model.0.weight"].shape[1]),
        "num_out_ch": int(sd[f"model.{last}.weight"].shape[0]),
        "num_feat": int(sd["model.0.weight"].shape[0]),
        "num_block": num_block,
        "scale": 2**num_up,
    }
    growth = int(sd["model.1.sub.0.RDB1.conv1.0.weight"].shape[0])

    def scale_fits(value: Any, _: dict[str, Any]) -> bool:
        try:
            from ..archs.esrgan import upsample_factors

            return len(upsample_factors(int(value))) == num_up
        except ValueError:
            return False

    kwargs = merge_official_config(
        inferred,
        official_kwargs,
        OLD_ARCH_NAMES,
        layout="esrgan-old-arch",
        ignored={"gc"},  # the reference RRDB_Net ignores gc and always builds growth 32
        fixed=OLD_ARCH_FIXED,
        checks={"scale": scale_fits},
    )
    kwargs.update(num_grow_ch=growth, unshuffle=1)
    sd = rename_keys(sd, old_arch_rules(num_block, num_up), "esrgan-old-arch")
    return Converted(FAMILY, "rrdbnet", kwargs, sd, "esrgan-old-arch")


# ---------------------------------------------------------------------------------------------
# SRVGGNetCompact

SRVGG_NAMES = {k: k for k in ("num_in_ch", "num_out_ch", "num_feat", "num_conv", "upscale", "act_type")}
SRVGG_RULES = [(r"body\.(\d+)\.(weight|bias)", r"body.\1.\2")]


def convert_srvgg(sd: dict[str, Any], official_kwargs: dict[str, Any] | None) -> Converted:
    keys = list(sd)
    last = max_index(keys, r"body\.(\d+)\.")
    if last < 2 or last % 2:
        raise CheckpointError(f"srvgg: last layer body.{last} does not fit SRVGGNetCompact")
    num_in = int(sd["body.0.weight"].shape[1])
    given_out = (official_kwargs or {}).get("num_out_ch")
    num_out = int(given_out) if given_out is not None else num_in
    out_total = int(sd[f"body.{last}.weight"].shape[0])
    upscale = math.isqrt(out_total // num_out) if out_total % num_out == 0 else 0
    if upscale < 1 or upscale * upscale * num_out != out_total:
        raise CheckpointError(f"srvgg: the last conv has {out_total} outputs, which fits no upscale for {num_out} channels")
    has_prelu = "body.1.weight" in sd
    inferred = {
        "num_in_ch": num_in,
        "num_out_ch": num_out,
        "num_feat": int(sd["body.0.weight"].shape[0]),
        "num_conv": (last - 2) // 2,
        "upscale": upscale,
        "act_type": "prelu" if has_prelu else None,
    }

    def act_fits(value: Any, _: dict[str, Any]) -> bool:
        return (value == "prelu") == has_prelu and value in ("prelu", "relu", "leakyrelu")

    kwargs = merge_official_config(inferred, official_kwargs, SRVGG_NAMES, layout="srvgg", checks={"act_type": act_fits})
    if kwargs["act_type"] is None:
        raise CheckpointError(
            "srvgg: these weights have no PReLU slopes, so the activation cannot be read from them; "
            "pass config={'act_type': 'relu'} or {'act_type': 'leakyrelu'}"
        )
    return Converted(FAMILY, "srvgg", kwargs, rename_keys(sd, SRVGG_RULES, "srvgg"), "srvgg")


CONVERTERS = {
    "basicsr-rrdbnet": convert_basicsr,
    "esrgan-new-arch": convert_new_arch,
    "esrgan-old-arch": convert_old_arch,
    "srvgg": convert_srvgg,
}

def convert(obj: Any, official_kwargs: dict[str, Any] | None = None) -> Converted | None:
    """Convert a loaded checkpoint object if it is an ESRGAN-family one; None if it is not."""
    for wrapper, sd in candidates(obj):
        layout = detect(sd)
        if layout is None:
            continue
        converted = CONVERTERS[layout](sd, official_kwargs)
        converted.wrapper = wrapper
        if wrapper:
            converted.notes.append(f"state dict taken from the {wrapper!r} entry")
        return converted
    return None

