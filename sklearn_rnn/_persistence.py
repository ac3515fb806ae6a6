"""A model file format that never executes code: ``estimator.save(path)`` and
:func:`load`.

A model file (format version 2) is a zip archive, its members stored uncompressed:

- ``sklearn_rnn.json``: the format name and version, the library, torch and scikit-learn
  versions, the estimator's class name, its parameters, its fitted state and, for a
  fitted network, its optimizer's state less the tensors (parameter groups, and any
  value that is not a tensor as a number), in a small tagged JSON vocabulary (arrays,
  tuples, dicts with any keys, random generators) that :class:`_Decoder` turns back
  into values and never into code;
- ``module.safetensors``: the network's state dict in the `safetensors
  <https://github.com/huggingface/safetensors>`_ format (a JSON header of names, dtypes,
  shapes and offsets, then the raw bytes);
- ``optimizer.safetensors``: the optimizer's state tensors (Adam's moments and step
  counts) under flat names, ``state.0.exp_avg``, that the JSON points to.

An ensemble (:class:`~sklearn_rnn.EnsembleTagger`) has no network of its own: each
fitted member ``i`` lies in the same archive under ``members/<i>/``
(``members/0/sklearn_rnn.json``, ``members/0/module.safetensors``, ...), read with the
same checks.

Reading is bounded. Before it reads any member, :func:`load` checks the archive's
member names (those above, nothing else), each member's size (JSON at most
``max_json_bytes``, 64 MiB unless told otherwise; tensors at most 16 GiB) and its
compression ratio (at most 100). JSON may nest 64 levels deep, and the arrays in it
may take 16 MiB plus 16 bytes per byte of JSON. Before it builds a network it builds
it on torch's ``meta`` device, which allocates nothing, and compares every name, shape
and dtype with the header of the tensor file. Anything wrong with a file is a
:class:`ValueError` that names it (a missing file is the :class:`FileNotFoundError`
that :func:`open` raises).

A file names its estimator's class, which must be one registered with
:func:`register`: every concrete estimator built on sklearn-rnn's base registers
itself, and :class:`~sklearn_rnn.EnsembleTagger` too; this module imports none of
them. A parameter that was a function (a custom ``tokenizer``) is recorded by name
only and must be passed again to :func:`load`.

:func:`save` writes a temporary file beside the target and moves it into place in one
step, so that a save that fails midway leaves the previous file as it was.

Format version 1 kept tensors as torch pickles (``module.pt``, ``optimizer.pt``; an
ensemble nested whole files, ``members/<i>.skrnn``). :func:`load` refuses those files;
:func:`convert_legacy` rewrites one, for a file you trust.
"""

import contextlib
import dataclasses
import importlib
import inspect
import io
import json
import math
import os
import re
import struct
import threading
import uuid
import warnings
import zipfile

import numpy as np
import safetensors.torch
import sklearn
import torch
from torch.nn.modules import module as _torch_module

# the registry lives in _registry (torch-free); register stays reachable here, where
# the package's classes and users' code find it
from ._registry import _REGISTRY, register  # noqa: F401
from ._training import TrainingState
from ._version import __version__
from .exceptions import InconsistentVersionWarning

FORMAT = "sklearn-rnn"
FORMAT_VERSION = 2
JSON_MEMBER = "sklearn_rnn.json"
MODULE_MEMBER = "module.safetensors"
OPTIMIZER_MEMBER = "optimizer.safetensors"

# the bounds of reading (see the module docstring)
MAX_JSON_BYTES = 64 * 2**20
MAX_TENSOR_BYTES = 16 * 2**30
MAX_COMPRESSION_RATIO = 100
MAX_JSON_DEPTH = 64
# what JSON may cost beyond its size: arrays take at most SLACK_BYTES plus this many
# bytes per byte of JSON; a network's buffers outside its state dict, at most
# SLACK_BYTES plus twice its tensors
SLACK_BYTES = 16 * 2**20
ARRAY_BYTES_PER_JSON_BYTE = 16

_INDEX = r"(?:0|[1-9][0-9]{0,5})"
_NAME = re.compile(
    rf"(?:members/{_INDEX}/)*(?:sklearn_rnn\.json|module\.safetensors"
    r"|optimizer\.safetensors)"
)
_LEGACY_NAME = re.compile(rf"module\.pt|optimizer\.pt|members/{_INDEX}\.skrnn")
# the attributes that hold torch objects or other estimators: stored apart from JSON
_NOT_JSON = ("module_", "optimizer_", "estimators_")

# ---------------------------------------------------------------------- registry


def _registered_class(name):
    """The registered concrete class called ``name``, or ``None``."""
    # sklearn-rnn's estimators register when their modules are imported, which the
    # package does lazily: load them all
    importlib.import_module(__package__)._load_all()
    cls = _REGISTRY.get(name) if isinstance(name, str) else None
    if cls is None or inspect.isabstract(cls):
        return None
    return cls


def _registered_names():
    return sorted(name for name in _REGISTRY if _registered_class(name) is not None)


# ---------------------------------------------------------------------- writing


def save(estimator, path):
    """Write ``estimator`` to ``path`` (see the module docstring for the format).

    Parameters
    ----------
    estimator : estimator of a registered class
    path : str, path-like or binary file object
        A file name is written through a temporary file in the same folder that
        replaces it in one step (:func:`os.replace`): a save that fails midway
        leaves a previous file of that name as it was. A file object is written as
        it is.
    """
    if hasattr(path, "write"):
        _write_archive(estimator, path)
        return
    folder, name = os.path.split(os.path.abspath(os.fspath(path)))
    temporary = os.path.join(folder, f".{name}.{uuid.uuid4().hex[:12]}.partial")
    # like open(path, "wb"), the umask decides the mode; O_EXCL never reuses a file
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    descriptor = os.open(temporary, flags, 0o666)
    try:
        with open(descriptor, "wb") as file:
            _write_archive(estimator, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise


def _write_archive(estimator, file):
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED) as archive:
        _write_estimator(archive, estimator, "")


def _write_estimator(archive, estimator, prefix):
    cls = type(estimator)
    if _REGISTRY.get(cls.__name__) is not cls:
        raise TypeError(
            f"cannot save a {cls.__module__}.{cls.__qualname__}: model files hold "
            "only classes registered with sklearn_rnn._persistence.register, and "
            + (
                "another class of that name is registered"
                if cls.__name__ in _REGISTRY
                else "it is not"
            )
        )
    params = estimator.get_params(deep=False)
    state = vars(estimator)
    fitted = {k: v for k, v in state.items() if k not in params and k not in _NOT_JSON}
    members = state.get("estimators_", [])
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "sklearn_rnn_version": __version__,
        "torch_version": torch.__version__,
        "sklearn_version": sklearn.__version__,
        "class": cls.__name__,
        "params": _encode(params),
        "fitted": _encode(fitted),
        "has_module": "module_" in state,
        "n_members": len(members),
    }
    if metadata["has_module"]:
        optimizer, optimizer_tensors = _split_optimizer_state(
            estimator.optimizer_.state_dict()
        )
        metadata["optimizer"] = optimizer
    archive.writestr(prefix + JSON_MEMBER, json.dumps(metadata, indent=1))
    if metadata["has_module"]:
        module_state = estimator.module_.state_dict()
        archive.writestr(prefix + MODULE_MEMBER, _tensor_bytes(module_state))
        archive.writestr(prefix + OPTIMIZER_MEMBER, _tensor_bytes(optimizer_tensors))
    for i, member in enumerate(members):
        _write_estimator(archive, member, _member_prefix(prefix, i))


def _member_prefix(prefix, i):
    return f"{prefix}members/{i}/"


def _tensor_bytes(tensors):
    """``tensors`` (a dict) in the safetensors format, copied to the CPU so that the
    file names no device (a copy also parts tensors that share memory, which
    safetensors refuses)."""
    return safetensors.torch.save(
        {
            name: t.detach().to("cpu", copy=True).contiguous()
            for name, t in tensors.items()
        }
    )


def _split_optimizer_state(state_dict):
    """An optimizer's state dict as JSON and a dict of its tensors by flat name.

    ``state`` becomes a list of ``[parameter id, [[name, flat name], ...], other
    values]``, one entry per parameter; the tensors are stored as ``state.<i>.<name>``.
    """
    entries, tensors = [], {}
    for i, (key, values) in enumerate(state_dict["state"].items()):
        names, others = [], {}
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                flat = f"state.{i}.{name}"
                tensors[flat] = value
                names.append([_encode(name), flat])
            else:
                others[name] = value
        entries.append([_encode(key), names, _encode(others)])
    return {"param_groups": _encode(state_dict["param_groups"]), "state": entries}, (
        tensors
    )


# ---------------------------------------------------------------------- reading


def load(path, *, device=None, max_json_bytes=MAX_JSON_BYTES, **params):
    """Read a model that :meth:`save` wrote, without running any code from the file.

    The file is checked before anything large is read or built (see "Raises"), so a
    file from anywhere can be given to it.

    Parameters
    ----------
    path : str, path-like or binary file object
    device : str, torch.device or None, default=None
        Where to put the network. ``None``: where the estimator's ``device`` parameter
        says when this machine has that device (so a model predicts exactly as it did
        before it was saved), else on the CPU (so a model fitted on a GPU loads on a
        machine without one).
    max_json_bytes : int, default=64 MiB
        The largest JSON member to read. Raise it for a file you trust whose
        parameters hold much data (large ``pretrained_embeddings``).
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
    FileNotFoundError
        When there is no file at ``path``.
    ValueError
        When the file is not an sklearn-rnn model file of format version 2, or is
        damaged or malformed in any way: a member that should not be there, one
        larger than the limits or compressed more than 100 to 1, JSON nested more
        than 64 levels deep or of the wrong types, an estimator class that is not
        registered, a network whose sizes disagree with the tensors present. The
        message names what is wrong. A file of format version 1 (tensors as
        pickles) is refused too: see :func:`convert_legacy`.

    See Also
    --------
    convert_legacy : rewrite a file of format version 1 in this format.

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
    return _load(path, device, params, max_json_bytes=max_json_bytes, legacy=False)


def convert_legacy(path, new_path, **params):
    """Rewrite a model file of format version 1 in the current format.

    Version 1 files keep their tensors as torch pickles, which :func:`load` no longer
    reads. This function reads them with ``torch.load(weights_only=True)``.

    .. warning::
        That relies on torch's restricted unpickler to refuse anything but tensors
        and plain containers: a weaker guarantee than the current format, which
        holds no pickle at all. Convert only files you trust, once, and keep the
        new file.

    Parameters
    ----------
    path : str, path-like or binary file object
        A file of format version 1 (or 2, which is read as :func:`load` reads it).
    new_path : str, path-like or binary file object
        Where to write the model in the current format.
    **params
        As for :func:`load`: any parameter that was a function when saved.

    See Also
    --------
    load : read a file in the current format.
    """
    estimator = _load(path, None, params, max_json_bytes=MAX_JSON_BYTES, legacy=True)
    save(estimator, new_path)


class _Refused(ValueError):
    """A ValueError whose message already names the file and what is wrong in it."""


@contextlib.contextmanager
def _reading(what):
    """Turn any error but our own (and warnings raised as errors) into a ValueError
    that names ``what`` was being read: the last line of defence, behind the checks."""
    try:
        yield
    except (_Refused, Warning, MemoryError):
        raise
    except Exception as exc:
        raise _Refused(f"{what}: {type(exc).__name__}: {exc}") from exc


def _load(path, device, params, *, max_json_bytes, legacy):
    if hasattr(path, "read"):
        label = str(getattr(path, "name", "the model file"))
        file, close = path, False
    else:
        label = os.fspath(path)
        file, close = open(path, "rb"), True  # a missing file: FileNotFoundError
    notes = []  # the versions that saved members, for InconsistentVersionWarning
    try:
        with _Archive.open(file, label, max_json_bytes, legacy, notes) as archive:
            estimator = _read_estimator(archive, "", device, params)
            archive.check_all_read()
    finally:
        if close:
            file.close()
    for name, version in dict.fromkeys(notes):
        warnings.warn(
            InconsistentVersionWarning(
                estimator_name=name,
                current_version=__version__,
                original_version=version,
            ),
            stacklevel=3,  # the caller of load
        )
    return estimator


class _Archive:
    """An open model file whose member names, sizes and compression ratios have been
    checked; reads members, never more than it allows."""

    def __init__(self, zip_file, label, max_json_bytes, legacy, notes):
        self.zip, self.label, self.legacy, self.notes = zip_file, label, legacy, notes
        self.max_json_bytes = max_json_bytes
        self.infos, self.read_names = {}, set()
        for info in zip_file.infolist():
            self._check_member(info)
            self.infos[info.filename] = info

    @classmethod
    @contextlib.contextmanager
    def open(cls, file, label, max_json_bytes, legacy, notes):
        try:
            zip_file = zipfile.ZipFile(file)
        except (Warning, MemoryError):
            raise
        except Exception as exc:
            raise _Refused(
                f"{label} is not an sklearn-rnn model file: {type(exc).__name__}: {exc}"
            ) from None
        with zip_file:
            yield cls(zip_file, label, max_json_bytes, legacy, notes)

    def _check_member(self, info):
        name = info.filename
        if name in self.infos:
            raise _Refused(f"{self.label} holds two members named {name!r}")
        if _LEGACY_NAME.fullmatch(name) and not self.legacy:
            raise self.legacy_refusal()
        if not (
            _NAME.fullmatch(name) or (self.legacy and _LEGACY_NAME.fullmatch(name))
        ):
            raise _Refused(
                f"{self.label} holds an unexpected member {name[:200]!r}: a model "
                "file holds sklearn_rnn.json, module.safetensors, "
                "optimizer.safetensors and members/<i>/... only"
            )
        limit = self.max_json_bytes if name.endswith(".json") else MAX_TENSOR_BYTES
        if info.file_size > limit:
            raise _Refused(
                f"{self.label}: {name} unpacks to {info.file_size} bytes, more than "
                f"the {limit} allowed"
                + (
                    " (load's max_json_bytes raises the limit for a file you trust)"
                    if name.endswith(".json")
                    else ""
                )
            )
        if info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
            raise _Refused(
                f"{self.label}: {name} is compressed {info.file_size} to "
                f"{info.compress_size} bytes, more than {MAX_COMPRESSION_RATIO} to 1 "
                "(sklearn-rnn stores members uncompressed)"
            )

    def legacy_refusal(self):
        return _Refused(
            f"{self.label} is an sklearn-rnn model file of format version 1, which "
            f"keeps its tensors as pickles; sklearn-rnn {__version__} reads format "
            f"version {FORMAT_VERSION} only. If you trust the file, convert it once: "
            "sklearn_rnn.convert_legacy(path, new_path)"
        )

    def read(self, name):
        info = self.infos.get(name)
        if info is None:
            raise _Refused(f"{self.label} is incomplete: no {name}")
        self.read_names.add(name)
        try:
            return self.zip.read(info)
        except (Warning, MemoryError):
            raise
        except Exception as exc:  # a bad CRC, a truncated or encrypted member, ...
            raise _Refused(
                f"{self.label}: cannot read {name}, the file is damaged "
                f"({type(exc).__name__}: {exc})"
            ) from None

    def read_json(self, name):
        data = self.read(name)
        return _parse_json(data, f"{self.label}: {name}"), len(data)

    def check_all_read(self):
        unread = sorted(set(self.infos) - self.read_names)
        if unread:
            raise _Refused(
                f"{self.label} holds members that its JSON does not name: {unread[:5]}"
            )


_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")


def _parse_json(data, what):
    """Parse JSON ``data``, refusing it when it nests more than ``MAX_JSON_DEPTH``
    levels (Python's parser would recurse until it raised RecursionError)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Refused(f"{what} is not valid JSON ({exc})") from None
    depth = _json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise _Refused(
            f"{what} nests {depth} levels deep, more than the {MAX_JSON_DEPTH} allowed"
        )
    try:
        return json.loads(text)
    except ValueError as exc:
        raise _Refused(f"{what} is not valid JSON ({exc})") from None


def _json_depth(text, chunk=2**20):
    """How deep the brackets of JSON ``text`` nest (brackets in strings do not count),
    without parsing it."""
    brackets = _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text)).encode("ascii")
    codes = np.frombuffer(brackets, dtype=np.uint8)
    deepest = level = 0
    for start in range(0, len(codes), chunk):
        part = codes[start : start + chunk]
        steps = np.where((part == ord("[")) | (part == ord("{")), 1, -1)
        levels = np.cumsum(steps, dtype=np.int64) + level
        deepest, level = max(deepest, int(levels.max())), int(levels[-1])
    return deepest


def _read_estimator(archive, prefix, device, params):
    """The estimator whose JSON is ``prefix + sklearn_rnn.json`` in ``archive``."""
    member = prefix + JSON_MEMBER
    where = f"{archive.label}: {member}"
    metadata, size = archive.read_json(member)
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise _Refused(f"{archive.label} is not an sklearn-rnn model file ({member})")
    version = metadata.get("format_version")
    if version == 1 and not archive.legacy:
        raise archive.legacy_refusal()
    if version not in ((1, 2) if archive.legacy else (FORMAT_VERSION,)):
        raise _Refused(
            f"{archive.label} uses sklearn-rnn file format version {version!r:.40}; "
            f"this version of sklearn-rnn ({__version__}) reads version "
            f"{FORMAT_VERSION} only"
        )
    _check_fields(metadata, where, version)
    cls = _registered_class(metadata["class"])
    if cls is None:
        raise _Refused(
            f"{where} holds a {metadata['class']!r:.100}, which is not an sklearn-rnn "
            f"estimator ({_registered_names()})"
        )
    saved_by = metadata.get("sklearn_rnn_version")
    if saved_by != __version__:
        archive.notes.append((cls.__name__, str(saved_by)))
    decoder = _Decoder(SLACK_BYTES + ARRAY_BYTES_PER_JSON_BYTE * size)
    with _reading(f"{where}: params"):
        saved = _decoded_attributes(decoder, metadata["params"], "params")
    for name, value in saved.items():
        functions = value if isinstance(value, list | tuple) else [value]
        named = [f.name for f in functions if isinstance(f, _Callable)]
        if named and name not in params:
            raise _Refused(
                f"{archive.label} was saved with {name}={', '.join(named)}, a "
                "function: the safe format stores no code. Pass it again: "
                f"load(path, {name}=...)"
            )
    with _reading(f"{where}: params"):
        estimator = cls(**{**saved, **params})
        estimator._validate_params()  # what fit would refuse, the file may not hold
    with _reading(f"{where}: fitted"):
        fitted = _decoded_attributes(decoder, metadata["fitted"], "fitted")
        _check_fitted(cls, fitted, saved)
        vars(estimator).update(fitted)
        if hasattr(estimator, "_upgrade_fitted_state"):  # a format-1 file's state
            estimator._upgrade_fitted_state()
    if metadata["has_module"]:
        if not hasattr(estimator, "_restore_torch_state"):
            raise _Refused(f"{where}: a {cls.__name__} has no network to restore")
        with _reading(f"{archive.label}: {prefix}network"):
            _restore_network(archive, prefix, estimator, metadata, decoder)
        if device is not None:
            estimator.to(device)
    members = []
    for i in range(metadata["n_members"]):
        if archive.legacy and version == 1:
            members.append(_read_legacy_member(archive, i, device))
        else:
            members.append(
                _read_estimator(archive, _member_prefix(prefix, i), device, {})
            )
    if members:
        estimator.estimators_ = members
    return estimator


def _check_fields(metadata, where, version):
    """Refuse JSON whose fields are missing or of the wrong type."""
    fields = {
        "class": str,
        "params": object,
        "fitted": object,
        "has_module": bool,
        "n_members": int,
    }
    if version == FORMAT_VERSION and metadata.get("has_module"):
        fields["optimizer"] = dict
    for name, kind in fields.items():
        if name not in metadata:
            raise _Refused(f"{where} has no {name!r} field")
        value = metadata[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise _Refused(
                f"{where}: {name!r} must be a {kind.__name__}, got "
                f"{type(value).__name__} {value!r:.60}"
            )
    if metadata["n_members"] < 0:
        raise _Refused(f"{where}: 'n_members' is negative")


def _decoded_attributes(decoder, value, what):
    """``value`` decoded into a dict of attribute names and values."""
    attributes = decoder.decode(value)
    if not isinstance(attributes, dict):
        raise ValueError(f"{what} must be a dict, got a {type(attributes).__name__}")
    for name in attributes:
        if not (isinstance(name, str) and name.isidentifier()):
            raise ValueError(f"{what} holds {name!r:.60}, which is not a name")
    return attributes


def _check_fitted(cls, fitted, params):
    for name in fitted:
        if name in params or name in _NOT_JSON or name.startswith("__"):
            raise ValueError(f"{name!r} is not a fitted attribute")
        if callable(getattr(cls, name, None)):
            raise ValueError(f"{name!r} would hide the method {cls.__name__}.{name}")


def _restore_network(archive, prefix, estimator, metadata, decoder):
    """Give ``estimator`` its network and optimizer from the file, after checking the
    network the JSON describes against the tensors present."""
    module_member = prefix + MODULE_MEMBER
    optimizer_member = prefix + OPTIMIZER_MEMBER
    legacy = archive.legacy and metadata["format_version"] == 1
    if legacy:
        module_member, optimizer_member = "module.pt", "optimizer.pt"
    module_data = archive.read(module_member)
    if legacy:
        module_state = _legacy_tensors(module_data, f"{archive.label}: module.pt")
        described = {k: (v.dtype, tuple(v.shape)) for k, v in module_state.items()}
    else:
        described = _tensor_header(module_data, f"{archive.label}: {module_member}")
    _check_network(estimator, described, f"{archive.label}: {module_member}")
    optimizer_data = archive.read(optimizer_member)
    if legacy:
        optimizer_state = _legacy_tensors(
            optimizer_data, f"{archive.label}: {optimizer_member}"
        )
    else:
        module_state = _load_tensors(module_data, f"{archive.label}: {module_member}")
        where = f"{archive.label}: {optimizer_member}"
        _tensor_header(optimizer_data, where)
        optimizer_state = _join_optimizer_state(
            decoder, metadata["optimizer"], _load_tensors(optimizer_data, where)
        )
    _check_optimizer_state(optimizer_state)
    estimator._restore_torch_state(module_state, optimizer_state)


# the dtypes of safetensors headers that torch modules hold
_DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}


def _tensor_header(data, what):
    """``{name: (dtype, shape)}`` of the tensors in safetensors ``data``, read from its
    header without making a tensor; refuses a header that does not describe ``data``."""
    if len(data) < 8:
        raise _Refused(f"{what} is not a safetensors file ({len(data)} bytes)")
    (size,) = struct.unpack("<Q", data[:8])
    if size > len(data) - 8:
        raise _Refused(f"{what} is not a safetensors file (a header of {size} bytes)")
    header = _parse_json(data[8 : 8 + size], f"{what} header")
    if not isinstance(header, dict):
        raise _Refused(f"{what} is not a safetensors file (its header is no dict)")
    n_bytes = len(data) - 8 - size
    described = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if not (
            isinstance(entry, dict) and set(entry) == {"dtype", "shape", "data_offsets"}
        ):
            raise _Refused(f"{what}: the header entry of {name!r:.60} is malformed")
        dtype = _DTYPES.get(entry["dtype"]) if isinstance(entry["dtype"], str) else None
        shape, offsets = entry["shape"], entry["data_offsets"]
        if dtype is None:
            raise _Refused(f"{what}: {name!r:.60} has an unknown dtype")
        if not (_is_size_list(shape) and _is_size_list(offsets) and len(offsets) == 2):
            raise _Refused(f"{what}: {name!r:.60} has a malformed shape or offsets")
        begin, end = offsets
        if (
            not begin <= end <= n_bytes
            or end - begin != math.prod(shape) * dtype.itemsize
        ):
            raise _Refused(
                f"{what}: {name!r:.60} of shape {shape} does not fit its "
                f"{end - begin} bytes"
            )
        described[name] = (dtype, tuple(shape))
    return described


def _is_size_list(value):
    return isinstance(value, list) and all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value
    )


def _load_tensors(data, what):
    try:
        return safetensors.torch.load(data)
    except (Warning, MemoryError):
        raise
    except Exception as exc:
        raise _Refused(f"{what} is not a valid safetensors file: {exc}") from None


def _legacy_tensors(data, what):
    """A version-1 tensor file, read with torch's restricted unpickler."""
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except (Warning, MemoryError):
        raise
    except Exception as exc:  # weights_only refuses anything that could run code
        raise _Refused(
            f"{what}: refusing a tensor file that is not plain tensors: {exc}"
        ) from None
    if not isinstance(state, dict):
        raise _Refused(f"{what} holds no state dict")
    return state


def _read_legacy_member(archive, i, device):
    """Member ``i`` of a version-1 ensemble: a whole model file inside the file."""
    name = f"members/{i}.skrnn"
    data = archive.read(name)
    label = f"{archive.label}:{name}"
    with _Archive.open(
        io.BytesIO(data), label, archive.max_json_bytes, True, archive.notes
    ) as inner:
        member = _read_estimator(inner, "", device, {})
        inner.check_all_read()
    return member


class _TooLarge(Exception):
    pass


@contextlib.contextmanager
def _registration_limit(limit):
    """Stop the modules built in this thread inside the block once they register more
    than ``limit`` submodules, parameters and buffers: the meta device makes a
    tensor of any size free, not a structure of any size (``num_layers=10**9``)."""
    owner, count = threading.get_ident(), 0

    def count_one(module, name, value):
        nonlocal count
        if threading.get_ident() == owner:
            count += 1
            if count > limit:
                raise _TooLarge(
                    f"the network the JSON describes has more than {limit} parts"
                )

    handles = [
        _torch_module.register_module_module_registration_hook(count_one),
        _torch_module.register_module_parameter_registration_hook(count_one),
        _torch_module.register_module_buffer_registration_hook(count_one),
    ]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _check_network(estimator, described, what):
    """Refuse a file whose JSON describes a network other than the tensors in it.

    The network is built on the meta device first, which allocates nothing, and its
    state dict compared with ``described`` (names, dtypes and shapes of the tensors
    present): a file cannot make :func:`load` allocate more than the tensors it holds
    (and twice as much again for buffers outside the state dict, the CRF's masks)."""
    try:
        with _registration_limit(4 * len(described) + 64), torch.device("meta"):
            module = estimator._new_module()
    except _TooLarge as exc:
        raise _Refused(f"{what}: {exc}, for {len(described)} tensors") from None
    expected = module.state_dict()
    missing = sorted(set(expected) - set(described))
    unexpected = sorted(set(described) - set(expected))
    if missing or unexpected:
        raise _Refused(
            f"{what} does not hold the tensors of the network the JSON describes "
            f"(missing: {missing[:5]}, unexpected: {unexpected[:5]})"
        )
    for name, tensor in expected.items():
        dtype, shape = described[name]
        if (tensor.dtype, tuple(tensor.shape)) != (dtype, shape):
            raise _Refused(
                f"{what}: {name} is {dtype} of shape {shape}, but the network the JSON "
                f"describes needs {tensor.dtype} of shape {tuple(tensor.shape)}"
            )
    held = sum(math.prod(shape) * dtype.itemsize for dtype, shape in described.values())
    needs = sum(
        t.numel() * t.element_size() for t in (*module.parameters(), *module.buffers())
    )
    if needs > 2 * held + SLACK_BYTES:
        raise _Refused(
            f"{what}: the network the JSON describes needs {needs} bytes for "
            f"{held} bytes of tensors"
        )


def _join_optimizer_state(decoder, spec, tensors):
    """The optimizer state dict that :func:`_split_optimizer_state` took apart."""
    if set(spec) != {"param_groups", "state"} or not isinstance(spec["state"], list):
        raise ValueError("the optimizer's JSON is malformed")
    state, used = {}, set()
    for entry in spec["state"]:
        if not (isinstance(entry, list) and len(entry) == 3):
            raise ValueError("an optimizer state entry is malformed")
        key, names, others = entry
        values = decoder.decode(others)
        if not isinstance(values, dict) or not isinstance(names, list):
            raise ValueError("an optimizer state entry is malformed")
        for pair in names:
            if not (isinstance(pair, list) and len(pair) == 2):
                raise ValueError("an optimizer state entry is malformed")
            name, flat = decoder.decode(pair[0]), pair[1]
            if not isinstance(flat, str) or flat not in tensors or flat in used:
                raise ValueError(
                    f"the optimizer's JSON names a tensor {flat!r:.60} that "
                    f"{OPTIMIZER_MEMBER} does not hold"
                )
            used.add(flat)
            values[name] = tensors[flat]
        state[decoder.decode(key)] = values
    unused = sorted(set(tensors) - used)
    if unused:
        raise ValueError(
            f"{OPTIMIZER_MEMBER} holds tensors the JSON does not name: {unused[:5]}"
        )
    return {"state": state, "param_groups": decoder.decode(spec["param_groups"])}


def _check_optimizer_state(state_dict):
    """Refuse an optimizer state dict whose structure torch would trip over later."""
    groups = state_dict.get("param_groups")
    if not isinstance(groups, list) or not all(
        isinstance(g, dict) and _is_size_list(g.get("params")) for g in groups
    ):
        raise ValueError("the optimizer's parameter groups are malformed")
    ids = [i for g in groups for i in g["params"]]
    if len(set(ids)) != len(ids):
        raise ValueError("the optimizer's parameter groups repeat a parameter")
    state = state_dict.get("state")
    if not isinstance(state, dict) or not set(state) <= set(ids):
        raise ValueError("the optimizer's state names parameters it does not have")
    if not all(isinstance(v, dict) for v in state.values()):
        raise ValueError("the optimizer's state is malformed")


# ---------------------------------------------------------------------- JSON values


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
    if _REGISTRY.get(type(value).__name__) is type(value):
        if hasattr(value, "get_params"):  # EnsembleTagger's estimator
            params = value.get_params(deep=False)
            return {"__estimator__": [type(value).__name__, _encode(params)]}
        # fitted state of plain data (an input reader): its attributes
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


# the kinds of numpy dtype that _encode writes: bool, integers, floats, str, object
_ARRAY_KINDS = "biufUO"


class _Decoder:
    """Turns what :func:`_encode` wrote back into values, never into code.

    Only the tags :func:`_encode` writes are understood, each checked for its shape;
    the numpy arrays decoded take at most ``budget`` bytes in all, so that a dtype
    of a billion characters cannot turn a short file into a large allocation.
    """

    def __init__(self, budget):
        self.budget = budget

    def decode(self, value):
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict):
            return value
        tag = next(iter(value), None)
        if tag == "__ndarray__":
            return self._array(value)
        if tag == "__npscalar__":
            _expect_keys(value, {"__npscalar__", "dtype"})
            if isinstance(value[tag], list | dict):
                raise ValueError("a numpy scalar holds a list or a dict")
            return _dtype(value["dtype"]).type(value[tag])
        if len(value) != 1:
            raise ValueError(f"unknown entry in the model file: {sorted(value)[:5]}")
        inner = value[tag]
        if tag == "__tuple__":
            return tuple(self.decode(v) for v in _expect_list(inner, tag))
        if tag == "__dict__":
            pairs = _expect_list(inner, tag)
            if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
                raise ValueError(
                    "a __dict__ entry must be a list of [key, value] pairs"
                )
            return {self.decode(k): self.decode(v) for k, v in pairs}
        if tag == "__generator__":
            state = self.decode(inner)
            if not isinstance(state, dict) or state.get("bit_generator") != "PCG64":
                raise ValueError("only PCG64 generators are part of the format")
            generator = np.random.Generator(np.random.PCG64())
            generator.bit_generator.state = state
            return generator
        if tag == "__random_state__":
            random_state = np.random.RandomState()
            random_state.set_state(self.decode(inner))
            return random_state
        if tag == "__training_state__":
            fields = self.decode(inner)
            if not isinstance(fields, dict):
                raise ValueError("a __training_state__ entry must be a dict")
            return TrainingState(**fields)
        if tag == "__device__":
            try:
                return torch.device(inner)
            except (RuntimeError, TypeError):
                raise ValueError(f"unknown device {inner!r:.60}") from None
        if tag == "__callable__":
            if not isinstance(inner, str):
                raise ValueError("a __callable__ entry must be a name")
            return _Callable(inner)
        if tag == "__object__":
            name, attributes = _expect_list(inner, tag, length=2)
            cls = _registered_class(name)
            if cls is None or hasattr(cls, "get_params"):
                raise ValueError(
                    f"{name!r:.100} is not a class of sklearn-rnn's fitted state"
                )
            attributes = _decoded_attributes(self, attributes, f"a {cls.__name__}")
            obj = cls.__new__(cls)
            vars(obj).update(attributes)
            return obj
        if tag == "__estimator__":
            name, params = _expect_list(inner, tag, length=2)
            cls = _registered_class(name)
            if cls is None:
                raise ValueError(f"{name!r:.100} is not an sklearn-rnn estimator")
            params = self.decode(params)
            if not isinstance(params, dict):
                raise ValueError("an __estimator__ entry's parameters must be a dict")
            return cls(**params)
        raise ValueError(f"unknown entry in the model file: {tag!r:.60}")

    def _array(self, value):
        _expect_keys(value, {"__ndarray__", "dtype", "shape"})
        dtype, shape = _dtype(value["dtype"]), value["shape"]
        if not _is_size_list(shape):
            raise ValueError(
                f"an array's shape must be a list of sizes, got {shape!r:.60}"
            )
        items = value["__ndarray__"]
        if dtype.kind == "O":
            items = self.decode(_expect_list(items, "__ndarray__"))
            self._spend(8 * len(items))
            array = np.empty(len(items), dtype=object)
            array[:] = items
            return array.reshape(shape)
        n_items = _count_scalars(items)
        if n_items != math.prod(shape):
            raise ValueError(f"an array of shape {shape} holds {n_items} values")
        self._spend(n_items * dtype.itemsize)
        return np.array(items, dtype=dtype).reshape(shape)

    def _spend(self, n_bytes):
        if n_bytes > self.budget:
            raise ValueError(
                "the arrays in the JSON would take more memory than its size warrants"
            )
        self.budget -= n_bytes


def _dtype(name):
    if not isinstance(name, str):
        raise ValueError(f"a dtype must be a str, got {name!r:.60}")
    dtype = np.dtype(name)
    if dtype.kind not in _ARRAY_KINDS or dtype.itemsize == 0 and dtype.kind == "U":
        raise ValueError(f"arrays of dtype {name!r:.60} are not part of the format")
    return dtype


def _expect_keys(value, keys):
    if set(value) != keys:
        raise ValueError(
            f"malformed entry: {sorted(value)[:5]}, expected {sorted(keys)}"
        )


def _expect_list(value, tag, length=None):
    if not isinstance(value, list) or (length is not None and len(value) != length):
        raise ValueError(f"a {tag} entry is malformed")
    return value


def _count_scalars(items):
    """How many scalars nested lists ``items`` hold (JSON nests 64 levels at most)."""
    if isinstance(items, list):
        return sum(_count_scalars(item) for item in items)
    if isinstance(items, dict):
        raise ValueError("an array holds a dict")
    return 1
