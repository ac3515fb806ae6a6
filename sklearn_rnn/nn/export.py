"""The networks as a traced graph (ONNX) runs them: padded batches with masks, no
packing.

Packing cannot be traced: which branch runs, and the lengths sorted in decreasing
order, are decided in Python, so a traced graph would hold the branch of the example
batch and give other outputs for a padded ragged batch. These modules compute what the
trained networks compute on any padded batch in any order: the forward direction reads
each sequence from its first step (what follows its last real step never reaches its
real steps), the backward direction reads each sequence reversed within its length (a
gather), so it starts at its own last real step, and steps past a length are zeroed.

Shapes follow :mod:`sklearn_rnn.nn.encoder`. Each ``forward(inputs, lengths)`` takes
``inputs`` padded at the end in any order of lengths, and ``lengths`` ``(N,)`` int64.
"""

import torch
from torch import nn

from .encoder import CELLS
from .heads import POOLINGS


def _reverse_index(lengths, total_length):
    """``(N, L)``: step ``t`` of each sequence read backwards within its length (steps
    past the length stay where they are), and the mask of real steps ``(N, L)``."""
    steps = torch.arange(total_length, device=lengths.device).unsqueeze(0)
    lengths = lengths.unsqueeze(1)
    mask = steps < lengths
    return torch.where(mask, lengths - 1 - steps, steps), mask


def _gather_steps(values, index):
    """``values[n, index[n, t]]`` for ``values`` ``(N, L, F)``."""
    return values.gather(1, index.unsqueeze(2).expand(-1, -1, values.shape[2]))


class MaskedEncoder(nn.Module):
    """A :class:`~sklearn_rnn.nn.RecurrentEncoder` (its weights shared, not copied)
    run layer by layer and direction by direction over a padded batch.

    ``forward(inputs, lengths)`` -> ``(outputs, last)``: ``outputs`` ``(N, L, D*H)``,
    zero past each length, and ``last`` ``(N, D*H)``, the top layer's final state
    (what ``encoder.last_hidden`` reads off the packed run).
    """

    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder
        rnn = encoder.rnn
        self.layers = nn.ModuleList()
        for k in range(encoder.num_layers):
            directions = nn.ModuleList()
            for suffix in ("", "_reverse")[: encoder.num_directions]:
                names = [f"{kind}_l{k}{suffix}" for kind in _WEIGHT_KINDS]
                weight_ih = getattr(rnn, names[0])
                one = CELLS[encoder.cell](
                    weight_ih.shape[1],
                    encoder.hidden_size,
                    batch_first=True,
                    bias=rnn.bias,
                    **_cell_options(rnn),
                )
                for kind, name in zip(_WEIGHT_KINDS, names, strict=True):
                    if hasattr(rnn, name):
                        setattr(one, f"{kind}_l0", getattr(rnn, name))
                directions.append(one)
            self.layers.append(directions)

    def _state(self, index, n):
        """The initial state of layer-direction ``index`` for ``n`` sequences: the
        learned one, or zeros (given explicitly, so the graph's batch stays dynamic)."""
        learned = self.encoder.initial_state
        h = self.encoder.hidden_size
        if learned is None:
            zeros = self.encoder.rnn.weight_hh_l0.new_zeros(1, 1, h).expand(1, n, h)
            states = [zeros.contiguous()] * (2 if self.encoder.cell == "lstm" else 1)
        else:
            states = [
                s[index : index + 1].expand(1, n, h).contiguous() for s in learned
            ]
        return tuple(states) if self.encoder.cell == "lstm" else states[0]

    def forward(self, inputs, lengths):
        features = self.encoder.embed(inputs)
        n, total_length = features.shape[0], features.shape[1]
        reverse, mask = _reverse_index(lengths, total_length)
        x = features
        n_directions = self.encoder.num_directions
        for k, directions in enumerate(self.layers):
            outputs = []
            for d, rnn in enumerate(directions):
                read = x if d == 0 else _gather_steps(x, reverse)
                out, _ = rnn(read, self._state(k * n_directions + d, n))
                outputs.append(out if d == 0 else _gather_steps(out, reverse))
            x = torch.cat(outputs, dim=2) if len(outputs) > 1 else outputs[0]
        x = x * mask.unsqueeze(2).to(x.dtype)
        h = self.encoder.hidden_size
        last_step = (lengths - 1).clamp(min=0).view(-1, 1)
        last = _gather_steps(x[:, :, :h], last_step).squeeze(1)
        if n_directions == 2:
            last = torch.cat([last, x[:, 0, h:]], dim=1)
        return x, last


_WEIGHT_KINDS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def _cell_options(rnn):
    return {"nonlinearity": rnn.nonlinearity} if isinstance(rnn, nn.RNN) else {}


class ManyToOneGraph(nn.Module):
    """:class:`~sklearn_rnn.nn.ManyToOneNet` for export: ``(N, O)`` outputs (logits
    or scaled targets)."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.encoder = MaskedEncoder(net.encoder)

    def forward(self, inputs, lengths):
        if self.net.front_end is not None:  # long series: the convolutions first
            inputs, lengths = self.net.front_end(inputs, lengths)
        outputs, last = self.encoder(inputs, lengths)
        if self.net.pooling == "last":
            pooled = last
        else:
            pooled = POOLINGS[self.net.pooling](None, outputs, None, lengths)
        return self.net.output(pooled)


class TaggerGraph(nn.Module):
    """:class:`~sklearn_rnn.nn.SequenceTaggerNet` for export: the emissions
    ``(N, L, K)`` its CRF decodes (``net.emissions`` of its scores).

    A network that reads characters takes the word (and feature) columns as
    ``inputs`` ``(N, L, 1 + F)`` and the characters apart, once per distinct
    spelling: ``spellings`` ``(S, W)`` character indices and ``spelling_index``
    ``(N, L)``, the row of each token's spelling (a batch repeats its common words
    and its padding many times).
    """

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.encoder = MaskedEncoder(net.encoder)

    def forward(self, inputs, lengths, spellings=None, spelling_index=None):
        features = self.net.features
        if features is not None:
            chars = None
            if spellings is not None:
                rows = features.chars.features_of_rows(spellings)
                chars = rows.index_select(0, spelling_index.reshape(-1))
                chars = chars.view(spelling_index.shape[0], spelling_index.shape[1], -1)
            inputs = features.join(inputs, chars)
        outputs, _ = self.encoder(inputs, lengths)
        return self.net.emissions(self.net.output(outputs))


class TaggerEnsembleGraph(nn.Module):
    """:class:`~sklearn_rnn.nn.TaggerEnsembleNet` for export: the members' mean
    emissions ``(N, L, K)``, which the ensemble's CRF decodes (inputs as
    :class:`TaggerGraph`'s)."""

    def __init__(self, net):
        super().__init__()
        self.members = nn.ModuleList(TaggerGraph(member) for member in net.members)

    def forward(self, inputs, lengths, *chars):
        return torch.stack([m(inputs, lengths, *chars) for m in self.members]).mean(
            dim=0
        )
