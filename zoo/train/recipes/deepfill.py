"""DeepFill v2 (Yu et al., ICCV 2019) as nipponjo/deepfillv2-pytorch's ``train.py`` trains it.

* Input: ``cat(image * (1 - mask), ones, mask)`` (what ``zoo.tasks.inpaint`` feeds at test time),
  image in [-1, 1], mask 1 = hole; one free-form mask per step for the whole batch
  (``zoo.train.masks``), because the contextual attention takes its mask from the first sample.
* Losses: SN-PatchGAN hinge for D on ``cat(image, mask)`` of real and inpainted images (one
  forward of both, so the spectral norm's power iteration runs once per step); G: -D(fake) mean
  plus the L1 of both stages against the real image over the whole image (``l1_loss_alpha`` 1,
  ``gan_loss_alpha`` 1); Adam (lr 1e-4, betas 0.5 / 0.999).
* Networks: ``zoo.archs.deepfill`` ``deepfillv2`` and ``deepfillv2_d`` (the ``pt`` layout, the
  port's native training layout). The export keeps D as the "discriminator" companion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch.nn import functional as F

from ...errors import ZooError
from ..data import Crops, SingleImages, step_generator
from ..masks import free_form_mask
from ..recipe import Recipe, TrainOptions, adam, requires_grad


@dataclass
class DeepFillOptions(TrainOptions):
    cnum: int = 48
    cnum_d: int = 64
    layout: str = "pt"
    lr: float = 1e-4
    l1_weight: float = 1.0
    gan_weight: float = 1.0
    size: int = 128


class DeepFill(Recipe):
    name = "deepfill"
    family = "deepfill"
    task = "inpaint"
    Options = DeepFillOptions
    summary = "gated convolutions with contextual attention, SN-PatchGAN hinge + L1 on both stages, free-form holes"

    def __init__(self, options: DeepFillOptions, procs=None) -> None:
        super().__init__(options, procs)
        from ...archs import build

        o = options
        self.g_kwargs = {"cnum": o.cnum, "cnum_in": 5, "layout": o.layout}
        self.d_kwargs = {"cnum": o.cnum_d, "cnum_in": 4, "layout": o.layout}
        with torch.random.fork_rng():
            torch.manual_seed(o.seed)
            self.nets = {"G": build("deepfillv2", self.g_kwargs).to(self.device).train(),
                         "D": build("deepfillv2_d", self.d_kwargs).to(self.device).train()}
        self.optims = {k: adam(v, o.lr) for k, v in self.nets.items()}

    def validate(self) -> None:
        super().validate()
        if self.options.size % 64:
            raise ZooError(f"DeepFill's SN-PatchGAN needs crops that are multiples of 64, not {self.options.size}")

    def build_data(self):
        from ..datasets import image_set

        o = self.options
        return _WithMask(SingleImages(image_set(o.data, load_side=o.load_side or None), Crops(o.size)), o.size)

    def step(self, batch: Any, step: int) -> dict[str, float]:
        o = self.options
        real, mask = batch
        G, D = self.nets["G"], self.nets["D"]
        mask = mask.expand(real.shape[0], 1, *real.shape[2:])
        stage1, stage2 = G(G.make_input(real, mask), mask)
        filled = stage2 * mask + real * (1 - mask)
        # D: hinge on real and filled images, one forward
        requires_grad(D, True)
        scores = D(torch.cat([torch.cat([real, filled.detach()], 0), mask.repeat(2, 1, 1, 1)], 1))
        d_real, d_fake = scores.chunk(2)
        loss_d = F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
        self.optimise(loss_d, D, self.optims["D"])
        # G: adversarial + L1 of both stages
        requires_grad(D, False)
        loss_adv = -D(torch.cat([filled, mask], 1)).mean()
        loss_l1 = (real - stage1).abs().mean() + (real - stage2).abs().mean()
        self.optimise(o.gan_weight * loss_adv + o.l1_weight * loss_l1, G, self.optims["G"])
        return {"D": loss_d.item(), "G_adv": loss_adv.item(), "L1": loss_l1.item()}

    def sample_images(self, batch: Any) -> torch.Tensor:
        real, mask = batch
        mask = mask.expand(real.shape[0], 1, *real.shape[2:])
        G = self.nets["G"]
        _, stage2 = G(G.make_input(real, mask), mask)
        return torch.cat([real * (1 - mask) + mask, stage2 * mask + real * (1 - mask), real], 0)

    def export(self) -> dict[str, Any]:
        main = self.converted(self.nets["G"], "deepfillv2", self.g_kwargs, self.options.layout)
        main.companions["discriminator"] = self.converted(self.nets["D"], "deepfillv2_d", self.d_kwargs, self.options.layout)
        return {"": main}

    def card_notes(self) -> list[str]:
        o = self.options
        return [f"Losses: SN-PatchGAN hinge (D) and {o.gan_weight:g}·adversarial + {o.l1_weight:g}·L1 of both stages (G); "
                f"Adam lr {o.lr:g}, betas 0.5/0.999; one free-form hole (1-4 brush strokes and a box) per step.",
                f"Holes are inpainted in context windows scaled to the trained size, {o.size} px."]

    def evaluate(self, folder) -> dict[str, Any]:
        from ..metrics import inpaint_report

        return inpaint_report(folder, self.options.eval_data, seed=self.options.seed)


class _WithMask:
    """Single images and the step's one free-form hole: ``batch -> (images, mask [1, 1, size, size])``."""

    def __init__(self, images: SingleImages, size: int) -> None:
        self.images, self.size = images, size

    def describe(self) -> str:
        return self.images.describe()

    def batch(self, seed: int, step: int, slots) -> tuple[torch.Tensor, torch.Tensor]:
        hole = free_form_mask(step_generator(seed, step, -1, "mask"), self.size, self.size)
        return self.images.batch(seed, step, slots), torch.from_numpy(hole).float()[None, None]


RECIPE = DeepFill
