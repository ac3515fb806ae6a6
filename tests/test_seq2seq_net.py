"""Seq2SeqNet: teacher-forced training, batched greedy and beam decoding, attention
that never reads padding, and a toy mapping whose outputs differ in length from its
inputs, learned in a plain loop."""

import itertools
import random

import pytest
import torch

from sklearn_rnn.nn import (
    BOS,
    EOS,
    MODULES,
    N_TARGET_SPECIAL,
    PAD,
    LossOutput,
    Seq2SeqNet,
)

LETTERS = "abcde"
N_SOURCE = 2 + len(LETTERS)  # padding, unknown, the letters
N_TARGET = N_TARGET_SPECIAL + len(LETTERS)


def reverse_and_double(n, seed):
    """Strings of 3 to 6 letters, and each reversed with every 'a' doubled."""
    rng = random.Random(seed)
    X = [
        "".join(rng.choice(LETTERS) for _ in range(rng.randint(3, 6))) for _ in range(n)
    ]
    return X, [x[::-1].replace("a", "aa") for x in X]


def encode(X, Y=None, *, numeric=False):
    """A batch sorted by decreasing source length: inputs, lengths, targets (with
    EOS), and the order taken from ``X``."""
    order = sorted(range(len(X)), key=lambda i: -len(X[i]))
    lengths = torch.tensor([len(X[i]) for i in order])
    inputs = torch.zeros(len(X), int(lengths[0]), dtype=torch.int64)
    for row, i in enumerate(order):
        inputs[row, : len(X[i])] = torch.tensor([2 + LETTERS.index(c) for c in X[i]])
    if numeric:  # one channel per letter, some noise
        values = torch.nn.functional.one_hot(inputs, N_SOURCE)[..., 2:].float()
        noise = torch.randn(values.shape, generator=torch.Generator().manual_seed(0))
        inputs = values + 0.1 * noise
    if Y is None:
        return inputs, lengths, None, order
    targets = torch.zeros(len(X), max(len(y) for y in Y) + 1, dtype=torch.int64)
    for row, i in enumerate(order):
        symbols = [N_TARGET_SPECIAL + LETTERS.index(c) for c in Y[i]] + [EOS]
        targets[row, : len(symbols)] = torch.tensor(symbols)
    return inputs, lengths, targets, order


def decode_strings(symbols, lengths):
    return [
        "".join(LETTERS[s - N_TARGET_SPECIAL] for s in row[:n])
        for row, n in zip(symbols.tolist(), lengths.tolist(), strict=True)
    ]


def train(net, steps, *, numeric=False, seed=0, lr=1e-2, batch_size=32):
    """A plain loop: Adam on random batches of the toy mapping."""
    torch.manual_seed(seed)
    X, Y = reverse_and_double(2000, seed + 1)
    rng = random.Random(seed)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    net.train()
    losses = []
    for _ in range(steps):
        index = rng.sample(range(len(X)), batch_size)
        inputs, lengths, targets, _ = encode(
            [X[i] for i in index], [Y[i] for i in index], numeric=numeric
        )
        output = net.loss(inputs, lengths, targets)
        optimizer.zero_grad()
        output.loss.backward()
        optimizer.step()
        losses.append(output.loss.item())
    net.eval()
    return losses, set(X)


def unseen_test_set(seen, n=400):
    X, Y = reverse_and_double(n, 99)
    pairs = [(x, y) for x, y in zip(X, Y, strict=True) if x not in seen]
    return [x for x, _ in pairs], [y for _, y in pairs]


def small(**kwargs):
    torch.manual_seed(kwargs.pop("seed", 0))
    params = dict(
        n_target_symbols=N_TARGET, n_symbols=N_SOURCE, cell="gru", hidden_size=32
    )
    params.update(kwargs)
    return Seq2SeqNet(**params)


@pytest.fixture(scope="module")
def trained():
    net = small(attention="general")
    _, seen = train(net, 300)
    return net, seen


@pytest.fixture(scope="module")
def unsure():
    """A network trained a little: it hesitates, and greedy and beam search part."""
    net = small(attention="general", seed=3)
    train(net, 40, seed=3)
    return net


def test_learns_an_unaligned_mapping_and_greedy_decodes_unseen_strings(trained):
    net, seen = trained
    X, Y = unseen_test_set(seen)
    assert len(X) > 100
    inputs, lengths, _, order = encode(X)
    symbols, out_lengths, _ = net.greedy(inputs, lengths, max_length=20)
    predicted = decode_strings(symbols, out_lengths)
    expected = [Y[i] for i in order]
    exact = sum(p == y for p, y in zip(predicted, expected, strict=True)) / len(X)
    assert exact > 0.95
    # the outputs are longer than the inputs where an 'a' was doubled
    assert (out_lengths > lengths).any()


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_shapes_and_types(cell):
    net = small(cell=cell, num_layers=2, bidirectional=True).eval()
    X, Y = reverse_and_double(7, 0)
    inputs, lengths, targets, _ = encode(X, Y)
    output = net.loss(inputs, lengths, targets)
    assert isinstance(output, LossOutput)
    assert output.loss.shape == () and output.loss.requires_grad
    assert output.n_items == int((targets != PAD).sum())
    assert output.outputs.shape == (7,) and output.state is None
    for decoded in (
        net.greedy(inputs, lengths, 9, return_attention=True),
        net.beam_search(inputs, lengths, 9, 3, return_attention=True),
    ):
        symbols, out_lengths, log_likelihood, attention = decoded
        assert symbols.dtype == torch.int64 and symbols.shape[0] == 7
        assert symbols.shape[1] == int(out_lengths.max()) <= 9
        assert out_lengths.dtype == torch.int64 and out_lengths.device.type == "cpu"
        assert log_likelihood.dtype == torch.float64 and log_likelihood.shape == (7,)
        assert attention.shape == (*symbols.shape, inputs.shape[1])
        assert not ((symbols == BOS) | (symbols == EOS)).any()
    ll = net.log_likelihood(inputs, lengths, targets)
    assert ll.dtype == torch.float64 and ll.shape == (7,) and (ll < 0).all()


def test_padding_gets_no_attention_and_its_values_change_nothing(unsure):
    X, _ = reverse_and_double(20, 1)
    inputs, lengths, _, _ = encode(X)
    padding = torch.arange(inputs.shape[1])[None, :] >= lengths[:, None]
    assert padding.any()
    noisy = inputs.masked_fill(padding, 4)
    for method, args in (("greedy", ()), ("beam_search", (4,))):
        decode = getattr(unsure, method)
        clean = decode(inputs, lengths, 12, *args, return_attention=True)
        dirty = decode(noisy, lengths, 12, *args, return_attention=True)
        for a, b in zip(clean, dirty, strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
        symbols, out_lengths, _, attention = clean
        assert (attention.masked_select(padding[:, None, :]) == 0).all()
        written = torch.arange(symbols.shape[1])[None, :] < out_lengths[:, None]
        sums = attention.sum(dim=-1)
        torch.testing.assert_close(sums[written], torch.ones(int(written.sum())))
        assert (sums[~written] == 0).all()


def test_numeric_padding_values_change_nothing():
    net = small(n_symbols=None, n_channels=len(LETTERS), attention="additive").eval()
    X, Y = reverse_and_double(12, 2)
    inputs, lengths, targets, _ = encode(X, Y, numeric=True)
    padding = torch.arange(inputs.shape[1])[None, :] >= lengths[:, None]
    noisy = inputs.masked_fill(padding[..., None], 7.0)
    for a, b in zip(
        net.greedy(inputs, lengths, 10), net.greedy(noisy, lengths, 10), strict=True
    ):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    torch.testing.assert_close(
        net.log_likelihood(inputs, lengths, targets),
        net.log_likelihood(noisy, lengths, targets),
        rtol=0,
        atol=0,
    )


@pytest.mark.parametrize("beam_size", [1, 3])
def test_a_sequence_decoded_alone_equals_it_decoded_in_a_padded_batch(
    unsure, beam_size
):
    X, _ = reverse_and_double(30, 3)
    inputs, lengths, _, _ = encode(X)
    symbols, out_lengths, ll = unsure.beam_search(inputs, lengths, 12, beam_size)
    for row in (0, 13, 29):
        n = int(lengths[row])
        alone = unsure.beam_search(
            inputs[row : row + 1, :n], lengths[row : row + 1], 12, beam_size
        )
        assert int(alone[1][0]) == int(out_lengths[row])
        assert torch.equal(alone[0][0], symbols[row, : int(out_lengths[row])])
        torch.testing.assert_close(alone[2][0], ll[row], rtol=0, atol=1e-5)


@pytest.mark.parametrize("length_penalty", [0.0, 1.0])
def test_beam_search_never_ranks_below_greedy(unsure, trained, length_penalty):
    X, _ = reverse_and_double(300, 4)
    inputs, lengths, _, _ = encode(X)
    for net in (unsure, trained[0]):
        _, g_lengths, g_ll = net.greedy(inputs, lengths, 12)
        for beam_size in (2, 5):
            _, b_lengths, b_ll = net.beam_search(
                inputs, lengths, 12, beam_size, length_penalty=length_penalty
            )
            if length_penalty == 0:
                assert (b_ll >= g_ll).all()
            else:  # ranked by the penalised score
                g_steps = g_lengths + (g_lengths < 12).long()
                b_steps = b_lengths + (b_lengths < 12).long()
                penalty = lambda s: ((5.0 + s) / 6.0) ** length_penalty  # noqa: E731
                assert (b_ll / penalty(b_steps) >= g_ll / penalty(g_steps)).all()
    # and the search does find better outputs than greedy where the model hesitates
    _, _, g_ll = unsure.greedy(inputs, lengths, 12)
    assert (unsure.beam_search(inputs, lengths, 12, 5)[2] > g_ll + 1e-6).sum() > 40


def test_a_wide_beam_finds_the_most_likely_output(unsure):
    """With room for every hypothesis, beam search is exhaustive search."""
    net = small(n_target_symbols=N_TARGET_SPECIAL + 2, seed=5).eval()
    with torch.no_grad():
        net.output.weight.mul_(8.0)
    X, _ = reverse_and_double(10, 5)
    inputs, lengths, _, _ = encode(X)
    max_length = 4
    writable = [1, 4, 5]  # the unknown symbol and the two real ones
    outputs = [
        [*symbols, EOS]
        for k in range(max_length)
        for symbols in itertools.product(writable, repeat=k)
    ] + [list(s) for s in itertools.product(writable, repeat=max_length)]
    candidates = torch.zeros(len(outputs), max_length + 1, dtype=torch.int64)
    for i, symbols in enumerate(outputs):
        candidates[i, : len(symbols)] = torch.tensor(symbols)
    _, _, found = net.beam_search(inputs, lengths, max_length, 100)
    for row in range(len(X)):
        best = net.log_likelihood(
            inputs[row : row + 1].expand(len(outputs), -1),
            lengths[row : row + 1].expand(len(outputs)),
            candidates,
        ).max()
        torch.testing.assert_close(found[row], best, rtol=0, atol=1e-5)


def test_log_likelihood_is_the_sum_of_the_loss_terms(trained):
    net, _ = trained
    X, Y = reverse_and_double(40, 6)
    inputs, lengths, targets, _ = encode(X, Y)
    ll = net.log_likelihood(inputs, lengths, targets)
    output = net.loss(inputs, lengths, targets)
    total = output.loss.double() * output.n_items
    torch.testing.assert_close(-ll.sum(), total.detach(), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ll, output.outputs.double(), rtol=1e-6, atol=1e-6)
    weights = torch.linspace(0.5, 1.5, len(X))
    weighted = net.loss(inputs, lengths, targets, weights)
    torch.testing.assert_close(
        weighted.loss.double() * weighted.n_items,
        -(ll * weights.double()).sum(),
        rtol=1e-5,
        atol=1e-5,
    )


def test_label_smoothing_mixes_in_the_mean_over_the_writable_symbols(unsure):
    X, Y = reverse_and_double(30, 8)
    inputs, lengths, targets, _ = encode(X, Y)
    plain = unsure.loss(inputs, lengths, targets)
    unsure.label_smoothing = 0.2
    try:
        # evaluation is never smoothed
        torch.testing.assert_close(
            unsure.loss(inputs, lengths, targets).loss, plain.loss
        )
        unsure.train()
        torch.manual_seed(0)  # the same dropout masks in both passes
        smoothed = unsure.loss(inputs, lengths, targets)
        torch.manual_seed(0)
        logits = unsure._teacher_forced_logits(inputs, lengths, targets)
    finally:
        unsure.label_smoothing = 0.0
        unsure.eval()
    log_probs = torch.log_softmax(logits, dim=-1)
    real = targets != PAD
    nll = -log_probs.gather(2, targets[..., None])[..., 0][real]
    writable = [v for v in range(N_TARGET) if v not in (PAD, BOS)]
    spread = -log_probs[..., writable].mean(dim=-1)[real]
    expected = (0.8 * nll + 0.2 * spread).sum() / real.sum()
    torch.testing.assert_close(smoothed.loss, expected, rtol=1e-5, atol=1e-6)
    assert smoothed.n_items == int(real.sum())


@pytest.mark.parametrize("input_feeding", [True, False])
def test_decoders_log_likelihood_is_the_teacher_forced_one(unsure, input_feeding):
    """The step-by-step decoder and the teacher-forced pass compute the same
    probabilities."""
    net = small(input_feeding=input_feeding, cell="lstm", seed=7).eval()
    X, _ = reverse_and_double(50, 7)
    inputs, lengths, _, _ = encode(X)
    for decode in (net.greedy, lambda *a: net.beam_search(*a, 3)):
        symbols, out_lengths, ll = decode(inputs, lengths, 8)
        targets = torch.nn.functional.pad(symbols, (0, 1))
        ended = out_lengths < 8
        rows = torch.arange(len(X))[ended]
        targets[rows, out_lengths[ended]] = EOS
        torch.testing.assert_close(
            net.log_likelihood(inputs, lengths, targets), ll, rtol=1e-5, atol=1e-5
        )


def test_max_length_stops_an_untrained_network():
    net = small().eval()
    with torch.no_grad():
        net.output.bias[EOS] = -1e4  # never ends on its own
    X, _ = reverse_and_double(6, 8)
    inputs, lengths, _, _ = encode(X)
    for decode in (net.greedy, net.beam_search):
        symbols, out_lengths, ll = decode(inputs, lengths, 7)
        assert symbols.shape == (6, 7) and (out_lengths == 7).all()
        assert (symbols >= 1).all() and torch.isfinite(ll).all()
    assert net.greedy(inputs, lengths, 0)[0].shape == (6, 0)


@pytest.mark.parametrize(
    "params",
    [
        dict(attention="dot"),
        dict(attention="general", input_feeding=True),
        dict(attention="additive", target_embedding_dim=8, embedding_dim=8),
        dict(attention=None),
        dict(
            attention="dot",
            cell="lstm",
            bidirectional=True,
            num_layers=2,
            dropout=0.1,
            input_feeding=True,
        ),
        dict(attention="general", cell="lstm", bidirectional=True, hidden_size=16),
    ],
    ids=["dot", "general-feeding", "additive", "none", "dot-bi-2", "bridge"],
)
def test_every_attention_trains_and_decodes(params):
    net = small(**params)
    losses, _ = train(net, 40)
    assert sum(losses[-5:]) < 0.7 * sum(losses[:5])
    X, _ = reverse_and_double(10, 9)
    inputs, lengths, _, _ = encode(X)
    symbols, out_lengths, ll = net.beam_search(inputs, lengths, 10, 3)
    assert symbols.shape[0] == 10 and torch.isfinite(ll).all()


def test_numeric_series_in_symbols_out():
    net = small(n_symbols=None, n_channels=len(LETTERS), hidden_size=32)
    losses, seen = train(net, 150, numeric=True)
    assert losses[-1] < 0.3 * losses[0]
    X, Y = unseen_test_set(seen, 100)
    inputs, lengths, _, order = encode(X, numeric=True)
    symbols, out_lengths, _ = net.greedy(inputs, lengths, 20)
    predicted = decode_strings(symbols, out_lengths)
    right = sum(p == Y[i] for p, i in zip(predicted, order, strict=True))
    assert right / len(X) > 0.9


def test_rebuilt_from_its_name_and_plain_kwargs():
    kwargs = dict(
        n_target_symbols=N_TARGET,
        n_symbols=N_SOURCE,
        cell="lstm",
        hidden_size=8,
        bidirectional=True,
        decoder_hidden_size=12,
        attention="additive",
    )
    net = MODULES["Seq2SeqNet"](**kwargs).eval()
    copy = MODULES["Seq2SeqNet"](**kwargs).eval()
    copy.load_state_dict(net.state_dict())
    assert "onehot" not in net.state_dict() and "banned" not in net.state_dict()
    X, _ = reverse_and_double(5, 10)
    inputs, lengths, _, _ = encode(X)
    for a, b in zip(
        net.greedy(inputs, lengths, 6), copy.greedy(inputs, lengths, 6), strict=True
    ):
        torch.testing.assert_close(a, b)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="attention in"):
        small(attention="luong")
    with pytest.raises(ValueError, match="attention='dot' needs"):
        small(attention="dot", decoder_hidden_size=16)
    with pytest.raises(ValueError, match="n_target_symbols > 4"):
        small(n_target_symbols=4)
    net = small().eval()
    inputs, lengths, _, _ = encode(["abc"])
    with pytest.raises(ValueError, match="beam_size >= 1"):
        net.beam_search(inputs, lengths, 5, 0)
    with pytest.raises(ValueError, match="at least one step"):
        net.greedy(inputs, torch.tensor([0]), 5)
