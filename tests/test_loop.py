"""The training loop on its own, with a scripted module: stopping rules, restores,
learning-rate schedules and time budgets."""

import math
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

from sklearn_rnn import _training
from sklearn_rnn._data import Batch, Epoch
from sklearn_rnn._training import (
    AtEpochEnd,
    EarlyStopping,
    LearningRateSchedule,
    Loop,
    StoppingRule,
    TimeBudget,
    TrainingState,
    UserCallbacks,
    WeightAverage,
    cosine_annealing,
)
from sklearn_rnn.nn import LossOutput


class Counter(torch.nn.Module):
    """One weight that grows by one at each step: its value tells the epoch. Its loss
    is scripted: ``script(module)`` gives the loss to backpropagate and report."""

    def __init__(self, script=None):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(()))
        self.script = script

    def loss(self, inputs, lengths, targets, weights=None, state=None):
        return LossOutput(self.script(self), 1)


def one_batch():
    return Batch(
        torch.zeros(1, 1), torch.ones(1, dtype=torch.long), None, None, np.array([0])
    )


def run(valid_scores=None, train_losses=None, n_epochs=10, rule=None):
    epoch = {"i": -1}

    def batches():
        epoch["i"] += 1
        yield one_batch()

    def script(module):
        # gradient -1 so SGD adds one per epoch; the value reported is scripted
        return -module.w + (
            module.w.detach() + train_losses[epoch["i"]] if train_losses else 1.0
        )

    module = Counter(script)
    optimizer = torch.optim.SGD(module.parameters(), lr=1.0)
    evaluate = None
    if valid_scores is not None:

        def evaluate(module):
            i = epoch["i"]
            return 1.0 - valid_scores[i], valid_scores[i]

    state, reason, caught = train_recording_warnings(
        module, optimizer, n_epochs, batches, evaluate, rule=rule
    )
    return module, state, reason, caught


def train_recording_warnings(
    module,
    optimizer,
    n_epochs,
    batches,
    evaluate,
    rule=None,
    max_time=None,
    lr_schedule=None,
    ema_decay=None,
    on_epoch_end=None,
):
    """The loop on the CPU with a fresh state and the callbacks an estimator would
    give it for these options; the state, the reason it stopped and the warnings."""
    state = TrainingState()
    rule = rule or StoppingRule(n_iter_no_change=3, tol=0.0)
    budget = None if max_time is None else TimeBudget(max_time)
    callbacks = [] if budget is None else [budget]
    if lr_schedule is not None:
        callbacks.append(LearningRateSchedule(lr_schedule, budget))
    callbacks.append(EarlyStopping(rule))
    if on_epoch_end is not None:
        callbacks.append(AtEpochEnd(on_epoch_end))
    if ema_decay is not None:
        callbacks.append(WeightAverage(ema_decay))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reason = Loop(
            module,
            optimizer,
            state=state,
            device=torch.device("cpu"),
            n_epochs=n_epochs,
            epoch_batches=batches,
            evaluate=evaluate,
            callbacks=callbacks,
            warn_unconverged=rule.active,
        ).run()
    return state, reason, caught


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


def test_a_noisy_loss_still_falling_on_average_is_not_a_plateau():
    # a new best every fourth epoch only, but the trend is down all along: the old
    # rule (three epochs without a new best) stopped at epoch 4
    losses = [10 - 0.5 * i + (1.5 if i % 4 else 0.0) for i in range(30)]
    _, state, reason, _ = run(train_losses=losses, n_epochs=30)
    assert reason == "max_iter" and state.n_iter == 30


def test_noise_around_a_level_is_a_plateau():
    losses = [5, 4, 3] + [3.5, 3.1, 3.5, 3.1, 3.5, 3.1, 3.5, 3.1] * 3
    _, state, reason, _ = run(train_losses=losses, n_epochs=27)
    assert reason == "converged" and state.n_iter <= 8


def test_patience_covers_min_batches_steps_when_epochs_are_short():
    # one batch an epoch: three epochs of patience stretch to three of four batches
    rule = StoppingRule(n_iter_no_change=3, tol=0.0, min_batches=4)
    assert rule.patience(1) == 12 and rule.patience(3) == 6 and rule.patience(4) == 3
    _, state, reason, _ = run(train_losses=[5, 4] + [4] * 20, n_epochs=22, rule=rule)
    assert reason == "converged" and state.n_iter == 2 + 12


def learning_rates(state):
    return [record["lr"] for record in state.history]


def test_adaptive_rate_falls_only_on_a_plateau_as_the_stopping_rule_sees_it():
    # the noisy loss that still falls on average: a new best only every fourth
    # epoch, which used to cut the rate after every three epochs without one
    rule = StoppingRule(n_iter_no_change=3, tol=0.0, lr_decay=0.5, lr_patience=3)
    losses = [10 - 0.5 * i + (1.5 if i % 4 else 0.0) for i in range(30)]
    _, state, reason, _ = run(train_losses=losses, n_epochs=30, rule=rule)
    assert reason == "max_iter" and set(learning_rates(state)) == {1.0}

    # a level after epoch 2, with one batch an epoch: the rate's patience of one
    # epoch stretches to four, as the stopping patience stretches to twelve
    rule = StoppingRule(
        n_iter_no_change=3, tol=0.0, lr_decay=0.5, lr_patience=1, min_batches=4
    )
    _, state, reason, _ = run(train_losses=[5, 4] + [4] * 20, n_epochs=22, rule=rule)
    assert reason == "converged" and state.n_iter == 2 + 12
    # halved after epochs 6 and 10, the record of an epoch giving the rate it used
    assert learning_rates(state) == [1.0] * 6 + [0.5] * 4 + [0.25] * 4


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


# ---------------------------------------------------------------- schedules and budgets


class FakeClock:
    """Stands in for the ``time`` module of the loop: time passes only when told."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        return self.now


def budgeted_run(
    monkeypatch,
    *,
    n_epochs,
    max_time=None,
    batch_seconds=1.0,
    evaluation_seconds=0.0,
    lr_schedule=None,
    sized=True,
):
    """Four batches an epoch, each taking ``batch_seconds`` of a fake clock; the
    validation score rises every epoch. Returns what ``run`` does and the learning
    rate each batch saw."""
    clock = FakeClock()
    monkeypatch.setattr(_training, "time", clock)
    rates = []

    def script(module):
        rates.append(optimizer.param_groups[0]["lr"])
        clock.now += batch_seconds
        return -module.w

    module = Counter(script)
    optimizer = torch.optim.SGD(module.parameters(), lr=0.5)

    def batches():
        epoch = (one_batch() for _ in range(4))
        return Epoch(4, epoch) if sized else epoch

    def evaluate(module):
        clock.now += evaluation_seconds
        return 0.0, float(module.w.detach())

    state, reason, caught = train_recording_warnings(
        module,
        optimizer,
        n_epochs,
        batches,
        evaluate,
        max_time=max_time,
        lr_schedule=lr_schedule,
    )
    return state, reason, caught, rates, clock.now


def test_cosine_annealing_runs_from_one_to_zero():
    assert cosine_annealing(0.0) == 1.0
    assert cosine_annealing(0.5) == pytest.approx(0.5)
    assert cosine_annealing(1.0) == pytest.approx(0.0)
    assert cosine_annealing(1.5) == pytest.approx(0.0)  # past the plan: stays at 0
    assert cosine_annealing(-1.0) == 1.0


@pytest.mark.parametrize("sized", [True, False])
def test_a_schedule_sets_each_batch_rate_over_the_planned_epochs(monkeypatch, sized):
    state, reason, _, rates, _ = budgeted_run(
        monkeypatch, n_epochs=3, lr_schedule=cosine_annealing, sized=sized
    )
    assert reason == "max_iter" and state.n_iter == 3
    expected = [
        0.5 * cosine_annealing((e + i / 4) / 3) for e in range(3) for i in range(4)
    ]
    if not sized:  # an epoch of unknown size is learnt by reading the first one
        expected[:4] = [0.5 * cosine_annealing(0.0)] * 4
    assert rates == pytest.approx(expected)
    assert rates[-1] < 0.5 * 0.03  # near the end, close to zero


def test_a_schedule_follows_the_time_budget_when_it_ends_first(monkeypatch):
    # 12 planned epochs, but 8 seconds only hold two epochs of four 1-second batches
    _, reason, _, rates, _ = budgeted_run(
        monkeypatch, n_epochs=12, max_time=8, lr_schedule=cosine_annealing
    )
    assert reason == "max_time"
    # the batch that starts at 8 s (not past the budget yet) runs with a rate of 0
    assert rates == pytest.approx([0.5 * cosine_annealing(t / 8) for t in range(9)])
    assert rates[-1] == pytest.approx(0.0)


def test_max_time_cuts_the_last_epoch_short_and_keeps_its_evaluation(monkeypatch):
    state, reason, caught, rates, elapsed = budgeted_run(
        monkeypatch, n_epochs=100, max_time=10
    )
    # epochs 1 and 2 take 8 s; epoch 3 stops once its 3rd batch passes 10 s
    assert reason == "max_time" and state.n_iter == 3
    assert len(rates) == 11 and elapsed == 11  # the budget and at most one batch
    assert state.history[-1]["batches"] == 3 and "batches" not in state.history[1]
    assert state.validation_scores == [2.0, 4.0, 5.5]  # the cut epoch was scored
    [warning] = caught
    assert isinstance(warning.message, ConvergenceWarning)
    assert "max_time=10 s (3 epochs in all)" in str(warning.message)


def test_max_time_leaves_room_for_the_evaluation(monkeypatch):
    # an evaluation takes 2 s: the second epoch stops 2 s before the budget's end
    state, reason, _, rates, elapsed = budgeted_run(
        monkeypatch, n_epochs=100, max_time=10, evaluation_seconds=2
    )
    assert reason == "max_time" and state.n_iter == 2
    assert state.history[-1]["batches"] == 3  # 4 + 2 + 3 batch and evaluation seconds
    assert elapsed == 11


def test_max_time_always_trains_one_batch(monkeypatch):
    state, reason, _, rates, _ = budgeted_run(monkeypatch, n_epochs=5, max_time=1e-9)
    assert reason == "max_time" and len(rates) == 1 and state.n_iter == 1


def averaging_run(
    n_epochs,
    decay,
    *,
    per_epoch=3,
    evaluate=None,
    losses=None,
    interrupt_at=None,
    module=None,
    **options,
):
    """The counting module trained with a weight average: returns the module, the
    weight each batch trained from, the state and the warnings."""
    module = module or Counter()
    optimizer = torch.optim.SGD(module.parameters(), lr=1.0)
    trained_from = []

    def batches():
        for _ in range(per_epoch):
            yield one_batch()

    def script(module):
        if len(trained_from) == interrupt_at:
            raise KeyboardInterrupt
        trained_from.append(module.w.item())
        reported = losses[len(trained_from) - 1] if losses else 1.0
        return -module.w + module.w.detach() + reported

    module.script = script
    state, _, caught = train_recording_warnings(
        module,
        optimizer,
        n_epochs,
        batches,
        evaluate,
        rule=StoppingRule(n_iter_no_change=100, tol=0.0),
        ema_decay=decay,
        **options,
    )
    return module, trained_from, state, caught


def expected_average(n_steps, decay):
    """The average of the counting weight (t after step t), by the documented rule."""
    average = 0.0
    for t in range(1, n_steps + 1):
        d = min(decay, (1 + t) / (10 + t))
        average = d * average + (1 - d) * t
    return average


def test_weight_average_is_what_a_fit_ends_with_while_training_goes_on_unaveraged():
    module, trained_from, _, _ = averaging_run(n_epochs=4, decay=0.9)
    # every batch trained from the raw weights: the average never fed back
    assert trained_from == list(range(12))
    assert module.w.item() == pytest.approx(expected_average(12, 0.9))
    assert module.w.item() < 11  # an average of the path, not its end


def test_validation_reads_the_average_and_the_best_average_is_kept():
    seen = []
    scores = [0.1, 0.5, 0.9, 0.3, 0.2]

    def evaluate(module):
        seen.append(module.w.item())
        return 1.0 - scores[len(seen) - 1], scores[len(seen) - 1]

    module, trained_from, _, _ = averaging_run(5, 0.9, evaluate=evaluate)
    assert seen == pytest.approx([expected_average(3 * e, 0.9) for e in range(1, 6)])
    assert trained_from == list(range(15))
    assert module.w.item() == pytest.approx(seen[2])  # the best epoch's average


def test_a_diverging_fit_with_averaging_keeps_the_last_finite_weights():
    losses = [1.0] * 6 + [math.nan] * 3
    module, _, state, _ = averaging_run(3, 0.9, losses=losses)
    assert state.n_iter == 2
    assert module.w.item() == 6.0  # the trained weights after epoch 2


def test_an_interrupted_fit_with_averaging_keeps_the_average_so_far():
    module, trained_from, state, caught = averaging_run(3, 0.9, interrupt_at=7)
    assert len(trained_from) == 7 and state.n_iter == 2
    assert module.w.item() == pytest.approx(expected_average(7, 0.9))
    assert any("average of the weights so far" in str(w.message) for w in caught)


def test_checkpoints_hold_the_average_then_training_resumes_from_the_trained_weights():
    module, saved = Counter(), []
    _, trained_from, _, _ = averaging_run(
        3,
        0.5,
        per_epoch=2,
        module=module,
        on_epoch_end=lambda: saved.append(module.w.item()),
    )
    assert saved == pytest.approx([expected_average(2 * e, 0.5) for e in (1, 2, 3)])
    assert trained_from == list(range(6))


# ---------------------------------------------------------------- events and state


def test_a_user_callback_sees_each_record_and_may_stop_training():
    seen = []

    def callback(record):
        seen.append(record)
        return record["epoch"] == 3

    module = Counter(lambda m: -m.w + m.w.detach() + 1.0)
    optimizer = torch.optim.SGD(module.parameters(), lr=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # stopping on request is no convergence issue
        reason = Loop(
            module,
            optimizer,
            state=TrainingState(),
            device=torch.device("cpu"),
            n_epochs=10,
            epoch_batches=lambda: [one_batch()],
            callbacks=[UserCallbacks([callback])],
        ).run()
    assert reason == "callback" and [r["epoch"] for r in seen] == [1, 2, 3]
    assert float(module.w.detach()) == 3.0
    seen[0]["train_loss"] = "changed"  # a copy: the history keeps its own
    assert len(seen) == 3


def test_batches_that_continue_get_the_state_the_one_before_ended_in():
    """Truncated backpropagation through time: the loop hands each continuing batch
    the (detached) state of the batch before, and starts every epoch afresh."""
    given = []

    class Stateful(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(()))

        def loss(self, inputs, lengths, targets, weights=None, state=None):
            given.append(None if state is None else float(state))
            new_state = self.w * (0.0 if state is None else state) + inputs.sum()
            return LossOutput(new_state * 0.0 + self.w, 1, None, new_state)

    def batches():
        return [
            Batch(
                torch.full((1, 1), float(i)),
                torch.ones(1),
                None,
                None,
                np.array([0]),
                continues=True,
            )
            for i in (1, 2, 3)
        ]

    module = Stateful()
    Loop(
        module,
        torch.optim.SGD(module.parameters(), lr=0.0),
        state=TrainingState(),
        device=torch.device("cpu"),
        n_epochs=2,
        epoch_batches=batches,
        warn_unconverged=False,
    ).run()
    assert given == [None, 1.0, 3.0, None, 1.0, 3.0]
