"""CharLMGenerator: learn text, then write it one character at a time."""

import math
import numbers

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

from . import _data
from ._base import BaseRNN
from ._docs import fill_doc

# ``early_stopping="auto"`` holds out the end of texts at least this long.
AUTO_EARLY_STOPPING_MIN_CHARS = 100_000

# Held-out text is read in at most this many parallel pieces of at least this many
# characters, each after a warm-up on the characters before it.
_VALIDATION_ROWS = 32
_VALIDATION_MIN_ROW = 4096
_VALIDATION_WARM_UP = 512
# score() streams a document longer than this piece by piece, the state carried, so
# its memory does not grow with the document
_SCORE_PIECE = 1 << 16

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


def _detach(state):
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


@fill_doc(defaults={"learning_rate": '"cosine"'})
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
    cell : {"rnn", "lstm", "gru"}, default="lstm"
        The recurrent cell: ``"rnn"`` is the tanh recurrence
        ``h_t = tanh(W_hh h_{t-1} + W_xh x_t + b)``, ``"lstm"`` adds input, forget and
        output gates and a cell state, ``"gru"`` is the lighter gated alternative.

    hidden_size : int, default=256
        Size of the hidden state of each layer.

    num_layers : int, default=2
        Stacked recurrent layers.

    embedding_dim : int or None, default=64
        Size of the learned character embedding, or ``None`` to feed one-hot vectors.

    dropout : float, default=0.1
        Dropout on embedded characters, between stacked layers and on what the output
        layer reads.

    seq_len : int, default=100
        Characters per window of truncated backpropagation through time: gradients
        flow back this far, the state carries on further.

    max_iter : int, default=30
        Maximum number of epochs (passes over the text).

    {{max_time_parameter}}

    batch_size : int, default=32
        Parallel streams the text is cut into. A text shorter than
        ``batch_size * seq_len`` characters is cut into fewer streams (one when it is
        shorter than ``2 * seq_len``), so that every stream is at least one window
        long.

    learning_rate_init : float, default=5e-3
        Learning rate of the optimizer.

    {{learning_rate_parameter}}

    {{ema_decay_parameter}}

    optimizer : {"adam", "adamw", "rmsprop", "sgd"} or callable, default="adam"
        ``"sgd"`` uses Nesterov momentum 0.9. A callable is called as
        ``optimizer(params, lr=learning_rate_init, weight_decay=weight_decay)`` and
        must return a :class:`torch.optim.Optimizer`.

    weight_decay : float, default=0.0
        L2 penalty passed to the optimizer.

    clip_grad_norm : float or None, default=5.0
        Rescale the gradient when its norm exceeds this; ``None`` turns clipping off.

    early_stopping : bool or "auto", default="auto"
        Hold out the last ``validation_fraction`` of the text (the end, not a random
        sample: neighbouring characters are not independent), stop when its
        log-likelihood has not improved for ``n_iter_no_change`` epochs and restore
        the weights of the best epoch. ``"auto"`` does so for texts of at least
        100,000 characters. Without it, training stops when the training loss has not
        improved by ``tol`` for ``n_iter_no_change`` epochs.

    validation_fraction : float, default=0.1
        Share of the text held out at its end for early stopping.

    n_iter_no_change : int, default=3
        Epochs without improvement before training stops.

    tol : float, default=1e-4
        The smallest change that counts as an improvement.

    warm_start : bool, default=False
        Let ``fit`` continue from the current weights and vocabulary instead of
        starting anew.

    verbose : int, default=0
        0 is silent, 1 prints a line per epoch, 2 also draws a progress bar on stderr.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation and dropout. An int gives the same model on a
        given device; the global random state of numpy and torch is left as it was.
        (:meth:`generate` has its own ``random_state``.)

    device : str or torch.device, default="auto"
        Where to train: ``"auto"`` picks CUDA, then MPS, then the CPU. Generation and
        scoring run where the model is; a pickled model loads on the CPU.

    {{checkpoint_parameter}}

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

    _parameter_constraints: dict = {
        **{
            name: BaseRNN._parameter_constraints[name]
            for name in (
                "cell hidden_size num_layers dropout embedding_dim max_iter max_time "
                "batch_size "
                "learning_rate_init learning_rate ema_decay optimizer weight_decay "
                "clip_grad_norm early_stopping validation_fraction n_iter_no_change "
                "tol warm_start verbose random_state device checkpoint_dir"
            ).split()
        },
        "seq_len": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    _module_name = "CharLanguageModel"

    def __init__(
        self,
        *,
        cell="lstm",
        hidden_size=256,
        num_layers=2,
        embedding_dim=64,
        dropout=0.1,
        seq_len=100,
        max_iter=30,
        max_time=None,
        batch_size=32,
        learning_rate_init=5e-3,
        learning_rate="cosine",
        ema_decay=None,
        optimizer="adam",
        weight_decay=0.0,
        clip_grad_norm=5.0,
        early_stopping="auto",
        validation_fraction=0.1,
        n_iter_no_change=3,
        tol=1e-4,
        warm_start=False,
        verbose=0,
        random_state=None,
        device="auto",
        checkpoint_dir=None,
    ):
        self.cell = cell
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.embedding_dim = embedding_dim
        self.dropout = dropout
        self.seq_len = seq_len
        self.max_iter = max_iter
        self.max_time = max_time
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.learning_rate = learning_rate
        self.ema_decay = ema_decay
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.clip_grad_norm = clip_grad_norm
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.warm_start = warm_start
        self.verbose = verbose
        self.random_state = random_state
        self.device = device
        self.checkpoint_dir = checkpoint_dir

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the text ``X``.

        Parameters
        ----------
        X : str or list of str
            One text, or a list of documents (each gets its own begin and end).
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
        X : str or list of str
        y : None
            Ignored.

        Returns
        -------
        self : CharLMGenerator
        """
        return self._fit(X, y, incremental=True)

    def _fit(self, X, y, sample_weight=None, *, incremental=False, classes=None):
        try:
            return super()._fit(X, y, incremental=incremental)
        finally:
            # the state carried between training windows is a tensor: never kept
            vars(self).pop("_carried_state", None)

    # ------------------------------------------------------------------ hooks

    def _training_data(self, X, y, sample_weight, *, reset, classes=None):
        documents = _read_documents(X, single_allowed=True)
        if not any(documents):
            raise ValueError("X holds no characters: there is no text to learn from")
        if reset:
            seen = set().union(*map(set, documents))
            # object, not a numpy str dtype, which would drop a trailing "\x00"
            self.classes_ = np.array(sorted(seen), dtype=object)
        return _data.TextStream.from_documents(documents, self.classes_)

    def _check_targets(self, y, n_samples, *, reset, classes=None):
        return None  # a language model's targets are its own text

    def _use_early_stopping(self, n_samples):
        if self.early_stopping == "auto":
            return n_samples >= AUTO_EARLY_STOPPING_MIN_CHARS
        return bool(self.early_stopping)

    def _validation_split(self, stream):
        n = len(stream)
        n_valid = max(1, int(round(self.validation_fraction * n)))
        if n - n_valid < 1:
            raise ValueError(
                f"early_stopping with validation_fraction={self.validation_fraction} "
                f"leaves no text to train on: X holds {n} characters (the end of "
                "each document counts as one)"
            )
        return stream.split(n_valid)

    def _epoch_batches(self, stream):
        self._carried_state = None  # each epoch reads the streams from their start
        return stream.windows(self.batch_size, self.seq_len)

    def _forward_batch(self, module, batch):
        logits, state = module(batch.inputs, self._carried_state)
        self._carried_state = _detach(state)
        return logits

    def _loss(self, outputs, batch):
        # training windows hold no padding: every target counts
        loss = torch.nn.functional.cross_entropy(
            outputs.flatten(0, 1), batch.targets.flatten()
        )
        return loss, batch.targets.numel()

    def _evaluate(self, module, stream):
        """Cross-entropy and log-likelihood per character of the held-out text.

        A short text is read as one stream from the initial state, exactly. A long one
        (at least 4 * 4,096 characters) is cut into up to 32 pieces read side by side,
        each after reading the 512 characters before it: several times faster on a
        CPU (the pieces share each step's matrix products), and within a small
        fraction of ``tol`` of the exact figure (:meth:`score` stays exact).
        """
        device = next(module.parameters()).device
        n_rows = min(_VALIDATION_ROWS, len(stream) // _VALIDATION_MIN_ROW)
        if n_rows < 4:
            inputs, targets = stream.symbols[None, :-1], stream.symbols[None, 1:]
            lengths, state = torch.tensor([len(stream)]), None
        else:
            warm, inputs, targets, lengths = stream.parallel_rows(
                n_rows, _VALIDATION_WARM_UP
            )
            state, _ = module.read(
                warm.to(device),
                torch.full((n_rows - 1,), _VALIDATION_WARM_UP),
                chunk_size=self._chunk_size(),
            )
            state = _prepend_start_state(module, state)
        _, log_likelihood = module.read(
            inputs.to(device),
            lengths,
            targets.to(device),
            self._chunk_size(),
            state=state,
        )
        score = self._validation_score(log_likelihood, None, None, count=len(stream))
        return -score, score

    def _validation_score(self, outputs, targets, weights, *, count=None):
        """Mean log-likelihood per character from per-sequence sums ``outputs``."""
        return float(outputs.sum()) / count

    def _module_kwargs(self):
        return dict(
            n_symbols=len(self.classes_) + _data.N_STREAM_SPECIAL,
            embedding_dim=self.embedding_dim,
        )

    def _build_module(self):
        kwargs = dict(
            cell=self.cell,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            dropout=self.dropout,
            **self._module_kwargs(),
        )
        self._module_spec = (self._module_name, kwargs)
        self.module_ = self._new_module()
        self.optimizer_ = self._make_optimizer(self.module_)

    def _chunk_size(self):
        return 512

    # ------------------------------------------------------------------ reading text

    def _read(self, X, *, score):
        """Read each string from a document's beginning; with ``score`` also its end.

        Returns the state after each string and, with ``score``, the summed
        log-likelihood of each string's characters and end, in the order of ``X``.
        """
        check_is_fitted(self, "module_")
        documents = _read_documents(X, single_allowed=score)
        module = self.module_
        module.eval()
        device = next(module.parameters()).device
        states, sums = [], np.zeros(len(documents))
        if score and any(len(doc) > _SCORE_PIECE for doc in documents):
            long = [i for i, doc in enumerate(documents) if len(doc) > _SCORE_PIECE]
            for i in long:
                sums[i] = self._score_long_document(documents[i])
            short = np.setdiff1d(np.arange(len(documents)), long)
            if len(short):
                short_sums, _ = self._read([documents[i] for i in short], score=True)
                sums[short] = short_sums
            return sums, int(sum(len(d) + 1 for d in documents))
        data = _data.SequenceDataset(
            _data.encode_documents(documents, self.classes_, end=score)
        )
        with torch.inference_mode():
            for batch in data.inference_batches(self._inference_batch_size()):
                inputs = batch.inputs.to(device)
                lengths = batch.lengths
                if score:
                    state, ll = module.read(
                        inputs[:, :-1], lengths - 1, inputs[:, 1:], self._chunk_size()
                    )
                    sums[batch.index] = ll.cpu().numpy()
                else:
                    state, _ = module.read(inputs, lengths, None, self._chunk_size())
                    states.append((batch.index, module.encoder.last_hidden(state)))
        if score:
            return sums, int(sum(len(d) + 1 for d in documents))
        hidden = torch.empty(
            (len(documents), module.encoder.output_size), device=device
        )
        for index, h in states:
            hidden[torch.from_numpy(index).to(device)] = h
        return hidden

    def _score_long_document(self, document):
        """Summed log-likelihood of one long document and its end, read exactly, a
        piece of ``_SCORE_PIECE`` characters at a time with the state carried: memory
        stays bounded however long the document is."""
        module = self.module_
        device = next(module.parameters()).device
        state, total, previous = None, 0.0, _data.BOUNDARY
        with torch.inference_mode():
            for start in range(0, len(document) + 1, _SCORE_PIECE):
                piece = document[start : start + _SCORE_PIECE]
                targets = _data.encode_characters(piece, self.classes_)
                if start + _SCORE_PIECE > len(document):  # the piece holds the end
                    targets = np.append(targets, _data.BOUNDARY)
                inputs = np.concatenate([[previous], targets[:-1]])
                previous = targets[-1]
                state, log_likelihood = module.read(
                    torch.from_numpy(inputs)[None].to(device),
                    torch.tensor([len(inputs)]),
                    torch.from_numpy(targets)[None].to(device),
                    self._chunk_size(),
                    state=state,
                )
                total += float(log_likelihood.sum())
        return total

    def _next_logits(self, X):
        """Logits over the characters of ``classes_`` after each string of ``X``."""
        hidden = self._read(X, score=False)
        with torch.inference_mode():
            logits = self.module_.output(hidden)
        return logits[:, _data.N_STREAM_SPECIAL :].double().cpu()

    # ------------------------------------------------------------------ scores

    def score(self, X, y=None):
        """Mean log-likelihood per character, in nats (higher is better).

        Each string is read as a document from its beginning; its characters and its
        end are scored (:class:`~sklearn.model_selection.GridSearchCV` maximises
        this). A long string is read exactly, 65,536 characters at a time with the
        state carried, so scoring a text of millions of characters needs little memory.

        Parameters
        ----------
        X : str or list of str
        y : None
            Ignored.

        Returns
        -------
        score : float
            The negated cross-entropy; 0 would be a perfect model.
        """
        sums, count = self._read(X, score=True)
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
        return self._read(X, score=False).float().cpu().numpy()

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
        ``n_samples`` texts are written as one batch.

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
        device = next(module.parameters()).device
        generator = torch.Generator(device=device)
        seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
        generator.manual_seed(int(seed))
        prefix = _data.encode_documents([prompt], self.classes_, end=False)
        inputs = prefix.values[None].to(device)
        banned = [_data.UNK] if stop_at_end else [_data.UNK, _data.BOUNDARY]
        with torch.inference_mode():
            state, _ = module.read(
                inputs, torch.tensor([inputs.shape[1]]), None, self._chunk_size()
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
            )
        texts = [
            _data.decode_characters(row, self.classes_) for row in symbols.cpu().numpy()
        ]
        return texts[0] if n_samples is None else texts

    # ------------------------------------------------------------------ persistence

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_carried_state", None)
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = False
        tags.input_tags.string = True
        tags.target_tags.required = False
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
