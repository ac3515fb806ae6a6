"""Exact-match accuracy and the token error rate of output sequences: units of strings
and of token lists, several references per sample, and the errors that name the
sample."""

import functools
import random

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.model_selection import cross_val_score

from sklearn_rnn.metrics import (
    edit_distance,
    sequence_accuracy_score,
    sequence_accuracy_scorer,
    token_error_rate,
    token_error_rate_scorer,
)


def slow_distance(a, b):
    """The definition, recursively: what edit_distance must equal."""

    @functools.cache
    def d(i, j):
        if i == 0 or j == 0:
            return i + j
        return min(
            d(i - 1, j) + 1, d(i, j - 1) + 1, d(i - 1, j - 1) + (a[i - 1] != b[j - 1])
        )

    return d(len(a), len(b))


def test_edit_distance_is_levenshtein():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("flaw", "lawn") == 2
    assert edit_distance("", "abc") == edit_distance("abc", "") == 3
    assert edit_distance(["AH", "B"], ("AH", "B")) == 0
    rng = random.Random(0)
    for _ in range(300):
        a = [rng.choice("abc") for _ in range(rng.randint(0, 7))]
        b = [rng.choice("abc") for _ in range(rng.randint(0, 7))]
        assert edit_distance(a, b) == slow_distance(a, b) == edit_distance(b, a)


def test_token_error_rate_is_corpus_level():
    y_true = [["K", "AE", "T"], ["D", "AO", "G", "Z", "IH", "Z"]]
    y_pred = [["K", "AE"], ["D", "AO", "G", "Z", "IH", "Z"]]
    # one deletion over 3 + 6 reference phones, not the mean of 1/3 and 0
    assert token_error_rate(y_true, y_pred) == pytest.approx(1 / 9)
    assert token_error_rate(["abc", "de"], ["abd", "de"]) == pytest.approx(1 / 5)
    # predictions longer than references can push the rate above 1
    assert token_error_rate(["a"], ["bcd"]) == 3.0


def test_strings_are_read_as_characters_and_token_lists_as_tokens():
    assert token_error_rate(["ab c"], ["abc"]) == pytest.approx(1 / 4)
    assert token_error_rate([["ab", "c"]], [["abc"]]) == 1.0
    assert sequence_accuracy_score([("a", "b")], [["a", "b"]]) == 1.0
    assert sequence_accuracy_score([np.array(["a", "b"])], [np.array(["a", "b"])]) == 1
    assert token_error_rate([[1, 2, 3]], [[1, 3]]) == pytest.approx(1 / 3)


def test_several_references():
    either = [["T", "AH", "M", "EY", "T", "OW"], ["T", "AH", "M", "AA", "T", "OW"]]
    assert sequence_accuracy_score([either], [either[1]]) == 1.0
    assert sequence_accuracy_score([either], [either[1][:-1]]) == 0.0
    assert token_error_rate([either], [either[1]]) == 0.0
    assert sequence_accuracy_score([["color", "colour"]], ["colour"]) == 1.0
    assert token_error_rate([["color", "colour"]], ["colr"]) == pytest.approx(1 / 5)
    # equally close references: the shorter one's length counts
    assert token_error_rate([["ab", "abcd"]], ["abc"]) == pytest.approx(1 / 2)
    assert token_error_rate([["abcd", "ab"]], ["abc"]) == pytest.approx(1 / 2)
    # "x" is one edit from [] and from ["a"]: the empty reference counts, with its
    # edit and no length
    assert token_error_rate([[[], ["a"]], [["b", "c"]]], [["x"], ["b", "c"]]) == 0.5


def test_sequence_accuracy_with_weights():
    y_true, y_pred = ["a", "b", "c", "d"], ["a", "b", "x", "x"]
    assert sequence_accuracy_score(y_true, y_pred) == 0.5
    assert sequence_accuracy_score(y_true, y_pred, sample_weight=[3, 1, 0, 0]) == 1.0
    with pytest.raises(ValueError, match="sample_weight has shape"):
        sequence_accuracy_score(y_true, y_pred, sample_weight=[1, 2])


@pytest.mark.parametrize("metric", [sequence_accuracy_score, token_error_rate])
def test_bad_input_is_refused_naming_the_sample(metric):
    with pytest.raises(ValueError, match="y_true has 2 samples but y_pred has 1"):
        metric(["ab", "c"], ["ab"])
    with pytest.raises(ValueError, match="no samples"):
        metric([], [])
    with pytest.raises(TypeError, match="y_true must be a list"):
        metric("abc", ["abc"])
    with pytest.raises(ValueError, match="Sample 1 of y_true is an empty list"):
        metric([["a"], []], [["a"], ["b"]])
    with pytest.raises(ValueError, match="Sample 1 of y_true holds no reference"):
        metric(["a", []], ["a", "b"])
    with pytest.raises(TypeError, match="Sample 0: y_pred is a list of tokens but"):
        metric(["ab"], [["a", "b"]])
    with pytest.raises(TypeError, match="Sample 1: y_pred is a str, so y_true"):
        metric(["a", [["b"]]], ["a", "b"])
    with pytest.raises(TypeError, match="Sample 0 of y_pred has type int"):
        metric([["a"]], [3])
    with pytest.raises(TypeError, match="Sample 0 of y_true mixes tokens and"):
        metric([["a", ["b"]]], [["a"]])
    with pytest.raises(TypeError, match="Sample 0 of y_true has type int"):
        metric([5], [["a"]])


def test_error_rate_of_empty_references_is_undefined():
    with pytest.raises(ValueError, match="hold no units"):
        token_error_rate(["", ""], ["", ""])
    assert sequence_accuracy_score(["", ""], ["", "a"]) == 0.5


class Lookup(BaseEstimator):
    """Predicts from a table: enough to drive the scorers."""

    def fit(self, X, y):
        self.table_ = dict(zip(X, y, strict=True))
        return self

    def predict(self, X):
        return [self.table_.get(x, "?") for x in X]


def test_scorers_in_cross_validation():
    X = [f"w{i}" for i in range(10)]
    y = [x.upper() for x in X]
    accuracy = cross_val_score(Lookup(), X, y, cv=2, scoring=sequence_accuracy_scorer)
    errors = cross_val_score(Lookup(), X, y, cv=2, scoring=token_error_rate_scorer)
    # every test word is unseen: predicted "?", one substitution and one deletion
    np.testing.assert_allclose(accuracy, 0.0)
    np.testing.assert_allclose(errors, -1.0)
