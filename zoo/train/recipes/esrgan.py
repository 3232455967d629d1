"""ESRGAN / Real-ESRGAN fine-tuning: L1 first (the PSNR-oriented stage), then GAN + L1.

* Generator: a registry model or converted folder to start from (``--set init=realesrgan-x4plus``,
  its architecture and weights), or a new ``zoo.archs.esrgan`` network (``arch`` rrdbnet / srvgg
  with ``num_feat`` / ``num_block``), value range [0, 1] as the family's descriptor says.
* Pairs are made on the fly from high-resolution crops by a first-order degradation in the spirit
  of Real-ESRGAN (one pass, not its second-order pipeline): Gaussian blur σ 0.2..2, bicubic
  (antialiased) down-scaling by the model's scale, Gaussian noise σ 0..``noise`` levels, JPEG at
  quality 40..95; every draw from the sample's seeded generator.
* Losses: L1 for the first ``l1_steps``; then L1 + ``gan_weight``·vanilla GAN (Real-ESRGAN's 0.1)
  with a spectral-free PatchGAN (``zoo.archs.pix2pix`` ``nlayer_d``, no norm layers) instead of
  Real-ESRGAN's U-Net discriminator, which gan-zoo does not ship.
* Perceptual term: off by default. Real-ESRGAN's VGG19 term needs torchvision's VGG weights, which
  cannot be downloaded offline; where ``lpips-vgg16`` has been imported (``zoo import``),
  ``--set perceptual_weight=1`` adds its LPIPS distance instead.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from ...errors import ZooError
from ..data import Crops, SingleImages, step_generator
from ..recipe import Recipe, TrainOptions, adam, requires_grad
from .pix2pix import init_normal


@dataclass
class ESRGANOptions(TrainOptions):
    init: str = ""  # registry name or converted folder to fine-tune (empty: a new network)
    arch: str = "srvgg"
    scale: int = 4
    num_feat: int = 32
    num_block: int = 8  # rrdbnet: RRDB blocks; srvgg: conv layers
    l1_steps: int = 0  # L1-only steps before the GAN term starts (0: half the steps)
    gan_weight: float = 0.1
    perceptual_weight: float = 0.0
    noise: float = 10.0
    lr: float = 1e-4
    size: int = 128  # high-resolution crop side


class ESRGAN(Recipe):
    name = "esrgan"
    family = "esrgan"
    task = "upscale"
    Options = ESRGANOptions
    summary = "L1, then L1 + GAN with a PatchGAN, on pairs made by a seeded degradation"

    def __init__(self, options: ESRGANOptions, procs=None) -> None:
        super().__init__(options, procs)
        from ...archs import build

        o = options
        with torch.random.fork_rng():
            torch.manual_seed(o.seed)
            if o.init:
                import zoo

                start = zoo.load(o.init)
                if start.folder_config.get("family") != self.family:
                    raise ZooError(f"{o.init} is a {start.folder_config.get('family')} model, not an ESRGAN one")
                self.arch, self.g_kwargs = start.folder_config["arch"], dict(start.folder_config["arch_kwargs"])
                G = build(self.arch, self.g_kwargs)
                G.load_state_dict(start.net.state_dict())
            else:
                self.arch = o.arch
                if o.arch == "rrdbnet":
                    self.g_kwargs = {"num_feat": o.num_feat, "num_block": o.num_block, "num_grow_ch": max(8, o.num_feat // 2), "scale": o.scale}
                elif o.arch == "srvgg":
                    self.g_kwargs = {"num_feat": o.num_feat, "num_conv": o.num_block, "upscale": o.scale, "act_type": "prelu"}
                else:
                    raise ZooError(f"arch must be rrdbnet or srvgg, not {o.arch!r}")
                G = build(self.arch, self.g_kwargs)
            D = init_normal(build("nlayer_d", {"input_nc": 3, "ndf": 64, "n_layers": 3, "norm": "none"}))
        self.scale = int(getattr(G, "scale", o.scale))
        self.nets = {"G": G.to(self.device).train(), "D": D.to(self.device).train()}
        self.optims = {"G": adam(self.nets["G"], o.lr, (0.9, 0.99)), "D": adam(self.nets["D"], o.lr, (0.9, 0.99))}
        self.lpips = None
        if o.perceptual_weight > 0:
            from ...loading import load_companion

            self.lpips = load_companion({}, "lpips", device=str(self.device))
            if self.lpips is None:
                raise ZooError("perceptual_weight > 0 needs lpips-vgg16 imported (see `zoo info lpips-vgg16`)")

    def validate(self) -> None:
        super().validate()
        if self.options.size % 16:
            raise ZooError(f"the crop size must be a multiple of 16, not {self.options.size}")

    def build_data(self):
        from ..datasets import image_set

        o = self.options
        return _Degraded(SingleImages(image_set(o.data, load_side=o.load_side or None), Crops(o.size)), self.scale, o.noise)

    def step(self, batch: Any, step: int) -> dict[str, float]:
        o = self.options
        lr_img, hr = batch
        G, D = self.nets["G"], self.nets["D"]
        sr = G(lr_img)
        loss_l1 = F.l1_loss(sr, hr)
        losses = {"L1": loss_l1.item()}
        gan_from = o.l1_steps or o.steps // 2
        loss_g = loss_l1
        if self.lpips is not None:
            loss_p = self.lpips.distance(sr * 2 - 1, hr * 2 - 1).mean()
            loss_g = loss_g + o.perceptual_weight * loss_p
            losses["LPIPS"] = loss_p.item()
        if step >= gan_from:
            requires_grad(D, False)
            pred = D(sr * 2 - 1)
            loss_gan = F.binary_cross_entropy_with_logits(pred, torch.ones_like(pred))
            loss_g = loss_g + o.gan_weight * loss_gan
            losses["G_gan"] = loss_gan.item()
        self.optimise(loss_g, G, self.optims["G"])
        if step >= gan_from:
            requires_grad(D, True)
            pred_real, pred_fake = D(hr * 2 - 1), D(sr.detach() * 2 - 1)
            loss_d = (F.binary_cross_entropy_with_logits(pred_real, torch.ones_like(pred_real))
                      + F.binary_cross_entropy_with_logits(pred_fake, torch.zeros_like(pred_fake)))
            self.optimise(loss_d, D, self.optims["D"])
            losses["D"] = loss_d.item()
        return losses

    def sample_images(self, batch: Any) -> torch.Tensor:
        lr_img, hr = batch
        up = F.interpolate(lr_img, size=hr.shape[2:], mode="nearest")
        return torch.cat([up, self.nets["G"](lr_img).clamp(0, 1), hr], 0) * 2 - 1

    def export(self) -> dict[str, Any]:
        return {"": self.converted(self.nets["G"], self.arch, self.g_kwargs)}

    def card_notes(self) -> list[str]:
        o = self.options
        start = f"fine-tuned from {o.init}" if o.init else f"a new {self.arch} network"
        return [f"Generator: {start}. L1 for the first {o.l1_steps or o.steps // 2} steps, then L1 + {o.gan_weight:g}·GAN "
                "(PatchGAN D); pairs from a seeded first-order degradation (blur, bicubic down, noise, JPEG).",
                "Perceptual term: " + (f"LPIPS-VGG ×{o.perceptual_weight:g}" if o.perceptual_weight > 0 else
                                       "none (VGG weights are not available offline)") + "."]


class _Degraded:
    """HR crops in [0, 1] and their seeded degradations: ``batch -> (LR, HR)``."""

    def __init__(self, images: SingleImages, scale: int, noise: float) -> None:
        self.images, self.scale, self.noise = images, scale, noise

    def describe(self) -> str:
        return self.images.describe()

    def batch(self, seed: int, step: int, slots) -> tuple[torch.Tensor, torch.Tensor]:
        from PIL import Image
        from torchvision.transforms.functional import gaussian_blur

        hr = (self.images.batch(seed, step, slots) + 1) / 2
        out = []
        for x, s in zip(hr, slots):
            gen = step_generator(seed, step, s, "degrade")
            sigma = 0.2 + 1.8 * float(torch.rand((), generator=gen))
            y = gaussian_blur(x[None], kernel_size=2 * int(3 * sigma) + 1, sigma=sigma)
            y = F.interpolate(y, scale_factor=1 / self.scale, mode="bicubic", antialias=True, align_corners=False)
            y = y + torch.randn(y.shape, generator=gen) * (float(torch.rand((), generator=gen)) * self.noise / 255)
            q = int(torch.randint(40, 96, (1,), generator=gen))
            arr = (y[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
            buf = io.BytesIO()
            Image.fromarray(arr).save(buf, format="JPEG", quality=q)
            jpeg = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
            out.append(torch.from_numpy(jpeg.copy()).permute(2, 0, 1).float() / 255)
        return torch.stack(out), hr


RECIPE = ESRGAN
