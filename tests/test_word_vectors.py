"""``datasets.load_word_vectors``: the word2vec (text and binary), GloVe and fastText
formats, on small files written here."""

import gzip

import numpy as np
import pytest

from sklearn_rnn import RNNClassifier
from sklearn_rnn.datasets import load_word_vectors

VECTORS = {"film": [0.5, -1.0, 2.0], "good": [0.25, 0.0, -3.5], "bad": [1.0, 1.0, 1.0]}


def text_lines(header):
    lines = [f"{len(VECTORS)} 3"] if header else []
    lines += [f"{w} " + " ".join(str(v) for v in vec) for w, vec in VECTORS.items()]
    return "\n".join(lines) + "\n"


def binary_bytes():
    out = f"{len(VECTORS)} 3\n".encode()
    for word, vec in VECTORS.items():
        out += word.encode() + b" " + np.asarray(vec, dtype="<f4").tobytes() + b"\n"
    return out


def check(tokens, vectors):
    assert tokens == list(VECTORS)
    assert vectors.dtype == np.float32
    np.testing.assert_array_equal(vectors, np.array(list(VECTORS.values())))


@pytest.mark.parametrize("name, header", [("glove.txt", False), ("w2v.vec", True)])
def test_text_formats(tmp_path, name, header):
    path = tmp_path / name
    path.write_text(text_lines(header))
    check(*load_word_vectors(path))


def test_binary_format_and_gzip(tmp_path):
    path = tmp_path / "vectors.bin"
    path.write_bytes(binary_bytes())
    check(*load_word_vectors(path))
    zipped = tmp_path / "vectors.bin.gz"
    zipped.write_bytes(gzip.compress(binary_bytes()))
    check(*load_word_vectors(zipped))
    text = tmp_path / "glove.txt.gz"
    text.write_bytes(gzip.compress(text_lines(False).encode()))
    check(*load_word_vectors(text))


def test_words_and_max_words_keep_what_is_asked(tmp_path):
    path = tmp_path / "vectors.bin"
    path.write_bytes(binary_bytes())
    tokens, vectors = load_word_vectors(path, words={"bad", "film", "absent"})
    assert tokens == ["film", "bad"] and vectors.shape == (2, 3)
    text = tmp_path / "w2v.vec"
    text.write_text(text_lines(True))
    tokens, _ = load_word_vectors(text, max_words=2)
    assert tokens == ["film", "good"]
    tokens, _ = load_word_vectors(path, max_words=1)
    assert tokens == ["film"]


@pytest.mark.parametrize(
    "content, message",
    [
        ("film 0.5 1\ngood 0.1\n", "line 2: 1 numbers where the vectors have 2"),
        ("film 0.5 1\ngood 0.1 x\n", "line 2: not a number among the values of 'good'"),
        ("5 2\nfilm 0.5 1\n", "the header announces 5 words but the file has 1"),
        ("film\n", "line 1: a word without numbers"),
        ("\n\n", "No word vectors read"),
    ],
)
def test_malformed_text_files_name_the_line(tmp_path, content, message):
    path = tmp_path / "vectors.txt"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        load_word_vectors(path)


def test_a_cut_binary_file_is_a_value_error(tmp_path):
    path = tmp_path / "vectors.bin"
    path.write_bytes(binary_bytes()[:-8])
    with pytest.raises(ValueError, match="vector of word 3 is cut short"):
        load_word_vectors(path)
    path.write_bytes(b"film 0.5 1\n")
    with pytest.raises(ValueError, match="pass binary=False"):
        load_word_vectors(path)
    with pytest.raises(ValueError, match="max_words must be a positive integer"):
        load_word_vectors(path, max_words=0)


def test_the_pair_feeds_pretrained_embeddings(tmp_path):
    path = tmp_path / "glove.txt"
    path.write_text(text_lines(False))
    pair = load_word_vectors(path)
    X = ["a good film", "a bad film"] * 4
    clf = RNNClassifier(
        pretrained_embeddings=pair,
        freeze_embeddings=True,
        hidden_size=4,
        max_iter=2,
        random_state=0,
    ).fit(X, ["pos", "neg"] * 4)
    # the embedding took the file's size, and its rows hold the file's vectors
    table = clf.module_.encoder.input_layer.table.detach().numpy()
    assert table.shape[1] == 3
    np.testing.assert_allclose(
        table[clf.vocabulary_["good"]], VECTORS["good"], rtol=0, atol=0
    )
