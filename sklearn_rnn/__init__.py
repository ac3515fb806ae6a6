"""Recurrent neural networks (RNN, LSTM, GRU) behind the scikit-learn API."""

from ._classifier import RNNClassifier
from ._display import TrainingHistoryDisplay
from ._ensemble import EnsembleTagger
from ._generator import CharLMGenerator
from ._persistence import convert_legacy, load
from ._regressor import RNNRegressor
from ._tagger import LSTMSequenceTagger
from ._translator import RNNTranslator
from ._version import __version__

__all__ = [
    "CharLMGenerator",
    "EnsembleTagger",
    "LSTMSequenceTagger",
    "RNNClassifier",
    "RNNRegressor",
    "RNNTranslator",
    "TrainingHistoryDisplay",
    "__version__",
    "convert_legacy",
    "load",
]
