"""The sequence tagger's network: token features, a recurrent encoder, a score per tag
and step, and a linear-chain CRF (or independent steps) on top.

Shapes follow :mod:`sklearn_rnn.nn.encoder` (``N``, ``L``, ``D*H``); ``C`` is the
number of character slots per token, ``K`` the number of tags.
"""

import math

import numpy as np
import torch
from torch import nn

from ._protocol import LossOutput
from .crf import LinearChainCRF
from .encoder import (
    UNK,
    OneHot,
    RecurrentEncoder,
    WordEmbedding,
    replace_by_unknown,
    step_mask,
)

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
        rate = torch.full((n_symbols,), float(word_dropout))
        rate[: UNK + 1] = 0.0  # padding and the unknown symbol stay as they are
        self.register_buffer("unknown_rate", rate)
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


class SequenceTaggerNet(nn.Module):
    """Token features, a recurrent encoder, dropout and a linear layer: a score for
    every tag at every step, read by a linear-chain CRF.

    Parameters
    ----------
    n_tags : int
        ``K``.
    n_symbols, embedding_dim : int or None
        Vocabulary size and embedding size for symbol input (see
        :class:`TokenFeatures`); ``None`` for numeric input.
    n_channels : int or None
        Channels of numeric input ``(N, L, C)``, which enters as it is.
    n_chars : int or None
        Size of the character vocabulary; ``None`` turns character features off.
    char_embedding_dim, char_filters : int
        Sizes of the character embedding and of the character features.
    word_dropout : float
        Probability of replacing a known word by the unknown symbol while training
        (the same for every word; see :class:`TokenFeatures`).
    freeze_embedding : bool
        Keep the word embedding as it was initialised (pretrained vectors).
    n_fixed_symbols : int
        The last words of the vocabulary whose rows are never learned (met only in
        pretrained vectors; see :class:`~sklearn_rnn.nn.encoder.WordEmbedding`).
    feature_sizes : sequence of int
        Number of values (with padding and the unknown value) of each categorical
        token feature; empty for none.
    feature_embedding_dim : int
        Size of each categorical feature's embedding.
    crf : bool
        Train the CRF's start, transition and end scores with the CRF likelihood;
        ``False`` trains each step's softmax alone (cross-entropy), and only the masks
        below link the steps when decoding.
    allowed_start, allowed_transitions, allowed_end : nested lists of bool or None
        Masks of a tag scheme (see :class:`~sklearn_rnn.nn.crf.LinearChainCRF`).
    dropout : float
        On the token features, between stacked layers and on the encoder's outputs.
    **encoder_kwargs
        ``cell``, ``hidden_size``, ``num_layers``, ``bidirectional``, ``init_state``
        of :class:`~sklearn_rnn.nn.encoder.RecurrentEncoder`.

    Notes
    -----
    ``forward(inputs, lengths)`` -> scores ``(N, L, K)``; ``encode(inputs, lengths)``
    -> ``(N, L, D*H)``; ``sequence_losses(scores, tags, lengths)`` -> ``(N,)`` summed
    over each sequence's steps; ``loss(inputs, lengths, tags, weights)`` -> a
    :class:`~sklearn_rnn.nn.LossOutput`, the weighted losses averaged over the
    batch's tokens, with the scores; ``decode(scores, lengths)`` -> ``(N, L)`` tag
    indices; ``marginals(scores, lengths)`` -> per-step and pairwise probabilities.
    """

    def __init__(
        self,
        *,
        n_tags,
        n_symbols=None,
        embedding_dim=None,
        n_channels=None,
        n_chars=None,
        char_embedding_dim=25,
        char_filters=50,
        word_dropout=0.0,
        freeze_embedding=False,
        n_fixed_symbols=0,
        feature_sizes=(),
        feature_embedding_dim=25,
        crf=True,
        allowed_start=None,
        allowed_transitions=None,
        allowed_end=None,
        dropout=0.0,
        **encoder_kwargs,
    ):
        super().__init__()
        if (n_symbols is None) == (n_channels is None):
            raise ValueError("Expected exactly one of n_symbols and n_channels")
        if n_symbols is not None:
            self.features = TokenFeatures(
                n_symbols,
                embedding_dim,
                n_chars=n_chars,
                char_embedding_dim=char_embedding_dim,
                char_filters=char_filters,
                word_dropout=word_dropout,
                freeze_embedding=freeze_embedding,
                n_fixed_symbols=n_fixed_symbols,
                feature_sizes=feature_sizes,
                feature_embedding_dim=feature_embedding_dim,
            )
            input_size = self.features.output_size
        else:
            self.features = None
            input_size = n_channels
        self.dropout = nn.Dropout(dropout)
        self.encoder = RecurrentEncoder(
            n_channels=input_size, dropout=dropout, **encoder_kwargs
        )
        self.output = nn.Linear(self.encoder.output_size, n_tags)
        self.use_crf = crf
        self.crf = LinearChainCRF(
            n_tags,
            allowed_start=allowed_start,
            allowed_transitions=allowed_transitions,
            allowed_end=allowed_end,
            learn_transitions=crf,
        )

    @property
    def word_embedding(self):
        """The word embedding of the token features (symbol input only)."""
        return self.features.embedding

    @property
    def unknown_rate(self):
        """The per-word rates of word dropout ``(V,)`` (a buffer), or ``None``."""
        return None if self.features is None else self.features.unknown_rate

    def encode(self, inputs, lengths):
        if self.features is not None:
            inputs = self.dropout(self.features(inputs))
        outputs, _ = self.encoder(inputs, lengths)
        return outputs

    def forward(self, inputs, lengths):
        return self.output(self.dropout(self.encode(inputs, lengths)))

    def emissions(self, scores):
        """The per-step tag scores the CRF reads: the network's scores with a CRF,
        log-probabilities without one (whose CRF then only enforces the masks)."""
        return scores if self.use_crf else torch.log_softmax(scores, dim=-1)

    def loss(self, inputs, lengths, targets, weights=None, state=None):
        scores = self(inputs, lengths)
        losses = self.sequence_losses(scores, targets, lengths)
        if weights is not None:
            losses = losses * weights
        n_tokens = int(lengths.sum())
        return LossOutput(losses.sum() / n_tokens, n_tokens, scores)

    def sequence_losses(self, scores, tags, lengths):
        if self.use_crf:
            return self.crf.nll(scores, tags, lengths)
        losses = nn.functional.cross_entropy(
            scores.transpose(1, 2), tags, reduction="none"
        )
        mask = step_mask(lengths, scores.shape[1], scores.device)
        return (losses * mask).sum(dim=1)

    def decode(self, scores, lengths):
        return self.crf.decode(self.emissions(scores), lengths)

    def marginals(self, scores, lengths, pairs=True):
        return self.crf.marginals(self.emissions(scores), lengths, pairs=pairs)


class TaggerEnsembleNet(nn.Module):
    """Several :class:`SequenceTaggerNet` that read the same inputs and score the same
    tags, decoded as one.

    ``forward`` stacks the members' scores ``(M, N, L, K)``; the emissions are their
    mean, decoded by the CRF of the members' mean potentials (the path with the
    highest geometric mean of the members' probabilities, within the masks);
    ``marginals`` are the mean of the members' marginals; ``encode`` joins the
    members' token vectors ``(N, L, sum of D*H)``.
    """

    def __init__(self, members):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.crf = LinearChainCRF.mean([member.crf for member in members])

    def forward(self, inputs, lengths):
        return torch.stack([member(inputs, lengths) for member in self.members])

    def encode(self, inputs, lengths):
        return torch.cat([m.encode(inputs, lengths) for m in self.members], dim=-1)

    def emissions(self, scores):
        return torch.stack(
            [m.emissions(s) for m, s in zip(self.members, scores, strict=True)]
        ).mean(dim=0)

    def decode(self, scores, lengths):
        return self.crf.decode(self.emissions(scores), lengths)

    def marginals(self, scores, lengths, pairs=True):
        each = [
            m.marginals(s, lengths, pairs=pairs)
            for m, s in zip(self.members, scores, strict=True)
        ]
        unary = torch.stack([u for u, _ in each]).mean(dim=0)
        pair = torch.stack([p for _, p in each]).mean(dim=0) if pairs else None
        return unary, pair
