"""The model file format against damaged and hostile files: no pickle anywhere,
reading bounded before anything large is read or built, a ValueError that names
whatever is wrong, saves that never leave half a file, the version-1 files, and the
registry of the classes a file may name."""

import ast
import io
import json
import os
import pickle
import resource
import stat
import time
import tracemalloc
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone

import sklearn_rnn
from sklearn_rnn import RNNClassifier, _persistence, convert_legacy, load

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

DATA = Path(__file__).parent / "data"
TEXTS = ["the cat sat", "a dog ran", "the cat ran off", "a dog sat down"] * 4
LABELS = ["cat", "dog"] * 8
SENTENCES = [["Anna", "lives", "in", "Oslo"], ["Bo", "visits", "Rome"]] * 6
TINY = dict(hidden_size=2, embedding_dim=2, max_iter=2, random_state=0, device="cpu")


@pytest.fixture(scope="module")
def small():
    return RNNClassifier(**TINY).fit(TEXTS, LABELS)


@pytest.fixture(scope="module")
def small_file(small):
    return _saved(small)


@pytest.fixture(scope="module")
def ensemble_file(tmp_path_factory):
    """An ensemble of two taggers in the current format, from the version-1 file."""
    path = tmp_path_factory.mktemp("ensemble") / "ensemble.skrnn"
    convert_legacy(DATA / "v1_ensemble.skrnn", path)
    return path.read_bytes()


def _saved(estimator):
    buffer = io.BytesIO()
    estimator.save(buffer)
    return buffer.getvalue()


def _members(blob):
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _with_json(blob, edit, member="sklearn_rnn.json"):
    """``blob`` with its JSON member changed by ``edit(meta)`` (which may return a
    replacement)."""
    members = _members(blob)
    meta = json.loads(members[member])
    meta = edit(meta) or meta
    members[member] = json.dumps(meta).encode()
    return _zip(members)


def _tagged_dict(value):
    return dict(value["__dict__"])


def _fitted(meta):
    return _tagged_dict(meta["fitted"])


def _set_fitted(meta, name, value):
    meta["fitted"]["__dict__"] = [
        [k, value if k == name else v] for k, v in meta["fitted"]["__dict__"]
    ]


def _set_param(meta, name, value):
    pairs = meta["params"]["__dict__"]
    meta["params"]["__dict__"] = [p for p in pairs if p[0] != name] + [[name, value]]


def _spec_edit(**changes):
    """An edit of the network's keyword arguments in ``_module_spec``."""

    def edit(meta):
        spec = _fitted(meta)["_module_spec"]["__tuple__"]
        kwargs = spec[1]["__dict__"]
        spec[1]["__dict__"] = [[k, changes.get(k, v)] for k, v in kwargs]
        if "name" in changes:
            spec[0] = changes["name"]

    return edit


def _with_tensors(blob, member, edit):
    members = _members(blob)
    tensors = safetensors.torch.load(members[member])
    members[member] = safetensors.torch.save(edit(tensors) or tensors)
    return _zip(members)


def _load(blob, **kwargs):
    return load(io.BytesIO(blob), **kwargs)


# ---------------------------------------------------------------------- 1. no pickle


def test_loading_unpickles_nothing(small, small_file, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("load unpickled something")

    for module, name in [(torch, "load"), (pickle, "load"), (pickle, "loads")]:
        monkeypatch.setattr(module, name, refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    loaded = _load(small_file)
    np.testing.assert_array_equal(
        loaded.predict_proba(TEXTS), small.predict_proba(TEXTS)
    )
    for name, content in _members(small_file).items():
        if name.endswith(".json"):
            json.loads(content)
        else:  # an 8-byte header length, the JSON header, then raw tensor bytes
            assert name.endswith(".safetensors") and content[8:10] == b'{"'
            safetensors.torch.load(content)


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop", "adamw"])
def test_the_optimizer_state_comes_back_whole(optimizer):
    est = RNNClassifier(**TINY, optimizer=optimizer).fit(TEXTS, LABELS)
    loaded = _load(_saved(est))
    before, after = est.optimizer_.state_dict(), loaded.optimizer_.state_dict()
    assert after["param_groups"] == before["param_groups"]
    assert after["state"].keys() == before["state"].keys()
    for key, values in before["state"].items():
        assert after["state"][key].keys() == values.keys()
        for name, value in values.items():
            torch.testing.assert_close(after["state"][key][name], value, rtol=0, atol=0)


def test_version_1_files_are_refused_with_the_way_to_convert_them(tmp_path):
    expected = json.loads((DATA / "v1_expected.json").read_text())
    for name, X in [("classifier", TEXTS[:4]), ("ensemble", SENTENCES[:2])]:
        with pytest.raises(ValueError, match=r"format version 1.*convert_legacy"):
            load(DATA / f"v1_{name}.skrnn")
        new = tmp_path / f"{name}.skrnn"
        convert_legacy(DATA / f"v1_{name}.skrnn", new)
        with zipfile.ZipFile(new) as archive:
            assert not any(n.endswith((".pt", ".skrnn")) for n in archive.namelist())
        proba = load(new).predict_proba(X)
        for got, want in zip(proba, expected[name], strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-6)


def test_convert_legacy_still_refuses_a_pickle_that_runs_code(
    tmp_path, code_running_pickle, rewrite_member
):
    path = tmp_path / "v1.skrnn"
    path.write_bytes((DATA / "v1_classifier.skrnn").read_bytes())
    marker = tmp_path / "pwned"
    buffer = io.BytesIO()
    torch.save({"weight": code_running_pickle(marker)}, buffer)
    rewrite_member(path, "module.pt", buffer.getvalue())
    with pytest.raises(ValueError, match="module.pt: refusing"):
        convert_legacy(path, tmp_path / "new.skrnn")
    assert not marker.exists() and not (tmp_path / "new.skrnn").exists()


# ---------------------------------------------------------------------- 2. bounds


def test_a_compression_bomb_is_refused_before_it_is_read(small_file):
    members = _members(small_file)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            if name != "sklearn_rnn.json":
                archive.writestr(name, content)
        # valid JSON followed by 32 MB of spaces, deflated to some 32 KB
        info = zipfile.ZipInfo("sklearn_rnn.json")
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=True) as member:
            member.write(members["sklearn_rnn.json"])
            for _ in range(32):
                member.write(b" " * 2**20)
    blob = buffer.getvalue()
    assert len(blob) < 200_000
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="more than 100 to 1"):
            _load(blob)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20


def test_a_member_larger_than_the_limit_is_refused(small_file):
    with pytest.raises(ValueError, match=r"sklearn_rnn.json unpacks to \d+ bytes"):
        _load(small_file, max_json_bytes=1000)


def test_deeply_nested_json_is_refused(small_file):
    members = _members(small_file)
    members["sklearn_rnn.json"] = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(ValueError, match="nests 100000 levels deep"):
        _load(_zip(members))

    def nest(meta):
        _set_fitted(meta, "n_iter_", json.loads("[" * 70 + "]" * 70))

    with pytest.raises(ValueError, match="nests 7[0-9] levels deep"):
        _load(_with_json(small_file, nest))


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"hidden_size": 10**6}, r"needs torch.float32 of shape \(3000000, 2\)"),
        ({"hidden_size": 10**9}, "Storage size calculation overflowed"),
        # the first tensor sized by the vocabulary: word dropout's rates, (V,)
        ({"n_symbols": 10**12}, r"needs torch.float32 of shape \(1000000000000,\)"),
        ({"num_layers": 10**9}, "more than 112 parts"),
        ({"num_layers": 2}, r"missing: \['encoder.rnn.bias_hh_l1'"),
        ({"init_state": "learned"}, r"missing: \['encoder.initial_state"),
    ],
)
def test_sizes_the_tensors_do_not_have_are_refused_before_allocating(
    small_file, changes, message
):
    blob = _with_json(small_file, _spec_edit(**changes))
    start = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ValueError, match=message):
        _load(blob)
    assert time.perf_counter() - start < 2
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak
    assert grown_kb < 100_000


@pytest.mark.parametrize(
    "name", ["evil.py", "../sklearn_rnn.json", "members/", "members/0/extra.json"]
)
def test_members_that_should_not_be_there_are_refused(small_file, name):
    members = {**_members(small_file), name: b"{}"}
    with pytest.raises(ValueError, match="unexpected member"):
        _load(_zip(members))


def test_members_the_json_does_not_name_are_refused(small_file):
    members = _members(small_file)
    members["members/0/sklearn_rnn.json"] = members["sklearn_rnn.json"]
    with pytest.raises(ValueError, match="members that its JSON does not name"):
        _load(_zip(members))


def test_a_repeated_member_is_refused(small_file):
    buffer = io.BytesIO(small_file)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile: "Duplicate name"
        with zipfile.ZipFile(buffer, "a") as archive:
            archive.writestr("module.safetensors", b"")
    with pytest.raises(ValueError, match="two members named 'module.safetensors'"):
        _load(buffer.getvalue())


def test_an_array_the_json_cannot_pay_for_is_refused(small_file):
    def huge_strings(meta):
        classes = {"__ndarray__": ["cat"], "dtype": "<U500000000", "shape": [1]}
        _set_fitted(meta, "classes_", classes)

    with pytest.raises(ValueError, match="fitted: .*more memory than its size"):
        _load(_with_json(small_file, huge_strings))


# ---------------------------------------------------------------------- 3. messages


def _drop_a_weight(tensors):
    tensors.pop("output.bias")


def _add_a_weight(tensors):
    tensors["evil"] = torch.zeros(3)


def _double(tensors):
    tensors["output.bias"] = tensors["output.bias"].double()


def _wrong_moment(tensors):
    tensors["state.0.exp_avg"] = torch.zeros(7)


def _no_moment(tensors):
    tensors.pop("state.0.exp_avg")


JSON_FAULTS = {
    "class a number": (lambda m: m.update({"class": 3}), "'class' must be a str"),
    "class unknown": (
        lambda m: m.update({"class": "BaseRNN"}),
        "'BaseRNN', which is not an sklearn-rnn estimator",
    ),
    "params a list": (lambda m: m.update({"params": [1]}), "params must be a dict"),
    "fitted a string": (
        lambda m: m.update({"fitted": "x"}),
        "fitted must be a dict, got a str",
    ),
    "no params": (lambda m: m.__delitem__("params"), "has no 'params' field"),
    "has_module a string": (
        lambda m: m.update({"has_module": "yes"}),
        "'has_module' must be a bool",
    ),
    "n_members negative": (lambda m: m.update({"n_members": -1}), "negative"),
    "not ours": (lambda m: m.update({"format": "other"}), "not an sklearn-rnn model"),
    "JSON a list": (lambda m: [m], "not an sklearn-rnn model file"),
    "unknown network": (_spec_edit(name="Foo"), "unknown network 'Foo'"),
    "spec no pair": (
        lambda m: _set_fitted(m, "_module_spec", "x"),
        "_module_spec must be a",
    ),
    "unknown device": (
        lambda m: _set_param(m, "device", {"__device__": "warp-drive"}),
        "params: .*unknown device 'warp-drive'",
    ),
    "bad parameter value": (
        lambda m: _set_param(m, "hidden_size", "abc"),
        "params: .*'hidden_size' parameter",
    ),
    "unknown parameter": (
        lambda m: _set_param(m, "colour", 1),
        "params: .*unexpected keyword argument 'colour'",
    ),
    "unknown tag": (
        lambda m: _set_fitted(m, "n_iter_", {"__code__": "print(1)"}),
        "fitted: .*unknown entry in the model file: '__code__'",
    ),
    "fitted key not a name": (
        lambda m: m.update({"fitted": {"__dict__": [[1, 2]]}}),
        "fitted holds 1, which is not a name",
    ),
    "fitted hides a method": (
        lambda m: m["fitted"]["__dict__"].append(["predict", 1]),
        "would hide the method RNNClassifier.predict",
    ),
    "fitted names a parameter": (
        lambda m: m["fitted"]["__dict__"].append(["hidden_size", 9]),
        "'hidden_size' is not a fitted attribute",
    ),
    "array of the wrong shape": (
        lambda m: _set_fitted(
            m, "classes_", {"__ndarray__": ["a"], "dtype": "<U1", "shape": [2]}
        ),
        r"array of shape \[2\] holds 1 values",
    ),
    "structured dtype": (
        lambda m: _set_fitted(
            m, "classes_", {"__ndarray__": [], "dtype": "|V8", "shape": [0]}
        ),
        "dtype '|V8' are not part of the format",
    ),
    "optimizer malformed": (
        lambda m: m.update({"optimizer": {}}),
        "optimizer's JSON is malformed",
    ),
    "version 1 without tensors": (
        lambda m: m.update({"format_version": 1}),
        "format version 1",
    ),
}


@pytest.mark.parametrize("fault", list(JSON_FAULTS))
def test_each_fault_in_the_json_is_a_value_error_that_names_it(small_file, fault):
    edit, message = JSON_FAULTS[fault]
    with pytest.raises(ValueError, match=message):
        _load(_with_json(small_file, edit))


TENSOR_FAULTS = {
    "a weight missing": (
        "module.safetensors",
        _drop_a_weight,
        r"missing: \['output.bias'\]",
    ),
    "another weight": ("module.safetensors", _add_a_weight, r"unexpected: \['evil'\]"),
    "another dtype": ("module.safetensors", _double, "needs torch.float32"),
    "a moment of another shape": (
        "optimizer.safetensors",
        _wrong_moment,
        "exp_avg of parameter 0 has shape",
    ),
    "a moment missing": (
        "optimizer.safetensors",
        _no_moment,
        "names a tensor 'state.0.exp_avg' that optimizer.safetensors does not hold",
    ),
}


@pytest.mark.parametrize("fault", list(TENSOR_FAULTS))
def test_each_fault_in_the_tensors_is_a_value_error_that_names_it(small_file, fault):
    member, edit, message = TENSOR_FAULTS[fault]
    with pytest.raises(ValueError, match=message):
        _load(_with_tensors(small_file, member, edit))


def test_a_damaged_file_is_a_value_error(small_file):
    with zipfile.ZipFile(io.BytesIO(small_file)) as archive:
        info = archive.getinfo("module.safetensors")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    flipped = bytearray(small_file)
    flipped[start + info.compress_size // 2] ^= 0xFF
    with pytest.raises(ValueError, match="module.safetensors, the file is damaged"):
        _load(bytes(flipped))
    with pytest.raises(ValueError, match="not an sklearn-rnn model file"):
        _load(small_file[: len(small_file) // 2])
    header = bytearray(_members(small_file)["module.safetensors"])
    header[8] = ord("[")  # the header's JSON is no longer a dict
    blob = _zip({**_members(small_file), "module.safetensors": bytes(header)})
    with pytest.raises(ValueError, match="module.safetensors header is not valid"):
        _load(blob)


def test_a_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nothing.skrnn")
    with pytest.raises(FileNotFoundError):
        convert_legacy(tmp_path / "nothing.skrnn", tmp_path / "new.skrnn")


# ---------------------------------------------------------------------- 4. atomic


def test_a_save_that_fails_midway_leaves_the_previous_file(
    small, tmp_path, monkeypatch
):
    path = tmp_path / "m.skrnn"
    small.save(path)
    saved = path.read_bytes()
    other = clone(small).set_params(random_state=1).fit(TEXTS, LABELS)
    real, calls = _persistence._tensor_bytes, []

    def fail_at_the_optimizer(tensors):
        calls.append(sorted(p.name for p in tmp_path.iterdir()))
        if len(calls) == 2:  # the JSON and the network are in the temporary file
            raise OSError("No space left on device")
        return real(tensors)

    monkeypatch.setattr(_persistence, "_tensor_bytes", fail_at_the_optimizer)
    with pytest.raises(OSError, match="No space left"):
        other.save(path)
    assert len(calls[1]) == 2 and calls[1][0].startswith(".m.skrnn.")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.skrnn"]
    assert path.read_bytes() == saved
    loaded = load(path)
    np.testing.assert_array_equal(
        loaded.predict_proba(TEXTS), small.predict_proba(TEXTS)
    )


def test_a_saved_file_gets_the_mode_open_would_give(small, tmp_path):
    umask = os.umask(0o022)
    try:
        small.save(tmp_path / "m.skrnn")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(os.stat(tmp_path / "m.skrnn").st_mode) == 0o644


def test_save_to_a_file_object(small, small_file):
    loaded = _load(small_file)
    np.testing.assert_array_equal(loaded.predict(TEXTS), small.predict(TEXTS))


# ---------------------------------------------------------------------- 5. fuzzing

TAGS = [
    "__ndarray__",
    "dtype",
    "shape",
    "__npscalar__",
    "__tuple__",
    "__dict__",
    "__generator__",
    "__random_state__",
    "__training_state__",
    "__device__",
    "__callable__",
    "__estimator__",
]
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([10**9, 2**63, -1, 0, 10**300])
    | st.floats()
    | st.text(max_size=6)
    | st.sampled_from(TAGS + ["ManyToOneNet", "PCG64", "<U1", "<f4", "|O", "cpu"])
)
JSON_VALUES = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(TAGS) | st.text(max_size=4), inner, max_size=3
        )
    ),
    max_leaves=8,
)
NAMES = [
    "sklearn_rnn.json",
    "module.safetensors",
    "optimizer.safetensors",
    "members/0/sklearn_rnn.json",
    "members/1/module.safetensors",
    "members/2/sklearn_rnn.json",
    "module.pt",
]


def _paths(value, path=()):
    """Every place in a JSON value, as a path of keys and indices."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


def _replace(value, path, new):
    if not path:
        return new
    value[path[0]] = _replace(value[path[0]], path[1:], new)
    return value


def _is_json(content):
    try:
        json.loads(content)
    except ValueError:  # UnicodeDecodeError too
        return False
    return True


def _mutate(data, archives):
    members = dict(archives[data.draw(st.integers(0, len(archives) - 1))])
    for _ in range(data.draw(st.integers(1, 3))):
        names = sorted(members)
        how = data.draw(
            st.sampled_from(
                ["drop", "swap", "truncate", "flip", "rename"] + ["json"] * 5
            )
        )
        if not names:
            break
        name = data.draw(st.sampled_from(names))
        content = members[name]
        if how == "drop":
            del members[name]
        elif how == "swap":
            other = archives[data.draw(st.integers(0, len(archives) - 1))]
            members[name] = other[data.draw(st.sampled_from(sorted(other)))]
        elif how == "truncate":
            members[name] = content[: data.draw(st.integers(0, len(content)))]
        elif how == "flip" and content:
            at = data.draw(st.integers(0, len(content) - 1))
            flipped = bytearray(content)
            flipped[at] ^= data.draw(st.integers(1, 255))
            members[name] = bytes(flipped)
        elif how == "json" and _is_json(content):
            value = json.loads(content)
            path = data.draw(st.sampled_from(list(_paths(value))))
            value = _replace(value, path, data.draw(JSON_VALUES))
            members[name] = json.dumps(value).encode()
        elif how == "rename":
            members[data.draw(st.sampled_from(NAMES))] = members.pop(name)
    blob = _zip(members)
    if data.draw(st.integers(0, 3)) == 0:  # damage the zip itself
        at = data.draw(st.integers(0, len(blob) - 1))
        blob = blob[:at] + bytes([blob[at] ^ 0x55]) + blob[at + 1 :]
    return blob


def test_mutated_files_raise_value_error_and_nothing_else(small_file, ensemble_file):
    archives = [_members(small_file), _members(ensemble_file)]

    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.data())
    def loading(data):
        blob = _mutate(data, archives)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                _load(blob)
            except ValueError:
                pass

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    loading()
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak
    assert grown_kb < 300_000


# ---------------------------------------------------------------------- 6. registry

ESTIMATOR_MODULES = {
    "_base",
    "_classifier",
    "_regressor",
    "_tagger",
    "_generator",
    "_ensemble",
}


def test_persistence_imports_no_estimator_module():
    tree = ast.parse(Path(_persistence.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[-1] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.module:
                imported.add(node.module.split(".")[-1])
            imported.update(alias.name for alias in node.names)
    assert not imported & ESTIMATOR_MODULES


class LoudClassifier(RNNClassifier):
    """A user's subclass: registered by subclassing, so its files load."""


def test_registered_concrete_classes_load_and_others_do_not(small_file):
    est = LoudClassifier(**TINY).fit(TEXTS, LABELS)
    loaded = _load(_saved(est))
    assert type(loaded) is LoudClassifier
    for name in ["BaseRNN", "BaseManyToOne", "BaseEstimator", "Path"]:
        blob = _with_json(small_file, lambda m, name=name: m.update({"class": name}))
        with pytest.raises(ValueError, match=f"'{name}', which is not an sklearn-rnn"):
            _load(blob)


def test_a_class_under_a_taken_name_is_not_registered():
    class RNNClassifier(sklearn_rnn.RNNClassifier):
        pass

    est = RNNClassifier(**TINY).fit(TEXTS, LABELS)
    with pytest.raises(TypeError, match="another class of that name is registered"):
        est.save(io.BytesIO())
    assert _persistence._registered_class("RNNClassifier") is sklearn_rnn.RNNClassifier


# ---------------------------------------------------------------------- 7. ensembles


def test_taggers_of_earlier_versions_load_with_their_one_network(ensemble_file):
    # taggers saved before n_networks existed hold one network, whether the file
    # came from a pickle (convert_legacy) or from a JSON without the parameter; and
    # the network the file holds wins over a parameter that says otherwise (what a
    # missing parameter would read as, were the default ever above one)
    def without_n_networks(meta):
        meta["params"]["__dict__"] = [
            p for p in meta["params"]["__dict__"] if p[0] != "n_networks"
        ]

    member = "members/0/sklearn_rnn.json"
    blob = _with_json(ensemble_file, without_n_networks, member)
    says_two = _with_json(
        ensemble_file, lambda meta: _set_param(meta, "n_networks", 2), member
    )
    for ensemble in (_load(ensemble_file), _load(blob), _load(says_two)):
        assert [m.n_networks for m in ensemble.estimators_] == [1, 1]
        networks = [type(m.module_).__name__ for m in ensemble.estimators_]
        assert networks == ["SequenceTaggerNet"] * 2
        assert len(ensemble.predict(SENTENCES[:2])[1]) == 3


def test_ensemble_members_are_flat_and_checked_alike(ensemble_file):
    names = sorted(_members(ensemble_file))
    assert names == sorted(
        ["sklearn_rnn.json"]
        + [
            f"members/{i}/{name}"
            for i in (0, 1)
            for name in (
                "sklearn_rnn.json",
                "module.safetensors",
                "optimizer.safetensors",
            )
        ]
    )
    blob = _with_json(
        ensemble_file, _spec_edit(hidden_size=10**6), "members/1/sklearn_rnn.json"
    )
    with pytest.raises(ValueError, match="members/1/module.safetensors: .*shape"):
        _load(blob)
    members = _members(ensemble_file)
    members["members/0/sklearn_rnn.json"] = b"[" * 1000 + b"]" * 1000
    with pytest.raises(ValueError, match="members/0/sklearn_rnn.json nests 1000"):
        _load(_zip(members))
