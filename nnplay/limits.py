"""What one session may ask of a shared server, set in one place.

The defaults suit a workshop on a small machine; each can be raised or lowered with an
environment variable of the same name in capitals (``NNPLAY_MAX_SAMPLES=20000``).
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Limits:
    max_samples: int = 20_000  # points per data set
    max_epochs: int = 20_000  # epoch budget
    max_parameters: int = 100_000  # weights and biases of the network
    max_grid: int = 150  # boundary resolution per side
    tick_seconds: float = 0.5  # CPU time one tick may train before it yields
    concurrent_trainers: int = 4  # sessions training at the same moment, server-wide

    @classmethod
    def from_env(cls, environ=None) -> Limits:
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = environ.get(f"NNPLAY_{f.name.upper()}")
            if raw is not None:
                try:
                    values[f.name] = type(f.default)(raw)
                except ValueError:
                    continue  # a typo in the environment keeps the default
        return cls(**values)

    def problems(self, config, n_parameters: int | None = None) -> list[str]:
        """What in this Config goes past the limits, in words a user can act on."""
        found = []
        if config.dataset != "csv" and config.n_samples > self.max_samples:
            found.append(f"n_samples: this server allows at most {self.max_samples:,} points per data set")
        if config.epochs > self.max_epochs:
            found.append(f"epochs: this server allows at most {self.max_epochs:,} epochs")
        if config.grid > self.max_grid:
            found.append(f"grid: this server draws at most {self.max_grid}×{self.max_grid} boundaries")
        if n_parameters is not None and n_parameters > self.max_parameters:
            found.append(
                f"hidden: this network has {n_parameters:,} parameters; this server allows {self.max_parameters:,}"
            )
        return found


def count_parameters(n_inputs: int, hidden: tuple[int, ...], n_outputs: int) -> int:
    widths = (n_inputs, *hidden, n_outputs)
    return sum(a * b + b for a, b in itertools.pairwise(widths))
