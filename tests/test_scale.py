"""Beyond one process: searches on a Dask cluster, the choice of a GPU among several,
data-parallel training under torch.distributed."""

import joblib
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from sklearn_rnn import LSTMSequenceTagger, RNNClassifier
from sklearn_rnn._device import choose_gpu
from sklearn_rnn.metrics import entity_f1_scorer

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

GiB = 2**30


# ---------------------------------------------------------------------- Dask


@pytest.fixture(scope="module")
def dask_client():
    """A cluster of two worker processes of one thread each, on the loopback."""
    distributed = pytest.importorskip(
        "distributed",
        reason="dask[distributed] is not installed (pip install sklearn-rnn[dask])",
    )
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def cv_scores(search, X, y, backend):
    with joblib.parallel_backend(backend):
        search.fit(X, y)
    results = search.cv_results_
    return np.array([results[f"split{i}_test_score"] for i in range(search.n_splits_)])


def series(n=40, seed=0):
    rng = np.random.RandomState(seed)
    X = [rng.normal(size=(rng.randint(3, 9), 2)) for _ in range(n)]
    y = np.array(["up" if x[:, 0].sum() > 0 else "down" for x in X])
    return X, y


def test_classifier_search_on_dask_scores_as_on_loky(dask_client):
    X, y = series()
    search = GridSearchCV(
        RNNClassifier(hidden_size=8, max_iter=5, random_state=0),
        {"cell": ["gru", "lstm"]},
        cv=2,
        n_jobs=2,
    )
    on_dask = cv_scores(search, X, y, "dask")
    best_on_dask = search.best_params_
    on_loky = cv_scores(search, X, y, "loky")
    np.testing.assert_array_equal(on_dask, on_loky)
    assert search.best_params_ == best_on_dask
    assert search.predict(X).shape == (40,)


def test_tagger_search_on_dask_scores_as_on_loky(dask_client, ner_data, tagger_params):
    X, y = ner_data(30)
    search = GridSearchCV(
        LSTMSequenceTagger(**{**tagger_params, "max_iter": 4}),
        {"crf": [True, False]},
        cv=2,
        scoring=entity_f1_scorer,
        n_jobs=2,
    )
    on_dask = cv_scores(search, X, y, "dask")
    on_loky = cv_scores(search, X, y, "loky")
    np.testing.assert_array_equal(on_dask, on_loky)
    assert on_dask.max() > 0.5  # the taggers learned something in four epochs


# ---------------------------------------------------------------------- GPUs


def test_choose_gpu_takes_the_one_with_most_free_memory():
    assert choose_gpu([10 * GiB, 70 * GiB, 30 * GiB], [80 * GiB] * 3) == 1
    # free memory, not the share: a 40 GB card with 39 free beats an 80 GB with 30
    assert choose_gpu([30 * GiB, 39 * GiB], [80 * GiB, 40 * GiB]) == 1


def test_choose_gpu_spreads_workers_over_gpus_that_tie():
    free, total = [80 * GiB, 79 * GiB, 20 * GiB], [80 * GiB] * 3
    chosen = [choose_gpu(free, total, worker=w) for w in range(4)]
    assert chosen == [0, 1, 0, 1]  # the nearly full third GPU is never taken


def test_choose_gpu_follows_the_launchers_assignment():
    free, total = [80 * GiB, 10 * GiB], [80 * GiB] * 2
    assert choose_gpu(free, total, local_rank=1) == 1  # whatever the free memory
    assert choose_gpu(free, total, local_rank=3) == 1


def test_choose_gpu_refuses_mismatched_figures():
    with pytest.raises(ValueError, match="1 free and 2 total"):
        choose_gpu([GiB], [GiB, GiB])
