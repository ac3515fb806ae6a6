"""Japanese Vowels (variable length, 12 channels): test accuracy and fit time of
``RNNClassifier`` with its default settings, over several seeds, beside a linear model
on summary statistics of each series trained in the same run.

    python benchmarks/bench_japanese_vowels.py      # about 1 minute on two cores
"""

import statistics
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DATA, fit_seeds, parse_args, record, require  # noqa: E402

from sklearn_rnn import RNNClassifier  # noqa: E402


def load(part):
    """The shared copy of the data (the same file the package bundles)."""
    with np.load(require(DATA / "japanese_vowels" / "JapaneseVowels.npz")) as npz:
        stacked, lengths = npz[f"X_{part}"], npz[f"lengths_{part}"]
        return np.split(stacked, np.cumsum(lengths)[:-1]), npz[f"y_{part}"]


def summary(X):
    """Per-channel mean, std, min, max, first and last frame of each series."""
    return np.array(
        [
            np.concatenate([x.mean(0), x.std(0), x.min(0), x.max(0), x[0], x[-1]])
            for x in X
        ]
    )


def main(args):
    X, y = load("train")
    X_test, y_test = load("test")

    linear = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    linear.fit(summary(X), y)
    linear_accuracy = linear.score(summary(X_test), y_test)

    accuracies, seconds, epochs = fit_seeds(
        lambda seed: RNNClassifier(random_state=seed, device=args.device),
        X,
        y,
        X_test,
        y_test,
        range(args.seeds),
    )
    for seed, accuracy, took, n_iter in zip(
        range(args.seeds), accuracies, seconds, epochs, strict=True
    ):
        print(f"seed {seed}: accuracy {accuracy:.4f}, {took:.1f} s, {n_iter} epochs")
    median = statistics.median(accuracies)
    ref = f"{linear_accuracy:.4f} (logistic regression on summaries)"
    record(
        args,
        "python benchmarks/bench_japanese_vowels.py",
        [
            (
                "JapaneseVowels",
                f"test accuracy, defaults, median of {args.seeds} seeds",
                f"{median:.4f}",
                ref,
                f"{median - linear_accuracy:+.4f}",
            ),
            (
                "JapaneseVowels",
                f"test accuracy, defaults, worst of {args.seeds} seeds",
                f"{min(accuracies):.4f}",
                ref,
                f"{min(accuracies) - linear_accuracy:+.4f}",
            ),
            (
                "JapaneseVowels",
                "fit seconds, defaults, median",
                f"{statistics.median(seconds):.1f}",
                "",
                "",
            ),
        ],
    )


if __name__ == "__main__":
    main(parse_args(__doc__.splitlines()[0], seeds=dict(type=int, default=5)))
