"""Recurrent neural networks (RNN, LSTM, GRU) behind the scikit-learn API."""

from ._classifier import RNNClassifier
from ._regressor import RNNRegressor
from ._tagger import LSTMSequenceTagger

__version__ = "0.1.0.dev0"

__all__ = ["LSTMSequenceTagger", "RNNClassifier", "RNNRegressor", "__version__"]
