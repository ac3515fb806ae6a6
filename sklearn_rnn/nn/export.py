"""The networks as a traced graph (ONNX) runs them: padded batches in any order of
lengths.

The encoder packs a batch only when its lengths differ, which Python decides, and
packs it sorted by length: a traced graph would hold the branch and the order of the
example batch. These modules always pack, and while they are traced they pack the
batch as it comes, so that the exporter writes each recurrent layer as one ONNX
operator (``LSTM``, ``GRU`` or ``RNN``, both directions) that takes each sequence's
length (``sequence_lens``): the forward direction stops at the length, the backward
direction starts there, and the outputs past a length are zero, whatever the order
of the lengths. In torch they sort the batch for packing, as the encoder does.

Shapes follow :mod:`sklearn_rnn.nn.encoder`. Each ``forward(inputs, lengths)`` takes
``inputs`` padded at the end in any order of lengths, and ``lengths`` ``(N,)`` int64.
"""

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .heads import POOLINGS, combine_outputs
from .language_model import _CELL_STEPS, _CELL_WEIGHTS
from .tagger import networks


class MaskedEncoder(nn.Module):
    """A :class:`~sklearn_rnn.nn.RecurrentEncoder` (its weights shared, not copied)
    run over a padded batch, packed as it comes while traced (see the module).

    ``forward(inputs, lengths)`` -> ``(outputs, last)``: ``outputs`` ``(N, L, D*H)``,
    zero past each length, and ``last`` ``(N, D*H)``, the top layer's final state
    (``encoder.last_hidden``).
    """

    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    def _state(self, n):
        """The initial state of ``n`` sequences: the learned one, or zeros (given
        explicitly, so that the graph's batch size stays dynamic)."""
        encoder = self.encoder
        state = encoder.start_state(n)
        if state is not None:
            return state
        h = encoder.hidden_size
        shape = (encoder.num_layers * encoder.num_directions, 1, h)
        zeros = encoder.rnn.weight_hh_l0.new_zeros(shape).expand(-1, n, -1)
        zeros = zeros.contiguous()
        return (zeros, zeros) if encoder.cell == "lstm" else zeros

    def forward(self, inputs, lengths):
        outputs, state = self.run(inputs, lengths)
        return outputs, self.encoder.last_hidden(state)

    def run(self, inputs, lengths):
        """``(outputs, state)``: the final state whole, ``(K*D, N, H)`` (a pair
        for the LSTM), as the encoder gives it."""
        features = self.encoder.embed(inputs)
        packed = pack_padded_sequence(
            features,
            lengths,
            batch_first=True,
            enforce_sorted=torch.jit.is_tracing(),
        )
        outputs, state = self.encoder.rnn(packed, self._state(features.shape[0]))
        outputs, _ = pad_packed_sequence(
            outputs, batch_first=True, total_length=features.shape[1]
        )
        return outputs, state


class ManyToOneGraph(nn.Module):
    """:class:`~sklearn_rnn.nn.ManyToOneNet` for export: ``(N, O)`` outputs (logits
    or scaled targets; with a ``readout``, a :class:`~sklearn_rnn.nn.NearestReadout`,
    its blended log-probabilities). A network that reads characters takes them as
    :class:`TaggerGraph` does, and gives ``spelled`` too."""

    def __init__(self, net, readout=None):
        super().__init__()
        self.net = net
        self.encoder = MaskedEncoder(net.encoder)
        self.readout = readout

    def forward(
        self, inputs, lengths, spelling_index=None, char_features=None, spellings=None
    ):
        features = self.net.features
        if features is not None:
            inputs = features.join(inputs, _spelled(spelling_index, char_features))
        if self.net.front_end is not None:  # long series: the convolutions first
            inputs, lengths = self.net.front_end(inputs, lengths)
        outputs, last = self.encoder(inputs, lengths)
        if self.net.pooling == "last":
            pooled = last
        else:
            pooled = POOLINGS[self.net.pooling](None, outputs, None, lengths)
        pooled = self.net.join_branch(pooled, inputs, lengths)
        outputs = self.net.output(pooled)
        if self.readout is not None:  # a classifier's nearest readout
            outputs = self.readout(pooled, outputs)
        if spellings is None:
            return outputs
        return outputs, features.chars.features_of_rows(spellings)


class ManyToOneEnsembleGraph(nn.Module):
    """:class:`~sklearn_rnn.nn.ManyToOneEnsembleNet` for export: its ``(N, O)``
    outputs, from the members' as it combines them (inputs as
    :class:`ManyToOneGraph`'s; the members' character features side by side in
    ``char_features``, and so in the features of ``spellings``). With a
    ``readout``, its blended log-probabilities of the members' pooled vectors side
    by side and their combined outputs."""

    def __init__(self, net, readout=None):
        super().__init__()
        self.objective = net.objective
        self.readout = readout
        member_readout = None if readout is None else _WithPooled()
        self.members = nn.ModuleList(
            ManyToOneGraph(member, member_readout) for member in net.members
        )

    def forward(self, inputs, lengths, *chars):
        outputs, spelled = _run_members(self.members, inputs, lengths, chars)
        if self.readout is None:
            combined = combine_outputs(outputs, self.objective)
        else:  # (M, N, P + O): each member's pooled vector, then its outputs
            width = self.members[0].net.pooled_size
            pooled = outputs[..., :width].transpose(0, 1).flatten(1)
            combined = combine_outputs(outputs[..., width:], self.objective)
            combined = self.readout(pooled, combined)
        return combined if spelled is None else (combined, spelled)


class _WithPooled(nn.Module):
    """A member's readout inside an ensemble's nearest readout: its pooled vector
    and its outputs side by side, ``(N, P + O)``, which the ensemble splits."""

    def forward(self, pooled, outputs):
        return torch.cat([pooled, outputs], dim=1)


def _run_members(members, inputs, lengths, chars):
    """The member graphs' outputs, stacked ``(M, ...)``, and with characters
    (``chars``: ``spelling_index, char_features, spellings``) their features of
    ``spellings`` side by side, each member reading its own columns of
    ``char_features``; ``None`` without."""
    if not chars:
        return torch.stack([m(inputs, lengths) for m in members]), None
    spelling_index, char_features, spellings = chars
    outputs, spelled, start = [], [], 0
    for member in members:
        width = member.net.features.chars.output_size
        mine = char_features[:, start : start + width]
        out, features = member(inputs, lengths, spelling_index, mine, spellings)
        outputs.append(out)
        spelled.append(features)
        start += width
    return torch.stack(outputs), torch.cat(spelled, dim=1)


def _spelled(spelling_index, char_features):
    """Each token's row of ``char_features`` ``(S, C)``: ``(N, L, C)``, or ``None``
    without characters."""
    if char_features is None:
        return None
    chars = char_features.index_select(0, spelling_index.reshape(-1))
    return chars.view(spelling_index.shape[0], spelling_index.shape[1], -1)


class TaggerGraph(nn.Module):
    """:class:`~sklearn_rnn.nn.SequenceTaggerNet` for export: the emissions
    ``(N, L, K)`` its CRF decodes (``net.emissions`` of its scores).

    A network that reads characters computes their features apart, once per
    distinct spelling of the whole input rather than per token (a text repeats its
    common words many times), and ``forward`` does both in one graph of two
    independent parts: ``(inputs, lengths, spelling_index, char_features)`` ->
    emissions, where ``inputs`` ``(N, L, 1 + F)`` holds the word (and feature)
    columns and ``spelling_index`` ``(N, L)`` each token's row of
    ``char_features`` ``(S, C)``; and ``spellings`` ``(S', W)`` (character indices)
    -> their features ``(S', C)``, a padding row of zeros the zero vector.
    """

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.encoder = MaskedEncoder(net.encoder)

    def forward(
        self, inputs, lengths, spelling_index=None, char_features=None, spellings=None
    ):
        features = self.net.features
        if features is not None:
            inputs = features.join(inputs, _spelled(spelling_index, char_features))
        outputs, _ = self.encoder(inputs, lengths)
        emissions = self.net.emissions(self.net.output(outputs))
        if spellings is None:
            return emissions
        return emissions, features.chars.features_of_rows(spellings)


class TaggerEnsembleGraph(nn.Module):
    """:class:`~sklearn_rnn.nn.TaggerEnsembleNet` for export: the members' mean
    emissions ``(N, L, K)``, which the ensemble's CRF decodes (inputs as
    :class:`TaggerGraph`'s; the members' character features side by side in
    ``char_features``, and so in the features of ``spellings``)."""

    def __init__(self, net):
        super().__init__()
        # the networks of members that hold several (of the same number each, so
        # that the mean over them all is the mean of the members' means)
        self.members = nn.ModuleList(
            TaggerGraph(network)
            for member in net.members
            for network in networks(member)
        )

    def forward(self, inputs, lengths, *chars):
        scores, spelled = _run_members(self.members, inputs, lengths, chars)
        emissions = scores.mean(dim=0)
        return emissions if spelled is None else (emissions, spelled)


class TranslatorGraph(nn.Module):
    """:class:`~sklearn_rnn.nn.Seq2SeqNet` for export: the encoder and one decoder
    step, two independent parts of one graph, which a server runs apart (each run
    asks for one part's outputs, and feeds the other part's inputs small
    placeholders) and joins by a loop of its own: greedy decoding or beam search.

    ``forward(inputs, lengths, symbols, state[, feed][, values, keys, mask])``:

    - the encoder: ``(inputs, lengths)`` -> the decoder's ``initial_state``
      ``(Z, N, H_d)`` (``Z`` its states: per layer the hidden state, then for the
      LSTM the cell state) and, with attention, the memory that attention reads:
      ``memory_values`` ``(N, S, D*H)``, ``memory_keys`` (``(N, H_d, S)``, or
      ``(N, S, H_d)`` for additive attention) and ``memory_mask`` ``(N, 1, S)`` (0
      at the real positions, minus infinity past each length);
    - a step of ``n`` rows: the previous ``symbols`` ``(n,)`` int64, the ``state``
      ``(Z, n, H_d)``, with input feeding the previous attentional vectors
      ``feed`` ``(n, H_d)`` (zeros at first), and with attention the rows'
      memory -> ``log_probs`` ``(n, V)`` of the next symbol (minus infinity for
      the padding and start symbols), ``next_state``, ``next_feed`` and the
      ``attention`` weights ``(n, S)``.
    """

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.encoder = MaskedEncoder(net.encoder)

    def forward(self, inputs, lengths, symbols, state, *rest):
        net = self.net
        outputs, final = self.encoder.run(inputs, lengths)
        encoded, initial = net.memory_and_state(outputs, final, lengths)
        feed = rest[0] if net.input_feeding else None
        memory = None
        if net.attention is not None:
            memory = type(encoded)(*rest[-3:])
        layer_weights, out_bias = net._layer_weights()
        logits, new_state, feed, weights = net._step(
            symbols, list(state.unbind(0)), feed, memory, layer_weights, out_bias
        )
        results = [torch.stack(initial)]
        if net.attention is not None:
            results[:0] = [encoded.values, encoded.keys, encoded.mask]
        results += [torch.log_softmax(logits, dim=1), torch.stack(new_state)]
        if net.input_feeding:
            results.append(feed)
        if net.attention is not None:
            results.append(weights)
        return tuple(results)


class GeneratorGraph(nn.Module):
    """:class:`~sklearn_rnn.nn.CharLanguageModel` for export: reading prefixes, and
    the one-step function that generation repeats, two independent parts of one
    graph (run apart, as :class:`TranslatorGraph`'s).

    ``forward(inputs, lengths, symbols, state)``:

    - the prefixes ``(N, L)`` (each from its document's beginning) ->
      ``prefix_state`` ``(Z, N, H)`` after each one's last symbol (``Z``: the
      layers' hidden states, then for the LSTM their cell states) and
      ``prefix_logits`` ``(N, V)`` of the symbol after it;
    - a step of ``n`` rows: the symbols just drawn ``symbols`` ``(n,)`` and the
      ``state`` before them -> ``logits`` ``(n, V)`` of the next symbol and
      ``next_state``, each layer one fused cell as
      :meth:`~sklearn_rnn.nn.CharLanguageModel.sample` steps.
    """

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.encoder = MaskedEncoder(net.encoder)

    def forward(self, inputs, lengths, symbols, state):
        net, encoder = self.net, self.net.encoder
        _, final = self.encoder.run(inputs, lengths)
        prefix_logits = net.output(encoder.last_hidden(final))
        lstm = encoder.cell == "lstm"
        prefix_state = torch.cat(final) if lstm else final
        k = encoder.num_layers
        x = encoder.embed(symbols)
        cell = _CELL_STEPS[encoder.cell]
        new_h, new_c = [], []
        for layer in range(k):
            weights = [
                getattr(encoder.rnn, f"{name}_l{layer}") for name in _CELL_WEIGHTS
            ]
            if lstm:
                h, c = cell(x, (state[layer], state[k + layer]), *weights)
                new_c.append(c)
            else:
                h = cell(x, state[layer], *weights)
            new_h.append(h)
            x = h
        logits = net.output(x)
        return prefix_state, prefix_logits, logits, torch.stack(new_h + new_c)
