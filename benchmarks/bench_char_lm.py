"""tiny shakespeare, character language model: training speed against a plain PyTorch
truncated-BPTT loop, validation cross-entropy after a fixed training time, generation
speed against a naive loop, and a sample.

The convention of the data set: the first 90 % of the text trains, the last 10 %
validates. ``CharLMGenerator`` is fitted on the whole text and holds out its last
10 % itself (early stopping reads the end of the text, never a random sample), so the
validation text is the same; the figure reported is ``score`` on exactly the last 10 %,
read from its start.

1. Training speed: a 2-layer LSTM (hidden 256, embedding 64, ``seq_len`` 100, batch
   64), ours (one ``partial_fit`` epoch over a slice of the training text) and the
   plain loop of the same sizes (Adam as a user writes it, and with the fused kernel
   that sklearn-rnn uses), interleaved, medians.
2. Validation cross-entropy after ``--minutes`` of wall-clock training with the
   default parameters (``--params`` overrides some) and ``max_time`` set to that
   budget: fit stops itself in time and keeps its best epoch; validation passes count
   in the time. (Rows before 2026-11-26 17:00 stopped fit with a timer, as Ctrl-C
   would.)
3. Generation speed for one stream, ours against a naive loop that calls the module's
   full forward once per character, and for 64 streams written as one batch.
   Interleaved, medians.
4. A 500-character sample.

    python benchmarks/bench_char_lm.py --threads 2      # about 15 minutes
"""

import json
import math
import statistics
import sys
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DATA, Timer, parse_args, record, require  # noqa: E402
from plain_torch import PlainTBPTT  # noqa: E402

from sklearn_rnn import CharLMGenerator  # noqa: E402
from sklearn_rnn._data import BOUNDARY, N_STREAM_SPECIAL  # noqa: E402

SIZES = dict(
    cell="lstm",
    hidden_size=256,
    num_layers=2,
    embedding_dim=64,
    seq_len=100,
    batch_size=64,
)
TARGET = 1.45  # nats per character, from the issue
STREAMS = 64  # texts written as one batch, for the batched generation speed


def load():
    text = require(DATA / "tinyshakespeare" / "input.txt").read_text()
    split = int(0.9 * len(text))
    return text, text[:split], text[split:]


def training_speed(args, train):
    n_batches = args.speed_batches
    chars = SIZES["batch_size"] * SIZES["seq_len"] * n_batches
    # a stream of len + 2 symbols (a mark at each end) predicts len + 1 of them: one
    # epoch over this slice is exactly n_batches windows of the 64 rows
    piece = train[: chars - 1]
    # the plain loop has no dropout: ours does the same work
    ours = CharLMGenerator(
        **SIZES, dropout=0.0, early_stopping=False, random_state=0, device=args.device
    )
    plain = PlainTBPTT(train, **_plain_sizes(), fused=False, device=args.device)
    fused = PlainTBPTT(train, **_plain_sizes(), fused=True, device=args.device)
    runs = {
        "ours": lambda: ours.partial_fit(piece),
        "plain": lambda: plain.train_batches(n_batches),
        "fused": lambda: fused.train_batches(n_batches),
    }
    for run in runs.values():  # warm-up: first calls allocate
        run()
    speeds = {name: [] for name in runs}
    names = list(runs)
    for repeat in range(args.repeats):
        order = names if repeat % 2 == 0 else names[::-1]
        for name in order:
            with Timer() as t:
                runs[name]()
                _synchronize(args)
            speeds[name].append(chars / t.seconds)
        print(
            f"  speed repeat {repeat + 1}: "
            + ", ".join(f"{n} {speeds[n][-1]:,.0f} chars/s" for n in names),
            flush=True,
        )
    return {name: statistics.median(v) for name, v in speeds.items()}


def _synchronize(args):
    """Wait for queued GPU work, so that a timer sees all of it."""
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()


def _plain_sizes():
    return dict(
        batch_size=SIZES["batch_size"],
        seq_len=SIZES["seq_len"],
        embedding_dim=SIZES["embedding_dim"],
        hidden_size=SIZES["hidden_size"],
        num_layers=SIZES["num_layers"],
        cell=SIZES["cell"],
    )


def train_for(args, text, train, seconds):
    """Fit with the defaults (and ``--params``) given ``max_time=seconds``.

    Early stopping holds out the end of what it is given, so with it the whole text is
    fitted and the validation tenth is what it stops on (the issue's split); without
    it only the training 90 % is fitted, so the validation text stays unseen."""
    gen = CharLMGenerator(
        random_state=args.seed,
        device=args.device,
        verbose=1,
        max_time=seconds,
        **json.loads(args.params),
    )
    with Timer() as t, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gen.fit(text if gen.early_stopping else train)
    return gen, t.seconds


def naive_generate(module, n_chars, seed):
    """What one writes first: the module's full forward for every character."""
    device = next(module.parameters()).device
    generator = torch.Generator(device).manual_seed(seed)
    x = torch.tensor([[BOUNDARY]], device=device)  # a document begins
    state, out = None, []
    with torch.inference_mode():
        for _ in range(n_chars):
            logits, state = module(x, state)
            probs = torch.softmax(logits[0, -1, N_STREAM_SPECIAL:], dim=-1)
            drawn = torch.multinomial(probs, 1, generator=generator)
            symbol = int(drawn) + N_STREAM_SPECIAL
            out.append(symbol)
            x = torch.tensor([[symbol]], device=device)
    return out


def generation_speed(args, gen):
    """Characters per second: ours for one stream, and for ``STREAMS`` written as
    one batch (all their characters counted); the naive loop. Interleaved,
    medians."""
    n = args.gen_chars
    runs = {
        "ours": lambda: gen.generate(n, stop_at_end=False, random_state=0),
        "streams": lambda: gen.generate(
            n, stop_at_end=False, n_samples=STREAMS, random_state=0
        ),
        "naive": lambda: naive_generate(gen.module_, n // 4, 0),
    }
    counts = {"ours": n, "streams": n * STREAMS, "naive": n // 4}
    speeds = {name: [] for name in runs}
    for repeat in range(args.repeats):
        for name in runs if repeat % 2 == 0 else list(runs)[::-1]:
            with Timer() as t:
                runs[name]()
                _synchronize(args)
            speeds[name].append(counts[name] / t.seconds)
        print(
            f"  generation repeat {repeat + 1}: "
            + ", ".join(f"{k} {v[-1]:,.0f} chars/s" for k, v in speeds.items()),
            flush=True,
        )
    return {name: statistics.median(v) for name, v in speeds.items()}


def main(args):
    text, train, valid = load()
    command = "python benchmarks/bench_char_lm.py"
    rows = []
    sizes = "2-layer LSTM 256, emb 64, seq_len 100, batch 64"

    if not args.skip_speed:
        print("1. training speed", flush=True)
        speed = training_speed(args, train)
        rows += [
            (
                "tinyshakespeare",
                f"training chars/s, {sizes}, no dropout, median of {args.repeats}",
                f"{speed['ours']:,.0f}",
                f"{speed['plain']:,.0f} (plain TBPTT loop)",
                f"{speed['ours'] / speed['plain']:.3f}",
            ),
            (
                "tinyshakespeare",
                "training chars/s, same, plain loop with fused Adam as ours",
                f"{speed['ours']:,.0f}",
                f"{speed['fused']:,.0f} (plain, fused Adam)",
                f"{speed['ours'] / speed['fused']:.3f}",
            ),
        ]

    if args.speed_only:
        record(args, command + f" --threads {args.threads} --speed-only", rows)
        return

    print(f"2. {args.minutes:g} minutes of training with the defaults", flush=True)
    gen, seconds = train_for(args, text, train, args.minutes * 60)
    with Timer() as t:
        valid_ce = -gen.score(valid)
    print(
        f"  {gen.n_iter_} epochs in {seconds:.0f} s; best held-out score "
        f"{gen.best_validation_score_}; validation cross-entropy {valid_ce:.4f} "
        f"nats ({valid_ce / math.log(2):.3f} bits) per character, scored in "
        f"{t.seconds:.1f} s",
        flush=True,
    )
    rows.append(
        (
            "tinyshakespeare",
            f"validation nats/char after {seconds / 60:.1f} min ({gen.n_iter_} "
            f"epochs), defaults{'' if args.params == '{}' else ' with ' + args.params}"
            f": {_describe(gen)}",
            f"{valid_ce:.4f}",
            f"{TARGET} (target; smoothed 5-gram 1.76)",
            f"{valid_ce - TARGET:+.4f}",
        )
    )

    print(f"3. generation speed, one stream and {STREAMS} streams", flush=True)
    speed = generation_speed(args, gen)
    rows.append(
        (
            "tinyshakespeare",
            f"generation chars/s, one stream, median of {args.repeats}",
            f"{speed['ours']:,.0f}",
            f"{speed['naive']:,.0f} (full forward per char)",
            f"{speed['ours'] / speed['naive']:.2f}",
        )
    )
    rows.append(
        (
            "tinyshakespeare",
            f"generation chars/s, {STREAMS} streams as one batch (all their "
            f"characters), median of {args.repeats}",
            f"{speed['streams']:,.0f}",
            f"{speed['ours']:,.0f} (one stream)",
            f"{speed['streams'] / speed['ours']:.2f}",
        )
    )

    print("4. a 500-character sample (temperature 0.8, from a document's start)")
    print("-" * 72)
    print(gen.generate(500, temperature=0.8, stop_at_end=False, random_state=0))
    print("-" * 72)
    options = f" --threads {args.threads}"
    if args.device != "cpu":
        options += f" --device {args.device}"
    if args.minutes != 10:
        options += f" --minutes {args.minutes:g}"
    if args.seed != 0:
        options += f" --seed {args.seed}"
    if args.skip_speed:
        options += " --skip-speed"
    if args.params != "{}":
        options += f" --params '{args.params}'"
    record(args, command + options, rows)


def _describe(gen):
    return (
        f"{gen.cell.upper()} {gen.num_layers}x{gen.hidden_size}, emb "
        f"{gen.embedding_dim}, seq_len {gen.seq_len}, batch {gen.batch_size}, lr "
        f"{gen.learning_rate_init:g} {gen.learning_rate}, dropout {gen.dropout:g}, "
        f"max_time {gen.max_time:g} s"
    )


if __name__ == "__main__":
    main(
        parse_args(
            __doc__.splitlines()[0],
            minutes=dict(type=float, default=10.0, help="training time budget"),
            speed_batches=dict(type=int, default=20, help="batches per speed run"),
            repeats=dict(type=int, default=5),
            gen_chars=dict(type=int, default=4000),
            seed=dict(type=int, default=0),
            params=dict(default="{}", help="JSON of CharLMGenerator parameters"),
            skip_speed=dict(action="store_true", help="skip part 1"),
            speed_only=dict(action="store_true", help="run part 1 only"),
        )
    )
