"""Warnings the estimators raise, so that users can filter or catch them by class."""

from sklearn.exceptions import ConvergenceWarning


class DivergenceWarning(ConvergenceWarning):
    """The training loss became NaN or infinite; the last good weights were kept."""


class InterruptedFitWarning(UserWarning):
    """``fit`` was interrupted (Ctrl-C); the model trained so far was kept."""


class RefitWarning(ConvergenceWarning):
    """The refit on all the training data (``refit=True``) did not run to its end
    (``max_time`` ran out, its loss diverged or a callback stopped it); the
    early-stopped model was kept."""


class InconsistentVersionWarning(UserWarning):
    """A model saved by another version of sklearn-rnn was loaded.

    Like scikit-learn's warning of the same name: the model may still work, but nothing
    promises it. Refit it with this version when you can.

    Attributes
    ----------
    estimator_name : str
    current_version, original_version : str
    """

    def __init__(self, *, estimator_name, current_version, original_version):
        self.estimator_name = estimator_name
        self.current_version = current_version
        self.original_version = original_version

    def __str__(self):
        return (
            f"Trying to load {self.estimator_name} saved by sklearn-rnn "
            f"{self.original_version} with version {self.current_version}. This might "
            "lead to breaking code or invalid results. Use at your own risk."
        )
