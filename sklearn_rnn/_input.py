"""What users pass, read and checked, and encoded into numpy arrays: no torch here.

Ragged input is read into one of three kinds -- raw ``"text"``, ``"tokens"`` (lists of
symbols) or ``"numeric"`` (arrays ``(T_i, C)``) -- checked (each error names its
sample), and encoded into a :class:`Stacked`: all steps of all sequences in one array
after a zero row, from which a padded batch is a single gather. The fitted readers
(:mod:`sklearn_rnn._reader`) and the torch-free server (:mod:`sklearn_rnn.onnx`) read
input with this module alone; :mod:`sklearn_rnn._data` turns a :class:`Stacked` into
tensors and batches.
"""

import itertools
import numbers
import re
import warnings
from collections import Counter
from collections.abc import Hashable, Iterable, Iterator, Mapping
from typing import NamedTuple

import numpy as np

PAD, UNK = 0, 1
N_SPECIAL = 2
# Words and single punctuation marks. Unlike CountVectorizer's default ``\b\w\w+\b`` it
# keeps one-letter words and punctuation, which carry meaning in order ("a", "I", "?").
TOKEN_PATTERN = re.compile(r"(?u)\w+|[^\w\s]")


def default_tokenizer(text):
    """Split ``text`` into words and punctuation marks."""
    return TOKEN_PATTERN.findall(text)


def pattern_tokenizer(pattern):
    """The tokenizer of a ``token_pattern``: its matches, or with one capturing
    group the group's text, as ``CountVectorizer`` reads the parameter."""
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ValueError(
            f"token_pattern {pattern!r} is not a regular expression: {exc}"
        ) from None
    if compiled.groups > 1:
        raise ValueError(
            f"token_pattern {pattern!r} has {compiled.groups} capturing groups: it "
            "may have at most one (write the others as (?:...))"
        )
    return compiled.findall


# ---------------------------------------------------------------------- reading input


def as_samples(X):
    """``X`` as something that can be read more than once.

    A generator or another one-pass iterator is read into a list here, once, so that
    no sample is lost to sniffing; a pandas Series (a text column, ``df["text"]``)
    and a data frame of one column of texts or token lists become the list of their
    values. Anything else is returned as it is.
    """
    if isinstance(X, str | bytes):
        raise TypeError(
            "X must hold many samples (a list of strings, of token lists or of "
            f"arrays), got a single {type(X).__name__}"
        )
    if isinstance(X, Iterator):
        return list(X)
    if hasattr(X, "iloc"):  # pandas
        return _pandas_samples(X)
    return X


def as_samples_or_none(y):
    """Targets read once when they come from a one-pass iterator; else as given."""
    return list(y) if isinstance(y, Iterator) else y


def _pandas_samples(X):
    """A Series or one-column frame of objects (texts, token lists, arrays) as a
    list; numeric frames stay tables for scikit-learn's validation."""
    index = getattr(X, "index", None)
    if getattr(index, "nlevels", 1) > 1:
        raise ValueError(
            "X is a data frame with a multi-index (one row per time step, sktime's "
            "'pd-multiindex'): pass a list of arrays instead, e.g. "
            "[g.to_numpy() for _, g in X.groupby(level=0)]"
        )
    column = X
    if getattr(X, "ndim", 1) == 2:
        if X.shape[1] != 1 or _numeric(X.dtypes.iloc[0]):
            if not all(map(_numeric, X.dtypes)) and _holds_series(X):
                raise ValueError(
                    "X is a nested data frame (each cell a series, sktime's "
                    "'nested_univariate'): pass a list of arrays "
                    "(n_timesteps_i, n_channels) instead, e.g. "
                    "[np.stack([cell.to_numpy() for cell in row], axis=1) "
                    "for row in X.itertuples(index=False)]"
                )
            return X
        column = X.iloc[:, 0]
    if _numeric(column.dtype):
        return X  # numbers: a column of a table
    values = column.tolist()
    if values and _holds_series(column):
        raise ValueError(
            "X is a nested series (each cell a series, sktime's 'nested_univariate'): "
            "pass a list of arrays instead, e.g. [cell.to_numpy() for cell in X]"
        )
    return values


def _numeric(dtype):
    """Whether a pandas column of ``dtype`` holds numbers (or times), not objects or
    strings (pandas 3 gives text its own ``str`` dtype)."""
    return getattr(dtype, "kind", "O") in "biufcmM"


def _holds_series(frame):
    first = frame.iloc[0] if getattr(frame, "ndim", 1) == 1 else frame.iloc[0, 0]
    return hasattr(first, "iloc")


def sniff_kind(X):
    """Which kind of sequences ``X`` (as :func:`as_samples` returns it) holds.

    Returns one of ``"table"`` (a 2-D numeric table, or anything scikit-learn's
    validation should judge: sparse matrices, data frames, 1-D numeric input),
    ``"array3d"``, ``"numeric"`` (a list of numeric arrays of different lengths),
    ``"text"`` or ``"tokens"``.
    """
    if isinstance(X, str | bytes):
        raise TypeError(
            "X must hold many samples (a list of strings, of token lists or of "
            f"arrays), got a single {type(X).__name__}"
        )
    if hasattr(X, "tocsr") or hasattr(X, "iloc") or hasattr(X, "__dataframe__"):
        return "table"
    if not isinstance(X, list | tuple):
        if hasattr(X, "__array__") or isinstance(X, np.ndarray):
            X = np.asarray(X)
            if X.dtype.kind in "biufc":
                if X.ndim == 3:
                    return "array3d"
                if X.ndim > 3:
                    raise ValueError(
                        "Expected X with 2 or 3 dimensions (samples, steps[, "
                        f"channels]), got an array of shape {X.shape}"
                    )
                return "table"
            if X.ndim != 1:
                return "table"
    first = _first_item(X)
    if isinstance(first, str):
        return "text"
    if _is_number(first):
        return "table"  # 1-D numeric: scikit-learn's validation explains the fix
    if isinstance(first, np.ndarray) or (
        isinstance(first, list | tuple) and first and _is_numeric_row(first[0])
    ):
        lengths = {len(x) if np.ndim(x) else -1 for x in X}
        if np.ndim(first) == 1 and len(lengths) == 1:
            return "table"  # equal-length rows of numbers
        return "numeric"
    return "tokens"


def _first_item(X):
    try:
        return next(iter(X))
    except StopIteration:
        raise ValueError(
            "X is empty: found 0 samples, while a minimum of 1 is required"
        ) from None
    except TypeError:
        raise TypeError(
            f"X must be a list of samples or an array, got {type(X).__name__}"
        ) from None


def _is_number(x):
    return isinstance(x, numbers.Number | np.number | np.bool_)


def _is_numeric_row(x):
    return _is_number(x) or (
        isinstance(x, list | tuple | np.ndarray) and len(x) > 0 and _is_number(x[0])
    )


def read_text(X, tokenizer, lowercase):
    """Tokenise raw strings; one that yields no token (an empty string, say, as some
    sentence sets hold) becomes one unknown symbol, as TF-IDF reads it as no word."""
    tokenize = tokenizer if tokenizer is not None else default_tokenizer
    sequences = []
    for i, text in enumerate(X):
        if not isinstance(text, str):
            raise TypeError(
                f"Sample {i} of X is a {type(text).__name__}, but sample 0 is a "
                "string: X must hold only raw strings, only token lists or only "
                "numeric arrays"
            )
        try:
            tokens = tokenize(text.lower() if lowercase else text)
        except Exception as exc:
            if hasattr(exc, "add_note"):
                exc.add_note(
                    f"raised by the tokenizer on sample {i} of X: {text[:80]!r}"
                )
            raise
        sequences.append(_checked_tokens(tokens, i, text) or [None])
    return sequences


def _checked_tokens(tokens, i, text):
    """The tokenizer's output for sample ``i`` as a list of hashable tokens (``None``
    is what an empty result becomes, never a token)."""
    if isinstance(tokens, str | bytes) or not isinstance(tokens, Iterable):
        raise TypeError(
            f"The tokenizer returned a {type(tokens).__name__} for sample {i} of X "
            f"({text[:80]!r}): it must return a list of tokens"
        )
    tokens = list(tokens)
    for token in tokens:
        if token is None or not isinstance(token, Hashable):
            raise TypeError(
                f"The tokenizer returned the token {token!r} for sample {i} of X "
                f"({text[:80]!r}): tokens must be hashable and not None (strings, "
                "usually)"
            )
    return tokens


def read_tokens(X, lowercase):
    """Check lists of symbols: non-empty, hashable, not numbers, all strings or none."""
    sequences = []
    strings = None
    for i, seq in enumerate(X):
        if isinstance(seq, str) or not isinstance(seq, list | tuple | np.ndarray):
            raise TypeError(
                f"Sample {i} of X is a {type(seq).__name__}, but the first sample is a "
                "token list: X must hold only raw strings, only token lists or only "
                "numeric arrays"
            )
        if len(seq) == 0:
            raise ValueError(f"Sample {i} of X is an empty sequence")
        seq = list(seq)
        n_str = sum(isinstance(t, str) for t in seq)
        if strings is None:
            strings = n_str > 0
        if n_str != (len(seq) if strings else 0):
            raise TypeError(
                f"Sample {i} of X mixes strings with other symbols: tokens must all be "
                "strings or all be other hashable symbols"
            )
        if not strings:
            for t in seq:
                if type(t) is tuple:  # (word, feature, ...): the ABCs below are slow
                    continue
                if _is_number(t) or not isinstance(t, Hashable):
                    raise TypeError(
                        f"Sample {i} of X holds the token {t!r}: symbols must be "
                        "hashable and not numbers (numbers are read as numeric "
                        "sequences; pass integer codes as strings)"
                    )
        if strings and lowercase:
            seq = [t.lower() for t in seq]
        sequences.append(seq)
    return sequences


LAYOUTS = ("NLC", "NCL")


def read_numeric(X, kind, layout=None):
    """Numeric sequences as a list of float arrays ``(T_i, C)``, checked for
    emptiness, channel agreement and finiteness, each error naming its sample.

    ``layout`` says where the channels are: ``"NLC"`` (samples, steps, channels: the
    layout of ``batch_first`` PyTorch and tslearn), ``"NCL"`` (samples, channels,
    steps: sktime and aeon; each array of a list is then ``(C, T_i)``), or ``None``
    for ``"NLC"`` with a warning when a 3-D array has fewer steps than channels,
    which is what a channels-first array usually looks like.
    """
    if kind == "array3d":
        X = np.asarray(X)
        if X.shape[0] == 0:
            raise ValueError(
                "X is empty: found 0 samples, while a minimum of 1 is required"
            )
        if layout == "NCL":
            X = X.transpose(0, 2, 1)
        elif layout is None and X.shape[1] < X.shape[2]:
            warnings.warn(
                f"X has shape {X.shape}: read as {X.shape[1]} time steps of "
                f"{X.shape[2]} channels each (channels last). If its channels come "
                "first, as in sktime and aeon, pass layout='NCL'; pass "
                "layout='NLC' to say the channels are last and silence this warning.",
                UserWarning,
                stacklevel=5,
            )
        if X.shape[1] == 0:
            raise ValueError("Sample 0 of X is an empty sequence (X has 0 time steps)")
        if X.shape[2] == 0:
            raise ValueError(
                f"X has shape {X.shape}: 0 channels, so there is nothing to read"
            )
        arrays = list(_as_numeric(X, "X"))
    else:
        arrays = []
        for i, x in enumerate(X):
            if isinstance(x, str) or _is_number(x):
                raise TypeError(
                    f"Sample {i} of X is a {type(x).__name__}, but the first sample is "
                    "a numeric array: X must hold only raw strings, only token lists "
                    "or only numeric arrays"
                )
            x = _as_numeric(x, f"Sample {i} of X")
            if x.ndim == 1:
                x = x[:, None]
            elif x.ndim == 2 and layout == "NCL":
                x = x.T
            if x.ndim != 2:
                raise ValueError(
                    f"Sample {i} of X has shape {x.shape}: expected (n_timesteps, "
                    "n_channels) or (n_timesteps,)"
                )
            if x.shape[0] == 0:
                raise ValueError(f"Sample {i} of X is an empty sequence")
            if x.shape[1] == 0:
                raise ValueError(
                    f"Sample {i} of X has shape {x.shape}: 0 channels, so there is "
                    "nothing to read"
                )
            if arrays and x.shape[1] != arrays[0].shape[1]:
                hint = ""
                if layout != "NCL" and len(x) == len(arrays[0]):
                    hint = (
                        "; their first dimensions agree: if the channels come "
                        "first (sktime and aeon), pass layout='NCL'"
                    )
                raise ValueError(
                    f"Sample {i} of X has {x.shape[1]} channels but sample 0 has "
                    f"{arrays[0].shape[1]}: every sequence needs the same channels"
                    + hint
                )
            arrays.append(x)
    return arrays


def _as_numeric(x, what):
    try:
        arr = np.asarray(x)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(f"{what} is not a rectangular numeric array: {exc}") from None
    if arr.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {what} is complex")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{what} must be numeric, got dtype {arr.dtype}")
    # float64 stays so until the range is checked, then everything becomes float32
    return arr if arr.dtype.kind == "f" else arr.astype(np.float32)


def check_finite(values, offsets, arrays):
    """Raise naming the first sample, step and channel that holds NaN or an infinity
    in ``values`` (the float32 stack of ``arrays``), telling apart a finite value of
    ``arrays`` that was too large for float32."""
    flat = values.reshape(len(values), -1)
    bad = ~np.isfinite(flat)
    if not bad.any():
        return
    row, channel = np.argwhere(bad)[0]
    sample = int(np.searchsorted(offsets, row, side="right") - 1)
    step = int(row - offsets[sample])
    original = np.asarray(arrays[sample]).reshape(len(arrays[sample]), -1)[
        step, channel
    ]
    where = f"sample {sample} holds {{}} at time step {step}, channel {channel}"
    if np.isfinite(original):
        raise ValueError(
            "Input X holds a value too large for float32, in which the network "
            f"computes: {where.format(original)}; rescale it"
        )
    kind = "NaN" if np.isnan(original) else "infinity"
    raise ValueError(f"Input X contains NaN or infinity: {where.format(kind)}")


def offsets_of(lengths):
    """Where each sequence starts in the stack of all steps."""
    offsets = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=offsets[1:])
    return offsets


# ---------------------------------------------------------------------- encoding


def count_symbols(sequences):
    """How many times each symbol of ``sequences`` occurs (``None``, the symbol of a
    text without a word, included)."""
    return Counter(itertools.chain.from_iterable(sequences))


def build_vocabulary(sequences, *, min_frequency=1, max_size=None, counts=None):
    """Map each kept symbol to an index from 2 (0 is padding, 1 the unknown symbol).

    Symbols seen fewer than ``min_frequency`` times are left out, then the ``max_size``
    most frequent are kept; ties keep the order of first appearance, so the result is
    determined by the data alone. ``counts``: :func:`count_symbols` of
    ``sequences``, when the caller has it already.
    """
    if counts is None:
        counts = count_symbols(sequences)
    kept = [t for t, c in counts.most_common() if t is not None and c >= min_frequency]
    if max_size is not None:
        kept = kept[:max_size]
    return {t: i for i, t in enumerate(kept, start=N_SPECIAL)}


def check_vocabulary(vocabulary, sequences, min_frequency):
    """Refuse an empty vocabulary: every token would read as the unknown symbol."""
    if vocabulary:
        return
    counts = count_symbols(sequences)
    counts.pop(None, None)
    if not counts:
        raise ValueError(
            "X holds no token: the tokenizer found none in any sample, so there is "
            "nothing to learn from"
        )
    most = counts.most_common(1)[0][1]
    raise ValueError(
        f"min_frequency={min_frequency} leaves no token in the vocabulary: the most "
        f"frequent token of X appears {most} time{'s' * (most != 1)}. Lower "
        "min_frequency."
    )


def add_pretrained_words(given, vocabulary, *, lowercase):
    """Check pretrained word vectors ``given`` (a mapping token -> vector, or tokens
    and a matrix), add their tokens to ``vocabulary`` (in place, lowercased when
    ``lowercase``; the first of several spellings wins); return the embedding rows
    they fill and their vectors ``(n_rows, dim)`` float32."""
    if isinstance(given, Mapping):
        words = list(given)
        vectors = [np.asarray(given[word], dtype=np.float32) for word in words]
        if vectors and (len({v.shape for v in vectors}) > 1 or vectors[0].ndim != 1):
            raise ValueError(
                "pretrained_embeddings must map every token to a 1-D vector of "
                "the same length"
            )
        matrix = np.stack(vectors) if vectors else np.zeros((0, 1), np.float32)
    else:
        if len(given) != 2:
            raise ValueError(
                "pretrained_embeddings must be a mapping token -> vector or a "
                f"pair (tokens, matrix), got a tuple of {len(given)}"
            )
        words, matrix = list(given[0]), np.asarray(given[1], dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != len(words):
            raise ValueError(
                f"pretrained_embeddings holds {len(words)} tokens but a matrix of "
                f"shape {matrix.shape}; expected ({len(words)}, dim)"
            )
    if not len(words):
        raise ValueError("pretrained_embeddings holds no vectors")
    if not np.isfinite(matrix).all():
        raise ValueError("pretrained_embeddings holds NaN or infinite values")
    rows, kept, seen = [], [], set()
    for i, word in enumerate(words):
        if isinstance(word, str) and lowercase:
            word = word.lower()
        if word in seen:
            continue
        seen.add(word)
        if word not in vocabulary:
            vocabulary[word] = len(vocabulary) + N_SPECIAL
        rows.append(vocabulary[word])
        kept.append(i)
    return np.asarray(rows, dtype=np.int64), matrix[kept]


# Characters of a token that character features read: a longer token keeps its first
# and its last MAX_WORD_CHARS // 2 (URLs and hashtags in social media run to 200).
MAX_WORD_CHARS = 24


def build_char_vocabulary(sequences):
    """Map each character of the string tokens to an index from 2 (0 is padding, 1 an
    unknown character), most frequent first, ties in order of first appearance."""
    counts = Counter(c for seq in sequences for token in seq for c in token)
    return {c: i for i, (c, _) in enumerate(counts.most_common(), start=N_SPECIAL)}


def encode_chars(sequences, vocabulary, max_chars=MAX_WORD_CHARS):
    """Character indices of every token, ``(total tokens, C)`` int64, zero-padded to
    the longest token (at most ``max_chars``). Each distinct token is spelled once."""
    table, index = char_table(sequences, vocabulary, max_chars)
    return table[index]


def char_table(sequences, vocabulary, max_chars=MAX_WORD_CHARS):
    """:func:`encode_chars` as ``(table, index)``: ``table`` ``(S, C)`` spells each
    distinct token once (a token longer than ``max_chars`` keeps its first and its
    last ``max_chars // 2``), and ``index`` ``(total tokens,)`` is the row of each
    token. The characters are looked up all at once, as code points."""
    tokens = itertools.chain.from_iterable(sequences)
    distinct = list(dict.fromkeys(tokens))  # in order of first appearance
    rows = dict(zip(distinct, range(len(distinct)), strict=True))
    index = np.fromiter(
        map(rows.__getitem__, itertools.chain.from_iterable(sequences)),
        dtype=np.int64,
        count=sum(map(len, sequences)),
    )
    half = max_chars // 2
    spelled = [
        t if len(t) <= max_chars else t[:half] + t[len(t) - half :] for t in distinct
    ]
    lengths = np.fromiter(map(len, spelled), dtype=np.int64, count=len(spelled))
    codes = np.frombuffer("".join(spelled).encode("utf-32-le"), dtype=np.uint32)
    chars = np.full(len(codes), UNK, dtype=np.int64)
    if vocabulary:
        known = np.fromiter(map(ord, vocabulary), dtype=np.int64, count=len(vocabulary))
        values = np.fromiter(vocabulary.values(), dtype=np.int64, count=len(known))
        order = np.argsort(known)
        known, values = known[order], values[order]
        found = np.searchsorted(known, codes).clip(max=len(known) - 1)
        hit = known[found] == codes
        chars[hit] = values[found[hit]]
    table = np.zeros((len(spelled), max(1, int(lengths.max()))), dtype=np.int64)
    row = np.repeat(np.arange(len(spelled)), lengths)
    column = np.arange(len(codes)) - np.repeat(offsets_of(lengths), lengths)
    table[row, column] = chars
    return table, index


def encode_symbols(sequences, vocabulary):
    """The index of every token of ``sequences`` in ``vocabulary`` (:data:`UNK` for
    one it lacks), all sequences one after another: ``(total tokens,)`` int64."""
    return np.fromiter(
        map(
            vocabulary.get,
            itertools.chain.from_iterable(sequences),
            itertools.repeat(UNK),
        ),
        dtype=np.int64,
        count=sum(map(len, sequences)),
    )


# ---------------------------------------------------------------------- stacked steps


class Stacked(NamedTuple):
    """Encoded sequences: ``values`` ``(1 + total steps, ...)`` holds a zero row
    (padding) and then every step of every sequence, one sequence after another;
    ``lengths`` ``(N,)`` int64 says how many steps each has."""

    values: np.ndarray
    lengths: np.ndarray

    @classmethod
    def of_steps(cls, steps, lengths):
        """From the steps alone, ``(total steps, ...)``: the zero row goes first."""
        values = np.zeros((len(steps) + 1,) + steps.shape[1:], dtype=steps.dtype)
        values[1:] = steps
        return cls(values, np.asarray(lengths, dtype=np.int64))

    @classmethod
    def of_arrays(cls, arrays):
        """Numeric arrays ``(T_i, C)`` stacked into one float32 buffer, the only copy
        made; a value that is not finite (or too large for float32) is refused."""
        lengths = np.array([len(a) for a in arrays], dtype=np.int64)
        buffer = np.empty((lengths.sum() + 1,) + arrays[0].shape[1:], np.float32)
        buffer[0] = 0.0
        with np.errstate(over="ignore"):  # too large for float32: inf, reported next
            np.concatenate(arrays, out=buffer[1:], casting="same_kind")
        check_finite(buffer[1:], offsets_of(lengths), arrays)
        return cls(buffer, lengths)

    def padded(self, index):
        """``(len(index), longest, ...)`` with zeros past each length."""
        positions = padded_positions(offsets_of(self.lengths), self.lengths, index)
        return self.values[positions]


def padded_positions(offsets, lengths, index):
    """Rows of a stack with a leading zero row (see :class:`Stacked`) that make the
    padded batch of the sequences at ``index``: ``(len(index), longest)``, 0 past each
    length."""
    lengths = lengths[index]
    steps = np.arange(lengths.max())
    positions = offsets[index][:, None] + steps[None, :] + 1
    positions[steps[None, :] >= lengths[:, None]] = 0
    return positions


# Character streams put one mark before, between and after documents: the mark before a
# document begins it, the one after ends it. Symbols are 0 padding, 1 unknown, 2 the
# mark, then the characters in sorted order.
BOUNDARY = N_SPECIAL
N_STREAM_SPECIAL = N_SPECIAL + 1


_ENCODE_CHUNK = 1 << 20  # characters encoded at a time: bounds the temporaries


def encode_characters(text, classes):
    """Symbols of the characters of ``text`` (int64), :data:`UNK` for any character not
    in ``classes`` (sorted single characters). Vectorised, a million characters at a
    time: a megabyte takes milliseconds, and a long text needs little memory beyond
    its symbols."""
    known_codes = np.fromiter(map(ord, classes), dtype=np.uint32, count=len(classes))
    symbols = np.full(len(text), UNK, dtype=np.int64)
    if len(known_codes) == 0:
        return symbols
    for start in range(0, len(text), _ENCODE_CHUNK):
        piece = text[start : start + _ENCODE_CHUNK]
        codes = np.frombuffer(piece.encode("utf-32-le", "surrogatepass"), np.uint32)
        position = np.searchsorted(known_codes, codes)
        known = known_codes[np.minimum(position, len(known_codes) - 1)] == codes
        out = symbols[start : start + len(piece)]
        out[known] = position[known] + N_STREAM_SPECIAL
    return symbols


def decode_characters(symbols, classes):
    """The text of character symbols; special symbols are left out."""
    symbols = np.asarray(symbols)
    symbols = symbols[symbols >= N_STREAM_SPECIAL]
    return "".join(np.asarray(classes)[symbols - N_STREAM_SPECIAL].tolist())
