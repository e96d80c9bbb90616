"""When a run has gone wrong, and what to tell the person who started it.

Two ways: the loss stops being a finite number, or it stays finite but blows up. A learning rate
far too large throws the weights so far that the outputs saturate: at lr 1000, SGD on the circle
data ends 450 times above its starting loss with every output pinned, and nothing non-finite ever
shows. The Trainer and the batched sweep both judge a run by ``Watch``, on the per-epoch training
loss they record anyway, so the two agree on which runs blew up and when.

The yardstick is the untrained network's loss on the training set: what the network scores
before it has learned anything. Runs that learn, however noisily, stay below ten times that: the
presets and mini-batch SGD with up to half the labels flipped stayed under 2 times, the highest
seen (L-BFGS at lr 0.03 on the spiral, which then learned) 5.5 times. The blown-up runs measured
(every optimizer at lr 100 and 1000) passed it within their first few epochs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

FACTOR = 10.0  # "far above": ten times the untrained network's loss
EPOCHS = 3  # epochs spent far above it (in a row or not) before a run counts as blown up
END_FACTOR = 2.0  # a run that ends above twice its starting loss made the network worse, not better


class Watch:
    """Counts, per network, the epochs whose training loss is far above its starting loss.

    ``start`` holds each network's loss before any update. A start that is not a positive
    number (a custom loss can go negative) leaves that network unwatched: a ratio means nothing
    there. Plain Python floats: the Trainer asks once per epoch, and numpy's per-call cost was
    ten times this.
    """

    def __init__(self, start: Sequence[float]):
        self.start = [s if math.isfinite(s) and s > 0 else math.inf for s in start]
        self._limit = [FACTOR * s for s in self.start]
        self._above = [0] * len(self.start)

    def blown(self, losses: Sequence[float]) -> list[bool]:
        """Take one epoch's training losses; True for each network that has now blown up."""
        self._above = [n + (loss > limit) for n, loss, limit in zip(self._above, losses, self._limit)]
        return [n >= EPOCHS for n in self._above]

    def worse(self, losses: Sequence[float]) -> list[bool]:
        """True for each network whose last training loss ends its run above its start."""
        return [loss > END_FACTOR * s for loss, s in zip(losses, self.start)]


def not_finite(epoch: int, lr: float) -> str:
    return f"Training diverged after {epoch} epochs: the loss or the weights are no longer finite numbers. " + _advice(
        lr
    )


def blown_up(epoch: int, lr: float, start: float, loss: float) -> str:
    return (
        f"Training diverged after {epoch} epochs: the training loss blew up from {start:.4g} at the start to "
        f"{loss:.4g}, and in {EPOCHS} epochs it was more than {FACTOR:g} times its start. Steps this large "
        "throw the weights far past any minimum and the outputs saturate. " + _advice(lr)
    )


def ended_worse(epoch: int, lr: float, start: float, loss: float) -> str:
    return (
        f"Training diverged: it made the network worse. After {epoch} epochs the training loss is {loss:.4g}, "
        f"more than {END_FACTOR:g} times the {start:.4g} it started from. " + _advice(lr)
    )


def _advice(lr: float) -> str:
    return (
        f"Try a smaller learning rate (it was {lr:g}; 10 to 100 times smaller is a start) "
        "or an adaptive optimizer such as Adam."
    )
