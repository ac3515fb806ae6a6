"""Serve an exported model with numpy and onnxruntime alone: no torch, no
scikit-learn.

:func:`sklearn_rnn.export_onnx` writes a fitted estimator to one ONNX file (the graph
and, as metadata, how to read inputs and decode outputs); :class:`OnnxModel` reads it
back and predicts from the same inputs as the estimator: raw strings, token lists or
numeric sequences of any lengths. Importing this module imports neither torch nor
the estimators, so a small service needs only ``pip install onnxruntime numpy`` besides
this package's pure-Python files.
"""

import json
import os
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import _decoding, _input, _schemes
from ._reader import reader_from_state

__all__ = ["OnnxModel", "viterbi"]

_PREFIX = "sklearn_rnn."
_FORMAT = 2
# Sequences per run of the graph: with 32 the recurrent layers' working set stays in
# the CPU's caches (the tagger of benchmarks/bench_serving.py ran testb 1.3 times
# as fast on one thread as with 256, the TREC-6 classifier 1.15 times as fast)
BATCH_SIZE = 32
# Distinct spellings per run of a tagger's character features
SPELLINGS_RUN = 2048
# Sequences decoded at once (the CRF's steps are numpy operations over all of them)
DECODE_CHUNK = 1024
# The score of a forbidden transition in the marginals, as LinearChainCRF's
FORBIDDEN = -1e4


class OnnxModel:
    """A model exported by :func:`sklearn_rnn.export_onnx`, served by onnxruntime.

    Parameters
    ----------
    path : str or path-like
        The ``.onnx`` file.
    batch_size : int, default=32
        Sequences per run of the graph; they are grouped by length, so padding
        costs little, and small runs keep the recurrent layers in the CPU's caches.
    providers : list of str, default=None
        onnxruntime's execution providers; ``None`` runs on the CPU.
    n_threads : int, default=None
        How many batches run at once, each on one thread (onnxruntime releases
        Python's lock while it runs): the recurrent layers are a chain of small
        steps that one thread runs best, so batches side by side use the cores better
        than threads inside one batch. ``None`` means one per CPU core.
    sess_options : onnxruntime.SessionOptions, default=None
        onnxruntime's settings; ``None`` means one thread per run (see
        ``n_threads``) and onnxruntime's graph optimisations.

    Attributes
    ----------
    estimator : str
        The class of the exported estimator (``"RNNClassifier"``, ...).
    task : {"classification", "regression", "tagging", "translation", "generation"}
    classes_ : ndarray or None
        The labels (classification and tagging), or a generator's characters.
    tag_scheme_ : str or None
        A tagger's chunk scheme.
    beam_size, length_penalty, max_output_length : int, float, int
        A translator's decoding settings, the estimator's at export (its
        ``max_output_length_`` when ``max_output_length`` is ``None``); set them to
        decode otherwise, as on the estimator.
    metadata : dict
        All that the file's metadata holds (vocabularies, standardisation, ...).
    session : onnxruntime.InferenceSession

    Examples
    --------
    >>> import tempfile, os
    >>> from sklearn_rnn import RNNClassifier, export_onnx
    >>> from sklearn_rnn.onnx import OnnxModel
    >>> X = ["good film", "bad film", "great fun", "awful plot"] * 5
    >>> y = ["pos", "neg", "pos", "neg"] * 5
    >>> clf = RNNClassifier(hidden_size=8, max_iter=30, random_state=0).fit(X, y)
    >>> path = export_onnx(clf, os.path.join(tempfile.mkdtemp(), "clf.onnx"))
    >>> served = OnnxModel(path)
    >>> served.predict(["good fun", "awful film"]).tolist() == clf.predict(
    ...     ["good fun", "awful film"]).tolist()
    True
    """

    def __init__(
        self,
        path,
        *,
        batch_size=BATCH_SIZE,
        n_threads=None,
        providers=None,
        sess_options=None,
    ):
        try:
            import onnxruntime
        except ImportError as exc:
            raise ImportError(
                "OnnxModel needs onnxruntime: pip install 'sklearn-rnn[onnx]'"
            ) from exc
        self.n_threads = n_threads or os.cpu_count() or 1
        if sess_options is None:
            sess_options = onnxruntime.SessionOptions()
            sess_options.intra_op_num_threads = 1
            sess_options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            str(path), sess_options, providers=providers or ["CPUExecutionProvider"]
        )
        raw = self.session.get_modelmeta().custom_metadata_map
        if _PREFIX + "format" not in raw:
            raise ValueError(
                f"{path} holds no sklearn-rnn metadata: it was not written by "
                "sklearn_rnn.export_onnx"
            )
        self.metadata = {
            key[len(_PREFIX) :]: json.loads(value)
            for key, value in raw.items()
            if key.startswith(_PREFIX)
        }
        if self.metadata["format"] != _FORMAT:
            newer = self.metadata["format"] > _FORMAT
            raise ValueError(
                f"{path} was written by {'a newer' if newer else 'an earlier'} "
                f"sklearn-rnn ({self.metadata['version']}) in a format this one "
                f"cannot read{'' if newer else ': export the estimator again'}"
            )
        self.batch_size = batch_size
        self.estimator = self.metadata["estimator"]
        reader = self.metadata["reader"]
        self.reader = None if reader is None else reader_from_state(reader)
        tokenizer = self.metadata["tokenizer"]
        self._tokenize = (
            None if tokenizer is None else re.compile(tokenizer["pattern"]).findall
        )
        inputs = {i.name: i for i in self.session.get_inputs()}
        self._placeholders = None
        if "char_features" in inputs:  # a network that reads characters
            head = 1 + len(self.reader.feature_vocabularies)
            # what the part of the graph that is not asked for takes meanwhile
            self._placeholders = {
                "inputs": np.zeros((1, 1, head), dtype=np.int64),
                "lengths": np.ones(1, dtype=np.int64),
                "spelling_index": np.zeros((1, 1), dtype=np.int64),
                "char_features": np.zeros(
                    (1, inputs["char_features"].shape[1]), dtype=np.float32
                ),
                "spellings": np.zeros((1, 1), dtype=np.int64),
            }
        outputs = self.metadata["outputs"]
        self.task = outputs["task"]
        if self.task in ("translation", "generation"):
            self._placeholders = _placeholders(inputs)
            self._step_session, self._step_feeds = self._step_part(
                path, sess_options, providers
            )
        if self.task == "translation":
            self._start_translating(outputs)
        self.classes_ = np.asarray(outputs["classes"]) if "classes" in outputs else None
        if self.task == "generation":  # a str dtype would drop a trailing "\x00"
            self.classes_ = np.array(outputs["classes"], dtype=object)
        self.tag_scheme_ = outputs.get("tag_scheme")
        if self.task == "tagging":
            crf = outputs["crf"]
            self._potentials = tuple(
                np.where(
                    np.asarray(crf[f"allowed_{name}"], dtype=bool),
                    np.asarray(crf[name], dtype=np.float32),
                    np.float32(-np.inf),
                )
                for name in ("start", "transitions", "end")
            )
            # the marginals as the estimator computes them: forbidden at a finite
            # score, in float64
            self._forbidding = tuple(
                np.where(
                    np.asarray(crf[f"allowed_{name}"], dtype=bool),
                    np.asarray(crf[name], dtype=np.float64),
                    FORBIDDEN,
                )
                for name in ("start", "transitions", "end")
            )
            self._scheme = self._onehot = None
            if self.tag_scheme_ is not None:
                self._scheme = _schemes.iobes_to_scheme_table(
                    outputs["tags"], self.tag_scheme_, outputs["classes"]
                )
                context, table = self._scheme
                onehot = _schemes.table_onehot(table, len(self.classes_))
                self._onehot = (context, onehot)

    def _step_part(self, path, sess_options, providers):
        """The session that runs the one-step part of a translator's or a
        generator's graph, and what it takes besides the step's inputs.

        onnxruntime runs every node of a graph whatever outputs are asked for, so
        that each step would also run the encoder (on placeholders of one row):
        with the onnx package the step part is cut out as a graph of its own (a
        translator's steps then take about two thirds of the time); without it,
        the whole graph serves."""
        encoder = ("inputs", "lengths")
        inputs = [i.name for i in self.session.get_inputs() if i.name not in encoder]
        outputs = [
            o.name
            for o in self.session.get_outputs()
            if not o.name.startswith(("memory_", "initial_", "prefix_"))
        ]
        try:
            import onnx
            from onnx.utils import Extractor

            model = Extractor(onnx.load(str(path))).extract_model(inputs, outputs)
            session = type(self.session)(
                model.SerializeToString(),
                sess_options,
                providers=providers or ["CPUExecutionProvider"],
            )
        except Exception:  # no onnx, or one that cannot cut this graph
            return self.session, {name: self._placeholders[name] for name in encoder}
        return session, {}

    def _start_translating(self, outputs):
        """A translator's decoding settings, the symbols it writes, and what
        each step asks for (see :class:`sklearn_rnn.nn.export.TranslatorGraph`)."""
        self.beam_size = outputs["beam_size"]
        self.length_penalty = outputs["length_penalty"]
        self.max_output_length = outputs["max_output_length"]
        self._special = outputs["special_symbols"]
        self._target = np.empty(
            self._special["first_real"] + len(outputs["target_symbols"]), object
        )
        self._target[self._special["first_real"] :] = outputs["target_symbols"]
        attention = ["memory_values", "memory_keys", "memory_mask"]
        self._encoded = (attention if outputs["attention"] else []) + ["initial_state"]
        self._stepped = ["log_probs", "next_state"]
        self._stepped += ["next_feed"] if outputs["input_feeding"] else []

    # ------------------------------------------------------------------ predicting

    def predict(self, X):
        """Labels (classification), targets (regression), label lists (tagging) or
        target strings or token lists (translation), as the exported estimator's
        ``predict`` gives them.

        Parameters
        ----------
        X : list of str, list of token lists, array or list of arrays
            Inputs of the kind the estimator was fitted on.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs), or list of lists
        (tagging), or list of str or list of lists (translation)
        """
        if self.task == "tagging":
            return self._predict_tags(X)
        if self.task == "translation":
            return self._translate(X)
        if self.task == "generation":
            return self.classes_[self._next_logits(X).argmax(axis=1)]
        outputs = self._per_sequence(X)
        if self.task == "classification":
            return self.classes_[np.argmax(outputs, axis=1)]
        targets = self.metadata["outputs"]
        mean = np.asarray(targets["target_mean"])
        scale = np.asarray(targets["target_scale"])
        with np.errstate(over="ignore"):  # beyond the float range is infinite
            y = outputs.astype(np.float64) * scale + mean
        return y.ravel() if targets["one_dimensional"] else y

    def predict_proba(self, X):
        """Class probabilities of a classifier, columns in the order of
        ``classes_``; a tagger's per-token label marginals; a generator's
        probabilities of each character coming next.

        A tagger's marginals are its CRF's (forward-backward over the whole
        sentence, in float64), counting only tag sequences that follow its tag
        scheme, as ``LSTMSequenceTagger.predict_proba`` computes them.

        Parameters
        ----------
        X : list of str, list of token lists, array or list of arrays

        Returns
        -------
        ndarray of shape (n_samples, n_classes), or (tagging) list of ndarray of
        shape (n_tokens_i, n_classes)
        """
        if self.task == "tagging":
            return self._tag_probabilities(X)
        if self.task == "generation":
            logits = self._next_logits(X)
        elif self.task == "classification":
            logits = self._per_sequence(X).astype(np.float64)
        else:
            raise AttributeError(
                f"predict_proba is for classifiers, taggers and generators; this file "
                f"holds a {self.estimator}"
            )
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        return logits / logits.sum(axis=1, keepdims=True)

    def decision_function(self, X):
        """The graph's outputs: logits of a classifier, or a tagger's per-token tag
        scores (one array ``(n_tokens_i, n_tags)`` per sequence).

        Parameters
        ----------
        X : list of str, list of token lists, array or list of arrays

        Returns
        -------
        ndarray of shape (n_samples, n_outputs), or list of ndarray
        """
        if self.task in ("translation", "generation"):
            raise AttributeError(
                "decision_function is for classifiers, regressors and taggers; this "
                f"file holds a {self.estimator}"
            )
        if self.task == "tagging":
            stacked, shared = self._read(X)
            result = [None] * len(stacked.lengths)
            for index, lengths, scores in self._runs(stacked, shared):
                for row, (i, n) in enumerate(zip(index, lengths, strict=True)):
                    result[i] = scores[row, :n]
            return result
        return self._per_sequence(X)

    # ------------------------------------------------------------------ the steps

    def _read(self, X):
        """``X`` encoded as the estimator encodes it (a Stacked), and the feeds that
        every run of the graph shares (a tagger's character features)."""
        X = _input.as_samples(X)
        kind = _input.sniff_kind(X)
        if kind == "table":
            X = np.asarray(X)
            if X.ndim != 2 or X.dtype.kind not in "biuf":
                raise ValueError(
                    f"Expected a 2-D numeric table or sequences, got an array of "
                    f"shape {X.shape} and dtype {X.dtype}"
                )
            X, kind = X[:, :, None], "array3d"
        # a classifier's or a tagger's characters, read apart
        spelled = kind in ("tokens", "text") and self.task not in (
            "translation",
            "generation",
        )
        if self._placeholders is None or not spelled:
            return self.reader.read(X, kind, tokenizer=self._tokenize), {}
        stacked, spellings = self.reader.read(
            X, kind, tokenizer=self._tokenize, spelled=True
        )
        shared = {
            "char_features": self._char_features(spellings),
            "spellings": self._placeholders["spellings"],
        }
        return stacked, shared

    def _char_features(self, spellings):
        """The character features of each distinct spelling ``(S, W)``, after a
        zero row for padding: ``(1 + S, C)``, computed by the graph's ``spelled``
        part in runs of spellings of similar lengths, each cut to its longest."""
        lengths = (spellings != 0).sum(axis=1)
        order = np.argsort(lengths, kind="stable")
        runs = [
            order[start : start + SPELLINGS_RUN]
            for start in range(0, len(order), SPELLINGS_RUN)
        ]

        def run(rows):
            width = max(1, int(lengths[rows[-1]]))
            feeds = dict(self._placeholders)
            feeds["spellings"] = np.ascontiguousarray(spellings[rows, :width])
            return rows, self.session.run(["spelled"], feeds)[0]

        width = self._placeholders["char_features"].shape[1]
        features = np.zeros((1 + len(spellings), width), dtype=np.float32)
        for rows, spelled in self._parallel(run, runs):
            features[rows + 1] = spelled
        return features

    def _parallel(self, function, items):
        """``map(function, items)``, up to ``n_threads`` at once."""
        if self.n_threads == 1 or len(items) <= 1:
            yield from map(function, items)
            return
        with ThreadPoolExecutor(self.n_threads) as pool:
            yield from pool.map(function, items)

    # ------------------------------------------------------------------ generators

    def _prefixes(self, documents):
        """The state after each string ``(Z, N, H)`` (read from a document's
        beginning) and the logits ``(N, V)`` of the symbol after it."""
        if isinstance(documents, str) or not all(isinstance(d, str) for d in documents):
            raise TypeError("X must be a list of strings (one prefix each)")
        classes = self.metadata["outputs"]["classes"]
        boundary = self.metadata["outputs"]["special_symbols"]["boundary"]
        encoded = [
            np.r_[boundary, _input.encode_characters(d, classes)] for d in documents
        ]
        stacked = _input.Stacked.of_steps(
            np.concatenate(encoded), [len(e) for e in encoded]
        )
        state = logits = None
        for index in self._batches(stacked):
            feeds = dict(self._placeholders)
            feeds.update(inputs=stacked.padded(index), lengths=stacked.lengths[index])
            rows, row_logits = self.session.run(
                ["prefix_state", "prefix_logits"], feeds
            )
            if state is None:
                state = np.empty((len(rows), len(encoded), rows.shape[2]), rows.dtype)
                logits = np.empty((len(encoded), row_logits.shape[1]), rows.dtype)
            state[:, index], logits[index] = rows, row_logits
        return state, logits

    def _next_logits(self, X):
        """A generator's logits ``(N, n_classes)`` of the character after each
        string, float64."""
        first = self.metadata["outputs"]["special_symbols"]["first_real"]
        return self._prefixes(X)[1][:, first:].astype(np.float64)

    def transform(self, X):
        """A generator's final hidden state of the top layer after each string, as
        ``CharLMGenerator.transform`` gives it.

        Parameters
        ----------
        X : list of str

        Returns
        -------
        ndarray of shape (n_samples, hidden_size)
        """
        if self.task != "generation":
            raise AttributeError(
                f"transform is for generators; this file holds a {self.estimator}"
            )
        state, _ = self._prefixes(X)
        return state[self.metadata["outputs"]["num_layers"] - 1]

    def generate(
        self,
        n_chars=200,
        prompt="",
        *,
        temperature=1.0,
        top_k=None,
        top_p=None,
        n_samples=None,
        stop_at_end=True,
        random_state=None,
    ):
        """Write text as ``CharLMGenerator.generate`` does: each character drawn
        is fed back to draw the next.

        The draws come from numpy's random generator, not torch's: with a
        ``temperature`` above 0 the texts follow the same distribution as the
        estimator's but are not the same texts for the same ``random_state``; with
        ``temperature=0`` (the most likely character each time) they are the same.

        Parameters
        ----------
        n_chars, prompt, temperature, top_k, top_p, n_samples, stop_at_end
            As in ``CharLMGenerator.generate``.
        random_state : int, numpy.random.Generator or None, default=None
            Seeds the draws.

        Returns
        -------
        text : str, or list of str when ``n_samples`` is an int
        """
        if self.task != "generation":
            raise AttributeError(
                f"generate is for generators; this file holds a {self.estimator}"
            )
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be a str, got {type(prompt).__name__}")
        for name, value, low in (("n_chars", n_chars, 0), ("n_samples", n_samples, 1)):
            if value is not None and (not isinstance(value, int) or value < low):
                raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature!r}")
        special = self.metadata["outputs"]["special_symbols"]
        stop = special["boundary"] if stop_at_end else None
        banned = [0, special["unknown"]] + (
            [] if stop_at_end else [special["boundary"]]
        )
        state, logits = self._prefixes([prompt])
        n = 1 if n_samples is None else n_samples
        state, logits = np.repeat(state, n, axis=1), np.repeat(logits, n, axis=0)

        def step(symbols, state):
            feeds = dict(self._step_feeds, symbols=symbols, state=state)
            return self._step_session.run(["logits", "next_state"], feeds)

        symbols = _decoding.sample(
            step,
            state,
            logits,
            n_chars,
            np.random.default_rng(random_state),
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            banned=banned,
            stop=stop,
        )
        classes = self.metadata["outputs"]["classes"]
        texts = [_input.decode_characters(row, classes) for row in symbols]
        return texts[0] if n_samples is None else texts

    def _batches(self, stacked):
        """The rows of each run of the graph: sequences of similar lengths
        together, longest first."""
        order = np.argsort(-stacked.lengths, kind="stable")
        return [
            order[start : start + self.batch_size]
            for start in range(0, len(order), self.batch_size)
        ]

    def _runs(self, stacked, shared):
        """``(index, lengths, outputs)`` of each run of the graph: sequences of
        similar lengths together, ``index`` where they are in the input; up to
        ``n_threads`` runs at once."""

        def run(index):
            feeds = self._feeds(stacked, index, shared)
            return index, feeds["lengths"], self.session.run(["outputs"], feeds)[0]

        yield from self._parallel(run, self._batches(stacked))

    def _translate(self, X, with_attention=False):
        """A translator's predictions (and the attention behind each of their
        symbols): each run of sequences encoded, then decoded greedily or by beam
        search, the decoder's steps run one by one."""
        stacked, _ = self._read(X)
        special = self._special
        decode = _decoding.greedy if self.beam_size == 1 else _decoding.beam_search
        settings = () if self.beam_size == 1 else (self.beam_size, self.length_penalty)
        attention = len(self._encoded) > 1
        feeding = "next_feed" in self._stepped
        wanted = self._stepped + (["attention"] if attention and with_attention else [])

        def step(symbols, state, feed, memory):
            feeds = dict(self._step_feeds, symbols=symbols, state=state)
            if feeding:
                feeds["feed"] = feed
            if attention:
                feeds.update(zip(("values", "keys", "mask"), memory, strict=True))
            out = self._step_session.run(wanted, feeds)
            weights = out[-1] if len(wanted) > len(self._stepped) else None
            return out[0], out[1], out[2] if feeding else None, weights

        def run(index):
            feeds = dict(self._placeholders)
            feeds.update(inputs=stacked.padded(index), lengths=stacked.lengths[index])
            *memory, state = self.session.run(self._encoded, feeds)
            n, size = state.shape[1:]
            feed = np.zeros((n, size), np.float32) if feeding else None
            weights = None
            if with_attention:
                source = stacked.lengths[index].max()
                weights = np.zeros((n, self.max_output_length, source), np.float32)
            symbols, lengths, _ = decode(
                step,
                state,
                feed,
                tuple(memory) if attention else None,
                self.max_output_length,
                *settings,
                bos=special["bos"],
                eos=special["eos"],
                attention=weights,
            )
            return index, symbols, lengths, weights

        predictions = [None] * len(stacked.lengths)
        weights = [None] * len(stacked.lengths)
        first = special["first_real"]
        joiner = None
        if self.metadata["outputs"]["target_strings"]:
            char = self.metadata["outputs"]["target_analyzer"] == "char"
            joiner = "" if char else " "
        for index, symbols, lengths, attended in self._parallel(
            run, self._batches(stacked)
        ):
            for row, (i, n) in enumerate(zip(index, lengths, strict=True)):
                written = symbols[row, :n]
                tokens = self._target[written[written >= first]].tolist()
                predictions[i] = tokens if joiner is None else joiner.join(tokens)
                if attended is not None:
                    weights[i] = attended[row, :n, : stacked.lengths[i]]
        return (predictions, weights) if with_attention else predictions

    def predict_with_attention(self, X):
        """A translator's predictions and the attention behind each of their
        symbols, as ``RNNTranslator.predict_with_attention`` gives them.

        Parameters
        ----------
        X : list of str, list of token lists, or list of arrays
            Sources of the kind the translator was fitted on.

        Returns
        -------
        predictions : list of str or list of lists
        attention : list of ndarray of shape (n_output_symbols_i, n_source_steps_i)
        """
        if self.task != "translation":
            raise AttributeError(
                f"predict_with_attention is for translators; this file holds a "
                f"{self.estimator}"
            )
        return self._translate(X, with_attention=True)

    @staticmethod
    def _feeds(stacked, index, shared):
        """The graph's inputs for the sequences at ``index``, padded."""
        feeds = {"inputs": stacked.padded(index), "lengths": stacked.lengths[index]}
        if shared:  # the last column is each token's row of char_features
            inputs = feeds["inputs"]
            feeds["inputs"] = np.ascontiguousarray(inputs[..., :-1])
            feeds["spelling_index"] = np.ascontiguousarray(inputs[..., -1])
            feeds.update(shared)
        return feeds

    def _per_sequence(self, X):
        stacked, shared = self._read(X)
        result = None
        for index, _, outputs in self._runs(stacked, shared):
            if result is None:
                result = np.empty(
                    (len(stacked.lengths),) + outputs.shape[1:], outputs.dtype
                )
            result[index] = outputs
        return result

    def _sorted_chunks(self, stacked, shared):
        """``(index, lengths, emissions)`` of about ``DECODE_CHUNK`` sequences at a
        time, longest first: the graph's runs joined (each padded to the chunk's
        longest), so that decoding steps through many sequences at once; ``index``
        says where they are in the input."""
        pending = []

        def joined():
            index = np.concatenate([i for i, _, _ in pending])
            lengths = stacked.lengths[index]
            first = pending[0][2]
            emissions = np.zeros(
                (len(index), first.shape[1], first.shape[2]), first.dtype
            )
            row = 0
            for i, _, scores in pending:
                emissions[row : row + len(i), : scores.shape[1]] = scores
                row += len(i)
            pending.clear()
            return index, lengths, emissions

        for run in self._runs(stacked, shared):
            pending.append(run)
            if sum(len(i) for i, _, _ in pending) >= DECODE_CHUNK:
                yield joined()
        if pending:
            yield joined()

    def _predict_tags(self, X):
        stacked, shared = self._read(X)
        result = [None] * len(stacked.lengths)
        for index, lengths, emissions in self._sorted_chunks(stacked, shared):
            paths = _viterbi_sorted(emissions, lengths, *self._potentials)
            flat = paths[np.arange(paths.shape[1]) < lengths[:, None]]
            if self._scheme is not None:
                flat = _schemes.read_table(*self._scheme, flat, lengths)
            labels = self.classes_[flat].tolist()
            start = 0
            for i, n in zip(index.tolist(), lengths.tolist(), strict=True):
                result[i] = labels[start : start + n]
                start += n
        return result

    def _tag_probabilities(self, X):
        if self.estimator == "EnsembleTagger":
            raise AttributeError(
                "predict_proba of an exported EnsembleTagger is not available: its "
                "marginals are the mean of its members' marginals, and the file holds "
                "only their mean scores"
            )
        stacked, shared = self._read(X)
        result = [None] * len(stacked.lengths)
        for index, lengths, emissions in self._sorted_chunks(stacked, shared):
            probabilities = _marginals_sorted(
                emissions, lengths, self._forbidding, self._onehot
            )
            for row, (i, n) in enumerate(zip(index, lengths, strict=True)):
                result[i] = probabilities[row, :n]
        return result


def _placeholders(inputs):
    """Zeros of the graph's inputs, one row and one step where the size is free
    (each length 1): what a run of one part of a graph of two feeds the other."""
    types = {"tensor(int64)": np.int64, "tensor(float)": np.float32}
    placeholders = {
        name: np.zeros([d if isinstance(d, int) else 1 for d in i.shape], types[i.type])
        for name, i in inputs.items()
    }
    placeholders["lengths"][:] = 1
    return placeholders


def _alive(lengths, total_length):
    """How many of the sequences (lengths in decreasing order) are longer than
    each step ``t``: those that step ``t`` reads are the first ``alive[t]``."""
    return np.searchsorted(-lengths, -np.arange(total_length), side="left")


def viterbi(emissions, lengths, start, transitions, end):
    """The highest-scoring tag path of each sequence of a padded batch, in numpy.

    Parameters
    ----------
    emissions : ndarray of shape (N, L, K)
        Per-step tag scores, padded at the end.
    lengths : ndarray of shape (N,)
        In any order, each at least 1.
    start, end : ndarray of shape (K,)
        Scores of the first and the last tag (``-inf`` where not allowed).
    transitions : ndarray of shape (K, K)
        ``[i, j]``: score of tag ``j`` after tag ``i`` (``-inf`` where not allowed).

    Returns
    -------
    ndarray of shape (N, L), int64
        Tag indices, zero past each length.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    order = np.argsort(-lengths, kind="stable")
    path = np.empty(emissions.shape[:2], dtype=np.int64)
    path[order] = _viterbi_sorted(
        emissions[order], lengths[order], start, transitions, end
    )
    return path


def _viterbi_sorted(emissions, lengths, start, transitions, end):
    """:func:`viterbi` of sequences in decreasing order of length: step ``t`` reads
    the first ``alive[t]`` of them only, so one pass of numpy operations per step
    serves any number of sequences with no padding (what a sequence scored at its
    last step stays in ``score`` for the end)."""
    n, total_length, k = emissions.shape
    alive = _alive(lengths, total_length)
    score = start + emissions[:, 0]
    pointers = [None]
    for t in range(1, total_length):
        m = alive[t]
        candidates = score[:m, :, None] + transitions  # (m, from, to)
        arg = candidates.argmax(axis=1)
        pointers.append(arg)
        best = np.take_along_axis(candidates, arg[:, None, :], axis=1)[:, 0]
        score[:m] = best + emissions[:m, t]
    path = np.zeros((n, total_length), dtype=np.int64)
    tag = (score + end).argmax(axis=1)
    for t in range(total_length - 1, -1, -1):
        m = alive[t]  # the sequences that end at t start from their best last tag
        path[:m, t] = tag[:m]
        if t > 0:
            tag[:m] = pointers[t][np.arange(m), tag[:m]]
    return path


def _logsumexp(values, axis):
    top = values.max(axis=axis, keepdims=True)
    return np.log(np.exp(values - top).sum(axis=axis)) + np.squeeze(top, axis)


def _marginals_sorted(emissions, lengths, potentials, onehot):
    """Per-step label probabilities ``(N, L, C)`` (zero past each length) of
    sequences in decreasing order of length, by forward-backward in float64 as
    ``LinearChainCRF.marginals`` computes them, then read through the tag scheme as
    ``LSTMSequenceTagger.predict_proba`` reads them.

    ``potentials`` are the CRF's ``(start, transitions, end)`` with its forbidden
    entries at its finite ``FORBIDDEN`` score; ``onehot`` is ``None`` (the labels
    are the tags) or ``(context, table)`` with ``table[c + 1, i, label]`` one where
    tag ``i`` reads as ``label`` beside the context tag ``c`` (``-1`` a boundary).
    """
    start, transitions, end = potentials
    emissions = emissions.astype(np.float64)
    n, total_length, k = emissions.shape
    alive = _alive(lengths, total_length)
    alpha = np.zeros((n, total_length, k))
    alpha[:, 0] = start + emissions[:, 0]
    for t in range(1, total_length):
        m = alive[t]
        step = _logsumexp(alpha[:m, t - 1, :, None] + transitions, axis=1)
        alpha[:m, t] = step + emissions[:m, t]
    rows = np.arange(n)
    log_z = _logsumexp(alpha[rows, lengths - 1] + end, axis=1)
    beta = np.zeros((n, total_length, k))
    beta[rows, lengths - 1] = end
    context, table = onehot if onehot is not None else (None, None)
    labels = k if table is None else table.shape[2]
    probabilities = np.zeros((n, total_length, labels))
    for t in range(total_length - 2, -1, -1):
        m = alive[t + 1]  # the sequences that go on after t
        after = emissions[:m, t + 1] + beta[:m, t + 1]  # (m, K)
        beta[:m, t] = _logsumexp(transitions + after[:, None, :], axis=2)
        if context is None:
            continue
        pair = np.exp(
            alpha[:m, t, :, None]
            + transitions
            + after[:, None, :]
            - log_z[:m, None, None]
        )  # p(y_t = i, y_t+1 = j)
        if context == "prev":  # the label at t + 1 reads the tag before it
            probabilities[:m, t + 1] = np.einsum("nij,ijc->nc", pair, table[1:])
        else:  # the label at t reads the tag after it
            probabilities[:m, t] = np.einsum("nij,jic->nc", pair, table[1:])
    unary = np.exp(alpha + beta - log_z[:, None, None])
    unary[np.arange(total_length) >= lengths[:, None]] = 0.0
    if table is None:
        return unary
    alone = unary @ table[0]  # each tag read without context (or at a boundary)
    if context is None:
        return alone
    # the first step (IOB1) or each sequence's last step (IOE1) read alone
    inside = np.zeros(alone.shape[:2], dtype=bool)
    if context == "prev":
        inside[:, 1:] = True
    else:
        inside[:, :-1] = True
        inside[rows, lengths - 1] = False
    return np.where(inside[:, :, None], probabilities, alone)
