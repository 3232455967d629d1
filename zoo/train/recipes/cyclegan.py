"""CycleGAN (Zhu et al., ICCV 2017): two ResNet generators and two PatchGANs on unpaired domains.

As junyanz/pytorch-CycleGAN-and-pix2pix trains it: LSGAN losses (``gan_mode lsgan``: MSE to 1 for
real, 0 for fake), cycle-consistency L1 with λ_A = λ_B = 10, identity L1 weighted 0.5·λ, D's loss
halved, each D fed from a pool of 50 earlier fakes, Adam (lr 2e-4, betas 0.5 / 0.999), linear decay
over the second half. Networks: ``zoo.archs.cyclegan`` ``resnet`` and ``zoo.archs.pix2pix``
``nlayer_d``, instance norm, initialised N(0, 0.02).

Export: ``RUN/model/AtoB`` (G_A: A -> B) and ``RUN/model/BtoA`` (G_B), each a converted folder.
The image pools are part of the checkpoint; their random draws come from per-step generators.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch.nn import functional as F

from ...errors import ZooError
from ..data import Crops, SingleImages, UnpairedImages, step_generator
from ..recipe import ImagePool, Recipe, TrainOptions, adam, requires_grad
from .pix2pix import init_normal, linear_decay


@dataclass
class CycleGANOptions(TrainOptions):
    ngf: int = 64
    n_blocks: int = 9
    ndf: int = 64
    n_layers_d: int = 3
    lambda_cycle: float = 10.0
    lambda_identity: float = 0.5
    pool_size: int = 50
    decay_from: float = 0.5
    size: int = 256  # upstream crops 256 px
    resolution: int = 256


class CycleGAN(Recipe):
    name = "cyclegan"
    family = "cyclegan"
    task = "translate"
    Options = CycleGANOptions
    summary = "two ResNet generators, two PatchGANs, LSGAN + 10·cycle + 5·identity L1, image pools"

    def __init__(self, options: CycleGANOptions, procs=None) -> None:
        super().__init__(options, procs)
        from ...archs import build

        o = options
        self.g_kwargs = {"input_nc": 3, "output_nc": 3, "ngf": o.ngf, "norm": "instance", "use_dropout": False,
                         "n_blocks": o.n_blocks, "padding_type": "reflect"}
        self.d_kwargs = {"input_nc": 3, "ndf": o.ndf, "n_layers": o.n_layers_d, "norm": "instance"}
        with torch.random.fork_rng():
            torch.manual_seed(o.seed)
            self.nets = {"G_A": init_normal(build("resnet", self.g_kwargs)), "G_B": init_normal(build("resnet", self.g_kwargs)),
                         "D_A": init_normal(build("nlayer_d", self.d_kwargs)), "D_B": init_normal(build("nlayer_d", self.d_kwargs))}
        self.nets = {k: v.to(self.device).train() for k, v in self.nets.items()}
        self.g_params = list(self.nets["G_A"].parameters()) + list(self.nets["G_B"].parameters())
        self.d_params = list(self.nets["D_A"].parameters()) + list(self.nets["D_B"].parameters())
        self.optims = {"G": torch.optim.Adam(self.g_params, lr=o.lr, betas=(0.5, 0.999)),
                       "D": torch.optim.Adam(self.d_params, lr=o.lr, betas=(0.5, 0.999))}
        self.pools = {"A": ImagePool(o.pool_size), "B": ImagePool(o.pool_size)}

    def validate(self) -> None:
        super().validate()
        if not self.options.data_b:
            raise ZooError("CycleGAN needs two domains: --data (A) and --data-b (B)")

    def build_data(self):
        from ..datasets import image_set

        o = self.options
        load_side = o.load_side or None
        crops = Crops(o.size)
        return UnpairedImages(SingleImages(image_set(o.data, load_side=load_side), crops),
                              SingleImages(image_set(o.data_b, load_side=load_side), crops))

    def step(self, batch: Any, step: int) -> dict[str, float]:
        o = self.options
        real_a, real_b = batch
        G_A, G_B, D_A, D_B = (self.nets[k] for k in ("G_A", "G_B", "D_A", "D_B"))
        for opt in self.optims.values():
            linear_decay(opt, o.lr, step, o.steps, o.decay_from)

        def lsgan(pred, target: float):
            return F.mse_loss(pred, torch.full_like(pred, target))

        fake_b, fake_a = G_A(real_a), G_B(real_b)
        rec_a, rec_b = G_B(fake_b), G_A(fake_a)
        # generators
        requires_grad(D_A, False), requires_grad(D_B, False)
        lam = o.lambda_cycle
        loss_idt = torch.zeros((), device=real_a.device)
        if o.lambda_identity > 0:
            loss_idt = (F.l1_loss(G_A(real_b), real_b) + F.l1_loss(G_B(real_a), real_a)) * lam * o.lambda_identity
        loss_gan = lsgan(D_A(fake_b), 1.0) + lsgan(D_B(fake_a), 1.0)
        loss_cycle = (F.l1_loss(rec_a, real_a) + F.l1_loss(rec_b, real_b)) * lam
        self.optimise(loss_gan + loss_cycle + loss_idt, (G_A, G_B), self.optims["G"])
        # discriminators, on pooled fakes (D_A judges B-domain images, as upstream names them)
        requires_grad(D_A, True), requires_grad(D_B, True)
        gen = step_generator(o.seed, step, self.procs.rank, "pool")
        pooled_b = self.pools["B"].query(fake_b, gen)
        pooled_a = self.pools["A"].query(fake_a, gen)
        loss_d_a = 0.5 * (lsgan(D_A(real_b), 1.0) + lsgan(D_A(pooled_b.detach()), 0.0))
        loss_d_b = 0.5 * (lsgan(D_B(real_a), 1.0) + lsgan(D_B(pooled_a.detach()), 0.0))
        self.optimise(loss_d_a + loss_d_b, (D_A, D_B), self.optims["D"])
        return {"G": loss_gan.item(), "cycle": loss_cycle.item(), "idt": loss_idt.item(), "D": (loss_d_a + loss_d_b).item()}

    def sample_images(self, batch: Any) -> torch.Tensor:
        real_a, real_b = batch
        return torch.cat([real_a, self.nets["G_A"](real_a), real_b, self.nets["G_B"](real_b)], 0)

    def extra_state(self) -> dict[str, Any]:
        return {f"pool_{k}": p.state() for k, p in self.pools.items()}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        for k, p in self.pools.items():
            p.load(state.get(f"pool_{k}"))

    def export(self) -> dict[str, Any]:
        return {sub: self.converted(self.nets[key], "resnet", self.g_kwargs) for sub, key in (("AtoB", "G_A"), ("BtoA", "G_B"))}

    def card_notes(self) -> list[str]:
        o = self.options
        return [f"Losses: LSGAN + {o.lambda_cycle:g}·cycle L1 + {o.lambda_cycle * o.lambda_identity:g}·identity L1; pools of "
                f"{o.pool_size} fakes; Adam lr {o.lr:g}, betas 0.5/0.999, linear decay from {o.decay_from:.0%} of the steps.",
                "AtoB turns domain A (--data) into domain B (--data-b); BtoA the reverse."]

    def evaluate(self, folder) -> dict[str, Any]:
        from ..datasets import PREFIX, cartoon, lookup
        from ..metrics import cartoon_report

        b = self.options.data_b
        if not (b.startswith(PREFIX) and "," not in b and lookup(b).style is cartoon):
            return {}  # only the cartoon domain has a known ground truth to measure against
        return cartoon_report(folder, self.options.eval_data)


RECIPE = CycleGAN
