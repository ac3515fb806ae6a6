"""The estimator every recurrent model shares: fit orchestration (with rollback on
failure), ``random_state``, the network and its optimizer, the inference entry point,
device moves and persistence.

An estimator is a recipe that fills a few hooks:

- ``_defaults``: its parameters and their defaults (``__init__`` is made from them);
- ``_network``: the name of its network in :data:`sklearn_rnn.nn.MODULES`, and
  ``_network_kwargs(data)``: what that network needs beyond the encoder and the input;
- ``_encode_targets(y, lengths, fit=..., classes=...)``: ``y`` checked and encoded;
- ``_validation_score(collected)``: the score early stopping maximises, from what
  ``_validation_outputs`` collected of each held-out batch;
- the decoding of outputs in its public methods (``predict`` and the like), which
  run the network through :mod:`sklearn_rnn._inference`.

Input reading is a fitted object (``reader_``, :mod:`sklearn_rnn._reader`); batching,
devices, the loop, checkpoints and files are not an estimator's concern. Estimators
of another shape may also replace the data hooks (``_dataset``, ``_split_validation``,
``_epoch_batches``, ``_evaluate``), as the generator does for text streams.
"""

import copy
import os
import tempfile
import time
import uuid
import warnings
from abc import ABCMeta, abstractmethod
from pathlib import Path

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _data, _distributed, _inference, _persistence
from ._device import (
    home_device,
    module_device,
    place,
    resolve_device,
    seeded,
    training_dtype,
)
from ._docs import fill_doc
from ._parameters import TRAINING_PARAMS, make_init
from ._reader import SequenceReader, TokenReader
from ._training import (
    OPTIMIZERS,
    AtEpochEnd,
    EarlyStopping,
    LearningRateSchedule,
    Loop,
    Progress,
    RateReplay,
    StoppingRule,
    TimeBudget,
    TrainingState,
    UserCallbacks,
    WeightAverage,
    cosine_annealing,
    restore,
    snapshot,
)
from ._version import __version__
from .exceptions import (
    DivergenceWarning,
    InconsistentVersionWarning,
    InterruptedFitWarning,
    RefitWarning,
)
from .nn import MODULES, networks

# The parameters an input reader takes (those an estimator has)
_READER_SETTINGS = (
    "lowercase",
    "min_frequency",
    "max_vocabulary_size",
    "standardize",
    "series_normalize",
    "series_differences",
    "series_scale",
    "layout",
    "analyzer",
    "char_features",
)

# learning_rate="adaptive" multiplies the learning rate by this on a plateau
LR_DECAY = 0.2
# an epoch of a few batches says little about a plateau: the patience covers at least
# this many optimizer steps per epoch of n_iter_no_change (more epochs when they are
# short; see StoppingRule)
PATIENCE_MIN_BATCHES = 30
# downsample="auto" reads long series in about this many recurrent steps
AUTO_DOWNSAMPLE_STEPS = 40
# batch_size="auto": a tenth of the training sequences (at least ten batches an
# epoch, as Wang et al.'s FCN and Fawaz et al. train on small series sets), between
# these
AUTO_BATCH_SIZE_MIN, AUTO_BATCH_SIZE_MAX = 8, 32
# window_warp="auto" warps a tenth of each series where the training series' median
# length is at least this (a window of 6 steps or more; shorter series, read step by
# step, keep their timing)
AUTO_WINDOW_WARP, AUTO_WINDOW_WARP_MIN_STEPS = 0.1, 60


def auto_batch_size(n_samples):
    """The training batch size ``batch_size="auto"`` gives ``n_samples`` sequences."""
    return int(np.clip(n_samples // 10, AUTO_BATCH_SIZE_MIN, AUTO_BATCH_SIZE_MAX))


class BaseRNN(BaseEstimator, metaclass=ABCMeta):
    """Shared machinery of the recurrent estimators; not for direct use."""

    _defaults: dict = {}
    _network = "ManyToOneNet"
    _reader_class = SequenceReader
    # ``early_stopping="auto"`` holds data out from this many samples: below it every
    # sample is worth more for training than for choosing the stopping epoch
    _auto_early_stopping_min = 1000

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "_defaults" in cls.__dict__ and "__init__" not in cls.__dict__:
            cls.__init__ = make_init(cls, cls._defaults)
        _persistence.register(cls)

    # ------------------------------------------------------------------ recipe hooks

    @abstractmethod
    def _network_kwargs(self, data):
        """The network's keyword arguments particular to this estimator; ``data`` is
        the training set the first fit reads."""

    def _encode_targets(self, y, lengths, *, fit, classes=None):
        """``y`` checked against the sequences' ``lengths`` and encoded (a tensor,
        or a :class:`~sklearn_rnn._data.Ragged` of per-step targets); learns the
        encoding when ``fit`` (``classes``: what a first ``partial_fit`` names).
        Every estimator that keeps :meth:`_dataset` defines it."""
        raise NotImplementedError

    def _validation_score(self, collected):
        """Higher is better: the score of the held-out data from the list of what
        :meth:`_validation_outputs` returned for each of its batches. Every
        estimator that keeps :meth:`_evaluate` defines it."""
        raise NotImplementedError

    def _validation_outputs(self, module, batch, out):
        """What the score of one held-out batch needs: by default its targets,
        weights and the network's outputs, on the CPU."""
        return batch.targets.cpu(), batch.weights.cpu(), out.outputs.float().cpu()

    def _sample_weight_factors(self, targets):
        """Per-sample weight factors (``class_weight``), or ``None``."""
        return None

    def _stratify(self, targets):
        """What the validation split is stratified on, or ``None``."""
        return None

    def _make_reader(self):
        """The unfitted input reader (``_reader_class``) that this estimator's
        reading parameters describe."""
        return self._reader_class(owner=type(self).__name__, **self._reader_settings())

    def _reader_settings(self):
        """This estimator's parameters that say how to read ``X``."""
        names = [name for name in _READER_SETTINGS if hasattr(self, name)]
        return {name: getattr(self, name) for name in names}

    # ------------------------------------------------------------------ reading data

    def _read_X(self, X, *, fit):
        """``X`` encoded by ``reader_`` (learnt first when ``fit``). A 2-D numeric
        table goes through scikit-learn's validation first, which records
        ``n_features_in_`` (and the column names of a data frame)."""
        X = _data.as_samples(X)
        kind = _data.sniff_kind(X)
        if kind == "table":
            X = validate_data(
                self, X, reset=fit, dtype=[np.float32, np.float64], ensure_min_samples=1
            )
            X, kind = X[:, :, None], "array3d"
        elif fit and hasattr(self, "n_features_in_"):
            del self.n_features_in_
        tokenizer = self._tokenizer(fit=fit)
        if not fit:
            stacked = self.reader_.read(X, kind, tokenizer=tokenizer)
        else:
            self.reader_ = self._make_reader()
            pretrained = getattr(self, "pretrained_embeddings", None)
            stacked = self.reader_.fit_read(
                X, kind, tokenizer=tokenizer, pretrained=pretrained
            )
        return _data.Ragged.from_stacked(stacked)

    def _tokenizer(self, *, fit):
        """The function that splits raw strings: ``tokenizer``, else the one
        ``token_pattern`` makes, else ``None`` (the default pattern)."""
        tokenizer = getattr(self, "tokenizer", None)
        pattern = getattr(self, "token_pattern", None)
        if pattern is None:
            return tokenizer
        if tokenizer is not None:
            if fit:
                warnings.warn(
                    "The parameter 'token_pattern' will not be used since "
                    "'tokenizer' is not None",
                    UserWarning,
                    stacklevel=4,
                )
            return tokenizer
        return _data.pattern_tokenizer(pattern)

    def _dataset(self, X, y, sample_weight, *, fit, classes=None):
        """``X``, ``y`` and the sample weights as a dataset that batches itself."""
        sequences = self._read_X(X, fit=fit)
        targets = self._encode_targets(y, sequences.lengths, fit=fit, classes=classes)
        weights = self._sample_weights(sample_weight, targets, len(sequences))
        return _data.SequenceDataset(sequences, targets, weights)

    def _encoded(self, X):
        """``X`` encoded for prediction (after checking that the model is fitted);
        a dataset this estimator encoded already passes through."""
        check_is_fitted(self, "module_")
        if isinstance(X, _data.SequenceDataset):
            return X
        return _data.SequenceDataset(self._read_X(X, fit=False))

    def _run(self, X, function, combine=_inference.per_sequence):
        """``function(module, batch)`` over ``X`` through the one inference path;
        ``combine`` puts the batches' outputs together (see :mod:`_inference`)."""
        data = self._encoded(X)  # checks that the model is fitted
        return combine(self.module_, data, function, self._inference_batch_size)

    def _sample_weights(self, sample_weight, targets, n_samples):
        """Per-sample loss weights (sample_weight times class weights), scaled to mean 1
        so that weights never change the effective learning rate."""
        if sample_weight is None:
            weights = np.ones(n_samples, dtype=np.float64)
        else:
            weights = np.asarray(sample_weight, dtype=np.float64)
            if weights.ndim == 0:
                weights = np.full(n_samples, float(weights))
            if weights.shape != (n_samples,):
                raise ValueError(
                    f"sample_weight.shape == {weights.shape}, expected ({n_samples},)"
                )
            if not np.isfinite(weights).all():
                raise ValueError("sample_weight contains NaN or infinity")
            if (weights < 0).any():
                raise ValueError(
                    "Negative values in sample_weight: sample "
                    f"{int(np.argmax(weights < 0))} has a negative weight"
                )
        factors = self._sample_weight_factors(targets)
        if factors is not None:
            weights = weights * factors
        mean = weights.mean()
        if mean <= 0:
            raise ValueError("The sample weights sum to zero: nothing to learn from")
        return torch.from_numpy((weights / mean).astype(np.float32))

    # ------------------------------------------------------------------ fit

    def _fit(
        self,
        X,
        y,
        sample_weight=None,
        *,
        incremental=False,
        classes=None,
        X_val=None,
        y_val=None,
    ):
        """Train; ``X_val, y_val`` (optional) are held-out data that early stopping
        reads instead of a ``validation_fraction`` of ``X``.

        Whatever fails before training ends (bad input, a checkpoint folder that
        cannot be written, an optimizer that raises, a network too large to
        allocate, an error while training) leaves the estimator exactly as it was:
        its attributes, and the weights and optimizer state of a network trained
        on in place (``warm_start``, ``partial_fit``). Ctrl-C is not a failure: it
        keeps the model trained so far (see :class:`~sklearn_rnn._training.Loop`).

        Inside a :mod:`torch.distributed` group of several processes (``torchrun``),
        every rank passes the same data and they train the one model together
        (:mod:`sklearn_rnn._distributed`).
        """
        first = not (hasattr(self, "module_") and (self.warm_start or incremental))
        y, y_val = _data.as_samples_or_none(y), _data.as_samples_or_none(y_val)
        if not first:
            self._check_unchanged_network()
        before = self._attributes_snapshot()
        weights_before = None
        try:
            data = self._dataset(X, y, sample_weight, fit=first, classes=classes)
            valid_data = None
            if X_val is not None:
                valid_data = self._validation_data(X_val, y_val)
            device = resolve_device(self.device)
            ranks = _distributed.current()
            if first:
                seed = check_random_state(self.random_state).randint(
                    np.iinfo(np.int32).max
                )
                if ranks is not None:  # the same batches, split, order on all ranks
                    seed = ranks.broadcast(seed, device)
                self._rng = np.random.default_rng(seed)
                self._training_state = TrainingState()
            train_data = data
            if (
                valid_data is None
                and not incremental
                and self._use_early_stopping(len(data))
            ):
                train_data, valid_data = self._split_validation(data)
            if ranks is not None:
                ranks.check_same(len(train_data), "training data", device)
            self.batch_size_ = self._training_batch_size(len(train_data))
            if self.checkpoint_dir is not None:
                # a folder that cannot hold checkpoints fails here, before training
                self.checkpoint_path_ = self._new_checkpoint_path()
                if ranks is not None:  # rank 0 writes it
                    self.checkpoint_path_ = ranks.broadcast(
                        self.checkpoint_path_, device
                    )
            if not first:
                weights_before = (
                    module_device(self.module_),
                    snapshot(self.module_, self.optimizer_),
                )
            # refit: train again on all of X for the epochs early stopping chose on
            # the part it held out (not on X_val, which is not training data)
            refit = (
                getattr(self, "refit", False)
                and first
                and X_val is None
                and valid_data is not None
            )
            seed = int(self._rng.integers(2**62))
            # each rank its own dropout masks (the weights are rank 0's, below)
            with seeded(device, seed + (0 if ranks is None else ranks.rank)):
                if first:
                    self._build_network(data)
                if not incremental:  # each fit starts its learning-rate schedule anew
                    for group in self.optimizer_.param_groups:
                        group["lr"] = self.learning_rate_init
                place(self.module_, self.optimizer_, device)
                self._prepare_training()
                initial = snapshot(self.module_, self.optimizer_) if refit else None
                started = time.perf_counter()
                reason = Loop(
                    self.module_,
                    self.optimizer_,
                    state=self._training_state,
                    device=device,
                    n_epochs=1 if incremental else self.max_iter,
                    epoch_batches=lambda: self._epoch_batches(train_data),
                    evaluate=None
                    if valid_data is None
                    else (lambda module: self._evaluate(module, valid_data)),
                    clip_grad_norm=self.clip_grad_norm,
                    callbacks=self._callbacks(
                        incremental,
                        valid_data is not None,
                        main=ranks is None or ranks.main,
                    ),
                    warn_unconverged=not incremental and (ranks is None or ranks.main),
                    ranks=ranks,
                    precision=training_dtype(self.precision, device),
                ).run()
                if hasattr(self, "refit"):
                    self.refit_loss_curve_ = None
                if refit and reason in ("converged", "max_iter"):
                    self._refit_on_all(
                        data, initial, device, ranks, time.perf_counter() - started
                    )
            validated = valid_data is not None
            finished = self._finish_fit(
                data, incremental=incremental, validated=validated
            )
            if finished and self.checkpoint_dir is not None:
                if ranks is None or ranks.main:  # the last file predicts as self
                    self._write_checkpoint(validated)
        except BaseException:
            vars(self).clear()
            vars(self).update(before)
            if weights_before is not None:  # the same module, trained on in place
                home, saved = weights_before
                restore(self.module_, self.optimizer_, saved)
                place(self.module_, self.optimizer_, home)
            raise
        self._network_params = self._network_defining_params()
        self._publish_training_state(validated=valid_data is not None)
        return self

    def _finish_fit(self, data, *, incremental, validated):
        """Once trained, keep what prediction reads of the training ``data`` (all
        of it, the validation share too) besides the network; whether that changed
        the fitted model (the classifier's nearest readout keeps the training
        sequences' vectors). Nothing here."""
        return False

    def _refit_on_all(self, data, initial, device, ranks, used):
        """``refit``: train the network again from its ``initial`` weights on all of
        ``data``, the held-out part included, for as many epochs as early stopping
        chose; ``used`` seconds of ``max_time`` are gone. The early-stopped weights
        stay when the refit does not run to its end (out of time, diverged,
        interrupted), with a warning that says so."""
        n_epochs = self._training_state.best_epoch
        left = None if self.max_time is None else self.max_time - used
        if n_epochs < 1 or (left is not None and left <= 0):
            return
        kept = snapshot(self.module_, self.optimizer_)
        restore(self.module_, self.optimizer_, initial)
        state = TrainingState()
        main = ranks is None or ranks.main
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            reason = Loop(
                self.module_,
                self.optimizer_,
                state=state,
                device=device,
                n_epochs=n_epochs,
                epoch_batches=lambda: self._epoch_batches(data),
                clip_grad_norm=self.clip_grad_norm,
                callbacks=self._callbacks(
                    False, False, main=main, max_time=left, refit=True
                ),
                warn_unconverged=False,
                ranks=ranks,
                precision=training_dtype(self.precision, device),
            ).run()
        done = reason == "max_iter"
        for warning in caught:  # the loop's own words on a cut-short refit are wrong
            if done or not issubclass(
                warning.category, (InterruptedFitWarning, DivergenceWarning)
            ):
                warnings.warn(warning.message, warning.category, stacklevel=5)
        if done:
            self.refit_loss_curve_ = list(state.loss_curve)
            return
        restore(self.module_, self.optimizer_, kept)
        why = {
            "max_time": "max_time ran out",
            "diverged": "its loss diverged",
            "interrupted": "it was interrupted",
        }.get(reason, f"it stopped ({reason})")
        warnings.warn(
            f"The refit on all the training data stopped after {state.n_iter} of "
            f"{n_epochs} epochs because {why}; the model keeps the early-stopped "
            "weights (the best epoch on the held-out data).",
            InterruptedFitWarning if reason == "interrupted" else RefitWarning,
            # warn <- _refit_on_all <- _fit <- fit <- its fit context <- the user
            stacklevel=5,
        )

    def _callbacks(
        self, incremental, validated, main=True, *, max_time=None, refit=False
    ):
        """What the loop does besides training, in the order it must happen;
        only the ``main`` process of several that train together writes
        checkpoints and prints. A ``refit`` trains for the epochs it is given,
        within ``max_time`` seconds (the parameter's, by default)."""
        max_time = self.max_time if max_time is None else max_time
        budget = None if max_time is None else TimeBudget(max_time)
        callbacks = [] if budget is None else [budget]
        # partial_fit's epochs have no planned end to anneal towards, nor to stop at
        if self.learning_rate == "cosine" and not incremental:
            callbacks.append(LearningRateSchedule(cosine_annealing, budget))
        if self.learning_rate == "adaptive" and refit:  # the rates the fit chose
            history = self._training_state.history
            callbacks.append(RateReplay([record["lr"] for record in history]))
        callbacks.append(
            EarlyStopping(
                StoppingRule(
                    self.n_iter_no_change,
                    self.tol,
                    active=not incremental and not refit,
                    lr_decay=LR_DECAY if self.learning_rate == "adaptive" else None,
                    lr_patience=max(1, self.n_iter_no_change // 3),
                    min_batches=PATIENCE_MIN_BATCHES,
                )
            )
        )
        if self.checkpoint_dir is not None and main:
            callbacks.append(AtEpochEnd(lambda: self._write_checkpoint(validated)))
        if self.callbacks:
            callbacks.append(UserCallbacks(self.callbacks))
        # an ensemble labels its members' lines (see EnsembleTagger.fit); only the
        # first rank of a data-parallel fit prints
        progress = dict(getattr(self, "_progress", {}))
        if refit:
            progress["label"] = " ".join(filter(None, [progress.get("label"), "refit"]))
        callbacks.append(Progress(self.verbose if main else 0, **progress))
        if self.ema_decay is not None and not incremental:
            callbacks.append(WeightAverage(self.ema_decay))  # last: see its notes
        return callbacks

    def _attributes_snapshot(self):
        """The estimator's attributes as they are, with copies of the ones a fit
        changes in place (its random generator, training state and reader)."""
        state = dict(vars(self))
        for name in ("_rng", "_training_state", "reader_"):
            if name in state:
                state[name] = copy.deepcopy(state[name])
        return state

    def _network_defining_params(self):
        """The parameters that decide what the fitted network and its input reading
        are: all but the training ones. Values that are not plain (functions, word
        vectors) are recorded by their type only."""
        return {
            name: value if _is_plain(value) else f"<{type(value).__name__}>"
            for name, value in self.get_params(deep=False).items()
            if name not in TRAINING_PARAMS
        }

    def _check_unchanged_network(self):
        """``warm_start`` and ``partial_fit`` train the fitted network on: refuse to
        do so when a parameter that made it has changed since, rather than keep the
        old network while ``get_params`` reports the new one."""
        fitted = getattr(self, "_network_params", None)
        if fitted is None:  # fitted by an earlier version: nothing to compare
            return
        now = self._network_defining_params()
        changed = [
            f"{name}={now[name]!r} (fitted with {fitted[name]!r})"
            for name in sorted(now)
            if name in fitted and not _same_value(now[name], fitted[name])
        ]
        if changed:
            raise ValueError(
                f"{type(self).__name__} would continue training the network it has "
                "(warm_start or partial_fit), but these parameters changed since it "
                f"was built: {', '.join(changed)}. Set them back, or fit a new "
                "network (warm_start=False, or a fresh estimator for partial_fit)."
            )

    def _validation_data(self, X_val, y_val):
        """Encode held-out data given to ``fit``, as the training data was encoded."""
        if y_val is None:
            raise ValueError("X_val was given without y_val")
        if self.early_stopping is False:
            raise ValueError(
                "X_val and y_val are only read for early stopping, but "
                "early_stopping=False"
            )
        return self._dataset(X_val, y_val, None, fit=False)

    def _check_partial_fit_classes(self, classes):
        """``classes`` of a ``partial_fit`` call: required on the first call, and
        on a later one, if given, the same as on the first."""
        if not hasattr(self, "module_") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if hasattr(self, "module_") and classes is not None:
            given = np.unique(np.asarray(list(classes)))
            if not np.array_equal(given, self.classes_):
                raise ValueError(
                    f"classes={given.tolist()} is not the same as on the first call "
                    f"to partial_fit, which was {self.classes_.tolist()}: a fitted "
                    "network keeps its classes (fit a new estimator for others)"
                )

    def _use_early_stopping(self, n_samples):
        if self.early_stopping == "auto":
            return n_samples >= self._auto_early_stopping_min
        return bool(self.early_stopping)

    def _split_validation(self, data):
        """``(train, validation)``: ``validation_fraction`` of ``data`` held out at
        random (stratified where the estimator says on what)."""
        n = len(data)
        n_valid = max(1, int(round(self.validation_fraction * n)))
        if n - n_valid < 1:
            raise ValueError(
                f"early_stopping needs at least 2 samples to hold validation_fraction="
                f"{self.validation_fraction} of them out; got {n}"
            )
        stratify = self._stratify(data.targets)
        if stratify is not None:
            _, counts = np.unique(stratify, return_counts=True)
            if counts.min() < 2 or n_valid < len(counts) or n - n_valid < len(counts):
                stratify = None
        train_index, valid_index = train_test_split(
            np.arange(n),
            test_size=n_valid,
            random_state=int(self._rng.integers(np.iinfo(np.int32).max)),
            stratify=stratify,
        )
        return data.subset(np.sort(train_index)), data.subset(np.sort(valid_index))

    def _prepare_training(self):
        """Set on ``module_`` the training settings it holds that a warm start may
        change (a loss option, say), from the parameters as they are now."""

    def _training_batch_size(self, n_samples):
        """Sequences per training batch for ``n_samples`` training sequences:
        ``batch_size``, or what ``"auto"`` makes of it."""
        if self.batch_size == "auto":
            return auto_batch_size(n_samples)
        return self.batch_size

    @property
    def _inference_batch_size(self):
        """The ``batch_size`` that prediction and validation start from (they read
        larger batches still; see :mod:`_inference`)."""
        if self.batch_size == "auto":
            return AUTO_BATCH_SIZE_MAX
        return self.batch_size

    def _epoch_batches(self, data):
        """The batches of one training epoch (shuffled, length-bucketed)."""
        return data.training_batches(self.batch_size_, self._rng)

    def _evaluate(self, module, data):
        """Validation loss (weighted mean) and score on held-out ``data``."""
        loss, collected = _inference.mean_loss(
            module, data, self._inference_batch_size, self._validation_outputs
        )
        return loss, self._validation_score(collected)

    # ------------------------------------------------------------------ the network

    def _build_network(self, data):
        """Create ``module_`` and ``optimizer_`` from parameters, fitted state and
        the training ``data`` of the first fit."""
        kwargs = dict(
            cell=self.cell,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            dropout=self.dropout,
        )
        for name in ("bidirectional", "init_state"):
            if hasattr(self, name):
                kwargs[name] = getattr(self, name)
        if self.reader_.family == "symbols":
            kwargs["embedding_dim"] = self.embedding_dim
            if getattr(self, "pretrained_embeddings", None) is not None:
                kwargs["freeze_embedding"] = self.freeze_embeddings
        kwargs.update(self.reader_.network_kwargs())
        kwargs.update(self._network_kwargs(data))  # last: the recipe has the last word
        self._module_spec = (self._network, kwargs)
        self.module_ = self._new_module()
        # a network, or several alike (the tagger's TaggerEnsembleNet)
        held = networks(self.module_)
        rows = self.reader_.take_pretrained_rows()
        if rows is not None:
            for network in held:
                network.word_embedding.set_rows(*map(torch.from_numpy, rows))
        rates = None
        if isinstance(self.reader_, SequenceReader):  # which counted the words
            alpha = getattr(self, "word_dropout", 0.0)
            rates = self.reader_.take_word_dropout_rates(alpha)
        for network in held:
            unknown_rate = getattr(network, "unknown_rate", None)
            if unknown_rate is not None and rates is not None:
                # word dropout: rare words are replaced more often than frequent ones
                with torch.no_grad():
                    unknown_rate.copy_(torch.from_numpy(rates))
        self.optimizer_ = self._make_optimizer(self.module_)

    def _make_optimizer(self, module):
        kwargs = dict(lr=self.learning_rate_init, weight_decay=self.weight_decay)
        if not isinstance(self.optimizer, str):
            return self.optimizer(module.parameters(), **kwargs)
        make = OPTIMIZERS[self.optimizer]
        try:
            # one fused kernel per step: ten times faster than the default loop over
            # tensors on a CPU, where a large embedding makes the step a real cost
            return make(module.parameters(), fused=True, **kwargs)
        except (RuntimeError, TypeError, ValueError):  # older torch, or no kernel
            return make(module.parameters(), **kwargs)

    def _publish_training_state(self, *, validated):
        state = self._training_state
        self.n_iter_ = state.n_iter
        self.loss_curve_ = list(state.loss_curve)
        self.history_ = list(state.history)
        self.validation_scores_ = list(state.validation_scores) if validated else None
        self.best_validation_score_ = state.best_validation_score if validated else None
        self.best_loss_ = None if validated else state.best_loss

    # ------------------------------------------------------------------ checkpoints

    def _new_checkpoint_path(self):
        """A file name no other process or fit can pick: class, pid and a random tag.

        Creates the folder and writes (then removes) a file in it, so that a folder
        that cannot hold checkpoints fails before any training.
        """
        folder = Path(self.checkpoint_dir)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as exc:
            raise type(exc)(
                exc.errno,
                f"checkpoint_dir={os.fspath(self.checkpoint_dir)!r} cannot hold "
                f"checkpoints ({exc.strerror})",
                exc.filename,
            ) from exc
        tag = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        return str(folder / f"{type(self).__name__}-{tag}.skrnn")

    def _write_checkpoint(self, validated):
        """Save the model as it is after this epoch, replacing the fit's last file in
        one step so that an interrupted write never leaves a broken checkpoint."""
        self._publish_training_state(validated=validated)
        _persistence.save(self, self.checkpoint_path_)

    # ------------------------------------------------------------------ fitted state

    @property
    def vocabulary_(self):
        return _reader_state(self, "vocabulary", "symbols")

    @property
    def n_channels_(self):
        return _reader_state(self, "n_channels", "numeric")

    @property
    def input_mean_(self):
        return _reader_state(self, "mean", "numeric")

    @property
    def input_scale_(self):
        return _reader_state(self, "scale", "numeric")

    # ------------------------------------------------------------------ persistence

    def save(self, path):
        """Write the model to ``path`` in a format that holds no code and no pickle.

        The file is a zip of JSON (class, parameters, classes, vocabulary, the
        optimizer's settings, versions) and safetensors files of the network's and
        the optimizer's tensors. It is written to a temporary file beside ``path``
        that then replaces ``path`` in one step, so a failed save leaves a previous
        file as it was. Read it back with :func:`sklearn_rnn.load` on any machine (on
        the CPU where the fitting device is missing); loading checks the file's
        sizes before it reads or builds anything. A parameter that is a function (a
        custom ``tokenizer``, ``callbacks``) is stored by name only and must be given
        again to ``load``.

        Parameters
        ----------
        path : str, path-like or binary file object

        Returns
        -------
        self
        """
        _persistence.save(self, path)
        return self

    def to(self, device):
        """Move the fitted network (and its optimizer's state) to ``device`` ("cpu",
        "cuda", ...); prediction runs there from now on. The ``device`` parameter is
        left as it is: the next ``fit`` trains where it says. Returns ``self``."""
        check_is_fitted(self, "module_")
        place(self.module_, self.optimizer_, resolve_device(device))
        return self

    def _new_module(self):
        """A network with fresh weights, as ``_module_spec`` describes it.

        Under ``with torch.device("meta")`` it allocates nothing: how
        :func:`~sklearn_rnn.load` checks a file's sizes before it builds anything.
        """
        spec = getattr(self, "_module_spec", None)
        if not (
            isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], dict)
        ):
            raise ValueError(
                "_module_spec must be a (network name, keyword arguments) pair, got "
                f"{spec!r:.80}"
            )
        name, kwargs = spec
        if not isinstance(name, str) or name not in MODULES:
            raise ValueError(
                f"unknown network {name!r:.80} in _module_spec; sklearn-rnn builds "
                f"{sorted(MODULES)}"
            )
        return MODULES[name](**kwargs)

    def _restore_torch_state(self, module_state, optimizer_state):
        """Rebuild ``module_`` and ``optimizer_`` from state dicts, on the device the
        ``device`` parameter names if this machine has it, else on the CPU."""
        self.module_ = self._new_module()
        self.module_.load_state_dict(module_state)
        self.module_.to(home_device(self.device))
        self.module_.eval()
        self.optimizer_ = self._make_optimizer(self.module_)
        if isinstance(self.optimizer, str):
            _check_moments(self.optimizer_, optimizer_state)
        self.optimizer_.load_state_dict(optimizer_state)

    def _upgrade_fitted_state(self):
        """Fitted state of an earlier version (a format-1 file read by
        :func:`~sklearn_rnn.convert_legacy`, or an old pickle), whose input reading
        was spread over attributes of the estimator, gathered into ``reader_``."""
        state = vars(self)
        if "_module_spec" in state and "downsample" in self._defaults:
            # fitted before the convolutional front end existed: it has none
            state.setdefault("downsample", 1)
            state.setdefault("downsample_", 1)
        if "reader_" in state or "_module_spec" not in state:
            return
        family = state.pop("_input_family", None)
        reader = self._make_reader()
        reader.family = family
        for old, new in (
            ("vocabulary_", "vocabulary"),
            ("n_channels_", "n_channels"),
            ("input_mean_", "mean"),
            ("input_scale_", "scale"),
            ("char_vocabulary_", "char_vocabulary"),
            ("feature_vocabularies_", "feature_vocabularies"),
        ):
            if old in state:
                setattr(reader, new, state.pop(old))
        for transient in ("_pretrained_rows", "_unknown_rates", "_carried_state"):
            state.pop(transient, None)
        self.reader_ = reader

    def __getstate__(self):
        """Plain CPU arrays instead of torch objects: a model fitted on a GPU unpickles
        on a machine without one (on the CPU), and the pickle holds no device."""
        state = dict(super().__getstate__())  # may be self.__dict__ itself
        state["_sklearn_rnn_version"] = __version__
        if "module_" in state:
            state["module_"] = _to_numpy(self.module_.state_dict())
            state["optimizer_"] = _to_numpy(self.optimizer_.state_dict())
        return state

    def __setstate__(self, state):
        state = dict(state)
        module_state = state.pop("module_", None)
        optimizer_state = state.pop("optimizer_", None)
        saved_by = state.pop("_sklearn_rnn_version", "pre-0.1")
        # parameters added since the pickle was written take their defaults
        for name, value in getattr(self, "_defaults", {}).items():
            state.setdefault(name, value)
        if saved_by != __version__:
            warnings.warn(
                InconsistentVersionWarning(
                    estimator_name=type(self).__name__,
                    current_version=__version__,
                    original_version=saved_by,
                ),
                stacklevel=2,
            )
        super().__setstate__(state)
        self._upgrade_fitted_state()
        if module_state is not None:
            self._restore_torch_state(
                _to_torch(module_state), _to_torch(optimizer_state)
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        # raw strings (or, for the tagger, token lists of strings) are read as text
        tags.input_tags.string = True
        tags.non_deterministic = False
        return tags


def _check_moments(optimizer, state_dict):
    """Refuse a state dict for one of :data:`OPTIMIZERS` whose tensors are neither
    scalars (step counts) nor shaped like their parameter (moments), which torch
    would load and trip over at the next step."""
    saved = [i for group in state_dict["param_groups"] for i in group["params"]]
    params = [p for group in optimizer.param_groups for p in group["params"]]
    if len(saved) != len(params):
        return  # load_state_dict says so
    shapes = dict(zip(saved, (p.shape for p in params), strict=True))
    for key, values in state_dict["state"].items():
        for name, value in values.items():
            if torch.is_tensor(value) and value.ndim and value.shape != shapes.get(key):
                raise ValueError(
                    f"the optimizer's {name} of parameter {key} has shape "
                    f"{tuple(value.shape)}, not that of its parameter"
                )


def _reader_state(estimator, name, family):
    """A fitted attribute kept by the reader, for input of ``family`` only."""
    reader = vars(estimator).get("reader_")
    if reader is None or reader.family != family:
        raise AttributeError(
            f"{type(estimator).__name__} has no {name} of "
            + ("token input" if family == "symbols" else "numeric input")
        )
    return getattr(reader, name)


def _is_plain(value):
    return value is None or isinstance(value, bool | int | float | str)


def _same_value(a, b):
    return a == b or (a != a and b != b)  # NaN equals NaN here


def _to_numpy(obj):
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().numpy().copy()
    if isinstance(obj, dict):
        return {k: _to_numpy(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_to_numpy(v) for v in obj)
    return obj


def _to_torch(obj):
    if isinstance(obj, np.ndarray):
        return torch.tensor(obj)
    if isinstance(obj, dict):
        return {k: _to_torch(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_to_torch(v) for v in obj)
    return obj


class BaseManyToOne(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseRNN):
    """One vector per sequence, read off by ``pooling``: classifier and regressor.

    ``transform`` returns that vector, so a fitted model can feed another one; the
    output features are named ``<classname>0``, ``<classname>1``, ...
    """

    @property
    def _network(self):
        return "ManyToOneNet" if self.n_networks == 1 else "ManyToOneEnsembleNet"

    def _make_reader(self):
        """With ``char_features``, the tagger's reader, which gives each word its
        characters beside its index, reading raw text too."""
        settings = self._reader_settings()
        owner = type(self).__name__
        if settings.pop("char_features", False):
            return TokenReader(owner=owner, reads_text=True, **settings)
        return self._reader_class(owner=owner, **settings)

    def _head_kwargs(self, data):
        """The network's settings that the classifier and the regressor share (their
        ``_network_kwargs`` add the outputs and the objective)."""
        kwargs = {} if self.n_networks == 1 else {"n_members": self.n_networks}
        stride = self._downsampling(data)
        kwargs |= {
            "pooling": self.pooling,
            "downsample": stride,
            "word_dropout": self.word_dropout,
        }
        if self.adversarial_eps > 0 and self._embeds_words():
            kwargs["adversarial"] = self.adversarial_eps
        warp = self._window_warping(data)
        if warp > 0:
            kwargs["window_warp"] = warp
        if self._conv_branching(stride):
            kwargs["conv_branch"] = True
        if getattr(self.reader_, "char_vocabulary", None) is not None:
            kwargs.update(
                char_embedding_dim=self.char_embedding_dim,
                char_filters=self.char_filters,
            )
        return kwargs

    def _embeds_words(self):
        """Whether the network reads text through a word embedding, which
        ``adversarial_eps`` perturbs (not series, nor one-hot symbols)."""
        return self.reader_.family == "symbols" and (
            self.embedding_dim is not None or self.pretrained_embeddings is not None
        )

    @fill_doc
    def transform(self, X):
        """The pooled sequence vectors the output layer reads.

        Lets the recurrent encoder feed another model, in a ``Pipeline`` for example.

        Parameters
        ----------
        {{X_predict}}

        Returns
        -------
        ndarray of shape (n_samples, n_networks * hidden_size * (2 if bidirectional \
else 1))
            Each network's vector, side by side.
        """
        return self._run(X, lambda module, batch: module.pool(*batch[:2]))

    def _downsampling(self, data):
        """The stride of the convolutional front end (1: none) for the training
        ``data``, kept in ``downsample_``."""
        stride = self.downsample
        if self.reader_.family != "numeric":
            stride = 1
        elif stride == "auto":
            median = float(np.median(data.sequences.lengths))
            stride = max(1, round(median / AUTO_DOWNSAMPLE_STEPS))
        self.downsample_ = int(stride)
        return self.downsample_

    def _window_warping(self, data):
        """The share of each series that training warps (0: none) for the training
        ``data``: ``window_warp``, or what ``"auto"`` makes of it."""
        warp = self.window_warp
        if self.reader_.family != "numeric":
            return 0.0
        if warp == "auto":
            median = float(np.median(data.sequences.lengths))
            warp = AUTO_WINDOW_WARP if median >= AUTO_WINDOW_WARP_MIN_STEPS else 0.0
        return float(warp)

    def _conv_branching(self, stride):
        """Whether the network has a convolutional branch beside its recurrent
        layer (``conv_branch``, or what ``"auto"`` makes of it): ``"auto"`` where
        the front end reads the series (its ``stride``, the fit's ``downsample_``,
        above 1). Text never has one."""
        if self.reader_.family != "numeric":
            return False
        if self.conv_branch == "auto":
            return stride > 1
        return bool(self.conv_branch)

    @property
    def conv_branch_(self):
        """Whether the network has the convolutional branch (``conv_branch``, or what
        ``"auto"`` chose); ``False`` for text."""
        check_is_fitted(self, "module_")
        return bool(self._module_spec[1].get("conv_branch", False))

    @property
    def window_warp_(self):
        """The share of each series' length that training warped (``window_warp``,
        or what ``"auto"`` chose); 0.0 for none, and for text."""
        check_is_fitted(self, "module_")
        return float(self._module_spec[1].get("window_warp", 0.0))

    @property
    def series_scale_(self):
        """Whether the network reads each series' scale (``series_scale``, or what
        ``"auto"`` chose); ``False`` for text."""
        check_is_fitted(self, "reader_")
        return bool(self.reader_.series_scale)

    def _outputs(self, X):
        """The network's outputs for ``X``: ``(n_samples, n_outputs)``."""
        return self._run(X, lambda module, batch: module(*batch[:2]))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]  # the network's dtype
        return tags

    @property
    def _n_features_out(self):
        return sum(net.pooled_size for net in networks(self.module_))
