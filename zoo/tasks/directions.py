"""Latent directions of a StyleGAN2 generator: the unlabelled ones it implies, and named ones from files.

Two unsupervised methods, each computed once per model (seeded, deterministic) and cached:

* ``sefa``, closed-form factorisation (Shen & Zhou, CVPR 2021): the style affine weights of every
  synthesis layer, stacked as the columns of a ``[w_dim, n]`` matrix and each column normalised,
  give ``A Aᵀ``; its eigenvectors, by decreasing eigenvalue, are the directions in W that move the
  styles most. Unit vectors; ``scale`` is 1.
* ``ganspace``, PCA of sampled W (Härkönen et al., NeurIPS 2020): ``GANSPACE_SAMPLES`` seeded
  z through the mapping network (no truncation), centred, principal axes by decreasing variance.
  Unit vectors; ``scale`` is each component's standard deviation, so amount 1 is one std.

Named directions come from InterFaceGAN's format: one ``.npy`` per direction, a ``[1, w_dim]`` (or
``[w_dim]``) float array, read with ``allow_pickle=False``; the file stem is the name.

Applying: ``ws[:, first:last] += amount * scale * vector`` for each edit, on the W+ layers given
(all by default). The cache is ``$ZOO_CACHE/directions/<weights sha256[:16]>/<method>-<k>.safetensors``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import torch

from ..errors import ZooError

METHODS = ("sefa", "ganspace")
GANSPACE_SAMPLES = 10_000
GANSPACE_SEED = 0
MAX_DIRECTIONS = 64
MAX_AMOUNT = 20.0


@dataclass(frozen=True)
class LatentDirection:
    """A direction in W: ``vector`` ``[w_dim]`` (unit length), ``scale`` (what amount 1 moves), and its name."""

    name: str
    vector: torch.Tensor
    scale: float = 1.0
    method: str = ""


def sefa(net: torch.nn.Module, k: int) -> list[LatentDirection]:
    """The top ``k`` SeFa directions of ``net`` (eigenvectors of the normalised style weights' A Aᵀ)."""
    weights = [m.affine.weight.detach().float() for m in net.synthesis.modules() if hasattr(m, "affine")]
    a = torch.cat(weights, dim=0).t().double()  # [w_dim, n]: one column per style channel
    a = a / a.norm(dim=0, keepdim=True).clamp_min(1e-12)
    values, vectors = torch.linalg.eigh(a @ a.t())
    order = torch.argsort(values, descending=True)[:k]
    return [LatentDirection(f"sefa{i}", vectors[:, j].float().contiguous(), 1.0, "sefa") for i, j in enumerate(order.tolist())]


def ganspace(net: torch.nn.Module, k: int, *, samples: int = GANSPACE_SAMPLES, seed: int = GANSPACE_SEED,
             class_index: int | None = None) -> list[LatentDirection]:
    """The top ``k`` principal axes of W over ``samples`` seeded draws, scaled by their standard deviation."""
    gen = torch.Generator().manual_seed(seed)  # on the CPU: the same draws on every device
    device = net.w_avg.device
    z = torch.randn(samples, net.z_dim, generator=gen).to(device)
    c = None
    if net.c_dim:
        c = torch.zeros(samples, net.c_dim, device=device)
        c[:, class_index or 0] = 1
    with torch.inference_mode():
        w = torch.cat([net.mapping(z[i : i + 1000], None if c is None else c[i : i + 1000])[:, 0] for i in range(0, samples, 1000)])
    w = w.cpu().double() - w.cpu().double().mean(0)
    _, s, vh = torch.linalg.svd(w, full_matrices=False)
    std = s / (samples - 1) ** 0.5
    return [LatentDirection(f"ganspace{i}", vh[i].float().contiguous(), float(std[i].float()), "ganspace") for i in range(min(k, vh.shape[0]))]


def cache_path(weights_sha256: str, method: str, k: int) -> Path:
    from ..cache import cache_root

    return cache_root() / "directions" / weights_sha256[:16] / f"{method}-{k}.safetensors"


def computed(net: torch.nn.Module, method: str, k: int, weights_sha256: str | None) -> list[LatentDirection]:
    """``method``'s top ``k`` directions, from the cache when the weights' digest is known."""
    from safetensors.torch import load_file, save_file

    if method not in METHODS:
        raise ZooError(f"unknown direction method {method!r}; use {' or '.join(METHODS)}")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_DIRECTIONS:
        raise ZooError(f"the number of directions must be 1..{MAX_DIRECTIONS}, not {k!r}")
    path = cache_path(weights_sha256, method, k) if weights_sha256 else None
    if path is not None and path.is_file():
        try:
            data = load_file(str(path))
            return [LatentDirection(f"{method}{i}", data["vectors"][i], float(data["scales"][i]), method) for i in range(k)]
        except Exception:  # noqa: BLE001  (a damaged cache file is recomputed)
            path.unlink(missing_ok=True)
    found = sefa(net, k) if method == "sefa" else ganspace(net, k)
    if path is not None:
        from ..atomic import replace_file

        with replace_file(path) as tmp:
            save_file({"vectors": torch.stack([d.vector for d in found]), "scales": torch.tensor([d.scale for d in found])}, str(tmp))
    return found


def from_npy(paths: Iterable[str | Path], w_dim: int) -> list[LatentDirection]:
    """Named directions from InterFaceGAN-style ``.npy`` files (``[1, w_dim]`` or ``[w_dim]``), made unit length."""
    out = []
    for path in map(Path, paths):
        try:
            arr = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ZooError(f"{path.name} is not a readable .npy direction ({' '.join(str(exc).split())[:120]})") from None
        arr = np.asarray(arr, dtype=np.float64).reshape(-1) if arr.dtype.kind in "fiu" else None
        if arr is None or arr.shape != (w_dim,) or not np.isfinite(arr).all() or not np.any(arr):
            raise ZooError(f"{path.name} is not a direction for this model: expected {w_dim} finite numbers, not all zero")
        vector = torch.from_numpy(arr / np.linalg.norm(arr)).float()
        out.append(LatentDirection(path.stem, vector, 1.0, "file"))
    return out


def apply(ws: torch.Tensor, edits: list[tuple[LatentDirection, float]], layers: tuple[int, int] | None = None) -> torch.Tensor:
    """``ws`` [N, num_ws, w_dim] moved by each ``(direction, amount)`` on W+ layers ``layers`` = (first, last)."""
    num_ws = ws.shape[1]
    first, last = layers if layers is not None else (0, num_ws)
    if not (isinstance(first, int) and isinstance(last, int) and 0 <= first < last <= num_ws):
        raise ZooError(f"the edited layers must be a range within 0..{num_ws}, not {layers!r}")
    out = ws.clone()
    for direction, amount in edits:
        amount = float(amount)
        if not -MAX_AMOUNT <= amount <= MAX_AMOUNT:
            raise ZooError(f"edit amounts must be in -{MAX_AMOUNT:g}..{MAX_AMOUNT:g}, not {amount:g} ({direction.name})")
        if direction.vector.shape != (ws.shape[2],):
            raise ZooError(f"direction {direction.name} has {direction.vector.numel()} dimensions; this model's W has {ws.shape[2]}")
        out[:, first:last] += amount * direction.scale * direction.vector.to(out.dtype)
    return out
