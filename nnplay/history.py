"""What a training run leaves behind: per-epoch records (plain floats) and bounded snapshots."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch


class History:
    """One plain dict of floats per epoch (no tensors, no numpy scalars), as skorch keeps its history."""

    def __init__(self):
        self.records: list[dict[str, float]] = []
        self._frame: pd.DataFrame | None = None

    def append(self, record: dict[str, float]) -> None:
        self.records.append(record)
        self._frame = None

    def __len__(self) -> int:
        return len(self.records)

    def last(self) -> dict[str, float] | None:
        return self.records[-1] if self.records else None

    def column(self, name: str) -> list[float]:
        return [r.get(name, float("nan")) for r in self.records]

    def frame(self) -> pd.DataFrame:
        if self._frame is None:
            self._frame = pd.DataFrame.from_records(self.records)
        return self._frame


@dataclass
class Snapshot:
    epoch: int
    params: dict[str, torch.Tensor]  # a CPU copy of the model's state_dict at that epoch
    outputs: np.ndarray  # per training point: P(class 1), P(true class) for multi-class, or the prediction

    @property
    def nbytes(self) -> int:
        return self.outputs.nbytes + sum(t.numel() * t.element_size() for t in self.params.values())


@dataclass
class Snapshots:
    """Snapshots every ``every`` epochs, kept within ``max_count`` and ``max_bytes``.

    When a limit is hit, every other snapshot is dropped (the first and the latest stay) and the
    spacing doubles, so a long run keeps an even timeline in bounded memory.
    """

    every: int
    max_count: int = 200
    max_bytes: int = 8 * 2**20
    items: list[Snapshot] = field(default_factory=list)

    def due(self, epoch: int) -> bool:
        return epoch % self.every == 0

    def due_within(self, epoch: int, n: int) -> range:
        """Which of the ``n`` epochs after ``epoch`` a snapshot falls due after, counted from 0."""
        return range(-(epoch + 1) % self.every, n, self.every)

    nbytes: int = 0

    def add(self, snap: Snapshot) -> None:
        if self.items and self.items[-1].epoch == snap.epoch:
            self.nbytes -= self.items.pop().nbytes
        self.items.append(snap)
        self.nbytes += snap.nbytes
        while len(self.items) > 2 and (len(self.items) > self.max_count or self.nbytes > self.max_bytes):
            last = self.items[-1]
            self.every *= 2
            self.items = [s for s in self.items[:-1] if s.epoch % self.every == 0] + [last]
            self.nbytes = sum(s.nbytes for s in self.items)

    @property
    def epochs(self) -> list[int]:
        return [s.epoch for s in self.items]

    def at(self, epoch: int) -> Snapshot:
        """The snapshot at ``epoch``, or the latest one before it."""
        best = self.items[0]
        for s in self.items:
            if s.epoch <= epoch:
                best = s
        return best

    def drift(self) -> pd.DataFrame:
        """Long table for the drift chart: one row per (snapshot epoch, training point)."""
        if not self.items:
            return pd.DataFrame(columns=["epoch", "point", "output"])
        n = len(self.items[0].outputs)
        return pd.DataFrame(
            {
                "epoch": np.repeat([s.epoch for s in self.items], n),
                "point": np.tile(np.arange(n), len(self.items)),
                "output": np.concatenate([s.outputs for s in self.items]),
            }
        )
