"""Data-parallel training over torch.distributed, as ``torchrun`` launches it.

``torchrun --nproc-per-node N -m edge distill ...`` (or ``edge quantize --qat``) starts N processes with the
environment variables of torch.distributed (``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``, ``MASTER_ADDR`` ...);
:func:`init` joins the process group with **nccl when CUDA is available, gloo otherwise** (CPUs). Outside
torchrun (no ``WORLD_SIZE`` or 1) every helper is a no-op, so one code path serves both.

Multi-node: run on every node ``torchrun --nnodes M --nproc-per-node N --rdzv-backend c10d
--rdzv-endpoint HOST:29400 --rdzv-id JOB -m edge distill ...`` (HOST: a node every node reaches).
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import nn

from edge.errors import InputError

__all__ = ["average_", "backend", "barrier", "default_device", "finish", "init", "is_main", "make_loader",
           "mean_over_ranks", "rank", "world_size", "wrap"]


_finished = False  # finish() was called: the rest of the process runs alone (rank 0's gate, export)


def _env_world() -> int:
    return 1 if _finished else int(os.environ.get("WORLD_SIZE", "1"))


def backend() -> str:
    """``nccl`` when this process has a CUDA device, ``gloo`` otherwise."""
    return "nccl" if torch.cuda.is_available() and dist.is_nccl_available() else "gloo"


def init(device=None) -> bool:
    """Join the process group torchrun describes (idempotent); True when running on several processes.

    ``device`` "cpu" forces gloo even where CUDA exists (a CPU run on a GPU machine).
    """
    if dist.is_initialized():
        return dist.get_world_size() > 1
    if _env_world() <= 1:
        return False
    if not dist.is_available():
        raise InputError("WORLD_SIZE > 1 but this PyTorch build has no torch.distributed")
    be = "gloo" if str(device or "").startswith("cpu") else backend()
    if be == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(be)
    return True


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def is_main() -> bool:
    """True on rank 0 (and on a single process): the one that writes files and prints."""
    return rank() == 0


def default_device() -> torch.device:
    """``cuda:LOCAL_RANK`` under nccl (or a plain CUDA run), else the CPU."""
    if torch.cuda.is_available() and (not dist.is_initialized() or dist.get_backend() == "nccl"):
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device("cpu")


def wrap(model: nn.Module, device=None) -> nn.Module:
    """``model`` in DistributedDataParallel on several processes (it broadcasts rank 0's weights), else itself."""
    if world_size() <= 1 or not any(p.requires_grad for p in model.parameters()):
        return model
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    ids = [dev.index if dev.index is not None else torch.cuda.current_device()] if dev.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def barrier() -> None:
    if world_size() > 1:
        dist.barrier()


def average_(*tensors: torch.Tensor) -> None:
    """Average each tensor over the ranks, in place (no-op on one process)."""
    n = world_size()
    if n <= 1:
        return
    for t in tensors:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        t.div_(n)


def mean_over_ranks(values: dict[str, float]) -> dict[str, float]:
    """``values`` averaged over the ranks (same keys on every rank); itself on one process."""
    if world_size() <= 1:
        return values
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64)
    if dist.get_backend() == "nccl":
        t = t.cuda()
    average_(t)
    return dict(zip(keys, t.cpu().tolist()))


def make_loader(dataset, batch_size: int, shuffle: bool = True, seed: int = 0, drop_last: bool = False):
    """A DataLoader over ``dataset`` with a DistributedSampler of this rank.

    ``batch_size`` is the TOTAL batch over all processes; each rank gets ``batch_size / world_size`` samples
    (must divide). With the same ``seed``, N processes together see exactly the global batches one process
    sees (the sampler permutes with ``seed + epoch`` and deals indices round-robin). Call
    ``loader.sampler.set_epoch(epoch)`` each epoch (``edge.forms.distill.distill`` does).
    """
    from torch.utils.data import DataLoader, DistributedSampler

    n = world_size()
    if batch_size < n or batch_size % n:
        raise InputError(f"batch size {batch_size} must be a multiple of the {n} data-parallel processes "
                         f"(it is the total batch; each process gets batch/{n})")
    sampler = DistributedSampler(dataset, num_replicas=n, rank=rank(), shuffle=shuffle, seed=seed,
                                 drop_last=drop_last)
    return DataLoader(dataset, batch_size=batch_size // n, sampler=sampler, drop_last=drop_last)


def finish() -> None:
    """Leave the process group (end of the data-parallel part of a torchrun job; later ``init`` calls are no-ops,
    so rank 0 can go on alone)."""
    global _finished
    if dist.is_available() and dist.is_initialized():
        barrier()
        dist.destroy_process_group()
    _finished = True
