"""What a trainable network's ``loss`` returns to the training loop.

Every network the loop trains offers ``loss(inputs, lengths, targets, weights=None,
state=None)`` and returns a :class:`LossOutput`, so the loop needs to know nothing of
how a network computes its loss.
"""

from typing import Any, NamedTuple

import torch


class LossOutput(NamedTuple):
    """The loss of one batch and what comes with it.

    Attributes
    ----------
    loss : tensor of shape ()
        The mean over ``n_items`` items; per-sequence ``weights``, when given, scale
        each sequence's summed loss before the division by ``n_items`` (weights of
        mean 1 over a data set keep the loss's scale).
    n_items : int
        The items the mean is over (tokens, sequences, steps: the network says which),
        so that the loop can average a whole epoch exactly.
    outputs : tensor or None
        What validation scoring may read off the batch without another forward pass
        (detached), or ``None``.
    state : tensor, tuple of tensors or None
        The recurrent state to carry to the next batch (truncated backpropagation
        through time), or ``None`` when batches are independent.
    """

    loss: torch.Tensor
    n_items: int
    outputs: torch.Tensor | None = None
    state: Any = None
