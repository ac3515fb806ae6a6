"""Beyond one process: searches on a Dask cluster, the choice of a GPU among several,
data-parallel training under torch.distributed."""

import json
import os
import platform
import subprocess
import sys
from collections import Counter
from pathlib import Path

import joblib
import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV

from sklearn_rnn import (
    CharLMGenerator,
    LSTMSequenceTagger,
    RNNClassifier,
    _data,
    _distributed,
)
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


# ---------------------------------------------------------------------- torchrun

# Run by ``torchrun --nproc_per_node=2`` (two CPU processes, gloo on the loopback):
# each rank fits every estimator on the same data and saves what it ended with.
DATA_PARALLEL_SCRIPT = r"""
import json, sys, warnings
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from sklearn_rnn import (
    CharLMGenerator, LSTMSequenceTagger, RNNClassifier, RNNRegressor, RNNTranslator,
    _distributed,
)

torch.set_num_threads(1)
dist.init_process_group("gloo")
rank = dist.get_rank()
out = Path(sys.argv[1])
sys.stdout = open(out / f"stdout{rank}.txt", "w")
_distributed.ROW_WISE_MIN_SIZE = 0  # every embedding's rows averaged row by row

rng = np.random.RandomState(0)
X = [rng.normal(size=(rng.randint(3, 9), 2)) for _ in range(240)]
y = np.array(["up" if x[:, 0].sum() > 0 else "down" for x in X])
sentences = [["Anna", "lives", "in", "Oslo"], ["Bo", "met", "Carl", "Berg"]] * 10
tags = [["B-PER", "O", "O", "B-LOC"], ["B-PER", "O", "B-PER", "I-PER"]] * 10
results, weights = {}, {}


def keep(name, est, **extra):
    weights[name] = torch.cat([p.detach().flatten() for p in est.module_.parameters()])
    results[name] = dict(loss_curve=est.loss_curve_, n_iter=est.n_iter_, **extra)


with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    clf = RNNClassifier(
        hidden_size=16, max_iter=12, batch_size=16, learning_rate_init=0.02,
        early_stopping=True, verbose=1, checkpoint_dir=out / "checkpoints",
        random_state=0,
    ).fit(X, y)
    keep("classifier", clf, accuracy=clf.score(X, y),
         validation_scores=clf.validation_scores_, path=clf.checkpoint_path_)
    timed = RNNClassifier(  # the schedule follows the clock: the ranks must agree
        hidden_size=8, max_iter=10_000, max_time=1.0, batch_size=8,
        learning_rate="cosine",
    )
    keep("max_time", timed.fit(X, y))
    keep("regressor", RNNRegressor(hidden_size=8, max_iter=2, random_state=0).fit(
        X, [x[:, 0].mean() for x in X]))
    keep("tagger", LSTMSequenceTagger(
        hidden_size=8, embedding_dim=8, char_embedding_dim=4, char_filters=8,
        max_iter=2, batch_size=4, random_state=0).fit(sentences, tags))
    keep("translator", RNNTranslator(
        hidden_size=8, embedding_dim=8, max_iter=2, batch_size=8, random_state=0
    ).fit(["abc", "bca", "cab", "aab"] * 8, ["xyz", "yzx", "zxy", "xxy"] * 8))
    keep("generator", CharLMGenerator(
        hidden_size=16, num_layers=1, embedding_dim=8, seq_len=20, batch_size=8,
        max_iter=4, random_state=0).fit("hello world, " * 200))
    texts = [f"w{i % 7} w{i % 11} w{i % 5}" for i in range(40)]
    labels = [i % 7 < 3 for i in range(40)]
    for name, size in (("row_wise", 0), ("dense", float("inf"))):
        _distributed.ROW_WISE_MIN_SIZE = size
        keep(name, RNNClassifier(
            hidden_size=8, embedding_dim=8, max_iter=3, batch_size=4, random_state=0
        ).fit(texts, labels))
results["warnings"] = [str(w.message)[:60] for w in caught]


class Tiny(torch.nn.Module):
    def __init__(self, whole_table):
        super().__init__()
        self.embedding = torch.nn.Embedding(50, 4)
        self.linear = torch.nn.Linear(12, 1)
        self.unused = torch.nn.Linear(2, 1)
        self.whole_table = whole_table  # reached beyond the rows looked up

    def forward(self, indices):
        out = self.linear(self.embedding(indices).flatten(1))
        if self.whole_table:
            out = out + self.embedding.weight.square().mean()
        return out


def two_steps(row_wise, whole_table=False, shared_memory=True):
    # the averaged gradients of two ranks that read 3 and 4 items, against those of
    # all 7 in one batch, in two steps (the first checks the lookups)
    _distributed.ROW_WISE_MIN_SIZE = 0 if row_wise else float("inf")
    _distributed.SHARED_MEMORY = shared_memory
    torch.manual_seed(rank)  # different weights: rank 0's are taken
    model = Tiny(whole_table)
    average = _distributed.GradientAverage(model)
    shared = average.channel is not None
    data = torch.randint(0, 50, (7, 3), generator=torch.Generator().manual_seed(1))
    target = torch.linspace(-1, 1, 7)[:, None]

    def gradients(rows):
        model.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(model(data[rows]), target[rows])
        average.looked_up()
        loss.backward()
        return {name: p.grad for name, p in model.named_parameters()}

    difference = 0.0
    for step in range(2):
        gradients(slice(0, 3) if rank == 0 else slice(3, 7))
        average(3 if rank == 0 else 4)
        averaged = {name: p.grad for name, p in model.named_parameters()}
        whole = gradients(slice(0, 7))
        for name in ("unused.weight", "unused.bias"):  # no rank's loss reached them
            assert averaged.pop(name) is None and whole.pop(name) is None
        difference = max(
            [difference] + [float((averaged[k] - whole[k]).abs().max()) for k in whole]
        )
        data = data.flip(0)
    average.close()
    _distributed.SHARED_MEMORY = True
    return {"difference": difference, "by_lookups": average._by_lookups,
            "shared": shared}


results["two_steps"] = {
    "row_wise": two_steps(True),
    "dense": two_steps(False),
    "whole_table": two_steps(True, whole_table=True),
    # through the process group, as where shared memory cannot be used
    "row_wise_gloo": two_steps(True, shared_memory=False),
    "whole_table_gloo": two_steps(True, whole_table=True, shared_memory=False),
}
try:
    RNNClassifier(max_iter=1).fit(X[: 100 + rank], y[: 100 + rank])
except ValueError as exc:
    results["mismatch"] = str(exc)
torch.save(weights, out / f"weights{rank}.pt")
(out / f"results{rank}.json").write_text(json.dumps(results))
dist.destroy_process_group()
"""


@pytest.fixture(scope="module")
def data_parallel_run(tmp_path_factory):
    """What each of two ranks of ``torchrun`` ended with (weights, results, output)."""
    if not torch.distributed.is_available():
        pytest.skip("this torch build has no torch.distributed")
    out = tmp_path_factory.mktemp("torchrun")
    script = out / "fit_on_two_ranks.py"
    script.write_text(DATA_PARALLEL_SCRIPT)
    root = str(Path(__file__).resolve().parents[1])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]),
        "GLOO_SOCKET_IFNAME": "lo",  # the loopback: nothing leaves the machine
        "OMP_NUM_THREADS": "1",
    }
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc_per_node=2", str(script), str(out)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return [
        dict(
            weights=torch.load(out / f"weights{rank}.pt"),
            results=json.loads((out / f"results{rank}.json").read_text()),
            stdout=(out / f"stdout{rank}.txt").read_text(),
            checkpoints=sorted((out / "checkpoints").iterdir()),
        )
        for rank in (0, 1)
    ]


# Where ranks on one machine sum gradients through shared memory (x86-64 Linux)
SHARED = platform.system() == "Linux" and platform.machine() in ("x86_64", "AMD64")

ESTIMATORS = ["classifier", "max_time", "regressor", "tagger", "translator"]
ESTIMATORS += ["generator", "row_wise", "dense"]


@pytest.mark.parametrize("n_batches", [1, 2, 7, 10])
@pytest.mark.parametrize("world", [2, 3])
def test_ranks_read_every_batch_neighbours_side_by_side(n_batches, world):
    order = list(np.random.RandomState(n_batches).permutation(n_batches))
    shares = [_data.side_by_side(order, rank, world) for rank in range(world)]
    assert len({len(share) for share in shares}) == 1  # as many steps each
    read = Counter()
    for step in zip(*shares, strict=True):  # each step's batches neighbour in length
        batches = [batch for batch, _, _ in step]
        assert max(batches) - min(batches) < world
        for batch, part, parts in step:
            index = _data.rows_of(np.arange(5), part, parts)
            read.update((batch, row) for row in index)
    # a short last step is shared out by rows: every row of every batch read once
    assert read == Counter((b, row) for b in range(n_batches) for row in range(5))


def test_rows_of_a_batch_smaller_than_the_parts_are_read_whole():
    assert _data.rows_of(np.arange(2), 1, 3).tolist() == [0, 1]
    assert _data.rows_of(np.arange(5), 1, 2).tolist() == [1, 3]


def test_ranks_average_gradients_as_one_batch_of_all_their_items(data_parallel_run):
    # rank 0 read 3 items and rank 1 four: weighted by items, not averaged by rank,
    # whether the embedding is averaged row by row or whole, and row by row whether
    # only lookups reach the table or its whole (which the first step finds out)
    for run in data_parallel_run:
        steps = run["results"]["two_steps"]
        for how, result in steps.items():
            assert result["difference"] < 1e-6, how
            assert result["shared"] is (not how.endswith("_gloo") and SHARED), how
        for path in ("", "_gloo"):
            assert steps["row_wise" + path]["by_lookups"] is True
            assert steps["whole_table" + path]["by_lookups"] is False


def _shared_sums(world, capacity=6, dtype=torch.float32):
    """The channels of ``world`` ranks over one memory, all in this process."""
    memory = torch.zeros(
        64 * world + 2 * world * capacity * dtype.itemsize, dtype=torch.uint8
    )
    return [
        _distributed.SharedSums(memory, capacity, dtype, rank, world)
        for rank in range(world)
    ]


def test_shared_memory_sums_are_the_same_on_every_rank_turn_after_turn():
    channels = _shared_sums(3)
    for turn in range(4):  # each rank's two slots filled again, in turns
        tensors = [
            torch.tensor([0.1 * (r + 1), 1e8 * (-1) ** r, 3.0]) * (turn + 1)
            for r in range(3)
        ]
        expected = tensors[0] + tensors[1] + tensors[2]  # in rank order
        works = [channel.start(t) for channel, t in zip(channels, tensors, strict=True)]
        for work in works:
            work.wait()
        for t in tensors:
            assert torch.equal(t, expected)


def test_a_rank_waiting_for_a_stopped_one_says_which():
    first, _ = _shared_sums(2)
    first.timeout = 0.05
    work = first.start(torch.ones(3))  # rank 1 never publishes
    with pytest.raises(RuntimeError, match=r"rank 0 waited .* for rank\(s\) \[1\]"):
        work.wait()


def test_row_wise_embedding_average_trains_as_the_dense_one(data_parallel_run):
    weights = data_parallel_run[0]["weights"]
    np.testing.assert_array_equal(weights["row_wise"], weights["dense"])


@pytest.mark.parametrize("name", ESTIMATORS)
def test_ranks_end_with_the_same_weights(data_parallel_run, name):
    first, second = data_parallel_run
    np.testing.assert_array_equal(first["weights"][name], second["weights"][name])
    assert first["results"][name] == second["results"][name]


@pytest.mark.parametrize("name", ["classifier", "generator"])
def test_data_parallel_training_learns(data_parallel_run, name):
    curve = data_parallel_run[0]["results"][name]["loss_curve"]
    assert curve[-1] < 0.9 * curve[0]


def test_data_parallel_classifier_beats_chance(data_parallel_run):
    results = data_parallel_run[0]["results"]["classifier"]
    assert results["accuracy"] > 0.8  # two balanced classes: chance is 0.5
    assert results["validation_scores"]  # validated on rank 0, decided for both


def test_a_time_budget_stops_all_ranks_at_the_same_batch(data_parallel_run):
    first, second = (run["results"]["max_time"] for run in data_parallel_run)
    assert first["n_iter"] == second["n_iter"] < 10_000


def test_only_rank_0_prints_warns_and_writes_checkpoints(data_parallel_run):
    first, second = data_parallel_run
    assert "Epoch 1, loss = " in first["stdout"]
    assert second["stdout"] == ""
    assert any("Stopped at max_iter" in w for w in first["results"]["warnings"])
    assert second["results"]["warnings"] == []
    path = first["results"]["classifier"]["path"]
    assert second["results"]["classifier"]["path"] == path
    assert [str(p) for p in first["checkpoints"]] == [path]


def test_ranks_given_different_data_refuse_on_every_rank(data_parallel_run):
    for run in data_parallel_run:
        assert "every rank must pass the same data" in run["results"]["mismatch"]


# ---------------------------------------------------------------------- corpora

TEXT = (
    "First Citizen: Before we proceed any further, hear me speak.\n"
    "All: Speak, speak.\n"
    "First Citizen: You are all resolved rather to die than to famish?\n"
)
DOCUMENTS = [TEXT * 6, "All: Resolved. resolved.\n" * 9, TEXT[::-1] * 3]
QUICK_GENERATOR = dict(
    hidden_size=16, num_layers=1, embedding_dim=8, seq_len=25, batch_size=4,
    max_iter=3, random_state=0,
)  # fmt: skip


@pytest.fixture
def files(tmp_path):
    """:data:`DOCUMENTS` written to files, one each."""
    paths = []
    for i, doc in enumerate(DOCUMENTS):
        paths.append(tmp_path / f"doc{i}.txt")
        paths[-1].write_text(doc, encoding="utf-8")
    return paths


class Lines:
    """A corpus object: each iteration reads the files again, a line per document."""

    def __init__(self, paths):
        self.paths = paths

    def __iter__(self):
        for path in self.paths:
            with open(path, encoding="utf-8") as lines:
                yield from lines


def weights(estimator):
    return torch.cat([p.detach().flatten() for p in estimator.module_.parameters()])


@pytest.mark.parametrize("early_stopping", [False, True])
def test_files_stream_into_the_same_model_as_their_text(files, early_stopping):
    params = {**QUICK_GENERATOR, "early_stopping": early_stopping}
    in_memory = CharLMGenerator(**params).fit(DOCUMENTS)
    streamed = CharLMGenerator(**params).fit(files)
    assert streamed.classes_.tolist() == in_memory.classes_.tolist()
    np.testing.assert_array_equal(weights(streamed), weights(in_memory))
    assert streamed.loss_curve_ == in_memory.loss_curve_
    assert streamed.validation_scores_ == in_memory.validation_scores_
    assert streamed.score(files) == pytest.approx(in_memory.score(DOCUMENTS), abs=1e-6)


def test_a_corpus_of_many_blocks_is_read_block_by_block(files, monkeypatch):
    monkeypatch.setattr(_data, "STREAM_BLOCK", 300)
    corpus = Lines(files)
    lines = list(corpus)  # 38 documents, 2,900 characters
    gen = CharLMGenerator(
        **{**QUICK_GENERATOR, "max_iter": 8, "learning_rate_init": 0.03}
    )
    stream = gen._dataset(corpus, None, None, fit=True)
    assert len(stream) == sum(map(len, lines)) + len(lines)  # each end predicted
    epoch = stream.windows(4, 25)
    batches = list(epoch)
    assert len(batches) == len(epoch)  # what schedules plan with is what is read
    assert sum(not b.continues for b in batches) == -(-len(stream) // 300)
    gen.fit(corpus)
    assert gen.loss_curve_[-1] < 0.8 * gen.loss_curve_[0]
    assert np.isfinite(gen.score(corpus)) and gen.generate(20, random_state=0)
    assert gen.partial_fit(files).n_iter_ == len(gen.loss_curve_) == 9


def test_score_streams_files_and_many_short_documents(files):
    gen = CharLMGenerator(**QUICK_GENERATOR).fit(DOCUMENTS)
    lines = [line for path in files for line in Lines([path])]
    assert gen.score(Lines(files)) == pytest.approx(gen.score(lines), abs=1e-6)
    assert gen.score(files[0]) == pytest.approx(gen.score(DOCUMENTS[0]), abs=1e-6)


def test_a_generator_of_documents_is_read_once_into_memory():
    once = CharLMGenerator(**QUICK_GENERATOR).fit(doc for doc in DOCUMENTS)
    listed = CharLMGenerator(**QUICK_GENERATOR).fit(DOCUMENTS)
    np.testing.assert_array_equal(weights(once), weights(listed))


def test_bad_corpora_are_refused_naming_the_document(files, tmp_path):
    gen = CharLMGenerator(**QUICK_GENERATOR)
    with pytest.raises(TypeError, match="Document 1 of X is a int"):
        gen.fit([files[0], 7])
    latin = tmp_path / "latin.txt"
    latin.write_bytes("café".encode("latin-1"))
    with pytest.raises(UnicodeDecodeError) as caught:
        gen.fit([latin])
    assert "latin.txt" in "".join(getattr(caught.value, "__notes__", [str(latin)]))
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(ValueError, match="no characters"):
        gen.fit([empty])


# ---------------------------------------------------------------------- chunks


def chunks(X, y, size):
    for start in range(0, len(X), size):
        yield X[start : start + size], y[start : start + size]


def test_tagger_learns_from_chunks_with_partial_fit(ner_data, tagger_params):
    X, y = ner_data(60)
    tags = sorted({tag for seq in y for tag in seq})
    tagger = LSTMSequenceTagger(**tagger_params)
    for _ in range(4):
        for X_chunk, y_chunk in chunks(X, y, 20):
            tagger.partial_fit(X_chunk, y_chunk, classes=tags)
    assert tagger.n_iter_ == 12 and tagger.classes_.tolist() == tags
    assert tagger.score(*ner_data(30, seed=1)) > 0.8


def test_tagger_partial_fit_knows_every_tag_classes_name(ner_data, tagger_params):
    X, y = ner_data(20)
    tagger = LSTMSequenceTagger(**tagger_params)
    people = [["Anna", "met", "Bo"], ["Carl", "Berg", "smiled"]]  # and no place
    people_tags = [["B-PER", "O", "B-PER"], ["B-PER", "I-PER", "O"]]
    classes = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    tagger.partial_fit(people, people_tags, classes)
    assert {"S-LOC", "B-LOC", "I-LOC", "E-LOC"} <= set(tagger.tags_)
    tagger.partial_fit(X, y)  # places are taggable although the first chunk had none
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        LSTMSequenceTagger(**tagger_params).partial_fit(X, y)
    with pytest.raises(ValueError, match="not the same as on the first call"):
        tagger.partial_fit(X, y, classes=["O", "B-PER", "I-PER"])
    with pytest.raises(ValueError, match="'B-LOC', which is not among the labels"):
        LSTMSequenceTagger(**tagger_params).partial_fit(X, y, ["O", "B-PER", "I-PER"])
