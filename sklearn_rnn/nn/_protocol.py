"""What every network an estimator trains returns from its ``loss`` method.

The training loop calls ``module.loss(inputs, lengths, targets, weights, state=None)``
for each batch and needs nothing else from the module: a new kind of network brings
its own loss and needs no change to the loop (as minGPT's model returns its logits and
its loss).
"""

from typing import Any, NamedTuple

import torch


class LossOutput(NamedTuple):
    """A batch's loss and what came with it.

    Attributes
    ----------
    loss : torch.Tensor
        Scalar: the mean over the batch's items, each sequence's items weighted by
        its weight when weights are given.
    n_items : int
        How many items the mean is over (sequences, tokens or characters), so that
        means of batches of different sizes combine into an epoch's mean.
    outputs : torch.Tensor or None
        What the network computed on the way (logits, scores), for scoring held-out
        data without a second pass.
    state : Any
        The recurrent state after the batch, for a next batch that continues the
        same sequences (truncated backpropagation through time); ``None`` otherwise.
    """

    loss: torch.Tensor
    n_items: int
    outputs: torch.Tensor | None = None
    state: Any = None
