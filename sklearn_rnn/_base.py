"""The estimator every public class shares: parameters, input validation, encoding, fit
orchestration, device, ``random_state`` and persistence.

A subclass says what its targets are (``_check_targets``), which network to build
(``_module_name``, ``_module_kwargs``), what a batch costs (``_loss``) and what a
validation score is (``_validation_score``); everything else happens here, once.
Estimators of another shape override the data hooks too (``_training_data``,
``_epoch_batches``, ``_forward_batch``, ``_evaluate``, ``_validation_split``).
"""

import numbers
import os
import uuid
import warnings
from abc import ABCMeta, abstractmethod
from collections.abc import Mapping
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
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _data, _persistence
from ._device import home_device, place, resolve_device, seeded
from ._docs import fill_doc
from ._training import StoppingRule, TrainingState, cosine_annealing, train
from ._version import __version__
from .exceptions import InconsistentVersionWarning
from .nn import CELLS, MODULES, POOLINGS

OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
    "sgd": lambda params, **kw: torch.optim.SGD(
        params, momentum=0.9, nesterov=True, **kw
    ),
}

# Above this many samples ``early_stopping="auto"`` holds some out; below it every
# sample is worth more for training than for choosing the stopping epoch.
AUTO_EARLY_STOPPING_MIN_SAMPLES = 1000

# learning_rate="adaptive" multiplies the learning rate by this on a plateau
LR_DECAY = 0.2

# the parameters of estimators whose word embedding may start from pretrained vectors
PRETRAINED_CONSTRAINTS = {
    "pretrained_embeddings": [Mapping, tuple, None],
    "freeze_embeddings": ["boolean"],
}


class BaseRNN(BaseEstimator, metaclass=ABCMeta):
    """Shared machinery of the recurrent estimators; not for direct use."""

    _parameter_constraints: dict = {
        "cell": [StrOptions(set(CELLS))],
        "hidden_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "num_layers": [Interval(numbers.Integral, 1, None, closed="left")],
        "bidirectional": ["boolean"],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "init_state": [StrOptions({"zeros", "learned"})],
        "embedding_dim": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "tokenizer": [callable, None],
        "lowercase": ["boolean"],
        "min_frequency": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_vocabulary_size": [
            Interval(numbers.Integral, 1, None, closed="left"),
            None,
        ],
        "standardize": ["boolean"],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_time": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(numbers.Real, 0, None, closed="neither")],
        "learning_rate": [StrOptions({"constant", "adaptive", "cosine"})],
        "ema_decay": [Interval(numbers.Real, 0, 1, closed="neither"), None],
        "optimizer": [StrOptions(set(OPTIMIZERS)), callable],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "clip_grad_norm": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "early_stopping": ["boolean", StrOptions({"auto"})],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "device": [str, torch.device],
        "checkpoint_dir": [str, os.PathLike, None],
    }

    # ------------------------------------------------------------------ subclass hooks

    @abstractmethod
    def _check_targets(self, y, n_samples, *, reset, classes=None):
        """Validate ``y`` and return the training targets as a tensor (``classes`` is
        what a classifier's first ``partial_fit`` names)."""

    @abstractmethod
    def _module_kwargs(self):
        """Keyword arguments of the network that are particular to this estimator."""

    @abstractmethod
    def _loss(self, outputs, batch):
        """``(mean loss over the batch, weighted by batch.weights, item count)``."""

    @abstractmethod
    def _validation_score(self, outputs, targets, weights):
        """Higher is better; computed on the held-out outputs, in the original order."""

    _module_name = "ManyToOneNet"

    def _forward_batch(self, module, batch):
        return module(batch.inputs, batch.lengths)

    def _batch_loss(self, module, batch):
        return self._loss(self._forward_batch(module, batch), batch)

    def _class_weights(self, targets):
        """Per-sample weight factors from ``class_weight``, or ``None``."""
        return None

    def _stratify(self, targets):
        """What the validation split is stratified on, or ``None``."""
        return None

    # ------------------------------------------------------------------ reading X

    def _read_X(self, X, *, reset, lowercase=None):
        """Check ``X``; return ``("symbols", token lists)`` or ``("numeric", arrays)``.

        With ``reset`` it records what fit saw (the input family and, for a 2-D table,
        ``n_features_in_``); otherwise it checks that ``X`` agrees with that.
        ``lowercase`` overrides the parameter of that name (``False`` keeps the case
        of string tokens for an estimator that reads their characters).
        """
        lowercase = self.lowercase if lowercase is None else lowercase
        kind = _data.sniff_kind(X)
        if kind == "table":
            X = validate_data(
                self,
                X,
                reset=reset,
                dtype=[np.float32, np.float64],
                ensure_min_samples=1,
            )
            kind = "array3d"
            X = X[:, :, None]
        elif reset and hasattr(self, "n_features_in_"):
            del self.n_features_in_
        family = "symbols" if kind in ("text", "tokens") else "numeric"
        if not reset and family != self._input_family:
            fitted = (
                "token sequences or text"
                if self._input_family == "symbols"
                else ("numeric sequences")
            )
            raise ValueError(
                f"{type(self).__name__} was fitted on {fitted}, but X holds "
                + (
                    "text or token lists"
                    if family == "symbols"
                    else "numeric sequences"
                )
            )
        if reset:
            self._input_family = family
        if kind == "text":
            return family, _data.read_text(X, self.tokenizer, lowercase)
        if kind == "tokens":
            return family, _data.read_tokens(X, lowercase)
        arrays = _data.read_numeric(X, kind)
        n_channels = arrays[0].shape[1]
        if not reset and n_channels != self.n_channels_:
            raise ValueError(
                f"X has {n_channels} channels, but {type(self).__name__} was fitted "
                f"with {self.n_channels_} channels"
            )
        return family, arrays

    def _encode_X(self, family, sequences, *, reset):
        """Encode into a :class:`~sklearn_rnn._data.Ragged`, learning the vocabulary
        or the channel scaling when ``reset``."""
        if family == "symbols":
            if reset:
                self.vocabulary_ = _data.build_vocabulary(
                    sequences,
                    min_frequency=self.min_frequency,
                    max_size=self.max_vocabulary_size,
                )
                self._pretrained_rows = self._add_pretrained_words()
            return _data.Ragged.from_symbols(sequences, self.vocabulary_)
        if reset and getattr(self, "pretrained_embeddings", None) is not None:
            raise ValueError(
                "pretrained_embeddings needs token input, but X holds numeric sequences"
            )
        ragged = _data.Ragged.from_arrays(sequences)
        if reset:
            self.n_channels_ = sequences[0].shape[1]
            if self.standardize:
                values = ragged.values.double()
                mean = values.mean(dim=0)
                std = values.std(dim=0, correction=0)
                self.input_mean_ = mean.float().numpy()
                self.input_scale_ = torch.where(std > 0, std, 1.0).float().numpy()
            else:
                self.input_mean_ = self.input_scale_ = None
        if self.input_mean_ is not None:
            ragged.standardize_(self.input_mean_, self.input_scale_)
        return ragged

    def _add_pretrained_words(self):
        """Add the words of ``pretrained_embeddings`` (where the estimator has that
        parameter) to ``vocabulary_``; the embedding rows they fill, their vectors
        and how many rows the vocabulary gained (words only the vectors hold, last),
        or ``None``."""
        given = getattr(self, "pretrained_embeddings", None)
        if given is None:
            return None
        n_fitted = len(self.vocabulary_)
        index, vectors = _data.add_pretrained_words(
            given, self.vocabulary_, lowercase=self.lowercase
        )
        return index, vectors, len(self.vocabulary_) - n_fitted

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
        reads instead of a ``validation_fraction`` of ``X``."""
        first = not (hasattr(self, "module_") and (self.warm_start or incremental))
        before = dict(vars(self))
        try:
            data = self._training_data(
                X, y, sample_weight, reset=first, classes=classes
            )
            valid_data = None
            if X_val is not None:
                valid_data = self._validation_data(X_val, y_val)
            device = resolve_device(self.device)
            if first:
                self._rng = np.random.default_rng(
                    check_random_state(self.random_state).randint(
                        np.iinfo(np.int32).max
                    )
                )
                self._training_state = TrainingState()
            train_data = data
            if (
                valid_data is None
                and not incremental
                and self._use_early_stopping(len(data))
            ):
                train_data, valid_data = self._validation_split(data)
        except BaseException:
            # bad input (or a failing tokenizer) leaves a fitted model as it was
            vars(self).clear()
            vars(self).update(before)
            raise
        on_epoch_end = None
        if self.checkpoint_dir is not None:
            self.checkpoint_path_ = self._new_checkpoint_path()
            on_epoch_end = lambda: self._write_checkpoint(  # noqa: E731
                validated=valid_data is not None
            )
        with seeded(device, int(self._rng.integers(2**62))):
            if first:
                self._build_module()
            if not incremental:  # each fit starts its learning-rate schedule anew
                for group in self.optimizer_.param_groups:
                    group["lr"] = self.learning_rate_init
            place(self.module_, self.optimizer_, device)
            train(
                self.module_,
                self.optimizer_,
                state=self._training_state,
                n_epochs=1 if incremental else self.max_iter,
                epoch_batches=lambda: self._epoch_batches(train_data),
                batch_loss=self._batch_loss,
                device=device,
                evaluate=None
                if valid_data is None
                else (lambda module: self._evaluate(module, valid_data)),
                rule=StoppingRule(
                    self.n_iter_no_change,
                    self.tol,
                    active=not incremental,
                    lr_decay=LR_DECAY if self.learning_rate == "adaptive" else None,
                    lr_patience=max(1, self.n_iter_no_change // 3),
                ),
                clip_grad_norm=self.clip_grad_norm,
                verbose=self.verbose,
                on_epoch_end=on_epoch_end,
                max_time=self.max_time,
                # partial_fit's epochs have no planned end to anneal towards
                lr_schedule=cosine_annealing
                if self.learning_rate == "cosine" and not incremental
                else None,
                ema_decay=None if incremental else self.ema_decay,
            )
        self._publish_training_state(validated=valid_data is not None)
        return self

    def _training_data(self, X, y, sample_weight, *, reset, classes=None):
        """Validate and encode ``X, y`` into a dataset that batches itself; learns the
        vocabulary, scaling and targets' encoding when ``reset``."""
        family, sequences = self._read_X(X, reset=reset)
        n_samples = len(sequences)
        targets = self._check_targets(y, n_samples, reset=reset, classes=classes)
        weights = self._sample_weights(sample_weight, targets, n_samples)
        return _data.SequenceDataset(
            self._encode_X(family, sequences, reset=reset), targets, weights
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
        return self._training_data(X_val, y_val, None, reset=False)

    def _epoch_batches(self, data):
        """The batches of one training epoch (shuffled, length-bucketed)."""
        return data.training_batches(self.batch_size, self._rng)

    def _new_checkpoint_path(self):
        """A file name no other process or fit can pick: class, pid and a random tag."""
        folder = Path(self.checkpoint_dir)
        folder.mkdir(parents=True, exist_ok=True)
        tag = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        return str(folder / f"{type(self).__name__}-{tag}.skrnn")

    def _write_checkpoint(self, *, validated):
        """Save the model as it is after this epoch, replacing the fit's last file in
        one step so that an interrupted write never leaves a broken checkpoint."""
        self._publish_training_state(validated=validated)
        _persistence.save(self, self.checkpoint_path_)  # atomic: see save

    def _use_early_stopping(self, n_samples):
        if self.early_stopping == "auto":
            return n_samples >= AUTO_EARLY_STOPPING_MIN_SAMPLES
        return bool(self.early_stopping)

    def _validation_split(self, data):
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
        factors = self._class_weights(targets)
        if factors is not None:
            weights = weights * factors
        mean = weights.mean()
        if mean <= 0:
            raise ValueError("The sample weights sum to zero: nothing to learn from")
        return torch.from_numpy((weights / mean).astype(np.float32))

    def _build_module(self):
        """Create ``module_`` and ``optimizer_`` from parameters and fitted state."""
        kwargs = dict(
            cell=self.cell,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            bidirectional=self.bidirectional,
            dropout=self.dropout,
            init_state=self.init_state,
        )
        rows = getattr(self, "_pretrained_rows", None)
        if self._input_family == "symbols":
            kwargs.update(
                n_symbols=len(self.vocabulary_) + _data.N_SPECIAL,
                embedding_dim=self.embedding_dim,
            )
            if rows is not None:
                kwargs.update(
                    embedding_dim=rows[1].shape[1],
                    freeze_embedding=self.freeze_embeddings,
                    # rows no training sentence reaches: kept out of the optimizer
                    n_fixed_symbols=rows[2],
                )
        else:
            kwargs.update(n_channels=self.n_channels_)
        kwargs.update(self._module_kwargs())  # last, so that a subclass may override
        self._module_spec = (self._module_name, kwargs)
        self.module_ = self._new_module()
        if rows is not None:
            index, vectors, _ = rows
            self._word_embedding().set_rows(
                torch.from_numpy(index), torch.from_numpy(vectors)
            )
        self._pretrained_rows = None  # the vectors live in the module from here on
        self.optimizer_ = self._make_optimizer(self.module_)

    def _word_embedding(self):
        """The network's word embedding (a :class:`~sklearn_rnn.nn.WordEmbedding`)."""
        return self.module_.encoder.input_layer

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

    # ------------------------------------------------------------------ inference

    def _inference_data(self, X):
        check_is_fitted(self, "module_")
        family, sequences = self._read_X(X, reset=False)
        return _data.SequenceDataset(self._encode_X(family, sequences, reset=False))

    def _inference_batch_size(self):
        return max(self.batch_size, 256)

    def _forward_all(self, data, method="forward"):
        """Run ``module_.<method>`` over ``data`` by batches, rows in input order."""
        module = self.module_
        module.eval()
        device = next(module.parameters()).device
        run = getattr(module, method)
        result = None
        with torch.inference_mode():
            for batch in data.inference_batches(self._inference_batch_size()):
                batch = batch.to(device)
                out = run(batch.inputs, batch.lengths).float().cpu().numpy()
                if result is None:
                    result = np.empty((len(data),) + out.shape[1:], dtype=np.float32)
                result[batch.index] = out
        return result

    def _evaluate(self, module, data):
        """Validation loss (weighted mean) and score on held-out ``data``."""
        device = next(module.parameters()).device
        total, count, outputs = 0.0, 0, []
        for batch in data.inference_batches(self._inference_batch_size()):
            batch = batch.to(device)
            out = self._forward_batch(module, batch)
            loss, n = self._loss(out, batch)
            total += float(loss) * n
            count += n
            outputs.append((batch.index, out.float().cpu()))
        ordered = torch.empty((len(data),) + outputs[0][1].shape[1:])
        for index, out in outputs:
            ordered[torch.from_numpy(index)] = out
        return total / count, self._validation_score(
            ordered, data.targets, data.weights
        )

    # ------------------------------------------------------------------ persistence

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # model files may hold any estimator built on this base (load refuses the
        # abstract ones)
        _persistence.register(cls)

    def save(self, path):
        """Write the model to ``path`` in a format that holds no code and no pickle.

        The file is a zip of JSON (class, parameters, classes, vocabulary, the
        optimizer's settings, versions) and safetensors files of the network's and
        the optimizer's tensors. It is written to a temporary file beside ``path``
        that then replaces ``path`` in one step, so a failed save leaves a previous
        file as it was. Read it back with :func:`sklearn_rnn.load` on any machine (on
        the CPU where the fitting device is missing); loading checks the file's
        sizes before it reads or builds anything. A parameter that is a function (a
        custom ``tokenizer``) is stored by name only and must be given again to
        ``load``.

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
        if module_state is not None:
            self._restore_torch_state(
                _to_torch(module_state), _to_torch(optimizer_state)
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
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

    _parameter_constraints: dict = {
        **BaseRNN._parameter_constraints,
        **PRETRAINED_CONSTRAINTS,
        "pooling": [StrOptions(set(POOLINGS))],
    }

    @fill_doc
    def transform(self, X):
        """The pooled sequence vectors the output layer reads.

        Lets the recurrent encoder feed another model, in a ``Pipeline`` for example.

        Parameters
        ----------
        {{X_predict}}

        Returns
        -------
        ndarray of shape (n_samples, hidden_size * (2 if bidirectional else 1))
        """
        return self._forward_all(self._inference_data(X), "pool")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]  # the network's dtype
        return tags

    @property
    def _n_features_out(self):
        return self.module_.encoder.output_size
