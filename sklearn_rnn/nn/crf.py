r"""A linear-chain conditional random field over per-step scores.

Shapes: ``N`` batch, ``L`` longest sequence in the batch, ``K`` tags. Emissions
``(N, L, K)`` are padded at the end; ``lengths`` ``(N,)`` say how many steps are real
(any order). Steps past a length never change a result.

The score of a tag path :math:`y` is
:math:`s(y) = a_{y_1} + \sum_t e_{t, y_t} + \sum_{t>1} T_{y_{t-1}, y_t} + b_{y_L}` with
start scores :math:`a`, transitions :math:`T` and end scores :math:`b`, and
:math:`p(y) = \exp s(y) / Z`. Masks of allowed starts, transitions and ends (a tag
scheme's rules) remove paths from both the partition function and the decoder, so
decoded paths always follow them.
"""

import copy

import torch
from torch import nn

from .encoder import step_mask

# A forbidden transition costs this much in the likelihood and the marginals: exp(-1e4)
# is zero in float32, while a finite value keeps gradients free of NaN (an -inf inside
# a logsumexp whose every input is -inf has a NaN gradient). Decoding uses -inf.
FORBIDDEN = -1e4


_POTENTIALS = ("start", "transitions", "end")


class LinearChainCRF(nn.Module):
    """Linear-chain CRF: log-likelihood by the forward algorithm, Viterbi decoding and
    marginals by forward-backward, all batched over padded sequences.

    Parameters
    ----------
    n_tags : int
        ``K``.
    allowed_start, allowed_end : array-like of bool, shape (K,), or None
        Which tags may open and close a sequence (all when ``None``).
    allowed_transitions : array-like of bool, shape (K, K), or None
        ``[i, j]`` says whether tag ``j`` may follow tag ``i``.
    learn_transitions : bool, default=True
        ``False`` keeps start, transition and end scores at zero: the steps are then
        independent given the emissions, and the masks alone link them (constrained
        decoding of a per-step softmax).

    Notes
    -----
    ``nll(emissions, tags, lengths)`` -> ``(N,)``; ``decode(emissions, lengths)`` ->
    ``(N, L)`` int64, zero past each length; ``marginals(emissions, lengths)`` ->
    ``(N, L, K)`` and ``(N, L - 1, K, K)``, the probability of each tag at each step and
    of each pair of tags at steps ``t, t + 1``.
    """

    def __init__(
        self,
        n_tags,
        *,
        allowed_start=None,
        allowed_transitions=None,
        allowed_end=None,
        learn_transitions=True,
    ):
        super().__init__()
        self.n_tags = n_tags
        shapes = {"start": (n_tags,), "transitions": (n_tags, n_tags), "end": (n_tags,)}
        given = {
            "start": allowed_start,
            "transitions": allowed_transitions,
            "end": allowed_end,
        }
        for name, shape in shapes.items():
            mask = torch.ones(shape, dtype=torch.bool)
            if given[name] is not None:
                mask = torch.as_tensor(given[name], dtype=torch.bool)
                if mask.shape != shape:
                    raise ValueError(
                        f"Expected allowed_{name} of shape {shape}, got "
                        f"{tuple(mask.shape)}"
                    )
            # rebuilt from the constructor's arguments, so kept out of the state dict
            self.register_buffer(f"allowed_{name}", mask, persistent=False)
            if learn_transitions:
                self.register_parameter(name, nn.Parameter(torch.zeros(shape)))
            else:
                self.register_buffer(name, torch.zeros(shape), persistent=False)

    @classmethod
    def mean(cls, crfs):
        """A copy of the first of ``crfs`` (its tags and masks) whose start,
        transition and end scores are the means of all of theirs: decoding the
        members' mean emissions with it finds the path with the highest geometric
        mean of their probabilities."""
        mean = copy.deepcopy(crfs[0])
        with torch.no_grad():
            for name in _POTENTIALS:
                target = getattr(mean, name)
                values = [getattr(crf, name).detach().to(target.device) for crf in crfs]
                target.copy_(torch.stack(values).mean(dim=0))
        return mean

    def _potentials(self, forbidden):
        return tuple(
            getattr(self, name).masked_fill(
                ~getattr(self, f"allowed_{name}"), forbidden
            )
            for name in _POTENTIALS
        )

    def log_partition(self, emissions, lengths):
        """``log Z`` of each sequence, ``(N,)``."""
        start, transitions, end = self._potentials(FORBIDDEN)
        mask = step_mask(lengths, emissions.shape[1], emissions.device)
        alpha = start + emissions[:, 0]
        for t in range(1, emissions.shape[1]):
            step = torch.logsumexp(alpha.unsqueeze(2) + transitions, dim=1)
            alpha = torch.where(mask[:, t, None], step + emissions[:, t], alpha)
        return torch.logsumexp(alpha + end, dim=1)

    def path_score(self, emissions, tags, lengths):
        """Score ``s(y)`` of the paths ``tags`` ``(N, L)``, ``(N,)``."""
        start, transitions, end = self._potentials(FORBIDDEN)
        mask = step_mask(lengths, emissions.shape[1], emissions.device)
        tags = tags.masked_fill(~mask, 0)
        score = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)
        # index_select rather than indexing the potentials with tensors: the
        # gradient of such indexing accumulates on the CPU in an order that changes
        # with threads and runs, and training would not repeat exactly
        score = (score * mask).sum(dim=1) + start.index_select(0, tags[:, 0])
        k = transitions.shape[1]
        pairs = (tags[:, :-1] * k + tags[:, 1:]).reshape(-1)
        steps = transitions.reshape(-1).index_select(0, pairs)
        steps = steps.view(tags.shape[0], tags.shape[1] - 1)
        score = score + (steps * mask[:, 1:]).sum(dim=1)
        last = tags.gather(1, (lengths.to(tags.device) - 1).unsqueeze(1)).squeeze(1)
        return score + end.index_select(0, last)

    def nll(self, emissions, tags, lengths):
        """Negative log-likelihood of the paths ``tags``, ``(N,)``."""
        return self.log_partition(emissions, lengths) - self.path_score(
            emissions, tags, lengths
        )

    def decode(self, emissions, lengths):
        """The most probable allowed path of each sequence (Viterbi), ``(N, L)``."""
        start, transitions, end = self._potentials(float("-inf"))
        n, total_length, k = emissions.shape
        mask = step_mask(lengths, total_length, emissions.device)
        identity = torch.arange(k, device=emissions.device).expand(n, k)
        score = start + emissions[:, 0]
        pointers = []
        for t in range(1, total_length):
            best, arg = (score.unsqueeze(2) + transitions).max(dim=1)
            live = mask[:, t, None]
            # past a length the score is carried and the pointer points to itself,
            # so the final step reads each sequence's true last step
            score = torch.where(live, best + emissions[:, t], score)
            pointers.append(torch.where(live, arg, identity))
        last = (score + end).argmax(dim=1)
        path = [last]
        for arg in reversed(pointers):
            last = arg.gather(1, last.unsqueeze(1)).squeeze(1)
            path.append(last)
        path = torch.stack(path[::-1], dim=1)
        return path.masked_fill(~mask, 0)

    def marginals(self, emissions, lengths, pairs=True):
        """Posterior marginals by forward-backward.

        Returns ``(N, L, K)`` probabilities of each tag at each step (zero past each
        length) and ``(N, L - 1, K, K)`` probabilities of each pair at ``t, t + 1``
        (``None`` with ``pairs=False``, which saves their memory).
        """
        start, transitions, end = self._potentials(FORBIDDEN)
        n, total_length, k = emissions.shape
        mask = step_mask(lengths, total_length, emissions.device)
        alphas = [start + emissions[:, 0]]
        for t in range(1, total_length):
            step = torch.logsumexp(alphas[-1].unsqueeze(2) + transitions, dim=1)
            alphas.append(step + emissions[:, t])
        last_index = (lengths.to(emissions.device) - 1).view(n, 1, 1).expand(n, 1, k)
        alpha = torch.stack(alphas, dim=1)
        log_z = torch.logsumexp(alpha.gather(1, last_index).squeeze(1) + end, dim=1)
        betas = [end.expand(n, k)]
        is_last = last_index[:, 0, 0]
        for t in range(total_length - 2, -1, -1):
            after = emissions[:, t + 1] + betas[-1]
            step = torch.logsumexp(transitions + after.unsqueeze(1), dim=2)
            betas.append(torch.where((is_last == t)[:, None], end.expand(n, k), step))
        beta = torch.stack(betas[::-1], dim=1)
        log_z = log_z.view(n, 1, 1)
        # where, not a product: past a length the exponent is meaningless and may be
        # large enough to overflow, and inf * 0 is NaN
        zero = emissions.new_zeros(())
        unary = torch.where(mask.unsqueeze(2), torch.exp(alpha + beta - log_z), zero)
        if not pairs:
            return unary, None
        pair = torch.exp(
            alpha[:, :-1].unsqueeze(3)
            + transitions
            + (emissions[:, 1:] + beta[:, 1:]).unsqueeze(2)
            - log_z.unsqueeze(3)
        )
        pair = torch.where(mask[:, 1:, None, None], pair, zero)
        return unary, pair
