"""What decoding several CoNLL-2003 taggers together gains on eng.testa.

Trains FEATURES (bench_conll.py's single-tagger settings) once per seed on eng.train,
stopping on eng.testa within ``--max-time`` seconds each, then scores on eng.testa
every tagger alone and every group of two or more decoded together as an
EnsembleTagger does. eng.testb is never read. This is how CHOSEN became a pair.

    flock /tmp/sklearn-rnn-bench.lock python benchmarks/conll_ensemble_gain.py \\
        --seeds 0,1,2   # about 25 minutes on two cores
"""

import itertools
import statistics
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_conll  # noqa: E402
from _common import DATA, Timer, parse_args, record, require  # noqa: E402

from sklearn_rnn import EnsembleTagger, LSTMSequenceTagger  # noqa: E402
from sklearn_rnn.datasets import load_conll  # noqa: E402
from sklearn_rnn.metrics import entity_f1_score  # noqa: E402


def pooled(taggers):
    """The EnsembleTagger that fitting would have made of these fitted taggers."""
    return EnsembleTagger.from_estimators(taggers)


def main():
    conll = DATA / "conll2003"
    X, y = load_conll(require(conll / "eng.train"), feature_columns=[1, 2])
    X_a, y_a = load_conll(require(conll / "eng.testa"), feature_columns=[1, 2])
    columns, params = bench_conll.split_columns(bench_conll.FEATURES)
    X, X_a = bench_conll.view(X, columns), bench_conll.view(X_a, columns)
    seeds = [int(seed) for seed in ARGS.seeds.split(",")]
    taggers, singles, rows = {}, {}, []
    for seed in seeds:
        tagger = LSTMSequenceTagger(
            random_state=seed, device=ARGS.device, max_time=ARGS.max_time, **params
        )
        with Timer() as fit_time, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tagger.fit(X, y, X_val=X_a, y_val=y_a)
        taggers[seed] = tagger
        singles[seed] = entity_f1_score(y_a, tagger.predict(X_a))
        print(
            f"seed {seed}: testa {singles[seed]:.4f}, {tagger.n_iter_} epochs in "
            f"{fit_time.seconds:.0f} s",
            flush=True,
        )
    mean_single = statistics.mean(singles.values())
    rows.append(
        (
            "CoNLL-2003",
            f"testa entity F1, one tagger (FEATURES, max_time {ARGS.max_time:.0f} s), "
            "mean of seeds ("
            + "; ".join(f"seed {s}: {f1:.4f}" for s, f1 in singles.items())
            + ")",
            f"{mean_single:.4f}",
            "",
            "",
        )
    )
    for size in range(2, len(seeds) + 1):
        for group in itertools.combinations(seeds, size):
            f1 = entity_f1_score(y_a, pooled([taggers[s] for s in group]).predict(X_a))
            members = statistics.mean(singles[s] for s in group)
            rows.append(
                (
                    "CoNLL-2003",
                    f"testa entity F1, EnsembleTagger of seeds {group}",
                    f"{f1:.4f}",
                    f"{members:.4f} (its taggers alone, mean)",
                    f"{f1 - members:+.4f}",
                )
            )
    record(
        ARGS,
        f"python benchmarks/conll_ensemble_gain.py --seeds {ARGS.seeds} "
        f"--max-time {ARGS.max_time:.0f}",
        rows,
    )


if __name__ == "__main__":
    ARGS = parse_args(
        __doc__.splitlines()[0],
        seeds=dict(default="0,1,2", help="one tagger per seed"),
        max_time=dict(type=float, default=540.0, help="seconds per tagger"),
    )
    main()
