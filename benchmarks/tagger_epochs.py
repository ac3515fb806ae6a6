"""Seconds per epoch of the tagger's defaults on CoNLL-2003, for one version of the
package against another (the speed of a change to the training step).

Fits ``LSTMSequenceTagger(random_state=0, n_networks=2, max_iter=EPOCHS,
verbose=1)`` on all of eng.train, words alone, and prints each epoch's seconds and
the whole fit's. ``--tree`` imports the package from another checkout (a git
worktree of an earlier commit, say); run the versions one after another, twice:

    git worktree add /tmp/old 1f56d5e
    python benchmarks/tagger_epochs.py --tree /tmp/old --epochs 2
    python benchmarks/tagger_epochs.py --epochs 2

It prints only: the figures it gave are in results.md with the commits they ran.
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import torch


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", help="a checkout to import sklearn_rnn from")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.tree:
        sys.path.insert(0, args.tree)
    here = Path(__file__).resolve().parent
    sys.path.insert(1, str(here))
    torch.set_num_threads(args.threads)
    from _common import DATA, require
    from bench_conll import view

    import sklearn_rnn
    from sklearn_rnn import LSTMSequenceTagger
    from sklearn_rnn.datasets import load_conll

    X, y = load_conll(require(DATA / "conll2003" / "eng.train"), feature_columns=[1, 2])
    X = view(X, None)  # words alone
    tagger = LSTMSequenceTagger(
        random_state=0, n_networks=2, max_iter=args.epochs, verbose=1
    )
    began = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tagger.fit(X, y)
    seconds = time.perf_counter() - began
    print(f"{sklearn_rnn.__file__}: fit {seconds:.1f} s, {tagger.n_iter_} epochs")


if __name__ == "__main__":
    main()
