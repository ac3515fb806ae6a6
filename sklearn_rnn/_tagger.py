"""LSTMSequenceTagger: one label per token or frame.

The recipe: token features (a word embedding plus character features of each token's
spelling, or numeric channels as they are) -> a bidirectional LSTM -> a score per tag
and step -> a linear-chain CRF trained on its log-likelihood, decoded by Viterbi under
the tag scheme's rules. Chunk tags are learned in IOBES whatever scheme they come in,
and given back in that scheme.
"""

import numbers
from collections import Counter

import numpy as np
import torch
from sklearn.base import _fit_context
from sklearn.utils import TransformerTags
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from . import _data, _schemes
from ._base import PRETRAINED_CONSTRAINTS, BaseRNN
from ._docs import fill_doc
from .metrics import entity_f1_score, token_accuracy_score

# The scheme the network learns chunk tags in: it marks both ends of every chunk.
INTERNAL_SCHEME = "IOBES"
_PREFIX_ORDER = {"O": 0, "B": 1, "I": 2, "E": 3, "S": 4}


@fill_doc
class LSTMSequenceTagger(BaseRNN):
    """Recurrent sequence tagger: one label per token (or per frame), with a CRF.

    For named-entity recognition, part-of-speech tagging, chunking, or a label per
    step of a sensor series. Each token is represented by a word embedding and by
    character features of its spelling (so unseen words still carry their capitals,
    digits and affixes), read in context by a bidirectional LSTM, scored for every
    tag, and decoded jointly by a linear-chain CRF that only allows tag sequences
    forming well-formed chunks.

    ``score`` is the entity-level micro F1 (conlleval's figure, as
    :func:`~sklearn_rnn.metrics.entity_f1_score` computes it) when the labels follow a
    chunk scheme (IOB1, IOB2/BIO, IOE1, IOE2, IOBES/BIOES or BILOU, with ``-TYPE``
    suffixes; detected from ``y`` or set by ``tag_scheme``), and token accuracy
    otherwise.

    Parameters
    ----------
    cell : {"lstm", "gru", "rnn"}, default="lstm"
        The recurrent cell: ``"rnn"`` is the tanh recurrence
        ``h_t = tanh(W_hh h_{t-1} + W_xh x_t + b)``, ``"lstm"`` adds input, forget and
        output gates and a cell state, ``"gru"`` is the lighter gated alternative.

    hidden_size : int, default=200
        Size of the hidden state of each layer and direction.

    num_layers : int, default=1
        Stacked recurrent layers.

    bidirectional : bool, default=True
        Read each sentence in both directions, so a tag sees its left and right
        context.

    dropout : float, default=0.5
        Dropout on the token features, between stacked layers and on the recurrent
        outputs.

    init_state : {"zeros", "learned"}, default="zeros"
        The initial hidden state: all zeros, or a vector learned with the other weights.

    embedding_dim : int or None, default=100
        Size of the learned word embedding (``None`` feeds one-hot vectors). Taken from
        the vectors when ``pretrained_embeddings`` is given.

    char_features : bool, default=True
        Add features that a character CNN computes from each token's spelling, in its
        original case even when ``lowercase`` is True. Only for string tokens.

    char_embedding_dim : int, default=25
        Size of the character embedding.

    char_filters : int, default=50
        Number of character features per token (convolution filters of width 3).

    feature_embedding_dim : int, default=25
        Size of the embedding of each categorical token feature, for tokens given as
        tuples ``(word, feature, ...)`` (see ``fit``).

    word_dropout : float, default=0.05
        Unknown-word replacement while training: a word seen ``c`` times in ``fit``
        is replaced by the unknown symbol with probability
        ``word_dropout / (word_dropout + c)`` (Kiperwasser and Goldberg 2016), so rare
        words often and frequent ones almost never, and the network learns to tag
        words it has never seen from their spelling and context. 0 turns it off.

    crf : bool, default=True
        Decode with a linear-chain CRF trained on the sentence's log-likelihood.
        ``False`` trains each token's softmax alone (cross-entropy); decoding still
        keeps to the scheme's rules, with the steps otherwise independent.

    tag_scheme : {"auto", "IOB1", "IOB2", "BIO", "IOE1", "IOE2", "IOBES", "BIOES", \
"BILOU"} or None, default="auto"
        How labels mark chunks. ``"auto"`` detects it from ``y`` (plain labels such as
        part-of-speech tags have none); a named scheme is checked against ``y``;
        ``None`` treats labels as plain labels. With a scheme, predicted tags always
        form well-formed chunks in it and ``score`` is entity-level F1.

    {{pretrained_parameters}}

    lowercase : bool, default=True
        Look words up in lowercase (the character features still see the case).

    min_frequency : int, default=1
        Tokens seen fewer times in ``fit`` share the unknown-symbol slot.

    max_vocabulary_size : int or None, default=None
        Keep only this many of the most frequent tokens.

    standardize : bool, default=True
        Scale each numeric channel to zero mean and unit variance with statistics
        learned in ``fit``.

    {{layout_parameter}}

    {{training_parameters}}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels seen in ``fit``, sorted; ``predict_proba`` columns follow them.

    tag_scheme_ : str or None
        The chunk scheme of the labels (``"IOB1"``, ``"IOB2"``, ...), or ``None``.

    tags_ : list
        The tags the network scores: the labels in IOBES when there is a scheme,
        else ``classes_``.

    char_vocabulary_ : dict or None
        Character to index (from 2) for the character features, or ``None``.

    feature_vocabularies_ : list of dict
        For each categorical token feature (the tuple fields after the word), value
        to index (from 2); empty when the tokens are plain words.

    {{training_attributes}}

    See Also
    --------
    sklearn_rnn.metrics.entity_f1_score : The entity-level F1 that ``score`` reports.
    sklearn_rnn.datasets.load_conll : Read CoNLL-style files into ``X, y``.

    Notes
    -----
    Not a classifier for scikit-learn (no ``ClassifierMixin``): its ``y`` is ragged,
    which stratified splitting cannot read, so ``cross_val_score`` and
    ``GridSearchCV`` split it with ``KFold`` when given an integer ``cv``.

    Examples
    --------
    >>> from sklearn_rnn import LSTMSequenceTagger
    >>> X = [["Anna", "lives", "in", "Oslo"], ["Bo", "visits", "Rome"]] * 20
    >>> y = [["B-PER", "O", "O", "B-LOC"], ["B-PER", "O", "B-LOC"]] * 20
    >>> tagger = LSTMSequenceTagger(hidden_size=16, max_iter=30, random_state=0)
    >>> tagger.fit(X, y).predict([["Bo", "lives", "in", "Rome"]])
    [['B-PER', 'O', 'O', 'B-LOC']]
    >>> tagger.tag_scheme_, tagger.score(X, y)
    ('IOB2', 1.0)
    >>> tagger.predict_proba([["Anna", "visits", "Oslo"]])[0].shape
    (3, 3)
    """

    _module_name = "SequenceTaggerNet"
    # unknown-word replacement: rare words more often than frequent ones
    _word_dropout_by_frequency = True

    _parameter_constraints: dict = {
        **{
            name: rule
            for name, rule in BaseRNN._parameter_constraints.items()
            if name != "tokenizer"
        },
        "char_features": ["boolean"],
        "char_embedding_dim": [Interval(numbers.Integral, 1, None, closed="left")],
        "char_filters": [Interval(numbers.Integral, 1, None, closed="left")],
        "feature_embedding_dim": [Interval(numbers.Integral, 1, None, closed="left")],
        "word_dropout": [Interval(numbers.Real, 0, None, closed="left")],
        "crf": ["boolean"],
        "tag_scheme": [
            StrOptions({"auto", *_schemes.SCHEMES, *_schemes.ALIASES}),
            None,
        ],
        **PRETRAINED_CONSTRAINTS,
    }

    def __init__(
        self,
        *,
        cell="lstm",
        hidden_size=200,
        num_layers=1,
        bidirectional=True,
        dropout=0.5,
        init_state="zeros",
        embedding_dim=100,
        char_features=True,
        char_embedding_dim=25,
        char_filters=50,
        feature_embedding_dim=25,
        word_dropout=0.05,
        crf=True,
        tag_scheme="auto",
        pretrained_embeddings=None,
        freeze_embeddings=False,
        lowercase=True,
        min_frequency=1,
        max_vocabulary_size=None,
        standardize=True,
        layout=None,
        max_iter=200,
        max_time=None,
        batch_size=32,
        learning_rate_init=2e-3,
        learning_rate="constant",
        ema_decay=None,
        optimizer="adam",
        weight_decay=0.0,
        clip_grad_norm=5.0,
        early_stopping="auto",
        validation_fraction=0.1,
        n_iter_no_change=10,
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
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.init_state = init_state
        self.embedding_dim = embedding_dim
        self.char_features = char_features
        self.char_embedding_dim = char_embedding_dim
        self.char_filters = char_filters
        self.feature_embedding_dim = feature_embedding_dim
        self.word_dropout = word_dropout
        self.crf = crf
        self.tag_scheme = tag_scheme
        self.pretrained_embeddings = pretrained_embeddings
        self.freeze_embeddings = freeze_embeddings
        self.lowercase = lowercase
        self.min_frequency = min_frequency
        self.max_vocabulary_size = max_vocabulary_size
        self.standardize = standardize
        self.layout = layout
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

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None):
        """Train on sentences ``X`` and their tags ``y``.

        Parameters
        ----------
        X : list of token lists, or list of arrays of shape (n_timesteps_i, n_channels)
            Token sequences (lists of strings; tokenise raw text first), or numeric
            sequences with one label per step. A token may also be a tuple of strings
            ``(word, feature, ...)``: the fields after the word are categorical
            features of the token (part of speech, chunk, a gazetteer flag), each
            embedded (``feature_embedding_dim``) and joined to the word's features.
            Every token then carries the same number of fields, here and at predict
            (:func:`~sklearn_rnn.datasets.load_conll` reads them with
            ``feature_columns``); a value unseen in ``fit`` is read as unknown.
        y : list of label lists
            One label per token, ``len(y[i]) == len(X[i])``: chunk tags such as
            ``"B-PER"``, or any labels (part-of-speech tags, integers).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the sentences in the loss.
        X_val, y_val : like X and y, default=None
            Held-out sentences that early stopping reads (for the stopping epoch and
            the weights kept) instead of holding out ``validation_fraction`` of ``X``.

        Returns
        -------
        self : LSTMSequenceTagger
        """
        return self._fit(X, y, sample_weight, X_val=X_val, y_val=y_val)

    def predict(self, X):
        """The most probable tag sequence of each sentence.

        Parameters
        ----------
        X : list of token lists, or list of arrays
            Sequences of the kind seen in ``fit``. Unknown words and characters are
            fine.

        Returns
        -------
        list of lists
            One label per token, ``len(result[i]) == len(X[i])``. With a tag scheme the
            tags always form well-formed chunks in it.
        """
        paths = self._per_step(
            X, lambda m, b: m.decode(m(b.inputs, b.lengths), b.lengths)
        )
        return self._labels_of_paths(paths)

    def _labels_of_paths(self, paths):
        """Label lists of the network's tag paths (indices into its tags)."""
        if self.tag_scheme_ is None:
            return [self.classes_[path].tolist() for path in paths]
        context, table = self._scheme_table()
        return [
            self.classes_[_read_table(context, table, path)].tolist() for path in paths
        ]

    def _emission_scores(self, X, data=None):
        """What the CRF decodes besides its own potentials: one ``(n_tokens_i,
        n_tags)`` array of per-token tag scores per sentence (``data``: ``X`` as
        :meth:`_inference_data` encodes it, when already at hand)."""
        return self._per_step(
            X, lambda m, b: m.emissions(m(b.inputs, b.lengths)), data=data
        )

    def predict_proba(self, X):
        """Marginal probability of each label at each token.

        With ``crf=True`` these are the CRF's posterior marginals (forward-backward),
        which account for the whole sentence; with ``crf=False``, the per-token
        softmax. Either way, with a tag scheme only tag sequences that follow its
        rules count.

        Parameters
        ----------
        X : list of token lists, or list of arrays

        Returns
        -------
        list of ndarray of shape (n_tokens_i, n_classes)
            Columns in the order of ``classes_``; rows sum to 1.
        """
        return self._probabilities(X)

    def _probabilities(self, X, data=None):
        """:meth:`predict_proba` (``data``: ``X`` already encoded, or ``None``)."""
        check_is_fitted(self, "module_")
        mapping, context = None, None
        if self.tag_scheme_ is not None:
            context, table = self._scheme_table()
            onehot = np.zeros(table.shape + (len(self.classes_),))
            rows, cols = np.nonzero(table >= 0)
            onehot[rows, cols, table[rows, cols]] = 1.0
            mapping = (context, torch.from_numpy(onehot))

        def probabilities(module, batch):
            scores = module(batch.inputs, batch.lengths).double()
            unary, pair = module.marginals(
                scores, batch.lengths, pairs=context is not None
            )
            return _class_probabilities(unary, pair, batch.lengths, mapping)

        return self._per_step(X, probabilities, data=data)

    def transform(self, X):
        """The contextual vector of each token: the recurrent layer's outputs.

        Parameters
        ----------
        X : list of token lists, or list of arrays

        Returns
        -------
        list of ndarray of shape (n_tokens_i, hidden_size * (2 if bidirectional else 1))
        """
        return self._per_step(X, lambda m, b: m.encode(b.inputs, b.lengths))

    def score(self, X, y):
        """Entity-level micro F1 when the labels follow a chunk scheme, else token
        accuracy.

        The F1 reads chunks as conlleval does (the figure CoNLL shared tasks report;
        :func:`~sklearn_rnn.metrics.entity_f1_score` with its defaults).

        Parameters
        ----------
        X : list of token lists, or list of arrays
        y : list of label lists
            The true labels, one per token.

        Returns
        -------
        float
        """
        return _tagging_score(self, self.predict(X), y)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        # transform gives one vector per token (a list of arrays), not a table
        tags.transformer_tags = TransformerTags(preserves_dtype=[])
        return tags

    # ------------------------------------------------------------------ reading data

    def _read_X(self, X, *, reset):
        X = _data.as_samples(X)
        if _data.sniff_kind(X) == "text":
            raise TypeError(
                f"{type(self).__name__} tags tokens: X must be a list of token lists "
                "(or of numeric arrays), with one label per token in y, but it holds "
                "raw strings. Tokenise them first, e.g. [text.split() for text in X]"
            )
        # the case is kept for the character features; _encode_X lowercases the words
        family, sequences = super()._read_X(X, reset=reset, lowercase=False)
        if family == "symbols":
            n_fields = _check_fields(sequences)
            if not reset and n_fields != 1 + len(self.feature_vocabularies_):
                raise ValueError(
                    f"{type(self).__name__} was fitted on tokens "
                    f"{_describe_fields(1 + len(self.feature_vocabularies_))}, but X "
                    f"holds tokens {_describe_fields(n_fields)}"
                )
        return family, sequences

    def _training_data(self, X, y, sample_weight, *, reset, classes=None):
        family, sequences = self._read_X(X, reset=reset)
        lengths = [len(s) for s in sequences]
        targets = self._check_targets(y, len(sequences), reset=reset, lengths=lengths)
        weights = self._sample_weights(sample_weight, targets, len(sequences))
        return _data.SequenceDataset(
            self._encode_X(family, sequences, reset=reset), targets, weights
        )

    def _label_lists(self, y, lengths):
        """``y`` as a list of label lists, checked against the sequence lengths."""
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is "
                "None"
            )
        if isinstance(y, str) or not hasattr(y, "__len__"):
            raise TypeError(
                f"y must be a list of label lists, one per sequence, got "
                f"{type(y).__name__}"
            )
        if len(y) != len(lengths):
            raise ValueError(
                f"X has {len(lengths)} sequences but y has {len(y)} label sequences"
            )
        labels = []
        for i, (seq, n) in enumerate(zip(y, lengths, strict=True)):
            if isinstance(seq, str) or not hasattr(seq, "__len__"):
                raise TypeError(
                    f"Sample {i} of y is a {type(seq).__name__}: expected a list of "
                    "labels, one per token"
                )
            seq = seq.tolist() if isinstance(seq, np.ndarray) else list(seq)
            if len(seq) != n:
                raise ValueError(
                    f"Sample {i} of y has {len(seq)} labels, but sample {i} of X has "
                    f"{n} tokens: give one label per token"
                )
            labels.append(seq)
        return labels

    def _check_targets(self, y, n_samples, *, reset, classes=None, lengths=None):
        labels = self._label_lists(y, lengths)
        flat = [label for seq in labels for label in seq]
        strings = all(isinstance(label, str) for label in flat)
        if not strings and not all(_is_integer(label) for label in flat):
            first = flat[0]
            bad = next(
                label
                for label in flat
                if not (
                    isinstance(label, str)
                    if isinstance(first, str)
                    else _is_integer(label)
                )
            )
            raise TypeError(
                f"Labels must be all strings or all integers, but y holds {first!r} "
                f"({type(first).__name__}) and {bad!r} ({type(bad).__name__})"
            )
        if reset:
            self.classes_ = np.unique(np.asarray(flat))
            if len(self.classes_) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs at least 2 distinct labels in y, "
                    f"but it holds only {self.classes_.tolist()[0]!r}"
                )
            self.tag_scheme_ = self._resolve_scheme(labels, strings)
        else:
            unseen = ~np.isin(np.asarray(flat), self.classes_)
            if unseen.any():
                label = flat[int(np.argmax(unseen))]
                raise ValueError(
                    f"y holds the label {label!r}, which is not among the labels "
                    f"{self.classes_.tolist()} this model was first fitted with"
                )
            if self.tag_scheme_ is not None:
                _schemes.check_tags(labels, self.tag_scheme_)
        if self.tag_scheme_ is None:
            ids = np.searchsorted(self.classes_, np.asarray(flat))
            if reset:
                self.tags_ = self.classes_.tolist()
        else:
            internal = [_schemes.to_iobes(seq) for seq in labels]
            if reset:
                self.tags_ = sorted(
                    {tag for seq in internal for tag in seq}, key=_internal_order
                )
            index = {tag: i for i, tag in enumerate(self.tags_)}
            missing = {tag for seq in internal for tag in seq} - set(index)
            if missing:
                raise ValueError(
                    f"y holds chunks this model cannot tag: it was first fitted "
                    f"without the {INTERNAL_SCHEME} tags {sorted(missing)}"
                )
            ids = np.fromiter(
                (index[tag] for seq in internal for tag in seq),
                dtype=np.int64,
                count=len(flat),
            )
        return _data.Ragged(torch.from_numpy(ids.astype(np.int64)), lengths)

    def _resolve_scheme(self, labels, strings):
        if self.tag_scheme is None:
            return None
        if self.tag_scheme == "auto":
            return _schemes.detect_scheme(labels) if strings else None
        scheme = _schemes.check_scheme(self.tag_scheme)
        if not strings:
            raise ValueError(
                f"tag_scheme={self.tag_scheme!r} needs string tags such as 'B-PER', "
                "but y holds integers; set tag_scheme=None"
            )
        _schemes.check_tags(labels, scheme)
        return scheme

    def _encode_X(self, family, sequences, *, reset):
        if family != "symbols":
            if reset:
                self.feature_vocabularies_ = []
            return super()._encode_X(family, sequences, reset=reset)
        fields = None
        if isinstance(sequences[0][0], tuple):
            fields = [list(zip(*seq, strict=True)) for seq in sequences]
            sequences = [list(seq_fields[0]) for seq_fields in fields]
        strings = isinstance(sequences[0][0], str)
        words = sequences
        if strings and self.lowercase:
            words = [[token.lower() for token in seq] for seq in sequences]
        if reset:
            self.vocabulary_ = _data.build_vocabulary(
                words,
                min_frequency=self.min_frequency,
                max_size=self.max_vocabulary_size,
            )
            _data.check_vocabulary(self.vocabulary_, words, self.min_frequency)
            self._pretrained_rows = self._add_pretrained_words()
            self._unknown_rates = self._word_dropout_rates(words)
            self.char_vocabulary_ = (
                _data.build_char_vocabulary(sequences)
                if self.char_features and strings
                else None
            )
            self.feature_vocabularies_ = [
                _data.build_vocabulary([seq_fields[j] for seq_fields in fields])
                for j in range(1, len(fields[0]) if fields else 1)
            ]
        elif self.char_vocabulary_ is not None and not strings:
            raise TypeError(
                f"{type(self).__name__} was fitted on string tokens, but X holds "
                f"{type(sequences[0][0]).__name__} symbols"
            )
        ragged = _data.Ragged.from_symbols(words, self.vocabulary_)
        columns = [ragged.values.unsqueeze(1)]
        for j, vocabulary in enumerate(self.feature_vocabularies_, start=1):
            values = [seq_fields[j] for seq_fields in fields]
            columns.append(
                _data.Ragged.from_symbols(values, vocabulary).values[:, None]
            )
        if self.char_vocabulary_ is not None:
            columns.append(_data.encode_chars(sequences, self.char_vocabulary_))
        if len(columns) == 1:
            return ragged
        return _data.Ragged(torch.cat(columns, dim=1), ragged.lengths)

    def _word_dropout_rates(self, words):
        """Per-word probabilities of the unknown-word replacement while training:
        ``word_dropout / (word_dropout + count)`` for a word seen ``count`` times
        (Kiperwasser and Goldberg 2016), or ``word_dropout`` for every word."""
        rates = np.zeros(len(self.vocabulary_) + _data.N_SPECIAL, dtype=np.float32)
        if not self._word_dropout_by_frequency:
            rates[_data.N_SPECIAL :] = self.word_dropout
            return rates
        counts = Counter(token for seq in words for token in seq)
        index = np.fromiter(self.vocabulary_.values(), dtype=np.int64)
        seen = np.fromiter(
            (counts.get(word, 0) for word in self.vocabulary_), dtype=np.float32
        )
        alpha = self.word_dropout
        rates[index] = alpha / np.maximum(alpha + seen, 1e-12) if alpha > 0 else 0.0
        return rates

    # ------------------------------------------------------------------ the network

    def _module_kwargs(self):
        kwargs = dict(n_tags=len(self.tags_), crf=self.crf, **self._constraints())
        if self._input_family == "symbols":
            chars = self.char_vocabulary_
            kwargs.update(
                n_chars=None if chars is None else len(chars) + _data.N_SPECIAL,
                char_embedding_dim=self.char_embedding_dim,
                char_filters=self.char_filters,
                word_dropout=self.word_dropout,
                feature_sizes=[
                    len(vocabulary) + _data.N_SPECIAL
                    for vocabulary in self.feature_vocabularies_
                ],
                feature_embedding_dim=self.feature_embedding_dim,
            )
        return kwargs

    def _build_module(self):
        super()._build_module()
        rates = getattr(self, "_unknown_rates", None)
        if rates is not None:
            with torch.no_grad():
                self.module_.features.unknown_rate.copy_(torch.from_numpy(rates))
        self._unknown_rates = None  # it lives in the module (and its state) from here

    def _word_embedding(self):
        return self.module_.features.embedding

    def _constraints(self):
        """The CRF's masks: IOBES rules, and no path that would read back as a tag
        the labels never used (IOB1's ``B-X`` when ``fit`` saw only ``I-X``)."""
        if self.tag_scheme_ is None:
            return {}
        start, transitions, end = _schemes.allowed_transitions(
            self.tags_, INTERNAL_SCHEME
        )
        context, table = self._scheme_table()
        unknown = table < 0
        if context == "prev":  # table[previous + 1, current]
            start &= ~unknown[0]
            transitions &= ~unknown[1:]
        elif context == "next":  # table[next + 1, current]
            end &= ~unknown[0]
            transitions &= ~unknown[1:].T
        else:
            usable = ~unknown[0]
            start &= usable
            end &= usable
            transitions &= usable[:, None] & usable[None, :]
        return dict(
            allowed_start=start.tolist(),
            allowed_transitions=transitions.tolist(),
            allowed_end=end.tolist(),
        )

    def _scheme_table(self):
        return _schemes.iobes_to_scheme_table(
            self.tags_, self.tag_scheme_, self.classes_.tolist()
        )

    # ------------------------------------------------------------------ training hooks

    def _batch_loss(self, module, batch):
        scores = self._forward_batch(module, batch)
        return self._loss(module.loss(scores, batch.targets, batch.lengths), batch)

    def _loss(self, outputs, batch):
        """Weighted per-sequence losses (CRF negative log-likelihood or summed
        cross-entropy), averaged over the batch's tokens."""
        n_tokens = int(batch.lengths.sum())
        return (outputs * batch.weights).sum() / n_tokens, n_tokens

    def _evaluate(self, module, data):
        device = next(module.parameters()).device
        total, count = 0.0, 0
        paths = [None] * len(data)
        for batch in data.inference_batches(self._inference_batch_size()):
            batch = batch.to(device)
            scores = self._forward_batch(module, batch)
            loss, n = self._loss(
                module.loss(scores, batch.targets, batch.lengths), batch
            )
            total += float(loss) * n
            count += n
            decoded = module.decode(scores, batch.lengths).cpu().numpy()
            lengths = batch.lengths.tolist()
            for row, (i, length) in enumerate(zip(batch.index, lengths, strict=True)):
                paths[i] = decoded[row, :length]
        return total / count, self._validation_score(paths, data.targets, data.weights)

    def _validation_score(self, outputs, targets, weights):
        """Entity micro F1 of the held-out tags, or their weighted token accuracy."""
        true = np.split(targets.values.numpy(), targets.offsets[1:])
        if self.tag_scheme_ is not None:
            tags = np.asarray(self.tags_, dtype=object)
            return entity_f1_score(
                [tags[t].tolist() for t in true],
                [tags[p].tolist() for p in outputs],
                zero_division=0.0,
            )
        right = np.array([(t == p).sum() for t, p in zip(true, outputs, strict=True)])
        w = weights.numpy().astype(np.float64)
        return float((w * right).sum() / (w * targets.lengths).sum())

    # ------------------------------------------------------------------ inference

    def _per_step(self, X, step, data=None):
        """Run ``step(module, batch)`` -> ``(N, L, ...)`` over ``X`` (or over
        ``data``, ``X`` already encoded by :meth:`_inference_data`) by batches; one
        array per sequence, cut to its length, in input order."""
        if data is None:
            data = self._inference_data(X)
        module = self.module_
        module.eval()
        device = next(module.parameters()).device
        result = [None] * len(data)
        with torch.inference_mode():
            for batch in data.inference_batches(self._inference_batch_size()):
                values = step(module, batch.to(device)).cpu().numpy()
                for row, (i, length) in enumerate(
                    zip(batch.index, batch.lengths.tolist(), strict=True)
                ):
                    result[i] = values[row, :length]
        return result


def _check_fields(sequences):
    """The number of fields of every token: 1 for plain tokens, ``1 + F`` for tuples
    ``(word, feature, ...)`` of strings, which must agree across ``X``."""
    first = sequences[0][0]
    if isinstance(first, str):
        return 1  # read_tokens made every token a string, like the first
    n_fields = len(first) if isinstance(first, tuple) else 1
    for i, seq in enumerate(sequences):
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


def _describe_fields(n_fields):
    if n_fields == 1:
        return "given as plain words"
    n_features = n_fields - 1
    features = "feature" if n_features == 1 else "features"
    return (
        f"given as tuples of {n_fields} fields (the word and {n_features} {features})"
    )


def _is_integer(label):
    return isinstance(label, numbers.Integral | np.bool_)


def _internal_order(tag):
    prefix, type_ = _schemes.split_tag(tag)
    return (prefix != "O", type_, _PREFIX_ORDER[prefix])


def _tagging_score(tagger, predicted, y):
    """Entity micro F1 of ``predicted`` against ``y`` when ``tagger`` found a chunk
    scheme, else token accuracy."""
    y = tagger._label_lists(y, [len(p) for p in predicted])
    if tagger.tag_scheme_ is not None:
        return entity_f1_score(y, predicted, zero_division=0.0)
    return token_accuracy_score(y, predicted)


def _read_table(context, table, path):
    """Class indices of an IOBES path (see :func:`_schemes.iobes_to_scheme_table`)."""
    if context is None:
        return table[0, path]
    before = np.concatenate([[-1], path[:-1]])
    after = np.concatenate([path[1:], [-1]])
    return table[(before if context == "prev" else after) + 1, path]


def _class_probabilities(unary, pair, lengths, mapping):
    """Per-step probabilities of the classes from the network's tag marginals."""
    if mapping is None:
        return unary
    context, onehot = mapping
    onehot = onehot.to(unary.device, unary.dtype)
    alone = unary @ onehot[0]  # each tag read without context (or at a boundary)
    if context is None:
        return alone
    probabilities = alone.clone()
    if context == "prev":  # pair[t] = p(y_t, y_t+1): the class at t + 1
        probabilities[:, 1:] = torch.einsum("nlij,ijc->nlc", pair, onehot[1:])
        return probabilities
    # "next": the class at t from (y_t, y_t+1), except at each sequence's last step
    inner = torch.einsum("nlij,jic->nlc", pair, onehot[1:])
    steps = torch.arange(unary.shape[1] - 1, device=unary.device)
    before_last = steps[None, :] < (lengths.to(unary.device) - 1)[:, None]
    probabilities[:, :-1] = torch.where(
        before_last.unsqueeze(2), inner, probabilities[:, :-1]
    )
    return probabilities
