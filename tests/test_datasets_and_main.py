"""Bundled data and the ``python -m sklearn_rnn`` job the README starts with."""

import re

import numpy as np
import pytest

from sklearn_rnn.__main__ import main
from sklearn_rnn.datasets import load_japanese_vowels, load_tinyshakespeare


def test_japanese_vowels_matches_the_shared_copy(shared_data):
    X, y = load_japanese_vowels(subset="test", return_X_y=True)
    with np.load(shared_data / "japanese_vowels" / "JapaneseVowels.npz") as npz:
        np.testing.assert_array_equal(np.concatenate(X), npz["X_test"])
        np.testing.assert_array_equal(y, npz["y_test"])


def test_japanese_vowels_subsets():
    bunch = load_japanese_vowels()
    assert len(bunch.data) == 270 and bunch.target.shape == (270,)
    assert all(x.shape[1] == 12 and 7 <= len(x) <= 29 for x in bunch.data)
    assert sorted(set(bunch.target)) == [str(i) for i in range(1, 10)]
    assert "CC BY 4.0" in bunch.DESCR
    X, y = load_japanese_vowels(subset="all", return_X_y=True)
    assert len(X) == len(y) == 640
    with pytest.raises(ValueError, match="subset must be"):
        load_japanese_vowels(subset="validation")


def test_main_trains_on_bundled_data_and_reports(capsys):
    assert main(["--random-state", "0"]) == 0
    out = capsys.readouterr().out
    assert "Japanese Vowels" in out and "RNNClassifier(" in out
    accuracy = float(re.search(r"Test accuracy: (\d\.\d+)", out).group(1))
    assert accuracy > 0.9  # nine speakers: chance is about 0.11
    assert re.search(r"for \d+ epochs in \d+\.\d s", out)


def test_tinyshakespeare_matches_the_shared_copy(shared_data):
    text = load_tinyshakespeare(return_text=True)
    assert text == (shared_data / "tinyshakespeare" / "input.txt").read_text()


def test_tinyshakespeare_splits_90_10():
    text = load_tinyshakespeare(return_text=True)
    assert len(text) == 1_115_394 and len(set(text)) == 65
    train = load_tinyshakespeare(subset="train", return_text=True)
    valid = load_tinyshakespeare(subset="validation").data
    assert train + valid == text and len(train) == int(0.9 * len(text))
    assert "public domain" in load_tinyshakespeare().DESCR
    with pytest.raises(ValueError, match="subset must be"):
        load_tinyshakespeare(subset="test")
