"""Training one model on several processes: data parallelism under ``torchrun``.

When a :mod:`torch.distributed` process group of two or more processes is
initialised, ``fit`` trains the network data-parallel: every process (rank) reads
the same data, draws the same shuffled batches from the same seed and trains on its
share of them (:meth:`~sklearn_rnn._data.Epoch.shard`), and the gradients are
averaged over the ranks at every step (:class:`GradientAverage`), so that all ranks
keep the same weights. Whatever decides the course of training is decided once for
all: the validation score comes from rank 0, the training loss is summed over the
ranks, and a reason to stop that any rank finds (a time budget, a callback) stops
them all at the same batch. Only rank 0 prints, warns and writes checkpoints.

:func:`current` says whether a fit runs so; the loop talks to the other ranks
through the :class:`Ranks` it returns.
"""

import functools
import os
import platform
import secrets
import tempfile
import time

import torch
import torch.distributed as dist

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


# An embedding table of at least this many values has its gradient averaged row by
# row: only the rows that some rank's batch read, since every other row's gradient
# is zero on every rank. A batch of 32 questions reads a few hundred of TREC-6's
# 8,700 words, so the ranks exchange a few hundred rows at each step instead of the
# whole table (10 MB). Smaller tables go with the other gradients.
ROW_WISE_MIN_SIZE = 1 << 18


class GradientAverage:
    """The gradients of ``module``'s trainable parameters averaged over the ranks
    after each backward pass, so that every rank takes the same optimizer step.

    Each rank's gradient counts in proportion to the items (sequences, tokens) its
    batch's loss is the mean over: the result is the gradient of the mean loss over
    every item the ranks read in the step, which one process reading all their
    batches as one would get. Made at the start of training, it first gives every
    rank rank 0's weights. A parameter that no rank's loss reached keeps no
    gradient, as in one process.

    The training loop calls :meth:`looked_up` after each forward pass,
    :meth:`__call__` after each backward pass and :meth:`close` at the end. A step
    takes one collective that waits: it sums the gradients, whether each parameter
    got one, how many items each rank read and its loss (for the epoch's mean).
    Large embedding tables (:data:`ROW_WISE_MIN_SIZE`) send only the rows that some
    rank's batch looked up: which rows those are travels in a collective started
    after the forward pass, which the backward pass hides. The first step checks
    that nothing else reaches a table (no row that was not looked up has a
    gradient): it sends which rows have a gradient, then those rows, in two more
    collectives; a module whose tables fail the check goes on that way. Ranks that
    share one machine's memory (on gloo) sum through it (:class:`SharedSums`), the
    others through the process group (:func:`sum_over_ranks`).

    This stands in for :class:`~torch.nn.parallel.DistributedDataParallel`, which
    sends every row of an embedding table at every step, in a collective per bucket
    of gradients, each a wait (on two CPU processes of TREC-6 at batch 32, its
    backward pass took 19.7 ms against 8.9 in one process).

    Parameters
    ----------
    module : torch.nn.Module
        On the device it trains on.
    """

    def __init__(self, module):
        trained = [p for p in module.parameters() if p.requires_grad]
        shared = _shared_parameters(module)
        self.embeddings = [
            m
            for m in module.modules()
            if isinstance(m, torch.nn.Embedding)
            and m.weight.requires_grad
            and m.weight.numel() >= ROW_WISE_MIN_SIZE
            and id(m.weight) not in shared
        ]
        self.tables = [m.weight for m in self.embeddings]
        tables = {id(t) for t in self.tables}
        self.dense = [p for p in trained if id(p) not in tables]
        self._rows = [t.shape[0] for t in self.tables]
        self._dense_sizes = [p.numel() for p in self.dense]
        everything = list(module.parameters())
        wide = any(p.dtype == torch.float64 for p in everything)
        self.dtype = torch.float64 if wide else torch.float32
        self._device = everything[0].device if everything else None
        self._lookups = [[] for _ in self.tables]
        self._hooks = [
            m.register_forward_hook(functools.partial(self._record, i))
            for i, m in enumerate(self.embeddings)
        ]
        self._by_lookups = None  # unknown until the first step
        self._pending = None
        # the largest sum a step sends through shared memory: the dense gradients
        # with their flags, and which rows of the tables were looked up or (up to a
        # million values) those rows; a larger one goes through the process group
        self.channel = SharedSums.open(
            sum(self._dense_sizes)
            + len(trained)
            + 2
            + max(sum(self._rows), min(sum(t.numel() for t in self.tables), 1 << 20)),
            self.dtype,
            self._device,
        )
        with torch.no_grad():  # rank 0's weights, the frozen ones too
            flat = torch.cat([p.reshape(-1).to(self.dtype) for p in everything])
            dist.broadcast(flat, src=0)
            for parameter, part in zip(
                everything, _split(flat, everything), strict=True
            ):
                parameter.copy_(part.view_as(parameter))

    def _record(self, i, module, args, output):
        if torch.is_grad_enabled():
            self._lookups[i].append(args[0].detach().reshape(-1))

    @torch.no_grad()
    def looked_up(self):
        """After the forward pass: start summing over the ranks which rows of each
        table their batches looked up."""
        if not self.tables or self._by_lookups is False:
            return
        if self._pending is not None:  # a forward pass that no average followed
            self._pending[1].wait()
        masks = torch.zeros(sum(self._rows), dtype=self.dtype, device=self._device)
        for mask, lookups in zip(masks.split(self._rows), self._lookups, strict=True):
            for indices in lookups:
                mask.index_fill_(0, indices[indices < len(mask)], 1.0)
            lookups.clear()
        self._pending = masks, self._sum(masks, async_op=True)

    @torch.no_grad()
    def __call__(self, n_items, loss=None):
        """Average the gradients; ``n_items`` is what this rank's loss averaged and
        ``loss`` (a scalar tensor, or None) its value. Returns the loss x items and
        the items, summed over the ranks (floats), for the epoch's mean training
        loss: they travel with the gradients."""
        dense, tables = self.dense, self.tables
        looked = None
        if self._pending is not None:
            looked, work = self._pending
            self._pending = None
            work.wait()
            looked = looked.split(self._rows)
        weight = float(n_items)
        rows = None
        if self._by_lookups and looked is not None:
            rows = [mask.nonzero().squeeze(1) for mask in looked]
        # [dense gradients x n_items | the looked-up rows x n_items, or which rows
        # have a gradient | has a gradient, for each parameter | loss x n_items |
        # n_items], summed
        sizes = list(self._dense_sizes)
        if rows is None:
            sizes += self._rows
        else:
            sizes += [len(r) * t.shape[1] for r, t in zip(rows, tables, strict=True)]
        sizes += [len(dense) + len(tables), 1, 1]
        flat = torch.empty(sum(sizes), dtype=self.dtype, device=self._device)
        *parts, present, loss_sum, count = flat.split(sizes)
        gradients, touched = parts[: len(dense)], parts[len(dense) :]
        for parameter, part in zip(dense, gradients, strict=True):
            if parameter.grad is None:
                part.zero_()
            else:
                torch.mul(parameter.grad.reshape(-1), weight, out=part)
        for i, (table, part) in enumerate(zip(tables, touched, strict=True)):
            if table.grad is None:
                part.zero_()
            elif rows is None:
                part.copy_(table.grad.ne(0).any(dim=1))
            else:
                torch.mul(
                    table.grad.index_select(0, rows[i]).reshape(-1), weight, out=part
                )
        flags = [p.grad is not None for p in dense + tables]
        present.copy_(torch.tensor(flags, dtype=self.dtype))
        if loss is None:
            loss_sum.zero_()
        else:
            torch.mul(loss.reshape(1), weight, out=loss_sum)
        count.fill_(weight)
        self._sum(flat)
        *reached, loss_total, items = flat[-len(flags) - 2 :].tolist()
        # the averaged gradients as they sit in the buffer (what norm() reads)
        averaged = flat[: sum(sizes[: len(dense)]) if rows is None else -len(flags) - 2]
        averaged.div_(max(items, 1.0))
        self._averaged = [averaged]
        for parameter, part, there in zip(
            dense, gradients, reached[: len(dense)], strict=True
        ):
            if there:
                parameter.grad = part.view_as(parameter).to(parameter.dtype)
        if not tables:
            return loss_total, items
        if rows is None:
            rows = [mask.nonzero().squeeze(1) for mask in touched]
            touched = self._sum_rows(rows, weight)
            self._averaged += [part.div_(max(items, 1.0)) for part in touched]
            if self._by_lookups is None:  # the first step: were the lookups enough?
                self._by_lookups = looked is not None and all(
                    bool(mask[r].all()) for mask, r in zip(looked, rows, strict=True)
                )
                if not self._by_lookups:
                    self.close()
        for table, index, part, there in zip(
            tables, rows, touched, reached[len(dense) :], strict=True
        ):
            if not there:
                table.grad = None
                continue
            if table.grad is None:
                table.grad = torch.zeros_like(table)
            table.grad.index_copy_(0, index, part.view(len(index), -1).to(table.dtype))
        return loss_total, items

    def norm(self):
        """The 2-norm of the gradients of the last step, averaged: read from what
        the ranks summed, without the pass over every gradient (a whole embedding
        table's included) that :func:`torch.nn.utils.clip_grad_norm_` makes."""
        return torch.linalg.vector_norm(
            torch.stack([torch.linalg.vector_norm(part) for part in self._averaged])
        )

    def _sum_rows(self, rows, weight):
        """Rows ``rows`` of each table's gradient x ``weight``, summed over the
        ranks (one collective)."""
        pieces = []
        for table, index in zip(self.tables, rows, strict=True):
            if table.grad is None:
                pieces.append(
                    torch.zeros(
                        len(index) * table.shape[1],
                        dtype=self.dtype,
                        device=self._device,
                    )
                )
            else:
                pieces.append(
                    table.grad.index_select(0, index).reshape(-1).to(self.dtype)
                )
        summed = torch.cat(pieces).mul_(weight)
        if len(summed):  # the same on every rank
            self._sum(summed)
        return summed.split([len(piece) for piece in pieces])

    def _sum(self, tensor, async_op=False):
        """Sum ``tensor`` over the ranks in place (see :func:`sum_over_ranks`):
        through shared memory when the ranks share one and it holds the tensor."""
        channel = self.channel
        if channel is None or len(tensor) > channel.capacity:
            return sum_over_ranks(tensor, async_op=async_op)
        work = channel.start(tensor)
        if async_op:
            return work
        work.wait()
        return None

    def close(self):
        """Stop watching the tables' lookups and let go of the shared memory (at the
        end of training)."""
        for hook in self._hooks:
            hook.remove()
        self._hooks = []
        if self._pending is not None:  # a step cut short between its passes
            self._pending[1].wait()
            self._pending = None
        self.channel = None


def sum_over_ranks(tensor, async_op=False):
    """Sum ``tensor`` over the ranks in place, as ``dist.all_reduce`` does; with
    ``async_op``, return a handle whose ``wait()`` finishes the sum.

    Two processes on gloo swap their tensors (a send and a receive each) and add
    the other's: gloo's ``all_reduce`` passes the tensor to a worker thread and
    through its ring algorithm, which took 2 to 3.7 ms for 0.5 MB against 0.5 ms
    for the swap when each rank arrived from 8 ms of compute (two processes of one
    thread on two cores). The swap sends as much as the ring does between two
    ranks, and both add the same two tensors, so both get the same sum.
    """
    if dist.get_world_size() != 2 or dist.get_backend() != "gloo":
        return dist.all_reduce(tensor, async_op=async_op)
    swap = _Swap(tensor, 1 - dist.get_rank())
    if async_op:
        return swap
    swap.wait()
    return None


class _Swap:
    """A tensor on its way to the other of two ranks and that rank's on its way
    here; :meth:`wait` adds the two."""

    def __init__(self, tensor, peer):
        self.tensor = tensor
        self.other = torch.empty_like(tensor)
        self.works = [dist.isend(tensor, peer), dist.irecv(self.other, peer)]

    def wait(self):
        for work in self.works:
            work.wait()
        self.tensor.add_(self.other)  # a + b == b + a: the same sum on both


# Whether ranks on one machine sum gradients through shared memory (when they can):
# the tests turn it off to check the process group's way.
SHARED_MEMORY = True
# The largest slot of SharedSums (bytes); each rank has two
SHARED_MEMORY_MAX_SLOT = 1 << 28


class SharedSums:
    """Sums over ranks that run on one machine, through a file in shared memory that
    every rank maps: each rank copies its tensor into its own slot and counts it
    published, waits until every rank has published as many, then adds the slots up
    in rank order, so that every rank gets the same sum.

    Two processes of one thread on two cores spent 2 to 2.5 ms a sum in gloo's
    send and receive, whatever the size up to 2 MB (much of it in waking gloo's
    threads), against 0.1 to 0.3 ms this way. Each rank has two slots that it fills
    in turn: a rank fills a slot again only after every rank has published the sum
    after the one that slot held, which each does after it read that slot. The
    published count is written after the slot, and read before it: processors that
    keep stores and loads in order (x86-64) see the slot complete. Elsewhere, and
    with CUDA tensors, :meth:`open` gives ``None``.

    Parameters
    ----------
    memory : torch.Tensor
        The mapped file (bytes).
    capacity : int
        The largest tensor a slot holds (elements).
    dtype : torch.dtype
    rank, world : int
    """

    def __init__(self, memory, capacity, dtype, rank, world):
        header = 64 * world  # a cache line for each rank's count
        size = capacity * dtype.itemsize
        self.capacity, self.dtype = capacity, dtype
        self.rank, self.world = rank, world
        self.counts = memory[:header].view(torch.int64)[:: 64 // 8]
        self.slots = [
            [
                memory[start : start + size].view(dtype)
                for start in (header + (2 * r + turn) * size for turn in (0, 1))
            ]
            for r in range(world)
        ]
        self.published = 0
        self.timeout = _timeout()

    @classmethod
    def open(cls, capacity, dtype, device):
        """A channel of ``capacity`` elements of ``dtype`` between the ranks of the
        default process group, or ``None`` when they do not all share this
        machine's memory (every rank calls this; all get a channel or none)."""
        if dist.get_backend() != "gloo":  # the same on every rank
            return None
        if capacity * dtype.itemsize > SHARED_MEMORY_MAX_SLOT:
            return None  # a large model: the process group's latency matters less
        rank, world = dist.get_rank(), dist.get_world_size()
        able = (
            SHARED_MEMORY
            and (device is None or device.type == "cpu")
            and platform.system() == "Linux"
            and platform.machine() in ("x86_64", "AMD64")
            and os.path.isdir("/dev/shm")
        )
        if not _everyone(able):
            return None
        nbytes = 64 * world + 2 * world * capacity * dtype.itemsize
        where = [None, None]  # the file's path and what its first bytes say
        if rank == 0:
            where = _create(nbytes)
        dist.broadcast_object_list(where, src=0)
        path, token = where
        memory = None
        if path is not None:
            try:
                memory = torch.from_file(
                    path, shared=True, size=nbytes, dtype=torch.uint8
                )
            except (OSError, RuntimeError):  # another machine's path
                memory = None
        mapped = memory is not None and bytes(memory[16:32].tolist()) == token
        everyone = _everyone(mapped)
        if rank == 0 and path is not None:
            os.unlink(path)  # mapped wherever it will be: freed when unmapped
        if not everyone:
            return None
        return cls(memory, capacity, dtype, rank, world)  # the counts start at 0

    def start(self, tensor):
        """Publish ``tensor`` (at most :attr:`capacity` elements): returns a handle
        whose ``wait()`` puts the sum over the ranks into ``tensor``."""
        turn = self.published % 2
        self.slots[self.rank][turn][: len(tensor)].copy_(tensor)
        self.published += 1
        self.counts[self.rank] = self.published
        return _SharedSum(self, tensor, turn, self.published)

    def wait_for(self, published):
        """Wait until every rank has published ``published`` tensors."""
        deadline = None
        while int(self.counts.min()) < published:
            os.sched_yield()  # to a rank that shares this core, if any
            if deadline is None:
                deadline = time.monotonic() + self.timeout
            elif time.monotonic() > deadline:
                late = [r for r in range(self.world) if self.counts[r] < published]
                raise RuntimeError(
                    f"rank {self.rank} waited {self.timeout:.0f} s for rank(s) {late} "
                    "to publish their gradients in shared memory: did they stop?"
                )


class _SharedSum:
    """A tensor published in turn ``turn`` of a :class:`SharedSums`; :meth:`wait`
    puts the sum over the ranks into it."""

    def __init__(self, channel, tensor, turn, published):
        self.channel, self.tensor = channel, tensor
        self.turn, self.published = turn, published

    def wait(self):
        channel, n = self.channel, len(self.tensor)
        channel.wait_for(self.published)
        slots = [slots[self.turn][:n] for slots in channel.slots]
        self.tensor.copy_(slots[0])  # in rank order: the same sum on every rank
        for slot in slots[1:]:
            self.tensor.add_(slot)


def _everyone(flag):
    """Whether ``flag`` holds on every rank."""
    agreed = torch.tensor([1 if flag else 0], dtype=torch.int64)
    dist.all_reduce(agreed, op=dist.ReduceOp.MIN)
    return bool(agreed)


def _create(nbytes):
    """A new file of ``nbytes`` in ``/dev/shm``, its space reserved, with a random
    token at bytes 16-32: ``[path, token]``, or ``[None, None]`` when there is no
    room."""
    fd, path = tempfile.mkstemp(prefix="sklearn-rnn-", dir="/dev/shm")
    try:
        os.posix_fallocate(fd, 0, nbytes)  # no room: an error now, not a SIGBUS later
        token = secrets.token_bytes(16)
        os.pwrite(fd, token, 16)
        return [path, token]
    except OSError:
        os.unlink(path)
        return [None, None]
    finally:
        os.close(fd)


def _timeout():
    """How long a rank waits for the others (seconds): the process group's."""
    try:
        from torch.distributed.distributed_c10d import _get_default_timeout

        return _get_default_timeout(dist.get_backend()).total_seconds()
    except (ImportError, AttributeError, RuntimeError, ValueError):
        return 1800.0


def _shared_parameters(module):
    """The ids of the parameters that ``module`` holds under more than one name
    (tied weights)."""
    seen, shared = set(), set()
    for _, parameter in module.named_parameters(remove_duplicate=False):
        (shared if id(parameter) in seen else seen).add(id(parameter))
    return shared


def _split(flat, like):
    """``flat`` cut into pieces of the sizes of the tensors ``like``."""
    return flat.split([t.numel() for t in like])


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
        self._average = None

    @property
    def main(self):
        """Whether this is rank 0, which prints, warns and writes checkpoints."""
        return self.rank == 0

    def _tensor(self, values, device, dtype=torch.float64):
        where = device if self.backend == "nccl" else torch.device("cpu")
        return torch.tensor(values, dtype=dtype, device=where)

    def gradient_average(self, module, device):
        """A :class:`GradientAverage` of ``module``'s gradients over the ranks, which
        first gives every rank rank 0's weights."""
        if self.backend == "nccl" and device.type != "cuda":
            raise ValueError(
                f"torch.distributed runs the nccl backend, which needs CUDA, but "
                f"fit trains on {device}: set device='cuda', or initialise the "
                "process group with backend='gloo' to train on CPUs"
            )
        self._average = GradientAverage(module)
        return self._average

    def _largest(self, value):
        """The largest of the ranks' ``value`` through the shared memory that the
        gradients go through (while training), else ``None``."""
        channel = None if self._average is None else self._average.channel
        if channel is None:
            return None
        values = torch.zeros(self.world, dtype=channel.dtype)
        values[self.rank] = value  # and zeros, which add nothing, from the others
        channel.start(values).wait()
        return float(values.max())

    def share(self, epoch):
        """This rank's batches of ``epoch`` (see :meth:`Epoch.shard`)."""
        return epoch.shard(self.rank, self.world)

    def maximum(self, value, device):
        """The largest of the ranks' ``value`` (a number)."""
        largest = self._largest(value)
        if largest is not None:
            return largest
        largest = self._tensor([value], device)
        dist.all_reduce(largest, op=dist.ReduceOp.MAX)
        return float(largest)

    def agree(self, reason, device):
        """The reason to stop that the ranks settle on: ``None`` when none has one,
        else the weightiest any rank gives (a time budget over a callback), so that
        all stop at the same batch."""
        code = self._largest(_REASONS.index(reason))
        if code is not None:
            return _REASONS[int(code)]
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
