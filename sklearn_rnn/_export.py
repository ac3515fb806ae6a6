"""Export a fitted estimator to one ONNX file: the network as a graph over padded
ragged batches, and what reading the input and decoding the outputs need as the file's
metadata. :class:`sklearn_rnn.onnx.OnnxModel` serves it without torch.
"""

import contextlib
import copy
import io
import json
import logging
import numbers
import os
import sys
import tempfile
import warnings

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from ._classifier import RNNClassifier
from ._ensemble import EnsembleTagger
from ._generator import CharLMGenerator
from ._input import BOUNDARY, N_STREAM_SPECIAL, TOKEN_PATTERN, UNK
from ._reader import reader_state
from ._regressor import RNNRegressor
from ._tagger import LSTMSequenceTagger
from ._translator import RNNTranslator
from ._version import __version__
from .nn import BOS, EOS, N_TARGET_SPECIAL, ManyToOneEnsembleNet, TaggerEnsembleNet
from .nn.export import (
    GeneratorGraph,
    ManyToOneEnsembleGraph,
    ManyToOneGraph,
    TaggerEnsembleGraph,
    TaggerGraph,
    TranslatorGraph,
)

# The ONNX operator set the graphs use (LSTM, GRU and RNN with sequence_lens)
OPSET = 17
# Metadata keys of an exported file; FORMAT changes when their meaning or the
# graph's inputs do (2: a tagger's characters are read apart, once per spelling)
PREFIX = "sklearn_rnn."
FORMAT = 2


def export_onnx(estimator, path, *, quantize=False):
    """Write a fitted estimator to ``path`` as one self-contained ONNX file.

    The file holds the network as a graph with a dynamic batch size and sequence
    length, correct on padded batches of sequences of any lengths in any order (no
    packing: masks, and the backward direction reads each sequence reversed within its
    length), and, as metadata, what reading the input and decoding the outputs need:
    the vocabularies (words, characters, token features), the channel
    standardisation, the tokenizer's pattern and the analyzer, the classes, the
    regression targets' scaling, the tag scheme and the CRF's scores and rules.
    :class:`sklearn_rnn.onnx.OnnxModel` predicts with it from the same inputs as the
    estimator, with numpy and onnxruntime only.

    The graph takes ``inputs`` (``(N, L)`` int64 symbols, ``(N, L, 1 + F)`` int64
    for a tagger's word and feature columns, or ``(N, L, C)`` float32 standardised
    channels; zero past each length) and ``lengths`` ``(N,)`` int64, and gives
    ``outputs``: ``(N, n_classes)`` logits, ``(N, n_outputs)`` scaled regression
    targets, or a tagger's per-step tag scores ``(N, L, n_tags)`` that the CRF
    decodes. A tagger that reads characters reads them apart, once per distinct
    spelling of its input: the graph also takes ``spelling_index`` ``(N, L)``, each
    token's row of ``char_features`` ``(S, C)``, and gives ``spelled``, the features
    ``(S', C)`` of the character indices ``spellings`` ``(S', W)`` (zero-padded),
    which a server computes first.

    A translator's graph has two independent parts that a server runs apart (see
    :class:`~sklearn_rnn.nn.export.TranslatorGraph`): the encoder, ``inputs`` and
    ``lengths`` to the decoder's ``initial_state`` and the memory attention reads
    (``memory_values``, ``memory_keys``, ``memory_mask``), and one decoder step,
    ``symbols``, ``state`` (, ``feed``) (, ``values``, ``keys``, ``mask``) to
    ``log_probs``, ``next_state`` (, ``next_feed``) (, ``attention``); the
    metadata holds its target symbols, how they join back, and its decoding
    settings, and :class:`~sklearn_rnn.onnx.OnnxModel` decodes greedily or by beam
    search in numpy. Its target symbols must be strings or ints.

    A generator's graph has two such parts too (see
    :class:`~sklearn_rnn.nn.export.GeneratorGraph`): reading prefixes, ``inputs``
    and ``lengths`` to ``prefix_state`` and ``prefix_logits``, and its one-step
    function, ``symbols`` and ``state`` to ``logits`` and ``next_state``; the
    metadata holds its characters.

    Parameters
    ----------
    estimator : RNNClassifier, RNNRegressor, LSTMSequenceTagger, EnsembleTagger, \
RNNTranslator or CharLMGenerator
        Fitted. A custom ``tokenizer`` (Python code) cannot be exported.
    path : str or path-like
        Where to write the ``.onnx`` file.
    quantize : bool, default=False
        Store the weights of the LSTM and linear layers as 8-bit integers
        (onnxruntime's dynamic quantization, which leaves GRU and plain RNN layers
        as they are; needs onnxruntime here): those weights take a quarter of the
        room, and the file predicts faster on CPUs with 8-bit dot products
        (``benchmarks/results.md``), with outputs that differ slightly from the
        estimator's, so that a few predictions may change.

    Returns
    -------
    str
        ``path``.

    Examples
    --------
    >>> import tempfile, os
    >>> from sklearn_rnn import RNNClassifier, export_onnx
    >>> X = ["good film", "bad film", "great fun", "awful plot"] * 5
    >>> y = ["pos", "neg", "pos", "neg"] * 5
    >>> clf = RNNClassifier(hidden_size=8, max_iter=5, random_state=0).fit(X, y)
    >>> path = export_onnx(clf, os.path.join(tempfile.mkdtemp(), "clf.onnx"))
    >>> os.path.getsize(path) > 0
    True
    """
    onnx = _import_onnx()
    graph, reader, outputs = _describe(estimator)
    tokenizer = None
    generator = outputs["task"] == "generation"
    if reader.family == "symbols" and not generator and reader.analyzer != "char":
        # the estimator's own token_pattern, which replaces the default one
        pattern = getattr(estimator, "token_pattern", None)
        if isinstance(estimator, EnsembleTagger):
            pattern = getattr(estimator.estimators_[0], "token_pattern", None)
        tokenizer = {"pattern": pattern or TOKEN_PATTERN.pattern}
    metadata = {
        "format": FORMAT,
        "estimator": type(estimator).__name__,
        "version": __version__,
        # a generator's characters are in its outputs
        "reader": None if generator else reader_state(reader),
        "tokenizer": tokenizer,
        "outputs": outputs,
    }
    buffer = io.BytesIO()
    inputs, names, output_names, axes = _signature(reader, graph, outputs["task"])
    with torch.no_grad(), warnings.catch_warnings(), _quiet_stderr():
        # the TorchScript exporter is deprecated in favour of torch.export, which
        # specialises the length here (and takes 20 times as long); it warns about
        # LSTM batch sizes, which the explicit initial states keep dynamic, and (in
        # C++, on the standard error) that packing has no shape inference, which the
        # ONNX recurrent operators that replace it do not need
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph,
            inputs,
            buffer,
            input_names=names,
            output_names=output_names,
            dynamic_axes={name: axes[name] for name in names + output_names},
            opset_version=OPSET,
            dynamo=False,
        )
    model = onnx.load_from_string(buffer.getvalue())
    model.producer_name = "sklearn-rnn"
    model.producer_version = __version__
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = PREFIX + key, json.dumps(value)
    if not quantize:
        onnx.save(model, os.fspath(path))
        return path
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:
        raise ImportError(
            "export_onnx(quantize=True) needs onnxruntime: pip install "
            "'sklearn-rnn[onnx]'"
        ) from exc
    with warnings.catch_warnings(), _quiet_logging():
        warnings.simplefilter("ignore")
        # the metadata goes along with the graph
        quantize_dynamic(
            model,
            os.fspath(path),
            op_types_to_quantize=["LSTM", "MatMul", "Gemm"],
            weight_type=QuantType.QInt8,
        )
    return path


@contextlib.contextmanager
def _quiet_stderr():
    """The process's standard error (file descriptor 2) silenced, where C++ code
    writes its warnings; shown after all when the block fails."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


@contextlib.contextmanager
def _quiet_logging():
    """onnxruntime's quantizer advises pre-processing through the root logger."""
    logger = logging.getLogger()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _import_onnx():
    try:
        import onnx
    except ImportError as exc:
        raise ImportError(
            "export_onnx needs the onnx package: pip install 'sklearn-rnn[onnx]'"
        ) from exc
    return onnx


def _describe(estimator):
    """``(graph module, reader, outputs metadata)`` of a fitted estimator."""
    name = type(estimator).__name__
    if not isinstance(
        estimator,
        RNNClassifier
        | RNNRegressor
        | LSTMSequenceTagger
        | EnsembleTagger
        | RNNTranslator
        | CharLMGenerator,
    ):
        raise TypeError(
            f"export_onnx exports RNNClassifier, RNNRegressor, LSTMSequenceTagger, "
            f"EnsembleTagger, RNNTranslator and CharLMGenerator; a {name} cannot be "
            "exported"
        )
    if isinstance(estimator, EnsembleTagger):
        check_is_fitted(estimator, "estimators_")
        first = estimator.estimators_[0]
        net = TaggerEnsembleNet([m.module_ for m in estimator.estimators_])
        graph = TaggerEnsembleGraph(copy.deepcopy(net).cpu().eval())
        return graph, first.reader_, _tagger_outputs(first, net.crf)
    check_is_fitted(estimator, "module_")
    reader = estimator.reader_
    tokenizer = getattr(estimator, "tokenizer", None)
    if (
        tokenizer is not None
        and reader.family == "symbols"
        and reader.analyzer != "char"
    ):
        raise ValueError(
            f"This {name} splits text with a custom tokenizer "
            f"({getattr(tokenizer, '__name__', type(tokenizer).__name__)}), Python "
            "code that an ONNX file cannot hold. Fit it on token lists instead "
            "(tokenise before calling fit and predict) to export it, or keep the "
            "default tokenizer."
        )
    module = copy.deepcopy(estimator.module_).cpu().eval()
    if isinstance(estimator, LSTMSequenceTagger):
        several = isinstance(module, TaggerEnsembleNet)
        graph = TaggerEnsembleGraph(module) if several else TaggerGraph(module)
        return graph, reader, _tagger_outputs(estimator, module.crf)
    if isinstance(estimator, RNNTranslator):
        return TranslatorGraph(module), reader, _translator_outputs(estimator)
    if isinstance(estimator, CharLMGenerator):
        outputs = {
            "task": "generation",
            "classes": estimator.classes_.tolist(),
            "num_layers": module.encoder.num_layers,
            "special_symbols": {
                "unknown": UNK,
                "boundary": BOUNDARY,
                "first_real": N_STREAM_SPECIAL,
            },
        }
        return GeneratorGraph(module), reader, outputs
    several = isinstance(module, ManyToOneEnsembleNet)
    readout = None
    if isinstance(estimator, RNNClassifier) and estimator.readout_ == "nearest":
        readout = estimator._nearest_readout().eval()
    graph_class = ManyToOneEnsembleGraph if several else ManyToOneGraph
    graph = graph_class(module, readout)
    if isinstance(estimator, RNNClassifier):
        return (
            graph,
            reader,
            {"task": "classification", "classes": estimator.classes_.tolist()},
        )
    return (
        graph,
        reader,
        {
            "task": "regression",
            "target_mean": np.asarray(estimator.target_mean_).tolist(),
            "target_scale": np.asarray(estimator.target_scale_).tolist(),
            "one_dimensional": bool(estimator._y_1d),
        },
    )


def _translator_outputs(translator):
    """What decoding a translator needs: its target symbols (in the order of their
    indices, from ``N_TARGET_SPECIAL``), how they join back, and its decoding
    settings as they are now (a server may change them)."""
    target = translator.target_reader_
    symbols = sorted(target.vocabulary, key=target.vocabulary.get)
    integral = all(
        isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in symbols
    )
    if integral:
        symbols = [int(s) for s in symbols]
    elif not all(isinstance(s, str) for s in symbols):
        kinds = sorted({type(s).__name__ for s in symbols})
        raise ValueError(
            "export_onnx needs target symbols that are all strings or all ints; "
            f"this RNNTranslator was fitted on symbols of the types {kinds}"
        )
    net = translator.module_
    return {
        "task": "translation",
        "target_symbols": symbols,
        "target_strings": bool(target.strings),
        "target_analyzer": target.analyzer,
        "beam_size": int(translator.beam_size),
        "length_penalty": float(translator.length_penalty),
        "max_output_length": int(
            translator.max_output_length or translator.max_output_length_
        ),
        "special_symbols": {"bos": BOS, "eos": EOS, "first_real": N_TARGET_SPECIAL},
        "attention": net.attention,
        "input_feeding": bool(net.input_feeding),
    }


def _tagger_outputs(tagger, crf):
    """What decoding a tagger's emissions needs: its labels, tags, scheme and CRF."""
    classes = tagger.classes_.tolist()
    if not all(isinstance(c, str) for c in classes) and not all(
        isinstance(c, int) for c in classes
    ):
        raise ValueError("export_onnx needs tag labels that are all strings or ints")
    potentials = {}
    for name in ("start", "transitions", "end"):
        potentials[name] = getattr(crf, name).detach().cpu().tolist()
        potentials[f"allowed_{name}"] = getattr(crf, f"allowed_{name}").cpu().tolist()
    return {
        "task": "tagging",
        "classes": classes,
        "tags": list(tagger.tags_),
        "tag_scheme": tagger.tag_scheme_,
        "crf": potentials,
    }


def _signature(reader, graph, task):
    """What tracing the graph takes: ``(example inputs, input names, output
    names, dynamic axes)``."""
    inputs = _example_inputs(reader, graph)
    steps = {0: "batch", 1: "steps"}
    axes = {"inputs": steps, "lengths": {0: "batch"}}
    if task == "generation":
        n_states = graph.net.encoder.num_layers * (
            2 if graph.net.encoder.cell == "lstm" else 1
        )
        size = graph.net.encoder.hidden_size
        inputs = (*inputs, torch.tensor([3, 4, 2]), torch.randn(n_states, 3, size))
        axes.update(
            symbols={0: "rows"},
            state={1: "rows"},
            prefix_state={1: "batch"},
            prefix_logits={0: "batch"},
            logits={0: "rows"},
            next_state={1: "rows"},
        )
        names = ["inputs", "lengths", "symbols", "state"]
        output_names = ["prefix_state", "prefix_logits", "logits", "next_state"]
        return inputs, names, output_names, axes
    if task == "translation":
        inputs, names, output_names = _translator_signature(graph, inputs)
        key_steps = 1 if graph.net.attention == "additive" else 2
        rows = {0: "rows"}
        axes.update(
            symbols=rows,
            state={1: "rows"},
            feed=rows,
            values={0: "rows", 1: "source_steps"},
            keys={0: "rows", key_steps: "source_steps"},
            mask={0: "rows", 2: "source_steps"},
            memory_values=steps,
            memory_keys={0: "batch", key_steps: "steps"},
            memory_mask={0: "batch", 2: "steps"},
            initial_state={1: "batch"},
            log_probs=rows,
            next_state={1: "rows"},
            next_feed=rows,
            attention={0: "rows", 1: "source_steps"},
        )
        return inputs, names, output_names, axes
    names = ["inputs", "lengths", "spelling_index", "char_features", "spellings"]
    names = names[: len(inputs)]
    output_names = ["outputs", "spelled"] if len(inputs) > 2 else ["outputs"]
    axes["spelling_index"] = steps
    axes["char_features"] = {0: "rows"}
    axes["spellings"] = {0: "spellings", 1: "width"}
    axes["spelled"] = {0: "spellings"}
    axes["outputs"] = steps if task == "tagging" else {0: "batch"}
    return inputs, names, output_names, axes


def _translator_signature(graph, inputs):
    """A translator's example inputs and the names of its graph's inputs and
    outputs (see :class:`~sklearn_rnn.nn.export.TranslatorGraph`): the encoder's
    batch of two, and a step of three rows over a memory of four steps."""
    net = graph.net
    rows, source, size = 3, 4, net.hidden_size
    n_states = (2 if net.cell == "lstm" else 1) * net.num_layers
    inputs = (*inputs, torch.tensor([2, 4, 5]), torch.randn(n_states, rows, size))
    names = ["inputs", "lengths", "symbols", "state"]
    output_names = ["initial_state", "log_probs", "next_state"]
    if net.input_feeding:
        inputs += (torch.randn(rows, size),)
        names.append("feed")
        output_names.append("next_feed")
    if net.attention is not None:
        keys = (rows, source, size) if net.attention == "additive" else None
        mask = torch.zeros(rows, 1, source)
        mask[1, 0, 3] = -float("inf")
        inputs += (
            torch.randn(rows, source, net.encoder.output_size),
            torch.randn(*(keys or (rows, size, source))),
            mask,
        )
        names += ["values", "keys", "mask"]
        output_names[:0] = ["memory_values", "memory_keys", "memory_mask"]
        output_names.append("attention")
    return inputs, names, output_names


def _example_inputs(reader, graph):
    """A padded batch of two sequences (lengths 3 and 2) to trace the graph with:
    ``(inputs, lengths)``, and a tagger's ``(spelling_index, char_features,
    spellings)`` when it reads characters (see
    :class:`~sklearn_rnn.nn.export.TaggerGraph`)."""
    lengths = torch.tensor([3, 2])
    if reader.family == "numeric":
        # the channels the network reads (with series_normalize, twice the input's)
        inputs = torch.randn(2, 3, reader.network_kwargs()["n_channels"])
        inputs[1, 2] = 0.0
        return inputs, lengths
    n_columns = 1 + len(getattr(reader, "feature_vocabularies", None) or ())
    chars = getattr(reader, "char_vocabulary", None) is not None
    shape = (2, 3) if n_columns == 1 and not chars else (2, 3, n_columns)
    inputs = torch.full(shape, 2, dtype=torch.int64)
    inputs[1, 2] = 0
    if not chars:
        return inputs, lengths
    members = getattr(graph, "members", [graph])
    width = sum(member.net.features.chars.output_size for member in members)
    spelling_index = torch.tensor([[1, 2, 3], [3, 1, 0]])
    char_features = torch.randn(4, width)
    char_features[0] = 0.0
    spellings = torch.tensor([[0, 0, 0], [2, 0, 0], [2, 2, 0], [2, 2, 2]])
    return inputs, lengths, spelling_index, char_features, spellings
