"""A file format that never executes code: ``estimator.save(path)`` and ``load(path)``.

A model file is a zip archive of three members:

- ``sklearn_rnn.json``: the format name and version, the library, torch and scikit-learn
  versions, the estimator's class name, its parameters and its fitted state, in a small
  tagged JSON vocabulary (arrays, tuples, dicts with any keys, random generators) that
  :func:`_decode` turns back into values and never into code;
- ``module.pt`` and ``optimizer.pt``: the network's and the optimizer's state dicts,
  written by :func:`torch.save` and read with ``torch.load(weights_only=True)``, which
  refuses anything but tensors and plain containers.

An ensemble (:class:`~sklearn_rnn.EnsembleTagger`) has no network of its own: its file
holds the JSON and, as ``members/0.skrnn``, ``members/1.skrnn``, ..., one such file per
fitted member.

The class is looked up by name among sklearn-rnn's own estimators; a parameter that was
a function (a custom ``tokenizer``) is recorded by name only and must be passed again
to :func:`load`.
"""

import dataclasses
import inspect
import io
import json
import os
import warnings
import zipfile

import numpy as np
import sklearn
import torch

from ._training import TrainingState
from ._version import __version__
from .exceptions import InconsistentVersionWarning

FORMAT = "sklearn-rnn"
FORMAT_VERSION = 1
MEMBERS = ("sklearn_rnn.json", "module.pt", "optimizer.pt")


def save(estimator, path):
    """Write ``estimator`` to ``path`` (see the module docstring for the format)."""
    params = estimator.get_params(deep=False)
    fitted = {
        k: v
        for k, v in vars(estimator).items()
        if k not in params and k not in ("module_", "optimizer_", "estimators_")
    }
    members = vars(estimator).get("estimators_", [])
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "sklearn_rnn_version": __version__,
        "torch_version": torch.__version__,
        "sklearn_version": sklearn.__version__,
        "class": type(estimator).__name__,
        "params": _encode(params),
        "fitted": _encode(fitted),
        "has_module": "module_" in vars(estimator),
        "n_members": len(members),
    }
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(MEMBERS[0], json.dumps(metadata, indent=1))
        if metadata["has_module"]:
            archive.writestr(MEMBERS[1], _tensor_bytes(estimator.module_.state_dict()))
            archive.writestr(
                MEMBERS[2], _tensor_bytes(estimator.optimizer_.state_dict())
            )
        for i, member in enumerate(members):
            buffer = io.BytesIO()
            save(member, buffer)
            archive.writestr(_member_name(i), buffer.getvalue())


def _member_name(i):
    return f"members/{i}.skrnn"


def load(path, *, device=None, **params):
    """Read a model that :meth:`save` wrote, without running any code from the file.

    Parameters
    ----------
    path : str or path-like
    device : str, torch.device or None, default=None
        Where to put the network. ``None``: where the estimator's ``device`` parameter
        says when this machine has that device (so a model predicts exactly as it did
        before it was saved), else on the CPU (so a model fitted on a GPU loads on a
        machine without one).
    **params
        Parameters to set on the loaded estimator; required for any parameter that
        was a function when saved (a custom ``tokenizer``), which the file names but
        does not hold.

    Returns
    -------
    estimator
        Predicts exactly as the saved one did.

    Raises
    ------
    ValueError
        When the file is not an sklearn-rnn model, uses an unknown format version, or
        holds anything but plain data and tensors.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from sklearn_rnn import RNNClassifier, load
    >>> X = np.random.RandomState(0).normal(size=(20, 5))
    >>> clf = RNNClassifier(hidden_size=4, max_iter=2, random_state=0)
    >>> clf = clf.fit(X, [0, 1] * 10)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.skrnn")
    >>> _ = clf.save(path)
    >>> bool((load(path).predict(X) == clf.predict(X)).all())
    True
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValueError(f"{path} is not an sklearn-rnn model file: {exc}") from None
    with archive:
        return _load_archive(archive, path, device, params)


def _load_archive(archive, path, device, params):
    """:func:`load` from an open ``archive``; ``path`` names it in messages."""
    try:
        metadata = json.loads(archive.read(MEMBERS[0]))
    except KeyError:
        raise ValueError(
            f"{path} is not an sklearn-rnn model file: no {MEMBERS[0]}"
        ) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{path}: {MEMBERS[0]} is not valid JSON ({exc})") from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ValueError(f"{path} is not an sklearn-rnn model file")
    version = metadata.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(
            f"{path} uses sklearn-rnn file format version {version!r}; this "
            f"version of sklearn-rnn ({__version__}) reads version "
            f"{FORMAT_VERSION} only"
        )
    estimators = _estimator_classes()
    cls = estimators.get(metadata.get("class"))
    if cls is None:
        raise ValueError(
            f"{path} holds a {metadata.get('class')!r}, which is not an "
            f"sklearn-rnn estimator ({sorted(estimators)})"
        )
    if metadata.get("sklearn_rnn_version") != __version__:
        warnings.warn(
            InconsistentVersionWarning(
                estimator_name=cls.__name__,
                current_version=__version__,
                original_version=metadata.get("sklearn_rnn_version"),
            ),
            stacklevel=3,  # the caller of load
        )
    saved = _decode(metadata["params"])
    for name, value in saved.items():
        if isinstance(value, _Callable) and name not in params:
            raise ValueError(
                f"{path} was saved with {name}={value.name}, a function: the safe "
                f"format stores no code. Pass it again: load(path, {name}=...)"
            )
    estimator = cls(**{**saved, **params})
    vars(estimator).update(_decode(metadata["fitted"]))
    if metadata.get("has_module"):
        estimator._restore_torch_state(
            _read_tensors(archive, MEMBERS[1], path),
            _read_tensors(archive, MEMBERS[2], path),
        )
        if device is not None:
            estimator.to(device)
    members = []
    for i in range(metadata.get("n_members", 0)):
        name = _member_name(i)
        try:
            data = archive.read(name)
        except KeyError:
            raise ValueError(f"{path} is incomplete: no {name}") from None
        with zipfile.ZipFile(io.BytesIO(data)) as inner:
            members.append(_load_archive(inner, f"{path}:{name}", device, {}))
    if members:
        estimator.estimators_ = members
    return estimator


_REGISTERED = {}


def register(cls):
    """Let model files name ``cls`` (an estimator class, or a plain-data class of its
    fitted state); used as a class decorator or called by a base class for each
    subclass. Only concrete classes are kept. Returns ``cls``."""
    if not inspect.isabstract(cls):
        _REGISTERED[cls.__name__] = cls
    return cls


def _estimator_classes():
    """The classes a model file may name: sklearn-rnn's own, as registered. Importing
    the package registers its public estimators."""
    import sklearn_rnn  # noqa: F401  (the estimators register as they are defined)

    return dict(_REGISTERED)


def _tensor_bytes(state_dict):
    buffer = io.BytesIO()
    torch.save(_on_cpu(state_dict), buffer)
    return buffer.getvalue()


def _read_tensors(archive, member, path):
    try:
        data = archive.read(member)
    except KeyError:
        raise ValueError(f"{path} is incomplete: no {member}") from None
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # weights_only refuses anything that could run code
        raise ValueError(
            f"{path}: refusing {member}, which is not a plain tensor file: {exc}"
        ) from None


def _on_cpu(obj):
    """The same nested state with every tensor on the CPU, so files name no device."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _on_cpu(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_on_cpu(v) for v in obj)
    return obj


class _Callable:
    """A function parameter, recorded by name only."""

    def __init__(self, name):
        self.name = name


def _encode(value):
    """A JSON-ready form of ``value``, tagging what JSON cannot say plainly."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, dict):
        return {"__dict__": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, np.ndarray):
        return {
            "__ndarray__": _encode(value.tolist()),
            "dtype": value.dtype.str,
            "shape": list(value.shape),
        }
    if isinstance(value, np.generic):
        return {"__npscalar__": _encode(value.item()), "dtype": value.dtype.str}
    if isinstance(value, np.random.Generator):
        return {"__generator__": _encode(value.bit_generator.state)}
    if isinstance(value, np.random.RandomState):
        return {"__random_state__": _encode(value.get_state())}
    if isinstance(value, TrainingState):
        return {"__training_state__": _encode(dataclasses.asdict(value))}
    if type(value) in _estimator_classes().values():
        if hasattr(value, "get_params"):  # EnsembleTagger's estimator
            params = value.get_params(deep=False)
            return {"__estimator__": [type(value).__name__, _encode(params)]}
        # plain fitted state (an input reader): its attributes
        return {"__object__": [type(value).__name__, _encode(vars(value))]}
    if isinstance(value, torch.device):
        return {"__device__": str(value)}
    if isinstance(value, os.PathLike):
        return os.fspath(value)  # a folder name (checkpoint_dir) reads back as a str
    if callable(value):
        module = getattr(value, "__module__", "?")
        return {"__callable__": f"{module}.{getattr(value, '__qualname__', value)}"}
    raise TypeError(
        f"cannot store a {type(value).__name__} in the safe format; use pickle or "
        "joblib"
    )


def _decode(value):
    """The value :func:`_encode` was given; only the tags it writes are understood."""
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    tag = next(iter(value), None)
    if tag == "__ndarray__":
        dtype = np.dtype(value["dtype"])
        if dtype.kind in "OV":
            items = _decode(value["__ndarray__"])
            if dtype.kind == "V":
                raise ValueError("structured arrays are not part of the format")
            array = np.empty(len(items), dtype=object)
            array[:] = items
            return array.reshape(value["shape"])
        return np.array(_decode(value["__ndarray__"]), dtype=dtype).reshape(
            value["shape"]
        )
    if tag == "__npscalar__":
        return np.dtype(value["dtype"]).type(_decode(value["__npscalar__"]))
    if len(value) != 1:
        raise ValueError(f"unknown entry in the model file: {sorted(value)}")
    inner = value[tag]
    if tag == "__tuple__":
        return tuple(_decode(v) for v in inner)
    if tag == "__dict__":
        return {_decode(k): _decode(v) for k, v in inner}
    if tag == "__generator__":
        state = _decode(inner)
        if state.get("bit_generator") != "PCG64":
            raise ValueError("only PCG64 generators are part of the format")
        generator = np.random.Generator(np.random.PCG64())
        generator.bit_generator.state = state
        return generator
    if tag == "__random_state__":
        random_state = np.random.RandomState()
        random_state.set_state(_decode(inner))
        return random_state
    if tag == "__training_state__":
        return TrainingState(**_decode(inner))
    if tag == "__device__":
        return torch.device(inner)
    if tag == "__callable__":
        return _Callable(inner)
    if tag == "__object__":
        name, attributes = inner
        cls = _estimator_classes().get(name)
        if cls is None or hasattr(cls, "get_params"):
            raise ValueError(f"{name!r} is not a class of sklearn-rnn's fitted state")
        obj = cls.__new__(cls)
        vars(obj).update(_decode(attributes))
        return obj
    if tag == "__estimator__":
        name, params = inner
        cls = _estimator_classes().get(name)
        if cls is None:
            raise ValueError(f"{name!r} is not an sklearn-rnn estimator")
        return cls(**_decode(params))
    raise ValueError(f"unknown entry in the model file: {tag!r}")
