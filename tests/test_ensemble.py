"""EnsembleTagger: members from different seeds, decoded together."""

import io
import os
import zipfile
from copy import deepcopy

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_rnn import (
    EnsembleTagger,
    LSTMSequenceTagger,
    RNNClassifier,
    _schemes,
    load,
)
from sklearn_rnn.exceptions import InterruptedFitWarning

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def member_params(tagger_params):
    """The members' settings."""
    return {**tagger_params, "max_iter": 6, "device": "cpu"}


@pytest.fixture(scope="module")
def ensemble(member_params):
    """``ensemble(n_estimators, random_state=0)``: an unfitted ensemble of taggers."""

    def make(n_estimators, random_state=0):
        return EnsembleTagger(
            LSTMSequenceTagger(**member_params),
            n_estimators=n_estimators,
            random_state=random_state,
        )

    return make


@pytest.fixture(scope="module")
def data(ner_data):
    return ner_data(60), ner_data(30, seed=1)


@pytest.fixture(scope="module")
def pair(data, ensemble):
    (X, y), _ = data
    return ensemble(2).fit(X, y)


def test_members_differ_and_the_ensemble_tags_valid_chunks(pair, data):
    (X, y), (X_test, y_test) = data
    first, second = pair.estimators_
    assert first.random_state != second.random_state
    a, b = first.predict_proba(X_test)[0], second.predict_proba(X_test)[0]
    assert not np.array_equal(a, b)
    predicted = pair.predict(X_test)
    assert [len(p) for p in predicted] == [len(s) for s in X_test]
    assert all(_schemes.violation(p, "IOB2") is None for p in predicted)
    assert pair.tag_scheme_ == "IOB2" and list(pair.classes_) == list(first.classes_)
    assert pair.score(X_test, y_test) > 0.8  # learned (chance is near 0)
    proba = pair.predict_proba(X_test)
    assert proba[0].shape == (len(X_test[0]), len(pair.classes_))
    np.testing.assert_allclose(np.concatenate(proba).sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(proba[0], (a + b) / 2)


def test_the_decoded_path_is_best_under_the_mean_scores(pair, data):
    """Viterbi over the averaged CRFs: no member's own path scores higher there."""
    _, (X_test, _) = data
    members = pair.estimators_

    def mean_score(sentence, labels):
        tags = [members[0].tags_.index(t) for t in _schemes.to_iobes(labels)]
        total = 0.0
        for m in members:
            emissions = torch.from_numpy(m.decision_function([sentence])[0])[None]
            total += m.module_.crf.path_score(
                emissions, torch.tensor([tags]), torch.tensor([len(tags)])
            ).item()
        return total / len(members)

    for sentence, chosen in zip(X_test[:10], pair.predict(X_test[:10]), strict=True):
        best = mean_score(sentence, chosen)
        for m in members:
            assert best >= mean_score(sentence, m.predict([sentence])[0]) - 1e-5


def test_one_member_predicts_as_the_tagger_alone(data, ensemble):
    (X, y), (X_test, _) = data
    single = ensemble(1, random_state=3).fit(X, y)
    (member,) = single.estimators_
    alone = clone(member).fit(X, y)  # the same seed trains the same tagger
    assert single.predict(X_test) == alone.predict(X_test) == member.predict(X_test)


def test_other_schemes_keep_their_rules(data, ensemble, to_scheme):
    (X, y), (X_test, _) = data
    y1 = to_scheme(y, "IOB1")
    model = ensemble(2)
    predicted = model.fit(X, y1).predict(X_test)
    assert model.tag_scheme_ == "IOB1"
    assert all(_schemes.violation(p, "IOB1") is None for p in predicted)


def test_random_state_fixes_the_ensemble_and_round_trips_keep_it(
    pair, data, tmp_path, member_params
):
    (X, y), (X_test, _) = data
    again = clone(pair).fit(X, y)
    assert [m.random_state for m in again.estimators_] == [
        m.random_state for m in pair.estimators_
    ]
    assert again.predict(X_test) == pair.predict(X_test)
    joblib.dump(pair, tmp_path / "ensemble.joblib")
    loaded = joblib.load(tmp_path / "ensemble.joblib")
    assert loaded.predict(X_test) == pair.predict(X_test)
    params = pair.get_params()
    assert params["estimator__hidden_size"] == member_params["hidden_size"]
    assert clone(pair).set_params(estimator__hidden_size=8).estimator.hidden_size == 8


def test_the_default_members_hold_one_network_each():
    # a tagger's default n_networks=2 pools two networks as the ensemble pools
    # its members; the ensemble's default members hold one each
    assert EnsembleTagger()._base().get_params() == (
        LSTMSequenceTagger(n_networks=1).get_params()
    )
    assert LSTMSequenceTagger().n_networks == 2


def test_bad_settings_are_refused(data, ensemble):
    (X, y), _ = data
    with pytest.raises(TypeError, match="pools LSTMSequenceTagger models; estimator"):
        EnsembleTagger(RNNClassifier(), n_estimators=2).fit(X, y)
    with pytest.raises(InvalidParameterError, match="n_estimators"):
        EnsembleTagger(n_estimators=0).fit(X, y)
    with pytest.raises(ValueError, match="Sample 1"):  # members check the input
        ensemble(1).fit(X[:3], [y[0], y[1][:-1], y[2]])


class _PidTagger(LSTMSequenceTagger):
    """Records which process fitted it."""

    def fit(self, X, y, **fit_params):
        self.fitted_in_ = os.getpid()
        return super().fit(X, y, **fit_params)


def test_n_jobs_fits_members_in_other_processes_alike(pair, data, member_params):
    (X, y), (X_test, _) = data
    parallel = EnsembleTagger(
        _PidTagger(**member_params), n_estimators=2, n_jobs=2, random_state=0
    ).fit(X, y)
    pids = {member.fitted_in_ for member in parallel.estimators_}
    assert os.getpid() not in pids and len(pids) == 2
    # the same seeds as the sequential pair; only the thread count differs
    assert [m.random_state for m in parallel.estimators_] == [
        m.random_state for m in pair.estimators_
    ]
    assert parallel.predict(X_test) == pair.predict(X_test)
    ours, sequential = parallel.predict_proba(X_test), pair.predict_proba(X_test)
    for a, b in zip(ours, sequential, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-3)


def test_from_estimators_pools_taggers_fitted_elsewhere(pair, data):
    (X, y), (X_test, _) = data
    members = [deepcopy(member) for member in pair.estimators_]
    pooled = EnsembleTagger.from_estimators(members)
    assert pooled.estimators_ == members and pooled.n_estimators == 2
    assert pooled.predict(X_test) == pair.predict(X_test)
    for a, b in zip(
        pooled.predict_proba(X_test), pair.predict_proba(X_test), strict=True
    ):
        np.testing.assert_array_equal(a, b)
    # the mean of the members' marginals
    expected = [
        (a + b) / 2
        for a, b in zip(*(m.predict_proba(X_test) for m in members), strict=True)
    ]
    for got, want in zip(pooled.predict_proba(X_test), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    # transform joins the members' token vectors
    vectors = pooled.transform(X_test[:3])
    for got, *each in zip(
        vectors, *(m.transform(X_test[:3]) for m in members), strict=True
    ):
        np.testing.assert_allclose(got, np.concatenate(each, axis=1), rtol=1e-6)


def test_from_estimators_refuses_taggers_that_read_or_tag_otherwise(pair, data):
    (X, y), _ = data
    other = clone(pair.estimators_[1]).fit(X[:30], y[:30])  # another vocabulary
    with pytest.raises(ValueError, match="Tagger 1 reads input otherwise"):
        EnsembleTagger.from_estimators([pair.estimators_[0], other])
    # the same reading, but two networks where the other holds one
    double = clone(pair.estimators_[1]).set_params(n_networks=2, max_iter=1)
    with pytest.raises(ValueError, match="Tagger 1 has n_networks=2 and tagger 0 n"):
        EnsembleTagger.from_estimators([pair.estimators_[0], double.fit(X, y)])
    with pytest.raises(TypeError, match="estimator 1 is a str"):
        EnsembleTagger.from_estimators([pair.estimators_[0], "a tagger"])
    with pytest.raises(NotFittedError):
        EnsembleTagger.from_estimators([clone(pair.estimators_[0])])


def test_save_and_load_give_the_same_ensemble_without_pickle(
    pair, data, tmp_path, member_params, ensemble
):
    (X, _), (X_test, _) = data
    path = tmp_path / "ensemble.skrnn"
    assert pair.save(path) is pair
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == [
            f"members/{i}/{name}"
            for i in (0, 1)
            for name in (
                "module.safetensors",
                "optimizer.safetensors",
                "sklearn_rnn.json",
            )
        ] + ["sklearn_rnn.json"]
    loaded = load(path)
    assert type(loaded) is EnsembleTagger
    assert loaded.get_params()["estimator__hidden_size"] == member_params["hidden_size"]
    assert [m.random_state for m in loaded.estimators_] == [
        m.random_state for m in pair.estimators_
    ]
    assert loaded.predict(X_test) == pair.predict(X_test)
    again, before = loaded.predict_proba(X_test), pair.predict_proba(X_test)
    for a, b in zip(again, before, strict=True):
        np.testing.assert_array_equal(a, b)
    assert loaded.tag_scheme_ == pair.tag_scheme_
    np.testing.assert_array_equal(loaded.classes_, pair.classes_)
    # an unfitted ensemble keeps its settings and stays unfitted
    ensemble(3).save(tmp_path / "unfitted.skrnn")
    unfitted = load(tmp_path / "unfitted.skrnn")
    assert unfitted.n_estimators == 3 and not hasattr(unfitted, "estimators_")


def test_a_malicious_member_is_refused_without_running(
    pair, tmp_path, code_running_pickle, rewrite_member
):
    path = tmp_path / "ensemble.skrnn"
    pair.save(path)
    marker = tmp_path / "pwned"
    # the second member's weights replaced by a pickle that would create the marker
    buffer = io.BytesIO()
    torch.save({"weight": code_running_pickle(marker)}, buffer)
    rewrite_member(path, "members/1/module.safetensors", buffer.getvalue())
    with pytest.raises(
        ValueError, match=r"members/1/module.safetensors is not a safetensors file"
    ):
        load(path)
    assert not marker.exists()
    # and a file that lost a member says so
    with zipfile.ZipFile(path) as archive:
        kept = {n: archive.read(n) for n in archive.namelist() if "members/1/" not in n}
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in kept.items():
            archive.writestr(name, content)
    with pytest.raises(
        ValueError, match=r"is incomplete: no members/1/sklearn_rnn.json"
    ):
        load(path)


def test_ctrl_c_keeps_the_members_trained_so_far(data, member_params):
    """Ctrl-C in the second of three members: it keeps its best weights, the third
    never starts, and the ensemble predicts with the two."""
    (X, y), (X_test, _) = data

    class Interrupting(torch.optim.Adam):
        steps = 0

        def step(self, closure=None):
            Interrupting.steps += 1
            if Interrupting.steps == first_steps + 10:  # early in the second member
                raise KeyboardInterrupt
            return super().step(closure)

    probe = LSTMSequenceTagger(**member_params, early_stopping=False).fit(X, y)
    first_steps = probe.n_iter_ * -(-len(X) // member_params["batch_size"])
    model = EnsembleTagger(
        LSTMSequenceTagger(
            **member_params, early_stopping=False, optimizer=Interrupting
        ),
        n_estimators=3,
        random_state=0,
    )
    with pytest.warns(InterruptedFitWarning) as caught:
        model.fit(X, y)
    messages = [str(w.message) for w in caught]
    assert any("interrupted in epoch 2" in m for m in messages), messages
    assert any("keeps the 2 of its 3 members" in m for m in messages), messages
    first, second = model.estimators_
    assert first.n_iter_ == member_params["max_iter"] and second.n_iter_ == 1
    predicted = model.predict(X_test)
    assert all(_schemes.violation(p, "IOB2") is None for p in predicted)
