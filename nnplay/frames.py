"""Which epochs a viewer sees.

A server-drawn page gets about five frames a second, and a small network does most of its learning
in its first few dozen epochs. So frames are spent where the network changes: the untrained network
first, one epoch a frame at the start, then a fixed fraction more epochs each frame (frames fall
evenly on a log-epoch axis). The speed sets that fraction; "slow motion" keeps one epoch a frame,
as TensorFlow Playground does.
"""

from __future__ import annotations

SPEEDS: dict[str, float] = {  # growth of the epoch count from one frame to the next
    "slow motion": 1.0,
    "slow": 1.1,
    "normal": 1.2,
    "fast": 1.5,
    "fastest": 2.0,
}
DEFAULT_SPEED = "normal"


def frame_epochs(epoch: int, speed: str = DEFAULT_SPEED) -> int:
    """How many epochs the frame after ``epoch`` trains (at least one)."""
    if speed not in SPEEDS:
        raise ValueError(f"`speed` must be one of {', '.join(SPEEDS)}, not {speed!r}")
    return max(1, round(max(0, epoch) * (SPEEDS[speed] - 1)))


def frames_epochs(epoch: int, speed: str = DEFAULT_SPEED, frames: int = 1) -> int:
    """The epochs of the next ``frames`` frames after ``epoch`` together: what one frame trains when
    a busy server redraws a page once every ``frames`` ticks, so the run keeps its pace."""
    end = epoch
    for _ in range(max(1, frames)):
        end += frame_epochs(end, speed)
    return end - epoch


def schedule(budget: int, speed: str = DEFAULT_SPEED, start: int = 0) -> list[int]:
    """The epoch of every frame a run from ``start`` to ``budget`` shows, ``start`` and ``budget`` included."""
    epochs = [start]
    while epochs[-1] < budget:
        epochs.append(min(budget, epochs[-1] + frame_epochs(epochs[-1], speed)))
    return epochs


def learned_by(losses: list[float], share: float = 0.9) -> int:
    """The first epoch (1-based) by which the loss has made ``share`` of its way from its first value
    to its last: where a run's learning is, for judging a schedule."""
    first, final = losses[0], losses[-1]
    return next(i for i, v in enumerate(losses, 1) if v - final <= (1 - share) * (first - final))
