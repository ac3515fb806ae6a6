"""The one inference path: a dataset's batches through a module on its device, in
eval mode and without gradients, and the outputs back in the order of the input.

Prediction, probabilities, ``transform``, scoring, validation, ensembles and
generation all run through :func:`each_batch`; the helpers below only say how the
outputs of the batches are put together.
"""

import numpy as np
import torch

from ._device import module_device

# Sequences per batch at prediction time: large batches use the hardware well, and
# batches of similar lengths (see SequenceDataset.inference_batches) pad little.
MIN_INFERENCE_BATCH = 256


def each_batch(module, data, function, batch_size):
    """Yield ``(batch, function(module, batch))`` for every inference batch of
    ``data``, the batch on ``module``'s device; ``batch.index`` locates its rows in
    ``data``."""
    module.eval()
    device = module_device(module)
    with torch.inference_mode():
        for batch in data.inference_batches(max(batch_size, MIN_INFERENCE_BATCH)):
            batch = batch.to(device)
            yield batch, function(module, batch)


def per_sequence(module, data, function, batch_size):
    """``function(module, batch)`` -> ``(N, ...)`` over ``data``: one array
    ``(len(data), ...)`` of the outputs' dtype, rows in input order."""
    result = None
    for batch, out in each_batch(module, data, function, batch_size):
        out = out.cpu().numpy()
        if result is None:
            result = np.empty((len(data),) + out.shape[1:], dtype=out.dtype)
        result[batch.index] = out
    return result


def per_step(module, data, function, batch_size):
    """``function(module, batch)`` -> ``(N, L, ...)`` over ``data``: one array per
    sequence, cut to its length, in input order."""
    result = [None] * len(data)
    for batch, out in each_batch(module, data, function, batch_size):
        values = out.cpu().numpy()
        lengths = batch.lengths.tolist()
        for row, (i, length) in enumerate(zip(batch.index, lengths, strict=True)):
            result[i] = values[row, :length]
    return result


def per_item(module, data, function, batch_size):
    """``function(module, batch)`` -> a list of ``N`` Python objects (decoded
    sequences, say): one per sequence, in input order."""
    result = [None] * len(data)
    for batch, items in each_batch(module, data, function, batch_size):
        for i, item in zip(batch.index, items, strict=True):
            result[i] = item
    return result


def mean_loss(module, data, batch_size, collect=None):
    """The weighted mean of ``module.loss`` over ``data`` and, with ``collect``, the
    list of ``collect(module, batch, loss_output)`` of every batch."""
    total, count, collected = 0.0, 0, []
    for batch, out in each_batch(module, data, _loss, batch_size):
        total += float(out.loss) * out.n_items
        count += out.n_items
        if collect is not None:
            collected.append(collect(module, batch, out))
    return total / max(count, 1), collected


def _loss(module, batch):
    return module.loss(batch.inputs, batch.lengths, batch.targets, batch.weights)
