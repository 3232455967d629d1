"""Readers for DeepFill v2 checkpoints of nipponjo/deepfillv2-pytorch (``{'G': ..., 'D': ...}``).

Layouts (tests/fixtures/parity/deepfill/README.md has the facts), told apart by the keys, as the
port's test.py does:

* ``tf`` (``states_tf_places2.pth``, ``states_tf_celebahq.pth``: the official TensorFlow weights
  converted): flat layer names, already ``zoo.archs.deepfill``'s keys.
* ``pt`` (``states_pt_*.pth``, the port's own fine-tuning): ``stage1.*`` / ``stage2.*`` names,
  renamed by the table below; the constant buffer ``stage2.contextual_attention.fuse_weight``
  (the 3x3 identity) is checked when present and not stored (the network builds it). The files
  may also carry ``G_optim``, ``D_optim`` and ``n_iter`` (training state): not read, and noted.

The generator is what is converted; the SN-PatchGAN discriminator ``D`` comes along as the
``"discriminator"`` companion (training uses it). A bare generator state dict of either layout
loads too. ``cnum`` is read from the shapes (``conv1`` has 2 * (cnum // 2) outputs).
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import CheckpointError
from .base import Converted, rename_keys
from .checkpoint import is_state_dict

FAMILY = "deepfill"
ARCH, D_ARCH = "deepfillv2", "deepfillv2_d"
TRAINING_KEYS = ("G_optim", "D_optim", "n_iter")
FUSE_KEY = "stage2.contextual_attention.fuse_weight"

# pt layer prefix -> tf layer name (the same parameters, in the same order)
PT_TO_TF = {
    "stage1.conv1": "conv1", "stage1.down_block1.conv1_downsample": "conv2_downsample", "stage1.down_block1.conv2": "conv3",
    "stage1.down_block2.conv1_downsample": "conv4_downsample", "stage1.down_block2.conv2": "conv5",
    "stage1.conv_bn1": "conv6", "stage1.conv_bn2": "conv7_atrous", "stage1.conv_bn3": "conv8_atrous",
    "stage1.conv_bn4": "conv9_atrous", "stage1.conv_bn5": "conv10_atrous", "stage1.conv_bn6": "conv11", "stage1.conv_bn7": "conv12",
    "stage1.up_block1.conv1_upsample": "conv13_upsample", "stage1.up_block1.conv2": "conv14",
    "stage1.up_block2.conv1_upsample": "conv15_upsample", "stage1.up_block2.conv2": "conv16", "stage1.conv_to_rgb": "conv17",
    "stage2.conv_conv1": "xconv1", "stage2.conv_down_block1.conv1_downsample": "xconv2_downsample",
    "stage2.conv_down_block1.conv2": "xconv3", "stage2.conv_down_block2.conv1_downsample": "xconv4_downsample",
    "stage2.conv_down_block2.conv2": "xconv5", "stage2.conv_conv_bn1": "xconv6", "stage2.conv_conv_bn2": "xconv7_atrous",
    "stage2.conv_conv_bn3": "xconv8_atrous", "stage2.conv_conv_bn4": "xconv9_atrous", "stage2.conv_conv_bn5": "xconv10_atrous",
    "stage2.ca_conv1": "pmconv1", "stage2.ca_down_block1.conv1_downsample": "pmconv2_downsample",
    "stage2.ca_down_block1.conv2": "pmconv3", "stage2.ca_down_block2.conv1_downsample": "pmconv4_downsample",
    "stage2.ca_down_block2.conv2": "pmconv5", "stage2.ca_conv_bn1": "pmconv6", "stage2.ca_conv_bn4": "pmconv9",
    "stage2.ca_conv_bn5": "pmconv10", "stage2.conv_bn6": "allconv11", "stage2.conv_bn7": "allconv12",
    "stage2.up_block1.conv1_upsample": "allconv13_upsample", "stage2.up_block1.conv2": "allconv14",
    "stage2.up_block2.conv1_upsample": "allconv15_upsample", "stage2.up_block2.conv2": "allconv16", "stage2.conv_to_rgb": "allconv17",
}
PT_RULES = [(re.escape(pt) + r"\.(.+)", tf + r".\1") for pt, tf in PT_TO_TF.items()]
TF_MARKER, PT_MARKER = "conv1.conv.weight", "stage1.conv1.conv.weight"
D_MARKER = "conv1.conv_sn.weight"


def _layout_of(g: dict[str, Any]) -> str | None:
    return "pt" if PT_MARKER in g else "tf" if TF_MARKER in g and "xconv1.conv.weight" in g else None


def _cnum(g: dict[str, Any]) -> int:
    out = int(g["conv1.conv.weight"].shape[0])  # 2 * (cnum // 2): gated
    cnum = 4 * int(g["conv16.conv.weight"].shape[0]) // 2  # conv16 has 2 * (cnum // 4) outputs
    if out != 2 * (cnum // 2):
        raise CheckpointError(f"deepfill: conv1 has {out} outputs, which does not fit cnum {cnum} read from conv16")
    return cnum


def convert_generator(g: dict[str, Any], notes: list[str]) -> tuple[Converted, str]:
    layout = _layout_of(g)
    if layout is None:
        raise CheckpointError("deepfill: the generator state dict is neither the tf nor the pt layout")
    sd = dict(g)
    if layout == "pt":
        fuse = sd.pop(FUSE_KEY, None)
        if fuse is None:
            notes.append("no fuse_weight buffer in the file: the constant 3x3 identity is built by the network")
        else:
            import torch

            if tuple(fuse.shape) != (1, 1, 3, 3) or (not fuse.is_meta and not torch.equal(fuse.float().reshape(3, 3), torch.eye(3))):
                raise CheckpointError("deepfill pt: stage2.contextual_attention.fuse_weight is not the 3x3 identity")
        sd = rename_keys(sd, PT_RULES, "deepfill pt")
    cnum = _cnum(sd)
    cnum_in = int(sd["conv1.conv.weight"].shape[1])
    return Converted(FAMILY, ARCH, {"cnum": cnum, "cnum_in": cnum_in, "layout": layout}, sd, f"nipponjo-{layout}", notes), layout


def convert_discriminator(d: dict[str, Any], layout: str) -> Converted:
    if D_MARKER not in d:
        raise CheckpointError("deepfill: D is not an SN-PatchGAN state dict")
    kwargs = {"cnum": int(d[D_MARKER].shape[0]), "cnum_in": int(d[D_MARKER].shape[1]), "layout": layout}
    converted = Converted(FAMILY, D_ARCH, kwargs, dict(d), f"nipponjo-{layout}", [])
    converted.wrapper = "D"
    return converted


def convert(obj: Any, official_kwargs: dict[str, Any] | None = None) -> Converted | None:
    """``{'G', 'D'[, training state]}`` or a bare generator state dict -> DeepFill v2 (None: not this family)."""
    if isinstance(obj, dict) and is_state_dict(obj.get("G")) and _layout_of(obj["G"]) is not None:
        unknown = sorted(set(map(str, obj)) - {"G", "D", *TRAINING_KEYS})
        if unknown:
            raise CheckpointError(f"deepfill checkpoint with unexpected top-level keys {unknown}")
        notes: list[str] = []
        held = [k for k in TRAINING_KEYS if k in obj]
        if held:
            notes.append(f"training state ({', '.join(held)}) in the file was not read")
        converted, layout = convert_generator(obj["G"], notes)
        converted.wrapper = "G"
        if is_state_dict(obj.get("D")):
            from . import check_keys

            d = convert_discriminator(obj["D"], layout)
            check_keys(d, "deepfill D")
            converted.companions["discriminator"] = d
            notes.append("D (SN-PatchGAN) was kept beside G as the discriminator (training uses it)")
    elif is_state_dict(obj) and _layout_of(obj) is not None:
        converted, _ = convert_generator(obj, [])
    else:
        return None
    if official_kwargs:
        raise CheckpointError("deepfill checkpoints take no constructor arguments: cnum and the layout come from the keys")
    return converted
