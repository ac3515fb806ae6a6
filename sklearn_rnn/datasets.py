"""Loaders for the small public data sets bundled with the package, and a reader for
CoNLL-style column files.

Each loader reads files installed with the package; nothing is downloaded. See
``sklearn_rnn/bundled_data/README.md`` for sources and licences.
"""

import os
from importlib import resources

import numpy as np
from sklearn.utils import Bunch

_JAPANESE_VOWELS_DESCR = """\
Japanese Vowels (UCI; Kudo, Toyama and Shimbo 1999; CC BY 4.0)

Nine male speakers each uttered the Japanese vowels /ae/; every utterance is a series of
7 to 29 frames of 12 LPC cepstrum coefficients. The task is to tell the speaker ("1" to
"9") from the series. 270 training and 370 test series. Published test accuracies: 1-NN
DTW 0.949, FCN 0.993, MLSTM-FCN 1.00.
"""


def load_japanese_vowels(*, subset="train", return_X_y=False):
    """Load the Japanese Vowels speaker data: variable-length series of 12 channels.

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        Which split to return (270, 370 or all 640 series).
    return_X_y : bool, default=False
        Return ``(X, y)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (list of float32 arrays of shape ``(n_timesteps_i, 12)``), ``target``
        (ndarray of str, the speaker) and ``DESCR``.
    (X, y) : tuple, when ``return_X_y`` is True.

    Examples
    --------
    >>> from sklearn_rnn.datasets import load_japanese_vowels
    >>> X, y = load_japanese_vowels(return_X_y=True)
    >>> len(X), X[0].shape, str(y[0])
    (270, (20, 12), '1')
    """
    if subset not in ("train", "test", "all"):
        raise ValueError(f"subset must be 'train', 'test' or 'all', got {subset!r}")
    path = resources.files("sklearn_rnn") / "bundled_data" / "JapaneseVowels.npz"
    with resources.as_file(path) as file, np.load(file, allow_pickle=False) as npz:
        parts = ["train", "test"] if subset == "all" else [subset]
        X, y = [], []
        for part in parts:
            stacked = npz[f"X_{part}"]
            X.extend(np.split(stacked, np.cumsum(npz[f"lengths_{part}"])[:-1]))
            y.append(npz[f"y_{part}"])
    y = np.concatenate(y).astype(object).astype(str)
    if return_X_y:
        return X, y
    return Bunch(data=X, target=y, DESCR=_JAPANESE_VOWELS_DESCR)


_WNUT17_DESCR = """\
WNUT-17 Emerging and Rare Entities (Derczynski, Nichols, van Erp and Limsopatham 2017;
CC BY 4.0)

Named entities in noisy user-generated English (Twitter, Reddit, YouTube, StackExchange)
of six types: person, location, group, creative-work, corporation, product. Few surface
forms repeat, so memorising names helps little. Tags are IOB2. 3,394 training, 1,009
development and 1,287 test sentences (62,730 / 15,733 / 23,394 tokens).
"""

_WNUT17_FILES = {
    "train": "wnut17train.conll",
    "dev": "emerging.dev.conll",
    "test": "emerging.test.annotated",
}


def load_conll(
    path,
    *,
    word_column=0,
    tag_column=-1,
    feature_columns=None,
    sep=None,
    encoding="utf-8",
):
    """Read a CoNLL-style column file into sentences and their tags.

    One token per line with its columns; a blank line ends a sentence. ``-DOCSTART-``
    lines (document boundaries) are dropped and end the sentence before them, with or
    without a blank line after them.

    Parameters
    ----------
    path : str or path-like
        The file.
    word_column, tag_column : int, default=0 and -1
        Which columns hold the token and its tag (negative counts from the end).
        CoNLL-2003 has ``word POS chunk NER``: ``tag_column=1`` reads part-of-speech
        tags, ``-1`` the named entities.
    feature_columns : list of int or None, default=None
        Columns to keep beside the word as categorical token features: each token
        is then a tuple ``(word, feature, ...)``, the form
        :class:`~sklearn_rnn.LSTMSequenceTagger` embeds. ``[1, 2]`` keeps CoNLL-2003's
        part-of-speech and chunk tags.
    sep : str or None, default=None
        Column separator. ``None`` splits on tabs when a line holds one (so tokens may
        hold spaces), else on runs of whitespace.
    encoding : str, default="utf-8"

    Returns
    -------
    sentences : list of list of str, or of list of tuple of str
        Tuples ``(word, feature, ...)`` when ``feature_columns`` is given.
    tags : list of list of str
        Of the same lengths as ``sentences``.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn_rnn.datasets import load_conll
    >>> text = "-DOCSTART- -X- O O\\nEU NNP I-NP I-ORG\\nrejects VBZ I-VP O\\n\\n"
    >>> with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
    ...     _ = f.write(text)
    >>> load_conll(f.name)
    ([['EU', 'rejects']], [['I-ORG', 'O']])
    >>> load_conll(f.name, tag_column=1)
    ([['EU', 'rejects']], [['NNP', 'VBZ']])
    >>> load_conll(f.name, feature_columns=[1, 2])[0]
    [[('EU', 'NNP', 'I-NP'), ('rejects', 'VBZ', 'I-VP')]]
    >>> import os
    >>> os.remove(f.name)
    """
    sentences, tags = [], []
    words, labels = [], []
    feature_columns = [] if feature_columns is None else list(feature_columns)
    n_columns = None  # of the first token line: every token line has as many

    def close():
        if words:
            sentences.append(list(words))
            tags.append(list(labels))
            words.clear()
            labels.clear()

    with open(os.fspath(path), encoding=encoding) as lines:
        for number, line in enumerate(lines, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                close()
                continue
            if sep is not None:
                columns = line.split(sep)
            elif "\t" in line:
                columns = line.split("\t")
            else:
                columns = line.split()
            if columns[0] == "-DOCSTART-":
                close()
                continue
            if n_columns is None:
                n_columns = len(columns)
            elif len(columns) != n_columns:
                raise ValueError(
                    f"Line {number} of {os.fspath(path)} has {len(columns)} "
                    f"column{'s' * (len(columns) != 1)}, but the first token line has "
                    f"{n_columns}: {line[:80]!r}"
                )
            if _column(word_column, columns) == _column(tag_column, columns):
                raise ValueError(
                    f"Line {number} of {os.fspath(path)} has {len(columns)} "
                    f"column{'s' * (len(columns) != 1)}, so word_column={word_column} "
                    f"and tag_column={tag_column} name the same one: a token needs "
                    f"its tag beside it: {line[:80]!r}"
                )
            try:
                word, label = columns[word_column], columns[tag_column]
                if feature_columns:
                    word = (word, *(columns[j] for j in feature_columns))
            except IndexError:
                wanted = (
                    f"word_column={word_column}, tag_column={tag_column} and "
                    f"feature_columns={feature_columns}"
                    if feature_columns
                    else f"word_column={word_column} and tag_column={tag_column}"
                )
                raise ValueError(
                    f"Line {number} of {os.fspath(path)} has {len(columns)} columns, "
                    f"but {wanted} need more: {line[:80]!r}"
                ) from None
            words.append(word)
            labels.append(label)
    close()
    return sentences, tags


def _column(index, columns):
    """The non-negative position ``index`` names in ``columns`` (``None`` when it is
    out of range, which the caller reports)."""
    position = index + len(columns) if index < 0 else index
    return position if 0 <= position < len(columns) else None


def load_wnut17(*, subset="train", return_X_y=False):
    """Load the WNUT-17 emerging-entities data: noisy social-media NER (IOB2).

    Parameters
    ----------
    subset : {"train", "dev", "test"}, default="train"
        The training, development or official test split (3,394, 1,009 or 1,287
        sentences).
    return_X_y : bool, default=False
        Return ``(X, y)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (list of token lists), ``target`` (list of tag lists) and ``DESCR``.
    (X, y) : tuple, when ``return_X_y`` is True.

    Examples
    --------
    >>> from sklearn_rnn.datasets import load_wnut17
    >>> X, y = load_wnut17(return_X_y=True)
    >>> len(X), X[0][:3], y[0][14:17]
    (3394, ['@paulwalk', 'It', "'s"], ['B-location', 'I-location', 'I-location'])
    """
    if subset not in _WNUT17_FILES:
        raise ValueError(f"subset must be 'train', 'dev' or 'test', got {subset!r}")
    path = resources.files("sklearn_rnn") / "bundled_data" / "wnut17"
    with resources.as_file(path / _WNUT17_FILES[subset]) as file:
        X, y = load_conll(file, sep="\t")
    if return_X_y:
        return X, y
    return Bunch(data=X, target=y, DESCR=_WNUT17_DESCR)


_TINYSHAKESPEARE_DESCR = """\
tiny shakespeare (Karpathy 2015, from the works of William Shakespeare; public domain)

1,115,394 characters (65 distinct) of Shakespeare's plays, joined into one plain-text
file, as used by char-rnn. Convention: the first 90 % trains, the last 10 % validates.
Validation cross-entropy in nats per character: uniform 4.17, smoothed 5-gram 1.76.
"""

# The conventional split: the first 90 % of the characters train.
_TINYSHAKESPEARE_SPLIT = 0.9


def load_tinyshakespeare(*, subset="all", return_text=False):
    """Load tiny shakespeare: one text of about a million characters.

    Parameters
    ----------
    subset : {"all", "train", "validation"}, default="all"
        The whole text, its first 90 % or its last 10 % (the usual split for
        language models).
    return_text : bool, default=False
        Return the text itself instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (str, the text) and ``DESCR``.
    text : str, when ``return_text`` is True.

    Examples
    --------
    >>> from sklearn_rnn.datasets import load_tinyshakespeare
    >>> text = load_tinyshakespeare(return_text=True)
    >>> len(text), len(set(text))
    (1115394, 65)
    >>> print(text[:30])
    First Citizen:
    Before we proce
    """
    if subset not in ("all", "train", "validation"):
        raise ValueError(
            f"subset must be 'all', 'train' or 'validation', got {subset!r}"
        )
    path = resources.files("sklearn_rnn") / "bundled_data" / "tinyshakespeare.txt"
    text = path.read_text(encoding="utf-8")
    split = int(_TINYSHAKESPEARE_SPLIT * len(text))
    if subset == "train":
        text = text[:split]
    elif subset == "validation":
        text = text[split:]
    if return_text:
        return text
    return Bunch(data=text, DESCR=_TINYSHAKESPEARE_DESCR)
