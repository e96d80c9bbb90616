"""Trainer turns: the server's room trainer (nnplay.room, one per process) with its redraw budget,
the line for what the budget cannot serve (nnplay.limits.TrainerSlots), and the Playground's
ticks and frames that pace a run."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable

import streamlit as st
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from nnplay.frames import frames_epochs
from nnplay.limits import TrainerSlots
from nnplay.room import Pace, Room, Turns
from nnplay.train import Trainer
from pages._limits import LIMITS

TICK_SECONDS = 0.15
UNTRAINED_SECONDS = 1.0  # how long a run shows its untrained network before the first epoch,
UNTRAINED_TICKS = 5  # and for at least how many of the browser's ticks
PAINT_FIRST = True  # a session's first Playground run sends the untrained boundary alone; its first tick the rest,
# this long after: a new tab takes about half a second to load and draw its first chart, and the
# sidebar's forty controls, sent 0.15 s after it, held the boundary back by another half second.
REST_SECONDS = 0.6


def _connected(owner: str) -> bool:
    """Whether the session that made this owner (see owner()) still has its browser tab."""
    session_id = owner.partition("/")[0]
    return not runtime.exists() or bool(runtime.get_instance().is_active_session(session_id))


def _make_slots() -> TrainerSlots:
    return TrainerSlots(LIMITS.concurrent_trainers, alive=_connected)


_SLOTS = _make_slots()
_ROOM = Room(alive=_connected, round_seconds=min(0.25, LIMITS.tick_seconds))
# 35% of the server's CPU for redrawing pages, the rest for training and Streamlit's own work: at 50
# sessions, 60% left the room too little and the runs took 3.5 times a lone one. A page waits at most
# 5 s for its next frame; sessions wait in line only past what 90% of the CPU can redraw that often,
# since a session in line stands still for a whole run while a page redrawn less often goes on.
_PACE = Pace(TICK_SECONDS, share=0.35, line_share=0.9, longest=5.0, training=lambda: _ROOM.cpu)
_DRAWING = Turns()  # Playground frames are drawn one at a time (see nnplay.room.Turns)
WAIT_SECONDS = 30.0  # longest a tick waits in line (a click or a closed tab ends the wait sooner)


@contextlib.contextmanager
def drawing(waiting: Callable[[], None] = lambda: None):
    """This session's turn to draw a frame (server-wide, one at a time, in the order asked).
    Waiting looks at the session state every half second, a point where Streamlit can stop the run
    (Pause, a closed tab): the place in line is given up then. Not more often: fifty pages waking
    ten times a second to look cost more than their drawing. ``waiting`` is called then too."""
    ticket = _DRAWING.join()
    try:
        while not _DRAWING.wait(ticket, 0.5):
            st.session_state.get("running")
            waiting()
        yield
    finally:
        _DRAWING.leave(ticket)


def tick_every() -> float:
    """How often a playing page's browser asks for its next frame: every tick, or in a busy room
    about twice per redraw (at most a second apart). Each ask costs the server's event loop its
    handling even when the page only waits (fifty pages asking every tick took a quarter of the
    server's CPU); set when the page is drawn whole, i.e. at Play."""
    return max(TICK_SECONDS, min(1.0, _PACE.interval(trainer_slots().busy()[0] + 1) / 2))


def room() -> Room:
    """Server-wide: the thread that trains every playing session's frames, batched by shape."""
    return _ROOM


def capacity() -> int:
    """Sessions that may play at once (the rest wait in line): the server's limit, if set, else what
    the redraw budget serves."""
    return LIMITS.room_capacity or max(LIMITS.concurrent_trainers, _PACE.capacity())


def pace() -> Pace:
    """Server-wide: how often a playing page is redrawn, from the number playing and a redraw's cost."""
    return _PACE


def trainer_slots() -> TrainerSlots:
    """Server-wide: how many sessions may train at the same moment (the rest wait their turn, first
    come first served). One per process, like this module: every session's script imports the same one."""
    return _SLOTS


def owner() -> str:
    """This session's name in the line for a trainer: its Streamlit session id (so a closed tab
    gives its slot back at once), made unique (AppTest gives every session the same id)."""
    ctx = get_script_run_ctx()
    session_id = ctx.session_id if ctx else "-"
    return st.session_state.setdefault("owner", f"{session_id}/{uuid.uuid4().hex}")


def take_trainer(notice, until: float) -> bool:
    """A pinned trainer slot for this session (Compare, Sweep: it must be released in a finally),
    waiting in line and saying so in ``notice`` (an st.empty) until ``until`` (perf_counter);
    False, and out of the line, if none came."""
    slots, me = trainer_slots(), owner()
    while not slots.acquire(me, timeout=0.5, pin=True):
        if time.perf_counter() > until:
            slots.release(me)
            return False
        notice.info(f"Waiting for a free trainer (number {slots.position(me)} in line)…")
    return True


def echo() -> bool:
    """Whether a click on a button outside the live fragment reached its callback through one of the
    fragment's ticks. Streamlit 1.67 delivers such a click twice, with the tick and then with the
    full run that follows (a browser showed 15 Step clicks as 21 callbacks, each extra one in a
    tick): the tick's copy is the echo."""
    ctx = get_script_run_ctx()
    return bool(ctx and ctx.fragment_ids_this_run)


def next_frame(trainer: Trainer, ticks: int = 1) -> int:
    """The epochs the next frame trains: ``ticks`` frames of the session's speed on the frame
    schedule (nnplay.frames), as one."""
    return frames_epochs(trainer.epoch, st.session_state.speed, ticks)
