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

``--data-parallel`` instead trains one classifier by two processes of one thread
(``torchrun --nproc_per_node=2``, gloo on the loopback) against one process of one
thread, on the same data, for the same epochs, and compares training throughput
(samples per second of ``fit``) and test accuracy, each over the same seeds; the two
runs alternate so that whatever else the machine does falls on both.

    python benchmarks/bench_scale.py --data-parallel   # about 5 minutes

``--stream`` fits a CharLMGenerator on a file of at least 1 GiB (tiny shakespeare
repeated, written under /tmp and deleted afterwards) given as a path, so that it is
streamed, for a fixed time budget (``--stream-time`` seconds of training after the
pass that finds the characters), and records the peak resident memory and the
characters per second of that pass and of training, beside the same fit on a text
of 50 MB held in memory; then it scores a 5 MB file, streamed.

    python benchmarks/bench_scale.py --stream          # about 6 minutes
"""

import json
import os
import resource
import shutil
import statistics
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


DATA_PARALLEL_SETTINGS = {
    # TREC-6: the defaults (bidirectional GRU 128, embedding 300); the dense gradient
    # of the embedding (8,700 words x 300) is what the ranks exchange at every step
    "trec": dict(early_stopping=False),
    # Japanese Vowels: the defaults (no embedding: the gradients are small)
    "vowels": dict(early_stopping=False),
}


def load_data_parallel_data(name):
    if name == "vowels":
        from sklearn_rnn.datasets import load_japanese_vowels

        return (
            *load_japanese_vowels(return_X_y=True),
            *load_japanese_vowels(subset="test", return_X_y=True),
        )
    from _common import load_trec

    return (*load_trec("TREC.train.all"), *load_trec("TREC.test.all"))


def cpu_seconds():
    """CPU time (user and system) this process has used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_data_parallel(name, epochs, batch_size, seed):
    """Fit on ``name`` for ``epochs`` (two ranks when run by torchrun, else one
    process), one torch thread per process; rank 0 prints JSON."""
    import torch
    import torch.distributed as dist

    from sklearn_rnn import RNNClassifier

    torch.set_num_threads(1)
    ranked = "LOCAL_RANK" in os.environ
    if ranked:
        dist.init_process_group("gloo")
    X, y, X_test, y_test = load_data_parallel_data(name)
    clf = RNNClassifier(
        **DATA_PARALLEL_SETTINGS[name],
        max_iter=epochs,
        n_iter_no_change=epochs,
        batch_size=batch_size,
        random_state=seed,
        device="cpu",
    )
    if ranked:
        dist.barrier()
    start, cpu_start = time.perf_counter(), cpu_seconds()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    seconds = time.perf_counter() - start
    epoch_seconds = sum(record["duration"] for record in clf.history_)
    cpu = torch.tensor([cpu_seconds() - cpu_start], dtype=torch.float64)
    if ranked:
        dist.all_reduce(cpu)  # the CPU time of both ranks
    accuracy = clf.score(X_test, y_test)
    if not ranked or dist.get_rank() == 0:
        print(
            json.dumps(
                {
                    "seconds": seconds,
                    "samples_per_second": epochs * len(X) / seconds,
                    "epoch_samples_per_second": epochs * len(X) / epoch_seconds,
                    "cpu_seconds": float(cpu),
                    "accuracy": accuracy,
                    "n_iter": clf.n_iter_,
                }
            )
        )
    if ranked:
        dist.destroy_process_group()


def run_data_parallel(world, name, epochs, batch_size, seed):
    """One fit by ``world`` processes of one thread each (JSON of rank 0)."""
    args = ["--child-data-parallel", name, str(epochs), str(batch_size), str(seed)]
    command = [sys.executable, __file__, *args]
    if world > 1:
        command[1:1] = [
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={world}",
            "--monitor-interval=1",  # the launcher polls less: more CPU for ranks
        ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo"}
    out = subprocess.run(
        command, capture_output=True, text=True, check=True, env=env
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main_data_parallel(args):
    name, epochs = args.dp_data, args.dp_epochs
    seeds = range(args.dp_seeds)
    # the same samples per optimizer step: one process reads batches of 2 * b,
    # each of the two ranks batches of b (unless --dp-same-batch)
    one_batch = args.dp_batch if args.dp_same_batch else 2 * args.dp_batch
    runs = {1: [], 2: []}
    loads = [os.getloadavg()[0]]
    for seed in seeds:
        for world, batch in ((1, one_batch), (2, args.dp_batch)):
            result = run_data_parallel(world, name, epochs, batch, seed)
            print(f"seed {seed}, {world} process(es), batch {batch}: {result}")
            runs[world].append(result)
            loads.append(os.getloadavg()[0])

    def median(world, key):
        return statistics.median(r[key] for r in runs[world])

    speed = {w: median(w, "samples_per_second") for w in runs}
    epoch_speed = {w: median(w, "epoch_samples_per_second") for w in runs}
    cpu = {w: median(w, "cpu_seconds") for w in runs}
    accuracy = {w: median(w, "accuracy") for w in runs}
    spread = {
        w: f"{min(r['accuracy'] for r in runs[w]):.4f}-"
        f"{max(r['accuracy'] for r in runs[w]):.4f}"
        for w in runs
    }
    what = (
        f"{name}, {epochs} epochs, batch {args.dp_batch} per rank x 2 ranks "
        f"against {one_batch} in one process, one thread each, "
        f"median of seeds 0-{len(seeds) - 1}, load average {min(loads):.1f}-"
        f"{max(loads):.1f} on {os.cpu_count()} cores"
    )
    rows = [
        (
            "data-parallel (torchrun, gloo)",
            f"training samples/s, 2 processes against 1: {what}",
            f"{speed[2]:,.0f}",
            f"{speed[1]:,.0f} (1 process)",
            f"{speed[2] / speed[1]:.2f}x",
        ),
        (
            "data-parallel (torchrun, gloo)",
            "training samples/s over the epochs alone (without what fit does "
            "before the first: reading the data, building the network, torch's "
            "imports on first use), same runs",
            f"{epoch_speed[2]:,.0f}",
            f"{epoch_speed[1]:,.0f} (1 process)",
            f"{epoch_speed[2] / epoch_speed[1]:.2f}x",
        ),
        (
            "data-parallel (torchrun, gloo)",
            "CPU seconds of the fit, all processes together, same runs (ratio: 1 "
            "process's over 2's)",
            f"{cpu[2]:.1f}",
            f"{cpu[1]:.1f} (1 process)",
            f"{cpu[1] / cpu[2]:.2f}",
        ),
        (
            "data-parallel (torchrun, gloo)",
            f"test accuracy, same runs (range over seeds: 2 processes {spread[2]}, "
            f"1 process {spread[1]})",
            f"{accuracy[2]:.4f}",
            f"{accuracy[1]:.4f} (1 process)",
            f"{accuracy[2] - accuracy[1]:+.4f}",
        ),
    ]
    flags = f" --dp-data {name} --dp-epochs {epochs} --dp-batch {args.dp_batch}"
    flags += f" --dp-seeds {args.dp_seeds}"
    if args.dp_same_batch:
        flags += " --dp-same-batch"
    record(args, "python benchmarks/bench_scale.py --data-parallel" + flags, rows)


STREAM_SETTINGS = dict(early_stopping=False, random_state=0)


def write_corpus(path, n_bytes):
    """Tiny shakespeare repeated into ``path`` until it holds ``n_bytes``."""
    from _common import DATA, require

    text = require(DATA / "tinyshakespeare" / "input.txt").read_text(encoding="utf-8")
    with open(path, "w", encoding="utf-8") as out:
        written = 0
        while written < n_bytes:
            written += out.write(text)
    return written


def child_stream(path, max_time, threads, in_memory):
    """Fit on the file at ``path`` (streamed, or read into memory first), score a
    streamed file when given one after ``--score``; print JSON."""
    import torch

    from sklearn_rnn import CharLMGenerator
    from sklearn_rnn._data import Corpus

    torch.set_num_threads(threads)
    before = current_mb()
    path = Path(path)
    gen = CharLMGenerator(**STREAM_SETTINGS, max_time=max_time)
    start = time.perf_counter()
    if in_memory:
        X = path.read_text(encoding="utf-8")
    else:
        X = [path]
        scan_start = time.perf_counter()
        seen, n_symbols, _ = Corpus(X).scan(keep_tail=1)
        scan_seconds = time.perf_counter() - scan_start
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gen.fit(X)
    seconds = time.perf_counter() - start
    record = gen.history_[-1]
    batches = record.get("batches")
    result = {
        "fit_seconds": seconds,
        "epochs": gen.n_iter_,
        "cut_short_after_batches": batches,
        "peak_mb": peak_mb(),
        "start_mb": before,
        "chars": path.stat().st_size,
        "train_seconds": sum(r["duration"] for r in gen.history_),
    }
    if batches is not None:
        n_streams = gen.batch_size
        result["trained_chars"] = batches * n_streams * gen.seq_len
    if not in_memory:
        result["scan_seconds"] = scan_seconds
    print(json.dumps(result))


def child_stream_score(model_path, text_path, threads):
    """Score the file at ``text_path`` (streamed) with the saved model; JSON."""
    import torch

    from sklearn_rnn import load

    torch.set_num_threads(threads)
    gen = load(model_path)
    before = current_mb()
    start = time.perf_counter()
    score = gen.score(Path(text_path))
    seconds = time.perf_counter() - start
    assert np.isfinite(score)
    size = Path(text_path).stat().st_size
    print(
        json.dumps(
            {"chars_per_second": size / seconds, "extra_peak_mb": peak_mb() - before}
        )
    )


def main_stream(args):
    folder = Path(tempfile.mkdtemp(prefix="sklearn_rnn_corpus_", dir="/tmp"))
    rows = []
    try:
        big, medium, small = (folder / f"{n}.txt" for n in ("1GiB", "50MB", "5MB"))
        write_corpus(big, 1 << 30)
        write_corpus(medium, 50_000_000)
        write_corpus(small, 5_000_000)
        runs = {}
        for name, path, flag in (("streamed", big, []), ("in memory", medium, ["1"])):
            runs[name] = result = run_child(
                "--child-stream", args.stream_time, args.threads, str(path), *flag
            )
            print(f"{name}: {result}")
        streamed, in_memory = runs["streamed"], runs["in memory"]
        what = (
            f"CharLMGenerator defaults (early_stopping off), max_time="
            f"{args.stream_time} s"
        )
        rows += [
            (
                "stream (tiny shakespeare x N)",
                f"fit on a 1 GiB file given as a path (streamed), {what}: "
                "peak RSS (MB)",
                f"{streamed['peak_mb']:.0f}",
                f"{in_memory['peak_mb']:.0f} (50 MB text in memory, same budget)",
                f"{streamed['peak_mb'] / in_memory['peak_mb']:.2f}x",
            ),
            (
                "stream (tiny shakespeare x N)",
                "the pass over the 1 GiB file that finds its characters: chars/s",
                f"{streamed['chars'] / streamed['scan_seconds']:,.0f}",
                "",
                "",
            ),
        ]
        for name in ("streamed", "in memory"):
            result = runs[name]
            if "trained_chars" in result:
                rows.append(
                    (
                        "stream (tiny shakespeare x N)",
                        f"training chars/s within max_time, {name} "
                        f"({result['epochs']} epoch(s), cut short)",
                        f"{result['trained_chars'] / result['train_seconds']:,.0f}",
                        "",
                        "",
                    )
                )
        model = folder / "model.skrnn"
        train_small_generator(model, args.threads)
        result = run_child(
            "--child-stream-score", 0, args.threads, str(model), str(small)
        )
        print(f"score: {result}")
        rows.append(
            (
                "stream (tiny shakespeare x N)",
                "score a 5 MB file given as a path (1x64 LSTM): chars/s, extra peak "
                "RSS (MB) in the reference column",
                f"{result['chars_per_second']:,.0f}",
                f"{result['extra_peak_mb']:.0f} MB",
                "",
            )
        )
    finally:
        shutil.rmtree(folder)
    record(
        args,
        f"python benchmarks/bench_scale.py --stream --stream-time {args.stream_time}",
        rows,
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
    if sys.argv[1:2] == ["--child-stream"]:
        in_memory = len(sys.argv) > 6
        child_stream(sys.argv[5], int(sys.argv[2]), int(sys.argv[4]), in_memory)
    elif sys.argv[1:2] == ["--child-stream-score"]:
        child_stream_score(sys.argv[5], sys.argv[6], int(sys.argv[4]))
    elif sys.argv[1:2] == ["--child-data-parallel"]:
        name, epochs, batch_size, seed = sys.argv[2:6]
        child_data_parallel(name, int(epochs), int(batch_size), int(seed))
    elif sys.argv[1:2] in (["--child"], ["--child-score"]):
        threads = int(sys.argv[sys.argv.index("--threads") + 1])
        if sys.argv[1] == "--child":
            child(int(sys.argv[2]), threads)
        else:
            child_score(int(sys.argv[2]), threads, sys.argv[-1])
    else:
        args = parse_args(
            __doc__.splitlines()[0],
            data_parallel=dict(action="store_true", help="two processes against one"),
            dp_data=dict(default="trec", choices=sorted(DATA_PARALLEL_SETTINGS)),
            dp_epochs=dict(type=int, default=3),
            dp_batch=dict(type=int, default=32, help="batch size per rank"),
            dp_seeds=dict(type=int, default=3),
            dp_same_batch=dict(
                action="store_true", help="one process reads batches of the same size"
            ),
            stream=dict(action="store_true", help="a 1 GiB corpus, streamed"),
            stream_time=dict(type=int, default=60, help="max_time of those fits"),
        )
        if args.data_parallel:
            main_data_parallel(args)
        elif args.stream:
            main_stream(args)
        else:
            main(args)
