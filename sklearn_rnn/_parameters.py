"""Every parameter of the recurrent estimators, once: its constraint, its default in
the groups that estimators share, and the ``__init__`` made from a table of them.

An estimator lists its parameters and their defaults in ``_defaults`` (mostly these
groups, with its own changes); :func:`make_init` gives it an ``__init__`` that takes
exactly those keywords and stores them unchanged, as scikit-learn's rules ask, with
the signature ``inspect`` and ``get_params`` read.
"""

import inspect
import numbers
import os
from collections.abc import Mapping

import torch
from sklearn.utils._param_validation import Interval, StrOptions

from ._data import LAYOUTS
from ._training import OPTIMIZERS
from .nn import CELLS, POOLINGS


def _positive_int():
    return Interval(numbers.Integral, 1, None, closed="left")


CONSTRAINTS = {
    "cell": [StrOptions(set(CELLS))],
    "hidden_size": [_positive_int()],
    "num_layers": [_positive_int()],
    "n_networks": [_positive_int()],
    "bidirectional": ["boolean"],
    "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
    "word_dropout": [Interval(numbers.Real, 0, None, closed="left")],
    "adversarial_eps": [Interval(numbers.Real, 0, None, closed="left")],
    "char_features": ["boolean"],
    "char_embedding_dim": [_positive_int()],
    "char_filters": [_positive_int()],
    "init_state": [StrOptions({"zeros", "learned"})],
    "embedding_dim": [_positive_int(), None],
    "pooling": [StrOptions(set(POOLINGS))],
    "tokenizer": [callable, None],
    "token_pattern": [str, None],
    "lowercase": ["boolean"],
    "min_frequency": [_positive_int()],
    "max_vocabulary_size": [_positive_int(), None],
    "pretrained_embeddings": [Mapping, tuple, None],
    "freeze_embeddings": ["boolean"],
    "standardize": ["boolean"],
    "layout": [StrOptions(set(LAYOUTS)), None],
    "max_iter": [_positive_int()],
    "max_time": [Interval(numbers.Real, 0, None, closed="neither"), None],
    "batch_size": [_positive_int()],
    "learning_rate_init": [Interval(numbers.Real, 0, None, closed="neither")],
    "learning_rate": [StrOptions({"constant", "adaptive", "cosine"})],
    "ema_decay": [Interval(numbers.Real, 0, 1, closed="neither"), None],
    "precision": [StrOptions({"float32", "bfloat16", "auto"})],
    "optimizer": [StrOptions(set(OPTIMIZERS)), callable],
    "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
    "clip_grad_norm": [Interval(numbers.Real, 0, None, closed="neither"), None],
    "early_stopping": ["boolean", StrOptions({"auto"})],
    "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
    "n_iter_no_change": [_positive_int()],
    "downsample": [_positive_int(), StrOptions({"auto"})],
    "series_normalize": ["boolean"],
    "series_differences": ["boolean"],
    "series_scale": ["boolean", StrOptions({"auto"})],
    "window_warp": [Interval(numbers.Real, 0, 1, closed="left"), StrOptions({"auto"})],
    "conv_branch": ["boolean", StrOptions({"auto"})],
    "refit": ["boolean"],
    "tol": [Interval(numbers.Real, 0, None, closed="left")],
    "callbacks": [list, tuple, None],
    "warm_start": ["boolean"],
    "verbose": ["verbose"],
    "random_state": ["random_state"],
    "device": [str, torch.device],
    "checkpoint_dir": [str, os.PathLike, None],
}

ENCODER = dict(
    cell="gru",
    hidden_size=128,
    num_layers=1,
    bidirectional=True,
    dropout=0.5,
    init_state="zeros",
    embedding_dim=300,
)
TEXT_INPUT = dict(
    tokenizer=None,
    token_pattern=None,
    lowercase=True,
    min_frequency=1,
    max_vocabulary_size=None,
)
# each word's spelling read by a character CNN beside its embedding (the tagger's
# token features)
CHARACTERS = dict(char_features=False, char_embedding_dim=25, char_filters=50)
PRETRAINED = dict(pretrained_embeddings=None, freeze_embeddings=False)
NUMERIC_INPUT = dict(standardize=True, layout=None)
TRAINING = dict(
    max_iter=200,
    max_time=None,
    batch_size=32,
    learning_rate_init=2e-3,
    learning_rate="constant",
    ema_decay=None,
    precision="float32",
    optimizer="adam",
    weight_decay=0.0,
    clip_grad_norm=5.0,
    early_stopping="auto",
    validation_fraction=0.1,
    n_iter_no_change=10,
    tol=1e-4,
    callbacks=None,
    warm_start=False,
    verbose=0,
    random_state=None,
    device="auto",
    checkpoint_dir=None,
)

# The parameters that say how to train (or, for a translator, how to decode) rather
# than what the network is: a warm start or partial_fit may change them; any other
# change needs a new network.
TRAINING_PARAMS = frozenset(TRAINING) | {
    "refit",
    "class_weight",
    "seq_len",
    "label_smoothing",
    "beam_size",
    "readout",
    "length_penalty",
    "max_output_length",
}


# the classifier's and the regressor's batch_size, which may be "auto"
BATCH_SIZE_OR_AUTO = [_positive_int(), StrOptions({"auto"})]


def constraints(defaults, **own):
    """The ``_parameter_constraints`` of an estimator with parameters ``defaults``:
    the shared constraint of each, and ``own`` for the ones only it has."""
    return {name: own[name] if name in own else CONSTRAINTS[name] for name in defaults}


def make_init(cls, defaults):
    """An ``__init__`` for ``cls`` that takes the keywords of ``defaults`` (with
    those defaults) and stores each as an attribute of the same name, unchanged."""
    names = tuple(defaults)

    def __init__(self, **params):
        unknown = sorted(set(params) - set(names))
        if unknown:
            raise TypeError(
                f"{cls.__name__}.__init__() got an unexpected keyword argument "
                f"{unknown[0]!r}"
            )
        for name in names:
            setattr(self, name, params.get(name, defaults[name]))

    __init__.__signature__ = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=value)
            for name, value in defaults.items()
        ]
    )
    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    __init__.__module__ = cls.__module__
    __init__.__doc__ = f"Store the parameters of {cls.__name__} (see the class)."
    return __init__
