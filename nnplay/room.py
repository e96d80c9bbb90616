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

import atexit
import collections
import contextlib
import threading
import time
import traceback
import weakref
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
    start: int = 0  # the trainer's epoch when it was asked for
    done: threading.Event = field(default_factory=threading.Event)
    trained: int = 0  # epochs it ran
    together: int = 1  # networks in its last pass (1: alone)
    alone_after_failure: bool = False  # its group failed, so it trained alone
    error: str = ""  # it failed even alone: what went wrong
    cancelled: bool = False
    held: bool = False  # the room holds its lock
    wanted: bool = False  # its page waits to draw: the room lets go of it after the epoch in training


class Room:
    """The server's trainer. ``submit`` a frame, ``wait`` for it; ``cancel`` leaves at once.

    A round trains each group for at most ``round_seconds`` of CPU: a frame that needs more goes on
    in the next round, so the pages and the websocket get the interpreter in between (one long
    pass of fifty networks starved them until browsers gave up)."""

    def __init__(
        self, alive: Callable[[object], bool] | None = None, round_seconds: float = 0.25, gather: float = 0.02
    ):
        self._alive = alive or (lambda owner: True)
        self.round_seconds = round_seconds
        # While several sessions play, how long a round waits for more to ask: a pass costs about
        # the same for one network or fifty.
        self.gather = gather
        self._pending: dict[object, Request] = {}
        self._training: dict[object, Request] = {}
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self.rounds = 0
        self.cpu = 0.0  # CPU seconds spent training, all rounds
        self.last_round: dict = {}  # sessions and groups of the last round
        self._stopping = False
        self._asked: dict[object, float] = {}  # owner -> when it last asked (who plays, lately)
        _ROOMS.add(self)

    def submit(self, owner, trainer, epochs: int, *, lock=None) -> Request:
        """Ask for ``epochs`` more of ``trainer`` (replacing this owner's pending ask)."""
        request = Request(owner, trainer, epochs, lock, trainer.epoch)
        with self._changed:
            now = time.monotonic()
            self._asked[owner] = now
            if len(self._asked) > 64:
                self._asked = {o: t for o, t in self._asked.items() if now - t < 2.0}
            old = self._pending.pop(owner, None)
            if old is not None:
                old.cancelled = True
                old.done.set()
            self._pending[owner] = request
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name="nnplay-room", daemon=True)
                self._thread.start()
            self._changed.notify_all()
        return request

    def wait(self, request: Request, timeout: float | None = None) -> bool:
        return request.done.wait(timeout)

    def cancel(self, owner) -> None:
        """Leave the room: a pending frame is dropped, and one in training stops after its pass (so
        the caller may touch its trainer when this returns)."""
        with self._changed:
            request = self._pending.pop(owner, None)
            if request is not None:
                request.cancelled = True
                request.done.set()
            if owner in self._training:
                self._training[owner].cancelled = True
            while owner in self._training:
                self._changed.wait(0.5)

    def stop(self) -> None:
        """End the thread after its round (the process is exiting: a thread killed mid-pass aborts it)."""
        with self._changed:
            self._stopping = True
            thread = self._thread
            self._changed.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def playing(self) -> int:
        """Sessions with a frame asked for or in training."""
        with self._changed:
            return len(self._pending.keys() | self._training.keys())

    # --- the thread ------------------------------------------------------------------------------

    def _serve(self) -> None:
        while True:
            with self._changed:
                while not self._pending or self._stopping:
                    if self._stopping or (not self._changed.wait(30.0) and not self._pending):
                        self._thread = None  # idle: a later submit starts a fresh thread
                        return
                now = time.monotonic()
                if sum(now - t < 1.0 for t in self._asked.values()) > 1:  # others play: let them ask too
                    self._changed.wait(self.gather)
                batch = list(self._pending.values())
                self._pending.clear()
                self._training = {r.owner: r for r in batch}
            cpu, trained = time.thread_time(), 0
            try:
                trained = self._round([r for r in batch if self._alive(r.owner) or self._finish(r, gone=True)])
            finally:
                self.cpu += time.thread_time() - cpu
                for r in batch:
                    if self._training.get(r.owner) is r:
                        self._finish(r)
            # The pages' threads and the websocket's get the interpreter between rounds; a round that
            # found every session busy with its own trainer (a Step, a Reset) waits a little longer.
            time.sleep(0.002 if trained else 0.02)

    def _round(self, batch: list[Request]) -> int:
        """Train the requests whose locks are free, by groups; returns how many. A session's own
        script may be stepping, resetting or drawing its trainer: it trains in a later round. Each
        group takes its sessions' locks when its turn comes, not at the round's start: a page that
        comes to draw while another group trains gets its lock at once."""
        groups: dict = {}
        for r in batch:
            if r.lock is not None and not r.lock.acquire(blocking=False):
                continue
            try:
                key = _key(r.trainer)
            finally:
                if r.lock is not None:
                    r.lock.release()
            groups.setdefault(key if key is not None else ("alone", id(r)), []).append(r)
        trained = 0
        for group in groups.values():
            held = []
            for r in group:
                if r.wanted or r.cancelled:
                    continue
                r.held = r.lock is not None and r.lock.acquire(blocking=False)
                if r.lock is None or r.held:
                    held.append(r)
            if held:
                self._train(held)
                trained += len(held)
        self.rounds += 1
        self.last_round = {"sessions": trained, "groups": len(groups)}
        return trained

    def _finish(self, request: Request, gone: bool = False) -> bool:
        """After a request's part of a round: give it back when its frame is trained (or cannot go
        on), else keep it for the next round. The room lets go of its lock either way."""
        r = request
        if r.held:
            r.held = False
            r.lock.release()
        r.trained = r.trainer.epoch - r.start
        complete = gone or r.cancelled or bool(r.error) or r.trainer.finished or r.trained >= r.epochs
        with self._changed:
            if self._training.get(r.owner) is r:
                del self._training[r.owner]
            if complete:
                r.done.set()
            elif r.owner not in self._pending:
                self._pending[r.owner] = r
            self._changed.notify_all()
        return False

    def _train(self, group: list[Request]) -> None:
        def through(i: int) -> None:
            r = group[i]
            r.together = len(group)
            if i in errors:
                r.error = _failure(errors[i])
            self._finish(r)

        errors: dict[int, Exception] = {}
        try:
            trainers, epochs = [r.trainer for r in group], [r.epochs - (r.trainer.epoch - r.start) for r in group]
            engine.train(
                trainers,
                epochs,
                max_seconds=self.round_seconds,
                errors=errors,
                on_done=through,
                let_go=lambda i: group[i].wanted or group[i].cancelled,
            )
        except Exception as exc:
            if len(group) == 1:
                group[0].error = _failure(exc)
                return
            for r in group:  # each on its own, from where it is
                if self._training.get(r.owner) is r:  # not through before the failure
                    r.alone_after_failure = True
                    self._train([r])


_ROOMS: weakref.WeakSet = weakref.WeakSet()
atexit.register(lambda: [room.stop() for room in list(_ROOMS)])


def _key(trainer):
    try:
        return engine.stack_key(trainer)
    except Exception:  # judged alone, where its failure is its own
        return None


def _failure(exc: Exception) -> str:
    last = traceback.format_exception_only(exc)[-1].strip()
    return f"Training stopped: the server could not train this network ({last[:200]})."


class Turns:
    """One at a time, first come first served: the pages' turns to draw.

    A process runs one Python thread at a time, so fifty pages drawn at once take no less time than
    fifty drawn in turn; but every thread that wants the interpreter delays the others, the
    websocket's among them. Measured with ``bench.load`` (fifty sessions playing on one process):
    drawn at once, a frame cost the process a second of CPU and the sessions stood still for
    minutes; in turns, 46 ms. First come first served, so no page waits for long: a plain lock
    hands itself to whichever thread the system wakes, and some pages waited twenty seconds.

    ``join`` takes a place in line (it holds the turn at once when nobody is ahead); ``wait`` for
    the turn, a little at a time if the caller has other things to look at; ``leave`` gives the turn
    to the next in line, or gives up the place."""

    def __init__(self):
        self._lock = threading.Lock()
        self._line: collections.deque[threading.Event] = collections.deque()
        self._holder: threading.Event | None = None

    def join(self) -> threading.Event:
        ticket = threading.Event()
        with self._lock:
            if self._holder is None:
                self._holder = ticket
                ticket.set()
            else:
                self._line.append(ticket)
        return ticket

    def wait(self, ticket: threading.Event, timeout: float | None = None) -> bool:
        return ticket.wait(timeout)

    def leave(self, ticket: threading.Event) -> None:
        with self._lock:
            if self._holder is ticket:
                self._holder = self._line.popleft() if self._line else None
                if self._holder is not None:
                    self._holder.set()
            else:
                with contextlib.suppress(ValueError):
                    self._line.remove(ticket)

    def waiting(self) -> int:
        with self._lock:
            return len(self._line)


class Pace:
    """How often each playing session's page is redrawn, so that drawing all of them takes at most
    ``share`` of the server's CPU: with ``playing`` sessions whose redraws cost ``cost`` seconds
    of CPU each, every page waits ``playing * cost / share`` seconds between frames (at least
    ``tick``, at most ``longest``) and trains that many ticks' worth of epochs per frame. Sessions
    wait in line only past what ``line_share`` of the CPU can redraw every ``longest`` seconds
    (``capacity``): a session in line stands still, one redrawn less often does not (its room
    trains it on, and its epoch counter follows).

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
        line_share: float | None = None,
        training: Callable[[], float] = lambda: 0.0,
        clock: Callable[[], float] = time.process_time,
        window: float = 2.0,
    ):
        self.tick, self.share, self.longest = tick, share, longest
        self.line_share = share if line_share is None else line_share
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

    def ticks(self, playing: int) -> int:
        """Ticks' worth of epochs each frame trains."""
        return max(1, round(self.interval(playing) / self.tick))

    def capacity(self) -> int:
        """Sessions whose redraws, one every ``longest`` seconds, take at most ``line_share`` of the CPU."""
        return max(1, int(self.longest * self.line_share / self.cost))
