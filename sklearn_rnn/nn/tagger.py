"""The sequence tagger's network: token features (:mod:`sklearn_rnn.nn.tokens`), a
recurrent encoder, a score per tag and step, and a linear-chain CRF (or independent
steps) on top.

Shapes follow :mod:`sklearn_rnn.nn.encoder` (``N``, ``L``, ``D*H``); ``C`` is the
number of character slots per token, ``K`` the number of tags.
"""

import torch
from torch import nn

from ._protocol import LossOutput
from .crf import LinearChainCRF
from .dropout import Dropout
from .encoder import RecurrentEncoder, step_mask

# CharCNN is named here too: pickles of earlier versions name it in this module
from .tokens import CharCNN, TokenFeatures  # noqa: F401


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
        self.dropout = Dropout(dropout)
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
        outputs, _ = self.encoder(inputs, lengths, final_state=False)
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
        return _per_token(losses, lengths, weights, scores)

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
    tags, trained together or apart and decoded as one.

    ``forward`` stacks the members' scores ``(M, N, L, K)``; the emissions are their
    mean, decoded by the CRF of the members' mean potentials (the path with the
    highest geometric mean of the members' probabilities, within the masks);
    ``marginals`` are those of that CRF, or with ``mean_marginals`` the mean of the
    members' own marginals; ``encode`` joins the members' token vectors
    ``(N, L, sum of D*H)``.

    ``loss`` is the mean of the members' losses, so each member's gradient is its own
    loss's over their number: trained together, members share the batches but not
    their weights, initial draws or dropout, and an optimizer that ignores the
    gradients' scale (Adam) steps each as it would alone, but for gradient clipping,
    which measures them together. A member may be an ensemble itself (in an
    :class:`EnsembleTagger` of taggers of several networks): the means are then
    over the members.

    Parameters
    ----------
    members : sequence of SequenceTaggerNet or TaggerEnsembleNet
    mean_marginals : bool
        Give the mean of the members' marginals rather than the marginals of the
        distribution that decoding reads.
    """

    def __init__(self, members, *, mean_marginals=False):
        super().__init__()
        self.mean_marginals = mean_marginals
        self.members = nn.ModuleList(members)

    @classmethod
    def alike(cls, n_members, **kwargs):
        """``n_members`` new :class:`SequenceTaggerNet` of the same ``kwargs``, each
        with its own initial weights (the name :data:`~sklearn_rnn.nn.MODULES` builds
        ``TaggerEnsembleNet`` by)."""
        return cls([SequenceTaggerNet(**kwargs) for _ in range(n_members)])

    @property
    def crf(self):
        """The CRF of the members' mean start, transition and end scores (made anew
        at each call, from the members' weights as they are)."""
        return LinearChainCRF.mean([member.crf for member in self.members])

    def forward(self, inputs, lengths):
        return torch.stack([member(inputs, lengths) for member in self.members])

    def encode(self, inputs, lengths):
        return torch.cat([m.encode(inputs, lengths) for m in self.members], dim=-1)

    def emissions(self, scores):
        return torch.stack(
            [m.emissions(s) for m, s in zip(self.members, scores, strict=True)]
        ).mean(dim=0)

    def loss(self, inputs, lengths, targets, weights=None, state=None):
        scores = self(inputs, lengths)
        losses = torch.stack(
            [
                m.sequence_losses(s, targets, lengths)
                for m, s in zip(self.members, scores, strict=True)
            ]
        ).mean(dim=0)
        return _per_token(losses, lengths, weights, scores)

    def decode(self, scores, lengths):
        return self.crf.decode(self.emissions(scores), lengths)

    def marginals(self, scores, lengths, pairs=True):
        if not self.mean_marginals:
            return self.crf.marginals(self.emissions(scores), lengths, pairs=pairs)
        each = [
            m.marginals(s, lengths, pairs=pairs)
            for m, s in zip(self.members, scores, strict=True)
        ]
        unary = torch.stack([u for u, _ in each]).mean(dim=0)
        pair = torch.stack([p for _, p in each]).mean(dim=0) if pairs else None
        return unary, pair


def networks(module):
    """The networks ``module`` holds: the members of a :class:`TaggerEnsembleNet` or
    a :class:`~sklearn_rnn.nn.ManyToOneEnsembleNet`, or the module itself."""
    return list(getattr(module, "members", [module]))


def _per_token(losses, lengths, weights, scores):
    """The sequences' ``losses`` ``(N,)``, weighted, as a mean over their tokens."""
    if weights is not None:
        losses = losses * weights
    n_tokens = int(lengths.sum())
    return LossOutput(losses.sum() / n_tokens, n_tokens, scores)
