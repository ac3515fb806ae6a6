"""Metrics for tagged sequences: entity-level precision, recall and F1, a report per
entity type, flat token accuracy; for output sequences of their own lengths (spelling
to pronunciation, transliteration, translation): exact-match accuracy and the token
error rate; and scorers for ``GridSearchCV`` and ``cross_val_score``.

For the tagging metrics, ``y_true`` and ``y_pred`` are lists of tag lists of the same
lengths, as :class:`~sklearn_rnn.LSTMSequenceTagger` takes and returns them. An entity
(chunk) counts as found only when its type, first and last token all match.

The default mode reads chunks the way the CoNLL shared tasks' ``conlleval`` script does
(and ``seqeval``'s default mode): any mix of ``B``, ``I``, ``E``, ``S`` prefixes, which
also reads IOB1 tags and predictions that break their scheme. ``mode="strict"`` follows
a named scheme and counts only well-formed chunks, as ``seqeval``'s strict mode does.
"""

import warnings
from collections import Counter

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import classification_report, make_scorer

from . import _schemes

__all__ = [
    "edit_distance",
    "entity_classification_report",
    "entity_f1_score",
    "entity_f1_scorer",
    "entity_precision_recall_fscore_support",
    "entity_precision_score",
    "entity_recall_score",
    "sequence_accuracy_score",
    "sequence_accuracy_scorer",
    "token_accuracy_score",
    "token_accuracy_scorer",
    "token_classification_report",
    "token_error_rate",
    "token_error_rate_scorer",
]

_AVERAGES = (None, "micro", "macro", "weighted")


def _check_sequences(y_true, y_pred):
    if isinstance(y_true, str) or isinstance(y_pred, str):
        raise TypeError("y_true and y_pred must be lists of tag lists, not strings")
    y_true, y_pred = list(y_true), list(y_pred)
    if len(y_true) != len(y_pred):
        raise ValueError(
            f"y_true has {len(y_true)} sequences but y_pred has {len(y_pred)}"
        )
    for i, (a, b) in enumerate(zip(y_true, y_pred, strict=True)):
        for name, seq in (("y_true", a), ("y_pred", b)):
            if isinstance(seq, str) or not hasattr(seq, "__len__"):
                raise TypeError(
                    f"Sample {i} of {name} is a {type(seq).__name__}: expected a list "
                    "of tags"
                )
        if len(a) != len(b):
            raise ValueError(
                f"Sample {i} has {len(a)} tags in y_true but {len(b)} in y_pred"
            )
    return y_true, y_pred


def _entities(sequences, mode, scheme, name):
    found = set()
    for i, sequence in enumerate(sequences):
        try:
            chunks = _schemes.chunks(list(sequence), mode, scheme)
        except ValueError as exc:
            raise ValueError(f"Sample {i} of {name}: {exc}") from None
        found.update((i, *chunk) for chunk in chunks)
    return found


def _count(y_true, y_pred, mode, scheme):
    if mode not in ("default", "strict"):
        raise ValueError(f"mode must be 'default' or 'strict', got {mode!r}")
    if mode == "default":
        if scheme is not None:
            raise ValueError(
                "scheme is only read in mode='strict'; the default mode reads every "
                "scheme the way conlleval does"
            )
    elif scheme is None:
        scheme = _schemes.detect_scheme(y_true, what="y_true")
        if scheme is None:
            raise ValueError(
                "mode='strict' needs a scheme, and y_true's tags do not show one; "
                "pass scheme='IOB2' (or another)"
            )
    else:
        scheme = _schemes.check_scheme(scheme)
    true = _entities(y_true, mode, scheme, "y_true")
    pred = _entities(y_pred, mode, scheme, "y_pred")
    return true, pred


def entity_precision_recall_fscore_support(
    y_true, y_pred, *, average=None, mode="default", scheme=None, zero_division="warn"
):
    """Entity-level precision, recall, F1 and support, per entity type or averaged.

    Parameters
    ----------
    y_true, y_pred : list of list of str
        Gold and predicted tags, one list per sentence, of equal lengths.
    average : {None, "micro", "macro", "weighted"}, default=None
        ``None`` gives one value per entity type (sorted by name); ``"micro"`` counts
        all entities together (what CoNLL reports); ``"macro"`` is the unweighted mean
        over types, ``"weighted"`` the mean weighted by support.
    mode : {"default", "strict"}, default="default"
        ``"default"`` reads chunks as conlleval does, whatever the scheme (IOB1
        included); ``"strict"`` counts only chunks well formed in ``scheme``.
    scheme : {"IOB1", "IOB2", "BIO", "IOE1", "IOE2", "IOBES", "BIOES", "BILOU"} or None
        For ``mode="strict"`` only; ``None`` detects it from ``y_true``.
    zero_division : "warn", 0.0 or 1.0, default="warn"
        The value of a ratio whose denominator is zero (no predicted or no true
        entities); ``"warn"`` gives 0.0 with an ``UndefinedMetricWarning``.

    Returns
    -------
    precision, recall, fscore : float or ndarray of shape (n_types,)
    support : int or ndarray of shape (n_types,)
        Number of true entities (of each type).
    types : list of str
        Only when ``average`` is None: the entity types the arrays follow.

    Examples
    --------
    >>> from sklearn_rnn.metrics import entity_precision_recall_fscore_support
    >>> y_true = [["B-PER", "I-PER", "O", "B-LOC"]]
    >>> y_pred = [["B-PER", "I-PER", "O", "O"]]
    >>> p, r, f, s, types = entity_precision_recall_fscore_support(
    ...     y_true, y_pred, zero_division=0.0)
    >>> types, p.tolist(), r.tolist(), s.tolist()
    (['LOC', 'PER'], [0.0, 1.0], [0.0, 1.0], [1, 1])
    """
    if average not in _AVERAGES:
        raise ValueError(f"average must be one of {_AVERAGES}, got {average!r}")
    if zero_division not in ("warn", 0, 1):
        raise ValueError(
            f"zero_division must be 'warn', 0.0 or 1.0, got {zero_division!r}"
        )
    y_true, y_pred = _check_sequences(y_true, y_pred)
    true, pred = _count(y_true, y_pred, mode, scheme)
    hits = true & pred
    types = sorted({e[1] for e in true} | {e[1] for e in pred})
    count = {
        name: Counter(e[1] for e in entities)
        for name, entities in (("true", true), ("pred", pred), ("hit", hits))
    }
    tp = np.array([count["hit"][t] for t in types], dtype=np.int64)
    n_pred = np.array([count["pred"][t] for t in types], dtype=np.int64)
    n_true = np.array([count["true"][t] for t in types], dtype=np.int64)
    if average == "micro":
        tp, n_pred, n_true = (np.array([a.sum()]) for a in (tp, n_pred, n_true))
    precision = _divide(tp, n_pred, zero_division, "Precision", "predicted")
    recall = _divide(tp, n_true, zero_division, "Recall", "true")
    denominator = precision + recall
    fscore = np.where(
        denominator > 0,
        2 * precision * recall / np.where(denominator, denominator, 1),
        0.0,
    )
    if average is None:
        return precision, recall, fscore, n_true, types
    if average == "micro":
        return float(precision[0]), float(recall[0]), float(fscore[0]), int(n_true[0])
    if not types:
        value = 0.0 if zero_division == "warn" else float(zero_division)
        return value, value, value, 0
    weights = n_true if average == "weighted" else None
    if weights is not None and weights.sum() == 0:
        value = 0.0 if zero_division == "warn" else float(zero_division)
        return value, value, value, 0
    return (
        float(np.average(precision, weights=weights)),
        float(np.average(recall, weights=weights)),
        float(np.average(fscore, weights=weights)),
        int(n_true.sum()),
    )


def _divide(numerator, denominator, zero_division, metric, modifier):
    zero = denominator == 0
    result = numerator / np.where(zero, 1, denominator)
    if zero.any():
        result = np.where(
            zero, 0.0 if zero_division == "warn" else zero_division, result
        )
        if zero_division == "warn":
            warnings.warn(
                f"{metric} is ill-defined and set to 0.0 where there are no "
                f"{modifier} entities. Use the zero_division parameter to control "
                "this.",
                UndefinedMetricWarning,
                stacklevel=3,
            )
    return result.astype(np.float64)


def entity_f1_score(
    y_true,
    y_pred,
    *,
    average="micro",
    mode="default",
    scheme=None,
    zero_division="warn",
):
    """Entity-level F1 score: the harmonic mean of entity precision and recall.

    With the defaults this is the figure CoNLL shared tasks report (conlleval's
    ``FB1``; seqeval's default ``f1_score``).

    Parameters
    ----------
    y_true, y_pred : list of list of str
        Gold and predicted tags, one list per sentence.
    average : {"micro", "macro", "weighted", None}, default="micro"
        See :func:`entity_precision_recall_fscore_support`; ``None`` returns an array
        with one F1 per entity type.
    mode : {"default", "strict"}, default="default"
        ``"default"`` reads chunks as conlleval does (and seqeval's default mode): any
        mix of ``B``, ``I``, ``E``, ``S`` prefixes, IOB1 included, and predictions that
        break their scheme. ``"strict"`` counts only the chunks well formed in
        ``scheme``, as seqeval's strict mode does.
    scheme : {"IOB1", "IOB2", "BIO", "IOE1", "IOE2", "IOBES", "BIOES", "BILOU"} or None
        The scheme that ``mode="strict"`` follows; ``None`` detects it from ``y_true``.
    zero_division : "warn", 0.0 or 1.0, default="warn"
        The precision when nothing was predicted, the recall when ``y_true`` holds no
        entity (F1 follows from them): ``"warn"`` gives 0.0 with an
        ``UndefinedMetricWarning``, 0.0 or 1.0 give that value silently.

    Returns
    -------
    float, or ndarray of shape (n_types,) when ``average`` is None

    See Also
    --------
    entity_classification_report : Precision, recall and F1 per type, as a table.

    Examples
    --------
    >>> from sklearn_rnn.metrics import entity_f1_score
    >>> y_true = [["B-PER", "I-PER", "O"], ["B-LOC", "O"]]
    >>> y_pred = [["B-PER", "I-PER", "O"], ["B-ORG", "O"]]
    >>> entity_f1_score(y_true, y_pred)
    0.5
    >>> # IOB1, as in CoNLL-2003: an entity may start with I-
    >>> entity_f1_score([["I-PER", "I-PER", "B-PER"]], [["I-PER", "I-PER", "I-PER"]])
    0.0
    """
    result = entity_precision_recall_fscore_support(
        y_true,
        y_pred,
        average=average,
        mode=mode,
        scheme=scheme,
        zero_division=zero_division,
    )
    return result[2]


def entity_precision_score(
    y_true,
    y_pred,
    *,
    average="micro",
    mode="default",
    scheme=None,
    zero_division="warn",
):
    """Entity-level precision: the share of predicted entities that are right.

    Parameters are those of :func:`entity_f1_score`.

    Returns
    -------
    float, or ndarray of shape (n_types,) when ``average`` is None

    Examples
    --------
    >>> from sklearn_rnn.metrics import entity_precision_score
    >>> entity_precision_score([["B-PER", "O", "B-LOC"]], [["B-PER", "O", "O"]])
    1.0
    """
    return entity_precision_recall_fscore_support(
        y_true,
        y_pred,
        average=average,
        mode=mode,
        scheme=scheme,
        zero_division=zero_division,
    )[0]


def entity_recall_score(
    y_true,
    y_pred,
    *,
    average="micro",
    mode="default",
    scheme=None,
    zero_division="warn",
):
    """Entity-level recall: the share of true entities that were found.

    Parameters are those of :func:`entity_f1_score`.

    Returns
    -------
    float, or ndarray of shape (n_types,) when ``average`` is None

    Examples
    --------
    >>> from sklearn_rnn.metrics import entity_recall_score
    >>> entity_recall_score([["B-PER", "O", "B-LOC"]], [["B-PER", "O", "O"]])
    0.5
    """
    return entity_precision_recall_fscore_support(
        y_true,
        y_pred,
        average=average,
        mode=mode,
        scheme=scheme,
        zero_division=zero_division,
    )[1]


def entity_classification_report(
    y_true,
    y_pred,
    *,
    mode="default",
    scheme=None,
    digits=2,
    output_dict=False,
    zero_division="warn",
):
    """Precision, recall, F1 and support per entity type, with micro, macro and
    weighted averages.

    Parameters
    ----------
    y_true, y_pred : list of list of str
    mode : {"default", "strict"}, default="default"
    scheme : str or None, default=None
        The scheme that ``mode="strict"`` follows.
    digits : int, default=2
        Decimals shown in the text report.
    output_dict : bool, default=False
        Return a dict ``{type or average: {"precision", "recall", "f1-score",
        "support"}}`` instead of text.
    zero_division : "warn", 0.0 or 1.0, default="warn"

    Returns
    -------
    str or dict

    Examples
    --------
    >>> from sklearn_rnn.metrics import entity_classification_report
    >>> y_true = [["B-PER", "I-PER", "O", "B-LOC"]]
    >>> y_pred = [["B-PER", "I-PER", "O", "B-PER"]]
    >>> print(entity_classification_report(y_true, y_pred, zero_division=0.0))
                  precision    recall  f1-score   support
    <BLANKLINE>
             LOC       0.00      0.00      0.00         1
             PER       0.50      1.00      0.67         1
    <BLANKLINE>
       micro avg       0.50      0.50      0.50         2
       macro avg       0.25      0.50      0.33         2
    weighted avg       0.25      0.50      0.33         2
    <BLANKLINE>
    """
    kwargs = dict(mode=mode, scheme=scheme, zero_division=zero_division)
    p, r, f, s, types = entity_precision_recall_fscore_support(
        y_true, y_pred, average=None, **kwargs
    )
    rows = {
        t: (float(pi), float(ri), float(fi), int(si))
        for t, pi, ri, fi, si in zip(types, p, r, f, s, strict=True)
    }
    for average in ("micro", "macro", "weighted"):
        rows[f"{average} avg"] = entity_precision_recall_fscore_support(
            y_true, y_pred, average=average, **kwargs
        )
    if output_dict:
        keys = ("precision", "recall", "f1-score", "support")
        return {name: dict(zip(keys, row, strict=True)) for name, row in rows.items()}
    width = max(len(name) for name in rows)
    headers = ("precision", "recall", "f1-score", "support")
    lines = [f"{'':>{width}} " + "".join(f" {h:>9}" for h in headers), ""]
    for name, row in rows.items():
        if name == "micro avg":
            lines.append("")
        values = "".join(f" {v:>9.{digits}f}" for v in row[:3])
        lines.append(f"{name:>{width}} {values} {row[3]:>9}")
    return "\n".join(lines) + "\n"


def token_accuracy_score(y_true, y_pred):
    """The share of tokens whose tag is right, over all sentences together.

    Parameters
    ----------
    y_true, y_pred : list of list
        Gold and predicted labels, one list per sentence.

    Returns
    -------
    float

    Examples
    --------
    >>> from sklearn_rnn.metrics import token_accuracy_score
    >>> token_accuracy_score([["DT", "NN"], ["VB"]], [["DT", "VB"], ["VB"]])
    0.6666666666666666
    """
    y_true, y_pred = _check_sequences(y_true, y_pred)
    total = sum(len(seq) for seq in y_true)
    if total == 0:
        raise ValueError("y_true holds no tokens")
    right = sum(
        a == b
        for true, pred in zip(y_true, y_pred, strict=True)
        for a, b in zip(true, pred, strict=True)
    )
    return right / total


def token_classification_report(
    y_true, y_pred, *, labels=None, digits=2, output_dict=False, zero_division="warn"
):
    """Precision, recall and F1 of each label over all tokens: the *flat* report.

    scikit-learn's :func:`~sklearn.metrics.classification_report` of the tokens of
    all sentences together, as sklearn-crfsuite's ``flat_classification_report``
    gives it. Each token counts alone, so a half-found entity earns half its tokens;
    :func:`entity_classification_report` counts whole entities instead.

    Parameters
    ----------
    y_true, y_pred : list of list
        Gold and predicted labels, one list per sentence, of equal lengths.
    labels : list or None, default=None
        The labels to report, in this order (leave ``"O"`` out for the tags of
        entities only); ``None`` reports every label seen.
    digits : int, default=2
    output_dict : bool, default=False
        Return a dict instead of a string.
    zero_division : "warn", 0.0, 1.0 or np.nan, default="warn"
        As in :func:`~sklearn.metrics.classification_report`.

    Returns
    -------
    str or dict

    Examples
    --------
    >>> from sklearn_rnn.metrics import token_classification_report
    >>> y_true = [["B-PER", "I-PER", "O"], ["B-LOC", "O"]]
    >>> y_pred = [["B-PER", "O", "O"], ["B-LOC", "O"]]
    >>> report = token_classification_report(
    ...     y_true, y_pred, output_dict=True, zero_division=0.0)
    >>> report["I-PER"]["recall"], report["O"]["precision"]
    (0.0, 0.6666666666666666)
    """
    y_true, y_pred = _check_sequences(y_true, y_pred)
    flat_true = [tag for sequence in y_true for tag in sequence]
    flat_pred = [tag for sequence in y_pred for tag in sequence]
    if not flat_true:
        raise ValueError("y_true holds no tokens")
    return classification_report(
        flat_true,
        flat_pred,
        labels=labels,
        digits=digits,
        output_dict=output_dict,
        zero_division=zero_division,
    )


def _units(sequence):
    """A prediction or a reference as a list of units (characters of a string)."""
    return list(sequence)


def _is_sequence(value):
    return not isinstance(value, (str, bytes)) and hasattr(value, "__len__")


def _references(i, true, pred):
    """Sample ``i``'s prediction and its references, each as a list of units.

    A string prediction takes one string or a list of strings; a token-list
    prediction takes one token list or a list of token lists.
    """
    if isinstance(pred, str):
        if isinstance(true, str):
            return _units(pred), [_units(true)]
        if _is_sequence(true) and all(isinstance(r, str) for r in true):
            if not len(true):
                raise ValueError(f"Sample {i} of y_true holds no reference")
            return _units(pred), [_units(r) for r in true]
        raise TypeError(
            f"Sample {i}: y_pred is a str, so y_true must be a str or a list of str "
            f"(several references), got {_describe(true)}"
        )
    if not _is_sequence(pred):
        raise TypeError(
            f"Sample {i} of y_pred has type {type(pred).__name__}: expected a str or "
            "a list of tokens"
        )
    if isinstance(true, str):
        raise TypeError(
            f"Sample {i}: y_pred is a list of tokens but y_true is a str; give the "
            "reference as a list of tokens too"
        )
    if not _is_sequence(true):
        raise TypeError(
            f"Sample {i} of y_true has type {type(true).__name__}: expected a list "
            "of tokens or a list of token lists (several references)"
        )
    if not len(true):
        raise ValueError(
            f"Sample {i} of y_true is an empty list, read as no reference at all; "
            "write [[]] for one empty reference"
        )
    if all(_is_sequence(r) for r in true):
        return _units(pred), [_units(r) for r in true]
    if any(_is_sequence(r) for r in true):
        raise TypeError(
            f"Sample {i} of y_true mixes tokens and token lists: expected one "
            "reference (a list of tokens) or several (a list of token lists)"
        )
    return _units(pred), [_units(true)]


def _describe(value):
    if _is_sequence(value):
        kinds = sorted({type(v).__name__ for v in value})
        return f"a {type(value).__name__} of {', '.join(kinds) or 'nothing'}"
    return f"a {type(value).__name__}"


def _check_outputs(y_true, y_pred):
    """Pairs (prediction, references) of every sample, as lists of units."""
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if isinstance(y, str) or not hasattr(y, "__len__"):
            raise TypeError(
                f"{name} must be a list with one entry per sample, got "
                f"{type(y).__name__}"
            )
    y_true, y_pred = list(y_true), list(y_pred)
    if len(y_true) != len(y_pred):
        raise ValueError(
            f"y_true has {len(y_true)} samples but y_pred has {len(y_pred)}"
        )
    if not y_true:
        raise ValueError("y_true and y_pred hold no samples")
    return [
        _references(i, true, pred)
        for i, (true, pred) in enumerate(zip(y_true, y_pred, strict=True))
    ]


def edit_distance(a, b):
    """The Levenshtein distance: the fewest substitutions, insertions and deletions
    of units that turn sequence ``a`` into ``b``.

    Examples
    --------
    >>> from sklearn_rnn.metrics import edit_distance
    >>> edit_distance("kitten", "sitting")
    3
    >>> edit_distance(["K", "AE", "T"], ["K", "AE", "T", "S"])
    1
    """
    a, b = list(a), list(b)
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))  # distances from a[:0] to each b[:j]
    for i, unit in enumerate(a, 1):
        current = [i]
        for j, other in enumerate(b, 1):
            current.append(
                min(
                    previous[j] + 1,  # delete unit
                    current[j - 1] + 1,  # insert other
                    previous[j - 1] + (unit != other),  # substitute (or keep)
                )
            )
        previous = current
    return previous[-1]


def sequence_accuracy_score(y_true, y_pred, *, sample_weight=None):
    """The share of samples whose predicted sequence equals a reference exactly
    (exact-match or word accuracy; one minus the word error rate of G2P papers).

    Parameters
    ----------
    y_true : list
        The references of each sample: one (a str, or a list of tokens) or several
        (a list of str when the prediction is a str; a list of token lists when it
        is a list of tokens), as dictionaries list several pronunciations of a word.
        A list whose items are all lists (or tuples, arrays) is read as several
        references, so tokens must not be lists themselves; an empty list is
        refused (write ``[[]]`` for one empty token list).
    y_pred : list of str or list of list
        One predicted sequence per sample.
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    float
        A sample counts as right when its prediction equals any of its references.

    See Also
    --------
    token_error_rate : How far predictions are from their references, per unit.

    Examples
    --------
    >>> from sklearn_rnn.metrics import sequence_accuracy_score
    >>> sequence_accuracy_score(["kat", "dog"], ["kat", "dag"])
    0.5
    >>> # several references: right when equal to any of them
    >>> tomato = [["T", "AH", "M", "EY", "T", "OW"], ["T", "AH", "M", "AA", "T", "OW"]]
    >>> y_true = [tomato]  # one sample, two references
    >>> sequence_accuracy_score(y_true, [["T", "AH", "M", "AA", "T", "OW"]])
    1.0
    """
    pairs = _check_outputs(y_true, y_pred)
    right = np.array([any(pred == ref for ref in refs) for pred, refs in pairs], float)
    if sample_weight is None:
        return float(right.mean())
    sample_weight = np.asarray(sample_weight, dtype=np.float64)
    if sample_weight.shape != right.shape:
        raise ValueError(
            f"sample_weight has shape {sample_weight.shape}, expected ({len(right)},)"
        )
    return float(np.average(right, weights=sample_weight))


def token_error_rate(y_true, y_pred):
    """Edit distance over reference length, over all samples together: the phoneme,
    character or word error rate, as such rates are reported.

    The sum over samples of the Levenshtein distance (substitutions, insertions and
    deletions of units: the tokens of token lists, the characters of strings) between
    each prediction and its reference, divided by the sum of the references' lengths.
    With several references, each sample takes the one closest to its prediction
    (of those equally close, the shortest) and counts that one's length.

    Parameters
    ----------
    y_true : list
        The references of each sample: one (a str, or a list of tokens) or several
        (a list of str when the prediction is a str; a list of token lists when it
        is a list of tokens), read as in :func:`sequence_accuracy_score`.
    y_pred : list of str or list of list
        One predicted sequence per sample.

    Returns
    -------
    float
        0 when every prediction equals a reference; it may exceed 1 when predictions
        are longer than their references.

    See Also
    --------
    edit_distance : The distance between two sequences.
    sequence_accuracy_score : The share of predictions that are exactly right.

    Examples
    --------
    >>> from sklearn_rnn.metrics import token_error_rate
    >>> token_error_rate([["K", "AE", "T"], ["D", "AO", "G"]],
    ...                  [["K", "AH", "T"], ["D", "AO", "G", "Z"]])
    0.3333333333333333
    >>> token_error_rate(["kitten"], ["sitting"])  # characters: 3 edits over 6
    0.5
    >>> # the closest reference counts: 1 edit over its 6 phones
    >>> tomato = [["T", "AH", "M", "EY", "T", "OW"], ["T", "AH", "M", "AA", "T", "OW"]]
    >>> y_true = [tomato]  # one sample, two references
    >>> token_error_rate(y_true, [["T", "AH", "M", "AA", "T", "OW", "Z"]])
    0.16666666666666666
    """
    pairs = _check_outputs(y_true, y_pred)
    edits = total = 0
    for pred, refs in pairs:
        distance, length = min((edit_distance(pred, ref), len(ref)) for ref in refs)
        edits += distance
        total += length
    if total == 0:
        raise ValueError("The references hold no units: the error rate is undefined")
    return edits / total


def _entity_f1_for_scorer(y_true, y_pred):
    return entity_f1_score(y_true, y_pred, zero_division=0.0)


#: Scorer for ``scoring=`` in ``GridSearchCV`` or ``cross_val_score``: entity-level
#: micro F1 (default mode, ``zero_division=0.0``) of ``estimator.predict(X)`` against
#: ``y``: ``cross_val_score(tagger, X, y, scoring=entity_f1_scorer)``.
entity_f1_scorer = make_scorer(_entity_f1_for_scorer)

#: Scorer for ``scoring=``: flat token accuracy of ``estimator.predict(X)``.
token_accuracy_scorer = make_scorer(token_accuracy_score)

#: Scorer for ``scoring=``: exact-match accuracy of ``estimator.predict(X)``.
sequence_accuracy_scorer = make_scorer(sequence_accuracy_score)

#: Scorer for ``scoring=``: the token error rate of ``estimator.predict(X)``, negated
#: (greater is better), as scikit-learn's ``neg_`` scorers.
token_error_rate_scorer = make_scorer(token_error_rate, greater_is_better=False)
