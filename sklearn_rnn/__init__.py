"""Recurrent neural networks (RNN, LSTM, GRU) behind the scikit-learn API."""

from ._classifier import RNNClassifier
from ._generator import CharLMGenerator
from ._regressor import RNNRegressor

__version__ = "0.1.0.dev0"

__all__ = ["CharLMGenerator", "RNNClassifier", "RNNRegressor", "__version__"]
