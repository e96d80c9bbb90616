"""nnplay: build a small neural network in PyTorch and watch it learn.

The engine knows nothing of the UI: ``Config`` describes an experiment, ``Trainer`` runs it in
chunks and records what the charts draw.
"""

from .config import ARTICLE, PRESETS, Config, ConfigError
from .data import DATASETS, DataError, Dataset, read_csv
from .model import ACTIVATIONS, Network
from .train import Trainer

__all__ = [
    "ACTIVATIONS",
    "ARTICLE",
    "DATASETS",
    "PRESETS",
    "Config",
    "ConfigError",
    "DataError",
    "Dataset",
    "Network",
    "Trainer",
    "read_csv",
]
__version__ = "0.1.0"
