"""Docstring paragraphs that several estimators share, written once.

A class docstring names a paragraph as ``{{name}}`` on a line of its own;
:func:`fill_doc` puts the paragraph there at that line's indentation.
"""

import re
import textwrap

_CHECKPOINT_PARAMETER = """
checkpoint_dir : str, path-like or None, default=None
    Save the model to a file in this folder after every epoch (the safe format of
    :meth:`save`), replacing the fit's previous checkpoint. The file name holds the
    class, the process id and a random tag, so parallel searches never overwrite each
    other's files; ``checkpoint_path_`` names it. To resume, ``load`` it, set
    ``warm_start=True`` and call ``fit`` again.
"""

_LEARNING_RATE_PARAMETER = """
learning_rate : {"constant", "adaptive", "cosine"}, default="constant"
    ``"constant"`` keeps ``learning_rate_init``. ``"adaptive"`` divides it by 5 on
    each shorter plateau of a third of ``n_iter_no_change`` epochs (at least one),
    stretched and guarded against noise as the stopping rule is (see the user guide).
    ``"cosine"`` lowers it batch by batch along half a cosine, from
    ``learning_rate_init`` to 0 at the end of the planned training: ``max_iter`` epochs,
    or ``max_time`` seconds when that comes first -- usually the best model for a
    given budget. Each ``fit`` starts again from ``learning_rate_init``; in
    ``partial_fit`` every option keeps the rate constant.
"""

_MAX_TIME_PARAMETER = """
max_time : float or None, default=None
    Seconds one call of ``fit`` or ``partial_fit`` may train, evaluation included:
    training stops in time for the last (possibly partial) epoch to be evaluated and
    the best weights kept. ``None`` sets no limit.
"""

_EMA_DECAY_PARAMETER = """
ema_decay : float or None, default=None
    Keep an exponential moving average of the weights, updated after every batch with
    this decay (0.999 averages over roughly the last thousand batches; the decay starts
    lower and rises to it, so the first batches are not averaged with the initial
    weights). Validation, early stopping, checkpoints and the fitted model use the
    average; training goes on from the trained weights. ``None`` averages nothing, and
    ``partial_fit`` never does.
"""

_PRECISION_PARAMETER = """
precision : {"float32", "bfloat16", "auto"}, default="float32"
    The arithmetic of training. ``"bfloat16"`` is mixed precision: the matrix
    products (recurrent layers, attention, output layers) run in bfloat16 under
    :func:`torch.autocast`, while the weights, their updates and the loss stay
    float32 -- on a GPU, or a CPU with AVX-512 BF16 or AMX instructions, training
    takes markedly less time per epoch, at a precision that training rarely
    notices. ``"auto"`` uses bfloat16 where the device computes it natively and
    float32 elsewhere. Prediction always runs in float32.
"""

_LAYOUT_PARAMETER = """layout : {"NLC", "NCL"} or None, default=None
    Where the channels of numeric input are: ``"NLC"`` reads a 3-D array as
    ``(n_samples, n_timesteps, n_channels)`` and each array of a list as
    ``(n_timesteps_i, n_channels)`` (batch-first PyTorch, tslearn); ``"NCL"`` reads
    them channels first, ``(n_samples, n_channels, n_timesteps)`` and
    ``(n_channels, n_timesteps_i)`` (sktime, aeon). ``None`` reads channels last and
    warns when a 3-D array has fewer time steps than channels, the usual sign of a
    channels-first array.
"""

_TOKENIZER_PARAMETER = """
tokenizer : callable or None, default=None
    Turns a raw string into a list of tokens; overrides ``token_pattern``. A function
    is saved by name only: give it again to :func:`~sklearn_rnn.load`. Not used for
    token lists or numeric input.

token_pattern : str or None, default=None
    The regular expression whose matches are the tokens of a raw string, as
    ``CountVectorizer``'s parameter of that name (with one capturing group, the
    group's text is the token). Unlike a function, it is saved with the model.
    ``None`` splits words and punctuation marks with ``(?u)\\w+|[^\\w\\s]`` (unlike
    ``CountVectorizer``'s default, it keeps one-letter words and punctuation); e.g.
    ``r"(?u)[#@]?\\w+"`` keeps hashtags and mentions whole.
"""

_VOCABULARY_PARAMETERS = """
min_frequency : int, default=1
    Tokens seen fewer times in ``fit`` share the unknown-symbol slot.

max_vocabulary_size : int or None, default=None
    Keep only this many of the most frequent tokens.
"""

_NUMERIC_PARAMETERS = (
    """
standardize : bool, default=True
    Scale each numeric channel to zero mean and unit variance with statistics learned in
    ``fit`` (raw sensor values train badly otherwise).
"""
    + _LAYOUT_PARAMETER
)

_BATCH_SIZE_PARAMETER = """
batch_size : int, default=32
    Sequences per mini-batch. Batches are drawn from pools of similar length and padded
    only to their own longest sequence.
"""
# the classifier's and the regressor's: they may take "auto"
_AUTO_BATCH_SIZE_PARAMETER = """
batch_size : int or "auto", default="auto"
    Sequences per mini-batch. Batches are drawn from pools of similar length and padded
    only to their own longest sequence. ``"auto"`` takes a tenth of the training
    sequences, at least 8 and at most 32 (``batch_size_`` says what it chose): from
    320 sequences on that is 32, and a set of a few dozen series still gets several
    optimizer steps an epoch.
"""

_HISTORY_ATTRIBUTE = """
history_ : list of dict
    One record per epoch: ``epoch``, ``train_loss``, ``lr`` (the learning rate of its
    last batch), ``duration`` (seconds), ``batches`` (only for an epoch that
    ``max_time`` cut short: how many it trained) and, with early stopping,
    ``valid_loss`` and ``valid_score``.
"""

PARAGRAPHS = {
    "history_attribute": _HISTORY_ATTRIBUTE,
    "X_fit": """
X : list of str, list of token lists, array-like or list of arrays
    Raw strings, token lists, a 2-D array ``(n_samples, n_timesteps)``, a 3-D array
    ``(n_samples, n_timesteps, n_channels)`` or a list of arrays
    ``(n_timesteps_i, n_channels)`` of any lengths.
""",
    "X_predict": """
X : list of str, list of token lists, array-like or list of arrays
    Sequences of the kind seen in ``fit``.
""",
    "refit_parameter": """
refit : bool, default=False
    After early stopping has chosen how many epochs to train on the
    ``validation_fraction`` it held out of ``X``, train the network again from its
    initial weights on all of ``X``, held-out samples included, for that many epochs,
    so that no sample is left unlearned (as scikit-learn's
    ``LogisticRegressionCV(refit=True)`` refits on all folds). A fit takes about 1.6
    times as long. Only when early stopping holds data out and ``n_iter_no_change``
    or ``max_iter`` end the first fit (not after ``max_time`` or a callback, nor in
    ``partial_fit`` or a ``warm_start`` fit). Its learning rate retraces the fit's
    epoch by epoch with ``learning_rate="adaptive"``, and with ``"cosine"`` anneals
    over the refit's own epochs. The refit shares ``max_time``, and
    ``callbacks`` see its epochs too (records without ``valid_score``); should it not
    run to its end (out of time, a diverging loss, a callback, Ctrl-C), the
    early-stopped weights stay, with a warning.
""",
    # what the classifier and the regressor chose for numeric series
    "series_attributes": """
downsample_ : int
    The stride of the convolutional front end (``downsample``, or what ``"auto"``
    chose); 1 means none.

series_scale_ : bool
    Whether the network reads each series' scale (``series_scale``, or what
    ``"auto"`` chose).

window_warp_ : float
    The share of each series' length that training warped (``window_warp``, or what
    ``"auto"`` chose); 0.0 for none.

conv_branch_ : bool
    Whether the network has the convolutional branch beside its recurrent layer
    (``conv_branch``, or what ``"auto"`` chose).
""",
    "refit_attributes": """
refit_loss_curve_ : list of float or None
    The training loss of each epoch of the refit on all the data (``refit``), or
    ``None`` when the model is the early-stopped one. ``n_iter_``, ``loss_curve_``
    and ``validation_scores_`` describe the fit that chose the epochs.
""",
    "pooling_parameter": """
pooling : {"last", "mean", "max"}, default="max"
    How the states of a sequence become one vector: ``"last"`` takes the state at the
    sequence's true last step (and, when bidirectional, the backward direction's state
    at its first step); ``"mean"`` and ``"max"`` pool over the real steps only.

downsample : int or "auto", default="auto"
    Numeric input only: above 1, two learned convolutions read the series first (the
    first of kernel ``2 * downsample`` moving ``downsample`` steps at a time, the
    second of kernel 3, ``hidden_size`` filters each), so the recurrent layer reads
    one vector of local shape per ``downsample`` steps and runs that many times
    faster. ``"auto"`` chooses ``round(median training length / 40)``, so series of
    a median length under 60 steps are read step by step (1); the value used is
    ``downsample_``. Ignored for text.

series_normalize : bool, default=True
    Numeric input only: beside each channel, feed the network a copy z-normalised
    over the steps of its own series (its shape, whatever its level and scale), as
    time-series classifiers usually read series; the values themselves stay, so
    nothing is lost. Doubles the input channels.

series_differences : bool, default=False
    Numeric input only: beside each channel, feed the network its change from one
    step to the next (0 at a series' first step), as derivative DTW reads series:
    the slopes that outline a shape, whatever its level. With ``series_normalize``
    the changes get their z-normalised copy too. Doubles the input channels again.

series_scale : bool or "auto", default="auto"
    Numeric input only: after the other channels, feed the network the logarithm of
    each channel's standard deviation over its own series (plus a hundredth of the
    training series' median, so that a flat series has one), the same at every
    step. Standardising a channel as a whole squashes series whose scales differ by
    orders of magnitude (electrical currents of appliances, counts) to near zero,
    and the z-normalised copy of ``series_normalize`` drops the scale; this gives
    it back. ``"auto"`` turns it on when, for some channel, the 90th percentile of
    the training series' standard deviations is more than 10 times the 10th; the
    choice is ``series_scale_``. Ignored for text.

window_warp : float or "auto", default="auto"
    Numeric input only, while training: each series of each batch has a window of
    this share of its length, placed at random, run at twice or half its speed, and
    is resampled back to its own length (window warping, Le Guennec et al. 2016), so
    that the network learns shapes that do not hang on their exact timing; 0 turns
    it off. ``"auto"`` warps 0.1 of each series when the training series' median
    length is 60 steps or more, and leaves shorter series (read step by step) as
    they are; the value used is ``window_warp_``. Prediction reads series as they
    are. Ignored for text.

conv_branch : bool or "auto", default="auto"
    Numeric input only: beside the recurrent layer, a small fully convolutional
    network (two convolutions of kernels 5 and 3, ``hidden_size`` filters each, with
    batch normalisation and ReLUs) reads what the recurrent layer reads, and the
    mean of its features over each series' steps joins the pooled vector, as
    LSTM-FCN sets an FCN beside its LSTM (Karim et al. 2018): local shapes,
    wherever they fall in a series. ``"auto"`` adds it where the front end reads the
    series (``downsample_`` above 1), so it runs on the front end's few steps for a
    fraction of the recurrent layer's time; the choice is ``conv_branch_``.
    Ignored for text.

n_networks : int, default=1
    How many networks to train side by side in one model, each from its own initial
    weights and draws of dropout, on the same batches. They predict as one: the
    mean of their class probabilities (as scikit-learn's soft voting) or of their
    outputs, which early stopping scores too. Several networks score a little
    higher, for that many times the time to predict and more to fit (three on CR and
    MPQA, 10-fold, without adversarial training: 0.8008 and 0.8592 against 0.7939
    and 0.8530 for one, in about three times the fit). ``transform`` joins the
    networks' vectors.

word_dropout : float, default=0.0
    Text and token input only: while training, replace a word seen ``c`` times in
    ``fit`` by the unknown symbol with probability
    ``word_dropout / (word_dropout + c)`` (Kiperwasser and Goldberg 2016, as the
    tagger does): rare words often, frequent ones almost never, so that the network
    learns what to make of words it never saw and cannot lean on a few it saw once
    or twice. 0 turns it off.

adversarial_eps : float, default=0.0
    Text and token input read through a word embedding only (ignored for series
    and for one-hot symbols, ``embedding_dim=None``): adversarial training of the
    word vectors (Miyato, Dai and Goodfellow 2017). Each training step also scores
    the batch with every sentence's word vectors (with their character features,
    if any) moved a distance ``adversarial_eps`` (L2 norm over the whole sentence;
    an embedding row starts at a norm of about ``sqrt(embedding_dim)``) in the
    direction that raises its loss fastest, and trains on the sum of both losses
    (which ``loss_curve_`` holds), so that sentences near those seen in ``fit`` get
    the same answer. An epoch takes about 2.5 times as long. 0 turns it off. With
    ``pretrained_embeddings``, a smaller move may do better: on TREC-6, a vote with
    word vectors scored about two points more at 5 than at 10.

char_features : bool, default=False
    Text and token input only: beside each word's embedding, read its spelling
    (in its original case, even when ``lowercase`` is True) with the tagger's
    character CNN, so that a word never seen in ``fit`` (a misspelling, a rare
    form, a name) still tells something, and words that share a stem or an affix
    share features. An epoch costs more, but on CR and MPQA the fits stopped
    sooner (median fit 57 s against 79 s, and 46 s against 45 s). Off by default:
    it gained on those review sentences but lost on TREC-6 questions (see the user
    guide's "Choosing settings").

char_embedding_dim : int, default=25
    With ``char_features``: size of the character embedding.

char_filters : int, default=50
    With ``char_features``: features per word (convolution filters of width 3).
""",
    "pretrained_parameters": """
pretrained_embeddings : mapping or tuple (tokens, ndarray) or None, default=None
    Word vectors to start the embedding from: a mapping token -> vector, or a list of
    tokens with a matrix ``(n_tokens, dim)``; their size replaces ``embedding_dim``.
    Their tokens join the vocabulary, so words that ``fit`` never saw keep their
    vectors. The words only the vectors bring in (unseen in ``fit``, or rarer than
    ``min_frequency``) keep their vectors as they are, out of the optimizer, so the
    400,000 words of a GloVe file cost memory but not time. Looked up lowercased
    when ``lowercase`` is True (the first of several spellings wins). Only for token
    input.

freeze_embeddings : bool, default=False
    Keep the word embedding as the vectors made it during training.
""",
    "encoder_parameters": """
cell : {"rnn", "lstm", "gru"}, default="gru"
    The recurrent cell: ``"rnn"`` is the tanh recurrence
    ``h_t = tanh(W_hh h_{t-1} + W_xh x_t + b)``, ``"lstm"`` adds input, forget and
    output gates and a cell state, ``"gru"`` is the lighter gated alternative.

hidden_size : int, default=128
    Size of the hidden state of each layer and direction.

num_layers : int, default=1
    Stacked recurrent layers.

bidirectional : bool, default=True
    Read each sequence in both directions and join the two hidden states.

dropout : float, default=0.5
    Dropout on embedded symbols, between stacked layers and on what the head reads.

init_state : {"zeros", "learned"}, default="zeros"
    The initial hidden state: all zeros, or a vector learned with the other weights.

embedding_dim : int or None, default=300
    For symbol input (text or token lists): the size of the learned embedding, or
    ``None`` to feed one-hot vectors (exact, but costly for large vocabularies). Numeric
    channels always enter as they are.
""",
    "tokenizer_parameter": _TOKENIZER_PARAMETER,
    "vocabulary_parameters": _VOCABULARY_PARAMETERS,
    "numeric_parameters": _NUMERIC_PARAMETERS,
    "input_parameters": _TOKENIZER_PARAMETER
    + """
lowercase : bool, default=True
    Lowercase raw strings before tokenising, and string tokens before the vocabulary
    lookup.
"""
    + _VOCABULARY_PARAMETERS
    + _NUMERIC_PARAMETERS,
    "training_parameters": """
max_iter : int, default=200
    Maximum number of epochs (passes over the training data).
"""
    + _MAX_TIME_PARAMETER
    + _BATCH_SIZE_PARAMETER
    + """
learning_rate_init : float, default=2e-3
    Learning rate of the optimizer.
"""
    + _LEARNING_RATE_PARAMETER
    + _EMA_DECAY_PARAMETER
    + _PRECISION_PARAMETER
    + """
optimizer : {"adam", "adamw", "rmsprop", "sgd"} or callable, default="adam"
    ``"sgd"`` uses Nesterov momentum 0.9. A callable is called as
    ``optimizer(params, lr=learning_rate_init, weight_decay=weight_decay)`` and must
    return a :class:`torch.optim.Optimizer`.

weight_decay : float, default=0.0
    L2 penalty passed to the optimizer.

clip_grad_norm : float or None, default=5.0
    Rescale the gradient when its norm exceeds this (exploding gradients are common in
    RNNs); ``None`` turns clipping off.

early_stopping : bool or "auto", default="auto"
    Hold out ``validation_fraction`` of the training data, stop when its score has not
    improved for ``n_iter_no_change`` epochs and restore the weights of the best epoch.
    ``"auto"`` does so when ``fit`` gets at least 1,000 samples. Without it, training
    stops when the training loss has not improved by ``tol`` for ``n_iter_no_change``
    epochs.

validation_fraction : float, default=0.1
    Share of the training data held out for early stopping.

n_iter_no_change : int, default=10
    Epochs without improvement before training stops. When an epoch has fewer than
    30 batches, the patience stretches to cover ``30 * n_iter_no_change`` batches
    (thirty times as many epochs for a data set of one batch), and no plateau is
    declared while a line fitted to the watched figure over the patience still
    improves by ``tol`` or more.

tol : float, default=1e-4
    The smallest change that counts as an improvement.

callbacks : list of callables or None, default=None
    Called after every epoch, in order, each with a copy of that epoch's
    ``history_`` record (a dict: ``epoch``, ``train_loss``, ``valid_score``, ...);
    one that returns a true value stops training there (the best weights are kept
    as usual). For logging, plotting or a stopping rule of your own.

warm_start : bool, default=False
    Let ``fit`` continue from the current weights, vocabulary and scaling instead of
    starting anew. Only the training parameters may change between such fits
    (``max_iter``, ``learning_rate_init``, ``batch_size``, ``early_stopping``, ...):
    a change to one that made the network or its input reading (``hidden_size``,
    ``cell``, ``tokenizer``, ...) raises a ``ValueError`` rather than being ignored.

verbose : int, default=0
    0 is silent, 1 prints a line per epoch, 2 also shows each epoch's batches on
    stderr: a bar with the rate and the time left in a terminal or a notebook (tqdm's,
    when it is installed), plain lines at each quarter of an epoch in log files and
    pipes, free of control characters.

random_state : int, RandomState instance or None, default=None
    Seeds weight initialisation, dropout, batch order and the validation split. An int
    gives the same model and predictions on a given device; the global random state of
    numpy and torch is left as it was.

device : str or torch.device, default="auto"
    Where to train: ``"auto"`` picks CUDA, then MPS, then the CPU; any torch device
    string (``"cpu"``, ``"cuda:1"``) is accepted. On a machine with several GPUs,
    ``"cuda"`` or ``"auto"`` without an index takes the GPU ``torchrun`` assigned the
    process (``LOCAL_RANK``), else the one with the most free memory, so that search
    workers spread over the GPUs. Prediction runs where the model is (see ``to``). A
    saved or pickled model goes back to this device when it is loaded on a machine
    that has it, and to the CPU on one that does not.
"""
    + _CHECKPOINT_PARAMETER,
    "training_attributes": """
loss_curve_ : list of float
    Mean training loss of each epoch.

validation_scores_ : list of float or None
    Score on the held-out data after each epoch; ``None`` without early stopping.

best_validation_score_ : float or None
    Best of ``validation_scores_``, whose weights the model keeps.

best_loss_ : float or None
    Lowest training loss; ``None`` with early stopping.

n_iter_ : int
    Epochs trained, over all calls of ``fit`` and ``partial_fit`` since the last fresh
    start.

batch_size_ : int
    Sequences per training batch in the last call of ``fit`` or ``partial_fit``
    (``batch_size``, or what ``"auto"`` chose).
"""
    + _HISTORY_ATTRIBUTE
    + """
module_ : torch.nn.Module
    The trained network (pure torch, usable on its own).

vocabulary_ : dict
    Token to index, for symbol input. Index 0 is padding and 1 the unknown symbol.

n_channels_ : int
    Channels of numeric input.

input_mean_, input_scale_ : 1-D ndarray or None
    Channel statistics used by ``standardize``, one per channel the network reads:
    the input's ``n_channels_``, then their changes (``series_differences``), then
    the normalised copies of both (``series_normalize``), then the series' scales
    (``series_scale``).

n_features_in_ : int
    Time steps of a 2-D numeric table seen in ``fit`` (only set for such input).

checkpoint_path_ : str
    The last checkpoint file (only with ``checkpoint_dir``).
""",
}

# the classifier's and the regressor's training parameters, with batch_size="auto"
PARAGRAPHS["many_to_one_training_parameters"] = PARAGRAPHS[
    "training_parameters"
].replace(_BATCH_SIZE_PARAMETER, _AUTO_BATCH_SIZE_PARAMETER)

# Each parameter of these groups alone too, for an estimator that shares only some.
for _group in ("encoder_parameters", "training_parameters"):
    for _block in re.split(r"\n(?=\w+ : )", PARAGRAPHS[_group].strip("\n")):
        PARAGRAPHS[_block.split(" : ", 1)[0]] = _block

_PLACEHOLDER = re.compile(r"^( *)\{\{(\w+)\}\}$", re.MULTILINE)


def fill_doc(obj):
    """Replace each ``{{name}}`` line of ``obj.__doc__`` with its shared paragraph,
    then make every ``name : ..., default=...`` line of a parameter in the class's
    ``_defaults`` show the default the class really has."""
    obj.__doc__ = _PLACEHOLDER.sub(_paragraph, obj.__doc__)
    for name, value in getattr(obj, "_defaults", {}).items():
        pattern = re.compile(rf"^(\s*{re.escape(name)} : .*, default=).*$", re.M)
        obj.__doc__ = pattern.sub(
            lambda m, v=value: m.group(1) + _format_default(v), obj.__doc__
        )
    return obj


def _paragraph(match):
    indent, name = match.groups()
    return textwrap.indent(PARAGRAPHS[name].strip("\n"), indent)


def _format_default(value):
    return f'"{value}"' if isinstance(value, str) else repr(value)
