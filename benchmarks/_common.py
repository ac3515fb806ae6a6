"""What every benchmark shares: where the data is, the machine, thread settings and
the results table.

Benchmarks run on the real data in ``../shared/data`` (beside the repository) and
append their figures to ``benchmarks/results.md`` with the date and the machine, so
that numbers from different days and machines never get mixed up silently.
"""

import argparse
import datetime
import os
import platform
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import torch

import sklearn_rnn

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SKLEARN_RNN_DATA", ROOT.parent / "shared" / "data"))
RESULTS = ROOT / "benchmarks" / "results.md"
# torch threads of a run unless --threads says otherwise (the machine has two cores)
DEFAULT_THREADS = 2

HEADER = """# Benchmark results

Appended by the scripts in this folder; each row says when, where and how it was
measured. `ratio` is ours divided by the reference for speeds (higher is better) and
ours minus the reference for scores, unless the row says otherwise.

| date | benchmark | metric | sklearn-rnn | reference | ratio | machine | command |
|---|---|---|---|---|---|---|---|
"""


def parse_args(description, **extra):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--threads", type=int, default=DEFAULT_THREADS, help="torch threads (fixed)"
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--no-record", action="store_true", help="print only; leave results.md alone"
    )
    for name, kwargs in extra.items():
        parser.add_argument(f"--{name.replace('_', '-')}", **kwargs)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    return args


def machine(args):
    if args.device.startswith("cuda") and torch.cuda.is_available():
        where = torch.cuda.get_device_name()
    else:
        where = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    return (
        f"{where}, {args.threads} torch threads, torch {torch.__version__}, "
        f"sklearn-rnn {sklearn_rnn.__version__}"
    )


def require(path):
    if not path.exists():
        raise SystemExit(f"missing data: {path} (see ../shared/data/README.md)")
    return path


def load_trec(name):
    """The questions and labels of a TREC file (``TREC.train.all``, ...)."""
    X, y = [], []
    with open(require(DATA / "trec" / name), encoding="latin-1") as lines:
        for line in lines:
            label, text = line.rstrip("\n").split(" ", 1)
            X.append(text)
            y.append(label)
    return X, np.array(y)


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``."""

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def fit_seeds(make, X, y, X_test, y_test, seeds):
    """Fit ``make(seed)`` on ``X, y`` for each seed (warnings silenced) and score it on
    the test data: the accuracies, fit seconds and epochs, one per seed."""
    accuracies, seconds, epochs = [], [], []
    for seed in seeds:
        model = make(seed)
        with Timer() as t, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X, y)
        accuracies.append(model.score(X_test, y_test))
        seconds.append(t.seconds)
        epochs.append(model.n_iter_)
    return accuracies, seconds, epochs


def command_line(script, **options):
    """``python benchmarks/<script>`` and each option whose value differs from its
    default: ``name=(value, default)``; a JSON value is quoted for the shell."""
    command = f"python benchmarks/{script}"
    for name, (value, default) in options.items():
        if value != default:
            text = f"'{value}'" if str(value).startswith(("{", "[")) else value
            command += f" --{name.replace('_', '-')} {text}"
    return command


def median_seconds(fn, repeat):
    times = []
    for _ in range(repeat):
        with Timer() as t:
            fn()
        times.append(t.seconds)
    return statistics.median(times)


def gpu_activity(run, n_batches):
    """What ``run()`` asks of a CUDA GPU, per batch of its ``n_batches``: kernels,
    memory copies (host to device, device to host and device to device), and the
    fraction of the wall time in which a kernel or copy ran, read with torch's
    profiler (which slows the run, so the times of speed rows come without it)."""
    from torch.profiler import ProfilerActivity, profile

    torch.cuda.synchronize()
    activities = [ProfilerActivity.CPU, ProfilerActivity.CUDA]
    with profile(activities=activities) as prof, Timer() as wall:
        run()
        torch.cuda.synchronize()
    kernels = copies = 0
    busy_us = 0.0
    for event in prof.events():
        if event.device_type != torch.autograd.DeviceType.CUDA:
            continue
        if event.name.startswith("Memcpy"):
            copies += 1
        elif not event.name.startswith("Memset"):
            kernels += 1
        busy_us += event.time_range.elapsed_us()
    return kernels / n_batches, copies / n_batches, busy_us / 1e6 / wall.seconds


def record(args, command, rows):
    """Print ``rows`` (benchmark, metric, ours, reference, ratio) and append them;
    ``command`` reproduces them (a device other than the CPU, and a number of torch
    threads other than the default, are added to it)."""
    today = datetime.date.today().isoformat()
    where = machine(args)
    if args.device != "cpu" and "--device" not in command:
        command += f" --device {args.device}"
    if args.threads != DEFAULT_THREADS and "--threads" not in command:
        command += f" --threads {args.threads}"
    for benchmark, metric, ours, reference, ratio in rows:
        print(f"{benchmark:28s} {metric:38s} {ours:>12s} {reference:>14s} {ratio:>8s}")
    if args.no_record:
        return
    if not RESULTS.exists():
        RESULTS.write_text(HEADER)
    with RESULTS.open("a") as out:
        for benchmark, metric, ours, reference, ratio in rows:
            out.write(
                f"| {today} | {benchmark} | {metric} | {ours} | {reference} | {ratio} "
                f"| {where} | `{command}` |\n"
            )
    print(f"appended {len(rows)} rows to {RESULTS.relative_to(ROOT)}")
