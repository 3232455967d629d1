"""Network interpolation: blend the weights of two models of the same architecture.

ESRGAN's signature control (Wang et al. 2018, section 3.4): interpolating a PSNR-oriented and
a GAN-trained network trades fidelity for texture; Real-ESRGAN uses the same blend between
realesr-general-x4v3 and its weak-denoise twin as a "denoise strength".
"""

from __future__ import annotations

from typing import Mapping

import torch

from .errors import WrongFamilyError


def blend_state_dicts(
    a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor], alpha: float, *, names: tuple[str, str] = ("a", "b")
) -> dict[str, torch.Tensor]:
    """``(1 - alpha) * a + alpha * b`` for every floating tensor; other tensors must be equal.

    Both dicts must have the same keys and shapes; otherwise ``WrongFamilyError`` (the models
    are not interpolation-compatible).
    """
    if list(a) != list(b):
        raise WrongFamilyError(f"cannot interpolate {names[0]} and {names[1]}: different layers")
    out: dict[str, torch.Tensor] = {}
    for key, ta in a.items():
        tb = b[key]
        if ta.shape != tb.shape:
            raise WrongFamilyError(f"cannot interpolate {names[0]} and {names[1]}: {key} has shapes {list(ta.shape)} and {list(tb.shape)}")
        if ta.is_floating_point():
            out[key] = torch.lerp(ta, tb.to(ta.dtype), float(alpha))
        else:
            out[key] = ta.clone()
    return out
