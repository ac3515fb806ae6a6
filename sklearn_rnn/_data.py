"""From encoded input to tensors and batches, and back.

Input is read and encoded by :mod:`sklearn_rnn._input` (numpy, no torch) into one
stack of all steps of all sequences; here it becomes a :class:`Ragged` tensor from
which a batch is cut by index arithmetic (no per-sample Python loop), padded only to
the longest sequence of that batch, and sorted by decreasing length so the encoder can
pack it. Batches are drawn from pools of similar lengths, so padding costs little.
"""

import os
from collections import deque
from typing import NamedTuple

import numpy as np
import torch

from ._device import to_device

# Reading and encoding input lives in _input (torch-free); its names stay reachable
# here, where the rest of the package and older code look for them.
from ._input import (  # noqa: F401
    BOUNDARY,
    LAYOUTS,
    MAX_WORD_CHARS,
    N_SPECIAL,
    N_STREAM_SPECIAL,
    PAD,
    TOKEN_PATTERN,
    UNK,
    add_pretrained_words,
    as_samples,
    as_samples_or_none,
    build_char_vocabulary,
    build_vocabulary,
    check_finite,
    check_vocabulary,
    decode_characters,
    default_tokenizer,
    encode_characters,
    encode_chars,
    encode_symbols,
    offsets_of,
    padded_positions,
    pattern_tokenizer,
    read_numeric,
    read_text,
    read_tokens,
    sniff_kind,
)


class Ragged:
    """Sequences stacked into one flat tensor: ``values`` ``(total_steps, ...)`` plus
    ``offsets`` and ``lengths`` (numpy int64, one per sequence).

    Row 0 of the stored tensor is padding, so a padded batch is a single gather.
    """

    def __init__(self, values, lengths, *, padded=False):
        """``values`` holds the steps, or with ``padded`` a zero row and then them."""
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.offsets = offsets_of(self.lengths)
        if not padded:
            pad = torch.zeros((1,) + tuple(values.shape[1:]), dtype=values.dtype)
            values = torch.cat([pad, values])
        self._values = values

    @classmethod
    def from_stacked(cls, stacked):
        """A :class:`~sklearn_rnn._input.Stacked` as tensors (sharing its memory)."""
        return cls(torch.from_numpy(stacked.values), stacked.lengths, padded=True)

    def __len__(self):
        return len(self.lengths)

    @property
    def values(self):
        return self._values[1:]

    def padded(self, index):
        """``(len(index), longest, ...)`` with zeros past each length."""
        positions = padded_positions(self.offsets, self.lengths, index)
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
    ``order`` by a single process: a list of ``(batch, part, parts)``, to read rows
    ``part::parts`` of each batch.

    Each step gives the ``world`` processes neighbouring batches, so that none
    waits long for another's longer sequences; the steps come in the order in which
    their first batch comes in ``order``. The last step, when it has fewer batches
    than processes, shares its batches out by rows, so that every process takes as
    many steps and none reads a batch another reads too.
    """
    n = len(order)
    position = np.empty(n, dtype=np.int64)
    position[np.asarray(order, dtype=np.int64)] = np.arange(n)
    steps = [range(start, min(start + world, n)) for start in range(0, n, world)]
    steps.sort(key=lambda step: position[step[0]])
    shares = []
    for step in steps:
        readers = range(rank % len(step), world, len(step))  # of this rank's batch
        shares.append((step[rank % len(step)], rank // len(step), len(readers)))
    return shares


def rows_of(index, part, parts):
    """Rows ``part::parts`` of a batch's ``index``, or all of them when there are
    fewer rows than parts."""
    return index if len(index) < parts else index[part::parts]


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

        def share(rank, world):
            shares = side_by_side(order, rank, world)
            return Epoch(
                len(shares),
                (
                    self.batch(rows_of(index_batches[i], part, parts))
                    for i, part, parts in shares
                ),
            )

        return Epoch(len(order), (self.batch(index_batches[i]) for i in order), share)

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
