"""The one training loop: a short driver that trains epochs of mini-batches and
announces named events, and the callbacks that hang on them (time budget,
learning-rate schedules, weight averaging, early stopping with best-weight restore,
checkpoints, progress and the user's own callbacks).

It knows nothing of any estimator. It asks the module for each batch's loss
(``module.loss(inputs, lengths, targets, weights, state=...)``, returning a
:class:`~sklearn_rnn.nn.LossOutput`), so a new kind of network needs no change here;
a batch that continues the sequences of the one before (truncated backpropagation
through time) gets the state that one ended in. Divergence and Ctrl-C are the loop's
own business: both restore the weights of the last good epoch.
:class:`TrainingState` carries what must survive from one ``fit`` or ``partial_fit``
call to the next.

The events, in the order of one epoch: ``on_epoch_begin``; for each batch
``on_batch_begin`` then ``on_batch_end``; ``on_validation_begin``, the evaluation,
``on_validation_end``; ``on_epoch_end``. ``on_train_begin`` and ``on_train_end``
frame the whole run. Callbacks are called in the order given; any of them may end
training with :meth:`Loop.stop`.
"""

import copy
import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

from . import _progress
from ._device import autocast, flushing_denormals
from .exceptions import DivergenceWarning, InterruptedFitWarning

# A new optimizer is one entry: (parameters, lr=..., weight_decay=...) -> Optimizer.
OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
    "sgd": lambda params, **kw: torch.optim.SGD(
        params, momentum=0.9, nesterov=True, **kw
    ),
}

# warnings point at the caller of the estimator's fit: warn <- Loop.run <- _fit <-
# scikit-learn's fit context <- fit <- the user's code
_STACKLEVEL = 6


@dataclass
class TrainingState:
    """What one fit leaves for the next (``warm_start`` and ``partial_fit``)."""

    loss_curve: list = field(default_factory=list)
    validation_scores: list = field(default_factory=list)
    history: list = field(default_factory=list)
    best_loss: float = math.inf
    best_validation_score: float = -math.inf
    best_validation_loss: float = math.inf
    n_iter: int = 0
    # the epoch (of n_iter) whose weights early stopping kept as the best
    best_epoch: int = 0


class Callback:
    """A hook into the loop's events; every method does nothing unless overridden.

    One that may call :meth:`Loop.stop` in ``on_epoch_begin``, ``on_batch_begin``
    or ``on_batch_end`` sets ``stops_within_epochs``: processes that train together
    then agree before every epoch and every batch whether to go on, rather than only
    after every epoch.
    """

    stops_within_epochs = False

    def on_train_begin(self, loop):
        pass

    def on_epoch_begin(self, loop):
        pass

    def on_batch_begin(self, loop):
        pass

    def on_batch_end(self, loop):
        pass

    def on_validation_begin(self, loop):
        pass

    def on_validation_end(self, loop, record):
        pass

    def on_epoch_end(self, loop, record):
        pass

    def on_train_end(self, loop):
        pass


class Loop:
    """Train ``module`` for up to ``n_epochs`` epochs; :meth:`run` says why it stopped.

    Parameters
    ----------
    module, optimizer : torch objects, the module already on ``device``
    state : TrainingState
        Updated in place: curves, history, best scores, ``n_iter``.
    device : torch.device
    n_epochs : int
    epoch_batches : callable () -> iterable of Batch
        One epoch's batches; a sized one (``len``) lets schedules plan by batches.
    evaluate : callable (module) -> (loss, score), or None
        Scores held-out data (higher is better); runs in eval mode.
    clip_grad_norm : float or None
    callbacks : list of Callback
    warn_unconverged : bool
        Warn (``ConvergenceWarning``) when ``n_epochs`` or the time budget end the
        run before it converged.
    ranks : sklearn_rnn._distributed.Ranks or None
        The processes that train this module together (data parallelism under
        ``torchrun``): each trains on its share of every epoch's batches with
        gradients averaged (:class:`~sklearn_rnn._distributed.GradientAverage`),
        the training loss is summed over all (with the gradients), the evaluation
        runs on rank 0 only, and the ranks agree on every reason to stop (after
        every epoch, and before every epoch and batch when a callback
        ``stops_within_epochs``).
    precision : torch.dtype or None
        Mixed precision for the forward pass of training (see
        :func:`sklearn_rnn._device.training_dtype`); ``None`` is float32.

    Attributes
    ----------
    epoch : int
        Epochs begun in this run, the current one included.
    n_batches : int
        Batches trained in the current epoch.
    batches_per_epoch : int or None
        Known once an epoch says its size or has been read to its end.
    reason : str or None
        Why training stopped (``"converged"``, ``"max_iter"``, ``"max_time"``,
        ``"diverged"``, ``"interrupted"``, ``"callback"``).
    restored_best : bool
        Whether a callback put the best epoch's weights back at the end.
    """

    def __init__(
        self,
        module,
        optimizer,
        *,
        state,
        device,
        n_epochs,
        epoch_batches,
        evaluate=None,
        clip_grad_norm=None,
        callbacks=(),
        warn_unconverged=True,
        ranks=None,
        precision=None,
    ):
        self.module = module
        self.optimizer = optimizer
        self.state = state
        self.device = device
        self.n_epochs = n_epochs
        self.epoch_batches = epoch_batches
        self.evaluate = evaluate
        self.clip_grad_norm = clip_grad_norm
        self.callbacks = list(callbacks)
        self.warn_unconverged = warn_unconverged
        self.ranks = ranks
        self.precision = precision
        self.epoch = 0
        self.n_batches = 0
        self.batches_per_epoch = None
        self.reason = None
        self.restored_best = False
        self._average = None

    def stop(self, reason):
        """End training after the current batch (``on_batch_begin``: before it) or
        epoch, for ``reason``; the first reason given stands."""
        self.reason = self.reason or reason

    def _emit(self, event, *args):
        for callback in self.callbacks:
            getattr(callback, event)(self, *args)

    def _agree(self):
        """Make the reason to stop that any rank has the reason of all."""
        if self.ranks is not None:
            self.reason = self.ranks.agree(self.reason, self.device)

    def run(self):
        try:
            with flushing_denormals():
                return self._run()
        finally:
            if self._average is not None:
                self._average.close()

    def _run(self):
        module, state = self.module, self.state
        last_good = snapshot(module, self.optimizer)
        self._average = (
            None
            if self.ranks is None
            else self.ranks.gradient_average(module, self.device)
        )
        # whether the ranks must agree before every batch, not only every epoch
        self._agree_each_batch = self.ranks is not None and any(
            callback.stops_within_epochs for callback in self.callbacks
        )
        self._emit("on_train_begin")
        try:
            while self.epoch < self.n_epochs and self.reason is None:
                self.epoch += 1
                self._emit("on_epoch_begin")
                if self._agree_each_batch:  # else none stops as an epoch begins
                    self._agree()
                if self.reason is not None:  # stopped before this epoch began
                    break
                start = time.perf_counter()
                train_loss, cut_short = self._train_epoch()
                if not math.isfinite(train_loss) or not finite_weights(module):
                    restore(module, self.optimizer, last_good)
                    self._warn_divergence(train_loss)
                    self.reason = "diverged"
                    break
                state.n_iter += 1
                state.loss_curve.append(train_loss)
                record = {
                    "epoch": state.n_iter,
                    "train_loss": train_loss,
                    "lr": self.optimizer.param_groups[0]["lr"],
                }
                if cut_short:
                    record["batches"] = self.n_batches
                self._emit("on_validation_begin")
                if self.evaluate is not None:
                    valid_loss, valid_score = self._evaluate()
                    record.update(valid_loss=valid_loss, valid_score=valid_score)
                    state.validation_scores.append(valid_score)
                self._emit("on_validation_end", record)
                state.best_loss = min(state.best_loss, train_loss)
                record["duration"] = time.perf_counter() - start
                state.history.append(record)
                self._emit("on_epoch_end", record)
                self._agree()
                last_good = snapshot(module, self.optimizer)
                if cut_short:
                    self.stop("max_time")
        except KeyboardInterrupt:
            restore(module, self.optimizer, last_good)
            self.reason = "interrupted"
            self._emit("on_train_end")
            warnings.warn(
                f"Training interrupted in epoch {state.n_iter + 1}; the model keeps "
                f"the {self._kept()}.",
                InterruptedFitWarning,
                stacklevel=_STACKLEVEL,
            )
            module.eval()
            return self.reason
        self.reason = self.reason or "max_iter"
        self._emit("on_train_end")
        if self.reason in ("max_iter", "max_time") and self.warn_unconverged:
            self._warn_unconverged()
        module.eval()
        return self.reason

    def _train_epoch(self):
        """One epoch's batches; returns the mean training loss and whether a
        callback cut the epoch short."""
        module, optimizer = self.module, self.optimizer
        module.train()
        total = torch.zeros((), device=self.device)
        count, carried, cut_short = 0, None, False
        self.n_batches = 0
        batches = self.epoch_batches()
        if self.ranks is not None:
            batches = self.ranks.share(batches)
        if hasattr(batches, "__len__"):
            self.batches_per_epoch = len(batches)
        for batch in batches:
            self._emit("on_batch_begin")
            if self._agree_each_batch:
                self._agree()
            if self.reason is not None:
                cut_short = True
                break
            self.n_batches += 1
            batch = batch.to(self.device)
            optimizer.zero_grad(set_to_none=True)
            with autocast(self.device, self.precision):
                out = module.loss(
                    batch.inputs,
                    batch.lengths,
                    batch.targets,
                    batch.weights,
                    state=carried if batch.continues else None,
                )
            if self._average is not None:
                self._average.looked_up()
            out.loss.backward()
            if self._average is None:
                total += out.loss.detach() * out.n_items
                count += out.n_items
            else:  # every rank's loss and items come summed with the gradients
                loss_sum, n_items = self._average(out.n_items, out.loss.detach())
                total += loss_sum
                count += n_items
            if self.clip_grad_norm is not None:
                clip_gradients(
                    module,
                    self.clip_grad_norm,
                    self.device,
                    norm=None if self._average is None else self._average.norm(),
                )
            optimizer.step()
            carried = _detach(out.state)
            self._emit("on_batch_end")
        if not cut_short:
            self.batches_per_epoch = self.n_batches
        elif self.reason == "max_time":
            self.reason = None  # the epoch is evaluated and kept, then training stops
        return float(total / max(count, 1)), cut_short

    def _evaluate(self):
        """The held-out loss and score (on rank 0 only, when ranks train together:
        the one figure that early stopping reads on every rank)."""
        result = None
        if self.ranks is None or self.ranks.main:
            self.module.eval()
            with torch.no_grad():
                result = self.evaluate(self.module)
        if self.ranks is not None:
            result = self.ranks.broadcast(result, self.device)
        return result

    def _kept(self):
        if self.restored_best:
            return "best weights so far"
        if any(isinstance(c, WeightAverage) for c in self.callbacks):
            return "average of the weights so far"
        return "weights of the last complete epoch"

    def _warn_divergence(self, train_loss):
        what = (
            f"training loss became {train_loss}"
            if not math.isfinite(train_loss)
            else "weights became NaN or infinite"
        )
        warnings.warn(
            f"The {what} in epoch {self.state.n_iter + 1}; training stopped and the "
            "weights of the last finite epoch were kept. "
            "Lower learning_rate_init or set clip_grad_norm.",
            DivergenceWarning,
            stacklevel=_STACKLEVEL + 1,
        )

    def _warn_unconverged(self):
        budget = next((c for c in self.callbacks if isinstance(c, TimeBudget)), None)
        limit = (
            f"max_iter={self.n_epochs} epochs"
            if self.reason == "max_iter"
            else f"max_time={budget.max_time:g} s ({self.state.n_iter} epochs in all)"
        )
        watched = "validation score" if self.evaluate is not None else "training loss"
        warnings.warn(
            f"Stopped at {limit} before the {watched} stopped improving; raise "
            f"{self.reason} for a better fit.",
            ConvergenceWarning,
            stacklevel=_STACKLEVEL + 1,
        )


# ---------------------------------------------------------------------- callbacks


@dataclass
class StoppingRule:
    """What to do on a plateau. Training stops after ``n_iter_no_change`` epochs without
    an improvement of ``tol`` in the validation score (ties broken by the validation
    loss) or, without validation data, in the training loss -- the rule of
    scikit-learn's ``MLPClassifier`` -- with two guards against taking noise for a
    plateau:

    - the patience holds at least ``n_iter_no_change * min_batches`` optimizer steps:
      with fewer than ``min_batches`` batches an epoch, it stretches to more epochs;
    - no plateau while the watched figure still moves the right way on average: a
      line fitted to it over the patience must not gain ``tol`` or more.

    The weights kept are those of the best epoch even when it beat the one before by
    less than ``tol``. With ``lr_decay``, a shorter plateau of ``lr_patience`` epochs
    (stretched and guarded alike) first multiplies the learning rate by ``lr_decay``,
    and the count starts again."""

    n_iter_no_change: int = 10
    tol: float = 1e-4
    active: bool = True
    lr_decay: float | None = None
    lr_patience: int = 3
    min_batches: int = 1

    def patience(self, batches_per_epoch, epochs=None):
        """Epochs without improvement that make a plateau (of ``n_iter_no_change``
        epochs, or of ``epochs``)."""
        stretch = math.ceil(self.min_batches / max(batches_per_epoch or 1, 1))
        return (epochs or self.n_iter_no_change) * max(stretch, 1)

    def plateau(self, state, since, patience, validated):
        """Whether ``since`` epochs without improvement make a plateau of
        ``patience``: enough of them, and no gain on average over the last
        ``patience`` epochs of what is watched."""
        if since < patience:
            return False
        watched = state.validation_scores if validated else state.loss_curve
        return not self.still_improving(watched[-patience:], higher_is_better=validated)

    def still_improving(self, recent, higher_is_better):
        """Whether a line fitted to ``recent`` (one figure an epoch) gains ``tol``
        or more over their span."""
        n = len(recent)
        if n < 2:
            return False
        x = np.arange(n) - (n - 1) / 2
        slope = float(np.dot(x, np.asarray(recent, dtype=float)) / np.dot(x, x))
        gain = slope * (n - 1) * (1 if higher_is_better else -1)
        return gain > 0 and gain >= self.tol


class EarlyStopping(Callback):
    """Keeps the best epoch's weights (with validation data) and stops on a plateau
    as ``rule`` says; puts the best weights back at the end."""

    def __init__(self, rule):
        self.rule = rule

    def on_train_begin(self, loop):
        self.no_improvement = 0
        # epochs without improvement since the learning rate last fell
        self.since_decay = 0
        self.best = None

    def on_validation_end(self, loop, record):
        rule, state = self.rule, loop.state
        if "valid_score" in record:
            score, loss = record["valid_score"], record["valid_loss"]
            # patience needs a gain of tol; the weights kept are simply the best seen
            # (as MLPClassifier keeps its best coefficients)
            improved = score > state.best_validation_score + rule.tol or (
                score >= state.best_validation_score
                and loss < state.best_validation_loss - rule.tol
            )
            better = score > state.best_validation_score or (
                score == state.best_validation_score
                and loss < state.best_validation_loss
            )
            if better or self.best is None:
                state.best_validation_score = max(score, state.best_validation_score)
                state.best_validation_loss = loss
                state.best_epoch = state.n_iter
                self.best = snapshot(loop.module, loop.optimizer)
        else:
            improved = record["train_loss"] < state.best_loss - rule.tol
        self.no_improvement = 0 if improved else self.no_improvement + 1
        self.since_decay = 0 if improved else self.since_decay + 1
        if rule.active and rule.lr_decay is not None:
            patience = rule.patience(loop.batches_per_epoch, rule.lr_patience)
            if rule.plateau(state, self.since_decay, patience, "valid_score" in record):
                self.since_decay = 0
                for group in loop.optimizer.param_groups:
                    group["lr"] *= rule.lr_decay

    def on_epoch_end(self, loop, record):
        rule = self.rule
        patience = rule.patience(loop.batches_per_epoch)
        validated = "valid_score" in record
        if rule.active and rule.plateau(
            loop.state, self.no_improvement, patience, validated
        ):
            loop.stop("converged")

    def on_train_end(self, loop):
        if self.best is not None:
            restore(loop.module, loop.optimizer, self.best)
            loop.restored_best = True


class TimeBudget(Callback):
    """Ends training after ``max_time`` seconds, early enough that the last (possibly
    partial) epoch's evaluation also fits, judged by the one before; at least one
    batch is always trained."""

    stops_within_epochs = True

    def __init__(self, max_time):
        self.max_time = max_time

    def on_train_begin(self, loop):
        self.began = time.perf_counter()
        self.evaluation_seconds = 0.0

    def used(self):
        """The share of the budget spent so far."""
        return (time.perf_counter() - self.began) / self.max_time

    def _out_of_time(self):
        elapsed = time.perf_counter() - self.began
        return elapsed > self.max_time - self.evaluation_seconds

    def on_epoch_begin(self, loop):
        if loop.epoch > 1 and self._out_of_time():
            loop.stop("max_time")

    def on_batch_begin(self, loop):
        if loop.n_batches and self._out_of_time():
            loop.stop("max_time")

    def on_validation_begin(self, loop):
        self._evaluation_start = time.perf_counter()

    def on_validation_end(self, loop, record):
        if loop.evaluate is not None:
            self.evaluation_seconds = time.perf_counter() - self._evaluation_start


def cosine_annealing(progress):
    """Learning-rate factor at ``progress`` (0 to 1) of the planned training: half a
    cosine from 1 down to 0."""
    return 0.5 * (1.0 + math.cos(math.pi * min(max(progress, 0.0), 1.0)))


class LearningRateSchedule(Callback):
    """Sets each batch's learning rate to the starting rate times
    ``schedule(progress)``, where progress runs from 0 to 1 over the planned training:
    ``n_epochs`` epochs, or the time ``budget`` when that ends sooner."""

    def __init__(self, schedule, budget=None):
        self.schedule = schedule
        self.budget = budget

    def on_train_begin(self, loop):
        self.base_lrs = [group["lr"] for group in loop.optimizer.param_groups]

    def on_batch_begin(self, loop):
        per_epoch = loop.batches_per_epoch
        within = loop.n_batches / per_epoch if per_epoch else 0.0
        progress = (loop.epoch - 1 + within) / loop.n_epochs
        if self.budget is not None:
            used = self.budget.used()
            if loop.ranks is not None:  # one rate for all: the clock furthest on
                used = loop.ranks.maximum(used, loop.device)
            progress = max(progress, used)
        factor = self.schedule(progress)
        for group, base in zip(loop.optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = base * factor


class RateReplay(Callback):
    """Sets the learning rate of each epoch to ``rates[epoch - 1]``: a refit retraces
    the rates that ``learning_rate="adaptive"`` chose in the fit it repeats."""

    def __init__(self, rates):
        self.rates = rates

    def on_epoch_begin(self, loop):
        # a refit runs no more epochs than the fit it repeats (its best epoch's)
        for group in loop.optimizer.param_groups:
            group["lr"] = self.rates[loop.epoch - 1]


class WeightAverage(Callback):
    """An exponential moving average of a module's trainable parameters (frozen ones
    never change), updated after every optimizer step. The decay starts low and rises
    to ``decay`` (``min(decay, (1 + t) / (10 + t))`` at step ``t``), so the first steps
    do not keep the average near the initial weights.

    Validation, checkpoints and the weights left at the end are the average's, while
    training goes on from the trained weights: list this callback after those that
    save, since it puts the trained weights back at the end of each epoch.
    """

    def __init__(self, decay):
        self.decay = decay

    def on_train_begin(self, loop):
        self.parameters = [p for p in loop.module.parameters() if p.requires_grad]
        self.average = [p.detach().clone() for p in self.parameters]
        self.steps = 0
        self._raw = None

    @torch.no_grad()
    def on_batch_end(self, loop):
        self.steps += 1
        weight = 1.0 - min(self.decay, (1.0 + self.steps) / (10.0 + self.steps))
        # one kernel for all the parameters on a GPU (a loop there launches one each)
        torch._foreach_lerp_(self.average, self.parameters, weight)

    @torch.no_grad()
    def on_validation_begin(self, loop):
        """Put the average into the module, keeping the trained weights aside."""
        self._raw = [p.detach().clone() for p in self.parameters]
        self._copy_average()

    @torch.no_grad()
    def on_epoch_end(self, loop, record):
        """Put the trained weights back, to go on training."""
        for parameter, raw in zip(self.parameters, self._raw, strict=True):
            parameter.copy_(raw)
        self._raw = None

    def on_train_end(self, loop):
        if not loop.restored_best and loop.reason != "diverged":
            self._copy_average()

    @torch.no_grad()
    def _copy_average(self):
        for parameter, average in zip(self.parameters, self.average, strict=True):
            parameter.copy_(average)


class AtEpochEnd(Callback):
    """Calls ``function()`` after each epoch (checkpoints hang on it)."""

    def __init__(self, function):
        self.function = function

    def on_epoch_end(self, loop, record):
        self.function()


class UserCallbacks(Callback):
    """The ``callbacks`` parameter: each callable gets a copy of every epoch's
    history record and stops training by returning a true value."""

    def __init__(self, functions):
        self.functions = list(functions)

    def on_epoch_end(self, loop, record):
        for function in self.functions:
            if function(dict(record)):
                loop.stop("callback")


class Progress(Callback):
    """``verbose=1`` prints a line per epoch; ``verbose=2`` also shows each epoch's
    batches on ``stream`` (stderr) with :class:`~sklearn_rnn._progress.Bar`: a tqdm
    bar where a person watches, plain lines in logs. ``label`` starts every line
    (an ensemble's member), ``plain`` asks for plain lines even on a terminal."""

    def __init__(self, verbose, stream=None, interval=0.1, label=None, plain=False):
        self.verbose = verbose
        self.stream = stream
        self.interval = interval
        self.label = label
        self.plain = plain
        self.bar = None

    def _say(self, line):
        print(f"[{self.label}] {line}" if self.label else line, flush=True)

    def on_epoch_begin(self, loop):
        self.started = time.perf_counter()

    def on_batch_end(self, loop):
        if self.verbose < 2:
            return
        if self.bar is None:  # made here: the epoch's batch count is known by now
            desc = f"epoch {loop.state.n_iter + 1}"
            self.bar = _progress.Bar(
                loop.batches_per_epoch,
                desc=f"[{self.label}] {desc}" if self.label else desc,
                unit="batch",
                stream=self.stream,
                plain=self.plain,
                interval=self.interval,
                started=self.started,
            )
        self.bar.update(loop.n_batches)

    def on_epoch_end(self, loop, record):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if self.verbose:
            self._say(_epoch_line(record))

    def on_train_end(self, loop):
        if self.bar is not None:  # an epoch ended by an interrupt or an error
            self.bar.close()
            self.bar = None
        if not self.verbose:
            return
        if loop.reason == "converged":
            rule = next(c.rule for c in loop.callbacks if isinstance(c, EarlyStopping))
            self._say(f"Stopping: no improvement for {rule.n_iter_no_change} epochs")
        elif loop.reason == "max_time":
            budget = next(c for c in loop.callbacks if isinstance(c, TimeBudget))
            self._say(f"Stopping: max_time={budget.max_time:g} s used")
        elif loop.reason == "callback":
            self._say("Stopping: a callback asked to")


def _epoch_line(record):
    epoch = f"Epoch {record['epoch']}"
    if "batches" in record:
        epoch += f" (cut short after {record['batches']} batches)"
    parts = [epoch, f"loss = {record['train_loss']:.5f}"]
    if "valid_loss" in record:
        parts.append(f"validation loss = {record['valid_loss']:.5f}")
        parts.append(f"validation score = {record['valid_score']:.5f}")
    parts.append(f"{record['duration']:.2f} s")
    return ", ".join(parts)


# ---------------------------------------------------------------------- helpers


def clip_gradients(module, max_norm, device, norm=None):
    """Scale ``module``'s gradients as :func:`torch.nn.utils.clip_grad_norm_` does,
    without its pass over every gradient when their norm is within ``max_norm``.
    ``norm``, their norm when the caller knows it (a
    :class:`~sklearn_rnn._distributed.GradientAverage` reads it from what the ranks
    summed), spares the pass that measures it.

    That function always multiplies, by 1 when there is nothing to clip, so that it
    never waits for an accelerator to report the norm. On the CPU, reading the norm
    costs nothing, while the multiplication touches every gradient, a dense embedding
    gradient of vocabulary x dimension included. So on the CPU the norm is read first
    and torch's function runs only when it will clip; the gradients come out the
    same either way.
    """
    if norm is None and device.type != "cpu":
        torch.nn.utils.clip_grad_norm_(module.parameters(), max_norm)
        return
    if norm is None:
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        if not grads:
            return
        norm = torch.linalg.vector_norm(
            torch.stack([torch.linalg.vector_norm(g) for g in grads])
        )
    # on the CPU, also when the norm is not finite
    if device.type != "cpu" or not float(norm) + 1e-6 <= max_norm:
        torch.nn.utils.clip_grads_with_norm_(module.parameters(), max_norm, norm)


def finite_weights(module):
    """Whether every parameter of ``module`` is finite (one synchronisation)."""
    checks = [torch.isfinite(p).all() for p in module.parameters()]
    return bool(torch.stack(checks).all()) if checks else True


def snapshot(module, optimizer):
    """Copies of the module's and the optimizer's state, to :func:`restore` later."""
    return (
        {k: v.detach().clone() for k, v in module.state_dict().items()},
        copy.deepcopy(optimizer.state_dict()),
    )


def restore(module, optimizer, saved):
    module.load_state_dict(saved[0])
    optimizer.load_state_dict(saved[1])


def _detach(state):
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()
