"""LSTMSequenceTagger: shapes, learning, the CRF under tag schemes, character
features, bad input, and life inside scikit-learn."""

import itertools
import math
import pickle
import re
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_set_params,
)

from sklearn_rnn import LSTMSequenceTagger, _schemes, load
from sklearn_rnn._base import PATIENCE_MIN_BATCHES
from sklearn_rnn.metrics import entity_f1_scorer, token_accuracy_scorer
from sklearn_rnn.nn import LinearChainCRF, TaggerEnsembleNet
from sklearn_rnn.nn.tokens import CharCNN

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def fitted(tagger_params, ner_data):
    X, y = ner_data(80)
    return LSTMSequenceTagger(**tagger_params).fit(X, y), X, y


def test_learns_a_small_ner_task(fitted, ner_data):
    tagger, X, y = fitted
    X_test, y_test = ner_data(40, seed=1)
    assert tagger.tag_scheme_ == "IOB2"
    assert tagger.classes_.tolist() == ["B-LOC", "B-PER", "I-LOC", "I-PER", "O"]
    assert tagger.tags_ == ["O", "B-LOC", "E-LOC", "S-LOC", "B-PER", "E-PER", "S-PER"]
    assert tagger.loss_curve_[-1] < 0.2 * tagger.loss_curve_[0]
    assert tagger.score(X_test, y_test) > 0.9  # tagging everything "O" scores 0


def test_outputs_have_the_input_lengths(fitted):
    tagger, _, _ = fitted
    X = [["Anna", "met", "Bo"], ["in"], ["Carl", "Berg", "flew", "to", "Oslo", "."]]
    predicted = tagger.predict(X)
    assert [len(p) for p in predicted] == [3, 1, 6]
    assert all(isinstance(tag, str) for p in predicted for tag in p)
    proba = tagger.predict_proba(X)
    assert [p.shape for p in proba] == [(3, 5), (1, 5), (6, 5)]
    for p in proba:
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
    vectors = tagger.transform(X)
    assert [v.shape for v in vectors] == [(3, 32), (1, 32), (6, 32)]
    # the most probable label of each token is mostly the decoded one
    flat_argmax = [tagger.classes_[i] for p in proba for i in p.argmax(axis=1)]
    flat_pred = [t for p in predicted for t in p]
    agree = np.mean([a == b for a, b in zip(flat_argmax, flat_pred, strict=True)])
    assert agree > 0.8


def test_padding_does_not_change_a_sentence(fitted, rounding):
    tagger, _, _ = fitted
    short = ["Bo", "lives", "in", "Rome"]
    longer = [["the", "weather", "in", "New", "York", "is", "fine"] * 3] * 5
    alone = tagger.predict_proba([short])[0]
    batched = tagger.predict_proba(longer + [short] + longer)[5]
    np.testing.assert_allclose(alone, batched, atol=rounding)
    np.testing.assert_allclose(
        tagger.transform([short])[0],
        tagger.transform(longer + [short])[5],
        atol=rounding,
    )


def test_unseen_words_and_characters_never_raise(fitted):
    tagger, _, _ = fitted
    X = [["Zoë", "🙂", "ünïcode", "x" * 300], ["lives"]]
    assert [len(p) for p in tagger.predict(X)] == [4, 1]


def random_words(n, seed, capitalised):
    rng = np.random.RandomState(seed)
    letters = np.array(list("abcdefghijklmnop"))
    words = ["".join(rng.choice(letters, size=rng.randint(2, 7))) for _ in range(n)]
    return [w.capitalize() for w in words] if capitalised else words


def capital_data(names, fillers, n, seed):
    """A token is a person iff it is capitalised; positions are random, so only its
    spelling can tell."""
    rng = np.random.RandomState(seed)
    X, y = [], []
    for _ in range(n):
        words, tags = [], []
        for _ in range(rng.randint(3, 7)):
            if rng.rand() < 0.4:
                words.append(names[rng.randint(len(names))])
                tags.append("B-PER")
            else:
                words.append(fillers[rng.randint(len(fillers))])
                tags.append("O")
        X.append(words)
        y.append(tags)
    return X, y


def test_char_cnn_reads_each_spelling_once_with_the_same_result(monkeypatch):
    torch.manual_seed(0)
    cnn = CharCNN(10, embedding_dim=4, n_filters=6)
    chars = torch.tensor(
        [[2, 3, 4, 0, 0], [5, 0, 0, 0, 0], [2, 3, 4, 0, 0], [0] * 5, [5, 0, 0, 0, 0]]
        + [[6, 7, 8, 9, 0], [0] * 5]
    )
    alone = torch.cat([cnn(row[None]) for row in chars])  # one token at a time
    rows_read = []
    features = CharCNN.features_of_rows
    monkeypatch.setattr(
        CharCNN,
        "features_of_rows",
        lambda self, c: rows_read.append(len(c)) or features(self, c),
    )
    together = cnn(chars)
    assert rows_read == [4]  # three spellings and the padding, each once
    torch.testing.assert_close(together, alone)
    assert (together[3] == 0).all() and (together[6] == 0).all()
    # gradients flow to every use of a spelling, as if each row were computed
    together.square().sum().backward()
    shared = cnn.conv.weight.grad.clone()
    cnn.zero_grad()
    monkeypatch.setattr(CharCNN, "features_of_rows", features)
    torch.cat([cnn(row[None]) for row in chars]).square().sum().backward()
    torch.testing.assert_close(shared, cnn.conv.weight.grad)


@pytest.mark.parametrize("char_features", [True, False])
def test_char_features_tag_unseen_capitalised_words(char_features, tagger_params):
    # enough distinct words that spelling rules beat memorising letter groups
    names, fillers = random_words(120, 0, True), random_words(120, 1, False)
    X, y = capital_data(names[:100], fillers[:100], 150, 0)
    # words unseen in fit, spelled with the same letters
    X_new, y_new = capital_data(names[100:], fillers[100:], 30, 1)
    params = {**tagger_params, "max_iter": 20, "word_dropout": 0.3}
    tagger = LSTMSequenceTagger(char_features=char_features, **params).fit(X, y)
    # every test word is unknown to the (lowercased) word lookup
    assert not any(w.lower() in tagger.vocabulary_ for s in X_new for w in s)
    if char_features:
        assert tagger.score(X_new, y_new) > 0.9
    else:  # an unknown word is an unknown word: no way to tell names from fillers
        assert tagger.score(X_new, y_new) < 0.7


@pytest.mark.parametrize("crf", [True, False])
@pytest.mark.parametrize("scheme", ["IOB1", "IOB2", "IOE1", "BILOU"])
def test_predicted_tags_always_follow_the_scheme(
    scheme, crf, tagger_params, ner_data, to_scheme
):
    X, y = ner_data(60)
    X += [["Anna", "Bo", "met", "Rome", "Lima"]]  # adjacent chunks: IOB1's B-
    y += [["B-PER", "B-PER", "O", "B-LOC", "B-LOC"]]
    y = to_scheme(y, scheme)
    # barely trained, so that its scores alone would often break the scheme
    params = {**tagger_params, "max_iter": 1, "learning_rate_init": 1e-3}
    tagger = LSTMSequenceTagger(crf=crf, **params).fit(X, y)
    assert tagger.tag_scheme_ == scheme
    X_test = ner_data(40, seed=2)[0] + [["Anna"], ["New", "Oslo", "Bo", "Bo"]]
    predicted = tagger.predict(X_test)
    for tags in predicted:
        assert _schemes.violation(tags, scheme) is None
        assert set(tags) <= set(tagger.classes_)
    for proba in tagger.predict_proba(X_test):
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize("n_networks", [1, 2])
def test_iob1_probabilities_match_enumerated_marginals(
    n_networks, tagger_params, ner_data, to_scheme
):
    """IOB1's B- depends on the previous tag; its probability comes from the CRF's
    pairwise marginals. Check against the probability of every IOBES path (of two
    networks: of their mean scores under their mean CRF, which decoding reads)."""
    X, y = ner_data(40)
    X += [["Anna", "Bo", "met", "Rome"]]
    y += [["B-PER", "B-PER", "O", "B-LOC"]]
    # on the CPU: the test runs the network's parts by hand on CPU tensors
    params = {**tagger_params, "max_iter": 2, "n_networks": n_networks}
    tagger = LSTMSequenceTagger(**params, device="cpu")
    tagger.fit(X, to_scheme(y, "IOB1"))
    sentence = ["Bo", "Anna", "Oslo"]
    proba = tagger.predict_proba([sentence])[0]
    module = tagger.module_
    inputs = tagger._encoded([sentence])
    batch = next(inputs.inference_batches(1))
    with torch.no_grad():
        emissions = module.emissions(module(batch.inputs, batch.lengths))[0]
    crf, k = module.crf, len(tagger.tags_)
    expected = np.zeros_like(proba)
    scores, paths = [], []
    for path in itertools.product(range(k), repeat=3):
        tags = [tagger.tags_[i] for i in path]
        if _schemes.violation(tags, "IOBES") is not None:
            continue
        user = _schemes.encode_chunks(_schemes.chunks(tags), 3, "IOB1")
        if not set(user) <= set(tagger.classes_):
            continue  # the constraints rule these out
        paths.append(user)
        with torch.no_grad():
            scores.append(
                crf.path_score(
                    emissions[None], torch.tensor([path]), torch.tensor([3])
                ).item()
            )
    weights = torch.softmax(torch.tensor(scores, dtype=torch.float64), 0).numpy()
    for weight, user in zip(weights, paths, strict=True):
        for t, tag in enumerate(user):
            expected[t, tagger.classes_.tolist().index(tag)] += weight
    np.testing.assert_allclose(proba, expected, atol=1e-5)


def test_plain_labels_are_scored_by_token_accuracy(tagger_params, ner_data):
    X, y = ner_data(60)
    pos = [["NNP" if t != "O" else "X" for t in tags] for tags in y]
    tagger = LSTMSequenceTagger(**tagger_params).fit(X, pos)
    assert tagger.tag_scheme_ is None and tagger.tags_ == ["NNP", "X"]
    assert tagger.score(X, pos) > 0.95
    proba = tagger.predict_proba(X[:3])
    assert [p.shape for p in proba] == [(len(s), 2) for s in X[:3]]
    np.testing.assert_allclose(np.concatenate(proba).sum(axis=1), 1.0, atol=1e-6)
    # a chunk-looking scheme can be switched off
    plain = LSTMSequenceTagger(tag_scheme=None, **{**tagger_params, "max_iter": 1}).fit(
        X, y
    )
    assert plain.tag_scheme_ is None and plain.tags_ == plain.classes_.tolist()


def test_numeric_frames_with_integer_labels(tagger_params):
    rng = np.random.RandomState(0)
    X = [rng.normal(size=(rng.randint(3, 12), 2)) for _ in range(60)]
    y = [(x[:, 0] > 0).astype(int) for x in X]  # label each frame by its sign
    tagger = LSTMSequenceTagger(**tagger_params).fit(X, y)
    predicted = tagger.predict(X[:3])
    assert [len(p) for p in predicted] == [len(x) for x in X[:3]]
    assert set(predicted[0]) <= {0, 1} and tagger.classes_.tolist() == [0, 1]
    assert tagger.score(X, y) > 0.9  # chance is about 0.5
    assert tagger.predict_proba(X[:1])[0].shape == (len(X[0]), 2)
    assert tagger.transform(X[:1])[0].shape == (len(X[0]), 32)
    with pytest.raises(ValueError, match="needs token input"):
        LSTMSequenceTagger(pretrained_embeddings={"a": [1.0]}).fit(X, y)


def test_explicit_validation_data_drives_early_stopping(
    tagger_params, ner_data, rounding
):
    """Early stopping reads exactly the held-out sentences given, and the tagger it
    leaves is its best epoch's on them. Half of those sentences have PER and LOC
    swapped, so the validation loss climbs once the tagger grows sure of itself:
    the best epoch is an early one, and keeping the last would show."""
    X, y = ner_data(60)
    X_val, y_val = ner_data(20, seed=3)
    swap = {"B-PER": "B-LOC", "I-PER": "I-LOC", "B-LOC": "B-PER", "I-LOC": "I-PER"}
    y_val = [
        [swap.get(t, t) for t in tags] if i % 2 == 0 else tags
        for i, tags in enumerate(y_val)
    ]
    tagger = LSTMSequenceTagger(
        **{**tagger_params, "n_iter_no_change": 3, "max_iter": 40}
    ).fit(X, y, X_val=X_val, y_val=y_val)
    assert len(tagger.validation_scores_) == tagger.n_iter_
    best = max(tagger.history_, key=lambda h: (h["valid_score"], -h["valid_loss"]))
    last = tagger.history_[-1]
    # three epochs of patience, of 8 batches each, stretch to twelve so that they
    # hold at least 90 batches (n_iter_no_change * PATIENCE_MIN_BATCHES, 30)
    assert last["epoch"] - best["epoch"] == 3 * math.ceil(PATIENCE_MIN_BATCHES / 8)
    assert last["epoch"] < 40  # stopped on the plateau, not at max_iter
    assert last["valid_loss"] > 1.2 * best["valid_loss"]
    # re-scored, exactly these sentences give the best epoch's score and loss
    assert tagger.score(X_val, y_val) == pytest.approx(tagger.best_validation_score_)
    held_out = tagger._validation_data(X_val, y_val)
    loss, score = tagger._evaluate(tagger.module_, held_out)
    assert (loss, score) == pytest.approx(
        (best["valid_loss"], best["valid_score"]), rel=rounding
    )
    with pytest.raises(ValueError, match="only read for early stopping"):
        LSTMSequenceTagger(early_stopping=False).fit(X, y, X_val=X_val, y_val=y_val)
    with pytest.raises(ValueError, match="without y_val"):
        LSTMSequenceTagger().fit(X, y, X_val=X_val)


def test_pretrained_embeddings_are_copied_and_can_stay_frozen(tagger_params, ner_data):
    X, y = ner_data(40)
    vectors = {"Anna": [1.0, 2.0, 3.0], "lives": [0.5, 0.5, 0.5], "Zed": [9, 9, 9.0]}
    # two networks: each starts from the vectors
    params = {**tagger_params, "max_iter": 2, "n_networks": 2}
    for frozen in (True, False):
        tagger = LSTMSequenceTagger(
            pretrained_embeddings=vectors, freeze_embeddings=frozen, **params
        ).fit(X, y)
        assert "zed" in tagger.vocabulary_  # unseen in fit, kept for predict
        for network in tagger.module_.members:
            weight = network.features.embedding.table.detach()
            assert weight.shape[1] == 3  # embedding_dim follows the vectors
            assert weight[tagger.vocabulary_["zed"]].tolist() == [9.0, 9.0, 9.0]
            row = weight[tagger.vocabulary_["anna"]].tolist()
            assert (row == [1.0, 2.0, 3.0]) is frozen
    assert tagger.pretrained_embeddings is vectors  # the parameter is untouched
    words, matrix = ["Anna", "Bo"], np.eye(2, 4)
    tagger = LSTMSequenceTagger(
        pretrained_embeddings=(words, matrix), freeze_embeddings=True, **params
    ).fit(X, y)
    for network in tagger.module_.members:
        weight = network.features.embedding.table.detach().cpu().numpy()
        np.testing.assert_array_equal(weight[tagger.vocabulary_["bo"]], matrix[1])
    with pytest.raises(ValueError, match="2 tokens but a matrix of shape"):
        LSTMSequenceTagger(pretrained_embeddings=(words, np.eye(3))).fit(X, y)
    with pytest.raises(ValueError, match="1-D vector of the same length"):
        LSTMSequenceTagger(pretrained_embeddings={"a": [1.0], "b": [1, 2]}).fit(X, y)


# ---------------------------------------------------------------------- token features


def feature_data(n, seed=0):
    """Tokens ``(word, feature)`` whose label is set by the feature alone: the words
    come from a small pool, independent of the labels."""
    rng = np.random.RandomState(seed)
    words, features = ["the", "a", "of", "in", "and"], ["NN", "VB", "JJ"]
    X, y = [], []
    for _ in range(n):
        length = rng.randint(2, 7)
        picked = [features[i] for i in rng.randint(len(features), size=length)]
        X.append([(words[rng.randint(len(words))], f) for f in picked])
        y.append([f"tag{f}" for f in picked])
    return X, y


def test_categorical_token_features_are_learned(tmp_path, tagger_params):
    X, y = feature_data(120)
    X_test, y_test = feature_data(40, seed=1)
    params = {**tagger_params, "char_features": False, "max_iter": 25}
    tagger = LSTMSequenceTagger(**params).fit(X, y)
    assert tagger.tag_scheme_ is None
    assert [sorted(v) for v in tagger.feature_vocabularies_] == [["JJ", "NN", "VB"]]
    assert tagger.score(X_test, y_test) > 0.95
    # the words alone say nothing: the same network without the feature guesses
    words_only = LSTMSequenceTagger(**params).fit([[w for w, _ in s] for s in X], y)
    assert words_only.score([[w for w, _ in s] for s in X_test], y_test) < 0.6
    # an unseen value is read as unknown, never an error; shapes follow the input
    sentence = [("the", "NN"), ("a", "XYZ"), ("of", "JJ")]
    (proba,) = tagger.predict_proba([sentence])
    assert proba.shape == (3, 3) and len(tagger.predict([sentence])[0]) == 3
    assert tagger.transform([sentence])[0].shape == (
        3,
        2 * tagger_params["hidden_size"],
    )
    joblib.dump(tagger, tmp_path / "tagger.joblib")
    loaded = joblib.load(tmp_path / "tagger.joblib")
    assert loaded.predict(X_test) == tagger.predict(X_test)
    np.testing.assert_array_equal(loaded.predict_proba([sentence])[0], proba)


def test_token_features_beside_character_features(tagger_params, ner_data):
    X, y = ner_data(40)
    X = [[(w, "CAP" if w[0].isupper() else "low") for w in s] for s in X]
    tagger = LSTMSequenceTagger(**tagger_params).fit(X, y)
    assert "C" in tagger.char_vocabulary_ and "cap" not in tagger.vocabulary_
    assert tagger.score(X, y) > 0.9


@pytest.mark.parametrize(
    "X, error, message",
    [
        (
            [[("a", "NN"), ("b", "VB")], [("c", "NN", "x")]],
            ValueError,
            r"Sample 1 of X holds the token \('c', 'NN', 'x'\), but the first token "
            r"of X is \('a', 'NN'\): every token must be given as tuples of 2 fields",
        ),
        (
            [[("a", "NN"), ("b", 3)]],
            TypeError,
            "Sample 0 of X holds the token .*must be strings",
        ),
        ([[("a",), ("b",)]], ValueError, "needs the word and at least one feature"),
    ],
)
def test_bad_token_features_get_a_clear_error(X, error, message, tagger_params):
    y = [["B-X"] + ["O"] * (len(s) - 1) for s in X]
    with pytest.raises(error, match=message):
        LSTMSequenceTagger(**tagger_params).fit(X, y)


def test_predict_needs_the_token_fields_fit_saw(tagger_params, ner_data):
    X, y = feature_data(20)
    tagger = LSTMSequenceTagger(**{**tagger_params, "max_iter": 1}).fit(X, y)
    with pytest.raises(
        ValueError,
        match="fitted on tokens given as tuples of 2 fields "
        r"\(the word and 1 feature\), but X holds tokens given as "
        "plain words",
    ):
        tagger.predict([["the", "a"]])
    plain = LSTMSequenceTagger(**{**tagger_params, "max_iter": 1}).fit(*ner_data(10))
    assert plain.feature_vocabularies_ == []
    with pytest.raises(ValueError, match="but X holds tokens given as tuples of 3"):
        plain.predict([[("Anna", "NNP", "B-NP")]])


# ---------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "X, y, error, message",
    [
        (
            [["a", "b"], ["c"]],
            [["O", "O"], ["O", "B-PER"]],
            ValueError,
            "Sample 1 of y has 2 labels, but sample 1 of X has 1 tokens",
        ),
        ([["a"], []], [["O"], []], ValueError, "Sample 1 of X is an empty sequence"),
        (
            [["a", "b"], ["c", 3]],
            [["O", "B-X"], ["O", "O"]],
            TypeError,
            "Sample 1 of X mixes strings with other symbols",
        ),
        (["a b", "c"], [["O", "O"], ["O"]], TypeError, "Tokenise them first"),
        ([["a"], ["b"]], [["O"]], ValueError, "X has 2 sequences but y has 1"),
        ([["a"], ["b"]], [["O"], "B-X"], TypeError, "Sample 1 of y is a str"),
        ([["a"], ["b"]], [["O"], ["O"]], ValueError, "at least 2 distinct labels"),
        ([["a"], ["b"]], [["O"], [1]], TypeError, "all strings or all integers"),
        (
            [["a", "b"], ["c", "d"]],
            [["O", "B-X"], ["I-Y", "O"]],
            ValueError,
            "look like chunk tags but follow no scheme",
        ),
    ],
)
def test_bad_input_gets_a_clear_error(X, y, error, message, tagger_params):
    with pytest.raises(error, match=message):
        LSTMSequenceTagger(**tagger_params).fit(X, y)


def test_tags_that_break_the_declared_scheme_are_refused(tagger_params):
    X = [["a", "b", "c"], ["d", "e"]]
    y = [["O", "B-PER", "I-PER"], ["I-LOC", "O"]]
    with pytest.raises(ValueError, match="Sample 1 of y breaks the IOB2 .*position 0"):
        LSTMSequenceTagger(tag_scheme="BIO", **tagger_params).fit(X, y)
    with pytest.raises(ValueError, match="needs string tags"):
        LSTMSequenceTagger(tag_scheme="IOB2", **tagger_params).fit(
            X, [[0, 1, 1], [0, 1]]
        )


def test_not_fitted_and_refitting_with_new_labels(fitted):
    for method in ("predict", "predict_proba", "transform"):
        with pytest.raises(NotFittedError):
            getattr(LSTMSequenceTagger(), method)([["a"]])
    with pytest.raises(ValueError, match=r"except 'X-PER' \(sample 1, position 1\)"):
        LSTMSequenceTagger().fit(
            [["Anna", "runs"], ["Bo", "ran"]], [["B-PER", "O"], ["B-PER", "X-PER"]]
        )
    tagger, X, y = fitted
    twin = clone(tagger).set_params(warm_start=True, max_iter=1).fit(X, y)
    with pytest.raises(ValueError, match="the label 'B-ORG', which is not among"):
        twin.fit([["Acme"]], [["B-ORG"]])
    with pytest.raises(ValueError, match="X has 2 sequences but y has 1"):
        tagger.score([["a"], ["b"]], [["O"]])


# ---------------------------------------------------------------------- scikit-learn


def test_project_checks_for_ragged_estimators(tagger_params):
    tagger = LSTMSequenceTagger(**tagger_params)
    name = type(tagger).__name__
    check_no_attributes_set_in_init(name, tagger)
    check_get_params_invariance(name, tagger)
    check_set_params(name, tagger)
    assert not is_classifier(tagger)
    twin = clone(tagger.set_params(tag_scheme="IOB1", crf=False))
    assert twin.get_params() == tagger.get_params()


def test_fit_is_idempotent_with_a_fixed_random_state(tagger_params, ner_data):
    # exact repeats are promised on the CPU; on a GPU two fits may differ in the last
    # digits (atomic additions in the backward pass; see the user guide)
    X, y = ner_data(40)
    params = {**tagger_params, "max_iter": 3, "dropout": 0.3, "word_dropout": 0.2}
    params["device"] = "cpu"
    first = LSTMSequenceTagger(**params).fit(X, y)
    proba = first.predict_proba(X[:5])
    first.fit(X, y)
    second = LSTMSequenceTagger(**params).fit(X, y)
    again, other = first.predict_proba(X[:5]), second.predict_proba(X[:5])
    for a, b, c in zip(proba, again, other, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def test_fit_repeats_exactly_on_several_threads(tagger_params, ner_data):
    """Batches big enough that torch splits gradient sums across threads: the CRF's
    potentials and the shared character features must still add up in one order."""
    X, y = ner_data(240)
    params = {**tagger_params, "max_iter": 2, "batch_size": 120, "char_filters": 64}
    params["device"] = "cpu"  # threads are a CPU matter
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        fits = [LSTMSequenceTagger(**params).fit(X, y) for _ in range(3)]
    finally:
        torch.set_num_threads(threads)
    first, *others = [dict(fit.module_.state_dict()) for fit in fits]
    for other in others:
        for name, value in first.items():
            assert torch.equal(value, other[name]), name


def test_joblib_round_trip_predicts_identically(fitted, tmp_path):
    tagger, X, _ = fitted
    joblib.dump(tagger, tmp_path / "tagger.joblib")
    loaded = joblib.load(tmp_path / "tagger.joblib")
    assert loaded.predict(X) == tagger.predict(X)
    for a, b in zip(loaded.predict_proba(X), tagger.predict_proba(X), strict=True):
        np.testing.assert_array_equal(a, b)
    # the pickle holds plain data: no torch object, and no device
    state = tagger.__getstate__()
    assert b"torch" not in pickle.dumps(state)
    assert isinstance(state["tags_"], list) and isinstance(
        state["classes_"], np.ndarray
    )
    assert all(isinstance(k, str) for k in state["reader_"].char_vocabulary)


def test_grid_search_and_cross_validation_with_integer_cv(tagger_params, ner_data):
    X, y = ner_data(45)
    params = {**tagger_params, "max_iter": 4}
    search = GridSearchCV(
        LSTMSequenceTagger(**params), {"crf": [True, False]}, cv=3
    ).fit(X, y)
    # the default score is the entity F1: tagging everything "O" scores 0
    assert (search.cv_results_["mean_test_score"] > 0.5).all()
    assert len(search.predict(X[:2])) == 2
    scores = cross_val_score(
        LSTMSequenceTagger(**params), X, y, cv=3, scoring=entity_f1_scorer
    )
    assert scores.shape == (3,) and (scores > 0.8).all()
    search = GridSearchCV(
        LSTMSequenceTagger(**params),
        {"cell": ["gru"]},
        cv=3,
        scoring={"f1": entity_f1_scorer, "accuracy": token_accuracy_scorer},
        refit="f1",
    ).fit(X, y)
    # about half the tokens are "O"
    assert (search.cv_results_["mean_test_accuracy"] > 0.9).all()
    assert (search.cv_results_["mean_test_f1"] > 0.8).all()


def test_in_a_pipeline(tagger_params, ner_data):
    def with_room_numbers(X, y, first):
        X = [words + ["room", str(first + i)] for i, words in enumerate(X)]
        return X, [tags + ["O", "O"] for tags in y]

    X, y = with_room_numbers(*ner_data(40), first=10)
    X_test, y_test = with_room_numbers(*ner_data(40, seed=1), first=110)
    digits_to_zero = FunctionTransformer(
        lambda X: [[w.replace("1", "0") for w in s] for s in X]
    )
    pipe = make_pipeline(digits_to_zero, LSTMSequenceTagger(**tagger_params))
    pipe.fit(X, y)
    tagger = pipe[-1]
    # the tagger was fitted on the step's output and predicts through it
    assert not any("1" in word for word in tagger.vocabulary_)
    rewritten = digits_to_zero.transform(X_test)
    assert pipe.predict(X_test) == tagger.predict(rewritten)
    assert pipe.score(X_test, y_test) == tagger.score(rewritten, y_test)
    assert pipe.score(X_test, y_test) > 0.9  # tagging everything "O" scores 0


def test_sample_weight_and_warm_start(tagger_params, ner_data):
    X, y = ner_data(40)
    tagger = LSTMSequenceTagger(warm_start=True, **{**tagger_params, "max_iter": 2})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tagger.fit(X, y, sample_weight=np.linspace(0.5, 2, 40))
        tagger.fit(X, y)
    assert tagger.n_iter_ == 4 and len(tagger.loss_curve_) == 4
    with pytest.raises(ValueError, match="sample_weight.shape"):
        LSTMSequenceTagger(**tagger_params).fit(X, y, sample_weight=[1.0, 2.0])


def test_unknown_word_replacement_targets_rare_words(tagger_params):
    X = [["the", "cat", "sat"], ["the", "dog", "sat"], ["the", "cat", "ran"]]
    y = [["O", "B-A", "O"], ["O", "B-A", "O"], ["O", "B-A", "O"]]
    # two networks: each replaces words alike
    params = {**tagger_params, "max_iter": 1, "n_networks": 2}
    tagger = LSTMSequenceTagger(word_dropout=0.5, **params).fit(X, y)
    expected = {"the": 0.5 / 3.5, "cat": 0.5 / 2.5, "dog": 0.5 / 1.5, "ran": 0.5 / 1.5}
    loaded = pickle.loads(pickle.dumps(tagger))
    pairs = zip(tagger.module_.members, loaded.module_.members, strict=True)
    for network, again in pairs:
        rate = network.features.unknown_rate
        for word, value in expected.items():
            assert rate[tagger.vocabulary_[word]].item() == pytest.approx(value)
        assert rate[:2].tolist() == [0.0, 0.0]  # padding and the unknown symbol
        torch.testing.assert_close(again.features.unknown_rate, rate)
    off = LSTMSequenceTagger(word_dropout=0.0, **params).fit(X, y)
    assert all((n.features.unknown_rate == 0).all() for n in off.module_.members)


# ---------------------------------------------------------------------- n_networks


def test_two_networks_learn_apart_and_decode_as_one(tmp_path, ner_data, tagger_params):
    X, y = ner_data(80)
    X_test, y_test = ner_data(40, seed=1)
    tagger = LSTMSequenceTagger(**{**tagger_params, "n_networks": 2}).fit(X, y)
    assert tagger.score(X_test, y_test) > 0.9
    module = tagger.module_
    assert isinstance(module, TaggerEnsembleNet) and len(module.members) == 2
    first, second = module.members
    # each from its own initial weights and draws, each a tagger on its own
    assert not torch.equal(first.output.weight, second.output.weight)
    for network in module.members:
        assert tagger._with_network(network).score(X_test, y_test) > 0.9
    # decoded as one: Viterbi over their mean emissions and mean CRF scores
    batch = next(tagger._encoded(X_test[:5]).inference_batches(5))
    with torch.no_grad():
        scores = [net(batch.inputs, batch.lengths) for net in module.members]
        crf = LinearChainCRF.mean([net.crf for net in module.members])
        paths = crf.decode((scores[0] + scores[1]) / 2, batch.lengths)
    decoded = tagger._labels_of_paths(
        [p[:n].tolist() for p, n in zip(paths, batch.lengths.tolist(), strict=True)]
    )
    predicted = tagger.predict(X_test[:5])
    assert [predicted[i] for i in batch.index] == decoded
    # the networks' vectors side by side
    assert tagger.transform(X_test[:1])[0].shape == (len(X_test[0]), 2 * 32)
    assert len(tagger.get_feature_names_out()) == 64
    # saved in the safe format and read back: the same model
    tagger.save(tmp_path / "pair.skrnn")
    loaded = load(tmp_path / "pair.skrnn")
    assert loaded.n_networks == 2 and loaded.predict(X_test) == tagger.predict(X_test)
    for a, b in zip(
        loaded.predict_proba(X_test), tagger.predict_proba(X_test), strict=True
    ):
        np.testing.assert_array_equal(a, b)
    # n_networks makes the network: a warm start may not change it
    tagger.set_params(warm_start=True, n_networks=3)
    with pytest.raises(ValueError, match=r"n_networks=3 \(fitted with 2\)"):
        tagger.fit(X, y)


def test_documented_defaults_are_the_real_ones():
    doc = LSTMSequenceTagger.__doc__
    for name, value in LSTMSequenceTagger().get_params().items():
        match = re.search(rf"^ *{name} : .*?default=(.+)$", doc, flags=re.M)
        assert match, f"{name} is not documented"
        documented = match.group(1).strip()
        if isinstance(value, float):
            assert float(documented) == value, name
        else:
            expected = f'"{value}"' if isinstance(value, str) else repr(value)
            assert documented == expected, (name, documented, value)
