"""The linear-chain CRF against brute-force enumeration of every tag path."""

import itertools

import pytest
import torch

from sklearn_rnn.nn import LinearChainCRF, SequenceTaggerNet

K = 3
ALLOWED = torch.tensor([[1, 1, 0], [1, 1, 1], [1, 0, 1]], dtype=torch.bool)
ALLOWED_START = torch.tensor([1, 1, 0], dtype=torch.bool)
ALLOWED_END = torch.tensor([1, 0, 1], dtype=torch.bool)


def random_crf(constrained, seed=0):
    torch.manual_seed(seed)
    masks = (
        dict(
            allowed_start=ALLOWED_START,
            allowed_transitions=ALLOWED,
            allowed_end=ALLOWED_END,
        )
        if constrained
        else {}
    )
    crf = LinearChainCRF(K, **masks)
    with torch.no_grad():
        for p in crf.parameters():
            p.normal_()
    return crf


def enumerate_paths(crf, emissions, length):
    """Every allowed path of ``length`` steps with its score."""
    scores = {}
    for path in itertools.product(range(K), repeat=length):
        if not (
            crf.allowed_start[path[0]]
            and crf.allowed_end[path[-1]]
            and all(crf.allowed_transitions[a, b] for a, b in itertools.pairwise(path))
        ):
            continue
        padded = torch.tensor(path + (0,) * (emissions.shape[0] - length))
        score = crf.path_score(
            emissions[None], padded[None], torch.tensor([length])
        ).item()
        scores[path] = score
    return scores


@pytest.mark.parametrize("constrained", [False, True])
def test_forward_viterbi_and_marginals_equal_brute_force(constrained):
    crf = random_crf(constrained)
    lengths = torch.tensor([4, 2, 1, 3])  # deliberately not sorted
    emissions = torch.randn(4, 4, K)
    log_z = crf.log_partition(emissions, lengths)
    best = crf.decode(emissions, lengths)
    unary, pair = crf.marginals(emissions, lengths)
    for i, n in enumerate(lengths.tolist()):
        scores = enumerate_paths(crf, emissions[i], n)
        values = torch.tensor(list(scores.values()))
        assert log_z[i].item() == pytest.approx(torch.logsumexp(values, 0).item(), 1e-5)
        assert tuple(best[i, :n].tolist()) == max(scores, key=scores.get)
        assert (best[i, n:] == 0).all()
        probabilities = torch.softmax(values, 0)
        expected_unary = torch.zeros(n, K)
        expected_pair = torch.zeros(max(n - 1, 0), K, K)
        for p, path in zip(probabilities, scores, strict=True):
            for t, k in enumerate(path):
                expected_unary[t, k] += p
            for t, (a, b) in enumerate(itertools.pairwise(path)):
                expected_pair[t, a, b] += p
        torch.testing.assert_close(unary[i, :n], expected_unary, atol=1e-5, rtol=0)
        torch.testing.assert_close(pair[i, : n - 1], expected_pair, atol=1e-5, rtol=0)
        torch.testing.assert_close(unary[i, :n].sum(1), torch.ones(n))
        assert (unary[i, n:] == 0).all() and (pair[i, max(n - 1, 0) :] == 0).all()
    # the likelihood of the best path is a probability
    nll = crf.nll(emissions, best, lengths)
    assert (nll >= -1e-5).all()


def test_padding_never_changes_a_result():
    crf = random_crf(constrained=True)
    emissions = torch.randn(1, 3, K)
    padded = torch.cat([emissions, 100 * torch.randn(1, 5, K)], dim=1)
    alone, together = torch.tensor([3]), torch.tensor([3])
    torch.testing.assert_close(
        crf.log_partition(emissions, alone), crf.log_partition(padded, together)
    )
    assert crf.decode(padded, together)[0, :3].tolist() == (
        crf.decode(emissions, alone)[0].tolist()
    )
    torch.testing.assert_close(
        crf.marginals(padded, together)[0][:, :3], crf.marginals(emissions, alone)[0]
    )
    tags = torch.tensor([[0, 1, 2]])
    torch.testing.assert_close(
        crf.nll(emissions, tags, alone),
        crf.nll(padded, torch.cat([tags, torch.zeros(1, 5, dtype=int)], 1), together),
    )


def test_decoding_keeps_to_the_masks_whatever_the_scores():
    crf = random_crf(constrained=True)
    # emissions that strongly favour forbidden paths (tag 2 first, 0 -> 2, end on 1)
    emissions = torch.tensor([[[0.0, 0.0, 50.0], [50.0, 0.0, 0.0], [0.0, 0.0, 50.0]]])
    emissions = torch.cat([emissions, torch.randn(20, 3, K) * 30])
    paths = crf.decode(emissions, torch.full((21,), 3))
    for path in paths.tolist():
        assert crf.allowed_start[path[0]] and crf.allowed_end[path[-1]]
        assert all(ALLOWED[a, b] for a, b in itertools.pairwise(path))


def test_gradients_stay_finite_with_masks_and_padding():
    crf = random_crf(constrained=True)
    emissions = torch.randn(3, 5, K, requires_grad=True)
    lengths = torch.tensor([5, 2, 1])
    tags = torch.tensor([[0, 1, 1, 2, 2], [1, 0, 0, 0, 0], [2, 0, 0, 0, 0]])
    crf.nll(emissions, tags, lengths).sum().backward()
    assert torch.isfinite(emissions.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in crf.parameters())
    assert (emissions.grad[1, 2:] == 0).all()  # padding gets no gradient


def test_tagger_net_without_crf_is_a_softmax_per_step():
    torch.manual_seed(0)
    net = SequenceTaggerNet(n_tags=K, n_channels=2, hidden_size=4, crf=False)
    net.eval()
    inputs, lengths = torch.randn(2, 4, 2), torch.tensor([4, 2])
    scores = net(inputs, lengths)
    unary, _ = net.marginals(scores, lengths)
    torch.testing.assert_close(unary[0], torch.softmax(scores[0], -1))
    assert net.decode(scores, lengths)[0].tolist() == scores[0].argmax(-1).tolist()
    assert list(net.crf.parameters()) == []  # nothing to learn there
