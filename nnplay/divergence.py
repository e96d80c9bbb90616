"""When a run has gone wrong, and what to tell the person who started it.

Two ways: the loss stops being a finite number, or it stays finite but blows up. A learning rate
far too large throws the weights so far that the outputs saturate: at lr 1000, SGD on the circle
data ends 450 times above its starting loss with every output pinned, and nothing non-finite ever
shows. The Trainer and the batched sweep both judge a run by ``Watch``, on the per-epoch training
loss they record anyway, so the two agree on which runs blew up and when.

The yardstick is the untrained network's loss on the training set: what the network scores
before it has learned anything. A run that is learning, however noisily, stays well below ten
times that (the presets, mini-batch SGD with half the labels flipped: under 1.6 times measured);
the blown-up runs measured here pass it within the first few epochs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

FACTOR = 10.0  # "far above": ten times the untrained network's loss
EPOCHS = 3  # epochs spent far above it (in a row or not) before a run counts as blown up
END_FACTOR = 2.0  # a run that ends above twice its starting loss made the network worse, not better


class Watch:
    """Counts, per network, the epochs whose training loss is far above its starting loss.

    ``start`` holds each network's loss before any update. A start that is not a positive
    number (a custom loss can go negative) leaves that network unwatched: a ratio means nothing there.
    """

    def __init__(self, start: Sequence[float]):
        start = np.asarray(start, dtype=np.float64)
        self.start = np.where(np.isfinite(start) & (start > 0), start, np.inf)
        self.above = np.zeros(len(start), dtype=np.int64)

    def blown(self, losses: Sequence[float]) -> np.ndarray:
        """Take one epoch's training losses; True for each network that has now blown up."""
        self.above += np.asarray(losses, dtype=np.float64) > FACTOR * self.start
        return self.above >= EPOCHS

    def worse(self, losses: Sequence[float]) -> np.ndarray:
        """True for each network whose last training loss ends its run above its start."""
        return np.asarray(losses, dtype=np.float64) > END_FACTOR * self.start


def not_finite(epoch: int, lr: float) -> str:
    return f"Training diverged after {epoch} epochs: the loss or the weights are no longer finite numbers. " + _advice(
        lr
    )


def blown_up(epoch: int, lr: float, start: float, loss: float) -> str:
    return (
        f"Training blew up after {epoch} epochs: the training loss went from {start:.4g} at the start to "
        f"{loss:.4g}, and in {EPOCHS} epochs it was more than {FACTOR:g} times its start. Steps this large "
        "throw the weights far past any minimum and the outputs saturate. " + _advice(lr)
    )


def ended_worse(epoch: int, lr: float, start: float, loss: float) -> str:
    return (
        f"Training made the network worse: after {epoch} epochs the training loss is {loss:.4g}, more than "
        f"{END_FACTOR:g} times the {start:.4g} it started from. " + _advice(lr)
    )


def _advice(lr: float) -> str:
    return (
        f"Try a smaller learning rate (it was {lr:g}; 10 to 100 times smaller is a start) "
        "or an adaptive optimizer such as Adam."
    )
