"""ONNX export and torch-free serving: the served model predicts what the estimator
predicts (labels exactly, probabilities to 1e-4) on ragged batches, with lengths from
1 to hundreds, in a process where torch cannot be imported."""

import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime", reason="serving exported models needs onnxruntime")
pytest.importorskip("onnx", reason="export_onnx writes the file with onnx")

from sklearn.exceptions import NotFittedError  # noqa: E402

import sklearn_rnn.onnx  # noqa: E402
from sklearn_rnn import (  # noqa: E402
    CharLMGenerator,
    EnsembleTagger,
    LSTMSequenceTagger,
    RNNClassifier,
    RNNRegressor,
    RNNTranslator,
    export_onnx,
)
from sklearn_rnn.onnx import OnnxModel  # noqa: E402

# a few epochs are enough to compare two ways of predicting
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

ROOT = Path(__file__).resolve().parents[1]
QUICK = dict(hidden_size=8, max_iter=4, random_state=0)
TEXTS = [
    "a fine film",
    "awful , awful plot !",
    "great fun",
    "the worst acting I have seen in years",
    "ok",
    "I liked it",
] * 4
SENTIMENT = ["pos", "neg", "pos", "neg", "pos", "pos"] * 4
# ragged: one token, unknown words, and a sequence far longer than any in fit
TEXTS_TEST = TEXTS[:6] + ["fun", "zebra quokka", " ".join(["great fun"] * 150)]


def _series(n, seed, channels=3):
    rng = np.random.default_rng(seed)
    lengths = np.r_[1, 300, rng.integers(2, 25, size=n - 2)]
    return [rng.normal(size=(length, channels)) for length in lengths]


def _served(estimator, tmp_path, **kwargs):
    return OnnxModel(export_onnx(estimator, tmp_path / "model.onnx"), **kwargs)


@pytest.mark.parametrize(
    "params",
    [
        dict(),
        dict(cell="gru", num_layers=2, bidirectional=True, pooling="mean"),
        dict(cell="rnn", embedding_dim=None, pooling="max"),
        dict(bidirectional=True, init_state="learned", lowercase=False),
        dict(char_features=True, char_filters=6, bidirectional=True, pooling="max"),
        dict(n_networks=3, pooling="max"),
        dict(n_networks=2, char_features=True, char_filters=6),
    ],
    ids=[
        "lstm-last",
        "bigru-2-layers-mean",
        "rnn-onehot-max",
        "bilstm-learned-cased",
        "spellings",
        "three-networks",
        "two-networks-spellings",
    ],
)
def test_a_text_classifier_serves_its_predictions(params, tmp_path):
    clf = RNNClassifier(**QUICK, **params).fit(TEXTS, SENTIMENT)
    served = _served(clf, tmp_path, batch_size=4)  # several runs of the graph
    np.testing.assert_array_equal(served.predict(TEXTS_TEST), clf.predict(TEXTS_TEST))
    np.testing.assert_allclose(
        served.predict_proba(TEXTS_TEST), clf.predict_proba(TEXTS_TEST), atol=1e-4
    )
    no_word = ["", "  "]  # read as one unknown word, by both
    np.testing.assert_allclose(
        served.predict_proba(no_word), clf.predict_proba(no_word), atol=1e-4
    )
    tokens = [text.split() for text in TEXTS_TEST]
    np.testing.assert_array_equal(served.predict(tokens), clf.predict(tokens))
    assert list(served.classes_) == list(clf.classes_)


def test_a_series_classifier_and_regressor_serve_their_predictions(tmp_path):
    X = _series(30, seed=0)
    labels = np.array([1, 2, 3] * 10)
    clf = RNNClassifier(**QUICK, bidirectional=True).fit(X, labels)
    assert clf.readout_ == "nearest"  # the training series' vectors go in the file
    served = _served(clf, tmp_path)
    X_test = _series(12, seed=1)
    np.testing.assert_array_equal(served.predict(X_test), clf.predict(X_test))
    np.testing.assert_allclose(
        served.predict_proba(X_test), clf.predict_proba(X_test), atol=1e-4
    )
    for y in (np.linspace(-5, 100, 30), np.c_[np.arange(30.0), -np.arange(30.0)]):
        reg = RNNRegressor(**QUICK, num_layers=2, bidirectional=True).fit(X, y)
        served = _served(reg, tmp_path)
        assert served.predict(X_test).shape == reg.predict(X_test).shape
        np.testing.assert_allclose(
            served.predict(X_test), reg.predict(X_test), rtol=1e-4, atol=1e-4
        )
    # several networks: the mean of their outputs, the mean of their probabilities
    reg = RNNRegressor(**QUICK, n_networks=2).fit(X, np.linspace(-5, 100, 30))
    np.testing.assert_allclose(
        _served(reg, tmp_path).predict(X_test),
        reg.predict(X_test),
        rtol=1e-4,
        atol=1e-4,
    )
    # ... and the nearest of the members' vectors side by side
    for readout in ("nearest", "softmax"):
        clf = RNNClassifier(**QUICK, n_networks=2, downsample=4, readout=readout)
        clf.fit(X, labels)
        np.testing.assert_allclose(
            _served(clf, tmp_path).predict_proba(X_test),
            clf.predict_proba(X_test),
            atol=1e-4,
        )


@pytest.mark.parametrize(
    "pooling, differences, scale",
    [("last", False, False), ("max", False, True), ("mean", True, False)],
)
def test_long_series_serve_through_the_convolutional_front_end(
    pooling, differences, scale, tmp_path
):
    # the defaults read long series through strided convolutions (downsample), with
    # a convolutional branch beside the recurrent layer (conv_branch), and
    # each channel's within-series copy (series_normalize), series_differences
    # adds the steps' changes and series_scale each series' scale: all travel to
    # the file
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(n, 2)) for n in rng.integers(80, 400, size=20)]
    clf = RNNClassifier(
        **QUICK,
        pooling=pooling,
        bidirectional=True,
        series_differences=differences,
        series_scale=scale,
    )
    clf.fit(X, [0, 1] * 10)
    assert clf.downsample_ > 1 and clf.series_normalize and clf.conv_branch_
    assert clf.readout_ == "nearest"
    assert clf.series_scale_ is scale
    channels = (8 if differences else 4) + (2 if scale else 0)
    assert clf.module_.front_end.reduce.in_channels == channels
    served = _served(clf, tmp_path, batch_size=3)
    # lengths below, at and just past multiples of the stride, and far longer
    stride = clf.downsample_
    lengths = (1, stride, stride + 1, 8 * stride, 401, 1000)
    X_test = [rng.normal(size=(n, 2)) for n in lengths]
    np.testing.assert_array_equal(served.predict(X_test), clf.predict(X_test))
    np.testing.assert_allclose(
        served.predict_proba(X_test), clf.predict_proba(X_test), atol=1e-4
    )


def test_a_token_pattern_travels_with_the_file(tmp_path):
    # words of two letters or more, as CountVectorizer's default: "I" and "!" are
    # not tokens, so a file with the default pattern would read these otherwise
    clf = RNNClassifier(**QUICK, token_pattern=r"(?u)\b\w\w+\b").fit(TEXTS, SENTIMENT)
    served = _served(clf, tmp_path)
    texts = ["I !", "I liked it !", "! ! awful"]
    np.testing.assert_allclose(
        served.predict_proba(texts), clf.predict_proba(texts), atol=1e-4
    )


def test_a_table_serves_as_one_channel_series(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 7))
    y = np.arange(20) % 2
    clf = RNNClassifier(**QUICK).fit(X, y)
    served = _served(clf, tmp_path)
    np.testing.assert_array_equal(served.predict(X), clf.predict(X))


def _tuple_tokens(X):
    return [[(w, "CAP" if w[0].isupper() else "low") for w in s] for s in X]


@pytest.mark.parametrize(
    "case",
    [
        "iob2-chars",
        "iob1-features",
        "ioe1",
        "no-scheme",
        "no-crf",
        "no-chars-one-hot",
        "two-networks",
    ],
)
def test_a_tagger_serves_its_predictions(
    case, tmp_path, ner_data, tagger_params, to_scheme, monkeypatch
):
    X, y = ner_data(40)
    X_test, _ = ner_data(12, seed=1)
    X_test = X_test + [["Oslo"], ["Zorro", "visits", "Quito"], ["Anna", "met"] * 120]
    params = {**tagger_params, "max_iter": 3}
    if case == "iob1-features":  # IOB1 reads a B from the tag before it
        y = to_scheme(y, "IOB1")
        X, X_test = _tuple_tokens(X), _tuple_tokens(X_test)
    elif case == "ioe1":  # IOE1 reads an E from the tag after it
        y = to_scheme(y, "IOE1")
    elif case == "no-scheme":  # labels that are not chunks: the CRF's tags
        y = [[label.split("-")[-1] for label in labels] for labels in y]
        params["tag_scheme"] = None
    elif case == "no-crf":
        params["crf"] = False
    elif case == "no-chars-one-hot":
        params.update(char_features=False, embedding_dim=None, bidirectional=False)
    elif case == "two-networks":  # their mean scores, and the marginals decoding reads
        params["n_networks"] = 2
    tagger = LSTMSequenceTagger(**params).fit(X, y)
    served = _served(tagger, tmp_path, batch_size=5)
    assert served.predict(X_test) == tagger.predict(X_test)
    for mine, theirs in zip(
        served.decision_function(X_test), tagger.decision_function(X_test), strict=True
    ):
        np.testing.assert_allclose(mine, theirs, atol=1e-4)
    # the marginals; the runs decoded all at once and a few at a time, the
    # characters read in one run and in several
    expected = tagger.predict_proba(X_test)
    for chunk in (1024, 7):
        monkeypatch.setattr(sklearn_rnn.onnx, "DECODE_CHUNK", chunk)
        monkeypatch.setattr(sklearn_rnn.onnx, "SPELLINGS_RUN", chunk)
        assert served.predict(X_test) == tagger.predict(X_test)
        for mine, theirs in zip(served.predict_proba(X_test), expected, strict=True):
            assert mine.shape == theirs.shape
            np.testing.assert_allclose(mine, theirs, atol=1e-4)


# reversing strings: a small translator learns it in a few dozen epochs, so that
# its outputs vary (an untrained one writes the same few symbols everywhere)
WORDS = ["abc", "cab", "bca", "acb", "bac", "cba", "ab", "ba", "abcc", "ccab", "a"] * 3
# ragged: one symbol, unknown ones, and longer than any in fit (cut at the
# longest output allowed)
WORDS_TEST = WORDS[:11] + ["c", "abcabc", "zzab", "ccccccccaaaaaaaabbbbbbbbb"]
TRANSLATOR = dict(
    hidden_size=24,
    embedding_dim=8,
    target_embedding_dim=8,
    max_iter=40,
    learning_rate_init=0.01,
    random_state=0,
)


def _assert_translates_alike(served, translator, X):
    for beam in (1, 3):
        translator.set_params(beam_size=beam)
        served.beam_size = beam
        assert served.predict(X) == translator.predict(X)
        mine, my_weights = served.predict_with_attention(X)
        theirs, their_weights = translator.predict_with_attention(X)
        assert mine == theirs
        for a, b in zip(my_weights, their_weights, strict=True):
            assert a.shape == b.shape
            np.testing.assert_allclose(a, b, atol=1e-4)


@pytest.mark.parametrize(
    "params",
    [
        dict(),
        dict(attention="dot", cell="gru", bidirectional=True),
        dict(attention="additive", input_feeding=True, cell="rnn", num_layers=2),
        dict(attention=None, decoder_hidden_size=12, length_penalty=0.6),
        dict(input_feeding=True, bidirectional=True, decoder_hidden_size=20),
    ],
    ids=["general-lstm", "dot-bigru", "additive-feeding-rnn-2", "none-bridge", "feed"],
)
def test_a_translator_serves_its_predictions(params, tmp_path):
    translator = RNNTranslator(**TRANSLATOR, **params).fit(
        WORDS, [w[::-1] for w in WORDS]
    )
    served = _served(translator, tmp_path, batch_size=4)
    assert served._step_session is not served.session  # the step cut out
    assert served.beam_size == 1
    assert served.max_output_length == translator.max_output_length_
    _assert_translates_alike(served, translator, WORDS_TEST)
    for method in (served.predict_proba, served.decision_function, served.transform):
        with pytest.raises(AttributeError, match="RNNTranslator"):
            method(WORDS_TEST)


def test_without_the_onnx_package_the_whole_graph_serves_each_step(
    tmp_path, monkeypatch
):
    # the step part is cut out of the graph with onnx; without it each step runs
    # the whole graph, the encoder on placeholders
    params = dict(attention="additive", input_feeding=True)
    translator = RNNTranslator(**TRANSLATOR, **params)
    translator.fit(WORDS, [w[::-1] for w in WORDS])
    generator = CharLMGenerator(hidden_size=16, max_iter=5, random_state=0).fit(LINES)
    paths = [
        export_onnx(m, tmp_path / f"{i}.onnx")
        for i, m in enumerate([translator, generator])
    ]
    monkeypatch.setitem(sys.modules, "onnx", None)
    served = OnnxModel(paths[0])
    assert served._step_session is served.session
    _assert_translates_alike(served, translator, WORDS_TEST)
    served = OnnxModel(paths[1])
    assert served._step_session is served.session
    assert served.generate(30, "the", temperature=0) == generator.generate(
        30, "the", temperature=0
    )


def test_a_translator_of_words_and_of_series_serves_its_predictions(tmp_path):
    # words in, words out: the tokenizer's pattern and the joining space
    sentences = ["one two", "two three one", "three", "one one two", "two one"] * 4
    translator = RNNTranslator(**TRANSLATOR).fit(
        sentences, [" ".join(s.split()[::-1]) for s in sentences]
    )
    served = _served(translator, tmp_path, batch_size=3)
    _assert_translates_alike(served, translator, sentences[:5] + ["four two", "two"])
    # token lists in, token lists (of ints) out
    tokens = [s.split() for s in sentences]
    targets = [[len(t) for t in s[::-1]] for s in tokens]
    translator = RNNTranslator(**TRANSLATOR, beam_size=2).fit(tokens, targets)
    served = _served(translator, tmp_path)
    assert served.beam_size == 2
    assert served.predict(tokens[:5]) == translator.predict(tokens[:5])
    assert all(isinstance(v, int) for out in served.predict(tokens) for v in out)
    # series in
    X = _series(20, seed=0, channels=2)[2:]
    y = [["up" if v > 0 else "down" for v in x[:4, 0]] for x in X]
    translator = RNNTranslator(**TRANSLATOR, bidirectional=True).fit(X, y)
    served = _served(translator, tmp_path)
    _assert_translates_alike(served, translator, _series(8, seed=1, channels=2))


LINES = ["the cat sat on the mat", "a dog ate the hat", "the rat ran"] * 5


@pytest.mark.parametrize(
    "params",
    [dict(), dict(cell="gru", num_layers=2, embedding_dim=None), dict(cell="rnn")],
    ids=["lstm", "gru-2-layers-one-hot", "rnn"],
)
def test_a_generator_serves_its_next_characters_and_writes_alike(params, tmp_path):
    generator = CharLMGenerator(hidden_size=24, max_iter=15, random_state=0, **params)
    generator.fit(LINES)
    served = _served(generator, tmp_path, batch_size=2)
    # an empty prefix, unknown characters, longer than any line of fit
    X = ["", "the c", "a dog ate th", "zz", "the rat ran " * 20]
    np.testing.assert_array_equal(served.predict(X), generator.predict(X))
    np.testing.assert_allclose(
        served.predict_proba(X), generator.predict_proba(X), atol=1e-4
    )
    np.testing.assert_allclose(served.transform(X), generator.transform(X), atol=1e-4)
    # the most likely character each time: the same text, stopping at the end
    # or not; top_k=1 and a tiny top_p leave only that character too
    for prompt, stop_at_end in (("", True), ("the ", False)):
        expected = generator.generate(
            60, prompt, temperature=0, n_samples=2, stop_at_end=stop_at_end
        )
        assert (
            served.generate(
                60, prompt, temperature=0, n_samples=2, stop_at_end=stop_at_end
            )
            == expected
        )
        assert (
            served.generate(
                60,
                prompt,
                top_k=1,
                n_samples=2,
                stop_at_end=stop_at_end,
                random_state=0,
            )
            == expected
        )
        assert (
            served.generate(
                60, prompt, top_p=0.01, n_samples=2, stop_at_end=stop_at_end
            )
            == expected
        )
    # drawn texts: reproducible, of known characters, no longer than asked
    texts = served.generate(50, "the", n_samples=4, random_state=0, top_k=5)
    assert texts == served.generate(50, "the", n_samples=4, random_state=0, top_k=5)
    assert all(len(t) <= 50 and set(t) <= set(generator.classes_) for t in texts)
    assert len(served.generate(50, stop_at_end=False, random_state=1)) == 50
    assert served.generate(0) == ""
    for method in (served.decision_function, served.predict_with_attention):
        with pytest.raises(AttributeError, match="CharLMGenerator"):
            method(X)


def test_a_tagger_of_series_and_an_ensemble_serve_their_predictions(
    tmp_path, ner_data, tagger_params
):
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(n, 2)) for n in rng.integers(1, 20, size=30)]
    y = [(x[:, 0] > 0).astype(int).tolist() for x in X]
    tagger = LSTMSequenceTagger(**{**tagger_params, "max_iter": 3}).fit(X, y)
    served = _served(tagger, tmp_path)
    X_test = X[:5] + [rng.normal(size=(200, 2))]
    assert served.predict(X_test) == tagger.predict(X_test)
    X, y = ner_data(30)
    ensemble = EnsembleTagger(  # of members that hold two networks each
        LSTMSequenceTagger(**{**tagger_params, "max_iter": 2, "n_networks": 2}),
        n_estimators=2,
        random_state=0,
    ).fit(X, y)
    served = _served(ensemble, tmp_path)
    X_test, _ = ner_data(10, seed=2)
    assert served.predict(X_test) == ensemble.predict(X_test)
    with pytest.raises(AttributeError, match="mean of its members' marginals"):
        served.predict_proba(X_test)


@pytest.mark.parametrize(
    "params",
    [
        dict(cell="gru", num_layers=2, bidirectional=True),
        dict(bidirectional=True, init_state="learned", pooling="mean"),
        dict(cell="rnn", bidirectional=True, pooling="max"),
    ],
    ids=["bigru-2-layers-last", "bilstm-learned-mean", "birnn-max"],
)
def test_the_graph_reads_a_batch_in_any_order_of_lengths(params, tmp_path):
    # OnnxModel sorts its batches by length, but the graph must not need it: each
    # recurrent operator takes the lengths as they come (sequence_lens)
    clf = RNNClassifier(**QUICK, **params).fit(TEXTS, SENTIMENT)
    served = _served(clf, tmp_path)
    stacked, shared = served._read(TEXTS_TEST)
    index = np.arange(len(TEXTS_TEST))[::-1]  # lengths 300, 2, 1, 3, 2, 8, 2, 5, 3
    assert not np.all(np.diff(stacked.lengths[index]) <= 0)
    logits = served.session.run(None, served._feeds(stacked, index, shared))[0]
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(proba, clf.predict_proba(TEXTS_TEST)[index], atol=1e-4)


def test_a_tagger_graph_reads_a_batch_in_any_order_of_lengths(
    tmp_path, ner_data, tagger_params
):
    X, y = ner_data(30)
    tagger = LSTMSequenceTagger(**{**tagger_params, "max_iter": 2}).fit(X, y)
    served = _served(tagger, tmp_path)
    X_test = [["Anna", "met"] * 40, ["Oslo"]] + ner_data(6, seed=3)[0]
    stacked, shared = served._read(X_test)
    feeds = served._feeds(stacked, np.arange(len(X_test)), shared)
    scores = served.session.run(["outputs"], feeds)[0]
    for row, theirs in enumerate(tagger.decision_function(X_test)):
        n = stacked.lengths[row]
        np.testing.assert_allclose(scores[row, :n], theirs, atol=1e-4)


def test_viterbi_finds_each_best_path_in_a_batch_in_any_order():
    rng = np.random.default_rng(0)
    k, lengths = 3, np.array([2, 4, 1, 3, 4])
    emissions = rng.normal(size=(5, 4, k)).astype(np.float32)
    start, transitions, end = rng.normal(size=k), rng.normal(size=(k, k)), -np.ones(k)
    transitions[0, 1] = end[2] = -np.inf  # not allowed

    def score(row, path):
        return (
            start[path[0]]
            + sum(emissions[row, t, tag] for t, tag in enumerate(path))
            + sum(transitions[a, b] for a, b in itertools.pairwise(path))
            + end[path[-1]]
        )

    paths = sklearn_rnn.onnx.viterbi(emissions, lengths, start, transitions, end)
    for row, n in enumerate(lengths):
        every = itertools.product(range(k), repeat=n)
        assert paths[row, :n].tolist() == list(max(every, key=lambda p: score(row, p)))
        assert not paths[row, n:].any()


SERVE_WITHOUT_TORCH = """
import json, sys
sys.modules["torch"] = None  # any import of torch now fails
sys.modules["sklearn"] = None
from sklearn_rnn.onnx import OnnxModel
model = OnnxModel(sys.argv[1])
X = json.loads(sys.argv[2])
out = {"predict": [str(v) for v in model.predict(X)]}
if model.task == "classification":
    out["proba"] = model.predict_proba(X).tolist()
if model.task == "generation":
    out["generated"] = model.generate(40, "the ", temperature=0, n_samples=2)
loaded = [m for m, module in sys.modules.items() if module is not None]
out["modules"] = [m for m in loaded if m.split(".")[0] in ("torch", "sklearn")]
print(json.dumps(out))
"""


def _serve_in_fresh_process(path, X):
    result = subprocess.run(
        [sys.executable, "-c", SERVE_WITHOUT_TORCH, str(path), json.dumps(X)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_serving_needs_neither_torch_nor_scikit_learn(
    tmp_path, ner_data, tagger_params
):
    clf = RNNClassifier(**QUICK, bidirectional=True).fit(TEXTS, SENTIMENT)
    out = _serve_in_fresh_process(export_onnx(clf, tmp_path / "c.onnx"), TEXTS_TEST)
    assert out["modules"] == []
    assert out["predict"] == [str(v) for v in clf.predict(TEXTS_TEST)]
    np.testing.assert_allclose(out["proba"], clf.predict_proba(TEXTS_TEST), atol=1e-4)
    X, y = ner_data(30)
    tagger = LSTMSequenceTagger(**{**tagger_params, "max_iter": 2}).fit(X, y)
    out = _serve_in_fresh_process(export_onnx(tagger, tmp_path / "t.onnx"), X[:8])
    assert out["predict"] == [str(v) for v in tagger.predict(X[:8])]
    translator = RNNTranslator(**TRANSLATOR, beam_size=2)
    translator.fit(WORDS, [w[::-1] for w in WORDS])
    path = export_onnx(translator, tmp_path / "tr.onnx")
    out = _serve_in_fresh_process(path, WORDS_TEST)
    assert out["modules"] == []
    assert out["predict"] == translator.predict(WORDS_TEST)
    generator = CharLMGenerator(hidden_size=16, max_iter=5, random_state=0)
    generator.fit(LINES)
    out = _serve_in_fresh_process(export_onnx(generator, tmp_path / "g.onnx"), LINES)
    assert out["modules"] == []
    assert out["predict"] == generator.predict(LINES).tolist()
    assert out["generated"] == generator.generate(
        40, "the ", temperature=0, n_samples=2
    )


def test_the_file_holds_what_preprocessing_needs(tmp_path):
    clf = RNNClassifier(**QUICK).fit(TEXTS, SENTIMENT)
    served = _served(clf, tmp_path)
    meta = served.metadata
    assert meta["estimator"] == "RNNClassifier"
    assert meta["reader"]["state"]["vocabulary"] == clf.vocabulary_
    assert meta["tokenizer"]["pattern"]
    assert meta["outputs"] == {"task": "classification", "classes": ["neg", "pos"]}
    served = _served(RNNClassifier(**QUICK).fit(_series(10, 0), [0, 1] * 5), tmp_path)
    state = served.metadata["reader"]["state"]
    assert state["mean"] is not None and state["scale"] is not None


def test_what_cannot_be_exported_says_why(tmp_path):
    custom = RNNClassifier(**QUICK, tokenizer=str.split).fit(TEXTS, SENTIMENT)
    with pytest.raises(ValueError, match="custom tokenizer"):
        export_onnx(custom, tmp_path / "x.onnx")
    with pytest.raises(TypeError, match="a str cannot be exported"):
        export_onnx("a model", tmp_path / "x.onnx")
    with pytest.raises(NotFittedError):
        export_onnx(RNNClassifier(), tmp_path / "x.onnx")
    translator = RNNTranslator(hidden_size=8, max_iter=1, random_state=0)
    translator.fit(["ab", "ba"], [[("x", 1)], [("y", 2)]])
    with pytest.raises(ValueError, match="target symbols that are all strings"):
        export_onnx(translator, tmp_path / "x.onnx")
    codes = [[frozenset("ab"), frozenset("c")], [frozenset("d")]] * 2
    symbols = RNNClassifier(**QUICK).fit(codes, [0, 1] * 2)
    with pytest.raises(ValueError, match="not strings"):
        export_onnx(symbols, tmp_path / "x.onnx")


def test_a_file_from_elsewhere_is_refused(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    node = helper.make_node("Identity", ["x"], ["y"])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    onnx.save(helper.make_model(graph), tmp_path / "other.onnx")
    with pytest.raises(ValueError, match="not written by sklearn_rnn.export_onnx"):
        OnnxModel(tmp_path / "other.onnx")


def test_importing_the_package_imports_no_estimator_until_asked():
    code = (
        "import sys, sklearn_rnn.onnx; "
        "print(any(m.startswith('torch') for m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
        check=True,
    )
    assert result.stdout.strip() == "False"


def test_a_quantized_file_is_smaller_and_predicts_nearly_alike(tmp_path):
    clf = RNNClassifier(
        hidden_size=32, embedding_dim=32, cell="lstm", max_iter=15, random_state=0
    ).fit(TEXTS, SENTIMENT)
    full = export_onnx(clf, tmp_path / "full.onnx")
    small = export_onnx(clf, tmp_path / "small.onnx", quantize=True)
    import onnx

    ops = {node.op_type for node in onnx.load(small).graph.node}
    assert "DynamicQuantizeLSTM" in ops and "LSTM" not in ops
    assert "LSTM" in {node.op_type for node in onnx.load(full).graph.node}
    served = OnnxModel(small)
    assert served.metadata["outputs"]["classes"] == ["neg", "pos"]
    np.testing.assert_allclose(
        served.predict_proba(TEXTS), clf.predict_proba(TEXTS), atol=0.05
    )
