"""Networks built on the encoder: what each sequence shape reads off it.

Shapes follow :mod:`sklearn_rnn.nn.encoder` (``N``, ``L``, ``D*H``); ``O`` is the number
of outputs (classes or regression targets).
"""

import torch
from torch import nn

from .encoder import RecurrentEncoder


def _valid_mask(lengths, total_length, device):
    """``(N, L, 1)`` booleans, true at the real (unpadded) steps."""
    steps = torch.arange(total_length, device=device)
    return (steps[None, :] < lengths.to(device)[:, None]).unsqueeze(-1)


def pool_last(encoder, outputs, state, lengths):
    return encoder.last_hidden(state)


def pool_mean(encoder, outputs, state, lengths):
    mask = _valid_mask(lengths, outputs.shape[1], outputs.device)
    total = outputs.masked_fill(~mask, 0.0).sum(dim=1)
    return total / lengths.to(outputs.device, outputs.dtype)[:, None]


def pool_max(encoder, outputs, state, lengths):
    mask = _valid_mask(lengths, outputs.shape[1], outputs.device)
    return outputs.masked_fill(~mask, float("-inf")).amax(dim=1)


# A new pooling is one entry: (encoder, outputs, final state, lengths) -> (N, D*H).
POOLINGS = {"last": pool_last, "mean": pool_mean, "max": pool_max}


class ManyToOneNet(nn.Module):
    """Encoder, pooling over time, dropout and a linear layer: one vector per sequence.

    Serves both the classifier (``O`` logits) and the regressor (``O`` targets).

    Parameters
    ----------
    n_outputs : int
        ``O``.
    pooling : {"last", "mean", "max"}
        ``"last"`` is the state at each sequence's true last step (and, when
        bidirectional, the backward direction's state at its first step); ``"mean"`` and
        ``"max"`` read only the real steps, never the padding.
    dropout : float
        Applied inside the encoder and to the pooled vector.
    **encoder_kwargs
        Passed to :class:`~sklearn_rnn.nn.encoder.RecurrentEncoder`.

    Notes
    -----
    ``forward(inputs, lengths)`` -> ``(N, O)``; ``pool(inputs, lengths)`` ->
    ``(N, D*H)``.
    """

    def __init__(self, *, n_outputs, pooling="last", dropout=0.0, **encoder_kwargs):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"Expected pooling in {sorted(POOLINGS)}, got {pooling!r}")
        self.encoder = RecurrentEncoder(dropout=dropout, **encoder_kwargs)
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(self.encoder.output_size, n_outputs)

    def pool(self, inputs, lengths):
        outputs, state = self.encoder(inputs, lengths)
        return POOLINGS[self.pooling](self.encoder, outputs, state, lengths)

    def forward(self, inputs, lengths):
        return self.output(self.dropout(self.pool(inputs, lengths)))
