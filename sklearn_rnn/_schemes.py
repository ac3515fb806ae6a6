"""Chunk tagging schemes: one place for reading tags, detecting and checking a scheme,
extracting chunks, re-encoding them and the transitions a scheme allows.

A tag is ``"O"`` or a prefix, optionally followed by ``-TYPE`` (``"B-PER"``,
``"I"``). The schemes and what their prefixes mean:

========  ==========================================================================
IOB1      ``I`` inside a chunk; ``B`` only on the first token of a chunk that follows
          a chunk of the same type (CoNLL-2003's original tags)
IOB2      ``B`` on the first token of every chunk, ``I`` on the others (also "BIO")
IOE1      ``I`` inside; ``E`` only on the last token of a chunk followed by a chunk of
          the same type
IOE2      ``E`` on the last token of every chunk, ``I`` on the others
IOBES     ``S`` a single-token chunk; ``B``, ``I``, ``E`` begin, continue and end
          longer ones (also "BIOES")
BILOU     IOBES with ``L`` for ``E`` and ``U`` for ``S``
========  ==========================================================================

Chunks are ``(type, start, end)`` with ``end`` exclusive. The *default* reading is
conlleval's (and seqeval's default mode): it reads any mix of prefixes, so it also
reads IOB1 and sequences that break their scheme. The *strict* reading follows a named
scheme and counts only well-formed chunks (seqeval's strict mode). The two agree on
every sequence that follows its scheme.

The tagger trains on IOBES internally whatever the user's scheme: it marks both ends of
every chunk, which IOB1 hides. :func:`iobes_to_scheme_table` maps its tags back.
"""

import functools
import re

import numpy as np

SCHEMES = ("IOB1", "IOB2", "IOE1", "IOE2", "IOBES", "BILOU")
ALIASES = {"BIO": "IOB2", "BIOES": "IOBES"}
_PREFIXES = {
    "IOB1": "OIB",
    "IOB2": "OIB",
    "IOE1": "OIE",
    "IOE2": "OIE",
    "IOBES": "OIBES",
    "BILOU": "OIBLU",
}
_TAG = re.compile(r"^(?:O|([BIESLU])(?:-(.+))?)$", re.S)
_OUTSIDE = ("O", "")


def check_scheme(scheme):
    """The canonical name of ``scheme`` (``"BIO"`` -> ``"IOB2"``), or a ValueError."""
    name = ALIASES.get(scheme, scheme) if isinstance(scheme, str) else None
    if name not in SCHEMES:
        raise ValueError(
            f"Unknown tag scheme {scheme!r}; expected one of "
            f"{list(SCHEMES) + list(ALIASES)}"
        )
    return name


def split_tag(tag):
    """``(prefix, type)`` of a chunk tag, ``("O", "")`` for ``"O"``, ``None`` for a
    label that is not a chunk tag. A tag without a type has type ``""``."""
    return _split_string(tag) if isinstance(tag, str) else None


@functools.lru_cache(maxsize=4096)  # a corpus has few distinct tags and many tokens
def _split_string(tag):
    match = _TAG.match(tag)
    if match is None:
        return None
    prefix, type_ = match.groups()
    return (prefix, type_ or "") if prefix else _OUTSIDE


def join_tag(prefix, type_):
    return prefix if prefix == "O" or not type_ else f"{prefix}-{type_}"


def _split_all(sequence, where):
    parsed = []
    for position, tag in enumerate(sequence):
        pair = split_tag(tag)
        if pair is None:
            raise ValueError(
                f"{where} holds {tag!r} at position {position}, which is not a chunk "
                "tag: expected 'O' or a prefix B, I, E, S, L or U, optionally followed "
                "by '-TYPE'"
            )
        parsed.append(pair)
    return parsed


# ---------------------------------------------------------------------- validity


def _allowed(scheme, prev, cur):
    """May ``cur`` follow ``prev`` (both ``(prefix, type)``; ``("O", "")`` stands for
    a sentence boundary) in ``scheme``?"""
    (p, pt), (c, ct) = prev, cur
    same = pt == ct
    if scheme == "IOB2":
        return c != "I" or (p in "BI" and same)
    if scheme == "IOB1":
        return c != "B" or (p in "BI" and same)
    if scheme == "IOE2":
        return p != "I" or (c in "IE" and same)
    if scheme == "IOE1":
        return p != "E" or (c in "IE" and same)
    begin, end, single = ("B", "E", "S") if scheme == "IOBES" else ("B", "L", "U")
    open_prev = p in (begin, "I")
    continues = c in ("I", end)
    return open_prev == continues and (not open_prev or same)


def violation(sequence, scheme, where="The sequence"):
    """``(position, message)`` of the first tag of ``sequence`` that breaks
    ``scheme``, or ``None``. ``position`` may be the sentence's length (an open chunk
    at its end). A label that is not a chunk tag raises a ValueError."""
    allowed_prefixes = _PREFIXES[scheme]
    prev = _OUTSIDE
    parsed = _split_all(sequence, where)
    for position, cur in enumerate(parsed + [_OUTSIDE]):
        if cur[0] not in allowed_prefixes:
            return position, (
                f"{sequence[position]!r} has a prefix that {scheme} does not use "
                f"(it uses {', '.join(allowed_prefixes)})"
            )
        if not _allowed(scheme, prev, cur):
            if position == len(parsed):
                return position, (
                    f"the sentence ends after {join_tag(*prev)!r}, which {scheme} "
                    "does not allow at the end"
                )
            after = "the sentence start" if position == 0 else repr(join_tag(*prev))
            return position, f"{sequence[position]!r} cannot follow {after} in {scheme}"
        prev = cur
    return None


def check_tags(sequences, scheme, what="y"):
    """Raise a ValueError naming the sample and position of the first tag that breaks
    ``scheme``."""
    for i, sequence in enumerate(sequences):
        found = violation(sequence, scheme, where=f"Sample {i} of {what}")
        if found is not None:
            position, message = found
            raise ValueError(
                f"Sample {i} of {what} breaks the {scheme} tag scheme at position "
                f"{position}: {message}"
            )


def detect_scheme(sequences, what="y"):
    """The scheme ``sequences`` follow, or ``None`` when they are not chunk tags (or
    hold no chunk at all).

    Raises a ValueError when every label reads as a chunk tag but no scheme fits, or
    when chunk tags with a type (``"B-PER"``) stand beside labels that are no chunk
    tag (``"X-PER"``), so that a typo in the tags is not silently scored as plain
    labels.
    """
    prefixes, typed, strays = set(), False, {}
    for i, sequence in enumerate(sequences):
        for position, tag in enumerate(sequence):
            pair = split_tag(tag)
            if pair is None:
                strays.setdefault(tag, (i, position))
                continue
            prefixes.add(pair[0])
            typed = typed or bool(pair[1])
    if strays:
        if not typed:
            return None  # plain labels, some of which read like bare prefixes
        # chunk tags with types ("B-PER") beside labels that are none: typos, which
        # would otherwise turn the scheme off for the whole data set
        shown = ", ".join(
            f"{tag!r} (sample {i}, position {position})"
            for tag, (i, position) in list(strays.items())[:5]
        )
        more = f" and {len(strays) - 5} more" if len(strays) > 5 else ""
        raise ValueError(
            f"The labels of {what} are chunk tags such as 'B-PER', except {shown}"
            f"{more}, which no chunk scheme reads; fix them, or set tag_scheme=None "
            "to treat every label as a plain label"
        )
    prefixes.discard("O")
    if not prefixes:
        return None
    if prefixes <= set("BI"):
        candidates = ("IOB2", "IOB1")
    elif prefixes <= set("IE"):
        candidates = ("IOE2", "IOE1")
    elif prefixes <= set("BIES"):
        candidates = ("IOBES",)
    elif prefixes <= set("BILU"):
        candidates = ("BILOU",)
    else:
        raise ValueError(
            f"The labels of {what} look like chunk tags but mix the prefixes "
            f"{', '.join(sorted(prefixes))}, which no scheme uses together; fix them, "
            "or set tag_scheme=None to treat them as plain labels"
        )
    problems = []
    for scheme in candidates:
        for i, sequence in enumerate(sequences):
            found = violation(sequence, scheme)
            if found is not None:
                problems.append(
                    f"{scheme}: sample {i}, position {found[0]}: {found[1]}"
                )
                break
        else:
            return scheme
    raise ValueError(
        f"The labels of {what} look like chunk tags but follow no scheme ("
        + "; ".join(problems)
        + "); fix them, or set tag_scheme=None to treat them as plain labels"
    )


# ---------------------------------------------------------------------- chunks


def chunks(sequence, mode="default", scheme=None):
    """The chunks ``[(type, start, end), ...]`` of one tag sequence.

    ``mode="default"`` reads the way conlleval and seqeval's default mode do (``L`` and
    ``U`` count as ``E`` and ``S``); ``mode="strict"`` needs ``scheme`` and keeps only
    chunks that are well formed in it, as seqeval's strict mode does.
    """
    parsed = _split_all(sequence, "The sequence")
    if mode == "default":
        return _default_chunks(parsed)
    return _strict_chunks(parsed, scheme, sequence)


_BILOU_AS_IOBES = {"L": "E", "U": "S"}


def _default_chunks(parsed):
    found = []
    prev, prev_type, start = "O", "", 0
    for i, (tag, type_) in enumerate(parsed + [_OUTSIDE]):
        tag = _BILOU_AS_IOBES.get(tag, tag)
        if _ends(prev, tag, prev_type, type_):
            found.append((prev_type, start, i))
        if _starts(prev, tag, prev_type, type_):
            start = i
        prev, prev_type = tag, type_
    return found


def _ends(prev, tag, prev_type, type_):
    """conlleval's endOfChunk, as seqeval's default mode has it."""
    return (
        prev in "ES"
        or (prev == "B" and tag in "BSO")
        or (prev == "I" and tag in "BSO")
        or (prev != "O" and prev_type != type_)
    )


def _starts(prev, tag, prev_type, type_):
    """conlleval's startOfChunk, as seqeval's default mode has it."""
    return (
        tag in "BS"
        or (prev in "ES" and tag in "EI")
        or (prev == "O" and tag in "EI")
        or (tag != "O" and prev_type != type_)
    )


# Strict reading: patterns (previous prefixes, current prefixes, type condition) that
# open, continue and close a chunk in each scheme: seqeval's definitions, but for IOE1.
_ANY = "OIBESLU"
_STRICT = {
    "IOB1": (
        [("O", "I", "any"), ("I", "I", "diff"), ("B", "I", "any")]
        + [("I", "B", "same"), ("B", "B", "same")],
        [("B", "I", "same"), ("I", "I", "same")],
        [("I", "I", "diff"), ("I", "O", "any"), ("I", "B", "any"), ("B", "O", "any")]
        + [("B", "I", "diff"), ("B", "B", "same")],
    ),
    "IOB2": (
        [(_ANY, "B", "any")],
        [("B", "I", "same"), ("I", "I", "same")],
        [("I", "O", "any"), ("I", "I", "diff"), ("I", "B", "any"), ("B", "O", "any")]
        + [("B", "I", "diff"), ("B", "B", "any")],
    ),
    "IOE1": (  # seqeval lacks the last two: it misses one-token chunks tagged E
        [("O", "I", "any"), ("I", "I", "diff"), ("E", "I", "any"), ("E", "E", "same")]
        + [("O", "E", "any"), ("I", "E", "diff")],
        [("I", "I", "same"), ("I", "E", "same")],
        [("I", "I", "diff"), ("I", "O", "any"), ("I", "E", "diff"), ("E", "I", "same")]
        + [("E", "E", "same")],
    ),
    "IOE2": (
        [("O", "I", "any"), ("O", "E", "any"), ("E", "I", "any"), ("E", "E", "any")]
        + [("I", "I", "diff"), ("I", "E", "diff")],
        [("I", "E", "same"), ("I", "I", "same")],
        [("E", _ANY, "any")],
    ),
    "IOBES": (
        [(_ANY, "B", "any"), (_ANY, "S", "any")],
        [("B", "I", "same"), ("B", "E", "same"), ("I", "I", "same")]
        + [("I", "E", "same")],
        [("S", _ANY, "any"), ("E", _ANY, "any")],
    ),
    "BILOU": (
        [(_ANY, "B", "any"), (_ANY, "U", "any")],
        [("B", "I", "same"), ("B", "L", "same"), ("I", "I", "same")]
        + [("I", "L", "same")],
        [("U", _ANY, "any"), ("L", _ANY, "any")],
    ),
}


def _matches(patterns, prev, cur):
    for prev_prefixes, cur_prefixes, condition in patterns:
        if prev[0] in prev_prefixes and cur[0] in cur_prefixes:
            same = prev[1] == cur[1]
            if condition == "any" or (condition == "same") == same:
                return True
    return False


def _strict_chunks(parsed, scheme, sequence):
    scheme = check_scheme(scheme)
    allowed = _PREFIXES[scheme]
    for position, (prefix, _) in enumerate(parsed):
        if prefix not in allowed:
            raise ValueError(
                f"{sequence[position]!r} at position {position} has a prefix that "
                f"{scheme} does not use (it uses {', '.join(allowed)})"
            )
    start_patterns, inside_patterns, end_patterns = _STRICT[scheme]
    tokens = parsed + [_OUTSIDE]
    found = []
    i, prev = 0, _OUTSIDE
    while i < len(tokens):
        token = tokens[i]
        if _matches(start_patterns, prev, token):
            end, last = i + 1, token
            while end < len(tokens) and _matches(inside_patterns, last, tokens[end]):
                last = tokens[end]
                end += 1
            if _matches(end_patterns, tokens[end - 1], tokens[end]):
                found.append((token[1], i, end))
            i = end
        else:
            i += 1
        prev = tokens[i - 1]
    return found


def encode_chunks(found, length, scheme):
    """The tags of a sentence of ``length`` tokens holding the chunks ``found``
    (non-overlapping ``(type, start, end)``) in ``scheme``."""
    tags = ["O"] * length
    found = sorted(found, key=lambda chunk: chunk[1])
    for k, (type_, start, end) in enumerate(found):
        n = end - start
        if scheme in ("IOBES", "BILOU"):
            single, last = ("S", "E") if scheme == "IOBES" else ("U", "L")
            prefixes = [single] if n == 1 else ["B"] + ["I"] * (n - 2) + [last]
        elif scheme == "IOB2":
            prefixes = ["B"] + ["I"] * (n - 1)
        elif scheme == "IOE2":
            prefixes = ["I"] * (n - 1) + ["E"]
        elif scheme == "IOB1":
            before = found[k - 1] if k else None
            adjacent = before is not None and before[2] == start and before[0] == type_
            prefixes = ["B" if adjacent else "I"] + ["I"] * (n - 1)
        else:  # IOE1
            after = found[k + 1] if k + 1 < len(found) else None
            adjacent = after is not None and after[1] == end and after[0] == type_
            prefixes = ["I"] * (n - 1) + ["E" if adjacent else "I"]
        tags[start:end] = [join_tag(prefix, type_) for prefix in prefixes]
    return tags


def to_iobes(sequence):
    """Re-encode a tag sequence that follows its scheme in IOBES."""
    return encode_chunks(chunks(sequence), len(sequence), "IOBES")


# ---------------------------------------------------------------------- transitions


def allowed_transitions(tags, scheme):
    """Boolean masks ``(start (K,), transitions (K, K), end (K,))``: which tags may
    open a sentence, follow each other, and close a sentence in ``scheme``; a
    decoder restricted to them always yields well-formed chunks."""
    parsed = [split_tag(tag) for tag in tags]
    if any(pair is None for pair in parsed):
        raise ValueError(f"Not all of {list(tags)} are chunk tags")
    start = np.array([_allowed(scheme, _OUTSIDE, cur) for cur in parsed])
    end = np.array([_allowed(scheme, prev, _OUTSIDE) for prev in parsed])
    transitions = np.array(
        [[_allowed(scheme, prev, cur) for cur in parsed] for prev in parsed]
    )
    allowed_prefixes = _PREFIXES[scheme]
    usable = np.array([prefix in allowed_prefixes for prefix, _ in parsed])
    return start & usable, transitions & usable[:, None] & usable[None, :], end & usable


def iobes_to_scheme_table(iobes_tags, scheme, classes):
    """How an IOBES tag sequence reads in ``scheme``, as a lookup table.

    Returns ``(context, table)``: ``table[c + 1, k]`` is the index in ``classes`` of the
    tag that IOBES tag ``k`` becomes when the context tag is ``c`` (``-1``, row 0, for
    the sentence boundary), or -1 when that tag is not in ``classes``. ``context`` is
    ``"prev"`` (IOB1, where a ``B`` depends on the previous tag), ``"next"`` (IOE1) or
    ``None`` (the tag alone decides; all rows are equal).
    """
    parsed = [split_tag(tag) for tag in iobes_tags]
    index = {label: i for i, label in enumerate(classes)}
    context = {"IOB1": "prev", "IOE1": "next"}.get(scheme)
    k = len(parsed)
    table = np.full((k + 1, k), -1, dtype=np.int64)
    for c, other in enumerate([_OUTSIDE] + parsed):
        for j, (prefix, type_) in enumerate(parsed):
            tag = _from_iobes(scheme, prefix, type_, other)
            table[c, j] = index.get(tag, -1)
    return context, table


def table_onehot(table, n_classes):
    """The ``table`` of :func:`iobes_to_scheme_table` as one-hot rows ``(K + 1, K,
    n_classes)``: ``[c + 1, k]`` picks the class that tag ``k`` reads as beside the
    context tag ``c`` (all zeros where it is not a class), for reading tag
    probabilities as class probabilities."""
    onehot = np.zeros(table.shape + (n_classes,))
    rows, cols = np.nonzero(table >= 0)
    onehot[rows, cols, table[rows, cols]] = 1.0
    return onehot


def read_table(context, table, path, lengths=None):
    """Class indices of an IOBES tag path (indices of ``iobes_tags``) through the
    ``(context, table)`` of :func:`iobes_to_scheme_table`; ``path`` may hold several
    sequences one after another, of ``lengths``, each read apart."""
    if context is None:
        return table[0, path]
    ends = np.cumsum(lengths) if lengths is not None else np.array([len(path)])
    neighbour = np.empty_like(path)
    if context == "prev":
        neighbour[1:] = path[:-1]
        neighbour[ends[:-1]] = -1
        neighbour[0] = -1
    else:
        neighbour[:-1] = path[1:]
        neighbour[ends - 1] = -1
    return table[neighbour + 1, path]


def _from_iobes(scheme, prefix, type_, other):
    """The ``scheme`` tag of an IOBES tag, given its neighbour ``other`` (the previous
    tag for IOB1, the next for IOE1)."""
    if prefix == "O":
        return "O"
    starts, ends = prefix in "BS", prefix in "ES"
    if scheme == "IOBES":
        new = prefix
    elif scheme == "BILOU":
        new = {"E": "L", "S": "U"}.get(prefix, prefix)
    elif scheme == "IOB2":
        new = "B" if starts else "I"
    elif scheme == "IOE2":
        new = "E" if ends else "I"
    elif scheme == "IOB1":
        after_same = other[0] in "ES" and other[1] == type_
        new = "B" if starts and after_same else "I"
    else:  # IOE1
        before_same = other[0] in "BS" and other[1] == type_
        new = "E" if ends and before_same else "I"
    return join_tag(new, type_)
