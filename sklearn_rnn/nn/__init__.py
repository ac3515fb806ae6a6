"""Pure torch modules: no scikit-learn in here, usable on their own.

``MODULES`` names every network an estimator may build; a fitted estimator is rebuilt
from a name in it and plain keyword arguments, so its saved state never holds code.
"""

from ._protocol import LossOutput
from .adversarial import EmbeddingAdversary
from .augment import window_warp
from .crf import LinearChainCRF
from .encoder import CELLS, OneHot, RecurrentEncoder, WordEmbedding
from .heads import POOLINGS, ManyToOneEnsembleNet, ManyToOneNet, NearestReadout
from .language_model import CharLanguageModel
from .seq2seq import (
    ATTENTIONS,
    BOS,
    EOS,
    N_TARGET_SPECIAL,
    PAD,
    UNKNOWN,
    Seq2SeqNet,
)
from .tagger import SequenceTaggerNet, TaggerEnsembleNet, networks
from .tokens import CharCNN, TokenFeatures

MODULES = {
    cls.__name__: cls
    for cls in (ManyToOneNet, CharLanguageModel, SequenceTaggerNet, Seq2SeqNet)
}
MODULES["TaggerEnsembleNet"] = TaggerEnsembleNet.alike
MODULES["ManyToOneEnsembleNet"] = ManyToOneEnsembleNet.alike

__all__ = [
    "ATTENTIONS",
    "BOS",
    "CELLS",
    "EOS",
    "MODULES",
    "N_TARGET_SPECIAL",
    "PAD",
    "POOLINGS",
    "CharCNN",
    "CharLanguageModel",
    "EmbeddingAdversary",
    "LinearChainCRF",
    "LossOutput",
    "ManyToOneEnsembleNet",
    "ManyToOneNet",
    "NearestReadout",
    "OneHot",
    "RecurrentEncoder",
    "Seq2SeqNet",
    "SequenceTaggerNet",
    "TaggerEnsembleNet",
    "networks",
    "TokenFeatures",
    "window_warp",
    "UNKNOWN",
    "WordEmbedding",
]
