r"""The recurrent encoder every estimator shares.

Shape legend (as in :mod:`torch.nn.modules.rnn`):

- ``N`` batch size, ``L`` longest sequence in the batch, ``C`` numeric channels,
- ``V`` symbols in the vocabulary (index 0 is padding, 1 the unknown symbol),
- ``E`` embedding size, ``H`` hidden size, ``D`` directions (2 when bidirectional),
- ``K`` stacked layers.

For ``cell="rnn"`` each layer computes
:math:`h_t = \tanh(W_{hh} h_{t-1} + W_{xh} x_t + b)`; ``"lstm"`` adds input, forget and
output gates and a cell state; ``"gru"`` is the gated alternative. The same weights
serve every step.
"""

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from .dropout import Dropout, dropout

UNK = 1  # the unknown-symbol index (0 is padding), as everywhere in this package

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class OneHot(nn.Module):
    """Symbols as one-hot vectors: ``(N, L)`` indices to ``(N, L, V)`` floats.

    Padding (index 0) becomes the zero vector. A one-hot vector times the first layer's
    input matrix is one of its columns, so this is the classic RNN input with nothing
    learned here.
    """

    def __init__(self, n_symbols):
        super().__init__()
        self.n_symbols = n_symbols

    def forward(self, indices):
        onehot = nn.functional.one_hot(indices, self.n_symbols).float()
        onehot[..., 0] = 0.0
        return onehot


class WordEmbedding(nn.Embedding):
    """An embedding (padding row 0) whose last ``n_fixed`` rows are not learned.

    Those rows hold the vectors of words that only pretrained vectors brought into
    the vocabulary: no training sentence reaches most of them, so they would get no
    gradient anyway; kept in a buffer rather than in ``weight`` they cost the
    optimizer nothing, whether there are ten or the 400,000 of a GloVe file, and no
    weight decay wears them down.

    Parameters
    ----------
    n_symbols : int
        All rows ``V``: ``weight`` holds the first ``V - n_fixed``, the buffer
        ``fixed`` the rest.
    embedding_dim : int
    n_fixed : int
    """

    def __init__(self, n_symbols, embedding_dim, n_fixed=0):
        super().__init__(n_symbols - n_fixed, embedding_dim, padding_idx=0)
        self.n_fixed = n_fixed
        if n_fixed:
            self.register_buffer("fixed", torch.zeros(n_fixed, embedding_dim))

    @property
    def table(self):
        """Every row, learned then fixed: ``(V, E)``."""
        if not self.n_fixed:
            return self.weight
        return torch.cat([self.weight, self.fixed])

    def set_rows(self, index, vectors):
        """Write ``vectors`` ``(n, E)`` into rows ``index`` ``(n,)`` of ``table``."""
        n_learned = self.num_embeddings
        learned = index < n_learned
        with torch.no_grad():
            self.weight[index[learned]] = vectors[learned]
            if self.n_fixed:
                self.fixed[index[~learned] - n_learned] = vectors[~learned]

    def forward(self, indices):
        if not self.n_fixed:
            return super().forward(indices)
        n_learned = self.num_embeddings
        learned = indices < n_learned
        # a fixed row reads the padding row here, whose gradient is always zero
        rows = super().forward(torch.where(learned, indices, 0))
        fixed = nn.functional.embedding((indices - n_learned).clamp(min=0), self.fixed)
        return torch.where(learned.unsqueeze(-1), rows, fixed)


def replace_by_unknown(symbols, rates):
    """``symbols`` with each replaced by the unknown symbol (index 1) with the
    probability ``rates`` ``(V,)`` gives it (see :func:`unknown_rates`). Padding (0)
    and the unknown symbol stay as they are. Word dropout, for training."""
    draw = torch.rand(symbols.shape, device=symbols.device)
    drop = draw < rates[symbols]
    return symbols.masked_fill(drop & (symbols > UNK), UNK)


def unknown_rates(n_symbols, rate):
    """``(V,)`` probabilities of word dropout: ``rate`` for every symbol but padding
    and the unknown one, which stay as they are (an owner that knows the words'
    counts may set one per word)."""
    rates = torch.full((n_symbols,), float(rate))
    rates[: UNK + 1] = 0.0
    return rates


def packing_rows(lengths, total_length, device):
    """Where a padded batch's steps go in a packed sequence, and back: ``rows``
    ``(2, S)`` on ``device``, and the packed sequence's ``batch_sizes`` (on the CPU,
    as torch wants them).

    ``rows[0]`` indexes the batch's ``(N * L)`` steps flattened batch first, in the
    packed order (step by step, at each step the sequences still running); ``rows[1]``
    the same steps flattened time first, where :func:`unpack_rows` puts them back.
    ``lengths`` ``(N,)`` on the CPU, sorted in decreasing order.

    :func:`torch.nn.utils.rnn.pack_padded_sequence` and its inverse copy one slice
    per step (one per length, going back), each a kernel launch or a device copy on
    a GPU; one gather each way does the same work in a few launches, whatever the
    length.
    """
    lengths = lengths.cpu()  # where they should be already
    if bool((lengths[1:] > lengths[:-1]).any()):
        raise ValueError(
            f"Expected lengths in decreasing order, got {lengths.tolist()}"
        )
    running = torch.arange(int(lengths[0]))[:, None] < lengths[None, :]  # (L', N)
    step, sequence = running.nonzero(as_tuple=True)  # step by step, in row order
    rows = torch.stack([sequence * total_length + step, step * len(lengths) + sequence])
    rows = rows.to(device, non_blocking=device.type == "cuda")
    return rows, running.sum(dim=1)


def pack_rows(features, rows, batch_sizes):
    """The padded batch ``features`` ``(N, L, F)`` as a
    :class:`~torch.nn.utils.rnn.PackedSequence`, its steps gathered at ``rows[0]``
    (see :func:`packing_rows`)."""
    flat = features.reshape(-1, features.shape[-1])
    # index_select, not indexing: its gradient is one scatter, where indexing's
    # sorts the indices first on a GPU
    return PackedSequence(flat.index_select(0, rows[0]), batch_sizes)


def unpack_rows(data, rows, shape):
    """The inverse of :func:`pack_rows`: packed ``data`` ``(S, F)`` back in a padded
    batch of ``shape`` ``(N, L)``, zero past each length.

    The result is laid out time first in memory, a transposed view, as
    :func:`torch.nn.utils.rnn.pad_packed_sequence` lays it out: what reads it in
    memory order (the random draws of dropout) reads it as before.
    """
    n, total_length = shape
    padded = data.new_zeros((total_length * n, data.shape[-1]))
    # in place on the fresh zeros: the out-of-place form would copy them first
    padded.index_copy_(0, rows[1], data)
    return padded.view(total_length, n, -1).transpose(0, 1)


def reversal_index(lengths, total_length, device):
    """``(N, L)`` indices that reverse each sequence within its length and leave its
    padding in place: gathering a padded batch at them (along the steps) reverses
    every sequence, and gathering again puts it back."""
    steps = torch.arange(total_length)[None, :]
    last = lengths.cpu()[:, None] - 1
    index = torch.where(steps <= last, last - steps, steps)
    return index.to(device, non_blocking=device.type == "cuda")


def _gather_steps(x, index):
    """``x`` ``(N, L, F)`` with its steps gathered at ``index`` ``(N, L)``."""
    return x.gather(1, index.unsqueeze(2).expand(-1, -1, x.shape[2]))


# The recurrent functions nn.LSTM, nn.GRU and nn.RNN (tanh) call
_RNN_FUNCTIONS = {
    "lstm": torch._VF.lstm,
    "gru": torch._VF.gru,
    "rnn": torch._VF.rnn_tanh,
}


def run_directions(rnn, cell, features, lengths, state=None):
    """``rnn``'s outputs ``(N, L, D*H)`` over a padded batch, without packing: zero
    past each length, as the packed run gives them, but no final state.

    Each layer runs each direction as a one-layer, one-way call of torch's recurrent
    function over the whole padded batch, the backward direction over each sequence
    reversed within its length (:func:`reversal_index`). A forward step reads only
    the steps before it, so what the padding does to the steps after a length
    changes no output before it; the backward direction reads each sequence from its
    true end. On the CPU, torch runs a padded LSTM in oneDNN's fused kernel, where a
    packed one goes step by step through slices whose gradients are each a zeroed
    copy of the whole packed input: a bidirectional layer of 200 units, batches of
    32 sequences of up to 30 steps, trains 1.8 times as fast this way. The final
    state is lost (a padded forward direction runs on past each length), hence the
    packed run wherever it is wanted.

    ``state`` is the initial state ``(K*D, N, H)`` (a pair for the LSTM) or ``None``
    for zeros; ``rnn`` is the encoder's ``nn.LSTM``, ``nn.GRU`` or ``nn.RNN``
    (``batch_first``), and its dropout between layers applies as it does there.
    """
    n, total_length = features.shape[:2]
    index = reversal_index(lengths, total_length, features.device)
    directions = 2 if rnn.bidirectional else 1
    function = _RNN_FUNCTIONS[cell]
    x = features
    for layer in range(rnn.num_layers):
        if layer:
            x = dropout(x, rnn.dropout, rnn.training)
        outputs = []
        for direction in range(directions):
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            weights = [
                getattr(rnn, f"{name}{suffix}")
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
            ]
            first = layer * directions + direction
            at = slice(first, first + 1)  # this layer and direction's state
            if state is None:
                h0 = x.new_zeros(1, n, rnn.hidden_size)
                hx = (h0, h0) if cell == "lstm" else h0
            elif cell == "lstm":
                hx = (state[0][at], state[1][at])
            else:
                hx = state[at]
            x_in = _gather_steps(x, index) if direction else x
            # (input, hx, weights, has_biases, num_layers, dropout, train,
            # bidirectional, batch_first), as nn.LSTM calls it
            out = function(x_in, hx, weights, True, 1, 0.0, rnn.training, False, True)
            out = out[0]
            outputs.append(_gather_steps(out, index) if direction else out)
        x = torch.cat(outputs, dim=2) if directions > 1 else outputs[0]
    mask = step_mask(lengths, total_length, x.device)
    return x * mask.unsqueeze(2)


def step_mask(lengths, total_length, device):
    """``(N, L)`` booleans, true at the real (unpadded) steps of each sequence."""
    steps = torch.arange(total_length, device=device)
    return steps[None, :] < lengths.to(device)[:, None]


class ConvFrontEnd(nn.Module):
    """Strided 1-D convolutions before the recurrent layer, for long numeric series.

    A convolution of kernel ``2 * stride`` moving ``stride`` steps at a time, then
    one of kernel 3, each followed by a ReLU: the recurrent layer reads one vector of
    local shape per ``stride`` steps, so it runs ``stride`` times fewer steps. Each
    sequence gives what it would alone: the input past its length is zero (as the
    batches pad it) and so is every output past its new length.

    Parameters
    ----------
    n_channels : int
        ``C``.
    n_filters : int
        Channels out, ``F``.
    stride : int
        Input steps per output step; a sequence of ``l`` steps gives
        ``ceil(l / stride)``.

    Notes
    -----
    ``forward(inputs, lengths)`` takes ``(N, L, C)`` floats and ``lengths`` as the
    encoder does (``None`` when every sequence fills the batch) and returns
    ``(N, L // stride + 1, F)`` and the new lengths ``ceil(lengths / stride)``
    (``None`` stays ``None``, and the output then has ``ceil(L / stride)`` steps).
    """

    def __init__(self, n_channels, n_filters, stride):
        super().__init__()
        self.stride = stride
        self.kernel_size = 2 * stride
        self.reduce = nn.Conv1d(n_channels, n_filters, self.kernel_size, stride=stride)
        self.shape = nn.Conv1d(n_filters, n_filters, 3, padding=1)

    def output_lengths(self, lengths):
        return None if lengths is None else (lengths + self.stride - 1) // self.stride

    def forward(self, inputs, lengths=None):
        # windows start stride/2 steps before each output step's span, and the last
        # ones reach past the end: zeros there, as past any sequence's length. The
        # padding does not depend on the batch's length (so that an exported graph
        # takes any length): the output may have one step more than the longest
        # sequence needs, past every length, and zero
        left = (self.kernel_size - self.stride) // 2
        right = self.kernel_size - left
        x = nn.functional.pad(inputs.transpose(1, 2), (left, right))
        lengths = self.output_lengths(lengths)
        x = torch.relu(self.reduce(x))
        if lengths is None:  # every sequence fills the batch: no step to spare
            x = x[..., : -(-inputs.shape[1] // self.stride)]
        x = self._mask(x, lengths)
        x = self._mask(torch.relu(self.shape(x)), lengths)
        return x.transpose(1, 2), lengths

    @staticmethod
    def _mask(x, lengths):
        if lengths is None:
            return x
        return x * step_mask(lengths, x.shape[-1], x.device).unsqueeze(1)


class MaskedBatchNorm1d(nn.BatchNorm1d):
    """:class:`torch.nn.BatchNorm1d` over ``(N, C, L)`` whose training statistics
    (and running averages) count only the real steps of each sequence, so that a
    batch's padding never moves them; in evaluation it is the plain layer, the same
    at every step.

    ``forward(x, mask)`` takes ``mask`` ``(N, 1, L)`` booleans, true at the real
    steps, or ``None`` when every sequence fills the batch."""

    def forward(self, x, mask=None):
        if mask is None or not self.training:
            return super().forward(x)
        dtype, x = x.dtype, x.float()  # statistics in float32, as the running ones
        weights = mask.to(x.dtype)
        count = weights.sum()  # the real steps of all the sequences
        mean = (x * weights).sum(dim=(0, 2)) / count
        centred = (x - mean[:, None]) * weights
        var = (centred * centred).sum(dim=(0, 2)) / count
        with torch.no_grad():  # as BatchNorm1d: running variance unbiased
            self.running_mean.lerp_(mean, self.momentum)
            unbiased = var * count / (count - 1).clamp(min=1)
            self.running_var.lerp_(unbiased, self.momentum)
            self.num_batches_tracked += 1
        scale = self.weight / torch.sqrt(var + self.eps)
        return ((x - mean[:, None]) * scale[:, None] + self.bias[:, None]).to(dtype)


class ConvBranch(nn.Module):
    """A small fully convolutional network beside the recurrent layer: two
    convolutions (kernels 5 and 3, ``n_filters`` each), each followed by batch
    normalisation and a ReLU, then the mean over each sequence's real steps -- the
    global average pooling of FCN (Wang et al. 2017), as LSTM-FCN (Karim et al.
    2018) sets it beside an LSTM. It reads what the recurrent layer reads (after the
    front end, when there is one), so it costs a fraction of a recurrent pass.

    ``forward(inputs, lengths)`` takes ``(N, L, C)`` and ``lengths`` as the encoder
    does (``None`` when every sequence fills the batch) and returns ``(N, F)``; no
    output depends on the padding."""

    def __init__(self, n_channels, n_filters):
        super().__init__()
        self.wide = nn.Conv1d(n_channels, n_filters, 5, padding=2)
        self.wide_norm = MaskedBatchNorm1d(n_filters)
        self.narrow = nn.Conv1d(n_filters, n_filters, 3, padding=1)
        self.narrow_norm = MaskedBatchNorm1d(n_filters)
        self.output_size = n_filters

    def forward(self, inputs, lengths=None):
        x = inputs.transpose(1, 2)
        mask = None
        if lengths is not None:
            mask = step_mask(lengths, x.shape[-1], x.device).unsqueeze(1)
            x = x * mask  # zero past each length, as the convolutions' padding
        layers = ((self.wide, self.wide_norm), (self.narrow, self.narrow_norm))
        for conv, norm in layers:
            x = torch.relu(norm(conv(x), mask))
            if mask is not None:
                x = x * mask
        if mask is None:
            return x.mean(dim=2)
        return x.sum(dim=2) / lengths.to(x.device, x.dtype)[:, None]


class RecurrentEncoder(nn.Module):
    """Input layer, then a (stacked, optionally bidirectional) RNN, LSTM or GRU.

    Parameters
    ----------
    n_symbols : int or None
        Vocabulary size ``V`` for symbol input (indices ``(N, L)``); ``None`` for
        numeric input.
    embedding_dim : int or None
        With symbols: ``None`` feeds one-hot vectors, an int a learned embedding of that
        size.
    n_channels : int or None
        Channel count ``C`` for numeric input ``(N, L, C)``, which enters as it is.
    cell : {"rnn", "lstm", "gru"}
    hidden_size, num_layers : int
    bidirectional : bool
    dropout : float
        Applied to embedded symbols and between stacked layers (heads apply their own).
    init_state : {"zeros", "learned"}
        The initial hidden (and cell) state: all zeros or a learned vector per layer and
        direction, shared by every sequence.
    freeze_embedding : bool
        Keep the embedding as it was initialised (pretrained vectors).
    n_fixed_symbols : int
        The last symbols of the vocabulary whose rows are never learned (words met
        only in pretrained vectors; see :class:`WordEmbedding`).
    word_dropout : float
        With symbols, while training: replace each known symbol by the unknown one
        (index 1) with this probability, so that the network cannot lean on a few
        words and learns what to do with words it has not seen. Above 0 the rate is
        per symbol, in the buffer ``unknown_rate`` ``(V,)``, which an owner that
        knows the words' counts may set (rare words more often; see
        :class:`~sklearn_rnn.nn.tokens.TokenFeatures`); otherwise there is none.

    Notes
    -----
    ``forward(inputs, lengths, state=None)`` takes ``(N, L)`` int64 symbols or
    ``(N, L, C)`` floats padded at the end, and ``lengths`` ``(N,)`` int64 on the CPU,
    sorted in decreasing order (``None`` when every sequence fills all ``L`` steps). It
    returns ``outputs`` ``(N, L, D*H)`` (zero past each length) and the final state
    ``(K*D, N, H)`` (a pair of them for the LSTM) taken at each sequence's true last
    step. A ``state`` passed in continues from there (truncated backpropagation through
    time, generation) instead of starting from ``init_state``. With
    ``final_state=False`` the state returned is ``None``, and a ragged batch of the
    LSTM on the CPU runs padded, which is faster (see :func:`run_directions`). An
    ``adversary`` perturbs the input features (see :meth:`embed`).
    """

    def __init__(
        self,
        *,
        n_symbols=None,
        embedding_dim=None,
        n_channels=None,
        cell="lstm",
        hidden_size=64,
        num_layers=1,
        bidirectional=False,
        dropout=0.0,
        init_state="zeros",
        freeze_embedding=False,
        n_fixed_symbols=0,
        word_dropout=0.0,
    ):
        super().__init__()
        if (n_symbols is None) == (n_channels is None):
            raise ValueError("Expected exactly one of n_symbols and n_channels")
        if cell not in CELLS:
            raise ValueError(f"Expected cell in {sorted(CELLS)}, got {cell!r}")
        if init_state not in ("zeros", "learned"):
            raise ValueError(
                f"Expected init_state 'zeros' or 'learned', got {init_state!r}"
            )
        self.symbolic = n_symbols is not None
        if not self.symbolic:
            self.input_layer = nn.Identity()
            input_size = n_channels
        elif embedding_dim is None:
            self.input_layer = OneHot(n_symbols)
            input_size = n_symbols
        else:
            self.input_layer = WordEmbedding(n_symbols, embedding_dim, n_fixed_symbols)
            self.input_layer.weight.requires_grad_(not freeze_embedding)
            input_size = embedding_dim
        rates = None  # a buffer of None is in no state dict
        if self.symbolic and word_dropout > 0:
            rates = unknown_rates(n_symbols, word_dropout)
        self.register_buffer("unknown_rate", rates)
        self.cell = cell
        self.num_layers = num_layers
        self.num_directions = 2 if bidirectional else 1
        self.hidden_size = hidden_size
        self.output_size = self.num_directions * hidden_size
        self.dropout = Dropout(dropout)
        self.rnn = CELLS[cell](
            input_size,
            hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
            # torch warns when inter-layer dropout is set on a single layer
            dropout=dropout if num_layers > 1 else 0.0,
            batch_first=True,
        )
        state_shape = (num_layers * self.num_directions, 1, hidden_size)
        n_states = 2 if cell == "lstm" else 1
        if init_state == "learned":
            self.initial_state = nn.ParameterList(
                nn.Parameter(torch.zeros(state_shape)) for _ in range(n_states)
            )
        else:
            self.initial_state = None

    def embed(self, inputs, adversary=None):
        """Input features ``(N, L, F)`` of a padded batch; an ``adversary`` (see
        :mod:`sklearn_rnn.nn.adversarial`) perturbs the embeddings, before dropout."""
        if self.training and self.unknown_rate is not None:
            inputs = replace_by_unknown(inputs, self.unknown_rate)
        features = self.input_layer(inputs)
        if adversary is not None:
            features = adversary(features)
        return self.dropout(features) if self.symbolic else features

    def forward(
        self, inputs, lengths=None, state=None, *, final_state=True, adversary=None
    ):
        features = self.embed(inputs, adversary)
        if state is None:
            state = self.start_state(features.shape[0])
        total_length = features.shape[1]
        if lengths is None or int(lengths[-1]) == total_length:
            # every sequence fills the batch: packing would only cost time
            outputs, state = self.rnn(features, state)
        elif not final_state and self._runs_padded(features):
            outputs = run_directions(self.rnn, self.cell, features, lengths, state)
        else:
            rows, batch_sizes = packing_rows(lengths, total_length, features.device)
            packed = pack_rows(features, rows, batch_sizes)
            outputs, state = self.rnn(packed, state)
            outputs = unpack_rows(outputs.data, rows, features.shape[:2])
        return outputs, state if final_state else None

    def _runs_padded(self, features):
        """Whether a ragged batch runs padded (:func:`run_directions`) rather than
        packed, when no final state is wanted; only on the CPU (on a GPU cuDNN takes
        packed batches as they are). The LSTM always, where oneDNN's fused kernel
        takes a padded batch only. The GRU and the plain RNN step through the
        sequence either way, and run padded where a backward pass will follow:
        there the packed run's slices each add a zeroed copy of the whole packed
        input to the gradient, a cost that grows with the square of the length.
        PLAID's training epochs (series of 12-168 steps after the front end, one
        thread) took 1.66 times as long packed; TREC-6's questions (under 40 words)
        about as long either way. Prediction, without a backward pass, is faster
        packed (PLAID's test set: 0.22 s against 0.42 s)."""
        if features.device.type != "cpu":
            return False
        if self.cell == "lstm":
            return torch.backends.mkldnn.is_available()
        return torch.is_grad_enabled()

    def start_state(self, n):
        """The initial state of ``n`` sequences: ``None`` (zeros) or the learned one."""
        if self.initial_state is None:
            return None
        states = [s.expand(-1, n, -1).contiguous() for s in self.initial_state]
        return tuple(states) if self.cell == "lstm" else states[0]

    def last_hidden(self, state):
        """The top layer's final hidden state, both directions: ``(N, D*H)``."""
        h_n = state[0] if self.cell == "lstm" else state
        top = h_n[-self.num_directions :]  # (D, N, H)
        return top.transpose(0, 1).reshape(h_n.shape[1], self.output_size)
