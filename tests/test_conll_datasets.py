"""Reading CoNLL-style column files, and the bundled WNUT-17 data."""

import pytest

from sklearn_rnn.datasets import load_conll, load_wnut17


def write(tmp_path, text):
    path = tmp_path / "data.conll"
    path.write_text(text, encoding="utf-8")
    return path


def test_docstart_lines_are_dropped_with_or_without_a_blank_line(tmp_path):
    path = write(
        tmp_path,
        "-DOCSTART- -X- O O\n"  # no blank line after it
        "EU NNP I-NP I-ORG\nrejects VBZ I-VP O\n"
        "-DOCSTART- -X- O O\n"  # nor before it: it still ends the sentence
        "Peter NNP I-NP I-PER\n\n\n"
        "-DOCSTART- -X- O O\n\n"
        "BRUSSELS NNP I-NP I-LOC\n"
        "-DOCSTART- -X- O O",  # at the very end, without a newline
    )
    X, y = load_conll(path)
    assert X == [["EU", "rejects"], ["Peter"], ["BRUSSELS"]]
    assert y == [["I-ORG", "O"], ["I-PER"], ["I-LOC"]]
    X, pos = load_conll(path, tag_column=1)
    assert pos == [["NNP", "VBZ"], ["NNP"], ["NNP"]]
    assert load_conll(path, word_column=2, tag_column=-3)[0][0] == ["I-NP", "I-VP"]


def test_feature_columns_make_token_tuples(tmp_path):
    path = write(
        tmp_path, "EU NNP I-NP I-ORG\nrejects VBZ I-VP O\n\nPeter NNP I-NP I-PER\n"
    )
    X, y = load_conll(path, feature_columns=[1, 2])
    assert X == [
        [("EU", "NNP", "I-NP"), ("rejects", "VBZ", "I-VP")],
        [("Peter", "NNP", "I-NP")],
    ]
    assert y == [["I-ORG", "O"], ["I-PER"]]
    assert load_conll(path, feature_columns=[-2])[0][1] == [("Peter", "I-NP")]
    with pytest.raises(
        ValueError,
        match="Line 1 of .* has 4 columns, but "
        r"word_column=0, tag_column=-1 and feature_columns=\[5\]",
    ):
        load_conll(path, feature_columns=[5])


def test_tabs_and_separators(tmp_path):
    path = write(tmp_path, "New York\tB-LOC\nis\tO\n \t \ncity\tO\n")
    X, y = load_conll(path)  # a tab-separated line keeps the space in its token
    assert X == [["New York", "is"], ["city"]] and y == [["B-LOC", "O"], ["O"]]
    path = write(tmp_path, "a;B-X\nb;O\n")
    assert load_conll(path, sep=";") == ([["a", "b"]], [["B-X", "O"]])


def test_short_lines_are_reported_with_their_number(tmp_path):
    path = write(tmp_path, "EU NNP I-NP I-ORG\nrejects\n")
    with pytest.raises(ValueError, match="Line 2 of .* has 1 column, but the first"):
        load_conll(path, tag_column=3)


def test_a_line_without_its_tag_column_is_refused(tmp_path):
    """With one column, the word would be read as its own tag."""
    path = write(tmp_path, "EU\trejects\n")  # a tab-separated line of 2: fine
    assert load_conll(path) == ([["EU"]], [["rejects"]])
    path = write(tmp_path, "rejects\n")
    with pytest.raises(ValueError, match="Line 1 of .* name the same one"):
        load_conll(path)
    path = write(tmp_path, "EU B-ORG\nrejects\nGerman B-MISC\n")
    with pytest.raises(ValueError, match="Line 2 of .* has 1 column, but the first"):
        load_conll(path)


def test_wnut17_matches_the_shared_copy(shared_data):
    for subset, name in [
        ("train", "wnut17train.conll"),
        ("dev", "emerging.dev.conll"),
        ("test", "emerging.test.annotated"),
    ]:
        bundled = load_wnut17(subset=subset, return_X_y=True)
        assert bundled == load_conll(shared_data / "wnut17" / name)


def test_wnut17_subsets():
    sizes = {"train": (3394, 62730), "dev": (1009, 15733), "test": (1287, 23394)}
    for subset, (n_sentences, n_tokens) in sizes.items():
        bunch = load_wnut17(subset=subset)
        assert len(bunch.data) == len(bunch.target) == n_sentences
        assert sum(map(len, bunch.data)) == n_tokens
        assert all(map(len, bunch.data))
        assert "CC BY 4.0" in bunch.DESCR
    types = {t[2:] for tags in bunch.target for t in tags if t != "O"}
    assert types == {
        "person",
        "location",
        "group",
        "creative-work",
        "corporation",
        "product",
    }
    with pytest.raises(ValueError, match="subset must be"):
        load_wnut17(subset="validation")


def test_conll2003_sizes(shared_data):
    sizes = {"eng.train": (14041, 203621), "eng.testa": (3250, 51362)}
    sizes["eng.testb"] = (3453, 46435)
    for name, (n_sentences, n_tokens) in sizes.items():
        X, y = load_conll(shared_data / "conll2003" / name)
        assert (len(X), sum(map(len, X))) == (n_sentences, n_tokens)
        assert [len(s) for s in X] == [len(t) for t in y]
