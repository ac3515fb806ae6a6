"""TrainingHistoryDisplay: the training curves of a fitted estimator, drawn as
scikit-learn's displays draw (``from_estimator``, ``plot(ax=...)``, the artists kept
as attributes). matplotlib is imported only to draw."""

import numpy as np


class TrainingHistoryDisplay:
    """Training curves: the training loss of each epoch and, with early stopping, the
    held-out loss and score.

    Make one with :meth:`from_estimator`; ``plot`` draws it again on other axes.
    The losses share the left axis; the validation score, whose scale differs
    (accuracy, F1, log-likelihood), gets an axis of its own on the right.

    Parameters
    ----------
    epochs : array-like of shape (n_epochs,)
    train_loss : array-like of shape (n_epochs,)
        Mean training loss of each epoch.
    valid_loss, valid_score : array-like of shape (n_epochs,) or None, default=None
        Loss and score on the held-out data after each epoch.
    estimator_name : str or None, default=None
        Shown in the title.

    Attributes
    ----------
    lines_ : dict of str to matplotlib Line2D
        ``"train_loss"``, and ``"valid_loss"`` and ``"valid_score"`` where drawn.
    ax_ : matplotlib Axes
        The axes of the losses.
    score_ax_ : matplotlib Axes or None
        The right-hand axes of the validation score, or ``None``.
    figure_ : matplotlib Figure

    See Also
    --------
    sklearn.metrics.ConfusionMatrixDisplay : A display of the same make.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn_rnn import RNNClassifier, TrainingHistoryDisplay
    >>> X = ["a good film", "a bad film"] * 10
    >>> clf = RNNClassifier(hidden_size=8, max_iter=5, random_state=0)
    >>> clf = clf.fit(X, ["pos", "neg"] * 10)
    >>> display = TrainingHistoryDisplay.from_estimator(clf)
    >>> display.lines_["train_loss"].get_ydata().shape
    (5,)
    """

    def __init__(
        self,
        *,
        epochs,
        train_loss,
        valid_loss=None,
        valid_score=None,
        estimator_name=None,
    ):
        self.epochs = epochs
        self.train_loss = train_loss
        self.valid_loss = valid_loss
        self.valid_score = valid_score
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, name=None, score=True, **kwargs):
        """Read the curves off a fitted estimator's ``history_`` and draw them.

        Parameters
        ----------
        estimator : fitted sklearn-rnn estimator
            Any estimator of this package but :class:`EnsembleTagger` (draw each of
            its ``estimators_``).
        ax, name, score, **kwargs
            As for :meth:`plot`; ``name`` defaults to the estimator's class name.

        Returns
        -------
        display : TrainingHistoryDisplay
        """
        history = getattr(estimator, "history_", None)
        if history is None:
            raise TypeError(
                f"{type(estimator).__name__} has no history_ to draw: pass a fitted "
                "sklearn-rnn estimator (for an EnsembleTagger, one of its "
                "estimators_)"
            )

        def column(key):
            if not all(key in record for record in history):
                return None
            return np.array([record[key] for record in history], dtype=float)

        display = cls(
            epochs=column("epoch"),
            train_loss=column("train_loss"),
            valid_loss=column("valid_loss"),
            valid_score=column("valid_score"),
            estimator_name=type(estimator).__name__,
        )
        return display.plot(ax=ax, name=name, score=score, **kwargs)

    def plot(self, ax=None, *, name=None, score=True, **kwargs):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None
            Where to draw; ``None`` makes a figure (with a layout that keeps every
            axis label inside it).
        name : str or None, default=None
            The title; ``None`` is ``estimator_name``.
        score : bool, default=True
            Draw the validation score on a right-hand axis (when there is one).
        **kwargs : dict
            Passed to matplotlib's ``plot`` for every line.

        Returns
        -------
        display : TrainingHistoryDisplay
            ``self``, with ``lines_``, ``ax_``, ``score_ax_`` and ``figure_`` set.
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError as exc:  # pragma: no cover - matplotlib is a test extra
            raise ImportError(
                "TrainingHistoryDisplay needs matplotlib: pip install matplotlib"
            ) from exc
        if ax is None:
            _, ax = plt.subplots(figsize=(5.5, 3.5), layout="constrained")
        style = {"marker": "o", "markersize": 3, **kwargs}
        epochs = np.asarray(self.epochs)
        lines = {}
        (lines["train_loss"],) = ax.plot(
            epochs, self.train_loss, label="training loss", **style
        )
        if self.valid_loss is not None:
            (lines["valid_loss"],) = ax.plot(
                epochs, self.valid_loss, label="validation loss", **style
            )
        ax.set(xlabel="epoch", ylabel="loss")
        handles = list(lines.values())
        score_ax = None
        if score and self.valid_score is not None:
            score_ax = ax.twinx()
            (lines["valid_score"],) = score_ax.plot(
                epochs,
                self.valid_score,
                label="validation score",
                color="C2",
                linestyle="--",
                **style,
            )
            score_ax.set_ylabel("validation score")
            handles.append(lines["valid_score"])
        ax.legend(handles=handles, loc="best")
        title = name if name is not None else self.estimator_name
        if title:
            ax.set_title(title)
        self.lines_, self.ax_, self.score_ax_ = lines, ax, score_ax
        self.figure_ = ax.figure
        return self
