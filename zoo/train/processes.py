"""Several training processes through ``torch.distributed``, launched by ``torchrun``.

``Processes.from_env()`` reads what torchrun sets (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR``...) and joins the process group: gloo on the CPU, nccl on GPUs. With one process
(a plain ``zoo train``) nothing is initialised and every collective is a no-op.

The global batch is split into equal slices of *slots* (``data.step_generator`` draws each slot's
sample), so N processes see the samples one process would. After each backward pass a recipe calls
``average_grads`` on the module it is about to step: one flat all-reduce, divided by the number of
processes, so each replica takes the step a single process would take on the whole batch (every
loss is a mean over its local slice, and slices are equal). ``average_buffers`` does the same for
running statistics (BatchNorm, StyleGAN2's ``w_avg``, which are linear updates), so replicas stay
equal. Per-process statistics remain where a layer normalises over its batch (BatchNorm in
training mode sees the local slice only), the one way a multi-process run differs from one process.

Not ``DistributedDataParallel``: a GAN step backpropagates through networks it does not step (the
generator's loss through D; R1 through D alone), which DDP's hooks would reduce for nothing or
wrongly; an explicit reduce before each optimiser step says which gradients are meant.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class Processes:
    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @classmethod
    def from_env(cls, device: str | None = None) -> "Processes":
        world = int(os.environ.get("WORLD_SIZE", "1"))
        want = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        if world <= 1:
            return cls(0, 1, want)
        import torch.distributed as dist

        local = int(os.environ.get("LOCAL_RANK", "0"))
        if want.type == "cuda":
            want = torch.device("cuda", local)
            torch.cuda.set_device(want)
        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if want.type == "cuda" else "gloo")
        return cls(dist.get_rank(), dist.get_world_size(), want)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def slots(self, global_batch: int) -> range:
        """This process's slots of the global batch (its slice of 0..global_batch-1)."""
        if global_batch % self.world:
            raise ValueError(f"the batch {global_batch} does not split evenly over {self.world} processes")
        local = global_batch // self.world
        return range(self.rank * local, (self.rank + 1) * local)

    def _all_reduce_mean(self, tensors: list[torch.Tensor]) -> None:
        if self.world == 1 or not tensors:
            return
        import torch.distributed as dist

        flat = torch.cat([t.reshape(-1).to(tensors[0].dtype) for t in tensors])
        dist.all_reduce(flat)
        flat /= self.world
        offset = 0
        for t in tensors:
            t.copy_(flat[offset : offset + t.numel()].view_as(t))
            offset += t.numel()

    def average_grads(self, module: nn.Module) -> None:
        """Average the gradients of ``module``'s parameters over the processes (missing ones count as 0)."""
        if self.world == 1:
            return
        grads = []
        for p in module.parameters():
            if p.requires_grad:
                if p.grad is None:
                    p.grad = torch.zeros_like(p)
                grads.append(p.grad)
        self._all_reduce_mean(grads)

    def average_buffers(self, module: nn.Module) -> None:
        """Average ``module``'s floating-point buffers (running statistics) over the processes."""
        self._all_reduce_mean([b for b in module.buffers() if b.is_floating_point()])

    def average_value(self, value: float) -> float:
        """The mean of a number over the processes (losses shown in the progress bar)."""
        if self.world == 1:
            return float(value)
        t = torch.tensor([float(value)], dtype=torch.float64)
        self._all_reduce_mean([t])
        return float(t)

    def check_replicas(self, nets: dict[str, nn.Module]) -> None:
        """Raise if any process's copy of a network differs from rank 0's (a checksum of every
        parameter and buffer, compared exactly: replicas that take the same averaged steps are
        bit-identical)."""
        if self.world == 1:
            return
        import torch.distributed as dist

        from ..errors import ZooError

        sums = []
        for net in nets.values():
            for t in list(net.parameters()) + [b for b in net.buffers() if b.is_floating_point()]:
                flat = t.detach().double().reshape(-1)
                sums += [flat.sum(), (flat * torch.arange(1, flat.numel() + 1, dtype=torch.float64, device=flat.device)).sum()]
        mine = torch.stack(sums)
        gathered = [torch.empty_like(mine) for _ in range(self.world)]
        dist.all_gather(gathered, mine)
        if any(not torch.equal(g.cpu(), gathered[0].cpu()) for g in gathered):
            raise ZooError("the training processes' networks have diverged (replicas differ)")

    def barrier(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()

    def close(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()
