"""Pure torch modules: no scikit-learn in here, usable on their own.

``MODULES`` names every network an estimator may build; a fitted estimator is rebuilt
from a name in it and plain keyword arguments, so its saved state never holds code.
"""

from .encoder import CELLS, OneHot, RecurrentEncoder
from .heads import POOLINGS, ManyToOneNet

MODULES = {cls.__name__: cls for cls in (ManyToOneNet,)}

__all__ = ["CELLS", "MODULES", "POOLINGS", "ManyToOneNet", "OneHot", "RecurrentEncoder"]
