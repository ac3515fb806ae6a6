r"""A recurrent language model: the encoder, and a linear layer over the vocabulary at
every step that scores the next symbol.

Shapes follow :mod:`sklearn_rnn.nn.encoder` (``N``, ``L``, ``H``, ``K``); ``V`` is the
number of symbols, which are both what goes in and what comes out. Index 0 is padding:
it is never a target, and generation never draws it.
"""

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ._protocol import LossOutput
from .dropout import Dropout
from .encoder import RecurrentEncoder


def _slice_state(state, stop):
    """The state of the first ``stop`` sequences, contiguous as cuDNN requires."""
    if isinstance(state, tuple):
        return tuple(s[:, :stop].contiguous() for s in state)
    return state[:, :stop].contiguous()


def _put_state(state, new, stop):
    """``state`` with the first ``stop`` sequences replaced by ``new``."""
    if stop == _batch_size(state):
        return new
    if isinstance(state, tuple):
        return tuple(
            torch.cat([n, s[:, stop:]], dim=1) for n, s in zip(new, state, strict=True)
        )
    return torch.cat([new, state[:, stop:]], dim=1)


def _batch_size(state):
    return (state[0] if isinstance(state, tuple) else state).shape[1]


def _expand_state(state, n):
    if isinstance(state, tuple):
        return tuple(s.expand(-1, n, -1).contiguous() for s in state)
    return state.expand(-1, n, -1).contiguous()


class CharLanguageModel(nn.Module):
    """Encoder, dropout and a linear layer that gives the next symbol's logits.

    Parameters
    ----------
    n_symbols : int
        ``V``: the vocabulary, index 0 being padding.
    dropout : float
        Applied inside the encoder and to what the output layer reads.
    **encoder_kwargs
        Passed to :class:`~sklearn_rnn.nn.encoder.RecurrentEncoder` (unidirectional
        only: a language model reads left to right).

    Notes
    -----
    ``forward(inputs, state=None)`` takes windows ``(N, L)`` of int64 symbols that all
    fill ``L`` steps and returns the logits ``(N, L, V)`` of the symbol after each one,
    and the state after the last step (``(K, N, H)``, a pair for the LSTM), from which
    the next window continues; :meth:`loss` is the training loss of such windows.
    :meth:`read` follows sequences of different lengths, as long as they are, chunk
    by chunk; :meth:`sample` writes new ones.
    """

    def __init__(self, *, n_symbols, dropout=0.0, **encoder_kwargs):
        super().__init__()
        if encoder_kwargs.pop("bidirectional", False):
            raise ValueError(
                "Expected a unidirectional encoder: got bidirectional=True"
            )
        self.encoder = RecurrentEncoder(
            n_symbols=n_symbols, dropout=dropout, **encoder_kwargs
        )
        self.n_symbols = n_symbols
        self.dropout = Dropout(dropout)
        self.output = nn.Linear(self.encoder.output_size, n_symbols)

    def forward(self, inputs, state=None):
        outputs, state = self.encoder(inputs, state=state)
        return self.output(self.dropout(outputs)), state

    def loss(self, inputs, lengths, targets, weights=None, state=None):
        """Cross-entropy of the next symbols over a batch of windows that fill all
        their steps, continuing from ``state``; the state after the windows comes
        back for the windows that continue them."""
        logits, state = self(inputs, state)
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten())
        return LossOutput(loss, targets.numel(), None, state)

    def read(self, inputs, lengths, targets=None, chunk_size=512, state=None):
        """Follow padded sequences to their ends, ``chunk_size`` steps at a time.

        Memory stays bounded however long the sequences are, and the result is exact:
        each chunk continues from the state the last one left, and packing keeps every
        sequence's state at its own last step.

        Parameters
        ----------
        inputs : tensor of shape (N, L), int64
        lengths : tensor of shape (N,), int64 on the CPU, sorted in decreasing order
        targets : tensor of shape (N, L), int64, or None
            The symbol expected after each input.
        chunk_size : int
        state : the state to start from, or None for the initial state

        Returns
        -------
        state : the state after each sequence's last step
        log_likelihood : tensor of shape (N,), float64, or None
            With ``targets``: the summed log-probability of each sequence's targets.
        """
        lengths = lengths.cpu()
        if int(lengths.min()) < 1:
            raise ValueError("Expected every sequence to hold at least one step")
        n = inputs.shape[0]
        if state is None:
            state = self.encoder.start_state(n)
        log_likelihood = None
        if targets is not None:
            log_likelihood = torch.zeros(n, dtype=torch.float64, device=inputs.device)
        for start in range(0, int(lengths[0]), chunk_size):
            left = (lengths - start).clamp(0, chunk_size)
            active = int((left > 0).sum())  # lengths decrease: the first rows
            stop = start + int(left[0])
            chunk = inputs[:active, start:stop]
            features = self.encoder.embed(chunk)
            packed = pack_padded_sequence(features, left[:active], batch_first=True)
            rows_state = None if state is None else _slice_state(state, active)
            outputs, rows_state = self.encoder.rnn(packed, rows_state)
            state = (
                rows_state if state is None else _put_state(state, rows_state, active)
            )
            if targets is None:
                continue
            outputs, _ = pad_packed_sequence(
                outputs, batch_first=True, total_length=stop - start
            )
            log_probs = torch.log_softmax(self.output(self.dropout(outputs)), dim=-1)
            step_ll = log_probs.gather(2, targets[:active, start:stop, None])[..., 0]
            step_ll = step_ll.double()
            steps = torch.arange(stop - start, device=step_ll.device)
            step_ll = step_ll.masked_fill(steps >= left[:active, None].to(steps), 0.0)
            log_likelihood[:active] += step_ll.sum(dim=1)
        return state, log_likelihood

    @torch.inference_mode()
    def sample(
        self,
        state,
        n_steps,
        *,
        n_sequences=1,
        generator=None,
        temperature=1.0,
        top_k=None,
        top_p=None,
        banned=(),
        stop=None,
        progress=None,
    ):
        """Draw ``n_steps`` symbols, each fed back as the next input.

        The state is carried from step to step, so the cost is linear in ``n_steps``,
        and all ``N`` sequences advance together. Each step makes a handful of torch
        calls: one fused cell per layer (``torch.lstm_cell`` and its kin, far cheaper
        for a single step than the full recurrent layer), the output layer with the
        temperature and the banned symbols folded into its weights, and the draw, with
        Gumbel noise made in advance for a block of steps.

        Parameters
        ----------
        state : the state after the prompt, of one sequence or of ``N``
        n_steps : int
        n_sequences : int
            ``N``; a state of one sequence is shared by all of them.
        generator : torch.Generator or None
            Where the draws come from; ``None`` is torch's global generator.
        temperature : float
            Divides the logits; 0 takes the most likely symbol (greedy).
        top_k : int or None
            Draw from the ``top_k`` most likely symbols only.
        top_p : float or None
            Draw from the smallest set of most likely symbols whose probability
            reaches ``top_p`` (nucleus sampling).
        banned : sequence of int
            Symbols never drawn (padding is always banned).
        stop : int or None
            A symbol that ends its sequence: it is kept, nothing is drawn after it.
        progress : callable or None
            Called with the number of steps drawn so far, every few dozen steps and
            at the end (a progress bar's ``update``).

        Returns
        -------
        symbols : tensor of shape (N, n_steps), int64
            Padded with 0 after a ``stop``.
        lengths : tensor of shape (N,), int64
            Symbols drawn per sequence, the ``stop`` included.
        """
        encoder = self.encoder
        if state is None:
            state = encoder.start_state(n_sequences)
        if state is not None and _batch_size(state) != n_sequences:
            state = _expand_state(state, n_sequences)
        weight, bias = self.output.weight, self.output.bias
        device = weight.device
        if state is None:
            zeros = weight.new_zeros(
                (encoder.num_layers, n_sequences, encoder.hidden_size)
            )
            state = (zeros, zeros) if encoder.cell == "lstm" else zeros
        # one state per layer: (h, c) pairs for the LSTM, h otherwise
        if encoder.cell == "lstm":
            layers = [
                (h, c)
                for h, c in zip(state[0].unbind(), state[1].unbind(), strict=True)
            ]
            top = layers[-1][0]
        else:
            layers = list(state.unbind())
            top = layers[-1]
        cell = _CELL_STEPS[encoder.cell]
        rnn = encoder.rnn
        weights = [
            [getattr(rnn, f"{name}_l{k}") for name in _CELL_WEIGHTS]
            for k in range(encoder.num_layers)
        ]
        if isinstance(encoder.input_layer, nn.Embedding):
            table = encoder.input_layer.table
        else:  # one-hot input: row i of the identity is symbol i
            table = torch.eye(self.n_symbols, device=device)
        scale = 1.0 if temperature == 0 else 1.0 / temperature
        out_weight = (weight * scale).t().contiguous()
        out_bias = bias * scale
        out_bias[[0, *banned]] = float("-inf")

        drawn_steps = []
        finished = torch.zeros(n_sequences, dtype=torch.bool, device=device)
        logits = torch.addmm(out_bias, top, out_weight)
        for step in range(n_steps):
            if temperature == 0:
                drawn = logits.argmax(dim=-1)
            else:
                if step % _BLOCK == 0:  # the noise of the next _BLOCK steps at once
                    gumbel = _gumbel_noise(
                        (min(_BLOCK, n_steps - step), *logits.shape), generator, device
                    )
                drawn = _draw(logits, gumbel[step % _BLOCK], top_k, top_p)
            drawn_steps.append(drawn)
            if progress is not None and step % _BLOCK == _BLOCK - 1:
                progress(step + 1)
            # looking for the stop costs a synchronisation: look now and then
            if stop is not None and step % _BLOCK == _BLOCK - 1:
                recent = torch.stack(drawn_steps[-_BLOCK:], dim=1)
                finished |= (recent == stop).any(dim=1)
                if bool(finished.all()):
                    break
            if step + 1 < n_steps:
                inputs = nn.functional.embedding(drawn, table)
                for k, layer_weights in enumerate(weights):
                    layers[k] = cell(inputs, layers[k], *layer_weights)
                    inputs = layers[k][0] if encoder.cell == "lstm" else layers[k]
                logits = torch.addmm(out_bias, inputs, out_weight)
        if progress is not None:
            progress(n_steps)  # done: every step drawn, or every sequence stopped
        if not drawn_steps:
            empty = torch.zeros((n_sequences, n_steps), dtype=torch.int64)
            return empty.to(device), torch.zeros(n_sequences, dtype=torch.int64)
        symbols = torch.stack(drawn_steps, dim=1)
        lengths = torch.full((n_sequences,), symbols.shape[1], dtype=torch.int64)
        if stop is not None:
            is_stop = symbols == stop
            first = torch.where(
                is_stop.any(dim=1), is_stop.int().argmax(dim=1) + 1, symbols.shape[1]
            )
            lengths = first.cpu()
            steps = torch.arange(symbols.shape[1], device=device)
            symbols = symbols.masked_fill(steps >= first[:, None], 0)
        if symbols.shape[1] < n_steps:
            symbols = nn.functional.pad(symbols, (0, n_steps - symbols.shape[1]))
        return symbols, lengths


_CELL_STEPS = {
    "lstm": torch.lstm_cell,
    "gru": torch.gru_cell,
    "rnn": torch.rnn_tanh_cell,
}
_CELL_WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


# Steps whose random draws are made at once, and after which generation looks whether
# every sequence has stopped.
_BLOCK = 32


def _gumbel_noise(shape, generator, device):
    """Standard Gumbel noise: ``argmax(logits + noise)`` is a draw from
    ``softmax(logits)`` (the Gumbel-max trick), one cheap call per step."""
    uniform = torch.rand(shape, generator=generator, device=device)
    return -torch.log(-torch.log(uniform))


def _draw(logits, gumbel, top_k, top_p):
    """One symbol per row of ``logits`` (already divided by the temperature)."""
    if top_k is not None and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        probs = torch.softmax(logits, dim=-1)
        sorted_probs, order = torch.sort(probs, dim=-1, descending=True)
        before = sorted_probs.cumsum(dim=-1) - sorted_probs
        # keep a symbol while the mass of those more likely is below top_p: the most
        # likely symbol always stays
        drop = torch.zeros_like(probs, dtype=torch.bool)
        drop.scatter_(-1, order, before >= top_p)
        logits = logits.masked_fill(drop, float("-inf"))
    return (logits + gumbel).argmax(dim=-1)
