"""Loaders for the small public data sets bundled with the package.

Each loader reads files installed with the package; nothing is downloaded. See
``sklearn_rnn/bundled_data/README.md`` for sources and licences.
"""

from importlib import resources

import numpy as np
from sklearn.utils import Bunch

_JAPANESE_VOWELS_DESCR = """\
Japanese Vowels (UCI; Kudo, Toyama and Shimbo 1999; CC BY 4.0)

Nine male speakers each uttered the Japanese vowels /ae/; every utterance is a series of
7 to 29 frames of 12 LPC cepstrum coefficients. The task is to tell the speaker ("1" to
"9") from the series. 270 training and 370 test series. Published test accuracies: 1-NN
DTW 0.949, FCN 0.993, MLSTM-FCN 1.00.
"""


def load_japanese_vowels(*, subset="train", return_X_y=False):
    """Load the Japanese Vowels speaker data: variable-length series of 12 channels.

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        Which split to return (270, 370 or all 640 series).
    return_X_y : bool, default=False
        Return ``(X, y)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (list of float32 arrays of shape ``(n_timesteps_i, 12)``), ``target``
        (ndarray of str, the speaker) and ``DESCR``.
    (X, y) : tuple, when ``return_X_y`` is True.

    Examples
    --------
    >>> from sklearn_rnn.datasets import load_japanese_vowels
    >>> X, y = load_japanese_vowels(return_X_y=True)
    >>> len(X), X[0].shape, str(y[0])
    (270, (20, 12), '1')
    """
    if subset not in ("train", "test", "all"):
        raise ValueError(f"subset must be 'train', 'test' or 'all', got {subset!r}")
    path = resources.files("sklearn_rnn") / "bundled_data" / "JapaneseVowels.npz"
    with resources.as_file(path) as file, np.load(file, allow_pickle=False) as npz:
        parts = ["train", "test"] if subset == "all" else [subset]
        X, y = [], []
        for part in parts:
            stacked = npz[f"X_{part}"]
            X.extend(np.split(stacked, np.cumsum(npz[f"lengths_{part}"])[:-1]))
            y.append(npz[f"y_{part}"])
    y = np.concatenate(y).astype(object).astype(str)
    if return_X_y:
        return X, y
    return Bunch(data=X, target=y, DESCR=_JAPANESE_VOWELS_DESCR)


_TINYSHAKESPEARE_DESCR = """\
tiny shakespeare (Karpathy 2015, from the works of William Shakespeare; public domain)

1,115,394 characters (65 distinct) of Shakespeare's plays, joined into one plain-text
file, as used by char-rnn. Convention: the first 90 % trains, the last 10 % validates.
Validation cross-entropy in nats per character: uniform 4.17, smoothed 5-gram 1.76.
"""

# The conventional split: the first 90 % of the characters train.
_TINYSHAKESPEARE_SPLIT = 0.9


def load_tinyshakespeare(*, subset="all", return_text=False):
    """Load tiny shakespeare: one text of about a million characters.

    Parameters
    ----------
    subset : {"all", "train", "validation"}, default="all"
        The whole text, its first 90 % or its last 10 % (the usual split for
        language models).
    return_text : bool, default=False
        Return the text itself instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (str, the text) and ``DESCR``.
    text : str, when ``return_text`` is True.

    Examples
    --------
    >>> from sklearn_rnn.datasets import load_tinyshakespeare
    >>> text = load_tinyshakespeare(return_text=True)
    >>> len(text), len(set(text))
    (1115394, 65)
    >>> print(text[:30])
    First Citizen:
    Before we proce
    """
    if subset not in ("all", "train", "validation"):
        raise ValueError(
            f"subset must be 'all', 'train' or 'validation', got {subset!r}"
        )
    path = resources.files("sklearn_rnn") / "bundled_data" / "tinyshakespeare.txt"
    text = path.read_text(encoding="utf-8")
    split = int(_TINYSHAKESPEARE_SPLIT * len(text))
    if subset == "train":
        text = text[:split]
    elif subset == "validation":
        text = text[split:]
    if return_text:
        return text
    return Bunch(data=text, DESCR=_TINYSHAKESPEARE_DESCR)
