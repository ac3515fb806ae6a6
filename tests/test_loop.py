"""The training loop on its own, with a scripted module: stopping rules and restores."""

import math
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

from sklearn_rnn._data import Batch
from sklearn_rnn._training import StoppingRule, TrainingState, train


class Counter(torch.nn.Module):
    """One weight that grows by one at each step: its value tells the epoch."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(()))


def run(valid_scores=None, train_losses=None, n_epochs=10, rule=None):
    module = Counter()
    optimizer = torch.optim.SGD(module.parameters(), lr=1.0)
    epoch = {"i": -1}

    def batches():
        epoch["i"] += 1
        yield Batch(
            torch.zeros(1, 1),
            torch.ones(1, dtype=torch.long),
            None,
            None,
            np.array([0]),
        )

    def batch_loss(module, batch):
        # gradient -1 so SGD adds one per epoch; the value reported is scripted
        loss = -module.w + (
            module.w.detach() + train_losses[epoch["i"]] if train_losses else 1.0
        )
        return loss, 1

    evaluate = None
    if valid_scores is not None:

        def evaluate(module):
            i = epoch["i"]
            return 1.0 - valid_scores[i], valid_scores[i]

    state = TrainingState()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reason = train(
            module,
            optimizer,
            state=state,
            n_epochs=n_epochs,
            epoch_batches=batches,
            batch_loss=batch_loss,
            device=torch.device("cpu"),
            evaluate=evaluate,
            rule=rule or StoppingRule(n_iter_no_change=3, tol=0.0),
        )
    return module, state, reason, caught


def test_validation_stopping_restores_the_best_epoch():
    module, state, reason, caught = run(valid_scores=[0.5, 0.9, 0.7, 0.6, 0.6, 0.95])
    assert reason == "converged"
    assert state.n_iter == 5  # epochs 3, 4, 5 did not beat epoch 2
    assert float(module.w.detach()) == 2.0  # the weights after epoch 2
    assert state.best_validation_score == 0.9
    assert not caught


def test_a_gain_below_tol_keeps_the_better_weights_but_not_the_patience():
    module, state, reason, _ = run(
        valid_scores=[0.5, 0.9, 0.905, 0.6, 0.6, 0.95],
        rule=StoppingRule(n_iter_no_change=3, tol=0.01),
    )
    assert reason == "converged"
    assert state.n_iter == 5  # epoch 3 gained less than tol: patience ran on
    assert float(module.w.detach()) == 3.0  # but its weights were the best
    assert state.best_validation_score == 0.905


def test_training_loss_stopping_without_validation():
    module, state, reason, _ = run(train_losses=[5, 4, 3, 3, 3, 3, 1])
    assert reason == "converged" and state.n_iter == 6
    assert state.best_loss == 3
    assert float(module.w.detach()) == 6.0  # no validation: the last weights stay


def test_reaching_max_iter_warns():
    _, state, reason, caught = run(train_losses=list(range(10, 0, -1)), n_epochs=4)
    assert reason == "max_iter" and state.n_iter == 4
    assert [type(w.message) for w in caught] == [ConvergenceWarning]


def test_inactive_rule_neither_stops_nor_warns():
    _, state, reason, caught = run(
        train_losses=[1] * 10, n_epochs=6, rule=StoppingRule(active=False)
    )
    assert state.n_iter == 6 and not caught


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_loss_restores_the_previous_epoch(bad):
    module, state, reason, caught = run(train_losses=[3, 2, bad, 1])
    assert reason == "diverged" and state.n_iter == 2
    assert float(module.w.detach()) == 2.0
    assert "DivergenceWarning" in type(caught[0].message).__name__
