"""Data parallelism across processes started by ``torchrun``: every process (rank) holds the
whole model and the same shuffled order of the data, trains on its share of each minibatch, and
the gradients are averaged with torch's DistributedDataParallel (gloo on CPU, nccl on CUDA).

A process group initialised before training (:func:`init_from_environment`) is all it takes:
the :class:`~unsup_core.training.Trainer` and the batch Kohonen map detect it. Each rank's share
of a minibatch is rows ``rank::world_size``; its loss is weighted by its share of the batch, so
with the same seed N processes make the same updates as one process with the same global batch
(up to the order of floating-point sums). Random draws inside a model (dropout, corruption
noise) differ between ranks; batch-norm statistics are per rank.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor, nn


@dataclass(frozen=True)
class World:
    """This process's ``rank`` among ``size`` processes (0 of 1 without a process group)."""

    rank: int = 0
    size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def world() -> World:
    """The current process group, or a world of one."""
    if dist.is_available() and dist.is_initialized():
        return World(dist.get_rank(), dist.get_world_size())
    return World()


def init_from_environment(backend: str | None = None) -> World:
    """Join the process group ``torchrun`` describes in the environment (RANK, WORLD_SIZE,
    MASTER_ADDR, ...): gloo on CPU, nccl when CUDA is available."""
    if not dist.is_initialized():
        if "RANK" not in os.environ:
            raise ValueError(
                "init_from_environment: RANK is not set; start the script with "
                "torchrun (e.g. torchrun --standalone --nproc_per_node=2 ...)"
            )
        dist.init_process_group(backend or ("nccl" if torch.cuda.is_available() else "gloo"))
    return world()


def shard(index: Tensor, where: World) -> Tensor:
    """This rank's rows of a minibatch: ``index[rank::size]``."""
    return index[where.rank :: where.size]


def all_reduce_sum(tensor: Tensor) -> Tensor:
    """Sum ``tensor`` over the ranks, in place (a no-op in a world of one)."""
    if world().size > 1:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


class LossModule(nn.Module):
    """``forward(batch) = model.loss(batch)``: what DistributedDataParallel wraps, so that its
    gradient hooks see the calls the Trainer makes."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        return self.model.loss(batch)


def data_parallel(model: nn.Module) -> nn.Module:
    """``model``'s loss wrapped in DistributedDataParallel (parameters broadcast from rank 0,
    gradients averaged over the ranks at every backward)."""
    device = next(model.parameters()).device
    ids = [device.index or 0] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(
        LossModule(model), device_ids=ids, find_unused_parameters=True
    )
