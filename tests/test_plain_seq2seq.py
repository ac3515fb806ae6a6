"""The hand-written encoder-decoder of the speed benchmark: as large as the
Seq2SeqNet it stands for, and a loop that does learn."""

import importlib.util
import random
from pathlib import Path

import pytest
import torch

from sklearn_rnn.nn import Seq2SeqNet

SOURCE = Path(__file__).resolve().parents[1] / "benchmarks" / "plain_seq2seq.py"
spec = importlib.util.spec_from_file_location("plain_seq2seq", SOURCE)
plain_seq2seq = importlib.util.module_from_spec(spec)
spec.loader.exec_module(plain_seq2seq)


def count(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize(
    "input_feeding, num_layers, decoder_hidden_size",
    [(True, 1, 48), (False, 1, 48), (False, 2, 24), (False, 1, 20)],
)
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_as_many_parameters_as_the_library_network(
    cell, input_feeding, num_layers, decoder_hidden_size
):
    sizes = dict(
        embedding_dim=16,
        target_embedding_dim=12,
        hidden_size=24,
        num_layers=num_layers,
        decoder_hidden_size=decoder_hidden_size,
    )
    plain = plain_seq2seq.PlainSeq2Seq(
        30, 45, cell=cell, input_feeding=input_feeding, **sizes
    )
    ours = Seq2SeqNet(
        n_symbols=30,
        n_target_symbols=45,
        cell=cell,
        bidirectional=True,
        attention="general",
        input_feeding=input_feeding,
        **sizes,
    )
    assert count(plain) == count(ours)


def test_without_input_feeding_the_loss_falls():
    rng = random.Random(1)
    words = ["".join(rng.choice("abc") for _ in range(4)) for _ in range(256)]
    X, y = [list(w) for w in words], [list(w[::-1]) for w in words]
    kwargs = dict(batch_size=32, hidden_size=8, embedding_dim=4, lr=1e-2)
    _, model, sv, tv = plain_seq2seq.train_plain_seq2seq(
        X, y, epochs=3, input_feeding=False, return_model=True, **kwargs
    )
    source = plain_seq2seq.pad([[sv[c] for c in x] for x in X])
    target = plain_seq2seq.pad([[tv[c] for c in t] + [plain_seq2seq.EOS] for t in y])
    logits = model(source, torch.full((len(X),), 4), target)
    loss = torch.nn.functional.cross_entropy(logits.transpose(1, 2), target)
    assert loss.item() < 0.5 * torch.log(torch.tensor(7.0)).item()


def test_the_plain_loop_learns_an_unaligned_mapping():
    rng = random.Random(0)
    words = [
        "".join(rng.choice("abcde") for _ in range(rng.randint(3, 6)))
        for _ in range(1500)
    ]
    X = [list(w) for w in words]
    y = [list(w[::-1].replace("a", "aa")) for w in words]
    seconds, model, source_vocabulary, target_vocabulary = (
        plain_seq2seq.train_plain_seq2seq(
            X[:1000],
            y[:1000],
            epochs=6,
            batch_size=32,
            embedding_dim=8,
            target_embedding_dim=8,
            hidden_size=16,
            lr=1e-2,
            return_model=True,
        )
    )
    assert seconds > 0
    model.eval()
    test = [i for i in range(1000, 1500) if words[i] not in set(words[:1000])]
    source = plain_seq2seq.pad([[source_vocabulary[c] for c in X[i]] for i in test])
    lengths = torch.tensor([len(X[i]) for i in test])
    written = model.greedy(source, lengths, 15).tolist()
    symbols = {i: s for s, i in target_vocabulary.items()}
    right = 0
    for i, row in zip(test, written, strict=True):
        row = row[: row.index(plain_seq2seq.EOS)] if plain_seq2seq.EOS in row else row
        right += [symbols.get(s) for s in row] == y[i]
    assert right / len(test) > 0.9
