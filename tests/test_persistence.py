"""Keeping models: the safe file format, pickles across versions, checkpoints, and
faults during fit that must not lose a fitted model."""

import json
import os
import pickle
import warnings
import zipfile

import joblib
import numpy as np
import pytest
import safetensors.torch
import torch
from sklearn.exceptions import ConvergenceWarning

import sklearn_rnn
from sklearn_rnn import RNNClassifier, RNNRegressor, load
from sklearn_rnn.exceptions import InconsistentVersionWarning

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

QUICK = dict(hidden_size=8, max_iter=3, random_state=0)
TEXTS = ["the cat sat", "a dog ran", "the cat ran off", "a dog sat down"] * 4
LABELS = ["cat", "dog", "cat", "dog"] * 4


def series(n=24, seed=0):
    rng = np.random.RandomState(seed)
    return [rng.normal(size=(rng.randint(2, 8), 3)) for _ in range(n)]


def shouting(text):
    """A user's tokenizer: a function, which the safe format names but cannot hold."""
    return text.upper().split()


@pytest.fixture
def fitted_models():
    X = series()
    return {
        "text": (RNNClassifier(**QUICK).fit(TEXTS, LABELS), TEXTS),
        "tokens": (
            RNNClassifier(class_weight={"cat": 2.0, "dog": 1.0}, **QUICK).fit(
                [t.split() for t in TEXTS], LABELS
            ),
            [t.split() for t in TEXTS],
        ),
        "numeric": (RNNClassifier(**QUICK).fit(X, np.arange(24) % 3), X),
        "table": (
            RNNRegressor(**QUICK).fit(
                np.ones((10, 4)) * np.arange(10)[:, None], [1] * 10
            ),
            np.ones((3, 4)),
        ),
        "2 targets": (
            RNNRegressor(**QUICK).fit(X, np.c_[np.arange(24), -np.arange(24.0)]),
            X,
        ),
    }


@pytest.mark.parametrize("kind", ["text", "tokens", "numeric", "table", "2 targets"])
def test_save_and_load_predict_identically(fitted_models, kind, tmp_path):
    est, X = fitted_models[kind]
    path = tmp_path / "model.skrnn"
    assert est.save(path) is est
    loaded = load(path)
    assert type(loaded) is type(est)
    assert loaded.get_params() == est.get_params()
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    np.testing.assert_array_equal(loaded.transform(X), est.transform(X))
    # back on the device it was fitted on (where that is missing, the CPU: test_trust)
    assert _device_of(loaded) == _device_of(est)
    assert loaded.n_iter_ == est.n_iter_ and loaded.loss_curve_ == est.loss_curve_


def test_the_file_is_json_and_safetensors_only(fitted_models, tmp_path):
    est, _ = fitted_models["tokens"]
    est.save(tmp_path / "m.skrnn")
    with zipfile.ZipFile(tmp_path / "m.skrnn") as archive:
        assert sorted(archive.namelist()) == [
            "module.safetensors",
            "optimizer.safetensors",
            "sklearn_rnn.json",
        ]
        meta = json.loads(archive.read("sklearn_rnn.json"))
        weights = safetensors.torch.load(archive.read("module.safetensors"))
        moments = safetensors.torch.load(archive.read("optimizer.safetensors"))
    assert meta["format"] == "sklearn-rnn" and meta["format_version"] == 2
    assert meta["class"] == "RNNClassifier"
    assert meta["sklearn_rnn_version"] == sklearn_rnn.__version__
    assert meta["torch_version"] == torch.__version__
    assert weights.keys() == est.module_.state_dict().keys()
    # the optimizer: settings in the JSON, tensors under flat names
    group = dict(meta["optimizer"]["param_groups"][0]["__dict__"])
    assert group["lr"] == est.learning_rate_init and group["params"][0] == 0
    assert "state.0.exp_avg" in moments and "state.0.step" in moments


def test_a_function_parameter_must_be_given_again(tmp_path):
    est = RNNClassifier(tokenizer=shouting, **QUICK).fit(TEXTS, LABELS)
    est.save(tmp_path / "m.skrnn")
    with pytest.raises(ValueError, match=r"tokenizer=.*shouting, a function"):
        load(tmp_path / "m.skrnn")
    loaded = load(tmp_path / "m.skrnn", tokenizer=shouting)
    np.testing.assert_array_equal(loaded.predict(TEXTS), est.predict(TEXTS))


def test_an_unfitted_estimator_round_trips(tmp_path):
    RNNClassifier(cell="lstm", hidden_size=3).save(tmp_path / "m.skrnn")
    loaded = load(tmp_path / "m.skrnn")
    assert loaded.cell == "lstm" and not hasattr(loaded, "module_")


@pytest.mark.parametrize(
    "member, message",
    [
        ("sklearn_rnn.json", "sklearn_rnn.json is not valid JSON"),
        ("module.safetensors", "module.safetensors is not a safetensors file"),
        ("optimizer.safetensors", "optimizer.safetensors is not a safetensors file"),
        ("module.pt", "format version 1, which keeps its tensors as pickles"),
    ],
)
def test_a_malicious_pickle_in_any_member_is_refused_without_running(
    fitted_models, member, message, tmp_path, code_running_pickle, rewrite_member
):
    est, _ = fitted_models["text"]
    path = tmp_path / "m.skrnn"
    est.save(path)
    marker = tmp_path / "pwned"
    payload = pickle.dumps(code_running_pickle(marker))
    # the payload runs when unpickled: prove it, then prove load does not
    pickle.loads(payload)
    assert marker.exists()
    marker.unlink()
    if member == "sklearn_rnn.json":
        rewrite_member(path, member, payload)
    else:  # a torch file whose pickle holds the payload
        import io

        buffer = io.BytesIO()
        torch.save({"weight": code_running_pickle(marker)}, buffer)
        rewrite_member(path, member, buffer.getvalue())
    with pytest.raises(ValueError, match=message):
        load(path)
    assert not marker.exists()


def test_files_that_are_not_ours_are_refused(tmp_path, fitted_models):
    (tmp_path / "plain.txt").write_text("hello")
    with pytest.raises(ValueError, match="is not an sklearn-rnn model file"):
        load(tmp_path / "plain.txt")
    joblib.dump(fitted_models["text"][0], tmp_path / "m.joblib")
    with pytest.raises(ValueError, match="is not an sklearn-rnn model file"):
        load(tmp_path / "m.joblib")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as archive:
        archive.writestr("sklearn_rnn.json", json.dumps({"format": "something-else"}))
    with pytest.raises(ValueError, match="is not an sklearn-rnn model file"):
        load(tmp_path / "other.zip")


@pytest.mark.parametrize(
    "change, message",
    [
        ({"format_version": 99}, "file format version 99"),
        ({"class": "os.system"}, "'os.system', which is not an sklearn-rnn estimator"),
    ],
)
def test_unknown_versions_and_classes_are_refused(
    fitted_models, tmp_path, change, message, rewrite_member
):
    est, _ = fitted_models["text"]
    path = tmp_path / "m.skrnn"
    est.save(path)
    with zipfile.ZipFile(path) as archive:
        meta = json.loads(archive.read("sklearn_rnn.json"))
    rewrite_member(path, "sklearn_rnn.json", json.dumps({**meta, **change}))
    with pytest.raises(ValueError, match=message):
        load(path)


def test_loading_another_versions_file_or_pickle_warns(
    fitted_models, tmp_path, rewrite_member
):
    est, X = fitted_models["text"]
    path = tmp_path / "m.skrnn"
    est.save(path)
    with zipfile.ZipFile(path) as archive:
        meta = json.loads(archive.read("sklearn_rnn.json"))
    rewrite_member(
        path, "sklearn_rnn.json", json.dumps({**meta, "sklearn_rnn_version": "0.0.1"})
    )
    with pytest.warns(InconsistentVersionWarning, match="saved by sklearn-rnn 0.0.1"):
        loaded = load(path)
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))

    state = est.__getstate__()
    state["_sklearn_rnn_version"] = "0.0.1"
    clone = RNNClassifier.__new__(RNNClassifier)
    with pytest.warns(InconsistentVersionWarning) as record:
        clone.__setstate__(state)
    assert record[0].message.original_version == "0.0.1"
    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        pickle.loads(pickle.dumps(est))  # same version: silent


def _device_of(est):
    return next(est.module_.parameters()).device


def test_load_onto_a_named_device(fitted_models, tmp_path):
    est, X = fitted_models["numeric"]
    est.save(tmp_path / "m.skrnn")
    loaded = load(tmp_path / "m.skrnn", device="cpu")
    assert _device_of(loaded).type == "cpu"
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


def test_checkpoints_have_unique_names_and_resume(tmp_path):
    X = series(40)
    y = np.arange(40) % 2
    a = RNNClassifier(checkpoint_dir=tmp_path, **QUICK).fit(X, y)
    b = RNNClassifier(checkpoint_dir=tmp_path, **QUICK).fit(X, y)
    assert a.checkpoint_path_ != b.checkpoint_path_
    assert str(os.getpid()) in os.path.basename(a.checkpoint_path_)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        os.path.basename(p) for p in (a.checkpoint_path_, b.checkpoint_path_)
    )
    # the checkpoint holds the model after the last epoch, and fit can go on from it
    resumed = load(a.checkpoint_path_)
    assert resumed.n_iter_ == 3
    np.testing.assert_array_equal(resumed.predict_proba(X), a.predict_proba(X))
    resumed.set_params(warm_start=True, checkpoint_dir=None).fit(X, y)
    assert resumed.n_iter_ == 6
    # and goes on exactly as the original would have
    a.set_params(warm_start=True, checkpoint_dir=None).fit(X, y)
    np.testing.assert_allclose(resumed.predict_proba(X), a.predict_proba(X), rtol=1e-5)


def test_a_failing_tokenizer_leaves_the_fitted_model_usable():
    calls = {"n": 0}

    def flaky(text):
        calls["n"] += 1
        if calls["n"] > len(TEXTS) + 3:
            raise RuntimeError("tokenizer broke")
        return text.split()

    est = RNNClassifier(tokenizer=flaky, **QUICK).fit(TEXTS, LABELS)
    before = est.predict_proba(["the cat sat"])
    vocabulary = dict(est.vocabulary_)
    with pytest.raises(RuntimeError, match="tokenizer broke"):
        est.fit(["a new text", "with other words"] * 3, ["x", "y"] * 3)
    calls["n"] = -(10**6)  # the tokenizer works again
    assert est.vocabulary_ == vocabulary
    assert est.classes_.tolist() == ["cat", "dog"]
    np.testing.assert_array_equal(est.predict_proba(["the cat sat"]), before)


def test_bad_input_to_a_warm_start_fit_changes_nothing():
    est = RNNClassifier(warm_start=True, **QUICK).fit(series(), np.arange(24) % 2)
    n_iter, X = est.n_iter_, series()
    proba = est.predict_proba(X)
    with pytest.raises(ValueError, match="channels"):
        est.fit([np.ones((3, 5))] * 4, [0, 1] * 2)
    assert est.n_iter_ == n_iter
    np.testing.assert_array_equal(est.predict_proba(X), proba)


def test_to_moves_the_model_and_needs_a_fit():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        RNNClassifier().to("cpu")
    est = RNNClassifier(**QUICK).fit(series(), np.arange(24) % 2)
    assert est.to("cpu") is est


def test_convergence_warning_class_is_unchanged():
    # DivergenceWarning is a ConvergenceWarning, so existing filters catch it
    from sklearn_rnn.exceptions import DivergenceWarning

    assert issubclass(DivergenceWarning, ConvergenceWarning)
