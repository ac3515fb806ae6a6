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
