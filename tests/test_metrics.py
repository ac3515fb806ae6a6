"""Entity metrics: equal to seqeval on random chunks and on real CoNLL-2003 (IOB1) and
WNUT-17 (IOB2) tag sequences, in the default and the strict mode; scorers inside
scikit-learn."""

import random
import warnings

import numpy as np
import pytest
from sklearn.exceptions import UndefinedMetricWarning

from sklearn_rnn import _schemes
from sklearn_rnn.datasets import load_conll
from sklearn_rnn.metrics import (
    entity_classification_report,
    entity_f1_score,
    entity_precision_recall_fscore_support,
    entity_precision_score,
    entity_recall_score,
    token_accuracy_score,
)

seqeval = pytest.importorskip("seqeval", reason="seqeval is a test dependency")
from seqeval import metrics as sm  # noqa: E402
from seqeval import scheme as ss  # noqa: E402
from seqeval.metrics import sequence_labeling as sm0  # noqa: E402
from seqeval.metrics import v1 as sm1  # noqa: E402

AVERAGES = [None, "micro", "macro", "weighted"]


def perturbed(sequences, seed, rate=0.1):
    """A copy with a share of tags replaced at random: ill-formed chunks included."""
    rng = random.Random(seed)
    tags = sorted({t for seq in sequences for t in seq})
    return [
        [rng.choice(tags) if rng.random() < rate else t for t in s] for s in sequences
    ]


def assert_same(ours, theirs):
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float))


def synthetic_tags(n=1000, seed=0):
    """Gold tags in IOB1 and IOB2 of random chunks of four types, one to three tokens
    long, adjacent chunks of one type included (IOB1's B-)."""
    rng = random.Random(seed)
    sentences = []
    for _ in range(n):
        length, start, chunks = rng.randint(1, 25), 0, []
        while start < length:
            if rng.random() < 0.3:
                end = min(length, start + rng.randint(1, 3))
                chunks.append((rng.choice(["PER", "LOC", "ORG", "MISC"]), start, end))
                start = end
            else:
                start += 1
        sentences.append((chunks, length))
    return {
        scheme: [_schemes.encode_chunks(c, length, scheme) for c, length in sentences]
        for scheme in ("IOB1", "IOB2")
    }


@pytest.fixture(scope="module", params=["synthetic", "real"])
def gold_tags(request):
    """Gold tag sequences by scheme: random chunks, made here, and the real ones of
    CoNLL-2003 eng.testa (IOB1) and the WNUT-17 test file (IOB2), from the shared
    data."""
    if request.param == "synthetic":
        return synthetic_tags()
    shared_data = request.getfixturevalue("shared_data")
    _, conll = load_conll(shared_data / "conll2003" / "eng.testa")
    _, wnut = load_conll(shared_data / "wnut17" / "emerging.test.annotated")
    return {"IOB1": conll, "IOB2": wnut}


@pytest.mark.parametrize("scheme", ["IOB1", "IOB2"])
def test_default_mode_equals_seqeval(gold_tags, scheme):
    y_true = gold_tags[scheme]
    y_pred = perturbed(y_true, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # seqeval warns on every ill-formed tag
        for average in AVERAGES:
            theirs = sm0.precision_recall_fscore_support(
                y_true, y_pred, average=average
            )
            ours = entity_precision_recall_fscore_support(
                y_true, y_pred, average=average, zero_division=0.0
            )
            assert_same(ours[:4], theirs)
        assert entity_f1_score(y_true, y_pred) == sm.f1_score(y_true, y_pred)
        assert entity_precision_score(y_true, y_pred) == sm.precision_score(
            y_true, y_pred
        )
        assert entity_recall_score(y_true, y_pred) == sm.recall_score(y_true, y_pred)
        ours = entity_classification_report(y_true, y_pred, output_dict=True)
        theirs = sm.classification_report(y_true, y_pred, output_dict=True)
        assert list(ours) == list(theirs)
        for name, row in theirs.items():
            assert ours[name] == pytest.approx(row), name
        assert entity_classification_report(
            y_true, y_pred, digits=4
        ) == sm.classification_report(y_true, y_pred, digits=4)
    assert 0.3 < entity_f1_score(y_true, y_pred) < 0.9  # the perturbation matters
    assert entity_f1_score(y_true, y_true) == 1.0


@pytest.mark.parametrize(
    "source, scheme",
    [("IOB1", "IOB1"), ("IOB2", "IOB2"), ("IOB1", "IOBES")]
    + [("IOB2", "BILOU"), ("IOB2", "IOE2")],
)
def test_strict_mode_equals_seqeval(gold_tags, source, scheme):
    y_true = [
        _schemes.encode_chunks(_schemes.chunks(s), len(s), scheme)
        for s in gold_tags[source]
    ]
    y_pred = perturbed(y_true, seed=1)
    for average in AVERAGES:
        theirs = sm1.precision_recall_fscore_support(
            y_true, y_pred, average=average, mode="strict", scheme=getattr(ss, scheme)
        )
        ours = entity_precision_recall_fscore_support(
            y_true, y_pred, average=average, mode="strict", scheme=scheme
        )
        assert_same(ours[:4], theirs)
    # strict counts fewer predicted chunks than the default reading
    strict = entity_f1_score(y_true, y_pred, mode="strict", scheme=scheme)
    assert strict != entity_f1_score(y_true, y_pred)


def test_strict_ioe1_reads_one_token_chunks_that_seqeval_misses():
    tags = ["O", "E-MISC", "I-MISC", "O"]  # two adjacent MISC chunks, the first one
    assert _schemes.chunks(tags, "strict", "IOE1") == [("MISC", 1, 2), ("MISC", 2, 3)]
    assert entity_f1_score([tags], [tags], mode="strict", scheme="IOE1") == 1.0


def test_iob1_is_read_as_conlleval_reads_it():
    y_true = [["I-PER", "I-PER", "B-PER", "O", "I-LOC"]]
    y_pred = [["I-PER", "I-PER", "I-PER", "O", "B-LOC"]]
    # true: PER 0-2, PER 2-3, LOC 4-5; predicted: PER 0-3, LOC 4-5 (B- opens a chunk)
    assert entity_precision_recall_fscore_support(y_true, y_pred, average="micro")[
        :3
    ] == pytest.approx((1 / 2, 1 / 3, 0.4))


def test_per_type_results_and_averages():
    y_true = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    y_pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "O"]]
    p, r, f, s, types = entity_precision_recall_fscore_support(
        y_true, y_pred, zero_division=0.0
    )
    assert types == ["LOC", "ORG", "PER"]
    assert p.tolist() == [0.0, 0.5, 1.0] and r.tolist() == [0.0, 1.0, 1.0]
    assert s.tolist() == [1, 1, 1]
    assert entity_f1_score(y_true, y_pred, average="macro", zero_division=0.0) == (
        pytest.approx((0 + 2 / 3 + 1) / 3)
    )
    np.testing.assert_allclose(
        entity_f1_score(y_true, y_pred, average=None, zero_division=0.0), f
    )


def test_zero_division():
    with pytest.warns(UndefinedMetricWarning, match="no predicted entities"):
        assert entity_f1_score([["B-PER"]], [["O"]]) == 0.0
    assert entity_precision_score([["B-PER"]], [["O"]], zero_division=1.0) == 1.0


def test_bad_input_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="Sample 1 has 2 tags in y_true but 1"):
        entity_f1_score([["O"], ["O", "O"]], [["O"], ["O"]])
    with pytest.raises(ValueError, match="2 sequences but y_pred has 1"):
        entity_f1_score([["O"], ["O"]], [["O"]])
    with pytest.raises(ValueError, match="Sample 0 of y_pred: .*'PER' at position 1"):
        entity_f1_score([["O", "B-PER"]], [["O", "PER"]])
    with pytest.raises(ValueError, match="only read in mode='strict'"):
        entity_f1_score([["B-PER"]], [["B-PER"]], scheme="IOB2")
    with pytest.raises(ValueError, match="prefix that IOB2 does not use"):
        entity_f1_score([["B-PER"]], [["S-PER"]], mode="strict", scheme="IOB2")
    with pytest.raises(ValueError, match="mode must be"):
        entity_f1_score([["B-PER"]], [["B-PER"]], mode="lenient")
    with pytest.raises(TypeError, match="lists of tag lists"):
        entity_f1_score("B-PER", "B-PER")


def test_token_accuracy():
    assert token_accuracy_score([["a", "b"], ["c"]], [["a", "x"], ["c"]]) == 2 / 3
    assert token_accuracy_score([[1, 2]], [np.array([1, 2])]) == 1.0
    with pytest.raises(ValueError, match="Sample 0 has 2 tags"):
        token_accuracy_score([["a", "b"]], [["a"]])
