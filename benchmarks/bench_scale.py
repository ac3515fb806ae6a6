"""Memory at scale: predicting on 10,000 and 100,000 variable-length series runs in
batches, so the extra memory grows with the input (which must be held anyway), not with
batch x time x hidden units.

Each size runs in a fresh process, whose peak resident memory is read before and after
``predict``; the reference column is the size of the input arrays themselves.

    python benchmarks/bench_scale.py            # about 2 minutes on two cores
"""

import json
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import parse_args, record  # noqa: E402


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(n, threads):
    """Fit on the bundled training series, then predict ``n`` series; print JSON."""
    import torch

    from sklearn_rnn import RNNClassifier
    from sklearn_rnn.datasets import load_japanese_vowels

    torch.set_num_threads(threads)
    X, y = load_japanese_vowels(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = RNNClassifier(max_iter=2, random_state=0).fit(X, y)
    X_test, _ = load_japanese_vowels(subset="test", return_X_y=True)
    big = [X_test[i % len(X_test)] for i in range(n)]
    input_mb = sum(x.nbytes for x in big) / 2**20
    before = peak_mb()
    start = time.perf_counter()
    proba = clf.predict_proba(big)
    seconds = time.perf_counter() - start
    assert proba.shape == (n, 9) and np.isfinite(proba).all()
    print(
        json.dumps(
            {
                "input_mb": input_mb,
                "extra_peak_mb": peak_mb() - before,
                "seconds": seconds,
            }
        )
    )


def main(args):
    rows = []
    for n in (10_000, 100_000):
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                str(n),
                "--threads",
                str(args.threads),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        result = json.loads(out.strip().splitlines()[-1])
        print(f"{n:,} series: {result}")
        rows.append(
            (
                "scale (Japanese Vowels x N)",
                f"predict_proba on {n:,} series: extra peak RSS (MB)",
                f"{result['extra_peak_mb']:.0f}",
                f"{result['input_mb']:.0f} (input arrays)",
                f"{result['extra_peak_mb'] / result['input_mb']:.2f}x input",
            )
        )
        rows.append(
            (
                "scale (Japanese Vowels x N)",
                f"predict_proba on {n:,} series: series per second",
                f"{n / result['seconds']:,.0f}",
                "",
                "",
            )
        )
    record(args, "python benchmarks/bench_scale.py", rows)


if __name__ == "__main__":
    if "--child" in sys.argv:
        i = sys.argv.index("--child")
        threads = int(sys.argv[sys.argv.index("--threads") + 1])
        child(int(sys.argv[i + 1]), threads)
    else:
        main(parse_args(__doc__.splitlines()[0]))
