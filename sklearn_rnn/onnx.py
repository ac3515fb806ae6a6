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

from . import _input, _schemes
from ._reader import reader_from_state

__all__ = ["OnnxModel", "viterbi"]

_PREFIX = "sklearn_rnn."
_FORMAT = 1
# Sequences per batch, as the estimators predict (sklearn_rnn._inference)
BATCH_SIZE = 256


class OnnxModel:
    """A model exported by :func:`sklearn_rnn.export_onnx`, served by onnxruntime.

    Parameters
    ----------
    path : str or path-like
        The ``.onnx`` file.
    batch_size : int, default=256
        Sequences per run of the graph; they are grouped by length, so padding
        costs little.
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
    task : {"classification", "regression", "tagging"}
    classes_ : ndarray or None
        The labels (classification and tagging).
    tag_scheme_ : str or None
        A tagger's chunk scheme.
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
        if self.metadata["format"] > _FORMAT:
            raise ValueError(
                f"{path} was written by a newer sklearn-rnn "
                f"({self.metadata['version']}) in a format this one cannot read"
            )
        self.batch_size = batch_size
        self.estimator = self.metadata["estimator"]
        self.reader = reader_from_state(self.metadata["reader"])
        tokenizer = self.metadata["tokenizer"]
        self._tokenize = (
            None if tokenizer is None else re.compile(tokenizer["pattern"]).findall
        )
        self._spelled = "spellings" in {i.name for i in self.session.get_inputs()}
        outputs = self.metadata["outputs"]
        self.task = outputs["task"]
        self.classes_ = np.asarray(outputs["classes"]) if "classes" in outputs else None
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
            self._scheme = None
            if self.tag_scheme_ is not None:
                self._scheme = _schemes.iobes_to_scheme_table(
                    outputs["tags"], self.tag_scheme_, outputs["classes"]
                )

    # ------------------------------------------------------------------ predicting

    def predict(self, X):
        """Labels (classification), targets (regression) or label lists (tagging),
        as the exported estimator's ``predict`` gives them.

        Parameters
        ----------
        X : list of str, list of token lists, array or list of arrays
            Inputs of the kind the estimator was fitted on.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs), or list of lists
        """
        if self.task == "tagging":
            return self._predict_tags(X)
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
        ``classes_``.

        Parameters
        ----------
        X : list of str, list of token lists, array or list of arrays

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        if self.task != "classification":
            raise AttributeError(
                f"predict_proba is for classifiers; this file holds a {self.estimator}"
            )
        logits = self._per_sequence(X).astype(np.float64)
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
        if self.task == "tagging":
            stacked = self._read(X)
            result = [None] * len(stacked.lengths)
            for index, lengths, scores in self._runs(stacked):
                for row, (i, n) in enumerate(zip(index, lengths, strict=True)):
                    result[i] = scores[row, :n]
            return result
        return self._per_sequence(X)

    # ------------------------------------------------------------------ the steps

    def _read(self, X):
        """``X`` encoded as the estimator encodes it (a Stacked)."""
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
        return self.reader.read(X, kind, tokenizer=self._tokenize)

    def _runs(self, stacked):
        """``(index, lengths, outputs)`` of each run of the graph: sequences of
        similar lengths together, ``index`` where they are in the input; up to
        ``n_threads`` runs at once."""
        order = np.argsort(-stacked.lengths, kind="stable")
        batches = [
            order[start : start + self.batch_size]
            for start in range(0, len(order), self.batch_size)
        ]

        def run(index):
            lengths = stacked.lengths[index]
            feeds = self._feeds(stacked.padded(index), lengths)
            return index, lengths, self.session.run(None, feeds)[0]

        if self.n_threads == 1 or len(batches) == 1:
            yield from map(run, batches)
            return
        with ThreadPoolExecutor(self.n_threads) as pool:
            yield from pool.map(run, batches)

    def _feeds(self, inputs, lengths):
        """The graph's inputs for a padded batch: a tagger that reads characters
        takes each distinct spelling once (see ``TaggerGraph``), cut to the batch's
        longest token."""
        feeds = {"inputs": inputs, "lengths": lengths}
        if not self._spelled:
            return feeds
        head = 1 + len(self.reader.feature_vocabularies)
        n, length, width = inputs.shape
        chars = np.ascontiguousarray(inputs[..., head:]).reshape(n * length, -1)
        # each row as one opaque value of its bytes, so that unique compares rows
        keys = chars.view(np.dtype((np.void, chars.itemsize * chars.shape[1])))
        _, first, inverse = np.unique(
            keys.ravel(), return_index=True, return_inverse=True
        )
        spellings = chars[first]
        used = max(1, int((spellings != 0).sum(axis=1).max()))
        feeds["inputs"] = np.ascontiguousarray(inputs[..., :head])
        feeds["spellings"] = np.ascontiguousarray(spellings[:, :used])
        feeds["spelling_index"] = inverse.reshape(n, length)
        return feeds

    def _per_sequence(self, X):
        stacked = self._read(X)
        result = None
        for index, _, outputs in self._runs(stacked):
            if result is None:
                result = np.empty(
                    (len(stacked.lengths),) + outputs.shape[1:], outputs.dtype
                )
            result[index] = outputs
        return result

    def _predict_tags(self, X):
        stacked = self._read(X)
        classes = self.classes_
        result = [None] * len(stacked.lengths)
        for index, lengths, scores in self._runs(stacked):
            paths = viterbi(scores, lengths, *self._potentials)
            for row, (i, n) in enumerate(zip(index, lengths, strict=True)):
                path = paths[row, :n]
                if self._scheme is not None:
                    path = _schemes.read_table(*self._scheme, path)
                result[i] = classes[path].tolist()
        return result


def viterbi(emissions, lengths, start, transitions, end):
    """The highest-scoring tag path of each sequence of a padded batch, in numpy.

    Parameters
    ----------
    emissions : ndarray of shape (N, L, K)
        Per-step tag scores, padded at the end.
    lengths : ndarray of shape (N,)
    start, end : ndarray of shape (K,)
        Scores of the first and the last tag (``-inf`` where not allowed).
    transitions : ndarray of shape (K, K)
        ``[i, j]``: score of tag ``j`` after tag ``i`` (``-inf`` where not allowed).

    Returns
    -------
    ndarray of shape (N, L), int64
        Tag indices, zero past each length.
    """
    n, total_length, k = emissions.shape
    rows = np.arange(n)
    score = start + emissions[:, 0]
    pointers = np.empty((max(total_length - 1, 0), n, k), dtype=np.int64)
    identity = np.arange(k)
    for t in range(1, total_length):
        candidates = score[:, :, None] + transitions  # (N, from, to)
        arg = candidates.argmax(axis=1)
        best = np.take_along_axis(candidates, arg[:, None, :], axis=1)[:, 0]
        live = (t < lengths)[:, None]
        # past a length the score is carried and the pointer points to itself, so
        # the last step reads each sequence's true last step (as LinearChainCRF)
        score = np.where(live, best + emissions[:, t], score)
        pointers[t - 1] = np.where(live, arg, identity)
    path = np.zeros((n, total_length), dtype=np.int64)
    last = (score + end).argmax(axis=1)
    path[:, -1] = last
    for t in range(total_length - 2, -1, -1):
        last = pointers[t][rows, last]
        path[:, t] = last
    steps = np.arange(total_length)
    path[steps[None, :] >= np.asarray(lengths)[:, None]] = 0
    return path
