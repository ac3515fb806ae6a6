"""Sentence classification nobody tuned the defaults on: CR (customer reviews) and
MPQA (opinion phrases), 10-fold cross-validation, ``RNNClassifier`` with its defaults
beside TF-IDF (1-2 grams, sublinear tf) + LinearSVC on the same folds in the same run.

    python benchmarks/bench_sentences.py       # about 30 minutes on two cores
    python benchmarks/bench_sentences.py --folds 3 --sets cr --no-record  # a look

The folds are shuffled with seed 0 (``KFold(10, shuffle=True, random_state=0)``), as
for the figures in ``../shared/data/README.md``; ``--params`` tries other settings (a
JSON object of ``RNNClassifier`` parameters).
"""

import json
import statistics
import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    DATA,
    Timer,
    command_line,
    parse_args,
    record,
    require,
)

from sklearn_rnn import RNNClassifier  # noqa: E402

FILES = {"cr": "custrev.all", "mpqa": "mpqa.all"}


def load(name):
    """Sentences (already tokenised, latin-1) and their 0/1 labels."""
    lines = require(DATA / "sentences" / FILES[name]).read_text("latin-1").splitlines()
    pairs = [line.split(" ", 1) for line in lines if line.strip()]
    return [text for _, text in pairs], np.array([int(lab) for lab, _ in pairs])


def main(args):
    params = json.loads(args.params)
    label = json.dumps(params, sort_keys=True) if params else "defaults"
    rows = []
    for name in args.sets.split(","):
        X, y = load(name)
        X = np.array(X, dtype=object)
        ours, svm, seconds = [], [], []
        folds = KFold(args.folds, shuffle=True, random_state=0).split(X)
        for k, (train, test) in enumerate(folds):
            linear = make_pipeline(
                TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True), LinearSVC()
            )
            linear.fit(X[train], y[train])
            svm.append(linear.score(X[test], y[test]))
            clf = RNNClassifier(random_state=k, device=args.device, **params)
            with Timer() as t, warnings.catch_warnings():
                warnings.simplefilter("ignore")
                clf.fit(list(X[train]), y[train])
            ours.append(clf.score(list(X[test]), y[test]))
            seconds.append(t.seconds)
            print(
                f"{name} fold {k}: ours {ours[-1]:.4f} ({clf.n_iter_} epochs, "
                f"{t.seconds:.0f} s), TF-IDF + LinearSVC {svm[-1]:.4f}",
                flush=True,
            )
        mean_ours, mean_svm = statistics.mean(ours), statistics.mean(svm)
        what = f"{args.folds}-fold CV accuracy (seed-0 folds), {label}"
        rows += [
            (
                name.upper(),
                what,
                f"{mean_ours:.4f}",
                f"{mean_svm:.4f} (TF-IDF 1-2 grams + LinearSVC)",
                f"{mean_ours - mean_svm:+.4f}",
            ),
            (
                name.upper(),
                f"fit seconds, {label}, median of {args.folds} folds",
                f"{statistics.median(seconds):.1f}",
                "",
                "",
            ),
        ]
    command = command_line(
        "bench_sentences.py",
        params=(args.params, "{}"),
        folds=(args.folds, 10),
        sets=(args.sets, "cr,mpqa"),
    )
    record(args, command, rows)


if __name__ == "__main__":
    main(
        parse_args(
            __doc__,
            params=dict(default="{}", help="RNNClassifier parameters as JSON"),
            sets=dict(default="cr,mpqa"),
            folds=dict(type=int, default=10),
        )
    )
