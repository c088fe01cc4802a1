"""Data parallelism under ``torchrun``: process groups, feature gathering, gradient averaging.

Why not ``DistributedDataParallel``? Training calls ``encode_text`` / ``encode_image`` on
the model directly (the cached path never runs the image tower, the exact gradient
accumulation runs each micro-batch twice), which does not fit DDP's one-``forward``
contract. Averaging the gradients of the trainable parameters by hand, in flat buckets,
once per optimiser step, is what DDP does for us without that constraint.

Contrastive matrices span the *global* batch: every rank gathers the features of all ranks
with :func:`gather_with_grad`, computes the loss of its local rows against all columns,
and the backward pass sends each rank the gradient of every rank's loss with respect to its
own features. Averaging the parameter gradients over ranks then gives exactly the gradient
of the mean loss over the global batch that one process would compute.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass
from typing import Iterable

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits: rank, world size and local rank (0/1/0 without torchrun)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_distributed(device: str = "cpu", timeout_s: float = 1800.0) -> DistInfo:
    """Join the process group that ``torchrun`` describes in the environment, if any.

    NCCL on CUDA devices, gloo on the CPU. Returns a single-process :class:`DistInfo` when
    ``WORLD_SIZE`` is absent or 1, so the same code runs with and without torchrun.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistInfo()
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    backend = "nccl" if device.startswith("cuda") else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(
            backend=backend, timeout=_dt.timedelta(seconds=timeout_s)
        )
    return DistInfo(rank=rank, world_size=world_size, local_rank=local_rank)


def shutdown_distributed(info: DistInfo) -> None:
    """Leave the process group (a no-op for a single process)."""
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


class _GatherWithGrad(torch.autograd.Function):
    """all_gather whose backward returns, to each rank, the summed gradient of its slice."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        world_size = dist.get_world_size()
        ctx.rank = dist.get_rank()
        ctx.rows = tensor.shape[0]
        parts = [torch.empty_like(tensor) for _ in range(world_size)]
        dist.all_gather(parts, tensor.contiguous())
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        grad = grad_output.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        start = ctx.rank * ctx.rows
        return grad[start : start + ctx.rows]


def gather_with_grad(tensor: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Concatenate ``tensor`` from every rank in rank order, keeping gradients flowing.

    All ranks must pass the same number of rows (training drops the last partial batch).
    A tensor that does not require gradients (cached features) is gathered without autograd.
    """
    if not info.enabled:
        return tensor
    if not tensor.requires_grad:
        parts = [torch.empty_like(tensor) for _ in range(info.world_size)]
        dist.all_gather(parts, tensor.contiguous())
        return torch.cat(parts)
    return _GatherWithGrad.apply(tensor)


def all_reduce_mean(value: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """The mean of a tensor over ranks (for logging the global loss)."""
    if not info.enabled:
        return value
    out = value.detach().clone()
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out / info.world_size


def average_gradients(
    params: Iterable[torch.nn.Parameter], info: DistInfo, bucket_bytes: int = 25 * 2**20
) -> None:
    """Average ``.grad`` of the given parameters over ranks, in flat buckets of ~25 MB.

    Bucketing turns hundreds of small all-reduces into a few large ones, which is what
    makes hand-written data parallelism as fast as DDP's reducer on real interconnects.
    """
    if not info.enabled:
        return
    grads = [p.grad for p in params if p.grad is not None]
    bucket: list[torch.Tensor] = []
    size = 0

    def flush() -> None:
        nonlocal bucket, size
        if not bucket:
            return
        flat = torch.cat([g.reshape(-1) for g in bucket])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        flat /= info.world_size
        offset = 0
        for g in bucket:
            n = g.numel()
            g.copy_(flat[offset : offset + n].view_as(g))
            offset += n
        bucket, size = [], 0

    for grad in grads:
        if bucket and (grad.dtype != bucket[0].dtype or size + grad.numel() * grad.element_size() > bucket_bytes):
            flush()
        bucket.append(grad)
        size += grad.numel() * grad.element_size()
    flush()


def barrier(info: DistInfo) -> None:
    """Wait for every rank (a no-op for a single process)."""
    if info.enabled:
        dist.barrier()
