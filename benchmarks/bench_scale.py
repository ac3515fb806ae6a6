"""Memory at scale: predicting on 10,000 and 100,000 variable-length series, and scoring
one text of 1 and 10 million characters, run in batches and chunks, so the extra memory
grows with the input (which must be held anyway), not with batch x time x hidden units.

Each size runs in a fresh process, whose resident memory is read before and its peak
after ``predict_proba`` or ``score``; the reference column is the size of the input
itself.
The text is tiny shakespeare repeated, read as one document (exactly, as ``score``
does), by a small CharLMGenerator (1 layer of 64 LSTM units) trained for one epoch:
memory, not the quality of the model, is measured.

    python benchmarks/bench_scale.py            # about 5 minutes on two cores
"""

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import parse_args, record  # noqa: E402


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def current_mb():
    """Resident memory now (the peak so far may be higher, from loading)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


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
    before = current_mb()
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


def train_small_generator(path, threads):
    """A small generator trained for one epoch, saved to ``path``: memory, not the
    quality of the model, is measured."""
    import torch

    from sklearn_rnn import CharLMGenerator
    from sklearn_rnn.datasets import load_tinyshakespeare

    torch.set_num_threads(threads)
    gen = CharLMGenerator(
        hidden_size=64, num_layers=1, embedding_dim=16, max_iter=1, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gen.fit(load_tinyshakespeare(return_text=True)[:200_000])
    gen.save(path)


def child_score(n_chars, threads, path):
    """Load the saved generator and score a text of ``n_chars``; print JSON. Loading
    in a fresh process keeps training's memory out of the peak."""
    import torch

    from sklearn_rnn import load
    from sklearn_rnn.datasets import load_tinyshakespeare

    torch.set_num_threads(threads)
    gen = load(path)
    text = load_tinyshakespeare(return_text=True)
    big = (text * (n_chars // len(text) + 1))[:n_chars]
    del text
    gen.score(big[:1000])  # warm up
    before = current_mb()
    start = time.perf_counter()
    score = gen.score(big)
    seconds = time.perf_counter() - start
    assert np.isfinite(score)
    print(
        json.dumps(
            {
                "input_mb": len(big.encode()) / 2**20,
                "extra_peak_mb": peak_mb() - before,
                "seconds": seconds,
            }
        )
    )


def run_child(kind, n, threads, *extra):
    out = subprocess.run(
        [sys.executable, __file__, kind, str(n), "--threads", str(threads), *extra],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(args):
    rows = []
    folder = tempfile.mkdtemp()
    model = os.path.join(folder, "generator.skrnn")
    train_small_generator(model, args.threads)
    for n in (1_000_000, 10_000_000):
        result = run_child("--child-score", n, args.threads, model)
        print(f"score on {n:,} characters: {result}")
        rows.append(
            (
                "scale (tiny shakespeare x N)",
                f"score one text of {n:,} characters: extra peak RSS (MB)",
                f"{result['extra_peak_mb']:.0f}",
                f"{result['input_mb']:.0f} (the text)",
                f"{result['extra_peak_mb'] / result['input_mb']:.2f}x input",
            )
        )
        rows.append(
            (
                "scale (tiny shakespeare x N)",
                f"score one text of {n:,} characters: characters per second",
                f"{n / result['seconds']:,.0f}",
                "",
                "",
            )
        )
    for n in (10_000, 100_000):
        result = run_child("--child", n, args.threads)
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
    shutil.rmtree(folder)
    record(args, "python benchmarks/bench_scale.py", rows)


if __name__ == "__main__":
    if sys.argv[1:2] in (["--child"], ["--child-score"]):
        threads = int(sys.argv[sys.argv.index("--threads") + 1])
        if sys.argv[1] == "--child":
            child(int(sys.argv[2]), threads)
        else:
            child_score(int(sys.argv[2]), threads, sys.argv[-1])
    else:
        main(parse_args(__doc__.splitlines()[0]))
