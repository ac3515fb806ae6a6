"""EnsembleTagger: several LSTMSequenceTaggers trained alike from different seeds,
decoded together.

Taggers that differ only in their random draws (initial weights, dropout, batch
order) make partly different mistakes; pooling them is the surest gain in accuracy
that needs no other data. Each member's CRF scores a tag sequence; the ensemble
decodes the mean of those scores (the emissions and the start, transition and end
potentials, averaged), which is the sequence with the highest geometric mean of the
members' probabilities, so it obeys the tag scheme as each member does.
"""

import numbers
import warnings
from copy import deepcopy

import numpy as np
import torch
from joblib import effective_n_jobs
from sklearn.base import BaseEstimator, MetaEstimatorMixin, _fit_context, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted
from torch.nn.utils.rnn import pad_sequence

from . import _persistence
from ._tagger import LSTMSequenceTagger, _tagging_score
from .exceptions import InterruptedFitWarning

_POTENTIALS = ("start", "transitions", "end")
_DECODE_BATCH = 256


@_persistence.register
class EnsembleTagger(MetaEstimatorMixin, BaseEstimator):
    """Several :class:`LSTMSequenceTagger` trained from different seeds, decoded as one.

    Each member is a clone of ``estimator`` with its own ``random_state`` and is fitted
    on the same data. ``predict`` decodes the members' mean CRF scores with Viterbi (the
    tag sequence with the highest geometric mean of the members' probabilities; it
    keeps to the tag scheme); ``predict_proba`` is the mean of their marginals.
    Training and prediction cost ``n_estimators`` times one tagger's; give the
    members a ``max_time`` to bound the fit. Keep a fitted ensemble with :meth:`save`
    (read back by :func:`~sklearn_rnn.load`; no code runs on loading), ``joblib`` or
    ``pickle``.

    Parameters
    ----------
    estimator : LSTMSequenceTagger, default=None
        The settings every member shares (its ``random_state`` is replaced).
        ``None`` means ``LSTMSequenceTagger()``.

    n_estimators : int, default=3
        How many taggers to train.

    n_jobs : int or None, default=None
        How many members to fit at once, each in its own process (joblib's; ``-1``
        means one per CPU core, ``None`` one at a time unless a
        :func:`joblib.parallel_backend` context says otherwise). Each process gets
        its share of the CPU threads; on two cores a pair of taggers trained about
        1.8 times as fast side by side as one after the other, and with ``max_time``
        set, one member's budget bounds the whole fit. Results agree with
        ``n_jobs=None`` up to the rounding that a different thread count brings.

    random_state : int, RandomState instance or None, default=None
        Draws each member's ``random_state``: an int gives the same ensemble on a
        given device.

    Attributes
    ----------
    estimators_ : list of LSTMSequenceTagger
        The fitted members.

    classes_ : ndarray of shape (n_classes,)
        The labels, as the members give them.

    tag_scheme_ : str or None
        The chunk scheme the labels follow, or None (see :class:`LSTMSequenceTagger`).

    See Also
    --------
    LSTMSequenceTagger : one tagger, whose ``score`` this shares.

    Examples
    --------
    >>> from sklearn_rnn import EnsembleTagger, LSTMSequenceTagger
    >>> X = [["Anna", "lives", "in", "Oslo"], ["Bo", "visits", "Rome"]] * 10
    >>> y = [["B-PER", "O", "O", "B-LOC"], ["B-PER", "O", "B-LOC"]] * 10
    >>> small = LSTMSequenceTagger(hidden_size=16, max_iter=5, device="cpu")
    >>> ensemble = EnsembleTagger(small, n_estimators=2, random_state=0).fit(X, y)
    >>> ensemble.predict([["Cleo", "lives", "in", "Rome"]])[0][1:]
    ['O', 'O', 'B-LOC']
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "n_estimators": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_jobs": [numbers.Integral, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self, estimator=None, *, n_estimators=3, n_jobs=None, random_state=None
    ):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.n_jobs = n_jobs
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None):
        """Fit ``n_estimators`` clones of ``estimator`` on the same data.

        Ctrl-C while a member trains keeps that member's best weights (as a tagger
        does) and ends the fit with the members trained so far, with an
        :class:`~sklearn_rnn.exceptions.InterruptedFitWarning`. With members
        fitting side by side (``n_jobs``), Ctrl-C stops them all and keeps none.

        Parameters
        ----------
        X, y, sample_weight, X_val, y_val
            As for :meth:`LSTMSequenceTagger.fit`; each member receives them all.

        Returns
        -------
        self : EnsembleTagger
        """
        base = LSTMSequenceTagger() if self.estimator is None else self.estimator
        if not isinstance(base, LSTMSequenceTagger):
            raise TypeError(
                "EnsembleTagger pools LSTMSequenceTagger models; estimator is a "
                f"{type(base).__name__}"
            )
        seeds = check_random_state(self.random_state).randint(
            np.iinfo(np.int32).max, size=self.n_estimators
        )
        fit_params = dict(sample_weight=sample_weight, X_val=X_val, y_val=y_val)
        new = [clone(base).set_params(random_state=int(seed)) for seed in seeds]
        if effective_n_jobs(self.n_jobs) == 1:
            members = _fit_in_turn(new, X, y, fit_params)
        else:
            members = Parallel(n_jobs=self.n_jobs)(
                delayed(_fit_member)(member, X, y, **fit_params) for member in new
            )
        self.estimators_ = members
        self.classes_ = members[0].classes_
        self.tag_scheme_ = members[0].tag_scheme_
        return self

    def predict(self, X):
        """The tag sequence of each sentence that the members' mean CRF scores rank
        first.

        Parameters
        ----------
        X : list of token lists, or list of arrays

        Returns
        -------
        list of lists
            One label per token; with a tag scheme the tags form well-formed chunks.
        """
        check_is_fitted(self, "estimators_")
        members = self.estimators_
        data = self._shared_data(X)
        emissions = _mean_per_sentence([m._emission_scores(X, data) for m in members])
        crf = _mean_crf([m.module_.crf for m in members])
        return members[0]._labels_of_paths(_viterbi(crf, emissions))

    def predict_proba(self, X):
        """The members' mean marginal probability of each label at each token.

        Parameters
        ----------
        X : list of token lists, or list of arrays

        Returns
        -------
        list of ndarray of shape (n_tokens_i, n_classes)
            Columns in the order of ``classes_``; rows sum to 1.
        """
        check_is_fitted(self, "estimators_")
        data = self._shared_data(X)
        return _mean_per_sentence([m._probabilities(X, data) for m in self.estimators_])

    def _shared_data(self, X):
        """``X`` encoded once for every member when they all encode alike (the same
        settings and data give the same vocabularies), else ``None``: each member
        encodes it."""
        first, *others = self.estimators_
        if all(_encode_alike(first, member) for member in others):
            return first._inference_data(X)
        return None

    def score(self, X, y):
        """Entity-level micro F1 with a chunk scheme, else token accuracy (as
        :meth:`LSTMSequenceTagger.score`).

        Parameters
        ----------
        X : list of token lists, or list of arrays
        y : list of label lists

        Returns
        -------
        float
        """
        check_is_fitted(self, "estimators_")
        return _tagging_score(self.estimators_[0], self.predict(X), y)

    def save(self, path):
        """Write the ensemble to ``path`` in the format that holds no code and no
        pickle: the ensemble's parameters, and every member as
        :meth:`LSTMSequenceTagger.save` writes it, under ``members/<i>/`` in the same
        zip. Read it back with :func:`sklearn_rnn.load`, which checks every member
        alike.

        Parameters
        ----------
        path : str, path-like or binary file object

        Returns
        -------
        self
        """
        _persistence.save(self, path)
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


def _encode_alike(a, b):
    """Whether taggers ``a`` and ``b`` turn the same ``X`` into the same tensors."""
    if (a._input_family, a.lowercase) != (b._input_family, b.lowercase):
        return False
    if a._input_family == "symbols":
        return (a.vocabulary_, a.char_vocabulary_, a.feature_vocabularies_) == (
            b.vocabulary_,
            b.char_vocabulary_,
            b.feature_vocabularies_,
        )
    scaling = [(m.input_mean_, m.input_scale_) for m in (a, b)]
    if scaling[0][0] is None or scaling[1][0] is None:
        return scaling[0][0] is None and scaling[1][0] is None
    return all(np.array_equal(x, y) for x, y in zip(*scaling, strict=True))


def _fit_member(member, X, y, **fit_params):
    return member.fit(X, y, **fit_params)


def _fit_in_turn(members, X, y, fit_params):
    """Fit ``members`` one after another; after one whose fit was interrupted
    (Ctrl-C), stop there: the fitted ones, with a warning."""
    fitted = []
    for member in members:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", InterruptedFitWarning)
            member.fit(X, y, **fit_params)
        for w in caught:  # pass them on, to the user's filters
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        fitted.append(member)
        if any(issubclass(w.category, InterruptedFitWarning) for w in caught):
            if len(fitted) < len(members):
                warnings.warn(
                    f"Training interrupted: the ensemble keeps the {len(fitted)} of "
                    f"its {len(members)} members trained so far.",
                    InterruptedFitWarning,
                    stacklevel=4,
                )
            break
    return fitted


def _mean_per_sentence(per_member):
    """The members' mean of each sentence's array (one list of arrays per member)."""
    return [np.mean(arrays, axis=0) for arrays in zip(*per_member, strict=True)]


def _mean_crf(crfs):
    """A CPU copy of the first CRF (its masks) holding the mean of all potentials."""
    mean = deepcopy(crfs[0]).cpu()
    with torch.no_grad():
        for name in _POTENTIALS:
            values = torch.stack([getattr(crf, name).detach().cpu() for crf in crfs])
            getattr(mean, name).copy_(values.mean(dim=0))
    return mean


def _viterbi(crf, emissions):
    """Paths of ``crf`` over per-sentence ``(T_i, K)`` emissions, in input order."""
    order = np.argsort([-len(e) for e in emissions], kind="stable")
    paths = [None] * len(emissions)
    with torch.inference_mode():
        for start in range(0, len(order), _DECODE_BATCH):
            index = order[start : start + _DECODE_BATCH]
            lengths = torch.tensor([len(emissions[i]) for i in index])
            padded = pad_sequence(
                [torch.from_numpy(emissions[i]) for i in index], batch_first=True
            )
            decoded = crf.decode(padded, lengths).numpy()
            for row, i in enumerate(index):
                paths[i] = decoded[row, : lengths[row]]
    return paths
