"""The fitted input readers: ``X`` as a network reads it, learned once in ``fit`` and
replayed at every prediction.

A reader learns the input family (symbols, or numeric channels), the vocabulary
(with the rows of pretrained vectors), the channel standardisation and, for the
tagger, the vocabularies of characters and token features. It holds plain data only
(the tokenizer, a function, is handed to each read), so a model file stores it as
JSON, and it is all that export and serving need to replay the preprocessing without
the estimator. Each estimator owns one as ``reader_``. Readers need numpy only (no
torch): they encode into a :class:`~sklearn_rnn._input.Stacked`, which
:mod:`sklearn_rnn._data` turns into tensors for the network, and the torch-free
server (:mod:`sklearn_rnn.onnx`) feeds to onnxruntime as it is.
"""

import itertools
import operator
import re

import numpy as np

from . import _input
from ._registry import register

_WHITE = re.compile(r"\s")
# series_scale="auto" gives the network each series' scale when, for some channel,
# the 90th percentile of the series' standard deviations is more than this many
# times the 10th: a spread that standardising the channel as a whole would squash
# (PLAID's currents: over 100,000 times; Japanese Vowels: at most 4.3; the
# z-normalised UCR series: 1)
AUTO_SCALE_SPREAD = 10.0


@register
class SequenceReader:
    """Raw strings, token lists or numeric sequences, encoded as a
    :class:`~sklearn_rnn._input.Stacked` of symbols or of standardised channels.

    Parameters
    ----------
    owner : str
        The estimator's class name, for messages.
    lowercase, min_frequency, max_vocabulary_size, standardize, layout
        As the estimators' parameters of those names.
    series_normalize, series_differences : bool
        As the estimators' parameters of those names (numeric input).
    series_scale : bool or "auto"
        As the estimators' parameter (numeric input); ``"auto"`` becomes ``True`` or
        ``False`` in ``fit_read``, which also sets ``scale_floor``.
    analyzer : {"word", "char", "auto"}
        How raw strings split: by the tokenizer (words and punctuation by default),
        or into characters; ``"auto"`` picks characters when no string of the
        training data holds white space (single words, codes, dates), else words.
    """

    # files and pickles written before the setting existed read series as they are
    series_normalize = False
    series_differences = False
    series_scale = False
    scale_floor = None
    # and pickles of earlier versions never counted words
    word_counts = None

    def __init__(
        self,
        *,
        owner,
        lowercase=True,
        min_frequency=1,
        max_vocabulary_size=None,
        standardize=True,
        series_normalize=False,
        series_differences=False,
        series_scale=False,
        layout=None,
        analyzer="word",
    ):
        self.owner = owner
        self.lowercase = lowercase
        self.min_frequency = min_frequency
        self.max_vocabulary_size = max_vocabulary_size
        self.standardize = standardize
        self.series_normalize = series_normalize
        self.series_differences = series_differences
        self.series_scale = series_scale
        self.scale_floor = None  # per channel, once fitted with series_scale
        self.layout = layout
        self.analyzer = analyzer
        self.family = None  # "symbols" or "numeric", once fitted
        self.vocabulary = None
        self.n_channels = None
        self.mean = self.scale = None
        self.pretrained_rows = None  # until the network holds them
        self.word_counts = None  # until the network takes its word dropout rates

    # ------------------------------------------------------------------ reading

    def fit_read(self, X, kind, *, tokenizer=None, pretrained=None):
        """Learn how to read ``X`` (as :func:`~sklearn_rnn._data.sniff_kind` found
        it) and return it encoded. ``pretrained``: word vectors whose words join the
        vocabulary (see ``pretrained_embeddings``)."""
        family, sequences = self._sequences(X, kind, tokenizer, fit=True)
        self.family = family
        if family == "numeric" and pretrained is not None:
            raise ValueError(
                "pretrained_embeddings needs token input, but X holds numeric sequences"
            )
        return self._encode(sequences, fit=True, pretrained=pretrained)

    def read(self, X, kind, *, tokenizer=None, **options):
        """``X`` encoded as ``fit_read`` learned to (``options`` go to the reader's
        ``_encode``)."""
        _, sequences = self._sequences(X, kind, tokenizer, fit=False)
        return self._encode(sequences, fit=False, **options)

    def _sequences(self, X, kind, tokenizer, *, fit, lowercase=None):
        """Token lists or numeric arrays of ``X``, of the family fit saw."""
        lowercase = self.lowercase if lowercase is None else lowercase
        family = "symbols" if kind in ("text", "tokens") else "numeric"
        if not fit and family != self.family:
            fitted = (
                "token sequences or text"
                if self.family == "symbols"
                else "numeric sequences"
            )
            given = (
                "text or token lists" if family == "symbols" else "numeric sequences"
            )
            raise ValueError(
                f"{self.owner} was fitted on {fitted}, but X holds {given}"
            )
        if kind == "text":
            if fit and self.analyzer == "auto":
                spaced = any(isinstance(x, str) and _WHITE.search(x) for x in X)
                self.analyzer = "word" if spaced else "char"
            if self.analyzer == "char":
                tokenizer = list
            return family, _input.read_text(X, tokenizer, lowercase)
        if kind == "tokens":
            return family, _input.read_tokens(X, lowercase)
        arrays = _input.read_numeric(X, kind, self.layout)
        n_channels = arrays[0].shape[1]
        if not fit and n_channels != self.n_channels:
            raise ValueError(
                f"X has {n_channels} channels, but {self.owner} was fitted with "
                f"{self.n_channels} channels"
            )
        return family, arrays

    def _encode(self, sequences, *, fit, pretrained=None):
        if self.family == "symbols":
            if fit:
                self.vocabulary = self._fit_vocabulary(sequences)
                self._add_pretrained(pretrained)
            ids = _input.encode_symbols(sequences, self.vocabulary)
            return _input.Stacked.of_steps(ids, [len(seq) for seq in sequences])
        if fit:
            self.n_channels = sequences[0].shape[1]
        stacked = _input.Stacked.of_arrays(sequences)  # checks every value
        scales = _series_scales(stacked) if self.series_scale else None
        if fit:
            self._fit_series_scale(scales)
        if not self.series_scale:  # "auto" chose none
            scales = None
        if self.series_differences:
            stacked = _with_differences(stacked)
        if self.series_normalize:
            stacked = _with_series_shape(stacked)
        if scales is not None:
            stacked = _with_series_scale(stacked, scales, self.scale_floor)
        steps = stacked.values[1:]
        if fit:
            self.mean = self.scale = None
            if self.standardize:
                values = steps.astype(np.float64)
                std = values.std(axis=0)
                self.mean = values.mean(axis=0).astype(np.float32)
                self.scale = np.where(std > 0, std, 1.0).astype(np.float32)
                if scales is not None:  # the log scales, last: a spread of less
                    # than a factor of e is not blown up to one of unit variance
                    tail = self.scale[-self.n_channels :]
                    np.maximum(tail, 1.0, out=tail)
        if self.mean is not None:
            steps -= self.mean
            steps /= self.scale
        return stacked

    def _fit_series_scale(self, scales):
        """Decide ``series_scale`` (``"auto"``: whether some channel's series
        differ in scale by more than ``AUTO_SCALE_SPREAD`` times, between the 10th
        and 90th percentiles of their standard deviations) and its ``scale_floor``:
        a hundredth of each channel's median standard deviation, so that flat
        series get a finite logarithm. ``scales``: ``(N, C)``, each training
        series' standard deviations (``None`` when ``series_scale`` is off)."""
        self.scale_floor = None
        if scales is None:
            return
        low, median, high = np.percentile(scales, [10, 50, 90], axis=0)
        if self.series_scale == "auto":
            spread = high > AUTO_SCALE_SPREAD * low
            self.series_scale = bool(np.any(spread))
            if not self.series_scale:
                return
        floor = np.where(median > 0, median / 100, 1.0)
        self.scale_floor = floor.astype(np.float32)

    def _fit_vocabulary(self, sequences):
        """The vocabulary of the training ``sequences``; their words' counts stay in
        ``word_counts`` until the network takes its word dropout rates."""
        self.word_counts = _input.count_symbols(sequences)
        vocabulary = _input.build_vocabulary(
            sequences,
            min_frequency=self.min_frequency,
            max_size=self.max_vocabulary_size,
            counts=self.word_counts,
        )
        _input.check_vocabulary(vocabulary, sequences, self.min_frequency)
        return vocabulary

    def _add_pretrained(self, given):
        """Add the words of pretrained vectors to the vocabulary; keep the embedding
        rows they fill, their vectors and how many rows the vocabulary gained (words
        only the vectors hold, last) for the network to take."""
        self.pretrained_rows = None
        if given is None:
            return
        n_fitted = len(self.vocabulary)
        index, vectors = _input.add_pretrained_words(
            given, self.vocabulary, lowercase=self.lowercase
        )
        self.pretrained_rows = (index, vectors, len(self.vocabulary) - n_fitted)

    # ------------------------------------------------------------------ the network

    def network_kwargs(self):
        """What the network's input layer needs to know of the input."""
        if self.family == "numeric":
            copies = (2 if self.series_differences else 1) * (
                2 if self.series_normalize else 1
            ) + (1 if self.series_scale else 0)
            return {"n_channels": copies * self.n_channels}
        kwargs = {"n_symbols": len(self.vocabulary) + _input.N_SPECIAL}
        if self.pretrained_rows is not None:
            index, vectors, n_fixed = self.pretrained_rows
            # rows no training sentence reaches are kept out of the optimizer
            kwargs.update(embedding_dim=vectors.shape[1], n_fixed_symbols=n_fixed)
        return kwargs

    def take_pretrained_rows(self):
        """The pretrained rows ``(index, vectors)`` (arrays ``(n,)`` int64 and
        ``(n, E)`` float32), or ``None``; the reader forgets them (the network holds
        them from here on)."""
        rows, self.pretrained_rows = self.pretrained_rows, None
        if rows is None:
            return None
        return rows[0], rows[1]

    def take_word_dropout_rates(self, word_dropout):
        """Per-word probabilities of the unknown-word replacement while training,
        ``word_dropout / (word_dropout + count)`` for a word seen ``count`` times in
        ``fit`` (Kiperwasser and Goldberg 2016), as an array ``(V,)``, or ``None`` once
        taken (the counts are forgotten: the network holds the rates)."""
        counts, self.word_counts = self.word_counts, None
        if counts is None or self.family != "symbols":
            return None
        rates = np.zeros(len(self.vocabulary) + _input.N_SPECIAL, dtype=np.float32)
        index = np.fromiter(self.vocabulary.values(), dtype=np.int64)
        seen = np.fromiter(
            (counts.get(word, 0) for word in self.vocabulary), dtype=np.float32
        )
        alpha = word_dropout
        rates[index] = alpha / np.maximum(alpha + seen, 1e-12) if alpha > 0 else 0.0
        return rates

    def reads_like(self, other):
        """Whether ``other`` turns the same ``X`` into the same tensors."""
        return type(self) is type(other) and _plain(self) == _plain(other)


@register
class TokenReader(SequenceReader):
    """The tagger's reader: token lists or numeric sequences, and raw text when
    ``reads_text`` is set (the classifier's and the regressor's with
    ``char_features``).

    Words are looked up lowercased when ``lowercase`` is set, while the characters
    of each token keep their case for the character features (``char_features``). A
    token may be a tuple ``(word, feature, ...)`` of strings; each feature gets a
    vocabulary of its own.
    """

    # files written before the setting existed hold a tagger's reader
    reads_text = False

    def __init__(self, *, char_features=True, reads_text=False, **settings):
        super().__init__(**settings)
        self.char_features = char_features
        self.reads_text = reads_text
        self.char_vocabulary = None
        self.feature_vocabularies = []

    def _sequences(self, X, kind, tokenizer, *, fit, lowercase=None):
        if kind == "text" and not self.reads_text:
            raise TypeError(
                f"{self.owner} tags tokens: X must be a list of token lists (or of "
                "numeric arrays), with one label per token in y, but it holds raw "
                "strings. Tokenise them first, e.g. [text.split() for text in X]"
            )
        # the case is kept for the character features; _encode lowercases the words
        family, sequences = super()._sequences(
            X, kind, tokenizer, fit=fit, lowercase=False
        )
        if family == "symbols":
            n_fields = _check_fields(sequences)
            if not fit and n_fields != 1 + len(self.feature_vocabularies):
                raise ValueError(
                    f"{self.owner} was fitted on tokens "
                    f"{_describe_fields(1 + len(self.feature_vocabularies))}, but X "
                    f"holds tokens {_describe_fields(n_fields)}"
                )
        return family, sequences

    def _encode(self, sequences, *, fit, pretrained=None, spelled=False):
        """With ``spelled``, ``(stacked, spellings)``: each token's characters are
        not in ``stacked`` but its row in ``spellings`` ``(S, C)``, the distinct
        spellings, plus one (0 is padding), in one last column."""
        if self.family != "symbols":
            return super()._encode(sequences, fit=fit)
        # every token of every sequence in one flat column per field (the word,
        # then the features), each wrapped as one sequence for the encoders: no
        # list per sequence to build, nor for the garbage collector to visit
        lengths = [len(seq) for seq in sequences]
        flat = list(itertools.chain.from_iterable(sequences))
        n_fields = len(flat[0]) if isinstance(flat[0], tuple) else 1
        fields = [flat]
        if n_fields > 1:  # not zip(*flat), which holds an iterator per token
            fields = [list(map(operator.itemgetter(j), flat)) for j in range(n_fields)]
        tokens = [fields[0]]
        # a text without a word reads as None (the unknown word, spelled as nothing)
        blank = self.reads_text and None in fields[0]
        if blank:
            tokens = [["" if token is None else token for token in fields[0]]]
        strings = isinstance(flat[0][0] if n_fields > 1 else tokens[0][0], str)
        words = [fields[0]]
        if strings and self.lowercase:
            lower = (lambda w: w and w.lower()) if blank else str.lower
            words = [list(map(lower, fields[0]))]
        if fit:
            self.vocabulary = self._fit_vocabulary(words)
            self._add_pretrained(pretrained)
            self.char_vocabulary = (
                _input.build_char_vocabulary(tokens)
                if self.char_features and strings and self.analyzer != "char"
                else None
            )
            self.feature_vocabularies = [
                _input.build_vocabulary([field]) for field in fields[1:]
            ]
        elif self.char_vocabulary is not None and not strings:
            raise TypeError(
                f"{self.owner} was fitted on string tokens, but X holds "
                f"{type(fields[0][0]).__name__} symbols"
            )
        if n_fields == 1 and self.char_vocabulary is None:
            steps = _input.encode_symbols(words, self.vocabulary)
            return _input.Stacked.of_steps(steps, lengths)
        vocabularies = [self.vocabulary, *self.feature_vocabularies]
        chars = None
        if self.char_vocabulary is not None:
            chars = _input.char_table(tokens, self.char_vocabulary)
        head = len(vocabularies)
        width = head + (0 if chars is None else 1 if spelled else chars[0].shape[1])
        # one buffer, the padding row first (see Stacked)
        values = np.zeros((len(flat) + 1, width), dtype=np.int64)
        for j, (field, vocabulary) in enumerate(
            zip([words[0], *fields[1:]], vocabularies, strict=True)
        ):
            values[1:, j] = _input.encode_symbols([field], vocabulary)
        stacked = _input.Stacked(values, np.asarray(lengths, dtype=np.int64))
        if chars is None:
            return stacked
        table, index = chars
        if spelled:
            values[1:, head] = index + 1
            return stacked, table
        np.take(table, index, axis=0, out=values[1:, head:])
        return stacked

    def network_kwargs(self):
        kwargs = super().network_kwargs()
        if self.family == "symbols":
            chars = self.char_vocabulary
            kwargs.update(
                n_chars=None if chars is None else len(chars) + _input.N_SPECIAL,
                feature_sizes=[
                    len(vocabulary) + _input.N_SPECIAL
                    for vocabulary in self.feature_vocabularies
                ],
            )
        return kwargs


def reader_state(reader):
    """A fitted reader as plain JSON data ``{"class": ..., "state": ...}`` (an
    exported model file's metadata); :func:`reader_from_state` reads it back. Its
    vocabularies must map strings (JSON's keys)."""
    state = _plain(reader)
    vocabularies = [state.get("vocabulary"), state.get("char_vocabulary")]
    for vocabulary in vocabularies + list(state.get("feature_vocabularies") or []):
        bad = next((t for t in vocabulary or () if not isinstance(t, str)), None)
        if bad is not None:
            raise ValueError(
                f"{reader.owner} was fitted on tokens that are not strings (such as "
                f"{bad!r}), which a model file's text metadata cannot hold: fit it "
                "on string tokens"
            )
    return {"class": type(reader).__name__, "state": state}


def reader_from_state(data):
    """The reader :func:`reader_state` described."""
    readers = {cls.__name__: cls for cls in (SequenceReader, TokenReader)}
    reader = object.__new__(readers[data["class"]])
    vars(reader).update(data["state"], pretrained_rows=None, word_counts=None)
    for name in ("mean", "scale", "scale_floor"):
        if getattr(reader, name) is not None:
            setattr(reader, name, np.asarray(getattr(reader, name), np.float32))
    return reader


def _with_differences(stacked):
    """``stacked`` numeric steps ``(T, C)`` with, beside each channel, its change
    from the step before (0 at each sequence's first step)."""
    steps, lengths = stacked.values[1:], stacked.lengths
    change = np.zeros_like(steps)
    np.subtract(steps[1:], steps[:-1], out=change[1:])
    change[_input.offsets_of(lengths)] = 0.0
    return _input.Stacked.of_steps(np.concatenate([steps, change], axis=1), lengths)


def _centred(stacked):
    """Each step of ``stacked`` minus its sequence's mean (float64), and ``(N, C)``:
    each channel's standard deviation over each sequence's steps. One pass over all
    steps, no loop over sequences (each holds at least one step)."""
    steps, lengths = stacked.values[1:], stacked.lengths
    starts = _input.offsets_of(lengths)
    wide = steps.astype(np.float64)
    mean = np.add.reduceat(wide, starts, axis=0) / lengths[:, None]
    centred = wide - np.repeat(mean, lengths, axis=0)
    std = np.sqrt(np.add.reduceat(centred**2, starts, axis=0) / lengths[:, None])
    return centred, std


def _with_series_shape(stacked):
    """``stacked`` numeric steps ``(T, C)`` with, beside each channel, its copy
    z-normalised over the steps of its own sequence: its shape without its level and
    scale (a constant channel gives zeros)."""
    steps, lengths = stacked.values[1:], stacked.lengths
    centred, std = _centred(stacked)
    shape = centred / np.repeat(np.where(std > 0, std, 1.0), lengths, axis=0)
    both = np.concatenate([steps, shape.astype(np.float32)], axis=1)
    return _input.Stacked.of_steps(both, lengths)


def _series_scales(stacked):
    """``(N, C)``: each channel's standard deviation over each sequence's steps."""
    return _centred(stacked)[1]


def _with_series_scale(stacked, scales, floor):
    """``stacked`` numeric steps with, after all its channels, the logarithm of each
    input channel's standard deviation over its sequence (``scales``, ``(N, C)``;
    ``floor`` added first), the same at every step of the sequence."""
    steps, lengths = stacked.values[1:], stacked.lengths
    level = np.log(scales + floor).astype(np.float32)
    both = np.concatenate([steps, np.repeat(level, lengths, axis=0)], axis=1)
    return _input.Stacked.of_steps(both, lengths)


def _plain(reader):
    """A reader's settings and fitted state, comparable with ``==``."""
    state = dict(vars(reader))
    for name in ("mean", "scale", "scale_floor"):
        if state.get(name) is not None:
            state[name] = state[name].tolist()
    state.pop("pretrained_rows", None)
    state.pop("word_counts", None)
    return state


def _check_fields(sequences):
    """The number of fields of every token: 1 for plain tokens, ``1 + F`` for tuples
    ``(word, feature, ...)`` of strings, which must agree across ``X``."""
    first = sequences[0][0]
    if isinstance(first, str):
        return 1  # read_tokens made every token a string, like the first
    n_fields = len(first) if isinstance(first, tuple) else 1
    for i, seq in enumerate(sequences):
        if n_fields > 1 and _plain_tuples(seq, n_fields):
            continue  # the usual case, checked at C speed; the loop names what fails
        for token in seq:
            if n_fields == 1 and not isinstance(token, tuple):
                continue
            if not isinstance(token, tuple) or len(token) != n_fields:
                raise ValueError(
                    f"Sample {i} of X holds the token {token!r}, but the first token "
                    f"of X is {first!r}: every token must be "
                    f"{_describe_fields(n_fields)}"
                )
            if not all(isinstance(field, str) for field in token):
                raise TypeError(
                    f"Sample {i} of X holds the token {token!r}: the fields of a "
                    "token tuple (word, feature, ...) must be strings"
                )
    if n_fields < 2 and isinstance(first, tuple):
        raise ValueError(
            f"Sample 0 of X holds the token {first!r}: a token tuple needs the word "
            "and at least one feature, (word, feature, ...)"
        )
    return n_fields


def _plain_tuples(seq, n_fields):
    """Whether every token of ``seq`` is a tuple of ``n_fields`` strings."""
    return all(type(t) is tuple and len(t) == n_fields for t in seq) and all(
        type(field) is str for t in seq for field in t
    )


def _describe_fields(n_fields):
    if n_fields == 1:
        return "given as plain words"
    n_features = n_fields - 1
    features = "feature" if n_features == 1 else "features"
    return (
        f"given as tuples of {n_fields} fields (the word and {n_features} {features})"
    )
