"""Readers for junyanz/pytorch-CycleGAN-and-pix2pix checkpoints (generators and discriminators).

Official files are bare state dicts (``latest_net_G.pth``, ``<name>.pth``), in the zip or the
legacy pickle format. Layouts (tests/fixtures/parity/pix2pix_cyclegan/README.md has the facts):

* ``unet``: ``model.model.0.weight`` ... nested ``.model.1`` per level; num_downs = (number of
  4-D weights) / 2.
* ``resnet``: ``model.{i}`` with ``model.{k}.conv_block.{j}`` residual blocks.
* ``nlayer_d``: PatchGAN, ``model.{i}`` convs only; ``pixel_d``: ``net.{i}`` 1x1 convs.

The norm type shows in the keys (BatchNorm has weights and running stats; InstanceNorm has none
but its convs have biases; ``none`` has neither). Legacy InstanceNorm running statistics
(PyTorch <= 0.3 files, and the Jun-Oct 2018 code) are dropped exactly as the official loader
drops them, and never used; BatchNorm counters missing from pre-0.4 files are filled in (the
value never affects the output). Anything else that does not fit is an error.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import CheckpointError
from .base import Converted, convert_bare, merge_official_config

FAMILY_OF_ARCH = {"unet": "pix2pix", "nlayer_d": "pix2pix", "pixel_d": "pix2pix", "resnet": "cyclegan"}
LEGACY_SUFFIXES = (".running_mean", ".running_var", ".num_batches_tracked")
G_NAMES = {"input_nc": "input_nc", "output_nc": "output_nc", "ngf": "ngf", "norm": "norm", "use_dropout": "use_dropout"}
D_NAMES = {"input_nc": "input_nc", "ndf": "ndf", "norm": "norm", "n_layers_D": "n_layers"}
IGNORED = {"init_type", "init_gain", "gpu_ids", "netG", "netD", "padding_type"}


def _norm_from_keys(keys: set[str], norm_weight: str, conv_bias_key: str, norm_stats: str) -> str:
    if norm_weight in keys:
        return "batch"
    if conv_bias_key in keys or norm_stats in keys:
        return "instance"
    return "none"


def detect(sd: dict[str, Any]) -> str | None:
    """The architecture of a junyanz state dict, or None."""
    keys = set(sd)
    if {"model.model.0.weight", "model.model.1.model.1.weight"} <= keys:
        return "unet"
    if "model.1.weight" in keys and any(".conv_block." in k for k in keys):
        return "resnet"
    if "net.0.weight" in keys and getattr(sd["net.0.weight"], "ndim", 0) == 4 and tuple(sd["net.0.weight"].shape[2:]) == (1, 1):
        return "pixel_d"
    if "model.0.weight" in keys and all(re.fullmatch(r"model\.\d+\.\w+", k) for k in keys):
        w = sd["model.0.weight"]
        convs = sorted(int(k.split(".")[1]) for k, v in sd.items() if k.endswith(".weight") and getattr(v, "ndim", 0) == 4)
        # PatchGAN convs sit at 0, 2, 5, 8, ... (3 * n_layers + 2); other layouts (HugGAN's ends at 12) are not ours
        if getattr(w, "ndim", 0) == 4 and tuple(w.shape[2:]) == (4, 4) and convs == [0] + [2 + 3 * i for i in range(len(convs) - 1)]:
            return "nlayer_d"
    return None


def infer_unet(sd: dict[str, Any]) -> dict[str, Any]:
    keys = set(sd)
    four_d = [k for k, v in sd.items() if getattr(v, "ndim", 0) == 4]
    first = sd["model.model.0.weight"]
    return {
        "input_nc": int(first.shape[1]),
        "output_nc": int(sd["model.model.3.weight"].shape[1]),  # ConvTranspose2d weight: [in, out, k, k]
        "num_downs": len(four_d) // 2,
        "ngf": int(first.shape[0]),
        "norm": _norm_from_keys(keys, "model.model.1.model.2.weight", "model.model.1.model.1.bias", "model.model.1.model.2.running_mean"),
        "use_dropout": None,  # invisible in the keys; from config, else False
    }


def infer_resnet(sd: dict[str, Any]) -> dict[str, Any]:
    keys = set(sd)
    blocks = sorted({int(m.group(1)) for k in keys if (m := re.match(r"model\.(\d+)\.conv_block\.", k))})
    n_blocks = len(blocks)
    zero_pad = any(re.match(r"model\.\d+\.conv_block\.0\.weight", k) for k in keys)
    # with Dropout the second conv moves from 5 to 6 (zero padding: 3 to 4); without it, that index is
    # the second norm, whose BatchNorm weight is 1-D, so only a 4-D weight there means dropout
    second_conv = 4 if zero_pad else 6
    return {
        "input_nc": int(sd["model.1.weight"].shape[1]),
        "output_nc": int(sd[f"model.{17 + n_blocks}.weight"].shape[0]),
        "ngf": int(sd["model.1.weight"].shape[0]),
        "norm": _norm_from_keys(keys, "model.2.weight", "model.1.bias", "model.2.running_mean"),
        "use_dropout": bool(blocks) and getattr(sd.get(f"model.{blocks[0]}.conv_block.{second_conv}.weight"), "ndim", 0) == 4,
        "n_blocks": n_blocks,
        "padding_type": "zero" if zero_pad else "reflect",
    }


def infer_nlayer(sd: dict[str, Any]) -> dict[str, Any]:
    keys = set(sd)
    convs = sorted(int(m.group(1)) for k, v in sd.items() if (m := re.fullmatch(r"model\.(\d+)\.weight", k)) and v.ndim == 4)
    ndf = int(sd["model.0.weight"].shape[0])
    n_layers = len(convs) - 2
    if n_layers == 1 and int(sd["model.2.weight"].shape[0]) == ndf:
        n_layers = 0  # same convs as n_layers 1, but the channel multiplier min(2**0, 8) is 1, not 2
    return {
        "input_nc": int(sd["model.0.weight"].shape[1]),
        "ndf": ndf,
        "n_layers": n_layers,
        "norm": _norm_from_keys(keys, "model.3.weight", "model.2.bias", "model.3.running_mean") if len(convs) > 2 else "none",
    }


def infer_pixel(sd: dict[str, Any]) -> dict[str, Any]:
    keys = set(sd)
    return {
        "input_nc": int(sd["net.0.weight"].shape[1]),
        "ndf": int(sd["net.0.weight"].shape[0]),
        "norm": _norm_from_keys(keys, "net.3.weight", "net.2.bias", "net.3.running_mean"),
    }


INFER = {"unet": infer_unet, "resnet": infer_resnet, "nlayer_d": infer_nlayer, "pixel_d": infer_pixel}


def _check_net_name(official_kwargs: dict[str, Any], arch: str, kwargs: dict[str, Any]) -> None:
    """``netG`` / ``netD`` must name the architecture the weights have."""
    net_g, net_d = official_kwargs.get("netG"), official_kwargs.get("netD")
    if net_g is not None:
        unet, resnet = re.fullmatch(r"unet_(\d+)", str(net_g)), re.fullmatch(r"resnet_(\d+)blocks", str(net_g))
        if unet and arch == "unet" and 2 ** kwargs["num_downs"] == int(unet.group(1)):
            return
        if resnet and arch == "resnet" and kwargs["n_blocks"] == int(resnet.group(1)):
            return
        raise CheckpointError(f"config netG={net_g!r} contradicts the weights, which are {describe(arch, kwargs)}")
    if net_d is not None:
        if arch == "nlayer_d" and (net_d == "n_layers" or (net_d == "basic" and kwargs["n_layers"] == 3)):
            return
        if arch == "pixel_d" and net_d == "pixel":
            return
        raise CheckpointError(f"config netD={net_d!r} contradicts the weights, which are {describe(arch, kwargs)}")


def describe(arch: str, kwargs: dict[str, Any]) -> str:
    if arch == "unet":
        return f"unet_{2 ** kwargs['num_downs']} ({kwargs['norm']} norm)"
    if arch == "resnet":
        return f"resnet_{kwargs['n_blocks']}blocks ({kwargs['norm']} norm)"
    if arch == "nlayer_d":
        return f"a PatchGAN with {kwargs['n_layers']} layers ({kwargs['norm']} norm)"
    return f"a pixel discriminator ({kwargs['norm']} norm)"


def _tidy(sd: dict[str, Any], arch: str, kwargs: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Drop legacy InstanceNorm statistics and fill BatchNorm counters, against the arch's own keys."""
    import torch
    from torch import nn

    from ..archs import build

    net = build(arch, kwargs, meta=True)
    expected = net.state_dict()
    modules = dict(net.named_modules())
    out: dict[str, Any] = {}
    dropped = filled = 0
    for key, value in sd.items():
        if key in expected:
            out[key] = value
            continue
        owner, _, leaf = key.rpartition(".")
        if f".{leaf}" in LEGACY_SUFFIXES and isinstance(modules.get(owner), nn.InstanceNorm2d):
            dropped += 1  # the official loader pops these; they must never be used
            continue
        raise CheckpointError(f"unexpected key {key!r} for {describe(arch, kwargs)}")
    for key in expected:
        if key not in out and key.endswith(".num_batches_tracked") and isinstance(modules.get(key.rpartition(".")[0]), nn.BatchNorm2d):
            out[key] = torch.tensor(0, dtype=torch.long)
            filled += 1
    ordered = {k: out[k] for k in expected if k in out}  # the arch's key order; missing keys fail later
    notes = []
    if dropped:
        notes.append(f"dropped {dropped} legacy InstanceNorm running-statistics keys, as the official loader does (never used)")
    if filled:
        notes.append(f"filled {filled} BatchNorm num_batches_tracked counters missing from this pre-0.4 file (no effect on outputs)")
    return ordered, notes


def convert_state_dict(sd: dict[str, Any], official_kwargs: dict[str, Any] | None) -> Converted | None:
    arch = detect(sd)
    if arch is None:
        return None
    official_kwargs = dict(official_kwargs or {})
    try:
        inferred = INFER[arch](sd)
    except KeyError as exc:
        raise CheckpointError(f"{arch} checkpoint lacks {exc.args[0]}") from None
    names = G_NAMES if arch in ("unet", "resnet") else D_NAMES
    if arch in ("nlayer_d", "pixel_d") and (arch == "pixel_d" or official_kwargs.get("netD") in ("basic", "pixel")):
        official_kwargs.pop("n_layers_D", None)  # define_D passes n_layers_D only to netD 'n_layers'; 'basic' is 3
    kwargs = merge_official_config(inferred, official_kwargs, names, layout=f"junyanz {arch}", ignored=IGNORED)
    if arch == "unet" and kwargs["use_dropout"] is None:
        kwargs["use_dropout"] = False
    if arch == "resnet" and "padding_type" in official_kwargs and official_kwargs["padding_type"] != kwargs["padding_type"]:
        if {official_kwargs["padding_type"], kwargs["padding_type"]} != {"reflect", "replicate"}:
            raise CheckpointError(f"config padding_type={official_kwargs['padding_type']!r} contradicts the weights")
        kwargs["padding_type"] = official_kwargs["padding_type"]
    _check_net_name(official_kwargs, arch, kwargs)
    state_dict, notes = _tidy(sd, arch, kwargs)
    return Converted(FAMILY_OF_ARCH[arch], arch, kwargs, state_dict, f"junyanz-{arch}", notes)


def convert(obj: Any, official_kwargs: dict[str, Any] | None = None) -> Converted | None:
    """Convert a loaded checkpoint object if it is a junyanz pix2pix/CycleGAN network; None if not."""
    return convert_bare(obj, official_kwargs, convert_state_dict)

