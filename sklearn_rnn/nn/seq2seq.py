r"""An encoder-decoder with attention: a sequence in, a sequence of another length out.

Shape legend (as in :mod:`sklearn_rnn.nn.encoder`):

- ``N`` batch size, ``S`` longest source sequence, ``C`` numeric source channels,
- ``T`` longest target sequence (its end-of-sequence symbol included),
- ``V`` target symbols (the four special ones below included),
- ``D*H`` the encoder's output size, ``H_d`` the decoder's hidden size,
- ``K`` stacked layers (the encoder's and the decoder's), ``B`` beams.

Target symbols: :data:`PAD` (0) pads, :data:`UNKNOWN` (1) is the unknown symbol,
:data:`BOS` (2) is what the decoder reads first and :data:`EOS` (3) ends every target;
real symbols start at :data:`N_TARGET_SPECIAL` (4). The decoder never writes ``PAD``
nor ``BOS``: their logits are minus infinity in training and in decoding alike, so the
probabilities that training fits are those that decoding reads.

The decoder follows Luong, Pham and Manning (2015): at step ``t`` the recurrent layer
reads the previous target symbol (and, with input feeding, the previous attentional
vector :math:`\tilde h_{t-1}`) and gives :math:`h_t`; attention scores every source
position :math:`\bar h_s` against :math:`h_t`,

- ``"dot"``: :math:`h_t^\top \bar h_s`,
- ``"general"``: :math:`h_t^\top W_a \bar h_s`,
- ``"additive"``: :math:`v_a^\top \tanh(W_1 \bar h_s + W_2 h_t + b)` (Bahdanau,
  Cho and Bengio's scoring function),

the softmax over the real source positions (padding gets exactly zero weight) mixes
them into a context :math:`c_t`, and :math:`\tilde h_t = \tanh(W_c [c_t; h_t])`
gives the logits :math:`W_o \tilde h_t + b_o` of the next symbol.
"""

import math

import torch
from torch import nn

from ._protocol import LossOutput
from .dropout import Dropout
from .encoder import CELLS, RecurrentEncoder

PAD = 0
UNKNOWN = 1
BOS = 2
EOS = 3
#: Target indices below this one are special; real symbols start here.
N_TARGET_SPECIAL = 4

ATTENTIONS = ("dot", "general", "additive", None)

_CELL_STEPS = {
    "lstm": torch.lstm_cell,
    "gru": torch.gru_cell,
    "rnn": torch.rnn_tanh_cell,
}


def _length_penalty(steps, alpha):
    """GNMT's length penalty ``((5 + steps) / 6) ** alpha`` (1 when alpha is 0)."""
    if alpha == 0:
        return 1.0
    return ((5.0 + steps) / 6.0) ** alpha


class _Memory:
    """What attention reads of the encoded sources, for the rows being decoded.

    ``values`` ``(n, S, D*H)`` the encoder outputs; ``keys`` what a query meets:
    ``(n, H_d, S)`` for ``"dot"`` and ``"general"`` (so a score is one batched
    product), ``(n, S, H_d)`` for ``"additive"``; ``mask`` ``(n, 1, S)``: 0 at real
    positions, minus infinity at padding.
    """

    __slots__ = ("values", "keys", "mask")

    def __init__(self, values, keys, mask):
        self.values, self.keys, self.mask = values, keys, mask

    def select(self, rows):
        return _Memory(self.values[rows], self.keys[rows], self.mask[rows])


class Seq2SeqNet(nn.Module):
    """A recurrent encoder, and a recurrent decoder with attention that writes the
    target one symbol at a time until it writes :data:`EOS`.

    Parameters
    ----------
    n_target_symbols : int
        ``V``: target symbols, the four special ones included.
    n_symbols, embedding_dim, n_channels : int or None
        The source: ``n_symbols`` for symbol input ``(N, S)`` (with ``embedding_dim``
        ``None`` for one-hot vectors or an int for a learned embedding), or
        ``n_channels`` for numeric input ``(N, S, C)``; see
        :class:`~sklearn_rnn.nn.encoder.RecurrentEncoder`.
    target_embedding_dim : int or None
        Size of the learned target embedding; ``None`` feeds the decoder one-hot
        vectors.
    cell : {"rnn", "lstm", "gru"}
        The encoder's and the decoder's cell.
    hidden_size : int
        ``H``: the encoder's hidden size per direction.
    num_layers : int
        ``K``: stacked layers of the encoder and of the decoder; decoder layer ``k``
        starts from encoder layer ``k``'s final state.
    bidirectional : bool
        A bidirectional encoder (the decoder always reads left to right).
    decoder_hidden_size : int or None
        ``H_d``; ``None`` is ``H`` (with ``attention="dot"``, which needs them
        equal, the encoder's output size ``D*H``). When ``H_d == D*H`` the encoder's
        final states (both directions side by side) start the decoder as they are;
        otherwise through a learned bridge (``tanh`` of a linear map for the hidden
        state, a linear map for the LSTM's cell state).
    attention : {"dot", "general", "additive"} or None
        The scoring function (see the module's docstring); ``None`` has no attention:
        the decoder knows the source only through its initial state, and its hidden
        state gives the logits. ``"dot"`` needs ``H_d == D*H``.
    input_feeding : bool
        Feed the previous attentional vector to the next step with the previous
        symbol (Luong et al.), so the decoder knows what it attended to. Training then
        steps through the target one symbol at a time; without it one call of the
        recurrent layer reads the whole target, which is several times faster on
        a CPU and more so on a GPU. Ignored without attention.
    dropout : float
        On the source and target embeddings, between stacked layers and on what the
        output layer reads.
    label_smoothing : float
        In training, :meth:`loss` mixes the cross-entropy of each target symbol
        with this share of the mean cross-entropy over every symbol the decoder may
        write (all but ``PAD`` and ``BOS``).
    init_state : {"zeros", "learned"}
        The encoder's initial state.
    freeze_embedding : bool
    n_fixed_symbols : int
        Of the source embedding; see :class:`~sklearn_rnn.nn.encoder.RecurrentEncoder`.

    Notes
    -----
    ``inputs`` are ``(N, S)`` int64 source symbols or ``(N, S, C)`` floats, padded at
    the end; ``lengths`` ``(N,)`` int64 on the CPU, sorted in decreasing order, each
    at least 1; ``targets`` ``(N, T)`` int64, each row its symbols then :data:`EOS`,
    then zeros.

    - :meth:`loss` trains with teacher forcing: the decoder reads ``BOS`` and the
      target but its last symbol and learns to write the target.
    - :meth:`greedy` and :meth:`beam_search` decode a batch, each sequence stopping on
      its own at ``EOS`` or at ``max_length``; :meth:`log_likelihood` scores given
      targets.

    Examples
    --------
    >>> import torch
    >>> from sklearn_rnn.nn import EOS, Seq2SeqNet
    >>> _ = torch.manual_seed(0)
    >>> net = Seq2SeqNet(n_target_symbols=10, n_symbols=8, hidden_size=16)
    >>> inputs = torch.tensor([[2, 3, 4], [5, 6, 0]])  # sources of 3 and 2 symbols
    >>> lengths = torch.tensor([3, 2])
    >>> targets = torch.tensor([[4, 5, EOS, 0], [6, 7, 8, EOS]])
    >>> out = net.loss(inputs, lengths, targets)
    >>> out.n_items, out.loss.shape
    (7, torch.Size([]))
    >>> symbols, out_lengths, log_likelihood = net.eval().beam_search(
    ...     inputs, lengths, max_length=5, beam_size=3)
    >>> symbols.shape[0], out_lengths.shape, log_likelihood.dtype
    (2, torch.Size([2]), torch.float64)
    """

    def __init__(
        self,
        *,
        n_target_symbols,
        n_symbols=None,
        embedding_dim=None,
        n_channels=None,
        target_embedding_dim=None,
        cell="lstm",
        hidden_size=64,
        num_layers=1,
        bidirectional=False,
        decoder_hidden_size=None,
        attention="general",
        input_feeding=False,
        dropout=0.0,
        label_smoothing=0.0,
        init_state="zeros",
        freeze_embedding=False,
        n_fixed_symbols=0,
    ):
        super().__init__()
        if attention not in ATTENTIONS:
            raise ValueError(f"Expected attention in {ATTENTIONS}, got {attention!r}")
        if n_target_symbols <= N_TARGET_SPECIAL:
            raise ValueError(
                f"Expected n_target_symbols > {N_TARGET_SPECIAL} (the special symbols "
                f"and at least one real one), got {n_target_symbols}"
            )
        self.encoder = RecurrentEncoder(
            n_symbols=n_symbols,
            embedding_dim=embedding_dim,
            n_channels=n_channels,
            cell=cell,
            hidden_size=hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
            dropout=dropout,
            init_state=init_state,
            freeze_embedding=freeze_embedding,
            n_fixed_symbols=n_fixed_symbols,
        )
        source_size = self.encoder.output_size
        if decoder_hidden_size is None:
            decoder_hidden_size = source_size if attention == "dot" else hidden_size
        if attention == "dot" and decoder_hidden_size != source_size:
            raise ValueError(
                "attention='dot' needs decoder_hidden_size equal to the encoder's "
                f"output size {source_size}, got {decoder_hidden_size}"
            )
        self.n_target_symbols = n_target_symbols
        self.cell = cell
        self.num_layers = num_layers
        self.hidden_size = decoder_hidden_size
        self.attention = attention
        self.input_feeding = input_feeding and attention is not None
        self.label_smoothing = label_smoothing
        self.dropout = Dropout(dropout)

        if target_embedding_dim is None:
            self.target_embedding = None
            onehot = torch.eye(n_target_symbols)
            onehot[PAD] = 0.0
            self.register_buffer("onehot", onehot, persistent=False)
            target_size = n_target_symbols
        else:
            self.target_embedding = nn.Embedding(
                n_target_symbols, target_embedding_dim, padding_idx=PAD
            )
            target_size = target_embedding_dim
        feed_size = decoder_hidden_size if self.input_feeding else 0
        self.decoder = CELLS[cell](
            target_size + feed_size,
            decoder_hidden_size,
            num_layers=num_layers,
            dropout=dropout if num_layers > 1 else 0.0,
            batch_first=True,
        )
        n_states = 2 if cell == "lstm" else 1
        if source_size == decoder_hidden_size:
            self.bridge = None
        else:
            self.bridge = nn.ModuleList(
                nn.Linear(source_size, decoder_hidden_size) for _ in range(n_states)
            )
        if attention == "general":
            self.attention_key = nn.Linear(source_size, decoder_hidden_size, bias=False)
        elif attention == "additive":
            self.attention_key = nn.Linear(source_size, decoder_hidden_size, bias=False)
            self.attention_query = nn.Linear(decoder_hidden_size, decoder_hidden_size)
            self.attention_energy = nn.Parameter(
                torch.empty(decoder_hidden_size).uniform_(
                    -1 / math.sqrt(decoder_hidden_size),
                    1 / math.sqrt(decoder_hidden_size),
                )
            )
        if attention is not None:
            self.combine = nn.Linear(
                source_size + decoder_hidden_size, decoder_hidden_size, bias=False
            )
        self.output = nn.Linear(decoder_hidden_size, n_target_symbols)
        banned = torch.zeros(n_target_symbols)
        banned[[PAD, BOS]] = float("-inf")
        self.register_buffer("banned", banned, persistent=False)

    @property
    def word_embedding(self):
        """The source's input layer (a :class:`~sklearn_rnn.nn.WordEmbedding` for
        symbols), where pretrained vectors go."""
        return self.encoder.input_layer

    # -- encoding -----------------------------------------------------------------

    def encode(self, inputs, lengths):
        """Encode a batch: what attention reads, and the decoder's initial state.

        Parameters
        ----------
        inputs : tensor of shape (N, S), int64, or (N, S, C), float
        lengths : tensor of shape (N,), int64, sorted in decreasing order

        Returns
        -------
        memory : _Memory
            The encoder outputs ``(N, S, D*H)``, their attention keys and the padding
            mask, for the decoder's steps.
        state : list of tensors of shape (N, H_d)
            Per decoder layer its hidden state (and then, for the LSTM, its cell
            state).
        """
        lengths = lengths.cpu()
        if int(lengths.min()) < 1:
            raise ValueError("Expected every source sequence to hold at least one step")
        outputs, final = self.encoder(inputs, lengths)
        return self.memory_and_state(outputs, final, lengths)

    def memory_and_state(self, outputs, final, lengths):
        """What :meth:`encode` returns, from the encoder's ``outputs`` ``(N, S,
        D*H)`` and final state ``(K*D, N, H)`` (a pair for the LSTM): the step that
        an exported graph shares (:mod:`sklearn_rnn.nn.export`)."""
        n, length = outputs.shape[:2]
        steps = torch.arange(length, device=outputs.device)
        padding = steps[None, :] >= lengths.to(outputs.device)[:, None]
        mask = outputs.new_zeros(n, 1, length).masked_fill(padding[:, None], -math.inf)
        if self.attention in ("dot", None):
            keys = outputs.transpose(1, 2)
        elif self.attention == "general":
            keys = self.attention_key(outputs).transpose(1, 2)
        else:
            keys = self.attention_key(outputs)
        memory = _Memory(outputs, keys, mask)

        finals = final if isinstance(final, tuple) else (final,)
        directions = self.encoder.num_directions
        state = []
        per_kind = []
        for i, h_n in enumerate(finals):
            # (K*D, N, H) -> (K, N, D*H): each layer's directions side by side
            h = h_n.view(self.num_layers, directions, n, -1).permute(0, 2, 1, 3)
            h = h.reshape(self.num_layers, n, -1)
            if self.bridge is not None:
                h = self.bridge[i](h)
                if i == 0:  # a hidden state lies in (-1, 1); a cell state need not
                    h = torch.tanh(h)
            per_kind.append(h.unbind())
        for layer in zip(*per_kind, strict=True):
            state.extend(layer)
        return memory, state

    # -- one decoder step, and attention --------------------------------------------

    def _attend(self, query, memory):
        """Attention of queries ``(n, t, H_d)`` over the memory: the attentional
        vectors ``(n, t, H_d)`` and the weights ``(n, t, S)``."""
        if self.attention == "additive":
            projected = self.attention_query(query)  # (n, t, H_d)
            energy = torch.tanh(memory.keys[:, None] + projected[:, :, None])
            scores = torch.matmul(energy, self.attention_energy) + memory.mask
        else:
            scores = torch.baddbmm(memory.mask, query, memory.keys)
        weights = torch.softmax(scores, dim=-1)
        context = torch.bmm(weights, memory.values)
        attentional = torch.tanh(self.combine(torch.cat([context, query], dim=-1)))
        return attentional, weights

    def _embed_targets(self, symbols):
        if self.target_embedding is None:
            return nn.functional.embedding(symbols, self.onehot)
        return self.dropout(self.target_embedding(symbols))

    def _layer_weights(self):
        """The decoder's weights per layer, and the output bias with the banned
        symbols folded in: what every step reads, looked up once."""
        rnn = self.decoder
        layers = [
            (
                getattr(rnn, f"weight_ih_l{k}"),
                getattr(rnn, f"weight_hh_l{k}"),
                getattr(rnn, f"bias_ih_l{k}"),
                getattr(rnn, f"bias_hh_l{k}"),
            )
            for k in range(self.num_layers)
        ]
        return layers, self.output.bias + self.banned

    def _step(self, symbols, state, feed, memory, layer_weights, out_bias):
        """One decoder step for ``n`` rows: previous symbols ``(n,)``, state, the
        previous attentional vectors ``(n, H_d)`` (or ``None``).

        Returns the logits ``(n, V)``, the new state, the attentional vectors
        ``(n, H_d)`` (``None`` without attention) and the attention weights
        ``(n, S)`` (``None`` without attention). A handful of calls: the fused cell of
        each layer (``torch.lstm_cell`` and kin, far cheaper for one step than the
        full recurrent layer), a few batched products for attention, the output
        layer.
        """
        x = self._embed_targets(symbols)
        if self.input_feeding:
            x = torch.cat([x, feed], dim=1)
        step = _CELL_STEPS[self.cell]
        new_state = []
        for k, weights in enumerate(layer_weights):
            if k:
                x = self.dropout(x)
            if self.cell == "lstm":
                h, c = step(x, (state[2 * k], state[2 * k + 1]), *weights)
                new_state += (h, c)
            else:
                h = step(x, state[k], *weights)
                new_state.append(h)
            x = h
        if self.attention is None:
            top, attentional, weights = x, None, None
        else:
            attentional, weights = self._attend(x[:, None], memory)
            attentional, weights = attentional[:, 0], weights[:, 0]
            top = attentional
        logits = torch.addmm(out_bias, self.dropout(top), self.output.weight.t())
        return logits, new_state, attentional, weights

    def _start_feed(self, state):
        if not self.input_feeding:
            return None
        return state[0].new_zeros(state[0].shape[0], self.hidden_size)

    # -- training -----------------------------------------------------------------

    def target_log_probs(self, inputs, lengths, targets):
        """Teacher-forced log-probability of each target symbol.

        Parameters
        ----------
        inputs, lengths, targets
            As in :meth:`loss`.

        Returns
        -------
        tensor of shape (N, T)
            The log-probability of ``targets[i, t]`` after the source and
            ``targets[i, :t]``; zero at padding.
        """
        logits = self._teacher_forced_logits(inputs, lengths, targets)
        return self._scored(logits, targets)

    @staticmethod
    def _scored(logits, targets):
        return -nn.functional.cross_entropy(
            logits.transpose(1, 2), targets, ignore_index=PAD, reduction="none"
        )

    def _teacher_forced_logits(self, inputs, lengths, targets):
        """The logits ``(N, T, V)`` of each target position, the decoder reading the
        true previous symbols."""
        memory, state = self.encode(inputs, lengths)
        n = targets.shape[0]
        bos = targets.new_full((n, 1), BOS)
        previous = torch.cat([bos, targets[:, :-1]], dim=1)
        if self.input_feeding:
            feed = self._start_feed(state)
            layer_weights, out_bias = self._layer_weights()
            step_logits = []
            for t in range(targets.shape[1]):
                logits, state, feed, _ = self._step(
                    previous[:, t], state, feed, memory, layer_weights, out_bias
                )
                step_logits.append(logits)
            logits = torch.stack(step_logits, dim=1)
        else:
            stride = 2 if self.cell == "lstm" else 1
            initial = [torch.stack(state[i::stride]) for i in range(stride)]
            initial = tuple(initial) if self.cell == "lstm" else initial[0]
            outputs, _ = self.decoder(self._embed_targets(previous), initial)
            if self.attention is not None:
                outputs, _ = self._attend(outputs, memory)
            logits = self.output(self.dropout(outputs)) + self.banned
        return logits

    def loss(self, inputs, lengths, targets, weights=None, state=None):
        """Teacher-forced cross-entropy per target symbol (its ``EOS`` included).

        Parameters
        ----------
        inputs : tensor of shape (N, S), int64, or (N, S, C), float
        lengths : tensor of shape (N,), int64 on the CPU, sorted in decreasing order
        targets : tensor of shape (N, T), int64
            Each row its symbols, :data:`EOS`, then zeros.
        weights : tensor of shape (N,) or None
            Scale each sequence's summed loss.
        state : None
            Unused: sequences are independent.

        Returns
        -------
        LossOutput
            ``loss``: the (weighted) summed negative log-likelihood, smoothed in
            training mode by ``label_smoothing``, divided by ``n_items``, the number
            of target symbols; ``outputs``: each target's log-likelihood ``(N,)``,
            detached (never smoothed).
        """
        logits = self._teacher_forced_logits(inputs, lengths, targets)
        per_sequence = self._scored(logits, targets).sum(dim=1)
        n_items = int((targets != PAD).sum())
        losses = -per_sequence
        smoothing = self.label_smoothing if self.training else 0.0
        if smoothing:
            # (1 - eps) * NLL + eps * the mean NLL over the symbols it may write
            log_probs = torch.log_softmax(logits, dim=-1).masked_fill(
                torch.isinf(self.banned), 0.0
            )
            uniform = -log_probs.sum(dim=-1) / (self.n_target_symbols - 2)
            uniform = uniform.masked_fill(targets == PAD, 0.0).sum(dim=1)
            losses = (1 - smoothing) * losses + smoothing * uniform
        if weights is not None:
            losses = losses * weights
        return LossOutput(
            losses.sum() / max(n_items, 1), n_items, per_sequence.detach()
        )

    @torch.inference_mode()
    def log_likelihood(self, inputs, lengths, targets):
        """Summed log-probability of each target, its ``EOS`` included: ``(N,)``
        float64."""
        return self.target_log_probs(inputs, lengths, targets).double().sum(dim=1)

    # -- decoding -----------------------------------------------------------------

    @torch.inference_mode()
    def greedy(self, inputs, lengths, max_length, *, return_attention=False):
        """Decode a batch, each step taking the most likely symbol.

        Parameters
        ----------
        inputs : tensor of shape (N, S), int64, or (N, S, C), float
        lengths : tensor of shape (N,), int64 on the CPU, sorted in decreasing order
        max_length : int
            The most symbols written per sequence; a sequence that has not written
            ``EOS`` by then stops there.
        return_attention : bool
            Also return the attention weights behind each written symbol.

        Returns
        -------
        symbols : tensor of shape (N, T), int64
            ``T <= max_length`` is the longest output; zeros after each one (the
            ``EOS`` is not returned).
        lengths : tensor of shape (N,), int64 on the CPU
            Symbols written, ``EOS`` excluded.
        log_likelihood : tensor of shape (N,), float64
            The summed log-probability of the symbols and of the ``EOS`` (when one
            was written).
        attention : tensor of shape (N, T, S)
            Only with ``return_attention``: zeros past each length (and everywhere
            without attention).
        """
        memory, state = self.encode(inputs, lengths)
        return self._greedy(memory, state, max_length, return_attention)

    def _greedy(self, memory, state, max_length, return_attention):
        n, _, source_length = memory.mask.shape
        device = memory.mask.device
        feed = self._start_feed(state)
        layer_weights, out_bias = self._layer_weights()
        symbols_out = torch.zeros(n, max_length, dtype=torch.int64, device=device)
        log_likelihood = torch.zeros(n, dtype=torch.float64, device=device)
        ended_at = torch.full((n,), max_length, dtype=torch.int64, device=device)
        attention_out = None
        if return_attention:
            attention_out = memory.mask.new_zeros(n, max_length, source_length)
        active = torch.arange(n, device=device)
        symbols = torch.full((n,), BOS, dtype=torch.int64, device=device)
        for t in range(max_length):
            logits, state, feed, weights = self._step(
                symbols, state, feed, memory, layer_weights, out_bias
            )
            best, symbols = torch.log_softmax(logits, dim=1).max(dim=1)
            log_likelihood.index_add_(0, active, best.double())
            symbols_out[:, t].index_copy_(0, active, symbols)
            if return_attention and weights is not None:
                attention_out[:, t].index_copy_(0, active, weights)
            ended = symbols == EOS
            if not bool(ended.any()):
                continue
            ended_at.index_fill_(0, active[ended], t)
            going = (~ended).nonzero()[:, 0]
            if going.numel() == 0:
                break
            # drop the finished rows: the next steps compute only the others
            active, symbols = active[going], symbols[going]
            memory = memory.select(going)
            state = [s[going] for s in state]
            feed = None if feed is None else feed[going]
        out_lengths = ended_at.cpu()
        width = int(out_lengths.max()) if n else 0
        steps = torch.arange(width, device=device)
        after = steps[None, :] >= ended_at[:, None]
        symbols_out = symbols_out[:, :width].masked_fill(after, PAD)
        if not return_attention:
            return symbols_out, out_lengths, log_likelihood
        attention_out = attention_out[:, :width].masked_fill(after[..., None], 0.0)
        return symbols_out, out_lengths, log_likelihood, attention_out

    @torch.inference_mode()
    def beam_search(
        self,
        inputs,
        lengths,
        max_length,
        beam_size=5,
        *,
        length_penalty=0.0,
        return_attention=False,
    ):
        """Decode a batch with beam search: the ``beam_size`` best partial outputs
        of each sequence are extended together, all sequences at once.

        Each step extends the ``N*B`` live hypotheses and keeps, per sequence, the
        ``B`` best continuations that do not end there; those that end with ``EOS``
        are set aside, only the best one per sequence being kept. A sequence stops
        once its best finished hypothesis ranks at least as high as its best live one
        could (exact with ``length_penalty=0``, where log-probabilities only fall;
        with a penalty, against the live one ending at the next step, the usual
        heuristic), or at ``max_length``, where the live hypotheses are finished as
        they are. The greedy output competes too, so the result never ranks below
        it.

        Parameters
        ----------
        inputs, lengths, max_length, return_attention
            As in :meth:`greedy`.
        beam_size : int
            ``B``; 1 is greedy decoding.
        length_penalty : float
            ``alpha`` of GNMT's length penalty: hypotheses are ranked by their summed
            log-probability divided by ``((5 + steps) / 6) ** alpha``, ``steps``
            counting the ``EOS``; 0 ranks by log-probability alone, larger values
            favour longer outputs.

        Returns
        -------
        symbols, lengths, log_likelihood[, attention]
            As in :meth:`greedy`, for the best hypothesis of each sequence;
            ``log_likelihood`` is its summed log-probability (not divided by the
            penalty).
        """
        if beam_size < 1:
            raise ValueError(f"Expected beam_size >= 1, got {beam_size}")
        memory, state = self.encode(inputs, lengths)
        greedy = self._greedy(memory, state, max_length, return_attention)
        if beam_size == 1:
            return greedy
        return self._beam_search(
            memory, state, max_length, beam_size, length_penalty, greedy
        )

    def _beam_search(self, memory, state, max_length, beam, alpha, greedy):
        return_attention = len(greedy) == 4
        n, _, source_length = memory.mask.shape
        device = memory.mask.device
        vocabulary = self.n_target_symbols
        layer_weights, out_bias = self._layer_weights()
        best_rank = torch.full((n,), -math.inf, dtype=torch.float64, device=device)
        best_ll = torch.full((n,), -math.inf, dtype=torch.float64, device=device)
        best_length = torch.zeros(n, dtype=torch.int64, device=device)
        best_symbols = torch.zeros(n, max_length, dtype=torch.int64, device=device)
        best_attention = None
        if return_attention:
            best_attention = memory.mask.new_zeros(n, max_length, source_length)

        def keep_best(active, rows, ranks, scores, lengths, prefix, history):
            """Set aside the finished hypotheses ``rows`` (one per active sequence
            or fewer) where they rank above the best so far."""
            better = ranks > best_rank[active]
            if not bool(better.any()):
                return
            where = better.nonzero()[:, 0]
            ids, rows = active[where], rows[where]
            best_rank[ids] = ranks[where]
            best_ll[ids] = scores[where]
            best_length[ids] = lengths
            width = prefix.shape[1]
            best_symbols[ids, :width] = prefix[rows]
            if history is not None:
                best_attention[ids, :width] = history[rows]

        # every sequence's B beams side by side: row i*B + b; the first step, the same
        # for all B, is computed once
        beams = torch.arange(n, device=device).repeat_interleave(beam)
        first_memory, memory = memory, memory.select(beams)
        feed = self._start_feed(state)
        scores = torch.zeros(n, beam, dtype=torch.float64, device=device)
        scores[:, 1:] = -math.inf  # at first all beams are the same: keep one
        symbols = torch.full((n * beam,), BOS, dtype=torch.int64, device=device)
        prefix = torch.zeros(n * beam, 0, dtype=torch.int64, device=device)
        history = None
        if return_attention:
            history = memory.mask.new_zeros(n * beam, 0, source_length)
        active = torch.arange(n, device=device)
        offsets = torch.arange(beam, device=device)
        for t in range(max_length):
            m = active.numel()
            if t == 0:
                logits, state, feed, weights = self._step(
                    symbols[::beam], state, feed, first_memory, layer_weights, out_bias
                )
                logits, state = logits[beams], [s[beams] for s in state]
                feed = None if feed is None else feed[beams]
                weights = None if weights is None else weights[beams]
            else:
                logits, state, feed, weights = self._step(
                    symbols, state, feed, memory, layer_weights, out_bias
                )
            log_probs = torch.log_softmax(logits, dim=1).double()
            total = (scores.view(-1, 1) + log_probs).view(m, beam * vocabulary)
            top_scores, top = total.topk(min(2 * beam, beam * vocabulary), dim=1)
            origin = torch.div(top, vocabulary, rounding_mode="floor")
            written = top % vocabulary
            rows = origin + (torch.arange(m, device=device) * beam)[:, None]

            # hypotheses ending here: at most one per beam, so B of the 2B continue
            ends = written == EOS
            ranks = (top_scores / _length_penalty(t + 1, alpha)).masked_fill(
                ~ends, -math.inf
            )
            end_rank, end_at = ranks.max(dim=1)
            pick = end_at[:, None]
            keep_best(
                active,
                rows.gather(1, pick)[:, 0],
                end_rank,
                top_scores.gather(1, pick)[:, 0],
                t,
                prefix,
                history,
            )

            going = torch.sort(ends.to(torch.int8), dim=1, stable=True).indices
            going = going[:, :beam]  # the B best that do not end, best first
            scores = top_scores.gather(1, going)
            rows = rows.gather(1, going).view(-1)
            symbols = written.gather(1, going).view(-1)
            prefix = torch.cat([prefix[rows], symbols[:, None]], dim=1)
            if history is not None:
                step_weights = (
                    weights[rows]
                    if weights is not None
                    else history.new_zeros(rows.numel(), source_length)
                )
                history = torch.cat([history[rows], step_weights[:, None]], dim=1)
            state = [s[rows] for s in state]
            feed = None if feed is None else feed[rows]
            # the memory stays: a sequence's beams all read the same source

            if t + 1 == max_length:  # out of room: the live ones finish as they are
                ranks = scores[:, 0] / _length_penalty(max_length, alpha)
                keep_best(
                    active,
                    torch.arange(m, device=device) * beam,
                    ranks,
                    scores[:, 0],
                    max_length,
                    prefix,
                    history,
                )
                break
            bound = scores[:, 0] / _length_penalty(t + 2, alpha)
            done = (best_rank[active] >= bound) | torch.isinf(scores[:, 0])
            if not bool(done.any()):
                continue
            left = (~done).nonzero()[:, 0]
            if left.numel() == 0:
                break
            active, scores = active[left], scores[left]
            rows = (left[:, None] * beam + offsets).view(-1)
            symbols, prefix = symbols[rows], prefix[rows]
            history = None if history is None else history[rows]
            state = [s[rows] for s in state]
            feed = None if feed is None else feed[rows]
            memory = memory.select(rows)

        # the greedy output competes: beam search never ranks below it
        g_symbols, g_lengths, g_ll = greedy[:3]
        g_lengths = g_lengths.to(device)
        g_steps = g_lengths + (g_lengths < max_length).long()
        g_rank = g_ll / _length_penalty(g_steps.double(), alpha)
        use_greedy = g_rank > best_rank
        best_ll = torch.where(use_greedy, g_ll, best_ll)
        best_length = torch.where(use_greedy, g_lengths, best_length)
        width = int(best_length.max()) if n else 0
        out = best_symbols[:, :width]
        g_width = g_symbols.shape[1]
        out[use_greedy] = nn.functional.pad(g_symbols, (0, max(width - g_width, 0)))[
            use_greedy, :width
        ]
        steps = torch.arange(width, device=device)
        after = steps[None, :] >= best_length[:, None]
        out = out.masked_fill(after, PAD)
        if not return_attention:
            return out, best_length.cpu(), best_ll
        attention = best_attention[:, :width]
        g_attention = greedy[3]
        attention[use_greedy] = nn.functional.pad(
            g_attention, (0, 0, 0, max(width - g_width, 0))
        )[use_greedy, :width]
        return (
            out,
            best_length.cpu(),
            best_ll,
            attention.masked_fill(after[..., None], 0),
        )
