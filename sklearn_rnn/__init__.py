"""Recurrent neural networks (RNN, LSTM, GRU) behind the scikit-learn API.

The estimators are loaded on first use (a module ``__getattr__``), so that
:mod:`sklearn_rnn.onnx` serves exported models without importing torch.
"""

import importlib

from ._version import __version__

# public name -> the module that defines it
_LAZY = {
    "CharLMGenerator": "._generator",
    "EnsembleTagger": "._ensemble",
    "LSTMSequenceTagger": "._tagger",
    "RNNClassifier": "._classifier",
    "RNNRegressor": "._regressor",
    "RNNTranslator": "._translator",
    "TrainingHistoryDisplay": "._display",
    "convert_legacy": "._persistence",
    "export_onnx": "._export",
    "load": "._persistence",
}

__all__ = [*sorted(_LAZY), "__version__"]


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # looked up once
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


def _load_all():
    """Import every public name (the estimators register for model files so)."""
    for name in _LAZY:
        __getattr__(name)
