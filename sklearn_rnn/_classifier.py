"""RNNClassifier: one label per sequence."""

import numpy as np
import torch
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._base import BaseManyToOne
from ._device import module_device
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
from .nn import NearestReadout


@fill_doc
class RNNClassifier(ClassifierMixin, BaseManyToOne):
    """Recurrent neural network classifier: one label per sequence.

    Reads each sequence with an RNN, LSTM or GRU, pools its states into one vector and
    maps it to class probabilities. Takes raw strings, token lists or numeric time
    series of any lengths, and labels of any kind; the training loop, padding and device
    moves happen inside.

    Parameters
    ----------
    {{encoder_parameters}}

    {{pooling_parameter}}

    {{input_parameters}}

    {{pretrained_parameters}}

    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, as in scikit-learn's classifiers.

    readout : {"auto", "softmax", "nearest"}, default="auto"
        How a prediction is read off the vector the network pools from a sequence
        (what :meth:`transform` gives). ``"softmax"``: the trained output layer's
        probabilities. ``"nearest"``: the class of the training sequence whose vector
        is nearest (Euclidean distance, the recurrent layer's part and the
        convolutional branch's weighed alike, each divided by the typical distance
        between training vectors in it), as 1-NN DTW reads raw series, so that a
        series much like one seen in ``fit`` gets its label; ``predict_proba`` is then
        the average of the output layer's probabilities and a one-hot vote for that
        class, which the vote always wins. ``fit`` keeps the vectors of all of ``X``
        but samples of weight 0 (``n_samples`` times :meth:`transform`'s width, in
        float32; they travel with the model and its ONNX file), and prediction
        compares each sequence with all of them; it weighs no class
        (``class_weight`` shapes the vectors only). The validation scores of early
        stopping are the softmax's. ``"auto"`` reads the nearest for numeric series
        fitted with fewer than 1,000 sequences, no validation set (as
        ``early_stopping="auto"`` has below that) and no ``class_weight``, and the
        softmax otherwise: for text, larger sets, and ``partial_fit``, which sees
        part of the data at a time and refuses ``"nearest"``. The choice is
        ``readout_``.

    {{many_to_one_training_parameters}}

    {{refit_parameter}}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels seen in ``fit``, sorted; ``predict_proba`` columns follow them.

    readout_ : {"softmax", "nearest"}
        How predictions are read (``readout``, or what ``"auto"`` chose).

    n_outputs_ : int
        Number of outputs: 1, one label per sequence (as scikit-learn's tree and
        forest classifiers count them; :class:`RNNRegressor` may have several).

    {{series_attributes}}

    {{training_attributes}}

    {{refit_attributes}}

    See Also
    --------
    RNNRegressor : The same network with a numeric output.
    sklearn.neural_network.MLPClassifier : Whose parameter names this class follows.

    Examples
    --------
    >>> from sklearn_rnn import RNNClassifier
    >>> X = ["a good film", "a great film", "a bad film", "an awful film"] * 5
    >>> y = ["pos", "pos", "neg", "neg"] * 5
    >>> clf = RNNClassifier(hidden_size=16, max_iter=30, random_state=0).fit(X, y)
    >>> clf.predict(["a good film", "an awful film"]).tolist()
    ['pos', 'neg']
    >>> clf.predict_proba(["a great film"]).shape
    (1, 2)
    """

    _defaults = {
        **ENCODER,
        "pooling": "max",
        "downsample": "auto",
        "series_normalize": True,
        # off: each channel's step-to-step change beside it won on ArrowHead,
        # OSULeaf and Japanese Vowels but lost on PLAID (issue 23; figures in
        # docs/choosing_settings.rst)
        "series_differences": False,
        # each series' scale where series differ in it by orders of magnitude (issue
        # 23; bench_ucr.py, one thread, seeds 0-2): PLAID 0.890, 0.857, 0.862
        # against 0.8175, 0.8324, 0.8361 (MiniRocket 0.8771); "auto" leaves it off
        # for the z-normalised UCR sets and Japanese Vowels
        "series_scale": "auto",
        # a tenth of each series run at twice or half its speed while training, for
        # series of a median length of 60 steps or more (issue 23; one thread, means
        # against 0): ArrowHead 0.790 against 0.775 (seeds 0-11), OSULeaf 0.848
        # against 0.841 (seeds 0-11), PLAID 0.890 against 0.875 (seeds 0-5), Trace
        # 1.0 both; Japanese Vowels (7-26 steps) lost with it
        # (0.9784 against 0.9838, medians of seeds 0-2) and keeps 0
        "window_warp": "auto",
        # a small FCN beside the GRU where the front end reads long series (issue
        # 23; bench_ucr.py, one thread, seeds 0-2, against none): OSULeaf 0.884,
        # 0.930, 0.913 against 0.868, 0.860, 0.851; PLAID 0.898, 0.888, 0.885
        # against 0.899, 0.896, 0.877; Trace 1.0 both; ArrowHead 0.789, 0.794,
        # 0.743 against 0.789, 0.829, 0.794, but over seeds 0-8 a mean of 0.814
        # against 0.802 (5 up, 3 down)
        "conv_branch": "auto",
        "n_networks": 1,
        # a word seen c times replaced by the unknown symbol with probability
        # 0.25 / (0.25 + c), as the tagger's (issue 23; against none, one thread,
        # benchmarks/results.md): CR 10-fold 0.7971 against 0.7865, MPQA 0.8550
        # against 0.8465; TREC-6 seeds 0-5 0.8913 against 0.8953 (bench_trec.py;
        # 0.8927 against 0.8913 in a scratch run): within the seeds' noise
        "word_dropout": 0.25,
        # adversarial training of the word vectors, a move of 10 (L2 norm) over each
        # sentence (issue 23; one thread, the same folds and seeds, with refit,
        # benchmarks/results.md): against 5, TREC-6 seeds 0-8 a mean of 0.9080
        # against 0.9027 (6 seeds up, 3 down), MPQA 10-fold 0.8657 against 0.8646,
        # CR 0.8135 against 0.8164 (4 folds up, 6 down); TF-IDF + LinearSVC 0.906,
        # 0.8621, 0.8101. 5 had beaten 0 on all three (CR 0.8082 against 0.7939,
        # MPQA 0.8588 against 0.8530, TREC-6 0.9033 against 0.8967). About 2.5
        # times the time of an epoch (figures in docs/choosing_settings.rst)
        "adversarial_eps": 10.0,
        **CHARACTERS,
        **TEXT_INPUT,
        **PRETRAINED,
        **NUMERIC_INPUT,
        "class_weight": None,
        # the class of the nearest training series' pooled vector for small series
        # sets (issue 23; the same fits read both ways, one thread, means against
        # the softmax): ArrowHead 0.816 against 0.801 (seeds 0-4), PLAID 0.918
        # against 0.890 (0-2), Japanese Vowels 0.985 against 0.983 (0-2), Trace 1.0
        # both (0-1), OSULeaf 0.901 against 0.908 (0-4)
        "readout": "auto",
        **TRAINING,
        # a tenth of the training sequences, between 8 and 32 (issue 23; one thread,
        # seeds 0-5, against 32): ArrowHead (36 series, batches of 8) 0.7857 against
        # 0.7552, OSULeaf (200, 20) 0.8478 against 0.8451, Trace (100, 10) 1.0 and
        # Japanese Vowels (270, 27) 0.9829 against 0.9811 on seeds 0-2; PLAID and
        # every sentence set keep 32
        "batch_size": "auto",
        # train again on all of X for the epochs early stopping chose (issue 23; one
        # thread, against refit=False on the same folds and seeds, adversarial_eps=5,
        # benchmarks/results.md): CR 10-fold 0.8164 against 0.8082, MPQA 0.8646
        # against 0.8588; TREC-6 seeds 0-8 a mean of 0.9027 against 0.9013; about
        # 1.6 times the fit
        "refit": True,
        # an average of the weights over about the last hundred batches (issue 23;
        # mean of three seeds or folds, one thread): ArrowHead 0.7752 against 0.7600,
        # OSULeaf 0.8513 against 0.8430, PLAID 0.8311 against 0.8181, Trace and
        # Japanese Vowels the same, TREC-6 0.8973 against 0.8947, CR 0.7681 against
        # 0.7734, MPQA 0.8501 against 0.8473
        "ema_decay": 0.99,
    }
    _parameter_constraints: dict = constraints(
        _defaults,
        class_weight=[dict, StrOptions({"balanced"}), None],
        readout=[StrOptions({"auto", "softmax", "nearest"})],
        batch_size=BATCH_SIZE_OR_AUTO,
    )

    @property
    def n_outputs_(self):
        check_is_fitted(self, "classes_")
        return 1

    @fill_doc
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train on sequences ``X`` and their labels ``y``.

        Parameters
        ----------
        {{X_fit}}
        y : array-like of shape (n_samples,)
            Labels of any hashable kind (strings, ints).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the loss.

        Returns
        -------
        self : RNNClassifier
        """
        return self._fit(X, y, sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one epoch on ``X, y``, continuing from the current weights.

        The first call builds the vocabulary (or channel scaling) and needs ``classes``.

        Parameters
        ----------
        X, y, sample_weight
            As in :meth:`fit`.
        classes : array-like of shape (n_classes,), default=None
            Every label that any call will see. Required on the first call.

        Returns
        -------
        self : RNNClassifier
        """
        if self.readout == "nearest":
            raise ValueError(
                "readout='nearest' compares with the vectors of all the training "
                "sequences, which fit sees and partial_fit does not (one part at a "
                "time); use fit, or readout='softmax' or 'auto' (which partial_fit "
                "reads as 'softmax')"
            )
        self._check_partial_fit_classes(classes)
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    @fill_doc
    def predict(self, X):
        """The most probable label of each sequence.

        Parameters
        ----------
        {{X_predict}}

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        logits = self._logits(X)
        return self.classes_[np.argmax(logits, axis=1)]

    @fill_doc
    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        {{X_predict}}

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        return torch.softmax(torch.from_numpy(self._logits(X)).double(), dim=1).numpy()

    @fill_doc
    def predict_log_proba(self, X):
        """Logarithms of :meth:`predict_proba`.

        Parameters
        ----------
        {{X_predict}}

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        return torch.log_softmax(
            torch.from_numpy(self._logits(X)).double(), dim=1
        ).numpy()

    def _logits(self, X):
        """The network's logits, or under ``readout_="nearest"`` the logarithms of
        the blended probabilities (:class:`~sklearn_rnn.nn.NearestReadout`)."""
        if getattr(self, "readout_", "softmax") != "nearest":  # older models: softmax
            return self._outputs(X)
        readout = self._nearest_readout().to(module_device(self.module_))
        return self._run(
            X, lambda module, batch: readout(*module.pooled_and_outputs(*batch[:2]))
        )

    def _nearest_readout(self):
        """The fitted nearest readout, as a torch module on the CPU."""
        # models saved before the parts were weighed have no scale: plain distances
        scale = getattr(self, "_reference_scale", None)
        return NearestReadout(
            torch.from_numpy(self._reference),
            torch.from_numpy(self._reference_targets),
            len(self.classes_),
            scale=None if scale is None else torch.from_numpy(scale),
        )

    def _prepare_training(self):
        # while the network trains (and in its checkpoints), the vectors of an
        # earlier fit no longer match it: the softmax reads until _finish_fit
        self.readout_ = "softmax"
        self._reference = self._reference_targets = self._reference_scale = None

    def _finish_fit(self, data, *, incremental, validated):
        if not self._reads_nearest(len(data), incremental, validated):
            return False
        if data.weights is not None:  # a sample of weight 0 is no training sample
            data = data.subset(np.flatnonzero(data.weights.numpy() > 0))
        self._reference = np.ascontiguousarray(self.transform(data), np.float32)
        self._reference_targets = data.targets.numpy().astype(np.int64)
        # the GRU's part and the convolutional branch's count alike (issue 23; the
        # same fits read both ways, one thread, means against plain distances):
        # OSULeaf 0.9103 against 0.8979 (seeds 0-9, 7 up, 1 down), PLAID 0.9203
        # against 0.9151 (0-4, 4 up, 1 down), ArrowHead 0.8246 against 0.8234
        # (0-9, 3 up, 4 down); one part (no branch) gives the same neighbours
        self._reference_scale = NearestReadout.balancing_scale(
            self._reference, self.module_.pooled_blocks
        ).numpy()
        self.readout_ = "nearest"
        return True

    def _reads_nearest(self, n_samples, incremental, validated):
        """Whether ``readout`` (or what ``"auto"`` makes of it) reads the nearest
        training sequence after this fit."""
        if self.readout != "auto":
            return self.readout == "nearest"
        return (
            self.reader_.family == "numeric"
            # below the size where early stopping's "auto" holds data out
            and n_samples < self._auto_early_stopping_min
            and not (incremental or validated)
            and self.class_weight is None
        )

    # ------------------------------------------------------------------ the recipe

    def _encode_targets(self, y, lengths, *, fit, classes=None):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is "
                "None"
            )
        y = column_or_1d(y, warn=True)
        if len(y) != len(lengths):
            raise ValueError(f"X has {len(lengths)} samples but y has {len(y)} labels")
        check_classification_targets(y)
        if fit:
            self.classes_ = np.unique(y if classes is None else column_or_1d(classes))
            if len(self.classes_) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes in "
                    "the data, but it contains only one class: "
                    f"{self.classes_.tolist()[0]!r}"
                )
        unseen = ~np.isin(y, self.classes_)
        if unseen.any():
            i = int(np.argmax(unseen))
            raise ValueError(
                f"Sample {i} has the label {y[i : i + 1].tolist()[0]!r}, which is not "
                "among the classes "
                f"{self.classes_.tolist()} this model was first fitted with"
            )
        return torch.from_numpy(np.searchsorted(self.classes_, y).astype(np.int64))

    def _sample_weight_factors(self, targets):
        if self.class_weight is None:
            return None
        encoded = targets.numpy()
        present = np.unique(encoded)
        weights = np.ones(len(self.classes_))
        if self.class_weight == "balanced":
            weights[present] = compute_class_weight(
                "balanced", classes=present, y=encoded
            )
        else:
            for label, weight in self.class_weight.items():
                where = np.flatnonzero(self.classes_ == label)
                if where.size == 0:
                    raise ValueError(
                        f"class_weight names the label {label!r}, which is not in "
                        f"classes_ {self.classes_.tolist()}"
                    )
                try:
                    weight = float(weight)
                except (TypeError, ValueError):
                    weight = float("nan")
                if not (np.isfinite(weight) and weight >= 0):
                    raise ValueError(
                        f"class_weight gives the label {label!r} the weight "
                        f"{self.class_weight[label]!r}: class weights must be finite, "
                        "non-negative numbers"
                    )
                weights[where[0]] = weight
        return weights[encoded]

    def _stratify(self, targets):
        return targets.numpy()

    def _network_kwargs(self, data):
        return {
            **self._head_kwargs(data),
            "n_outputs": len(self.classes_),
            "objective": "cross_entropy",
        }

    def _validation_score(self, collected):
        """Weighted accuracy of the held-out labels."""
        right = total = 0.0
        for targets, weights, logits in collected:
            right += float(((logits.argmax(dim=1) == targets) * weights).sum())
            total += float(weights.sum())
        return right / total
