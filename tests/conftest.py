import pytest
import torch

from nnplay.config import Config

# Tests train many tiny networks; one intra-op thread is faster and keeps runs comparable.
torch.set_num_threads(1)


@pytest.fixture
def quick() -> Config:
    """A small, fast experiment."""
    return Config(n_samples=120, epochs=30, hidden=(6,), test_fraction=0.25)
