"""RNNTranslator: a sequence in, a sequence of another length out.

The recipe: the source read as every estimator reads ``X`` -> the shared recurrent
encoder -> an autoregressive decoder with attention over the encoder's states
(:class:`~sklearn_rnn.nn.Seq2SeqNet`), trained with teacher forcing on the
cross-entropy of each target symbol and its end; decoded greedily or by beam search,
and the symbols joined back into the form ``fit`` got the targets in.
"""

import numbers
import re
from collections import Counter

import numpy as np
import torch
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from . import _data, _inference, _persistence
from ._base import BaseRNN
from ._docs import fill_doc
from ._parameters import (
    ENCODER,
    NUMERIC_INPUT,
    PRETRAINED,
    TEXT_INPUT,
    TRAINING,
    constraints,
)
from .metrics import sequence_accuracy_score
from .nn import ATTENTIONS, EOS, N_TARGET_SPECIAL, UNKNOWN

_WHITE = re.compile(r"\s")


@fill_doc
class RNNTranslator(BaseRNN):
    """Recurrent encoder-decoder with attention: a sequence in, a sequence of another
    length out.

    For spelling to pronunciation, transliteration, spelling correction, normalising
    dates and numbers, short translations, or a sensor trace to a sequence of events.
    The source is read by the recurrent encoder every estimator here shares; a
    decoder then writes the target one symbol at a time, each step attending over
    the encoder's states, until it writes an end symbol. Training feeds the decoder
    the true previous symbol (teacher forcing); prediction feeds back its own.

    Parameters
    ----------
    {{encoder_parameters}}

    decoder_hidden_size : int or None, default=None
        The decoder's hidden size (it has ``num_layers`` layers, as the encoder);
        ``None`` takes ``hidden_size`` (with ``attention="dot"``, which needs them
        equal, the encoder's output size: ``hidden_size``, doubled when
        bidirectional). The encoder's final states start the decoder as they are when
        the sizes match, through a learned linear bridge otherwise. The decoder's
        recurrent layers cost most of the time of training: a smaller one trains
        more epochs in a budget.

    target_embedding_dim : int or None, default=64
        Size of the learned embedding of the target symbols the decoder reads back;
        ``None`` feeds it one-hot vectors.

    attention : {"general", "dot", "additive"} or None, default="general"
        How each decoder step scores the encoder's states (Luong et al. 2015):
        ``"dot"`` their dot product with the decoder's state, ``"general"`` through a
        learned matrix, ``"additive"`` through a small feed-forward layer (Bahdanau
        et al.); ``None`` has no attention: the decoder knows the source only through
        the encoder's final state.

    input_feeding : bool, default=False
        Also feed each decoder step the attentional vector of the step before
        (Luong et al.), so the decoder knows what it attended to. Training then
        steps through the targets one symbol at a time, which is slower.

    label_smoothing : float, default=0.1
        Train towards targets that put this much of their probability evenly on
        every symbol the decoder may write (Szegedy et al. 2016), not all of it on
        the true one: a regulariser that keeps the decoder from growing
        overconfident on the training pairs. 0 trains on the plain
        cross-entropy. ``loss_curve_`` holds the smoothed loss; ``score_samples``
        and the validation loss are always the plain log-likelihood.

    analyzer : {"auto", "char", "word"}, default="auto"
        How raw source strings split: ``"char"`` into characters, ``"word"`` with
        ``tokenizer`` (words and punctuation by default); ``"auto"`` takes
        characters when no source string of ``fit`` holds white space (single words,
        codes, dates), words otherwise. Token lists are taken as they are.

    target_analyzer : {"auto", "char", "word"}, default="auto"
        How target strings split, and so how predictions are joined back: into
        characters (joined with nothing), or at white space (joined with one space);
        ``"auto"`` as for ``analyzer``, on the targets. Targets given as token lists
        are taken as they are and predicted as lists.

    {{tokenizer_parameter}}

    lowercase : bool, default=False
        Lowercase source strings and string tokens before the vocabulary lookup
        (targets keep their case).

    {{vocabulary_parameters}}

    {{pretrained_parameters}}

    {{numeric_parameters}}

    beam_size : int, default=1
        Hypotheses kept at each step of decoding: 1 is greedy decoding (the most
        likely symbol at each step), more is beam search, slower and usually a
        little more accurate.

    length_penalty : float, default=0.0
        With beam search, rank hypotheses by their log-probability divided by
        ``((5 + length) / 6) ** length_penalty`` (Wu et al. 2016): 0 ranks by
        log-probability alone, larger values favour longer outputs.

    max_output_length : int or None, default=None
        The most symbols written per prediction; one that has not ended by then is
        cut there. ``None`` allows twice the longest target of ``fit``, plus 10.

    {{training_parameters}}

    Attributes
    ----------
    target_vocabulary_ : dict
        Target symbol to index (from 4: 0 is padding, 1 an unknown symbol, 2 the
        start and 3 the end of a sequence).

    max_output_length_ : int
        The length at which decoding stops a prediction.

    {{training_attributes}}

    See Also
    --------
    sklearn_rnn.metrics.sequence_accuracy_score : What ``score`` reports.
    sklearn_rnn.metrics.token_error_rate : Phoneme, character or word error rate.
    sklearn_rnn.datasets.load_cmudict : Spellings and their pronunciations.

    Notes
    -----
    Not a classifier nor a regressor for scikit-learn: ``y`` is ragged, so give
    ``GridSearchCV`` and ``cross_val_score`` an integer ``cv`` (plain K-fold).
    ``score`` is the exact-match accuracy, and ``score_samples`` the log-likelihood
    of each target given its source.

    Examples
    --------
    >>> from sklearn_rnn import RNNTranslator
    >>> X = ["abc", "bca", "cab", "acb", "bac", "cba"] * 20
    >>> y = [word[::-1] for word in X]  # reversed spellings
    >>> model = RNNTranslator(
    ...     hidden_size=32, embedding_dim=16, max_iter=60, learning_rate_init=0.01,
    ...     random_state=0,
    ... ).fit(X, y)
    >>> model.predict(["abc", "cab"])
    ['cba', 'bac']
    >>> float(model.score(X, y))
    1.0
    """

    _network = "Seq2SeqNet"
    _defaults = {
        **ENCODER,
        "cell": "lstm",
        "hidden_size": 256,
        # two layers of encoder and decoder, the decoder half as wide as the
        # bidirectional encoder's output: CMUdict's test WER 0.2498 greedy in 30
        # minutes on two CPU cores (0.2506 in a run before), against 0.2655 for one
        # layer with a decoder as wide as the encoder's output (benchmarks/results.md)
        "num_layers": 2,
        "dropout": 0.3,
        "embedding_dim": 64,
        "decoder_hidden_size": None,
        "target_embedding_dim": 64,
        "attention": "general",
        "input_feeding": False,
        "label_smoothing": 0.1,
        "analyzer": "auto",
        "target_analyzer": "auto",
        **TEXT_INPUT,
        "lowercase": False,
        **PRETRAINED,
        **NUMERIC_INPUT,
        "beam_size": 1,
        "length_penalty": 0.0,
        "max_output_length": None,
        **TRAINING,
        # chosen on CMUdict's training words (benchmarks/bench_g2p.py): larger
        # batches use a CPU better, and annealing the learning rate to zero over
        # the planned epochs (or max_time) gained most; bfloat16 where the hardware
        # has it trains 29 epochs in 30 minutes on two CPU cores instead of 24
        "max_iter": 50,
        "batch_size": 128,
        "learning_rate": "cosine",
        "precision": "auto",
    }
    _parameter_constraints: dict = constraints(
        _defaults,
        decoder_hidden_size=[Interval(numbers.Integral, 1, None, closed="left"), None],
        target_embedding_dim=[Interval(numbers.Integral, 1, None, closed="left"), None],
        attention=[StrOptions({a for a in ATTENTIONS if a}), None],
        input_feeding=["boolean"],
        label_smoothing=[Interval(numbers.Real, 0, 1, closed="left")],
        analyzer=[StrOptions({"auto", "char", "word"})],
        target_analyzer=[StrOptions({"auto", "char", "word"})],
        beam_size=[Interval(numbers.Integral, 1, None, closed="left")],
        length_penalty=[Interval(numbers.Real, 0, None, closed="left")],
        max_output_length=[Interval(numbers.Integral, 1, None, closed="left"), None],
    )

    @fill_doc
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None):
        """Train on sources ``X`` and their targets ``y``.

        Parameters
        ----------
        {{X_fit}}
        y : list of str or list of token lists
            One target per source, of any length: strings (split as
            ``target_analyzer`` says) or lists of symbols. A source may appear
            several times with different targets (a dictionary that lists several
            pronunciations of a word).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the pairs in the loss.
        X_val, y_val : like X and y, default=None
            Held-out pairs that early stopping reads instead of holding out
            ``validation_fraction`` of ``X``.

        Returns
        -------
        self : RNNTranslator
        """
        return self._fit(X, y, sample_weight, X_val=X_val, y_val=y_val)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train for one epoch on ``X, y``, continuing from the current weights.

        The first call learns both vocabularies; target symbols that later calls
        bring and they lack are refused.

        Parameters
        ----------
        X, y, sample_weight
            As in :meth:`fit`.

        Returns
        -------
        self : RNNTranslator
        """
        return self._fit(X, y, sample_weight, incremental=True)

    @fill_doc
    def predict(self, X):
        """The target of each source, decoded greedily or by beam search.

        Parameters
        ----------
        {{X_predict}}

        Returns
        -------
        list of str or list of lists
            Strings, joined as ``fit``'s target strings were split, or token lists,
            as ``fit`` got them.
        """
        paths = self._run(X, self._decoder(), _inference.per_item)
        return self.target_reader_.decode([symbols for symbols, _ in paths])

    @fill_doc
    def predict_with_attention(self, X):
        """The predictions and the attention behind each of their symbols, to draw
        the alignment of a source and its output.

        Parameters
        ----------
        {{X_predict}}

        Returns
        -------
        predictions : list of str or list of lists
            As :meth:`predict` gives them.
        attention : list of ndarray of shape (n_output_symbols_i, n_source_steps_i)
            For each prediction, row ``t`` holds the weights of the source steps
            (tokens, characters or time steps) when its ``t``-th symbol was
            written; rows sum to 1 (all zeros with ``attention=None``).
        """
        paths = self._run(X, self._decoder(attention=True), _inference.per_item)
        predictions = self.target_reader_.decode([symbols for symbols, _ in paths])
        return predictions, [weights for _, weights in paths]

    def score(self, X, y):
        """Exact-match accuracy: the share of sources whose prediction equals its
        target (:func:`~sklearn_rnn.metrics.sequence_accuracy_score`; a sample may
        give several references, any of which counts).

        Parameters
        ----------
        X : sources, as for :meth:`predict`
        y : list of str or list of token lists
            The targets, each one or a list of several references.

        Returns
        -------
        float
        """
        return sequence_accuracy_score(y, self.predict(X))

    def score_samples(self, X, y):
        """The log-likelihood of each target given its source: the summed
        log-probability of its symbols and of its end (symbols unseen in ``fit``
        are scored as the unknown symbol).

        Parameters
        ----------
        X : sources, as for :meth:`predict`
        y : list of str or list of token lists
            One target per source.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "module_")
        sources = self._read_X(X, fit=False)
        targets = self.target_reader_.read(y, len(sources), unknown="score")
        data = _data.SequenceDataset(sources, targets)
        return _inference.per_sequence(
            self.module_,
            data,
            lambda module, batch: module.log_likelihood(*batch[:3]),
            self.batch_size,
        ).astype(np.float64)

    @property
    def target_vocabulary_(self):
        return self.target_reader_.vocabulary

    # ------------------------------------------------------------------ the recipe

    def _encode_targets(self, y, lengths, *, fit, classes=None):
        if fit:
            self.target_reader_ = TargetReader(
                owner=type(self).__name__, analyzer=self.target_analyzer
            )
            targets = self.target_reader_.fit_read(y, len(lengths))
            longest = int(targets.lengths.max()) - 1  # the end symbol aside
            self.max_output_length_ = (
                2 * longest + 10
                if self.max_output_length is None
                else self.max_output_length
            )
            return targets
        return self.target_reader_.read(y, len(lengths))

    def _network_kwargs(self, data):
        return dict(
            n_target_symbols=len(self.target_reader_.vocabulary) + N_TARGET_SPECIAL,
            decoder_hidden_size=self.decoder_hidden_size,
            target_embedding_dim=self.target_embedding_dim,
            attention=self.attention,
            input_feeding=self.input_feeding,
        )

    def _prepare_training(self):
        self.module_.label_smoothing = self.label_smoothing

    def _decoder(self, attention=False):
        """What decodes one batch: each row's symbols (and attention weights)."""
        check_is_fitted(self, "module_")
        # the parameter as it is now (decoding settings may change after fit)
        max_length = self.max_output_length or self.max_output_length_

        def decode(module, batch):
            out = module.beam_search(
                batch.inputs,
                batch.lengths,
                max_length,
                self.beam_size,
                length_penalty=self.length_penalty,
                return_attention=attention,
            )
            symbols, lengths = out[0].cpu().numpy(), out[1].tolist()
            sources = batch.lengths.tolist()
            weights = out[3].float().cpu().numpy() if attention else None
            return [
                (
                    symbols[row, :n],
                    None if weights is None else weights[row, :n, : sources[row]],
                )
                for row, n in enumerate(lengths)
            ]

        return decode

    def _validation_outputs(self, module, batch, out):
        """Greedy predictions of a held-out batch: which equal their target."""
        symbols, lengths, _ = module.greedy(
            batch.inputs, batch.lengths, self.max_output_length_
        )
        targets = batch.targets
        width = max(symbols.shape[1], targets.shape[1])
        padded = torch.nn.functional.pad(symbols, (0, width - symbols.shape[1]))
        expected = torch.nn.functional.pad(targets, (0, width - targets.shape[1]))
        expected = expected.masked_fill(expected == EOS, 0)
        right = (padded == expected).all(dim=1).double().cpu()
        return right, batch.weights.double().cpu()

    def _validation_score(self, collected):
        """Weighted exact-match accuracy of greedy predictions."""
        right = torch.cat([r for r, _ in collected])
        weights = torch.cat([w for _, w in collected])
        return float((right * weights).sum() / weights.sum())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.string = True
        return tags


@_persistence.register
class TargetReader:
    """The targets of a translator: strings split as ``analyzer`` says, or token
    lists, encoded as their symbols followed by the end symbol; and predictions
    decoded back into the same form.

    Parameters
    ----------
    owner : str
        The estimator's class name, for messages.
    analyzer : {"auto", "char", "word"}
        How target strings split (``"auto"``: characters when no target holds white
        space).
    """

    def __init__(self, *, owner, analyzer="auto"):
        self.owner = owner
        self.analyzer = analyzer
        self.strings = None  # whether fit got strings (else token lists)
        self.vocabulary = None

    def fit_read(self, y, n_samples):
        sequences = self._sequences(y, n_samples, fit=True)
        counts = Counter(symbol for seq in sequences for symbol in seq)
        self.vocabulary = {
            symbol: i
            for i, (symbol, _) in enumerate(counts.most_common(), N_TARGET_SPECIAL)
        }
        return self._encode(sequences, unknown="refuse")

    def read(self, y, n_samples, unknown="refuse"):
        """``y`` encoded; a symbol the vocabulary lacks is refused (training) or
        read as the unknown symbol (``unknown="score"``)."""
        return self._encode(self._sequences(y, n_samples, fit=False), unknown)

    def decode(self, rows):
        """Predicted symbol rows back into strings or token lists."""
        symbols = np.empty(len(self.vocabulary) + N_TARGET_SPECIAL, dtype=object)
        symbols[:N_TARGET_SPECIAL] = None
        for symbol, i in self.vocabulary.items():
            symbols[i] = symbol
        outputs = []
        for row in rows:
            tokens = [t for t in symbols[row].tolist() if t is not None]
            if self.strings:
                tokens = ("" if self.analyzer == "char" else " ").join(tokens)
            outputs.append(tokens)
        return outputs

    def _sequences(self, y, n_samples, *, fit):
        if y is None:
            raise ValueError(
                f"{self.owner} requires y to be passed, but the target y is None"
            )
        y = _data.as_samples_or_none(y)
        if isinstance(y, str) or not hasattr(y, "__len__"):
            raise TypeError(
                f"y must be a list of targets (strings or token lists), one per "
                f"source, got {type(y).__name__}"
            )
        if len(y) != n_samples:
            raise ValueError(f"X has {n_samples} samples but y has {len(y)} targets")
        if fit:
            first = next(iter(y), None)
            self.strings = isinstance(first, str)
            if self.strings and self.analyzer == "auto":
                spaced = any(isinstance(t, str) and _WHITE.search(t) for t in y)
                self.analyzer = "word" if spaced else "char"
        sequences = []
        for i, target in enumerate(y):
            if self.strings:
                if not isinstance(target, str):
                    raise TypeError(
                        f"Sample {i} of y is a {type(target).__name__}, but sample 0 "
                        "is a string: give strings only, or token lists only"
                    )
                tokens = list(target) if self.analyzer == "char" else target.split()
            else:
                if isinstance(target, str | bytes) or not isinstance(
                    target, list | tuple | np.ndarray
                ):
                    raise TypeError(
                        f"Sample {i} of y is a {type(target).__name__}: each target "
                        "must be a sequence (a string or a list of symbols)"
                        + (", as sample 0 is" if i else "")
                    )
                tokens = list(target)
                for token in tokens:
                    if not _hashable(token):
                        raise TypeError(
                            f"Sample {i} of y holds the symbol {token!r}: symbols "
                            "must be hashable"
                        )
            sequences.append(tokens)  # empty: the end symbol alone
        return sequences

    def _encode(self, sequences, unknown):
        get = self.vocabulary.get
        ids = []
        for i, seq in enumerate(sequences):
            for symbol in seq:
                index = get(symbol)
                if index is None:
                    if unknown == "refuse":
                        raise ValueError(
                            f"Sample {i} of y holds the target symbol {symbol!r}, "
                            f"which {self.owner} was not first fitted with"
                        )
                    index = UNKNOWN
                ids.append(index)
            ids.append(EOS)
        lengths = [len(seq) + 1 for seq in sequences]
        return _data.Ragged(torch.tensor(ids, dtype=torch.int64), lengths)


def _hashable(value):
    try:
        hash(value)
    except TypeError:
        return False
    return True
