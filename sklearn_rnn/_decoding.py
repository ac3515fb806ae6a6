"""Greedy decoding and beam search in numpy, over one decoder step that something
else computes (an exported translator's graph, run by onnxruntime): the loops of
:meth:`sklearn_rnn.nn.Seq2SeqNet.greedy` and
:meth:`~sklearn_rnn.nn.Seq2SeqNet.beam_search` step for step, so that a served
translator writes what the estimator writes; and a generator's sampling, the loop
of :meth:`sklearn_rnn.nn.CharLanguageModel.sample` with numpy's random draws. No
torch here.

``step(symbols, state, feed, memory)`` takes the previous symbols ``(n,)``, the
decoder state ``(Z, n, H_d)``, the previous attentional vectors ``(n, H_d)`` (or
``None``) and the rows' memory (a tuple of arrays whose first axis is the rows, or
``None``), and returns the log-probabilities ``(n, V)`` of the next symbol (float32,
minus infinity for the symbols never written), the new state, the new attentional
vectors (or ``None``) and the attention weights ``(n, S)`` (or ``None``).
"""

import numpy as np


def _length_penalty(steps, alpha):
    """GNMT's length penalty ``((5 + steps) / 6) ** alpha`` (1 when alpha is 0)."""
    if alpha == 0:
        return 1.0
    return ((5.0 + steps) / 6.0) ** alpha


def _select(memory, rows):
    return None if memory is None else tuple(part[rows] for part in memory)


def greedy(step, state, feed, memory, max_length, bos, eos, attention=None):
    """Each sequence's most likely symbol at every step until it writes ``eos``
    or has written ``max_length`` symbols.

    ``attention``: ``None``, or zeros ``(N, max_length, S)`` that take the
    attention weights behind each written symbol (past each length, zeros).

    Returns
    -------
    symbols : ndarray of shape (N, T), int64
        Zero after each output (the ``eos`` not returned).
    lengths : ndarray of shape (N,), int64
    log_likelihood : ndarray of shape (N,), float64
        The summed log-probability of the symbols and of the ``eos``.
    """
    n = state.shape[1]
    symbols_out = np.zeros((n, max_length), dtype=np.int64)
    log_likelihood = np.zeros(n, dtype=np.float64)
    ended_at = np.full(n, max_length, dtype=np.int64)
    active = np.arange(n)
    symbols = np.full(n, bos, dtype=np.int64)
    for t in range(max_length):
        log_probs, state, feed, weights = step(symbols, state, feed, memory)
        symbols = log_probs.argmax(axis=1)
        log_likelihood[active] += log_probs[np.arange(len(symbols)), symbols]
        symbols_out[active, t] = symbols
        if attention is not None and weights is not None:
            attention[active, t] = weights
        ended = symbols == eos
        if not ended.any():
            continue
        ended_at[active[ended]] = t
        going = np.flatnonzero(~ended)
        if not len(going):
            break
        # drop the finished rows: the next steps compute only the others
        active, symbols = active[going], symbols[going]
        memory = _select(memory, going)
        state = state[:, going]
        feed = None if feed is None else feed[going]
    width = int(ended_at.max()) if n else 0
    symbols_out = symbols_out[:, :width]
    after = np.arange(width)[None, :] >= ended_at[:, None]
    symbols_out[after] = 0
    if attention is not None:
        attention[:, :width][after] = 0.0
    return symbols_out, ended_at, log_likelihood


def beam_search(
    step, state, feed, memory, max_length, beam, alpha, bos, eos, attention=None
):
    """The ``beam`` best partial outputs of each sequence extended together, as
    :meth:`sklearn_rnn.nn.Seq2SeqNet.beam_search` does (its docstring says how
    hypotheses end and rank); the greedy output competes.

    Returns ``(symbols, lengths, log_likelihood)`` as :func:`greedy`, and fills
    ``attention`` as it does.
    """
    g_attention = None if attention is None else np.zeros_like(attention)
    g_symbols, g_lengths, g_ll = greedy(
        step, state, feed, memory, max_length, bos, eos, g_attention
    )
    if beam == 1:
        if attention is not None:
            attention[:] = g_attention
        return g_symbols, g_lengths, g_ll
    n = state.shape[1]
    source_length = 0 if attention is None else attention.shape[2]
    best_rank = np.full(n, -np.inf)
    best_ll = np.full(n, -np.inf)
    best_length = np.zeros(n, dtype=np.int64)
    best_symbols = np.zeros((n, max_length), dtype=np.int64)

    def keep_best(active, rows, ranks, scores, length, prefix, history):
        """Set aside the finished hypotheses ``rows`` (one per active sequence)
        where they rank above the best so far."""
        where = np.flatnonzero(ranks > best_rank[active])
        if not len(where):
            return
        ids = active[where]
        best_rank[ids] = ranks[where]
        best_ll[ids] = scores[where]
        best_length[ids] = length
        best_symbols[ids, : prefix.shape[1]] = prefix[rows[where]]
        if history is not None:
            attention[ids, : prefix.shape[1]] = history[rows[where]]

    # every sequence's beams side by side: row i*B + b; the first step, the same
    # for all B, is computed once
    beams = np.repeat(np.arange(n), beam)
    first_memory, memory = memory, _select(memory, beams)
    scores = np.zeros((n, beam))
    scores[:, 1:] = -np.inf  # at first all beams are the same: keep one
    symbols = np.full(n * beam, bos, dtype=np.int64)
    prefix = np.zeros((n * beam, 0), dtype=np.int64)
    history = None
    if attention is not None:
        history = np.zeros((n * beam, 0, source_length), attention.dtype)
    active = np.arange(n)
    offsets = np.arange(beam)
    for t in range(max_length):
        m = len(active)
        if t == 0:
            log_probs, state, feed, weights = step(
                symbols[::beam], state, feed, first_memory
            )
            log_probs, state = log_probs[beams], state[:, beams]
            feed = None if feed is None else feed[beams]
            weights = None if weights is None else weights[beams]
        else:
            log_probs, state, feed, weights = step(symbols, state, feed, memory)
        vocabulary = log_probs.shape[1]
        total = (scores.reshape(-1, 1) + log_probs.astype(np.float64)).reshape(m, -1)
        top = _topk(total, min(2 * beam, total.shape[1]))
        top_scores = np.take_along_axis(total, top, axis=1)
        written = top % vocabulary
        rows = top // vocabulary + (np.arange(m) * beam)[:, None]

        # hypotheses ending here: at most one per beam, so B of the 2B continue
        ends = written == eos
        ranks = np.where(ends, top_scores / _length_penalty(t + 1, alpha), -np.inf)
        end_at = ranks.argmax(axis=1)[:, None]
        keep_best(
            active,
            np.take_along_axis(rows, end_at, axis=1)[:, 0],
            np.take_along_axis(ranks, end_at, axis=1)[:, 0],
            np.take_along_axis(top_scores, end_at, axis=1)[:, 0],
            t,
            prefix,
            history,
        )

        going = np.argsort(ends.astype(np.int8), axis=1, kind="stable")[:, :beam]
        scores = np.take_along_axis(top_scores, going, axis=1)
        rows = np.take_along_axis(rows, going, axis=1).reshape(-1)
        symbols = np.take_along_axis(written, going, axis=1).reshape(-1)
        prefix = np.concatenate([prefix[rows], symbols[:, None]], axis=1)
        if history is not None:
            if weights is None:
                weights = np.zeros((len(log_probs), source_length), history.dtype)
            history = np.concatenate([history[rows], weights[rows, None]], axis=1)
        state = state[:, rows]
        feed = None if feed is None else feed[rows]
        # the memory stays: a sequence's beams all read the same source

        if t + 1 == max_length:  # out of room: the live ones finish as they are
            keep_best(
                active,
                np.arange(m) * beam,
                scores[:, 0] / _length_penalty(max_length, alpha),
                scores[:, 0],
                max_length,
                prefix,
                history,
            )
            break
        bound = scores[:, 0] / _length_penalty(t + 2, alpha)
        done = (best_rank[active] >= bound) | np.isinf(scores[:, 0])
        if not done.any():
            continue
        left = np.flatnonzero(~done)
        if not len(left):
            break
        active, scores = active[left], scores[left]
        rows = (left[:, None] * beam + offsets).reshape(-1)
        symbols, prefix = symbols[rows], prefix[rows]
        history = None if history is None else history[rows]
        state = state[:, rows]
        feed = None if feed is None else feed[rows]
        memory = _select(memory, rows)

    # the greedy output competes: beam search never ranks below it
    g_steps = g_lengths + (g_lengths < max_length)
    use_greedy = g_ll / _length_penalty(g_steps.astype(np.float64), alpha) > best_rank
    best_ll = np.where(use_greedy, g_ll, best_ll)
    best_length = np.where(use_greedy, g_lengths, best_length)
    width = int(best_length.max()) if n else 0
    out = best_symbols[:, :width]
    g_width = min(width, g_symbols.shape[1])
    out[use_greedy] = 0
    out[use_greedy, :g_width] = g_symbols[use_greedy, :g_width]
    after = np.arange(width)[None, :] >= best_length[:, None]
    out[after] = 0
    if attention is not None:
        attention[use_greedy] = g_attention[use_greedy]
        attention[:, :width][after] = 0.0
    return out, best_length, best_ll


def _topk(values, k):
    """The columns of the ``k`` largest values of each row, largest first."""
    if k < values.shape[1]:
        part = np.argpartition(-values, k - 1, axis=1)[:, :k]
    else:
        part = np.broadcast_to(np.arange(values.shape[1]), values.shape)
    order = np.argsort(-np.take_along_axis(values, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def sample(
    step, state, logits, n_steps, rng, *, temperature, top_k, top_p, banned, stop
):
    """Draw ``n_steps`` symbols, each fed back as the next input, as
    :meth:`sklearn_rnn.nn.CharLanguageModel.sample` draws them (with numpy's
    random generator ``rng``).

    ``step(symbols, state)`` gives the logits ``(n, V)`` of the symbol after
    ``symbols`` ``(n,)`` and the new state; ``logits`` are those of the first draw.
    Symbols ``banned`` are never drawn; after a ``stop`` symbol (kept) a row is
    zeros. Returns the symbols ``(n, n_steps)``, int64.
    """
    n = logits.shape[0]
    scale = 1.0 if temperature == 0 else 1.0 / temperature
    drawn_steps = []
    finished = np.zeros(n, dtype=bool)
    for t in range(n_steps):
        scaled = logits.astype(np.float64) * scale
        scaled[:, banned] = -np.inf
        if temperature == 0:
            drawn = scaled.argmax(axis=1)
        else:
            drawn = _draw(scaled, rng, top_k, top_p)
        drawn_steps.append(drawn)
        if stop is not None:
            finished |= drawn == stop
            if finished.all():
                break
        if t + 1 < n_steps:
            logits, state = step(drawn, state)
    symbols = np.zeros((n, n_steps), dtype=np.int64)
    if drawn_steps:
        symbols[:, : len(drawn_steps)] = np.stack(drawn_steps, axis=1)
    if stop is not None and n_steps:
        is_stop = symbols == stop
        first = np.where(is_stop.any(axis=1), is_stop.argmax(axis=1) + 1, n_steps)
        symbols[np.arange(n_steps)[None, :] >= first[:, None]] = 0
    return symbols


def _draw(logits, rng, top_k, top_p):
    """One symbol per row of ``logits`` (already divided by the temperature): the
    Gumbel-max trick over those that ``top_k`` and ``top_p`` keep."""
    if top_k is not None and top_k < logits.shape[1]:
        kth = -np.partition(-logits, top_k - 1, axis=1)[:, top_k - 1 : top_k]
        logits = np.where(logits < kth, -np.inf, logits)
    if top_p is not None and top_p < 1.0:
        with np.errstate(invalid="ignore"):
            probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        order = np.argsort(-probs, axis=1, kind="stable")
        sorted_probs = np.take_along_axis(probs, order, axis=1)
        before = np.cumsum(sorted_probs, axis=1) - sorted_probs
        # keep a symbol while the mass of those more likely is below top_p: the
        # most likely symbol always stays
        drop = np.zeros_like(probs, dtype=bool)
        np.put_along_axis(drop, order, before >= top_p, axis=1)
        logits = np.where(drop, -np.inf, logits)
    with np.errstate(divide="ignore"):
        gumbel = -np.log(-np.log(rng.random(logits.shape)))
    return (logits + gumbel).argmax(axis=1)
