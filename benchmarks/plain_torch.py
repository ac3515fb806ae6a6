"""The references a user would otherwise write by hand, used by the speed benchmarks
only: a plain PyTorch loop that pads every random batch to its longest sequence, with
the same network, sizes and optimizer as an :class:`~sklearn_rnn.RNNClassifier`; and a
plain truncated-BPTT loop for a character language model, as a
:class:`~sklearn_rnn.CharLMGenerator` trains."""

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence

from sklearn_rnn._base import auto_batch_size
from sklearn_rnn._data import build_vocabulary, default_tokenizer


class PlainNet(nn.Module):
    def __init__(self, n_symbols, embedding_dim, hidden_size, n_classes, dropout, cell):
        super().__init__()
        self.embedding = nn.Embedding(n_symbols, embedding_dim, padding_idx=0)
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
        self.rnn = rnn(embedding_dim, hidden_size, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(2 * hidden_size, n_classes)

    def forward(self, x):
        mask = (x != 0).unsqueeze(-1)
        states, _ = self.rnn(self.dropout(self.embedding(x)))
        pooled = states.masked_fill(~mask, float("-inf")).amax(dim=1)
        return self.output(self.dropout(pooled))


def plain_sizes(classifier, n_samples):
    """The keyword arguments of :func:`train_plain` that give it the network, batch
    and optimizer settings of ``classifier`` (an ``RNNClassifier``) for a fit on
    ``n_samples`` sequences."""
    batch_size = classifier.batch_size
    if batch_size == "auto":
        batch_size = auto_batch_size(n_samples)
    return dict(
        batch_size=batch_size,
        embedding_dim=classifier.embedding_dim,
        hidden_size=classifier.hidden_size,
        dropout=classifier.dropout,
        cell=classifier.cell,
        lr=classifier.learning_rate_init,
        clip=classifier.clip_grad_norm,
    )


def train_plain(
    texts,
    labels,
    *,
    epochs,
    batch_size=32,
    embedding_dim=100,
    hidden_size=128,
    dropout=0.2,
    cell="lstm",
    lr=1e-3,
    clip=5.0,
    seed=0,
    fused=False,
    device="cpu",
):
    """Tokenise, build the vocabulary and train for ``epochs`` on ``device``; returns
    the model once the device has finished.

    ``fused=False`` is torch's default Adam, what a hand-written loop uses; ``True`` is
    the fused kernel that sklearn-rnn picks.
    """
    torch.manual_seed(seed)
    tokens = [default_tokenizer(t.lower()) for t in texts]
    vocabulary = build_vocabulary(tokens)
    ids = [torch.tensor([vocabulary.get(t, 1) for t in seq]) for seq in tokens]
    classes, y = np.unique(labels, return_inverse=True)
    y = torch.from_numpy(y).to(device)
    model = PlainNet(
        len(vocabulary) + 2, embedding_dim, hidden_size, len(classes), dropout, cell
    ).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, fused=fused or None)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(ids))
        for start in range(0, len(ids), batch_size):
            index = order[start : start + batch_size]
            x = pad_sequence([ids[i] for i in index], batch_first=True).to(device)
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y[index])
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()
    return model


class PlainCharLM(nn.Module):
    """Embedding, a stacked recurrent layer and a linear layer over the characters."""

    def __init__(self, n_symbols, embedding_dim, hidden_size, num_layers, cell):
        super().__init__()
        self.embedding = nn.Embedding(n_symbols, embedding_dim)
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
        self.rnn = rnn(embedding_dim, hidden_size, num_layers, batch_first=True)
        self.output = nn.Linear(hidden_size, n_symbols)

    def forward(self, x, state=None):
        outputs, state = self.rnn(self.embedding(x), state)
        return self.output(outputs), state


class PlainTBPTT:
    """The truncated-BPTT loop a user writes by hand for a character language model:
    the text cut into ``batch_size`` parallel rows, read ``seq_len`` characters at a
    time, the state carried (detached) from one window to the next and reset at each
    epoch; Adam, gradient clipping.

    ``train_batches(n)`` runs ``n`` more batches, going on where the last call stopped.
    """

    def __init__(
        self,
        text,
        *,
        batch_size=64,
        seq_len=100,
        embedding_dim=64,
        hidden_size=256,
        num_layers=2,
        cell="lstm",
        lr=2e-3,
        clip=5.0,
        seed=0,
        fused=False,
        device="cpu",
    ):
        torch.manual_seed(seed)
        self.chars = sorted(set(text))
        index = {c: i for i, c in enumerate(self.chars)}
        ids = torch.tensor([index[c] for c in text])
        steps = (len(ids) - 1) // batch_size
        # the whole text sits on the device, as a user who moves it once would have it
        self.inputs = ids[: batch_size * steps].view(batch_size, steps).to(device)
        self.targets = ids[1 : batch_size * steps + 1].view(batch_size, steps)
        self.targets = self.targets.to(device)
        self.seq_len = seq_len
        self.clip = clip
        self.model = PlainCharLM(
            len(self.chars), embedding_dim, hidden_size, num_layers, cell
        ).to(device)
        self.optimizer = torch.optim.Adam(
            self.model.parameters(), lr=lr, fused=fused or None
        )
        self.position = 0
        self.state = None

    def train_batches(self, n):
        model, optimizer = self.model, self.optimizer
        model.train()
        n_chars = 0
        for _ in range(n):
            if self.position >= self.inputs.shape[1]:  # a new epoch
                self.position, self.state = 0, None
            window = slice(self.position, self.position + self.seq_len)
            x, y = self.inputs[:, window], self.targets[:, window]
            optimizer.zero_grad()
            logits, state = model(x, self.state)
            self.state = (
                tuple(s.detach() for s in state)
                if isinstance(state, tuple)
                else state.detach()
            )
            loss = nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), y.reshape(-1)
            )
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), self.clip)
            optimizer.step()
            self.position += self.seq_len
            n_chars += y.numel()
        return n_chars


def train_plain_tbptt(text, n_batches, **kwargs):
    """Train a :class:`PlainTBPTT` for ``n_batches`` batches and return it."""
    trainer = PlainTBPTT(text, **kwargs)
    trainer.train_batches(n_batches)
    return trainer
