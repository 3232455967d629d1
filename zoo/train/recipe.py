"""What every training recipe shares: its options, its networks and optimisers, one step, its export.

A recipe (``zoo/train/recipes/<name>.py``, ``RECIPE = ThatClass``) subclasses ``Recipe``:

* ``Options``: a dataclass extending ``TrainOptions`` with the recipe's hyperparameters and
  network sizes (``zoo train NAME --set key=value`` sets any of them);
* ``build_data()``: the training data (``zoo.train.data``), from ``options.data`` / ``data_b``;
* ``nets`` / ``optims``: dicts the loop checkpoints by name; ``extra_state`` for anything else
  that must survive a resume (CycleGAN's image pools);
* ``step(batch, step)``: one optimisation step on this process's slice; returns losses;
* ``sample_images(batch)``: ``[N, C, H, W]`` in [-1, 1] for the periodic sample grid;
* ``export()``: ``{subfolder: Converted}`` ("" for one network; CycleGAN writes AtoB and BtoA),
  built from the networks in ``zoo.archs``, so ``zoo.load(folder)`` loads the result;
* ``evaluate(folder)``: quality figures for the card, measured on held-out data.

The networks are the ones in ``zoo.archs`` (no second copy): a recipe builds them with
``zoo.archs.build`` from the same arch names and kwargs a converted folder records.
"""

from __future__ import annotations

import abc
import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from ..errors import ZooError
from .processes import Processes


@dataclass
class TrainOptions:
    """Options every recipe has. ``batch`` is the global batch (split over the processes)."""

    data: str = ""  # a folder, an IDX file, or offline:NAME (zoo.train.datasets)
    data_b: str = ""  # the second folder: B of two matched folders, or CycleGAN's domain B
    eval_data: str = ""  # held-out images for the card's quality figures
    steps: int = 1000
    batch: int = 8
    seed: int = 0
    size: int = 128  # training crop side
    load_side: int = 0  # resize each image's shorter side to this before cropping (0: as is)
    lr: float = 2e-4
    save_every: int = 200
    sample_every: int = 200
    name: str = ""  # the exported model's name (default: the run folder's name)
    export_companions: bool = True  # export the discriminator beside the generator (where the recipe keeps it)

    # fields that may change when a run is resumed (a longer run, other intervals, what is exported)
    RESUMABLE_CHANGES: ClassVar[tuple[str, ...]] = ("steps", "save_every", "sample_every", "eval_data", "name",
                                                    "export_companions")

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def parse_sets(options_cls: type, sets: list[str]) -> dict[str, Any]:
    """``["key=value", ...]`` -> kwargs for ``options_cls``, each converted to its field's type."""
    fields = {f.name: f for f in dataclasses.fields(options_cls)}
    out: dict[str, Any] = {}
    for item in sets:
        key, sep, raw = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in fields:
            known = ", ".join(sorted(fields))
            raise ZooError(f"--set takes KEY=VALUE with KEY one of: {known}; not {item[:60]!r}")
        default = fields[key].default
        try:
            if isinstance(default, bool):
                if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError
                value: Any = raw.lower() in ("true", "1", "yes")
            elif isinstance(default, int):
                value = int(raw)
            elif isinstance(default, float):
                value = float(raw)
            else:
                value = raw
        except ValueError:
            raise ZooError(f"--set {key}: {raw[:40]!r} is not a {type(default).__name__}") from None
        out[key] = value
    return out


class Recipe(abc.ABC):
    """Base class; see the module docstring."""

    name: ClassVar[str]
    family: ClassVar[str]
    task: ClassVar[str]
    Options: ClassVar[type] = TrainOptions
    summary: ClassVar[str] = ""

    def __init__(self, options: TrainOptions, procs: Processes | None = None) -> None:
        self.options = options
        self.procs = procs or Processes()
        self.device = self.procs.device
        self.nets: dict[str, nn.Module] = {}
        self.optims: dict[str, torch.optim.Optimizer] = {}
        self.validate()

    def validate(self) -> None:
        o = self.options
        if o.steps < 1 or o.batch < 1 or o.size < 8 or o.lr <= 0:
            raise ZooError("steps and batch must be >= 1, size >= 8 and lr > 0")
        if o.batch % self.procs.world:
            raise ZooError(f"the batch {o.batch} does not split evenly over {self.procs.world} processes")

    # -- hooks -----------------------------------------------------------------------------------

    @abc.abstractmethod
    def build_data(self):
        """The training data: an object with ``batch(seed, step, slots)`` (``zoo.train.data``)."""

    @abc.abstractmethod
    def step(self, batch: Any, step: int) -> dict[str, float]:
        """One optimisation step on this process's slice of the batch; the losses, by name."""

    @abc.abstractmethod
    def sample_images(self, batch: Any) -> torch.Tensor:
        """``[N, C, H, W]`` in [-1, 1] for the sample grid of the fixed batch ``batch``."""

    @abc.abstractmethod
    def export(self) -> dict[str, Any]:
        """``{subfolder: Converted}`` of the networks to export ("" for a single one)."""

    def evaluate(self, folder) -> dict[str, Any]:
        """Quality figures of the exported model for its card ({} when there is no eval data)."""
        return {}

    def extra_state(self) -> dict[str, Any]:
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        pass

    def card_notes(self) -> list[str]:
        """What the card should say about this recipe's losses and choices."""
        return []

    # -- helpers for recipes ---------------------------------------------------------------------

    def optimise(self, loss: torch.Tensor, nets: nn.Module | tuple[nn.Module, ...], optim: torch.optim.Optimizer) -> None:
        """zero_grad, backward, average the gradients of ``nets`` (those ``optim`` steps) over the
        processes, step."""
        optim.zero_grad(set_to_none=True)
        loss.backward()
        for net in nets if isinstance(nets, tuple) else (nets,):
            self.procs.average_grads(net)
        optim.step()

    def converted(self, net: nn.Module, arch: str, arch_kwargs: dict[str, Any], layout: str = "gan-zoo"):
        """``net``'s weights as a ``Converted`` of this recipe's family (what ``export`` returns)."""
        from ..formats.base import Converted

        return Converted(family=self.family, arch=arch, arch_kwargs=dict(arch_kwargs), layout=layout,
                         state_dict={k: v.detach().cpu() for k, v in net.state_dict().items()})

    def to_device(self, batch: Any) -> Any:
        if isinstance(batch, torch.Tensor):
            return batch.to(self.device)
        return type(batch)(self.to_device(b) for b in batch)


def requires_grad(net: nn.Module, flag: bool) -> None:
    for p in net.parameters():
        p.requires_grad_(flag)


def adam(net: nn.Module, lr: float, betas=(0.5, 0.999)) -> torch.optim.Adam:
    return torch.optim.Adam(net.parameters(), lr=lr, betas=betas)


class ImagePool:
    """CycleGAN's history of generated images (Shrivastava et al.): with a full pool, each new image
    is, with probability 1/2, swapped for a random stored one, which D then sees instead.
    Randomness comes from the generator the caller passes (seeded per step), so resuming with
    the pool's saved ``images`` continues exactly."""

    def __init__(self, size: int = 50) -> None:
        self.size = size
        self.images: list[torch.Tensor] = []

    def query(self, batch: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        if self.size == 0:
            return batch
        out = []
        for image in batch.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif bool(torch.rand((), generator=gen) < 0.5):
                i = int(torch.randint(0, self.size, (1,), generator=gen))
                out.append(self.images[i].clone())
                self.images[i] = image.clone()
            else:
                out.append(image)
        return torch.cat(out, 0)

    def state(self) -> torch.Tensor | None:
        return torch.cat(self.images) if self.images else None

    def load(self, images: torch.Tensor | None) -> None:
        self.images = [] if images is None else [img.unsqueeze(0).clone() for img in images]


def ema_update(ema: nn.Module, net: nn.Module, beta: float) -> None:
    """``ema = beta * ema + (1 - beta) * net`` for parameters; buffers are copied."""
    with torch.no_grad():
        for pe, p in zip(ema.parameters(), net.parameters()):
            pe.lerp_(p, 1.0 - beta)
        for be, b in zip(ema.buffers(), net.buffers()):
            be.copy_(b)
