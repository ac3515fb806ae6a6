"""A fit that fails leaves a fitted model exactly as it was; a fit that diverges
never leaves NaN weights; settings that cannot work are refused before training."""

import os
import stat
import warnings

import numpy as np
import pytest
import torch

from sklearn_rnn import LSTMSequenceTagger, RNNClassifier, RNNRegressor
from sklearn_rnn.exceptions import DivergenceWarning

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

TEXTS = ["a good film", "a great film", "a bad film", "an awful film"] * 4
LABELS = ["pos", "pos", "neg", "neg"] * 4
OTHER_LABELS = ["x", "x", "z", "z"] * 4
QUICK = dict(hidden_size=8, embedding_dim=8, max_iter=3, random_state=0)


def _state(est):
    """What a user can observe of a fitted classifier."""
    return (
        est.classes_.tolist(),
        est.predict_proba(TEXTS),
        sorted(est.vocabulary_),
        est.n_iter_,
        [p.detach().clone() for p in est.module_.parameters()],
    )


def _assert_unchanged(before, est):
    after = _state(est)
    assert after[0] == before[0]
    np.testing.assert_array_equal(after[1], before[1])
    assert after[2:4] == before[2:4]
    for a, b in zip(after[4], before[4], strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def _refused_folder(tmp_path):
    """A path under a plain file: no folder can be made there."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    return blocker / "checkpoints"


def _raising_optimizer(params, **kwargs):
    raise RuntimeError("this optimizer factory fails")


class _TooLarge(RuntimeError):
    pass


@pytest.mark.parametrize(
    "failure, warm_start",
    [
        ("checkpoint folder", False),
        ("checkpoint folder", True),
        # a warm start builds no optimizer and no network: a fresh fit only
        ("optimizer factory", False),
        ("network too large", False),
    ],
)
def test_a_failed_refit_leaves_the_fitted_model_exactly_as_it_was(
    failure, warm_start, tmp_path, monkeypatch
):
    est = RNNClassifier(**QUICK).fit(TEXTS, LABELS)
    before = _state(est)
    est.set_params(warm_start=warm_start)
    labels = LABELS if warm_start else OTHER_LABELS  # a warm start keeps its classes
    if failure == "checkpoint folder":
        est.set_params(checkpoint_dir=_refused_folder(tmp_path))
        expected, message = OSError, "cannot hold checkpoints"
    elif failure == "optimizer factory":
        est.set_params(optimizer=_raising_optimizer)
        expected, message = RuntimeError, "this optimizer factory fails"
    else:

        def too_large(*args, **kwargs):
            raise _TooLarge("cannot allocate the network")

        monkeypatch.setattr(type(est), "_build_network", too_large)
        expected, message = _TooLarge, "cannot allocate the network"
    with pytest.raises(expected, match=message):
        est.fit(TEXTS, labels)
    _assert_unchanged(before, est)
    # and it still trains on once the problem is gone
    est.set_params(checkpoint_dir=None, optimizer="adam")
    monkeypatch.undo()
    est.fit(TEXTS, labels)


def test_an_error_while_training_on_in_place_restores_the_weights_too():
    est = RNNClassifier(warm_start=True, **QUICK).fit(TEXTS, LABELS)
    before = _state(est)
    optimizer_state = est.optimizer_.state_dict()["state"]
    moments = {
        k: {n: v.clone() for n, v in s.items()} for k, s in optimizer_state.items()
    }

    class Broken(RuntimeError):
        pass

    calls = []
    original = est.optimizer_.step

    def step_then_fail(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise Broken("a fault in the third step")
        return original(*args, **kwargs)

    est.optimizer_.step = step_then_fail
    with pytest.raises(Broken):
        est.set_params(batch_size=4).fit(TEXTS, LABELS)
    del est.optimizer_.step
    est.set_params(batch_size=32)
    _assert_unchanged(before, est)
    for key, values in est.optimizer_.state_dict()["state"].items():
        for name, value in values.items():
            torch.testing.assert_close(value, moments[key][name], rtol=0, atol=0)


def test_a_checkpoint_folder_that_cannot_be_written_fails_before_training(tmp_path):
    if os.geteuid() == 0:
        folder = _refused_folder(tmp_path)  # root may write anywhere: use a file
    else:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    est = RNNClassifier(checkpoint_dir=folder, **QUICK)
    with pytest.raises(OSError, match="checkpoint_dir=.* cannot hold checkpoints"):
        est.fit(TEXTS, LABELS)
    assert not hasattr(est, "module_"), "training started before the folder failed"
    assert not list(tmp_path.rglob("*.partial"))


def test_divergence_never_leaves_nan_weights():
    """The losses of an epoch are computed before each step: its last step can make
    the weights NaN although every loss of the epoch was finite."""
    est = RNNClassifier(
        learning_rate_init=1e38, clip_grad_norm=None, **{**QUICK, "max_iter": 5}
    )
    with pytest.warns(DivergenceWarning, match="last finite epoch were kept"):
        est.fit(TEXTS, LABELS)
    assert all(torch.isfinite(p).all() for p in est.module_.parameters())
    proba = est.predict_proba(TEXTS)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize(
    "change",
    [
        {"hidden_size": 16},
        {"cell": "lstm"},
        {"bidirectional": False},
        {"pooling": "mean"},
    ],
)
def test_warm_start_refuses_a_changed_network(change):
    est = RNNClassifier(warm_start=True, **QUICK).fit(TEXTS, LABELS)
    before = _state(est)
    name, value = next(iter(change.items()))
    est.set_params(**change)
    with pytest.raises(ValueError, match=rf"{name}={value!r} \(fitted with "):
        est.fit(TEXTS, LABELS)
    _assert_unchanged(before, est)
    # a training parameter may change: the fit goes on from the same network
    est.set_params(**{name: QUICK.get(name, RNNClassifier().get_params()[name])})
    est.set_params(learning_rate_init=1e-4, max_iter=2, batch_size=8).fit(TEXTS, LABELS)
    assert est.n_iter_ == before[3] + 2


def test_warm_start_refuses_a_changed_tagger_network():
    X = [["Anna", "lives", "in", "Oslo"], ["Bo", "visits", "Rome"]] * 4
    y = [["B-PER", "O", "O", "B-LOC"], ["B-PER", "O", "B-LOC"]] * 4
    est = LSTMSequenceTagger(char_filters=4, warm_start=True, **QUICK).fit(X, y)
    est.set_params(crf=False)
    with pytest.raises(ValueError, match="crf=False"):
        est.fit(X, y)


def test_partial_fit_refuses_other_classes_after_the_first_call():
    est = RNNClassifier(**QUICK).partial_fit(TEXTS, LABELS, classes=["neg", "pos"])
    est.partial_fit(TEXTS, LABELS, classes=["pos", "neg"])  # the same, in any order
    with pytest.raises(ValueError, match="not the same as on the first call"):
        est.partial_fit(TEXTS, LABELS, classes=["neg", "pos", "meh"])


@pytest.mark.parametrize(
    "weight", [float("nan"), float("inf"), -1.0, "heavy"], ids=repr
)
def test_class_weight_values_are_checked(weight):
    est = RNNClassifier(class_weight={"pos": weight, "neg": 1.0}, **QUICK)
    with pytest.raises(ValueError, match="class weights must be finite, non-negative"):
        est.fit(TEXTS, LABELS)


def test_a_class_weight_of_zero_ignores_the_class():
    est = RNNClassifier(class_weight={"pos": 0.0, "neg": 1.0}, **QUICK)
    est.fit(TEXTS, LABELS)
    assert (est.predict(TEXTS) == "neg").all()


def test_regressor_targets_near_the_float_limit_predict_finite_values():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 6))
    base = X.sum(axis=1)
    for magnitude in (1e160, 1e300):
        y = base * magnitude
        reg = RNNRegressor(hidden_size=8, max_iter=30, random_state=0).fit(X, y)
        pred = reg.predict(X)
        assert np.isfinite(pred).all()
        # the scaled problem was learned
        assert np.corrcoef(pred / magnitude, base)[0, 1] > 0.5


def test_no_stray_state_after_a_refused_warm_start():
    est = RNNClassifier(warm_start=True, **QUICK).fit(TEXTS, LABELS)
    names = set(vars(est))
    est.set_params(hidden_size=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"hidden_size=4 \(fitted with 8\)"):
            est.fit(TEXTS, LABELS)
    assert set(vars(est)) == names
