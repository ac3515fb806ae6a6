"""What several test files share, as fixtures: the project's real data sets, the
tolerance of computations done twice, and the helpers of more than one file (a small
NER task and tagger settings that learn it quickly, tag scheme conversion, a pickle
that runs code when loaded and a way to plant it in a saved model).

Test files never import each other: a helper that two of them need lives here."""

import os
import zipfile
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest
import torch

from sklearn_rnn import _schemes

# Two cores are the budget: one thread per test process keeps timings sane.
torch.set_num_threads(int(os.environ.get("SKLEARN_RNN_TEST_THREADS", "1")))

SHARED_DATA = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data").resolve()

# Set (to anything but "" or "0") where the shared data must be present, as .ci/run
# does: its absence then fails the tests that read it instead of skipping them.
REQUIRE_DATA = "SKLEARN_RNN_REQUIRE_DATA"


@pytest.fixture(scope="session")
def shared_data():
    """The project's real data sets, which live beside the repository, not in it.

    Tests that read them are skipped where the folder is absent, or fail there
    when the environment variable ``SKLEARN_RNN_REQUIRE_DATA`` is set."""
    if not SHARED_DATA.is_dir():
        reason = f"the shared data folder {SHARED_DATA} is absent on this machine"
        if os.environ.get(REQUIRE_DATA, "") not in ("", "0"):
            pytest.fail(f"{reason}, and {REQUIRE_DATA} says it must be there")
        pytest.skip(reason)
    return SHARED_DATA


@pytest.fixture
def rounding():
    """How closely two computations of the same outputs (one sentence alone or in a
    padded batch, say) agree where ``device="auto"`` trains: float32 rounding on the
    CPU; on a CUDA GPU cuDNN may compute in TF32 and group sums otherwise (the user
    guide says 1e-3)."""
    return 1e-3 if torch.cuda.is_available() else 1e-5


# ---------------------------------------------------------------------- taggers

# LSTMSequenceTagger settings that learn the NER task below in seconds (read-only:
# copy them with {**tagger_params, ...} to change one)
TAGGER_PARAMS = MappingProxyType(
    dict(
        hidden_size=16,
        embedding_dim=16,
        char_embedding_dim=8,
        char_filters=16,
        dropout=0.0,
        learning_rate_init=0.02,
        batch_size=8,
        max_iter=15,
        random_state=0,
        # one network, the fast case (the default trains two; tests of two set it)
        n_networks=1,
    )
)

PEOPLE = [["Anna"], ["Bo"], ["Carl", "Berg"], ["Dana"], ["Erik", "Lund"], ["Fay"]]
PLACES = [["Oslo"], ["Rome"], ["New", "York"], ["Lima"], ["Bern"]]
TEMPLATES = [
    "{PER} lives in {LOC}",
    "{PER} met {PER} in {LOC} today",
    "in {LOC} , {PER} works",
    "{PER} flew from {LOC} to {LOC}",
    "the weather in {LOC} is fine",
]


def make_ner_data(n, seed=0):
    """Small NER task in IOB2 with one- and two-token chunks."""
    rng = np.random.RandomState(seed)
    X, y = [], []
    for _ in range(n):
        words, tags = [], []
        for part in TEMPLATES[rng.randint(len(TEMPLATES))].split():
            if part in ("{PER}", "{LOC}"):
                kind = part[1:-1]
                pool = PEOPLE if kind == "PER" else PLACES
                name = pool[rng.randint(len(pool))]
                words += name
                tags += [f"B-{kind}"] + [f"I-{kind}"] * (len(name) - 1)
            else:
                words.append(part)
                tags.append("O")
        X.append(words)
        y.append(tags)
    return X, y


def convert_to_scheme(y, scheme):
    """Tag sequences ``y`` re-encoded in another chunk ``scheme``."""
    return [_schemes.encode_chunks(_schemes.chunks(s), len(s), scheme) for s in y]


@pytest.fixture(scope="session")
def tagger_params():
    """:data:`TAGGER_PARAMS`: fast tagger settings for :func:`make_ner_data`."""
    return TAGGER_PARAMS


@pytest.fixture(scope="session")
def ner_data():
    """:func:`make_ner_data`: ``ner_data(n, seed=0) -> (X, y)``."""
    return make_ner_data


@pytest.fixture(scope="session")
def to_scheme():
    """:func:`convert_to_scheme`: ``to_scheme(y, scheme) -> y`` in ``scheme``."""
    return convert_to_scheme


# ---------------------------------------------------------------------- files


class Payload:
    """Unpickling this runs code: it would create the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def replace_member(path, member, data):
    """Replace one member of a saved model file (a zip archive) with ``data``."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members[member] = data
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)


@pytest.fixture(scope="session")
def code_running_pickle():
    """:class:`Payload`: ``code_running_pickle(marker)`` pickles to code that
    creates the file ``marker`` when it is unpickled."""
    return Payload


@pytest.fixture(scope="session")
def rewrite_member():
    """:func:`replace_member`: ``rewrite_member(path, member, data)``."""
    return replace_member
