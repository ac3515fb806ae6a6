"""From what users pass to tensors and back.

Ragged input is read into one of three kinds -- raw ``"text"``, ``"tokens"`` (lists of
symbols) or ``"numeric"`` (arrays ``(T_i, C)``) -- then encoded into a :class:`Ragged`:
all steps of all sequences stacked in one flat tensor, with offsets and lengths. A batch
is cut from it by index arithmetic (no per-sample Python loop), padded only to the
longest sequence of that batch, and sorted by decreasing length so the encoder can pack
it. Batches are drawn from pools of similar lengths, so padding costs little.
"""

import numbers
import os
import re
import warnings
from collections import Counter, deque
from collections.abc import Hashable, Iterable, Iterator, Mapping
from typing import NamedTuple

import numpy as np
import torch

from ._device import to_device

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
    """Tokenise raw strings; one that yields no token becomes one unknown symbol."""
    tokenize = tokenizer if tokenizer is not None else default_tokenizer
    sequences = []
    for i, text in enumerate(X):
        if not isinstance(text, str):
            raise TypeError(
                f"Sample {i} of X is a {type(text).__name__}, but sample 0 is a "
                "string: X must hold only raw strings, only token lists or only "
                "numeric arrays"
            )
        if not text:
            raise ValueError(f"Sample {i} of X is an empty string")
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


def _offsets(lengths):
    """Where each sequence starts in the stack of all steps."""
    offsets = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=offsets[1:])
    return offsets


# ---------------------------------------------------------------------- encoding


def build_vocabulary(sequences, *, min_frequency=1, max_size=None):
    """Map each kept symbol to an index from 2 (0 is padding, 1 the unknown symbol).

    Symbols seen fewer than ``min_frequency`` times are left out, then the ``max_size``
    most frequent are kept; ties keep the order of first appearance, so the result is
    determined by the data alone.
    """
    counts = Counter(t for seq in sequences for t in seq)
    counts.pop(None, None)
    kept = [t for t, c in counts.most_common() if c >= min_frequency]
    if max_size is not None:
        kept = kept[:max_size]
    return {t: i for i, t in enumerate(kept, start=N_SPECIAL)}


def check_vocabulary(vocabulary, sequences, min_frequency):
    """Refuse an empty vocabulary: every token would read as the unknown symbol."""
    if vocabulary:
        return
    counts = Counter(t for seq in sequences for t in seq)
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
    half = max_chars // 2
    rows = {}
    spelled = []
    for seq in sequences:
        for token in seq:
            if token not in rows:
                rows[token] = len(spelled)
                if len(token) > max_chars:
                    token = token[:half] + token[len(token) - half :]
                spelled.append([vocabulary.get(c, UNK) for c in token])
    width = max(1, max(len(chars) for chars in spelled))
    table = np.zeros((len(spelled), width), dtype=np.int64)
    for i, chars in enumerate(spelled):
        table[i, : len(chars)] = chars
    index = np.fromiter(
        (rows[token] for seq in sequences for token in seq),
        dtype=np.int64,
        count=sum(len(seq) for seq in sequences),
    )
    return torch.from_numpy(table[index])


class Ragged:
    """Sequences stacked into one flat tensor: ``values`` ``(total_steps, ...)`` plus
    ``offsets`` and ``lengths`` (numpy int64, one per sequence).

    Row 0 of the stored tensor is padding, so a padded batch is a single gather.
    """

    def __init__(self, values, lengths, *, padded=False):
        """``values`` holds the steps, or with ``padded`` a zero row and then them."""
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.offsets = _offsets(self.lengths)
        if not padded:
            pad = torch.zeros((1,) + tuple(values.shape[1:]), dtype=values.dtype)
            values = torch.cat([pad, values])
        self._values = values

    @classmethod
    def from_symbols(cls, sequences, vocabulary):
        lengths = [len(s) for s in sequences]
        get = vocabulary.get
        ids = np.fromiter(
            (get(t, UNK) for seq in sequences for t in seq),
            dtype=np.int64,
            count=sum(lengths),
        )
        return cls(torch.from_numpy(ids), lengths)

    @classmethod
    def from_arrays(cls, arrays):
        """Stack numeric arrays into one float32 buffer, the only copy made."""
        lengths = np.array([len(a) for a in arrays], dtype=np.int64)
        buffer = np.empty((lengths.sum() + 1,) + arrays[0].shape[1:], np.float32)
        buffer[0] = 0.0
        with np.errstate(over="ignore"):  # too large for float32: inf, reported next
            np.concatenate(arrays, out=buffer[1:], casting="same_kind")
        check_finite(buffer[1:], _offsets(lengths), arrays)
        return cls(torch.from_numpy(buffer), lengths, padded=True)

    def standardize_(self, mean, scale):
        """Scale the stored steps in place, channel by channel."""
        values = self.values
        values -= torch.from_numpy(mean)
        values /= torch.from_numpy(scale)

    def __len__(self):
        return len(self.lengths)

    @property
    def values(self):
        return self._values[1:]

    def padded(self, index):
        """``(len(index), longest, ...)`` with zeros past each length."""
        lengths = self.lengths[index]
        steps = np.arange(lengths.max())
        positions = self.offsets[index][:, None] + steps[None, :] + 1
        positions[steps[None, :] >= lengths[:, None]] = 0
        return self._values[torch.from_numpy(positions)]


class Batch(NamedTuple):
    """A padded batch sorted by decreasing length; ``index`` locates its rows.

    ``continues`` says that its sequences go on from where the previous batch's
    ended (windows of a text stream), so that training carries the recurrent state
    over.
    """

    inputs: torch.Tensor
    lengths: torch.Tensor
    targets: torch.Tensor | None
    weights: torch.Tensor | None
    index: np.ndarray
    continues: bool = False

    def to(self, device):
        """The batch on ``device``; ``lengths`` stay on the CPU for packing."""
        inputs, targets, weights = to_device(
            (self.inputs, self.targets, self.weights), device
        )
        return self._replace(inputs=inputs, targets=targets, weights=weights)


class Epoch:
    """One epoch's batches, made as they are read, and how many there are (what a
    learning-rate schedule planned over batches needs to know beforehand).

    ``share(rank, world)``, where given, returns the :class:`Epoch` that process
    ``rank`` of ``world`` reads when they train one model together (see
    :meth:`shard`)."""

    def __init__(self, n_batches, batches, share=None):
        self.n_batches = n_batches
        self._batches = batches
        self._share = share

    def __len__(self):
        return self.n_batches

    def __iter__(self):
        return iter(self._batches)

    def shard(self, rank, world):
        """Process ``rank``'s share of this epoch when ``world`` processes train one
        model together: the same number of batches on every process, so that none
        waits for a gradient that never comes."""
        if self._share is None:
            raise TypeError(
                "these batches cannot be shared out between processes: the "
                "estimator's _epoch_batches must return an Epoch that says how"
            )
        return self._share(rank, world)


def side_by_side(order, rank, world):
    """Process ``rank``'s share of batches ``0 .. n - 1``, which neighbour in length
    (as :meth:`SequenceDataset.training_batches` cuts them) and are read in
    ``order`` by a single process.

    Each step gives the ``world`` processes neighbouring batches, so that none
    waits long for another's longer sequences; the steps come in the order in which
    their first batch comes in ``order``. The last step, when short, is filled from
    its own beginning, so that every process gets as many batches.
    """
    n = len(order)
    position = np.empty(n, dtype=np.int64)
    position[np.asarray(order, dtype=np.int64)] = np.arange(n)
    steps = [range(start, min(start + world, n)) for start in range(0, n, world)]
    steps.sort(key=lambda step: position[step[0]])
    return [step[rank % len(step)] for step in steps]


def batch_rows(batch, rank, world):
    """Process ``rank``'s rows of a batch of parallel streams: every ``world``-th, so
    that each process follows its own streams from window to window. A batch of
    fewer rows than processes is read whole by each."""
    if len(batch.lengths) < world:
        return batch
    rows = slice(rank, None, world)
    return batch._replace(
        inputs=batch.inputs[rows],
        lengths=batch.lengths[rows],
        targets=None if batch.targets is None else batch.targets[rows],
        weights=None if batch.weights is None else batch.weights[rows],
        index=batch.index[rows],
    )


class SequenceDataset:
    """Encoded sequences with optional targets, per sequence (a tensor) or per step
    (a :class:`Ragged`), and per-sequence weights."""

    def __init__(self, sequences, targets=None, weights=None):
        self.sequences = sequences
        self.targets = targets
        self.weights = weights

    def __len__(self):
        return len(self.sequences)

    @property
    def lengths(self):
        return self.sequences.lengths

    def subset(self, index):
        """A new dataset of the samples at ``index`` (used for the validation split)."""
        seq = self.sequences
        gathered = _ragged_subset(seq, index)
        targets = self.targets
        if isinstance(targets, Ragged):
            targets = _ragged_subset(targets, index)
        elif targets is not None:
            targets = targets[torch.from_numpy(np.asarray(index))]
        weights = (
            None if self.weights is None else self.weights[torch.from_numpy(index)]
        )
        return SequenceDataset(gathered, targets, weights)

    def batch(self, index):
        index = np.asarray(index)
        order = np.argsort(-self.lengths[index], kind="stable")
        index = index[order]
        targets = self.targets
        if isinstance(targets, Ragged):
            targets = targets.padded(index)
        elif targets is not None:
            targets = targets[torch.from_numpy(index)]
        weights = (
            None if self.weights is None else self.weights[torch.from_numpy(index)]
        )
        lengths = torch.from_numpy(self.lengths[index])
        return Batch(self.sequences.padded(index), lengths, targets, weights, index)

    def training_batches(self, batch_size, rng, pool_batches=50):
        """Batches for one epoch: shuffled, cut from pools of similar length."""
        perm = rng.permutation(len(self))
        pool = batch_size * pool_batches
        index_batches = []
        for start in range(0, len(perm), pool):
            chunk = perm[start : start + pool]
            chunk = chunk[np.argsort(-self.lengths[chunk], kind="stable")]
            index_batches.extend(
                chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)
            )
        order = list(rng.permutation(len(index_batches)))

        def epoch(order):
            return Epoch(
                len(order),
                (self.batch(index_batches[i]) for i in order),
                lambda rank, world: epoch(side_by_side(order, rank, world)),
            )

        return epoch(order)

    def inference_batches(self, batch_size):
        """Batches in order of length, for prediction; ``index`` puts rows back."""
        order = np.argsort(-self.lengths, kind="stable")
        for start in range(0, len(order), batch_size):
            yield self.batch(order[start : start + batch_size])


def _ragged_subset(ragged, index):
    index = np.asarray(index)
    lengths = ragged.lengths[index]
    steps = np.concatenate([np.arange(n) for n in lengths]) if len(index) else []
    rows = np.repeat(ragged.offsets[index], lengths) + steps
    return Ragged(
        ragged.values[torch.from_numpy(np.asarray(rows, dtype=np.int64))], lengths
    )


# ---------------------------------------------------------------------- text streams

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


def encode_documents(documents, classes, *, end=True):
    """Each document as ``[BOUNDARY, characters..., BOUNDARY]`` (the last mark only
    with ``end``), as a :class:`Ragged`."""
    parts, lengths = [], []
    mark = np.array([BOUNDARY], dtype=np.int64)
    for doc in documents:
        parts.append(mark)
        parts.append(encode_characters(doc, classes))
        if end:
            parts.append(mark)
        lengths.append(len(doc) + 1 + end)
    return Ragged(torch.from_numpy(np.concatenate(parts)), lengths)


class TextStream:
    """Documents joined into one stream of symbols, for truncated backpropagation
    through time: every symbol is read, and every one after the first is predicted.

    ``len()`` is the number of predicted symbols.
    """

    def __init__(self, symbols):
        self.symbols = symbols

    @classmethod
    def from_documents(cls, documents, classes):
        """One boundary mark before, between and after the documents."""
        parts = [np.array([BOUNDARY], dtype=np.int64)]
        for doc in documents:
            parts.append(encode_characters(doc, classes))
            parts.append(parts[0])
        return cls(torch.from_numpy(np.concatenate(parts)))

    def __len__(self):
        return len(self.symbols) - 1

    def split(self, n_tail):
        """``(head, tail)``: the tail predicts the last ``n_tail`` symbols, reading on
        from the head's last symbol."""
        cut = len(self) - n_tail
        return TextStream(self.symbols[: cut + 1]), TextStream(self.symbols[cut:])

    def n_streams(self, batch_size, seq_len):
        """Parallel streams an epoch reads: ``batch_size``, but never so many that a
        stream would be shorter than one window of ``seq_len`` (a short text is read as
        one stream, so that the state always carries over)."""
        return max(1, min(batch_size, len(self) // seq_len))

    def windows(self, batch_size, seq_len):
        """One epoch of consecutive windows ``(n_streams, <= seq_len)``.

        The stream is cut into ``n_streams`` parallel rows (a remainder of fewer than
        ``n_streams`` symbols at the end is left out); window ``i`` of every row
        continues window ``i - 1``, so the state after one batch is the right start for
        the next.
        """
        n = self.n_streams(batch_size, seq_len)
        steps = len(self) // n
        inputs = self.symbols[: n * steps].view(n, steps)
        targets = self.symbols[1 : n * steps + 1].view(n, steps)
        index = np.arange(n)
        starts = range(0, steps, seq_len)

        def windows(rank=0, world=1):
            for start in starts:
                batch = Batch(
                    inputs[:, start : start + seq_len],
                    torch.full((n,), min(seq_len, steps - start), dtype=torch.int64),
                    targets[:, start : start + seq_len],
                    None,
                    index,
                    continues=True,
                )
                yield batch_rows(batch, rank, world)

        return Epoch(
            len(starts),
            windows(),
            lambda rank, world: Epoch(len(starts), windows(rank, world)),
        )

    def parallel_rows(self, n_rows, warm_up):
        """The stream cut into ``n_rows`` consecutive pieces to read side by side.

        Returns ``(warm, inputs, targets, lengths)``: ``inputs`` and ``targets``
        ``(n_rows, L)`` (the last piece may be shorter, padded with 0), ``lengths``
        ``(n_rows,)`` and ``warm`` ``(n_rows - 1, warm_up)``, the symbols just before
        pieces 1, 2, ..., to read (not score) so that each piece starts with context.
        Needs ``len(self) >= n_rows * warm_up``.
        """
        n = len(self)
        if n < n_rows * warm_up:
            raise ValueError(f"A stream of {n} symbols is too short for {n_rows} rows")
        length = -(-n // n_rows)
        starts = np.arange(n_rows) * length
        lengths = np.minimum(n - starts, length)
        pad = n_rows * length - n
        inputs = torch.nn.functional.pad(self.symbols[:-1], (0, pad)).view(n_rows, -1)
        targets = torch.nn.functional.pad(self.symbols[1:], (0, pad)).view(n_rows, -1)
        warm = torch.stack([self.symbols[s - warm_up : s] for s in starts[1:]])
        return warm, inputs, targets, torch.from_numpy(lengths)


# ---------------------------------------------------------------------- corpora

# Characters read from a file or cut from a long document at a time
_READ_CHUNK = 1 << 20
# Symbols a streamed corpus is read in per block: the block is cut into the parallel
# rows of truncated backpropagation, so a row is block / batch_size symbols long
STREAM_BLOCK = 1 << 21


class Corpus:
    """Documents read as they are needed, never all at once.

    ``documents`` is re-iterable (each ``iter`` starts again) and yields strings or
    paths of UTF-8 text files (``os.PathLike``), each one document. Memory is that
    of one chunk of a million characters, whatever the documents' sizes.
    """

    def __init__(self, documents):
        self.documents = documents

    def pieces(self):
        """The stream's text in chunks, ``None`` for each boundary mark: one before,
        between and after the documents (as :meth:`TextStream.from_documents`)."""
        yield None
        for i, doc in enumerate(self.documents):
            yield from document_chunks(doc, i)
            yield None

    def scan(self, keep_tail):
        """One pass: ``(characters seen, number of symbols, tail)``, where ``tail``
        holds the last pieces of the stream, at least ``keep_tail`` symbols of them
        (or all)."""
        seen, n_symbols = set(), 0
        tail, tail_size = deque(), 0
        for piece in self.pieces():
            size = 1 if piece is None else len(piece)
            if piece is not None:
                seen.update(piece)
            n_symbols += size
            tail.append(piece)
            tail_size += size
            while tail_size - _piece_size(tail[0]) >= keep_tail:
                tail_size -= _piece_size(tail.popleft())
        return seen, n_symbols, list(tail)


def _piece_size(piece):
    return 1 if piece is None else len(piece)


def document_chunks(doc, i):
    """The text of document ``i`` of a corpus (a string, or the path of a UTF-8 text
    file) in chunks of at most :data:`_READ_CHUNK` characters."""
    if isinstance(doc, os.PathLike):
        return _file_chunks(doc)
    if isinstance(doc, str):
        return (doc[s : s + _READ_CHUNK] for s in range(0, len(doc), _READ_CHUNK))
    raise TypeError(
        f"Document {i} of X is a {type(doc).__name__}: a corpus holds strings "
        "(documents) and paths of text files (pathlib.Path)"
    )


def _file_chunks(path):
    """The text of a UTF-8 file in chunks of :data:`_READ_CHUNK` characters."""
    with open(path, encoding="utf-8") as file:
        try:
            while chunk := file.read(_READ_CHUNK):
                yield chunk
        except UnicodeDecodeError as exc:
            if hasattr(exc, "add_note"):
                exc.add_note(f"while reading {os.fspath(path)!r} as UTF-8 text")
            raise


def encode_pieces(pieces, classes):
    """The symbols of stream ``pieces`` (text, ``None`` for a boundary mark)."""
    mark = np.array([BOUNDARY], dtype=np.int64)
    parts = [mark if p is None else encode_characters(p, classes) for p in pieces]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


class CorpusStream:
    """A :class:`TextStream` read from a :class:`Corpus` block by block, for text
    larger than memory: ``len`` (the symbols predicted) is known from one pass, and
    an epoch reads the corpus again, :data:`STREAM_BLOCK` symbols at a time.

    Each block is cut into parallel rows as :meth:`TextStream.windows` cuts a whole
    text, and the state carries from window to window within a block; the rows of
    the next block start afresh (their text does not continue a row's). A text of
    one block is read exactly as a :class:`TextStream` of it.
    """

    def __init__(self, corpus, classes, n_symbols, tail, block=None):
        self.corpus = corpus
        self.classes = classes
        self.n_symbols = n_symbols  # of the whole corpus
        self.limit = n_symbols  # the symbols read: all but a held-out tail
        self.tail = tail
        self.block = STREAM_BLOCK if block is None else block

    def __len__(self):
        return self.limit - 1

    def split(self, n_tail):
        """``(head, tail)`` as :meth:`TextStream.split`; the tail (a
        :class:`TextStream`, in memory) comes from what the pass kept, so
        ``n_tail`` may not exceed what it was asked to keep."""
        symbols = encode_pieces(self.tail, self.classes)
        if len(symbols) < n_tail + 1:
            raise ValueError(
                f"a held-out tail of {n_tail} symbols, but only {len(symbols) - 1} "
                "were kept"
            )
        head = CorpusStream(
            self.corpus, self.classes, self.n_symbols, [], block=self.block
        )
        head.limit = self.limit - n_tail
        return head, TextStream(torch.from_numpy(symbols[-(n_tail + 1) :]))

    def blocks(self):
        """The stream's first ``limit`` symbols as arrays of ``block + 1`` symbols
        (the last may be shorter), each block's last symbol the next one's first."""
        pending, size, remaining = [], 0, self.limit
        for piece in self.corpus.pieces():
            if not remaining:
                break
            symbols = encode_pieces([piece], self.classes)[:remaining]
            remaining -= len(symbols)
            pending.append(symbols)
            size += len(symbols)
            while size >= self.block + 1:
                joined = np.concatenate(pending)
                yield joined[: self.block + 1]
                pending, size = [joined[self.block :]], len(joined) - self.block
        if size > 1:
            yield np.concatenate(pending)

    def _block_lengths(self):
        """The number of symbols each block predicts."""
        n = self.limit - 1
        return [self.block] * (n // self.block) + (
            [n % self.block] if n % self.block else []
        )

    def windows(self, batch_size, seq_len):
        """One epoch: the windows of :meth:`TextStream.windows` of every block, the
        first of each block starting from the initial state."""
        n_batches = 0
        for length in self._block_lengths():
            n = max(1, min(batch_size, length // seq_len))
            n_batches += len(range(0, length // n, seq_len))

        def batches(rank=0, world=1):
            for symbols in self.blocks():
                epoch = TextStream(torch.from_numpy(symbols)).windows(
                    batch_size, seq_len
                )
                for i, batch in enumerate(epoch):
                    batch = batch if i else batch._replace(continues=False)
                    yield batch_rows(batch, rank, world)

        return Epoch(
            n_batches,
            batches(),
            lambda rank, world: Epoch(n_batches, batches(rank, world)),
        )
