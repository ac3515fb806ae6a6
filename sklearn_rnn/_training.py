"""The one training loop: epochs of mini-batches, clipping, validation, early stopping
with best-weight restore, learning-rate schedules, a time budget, weight averaging,
history, progress, interrupts and divergence.

It knows nothing of any estimator. An estimator hands it a module, an optimizer, a
function that yields an epoch's batches, a function from a batch to its mean loss, and
optionally a function that scores the module on held-out data; :class:`TrainingState`
carries what must survive from one ``fit`` or ``partial_fit`` call to the next.
"""

import copy
import math
import sys
import time
import warnings
from dataclasses import dataclass, field

import torch
from sklearn.exceptions import ConvergenceWarning

from .exceptions import DivergenceWarning, InterruptedFitWarning


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


@dataclass
class StoppingRule:
    """What to do on a plateau. Training stops after ``n_iter_no_change`` epochs without
    an improvement of ``tol`` in the validation score (ties broken by the validation
    loss) or, without validation data, in the training loss -- the rule of
    scikit-learn's ``MLPClassifier``; the weights kept are those of the best epoch
    even when it beat the one before by less than ``tol``. With ``lr_decay``, every
    ``lr_patience`` epochs without improvement first multiply the learning rate by
    ``lr_decay``."""

    n_iter_no_change: int = 10
    tol: float = 1e-4
    active: bool = True
    lr_decay: float | None = None
    lr_patience: int = 3


def cosine_annealing(progress):
    """Learning-rate factor at ``progress`` (0 to 1) of the planned training: half a
    cosine from 1 down to 0."""
    return 0.5 * (1.0 + math.cos(math.pi * min(max(progress, 0.0), 1.0)))


def _finite_weights(module):
    """Whether every parameter of ``module`` is finite (one synchronisation)."""
    checks = [torch.isfinite(p).all() for p in module.parameters()]
    return bool(torch.stack(checks).all()) if checks else True


def _snapshot(module, optimizer):
    return (
        {k: v.detach().clone() for k, v in module.state_dict().items()},
        copy.deepcopy(optimizer.state_dict()),
    )


def _restore(module, optimizer, snapshot):
    module.load_state_dict(snapshot[0])
    optimizer.load_state_dict(snapshot[1])


class WeightAverage:
    """An exponential moving average of a module's trainable parameters (frozen ones
    never change), updated after every optimizer step. The decay starts low and rises
    to ``decay`` (``min(decay, (1 + t) / (10 + t))`` at step ``t``), so the first steps
    do not keep the average near the initial weights."""

    def __init__(self, module, decay):
        self.parameters = [p for p in module.parameters() if p.requires_grad]
        self.average = [p.detach().clone() for p in self.parameters]
        self.decay = decay
        self.steps = 0
        self._raw = None

    @torch.no_grad()
    def update(self):
        self.steps += 1
        weight = 1.0 - min(self.decay, (1.0 + self.steps) / (10.0 + self.steps))
        for average, parameter in zip(self.average, self.parameters, strict=True):
            average.lerp_(parameter, weight)

    @torch.no_grad()
    def swap_in(self):
        """Put the average into the module, keeping the trained weights aside."""
        self._raw = [p.detach().clone() for p in self.parameters]
        self.copy_into_module()

    @torch.no_grad()
    def swap_out(self):
        """Put the trained weights back, to go on training."""
        for parameter, raw in zip(self.parameters, self._raw, strict=True):
            parameter.copy_(raw)
        self._raw = None

    @torch.no_grad()
    def copy_into_module(self):
        for parameter, average in zip(self.parameters, self.average, strict=True):
            parameter.copy_(average)


def clip_gradients(module, max_norm, device):
    """Scale ``module``'s gradients as :func:`torch.nn.utils.clip_grad_norm_` does,
    without its pass over every gradient when their norm is within ``max_norm``.

    That function always multiplies, by 1 when there is nothing to clip, so that it
    never waits for an accelerator to report the norm. On the CPU, reading the norm
    costs nothing, while the multiplication touches every gradient, a dense embedding
    gradient of vocabulary x dimension included: a fifth of a training step for a
    sentence classifier with a 300-d embedding of 8,730 words (TREC-6). So on the
    CPU the norm is read first and torch's function runs only when it will clip; the
    gradients come out the same either way.
    """
    if device.type != "cpu":
        torch.nn.utils.clip_grad_norm_(module.parameters(), max_norm)
        return
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return
    norm = torch.linalg.vector_norm(
        torch.stack([torch.linalg.vector_norm(g) for g in grads])
    )
    if not float(norm) + 1e-6 <= max_norm:  # also when the norm is not finite
        torch.nn.utils.clip_grad_norm_(module.parameters(), max_norm)


def train(
    module,
    optimizer,
    *,
    state,
    n_epochs,
    epoch_batches,
    batch_loss,
    device,
    evaluate=None,
    rule=None,
    clip_grad_norm=None,
    verbose=0,
    warn_at_max_iter=True,
    on_epoch_end=None,
    max_time=None,
    lr_schedule=None,
    ema_decay=None,
):
    """Train ``module`` for up to ``n_epochs`` epochs and return why it stopped.

    Parameters
    ----------
    module, optimizer : torch objects, the module already on ``device``.
    state : TrainingState
        Updated in place: curves, history, best scores, ``n_iter``.
    epoch_batches : callable () -> iterable of Batch (sized, ideally: see lr_schedule)
    batch_loss : callable (module, batch) -> (scalar tensor, items it averages)
    evaluate : callable (module) -> (loss, score), or None
        Runs on held-out data in eval mode without gradients; higher scores are better.
    rule : StoppingRule
    clip_grad_norm : float or None
    verbose : int
        0 silent, 1 a line per epoch, 2 also a progress bar on stderr.
    on_epoch_end : callable () -> None, or None
        Called after each epoch (checkpoints hang on it).
    max_time : float or None
        Seconds this call may take. Training stops early enough that the last
        (possibly partial) epoch's evaluation also fits, judged by the one before;
        at least one batch is always trained.
    lr_schedule : callable (progress) -> factor, or None
        Sets each batch's learning rate to the starting rate times
        ``lr_schedule(progress)``, where progress runs from 0 to 1 over the planned
        training: ``n_epochs`` epochs, or ``max_time`` when that ends sooner.
    ema_decay : float or None
        Keep an exponential moving average of the weights (see
        :class:`WeightAverage`); validation, checkpoints and the weights left at the
        end are the average's, while training goes on from the trained weights.

    Returns
    -------
    reason : {"converged", "max_iter", "max_time", "diverged", "interrupted"}
    """
    rule = rule if rule is not None else StoppingRule()
    no_improvement = 0
    best = None
    last_good = _snapshot(module, optimizer)
    reason = "max_iter"
    began = time.perf_counter()
    base_lrs = [group["lr"] for group in optimizer.param_groups]
    batches_per_epoch = None  # told by a sized epoch, or learnt from a complete one
    evaluation_seconds = 0.0
    average = None if ema_decay is None else WeightAverage(module, ema_decay)

    def out_of_time():
        return (
            max_time is not None
            and time.perf_counter() - began > max_time - evaluation_seconds
        )

    def schedule(epoch, i):
        within = i / batches_per_epoch if batches_per_epoch else 0.0
        progress = (epoch + within) / n_epochs
        if max_time is not None:
            progress = max(progress, (time.perf_counter() - began) / max_time)
        factor = lr_schedule(progress)
        for group, base in zip(optimizer.param_groups, base_lrs, strict=True):
            group["lr"] = base * factor

    try:
        for epoch in range(n_epochs):
            if epoch and out_of_time():
                reason = "max_time"
                break
            start = time.perf_counter()
            module.train()
            total = torch.zeros((), device=device)
            count = 0
            n_batches = 0
            cut_short = False
            batches = epoch_batches()
            if hasattr(batches, "__len__"):
                batches_per_epoch = len(batches)
            if verbose >= 2:
                batches = _Progress(batches, state.n_iter + 1)
            for batch in batches:
                if n_batches and out_of_time():
                    cut_short = True
                    break
                if lr_schedule is not None:
                    schedule(epoch, n_batches)
                n_batches += 1
                batch = batch.to(device)
                optimizer.zero_grad(set_to_none=True)
                loss, n_items = batch_loss(module, batch)
                loss.backward()
                if clip_grad_norm is not None:
                    clip_gradients(module, clip_grad_norm, device)
                optimizer.step()
                if average is not None:
                    average.update()
                total += loss.detach() * n_items
                count += n_items
            if not cut_short:
                batches_per_epoch = n_batches
            train_loss = (total / max(count, 1)).item()
            # the losses were computed before each step: the epoch's last step may
            # still have made the weights NaN, so they are checked too
            if not math.isfinite(train_loss) or not _finite_weights(module):
                _restore(module, optimizer, last_good)
                what = (
                    f"training loss became {train_loss}"
                    if not math.isfinite(train_loss)
                    else "weights became NaN or infinite"
                )
                warnings.warn(
                    f"The {what} in epoch {state.n_iter + 1}; training stopped and "
                    "the weights of the last finite epoch were kept. "
                    "Lower learning_rate_init or set clip_grad_norm.",
                    DivergenceWarning,
                    stacklevel=5,
                )
                reason = "diverged"
                break
            state.n_iter += 1
            record = {
                "epoch": state.n_iter,
                "train_loss": train_loss,
                "lr": optimizer.param_groups[0]["lr"],
            }
            state.loss_curve.append(train_loss)
            if cut_short:
                record["batches"] = n_batches  # of batches_per_epoch, if known
            if average is not None:  # evaluated and saved; trained no further
                average.swap_in()
            if evaluate is not None:
                module.eval()
                evaluation_start = time.perf_counter()
                with torch.no_grad():
                    valid_loss, valid_score = evaluate(module)
                evaluation_seconds = time.perf_counter() - evaluation_start
                record.update(valid_loss=valid_loss, valid_score=valid_score)
                state.validation_scores.append(valid_score)
                # patience needs a gain of tol; the weights kept are simply the
                # best seen (as MLPClassifier keeps its best coefficients)
                improved = valid_score > state.best_validation_score + rule.tol or (
                    valid_score >= state.best_validation_score
                    and valid_loss < state.best_validation_loss - rule.tol
                )
                better = valid_score > state.best_validation_score or (
                    valid_score == state.best_validation_score
                    and valid_loss < state.best_validation_loss
                )
                if better or best is None:
                    state.best_validation_score = max(
                        valid_score, state.best_validation_score
                    )
                    state.best_validation_loss = valid_loss
                    best = _snapshot(module, optimizer)
            else:
                improved = train_loss < state.best_loss - rule.tol
            state.best_loss = min(state.best_loss, train_loss)
            no_improvement = 0 if improved else no_improvement + 1
            if (
                rule.active
                and rule.lr_decay is not None
                and no_improvement
                and no_improvement % rule.lr_patience == 0
            ):
                for group in optimizer.param_groups:
                    group["lr"] *= rule.lr_decay
            record["duration"] = time.perf_counter() - start
            state.history.append(record)
            if on_epoch_end is not None:
                on_epoch_end()
            if average is not None:
                average.swap_out()
            last_good = _snapshot(module, optimizer)
            if verbose:
                print(_epoch_line(record), flush=True)
            if cut_short:
                reason = "max_time"
                break
            if rule.active and no_improvement >= rule.n_iter_no_change:
                reason = "converged"
                if verbose:
                    print(
                        f"Stopping: no improvement for {rule.n_iter_no_change} epochs",
                        flush=True,
                    )
                break
    except KeyboardInterrupt:
        _restore(module, optimizer, last_good)
        warnings.warn(
            f"Training interrupted in epoch {state.n_iter + 1}; the model keeps the "
            + (
                "best weights so far."
                if best is not None
                else "average of the weights so far."
                if average is not None
                else "weights of the last complete epoch."
            ),
            InterruptedFitWarning,
            stacklevel=5,
        )
        reason = "interrupted"
    if best is not None:
        _restore(module, optimizer, best)
    elif average is not None and reason != "diverged":
        average.copy_into_module()
    if reason == "max_time" and verbose:
        print(f"Stopping: max_time={max_time:g} s used", flush=True)
    if reason in ("max_iter", "max_time") and warn_at_max_iter and rule.active:
        limit = (
            f"max_iter={n_epochs} epochs"
            if reason == "max_iter"
            else f"max_time={max_time:g} s ({state.n_iter} epochs in all)"
        )
        warnings.warn(
            f"Stopped at {limit} before the "
            + ("validation score" if evaluate is not None else "training loss")
            + f" stopped improving; raise {reason} for a better fit.",
            ConvergenceWarning,
            stacklevel=5,
        )
    module.eval()
    return reason


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


class _Progress:
    """A progress bar on stderr. On a terminal it redraws one line with a carriage
    return; into a file or a pipe it writes plain lines at each quarter, so logs stay
    clean."""

    def __init__(self, iterable, epoch, stream=None, width=30):
        # a sized epoch is read as it comes; anything else is counted first
        self.items = iterable if hasattr(iterable, "__len__") else list(iterable)
        self.epoch = epoch
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        isatty = getattr(self.stream, "isatty", None)
        self.interactive = bool(isatty and isatty())

    def __iter__(self):
        n = len(self.items)
        marks = {max(1, round(n * q / 4)) for q in range(1, 5)}
        start = time.perf_counter()
        for i, item in enumerate(self.items, 1):
            yield item
            if self.interactive or i in marks:
                done = int(self.width * i / max(n, 1))
                line = (
                    f"epoch {self.epoch} [{'#' * done}{'.' * (self.width - done)}] "
                    f"{i}/{n} batches, {time.perf_counter() - start:.1f} s"
                )
                if self.interactive:
                    self.stream.write("\r" + line + ("\n" if i == n else ""))
                else:
                    self.stream.write(line + "\n")
                self.stream.flush()
