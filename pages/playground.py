"""The main page: live training and what the network learns."""

import numpy as np
import streamlit as st

from nnplay import charts
from pages._shared import (
    LIMITS,
    TICK_SECONDS,
    boundary,
    current_trainer,
    downloads,
    drift,
    frame,
    notices,
    trainer_gate,
)

ss = st.session_state
frame()
trainer = current_trainer()
notices()
if trainer is None:
    st.stop()


def toggle():
    ss.running = not ss.running and not trainer.finished


def step():
    ss.running = False
    with ss.lock:
        trainer.step(ss.tick, max_seconds=LIMITS.tick_seconds)


def reset():
    ss.running = False
    with ss.lock:
        trainer.reset()


left, mid, right, rest = st.columns([1, 1, 1, 5], vertical_alignment="center")
left.button(
    "Pause" if ss.running else "Play",
    key="play",
    icon=":material/pause:" if ss.running else ":material/play_arrow:",
    on_click=toggle,
    type="primary",
    disabled=trainer.finished and not ss.running,
    use_container_width=True,
)
mid.button(
    "Step", key="step", icon=":material/skip_next:", on_click=step, disabled=trainer.finished, use_container_width=True
)
right.button("Reset", key="reset", icon=":material/restart_alt:", on_click=reset, use_container_width=True)


def live():
    # The lock also makes a redraw wait for a tick still running in a previous script run.
    waiting = False
    with ss.lock:
        if ss.running and not trainer.finished:
            gate = trainer_gate()
            if gate.acquire(timeout=0.05):
                try:
                    trainer.step(ss.tick, max_seconds=LIMITS.tick_seconds)
                finally:
                    gate.release()
            else:
                waiting = True
    if ss.running and trainer.finished:
        ss.running = False
        st.rerun()  # the whole page, so the ticking stops
    config, task = trainer.config, trainer.task
    status = "paused" if trainer.status == "training" and not ss.running else trainer.status
    with st.container(key="epoch"):
        st.progress(min(1.0, trainer.epoch / config.epochs), text=f"epoch {trainer.epoch} / {config.epochs} · {status}")
        if waiting:
            st.info(
                f"Waiting for a free trainer: {LIMITS.concurrent_trainers} sessions are training on this server "
                "right now. Training goes on by itself as soon as one finishes.",
                icon=":material/hourglass_top:",
            )
    if trainer.diverged:
        st.error(trainer.message)
        return
    if trainer.message:
        st.info(trainer.message)
    last = trainer.records.last()
    metric = "r2" if task == "regression" else "accuracy"
    cols = st.columns(4)
    for col, key in zip(cols, ("train_loss", "test_loss", f"train_{metric}", f"test_{metric}")):
        value = last.get(key) if last else None
        col.metric(key.replace("_", " ").replace("r2", "R²"), "—" if value is None else f"{value:.4f}")
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
        st.altair_chart(boundary(trainer, with_test=with_test, discretize=discretize, axes=axes), width="content")
    with b, st.container(key="loss"):
        log = st.toggle("log scale", key="log_loss")
        if last is None:
            st.caption("Nothing trained yet: press Play or Step.")
        st.altair_chart(charts.loss_chart(trainer.history, log_scale=log, metric=metric), width="content")
    a, b = st.columns([1, 1.2])
    if task != "regression":
        with a:
            drift_section()
    with b:
        timeline_section()


def drift_section():
    with st.container(key="drift"):
        st.subheader("Probability drift")
        st.caption("Every training point's output, from the untrained network (near 0.5) to now.")
        st.altair_chart(drift(trainer), width="content")


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
        if trainer.task != "regression":
            st.altair_chart(charts.bars_chart(snap.outputs, d.y_train, d.class_names, epoch=snap.epoch))
        st.altair_chart(boundary(trainer, epoch=snap.epoch, title=f"as it was at epoch {snap.epoch}"), width="content")
    if trainer.task != "regression" and len(d.X_test):
        pred = trainer.predict(d.X_test)
        pred = pred.argmax(1) if pred.ndim == 2 else (pred > 0.5).astype(int)
        st.subheader("Confusion matrix (test)")
        st.altair_chart(charts.confusion_chart(d.y_test, np.asarray(pred), d.class_names), width="content")


st.fragment(live, run_every=TICK_SECONDS if ss.running else None)()
downloads(trainer)
