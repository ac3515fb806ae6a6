"""Property-based tests over ragged input: whatever the lengths, symbols and magnitudes,
outputs have the right shapes and the only exceptions are the documented ones."""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sklearn_rnn import CharLMGenerator, LSTMSequenceTagger, RNNClassifier, RNNRegressor
from sklearn_rnn._input import TOKEN_PATTERN

TINY = dict(hidden_size=4, embedding_dim=3, max_iter=1, batch_size=4, random_state=0)
SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

tokens = st.text(min_size=1, max_size=6)  # any unicode, including spaces and emoji
token_lists = st.lists(st.lists(tokens, min_size=1, max_size=6), min_size=1, max_size=6)
magnitudes = st.sampled_from([1e-30, 1e-6, 1.0, 1e6, 1e30])


@st.composite
def numeric_sequences(draw):
    n = draw(st.integers(1, 6))
    channels = draw(st.integers(1, 3))
    scale = draw(magnitudes)
    rng = np.random.RandomState(draw(st.integers(0, 2**16)))
    X = [rng.normal(size=(draw(st.integers(1, 6)), channels)) * scale for _ in range(n)]
    if draw(st.booleans()) and n > 1:
        X[-1] = X[0].copy()  # an exact duplicate
    return X


def fit_quietly(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y)


def fit_classifier_or_refuse_one_class(X, y):
    """The fitted classifier, or None after checking the documented refusal."""
    clf = RNNClassifier(**TINY)
    if len(set(y)) < 2:
        with pytest.raises(ValueError, match="only one class"):
            clf.fit(X, y)
        return None
    return fit_quietly(clf, X, y)


def _labels(n, draw_classes):
    return [f"c{i % draw_classes}" for i in range(n)]


@SETTINGS
@given(X=token_lists, n_classes=st.integers(1, 3), unseen=token_lists)
def test_classifier_on_any_token_lists(X, n_classes, unseen):
    y = _labels(len(X), n_classes)
    clf = fit_classifier_or_refuse_one_class(X, y)
    if clf is None:
        return
    for data in (X, unseen):  # unseen tokens never raise
        proba = clf.predict_proba(data)
        assert proba.shape == (len(data), len(set(y)))
        assert np.isfinite(proba).all()
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
        assert set(clf.predict(data)) <= set(y)
        assert clf.transform(data).shape == (len(data), 8)


@SETTINGS
@given(texts=st.lists(st.text(min_size=1, max_size=30), min_size=2, max_size=6))
@example(texts=["\r", "\r"])
def test_classifier_on_any_raw_strings(texts):
    y = _labels(len(texts), 2)
    if not any(TOKEN_PATTERN.findall(text) for text in texts):
        # a sample without a word reads as the unknown word, but when no sample
        # holds one there is no vocabulary to learn (texts=["\r", "\r"])
        with pytest.raises(ValueError, match="X holds no token"):
            RNNClassifier(**TINY).fit(texts, y)
        return
    clf = fit_quietly(RNNClassifier(**TINY), texts, y)
    assert clf.predict(texts).shape == (len(texts),)
    assert clf.predict(["", "x"][1:]).shape == (1,)  # a batch of one


@SETTINGS
@given(X=numeric_sequences(), two_targets=st.booleans())
def test_regressor_on_any_numeric_sequences(X, two_targets):
    y = np.array([x.sum() for x in X])
    if two_targets:
        y = np.c_[y, -y]
    reg = fit_quietly(RNNRegressor(**TINY), X, y)
    pred = reg.predict(X)
    assert pred.shape == y.shape
    assert np.isfinite(pred).all()
    assert reg.predict(X[:1]).shape == y[:1].shape


@SETTINGS
@given(X=numeric_sequences())
def test_classifier_on_any_numeric_sequences(X):
    y = _labels(len(X), 2)
    clf = fit_classifier_or_refuse_one_class(X, y)
    if clf is None:
        return
    assert clf.predict_proba(X).shape == (len(X), 2)
    assert np.isfinite(clf.predict_proba(X)).all()


@SETTINGS
@given(
    value=st.floats(allow_nan=True, allow_infinity=True),
    sample=st.integers(0, 3),
    step=st.integers(0, 2),
)
def test_only_documented_errors_for_extreme_values(value, sample, step):
    X = [np.zeros((3, 2)) for _ in range(4)]
    X[sample][step, 1] = value
    # what float32, in which the network computes, makes of the value (a float64 a
    # hair above float32's largest rounds down to it)
    with np.errstate(over="ignore"):
        representable = bool(np.isfinite(np.float32(value)))
    try:
        fit_quietly(RNNRegressor(**TINY), X, np.arange(4.0))
    except ValueError as exc:
        assert not representable
        assert f"sample {sample} holds" in str(exc)
        assert f"time step {step}, channel 1" in str(exc)
    else:
        assert representable


# ------------------------------------------------------------------ tagger


@st.composite
def tagged_sentences(draw):
    """Token lists with valid IOB2 tags or plain labels, one per token."""
    X = draw(token_lists)
    chunks = draw(st.booleans())
    y = []
    for sentence in X:
        tags, previous = [], "O"
        for _ in sentence:
            if chunks:
                choices = ["O", "B-PER", "B-LOC"]
                if previous != "O":
                    choices.append("I-" + previous[2:])
                previous = draw(st.sampled_from(choices))
            else:
                previous = draw(st.sampled_from(["N", "V", "D"]))
            tags.append(previous)
        y.append(tags)
    return X, y


def check_tagger_outputs(tagger, X):
    n_labels = len(tagger.classes_)
    predicted = tagger.predict(X)
    assert [len(tags) for tags in predicted] == [len(s) for s in X]
    assert {tag for tags in predicted for tag in tags} <= set(tagger.classes_)
    for sentence, proba, vectors in zip(
        X, tagger.predict_proba(X), tagger.transform(X), strict=True
    ):
        assert proba.shape == (len(sentence), n_labels)
        assert np.isfinite(proba).all()
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-4)
        assert vectors.shape[0] == len(sentence)


TAGGER_TINY = dict(TINY, char_embedding_dim=3, char_filters=2)


@SETTINGS
@given(data=tagged_sentences(), unseen=token_lists)
def test_tagger_on_any_token_lists(data, unseen):
    X, y = data
    tagger = LSTMSequenceTagger(**TAGGER_TINY)
    if len({tag for tags in y for tag in tags}) < 2:
        with pytest.raises(ValueError, match="at least 2 distinct labels"):
            tagger.fit(X, y)
        return
    fit_quietly(tagger, X, y)
    for sentences in (X, unseen, X[:1]):  # unseen words and a batch of one
        check_tagger_outputs(tagger, sentences)


@SETTINGS
@given(X=numeric_sequences())
def test_tagger_on_any_numeric_frames(X):
    y = [[int(v > 0) for v in x[:, 0]] for x in X]
    tagger = LSTMSequenceTagger(**TAGGER_TINY)
    if len({label for labels in y for label in labels}) < 2:
        with pytest.raises(ValueError, match="at least 2 distinct labels"):
            tagger.fit(X, y)
        return
    fit_quietly(tagger, X, y)
    check_tagger_outputs(tagger, X)


# ------------------------------------------------------------------ generator

GENERATOR_TINY = dict(
    hidden_size=4, embedding_dim=3, num_layers=1, seq_len=4, batch_size=2, max_iter=1
)


@SETTINGS
@given(
    documents=st.lists(st.text(max_size=20), min_size=1, max_size=4),
    unseen=st.text(max_size=10),
    n_chars=st.integers(0, 12),
)
def test_generator_on_any_unicode_text(documents, unseen, n_chars):
    gen = CharLMGenerator(random_state=0, **GENERATOR_TINY)
    if not "".join(documents):
        with pytest.raises(ValueError, match="no characters"):
            gen.fit(documents)
        return
    fit_quietly(gen, documents, None)
    assert list(gen.classes_) == sorted(set("".join(documents)))
    for texts in (documents, [unseen], [""]):  # unseen characters, an empty prefix
        proba = gen.predict_proba(texts)
        assert proba.shape == (len(texts), len(gen.classes_))
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-4)
        assert np.isfinite(gen.score(texts))
        assert gen.transform(texts).shape[0] == len(texts)
    text = gen.generate(n_chars, prompt=unseen, random_state=0)
    assert len(text) <= n_chars and set(text) <= set(gen.classes_)
