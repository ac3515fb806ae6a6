"""``refit=True``: after early stopping has chosen the number of epochs on the part of
``X`` it held out, the network trains again on all of ``X`` for that many epochs."""

import numpy as np
import pytest

from sklearn_rnn import RNNClassifier, RNNRegressor, load
from sklearn_rnn.exceptions import InterruptedFitWarning, RefitWarning

# the small fits below end at max_iter, which is not what they test
pytestmark = pytest.mark.filterwarnings("ignore:Stopped at max_iter")

QUICK = dict(
    hidden_size=8,
    embedding_dim=8,
    max_iter=12,
    early_stopping=True,
    adversarial_eps=0.0,
    random_state=0,
)


def reviews(n=200, seed=0):
    """Sentences whose label is the one sentiment word among filler words."""
    rng = np.random.default_rng(seed)
    filler = ["a", "the", "film", "plot", "was", "its"]
    X, y = [], []
    for i in range(n):
        word = rng.choice(["good", "great"] if i % 2 else ["bad", "awful"])
        words = [*rng.choice(filler, size=4), word]
        rng.shuffle(words)
        X.append(" ".join(words))
        y.append(i % 2)
    return X, np.array(y)


def best_epoch(clf):
    """The epoch whose weights early stopping kept: the best held-out score, ties
    to the lower held-out loss."""
    records = [(r["valid_score"], -r["valid_loss"], r["epoch"]) for r in clf.history_]
    return max(records, key=lambda r: (r[0], r[1], -r[2]))[2]


def test_refit_trains_on_all_the_data_for_the_chosen_epochs(tmp_path):
    X, y = reviews()
    early = RNNClassifier(**QUICK, refit=False).fit(X, y)
    assert early.refit_loss_curve_ is None
    clf = RNNClassifier(**QUICK, refit=True).fit(X, y)
    # the fit that chose the epochs is the same; the model is another network
    assert clf.validation_scores_ == early.validation_scores_
    assert len(clf.refit_loss_curve_) == best_epoch(clf) >= 1
    assert not np.allclose(clf.predict_proba(X), early.predict_proba(X))
    assert clf.refit_loss_curve_[-1] < clf.refit_loss_curve_[0]
    X_test, y_test = reviews(100, seed=1)
    assert clf.score(X_test, y_test) >= 0.9
    clf.save(tmp_path / "model.zip")
    again = load(tmp_path / "model.zip")
    np.testing.assert_allclose(again.predict_proba(X_test), clf.predict_proba(X_test))
    assert again.refit_loss_curve_ == clf.refit_loss_curve_


def test_the_classifier_refits_by_default_and_the_regressor_does_not():
    # early stopping is on by default from 1,000 samples
    X, y = reviews(1000)
    quick = {k: v for k, v in QUICK.items() if k != "early_stopping"}
    clf = RNNClassifier(**{**quick, "max_iter": 3}).fit(X, y)
    assert len(clf.refit_loss_curve_) == best_epoch(clf)
    reg = RNNRegressor(**{**quick, "max_iter": 3}).fit(X, y.astype(float))
    assert reg.validation_scores_ and reg.refit_loss_curve_ is None


def test_refit_needs_data_held_out_of_X():
    X, y = reviews(60)
    # no early stopping: nothing was held out
    settings = {**QUICK, "early_stopping": False}
    with pytest.warns(Warning):  # max_iter ends it
        clf = RNNClassifier(**settings, refit=True).fit(X, y)
    assert clf.refit_loss_curve_ is None


def test_a_refit_cut_short_keeps_the_early_stopped_model():
    X, y = reviews()
    early = RNNClassifier(**QUICK, refit=False).fit(X, y)

    def interrupt_the_refit(record):
        if "valid_score" not in record:  # the refit's epochs hold no held-out score
            raise KeyboardInterrupt

    clf = RNNClassifier(**QUICK, refit=True, callbacks=[interrupt_the_refit])
    with pytest.warns(InterruptedFitWarning, match="keeps the early-stopped weights"):
        clf.fit(X, y)
    assert clf.refit_loss_curve_ is None
    np.testing.assert_allclose(clf.predict_proba(X), early.predict_proba(X))

    # a callback that stops the refit after its first epoch
    stop = [lambda record: "valid_score" not in record]
    clf = RNNClassifier(**QUICK, refit=True, callbacks=stop)
    with pytest.warns(RefitWarning, match=r"after 1 of \d+ epochs because it stopped"):
        clf.fit(X, y)
    assert clf.refit_loss_curve_ is None
    np.testing.assert_allclose(clf.predict_proba(X), early.predict_proba(X))
    # nor is there a refit when a callback ends the fit that chooses the epochs
    clf = RNNClassifier(**QUICK, refit=True, callbacks=[lambda record: True])
    clf.fit(X, y)
    assert clf.n_iter_ == 1 and clf.refit_loss_curve_ is None


def test_refit_is_a_training_parameter_for_the_regressor_too():
    X, y = reviews(60)
    reg = RNNRegressor(**QUICK, refit=True).fit(X, y.astype(float))
    assert len(reg.refit_loss_curve_) == best_epoch(reg)
    # a training parameter: a warm start may change it
    reg.set_params(refit=False, warm_start=True, max_iter=1)
    reg.fit(X, y.astype(float))
    assert reg.refit_loss_curve_ is None


def test_the_warnings_of_a_refit_point_at_the_callers_line():
    X, y = reviews(60)
    stop = [lambda record: "valid_score" not in record]
    clf = RNNClassifier(**QUICK, refit=True, callbacks=stop)
    with pytest.warns(RefitWarning) as caught:
        clf.fit(X, y)  # the first fit also ends at max_iter, with its own warning
    assert {w.category.__name__ for w in caught} == {
        "ConvergenceWarning",
        "RefitWarning",
    }
    assert {w.filename for w in caught} == {__file__}


def test_a_refit_retraces_the_learning_rates_of_an_adaptive_fit():
    X, y = reviews()
    seen = []
    # tol=1: no epoch counts as an improvement, so the rate falls on every plateau
    clf = RNNClassifier(
        **{**QUICK, "learning_rate": "adaptive", "tol": 1.0, "n_iter_no_change": 6},
        refit=True,
        callbacks=[seen.append],
    ).fit(X, y)
    fit_rates = [r["lr"] for r in seen if "valid_score" in r]
    refit_rates = [r["lr"] for r in seen if "valid_score" not in r]
    assert len(refit_rates) == len(clf.refit_loss_curve_) == best_epoch(clf)
    assert refit_rates == fit_rates[: len(refit_rates)]
    assert len(set(refit_rates)) > 1  # the replay includes a fall in the rate
