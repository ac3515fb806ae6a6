import os
from pathlib import Path

import pytest
import torch

# Two cores are the budget: one thread per test process keeps timings sane.
torch.set_num_threads(int(os.environ.get("SKLEARN_RNN_TEST_THREADS", "1")))

SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


@pytest.fixture
def shared_data():
    """The project's real data sets, which live beside the repository, not in it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"the shared data folder {SHARED_DATA} is absent on this machine")
    return SHARED_DATA


@pytest.fixture
def rounding():
    """How closely two computations of the same outputs (one sentence alone or in a
    padded batch, say) agree where ``device="auto"`` trains: float32 rounding on the
    CPU; on a CUDA GPU cuDNN may compute in TF32 and group sums otherwise (the user
    guide says 1e-3)."""
    return 1e-3 if torch.cuda.is_available() else 1e-5
