"""The one place that knows about devices.

Every estimator resolves its ``device`` parameter here once per fit, moves its module
and optimizer state with :func:`place`, finds where a module is with
:func:`module_device`, and moves each batch (``Batch.to``) and every other tensor with
:func:`to_device`; a loaded or unpickled model goes to :func:`home_device`. Nothing
else in the package names ``cuda`` or ``mps``.

On a machine with several GPUs, ``"cuda"`` (or ``"auto"``) without an index picks one
for this process (:func:`choose_gpu`): the GPU ``torchrun`` assigned it
(``LOCAL_RANK``), else the one with the most free memory, so that the workers of a
search spread over the GPUs instead of all crowding onto the first.
"""

import contextlib
import ctypes
import os
import sys

import torch

# The kinds of device the estimators run on: torch knows others ("meta", "xla", ...)
# that hold no data or need a backend of their own.
DEVICE_TYPES = ("cpu", "cuda", "mps")


def resolve_device(device):
    """Turn the ``device`` parameter into a :class:`torch.device`.

    ``"auto"`` picks CUDA when available, then Apple's MPS, then the CPU. Any other
    value is passed to :class:`torch.device`; a device that this machine lacks is
    refused here, at the start of ``fit``, rather than deep inside the first batch.
    """
    if isinstance(device, torch.device):
        resolved = device
    elif device == "auto":
        if torch.cuda.is_available():
            return _pick_gpu(torch.device("cuda"))
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    elif isinstance(device, str):
        try:
            resolved = torch.device(device)
        except RuntimeError as exc:
            raise ValueError(
                f"device={device!r} is not a device torch knows; use 'auto', 'cpu', "
                "'cuda', 'cuda:1', 'mps' or a torch.device"
            ) from exc
    else:
        raise TypeError(
            f"device must be 'auto', a device string or a torch.device, got {device!r}"
        )
    if resolved.type not in DEVICE_TYPES:
        raise ValueError(
            f"device={device!r} is a {resolved.type!r} device; sklearn-rnn trains and "
            "predicts on 'cpu', 'cuda' (with an index: 'cuda:1') and 'mps'"
        )
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was asked for, but CUDA is not available")
    if resolved.type == "cuda":
        return _pick_gpu(resolved)
    if resolved.type == "mps" and not _mps_available():
        raise ValueError(f"device={device!r} was asked for, but MPS is not available")
    return resolved


def choose_gpu(free, total, *, local_rank=None, worker=0, tie=0.05):
    """Which of the visible GPUs a process that asked for ``"cuda"`` without an index
    trains on (a pure function of what it is told, so that it is tested without GPUs).

    Parameters
    ----------
    free, total : sequences of int
        Free and total memory of each visible GPU, in bytes.
    local_rank : int or None
        The GPU ``torchrun`` (or another launcher) assigned this process
        (``LOCAL_RANK``): it is taken as it is, modulo the number of GPUs.
    worker : int
        A number that tells apart the processes of one machine (a Dask worker's
        name, else the process id): among GPUs whose free memory is within ``tie``
        of their total from the largest, the ``worker``-th (cyclically) is taken,
        so that workers starting at the same moment, which see the same free
        memory, spread over the GPUs rather than all taking the first.
    tie : float
        Share of a GPU's memory within which free memory counts as equal.

    Returns
    -------
    index : int

    Examples
    --------
    >>> GiB = 2**30
    >>> choose_gpu([10 * GiB, 70 * GiB, 30 * GiB], [80 * GiB] * 3)
    1
    >>> [choose_gpu([80 * GiB, 79 * GiB], [80 * GiB] * 2, worker=w) for w in range(4)]
    [0, 1, 0, 1]
    >>> choose_gpu([80 * GiB, 80 * GiB], [80 * GiB] * 2, local_rank=3)
    1
    """
    if len(free) != len(total) or not len(free):
        raise ValueError(
            f"choose_gpu needs the free and total memory of each GPU, got {len(free)} "
            f"free and {len(total)} total figures"
        )
    if local_rank is not None:
        return int(local_rank) % len(free)
    best = max(free)
    near = [
        i
        for i, (f, t) in enumerate(zip(free, total, strict=True))
        if f >= best - tie * t
    ]
    return near[int(worker) % len(near)]


def _pick_gpu(device):
    """``device`` (a CUDA device) with an index: the one it names, the only GPU
    visible, or :func:`choose_gpu`'s choice among several."""
    count = torch.cuda.device_count()
    if device.index is not None or count < 2:
        return device
    free, total = _gpu_memory(count)
    local_rank = os.environ.get("LOCAL_RANK")
    index = choose_gpu(
        free,
        total,
        local_rank=int(local_rank) if local_rank else None,
        worker=_worker_number(),
    )
    return torch.device("cuda", index)


def _gpu_memory(count):
    """Free and total memory of each visible GPU. NVML (``pynvml``) reads them
    without opening a CUDA context on every GPU; without it, each GPU is asked
    through CUDA, which costs a context (a few hundred MB) on each."""
    free, total = [], []
    for index in range(count):
        size = torch.cuda.get_device_properties(index).total_memory
        try:
            used = torch.cuda.device_memory_used(index)
        except (ImportError, RuntimeError, AttributeError, ValueError):
            available, size = torch.cuda.mem_get_info(index)
            used = size - available
        free.append(size - used)
        total.append(size)
    return free, total


def _worker_number():
    """What tells this process apart from the other workers of the machine: a Dask
    worker's name when it is a number (``LocalCluster`` numbers them), else the
    process id."""
    if "distributed" in sys.modules:
        try:
            name = sys.modules["distributed"].get_worker().name
        except (ValueError, AttributeError):
            name = None
        if isinstance(name, int):
            return name
    return os.getpid()


def home_device(device):
    """Where a loaded or unpickled model goes: the device its ``device`` parameter
    names when this machine has it, else the CPU.

    A model fitted on a GPU thus loads on a machine without one, and a model loaded
    where it was fitted predicts exactly as it did before it was saved.
    """
    try:
        resolved = resolve_device(device)
    except (TypeError, ValueError):
        return torch.device("cpu")
    if resolved.type == "cuda" and (resolved.index or 0) >= torch.cuda.device_count():
        return torch.device("cpu")
    return resolved


def training_dtype(precision, device):
    """The ``precision`` parameter on ``device``: the dtype that autocast gives the
    matrix products of training, or ``None`` for float32 throughout.

    ``"auto"`` takes bfloat16 where the device computes it natively: a CUDA GPU that
    supports it, or a CPU with AVX-512 BF16 or AMX instructions (on others bfloat16 is
    emulated, slower than float32).
    """
    if precision == "float32":
        return None
    if precision == "bfloat16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if _native_bf16_cuda() else None
    if device.type == "cpu" and _native_bf16_cpu():
        return torch.bfloat16
    return None


def _native_bf16_cuda():
    try:  # emulated bfloat16 (before Ampere) is slower than float32
        return torch.cuda.is_bf16_supported(including_emulation=False)
    except TypeError:  # torch < 2.4 counts no emulation
        return torch.cuda.is_bf16_supported()


def _native_bf16_cpu():
    checks = [
        getattr(torch.cpu, name, None)
        for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    ]
    try:
        return any(check() for check in checks if check is not None)
    except RuntimeError:  # a build without these probes
        return False


def autocast(device, dtype):
    """Mixed precision on ``device`` when ``dtype`` (from :func:`training_dtype`)
    says so: matrix products in ``dtype``, weights and their updates in float32."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def module_device(module):
    """The device ``module``'s parameters are on."""
    return next(module.parameters()).device


def place(module, optimizer, device):
    """Move ``module`` and what ``optimizer`` keeps for its parameters (moments, step
    counts) to ``device``, so that training can go on there."""
    module.to(device)
    if optimizer is not None and optimizer.state:
        # loading casts each state tensor the way torch wants it for its parameter's
        # device (a fused optimizer keeps its step counts beside the parameters)
        optimizer.load_state_dict(optimizer.state_dict())


def _mps_available():
    backend = getattr(torch.backends, "mps", None)
    return backend is not None and backend.is_available()


def to_device(tensors, device):
    """Move a tuple of tensors (``None`` entries allowed) to ``device`` in one call."""
    non_blocking = device.type == "cuda"
    return tuple(
        None if t is None else t.to(device, non_blocking=non_blocking) for t in tensors
    )


def cuda_devices(device):
    """The CUDA device indices whose random state a fit on ``device`` touches."""
    if device.type != "cuda":
        return []
    return [device.index if device.index is not None else torch.cuda.current_device()]


@contextlib.contextmanager
def seeded(device, seed):
    """Run the block with torch's random generators for ``device`` seeded by ``seed``,
    and give them back their previous state afterwards.

    Torch draws dropout masks and initial weights from its global generators; forking
    them lets an estimator own its randomness (``random_state``) without touching the
    user's.
    """
    devices = cuda_devices(device)
    with torch.random.fork_rng(devices=devices):
        torch.default_generator.manual_seed(seed)
        for index in devices:
            with torch.cuda.device(index):
                torch.cuda.manual_seed(seed)
        yield


def _flushes_denormals():
    """Whether this thread's CPU arithmetic flushes denormal floats to zero (the
    quotient below is denormal, and zero when they flush): torch sets the mode
    (:func:`torch.set_flush_denormal`) but has no getter."""
    return float(torch.tensor([1e-38]) / 1e3) == 0.0


def _set_flush_denormal_everywhere(on):
    """:func:`torch.set_flush_denormal` in this thread and in each thread of the
    OpenMP team that runs torch's parallel CPU kernels.

    The mode is a register of each thread, and the team's threads were started
    before, with the mode of that time: they run the most of a training step on
    several threads. The team is reached through the OpenMP runtime's
    ``GOMP_parallel`` (GNU's libgomp, which torch's Linux builds load, and LLVM's
    libomp, which offers it too); where the process has none, this thread alone."""
    torch.set_flush_denormal(on)
    try:
        parallel = ctypes.CDLL(None).GOMP_parallel
    except (AttributeError, OSError):
        return

    @ctypes.CFUNCTYPE(None, ctypes.c_void_p)
    def each_thread(_):
        torch.set_flush_denormal(on)

    parallel.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
    parallel.restype = None
    # (function, its argument, 0: the team's usual size, flags)
    parallel(ctypes.cast(each_thread, ctypes.c_void_p), None, 0, 0)


@contextlib.contextmanager
def flushing_denormals():
    """Run the block with denormal floats flushed to zero on the CPU, as most GPU
    kernels already flush them, and give the mode back afterwards.

    As a network trains, saturated gates and vanishing products give numbers below
    float32's smallest normal one, on which the CPU computes many times slower: a
    CoNLL-2003 tagger's epochs grew from 21 to 31 seconds over five epochs, and
    stayed at 23-25 with this (the same validation scores to five digits). Values
    that small change no result that matters. If the mode is already on, it is left
    as it is.
    """
    flushing = _flushes_denormals()
    if not flushing:
        _set_flush_denormal_everywhere(True)
    try:
        yield
    finally:
        if not flushing:
            _set_flush_denormal_everywhere(False)
