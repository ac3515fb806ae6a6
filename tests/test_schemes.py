"""Chunk tagging schemes: detection, checking, chunk reading, re-encoding and the
transition masks the CRF decodes under."""

import numpy as np
import pytest

from sklearn_rnn import _schemes

# One sentence with adjacent chunks of the same type, a one-token chunk and a long one
CHUNKS = [("PER", 0, 2), ("PER", 2, 3), ("LOC", 4, 7), ("ORG", 7, 8)]
LENGTH = 9
ENCODED = {
    "IOB1": "I-PER I-PER B-PER O I-LOC I-LOC I-LOC I-ORG O",
    "IOB2": "B-PER I-PER B-PER O B-LOC I-LOC I-LOC B-ORG O",
    "IOE1": "I-PER E-PER I-PER O I-LOC I-LOC I-LOC I-ORG O",
    "IOE2": "I-PER E-PER E-PER O I-LOC I-LOC E-LOC E-ORG O",
    "IOBES": "B-PER E-PER S-PER O B-LOC I-LOC E-LOC S-ORG O",
    "BILOU": "B-PER L-PER U-PER O B-LOC I-LOC L-LOC U-ORG O",
}


@pytest.mark.parametrize("scheme", _schemes.SCHEMES)
def test_each_scheme_encodes_and_reads_back_the_same_chunks(scheme):
    tags = _schemes.encode_chunks(CHUNKS, LENGTH, scheme)
    assert " ".join(tags) == ENCODED[scheme]
    assert _schemes.violation(tags, scheme) is None
    assert _schemes.chunks(tags) == CHUNKS
    assert _schemes.chunks(tags, "strict", scheme) == CHUNKS
    assert _schemes.to_iobes(tags) == ENCODED["IOBES"].split()


@pytest.mark.parametrize("scheme", _schemes.SCHEMES)
def test_detection_finds_each_scheme(scheme):
    tags = ENCODED[scheme].split()
    assert _schemes.detect_scheme([tags, ["O", "O"]]) == scheme


def test_detection_of_plain_labels_and_of_broken_chunk_tags():
    assert _schemes.detect_scheme([["DT", "NN", "VBZ"]]) is None
    assert _schemes.detect_scheme([["O", "O"]]) is None  # no chunk at all
    with pytest.raises(ValueError, match="mix the prefixes E, L"):
        _schemes.detect_scheme([["E-PER", "L-PER"]])
    # I- opens a chunk (not IOB2) and B- follows O (not IOB1): no scheme fits
    with pytest.raises(ValueError, match=r"IOB2: sample 1, position 0.*IOB1: sample 0"):
        _schemes.detect_scheme([["O", "B-PER"], ["I-LOC", "O"]])


def test_one_stray_label_among_chunk_tags_is_named_not_taken_for_plain_labels():
    tags = [["B-PER", "O", "B-LOC"], ["B-PER", "X-PER", "O"], ["O", "I-LOC", "??"]]
    with pytest.raises(
        ValueError,
        match=r"except 'X-PER' \(sample 1, position 1\), "
        r"'\?\?' \(sample 2, position 2\)",
    ):
        _schemes.detect_scheme(tags)
    # labels without types that read like bare prefixes stay plain labels
    assert _schemes.detect_scheme([["A", "B", "C"], ["B", "I", "D"]]) is None


def test_check_tags_names_sample_and_position():
    with pytest.raises(
        ValueError, match=r"Sample 1 of y breaks the IOB2 .* position 2"
    ):
        _schemes.check_tags([["B-PER"], ["O", "B-LOC", "I-PER"]], "IOB2")
    with pytest.raises(ValueError, match="sentence ends after 'B-PER'"):
        _schemes.check_tags([["O", "B-PER"]], "IOBES")
    with pytest.raises(ValueError, match="prefix that IOB2 does not use"):
        _schemes.check_tags([["S-PER"]], "IOB2")
    with pytest.raises(ValueError, match="Sample 0 of y holds 'NN' at position 1"):
        _schemes.check_tags([["O", "NN"]], "IOB2")


def test_scheme_names_and_aliases():
    assert _schemes.check_scheme("BIO") == "IOB2"
    assert _schemes.check_scheme("BIOES") == "IOBES"
    with pytest.raises(ValueError, match="Unknown tag scheme 'IOB'"):
        _schemes.check_scheme("IOB")


def test_default_reading_follows_conlleval():
    # an I- after O opens a chunk; a type change closes one; typeless tags work
    assert _schemes.chunks(["I-PER", "I-LOC", "O", "I-LOC"]) == [
        ("PER", 0, 1),
        ("LOC", 1, 2),
        ("LOC", 3, 4),
    ]
    assert _schemes.chunks(["B", "I", "O", "B"]) == [("", 0, 2), ("", 3, 4)]
    # strict IOB2 drops the chunk that opens with I-
    assert _schemes.chunks(["O", "I-PER", "B-LOC"], "strict", "IOB2") == [("LOC", 2, 3)]


def _random_walk(start, transitions, end, rng, length):
    """A tag path drawn from the masks, or None when it cannot end at ``length``."""
    path = [rng.choice(np.flatnonzero(start))]
    for _ in range(length - 1):
        path.append(rng.choice(np.flatnonzero(transitions[path[-1]])))
    return path if end[path[-1]] else None


@pytest.mark.parametrize("scheme", _schemes.SCHEMES)
def test_paths_within_the_masks_are_exactly_the_valid_ones(scheme):
    tags = ["O"] + [
        f"{p}-{t}" for p in _schemes._PREFIXES[scheme][1:] for t in ("A", "B")
    ]
    start, transitions, end = _schemes.allowed_transitions(tags, scheme)
    rng = np.random.default_rng(0)
    walks = 0
    for _ in range(300):
        path = _random_walk(start, transitions, end, rng, rng.integers(1, 7))
        if path is not None:
            walks += 1
            assert _schemes.violation([tags[i] for i in path], scheme) is None
    assert walks > 100
    # and every single-step rule the masks forbid is a real violation
    for i in np.flatnonzero(~start):
        assert _schemes.violation([tags[i]], scheme) is not None
    for i, j in zip(*np.nonzero(~transitions), strict=True):
        assert _schemes.violation([tags[i], tags[j]], scheme) is not None


@pytest.mark.parametrize("scheme", _schemes.SCHEMES)
def test_iobes_table_agrees_with_chunk_conversion(scheme):
    iobes = ENCODED["IOBES"].split()
    target = ENCODED[scheme].split()
    classes = sorted(set(target))
    internal = sorted(set(iobes))
    context, table = _schemes.iobes_to_scheme_table(internal, scheme, classes)
    path = np.array([internal.index(t) for t in iobes])
    if context is None:
        rows = np.zeros_like(path)
    elif context == "prev":
        rows = np.concatenate([[-1], path[:-1]]) + 1
    else:
        rows = np.concatenate([path[1:], [-1]]) + 1
    assert [classes[i] for i in table[rows, path]] == target
