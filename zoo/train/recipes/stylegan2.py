"""StyleGAN2 (Karras et al., CVPR 2020) as NVlabs/stylegan2-ada-pytorch trains it (without ADA).

* Losses (``training/loss.py`` ``StyleGAN2Loss``): non-saturating logistic, G: softplus(-D(G(z))),
  D: softplus(D(G(z))) + softplus(-D(x)); lazy R1 every ``r1_every`` steps, (γ/2)·|∇ₓD(x)|² scaled by
  the interval; optional lazy path-length regularisation (``pl_weight`` > 0, every ``pl_every``).
* Style mixing regularisation: with probability ``mixing``, the ws from one cutoff on come from a
  second z (one cutoff per step, as upstream draws it).
* ``w_avg`` tracked during training (β 0.995), the EMA generator with a half-life of ``ema_kimg``
  thousand images and upstream's ramp-up (``ema_rampup`` 0.05), Adam betas (0, 0.99), the lazy
  regularisation's lr and beta correction (``mb_ratio = k / (k + 1)``).
* Networks: ``zoo.archs.stylegan2`` ``Generator`` (skip) and ``Discriminator`` (resnet), with their
  official initialisation; the export is the EMA generator with D as its "discriminator" companion
  (what projection uses).

Gray data (Fashion-MNIST's 28x28 IDX files) is padded to the next power of two with the background
value (-1). Each sample's z comes from its slot's generator (``data.step_generator``), so several
processes draw what one would; per-layer noise inputs are drawn per process.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import torch
from torch.nn import functional as F

from ...errors import ZooError
from ..data import Crops, SingleImages, step_generator
from ..datasets import is_idx
from ..recipe import Recipe, TrainOptions, ema_update, requires_grad


@dataclass
class StyleGAN2Options(TrainOptions):
    resolution: int = 32
    channels: int = 0  # 0: 1 for gray data (IDX files), else 3
    z_dim: int = 128
    w_dim: int = 128
    mapping_layers: int = 4
    width: int = 128  # feature maps at every resolution up to ``width_from``; halved per octave above it
    width_from: int = 16
    lr: float = 0.0025
    r1_gamma: float = 0.05
    r1_every: int = 16
    pl_weight: float = 0.0
    pl_every: int = 4
    mixing: float = 0.9
    ema_kimg: float = 2.5
    ema_rampup: float = 0.05
    flip: bool = False
    batch: int = 32
    size: int = 32


class StyleGAN2(Recipe):
    name = "stylegan2"
    family = "stylegan2"
    task = "generate"
    Options = StyleGAN2Options
    summary = "non-saturating logistic loss, lazy R1, style mixing, EMA generator"

    def __init__(self, options: StyleGAN2Options, procs=None) -> None:
        super().__init__(options, procs)
        from ...archs import build

        o = options
        self.img_channels = o.channels or (1 if is_idx(o.data) else 3)
        res = [2**i for i in range(2, int(math.log2(o.resolution)) + 1)]
        widths = [o.width if r <= o.width_from else max(8, o.width * o.width_from // r) for r in res]
        self.g_kwargs = {"z_dim": o.z_dim, "w_dim": o.w_dim, "img_resolution": o.resolution, "img_channels": self.img_channels,
                         "channels": widths, "mapping_layers": o.mapping_layers, "architecture": "skip"}
        self.d_kwargs = {"img_resolution": o.resolution, "img_channels": self.img_channels, "channels": widths,
                         "architecture": "resnet", "mbstd_group_size": min(4, o.batch // self.procs.world)}
        with torch.random.fork_rng():
            torch.manual_seed(o.seed)
            G, D = build("stylegan2", self.g_kwargs), build("stylegan2_d", self.d_kwargs)
        G_ema = copy.deepcopy(G).eval()
        requires_grad(G_ema, False)
        self.nets = {"G": G.to(self.device).train(), "D": D.to(self.device).train(), "G_ema": G_ema.to(self.device)}
        self.pl_mean = torch.zeros([], device=self.device)
        ratios = {"G": o.pl_every / (o.pl_every + 1) if o.pl_weight > 0 else 1.0, "D": o.r1_every / (o.r1_every + 1)}
        self.optims = {k: torch.optim.Adam(self.nets[k].parameters(), lr=o.lr * r, betas=(0.0, 0.99**r), eps=1e-8)
                       for k, r in ratios.items()}

    def validate(self) -> None:
        super().validate()
        o = self.options
        if o.resolution < 4 or o.resolution & (o.resolution - 1):
            raise ZooError(f"resolution must be a power of two >= 4, not {o.resolution}")

    def build_data(self):
        from ..datasets import image_set

        o = self.options
        images = image_set(o.data, channels=self.img_channels, load_side=o.load_side or None)
        h, w = images.images[0].shape[:2]
        crop = None if h <= o.resolution and w <= o.resolution else o.resolution
        return SingleImages(images, Crops(crop, flip=o.flip))

    def to_device(self, batch: Any) -> Any:
        x = batch.to(self.device)
        r = self.options.resolution
        ph, pw = r - x.shape[2], r - x.shape[3]
        if ph or pw:  # pad smaller images (Fashion-MNIST's 28 px) with the background value
            x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), value=-1.0)
        return x

    def _z(self, step: int, stream: str, n: int | None = None) -> torch.Tensor:
        slots = self.procs.slots(self.options.batch) if n is None else range(n)
        return torch.stack([torch.randn(self.options.z_dim, generator=step_generator(self.options.seed, step, s, stream))
                            for s in slots]).to(self.device)

    def _ws(self, step: int, stream: str, update_avg: bool) -> torch.Tensor:
        o = self.options
        G = self.nets["G"]
        ws = G.mapping(self._z(step, stream), None)
        if update_avg:
            with torch.no_grad():
                G.mapping.w_avg.copy_(ws[:, 0].mean(0).lerp(G.mapping.w_avg, 0.995))
        if o.mixing > 0:
            gen = step_generator(o.seed, step, -1, f"{stream}-mix")
            if float(torch.rand((), generator=gen)) < o.mixing:
                cutoff = int(torch.randint(1, ws.shape[1], (1,), generator=gen))
                ws2 = G.mapping(self._z(step, stream + "-2"), None)
                ws = torch.cat([ws[:, :cutoff], ws2[:, cutoff:]], 1)
        return ws

    def step(self, batch: torch.Tensor, step: int) -> dict[str, float]:
        o = self.options
        G, D = self.nets["G"], self.nets["D"]
        losses = {}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(o.seed * 1_000_003 + step * 7919 + self.procs.rank)  # noise inputs of this process
            # G: non-saturating
            requires_grad(D, False)
            ws = self._ws(step, "G", update_avg=True)
            loss_g = F.softplus(-D(G.synthesis(ws, noise_mode="random"))).mean()
            self.optimise(loss_g, G, self.optims["G"])
            losses["G"] = loss_g.item()
            if o.pl_weight > 0 and step % o.pl_every == 0:
                self.optimise(self._path_length(step) * o.pl_every, G, self.optims["G"])
            # D: logistic on fakes and reals (+ lazy R1)
            requires_grad(D, True)
            with torch.no_grad():
                fake = G.synthesis(self._ws(step, "D", update_avg=False), noise_mode="random")
            loss_d = F.softplus(D(fake)).mean() + F.softplus(-D(batch)).mean()
            if step % o.r1_every == 0 and o.r1_gamma > 0:
                real = batch.detach().requires_grad_(True)
                logits = D(real)
                (grad,) = torch.autograd.grad(logits.sum(), real, create_graph=True)
                r1 = grad.square().sum([1, 2, 3]).mean()
                loss_d = loss_d + r1 * (o.r1_gamma / 2) * o.r1_every
                losses["R1"] = r1.item()
            self.optimise(loss_d, D, self.optims["D"])
            losses["D"] = loss_d.item()
        self.procs.average_buffers(G)
        # EMA, with upstream's ramp-up over the first images
        seen = (step + 1) * o.batch
        ema_nimg = min(o.ema_kimg * 1000, seen * o.ema_rampup) if o.ema_rampup else o.ema_kimg * 1000
        ema_update(self.nets["G_ema"], G, 0.5 ** (o.batch / max(ema_nimg, 1e-8)))
        return losses

    def _path_length(self, step: int) -> torch.Tensor:
        """Upstream's path length penalty (decay 0.01) on half the batch."""
        G = self.nets["G"]
        ws = self._ws(step, "PL", update_avg=False)
        ws = ws[: max(1, ws.shape[0] // 2)]
        img = G.synthesis(ws, noise_mode="random")
        noise = torch.randn_like(img) / math.sqrt(img.shape[2] * img.shape[3])
        (grad,) = torch.autograd.grad((img * noise).sum(), ws, create_graph=True)
        lengths = grad.square().sum(2).mean(1).sqrt()
        self.pl_mean = self.pl_mean.lerp(lengths.mean().detach(), 0.01)
        return (lengths - self.pl_mean).square().mean() * self.options.pl_weight

    def sample_images(self, batch: torch.Tensor) -> torch.Tensor:
        G = self.nets["G_ema"]
        z = self._z(-1, "samples", n=16)
        return G(z, None, noise_mode="const")

    def extra_state(self) -> dict[str, Any]:
        return {"pl_mean": self.pl_mean.cpu()}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.pl_mean = state["pl_mean"].to(self.device)

    def export(self) -> dict[str, Any]:
        main = self.converted(self.nets["G_ema"], "stylegan2", self.g_kwargs)
        main.companions["discriminator"] = self.converted(self.nets["D"], "stylegan2_d", self.d_kwargs)
        return {"": main}

    def card_notes(self) -> list[str]:
        o = self.options
        return [f"Losses: non-saturating logistic, lazy R1 (γ {o.r1_gamma:g} every {o.r1_every}), style mixing p "
                f"{o.mixing:g}" + (f", path length {o.pl_weight:g} every {o.pl_every}" if o.pl_weight > 0 else "")
                + f"; Adam lr {o.lr:g}, betas 0/0.99; EMA half-life {o.ema_kimg:g} kimg with ramp-up {o.ema_rampup:g}.",
                "The export is the EMA generator; the discriminator is kept beside it (projection's distance)."]

    def evaluate(self, folder) -> dict[str, Any]:
        from ..metrics import generator_report

        return generator_report(folder, self.options, self)


RECIPE = StyleGAN2
