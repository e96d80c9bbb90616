"""What one session may ask of a shared server, set in one place.

The defaults suit a workshop on a small machine; each can be raised or lowered with an
environment variable of the same name in capitals (``NNPLAY_MAX_SAMPLES=20000``).
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from dataclasses import dataclass, fields
from typing import NamedTuple

from . import data, losses


@dataclass(frozen=True)
class Limits:
    max_samples: int = 20_000  # points per data set
    max_epochs: int = 20_000  # epoch budget
    max_parameters: int = 100_000  # weights and biases of the network
    max_grid: int = 150  # boundary resolution per side
    tick_seconds: float = 0.5  # CPU time one tick may train before it yields
    # Sessions training at the same moment, per server process. One: a process runs Python on one
    # core, and trainers taking turns there spend their time switching (the load test measured
    # twice the CPU for the same work with 4 at once); bench.load and README have the figures.
    concurrent_trainers: int = 1
    turn_seconds: float = 5.0  # how long a run keeps its trainer while others wait for one
    # Sessions playing at once on the Playground, trained together by the room (nnplay.room); the
    # rest wait in line. 0: as many as the redraw budget serves (nnplay.room.Pace.capacity).
    room_capacity: int = 0

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

    def problems(self, config, n_parameters: int | None = None) -> list[Problem]:
        """What in this Config goes past the limits, each with the field it is about and words a
        user can act on."""
        found = []
        if config.dataset != "csv" and config.n_samples > self.max_samples:
            found.append(Problem("n_samples", f"this server allows at most {self.max_samples:,} points per data set"))
        if config.epochs > self.max_epochs:
            found.append(Problem("epochs", f"this server allows at most {self.max_epochs:,} epochs"))
        if config.grid > self.max_grid:
            found.append(Problem("grid", f"this server draws at most {self.max_grid}×{self.max_grid} boundaries"))
        if n_parameters is not None and n_parameters > self.max_parameters:
            found.append(
                Problem(
                    "hidden",
                    f"this network has {n_parameters:,} parameters; this server allows {self.max_parameters:,}",
                )
            )
        return found

    def check(self, config, table=None) -> list[Problem]:
        """The problems (see problems) of a Config on its data (``table``: an uploaded CSV), with
        the network's parameter count worked out from the data's inputs and the loss's outputs."""
        try:
            n_in, task, n_classes = data.shape(config, table)
            n_out, _ = losses.resolve(config.loss, task, config.loss_expr)[1].outputs(task, n_classes)
        except ValueError:
            return self.problems(config)  # the Trainer will explain the mismatch itself
        return self.problems(config, count_parameters(n_in, config.hidden, n_out))


class Problem(NamedTuple):
    """One thing past a limit: the Config ``field`` it is about and the ``message``. As text,
    "field: message", as the app shows it."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def count_parameters(n_inputs: int, hidden: tuple[int, ...], n_outputs: int) -> int:
    widths = (n_inputs, *hidden, n_outputs)
    return sum(a * b + b for a, b in itertools.pairwise(widths))


class TrainerSlots:
    """The server-wide trainers: ``capacity`` sessions train at once, the rest wait in line, first
    come first served.

    A session keeps its slot from one tick to the next (a run is not interrupted by the line) and
    gives it back when it finishes or pauses. A holder or a session in line that has not asked
    again for ``lease_seconds`` is taken to be gone (a closed tab runs no more ticks) and loses its
    place, so no slot stays taken by a session that will never come back; ``alive(owner)``, when
    given, says sooner (the server knows when a tab closed). A pinned slot (``acquire(pin=True)``)
    never lapses: a sweep asks once, trains for seconds and releases in a finally.
    """

    def __init__(self, capacity: int, lease_seconds: float = 10.0, clock=time.monotonic, alive=None):
        self.capacity = max(1, capacity)
        self.lease_seconds = lease_seconds
        self._clock = clock
        self._alive = alive or (lambda owner: True)
        self._holders: dict[object, float] = {}  # owner -> last seen
        self._line: dict[object, float] = {}  # insertion order is the order of arrival
        self._pinned: set = set()  # holders that never lapse: they release in a finally
        self._granted: dict[object, float] = {}  # holder -> when it got its slot
        self._changed = threading.Condition()

    def acquire(self, owner, timeout: float = 0.0, *, pin: bool = False) -> bool:
        """True when ``owner`` holds a slot (now or already); waits up to ``timeout`` seconds in line.
        A pinned slot does not lapse: the caller must release it."""
        deadline = self._clock() + timeout
        with self._changed:
            while True:
                now = self._clock()
                if owner in self._holders:
                    self._holders[owner] = now
                    if pin:
                        self._pinned.add(owner)
                    self._expire(now)
                    return True
                self._line[owner] = now  # a newcomer joins at the end; one in line keeps its place
                self._expire(now)
                if owner not in self._line:
                    return False  # its session is gone
                if len(self._holders) < self.capacity and next(iter(self._line)) == owner:
                    del self._line[owner]
                    self._holders[owner] = self._granted[owner] = now
                    if pin:
                        self._pinned.add(owner)
                    self._changed.notify_all()  # the next in line may fit too
                    return True
                left = deadline - now
                if left <= 0:
                    return False
                self._changed.wait(min(left, self.lease_seconds / 2))

    def turn_over(self, owner, quantum: float) -> bool:
        """True when ``owner`` has held its slot for ``quantum`` seconds and others wait: it should
        release and queue again, so a long run takes turns instead of shutting the line out."""
        with self._changed:
            granted = self._granted.get(owner)
            return granted is not None and bool(self._line) and self._clock() - granted >= quantum

    def release(self, owner) -> None:
        """Give the slot back (or leave the line): the next in line may start."""
        with self._changed:
            self._holders.pop(owner, None)
            self._granted.pop(owner, None)
            self._line.pop(owner, None)
            self._pinned.discard(owner)
            self._changed.notify_all()

    def position(self, owner) -> int:
        """0 for a holder, else 1 + how many are ahead in line (the line's length + 1 if not in it)."""
        with self._changed:
            self._expire(self._clock())
            if owner in self._holders:
                return 0
            line = list(self._line)
            return 1 + (line.index(owner) if owner in line else len(line))

    def busy(self) -> tuple[int, int]:
        """(sessions training, sessions waiting)."""
        with self._changed:
            self._expire(self._clock())
            return len(self._holders), len(self._line)

    def _expire(self, now: float) -> None:
        def lapsed(owner, seen):
            return now - seen > self.lease_seconds or not self._alive(owner)

        gone = [o for o, seen in self._holders.items() if o not in self._pinned and lapsed(o, seen)]
        gone += [o for o, seen in self._line.items() if lapsed(o, seen)]
        for owner in gone:
            self._holders.pop(owner, None)
            self._granted.pop(owner, None)
            self._line.pop(owner, None)
        if gone:
            self._changed.notify_all()
