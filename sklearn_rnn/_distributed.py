"""Training one model on several processes: data parallelism under ``torchrun``.

When a :mod:`torch.distributed` process group of two or more processes is
initialised, ``fit`` trains the network with
:class:`~torch.nn.parallel.DistributedDataParallel`: every process (rank) reads the
same data, draws the same shuffled batches from the same seed and trains on its
share of them (:meth:`~sklearn_rnn._data.Epoch.shard`), and the gradients are
averaged over the ranks at every step, so that all ranks keep the same weights.
Whatever decides the course of training is decided once for all: the validation
score comes from rank 0, the training loss is summed over the ranks, and a reason
to stop that any rank finds (a time budget, a callback) stops them all at the same
batch. Only rank 0 prints, warns and writes checkpoints.

:func:`current` says whether a fit runs so; the loop talks to the other ranks
through the :class:`Ranks` it returns.
"""

import inspect

import torch
import torch.distributed as dist

from ._device import parallel_device_ids

# Why a loop stopped, as a number that the ranks can compare (the highest wins)
_REASONS = (None, "callback", "converged", "max_iter", "max_time", "diverged")


def current():
    """The :class:`Ranks` of the process group this process trains in, or ``None``
    when there is no group of two or more processes."""
    if not (dist.is_available() and dist.is_initialized()):
        return None
    if dist.get_world_size() < 2:
        return None
    return Ranks(dist.get_rank(), dist.get_world_size(), dist.get_backend())


def _no_buffer_sync():
    """DistributedDataParallel's switch that stops it from sending the module's
    buffers (frozen word vectors, CRF masks, word dropout rates) before every
    batch: they follow from the data, the same on every rank, and are never
    trained, so that would cost a collective per step (and megabytes with frozen
    vectors). torch 2.13 renamed it."""
    parameters = inspect.signature(torch.nn.parallel.DistributedDataParallel)
    if "forward_sync_buffers" in parameters.parameters:
        return {"forward_sync_buffers": False}
    return {"broadcast_buffers": False}


class _Loss(torch.nn.Module):
    """``module.loss`` as a forward pass, which is what DistributedDataParallel
    wraps: its gradient hooks are readied by the call of ``forward``."""

    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, *args, **kwargs):
        return self.module.loss(*args, **kwargs)


class Ranks:
    """The processes that train one model together, seen from one of them.

    Parameters
    ----------
    rank, world : int
        This process's rank and how many processes there are.
    backend : str
        The process group's backend ("gloo" sends CPU tensors, "nccl" CUDA ones).
    """

    def __init__(self, rank, world, backend):
        self.rank = rank
        self.world = world
        self.backend = backend

    @property
    def main(self):
        """Whether this is rank 0, which prints, warns and writes checkpoints."""
        return self.rank == 0

    def _tensor(self, values, device, dtype=torch.float64):
        where = device if self.backend == "nccl" else torch.device("cpu")
        return torch.tensor(values, dtype=dtype, device=where)

    def loss_function(self, module, device):
        """``module.loss`` with gradients averaged over the ranks: the module inside
        DistributedDataParallel, which also gives every rank rank 0's weights."""
        if self.backend == "nccl" and device.type != "cuda":
            raise ValueError(
                f"torch.distributed runs the nccl backend, which needs CUDA, but "
                f"fit trains on {device}: set device='cuda', or initialise the "
                "process group with backend='gloo' to train on CPUs"
            )
        return torch.nn.parallel.DistributedDataParallel(
            _Loss(module),
            device_ids=parallel_device_ids(device),
            # every network of sklearn_rnn.nn uses all its trainable parameters in
            # every batch's loss (tests/test_scale.py trains each estimator so)
            find_unused_parameters=False,
            gradient_as_bucket_view=True,  # one copy of the gradients fewer
            **_no_buffer_sync(),
        )

    def share(self, epoch):
        """This rank's batches of ``epoch`` (see :meth:`Epoch.shard`)."""
        return epoch.shard(self.rank, self.world)

    def sum(self, values, device):
        """``values`` (numbers or scalar tensors) summed over the ranks, as floats."""
        total = torch.stack(
            [torch.as_tensor(v, dtype=torch.float64).reshape(()).cpu() for v in values]
        )
        total = total.to(self._tensor([], device).device)
        dist.all_reduce(total)
        return total.tolist()

    def maximum(self, value, device):
        """The largest of the ranks' ``value`` (a number)."""
        largest = self._tensor([value], device)
        dist.all_reduce(largest, op=dist.ReduceOp.MAX)
        return float(largest)

    def agree(self, reason, device):
        """The reason to stop that the ranks settle on: ``None`` when none has one,
        else the weightiest any rank gives (a time budget over a callback), so that
        all stop at the same batch."""
        code = self._tensor([_REASONS.index(reason)], device, torch.int64)
        dist.all_reduce(code, op=dist.ReduceOp.MAX)
        return _REASONS[int(code)]

    def broadcast(self, value, device):
        """Rank 0's ``value`` (any picklable object), on every rank."""
        box = [value]
        where = device if self.backend == "nccl" else None
        dist.broadcast_object_list(box, src=0, device=where)
        return box[0]

    def check_same(self, number, what, device):
        """Raise on every rank when the ranks disagree on ``number`` (the size of the
        training data, say): each must pass the same data to ``fit``."""
        extremes = self._tensor([-number, number], device, torch.int64)
        dist.all_reduce(extremes, op=dist.ReduceOp.MAX)
        smallest, largest = -int(extremes[0]), int(extremes[1])
        if smallest != largest:
            raise ValueError(
                f"the {self.world} processes of the torch.distributed group passed "
                f"{what} of different sizes (from {smallest} to {largest}; rank "
                f"{self.rank} has {number}): under torchrun every rank must pass "
                "the same data to fit, and each trains on its share of the batches"
            )
