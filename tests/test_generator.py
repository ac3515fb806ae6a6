"""CharLMGenerator: learning, writing and scoring text, and the estimator contract."""

import math
import pickle
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from sklearn_rnn import CharLMGenerator
from sklearn_rnn._data import BOUNDARY, TextStream
from sklearn_rnn.nn import CharLanguageModel

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

TEXT = "the cat sat on the mat. the dog sat on the log. " * 10
SMALL = dict(
    cell="gru",
    hidden_size=32,
    embedding_dim=8,
    seq_len=20,
    batch_size=4,
    learning_rate_init=0.01,
    dropout=0.0,
    max_iter=25,
    random_state=0,
)


@pytest.fixture(scope="module")
def fitted():
    """A small model that has learned TEXT well (do not modify it in a test)."""
    return CharLMGenerator(**SMALL).fit(TEXT)


def hello_model(**kwargs):
    params = dict(
        cell="rnn",
        hidden_size=16,
        embedding_dim=None,
        dropout=0.0,
        max_iter=100,
        learning_rate_init=0.01,
        random_state=0,
    )
    return CharLMGenerator(**{**params, **kwargs}).fit("hello")


# ---------------------------------------------------------------------- the classic


def test_hello_vanilla_rnn_with_one_hot_input_writes_ello():
    gen = hello_model()
    assert gen.classes_.tolist() == ["e", "h", "l", "o"]
    assert isinstance(gen.module_.encoder.rnn, torch.nn.RNN)
    assert gen.module_.encoder.rnn.nonlinearity == "tanh"
    assert gen.generate(prompt="h", temperature=0) == "ello"
    # the document ends after "o": without stop_at_end the model must go on
    assert len(gen.generate(10, prompt="h", temperature=0, stop_at_end=False)) == 10
    # from the beginning of a document, greedy writes the whole word
    assert gen.generate(temperature=0) == "hello"


# ---------------------------------------------------------------------- generation


def test_generation_is_reproducible_and_leaves_the_global_rng_alone(fitted):
    torch.manual_seed(0)
    expected = torch.rand(1)
    torch.manual_seed(0)
    a = fitted.generate(60, prompt="the ", random_state=3)
    assert torch.rand(1) == expected  # no global draw was made
    assert fitted.generate(60, prompt="the ", random_state=3) == a
    rng = np.random.RandomState(5)
    b = fitted.generate(60, prompt="the ", random_state=rng)
    c = fitted.generate(60, prompt="the ", random_state=rng)
    assert b != c  # a RandomState moves on, as in scikit-learn
    assert len({fitted.generate(60, random_state=seed) for seed in range(4)}) > 1


def test_fit_is_reproducible_with_random_state():
    a = CharLMGenerator(**{**SMALL, "max_iter": 3, "dropout": 0.2}).fit(TEXT)
    b = CharLMGenerator(**{**SMALL, "max_iter": 3, "dropout": 0.2}).fit(TEXT)
    c = CharLMGenerator(**{**SMALL, "max_iter": 3, "random_state": 1}).fit(TEXT)
    np.testing.assert_array_equal(a.predict_proba(["the "]), b.predict_proba(["the "]))
    assert a.loss_curve_ == b.loss_curve_
    assert a.generate(50, random_state=0) == b.generate(50, random_state=0)
    assert not np.allclose(a.predict_proba(["the "]), c.predict_proba(["the "]))


def test_n_samples_runs_as_a_batch_of_independent_texts(fitted):
    texts = fitted.generate(40, n_samples=5, stop_at_end=False, random_state=0)
    assert isinstance(texts, list) and len(texts) == 5
    assert all(isinstance(t, str) and len(t) == 40 for t in texts)
    assert len(set(texts)) > 1
    assert isinstance(fitted.generate(5, random_state=0), str)
    assert fitted.generate(0) == "" and fitted.generate(0, n_samples=2) == ["", ""]


def test_temperature_zero_is_the_argmax_of_predict_proba(fitted):
    for prompt in ["", "t", "the c", "the dog sat on", "xq"]:
        text = fitted.generate(8, prompt=prompt, temperature=0, stop_at_end=False)
        for i, char in enumerate(text):
            proba = fitted.predict_proba([prompt + text[:i]])[0]
            assert char == fitted.classes_[np.argmax(proba)]


def test_top_k_and_top_p_restrict_the_support(fitted):
    greedy = fitted.generate(30, prompt="the ", temperature=0, stop_at_end=False)
    for seed in range(3):
        kw = dict(prompt="the ", stop_at_end=False, random_state=seed)
        assert fitted.generate(30, top_k=1, temperature=2.0, **kw) == greedy
        assert fitted.generate(30, top_p=1e-6, temperature=2.0, **kw) == greedy
    # every character drawn is among the 2 most likely, or the nucleus of 0.6
    for option in [dict(top_k=2), dict(top_p=0.6)]:
        prompt = "the "
        text = fitted.generate(
            25,
            prompt=prompt,
            temperature=3.0,
            stop_at_end=False,
            random_state=0,
            **option,
        )
        for i, char in enumerate(text):
            proba = fitted.predict_proba([prompt + text[:i]])[0] ** (1 / 3.0)
            proba /= proba.sum()  # the support is cut after the temperature
            order = np.argsort(-proba)
            if "top_k" in option:
                allowed = order[:2]
            else:
                before = np.cumsum(proba[order]) - proba[order]
                allowed = order[before < 0.6]
            assert char in fitted.classes_[allowed]


def test_stop_at_end_stops_where_documents_end():
    docs = ["ab", "abab", "ab", "abab"] * 10
    gen = CharLMGenerator(**{**SMALL, "max_iter": 60}).fit(docs)
    for text in gen.generate(50, n_samples=20, random_state=0):
        assert text in {"ab", "abab"}  # each stops at its end, which is not written
    long = gen.generate(50, n_samples=3, stop_at_end=False, random_state=0)
    assert all(len(t) == 50 and set(t) <= {"a", "b"} for t in long)


# ---------------------------------------------------------------------- scores


def test_score_perplexity_and_bits_per_character_agree(fitted):
    text = "the cat sat on the log."
    score = fitted.score(text)
    assert score < 0
    assert fitted.score([text]) == pytest.approx(score)
    assert fitted.perplexity(text) == pytest.approx(math.exp(-score))
    assert fitted.bits_per_character(text) == pytest.approx(-score / math.log(2))


def test_score_is_higher_on_text_like_the_training_text(fitted):
    rng = np.random.RandomState(0)
    noise = "".join(rng.choice(list("the cadoglsm."), size=200))
    assert fitted.score(TEXT[:200]) > fitted.score(noise) + 1.0
    # near the training loss on the training text itself
    assert fitted.score(TEXT) == pytest.approx(-fitted.loss_curve_[-1], abs=0.3)


def test_score_is_the_mean_over_characters_and_ends(fitted, rounding):
    docs = ["the cat", "a", "the dog sat on the mat"]
    total = sum(fitted.score([d]) * (len(d) + 1) for d in docs)
    mean = total / sum(len(d) + 1 for d in docs)
    assert fitted.score(docs) == pytest.approx(mean, rel=rounding)


# ---------------------------------------------------------------------- next character


def test_predict_proba_predict_and_transform(fitted):
    X = ["the c", "", "the dog sat on the l", "t"]
    proba = fitted.predict_proba(X)
    assert proba.shape == (4, len(fitted.classes_))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-9)
    assert list(fitted.classes_) == sorted(set(TEXT))  # the columns' order
    pred = fitted.predict(X)
    np.testing.assert_array_equal(pred, fitted.classes_[proba.argmax(axis=1)])
    assert pred[0] == "a" and pred[2] == "o"
    hidden = fitted.transform(X)
    assert hidden.shape == (4, 32) and hidden.dtype == np.float32
    # rows do not depend on their neighbours in the batch (ragged lengths)
    np.testing.assert_allclose(fitted.transform(X[2:3]), hidden[2:3], atol=1e-6)
    names = fitted.get_feature_names_out()
    assert names[0] == "charlmgenerator0" and len(names) == 32


def test_unknown_characters_never_raise(fitted):
    assert "Z" not in fitted.classes_
    assert np.isfinite(fitted.score(["the ZZ cat", "Q"]))
    assert fitted.score("the cat") > fitted.score("the ZZZ")
    assert fitted.predict(["ZZ", "the Z"]).shape == (2,)
    assert fitted.predict_proba(["€"]).shape == (1, len(fitted.classes_))
    text = fitted.generate(30, prompt="Zebra \u00e9 ", random_state=0)
    assert set(text) <= set(fitted.classes_)


# ---------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "X, error, match",
    [
        ("", ValueError, "no characters"),
        (["", ""], ValueError, "no characters"),
        ([], ValueError, "X is empty"),
        (123, TypeError, "string or a list of strings"),
        (b"bytes", TypeError, "string or a list of strings"),
        (["fine", 7], TypeError, "Sample 1 of X is a int"),
        ([["a", "b"]], TypeError, "Sample 0 of X is a list"),
    ],
)
def test_bad_training_text_is_refused_clearly(X, error, match):
    with pytest.raises(error, match=match):
        CharLMGenerator(**SMALL).fit(X)


def test_bad_generation_arguments_are_refused_clearly(fitted):
    with pytest.raises(ValueError, match="'n_chars' parameter of generate"):
        fitted.generate(n_chars=-1)
    with pytest.raises(ValueError, match="'temperature' parameter"):
        fitted.generate(temperature=-0.5)
    with pytest.raises(ValueError, match="'top_p' parameter"):
        fitted.generate(top_p=0.0)
    with pytest.raises(TypeError, match="'prompt' parameter"):
        fitted.generate(prompt=["the"])
    with pytest.raises(TypeError, match="single str"):
        fitted.predict("the")


def test_not_fitted():
    gen = CharLMGenerator()
    for call in [
        lambda: gen.generate(),
        lambda: gen.score("a"),
        lambda: gen.predict(["a"]),
        lambda: gen.predict_proba(["a"]),
        lambda: gen.transform(["a"]),
    ]:
        with pytest.raises(NotFittedError):
            call()


# ---------------------------------------------------------------------- training


@pytest.mark.parametrize("repeat, tolerance", [(4, 1e-6), (700, 1e-3)])
def test_early_stopping_holds_out_the_end_of_the_text(repeat, tolerance):
    """A short held-out text is read exactly; a long one (here 16,800 characters) in
    parallel pieces, each warmed up on the text before it, nearly exactly."""
    docs = ["the cat sat on the mat."] * 16 + ["the dog sat on the log. " * repeat]
    n_stream = sum(len(d) + 1 for d in docs)
    fraction = (len(docs[-1]) + 1) / n_stream  # exactly the last document
    gen = CharLMGenerator(
        **{**SMALL, "max_iter": 40 if repeat < 10 else 3},
        early_stopping=True,
        validation_fraction=fraction,
        n_iter_no_change=2,
    ).fit(docs)
    assert len(gen.validation_scores_) == gen.n_iter_ and gen.best_loss_ is None
    assert gen.best_validation_score_ == max(gen.validation_scores_)
    # the weights kept are the best epoch's, and the held-out part was the last
    # document, read from its beginning
    assert gen.score(docs[-1]) == pytest.approx(
        gen.best_validation_score_, abs=tolerance
    )


def test_early_stopping_auto_depends_on_the_text_length(monkeypatch):
    gen = CharLMGenerator(**{**SMALL, "max_iter": 2})
    assert gen.fit(TEXT).validation_scores_ is None
    monkeypatch.setattr(CharLMGenerator, "_auto_early_stopping_min", 100)
    assert len(gen.fit(TEXT).validation_scores_) == 2
    with pytest.raises(ValueError, match="leaves no text to train on"):
        CharLMGenerator(early_stopping=True, validation_fraction=0.9).fit("a")


def test_warm_start_and_partial_fit_continue():
    gen = CharLMGenerator(**{**SMALL, "max_iter": 2}, warm_start=True).fit(TEXT)
    first = gen.loss_curve_[-1]
    gen.fit(TEXT + "XYZ")  # continues; new characters are unknown to the model
    assert gen.n_iter_ == 4 and gen.loss_curve_[-1] < first
    assert "X" not in gen.classes_

    inc = CharLMGenerator(**SMALL)
    for i in range(3):
        inc.partial_fit(TEXT)
        assert inc.n_iter_ == i + 1
    assert inc.loss_curve_[-1] < inc.loss_curve_[0]
    loaded = pickle.loads(pickle.dumps(inc))
    inc.partial_fit(TEXT)
    loaded.partial_fit(TEXT)
    np.testing.assert_allclose(
        loaded.predict_proba(["the "]), inc.predict_proba(["the "]), rtol=1e-6
    )


def test_epochs_read_the_streams_in_order_with_the_state_carried():
    stream = TextStream(torch.arange(1001))
    assert len(stream) == 1000
    assert stream.n_streams(batch_size=8, seq_len=30) == 8
    assert stream.n_streams(batch_size=8, seq_len=400) == 2
    assert stream.n_streams(batch_size=8, seq_len=2000) == 1
    batches = list(stream.windows(batch_size=8, seq_len=30))
    assert [b.inputs.shape for b in batches][:2] == [(8, 30), (8, 30)]
    assert batches[-1].inputs.shape == (8, 125 - 30 * 4)
    rows = torch.cat([b.inputs for b in batches], dim=1)
    # row r is the r-th consecutive piece of the stream, read window after window
    np.testing.assert_array_equal(rows.flatten().numpy(), np.arange(1000))
    targets = torch.cat([b.targets for b in batches], dim=1)
    np.testing.assert_array_equal(targets.numpy(), rows.numpy() + 1)
    head, tail = stream.split(100)
    assert len(head) == 900 and len(tail) == 100
    assert head.symbols[-1] == tail.symbols[0] == 900
    # read side by side: 3 pieces of 334, 334 and 332, each after 10 symbols of context
    warm, inputs, targets, lengths = stream.parallel_rows(3, warm_up=10)
    assert lengths.tolist() == [334, 334, 332] and inputs.shape == (3, 334)
    assert inputs[1, 0] == 334 and inputs[2, 331] == 999 and inputs[2, 332] == 0
    np.testing.assert_array_equal(warm[1].numpy(), np.arange(658, 668))
    np.testing.assert_array_equal(targets[0].numpy(), np.arange(1, 335))


def test_training_windows_carry_the_state_and_each_epoch_starts_afresh(fitted):
    fitted = pickle.loads(pickle.dumps(fitted)).to("cpu")  # batches are CPU tensors
    stream = TextStream.from_documents([TEXT], fitted.classes_)
    module = fitted.module_
    for _ in range(2):  # the second epoch must start from the initial state again
        batches = iter(fitted._epoch_batches(stream))
        first, second = next(batches), next(batches)
        assert first.continues and second.continues  # the loop carries the state
        with torch.no_grad():
            a = module.loss(*first[:4])
            b = module.loss(*second[:4], state=a.state)
            logits_a, _ = module(first.inputs)
            logits_b, _ = module(second.inputs, a.state)
            whole, _ = module(torch.cat([first.inputs, second.inputs], dim=1))
        torch.testing.assert_close(torch.cat([logits_a, logits_b], dim=1), whole)
        for out, batch, logits in ((a, first, logits_a), (b, second, logits_b)):
            expected = torch.nn.functional.cross_entropy(
                logits.flatten(0, 1), batch.targets.flatten()
            )
            torch.testing.assert_close(out.loss, expected)


def test_documents_are_joined_with_boundary_marks():
    stream = TextStream.from_documents(["ab", "", "b"], np.array(["a", "b"], object))
    m = BOUNDARY
    assert stream.symbols.tolist() == [m, 3, 4, m, m, 4, m]


# ---------------------------------------------------------------------- the network


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("embedding_dim", [None, 5])
def test_fast_sampling_matches_the_full_forward(cell, embedding_dim):
    torch.manual_seed(0)
    model = CharLanguageModel(
        n_symbols=9,
        embedding_dim=embedding_dim,
        cell=cell,
        hidden_size=12,
        num_layers=2,
    ).eval()
    prompt = torch.tensor([[2, 5, 7, 3]])
    with torch.inference_mode():
        state, _ = model.read(prompt, torch.tensor([4]))
        symbols, lengths = model.sample(state, 15, temperature=0, banned=[1, 2])
        # the same greedy text, one full forward per step
        expected, x, s = [], prompt, None
        for _ in range(15):
            logits, s = model(x, s)
            logits = logits[:, -1]
            logits[:, [0, 1, 2]] = float("-inf")
            x = logits.argmax(dim=-1, keepdim=True)
            expected.append(int(x))
    assert symbols[0].tolist() == expected and lengths.tolist() == [15]


def test_reading_in_chunks_is_exact():
    torch.manual_seed(0)
    model = CharLanguageModel(
        n_symbols=7, embedding_dim=4, cell="lstm", hidden_size=8, num_layers=2
    ).eval()
    lengths = torch.tensor([11, 7, 7, 2])
    inputs = torch.randint(1, 7, (4, 11))
    targets = torch.randint(1, 7, (4, 11))
    for i, n in enumerate(lengths):
        inputs[i, n:] = targets[i, n:] = 0
    with torch.no_grad():
        whole = model.read(inputs, lengths, targets, chunk_size=100)
        parts = model.read(inputs, lengths, targets, chunk_size=3)
        for i, n in enumerate(lengths.tolist()):  # each sequence on its own
            logits, state = model(inputs[i : i + 1, :n])
            ll = torch.log_softmax(logits[0], -1)[torch.arange(n), targets[i, :n]]
            assert float(parts[1][i]) == pytest.approx(float(ll.sum()), abs=1e-5)
            torch.testing.assert_close(parts[0][0][:, i], state[0][:, 0])
    torch.testing.assert_close(whole[1], parts[1])
    torch.testing.assert_close(whole[0], parts[0])


# ---------------------------------------------------------------------- the contract


def test_pickle_and_joblib_round_trips_generate_identically(fitted, tmp_path):
    joblib.dump(fitted, tmp_path / "gen.joblib")
    loaded = joblib.load(tmp_path / "gen.joblib")
    kw = dict(n_chars=80, prompt="the ", n_samples=2, random_state=11)
    assert loaded.generate(**kw) == fitted.generate(**kw)
    assert loaded.score(TEXT[:100]) == fitted.score(TEXT[:100])
    state = fitted.__getstate__()
    assert all(isinstance(v, np.ndarray) for v in state["module_"].values())
    assert isinstance(state["reader_"].classes, np.ndarray)


def test_clone_params_and_the_projects_estimator_checks():
    gen = CharLMGenerator(hidden_size=7, seq_len=33, cell="rnn")
    params = gen.get_params()
    assert params["seq_len"] == 33 and params["embedding_dim"] == 64
    twin = clone(gen)
    assert twin.get_params() == params
    twin.set_params(seq_len=10)
    assert (twin.seq_len, gen.seq_len) == (10, 33)
    name = "CharLMGenerator"
    check_no_attributes_set_in_init(name, CharLMGenerator())
    check_get_params_invariance(name, CharLMGenerator())
    check_set_params(name, CharLMGenerator())
    check_parameters_default_constructible(name, CharLMGenerator())
    with pytest.raises(ValueError, match="'seq_len' parameter"):
        CharLMGenerator(seq_len=0).fit(TEXT)


def test_fit_is_idempotent_and_leaves_parameters_alone():
    gen = CharLMGenerator(**{**SMALL, "max_iter": 2})
    before = gen.get_params()
    a = gen.fit(TEXT).predict_proba(["the "])
    assert gen.get_params() == before
    b = gen.fit(TEXT).predict_proba(["the "])
    np.testing.assert_array_equal(a, b)
    assert gen.n_iter_ == 2  # a fresh start, not a continuation


def test_grid_search_maximises_the_score():
    docs = [line + "." for line in TEXT.split(".") if line.strip()]
    search = GridSearchCV(
        CharLMGenerator(**{**SMALL, "max_iter": 4}),
        {"hidden_size": [4, 32]},
        cv=KFold(2),
    ).fit(docs)
    scores = search.cv_results_["mean_test_score"]
    assert scores.shape == (2,) and np.all(scores < 0)
    assert search.best_params_ == {"hidden_size": 32}
    assert isinstance(search.best_estimator_.generate(10, random_state=0), str)


def test_fit_warns_at_max_iter():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        CharLMGenerator(**{**SMALL, "max_iter": 1}).fit(TEXT)
    assert any(issubclass(w.category, ConvergenceWarning) for w in caught)


def test_cosine_schedule_and_time_budget_for_a_text():
    gen = CharLMGenerator(**{**SMALL, "learning_rate": "cosine"}).fit(TEXT)
    assert gen.history_[-1]["lr"] < 0.01 * SMALL["learning_rate_init"]
    assert gen.score(TEXT) > -0.5  # annealed, it still learns the text well

    budget = CharLMGenerator(**{**SMALL, "max_iter": 100_000, "max_time": 0.5})
    with pytest.warns(ConvergenceWarning, match="max_time=0.5 s"):
        budget.fit(TEXT * 20)
    assert 1 <= budget.n_iter_ < 100_000
    assert len(budget.generate(20, random_state=0)) <= 20


def test_a_nul_character_is_a_character_like_any_other():
    gen = CharLMGenerator(hidden_size=4, num_layers=1, max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gen.fit("a\x00b\x00")
    assert gen.classes_.tolist() == ["\x00", "a", "b"]
    assert gen.predict_proba(["\x00"]).shape == (1, 3)


def test_chunks_hand_on_contiguous_states_as_cudnn_requires(fitted, monkeypatch):
    """Reading in chunks hands each chunk the state of the sequences still going (a
    slice). cuDNN refuses a non-contiguous state; the CPU does not check, so the test
    does."""
    model = pickle.loads(pickle.dumps(fitted)).to("cpu")
    forward = model.module_.encoder.rnn.forward
    handed = []

    def strict_forward(inputs, hx=None):
        for h in hx if isinstance(hx, tuple) else (hx,):
            handed.append(h is None or h.is_contiguous())
        return forward(inputs, hx)

    docs = [TEXT[:40], "short", TEXT[:23]]  # sequences that end in different chunks
    whole = model.score(docs)
    monkeypatch.setattr(model.module_.encoder.rnn, "forward", strict_forward)
    monkeypatch.setattr("sklearn_rnn._generator._CHUNK", 5)
    assert model.score(docs) == pytest.approx(whole, abs=1e-6)
    assert len(handed) > 3 and all(handed)


@pytest.mark.parametrize("piece", [7, 64, 481])
def test_long_documents_are_scored_piece_by_piece_exactly(
    fitted, monkeypatch, piece, rounding
):
    docs = [TEXT * 2 + "zq", "short", TEXT[:piece]]  # "z", "q" unseen
    whole = fitted.score(docs)
    monkeypatch.setattr("sklearn_rnn._generator._SCORE_PIECE", piece)
    assert fitted.score(docs) == pytest.approx(whole, abs=rounding / 10)
