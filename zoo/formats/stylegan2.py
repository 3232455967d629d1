"""Readers for StyleGAN2 generators: NVIDIA state dicts (+ init_kwargs) and rosinality checkpoints.

Layouts (tests/fixtures/parity/stylegan2/README.md has the facts):

* ``nvidia``: ``G_ema.state_dict()`` of stylegan2-ada-pytorch / the stylegan3 repository's
  ``networks_stylegan2`` (``mapping.fc{i}``, ``synthesis.b{r}.conv{0,1}``, ...), as safetensors or
  a torch file. These are already ``zoo.archs.stylegan2``'s key names. The official kwargs are
  the pickle's ``init_kwargs`` in either layout (``synthesis_kwargs`` nested, as in
  stylegan2-ada-pytorch, or flattened, as in stylegan3); what the tensors show wins, and what
  they cannot show (``lr_multiplier``, ``conv_clamp``) comes from there.
* ``rosinality``: ``{'g_ema': state_dict, 'latent_avg': [D]}`` (``style.{i}``, ``conv1``,
  ``convs.{j}``, ``to_rgb1``, ``to_rgbs.{k}``, ``noises.noise_{j}``), renamed by rule lists and
  reshaped (leading unit axes dropped). Its blur-kernel buffers are constants: checked when
  present, regenerated when missing. A file without ``latent_avg`` gets the mean W of 4096 seeded
  samples, as rosinality's own generate.py computes its truncation centre.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ..errors import CheckpointError
from .base import Converted, max_index, rename_keys
from .checkpoint import is_state_dict, strip_prefix

FAMILY = "stylegan2"
ARCH = "stylegan2"
NVIDIA_MARKERS = ("mapping.fc0.weight", "synthesis.b4.const")
ROSI_MARKERS = ("style.1.weight", "input.input", "conv1.conv.weight")
MAPPING_DEFAULTS = {"num_layers": 8, "embed_features": None, "layer_features": None, "activation": "lrelu", "lr_multiplier": 0.01}
ADA_SYNTHESIS_DEFAULTS = {"channel_base": 32768, "channel_max": 512, "conv_clamp": None, "architecture": "skip",
                          "resample_filter": [1, 3, 3, 1], "use_noise": True, "activation": "lrelu"}
SG3_SYNTHESIS_DEFAULTS = {**ADA_SYNTHESIS_DEFAULTS, "conv_clamp": 256}  # networks_stylegan2.py of the stylegan3 repo
SYNTHESIS_KEYS = set(ADA_SYNTHESIS_DEFAULTS) | {"num_fp16_res", "fused_modconv_default"}
TOP_KEYS = {"z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs", "synthesis_kwargs"}
IGNORED = {"num_fp16_res", "w_avg_beta", "fused_modconv_default", "class_name"}  # precision or training only


def _shape(sd: dict[str, Any], key: str) -> tuple[int, ...]:
    return tuple(int(d) for d in sd[key].shape)


def _taps(f) -> list[int]:
    """The 1-D taps of a normalised separable filter ``outer(t, t) / sum(t)^2`` (as integers)."""
    if f.is_meta:
        return [1, 3, 3, 1]  # a shape-only analysis (manifests): every release uses this filter
    row = (f[0] / f[0, 0]).tolist()
    taps = [round(v) for v in row]
    if any(abs(a - b) > 1e-4 for a, b in zip(taps, row)):
        raise CheckpointError(f"resample_filter {row} is not an integer FIR filter")
    return taps


# ---------------------------------------------------------------------------------------------
# NVIDIA


def infer_nvidia(sd: dict[str, Any]) -> dict[str, Any]:
    """Everything the tensors show (README: "Inferring the configuration")."""
    keys = set(sd)
    resolutions = sorted({int(m.group(1)) for k in keys if (m := re.match(r"synthesis\.b(\d+)\.", k))})
    res = resolutions[-1]
    if resolutions != [2**i for i in range(2, int(math.log2(res)) + 1)]:
        raise CheckpointError(f"nvidia stylegan2: synthesis blocks {resolutions} are not 4, 8, ..., R")
    embed = _shape(sd, "mapping.embed.weight") if "mapping.embed.weight" in keys else (0, 0)
    fc0 = _shape(sd, "mapping.fc0.weight")
    skip_blocks = [r for r in resolutions if f"synthesis.b{r}.torgb.weight" in keys]
    architecture = "resnet" if any(k.endswith(".skip.weight") for k in keys) else "skip" if skip_blocks == resolutions else "orig"
    return {
        "z_dim": fc0[1] - embed[0],
        "c_dim": embed[1],
        "w_dim": _shape(sd, "mapping.w_avg")[0],
        "img_resolution": res,
        "img_channels": _shape(sd, f"synthesis.b{res}.torgb.weight")[0],
        "channels": [_shape(sd, f"synthesis.b{r}.conv1.weight")[0] for r in resolutions],
        "mapping_layers": max_index(keys, r"mapping\.fc(\d+)\.weight") + 1,
        "layer_features": fc0[0],
        "architecture": architecture,
        "use_noise": "synthesis.b4.conv1.noise_const" in keys,
        "resample_filter": _taps(sd["synthesis.b4.resample_filter"]),
        **({"embed_features": embed[0]} if embed[1] else {}),
    }


def _official_kwargs(init_kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(top-level, mapping, synthesis) kwargs of either init_kwargs layout, defaults filled in."""
    init = dict(init_kwargs)
    mapping = {**MAPPING_DEFAULTS, **dict(init.pop("mapping_kwargs", None) or {})}
    if "synthesis_kwargs" in init:
        synthesis = {**ADA_SYNTHESIS_DEFAULTS, **dict(init.pop("synthesis_kwargs") or {})}
    elif SYNTHESIS_KEYS & set(init):  # stylegan3's networks_stylegan2: flattened, other defaults
        synthesis = {**SG3_SYNTHESIS_DEFAULTS, **{k: init.pop(k) for k in list(init) if k in SYNTHESIS_KEYS}}
    else:
        synthesis = dict(ADA_SYNTHESIS_DEFAULTS)
    unknown = sorted(set(init) - TOP_KEYS - IGNORED) + sorted(set(mapping) - set(MAPPING_DEFAULTS) - IGNORED) \
        + sorted(set(synthesis) - SYNTHESIS_KEYS - IGNORED)
    if unknown:
        raise CheckpointError(f"nvidia stylegan2: unknown init_kwargs {', '.join(map(repr, unknown))}")
    return init, mapping, synthesis


def _agree(name: str, given: Any, inferred: Any) -> None:
    if given is not None and given != inferred:
        raise CheckpointError(f"nvidia stylegan2: init_kwargs {name}={given!r} contradicts the weights, which say {inferred!r}")


def convert_nvidia(sd: dict[str, Any], official_kwargs: dict[str, Any] | None) -> Converted:
    kwargs = infer_nvidia(sd)
    notes: list[str] = []
    init, mapping, synthesis = _official_kwargs(official_kwargs or {})
    for key in ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels"):
        _agree(key, init.get(key), kwargs[key])
    _agree("mapping num_layers", mapping["num_layers"] if official_kwargs else None, kwargs["mapping_layers"])
    _agree("mapping layer_features", mapping["layer_features"], kwargs["layer_features"])
    if kwargs["c_dim"]:
        _agree("mapping embed_features", mapping["embed_features"], kwargs["embed_features"])
    for name in ("activation",):
        if mapping[name] != "lrelu" or synthesis[name] != "lrelu":
            raise CheckpointError(f"nvidia stylegan2: activation {mapping[name]!r}/{synthesis[name]!r} is not supported (only 'lrelu')")
    if official_kwargs:
        _agree("architecture", synthesis["architecture"], kwargs["architecture"])
        _agree("use_noise", synthesis["use_noise"], kwargs["use_noise"])
        _agree("resample_filter", list(synthesis["resample_filter"]), kwargs["resample_filter"])
        table = [min(int(synthesis["channel_base"]) // r, int(synthesis["channel_max"])) for r in _resolutions(kwargs)]
        _agree("channel_base/channel_max", table, kwargs["channels"])
    kwargs["lr_multiplier"] = float(mapping["lr_multiplier"])
    clamp = synthesis["conv_clamp"] if official_kwargs else None
    kwargs["conv_clamp"] = None if clamp is None else float(clamp)
    if not official_kwargs:
        notes.append("no init_kwargs: lr_multiplier 0.01 and no conv_clamp assumed (the tensors cannot show them)")
    if synthesis.get("num_fp16_res"):
        notes.append(f"num_fp16_res={synthesis['num_fp16_res']} ignored: gan-zoo runs StyleGAN2 in float32")
    return Converted(FAMILY, ARCH, kwargs, dict(sd), "nvidia", notes)


D_KEYS = {"c_dim", "img_resolution", "img_channels", "architecture", "channel_base", "channel_max", "num_fp16_res", "conv_clamp",
          "cmap_dim", "block_kwargs", "mapping_kwargs", "epilogue_kwargs"}


def convert_nvidia_discriminator(sd: dict[str, Any], official_kwargs: dict[str, Any] | None) -> Converted:
    """NVIDIA's ``Discriminator.state_dict()`` (+ its init_kwargs) as the ``stylegan2_d`` architecture."""
    keys = set(sd)
    init = dict(official_kwargs or {})
    unknown = sorted(set(init) - D_KEYS)
    if unknown:
        raise CheckpointError(f"nvidia stylegan2 discriminator: unknown init_kwargs {', '.join(map(repr, unknown))}")
    blocks = sorted({int(m.group(1)) for k in keys if (m := re.match(r"b(\d+)\.conv0\.weight$", k))}, reverse=True)
    res = blocks[0] if blocks else 4
    widths = {r: _shape(sd, f"b{r}.conv0.weight")[0] for r in blocks} | {4: _shape(sd, "b4.conv.weight")[0]}
    architecture = "resnet" if any(k.endswith(".skip.weight") for k in keys) else \
        "skip" if "b4.fromrgb.weight" in keys else "orig"
    kwargs: dict[str, Any] = {
        "c_dim": _shape(sd, "mapping.embed.weight")[1] if "mapping.embed.weight" in keys else 0,
        "img_resolution": res,
        "img_channels": _shape(sd, f"b{res}.fromrgb.weight")[1],
        "channels": [widths[2**i] for i in range(2, int(math.log2(res)) + 1)],
        "architecture": architecture,
        "mbstd_num_channels": _shape(sd, "b4.conv.weight")[1] - widths[4],
        "mbstd_group_size": int((init.get("epilogue_kwargs") or {}).get("mbstd_group_size", 4)),
        "resample_filter": _taps(sd[f"b{res}.resample_filter"]),
    }
    if kwargs["c_dim"]:
        kwargs["cmap_dim"] = _shape(sd, "b4.out.weight")[0]
        kwargs["mapping_layers"] = max_index(keys, r"mapping\.fc(\d+)\.weight") + 1
    for key in ("c_dim", "img_resolution", "img_channels", "architecture"):
        _agree(f"discriminator {key}", init.get(key), kwargs[key])
    if "channel_base" in init or "channel_max" in init:
        table = [min(int(init.get("channel_base", 32768)) // r, int(init.get("channel_max", 512))) for r in _resolutions(kwargs)]
        _agree("discriminator channel_base/channel_max", table, kwargs["channels"])
    clamp = init.get("conv_clamp")
    kwargs["conv_clamp"] = None if clamp is None else float(clamp)
    return Converted(FAMILY, "stylegan2_d", kwargs, dict(sd), "nvidia-discriminator", [])


def _resolutions(kwargs: dict[str, Any]) -> list[int]:
    return [2**i for i in range(2, int(math.log2(kwargs["img_resolution"])) + 1)]


# ---------------------------------------------------------------------------------------------
# rosinality


def rosinality_rules(size: int) -> list[tuple[str, str]]:
    """Rename rules rosinality -> NVIDIA for a generator of ``size`` pixels (README's mapping table)."""
    layer = r"(conv\.weight|conv\.modulation\.weight|conv\.modulation\.bias|noise\.weight|activate\.bias)"
    out = [(r"input\.input", "synthesis.b4.const"), (rf"conv1\.{layer}", "synthesis.b4.conv1.\\1"),
           (r"to_rgb1\.(conv\.weight|conv\.modulation\.weight|conv\.modulation\.bias|bias)", "synthesis.b4.torgb.\\1")]
    out += [(rf"style\.{i}\.(weight|bias)", f"mapping.fc{i - 1}.\\1") for i in range(1, 33)]
    for k in range(int(math.log2(size)) - 2):
        r = 2 ** (k + 3)
        out += [(rf"convs\.{2 * k}\.{layer}", f"synthesis.b{r}.conv0.\\1"),
                (rf"convs\.{2 * k + 1}\.{layer}", f"synthesis.b{r}.conv1.\\1"),
                (rf"to_rgbs\.{k}\.(conv\.weight|conv\.modulation\.weight|conv\.modulation\.bias|bias)", f"synthesis.b{r}.torgb.\\1")]
    out.append((r"noises\.noise_0", "synthesis.b4.conv1.noise_const"))
    for k in range(int(math.log2(size)) - 2):
        r = 2 ** (k + 3)
        out += [(rf"noises\.noise_{2 * k + 1}", f"synthesis.b{r}.conv0.noise_const"),
                (rf"noises\.noise_{2 * k + 2}", f"synthesis.b{r}.conv1.noise_const")]
    return out


LEAF_NAMES = [("conv.weight", "weight"), ("conv.modulation.weight", "affine.weight"), ("conv.modulation.bias", "affine.bias"),
              ("noise.weight", "noise_strength"), ("activate.bias", "bias")]
KERNEL_KEYS = re.compile(r"(convs\.\d+\.conv\.blur\.kernel|to_rgbs\.\d+\.upsample\.kernel)")


def convert_rosinality(obj: dict[str, Any], official_kwargs: dict[str, Any] | None) -> Converted:
    import torch

    from ..archs.stylegan2 import setup_filter

    sd = strip_prefix(obj["g_ema"], "module.")
    notes: list[str] = []
    kernels = {k: v for k, v in sd.items() if KERNEL_KEYS.fullmatch(k)}
    expected_kernel = setup_filter([1, 3, 3, 1]) * 4
    for key, value in kernels.items():
        if tuple(value.shape) != (4, 4) or (not value.is_meta and not torch.allclose(value.float(), expected_kernel, atol=1e-6)):
            raise CheckpointError(f"rosinality: {key} is not the [1, 3, 3, 1] blur kernel; other kernels are not supported")
    sd = {k: v for k, v in sd.items() if k not in kernels}
    size = 4 * 2 ** (max_index(sd, r"to_rgbs\.(\d+)\.") + 1)
    if not kernels and size > 4:
        notes.append("the blur-kernel buffers were missing (constants): regenerated")
    renamed = rename_keys(sd, rosinality_rules(size), "rosinality")
    out: dict[str, Any] = {}
    for key, value in renamed.items():
        for old, new in LEAF_NAMES:
            if key.endswith("." + old):
                key = key[: -len(old)] + new
                break
        if key.endswith((".weight",)) and value.ndim == 5:
            value = value[0]  # [1, O, I, k, k] -> [O, I, k, k]
        elif key.endswith(".noise_strength"):
            value = value.reshape([])
        elif key.endswith(".noise_const") or key == "synthesis.b4.const":
            value = value.reshape(value.shape[-3:] if key == "synthesis.b4.const" else value.shape[-2:])
        elif key.endswith("torgb.bias"):
            value = value.reshape(-1)
        out[key] = value
    style_dim = _shape(out, "mapping.fc0.weight")[1]
    resolutions = [2**i for i in range(2, int(math.log2(size)) + 1)]
    kwargs = {
        "z_dim": style_dim, "c_dim": 0, "w_dim": style_dim, "img_resolution": size,
        "img_channels": _shape(out, "synthesis.b4.torgb.weight")[0],
        "channels": [_shape(out, f"synthesis.b{r}.conv1.weight")[0] for r in resolutions],
        "mapping_layers": max_index(out, r"mapping\.fc(\d+)\.weight") + 1,
        "layer_features": _shape(out, "mapping.fc0.weight")[0],
        "lr_multiplier": float((official_kwargs or {}).get("lr_mlp", 0.01)),
        "architecture": "skip", "conv_clamp": None, "use_noise": True, "resample_filter": [1, 3, 3, 1],
    }
    unknown = sorted(set(official_kwargs or {}) - {"size", "style_dim", "n_mlp", "channel_multiplier", "lr_mlp", "blur_kernel"})
    if unknown:
        raise CheckpointError(f"rosinality: unknown Generator kwargs {', '.join(map(repr, unknown))}")
    if list((official_kwargs or {}).get("blur_kernel", [1, 3, 3, 1])) != [1, 3, 3, 1]:
        raise CheckpointError("rosinality: only blur_kernel [1, 3, 3, 1] is supported")
    for key, inferred in (("size", size), ("style_dim", style_dim), ("n_mlp", kwargs["mapping_layers"])):
        given = (official_kwargs or {}).get(key)
        if given is not None and given != inferred:
            raise CheckpointError(f"rosinality: {key}={given!r} contradicts the weights, which say {inferred!r}")
    if "synthesis.b8.conv0.noise_const" not in out and size > 4:
        raise CheckpointError("rosinality: this file has no stored noise maps (noises.noise_*): written before 2020-01-15 model.py")
    filt = setup_filter([1, 3, 3, 1])
    for r in resolutions:  # the filter buffers NVIDIA's layout keeps (rosinality's kernels are these, x4)
        out[f"synthesis.b{r}.resample_filter"] = filt.clone()
        for conv in ("conv0", "conv1"):
            if f"synthesis.b{r}.{conv}.weight" in out:
                out[f"synthesis.b{r}.{conv}.resample_filter"] = filt.clone()
    latent_avg = obj.get("latent_avg")
    if latent_avg is None:
        out["mapping.w_avg"] = _sampled_w_avg(out, kwargs)
        notes.append("no latent_avg in the file: the truncation centre is the mean W of 4096 seeded samples")
    else:
        out["mapping.w_avg"] = latent_avg.reshape(-1)
    if "g" in obj or "d" in obj:
        notes.append("the file also holds other networks ('g', 'd'): the generator g_ema was taken")
    return Converted(FAMILY, ARCH, kwargs, out, "rosinality", notes, wrapper="g_ema")


def _sampled_w_avg(sd: dict[str, Any], kwargs: dict[str, Any]):
    import torch

    from ..archs.stylegan2 import Generator

    mapping = Generator(**kwargs).mapping
    mapping.load_state_dict({k[len("mapping."):]: v for k, v in sd.items() if k.startswith("mapping.") and k != "mapping.w_avg"}
                            | {"w_avg": torch.zeros(kwargs["w_dim"])})
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        return mapping(torch.randn(4096, kwargs["z_dim"], generator=gen), None)[:, 0].mean(0)


def convert(obj: Any, official_kwargs: dict[str, Any] | None = None) -> Converted | None:
    """Convert a loaded checkpoint object if it is a StyleGAN2 generator; None if it is not."""
    if isinstance(obj, dict) and is_state_dict(obj.get("g_ema")) and all(k in obj["g_ema"] for k in ROSI_MARKERS):
        return convert_rosinality(obj, official_kwargs)
    if is_state_dict(obj):
        sd = strip_prefix(obj, "module.")
        if all(k in sd for k in NVIDIA_MARKERS):
            return convert_nvidia(sd, official_kwargs)
    return None
