"""RNNTranslator: a sequence in, a sequence of another length out."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV

from sklearn_rnn import RNNTranslator, load
from sklearn_rnn.metrics import sequence_accuracy_score

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SMALL = dict(
    hidden_size=32,
    embedding_dim=16,
    target_embedding_dim=16,
    learning_rate_init=0.01,
    random_state=0,
)


def reverse_and_double(n, seed):
    """Strings of 3-6 letters and their targets: reversed, every "a" doubled, so
    that outputs are longer than inputs by a varying amount and in another order."""
    rng = np.random.RandomState(seed)
    X = ["".join(rng.choice(list("abcde"), rng.randint(3, 7))) for _ in range(n)]
    return X, [word[::-1].replace("a", "aa") for word in X]


@pytest.fixture(scope="module")
def learned():
    X, y = reverse_and_double(1500, seed=0)
    model = RNNTranslator(max_iter=25, **SMALL).fit(X, y)
    return model, reverse_and_double(200, seed=1)


def test_it_learns_an_unaligned_mapping_of_unseen_strings(learned):
    model, (X_test, y_test) = learned
    assert {len(a) for a in y_test} != {len(b) for b in X_test}  # lengths differ
    assert not set(X_test) <= set(reverse_and_double(1500, seed=0)[0])  # unseen ones
    predictions = model.predict(X_test)
    assert all(isinstance(p, str) for p in predictions)  # strings in, strings out
    assert sequence_accuracy_score(y_test, predictions) >= 0.9
    assert model.score(X_test, y_test) == sequence_accuracy_score(y_test, predictions)
    # the training loss is label-smoothed (it cannot fall to 0); the plain
    # log-likelihood of the unseen targets is that of a confident model
    assert model.loss_curve_[-1] < model.loss_curve_[0] / 3
    n_symbols = sum(len(target) + 1 for target in y_test)  # each with its end
    assert -model.score_samples(X_test, y_test).sum() / n_symbols < 0.15


def test_beam_search_never_scores_below_greedy_on_the_models_own_likelihood(learned):
    model, (X_test, _) = learned
    X_test = X_test[:100]
    half_trained = clone(model).set_params(max_iter=2).fit(*reverse_and_double(300, 2))
    for fitted in (model, half_trained):
        greedy = fitted.predict(X_test)
        beam = clone(fitted).set_params(beam_size=4)
        beam.__dict__.update({k: v for k, v in vars(fitted).items() if k.endswith("_")})
        searched = beam.predict(X_test)
        assert np.all(
            fitted.score_samples(X_test, searched)
            >= fitted.score_samples(X_test, greedy) - 1e-4
        )


def test_score_samples_is_the_log_likelihood_of_each_target(learned):
    model, (X_test, y_test) = learned
    right = model.score_samples(X_test[:20], y_test[:20])
    wrong = model.score_samples(X_test[:20], [t + "e" for t in y_test[:20]])
    assert right.shape == (20,) and np.all(right <= 0)
    assert np.all(right > wrong)  # a true target is far likelier than a changed one
    # a symbol never seen in fit is scored (as the unknown symbol), not refused,
    # and an empty target is the end symbol alone
    assert np.all(np.isfinite(model.score_samples(X_test[:2], ["zz", ""])))


def test_several_references_and_repeated_sources():
    """A dictionary lists several pronunciations of a word: pairs whose source
    repeats with other targets are fine, and score accepts several references."""
    X = ["ab", "ab", "ba", "ba"] * 30
    y = ["x", "xy", "y", "yx"] * 30
    model = RNNTranslator(max_iter=15, **SMALL).fit(X, y)
    predicted = model.predict(["ab", "ba"])
    assert predicted[0] in {"x", "xy"} and predicted[1] in {"y", "yx"}
    assert model.score(["ab", "ba"], [["x", "xy"], ["y", "yx"]]) == 1.0


def test_token_lists_in_give_token_lists_out_and_words_are_joined_with_spaces():
    X = [["one", "two"], ["two", "one"], ["one"], ["two"]] * 20
    y = [["1", "2"], ["2", "1"], ["1"], ["2"]] * 20
    model = RNNTranslator(max_iter=20, **SMALL).fit(X, y)
    assert model.predict([["two", "one"]]) == [["2", "1"]]
    sentences = ["one two", "two one", "one", "two"] * 20
    model = RNNTranslator(max_iter=20, **SMALL).fit(sentences, [" ".join(t) for t in y])
    assert model.reader_.analyzer == "word"  # white space: split into words
    assert model.target_reader_.analyzer == "word"
    assert model.predict(["two one"]) == ["2 1"]


def test_numeric_series_in():
    rng = np.random.RandomState(0)
    X = [rng.normal(size=(rng.randint(3, 8), 2)) for _ in range(300)]
    # the sign of the first channel at each step, run-length coded
    y = []
    for x in X:
        signs = ["+" if v > 0 else "-" for v in x[:, 0]]
        y.append([s for i, s in enumerate(signs) if i == 0 or s != signs[i - 1]])
    model = RNNTranslator(max_iter=40, **SMALL).fit(X, y)
    assert model.n_channels_ == 2
    assert model.score(X, y) > 0.8


def test_attention_weights_of_a_prediction(learned):
    model, (X_test, _) = learned
    predictions, weights = model.predict_with_attention(X_test[:5])
    assert predictions == model.predict(X_test[:5])
    for source, output, w in zip(X_test[:5], predictions, weights, strict=True):
        assert w.shape == (len(output), len(source))
        np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("attention", ["dot", "additive", None])
def test_every_attention_trains_and_decodes(attention):
    X, y = reverse_and_double(300, seed=3)
    model = RNNTranslator(attention=attention, max_iter=3, **SMALL).fit(X, y)
    assert len(model.predict(X[:10])) == 10
    # the decoder is hidden_size wide, but as wide as the bidirectional encoder's
    # output for "dot", which scores the decoder's state against it directly
    expected = 2 * SMALL["hidden_size"] if attention == "dot" else SMALL["hidden_size"]
    assert model.module_.decoder.hidden_size == expected
    assert model.module_.decoder.num_layers == model.num_layers == 2


def test_a_decoder_of_its_own_size_learns_and_survives_a_round_trip(tmp_path):
    X, y = reverse_and_double(600, seed=4)
    model = RNNTranslator(decoder_hidden_size=24, max_iter=15, **SMALL).fit(X, y)
    assert model.module_.decoder.hidden_size == 24
    assert model.loss_curve_[-1] < model.loss_curve_[0] / 2
    model.save(tmp_path / "model.skrnn")
    again = load(tmp_path / "model.skrnn")
    assert again.predict(X[:20]) == model.predict(X[:20])
    with pytest.raises(ValueError, match="attention='dot' needs decoder_hidden_size"):
        RNNTranslator(decoder_hidden_size=24, attention="dot", **SMALL).fit(X, y)


def test_max_output_length_stops_an_untrained_model():
    X, y = ["ab", "ba"] * 10, ["xx", "yy"] * 10
    model = RNNTranslator(max_iter=1, max_output_length=4, **SMALL).fit(X, y)
    assert all(len(p) <= 4 for p in model.predict(X))
    model = RNNTranslator(max_iter=1, **SMALL).fit(X, y)
    assert model.max_output_length_ == 2 * 2 + 10
    assert all(len(p) <= model.max_output_length_ for p in model.predict(X))


def test_save_load_pickle_and_grid_search(learned, tmp_path):
    model, (X_test, _) = learned
    model.save(tmp_path / "m.skrnn")
    for copy in (load(tmp_path / "m.skrnn"), pickle.loads(pickle.dumps(model))):
        assert copy.predict(X_test[:50]) == model.predict(X_test[:50])
        np.testing.assert_allclose(
            copy.score_samples(X_test[:5], ["ab"] * 5),
            model.score_samples(X_test[:5], ["ab"] * 5),
        )
    X, y = reverse_and_double(200, seed=4)
    search = GridSearchCV(
        RNNTranslator(max_iter=2, **SMALL), {"hidden_size": [8, 16]}, cv=2
    ).fit(X, y)
    assert search.best_params_["hidden_size"] in (8, 16)
    assert 0 <= search.best_score_ <= 1
    assert search.predict(X[:3]) == search.best_estimator_.predict(X[:3])


def test_warm_start_and_partial_fit_go_on_training():
    X, y = reverse_and_double(300, seed=5)
    model = RNNTranslator(max_iter=2, warm_start=True, **SMALL).fit(X, y)
    model.set_params(label_smoothing=0.0).fit(X, y)  # a loss setting may change
    assert model.n_iter_ == 4
    assert model.module_.label_smoothing == 0.0
    online = RNNTranslator(**SMALL).partial_fit(X, y).partial_fit(X, y)
    assert online.n_iter_ == 2
    with pytest.raises(ValueError, match="target symbol 'q'"):
        online.partial_fit(["ab"], ["q"])


@pytest.mark.parametrize(
    "X, y, error, message",
    [
        ([], [], ValueError, "X is empty"),
        (["ab", "ba"], ["x"], ValueError, "X has 2 samples but y has 1 targets"),
        (["ab", "ba"], [1, 2], TypeError, "Sample 0 of y is a int"),
        (["ab", "ba"], ["x", ["y"]], TypeError, "Sample 1 of y is a list"),
        (["ab", "ba"], "xy", TypeError, "y must be a list of targets"),
        (["ab", "ba"], None, ValueError, "requires y to be passed"),
    ],
    ids=[
        "empty X",
        "lengths differ",
        "not sequences",
        "mixed forms",
        "a string",
        "no y",
    ],
)
def test_bad_input_is_refused_clearly(X, y, error, message):
    with pytest.raises(error, match=message):
        RNNTranslator(max_iter=1, **SMALL).fit(X, y)


def test_predict_before_fit():
    for method in ("predict", "predict_with_attention"):
        with pytest.raises(NotFittedError):
            getattr(RNNTranslator(), method)(["ab"])
    with pytest.raises(NotFittedError):
        RNNTranslator().score_samples(["ab"], ["x"])
