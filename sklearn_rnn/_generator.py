"""CharLMGenerator: learn text, then write it one character at a time."""

import math
import numbers
import os

import numpy as np
import torch
from sklearn.base import (
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    validate_parameter_constraints,
)
from sklearn.utils.validation import check_is_fitted

from . import _data, _inference, _persistence, _progress
from ._base import BaseRNN
from ._device import module_device, to_device
from ._docs import fill_doc
from ._parameters import TRAINING, constraints

# Characters a recurrent layer reads at a time when following long sequences: bounds
# the memory of reading (scoring, prompts) whatever their length.
_CHUNK = 512

# Held-out text is read in at most this many parallel pieces of at least this many
# characters, each after a warm-up on the characters before it.
_VALIDATION_ROWS = 32
_VALIDATION_MIN_ROW = 4096
_VALIDATION_WARM_UP = 512
# score() streams a document longer than this piece by piece, the state carried, so
# its memory does not grow with the document
_SCORE_PIECE = 1 << 16
# A streamed corpus holds out at most this many characters at its end for early
# stopping (they are kept in memory and read after every epoch)
_STREAM_VALIDATION_MAX = 1_000_000

_GENERATE_CONSTRAINTS = {
    "n_chars": [Interval(numbers.Integral, 0, None, closed="left")],
    "prompt": [str],
    "temperature": [Interval(numbers.Real, 0, None, closed="left")],
    "top_k": [Interval(numbers.Integral, 1, None, closed="left"), None],
    "top_p": [Interval(numbers.Real, 0, 1, closed="right"), None],
    "n_samples": [Interval(numbers.Integral, 1, None, closed="left"), None],
    "stop_at_end": ["boolean"],
    "random_state": ["random_state"],
}


def _read_documents(X, *, single_allowed):
    """``X`` as a list of strings; a single string is one document where allowed."""
    if isinstance(X, str):
        if single_allowed:
            return [X]
        raise TypeError(
            "X must be a list of strings (one prefix each), got a single str: pass "
            "[text] for one"
        )
    if isinstance(X, bytes) or not hasattr(X, "__iter__"):
        raise TypeError(
            "X must be a string or a list of strings, got " + type(X).__name__
        )
    documents = list(X)
    if not documents:
        raise ValueError(
            "X is empty: found 0 strings, while a minimum of 1 is required"
        )
    for i, doc in enumerate(documents):
        if not isinstance(doc, str):
            raise TypeError(
                f"Sample {i} of X is a {type(doc).__name__}: X must hold only strings"
            )
    return documents


def _corpus(X):
    """``X`` as a :class:`~sklearn_rnn._data.Corpus` to stream, or ``None`` for
    documents to read into memory. Streamed: a path, a list or tuple that holds a
    path, and an iterable without a length that ``iter`` reads afresh each time (a
    corpus object). Read into memory: a string, a sized collection of strings, and a
    one-pass iterator (a generator), which training could not read twice."""
    if isinstance(X, os.PathLike):
        return _data.Corpus([X])
    if isinstance(X, list | tuple):
        return _data.Corpus(X) if any(isinstance(d, os.PathLike) for d in X) else None
    if isinstance(X, str | bytes) or hasattr(X, "__len__"):
        return None
    if not hasattr(X, "__iter__") or iter(X) is X:
        return None
    return _data.Corpus(X)


def _prepend_start_state(module, state):
    """``state`` of N sequences preceded by the initial state of one more."""
    first = module.encoder.start_state(1)
    if isinstance(state, tuple):
        first = first or tuple(torch.zeros_like(s[:, :1]) for s in state)
        return tuple(
            torch.cat([f, s], dim=1) for f, s in zip(first, state, strict=True)
        )
    first = torch.zeros_like(state[:, :1]) if first is None else first
    return torch.cat([first, state], dim=1)


@fill_doc
class CharLMGenerator(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseRNN):
    """Character-level recurrent language model that writes text.

    Learns the distribution of the next character given the text so far, from one text
    or a list of documents, then writes new text one character at a time: each sampled
    character is fed back as the next input (the one-to-many shape). It also scores
    text (log-likelihood, perplexity, bits per character), predicts the next character
    after a prefix, and turns strings into the recurrent state they end in.

    Training is truncated backpropagation through time: the documents are joined into
    one stream, cut into ``batch_size`` parallel streams read ``seq_len`` characters
    at a time, and the state after one window carries into the next (it is reset at
    the start of each epoch).

    Parameters
    ----------
    {{cell}}

    {{hidden_size}}

    {{num_layers}}

    embedding_dim : int or None, default=64
        Size of the learned character embedding, or ``None`` to feed one-hot vectors.

    {{dropout}}

    seq_len : int, default=100
        Characters per window of truncated backpropagation through time: gradients
        flow back this far, the state carries on further.

    max_iter : int, default=30
        Maximum number of epochs (passes over the text).

    {{max_time}}

    batch_size : int, default=32
        Parallel streams the text is cut into. A text shorter than
        ``batch_size * seq_len`` characters is cut into fewer streams (one when it is
        shorter than ``2 * seq_len``), so that every stream is at least one window
        long.

    {{learning_rate_init}}

    {{learning_rate}}

    {{ema_decay}}

    {{precision}}

    {{optimizer}}

    {{weight_decay}}

    {{clip_grad_norm}}

    early_stopping : bool or "auto", default="auto"
        Hold out the last ``validation_fraction`` of the text (the end, not a random
        sample: neighbouring characters are not independent), stop when its
        log-likelihood has not improved for ``n_iter_no_change`` epochs and restore
        the weights of the best epoch. ``"auto"`` does so for texts of at least
        100,000 characters. Without it, training stops when the training loss has not
        improved by ``tol`` for ``n_iter_no_change`` epochs.

    validation_fraction : float, default=0.1
        Share of the text held out at its end for early stopping.

    {{n_iter_no_change}}

    {{tol}}

    {{callbacks}}

    {{warm_start}}

    {{verbose}}

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation and dropout. An int gives the same model on a
        given device; the global random state of numpy and torch is left as it was.
        (:meth:`generate` has its own ``random_state``.)

    {{device}}

    {{checkpoint_dir}}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,), dtype=object
        The characters seen in the first ``fit``, sorted: the vocabulary.
        :meth:`predict_proba` columns follow it.

    loss_curve_ : list of float
        Mean training cross-entropy of each epoch, in nats per character.

    validation_scores_ : list of float or None
        Log-likelihood per character of the held-out text after each epoch; ``None``
        without early stopping.

    best_validation_score_ : float or None
        Best of ``validation_scores_``, whose weights the model keeps.

    best_loss_ : float or None
        Lowest training loss; ``None`` with early stopping.

    n_iter_ : int
        Epochs trained, over all calls of ``fit`` and ``partial_fit`` since the last
        fresh start.

    {{history_attribute}}

    module_ : torch.nn.Module
        The trained :class:`~sklearn_rnn.nn.CharLanguageModel` (pure torch).

    See Also
    --------
    RNNClassifier : One label per sequence.

    Notes
    -----
    **Documents and their ends.** A string is one document; a list holds several. A
    boundary mark goes before, between and after them, so the model learns how
    documents begin and end: :meth:`generate` starts at a document's beginning (then
    reads the prompt) and, with ``stop_at_end``, stops where the model ends the
    document. The mark counts as one character in the scores.

    **Unknown characters.** Characters not in ``classes_`` never raise. In what is
    read (the text to score, prefixes, prompts) they share one unknown symbol, whose
    input weights ``fit`` never trains. As targets, in :meth:`score`, they are scored
    with the probability the model gives that unknown symbol, which is tiny: unseen
    characters lower the score, as they should. :meth:`generate` never writes the
    unknown symbol, and :meth:`predict_proba` covers ``classes_`` only.

    Examples
    --------
    >>> from sklearn_rnn import CharLMGenerator
    >>> gen = CharLMGenerator(
    ...     cell="rnn", hidden_size=16, embedding_dim=None, dropout=0.0,
    ...     max_iter=100, learning_rate_init=0.01, random_state=0,
    ... ).fit("hello")
    >>> gen.classes_.tolist()
    ['e', 'h', 'l', 'o']
    >>> gen.generate(prompt="h", temperature=0)
    'ello'
    >>> gen.predict(["hel", "hell"]).tolist()
    ['l', 'o']
    >>> round(gen.perplexity("hello"), 1)  # about one choice per character: learned
    1.0
    """

    _network = "CharLanguageModel"
    # early_stopping="auto" holds out the end of texts of at least this many characters
    _auto_early_stopping_min = 100_000
    _defaults = {
        "cell": "lstm",
        "hidden_size": 256,
        "num_layers": 2,
        "embedding_dim": 64,
        "dropout": 0.1,
        "seq_len": 100,
        **TRAINING,
        "max_iter": 30,
        "learning_rate_init": 5e-3,
        "learning_rate": "cosine",
        "n_iter_no_change": 3,
    }
    _parameter_constraints: dict = constraints(
        _defaults, seq_len=[Interval(numbers.Integral, 1, None, closed="left")]
    )

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the text ``X``.

        Parameters
        ----------
        X : str, list of str, path, list of paths or iterable of str
            One text, or a list of documents (each gets its own begin and end). A
            text larger than memory is streamed: a path of a UTF-8 text file
            (``pathlib.Path``), a list of paths (and strings), or an object whose
            every ``iter()`` yields the documents afresh (not a generator, which
            is read once, into memory). One pass finds the characters and the
            size; each epoch then reads the corpus again, two million characters
            at a time, and early stopping holds out at most its last million.
        y : None
            Ignored.

        Returns
        -------
        self : CharLMGenerator
        """
        return self._fit(X, y)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train for one epoch on ``X``, continuing from the current weights.

        The first call learns the vocabulary; characters that later calls bring and it
        lacks are read as the unknown symbol.

        Parameters
        ----------
        X : str, list of str, path, list of paths or iterable of str
            As in :meth:`fit`.
        y : None
            Ignored.

        Returns
        -------
        self : CharLMGenerator
        """
        return self._fit(X, y, incremental=True)

    # ------------------------------------------------------------------ the recipe

    def _dataset(self, X, y, sample_weight, *, fit, classes=None):
        """The documents of ``X`` joined into one stream of character symbols (read
        as it is needed, for a corpus to stream)."""
        corpus = _corpus(X)
        if corpus is not None:  # one pass finds the characters, the size, the end
            seen, n_symbols, tail = corpus.scan(keep_tail=_STREAM_VALIDATION_MAX + 1)
            documents = ["".join(seen)]
        else:
            documents = _read_documents(X, single_allowed=True)
        if not any(documents):
            raise ValueError("X holds no characters: there is no text to learn from")
        if fit:
            self.reader_ = CharacterReader().fit(documents)
        if corpus is not None:
            return _data.CorpusStream(corpus, self.reader_.classes, n_symbols, tail)
        return self.reader_.stream(documents)

    def _split_validation(self, stream):
        """The end of the text, not a random sample: neighbouring characters are
        not independent."""
        n = len(stream)
        n_valid = max(1, int(round(self.validation_fraction * n)))
        if isinstance(stream, _data.CorpusStream):
            n_valid = min(n_valid, _STREAM_VALIDATION_MAX)
        if n - n_valid < 1:
            raise ValueError(
                f"early_stopping with validation_fraction={self.validation_fraction} "
                f"leaves no text to train on: X holds {n} characters (the end of "
                "each document counts as one)"
            )
        return stream.split(n_valid)

    def _epoch_batches(self, stream):
        """Windows of ``seq_len`` characters of ``batch_size`` parallel streams; each
        window continues the one before, whose state the loop carries over (from
        the initial state at the start of each epoch)."""
        return stream.windows(self.batch_size, self.seq_len)

    def _evaluate(self, module, stream):
        """Cross-entropy and log-likelihood per character of the held-out text.

        A short text is read as one stream from the initial state, exactly. A long one
        (at least 4 * 4,096 characters) is cut into up to 32 pieces read side by side,
        each after reading the 512 characters before it: several times faster on a
        CPU (the pieces share each step's matrix products), and within a small
        fraction of ``tol`` of the exact figure (:meth:`score` stays exact).
        """
        device = module_device(module)
        n_rows = min(_VALIDATION_ROWS, len(stream) // _VALIDATION_MIN_ROW)
        if n_rows < 4:
            inputs, targets = stream.symbols[None, :-1], stream.symbols[None, 1:]
            lengths, state = torch.tensor([len(stream)]), None
        else:
            warm, inputs, targets, lengths = stream.parallel_rows(
                n_rows, _VALIDATION_WARM_UP
            )
            (warm,) = to_device((warm,), device)
            state, _ = module.read(
                warm,
                torch.full((n_rows - 1,), _VALIDATION_WARM_UP),
                chunk_size=_CHUNK,
            )
            state = _prepend_start_state(module, state)
        inputs, targets = to_device((inputs, targets), device)
        _, log_likelihood = module.read(inputs, lengths, targets, _CHUNK, state=state)
        score = float(log_likelihood.sum()) / len(stream)
        return -score, score

    def _network_kwargs(self, data):
        return {}

    # ------------------------------------------------------------------ reading text

    def _read(self, X, function):
        """``function(module, batch)`` over the strings of ``X``, each read from a
        document's beginning (``batch.inputs``: the mark, then its characters), one
        result row per string in the order of ``X``."""
        check_is_fitted(self, "module_")
        documents = _read_documents(X, single_allowed=False)
        data = _data.SequenceDataset(self.reader_.documents(documents, end=False))
        return _inference.per_sequence(self.module_, data, function, self.batch_size)

    def _log_likelihoods(self, X):
        """The summed log-likelihood of each string's characters and end, and how
        many characters (ends included) they are. A long string is read exactly,
        piece by piece with the state carried, so its memory stays bounded; a
        corpus to stream (files, say) is read so, document by document."""
        check_is_fitted(self, "module_")
        corpus = _corpus(X)
        if corpus is not None:
            bar = self._score_bar(None)
            result = self._corpus_log_likelihood(corpus, bar)
        else:
            documents = _read_documents(X, single_allowed=True)
            count = int(sum(len(d) + 1 for d in documents))
            bar = self._score_bar(count)
            sums = np.zeros(len(documents))
            short = [i for i, d in enumerate(documents) if len(d) <= _SCORE_PIECE]
            done = 0
            for i in sorted(set(range(len(documents))) - set(short)):
                sums[i], n = self._score_chunks([documents[i]], bar, done)
                done += n
            if short:
                sums[short] = self._short_documents_log_likelihoods(
                    [documents[i] for i in short]
                )
            result = sums, count
        if bar is not None:
            bar.update(result[1])
            bar.close()
        return result

    def _score_bar(self, total):
        """With ``verbose=2``, a progress bar of the characters scored."""
        if self.verbose < 2:
            return None
        return _progress.Bar(total, desc="score", unit="char")

    def _short_documents_log_likelihoods(self, documents):
        """Each document's summed log-likelihood, read in batches."""
        data = _data.SequenceDataset(self.reader_.documents(documents, end=True))
        return _inference.per_sequence(
            self.module_, data, _document_log_likelihood, self.batch_size
        )

    def _corpus_log_likelihood(self, corpus, bar=None):
        """``(summed log-likelihood, characters)`` of a streamed corpus: short
        documents in batches of them, files and long ones piece by piece."""
        total, count, short = 0.0, 0, []
        for i, doc in enumerate(corpus.documents):
            if isinstance(doc, str) and len(doc) <= _SCORE_PIECE:
                short.append(doc)
                if len(short) < 16 * self.batch_size:
                    continue
            else:
                summed, n = self._score_chunks(
                    _data.document_chunks(doc, i), bar, count
                )
                total, count = total + summed, count + n
            if short:
                total += self._short_documents_log_likelihoods(short).sum()
                count += sum(len(d) + 1 for d in short)
                short = []
                if bar is not None:
                    bar.update(count)
        if short:
            total += self._short_documents_log_likelihoods(short).sum()
            count += sum(len(d) + 1 for d in short)
        if not count:
            raise ValueError("X is empty: found 0 documents, while 1 is required")
        return np.array([total]), count

    def _score_chunks(self, chunks, bar=None, done=0):
        """``(summed log-likelihood, characters)`` of one document given as chunks
        of its text, its end included, read exactly, a piece of ``_SCORE_PIECE``
        characters at a time with the state carried: memory stays bounded however
        long the document is. ``bar`` counts the characters, from ``done``."""
        module = self.module_
        module.eval()
        device = module_device(module)
        pieces = (
            chunk[start : start + _SCORE_PIECE]
            for chunk in chunks
            for start in range(0, len(chunk), _SCORE_PIECE)
        )
        state, total, count, previous = None, 0.0, 0, _data.BOUNDARY
        piece = next(pieces, "")
        with torch.inference_mode():
            while piece is not None:
                following = next(pieces, None)
                targets = self.reader_.encode(piece)
                count += len(piece)
                if following is None:  # the piece holds the end
                    targets = np.append(targets, _data.BOUNDARY)
                    count += 1
                inputs = np.concatenate([[previous], targets[:-1]])
                previous = targets[-1]
                inputs, targets = to_device(
                    (torch.from_numpy(inputs)[None], torch.from_numpy(targets)[None]),
                    device,
                )
                state, log_likelihood = module.read(
                    inputs,
                    torch.tensor([inputs.shape[1]]),
                    targets,
                    _CHUNK,
                    state=state,
                )
                total += float(log_likelihood.sum())
                piece = following
                if bar is not None:
                    bar.update(done + count)
        return total, count

    def _next_logits(self, X):
        """Logits over the characters of ``classes_`` after each string of ``X``."""
        logits = self._read(X, _next_character_logits)
        return torch.from_numpy(logits).double()

    # ------------------------------------------------------------------ scores

    def score(self, X, y=None):
        """Mean log-likelihood per character, in nats (higher is better).

        Each string is read as a document from its beginning; its characters and its
        end are scored (:class:`~sklearn.model_selection.GridSearchCV` maximises
        this). A long string is read exactly, 65,536 characters at a time with the
        state carried, so scoring a text of millions of characters needs little memory.

        Parameters
        ----------
        X : str, list of str, path, list of paths or iterable of str
            As in :meth:`fit`: files and corpora are streamed.
        y : None
            Ignored.

        Returns
        -------
        score : float
            The negated cross-entropy; 0 would be a perfect model.
        """
        sums, count = self._log_likelihoods(X)
        return float(sums.sum() / count)

    def perplexity(self, X):
        """``exp(-score(X))``: the number of equally likely characters the model is as
        unsure as, on average (lower is better).

        Parameters
        ----------
        X : str or list of str

        Returns
        -------
        perplexity : float
        """
        return math.exp(-self.score(X))

    def bits_per_character(self, X):
        """``-score(X) / ln 2``: the cross-entropy in bits (lower is better).

        Parameters
        ----------
        X : str or list of str

        Returns
        -------
        bits : float
        """
        return -self.score(X) / math.log(2)

    # ------------------------------------------------------------------ next character

    def predict(self, X):
        """The most likely character after each string.

        Parameters
        ----------
        X : list of str
            Prefixes, each read from a document's beginning (an empty string asks for
            the first character of a document).

        Returns
        -------
        ndarray of str of shape (n_samples,)
        """
        best = self._next_logits(X).argmax(dim=1).numpy()
        return self.classes_[best]

    def predict_proba(self, X):
        """Probability of each character coming next, columns in ``classes_`` order.

        The probability that the document ends there is left out and the rest
        renormalised: this is the distribution of the next character given that the
        text goes on.

        Parameters
        ----------
        X : list of str

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        return torch.softmax(self._next_logits(X), dim=1).numpy()

    def transform(self, X):
        """The final hidden state of the top layer after each string.

        Parameters
        ----------
        X : list of str

        Returns
        -------
        ndarray of shape (n_samples, hidden_size)
        """
        return self._read(X, _final_state)

    @property
    def _n_features_out(self):
        return self.module_.encoder.output_size

    # ------------------------------------------------------------------ generation

    def generate(
        self,
        n_chars=200,
        prompt="",
        *,
        temperature=1.0,
        top_k=None,
        top_p=None,
        n_samples=None,
        stop_at_end=True,
        random_state=None,
    ):
        """Write text: each character drawn is fed back to draw the next.

        The model starts at a document's beginning and reads ``prompt``; then it keeps
        its state from step to step, so the cost is linear in ``n_chars``, and
        ``n_samples`` texts are written as one batch. With ``verbose=2`` the
        characters written so far are shown on stderr, as ``fit`` shows batches.

        Parameters
        ----------
        n_chars : int, default=200
            Characters to write (fewer when a document ends first).
        prompt : str, default=""
            Text to continue; not repeated in the result. Characters not in
            ``classes_`` are read as the unknown symbol.
        temperature : float, default=1.0
            Divides the logits: below 1 is more conservative, above 1 more varied;
            0 always takes the most likely character (greedy).
        top_k : int or None, default=None
            Draw only among the ``top_k`` most likely characters.
        top_p : float or None, default=None
            Draw only among the most likely characters whose probabilities add up to
            ``top_p`` (nucleus sampling); the most likely one always stays. Both cuts
            apply to the distribution after ``temperature``.
        n_samples : int or None, default=None
            ``None`` writes one text and returns a str; an int writes that many and
            returns a list.
        stop_at_end : bool, default=True
            Stop a text where the model ends the document (the end is not written).
            With ``False`` the end is never drawn and every text gets ``n_chars``.
        random_state : int, RandomState instance or None, default=None
            Seeds the draws (an int gives the same text on a given device); the global
            random state of numpy and torch is left alone.

        Returns
        -------
        text : str, or list of str when ``n_samples`` is an int
        """
        validate_parameter_constraints(
            _GENERATE_CONSTRAINTS,
            dict(
                n_chars=n_chars,
                prompt=prompt,
                temperature=temperature,
                top_k=top_k,
                top_p=top_p,
                n_samples=n_samples,
                stop_at_end=stop_at_end,
                random_state=random_state,
            ),
            caller_name="generate",
        )
        check_is_fitted(self, "module_")
        module = self.module_
        module.eval()
        device = module_device(module)
        generator = torch.Generator(device=device)
        seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
        generator.manual_seed(int(seed))
        prefix = self.reader_.documents([prompt], end=False)
        (inputs,) = to_device((prefix.values[None],), device)
        banned = [_data.UNK] if stop_at_end else [_data.UNK, _data.BOUNDARY]
        bar = (
            _progress.Bar(int(n_chars), desc="generate", unit="char")
            if self.verbose >= 2
            else None
        )
        with torch.inference_mode():
            state, _ = module.read(
                inputs, torch.tensor([inputs.shape[1]]), None, _CHUNK
            )
            symbols, _ = module.sample(
                state,
                int(n_chars),
                n_sequences=1 if n_samples is None else int(n_samples),
                generator=generator,
                temperature=float(temperature),
                top_k=top_k,
                top_p=top_p,
                banned=banned,
                stop=_data.BOUNDARY if stop_at_end else None,
                progress=None if bar is None else bar.update,
            )
        if bar is not None:
            bar.close()
        texts = [self.reader_.decode(row) for row in symbols.cpu().numpy()]
        return texts[0] if n_samples is None else texts

    @property
    def classes_(self):
        return self.reader_.classes

    def _upgrade_fitted_state(self):
        state = vars(self)
        if "reader_" in state or "classes_" not in state:
            return
        self.reader_ = CharacterReader()
        self.reader_.classes = state.pop("classes_")
        state.pop("_carried_state", None)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = False
        tags.input_tags.string = True
        tags.target_tags.required = False
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


def _document_log_likelihood(module, batch):
    """The summed log-likelihood of each document's characters and end (the batch
    holds each document between its two marks)."""
    inputs, lengths = batch.inputs, batch.lengths
    _, log_likelihood = module.read(inputs[:, :-1], lengths - 1, inputs[:, 1:], _CHUNK)
    return log_likelihood


def _final_state(module, batch):
    """The top layer's hidden state after each string."""
    state, _ = module.read(batch.inputs, batch.lengths, None, _CHUNK)
    return module.encoder.last_hidden(state)


def _next_character_logits(module, batch):
    """Logits of the characters of ``classes_`` after each string."""
    return module.output(_final_state(module, batch))[:, _data.N_STREAM_SPECIAL :]


@_persistence.register
class CharacterReader:
    """Text as the language model reads it: one symbol per character of
    ``classes`` (the characters ``fit`` saw, sorted), one for every other character,
    and a boundary mark before, between and after documents."""

    family = "symbols"

    def __init__(self):
        self.classes = None

    def fit(self, documents):
        seen = set().union(*map(set, documents))
        # object, not a numpy str dtype, which would drop a trailing "\x00"
        self.classes = np.array(sorted(seen), dtype=object)
        return self

    def network_kwargs(self):
        return {"n_symbols": len(self.classes) + _data.N_STREAM_SPECIAL}

    def take_pretrained_rows(self):
        return None

    def stream(self, documents):
        return _data.TextStream.from_documents(documents, self.classes)

    def documents(self, documents, *, end):
        return _data.encode_documents(documents, self.classes, end=end)

    def encode(self, text):
        return _data.encode_characters(text, self.classes)

    def decode(self, symbols):
        return _data.decode_characters(symbols, self.classes)
