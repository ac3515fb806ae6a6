"""Prediction speed on the CPU of the ways to serve a fitted model: the estimator
(torch) and its exported ONNX file served by ``sklearn_rnn.onnx.OnnxModel``
(onnxruntime), in full precision and quantized. The tagger is timed on CoNLL-2003
eng.testb beside sklearn-crfsuite (feature extraction included, as bench_conll.py
times it); the classifier on TREC-6 and Japanese Vowels (one sample's latency, and
throughput); the translator on CMUdict test words (words per second, greedy and with a
beam of 5); the generator on tiny shakespeare (characters written per second, one
stream and a batch of 16).

Speed does not depend on how well a network is trained, so the networks here train
for a few epochs only (each row says how many): the tagger has the size and inputs of
one of bench_conll.py's CHOSEN networks (words with their part-of-speech and chunk
columns, characters), the classifiers their defaults. Each speed is the median of
``--repeat`` runs, the ways timed in turn in one process, on ``--threads`` threads.

    flock /tmp/bench.lock python benchmarks/bench_serving.py   # about 12 minutes
    python benchmarks/bench_serving.py --parts translator,generator   # some only
"""

import statistics
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DATA, Timer, load_trec, parse_args, record, require  # noqa: E402
from bench_conll import FEATURES, fit_crfsuite, sentence_features, view  # noqa: E402
from bench_japanese_vowels import load as load_vowels  # noqa: E402

from sklearn_rnn import (  # noqa: E402
    CharLMGenerator,
    LSTMSequenceTagger,
    RNNClassifier,
    RNNTranslator,
    export_onnx,
)
from sklearn_rnn.datasets import (  # noqa: E402
    load_cmudict,
    load_conll,
    load_tinyshakespeare,
)
from sklearn_rnn.onnx import OnnxModel  # noqa: E402

TAGGER_EPOCHS = 1
CLASSIFIER_EPOCHS = 3
TRANSLATOR_PAIRS = 20_000  # trained on, one epoch
GENERATOR_SECONDS = 60  # of training


def timed_in_turn(ways, repeat):
    """``{name: median seconds}`` of the callables ``ways``, run in turn ``repeat``
    times (so that a busy spell of the machine hits all of them alike)."""
    seconds = {name: [] for name in ways}
    for _ in range(repeat):
        for name, way in ways.items():
            with Timer() as t:
                way()
            seconds[name].append(t.seconds)
    return {name: statistics.median(values) for name, values in seconds.items()}


def fit_quietly(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a few epochs do not converge
        return model.fit(X, y)


def served(model, folder, name, threads):
    """``{"float32": OnnxModel, "int8": OnnxModel}`` of ``model`` and their sizes."""
    models, sizes = {}, {}
    for kind, quantize in (("float32", False), ("int8", True)):
        path = export_onnx(
            model, Path(folder) / f"{name}-{kind}.onnx", quantize=quantize
        )
        models[kind] = OnnxModel(path, n_threads=threads)
        sizes[kind] = path.stat().st_size / 1e6
    return models, sizes


def conll_rows(folder):
    conll = DATA / "conll2003"
    X, y = load_conll(require(conll / "eng.train"), feature_columns=[1, 2])
    X_b, _ = load_conll(require(conll / "eng.testb"), feature_columns=[1, 2])
    if ARGS.quick:
        X, y, X_b = X[:500], y[:500], X_b[:300]
    pos, pos_b = ([[t[1] for t in s] for s in data] for data in (X, X_b))
    crf, _ = fit_crfsuite(view(X, None), y, pos)
    words_b = view(X_b, None)
    columns = FEATURES["feature_columns"]
    params = {k: v for k, v in FEATURES.items() if k != "feature_columns"}
    params.update(max_iter=TAGGER_EPOCHS, early_stopping=False, random_state=0)
    tagger = fit_quietly(LSTMSequenceTagger(**params), view(X, columns), y)
    X_b = view(X_b, columns)
    models, sizes = served(tagger, folder, "tagger", ARGS.threads)
    reference = tagger.predict(X_b)
    agree = {
        kind: np.mean([a == b for a, b in zip(m.predict(X_b), reference, strict=True)])
        for kind, m in models.items()
    }
    seconds = timed_in_turn(
        {
            "crfsuite": lambda: crf.predict(sentence_features(words_b, pos_b)),
            "torch": lambda: tagger.predict(X_b),
            "float32": lambda: models["float32"].predict(X_b),
            "int8": lambda: models["int8"].predict(X_b),
        },
        ARGS.repeat,
    )
    n_tokens = sum(map(len, X_b))
    speed = {name: n_tokens / s for name, s in seconds.items()}
    for name, value in speed.items():
        print(f"  {name}: {value:,.0f} tokens/s", flush=True)
    setting = (
        f"one tagger of CHOSEN's size ({TAGGER_EPOCHS} epoch: speed only), median "
        f"of {ARGS.repeat}"
    )
    ways = {
        "torch": "the estimator's predict (torch)",
        "float32": "OnnxModel (onnxruntime, float32)",
        "int8": "OnnxModel of export_onnx(quantize=True) (onnxruntime, int8)",
    }
    rows = [
        (
            "CoNLL-2003",
            f"predict tokens per second, testb, {ways[name]}, {setting}",
            f"{speed[name]:,.0f}",
            f"{speed['crfsuite']:,.0f} (sklearn-crfsuite)",
            f"{speed[name] / speed['crfsuite']:.2f}x",
        )
        for name in ways
    ]
    rows += [
        (
            "CoNLL-2003",
            f"testb sentences tagged as the estimator tags them, {ways[kind]}; file "
            f"{sizes[kind]:.1f} MB",
            f"{agree[kind]:.4f}",
            "",
            "",
        )
        for kind in ("float32", "int8")
    ]
    return rows


def classifier_rows(name, X, y, X_test, folder):
    """One sample's latency and the throughput on 10,000 samples, of the estimator
    (torch) and of OnnxModel, for RNNClassifier's defaults."""
    clf = RNNClassifier(max_iter=CLASSIFIER_EPOCHS, random_state=0)
    fit_quietly(clf, X, y)
    models, sizes = served(clf, folder, name, ARGS.threads)
    one = X_test[:1]
    many = (list(X_test) * (10_000 // len(X_test) + 1))[:10_000]
    ways = {"torch": clf, "float32": models["float32"]}
    latency = timed_in_turn(
        {way: (lambda m=m: m.predict(one)) for way, m in ways.items()},
        ARGS.repeat * 40,
    )
    throughput = timed_in_turn(
        {way: (lambda m=m: m.predict(many)) for way, m in ways.items()}, ARGS.repeat
    )
    same = np.mean(models["float32"].predict(many) == clf.predict(many))
    print(f"  {name}: latency {latency}, 10,000 in {throughput}, same {same}")
    setting = f"defaults, {CLASSIFIER_EPOCHS} epochs (speed only)"
    return [
        (
            name,
            f"predict latency, 1 sample (ms), OnnxModel (onnxruntime), {setting}, "
            f"median of {ARGS.repeat * 40}",
            f"{latency['float32'] * 1000:.2f}",
            f"{latency['torch'] * 1000:.2f} (the estimator, torch)",
            f"{latency['torch'] / latency['float32']:.2f}x",
        ),
        (
            name,
            f"predict throughput, 10,000 samples (per s), OnnxModel (onnxruntime), "
            f"{setting}, median of {ARGS.repeat}; predictions equal to the "
            f"estimator's: {same:.4f}; file {sizes['float32']:.2f} MB",
            f"{10_000 / throughput['float32']:,.0f}",
            f"{10_000 / throughput['torch']:,.0f} (the estimator, torch)",
            f"{throughput['torch'] / throughput['float32']:.2f}x",
        ),
    ]


def translator_rows(folder):
    """Words per second of the defaults' sizes on CMUdict test words, greedy and
    with a beam of 5: the estimator against OnnxModel (decoding in numpy)."""
    X, y = load_cmudict(subset="train", return_X_y=True)
    words = list(load_cmudict(subset="test", variants="grouped").words)[:2_000]
    n_pairs = 2_000 if ARGS.quick else TRANSLATOR_PAIRS
    translator = RNNTranslator(max_iter=1, early_stopping=False, random_state=0)
    fit_quietly(translator, X[:n_pairs], y[:n_pairs])
    path = export_onnx(translator, Path(folder) / "translator.onnx")
    model = OnnxModel(path, n_threads=ARGS.threads)
    rows = []
    for beam in (1, 5):
        translator.set_params(beam_size=beam)
        model.beam_size = beam
        pairs = zip(model.predict(words), translator.predict(words), strict=True)
        same = np.mean([a == b for a, b in pairs])
        seconds = timed_in_turn(
            {
                "torch": lambda: translator.predict(words),
                "onnx": lambda: model.predict(words),
            },
            ARGS.repeat,
        )
        speed = {name: len(words) / s for name, s in seconds.items()}
        decoding = "greedy" if beam == 1 else "beam 5"
        print(f"  translator, {decoding}: {speed}, same {same}", flush=True)
        rows.append(
            (
                "CMUdict G2P",
                f"predict words per second, {decoding}, OnnxModel (onnxruntime, "
                f"decoding in numpy), defaults' sizes, 1 epoch on {n_pairs:,} pairs "
                f"(speed only), {len(words):,} test words, median of {ARGS.repeat}; "
                f"words decoded as the estimator decodes them: {same:.4f}; file "
                f"{path.stat().st_size / 1e6:.1f} MB",
                f"{speed['onnx']:,.0f}",
                f"{speed['torch']:,.0f} (the estimator, torch)",
                f"{speed['onnx'] / speed['torch']:.2f}x",
            )
        )
    return rows


def generator_rows(folder):
    """Characters written per second by the defaults, one stream and 16 at once: the
    estimator against OnnxModel (one step per character, sampling in numpy)."""
    text = load_tinyshakespeare(subset="train", return_text=True)
    budget = 5 if ARGS.quick else GENERATOR_SECONDS
    generator = CharLMGenerator(max_time=budget, random_state=0)
    fit_quietly(generator, text, None)
    path = export_onnx(generator, Path(folder) / "generator.onnx")
    model = OnnxModel(path, n_threads=ARGS.threads)
    n_chars = 500
    rows = []
    for streams in (None, 16):
        seconds = timed_in_turn(
            {
                name: lambda m=m, k=streams: m.generate(
                    n_chars, n_samples=k, stop_at_end=False, random_state=0
                )
                for name, m in (("torch", generator), ("onnx", model))
            },
            ARGS.repeat,
        )
        n = n_chars * (streams or 1)
        speed = {name: n / s for name, s in seconds.items()}
        print(f"  generator, {streams or 1} stream(s): {speed}", flush=True)
        rows.append(
            (
                "tinyshakespeare",
                f"generate characters per second, {streams or 1} stream(s) of "
                f"{n_chars}, OnnxModel (onnxruntime, sampling in numpy), defaults, "
                f"{budget} s of training (speed only), median of {ARGS.repeat}",
                f"{speed['onnx']:,.0f}",
                f"{speed['torch']:,.0f} (the estimator, torch)",
                f"{speed['onnx'] / speed['torch']:.2f}x",
            )
        )
    return rows


def main():
    parts = ARGS.parts.split(",")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        if "classifier" in parts:
            X, y = load_trec("TREC.train.all")
            X_test, _ = load_trec("TREC.test.all")
            rows += classifier_rows("TREC-6", X, y, X_test, folder)
            X, y = load_vowels("train")
            X_test, _ = load_vowels("test")
            rows += classifier_rows("Japanese Vowels", X, y, X_test, folder)
        if "tagger" in parts:
            rows += conll_rows(folder)
        if "translator" in parts:
            rows += translator_rows(folder)
        if "generator" in parts:
            rows += generator_rows(folder)
    command = "python benchmarks/bench_serving.py"
    if ARGS.repeat != 5:
        command += f" --repeat {ARGS.repeat}"
    if ARGS.parts != PARTS:
        command += f" --parts {ARGS.parts}"
    record(ARGS, command, rows)


PARTS = "classifier,tagger,translator,generator"


if __name__ == "__main__":
    ARGS = parse_args(
        __doc__.splitlines()[0],
        quick=dict(action="store_true", help="small subsets: a dry run"),
        repeat=dict(type=int, default=5, help="timed runs of each way"),
        parts=dict(default=PARTS, help="which estimators, comma-separated"),
    )
    if ARGS.quick:
        ARGS.no_record = True
    main()
