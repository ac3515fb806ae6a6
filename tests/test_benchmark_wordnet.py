"""The WordNet reader behind the TREC-6 benchmark's word vectors reads WordNet's file
format as documented (wndb(5WN)), on a small WordNet written here."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

SOURCE = Path(__file__).resolve().parents[1] / "benchmarks" / "wordnet_vectors.py"
spec = importlib.util.spec_from_file_location("wordnet_vectors", SOURCE)
wordnet_vectors = importlib.util.module_from_spec(spec)
spec.loader.exec_module(wordnet_vectors)

LICENCE = "  1 This software and database is being provided to you, the LICENSEE\n"
# offset lex_filenum ss_type w_cnt (word lex_id)... p_cnt (symbol offset pos source)...
NOUNS = """\
00000001 03 n 01 entity 0 000 | that which exists
00000002 03 n 01 organism 0 001 @ 00000001 n 0000 | a living thing
00000003 18 n 02 person 0 individual 0 001 @ 00000002 n 0000 | a human being
00000004 18 n 01 surgeon 0 001 @ 00000003 n 0000 | a doctor who operates
00000005 15 n 01 city 0 002 @ 00000001 n 0000 ~ 00000003 n 0000 | a large town
00000006 15 n 01 Texas 0 001 @i 00000005 n 0000 | a state (here a city)
"""
# lemma pos synset_cnt p_cnt ptr_symbol... sense_cnt tagsense_cnt offsets...
INDEX = """\
city n 2 1 @ 2 0 00000005 00000003
person n 1 1 @ 1 0 00000003
surgeon n 1 1 @ 1 0 00000004
texas n 1 1 @i 1 0 00000006
"""


@pytest.fixture(scope="module")
def wordnet(tmp_path_factory):
    root = tmp_path_factory.mktemp("wordnet")
    for name in ("noun", "verb", "adj", "adv"):
        (root / f"index.{name}").write_text(LICENCE + (INDEX if name == "noun" else ""))
        (root / f"data.{name}").write_text(LICENCE + (NOUNS if name == "noun" else ""))
    (root / "noun.exc").write_text("people person\n")
    return wordnet_vectors.WordNet(root)


def test_inflected_forms_find_their_lemma(wordnet):
    assert wordnet.base_form("surgeons", "n") == "surgeon"
    assert wordnet.base_form("cities", "n") == "city"
    assert wordnet.base_form("people", "n") == "person"  # from the exception list
    assert wordnet.base_form("the", "n") is None


def test_senses_are_weighted_by_rank(wordnet):
    (first, city), (second, person) = wordnet.senses("city")
    assert (city, person) == (("00000005", "n"), ("00000003", "n"))
    assert (first, second) == pytest.approx((2 / 3, 1 / 3))


def test_ancestors_follow_hypernyms_and_instances(wordnet):
    assert wordnet.ancestors(("00000006", "n")) == {
        ("00000006", "n"),
        ("00000005", "n"),
        ("00000001", "n"),
    }


def test_common_ancestors_leave_out_what_is_above_everything(wordnet):
    words = ["surgeons", "texas", "city", "people", "the"]
    # the weight on each synset: entity 4 of the 4 words WordNet knows, organism and
    # person 2 + 1/3 (city's second sense is a person), city 1 + 2/3, surgeon and
    # texas 1
    common = wordnet_vectors.common_ancestors(words, wordnet, 3, max_share=1.0)
    assert common == [("00000003", "n"), ("00000002", "n"), ("00000005", "n")]
    assert wordnet_vectors.common_ancestors(words, wordnet, 3) == [
        ("00000006", "n"),
        ("00000004", "n"),
    ]  # the default leaves out what is above 30 % of the words


def test_features_weigh_lexicographer_files_and_the_ancestors_asked_for(wordnet):
    person, city = ("00000003", "n"), ("00000005", "n")
    words = ["surgeons", "texas", "city", "the", "individual"]
    features = wordnet_vectors.wordnet_features(words, wordnet, [person, city])
    # "individual" is in a synset but not in the index: WordNet lists lemmas there
    assert sorted(features) == ["city", "surgeons", "texas"]
    n_files = wordnet_vectors.N_LEXICOGRAPHER_FILES
    expected = np.zeros(n_files + 2)
    expected[[18, n_files]] = 1  # noun.person; below person
    np.testing.assert_allclose(features["surgeons"], expected)
    expected[:] = 0
    expected[[15, 18, n_files, n_files + 1]] = [2 / 3, 1 / 3, 1 / 3, 2 / 3]
    np.testing.assert_allclose(features["city"], expected, rtol=1e-6)
    alone = wordnet_vectors.wordnet_features(["texas"], wordnet, [person, city])
    np.testing.assert_array_equal(alone["texas"], features["texas"])


def test_only_learned_words_get_a_learned_part(wordnet):
    features = wordnet_vectors.wordnet_features(["surgeon", "city"], wordnet)
    vectors = wordnet_vectors.with_learned_part(
        features, 50, learned={"surgeon"}, scale=5, random_state=1
    )
    assert vectors["surgeon"].shape == (50,) and vectors["surgeon"][18] == 5
    assert np.count_nonzero(vectors["surgeon"][45:]) == 5
    assert not vectors["city"][45:].any()
    alone = wordnet_vectors.with_learned_part(
        {"surgeon": features["surgeon"]}, 50, scale=5, random_state=1
    )
    np.testing.assert_array_equal(vectors["surgeon"], alone["surgeon"])
    with pytest.raises(ValueError, match="shorter than the 45 features"):
        wordnet_vectors.with_learned_part(features, 40)
