"""Compare: the sidebar's experiment (A) against a copy with one thing changed (B), side by side."""

import time

import pandas as pd
import streamlit as st

from nnplay import charts, data, engine, sweep
from nnplay.config import FIELDS, TYPES, ConfigError, check_field, format_value, parse_value
from nnplay.text import literal
from pages._controls import LR_STEPS, RATE_STEPS, field_label, value_label
from pages._draw import boundary, draw
from pages._limits import LIMITS
from pages._session import frame, init_session, notices
from pages._turns import owner, take_trainer, trainer_slots

TRAIN_SECONDS = 30  # one press of "Train both" trains at most this long, so the page answers again
CHOICES = [name for name in FIELDS if name not in sweep.NOT_TRAINING | {"device"}]
SLIDERS = {"lr": LR_STEPS, "l1": RATE_STEPS, "l2": RATE_STEPS}
ss = st.session_state


def b_config(changes: dict):
    """A with B's changes; ConfigError (naming the field) when they clash with A or pass a limit."""
    config = ss.config.replace(**changes)
    for field, message in LIMITS.check(config, ss.table):
        raise ConfigError(field, message)
    return config


def pick_field():
    ss.compare_field, ss.compare_b, ss.compare_error = ss.b_field, {}, None


def set_value():
    name = ss.compare_field
    raw = ss[f"b_value_{name}"]
    try:
        value = check_field(name, parse_value(name, raw) if isinstance(raw, str) and TYPES[name] is not str else raw)
        b_config({name: value})
    except ConfigError as exc:
        ss.compare_error = f"b_{exc}"
        return
    ss.compare_b, ss.compare_error = {name: value}, None


init_session()  # A from the link on a new session; B's b_ params are read before frame() rewrites the URL
if "compare_b" not in ss:
    ss.compare_b, warnings = sweep.read_changes(st.query_params.to_dict())
    ss.url_warnings = [*ss.url_warnings, *warnings]
    if not any(k.startswith("b_") for k in st.query_params):  # B before anyone picks: the next learning rate up
        ss.compare_b = {"lr": ([s for s in LR_STEPS if s > ss.config.lr] or [LR_STEPS[0]])[0]}
    ss.compare_field, ss.compare_error = next(iter(ss.compare_b), "lr"), None
frame({f"b_{k}": format_value(v) for k, v in ss.compare_b.items()})
a = ss.config
try:  # A may have changed since: a change that no longer fits it is dropped, and said
    b = b_config(ss.compare_b)
except ConfigError as exc:
    ss.url_warnings = [*ss.url_warnings, f"b_{exc}; B keeps A's value"]
    ss.compare_b, b = {}, a
    for key in [k for k in st.query_params if k.startswith("b_")]:
        del st.query_params[key]
notices()
st.title("Compare")
st.caption("A is the experiment in the sidebar; B is a copy of it with one thing changed.")

left, right = st.columns(2)
ss.b_field = name = ss.compare_field
left.selectbox("B changes", CHOICES, key="b_field", on_change=pick_field, format_func=field_label)
key, current, meta = f"b_value_{name}", getattr(b, name), FIELDS[name].metadata
pick = meta["choices"] and meta["length"] is None  # one of a list (a list of choices is typed, as in the URL)
ss[key] = current if pick or TYPES[name] is bool or name in SLIDERS else format_value(current)
with right:
    if pick:
        st.selectbox("to", meta["choices"], key=key, on_change=set_value, format_func=lambda v: value_label(name, v))
    elif TYPES[name] is bool:
        st.checkbox("to", key=key, on_change=set_value)
    elif name in SLIDERS:
        st.select_slider(
            "to", sorted({*SLIDERS[name], current}), key=key, on_change=set_value, format_func="{:g}".format
        )
    else:
        st.text_input("to", key=key, on_change=set_value, help=meta["help"], max_chars=300)
if ss.compare_error:
    st.error(literal(f"B not changed — {ss.compare_error}"))
diff = ", ".join(
    f"{field_label(k)}: {value_label(k, getattr(a, k))} → {value_label(k, v)}"
    for k, v in ss.compare_b.items()
    if v != getattr(a, k)
)
if not diff:
    st.info("B is the same as A: choose B's value above.")

if ss.get("compare_key") != (a, b, id(ss.table)):
    try:
        ss.compare_pair = sweep.pair(a, b, ss.table)
    except (ValueError, data.DataError) as exc:
        st.error(literal(f"These runs cannot train — {exc}"))
        st.stop()
    ss.compare_key = (a, b, id(ss.table))
ta, tb, shares = ss.compare_pair
runs = (("A", ta), ("B", tb))
st.caption(literal(f"{'B differs in ' + diff + '. ' if diff else ''}{shares}"))  # B's value may be an expression


def train_both():
    bar = st.progress(0.0, text="training A and B")
    end, notice = time.perf_counter() + TRAIN_SECONDS, st.empty()
    slots, me = trainer_slots(), owner()
    try:
        while not (ta.finished and tb.finished) and time.perf_counter() < end and take_trainer(notice, end):
            with ss.lock:  # A and B in one batched pass, where their shapes allow
                engine.train([ta, tb], [ta.remaining, tb.remaining], max_seconds=LIMITS.tick_seconds)
            done = (ta.epoch + tb.epoch) / (ta.config.epochs + tb.config.epochs)
            text = " · ".join(f"{n}: epoch {t.epoch} / {t.config.epochs}" for n, t in runs)
            bar.progress(min(1.0, done), text=text)
            if slots.turn_over(me, LIMITS.turn_seconds):
                slots.release(me)  # take turns with those waiting
    finally:
        slots.release(me)
    if not (ta.finished and tb.finished):
        st.info(f"Trained for {TRAIN_SECONDS} s, this server's limit per press: press Train both again to go on.")


if st.button("Train both", key="compare_train", type="primary", icon=":material/play_arrow:"):
    train_both()
for label, t in runs:
    if t.message:
        (st.error if t.diverged else st.info)(f"{label}: {t.message}")

rows = [
    {"run": n, "epochs": t.epoch, "status": t.status, "seconds": round(t.seconds, 2)} | t.evaluate() for n, t in runs
]
with st.container(key="compare_metrics"):
    table = pd.DataFrame(rows).set_index("run").round(4)
    st.dataframe(table.rename(columns=lambda c: c.replace("_", " ").replace("r2", "R²")), width="stretch")

epochs = sorted(set(ta.snapshots.epochs) | set(tb.snapshots.epochs))
at = epochs[-1]
if len(epochs) > 1:
    at = st.select_slider("epoch (both timelines)", epochs, value=at, key=f"compare_when_{len(epochs)}_{at}")
for col, (label, t) in zip(st.columns(2), runs):
    with col, st.container(key=f"compare_boundary_{label.lower()}"):
        snap = t.snapshots.at(at)
        draw(boundary(t, epoch=snap.epoch, title=f"{label} at epoch {snap.epoch}"), width="content")

curves = [
    pd.DataFrame({"epoch": t.history["epoch"], "loss": t.history[f"{split}_loss"], "run": label, "split": split})
    for label, t in runs
    for split in ("train", "test")
    if f"{split}_loss" in t.history
]
with st.container(key="compare_loss"):
    if curves:
        log = st.toggle("log scale", key="compare_log")
        st.altair_chart(charts.pair_loss_chart(pd.concat(curves, ignore_index=True), log_scale=log))
    else:
        st.caption("Press Train both to see the loss curves.")
