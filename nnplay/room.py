"""The room: one thread per server process trains every playing session, in batched rounds.

A workshop is thirty to fifty people pressing Play on one server. Each session asks for its next
frame's epochs (``submit``); the room's thread gathers what was asked since its last round,
groups the networks by shape (``nnplay.engine.stack_key``) and trains each group in one pass, so
fifty default networks cost about what a handful cost one after another. Everything that makes a
run a run stays its Trainer's own (see nnplay.engine), so a session's history is what it would
be alone. A group that fails trains again one network at a time, and a network that fails alone
is given back with the error: the room itself goes on.

Drawing pages is the other cost of a room: ``Pace`` spreads a budget of the server's CPU for
redraws over the playing sessions, so a bigger room redraws each page less often and trains more
epochs per frame, and says so.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from . import engine


@dataclass
class Request:
    """One session's frame: ``epochs`` more for ``trainer``, trained while the room holds ``lock``."""

    owner: object
    trainer: object
    epochs: int
    lock: threading.Lock | None = None
    max_seconds: float | None = None  # CPU its frame may take (a group's pass takes its members' most)
    done: threading.Event = field(default_factory=threading.Event)
    trained: int = 0  # epochs it ran
    together: int = 1  # networks in its pass (1: alone)
    alone_after_failure: bool = False  # its group failed, so it trained alone this round
    error: str = ""  # it failed even alone: what went wrong
    held: bool = False  # the room holds its lock
    released: bool = False  # given back: the room no longer touches its trainer


class Room:
    """The server's trainer. ``submit`` a frame, ``wait`` for it; ``cancel`` leaves at once."""

    def __init__(
        self, alive: Callable[[object], bool] | None = None, max_seconds: float | None = None, gather: float = 0.02
    ):
        self._alive = alive or (lambda owner: True)
        self.max_seconds = max_seconds  # CPU a group may take per round: the pages wait for rounds
        # After a round of several sessions, how long the next waits for more to ask: busy pages
        # ask at the same moments (see pace), and a round's pass costs about the same for one or fifty.
        self.gather = gather
        self._pending: dict[object, Request] = {}
        self._training: dict[object, Request] = {}
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self.rounds = 0
        self.cpu = 0.0  # CPU seconds spent training, all rounds
        self.last_round: dict = {}  # sessions and groups of the last round, for a status line

    def submit(self, owner, trainer, epochs: int, *, lock=None, max_seconds=None) -> Request:
        """Ask for ``epochs`` more of ``trainer`` in the next round (replacing this owner's pending ask)."""
        request = Request(owner, trainer, epochs, lock, max_seconds or self.max_seconds)
        with self._changed:
            self._pending[owner] = request
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name="nnplay-room", daemon=True)
                self._thread.start()
            self._changed.notify_all()
        return request

    def wait(self, request: Request, timeout: float | None = None) -> bool:
        return request.done.wait(timeout)

    def cancel(self, owner) -> None:
        """Leave the room: a pending frame is dropped, and one in training finishes its round first
        (so the caller may touch its trainer when this returns)."""
        with self._changed:
            request = self._pending.pop(owner, None)
            if request is not None:
                request.done.set()
            while owner in self._training:
                self._changed.wait(0.5)

    def playing(self) -> int:
        """Sessions with a frame asked for or in training."""
        with self._changed:
            return len(self._pending.keys() | self._training.keys())

    # --- the thread ------------------------------------------------------------------------------

    def _serve(self) -> None:
        while True:
            with self._changed:
                while not self._pending:
                    if not self._changed.wait(30.0) and not self._pending:
                        self._thread = None  # idle: a later submit starts a fresh thread
                        return
                if self.last_round.get("sessions", 0) > 1 or len(self._pending) > 1:
                    self._changed.wait(self.gather)
                batch = list(self._pending.values())
                self._pending.clear()
                gone = [r for r in batch if not self._alive(r.owner)]
                batch = [r for r in batch if self._alive(r.owner)]
                for r in gone:
                    r.done.set()
                self._training = {r.owner: r for r in batch}
            deferred, cpu = [], time.thread_time()
            try:
                deferred = self._round(batch)
            finally:
                self.cpu += time.thread_time() - cpu
                with self._changed:
                    self._training = {}
                    for r in batch:
                        if r in deferred:
                            self._pending.setdefault(r.owner, r)
                        else:
                            r.done.set()
                    self._changed.notify_all()

    def _round(self, batch: list[Request]) -> list[Request]:
        """Train a round; returns the requests deferred to the next one."""
        held, deferred = [], []
        try:
            for r in batch:
                # A session's own script may be stepping or resetting its trainer: it trains next round.
                r.held = r.lock is not None and r.lock.acquire(blocking=False)
                (held if r.lock is None or r.held else deferred).append(r)
            groups: dict = {}
            for r in held:
                key = _key(r.trainer)
                groups.setdefault(key if key is not None else ("alone", id(r)), []).append(r)
            for group in groups.values():
                self._train(group)
            self.rounds += 1
            self.last_round = {"sessions": len(held), "groups": len(groups)}
        finally:
            for r in held:
                self._release(r)
        return deferred

    def _release(self, request: Request) -> None:
        """Give a request back as soon as its trainer is through, though its group trains on: its page
        may draw, and its session may step or reset."""
        if request.released:
            return
        request.released = True
        if request.held:
            request.lock.release()
        with self._changed:
            self._training.pop(request.owner, None)
            self._changed.notify_all()
        request.done.set()

    def _train(self, group: list[Request]) -> None:
        before = [r.trainer.epoch for r in group]
        errors: dict[int, Exception] = {}

        def through(i: int) -> None:
            r = group[i]
            r.trained, r.together = r.trainer.epoch - before[i], len(group)
            if i in errors:
                r.error = _failure(errors[i])
            self._release(r)

        try:
            trainers, epochs = [r.trainer for r in group], [r.epochs for r in group]
            limits = [r.max_seconds for r in group]
            cap = None if None in limits else max(limits)  # the group's pass serves its most patient member
            engine.train(trainers, epochs, max_seconds=cap, errors=errors, on_done=through)
        except Exception as exc:
            if len(group) == 1:
                group[0].error = _failure(exc)
                return
            for r, epoch in zip(group, before):  # each on its own, for what its frame still lacks
                if r.released:
                    continue  # through before the failure, and given back
                r.alone_after_failure = True
                r.epochs = max(0, r.epochs - (r.trainer.epoch - epoch))
                self._train([r])
                r.trained, r.together = r.trainer.epoch - epoch, 1


def _key(trainer):
    try:
        return engine.stack_key(trainer)
    except Exception:  # judged alone, where its failure is its own
        return None


def _failure(exc: Exception) -> str:
    last = traceback.format_exception_only(exc)[-1].strip()
    return f"Training stopped: the server could not train this network ({last[:200]})."


class Pace:
    """How often each playing session's page is redrawn, so that drawing all of them takes at most
    ``share`` of the server's CPU: with ``playing`` sessions whose redraws cost ``cost`` seconds
    of CPU each, every page waits ``playing * cost / share`` seconds between frames (at least
    ``tick``) and trains that many ticks' worth of epochs per frame. Past ``longest`` seconds
    between frames, sessions wait in line instead (``capacity``).

    A redraw's cost is measured as the whole process sees it, every ``window`` seconds: the CPU
    the process spent (``clock``, every thread: scripts, Streamlit's own and the websocket's)
    less what the room spent training (``training``), over the redraws in that time."""

    def __init__(
        self,
        tick: float,
        share: float = 0.5,
        longest: float = 2.5,
        cost: float = 0.05,
        *,
        training: Callable[[], float] = lambda: 0.0,
        clock: Callable[[], float] = time.process_time,
        window: float = 2.0,
    ):
        self.tick, self.share, self.longest = tick, share, longest
        self.cost = cost  # seconds of CPU per redraw, as last measured
        self._training, self._clock, self._window = training, clock, window
        self._redraws = 0
        self._mark: tuple[float, float, int] | None = None  # process CPU, training CPU, redraws
        self._lock = threading.Lock()

    def drawn(self) -> None:
        """A page was redrawn."""
        with self._lock:
            self._redraws += 1
            cpu, training = self._clock(), self._training()
            if self._mark is None:
                self._mark = (cpu, training, self._redraws)
                return
            cpu0, training0, n0 = self._mark
            if cpu - cpu0 >= self._window and self._redraws - n0 >= 5:
                measured = (cpu - cpu0 - (training - training0)) / (self._redraws - n0)
                self.cost = min(0.2, max(0.005, 0.5 * (self.cost + measured)))
                self._mark = (cpu, training, self._redraws)

    def interval(self, playing: int) -> float:
        return min(self.longest, max(self.tick, playing * self.cost / self.share))

    def next_frame(self, playing: int, now: float) -> float:
        """When a page that last drew at ``now`` draws next: on a grid of ``interval`` seconds shared
        by every page, so the room gets their frames together and trains them in one pass."""
        step = self.interval(playing)
        return (now // step + 1) * step

    def ticks(self, playing: int) -> int:
        """Ticks' worth of epochs each frame trains."""
        return max(1, round(self.interval(playing) / self.tick))

    def capacity(self) -> int:
        """Sessions that can play with a frame at least every ``longest`` seconds."""
        return max(1, int(self.longest * self.share / self.cost))
