"""``python -m sklearn_rnn``: train on bundled data and say what happened.

Fits an :class:`~sklearn_rnn.RNNClassifier` with its default settings on the Japanese
Vowels training series (bundled, CC BY 4.0) and reports test accuracy and timings.
"""

import argparse
import time

from sklearn_rnn import RNNClassifier, __version__
from sklearn_rnn.datasets import load_japanese_vowels


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m sklearn_rnn",
        description="Train an RNN classifier on the bundled Japanese Vowels data.",
    )
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, mps, ...")
    parser.add_argument("--verbose", type=int, default=0, help="0, 1 or 2")
    args = parser.parse_args(argv)

    X_train, y_train = load_japanese_vowels(subset="train", return_X_y=True)
    X_test, y_test = load_japanese_vowels(subset="test", return_X_y=True)
    lengths = [len(x) for x in X_train]
    print(f"sklearn-rnn {__version__}")
    print(
        f"Data: Japanese Vowels (UCI, CC BY 4.0), {len(X_train)} training and "
        f"{len(X_test)} test series of {min(lengths)}-{max(lengths)} steps, "
        f"{X_train[0].shape[1]} channels, {len(set(y_train))} speakers"
    )
    clf = RNNClassifier(
        random_state=args.random_state, device=args.device, verbose=args.verbose
    )
    print(f"Model: {clf!r}")
    start = time.perf_counter()
    clf.fit(X_train, y_train)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    accuracy = clf.score(X_test, y_test)
    predict_seconds = time.perf_counter() - start
    device = next(clf.module_.parameters()).device
    print(
        f"Trained a {'bidirectional ' if clf.bidirectional else ''}"
        f"{clf.cell.upper()} ({clf.hidden_size} units) on "
        f"{device} for {clf.n_iter_} epochs in {fit_seconds:.1f} s "
        f"(final training loss {clf.loss_curve_[-1]:.4f})"
    )
    print(
        f"Test accuracy: {accuracy:.4f} on {len(X_test)} series "
        f"(predicted in {predict_seconds:.2f} s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
