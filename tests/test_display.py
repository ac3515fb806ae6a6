"""TrainingHistoryDisplay draws a fitted estimator's curves as scikit-learn's
displays draw: on the Axes it is given, its artists kept as attributes."""

import matplotlib
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sklearn_rnn import EnsembleTagger, RNNClassifier, TrainingHistoryDisplay

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)

X = ["a good film", "a great film", "a bad film", "an awful film"] * 5
y = ["pos", "pos", "neg", "neg"] * 5


def test_draws_the_training_loss_on_the_given_axes():
    clf = RNNClassifier(hidden_size=8, max_iter=4, random_state=0).fit(X, y)
    fig, ax = plt.subplots()
    display = TrainingHistoryDisplay.from_estimator(clf, ax=ax)
    assert display.ax_ is ax and display.figure_ is fig
    assert list(display.lines_) == ["train_loss"] and display.score_ax_ is None
    np.testing.assert_allclose(
        display.lines_["train_loss"].get_ydata(), clf.loss_curve_
    )
    np.testing.assert_array_equal(
        display.lines_["train_loss"].get_xdata(), [1, 2, 3, 4]
    )
    assert ax.get_title() == "RNNClassifier" and ax.get_xlabel() == "epoch"
    plt.close(fig)


def test_draws_validation_loss_and_score_with_early_stopping():
    clf = RNNClassifier(
        hidden_size=8, max_iter=3, early_stopping=True, random_state=0
    ).fit(X, y)
    display = TrainingHistoryDisplay.from_estimator(clf, name="mine")
    assert set(display.lines_) == {"train_loss", "valid_loss", "valid_score"}
    np.testing.assert_allclose(
        display.lines_["valid_score"].get_ydata(), clf.validation_scores_
    )
    assert display.lines_["valid_score"].axes is display.score_ax_
    assert display.ax_.get_title() == "mine"
    # drawn again elsewhere, without the score
    fig, ax = plt.subplots()
    display.plot(ax=ax, score=False)
    assert display.ax_ is ax and "valid_score" not in display.lines_
    plt.close("all")


def test_an_estimator_without_history_is_refused():
    with pytest.raises(TypeError, match="EnsembleTagger has no history_"):
        TrainingHistoryDisplay.from_estimator(EnsembleTagger())
