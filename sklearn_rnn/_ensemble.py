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

import numpy as np
from joblib import effective_n_jobs
from sklearn.base import BaseEstimator, MetaEstimatorMixin, _fit_context, clone
from sklearn.utils import TransformerTags, check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted

from . import _persistence
from ._tagger import LSTMSequenceTagger
from .exceptions import InterruptedFitWarning
from .nn import TaggerEnsembleNet


@_persistence.register
class EnsembleTagger(MetaEstimatorMixin, BaseEstimator):
    """Several :class:`LSTMSequenceTagger` trained from different seeds, decoded as one.

    Each member is a clone of ``estimator`` with its own ``random_state`` and is fitted
    on the same data. ``predict`` decodes the members' mean CRF scores with Viterbi (the
    tag sequence with the highest geometric mean of the members' probabilities; it
    keeps to the tag scheme); ``predict_proba`` is the mean of their marginals.
    Training and prediction cost ``n_estimators`` times one member's; give the
    members a ``max_time`` to bound the fit. Keep a fitted ensemble with :meth:`save`
    (read back by :func:`~sklearn_rnn.load`; no code runs on loading), ``joblib`` or
    ``pickle``.

    Parameters
    ----------
    estimator : LSTMSequenceTagger, default=None
        The settings every member shares (its ``random_state`` is replaced).
        ``None`` means ``LSTMSequenceTagger(n_networks=1)``: members of one network
        each (a tagger's default is two, which this pools the same way).

    n_estimators : int, default=3
        How many taggers to train.

    n_jobs : int or None, default=None
        How many members to fit at once, each in its own process (joblib's; ``-1``
        means one per CPU core, ``None`` one at a time unless a
        :func:`joblib.parallel_backend` context says otherwise). Each process gets
        its share of the CPU threads, which on a few cores often trains a pair
        faster side by side than one after the other (``benchmarks/results.md``);
        with ``max_time`` set, one member's budget bounds the whole fit. Results
        agree with ``n_jobs=None`` up to the rounding that a different thread count
        brings.

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
        base = self._base()
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
        in_turn = effective_n_jobs(self.n_jobs) == 1
        for i, member in enumerate(new):
            # whose epoch lines these are; members fitted side by side write plain
            # lines, never redrawing the terminal line another process draws
            member._progress = {
                "label": f"member {i + 1}/{len(new)}",
                "plain": not in_turn,
            }
        if in_turn:
            members = _fit_in_turn(new, X, y, fit_params)
        else:
            members = Parallel(n_jobs=self.n_jobs)(
                delayed(_fit_member)(member, X, y, **fit_params) for member in new
            )
        for member in members:
            vars(member).pop("_progress", None)
        self._set_members(members)
        return self

    def _base(self):
        """``estimator``, or the default member: a tagger of one network (the
        ensemble pools its members as a tagger pools its ``n_networks``)."""
        if self.estimator is None:
            return LSTMSequenceTagger(n_networks=1)
        return self.estimator

    @classmethod
    def from_estimators(cls, estimators):
        """An ensemble of taggers fitted elsewhere (in other processes or jobs, say).

        They must read input alike (the same vocabularies and settings: fitted with
        the same parameters on the same data, seeds aside) and tag alike (the same
        labels and scheme).

        Parameters
        ----------
        estimators : list of fitted LSTMSequenceTagger

        Returns
        -------
        ensemble : EnsembleTagger
            Fitted: ``estimators_`` holds the taggers as given; ``estimator`` is a
            clone of the first, ``n_estimators`` their number.
        """
        members = list(estimators)
        if not members:
            raise ValueError("from_estimators needs at least one fitted tagger")
        for i, member in enumerate(members):
            if not isinstance(member, LSTMSequenceTagger):
                raise TypeError(
                    "EnsembleTagger pools LSTMSequenceTagger models; estimator "
                    f"{i} is a {type(member).__name__}"
                )
            check_is_fitted(member, "module_")
        ensemble = cls(clone(members[0]), n_estimators=len(members))
        ensemble._set_members(members)
        return ensemble

    def _set_members(self, members):
        first = members[0]
        for i, member in enumerate(members[1:], start=1):
            if not member.reader_.reads_like(first.reader_):
                raise ValueError(
                    f"Tagger {i} reads input otherwise than tagger 0 (another "
                    "vocabulary or other reading parameters): an ensemble's members "
                    "must be fitted with the same settings on the same data"
                )
            if member.n_networks != first.n_networks:
                raise ValueError(
                    f"Tagger {i} has n_networks={member.n_networks} and tagger 0 "
                    f"n_networks={first.n_networks}: an ensemble's members must be "
                    "fitted with the same settings"
                )
            if (member.tags_, member.tag_scheme_) != (first.tags_, first.tag_scheme_):
                raise ValueError(
                    f"Tagger {i} tags otherwise than tagger 0 (tags "
                    f"{member.tags_} in {member.tag_scheme_}, against {first.tags_} "
                    f"in {first.tag_scheme_})"
                )
        self.estimators_ = members
        self.classes_ = first.classes_
        self.tag_scheme_ = first.tag_scheme_

    def _pooled(self):
        """The first member, predicting through the members' pooled network."""
        check_is_fitted(self, "estimators_")
        members = self.estimators_
        network = TaggerEnsembleNet(
            [member.module_ for member in members], mean_marginals=True
        )
        return members[0]._with_network(network)

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
        return self._pooled().predict(X)

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
        return self._pooled().predict_proba(X)

    def transform(self, X):
        """The members' contextual vectors of each token, joined.

        Parameters
        ----------
        X : list of token lists, or list of arrays

        Returns
        -------
        list of ndarray of shape (n_tokens_i, sum of the members' output sizes)
        """
        return self._pooled().transform(X)

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
        pooled = self._pooled()
        return pooled._score_labels(pooled.predict(X), y)

    def to(self, device):
        """Move every member's network to ``device`` (see
        :meth:`LSTMSequenceTagger.to`). Returns ``self``."""
        check_is_fitted(self, "estimators_")
        for member in self.estimators_:
            member.to(device)
        return self

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
        # what its members read: token lists of strings, 2-D and 3-D numeric arrays
        member = self._base().__sklearn_tags__().input_tags
        tags.input_tags.string = member.string
        tags.input_tags.three_d_array = member.three_d_array
        # transform gives one vector per token (a list of arrays), not a table
        tags.transformer_tags = TransformerTags(preserves_dtype=[])
        return tags


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
