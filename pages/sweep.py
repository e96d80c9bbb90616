"""Sweep: one knob, several values, trained together; each value opens in the Playground."""

import time
from pathlib import Path
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from nnplay import charts, data, sweep
from nnplay.config import format_value
from nnplay.text import literal
from pages._draw import boundary, draw
from pages._limits import LIMITS
from pages._session import frame, notices
from pages._sidebar import set_config
from pages._turns import owner, take_trainer, trainer_slots

SWEEP_SECONDS = 60  # one sweep trains at most this long; a run it cuts short says so
ss = st.session_state
frame()
notices()
st.title("Sweep")
st.caption(
    "Train the sidebar's experiment once per value of one knob. Where the networks share a shape they "
    "train together in one batched pass; otherwise one after another."
)


def new_knob():
    ss.sweep_values = sweep.KNOBS[ss.sweep_knob].example


left, right = st.columns([1, 2])
knob = left.selectbox(
    "knob", list(sweep.KNOBS), format_func=lambda k: sweep.KNOBS[k].label, key="sweep_knob", on_change=new_knob
)
spec = sweep.KNOBS[knob]
ss.setdefault("sweep_values", spec.example)
text = right.text_input(
    "values",
    key="sweep_values",
    max_chars=300,
    help=f"Commas between values, or a range from:to:count (e.g. 1:16:4); at most {sweep.MAX_VALUES} values. "
    + ("A range of positive values is spread geometrically." if spec.log else ""),
)
try:
    values = sweep.parse_values(knob, text)
    configs = sweep.configs_for(ss.config, knob, values)
    for v, c in zip(values, configs):
        for problem in LIMITS.check(c, ss.table):
            raise sweep.SweepError(knob, f"{format_value(v)} goes past this server's limits — {problem}")
except sweep.SweepError as exc:
    st.error(literal(f"Cannot sweep — {exc}"))
    values = None


def run_sweep():
    bar = st.progress(0.0, text="starting")
    if not take_trainer(st.empty(), time.perf_counter() + SWEEP_SECONDS):
        st.error("Every trainer on this server stayed busy: try again in a moment.")
        return
    try:
        with ss.lock:
            result = sweep.sweep(
                ss.config,
                knob,
                values,
                ss.table,
                progress=lambda f, t: bar.progress(min(1.0, f), text=t),
                max_seconds=SWEEP_SECONDS,
            )
    except (ValueError, data.DataError) as exc:
        st.error(literal(f"This sweep cannot run — {exc}"))
        return
    finally:
        trainer_slots().release(owner())
    bar.empty()
    ss.sweep_result, ss.sweep_for = result, (ss.config, knob, tuple(values))


if st.button("Run the sweep", key="sweep_run", type="primary", icon=":material/play_arrow:", disabled=values is None):
    run_sweep()
result = ss.get("sweep_result")
if result is None:
    st.stop()

knob_spec = sweep.KNOBS[result.knob]
how = (
    f"{len(result.results)} networks trained together in one batched pass"
    if result.path == "batched"
    else f"trained one after another ({result.reason})"
)
st.caption(f"{knob_spec.label}: {how}, {result.seconds:.1f} s.")
if ss.sweep_for != (ss.config, knob, tuple(values or ())):
    st.caption("These are the last sweep's results; the settings have changed since: run it again to follow them.")
for r in result.results:
    if r.message:
        (st.warning if r.diverged else st.info)(f"{result.knob} = {format_value(r.value)}: {r.message}")

metric = "r2" if result.results[0].trainer.task == "regression" else "accuracy"
finals = pd.DataFrame(
    [
        {"value": r.value, "split": split, "loss": r.final[f"{split}_loss"], "score": r.final[f"{split}_{metric}"]}
        for r in result.results
        for split in ("train", "test")
    ]
).replace([float("inf"), float("-inf")], float("nan"))
curves = pd.concat(
    [
        pd.DataFrame({k: r.history.get(k, []) for k in ("epoch", "train_loss")}).assign(label=format_value(r.value))
        for r in result.results
    ],
    ignore_index=True,
)
with st.container(key="sweep_knob_chart"):
    st.subheader(f"Final loss and {'R²' if metric == 'r2' else 'accuracy'} against the {knob_spec.label}")
    st.altair_chart(charts.sweep_metric_chart(finals, knob_title=knob_spec.label, log_x=knob_spec.log, metric=metric))
with st.container(key="sweep_curves"):
    st.subheader("Loss curves")
    log = st.toggle("log scale", key="sweep_log")
    st.altair_chart(charts.sweep_curves_chart(curves, knob_title=knob_spec.label, log_scale=log))


def open_here(config):
    set_config(config)
    ss.running = True
    st.switch_page(Path(__file__).resolve().parent / "playground.py")  # from any entry point (deploy/ has its own)


with st.container(key="sweep_boundaries"):
    st.subheader("What each one learned")
    st.caption("↗ opens that run in a new Playground tab; *Open here* makes it this session's experiment.")
    per_row = 4
    for start in range(0, len(result.results), per_row):
        cols = st.columns(per_row)
        for col, (i, r) in zip(cols, enumerate(result.results[start : start + per_row], start=start)):
            label = f"{result.knob} = {format_value(r.value)}"
            with col:
                if r.diverged:
                    st.error(f"{label}: diverged")
                else:
                    # Streamlit fits axes and title inside this size: 200 × 270 leaves a square plot.
                    draw(boundary(r.trainer, title=label, size=(200, 270), legend=False), width="content")
                if r.config.dataset != "csv":  # a new tab has no uploaded table
                    st.link_button(f"{label} ↗", "/?" + urlencode(r.config.to_query()))
                if st.button("Open here", key=f"sweep_open_{i}"):
                    open_here(r.config)
