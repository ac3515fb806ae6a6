"""The one place that knows about devices.

Every estimator resolves its ``device`` parameter here once per fit, moves its module
and optimizer state with :func:`place`, finds where a module is with
:func:`module_device`, and moves each batch (``Batch.to``) and every other tensor with
:func:`to_device`; a loaded or unpickled model goes to :func:`home_device`. Nothing
else in the package names ``cuda`` or ``mps``.
"""

import contextlib

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
            return torch.device("cuda")
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
    if resolved.type == "mps" and not _mps_available():
        raise ValueError(f"device={device!r} was asked for, but MPS is not available")
    return resolved


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
