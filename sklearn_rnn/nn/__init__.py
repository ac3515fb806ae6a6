"""Pure torch modules: no scikit-learn in here, usable on their own.

``MODULES`` names every network an estimator may build; a fitted estimator is rebuilt
from a name in it and plain keyword arguments, so its saved state never holds code.
"""

from .encoder import CELLS, OneHot, RecurrentEncoder
from .heads import POOLINGS, ManyToOneNet
from .language_model import CharLanguageModel

MODULES = {cls.__name__: cls for cls in (ManyToOneNet, CharLanguageModel)}

__all__ = [
    "CELLS",
    "MODULES",
    "POOLINGS",
    "CharLanguageModel",
    "ManyToOneNet",
    "OneHot",
    "RecurrentEncoder",
]
