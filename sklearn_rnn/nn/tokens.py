"""Token features: each token's word embedding, the features a character CNN reads
off its spelling, and embeddings of its categorical features (part of speech, ...).
The tagger's networks read tokens through them, and so do the classifier's and the
regressor's with ``char_features``.

Shapes follow :mod:`sklearn_rnn.nn.encoder` (``N``, ``L``); ``C`` is the number of
character slots per token.
"""

import math

import numpy as np
import torch
from torch import nn

from .encoder import OneHot, WordEmbedding, replace_by_unknown, unknown_rates

# where torch.unique(..., dim=0) is known to run; elsewhere every row is computed (on
# the CPU numpy finds the distinct rows, about four times faster)
_UNIQUE_ROWS_DEVICES = ("cpu", "cuda")


def _unique_rows(rows):
    """The distinct rows of a 2-D integer tensor and, for each row, its index among
    them (``torch.unique(rows, dim=0, return_inverse=True)``, rows in another
    order)."""
    if rows.device.type != "cpu":
        return torch.unique(rows, dim=0, return_inverse=True)
    table = np.ascontiguousarray(rows.numpy())
    # each row as one opaque value of its bytes, so that sorting compares rows
    keys = table.view(np.dtype((np.void, table.itemsize * table.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return rows[torch.from_numpy(first)], torch.from_numpy(inverse.reshape(-1))


class CharCNN(nn.Module):
    """Character embeddings, a convolution of width 3 and a maximum over positions:
    one vector per token, ``(M, C)`` character indices to ``(M, F)``.

    It reads the token as written (capitals, digits, affixes), so a token never seen in
    training still gets a telling representation. Positions past a token's end never
    reach the maximum; a token without characters (padding) gets the zero vector.
    Each distinct spelling is computed once per call: a batch repeats its common words
    (and its padding) many times, so this costs a fraction of reading every row.
    """

    def __init__(self, n_chars, embedding_dim=25, n_filters=50):
        super().__init__()
        self.embedding = nn.Embedding(n_chars, embedding_dim, padding_idx=0)
        self.conv = nn.Conv1d(embedding_dim, n_filters, kernel_size=3, padding=1)
        self.output_size = n_filters

    def forward(self, chars):
        width = max(1, int((chars != 0).sum(dim=1).max())) if len(chars) else 1
        chars = chars[:, :width]  # the batch's longest token
        if chars.device.type in _UNIQUE_ROWS_DEVICES and len(chars):
            spellings, inverse = _unique_rows(chars)
            # index_select, not [inverse]: the gradient of indexing a CPU tensor
            # accumulates in an order that changes with threads and runs
            return self.features_of_rows(spellings).index_select(0, inverse)
        return self.features_of_rows(chars)

    def features_of_rows(self, chars):
        """The features of every row of ``chars`` ``(M, C)``."""
        mask = chars != 0
        lengths = mask.sum(dim=1)
        features = self.conv(self.embedding(chars).transpose(1, 2))
        # -inf past the end, added: the same values as filling, and an exported
        # graph adds a broadcast row several times faster than it selects
        past_end = torch.where(mask, 0.0, float("-inf")).to(features.dtype)
        features = (features + past_end.unsqueeze(1)).amax(dim=2)
        return torch.where((lengths > 0).unsqueeze(1), features, 0.0)


class TokenFeatures(nn.Module):
    """A word embedding of each token's index, joined with character features of its
    spelling when ``n_chars`` is given and with an embedding of each of the token's
    categorical features (part of speech, chunk, ...) when ``feature_sizes`` names
    them.

    ``forward`` takes ``(N, L)`` word indices, or ``(N, L, 1 + F + C)`` with the word
    index first, then the indices of the ``F = len(feature_sizes)`` features, then the
    token's character indices. While training, each known word is replaced by the
    unknown symbol with probability ``word_dropout``, so that the network learns what
    to do with words it has not seen; the buffer ``unknown_rate`` ``(V,)`` holds that
    probability per word, and an owner that knows word counts may set it per word
    (rare words more often). The last ``n_fixed_symbols`` words' rows are never
    learned (see :class:`~sklearn_rnn.nn.encoder.WordEmbedding`).
    """

    def __init__(
        self,
        n_symbols,
        embedding_dim=None,
        *,
        n_chars=None,
        char_embedding_dim=25,
        char_filters=50,
        word_dropout=0.0,
        freeze_embedding=False,
        n_fixed_symbols=0,
        feature_sizes=(),
        feature_embedding_dim=25,
    ):
        super().__init__()
        if embedding_dim is None:
            self.embedding = OneHot(n_symbols)
            size = n_symbols
        else:
            self.embedding = _embedding(n_symbols, embedding_dim, n_fixed_symbols)
            self.embedding.weight.requires_grad_(not freeze_embedding)
            size = embedding_dim
        self.chars = (
            None
            if n_chars is None
            else CharCNN(n_chars, char_embedding_dim, char_filters)
        )
        self.feature_embeddings = nn.ModuleList(
            _embedding(n, feature_embedding_dim) for n in feature_sizes
        )
        self.register_buffer("unknown_rate", unknown_rates(n_symbols, word_dropout))
        self.output_size = (
            size
            + (0 if self.chars is None else char_filters)
            + len(feature_sizes) * feature_embedding_dim
        )

    def forward(self, inputs):
        char_features = None
        if self.chars is not None:
            n, length, width = inputs.shape
            first = 1 + len(self.feature_embeddings)
            chars = self.chars(inputs[..., first:].reshape(n * length, width - first))
            char_features = chars.view(n, length, -1)
        return self.join(inputs, char_features)

    def join(self, inputs, char_features=None):
        """The token vectors: embeddings of the word (and feature) indices that
        ``inputs`` ``(N, L, ...)`` begins with, joined with the character features
        ``(N, L, char_filters)`` that ``forward`` computes from the rest of
        ``inputs``, and that a caller may compute otherwise (an exported graph: once
        per distinct spelling, which its server finds)."""
        columns = self.chars is not None or len(self.feature_embeddings) > 0
        words = inputs[..., 0] if columns else inputs
        if self.training:
            words = replace_by_unknown(words, self.unknown_rate)
        parts = [self.embedding(words)]
        parts += [
            embedding(inputs[..., 1 + j])
            for j, embedding in enumerate(self.feature_embeddings)
        ]
        if char_features is not None:
            parts.append(char_features)
        return torch.cat(parts, dim=2) if len(parts) > 1 else parts[0]


def _embedding(n_symbols, dim, n_fixed=0):
    """An embedding with padding row 0 and variance ``1 / dim``, so that the recurrent
    layer starts unsaturated; its last ``n_fixed`` rows are not learned."""
    embedding = WordEmbedding(n_symbols, dim, n_fixed)
    bound = math.sqrt(3.0 / dim)
    with torch.no_grad():
        embedding.weight.uniform_(-bound, bound)
        embedding.weight[0] = 0.0
    return embedding
