"""The reference a user would otherwise write by hand: a plain PyTorch loop that pads
every random batch to its longest sequence, with the same network, sizes and optimizer
as an :class:`~sklearn_rnn.RNNClassifier`. Used by the speed benchmarks only."""

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence

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
):
    """Tokenise, build the vocabulary and train for ``epochs``; returns the model.

    ``fused=False`` is torch's default Adam, what a hand-written loop uses; ``True`` is
    the fused kernel that sklearn-rnn picks.
    """
    torch.manual_seed(seed)
    tokens = [default_tokenizer(t.lower()) for t in texts]
    vocabulary = build_vocabulary(tokens)
    ids = [torch.tensor([vocabulary.get(t, 1) for t in seq]) for seq in tokens]
    classes, y = np.unique(labels, return_inverse=True)
    y = torch.from_numpy(y)
    model = PlainNet(
        len(vocabulary) + 2, embedding_dim, hidden_size, len(classes), dropout, cell
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, fused=fused or None)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(ids))
        for start in range(0, len(ids), batch_size):
            index = order[start : start + batch_size]
            x = pad_sequence([ids[i] for i in index], batch_first=True)
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y[index])
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
    return model
