"""Small time-series sets nobody tuned the defaults on: test accuracy of
``RNNClassifier`` with its defaults on the UCR dev sets (ArrowHead, OSULeaf, Trace,
PLAID) and Japanese Vowels, beside MiniRocket and 1-NN DTW (full window), both from
``aeon``, trained in the same run.

    pip install ".[benchmarks]"                      # aeon for the references
    python benchmarks/bench_ucr.py                   # about 10 minutes on two cores
    python benchmarks/bench_ucr.py --params '{"max_iter": 300}' --no-record

``--params`` tries other settings (a JSON object of ``RNNClassifier`` parameters);
rows name what they measured.
"""

import json
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    DATA,
    Timer,
    command_line,
    fit_seeds,
    parse_args,
    record,
    require,
)

from sklearn_rnn import RNNClassifier  # noqa: E402

SETS = ("ArrowHead", "OSULeaf", "Trace", "PLAID", "JapaneseVowels")


def load(name):
    """Train and test series (each of shape (steps, channels)) and labels."""
    path = (
        DATA / "japanese_vowels" / "JapaneseVowels.npz"
        if name == "JapaneseVowels"
        else DATA / "ucr_dev" / f"{name}.npz"
    )
    with np.load(require(path), allow_pickle=False) as npz:
        parts = []
        for part in ("train", "test"):
            X = npz[f"X_{part}"]
            if f"lengths_{part}" in npz:  # ragged: stacked steps and their lengths
                X = np.split(X, np.cumsum(npz[f"lengths_{part}"])[:-1])
            else:
                X = list(X)
            parts += [X, npz[f"y_{part}"]]
        return parts


def channels_first(X, length=None):
    """aeon's layout: a list of ``(n_channels, n_steps)`` arrays, or with ``length``
    one array of series padded at their end with their last value (MiniRocket reads
    series of one length)."""
    if length is not None:
        X = [np.pad(x, ((0, length - len(x)), (0, 0)), mode="edge") for x in X]
    series = [np.ascontiguousarray(x.T, dtype=np.float64) for x in X]
    return np.stack(series) if len({s.shape for s in series}) == 1 else series


def references(X, y, X_test, y_test):
    from aeon.classification.convolution_based import MiniRocketClassifier
    from aeon.classification.distance_based import KNeighborsTimeSeriesClassifier

    longest = max(len(x) for x in X + X_test)
    rocket = MiniRocketClassifier(random_state=0, n_jobs=1)
    rocket.fit(channels_first(X, longest), y)
    dtw = KNeighborsTimeSeriesClassifier(distance="dtw", n_neighbors=1, n_jobs=1)
    dtw.fit(channels_first(X), y)
    return (
        float(np.mean(rocket.predict(channels_first(X_test, longest)) == y_test)),
        float(np.mean(dtw.predict(channels_first(X_test)) == y_test)),
    )


def main(args):
    params = json.loads(args.params)
    label = json.dumps(params, sort_keys=True) if params else "defaults"
    rows, gaps = [], []
    names = args.sets.split(",")
    for name in names:
        X, y, X_test, y_test = load(name)
        with Timer() as ref_time:
            rocket, dtw = (
                (None, None)
                if args.skip_references
                else references(X, y, X_test, y_test)
            )
        accuracies, seconds, epochs = fit_seeds(
            lambda seed: RNNClassifier(random_state=seed, device=args.device, **params),
            X,
            y,
            X_test,
            y_test,
            range(args.seeds),
        )
        ours = statistics.median(accuracies)
        print(
            f"{name}: ours {', '.join(f'{a:.3f}' for a in accuracies)} "
            f"(epochs {epochs}, {statistics.median(seconds):.1f} s) | "
            + (
                ""
                if rocket is None
                else f"MiniRocket {rocket:.3f}, 1-NN DTW {dtw:.3f} "
                f"({ref_time.seconds:.0f} s)"
            ),
            flush=True,
        )
        if rocket is None:
            continue
        gaps.append(ours - rocket)
        what = f"test accuracy, {label}, median of {args.seeds} seeds"
        rows += [
            (
                name,
                what,
                f"{ours:.4f}",
                f"{dtw:.4f} (1-NN DTW, aeon)",
                f"{ours - dtw:+.4f}",
            ),
            (
                name,
                what,
                f"{ours:.4f}",
                f"{rocket:.4f} (MiniRocket, aeon)",
                f"{ours - rocket:+.4f}",
            ),
            (
                name,
                f"fit seconds, {label}, median "
                f"({statistics.median(epochs):.0f} epochs)",
                f"{statistics.median(seconds):.1f}",
                "",
                "",
            ),
        ]
    if gaps and len(gaps) == len(names):
        mean_gap = statistics.mean(gaps)
        print(f"mean accuracy minus MiniRocket's: {mean_gap:+.4f}")
        # the target's mean is over all the sets; a subset's row names its own
        where = (
            "UCR dev + JapaneseVowels"
            if sorted(names) == sorted(SETS)
            else " + ".join(names)
        )
        rows.append(
            (
                where,
                f"mean test accuracy minus MiniRocket's, {label}",
                f"{mean_gap:+.4f}",
                "target >= -0.02",
                "",
            )
        )
    command = command_line(
        "bench_ucr.py",
        params=(args.params, "{}"),
        sets=(args.sets, ",".join(SETS)),
        seeds=(args.seeds, 1),
    )
    if rows:
        record(args, command, rows)


if __name__ == "__main__":
    main(
        parse_args(
            __doc__,
            params=dict(default="{}", help="RNNClassifier parameters as JSON"),
            sets=dict(default=",".join(SETS)),
            seeds=dict(type=int, default=1),
            skip_references=dict(action="store_true"),
        )
    )
