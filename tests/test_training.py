"""The shared training loop, seen through the estimators: learning, stopping, faults,
continuation, randomness and progress output."""

import io
import re
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, log_loss

from sklearn_rnn import RNNClassifier, RNNRegressor, load
from sklearn_rnn._training import Progress, TrainingState, clip_gradients
from sklearn_rnn.exceptions import DivergenceWarning
from sklearn_rnn.nn import EmbeddingAdversary, ManyToOneEnsembleNet, ManyToOneNet


def sign_task(n=120, seed=0):
    """Is the sum of a short series positive? Learnable in a few epochs."""
    rng = np.random.RandomState(seed)
    X = [rng.normal(size=(rng.randint(3, 12), 2)) for _ in range(n)]
    y = np.array(["pos" if x[:, 0].sum() > 0 else "neg" for x in X])
    return X, y


def word_task(n=200, seed=0):
    """The label is which of two marker words the sentence holds, anywhere in it."""
    rng = np.random.RandomState(seed)
    filler = "the a of to and in is it you that he was for on are".split()
    X, y = [], []
    for i in range(n):
        words = list(rng.choice(filler, size=rng.randint(3, 10)))
        label = ["spam", "ham"][i % 2]
        words.insert(
            rng.randint(len(words) + 1), "offer" if label == "spam" else "meet"
        )
        X.append(" ".join(words))
        y.append(label)
    return X, np.array(y)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
def test_classifier_learns_numeric_sequences(cell, pooling):
    X, y = sign_task()
    X_test, y_test = sign_task(seed=1)
    clf = RNNClassifier(
        cell=cell,
        pooling=pooling,
        hidden_size=16,
        learning_rate_init=1e-2,
        max_iter=25,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.loss_curve_[-1] < 0.6 * clf.loss_curve_[0]
    assert clf.score(X_test, y_test) > 0.8  # chance is about 0.5


@pytest.mark.parametrize("embedding_dim", [None, 8])
def test_classifier_learns_words_with_one_hot_or_embedding(embedding_dim):
    X, y = word_task()
    X_test, y_test = word_task(seed=1)
    clf = RNNClassifier(
        embedding_dim=embedding_dim, hidden_size=16, max_iter=30, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.score(X_test, y_test) > 0.9


def test_regressor_learns_a_sum():
    rng = np.random.RandomState(0)
    X = [rng.uniform(size=(rng.randint(2, 10), 1)) * 100 for _ in range(300)]
    y = np.array([x.sum() for x in X])  # raw units: 0 to 1,000
    reg = RNNRegressor(pooling="mean", hidden_size=16, max_iter=60, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X[:250], y[:250])
    assert reg.score(X[250:], y[250:]) > 0.8


def test_fitted_attributes_follow_mlp_names():
    X, y = sign_task(60)
    clf = RNNClassifier(hidden_size=8, max_iter=4, early_stopping=False, random_state=0)
    with pytest.warns(ConvergenceWarning, match="max_iter=4"):
        clf.fit(X, y)
    assert clf.n_iter_ == 4
    assert len(clf.loss_curve_) == len(clf.history_) == 4
    assert clf.best_loss_ == min(clf.loss_curve_)
    assert clf.validation_scores_ is None and clf.best_validation_score_ is None
    assert [h["epoch"] for h in clf.history_] == [1, 2, 3, 4]
    assert all(h["duration"] > 0 for h in clf.history_)


def test_early_stopping_restores_the_best_epoch(monkeypatch):
    """The fitted model is the best epoch's: re-scoring the very samples held out
    gives that epoch's validation score and loss, not the last epoch's."""
    held_out = []
    split = RNNClassifier._split_validation

    def recording_split(self, data):
        train, valid = split(self, data)
        held_out.append(valid)
        return train, valid

    monkeypatch.setattr(RNNClassifier, "_split_validation", recording_split)
    X, y = sign_task(200)
    clf = RNNClassifier(
        hidden_size=8,
        max_iter=60,
        early_stopping=True,
        n_iter_no_change=3,
        validation_fraction=0.25,
        # ten batches an epoch: the patience stretches to nine epochs (90 steps),
        # counted from the last gain of tol in the score or the loss
        batch_size=15,
        tol=0.01,
        refit=False,  # the early-stopped model, not one trained again on all of X
        random_state=0,
    )
    clf.fit(X, y)
    assert clf.best_loss_ is None
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    # stopped early, without a ConvergenceWarning, three epochs or more after the
    # best one (which may have beaten the one before by less than tol)
    assert clf.n_iter_ < 60
    best = max(clf.history_, key=lambda h: (h["valid_score"], -h["valid_loss"]))
    last = clf.history_[-1]
    assert last["epoch"] - best["epoch"] >= 3
    assert last["valid_loss"] != pytest.approx(best["valid_loss"], rel=1e-3)
    # re-score the held-out samples through the public API
    (valid,) = held_out
    assert len(valid) == 50
    truth = clf.classes_[valid.targets.numpy()]
    assert accuracy_score(truth, clf.predict(valid)) == clf.best_validation_score_
    assert log_loss(truth, clf.predict_proba(valid)) == pytest.approx(
        best["valid_loss"], rel=1e-5
    )


def test_early_stopping_auto_depends_on_the_sample_count(monkeypatch):
    X, y = sign_task(60)
    clf = RNNClassifier(hidden_size=8, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert clf.fit(X, y).validation_scores_ is None
        monkeypatch.setattr(RNNClassifier, "_auto_early_stopping_min", 50)
        assert len(clf.fit(X, y).validation_scores_) == 2


@pytest.mark.parametrize("Estimator", [RNNClassifier, RNNRegressor])
def test_batch_size_auto_takes_a_tenth_of_the_training_sequences(Estimator):
    def fit(n, **params):
        X, y = sign_task(n)
        if Estimator is RNNRegressor:
            y = (y == "pos").astype(float)
        model = Estimator(hidden_size=4, max_iter=1, random_state=0, **params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return model.fit(X, y)

    assert Estimator().batch_size == "auto"
    # at least 8, at most 32: the optimizer takes one step a batch
    for n, batch in [(30, 8), (150, 15), (400, 32)]:
        model = fit(n, early_stopping=False)
        assert model.batch_size_ == batch
        steps = [s["step"] for s in model.optimizer_.state.values()]
        assert int(steps[0]) == -(-n // batch)
        assert model.predict(sign_task(n)[0]).shape == (n,)
    # a tenth of what trains: the held-out part does not count
    held_out = fit(400, early_stopping=True, validation_fraction=0.5)
    assert held_out.batch_size_ == 20
    assert fit(30, batch_size=7, early_stopping=False).batch_size_ == 7
    with pytest.raises(ValueError, match="'batch_size' parameter"):
        fit(30, batch_size="large")


# One batch holds every sample (so shuffling changes nothing), no dropout, no
# validation split, raw inputs (standardising would read the removed or repeated
# samples too), and SGD, whose steps scale with the loss; on the CPU, where the
# float32 sums agree to rounding.
FULL_BATCH = dict(
    hidden_size=8,
    batch_size=128,
    dropout=0.0,
    early_stopping=False,
    standardize=False,
    optimizer="sgd",
    learning_rate_init=0.05,
    max_iter=10,
    random_state=0,
    device="cpu",
)


def full_batch_fit(X, y, sample_weight=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return RNNClassifier(**FULL_BATCH).fit(X, y, sample_weight=sample_weight)


def assert_same_model(a, b):
    for p, q in zip(a.module_.parameters(), b.module_.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-6)
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-6)


def test_a_zero_sample_weight_is_a_removed_sample():
    """Weights are scaled to mean 1 over the fit's samples, and a batch's loss is
    the mean of its weighted losses. With k of n samples at weight 0 and the rest
    at 1, each kept sample weighs n / (n - k), so the one batch's loss is
    sum(kept losses) / (n - k): the very loss of the n - k samples alone, as a
    function of the weights. The same initial weights (the same random_state) then
    take the same steps, and the two fits agree to float32 rounding."""
    X, y = sign_task(40)
    X_odd, y_odd = sign_task(2, seed=5)
    y_odd = np.where(y_odd == "pos", "neg", "pos")  # against the rule
    X_all, y_all = X + X_odd, np.concatenate([y, y_odd])
    weighted = full_batch_fit(X_all, y_all, sample_weight=[1.0] * 40 + [0.0, 0.0])
    removed = full_batch_fit(X, y)
    assert_same_model(weighted, removed)
    np.testing.assert_allclose(
        weighted.predict_proba(X_all), removed.predict_proba(X_all), atol=1e-6
    )
    # the two samples matter when they are trained on
    unweighted = full_batch_fit(X_all, y_all)
    gap = np.abs(unweighted.predict_proba(X) - removed.predict_proba(X)).max()
    assert gap > 0.01


def test_integer_sample_weights_are_repeated_samples():
    """For the same reason, a weight of w counts as w copies of the sample (0 as
    none): with weights scaled to mean 1, the batch's loss is sum(w * loss) /
    sum(w), the mean loss over the repeated samples. Non-uniform weights change the
    model; a constant weight, scaled to exactly 1, changes nothing."""
    X, y = sign_task(40)
    counts = np.random.RandomState(0).randint(0, 4, size=40)
    X_repeated = [x for x, count in zip(X, counts, strict=True) for _ in range(count)]
    assert len(X_repeated) <= FULL_BATCH["batch_size"]  # still one batch
    weighted = full_batch_fit(X, y, sample_weight=counts)
    repeated = full_batch_fit(X_repeated, np.repeat(y, counts))
    assert_same_model(weighted, repeated)
    np.testing.assert_allclose(
        weighted.predict_proba(X), repeated.predict_proba(X), atol=1e-6
    )
    plain = full_batch_fit(X, y)
    assert np.abs(plain.predict_proba(X) - weighted.predict_proba(X)).max() > 0.05
    constant = full_batch_fit(X, y, sample_weight=np.full(40, 3.0))
    np.testing.assert_array_equal(constant.predict_proba(X), plain.predict_proba(X))


# An interrupted or NaN-poisoned fit of every estimator: tests/test_trust.py


def test_a_huge_learning_rate_diverges_cleanly():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(64, 6, 2))
    y = X.sum(axis=(1, 2)) * 1e3
    reg = RNNRegressor(
        cell="rnn",
        hidden_size=8,
        optimizer="sgd",
        learning_rate_init=1e8,
        clip_grad_norm=None,
        max_iter=20,
        random_state=0,
    )
    with pytest.warns(DivergenceWarning, match="Lower learning_rate_init"):
        reg.fit(X, y)
    assert reg.n_iter_ < 20
    # the weights kept are the last finite epoch's: they predict finite values
    assert all(torch.isfinite(p).all() for p in reg.module_.parameters())
    prediction = reg.predict(X)
    assert prediction.shape == (64,) and np.isfinite(prediction).all()


def test_warm_start_continues_and_partial_fit_runs_one_epoch(monkeypatch):
    X, y = sign_task(60)
    built = []
    build = RNNClassifier._build_network
    monkeypatch.setattr(
        RNNClassifier,
        "_build_network",
        lambda self, data: built.append(1) or build(self, data),
    )
    kwargs = dict(hidden_size=8, max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = RNNClassifier(warm_start=True, **kwargs).fit(X, y)
        module = clf.module_
        weights = [p.detach().clone() for p in module.parameters()]
        clf.fit(X, y)
    assert clf.n_iter_ == 6 and len(clf.loss_curve_) == 6
    # continued: the second fit trained the first one's network on, not a new one
    assert len(built) == 1 and clf.module_ is module
    assert not all(
        torch.equal(a, b) for a, b in zip(weights, module.parameters(), strict=True)
    )

    inc = RNNClassifier(
        hidden_size=16,
        learning_rate_init=1e-2,
        dropout=0.0,
        batch_size=8,
        random_state=0,
    )
    for i in range(5):
        inc.partial_fit(X, y, classes=["neg", "pos"])
        assert inc.n_iter_ == i + 1
    assert inc.loss_curve_[-1] < 0.5 * inc.loss_curve_[0]


def test_cosine_learning_rate_anneals_to_zero_over_max_iter_and_still_learns():
    X, y = sign_task()
    clf = RNNClassifier(
        hidden_size=16,
        max_iter=12,
        learning_rate="cosine",
        learning_rate_init=1e-2,
        early_stopping=False,
        n_iter_no_change=100,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    rates = [record["lr"] for record in clf.history_]  # the epoch's last batch
    assert rates == sorted(rates, reverse=True) and rates[0] < 1e-2
    assert rates[-1] < 1e-2 * 0.01  # the last batch's rate is next to zero
    assert clf.score(X, y) > 0.8
    clf.fit(X, y)  # a new fit plans its schedule anew, from learning_rate_init
    assert clf.history_[0]["lr"] == pytest.approx(rates[0])


def test_cosine_partial_fit_keeps_the_rate():
    X, y = sign_task(40)
    clf = RNNClassifier(hidden_size=8, learning_rate="cosine", random_state=0)
    for _ in range(2):
        clf.partial_fit(X, y, classes=["neg", "pos"])
    assert [r["lr"] for r in clf.history_] == [2e-3, 2e-3]


def fit_sign_task(X, y, **params):
    """A small classifier trained 15 epochs on the sign task with ``params``;
    checked to have learned it."""
    clf = RNNClassifier(
        hidden_size=16,
        max_iter=15,
        learning_rate_init=1e-2,
        early_stopping=False,
        random_state=0,
        **params,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.score(X, y) > 0.8
    return clf


def test_weight_averaging_learns_and_leaves_partial_fit_unaveraged():
    X, y = sign_task()
    clf = fit_sign_task(X, y, ema_decay=0.9)
    unaveraged = clone(clf).set_params(ema_decay=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        unaveraged.fit(X, y)
    # the fit ends with the average, not the weights the last batch left
    assert not np.allclose(clf.predict_proba(X), unaveraged.predict_proba(X))
    plain = RNNClassifier(hidden_size=8, random_state=0)
    averaged = RNNClassifier(hidden_size=8, ema_decay=0.9, random_state=0)
    for clf in (plain, averaged):
        clf.partial_fit(X, y, classes=["neg", "pos"])
    np.testing.assert_array_equal(
        plain.predict_proba(X[:10]), averaged.predict_proba(X[:10])
    )


@pytest.mark.parametrize("ema_decay", [0, 1, 1.5, "0.99"])
def test_ema_decay_must_lie_strictly_between_0_and_1(ema_decay):
    X, y = sign_task(20)
    with pytest.raises(ValueError, match="ema_decay"):
        RNNClassifier(ema_decay=ema_decay).fit(X, y)


def test_bfloat16_precision_trains_mixed_and_predicts_in_float32():
    X, y = sign_task()
    clf = fit_sign_task(X, y, precision="bfloat16")
    seen = []
    linear = next(m for m in clf.module_.modules() if isinstance(m, torch.nn.Linear))
    linear.register_forward_hook(lambda module, args, out: seen.append(out.dtype))
    clf.partial_fit(X, y)  # trains under autocast: products in bfloat16
    assert set(seen) == {torch.bfloat16}
    assert {p.dtype for p in clf.module_.parameters()} == {torch.float32}
    seen.clear()
    proba = clf.predict_proba(X[:5])
    assert set(seen) == {torch.float32}
    assert proba.dtype == np.float64 and np.allclose(proba.sum(axis=1), 1)


@pytest.mark.parametrize("native", [True, False])
def test_precision_auto_takes_bfloat16_only_where_the_cpu_computes_it(
    monkeypatch, native
):
    from sklearn_rnn import _device

    monkeypatch.setattr(_device, "_native_bf16_cpu", lambda: native)
    cpu = torch.device("cpu")
    expected = torch.bfloat16 if native else None
    assert _device.training_dtype("auto", cpu) is expected
    assert _device.training_dtype("float32", cpu) is None
    assert _device.training_dtype("bfloat16", cpu) is torch.bfloat16
    X, y = sign_task(20)
    with pytest.raises(ValueError, match="precision"):
        RNNClassifier(precision="float16").fit(X, y)


def test_max_time_bounds_a_fit_and_warns():
    X, y = sign_task()
    clf = RNNClassifier(
        hidden_size=8,
        max_iter=100_000,
        max_time=1.0,
        early_stopping=False,
        n_iter_no_change=100_000,
        random_state=0,
    )
    with pytest.warns(ConvergenceWarning, match=r"max_time=1 s \(\d+ epochs in all\)"):
        clf.fit(X, y)
    # a generous bound: the budget, the check after a batch and the last epoch's end
    assert sum(record["duration"] for record in clf.history_) < 5.0
    assert 1 <= clf.n_iter_ < 100_000
    assert clf.predict(X).shape == (len(X),)


@pytest.mark.parametrize("max_time", [0, -1.0, "10"])
def test_max_time_must_be_a_positive_number(max_time):
    X, y = sign_task(20)
    with pytest.raises(ValueError, match="max_time"):
        RNNClassifier(max_time=max_time).fit(X, y)


def test_partial_fit_needs_classes_first():
    X, y = sign_task(20)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        RNNClassifier().partial_fit(X, y)


@pytest.mark.parametrize("Estimator", [RNNClassifier, RNNRegressor])
def test_same_random_state_same_predictions_and_global_rng_untouched(Estimator):
    X, y = sign_task(60)
    if Estimator is RNNRegressor:
        y = np.array([x.sum() for x in X])
    kwargs = dict(hidden_size=8, max_iter=3, dropout=0.3, random_state=42)
    torch.manual_seed(123)
    np.random.seed(123)
    before = torch.rand(1), np.random.rand()
    torch.manual_seed(123)
    np.random.seed(123)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = Estimator(**kwargs).fit(X, y).transform(X)
        after = torch.rand(1), np.random.rand()
        b = Estimator(**kwargs).fit(X, y).transform(X)
        c = Estimator(**{**kwargs, "random_state": 7}).fit(X, y).transform(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert before[0] == after[0] and before[1] == after[1]


def test_verbose_prints_a_line_per_epoch(capsys):
    X, y = sign_task(40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        RNNClassifier(hidden_size=8, max_iter=3, verbose=1, random_state=0).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert re.match(r"Epoch 1, loss = \d+\.\d+, \d+\.\d+ s$", lines[0])


def test_progress_bar_leaves_no_control_characters_in_a_log_file():
    log = io.StringIO()  # not a terminal
    progress = Progress(verbose=2, stream=log)
    loop = SimpleNamespace(
        state=TrainingState(), n_batches=0, batches_per_epoch=10, reason=None
    )
    progress.on_train_begin(loop)
    progress.on_epoch_begin(loop)
    for i in range(1, 11):
        loop.n_batches = i
        progress.on_batch_end(loop)
    text = log.getvalue()
    assert "\r" not in text and "\x1b" not in text
    assert text.count("\n") == 4  # a line at each quarter
    assert text.splitlines()[-1].startswith("epoch 1 [##############################]")


def test_verbose_2_writes_progress_to_stderr(capsys):
    X, y = sign_task(40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        RNNClassifier(
            hidden_size=8, max_iter=2, batch_size=8, verbose=2, random_state=0
        ).fit(X, y)
    err = capsys.readouterr().err
    assert "5/5 batches" in err and "\r" not in err


@pytest.mark.parametrize("scale", [1e-3, 1e3, float("nan")])
def test_clip_gradients_on_cpu_gives_what_torch_clip_grad_norm_gives(scale):
    # clip_gradients skips torch's multiplication by 1 on the CPU; below, above and
    # with a non-finite norm, the gradients it leaves must be torch's.
    torch.manual_seed(0)
    ours, theirs = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
    theirs.load_state_dict(ours.state_dict())
    X = torch.randn(5, 4)
    for module in (ours, theirs):
        (module(X).sum() * scale).backward()
    clip_gradients(ours, 1.0, torch.device("cpu"))
    torch.nn.utils.clip_grad_norm_(theirs.parameters(), 1.0)
    for mine, reference in zip(ours.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(
            mine.grad, reference.grad, rtol=0, atol=0, equal_nan=True
        )
    if scale == 1e3:  # clipped: the norm is now max_norm
        total = torch.linalg.vector_norm(
            torch.cat([p.grad.ravel() for p in ours.parameters()])
        )
        assert total == pytest.approx(1.0, rel=1e-5)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("with_state", [False, True])
def test_the_encoder_packs_as_torchs_pack_padded_sequence(cell, with_state):
    # the encoder packs a ragged batch with one gather each way; outputs (zero past
    # each length), the final state at each true last step and every gradient must
    # be those of torch's pack_padded_sequence / pad_packed_sequence
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    from sklearn_rnn.nn import RecurrentEncoder

    torch.manual_seed(0)
    encoder = RecurrentEncoder(
        n_channels=3, cell=cell, hidden_size=5, num_layers=2, bidirectional=True
    )
    lengths = torch.tensor([6, 6, 4, 2, 1])
    inputs = torch.randn(5, 7, 3)  # one step more than the longest, as a front end
    n_states = 2 if cell == "lstm" else 1
    start = [torch.randn(4, 5, 5) for _ in range(n_states)] if with_state else None

    def run(ours):
        x = inputs.clone().requires_grad_()
        state = None
        if start is not None:
            state = [s.clone().requires_grad_() for s in start]
            state = tuple(state) if cell == "lstm" else state[0]
        if ours:
            outputs, final = encoder(x, lengths, state)
        else:
            packed = pack_padded_sequence(x, lengths, batch_first=True)
            outputs, final = encoder.rnn(packed, state)
            outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=7)
        final = final if isinstance(final, tuple) else (final,)
        weights = torch.linspace(-1, 1, outputs.numel()).view_as(outputs)
        loss = (outputs * weights).sum() + sum(f.pow(2).sum() for f in final)
        encoder.zero_grad()
        loss.backward()
        grads = [x.grad] + [p.grad.clone() for p in encoder.parameters()]
        if state is not None:
            grads += [s.grad for s in (state if isinstance(state, tuple) else [state])]
        return outputs.detach(), [f.detach() for f in final], grads

    (ours, ours_final, ours_grads), (theirs, theirs_final, theirs_grads) = (
        run(True),
        run(False),
    )
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-6)
    assert ours[3, 2:].abs().max() == 0  # zero past the length
    # laid out in memory as torch's are (time first), so that what draws at random
    # over them in memory order (dropout) draws as it did with torch's packing
    assert ours.stride() == theirs.stride()
    mine_all, reference_all = ours_final + ours_grads, theirs_final + theirs_grads
    for mine, reference in zip(mine_all, reference_all, strict=True):
        torch.testing.assert_close(mine, reference, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"decreasing order, got \[1, 6"):
        encoder(inputs[:2], torch.tensor([1, 6]))


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("with_state", [False, True])
def test_the_padded_run_gives_the_packed_outputs_and_gradients(
    cell, with_state, monkeypatch
):
    # without a final state wanted, a ragged batch that trains on the CPU runs
    # padded (the LSTM's always), each direction one call, the backward one over
    # each sequence reversed within its length: outputs (zero past each length) and
    # every gradient must be the packed run's, for stacked layers, both directions
    # and a given initial state
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    from sklearn_rnn.nn import RecurrentEncoder
    from sklearn_rnn.nn import encoder as encoder_module

    padded_runs = []
    run_directions = encoder_module.run_directions
    monkeypatch.setattr(
        encoder_module,
        "run_directions",
        lambda *args: padded_runs.append(1) or run_directions(*args),
    )
    torch.manual_seed(0)
    encoder = RecurrentEncoder(
        n_channels=3, cell=cell, hidden_size=5, num_layers=2, bidirectional=True
    )
    lengths = torch.tensor([7, 6, 4, 2, 1])
    inputs = torch.randn(5, 7, 3)
    n_states = 2 if cell == "lstm" else 1
    start = [torch.randn(4, 5, 5) for _ in range(n_states)] if with_state else None

    def run(padded):
        x = inputs.clone().requires_grad_()
        state = None
        if start is not None:
            state = [s.clone().requires_grad_() for s in start]
            state = tuple(state) if cell == "lstm" else state[0]
        if padded:  # the encoder chooses the padded run itself
            outputs, final = encoder(x, lengths, state, final_state=False)
            assert final is None
        else:
            packed = pack_padded_sequence(x, lengths, batch_first=True)
            outputs, _ = encoder.rnn(packed, state)
            outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=7)
        weights = torch.linspace(-1, 1, outputs.numel()).view_as(outputs)
        encoder.zero_grad()
        (outputs * weights).sum().backward()
        grads = [x.grad] + [p.grad.clone() for p in encoder.parameters()]
        if state is not None:
            grads += [s.grad for s in (state if isinstance(state, tuple) else [state])]
        return outputs.detach(), grads

    (ours, ours_grads), (theirs, theirs_grads) = run(True), run(False)
    assert padded_runs == [1]  # the padded run is the one compared
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
    assert ours[3, 2:].abs().max() == 0  # zero past the length
    for mine, reference in zip(ours_grads, theirs_grads, strict=True):
        torch.testing.assert_close(mine, reference, rtol=1e-4, atol=1e-6)
    # a final state wanted: the packed run, whatever the cell
    _, final = encoder(inputs, lengths)
    assert final is not None


def test_dropout_on_the_cpu_keeps_each_value_with_1_minus_p_and_rescales():
    from sklearn_rnn.nn.dropout import Dropout

    layer = Dropout(0.3)
    x = torch.ones(200, 500, requires_grad=True)
    torch.manual_seed(0)
    y = layer(x)
    kept = y != 0
    assert kept.float().mean().item() == pytest.approx(0.7, abs=0.005)
    torch.testing.assert_close(y[kept], torch.full_like(y[kept], 1 / 0.7))
    y.sum().backward()  # the gradient passes where the value was kept, rescaled
    torch.testing.assert_close(x.grad, y.detach())
    torch.manual_seed(0)  # the mask follows torch's generator
    assert torch.equal(layer(x), y)
    assert layer.eval()(x) is x
    assert torch.equal(Dropout(0.0).train()(x), x)


def test_training_flushes_denormals_in_every_thread_and_gives_the_mode_back():
    # a fit computes on several threads: each must flush numbers below float32's
    # normal range (they are many times slower), and the user's mode comes back
    from sklearn_rnn._device import flushing_denormals

    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # the tests run on one thread
    x = torch.full((2**22,), 1e-30)  # split among the threads
    try:
        assert (x * 1e-10 != 0).all()  # 1e-40: denormal, kept by default
        with flushing_denormals():
            assert (x * 1e-10 == 0).all()
        assert (x * 1e-10 != 0).all()
        torch.set_flush_denormal(True)  # a user's own setting is left as it is
        with flushing_denormals():
            pass
        assert float(torch.tensor([1e-38]) / 1e3) == 0.0
    finally:
        torch.set_flush_denormal(False)
        torch.set_num_threads(threads)


def test_several_networks_learn_apart_and_predict_as_one(tmp_path):
    X, y = word_task()
    X_test, y_test = word_task(seed=1)
    clf = RNNClassifier(hidden_size=16, max_iter=30, n_networks=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.score(X_test, y_test) > 0.9
    module = clf.module_
    assert isinstance(module, ManyToOneEnsembleNet) and len(module.members) == 3
    # each from its own initial weights and draws of dropout
    first, second, _ = module.members
    assert not torch.equal(first.output.weight, second.output.weight)
    # one prediction: the mean of the networks' probabilities, as soft voting
    mean_proba = clf._run(
        X_test,
        lambda net, batch: torch.stack(
            [m(*batch[:2]).softmax(dim=-1) for m in net.members]
        ).mean(dim=0),
    )
    np.testing.assert_allclose(clf.predict_proba(X_test), mean_proba, atol=1e-6)
    # the networks' vectors side by side
    assert clf.transform(X_test[:2]).shape == (2, 3 * 32)
    assert len(clf.get_feature_names_out()) == 96
    # saved in the safe format and read back: the same model
    clf.save(tmp_path / "three.skrnn")
    loaded = load(tmp_path / "three.skrnn")
    assert loaded.n_networks == 3
    np.testing.assert_array_equal(
        loaded.predict_proba(X_test), clf.predict_proba(X_test)
    )
    # n_networks makes the network: a warm start may not change it
    clf.set_params(warm_start=True, n_networks=2)
    with pytest.raises(ValueError, match=r"n_networks=2 \(fitted with 3\)"):
        clf.fit(X, y)


def test_the_adversarial_perturbation_is_the_steepest_step_of_norm_eps():
    torch.manual_seed(0)
    net = ManyToOneNet(
        n_outputs=2, n_symbols=20, embedding_dim=8, hidden_size=8, adversarial=0.5
    )
    inputs = torch.tensor([[3, 4, 5, 6], [7, 8, 0, 0]])
    lengths, targets = torch.tensor([4, 2]), torch.tensor([0, 1])

    def loss_of(adversary):
        return torch.nn.functional.cross_entropy(
            net(inputs, lengths, adversary), targets
        )

    adversary = EmbeddingAdversary(0.5)
    clean = loss_of(adversary)
    adversary.aim(clean)
    step = adversary(torch.zeros(2, 4, 8))  # the perturbation itself
    # each sentence moves 0.5 in all, its padding not at all
    np.testing.assert_allclose(step.flatten(1).norm(dim=1), [0.5, 0.5], rtol=1e-5)
    assert torch.all(step[1, 2:] == 0) and torch.all(step[1, :2] != 0)
    # it raises the loss, and more than a random step of the same size
    moved = loss_of(lambda vectors: vectors + step)
    noise = torch.randn(2, 4, 8) * (step != 0)
    noise = 0.5 * noise / noise.flatten(1).norm(dim=1)[:, None, None]
    assert moved > loss_of(lambda vectors: vectors + noise) > 0
    assert moved > clean
    # training scores both batches; evaluating, the clean one only
    net.train()
    np.testing.assert_allclose(
        net.loss(inputs, lengths, targets).loss.item(),
        (clean + moved).item(),
        rtol=1e-5,
    )
    net.eval()
    np.testing.assert_allclose(
        net.loss(inputs, lengths, targets).loss.item(), clean.item(), rtol=1e-6
    )
    with pytest.raises(ValueError, match="adversarial needs symbol input"):
        ManyToOneNet(n_outputs=2, n_channels=3, adversarial=1.0)


def test_adversarial_training_is_the_text_default_and_ignored_for_series(tmp_path):
    X, y = word_task(n=60)
    fits = {}
    for eps in (10.0, 0.0):
        clf = RNNClassifier(hidden_size=8, max_iter=3, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fits[eps] = clf.set_params(adversarial_eps=eps).fit(X, y)
    assert RNNClassifier().adversarial_eps == 10.0
    assert fits[10.0].module_.adversarial == 10.0
    assert fits[0.0].module_.adversarial == 0.0
    # the same seed, another training: the extra loss moved the weights
    assert fits[10.0].loss_curve_[0] > fits[0.0].loss_curve_[0]
    assert not np.allclose(fits[10.0].predict_proba(X), fits[0.0].predict_proba(X))
    fits[10.0].save(tmp_path / "adversarial.skrnn")
    assert load(tmp_path / "adversarial.skrnn").module_.adversarial == 10.0
    # one-hot symbols have no word vectors to move
    one_hot = RNNClassifier(embedding_dim=None, hidden_size=8, max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert one_hot.fit(X, y).module_.adversarial == 0.0
    # a series has no word vectors: the setting changes nothing
    X, y = sign_task(n=40)
    probas = []
    for eps in (10.0, 0.0):
        clf = RNNClassifier(hidden_size=8, max_iter=2, adversarial_eps=eps)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            probas.append(clf.set_params(random_state=0).fit(X, y).predict_proba(X))
    np.testing.assert_array_equal(*probas)


def test_several_regression_networks_predict_their_mean_output():
    rng = np.random.RandomState(0)
    X = [rng.uniform(size=(rng.randint(2, 10), 1)) for _ in range(60)]
    y = np.array([x.sum() for x in X])
    reg = RNNRegressor(hidden_size=8, max_iter=5, n_networks=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, y)
    outputs = reg._run(
        X, lambda net, batch: net.members[0](*batch[:2]) + net.members[1](*batch[:2])
    )
    expected = outputs[:, 0] / 2 * reg.target_scale_ + reg.target_mean_
    np.testing.assert_allclose(reg.predict(X), expected.ravel(), rtol=1e-5)
