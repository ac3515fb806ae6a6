"""RNNRegressor: one number (or a vector of them) per sequence."""

import numpy as np
import torch
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils.validation import check_array

from ._base import BaseManyToOne
from ._docs import fill_doc
from ._parameters import (
    BATCH_SIZE_OR_AUTO,
    CHARACTERS,
    ENCODER,
    NUMERIC_INPUT,
    PRETRAINED,
    TEXT_INPUT,
    TRAINING,
    constraints,
)


@fill_doc
class RNNRegressor(RegressorMixin, BaseManyToOne):
    """Recurrent neural network regressor: one number, or one vector, per sequence.

    Reads each sequence with an RNN, LSTM or GRU, pools its states into one vector and
    maps it linearly to the targets. Targets are standardised inside (and predictions
    scaled back), so raw units train well. The loss is the mean squared error.

    Parameters
    ----------
    {{encoder_parameters}}

    {{pooling_parameter}}

    {{input_parameters}}

    {{pretrained_parameters}}

    {{many_to_one_training_parameters}}

    {{refit_parameter}}

    Attributes
    ----------
    n_outputs_ : int
        Number of targets.

    target_mean_, target_scale_ : ndarray of shape (n_outputs,)
        The target standardisation learned in ``fit``.

    {{series_attributes}}

    {{training_attributes}}

    {{refit_attributes}}

    See Also
    --------
    RNNClassifier : The same network with class probabilities as output.
    sklearn.neural_network.MLPRegressor : Whose parameter names this class follows.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_rnn import RNNRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 8))          # 200 series of 8 steps
    >>> y = X.sum(axis=1)
    >>> reg = RNNRegressor(hidden_size=16, max_iter=40, random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.8
    True
    """

    _defaults = {
        **ENCODER,
        "pooling": "max",
        "downsample": "auto",
        "series_normalize": True,
        "series_differences": False,
        # as the classifier's: a rule on the data, not on the task (no regression
        # series to measure it on)
        "series_scale": "auto",
        # off: warping the timing of a series may change what it should predict (a
        # duration, a sum), and no regression series measured it
        "window_warp": 0.0,
        # off: no regression series measured it (the classifier's is "auto")
        "conv_branch": False,
        "n_networks": 1,
        # off: no text regression data to measure it on (the classifier's is 0.25)
        "word_dropout": 0.0,
        # off: no text regression data to measure it on (the classifier's is 10.0)
        "adversarial_eps": 0.0,
        **CHARACTERS,
        **TEXT_INPUT,
        **PRETRAINED,
        **NUMERIC_INPUT,
        **TRAINING,
        # as the classifier's: a rule on the size of the data, not on the task
        "batch_size": "auto",
        # off, unlike the classifier's: no regression data measured it (issue 23)
        "refit": False,
    }
    _parameter_constraints: dict = constraints(_defaults, batch_size=BATCH_SIZE_OR_AUTO)

    @fill_doc
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train on sequences ``X`` and their targets ``y``.

        Parameters
        ----------
        {{X_fit}}
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Numeric targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the loss.

        Returns
        -------
        self : RNNRegressor
        """
        return self._fit(X, y, sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train for one epoch on ``X, y``, continuing from the current weights.

        The first call learns the vocabulary (or channel scaling) and the target
        scaling.

        Parameters
        ----------
        X, y, sample_weight
            As in :meth:`fit`.

        Returns
        -------
        self : RNNRegressor
        """
        return self._fit(X, y, sample_weight, incremental=True)

    @fill_doc
    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        {{X_predict}}

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            1-D when ``y`` was 1-D in ``fit``.
        """
        scaled = self._outputs(X).astype(np.float64)
        with np.errstate(over="ignore"):  # beyond the float range is infinite
            y = scaled * self.target_scale_ + self.target_mean_
        return y.ravel() if self._y_1d else y

    # ------------------------------------------------------------------ the recipe

    def _encode_targets(self, y, lengths, *, fit, classes=None):
        n_samples = len(lengths)
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is "
                "None"
            )
        kind = np.asarray(y).dtype.kind
        if kind in "OUSV" and not _all_numbers(y):
            raise ValueError(
                f"{type(self).__name__} needs numeric targets, but y holds "
                f"{'strings' if kind in 'US' else 'non-numeric values'}; use "
                "RNNClassifier for labels"
            )
        y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
        if y.ndim > 2:
            raise ValueError(f"y must be 1-D or 2-D, got shape {y.shape}")
        if len(y) != n_samples:
            raise ValueError(f"X has {n_samples} samples but y has {len(y)} targets")
        y2d = y.reshape(len(y), -1)
        if fit:
            self._y_1d = y.ndim == 1
            self.n_outputs_ = y2d.shape[1]
            # statistics of y divided by its largest magnitude, then scaled back:
            # squares of targets above ~1e154 would overflow to infinity
            peak = np.abs(y2d).max(axis=0)
            peak = np.where(peak > 0, peak, 1.0)
            unit = y2d / peak
            self.target_mean_ = unit.mean(axis=0) * peak
            std = unit.std(axis=0) * peak
            self.target_scale_ = np.where(std > 0, std, 1.0)
        elif y2d.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {y2d.shape[1]} targets, but {type(self).__name__} was fitted "
                f"with {self.n_outputs_}"
            )
        # (y - mean) / scale, without forming y - mean, which may overflow
        scaled = y2d / self.target_scale_ - self.target_mean_ / self.target_scale_
        if not np.isfinite(scaled).all():
            i = int(np.argmax(~np.isfinite(scaled).all(axis=1)))
            raise ValueError(
                f"Sample {i} of y ({y[i]!r}) is too far from the targets seen in fit "
                "to be scaled as they were: rescale y"
            )
        return torch.from_numpy(scaled.astype(np.float32))

    def _network_kwargs(self, data):
        return {
            **self._head_kwargs(data),
            "n_outputs": self.n_outputs_,
            "objective": "squared_error",
        }

    def _validation_score(self, collected):
        """R^2 of the scaled held-out targets, averaged over outputs, as
        ``RegressorMixin.score``."""
        targets, weights, outputs = (
            torch.cat(part) for part in zip(*collected, strict=True)
        )
        w = weights[:, None]
        mean = (targets * w).sum(dim=0) / w.sum()
        residual = ((targets - outputs) ** 2 * w).sum(dim=0)
        total = ((targets - mean) ** 2 * w).sum(dim=0)
        r2 = torch.where(total > 0, 1 - residual / total.clamp_min(1e-12), 0.0)
        return float(r2.mean())

    def _upgrade_fitted_state(self):
        super()._upgrade_fitted_state()
        spec = vars(self).get("_module_spec")
        if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], dict):
            spec[1].setdefault("objective", "squared_error")  # older files lack it

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


def _all_numbers(y):
    try:
        np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return True
