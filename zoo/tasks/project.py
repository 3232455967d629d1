"""Projecting a real photo into a StyleGAN2 generator's W (or W+), with the official schedule.

The schedule is stylegan2-ada-pytorch's ``projector.py``: the start is the mean W of 10,000 seeded
samples (``RandomState(123)``, as there) and W's spread ``w_std``; Adam (betas 0.9, 0.999) on the
latent and on every noise map, learning rate 0.1 with a 5 % linear ramp-up and a cosine ramp-down
over the last 25 %; Gaussian noise of std ``w_std * 0.05 * max(0, 1 - t / 0.75)^2`` added to W at
step fraction t; the multiscale noise auto-correlation regulariser, weight 1e5; the noise maps
renormalised to zero mean and unit variance after every step. The generator is not changed: the
noise maps are the projection's own tensors, given to ``synthesis(noise=...)``.

The official distance is LPIPS-VGG (the VGG16 its script downloads from NVIDIA). The distances
here (``distance=``), and the result says which one ran:

* ``"lpips"``: LPIPS-VGG (``zoo.load("lpips-vgg16")``, a ``zoo.tasks.measure.PerceptualDistance``,
  the ``LPIPSVGG16`` network itself, or any callable ``(x, y) -> [N]``), given as ``perceptual``:
  the official distance, when torchvision's VGG16 weights have been imported. The target's trunk
  activations are computed once (``to_target``), as the official projector computes its target
  features once.
* ``"discriminator"``: the squared differences of the model's own discriminator's block features
  (each block's mean over channels and pixels), plus the pixel MSE; needs a discriminator.
* ``"mse"``: pixel mean squared error of the [-1, 1] images (at most 256 px, area-resized as
  the official script resizes its images for VGG).
* ``"auto"``: "lpips" when a perceptual distance is given, else "discriminator" when a
  discriminator is, else "mse".
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch.nn import functional as F

from ..errors import ZooError

W_AVG_SAMPLES = 10_000
W_AVG_SEED = 123
LR = 0.1
LR_RAMPUP = 0.05
LR_RAMPDOWN = 0.25
NOISE_FACTOR = 0.05
NOISE_RAMP = 0.75
NOISE_REG_WEIGHT = 1e5
COMPARE_SIDE = 256
DISTANCES = ("auto", "lpips", "discriminator", "mse")
SPACES = ("w", "w+")
MAX_STEPS = 10_000


@dataclass
class Projection:
    """What a projection found: ``ws`` ``[1, num_ws, w_dim]`` (edit it with the same sliders), the
    noise maps, the distance that ran, its value per step and the seconds per step."""

    ws: torch.Tensor
    noise: list[torch.Tensor]
    distance: str
    losses: list[float] = field(default_factory=list)
    seconds_per_step: float = 0.0


def learning_rate(t: float) -> float:
    """The official schedule at step fraction ``t`` in [0, 1)."""
    ramp = min(1.0, (1.0 - t) / LR_RAMPDOWN)
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    return LR * ramp * min(1.0, t / LR_RAMPUP)


def noise_regulariser(noises: list[torch.Tensor]) -> torch.Tensor:
    """Sum over maps and scales (down to 8 px) of squared auto-correlations at shift 1."""
    reg = noises[0].new_zeros(())
    for v in noises:
        n = v[None, None]
        while True:
            reg = reg + (n * torch.roll(n, shifts=1, dims=3)).mean() ** 2 + (n * torch.roll(n, shifts=1, dims=2)).mean() ** 2
            if n.shape[2] <= 8:
                break
            n = F.avg_pool2d(n, kernel_size=2)
    return reg


def choose_distance(distance: str, have_discriminator: bool, have_perceptual: bool) -> str:
    """The distance that runs for ``distance`` ("auto": the best one available)."""
    if distance != "auto":
        return distance
    return "lpips" if have_perceptual else "discriminator" if have_discriminator else "mse"


def _compare_size(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, size=(COMPARE_SIDE, COMPARE_SIDE), mode="area") if x.shape[2] > COMPARE_SIDE else x


def project(net: torch.nn.Module, target: torch.Tensor, *, steps: int = 1000, space: str = "w", distance: str = "auto",
            discriminator: torch.nn.Module | None = None, perceptual: Callable | None = None, seed: int = 0,
            progress: Callable[[int, int, float], None] | None = None) -> Projection:
    """Project ``target`` ``[1, C, R, R]`` in [-1, 1] (the generator's size) into ``net``'s W or W+."""
    if space not in SPACES:
        raise ZooError(f"space must be 'w' or 'w+', not {space!r}")
    if distance not in DISTANCES:
        raise ZooError(f"distance must be one of {', '.join(DISTANCES)}, not {distance!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise ZooError(f"steps must be 1..{MAX_STEPS}, not {steps!r}")
    if distance == "discriminator" and discriminator is None:
        raise ZooError("the discriminator distance needs the model's discriminator (its NVIDIA .pkl holds it)")
    if distance == "lpips" and perceptual is None:
        raise ZooError("the lpips distance needs torchvision's VGG16 weights: see `zoo info lpips-vgg16`")
    used = choose_distance(distance, discriminator is not None, perceptual is not None)
    res = net.img_resolution
    if target.shape != (1, net.img_channels, res, res):
        raise ZooError(f"the target must be [1, {net.img_channels}, {res}, {res}], not {list(target.shape)}")
    gen = torch.Generator().manual_seed(seed)  # on the CPU: the same draws on every device
    device = net.w_avg.device
    target = target.to(device)
    with torch.no_grad():
        z = torch.from_numpy(np.random.RandomState(W_AVG_SEED).randn(W_AVG_SAMPLES, net.z_dim)).float().to(device)
        c = torch.zeros(W_AVG_SAMPLES, net.c_dim, device=device) if net.c_dim else None
        if c is not None:
            c[:, 0] = 1
        w = torch.cat([net.mapping(z[i : i + 1000], None if c is None else c[i : i + 1000])[:, :1] for i in range(0, W_AVG_SAMPLES, 1000)])
        w_avg = w.mean(0, keepdim=True)  # [1, 1, C]
        w_std = float(((w - w_avg).square().sum() / W_AVG_SAMPLES) ** 0.5)
        target_small = _compare_size(target.float())
        target_feats = discriminator.features(target.float())[0] if used == "discriminator" else []
    if used == "lpips":  # the target's side of the distance is computed once
        to_target = perceptual.to_target(target.float()) if hasattr(perceptual, "to_target") else \
            (lambda x: perceptual(x, target.float()))
    layers = [m for m in net.synthesis.conv_layers() if m.use_noise]
    noises = [torch.randn(m.noise_const.shape, generator=gen).to(device).requires_grad_(True) for m in layers]
    if discriminator is not None:
        discriminator.requires_grad_(False)  # only the latent and the noise maps are optimised
    w_opt = (w_avg.repeat(1, net.num_ws, 1) if space == "w+" else w_avg).clone().requires_grad_(True)
    optimizer = torch.optim.Adam([w_opt, *noises], betas=(0.9, 0.999), lr=LR)
    losses: list[float] = []
    start = time.perf_counter()
    for step in range(steps):
        t = step / steps
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(t)
        w_noise = torch.randn(w_opt.shape, generator=gen).to(device) * w_std * NOISE_FACTOR * max(0.0, 1.0 - t / NOISE_RAMP) ** 2
        ws = w_opt + w_noise
        ws = ws.repeat(1, net.num_ws, 1) if space == "w" else ws
        img = net.synthesis(ws, noise=noises or None)
        if used == "lpips":
            dist = to_target(img).sum()
        else:
            dist = (_compare_size(img) - target_small).square().mean()
        if used == "discriminator":
            dist = dist + sum((a - b).square().mean() for a, b in zip(discriminator.features(img)[0], target_feats))
        loss = dist + noise_regulariser(noises) * NOISE_REG_WEIGHT if noises else dist
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            for n in noises:
                n -= n.mean()
                n *= n.square().mean().rsqrt()
        losses.append(float(dist.detach()))
        if progress is not None:
            progress(step + 1, steps, losses[-1])
    seconds = (time.perf_counter() - start) / steps
    ws = w_opt.detach().repeat(1, net.num_ws, 1) if space == "w" else w_opt.detach().clone()
    return Projection(ws=ws.cpu(), noise=[n.detach().cpu().clone() for n in noises], distance=used, losses=losses, seconds_per_step=seconds)
