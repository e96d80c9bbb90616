"""The main page: live training and what the network learns."""

import math
import time

import numpy as np
import streamlit as st

from nnplay import charts
from nnplay.text import literal
from pages._downloads import downloads
from pages._draw import NETWORK_CAPTION, NOT_DRAWN, boundary, boundary_view, chart, drift, trainer_key
from pages._limits import LIMITS
from pages._session import current_trainer, frame, notices
from pages._sidebar import sidebar
from pages._turns import (
    PAINT_FIRST,
    REST_SECONDS,
    TICK_SECONDS,
    UNTRAINED_SECONDS,
    UNTRAINED_TICKS,
    WAIT_SECONDS,
    capacity,
    drawing,
    echo,
    next_frame,
    owner,
    pace,
    room,
    tick_every,
    trainer_slots,
)

ss = st.session_state
# A browser paints a page as its parts arrive, and a chart after the rest of what came with it: on
# a session's first run (a new tab) the boundary comes alone with the buttons, and the fragment's
# first tick, which the browser asks for once it has drawn them, draws the whole page. The sidebar
# (forty controls) and the other charts held the first boundary back by more than a second.
paint_first = PAINT_FIRST and "config" not in ss
frame(sidebar_last=True)
trainer = current_trainer()
ss.rest_pending = paint_first
notices()
if trainer is None:
    sidebar()
    st.stop()
st.markdown("#### Watch a neural network learn")
st.caption(
    "Press Play: the background is what the network answers at each point, and it bends to fit the "
    "data as it trains. Change the data, the layers or the learning rate in the sidebar, and play again."
)


def play(on: bool):
    ss.running = on and not trainer.finished  # stopped, live() in this rerun gives the trainer back


def step():
    if echo():
        return
    ss.running = False
    room().cancel(owner())
    with ss.lock:
        trainer.step(next_frame(trainer), max_seconds=LIMITS.tick_seconds)


def reset():
    ss.running = False
    room().cancel(owner())  # leaves the room at once; a frame in training finishes first
    with ss.lock:
        trainer.reset()


left, mid, right, rest = st.columns([1, 1, 1, 5], vertical_alignment="center")
# Play and Pause are two buttons, each saying what it does: Streamlit can deliver one click twice
# when it lands during a tick (seen in a browser: Pause, then Play again 0.14 s later), and
# "pause" twice stays paused where "toggle" twice flips back.
left.button(
    "Pause" if ss.running else "Play",
    key="pause" if ss.running else "play",
    icon=":material/pause:" if ss.running else ":material/play_arrow:",
    on_click=play,
    args=(not ss.running,),
    type="primary",
    disabled=trainer.finished and not ss.running,
    use_container_width=True,
)
mid.button(
    "Step", key="step", icon=":material/skip_next:", on_click=step, disabled=trainer.finished, use_container_width=True
)
right.button("Reset", key="reset", icon=":material/restart_alt:", on_click=reset, use_container_width=True)


def live():
    if ss.rest_pending and not ss.get("page_run"):
        ss.rest_pending = False
        st.rerun(scope="app")
    slots, me, server, budget = trainer_slots(), owner(), room(), pace()
    with st.container(key="epoch"):
        bar = progress(st)  # drawn before the tick, so a tick waiting in line shows where it stands
        notice = st.empty()
    # A full run draws the page at once; only the fragment's own reruns wait in line (with the page
    # drawn). An untrained network is drawn before its first epoch and stays on screen a moment:
    # it is the picture every run starts from.
    page_run = ss.pop("page_run", False)
    held = untrained_held()
    trained = None
    if ss.running and not trainer.finished and not held:
        slots.capacity = capacity()
        granted = slots.acquire(me)
        end = time.monotonic() + (0 if page_run else WAIT_SECONDS)
        shown = None
        while not granted and time.monotonic() < end:
            # Waiting blocks this tick (the browser's next ones merge into one rerun), so a session
            # in line costs no redraws; its notice is sent again only when its place changes (fifty
            # sessions in line resending theirs twice a second took a third of the server's CPU). Each
            # look at the session state is a point where Streamlit can stop the run: a click (Pause)
            # or a closed tab ends the wait at once.
            text = waiting_text(slots, me)
            if text != shown:
                notice.info(text, icon=":material/hourglass_top:")
                shown = text
            granted = slots.acquire(me, timeout=0.5)
            ss.get("running")
        if granted:
            counter = Counter(bar)
            trained = train_frame(server, budget, slots.busy()[0], page_run, counter)
            if slots.turn_over(me, LIMITS.turn_seconds):
                slots.release(me)  # the next tick queues again, behind those who waited
    if trainer.finished or not ss.running:
        slots.release(me)
        server.cancel(me)
    if ss.running and trainer.finished:
        ss.running = False
        st.rerun()  # the whole page, so the ticking stops
    lock = ss.lock
    # While this page waits its turn to draw, the room may still be training its frame: the counter follows.
    with drawing(counter if trained is not None else lambda: None):
        # The room may still be training this frame: it lets go of it after the epoch in training
        # and passes it over while its lock is held. Wanted only until the lock is ours: a wish
        # left standing (a run stopped here) would keep the room from the frame for good.
        if trained is not None:
            trained.wanted = True
        try:
            lock.acquire()
        finally:
            if trained is not None:
                trained.wanted = False
        try:
            show(bar, notice, trained, held)
        finally:
            lock.release()


def show(bar, notice, trained, held):
    """The frame: progress, metrics and charts as the trainer stands now."""
    slots, me, budget = trainer_slots(), owner(), pace()
    task = trainer.task
    progress(bar)
    if trained is not None and trained.error:
        ss.running = False
        notice.error(literal(trained.error))  # an exception's text may quote a user's expression
    elif trained is not None:
        notice.caption(room_line(trained))
    elif ss.running and not trainer.finished and not held:
        notice.info(waiting_text(slots, me), icon=":material/hourglass_top:")
    else:
        notice.empty()
    if trainer.diverged:
        st.error(trainer.message)
        return
    if trainer.message:
        st.info(trainer.message)
    last = trainer.records.last()
    metric = "r2" if task == "regression" else "accuracy"
    playing = ss.running and not trainer.finished  # tooltips wait for a pause (see charts._tips)
    # The weights as they are now, as the command line's final figures and Compare's table: the
    # curves' last points are measured during the last epoch, before its update.
    measured = ss.get("evaluated")
    if measured is None or measured[0] != trainer_key(trainer):  # a page waiting in line redraws the same weights
        measured = ss.evaluated = (trainer_key(trainer), trainer.evaluate())
    now = measured[1]
    with st.container(key="metrics"):
        for col, key in zip(st.columns(4), ("train_loss", "test_loss", f"train_{metric}", f"test_{metric}")):
            value = now.get(key)
            shown = "—" if value is None or not math.isfinite(value) else f"{value:.4f}"
            col.metric(key.replace("_", " ").replace("r2", "R²"), shown)
    a, b = st.columns([1, 1.2])
    with a, st.container(key="boundary"):
        c1, c2 = st.columns(2)
        with_test = c1.toggle("show test data", key="show_test")
        discretize = task != "regression" and c2.toggle("discretize", key="discretize")
        axes = (0, 1)
        if trainer.data.raw_dims > 2:
            names = trainer.data.raw_names
            ax = st.columns(2)
            axes = (
                ax[0].selectbox("x axis", range(len(names)), format_func=names.__getitem__, key="ax0"),
                ax[1].selectbox("y axis", range(len(names)), 1, format_func=names.__getitem__, key="ax1"),
            )
            st.caption("A slice through the other inputs at their mean.")

        def now():
            # What the chart shows is also what the PNG download draws (pages/_downloads.py).
            ss.setdefault("shown", {})["boundary"] = view = boundary_view(
                trainer, with_test=with_test, discretize=discretize, axes=axes
            )
            return view.chart(live=playing)

        chart("boundary", trainer_key(trainer, with_test, discretize, axes, playing), now, width="content")
    if ss.rest_pending:
        return
    with b:  # beside the boundary, as TensorFlow Playground puts its network beside its output
        network_section(axes, playing)
    a, b = st.columns([1.2, 1])
    with a, st.container(key="loss"):
        c1, c2 = st.columns(2)
        log = c1.toggle("log scale", key="log_loss")
        log_epochs = c2.toggle("log epochs", key="log_epochs", help="more room for the first epochs")
        if last is None:
            st.caption("Nothing trained yet: press Play or Step.")
        chart(
            "loss",
            trainer_key(trainer, log, log_epochs, playing),
            lambda: charts.loss_chart(
                trainer.history, log_scale=log, metric=metric, log_epochs=log_epochs, live=playing
            ),
            width="content",
        )
    if task != "regression":
        with b:
            drift_section()
    timeline_section()
    # Every drawing counts, not only trained frames: a redraw's cost is the process's CPU over the
    # redraws, and uncounted ones (Play, Reset, a page waiting in line) made it look several times
    # dearer, so fewer sessions were let play, so more waited and redrew uncounted.
    budget.drawn()


def train_frame(server, budget, playing: int, page_run: bool, counter: "Counter"):
    """This tick's frame, trained by the server's room. Alone, a frame is drawn when its epochs
    (the frame schedule's) are trained. In a busy room a page is redrawn less often (the redraw
    budget) and its frame trains that many ticks' worth of epochs, so the run keeps its pace; while
    the page waits for its redraw the room goes on training it, a frame's worth at a time, and the
    epoch counter (``counter``) follows. A frame the room has not trained by then is drawn as far as it
    got.
    Waiting blocks the tick (the browser's next ones merge into one rerun); each look at the
    session state is a point where Streamlit can stop it (Pause, a closed tab)."""
    ticks = budget.ticks(playing)

    def ask():
        request = ss.get("in_room")
        if request is None or request.done.is_set() or request.trainer is not trainer:
            request = ss.in_room = server.submit(owner(), trainer, next_frame(trainer, ticks), lock=ss.lock)
        return request

    request = ask()
    # A page alone is drawn at the schedule's epochs, however long a frame takes.
    busy = ticks > 1 and playing > 1 and not page_run
    due = ss.get("last_frame", 0.0) + budget.interval(playing) if busy else math.inf
    # A busy page's first frame after a gap (Play, the untrained moment, a late tick) is drawn as
    # soon as its epochs are trained, within a redraw interval: drawn at once it showed nothing new,
    # and the counter stood still for another interval (the longest stalls at 50 sessions).
    fresh = busy and due <= time.monotonic()
    if fresh:
        due = time.monotonic() + budget.interval(playing)
    try:
        while time.monotonic() < due:
            if server.wait(request, min(0.5, due - time.monotonic())):
                if not busy or fresh or request.error or request.cancelled or trainer.finished:
                    break
                request = ask()  # the next frame's epochs, trained while this page waits
            ss.get("running")
            if busy:
                counter()
    except BaseException:
        server.cancel(owner())
        raise
    ss.last_frame = time.monotonic()
    request.ticks, request.playing = ticks, playing
    return request


class Counter:
    """The progress bar's epoch counter, kept moving while the room trains and the page waits to be
    redrawn (at most once a second: each is a message to the browser)."""

    def __init__(self, bar):
        self.bar, self.shown, self.when = bar, trainer.epoch, time.monotonic()

    def __call__(self) -> None:
        now = time.monotonic()
        if trainer.epoch != self.shown and now - self.when >= 1.0:
            progress(self.bar)
            self.shown, self.when = trainer.epoch, now


def room_line(trained) -> str:
    """What the room did for this session lately, in a line (empty while it plays alone). The batched
    pass is said for a few seconds after the last frame that had one: a line that came and went with
    each frame flickered."""
    now = time.monotonic()
    if trained.together > 1:
        ss.together = (trained.together, now)
    together, when = ss.get("together", (1, 0.0))
    parts = []
    if trained.alone_after_failure:
        parts.append("This frame trained on its own: the batched pass of its group failed.")
    elif together > 1 and now - when < 3.0:
        others = together - 1
        parts.append(f"Trained in one batched pass with {others} other network{'s' * (others > 1)}.")
    if trained.ticks > 1:
        parts.append(
            f"Busy server: {trained.playing} sessions are playing, so this page redraws every "
            f"{trained.ticks * TICK_SECONDS:.1f} s and each frame trains {trained.ticks} frames' worth of epochs."
        )
    return " ".join(parts)


def untrained_held() -> bool:
    """Whether this run still shows its untrained network: from the first time it is drawn (a new
    network, or after Reset) for UNTRAINED_SECONDS and UNTRAINED_TICKS more of the browser's ticks
    (fewer when a busy server has the browser ask less often: a second each, five of them kept the
    untrained network for five seconds). Ticks as well as seconds: a busy browser paints late and
    asks for its ticks late too."""
    if trainer.epoch:
        return False
    run = (id(trainer), trainer.generation)
    if ss.get("untrained_shown") != run:
        ticks = min(UNTRAINED_TICKS, max(1, round(UNTRAINED_SECONDS / tick_every())))
        ss.untrained_shown, ss.hold_until, ss.hold_ticks = run, time.monotonic() + UNTRAINED_SECONDS, ticks
        return True
    ss.hold_ticks -= 1
    return time.monotonic() < ss.hold_until or ss.hold_ticks >= 0


def network_section(axes, playing):
    """TensorFlow Playground's picture: the network with every hidden neuron's map, redrawn with the
    boundary each frame. On unless switched off (the switch outlives a visit to another page): the
    default network fits beside the boundary on a projector's 1400 × 900, and only a small screen
    needs the room back. Off, nothing is computed."""
    shown = st.toggle(
        "show the network",
        value=ss.setdefault("network_shown", True),
        key="show_network",
        on_change=lambda: ss.update(network_shown=ss.show_network),
        help="the network diagram with each neuron's map; switch it off on a small screen",
    )
    if not shown:
        return
    with st.container(key="network"):
        if not charts.network_drawable(trainer):
            st.caption(NOT_DRAWN)
            return
        st.caption(NETWORK_CAPTION)
        chart(
            "network",
            trainer_key(trainer, axes, playing),
            lambda: charts.trainer_network_chart(trainer, axes=axes, live=playing),
            width="content",
        )


def drift_section():
    with st.container(key="drift"):
        st.subheader("Probability drift")
        st.caption("Every training point's output, from the untrained network (near 0.5) to now.")
        playing = ss.running and not trainer.finished
        chart("drift", trainer_key(trainer, playing), lambda: drift(trainer, live=playing), width="content")


def timeline_section():
    d = trainer.data
    if ss.running:
        st.subheader("Timeline")
        st.caption("Pause to scrub through the snapshots and see the boundary as it was.")
        return
    epochs = trainer.snapshots.epochs
    with st.container(key="timeline"):
        st.subheader("Timeline")
        at = epochs[0]
        if len(epochs) > 1:
            at = st.select_slider("snapshot epoch", epochs, value=epochs[-1], key=f"when{len(epochs)}")
        snap = trainer.snapshots.at(at)
        key = trainer_key(trainer, snap.epoch)
        if trainer.task != "regression":
            chart("bars", key, lambda: charts.bars_chart(snap.outputs, d.y_train, d.class_names, epoch=snap.epoch))
        title = f"as it was at epoch {snap.epoch}"
        chart("then", key, lambda: boundary(trainer, epoch=snap.epoch, title=title), width="content")
    if trainer.task != "regression" and len(d.X_test):
        st.subheader("Confusion matrix (test)")
        chart("confusion", trainer_key(trainer), lambda: confusion(trainer), width="content")


def confusion(trainer):
    d = trainer.data
    pred = trainer.predict(d.X_test)
    pred = pred.argmax(1) if pred.ndim == 2 else (pred > 0.5).astype(int)
    return charts.confusion_chart(d.y_test, np.asarray(pred), d.class_names)


def progress(where):
    config = trainer.config
    status = "paused" if trainer.status == "training" and not ss.running else trainer.status
    text = f"epoch {trainer.epoch} / {config.epochs} · {status}"
    return where.progress(min(1.0, trainer.epoch / config.epochs), text=text)


def waiting_text(slots, me) -> str:
    training, waiting = slots.busy()
    place = slots.position(me)
    return (
        f"Waiting for a free trainer: {training} session{'s are' if training != 1 else ' is'} training on this "
        f"server and you are number {place} of {max(waiting, place)} in line. Training goes on by itself when "
        "your turn comes."
    )


ss.page_run = True
st.fragment(live, run_every=REST_SECONDS if ss.rest_pending else tick_every() if ss.running else None)()
if ss.rest_pending:
    st.stop()
downloads(trainer)
sidebar()
