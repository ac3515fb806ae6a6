"""Every input form DESIGN.md promises, and clear errors for bad input."""

import pickle
import re
import sys

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from sklearn_rnn import RNNClassifier, RNNRegressor, load

QUICK = dict(hidden_size=8, max_iter=3, random_state=0)

TEXTS = ["the cat sat", "a dog ran off", "the cat ran", "a dog sat down"] * 3
LABELS = ["cat", "dog", "cat", "dog"] * 3


def ragged_series(n=12, channels=3, seed=0):
    rng = np.random.RandomState(seed)
    return [rng.normal(size=(rng.randint(2, 9), channels)) for _ in range(n)]


@pytest.mark.parametrize(
    "X",
    [
        pytest.param(TEXTS, id="raw strings"),
        pytest.param([t.split() for t in TEXTS], id="token lists"),
        pytest.param([tuple(t.split()) for t in TEXTS], id="token tuples"),
        pytest.param(np.array(TEXTS, dtype=object), id="object array of strings"),
        pytest.param(np.random.RandomState(0).normal(size=(12, 5)), id="2-D array"),
        pytest.param(np.random.RandomState(0).normal(size=(12, 5, 3)), id="3-D array"),
        pytest.param(ragged_series(), id="list of 2-D arrays"),
        pytest.param(
            [np.arange(n, dtype=float) for n in range(1, 13)], id="1-D series"
        ),
        pytest.param([[1.0, 2.0, 3.0], [4.0, 5.0]] * 6, id="ragged nested lists"),
    ],
)
def test_every_input_form_fits_and_predicts_one_label_per_sample(X):
    clf = RNNClassifier(**QUICK).fit(X, LABELS)
    pred = clf.predict(X)
    assert pred.shape == (12,)
    assert set(pred) <= {"cat", "dog"}
    proba = clf.predict_proba(X)
    assert proba.shape == (12, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)


def test_text_builds_a_vocabulary_and_unknown_tokens_never_raise():
    clf = RNNClassifier(**QUICK).fit(TEXTS, LABELS)
    assert {"the", "cat", "dog"} <= set(clf.vocabulary_)
    assert min(clf.vocabulary_.values()) == 2  # 0 is padding, 1 unknown
    # every token unseen, and a string that tokenises to nothing at all
    assert clf.predict(["zebra quagga okapi", "!!!", "?"]).shape == (3,)


def test_lowercase_and_custom_tokenizer():
    clf = RNNClassifier(tokenizer=str.split, lowercase=False, **QUICK)
    clf.fit(["The Cat", "the dog", "The Dog", "the cat"], LABELS[:4])
    assert {"The", "Cat", "the"} <= set(clf.vocabulary_)
    lower = RNNClassifier(**QUICK).fit(["The Cat", "the dog"] * 2, LABELS[:4])
    assert "The" not in lower.vocabulary_


def test_min_frequency_and_max_vocabulary_size():
    X = ["a a a b b c", "a b d"] * 2
    y = [0, 1] * 2
    clf = RNNClassifier(min_frequency=4, **QUICK).fit(X, y)
    assert set(clf.vocabulary_) == {"a", "b"}
    clf = RNNClassifier(max_vocabulary_size=1, **QUICK).fit(X, y)
    assert set(clf.vocabulary_) == {"a"}


def test_labels_of_any_kind_come_back_from_predict():
    X = ragged_series(8)
    for y in (np.array([3, 7] * 4), np.array(["x", "y"] * 4), [True, False] * 4):
        clf = RNNClassifier(**QUICK).fit(X, y)
        assert set(clf.predict(X)) <= set(np.unique(y))
        assert clf.classes_.tolist() == sorted(set(np.asarray(y).tolist()))


def test_predict_accepts_other_numeric_forms_with_the_same_channels():
    X = np.random.RandomState(0).normal(size=(12, 6, 2))
    clf = RNNClassifier(**QUICK).fit(X, LABELS)
    # shorter and longer series, as a list of arrays
    other = [np.zeros((3, 2)), np.ones((10, 2))]
    assert clf.predict(other).shape == (2,)


def test_regressor_takes_1d_and_2d_targets():
    X = ragged_series()
    y = np.arange(12, dtype=float)
    reg = RNNRegressor(**QUICK).fit(X, y)
    assert reg.predict(X).shape == (12,)
    reg = RNNRegressor(**QUICK).fit(X, np.c_[y, -y])
    assert reg.predict(X).shape == (12, 2)
    assert reg.n_outputs_ == 2


def test_a_text_with_no_word_is_one_unknown_symbol():
    """Sentence sets hold empty texts (CR has 4, MPQA 3): fit and predict take them,
    an empty string exactly as one of spaces only, or as one word never seen."""
    labels = [0, 1, 0, 1] * 3
    clf = RNNClassifier(**QUICK).fit(TEXTS + ["", "  "], labels + [0, 1])
    no_word = clf.predict_proba(["", "  ", "zzz", "the cat"])
    np.testing.assert_allclose(no_word[0], no_word[1])
    np.testing.assert_allclose(no_word[0], no_word[2])  # one unseen word
    assert not np.allclose(no_word[0], no_word[3])


def test_word_dropout_replaces_rare_words_more_often_while_training_only():
    """A word seen c times in fit is replaced by the unknown symbol with probability
    word_dropout / (word_dropout + c), as the tagger's, and only while training."""
    texts = TEXTS + ["a rare bird"]  # "rare" and "bird" once, "the" 6 times
    labels = LABELS + ["dog"]
    clf = RNNClassifier(word_dropout=0.5, **QUICK).fit(texts, labels)
    seen = []
    clf.module_.encoder.input_layer.register_forward_pre_hook(
        lambda module, args: seen.append(args[0].clone())
    )
    words = torch.arange(2, len(clf.vocabulary_) + 3).repeat(4000, 1)
    words[:, -1] = 0  # padding
    clf.module_.train()
    clf.module_.encoder.embed(words)
    replaced = seen[-1] != words
    assert (seen[-1][replaced] == 1).all()  # by the unknown symbol
    assert not replaced[:, -1].any()  # never padding
    counts = {"the": 6, "cat": 6, "a": 7, "dog": 6, "rare": 1, "bird": 1}
    for word, count in counts.items():
        rate = replaced[:, clf.vocabulary_[word] - 2].float().mean().item()
        assert rate == pytest.approx(0.5 / (0.5 + count), abs=0.02), word
    clf.module_.eval()
    clf.module_.encoder.embed(words)
    assert torch.equal(seen[-1], words)
    proba = clf.predict_proba(texts)
    np.testing.assert_array_equal(proba, clf.predict_proba(texts))
    off = RNNClassifier(word_dropout=0.0, **QUICK).fit(texts, labels)
    assert off.module_.unknown_rate is None
    assert not np.allclose(off.predict_proba(texts), proba)
    # kept with the model: the rates hold after a round trip
    clone = pickle.loads(pickle.dumps(clf))
    assert torch.equal(clone.module_.unknown_rate, clf.module_.unknown_rate)
    with pytest.raises(ValueError, match="'word_dropout' parameter"):
        RNNRegressor(word_dropout=-0.1).fit(TEXTS, np.arange(12.0))


@pytest.mark.parametrize("Estimator", [RNNClassifier, RNNRegressor])
@pytest.mark.parametrize("method", ["predict", "transform"])
def test_not_fitted_error(Estimator, method):
    with pytest.raises(NotFittedError):
        getattr(Estimator(), method)(TEXTS)


BAD_X = [
    pytest.param([], ValueError, "X is empty", id="empty X"),
    pytest.param("one string", TypeError, "got a single str", id="single string"),
    pytest.param(
        [["a", "b"], [], ["c"]],
        ValueError,
        "Sample 1 of X is an empty sequence",
        id="empty token list",
    ),
    pytest.param(
        [np.ones((3, 2)), np.ones((2, 2)), np.ones((0, 2))],
        ValueError,
        "Sample 2 of X is an empty sequence",
        id="empty array",
    ),
    pytest.param(
        [np.ones((3, 2)), np.array([[1.0, np.nan]]), np.ones((2, 2))],
        ValueError,
        "sample 1 holds NaN at time step 0, channel 1",
        id="NaN in a ragged list",
    ),
    pytest.param(
        [np.ones((3, 2)), np.ones((2, 2)), np.array([[1.0, 2.0], [np.inf, 0.0]])],
        ValueError,
        "sample 2 holds infinity at time step 1, channel 0",
        id="infinity in a ragged list",
    ),
    pytest.param(
        np.array([[1.0, 2.0], [np.nan, 1.0], [0.0, 0.0]]),
        ValueError,
        "Input X contains NaN",
        id="NaN in a table",
    ),
    pytest.param(
        [np.ones((3, 2)), np.ones((2, 3)), np.ones((2, 2))],
        ValueError,
        "Sample 1 of X has 3 channels but sample 0 has 2",
        id="channels differ between samples",
    ),
    pytest.param(
        [["a", "b"], ["c", 3], ["d"]],
        TypeError,
        "Sample 1 of X mixes strings",
        id="tokens mix strings and numbers",
    ),
    pytest.param(
        ["text", ["a", "list"], "text"],
        TypeError,
        "Sample 1 of X is a list",
        id="strings mixed with lists",
    ),
    pytest.param(
        [np.ones((3, 2)), "text", np.ones((2, 2))],
        TypeError,
        "Sample 1 of X is a str",
        id="arrays mixed with strings",
    ),
]


@pytest.mark.parametrize("X, error, message", BAD_X)
def test_bad_X_is_refused_naming_the_sample(X, error, message):
    y = [0, 1, 0][: max(len(X), 1)] if not isinstance(X, str) else [0]
    with pytest.raises(error, match=re.escape(message)):
        RNNClassifier(**QUICK).fit(X, y)


def test_X_and_y_of_different_lengths():
    with pytest.raises(ValueError, match="X has 12 samples but y has 11 labels"):
        RNNClassifier(**QUICK).fit(TEXTS, LABELS[:-1])
    with pytest.raises(ValueError, match="X has 12 samples but y has 11 targets"):
        RNNRegressor(**QUICK).fit(TEXTS, np.arange(11.0))


def test_a_single_class_is_refused():
    with pytest.raises(ValueError, match="only one class: 'cat'"):
        RNNClassifier(**QUICK).fit(TEXTS, ["cat"] * 12)


def test_string_targets_are_refused_by_the_regressor():
    with pytest.raises(ValueError, match="needs numeric targets, but y holds strings"):
        RNNRegressor(**QUICK).fit(TEXTS, LABELS)


def test_channel_count_at_predict_must_match_fit():
    clf = RNNClassifier(**QUICK).fit(ragged_series(channels=3), LABELS)
    with pytest.raises(ValueError, match="X has 2 channels, but RNNClassifier was"):
        clf.predict(ragged_series(channels=2))


def test_table_width_at_predict_must_match_fit():
    X = np.random.RandomState(0).normal(size=(12, 5))
    clf = RNNClassifier(**QUICK).fit(X, LABELS)
    with pytest.raises(ValueError, match="X has 4 features, but RNNClassifier is"):
        clf.predict(X[:, :4])


def test_input_family_at_predict_must_match_fit():
    clf = RNNClassifier(**QUICK).fit(TEXTS, LABELS)
    with pytest.raises(ValueError, match="fitted on token sequences or text, but X"):
        clf.predict(ragged_series())
    clf = RNNClassifier(**QUICK).fit(ragged_series(), LABELS)
    with pytest.raises(ValueError, match="fitted on numeric sequences, but X holds"):
        clf.predict(TEXTS)


def test_unseen_label_in_warm_start_is_refused():
    clf = RNNClassifier(warm_start=True, **QUICK).fit(TEXTS, LABELS)
    with pytest.raises(ValueError, match="Sample 0 has the label 'bird'"):
        clf.fit(TEXTS, ["bird"] + LABELS[1:])


@pytest.mark.skipif(
    sys.version_info < (3, 11), reason="exception notes (add_note) need Python 3.11"
)
def test_tokenizer_errors_name_the_sample():
    def tokenizer(text):
        if "boom" in text:
            raise RuntimeError("tokenizer broke")
        return text.split()

    with pytest.raises(RuntimeError, match="tokenizer broke") as info:
        RNNClassifier(tokenizer=tokenizer, **QUICK).fit(["ok", "ok", "boom"], [0, 1, 0])
    assert info.value.__notes__ == ["raised by the tokenizer on sample 2 of X: 'boom'"]


def test_invalid_parameters_are_refused_at_fit():
    with pytest.raises(ValueError, match="'cell' parameter"):
        RNNClassifier(cell="transformer").fit(TEXTS, LABELS)
    with pytest.raises(ValueError, match="'hidden_size' parameter"):
        RNNClassifier(hidden_size=0).fit(TEXTS, LABELS)
    with pytest.raises(ValueError, match="device='tpu0' is not a device torch knows"):
        RNNClassifier(device="tpu0", **QUICK).fit(TEXTS, LABELS)


def test_negative_sample_weight_is_refused():
    w = np.ones(12)
    w[4] = -1
    with pytest.raises(ValueError, match="sample 4 has a negative weight"):
        RNNClassifier(**QUICK).fit(TEXTS, LABELS, sample_weight=w)


# ---------------------------------------------------------------------- word vectors


def _animal_or_tool(words, n, seed):
    """Sentences "i saw a <word> today" labelled by the word's kind (its name's
    first letter, a or t, which no network here reads: words are atomic tokens)."""
    rng = np.random.RandomState(seed)
    chosen = [words[i] for i in rng.randint(len(words), size=n)]
    return [f"i saw a {w} today" for w in chosen], [w[0] for w in chosen]


def test_pretrained_vectors_let_the_classifier_read_words_it_never_saw():
    """Vectors that place animals apart from tools: trained on 10 words of each kind,
    the classifier labels 10 others that only the vectors know; without them it can
    only guess."""
    rng = np.random.RandomState(0)
    animals = [f"a{i}" for i in range(20)]
    tools = [f"t{i}" for i in range(20)]
    vectors = {w: rng.normal(size=8) + 3.0 for w in animals}
    vectors |= {w: rng.normal(size=8) - 3.0 for w in tools}
    X, y = _animal_or_tool(animals[:10] + tools[:10], 120, 0)
    X_new, y_new = _animal_or_tool(animals[10:] + tools[10:], 60, 1)
    params = dict(hidden_size=8, max_iter=30, learning_rate_init=0.01, random_state=0)
    with_vectors = RNNClassifier(
        pretrained_embeddings=vectors, freeze_embeddings=True, **params
    ).fit(X, y)
    without = RNNClassifier(embedding_dim=8, **params).fit(X, y)
    assert with_vectors.score(X_new, y_new) > 0.9
    assert without.score(X_new, y_new) < 0.75  # unknown words: chance is 0.5
    # frozen: the rows are the vectors; the words unseen in fit are in the vocabulary
    embedding = with_vectors.module_.encoder.input_layer.table.detach().cpu().numpy()
    np.testing.assert_allclose(
        embedding[with_vectors.vocabulary_["a15"]], vectors["a15"], rtol=1e-6
    )
    # the regressor takes them too
    reg = RNNRegressor(pretrained_embeddings=vectors, **params)
    reg.fit(X, [1.0 if label == "a" else -1.0 for label in y])
    assert reg.module_.encoder.input_layer.table.shape[1] == 8
    with pytest.raises(ValueError, match="needs token input"):
        RNNClassifier(pretrained_embeddings=vectors).fit(np.ones((4, 3)), [0, 1] * 2)
    with pytest.raises(ValueError, match="holds no vectors"):
        RNNClassifier(pretrained_embeddings={}).fit(X, y)


def test_char_features_let_the_classifier_read_words_it_never_saw(tmp_path):
    """With char_features each word's spelling is read too (the tagger's character
    CNN): the kind shows in the first letter of words never seen in fit, which the
    classifier then labels, from raw text and from token lists, and keeps doing so
    after a round trip through the safe format. Without, it can only guess (see
    the test above)."""
    kinds = [f"a{i}" for i in range(20)] + [f"t{i}" for i in range(20)]
    X, y = _animal_or_tool(kinds[:10] + kinds[20:30], 120, 0)
    X_new, y_new = _animal_or_tool(kinds[10:20] + kinds[30:], 60, 1)
    params = dict(hidden_size=8, embedding_dim=8, max_iter=30, random_state=0)
    clf = RNNClassifier(char_features=True, char_filters=8, **params)
    clf.fit(X, y)
    assert "a15" not in clf.vocabulary_
    assert clf.score(X_new, y_new) > 0.9
    tokens = [text.split() for text in X_new]
    np.testing.assert_array_equal(clf.predict(tokens), clf.predict(X_new))
    clf.save(tmp_path / "spelled.skrnn")
    loaded = load(tmp_path / "spelled.skrnn")
    np.testing.assert_allclose(loaded.predict_proba(X_new), clf.predict_proba(X_new))
    # a text without a word is the unknown word, spelled as nothing
    assert clf.predict(["", "a15"]).tolist()[1] == "a"
    # tokens given as (word, feature) tuples add an embedding of the feature
    tagged = [[(w, "N" if w in kinds else "O") for w in text.split()] for text in X]
    with_tags = RNNClassifier(char_features=True, **params).fit(tagged, y)
    assert len(with_tags.module_.features.feature_embeddings) == 1
    assert with_tags.score(tagged, y) > 0.9
    # the regressor reads spellings alike; vectors given for the words join them
    vectors = {w: np.full(8, 1.0 if w[0] == "a" else -1.0) for w in kinds}
    reg = RNNRegressor(char_features=True, pretrained_embeddings=vectors, **params)
    reg.fit(X, [1.0 if label == "a" else -1.0 for label in y])
    assert reg.module_.word_embedding.table.shape == (len(reg.vocabulary_) + 2, 8)
    assert np.corrcoef(reg.predict(X_new), np.array(y_new) == "a")[0, 1] > 0.9


def test_words_only_the_vectors_hold_keep_their_vectors_at_no_cost(tmp_path):
    """A word met only in the vectors gets no gradient: its row stays out of the
    optimizer (a GloVe file's 400,000 words must not slow each step), weight decay
    leaves it alone, and a round trip keeps it."""
    rng = np.random.RandomState(0)
    X, y = _animal_or_tool(["a0", "a1", "t0", "t1"], 40, 0)
    seen = {w: rng.normal(size=4) for w in ("a0", "a1", "t0", "t1", "saw")}
    unseen = {f"w{i}": rng.normal(size=4) for i in range(2000)}
    params = dict(hidden_size=4, max_iter=3, weight_decay=0.1, random_state=0)

    def n_learned(clf):
        return sum(p.numel() for p in clf.module_.parameters() if p.requires_grad)

    few = RNNClassifier(pretrained_embeddings=seen, **params).fit(X, y)
    many = RNNClassifier(pretrained_embeddings=seen | unseen, **params).fit(X, y)
    assert n_learned(many) == n_learned(few)
    assert len(many.vocabulary_) == len(few.vocabulary_) + 2000
    table = many.module_.encoder.input_layer.table.detach().cpu().numpy()
    np.testing.assert_allclose(table[many.vocabulary_["w7"]], unseen["w7"], rtol=1e-6)
    assert not np.allclose(table[many.vocabulary_["a0"]], seen["a0"])  # learned
    X_new = ["i saw a w7 today", "i saw a a0 w12 today"]
    many.save(tmp_path / "m.skrnn")
    np.testing.assert_array_equal(
        load(tmp_path / "m.skrnn").predict_proba(X_new), many.predict_proba(X_new)
    )


def test_frozen_vectors_stay_frozen_after_a_round_trip(tmp_path):
    X = ["a good film", "a bad film"] * 10
    y = ["pos", "neg"] * 10
    vectors = {"good": [1.0, 0.0], "bad": [0.0, 1.0], "film": [0.5, 0.5]}
    clf = RNNClassifier(
        pretrained_embeddings=vectors,
        freeze_embeddings=True,
        hidden_size=4,
        max_iter=2,
        warm_start=True,
        random_state=0,
    ).fit(X, y)
    clf.save(tmp_path / "m.skrnn")
    loaded = load(tmp_path / "m.skrnn")
    loaded.fit(X, y)  # warm start goes on training everything but the embedding
    embedding = loaded.module_.encoder.input_layer.weight.detach().cpu().numpy()
    np.testing.assert_array_equal(embedding[loaded.vocabulary_["good"]], [1.0, 0.0])
    assert loaded.n_iter_ == 4


# ---------------------------------------------------------------------- one-pass input


def test_a_generator_loses_no_sample():
    clf = RNNClassifier(**QUICK).fit((t for t in TEXTS), iter(LABELS))
    assert len(clf.vocabulary_) == len(
        RNNClassifier(**QUICK).fit(TEXTS, LABELS).vocabulary_
    )
    assert len(clf.predict(t for t in TEXTS[:4])) == 4
    np.testing.assert_array_equal(clf.predict(iter(TEXTS)), clf.predict(TEXTS))


def test_an_iterator_of_arrays_is_read_as_numeric_sequences():
    X = ragged_series()
    clf = RNNClassifier(**QUICK).fit(iter(X), LABELS)
    np.testing.assert_array_equal(clf.predict(iter(X)), clf.predict(X))


# ---------------------------------------------------------------------- pandas


def test_a_pandas_series_of_text_is_read_as_text():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"text": TEXTS, "label": LABELS}, index=range(100, 112))
    clf = RNNClassifier(**QUICK).fit(frame["text"], frame["label"])
    expected = RNNClassifier(**QUICK).fit(TEXTS, LABELS)
    assert clf.vocabulary_ == expected.vocabulary_
    np.testing.assert_array_equal(clf.predict(frame["text"]), expected.predict(TEXTS))
    # a one-column frame of text, as a list column selector hands it over
    np.testing.assert_array_equal(clf.predict(frame[["text"]]), expected.predict(TEXTS))


def test_a_pandas_series_of_token_lists_is_read_as_tokens():
    pd = pytest.importorskip("pandas")
    tokens = pd.Series([t.split() for t in TEXTS])
    clf = RNNClassifier(**QUICK).fit(tokens, LABELS)
    assert len(clf.predict(tokens)) == len(TEXTS)


def test_a_text_column_in_a_column_transformer():
    """The classifier's pooled vectors as features of a text column, beside other
    columns: the ColumnTransformer hands it the column as a Series (and y)."""
    pd = pytest.importorskip("pandas")
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    frame = pd.DataFrame({"text": TEXTS, "length": [len(t) for t in TEXTS]})
    features = ColumnTransformer(
        [("rnn", RNNClassifier(**QUICK), "text"), ("n", "passthrough", ["length"])]
    )
    pipe = make_pipeline(features, LogisticRegression()).fit(frame, LABELS)
    assert features.transform(frame).shape == (len(TEXTS), 2 * QUICK["hidden_size"] + 1)
    assert set(pipe.predict(frame)) <= set(LABELS)


def test_pandas_layouts_of_time_series_are_refused_with_a_way_to_convert():
    pd = pytest.importorskip("pandas")
    long = pd.DataFrame(
        {"value": np.arange(12.0)},
        index=pd.MultiIndex.from_product([range(3), range(4)]),
    )
    with pytest.raises(ValueError, match="multi-index.*groupby"):
        RNNClassifier(**QUICK).fit(long, [0, 1, 0])
    nested = pd.DataFrame({"dim_0": [pd.Series(np.arange(5.0)) for _ in range(4)]})
    with pytest.raises(ValueError, match="nested"):
        RNNClassifier(**QUICK).fit(nested, [0, 1, 0, 1])


# ---------------------------------------------------------------------- channels


def test_channels_first_arrays_read_with_layout_ncl():
    rng = np.random.RandomState(0)
    channels_last = rng.normal(size=(12, 20, 3))
    channels_first = channels_last.transpose(0, 2, 1)
    expected = RNNClassifier(**QUICK).fit(channels_last, LABELS)
    clf = RNNClassifier(layout="NCL", **QUICK).fit(channels_first, LABELS)
    assert clf.n_channels_ == 3
    np.testing.assert_allclose(
        clf.predict_proba(channels_first), expected.predict_proba(channels_last)
    )
    # a list of channels-first arrays of different lengths (aeon's unequal length)
    ragged = [x.T for x in ragged_series()]
    clf = RNNClassifier(layout="NCL", **QUICK).fit(ragged, LABELS)
    assert clf.n_channels_ == 3


def test_a_3d_array_that_looks_channels_first_warns():
    X = np.random.RandomState(0).normal(size=(12, 3, 50))
    with pytest.warns(UserWarning, match="layout='NCL'"):
        clf = RNNClassifier(**QUICK).fit(X, LABELS)
    assert clf.n_channels_ == 50  # read as asked: channels last
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        RNNClassifier(layout="NLC", **QUICK).fit(X, LABELS)  # said so: no warning


def test_a_channels_first_list_gets_a_hint():
    ragged = [x.T for x in ragged_series()]
    with pytest.raises(ValueError, match="layout='NCL'"):
        RNNClassifier(**QUICK).fit(ragged, LABELS)


def test_zero_channels_are_refused_in_the_librarys_words():
    with pytest.raises(ValueError, match="0 channels"):
        RNNClassifier(**QUICK).fit(np.zeros((4, 3, 0)), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="Sample 0 of X .* 0 channels"):
        RNNClassifier(**QUICK).fit([np.zeros((3, 0))] * 4, [0, 1, 0, 1])


@pytest.mark.parametrize("device", ["meta", "xla", "cpux"])
def test_devices_sklearn_rnn_cannot_use_are_refused(device):
    with pytest.raises(ValueError, match=f"device='{device}'"):
        RNNClassifier(device=device, **QUICK).fit(TEXTS, LABELS)


# ---------------------------------------------------------------------- tokenizers


@pytest.mark.parametrize(
    "tokenizer, message",
    [
        (lambda text: None, "returned a NoneType for sample 0"),
        (lambda text: [[c] for c in text], r"returned the token \['t'\] for sample 0"),
        (lambda text: [None], "returned the token None for sample 0"),
        (lambda text: text.upper(), "returned a str for sample 0"),
    ],
    ids=["None", "unhashable tokens", "None tokens", "a string"],
)
def test_a_tokenizer_that_returns_no_token_list_is_named(tokenizer, message):
    with pytest.raises(TypeError, match=message):
        RNNClassifier(tokenizer=tokenizer, **QUICK).fit(TEXTS, LABELS)


def test_a_min_frequency_that_empties_the_vocabulary_is_refused():
    with pytest.raises(ValueError, match="min_frequency=100 leaves no token.*6 times"):
        RNNClassifier(min_frequency=100, **QUICK).fit(TEXTS, LABELS)


def test_characters_are_read_per_code_point_and_long_tokens_keep_both_ends():
    from sklearn_rnn._input import UNK, encode_chars

    vocabulary = {"a": 2, "b": 3, "ÿ": 4, "😀": 5}
    X = [["a" * 20 + "b" * 20, "ÿ😀x", "aa"], ["😀"], ["a" * 20 + "b" * 20]]
    chars = encode_chars(X, vocabulary, max_chars=24)
    assert chars.shape == (5, 24)
    assert chars[0].tolist() == [2] * 12 + [3] * 12  # the first 12 and the last 12
    assert chars[1, :4].tolist() == [4, 5, UNK, 0]  # astral emoji; x unknown
    assert chars[2, :3].tolist() == [2, 2, 0]
    assert chars[3, :2].tolist() == [5, 0]
    assert chars[4].tolist() == chars[0].tolist()
