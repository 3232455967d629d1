"""pix2pix (Isola et al., CVPR 2017): a U-Net generator and a PatchGAN, conditional GAN + λ·L1.

As junyanz/pytorch-CycleGAN-and-pix2pix trains it: D sees [A, B] (real) and [A, G(A)] (fake),
the vanilla GAN loss on logits (``BCEWithLogits``), D's loss halved, G's loss = GAN + λ·L1 with
λ = 100, Adam (lr 2e-4, betas 0.5 / 0.999), constant learning rate for the first half and linear
decay to 0 over the second (``lr_policy linear``). Networks: ``zoo.archs.pix2pix`` ``unet`` and
``nlayer_d``, initialised N(0, 0.02) as upstream's ``init_type normal``.

Data: two folders matched by name (``--data A --data-b B``), one folder of A|B images
(``--data DIR --set paired=side_by_side``), or one folder of colour photos with A their luma
(``--set paired=gray``: colorisation, ``input_nc`` 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from ...errors import ZooError
from ..data import Crops, PairedImages, gray
from ..recipe import Recipe, TrainOptions, adam, requires_grad


@dataclass
class Pix2PixOptions(TrainOptions):
    paired: str = "matched"  # matched | side_by_side | gray
    input_nc: int = 3
    output_nc: int = 3
    ngf: int = 64
    num_downs: int = 8
    ndf: int = 64
    n_layers_d: int = 3
    norm: str = "batch"
    use_dropout: bool = True
    lambda_l1: float = 100.0
    decay_from: float = 0.5  # fraction of the steps after which the learning rate decays linearly to 0
    size: int = 256  # upstream crops 256 px
    resolution: int = 256  # the short side the translate task resizes inputs to (what the crops were cut from)


def init_normal(net: nn.Module, std: float = 0.02) -> nn.Module:
    """Upstream's ``init_weights(net, 'normal', 0.02)``: conv weights N(0, std), norm weights N(1, std), biases 0."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
    return net


def linear_decay(optim: torch.optim.Optimizer, lr: float, step: int, steps: int, decay_from: float) -> None:
    """Constant ``lr`` until ``decay_from * steps``, then linearly to 0 at ``steps`` (set before each step)."""
    start = int(decay_from * steps)
    factor = 1.0 if step < start else max(0.0, 1.0 - (step - start) / max(1, steps - start))
    for group in optim.param_groups:
        group["lr"] = lr * factor


class Pix2Pix(Recipe):
    name = "pix2pix"
    family = "pix2pix"
    task = "translate"
    Options = Pix2PixOptions
    summary = "U-Net generator, PatchGAN discriminator, conditional GAN + 100·L1"

    def __init__(self, options: Pix2PixOptions, procs=None) -> None:
        super().__init__(options, procs)
        from ...archs import build

        o = options
        gen = torch.Generator().manual_seed(o.seed)
        with torch.random.fork_rng():
            torch.manual_seed(int(torch.randint(0, 2**31, (1,), generator=gen)))
            self.g_kwargs = {"input_nc": o.input_nc, "output_nc": o.output_nc, "num_downs": o.num_downs, "ngf": o.ngf,
                             "norm": o.norm, "use_dropout": o.use_dropout}
            self.d_kwargs = {"input_nc": o.input_nc + o.output_nc, "ndf": o.ndf, "n_layers": o.n_layers_d, "norm": o.norm}
            self.nets = {"G": init_normal(build("unet", self.g_kwargs)).to(self.device).train(),
                         "D": init_normal(build("nlayer_d", self.d_kwargs)).to(self.device).train()}
        self.optims = {"G": adam(self.nets["G"], o.lr), "D": adam(self.nets["D"], o.lr)}

    def validate(self) -> None:
        super().validate()
        o = self.options
        if o.paired not in ("matched", "side_by_side", "gray"):
            raise ZooError(f"paired must be matched, side_by_side or gray, not {o.paired!r}")
        if o.paired == "gray" and o.input_nc != 1:
            raise ZooError("paired=gray makes 1-channel inputs: set input_nc=1")
        if o.size % (2 ** o.num_downs):
            raise ZooError(f"a U-Net with {o.num_downs} downsamplings needs crops that are multiples of {2 ** o.num_downs}")

    def build_data(self):
        from ..datasets import image_set

        o = self.options
        crops = Crops(o.size)
        load_side = o.load_side or None
        if o.paired == "gray":
            return PairedImages(None, crops, description=str(o.data), single=image_set(o.data, load_side=load_side), derive_a=gray)
        if o.paired == "side_by_side":
            return PairedImages.side_by_side(Path(o.data), crops, load_side=load_side)
        if not o.data_b:
            raise ZooError("paired=matched needs --data-b (the B folder, images matched to A by name)")
        return PairedImages.matched(Path(o.data), Path(o.data_b), crops, load_side=load_side)

    def step(self, batch: Any, step: int) -> dict[str, float]:
        o = self.options
        real_a, real_b = batch
        G, D = self.nets["G"], self.nets["D"]
        for opt in self.optims.values():
            linear_decay(opt, o.lr, step, o.steps, o.decay_from)
        with torch.random.fork_rng():
            torch.manual_seed(o.seed * 1_000_003 + step * 7919 + self.procs.rank)  # dropout masks
            fake_b = G(real_a)
        # D: real [A, B] -> 1, fake [A, G(A)] -> 0
        requires_grad(D, True)
        pred_fake = D(torch.cat([real_a, fake_b.detach()], 1))
        pred_real = D(torch.cat([real_a, real_b], 1))
        loss_d = 0.5 * (F.binary_cross_entropy_with_logits(pred_fake, torch.zeros_like(pred_fake))
                        + F.binary_cross_entropy_with_logits(pred_real, torch.ones_like(pred_real)))
        self.optimise(loss_d, D, self.optims["D"])
        # G: fool D, and stay close to B
        requires_grad(D, False)
        pred = D(torch.cat([real_a, fake_b], 1))
        loss_gan = F.binary_cross_entropy_with_logits(pred, torch.ones_like(pred))
        loss_l1 = F.l1_loss(fake_b, real_b)
        self.optimise(loss_gan + o.lambda_l1 * loss_l1, G, self.optims["G"])
        self.procs.average_buffers(G)
        self.procs.average_buffers(D)
        return {"D": loss_d.item(), "G_gan": loss_gan.item(), "L1": loss_l1.item()}

    def sample_images(self, batch: Any) -> torch.Tensor:
        real_a, real_b = batch
        fake = self.nets["G"](real_a)
        show_a = real_a.repeat(1, 3 // real_a.shape[1], 1, 1) if real_a.shape[1] == 1 else real_a
        return torch.cat([show_a, fake, real_b], 0)

    def export(self) -> dict[str, Any]:
        return {"": self.converted(self.nets["G"], "unet", self.g_kwargs)}

    def card_notes(self) -> list[str]:
        o = self.options
        return [f"Losses: vanilla GAN on PatchGAN logits + {o.lambda_l1:g}·L1; Adam lr {o.lr:g}, betas 0.5/0.999, "
                f"linear decay to 0 from {o.decay_from:.0%} of the steps.",
                f"Inputs are resized so their short side is {o.resolution} px (the translate task's trained scale)."]

    def evaluate(self, folder) -> dict[str, Any]:
        if self.options.paired != "gray":
            return {}
        from ..metrics import colorize_report

        return colorize_report(folder, self.options.eval_data, resolution=self.options.resolution)


RECIPE = Pix2Pix
