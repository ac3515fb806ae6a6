"""LSTMSequenceTagger: one label per token or frame.

The recipe: token features (a word embedding plus character features of each token's
spelling, or numeric channels as they are) -> a bidirectional LSTM -> a score per tag
and step -> a linear-chain CRF trained on its log-likelihood, decoded by Viterbi under
the tag scheme's rules. Chunk tags are learned in IOBES whatever scheme they come in,
and given back in that scheme. ``n_networks`` such networks (two by default) train
together as one :class:`~sklearn_rnn.nn.TaggerEnsembleNet`, decoded as one.
"""

import copy
import numbers

import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, _fit_context
from sklearn.utils import TransformerTags
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from . import _data, _inference, _schemes
from ._base import BaseRNN, _reader_state
from ._docs import fill_doc
from ._parameters import ENCODER, NUMERIC_INPUT, PRETRAINED, TRAINING, constraints
from ._reader import TokenReader
from .metrics import entity_f1_score, token_accuracy_score
from .nn import networks

# The scheme the network learns chunk tags in: it marks both ends of every chunk.
INTERNAL_SCHEME = "IOBES"
_PREFIX_ORDER = {"O": 0, "B": 1, "I": 2, "E": 3, "S": 4}


@fill_doc
class LSTMSequenceTagger(ClassNamePrefixFeaturesOutMixin, BaseRNN):
    """Recurrent sequence tagger: one label per token (or per frame), with a CRF.

    For named-entity recognition, part-of-speech tagging, chunking, or a label per
    step of a sensor series. Each token is represented by a word embedding and by
    character features of its spelling (so unseen words still carry their capitals,
    digits and affixes), read in context by a bidirectional LSTM, scored for every
    tag, and decoded jointly by a linear-chain CRF that only allows tag sequences
    forming well-formed chunks. Two such networks train side by side by default, each
    from its own initial weights, and are decoded as one (``n_networks``): a model
    that depends less on the seed, and scores higher, than either alone.

    ``score`` is the entity-level micro F1 (conlleval's figure, as
    :func:`~sklearn_rnn.metrics.entity_f1_score` computes it) when the labels follow a
    chunk scheme (IOB1, IOB2/BIO, IOE1, IOE2, IOBES/BIOES or BILOU, with ``-TYPE``
    suffixes; detected from ``y`` or set by ``tag_scheme``), and token accuracy
    otherwise.

    Parameters
    ----------
    {{encoder_parameters}}

    char_features : bool, default=True
        Add features that a character CNN computes from each token's spelling, in its
        original case even when ``lowercase`` is True. Only for string tokens.

    char_embedding_dim : int, default=25
        Size of the character embedding.

    char_filters : int, default=100
        Number of character features per token (convolution filters of width 3).

    feature_embedding_dim : int, default=25
        Size of the embedding of each categorical token feature, for tokens given as
        tuples ``(word, feature, ...)`` (see ``fit``).

    word_dropout : float, default=0.25
        Unknown-word replacement while training: a word seen ``c`` times in ``fit``
        is replaced by the unknown symbol with probability
        ``word_dropout / (word_dropout + c)`` (Kiperwasser and Goldberg 2016), so rare
        words often and frequent ones almost never (0.25: a word seen once a fifth of
        the time, twice a ninth), and the network learns to tag words it has never
        seen from their spelling and context. 0 turns it off.

    crf : bool, default=True
        Decode with a linear-chain CRF trained on the sentence's log-likelihood.
        ``False`` trains each token's softmax alone (cross-entropy); decoding still
        keeps to the scheme's rules, with the steps otherwise independent.

    n_networks : int, default=2
        How many networks to train side by side in one model, each from its own
        initial weights and draws of dropout, on the same batches. They are decoded
        as one (the mean of their CRF scores, as :class:`EnsembleTagger` pools
        taggers) and early stopping watches their joint F1. Two networks depend
        less on the seed than one and score higher (CoNLL-2003, words alone, seeds
        0-4: 0.8543-0.8614 on testb, a spread of 0.007, against 0.8409-0.8548 for
        one network), for twice the time per epoch to fit and to predict, and
        often more epochs (7-15 minutes a fit on two threads here); 1 trains a
        single network. ``transform`` joins the networks' vectors.

    tag_scheme : {"auto", "IOB1", "IOB2", "BIO", "IOE1", "IOE2", "IOBES", "BIOES", \
"BILOU"} or None, default="auto"
        How labels mark chunks. ``"auto"`` detects it from ``y`` (plain labels such as
        part-of-speech tags have none); a named scheme is checked against ``y``;
        ``None`` treats labels as plain labels. With a scheme, predicted tags always
        form well-formed chunks in it and ``score`` is entity-level F1.

    {{pretrained_parameters}}

    lowercase : bool, default=True
        Look words up in lowercase (the character features still see the case).

    {{vocabulary_parameters}}

    {{numeric_parameters}}

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

    transition_scores_ : ndarray of shape (n_tags, n_tags)
        The CRF's score of tag ``tags_[j]`` following tag ``tags_[i]`` at ``[i, j]``
        (sklearn-crfsuite's ``transition_features_`` as an array), ``-inf`` where
        the tag scheme forbids it. All zeros but those with ``crf=False``, which
        learns no transitions.

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

    _reader_class = TokenReader
    _defaults = {
        **ENCODER,
        "cell": "lstm",
        "hidden_size": 200,
        "embedding_dim": 100,
        "char_features": True,
        "char_embedding_dim": 25,
        # 100 features of the spelling, and a word seen c times replaced by the unknown
        # symbol with probability 0.25 / (0.25 + c) (Kiperwasser and Goldberg's
        # value): the tagger leans less on words it saw a few times, which a new
        # text's names mostly are. CoNLL-2003 seeds 0-4 (benchmarks/results.md, issue
        # 24): 0.8409-0.8548 on testb, against 0.8385-0.8491 with 0.1 and 0.8302-0.8469
        # with 50 filters and 0.05; WNUT-17 and CoNLL-2003 with the part of speech
        # gained too
        "char_filters": 100,
        "feature_embedding_dim": 25,
        "word_dropout": 0.25,
        "crf": True,
        # two networks decoded as one: CoNLL-2003 seeds 0-4 scored 0.8543-0.8614 on
        # testb (spread 0.007, against 0.0139 for one network) in 7-15
        # minutes a fit on two threads (benchmarks/results.md, issue 24)
        "n_networks": 2,
        "tag_scheme": "auto",
        **PRETRAINED,
        "lowercase": True,
        "min_frequency": 1,
        "max_vocabulary_size": None,
        **NUMERIC_INPUT,
        **TRAINING,
        # an average of the weights over about the last thousand batches: a steadier
        # held-out F1 to stop on, and a steadier model (issue 24: CoNLL-2003 seeds
        # 0-4 in benchmarks/results.md, 0.8302-0.8469; WNUT-17 seed 0, by a scratch
        # script, 0.1467 against 0.1440 without)
        "ema_decay": 0.999,
    }
    _parameter_constraints: dict = constraints(
        _defaults,
        feature_embedding_dim=[Interval(numbers.Integral, 1, None, closed="left")],
        crf=["boolean"],
        tag_scheme=[StrOptions({"auto", *_schemes.SCHEMES, *_schemes.ALIASES}), None],
    )

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

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one epoch on ``X, y``, continuing from the current weights:
        how to train on more sentences than memory holds, a chunk at a time.

        The first call learns the vocabulary (and the characters, features or
        channel scaling) from its sentences, so make its chunk representative:
        words that only later chunks bring are read as unknown, as at predict
        time. It also detects the tag scheme (``tag_scheme="auto"``) and needs
        ``classes``.

        Parameters
        ----------
        X, y, sample_weight
            As in :meth:`fit`.
        classes : array-like of labels, default=None
            Every label that any call will see (``"B-PER"``, ``"I-PER"``,
            ``"O"``, ...). Required on the first call.

        Returns
        -------
        self : LSTMSequenceTagger
        """
        self._check_partial_fit_classes(classes)
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

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
        paths = self._run(X, _decode, _inference.per_step)
        return self._labels_of_paths(paths)

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
        check_is_fitted(self, "module_")
        mapping = None
        if self.tag_scheme_ is not None:
            context, table = self._scheme_table()
            onehot = _schemes.table_onehot(table, len(self.classes_))
            mapping = (context, torch.from_numpy(onehot))

        def probabilities(module, batch):
            scores = module(batch.inputs, batch.lengths).double()
            pairs = mapping is not None and mapping[0] is not None
            unary, pair = module.marginals(scores, batch.lengths, pairs=pairs)
            return _class_probabilities(unary, pair, batch.lengths, mapping)

        return self._run(X, probabilities, _inference.per_step)

    def decision_function(self, X):
        """The score of each tag of ``tags_`` at each token: what the CRF decodes
        besides its own start, transition and end scores (with ``crf=False``, the
        log-probabilities of each token's softmax).

        Parameters
        ----------
        X : list of token lists, or list of arrays

        Returns
        -------
        list of ndarray of shape (n_tokens_i, n_tags)
        """
        return self._run(
            X,
            lambda module, batch: module.emissions(module(*batch[:2])),
            _inference.per_step,
        )

    def transform(self, X):
        """The contextual vector of each token: the recurrent layer's outputs.

        Parameters
        ----------
        X : list of token lists, or list of arrays

        Returns
        -------
        list of ndarray of shape (n_tokens_i, hidden_size * (2 if bidirectional else 1))
        """
        return self._run(
            X, lambda module, batch: module.encode(*batch[:2]), _inference.per_step
        )

    @property
    def _n_features_out(self):
        return sum(network.encoder.output_size for network in networks(self.module_))

    @property
    def transition_scores_(self):
        crf = self.module_.crf
        scores = crf.transitions.detach().cpu().numpy().astype(np.float64)
        allowed = crf.allowed_transitions.cpu().numpy()
        return np.where(allowed, scores, -np.inf)

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
        return self._score_labels(self.predict(X), y)

    # ------------------------------------------------------------------ decoding
    # EnsembleTagger decodes its members' pooled scores with these: a tagger that
    # predicts through another network (_with_network), and labels and scores read
    # as this tagger reads them.

    def _with_network(self, module):
        """A shallow copy of this fitted tagger that predicts through ``module``, a
        network that reads the same inputs and scores the same tags."""
        twin = copy.copy(self)
        twin.module_ = module
        return twin

    def _labels_of_paths(self, paths):
        """Label lists of the network's tag paths (indices into ``tags_``)."""
        if self.tag_scheme_ is None:
            return [self.classes_[path].tolist() for path in paths]
        context, table = self._scheme_table()
        return [
            self.classes_[_schemes.read_table(context, table, path)].tolist()
            for path in paths
        ]

    def _score_labels(self, predicted, y):
        """Entity micro F1 of ``predicted`` against ``y`` with a chunk scheme, else
        token accuracy."""
        y = self._label_lists(y, [len(p) for p in predicted])
        if self.tag_scheme_ is not None:
            return entity_f1_score(y, predicted, zero_division=0.0)
        return token_accuracy_score(y, predicted)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        # transform gives one vector per token (a list of arrays), not a table
        tags.transformer_tags = TransformerTags(preserves_dtype=[])
        return tags

    # ------------------------------------------------------------------ the recipe

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

    def _encode_targets(self, y, lengths, *, fit, classes=None):
        """One tag index per token (IOBES with a scheme), as a Ragged."""
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
        if fit:
            self.classes_ = np.unique(np.asarray(flat if classes is None else classes))
            if len(self.classes_) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs at least 2 distinct labels in y, "
                    f"but it holds only {self.classes_.tolist()[0]!r}"
                )
            self.tag_scheme_ = self._resolve_scheme(labels, strings)
        if not fit or classes is not None:
            unseen = ~np.isin(np.asarray(flat), self.classes_)
            if unseen.any():
                label = flat[int(np.argmax(unseen))]
                raise ValueError(
                    f"y holds the label {label!r}, which is not among the labels "
                    f"{self.classes_.tolist()} this model was first fitted with"
                )
            if not fit and self.tag_scheme_ is not None:
                _schemes.check_tags(labels, self.tag_scheme_)
        if self.tag_scheme_ is None:
            ids = np.searchsorted(self.classes_, np.asarray(flat))
            if fit:
                self.tags_ = self.classes_.tolist()
        else:
            internal = [_schemes.to_iobes(seq) for seq in labels]
            if fit:
                found = {tag for seq in internal for tag in seq}
                if classes is not None:  # every tag the types of classes need
                    found |= _iobes_tags(self.classes_)
                self.tags_ = sorted(found, key=_internal_order)
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

    def _upgrade_fitted_state(self):
        super()._upgrade_fitted_state()
        spec = vars(self).get("_module_spec")
        if isinstance(spec, tuple) and spec and spec[0] == "SequenceTaggerNet":
            # fitted before n_networks existed (one network), or with n_networks=1
            self.n_networks = 1

    @property
    def _network(self):
        return "SequenceTaggerNet" if self.n_networks == 1 else "TaggerEnsembleNet"

    def _network_kwargs(self, data):
        several = {} if self.n_networks == 1 else {"n_members": self.n_networks}
        return dict(
            **several,
            n_tags=len(self.tags_),
            crf=self.crf,
            char_embedding_dim=self.char_embedding_dim,
            char_filters=self.char_filters,
            word_dropout=self.word_dropout,
            feature_embedding_dim=self.feature_embedding_dim,
            **self._constraints(),
        )

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

    def _validation_outputs(self, module, batch, out):
        """The decoded tag paths of a held-out batch and their true tags."""
        decoded = module.decode(out.outputs, batch.lengths).cpu().numpy()
        targets = batch.targets.cpu().numpy()
        lengths = batch.lengths.tolist()
        weights = batch.weights.cpu().numpy()
        return [
            (decoded[row, :n], targets[row, :n], weights[row])
            for row, n in enumerate(lengths)
        ]

    def _validation_score(self, collected):
        """Entity micro F1 of the held-out tags, or their weighted token accuracy."""
        rows = [row for batch in collected for row in batch]
        if self.tag_scheme_ is not None:
            tags = np.asarray(self.tags_, dtype=object)
            return entity_f1_score(
                [tags[true].tolist() for _, true, _ in rows],
                [tags[path].tolist() for path, _, _ in rows],
                zero_division=0.0,
            )
        right = sum(w * (path == true).sum() for path, true, w in rows)
        total = sum(w * len(true) for _, true, w in rows)
        return float(right / total)

    # ------------------------------------------------------------------ fitted state

    @property
    def char_vocabulary_(self):
        return _reader_state(self, "char_vocabulary", "symbols")

    @property
    def feature_vocabularies_(self):
        return _reader_state(self, "feature_vocabularies", "symbols")


def _decode(module, batch):
    return module.decode(module(batch.inputs, batch.lengths), batch.lengths)


def _is_integer(label):
    return isinstance(label, numbers.Integral | np.bool_)


def _iobes_tags(labels):
    """All the IOBES tags of the chunk types among ``labels``, and ``"O"``."""
    types = {
        split[1]
        for split in map(_schemes.split_tag, labels)
        if split is not None and split[0] != "O"
    }
    return {"O"} | {_schemes.join_tag(p, t) for t in types for p in "SBIE"}


def _internal_order(tag):
    prefix, type_ = _schemes.split_tag(tag)
    return (prefix != "O", type_, _PREFIX_ORDER[prefix])


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
