"""Working inside scikit-learn: pipelines, searches, cloning and persistence."""

import io
import pickle
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_rnn import RNNClassifier, RNNRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

QUICK = dict(hidden_size=8, max_iter=5, random_state=0)


def series(n=40, seed=0):
    rng = np.random.RandomState(seed)
    X = [rng.normal(size=(rng.randint(3, 9), 2)) for _ in range(n)]
    y = np.array(["up" if x[:, 0].sum() > 0 else "down" for x in X])
    return X, y


def test_pipeline_with_a_preprocessing_step():
    X, y = series(80)
    X_test, y_test = series(100, seed=1)
    clip = FunctionTransformer(lambda X: [np.clip(x, -2, 2) for x in X])
    params = {**QUICK, "learning_rate_init": 1e-2, "max_iter": 10}
    pipe = make_pipeline(clip, RNNClassifier(**params)).fit(X, y)
    # the network reads the step's output: scoring through the pipeline is scoring
    # the clipped series, and the model learned (chance is about 0.5)
    rnn = pipe[-1]
    clipped = clip.transform(X_test)
    np.testing.assert_array_equal(pipe.predict(X_test), rnn.predict(clipped))
    assert pipe.score(X_test, y_test) == rnn.score(clipped, y_test)
    assert pipe.score(X_test, y_test) > 0.75


def test_transform_feeds_another_model_in_a_pipeline():
    X, y = series()
    pipe = make_pipeline(RNNClassifier(**QUICK), LogisticRegression()).fit(X, y)
    assert pipe.predict(X).shape == (40,)
    rnn = pipe[0]
    assert rnn.transform(X).shape == (40, 16)  # bidirectional, 2 x 8
    assert list(rnn.get_feature_names_out()[:2]) == ["rnnclassifier0", "rnnclassifier1"]


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_grid_search(n_jobs):
    X, y = series()
    search = GridSearchCV(
        RNNClassifier(**QUICK),
        {"cell": ["gru", "lstm"], "pooling": ["last", "max"]},
        cv=2,
        n_jobs=n_jobs,
    ).fit(X, y)
    assert set(search.best_params_) == {"cell", "pooling"}
    assert search.cv_results_["mean_test_score"].shape == (4,)
    assert search.predict(X).shape == (40,)


def test_cross_val_score_on_text_and_regression():
    texts = ["good day", "bad day", "good night", "bad night"] * 5
    labels = ["pos", "neg"] * 10  # "good" is positive
    scores = cross_val_score(RNNClassifier(**QUICK), texts, labels, cv=2)
    assert scores.tolist() == [1.0, 1.0]
    X = np.random.RandomState(0).normal(size=(30, 6))
    params = {**QUICK, "hidden_size": 16, "max_iter": 30, "learning_rate_init": 1e-2}
    scores = cross_val_score(RNNRegressor(**params), X, X.sum(axis=1), cv=3)
    assert (scores > 0.7).all()  # R^2: predicting the mean scores 0


def test_clone_and_params_round_trip():
    clf = RNNClassifier(
        cell="gru", hidden_size=7, pooling="mean", class_weight="balanced"
    )
    params = clf.get_params()
    assert params["hidden_size"] == 7 and params["device"] == "auto"
    twin = clone(clf)
    assert twin.get_params() == params
    twin.set_params(hidden_size=9, cell="rnn")
    assert (twin.hidden_size, twin.cell, clf.hidden_size) == (9, "rnn", 7)


@pytest.mark.parametrize("Estimator", [RNNClassifier, RNNRegressor])
def test_joblib_round_trip_predicts_identically(Estimator, tmp_path):
    X, y = series()
    if Estimator is RNNRegressor:
        y = np.array([x.sum() for x in X])
    est = Estimator(**QUICK).fit(X, y)
    joblib.dump(est, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(est.predict(X), loaded.predict(X))
    np.testing.assert_array_equal(est.transform(X), loaded.transform(X))
    # back on the device it was fitted on (where that is missing, the CPU: test_trust)
    device = next(est.module_.parameters()).device
    assert next(loaded.module_.parameters()).device == device


def _torch_objects(obj, seen=None):
    """Every torch tensor or module reachable from ``obj`` through containers."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    if isinstance(obj, torch.Tensor | torch.nn.Module | torch.optim.Optimizer):
        return [obj]
    if isinstance(obj, dict):
        items = list(obj.values())
    elif isinstance(obj, list | tuple | set):
        items = list(obj)
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        items = list(vars(obj).values())
    else:
        return []
    return [found for item in items for found in _torch_objects(item, seen)]


def test_pickled_state_holds_plain_arrays_and_no_device():
    X, y = series()
    clf = RNNClassifier(**QUICK).fit(X, y)
    state = clf.__getstate__()
    assert _torch_objects(state) == []
    assert all(isinstance(v, np.ndarray) for v in state["module_"].values())
    # the estimator itself is untouched by pickling
    pickle.dumps(clf)
    assert isinstance(clf.module_, torch.nn.Module)


def test_a_pickle_names_no_torch_class_and_no_device():
    """The pickle's bytes name no torch class, so unpickling never asks torch to
    rebuild a tensor on the device it was saved from. On a CPU-only machine this
    model is fitted on the CPU and the test checks only that; the round trip of a
    model really fitted on a GPU is test_trust.py's ``cuda`` tests."""
    X, y = series()
    clf = RNNClassifier(**QUICK).fit(X, y)
    buffer = io.BytesIO()
    pickle.dump(clf, buffer)
    assert b"torch" not in buffer.getvalue()
    # with device="auto" the fit ran on the GPU where there is one
    assert b"cuda" not in buffer.getvalue()


def test_pickle_then_partial_fit_continues():
    X, y = series()
    clf = RNNClassifier(**QUICK)
    clf.partial_fit(X, y, classes=["down", "up"])
    clf.partial_fit(X, y)
    loaded = pickle.loads(pickle.dumps(clf))
    clf.partial_fit(X, y)
    loaded.partial_fit(X, y)
    assert loaded.n_iter_ == clf.n_iter_ == 3
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), rtol=1e-6)


def test_warm_start_after_unpickling_continues_identically():
    X, y = series()
    clf = RNNClassifier(warm_start=True, **QUICK).fit(X, y)
    loaded = pickle.loads(pickle.dumps(clf))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
        loaded.fit(X, y)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
