import os

import pytest

# Every process that trains or measures should run with glibc's malloc tuned (see
# mnas_core/runtime.py); `make test` sets it, this keeps a bare `pytest` run honest too.
os.environ.setdefault("MNAS_NO_REEXEC", "1")


@pytest.fixture(autouse=True)
def _torch_threads():
    """Tests share a 2-core machine; one intra-op thread keeps them from oversubscribing."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
