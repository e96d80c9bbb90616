"""Inside the network: what each neuron computes, the weights, the gradients, the dead units."""

import altair as alt
import pandas as pd
import streamlit as st

from nnplay import charts
from nnplay.text import literal
from pages._draw import NETWORK_CAPTION, NOT_DRAWN, draw
from pages._session import current_trainer, frame, notices

frame()
trainer = current_trainer()
notices()
if trainer is None:
    st.stop()
model, d = trainer.model, trainer.data

st.subheader("Network")
with st.container(key="network"):
    if charts.network_drawable(trainer):
        st.caption(NETWORK_CAPTION)
        draw(charts.trainer_network_chart(trainer), width="content")  # stretched, the maps lose their shape
        if d.raw_dims > 2:
            st.caption(literal(f"The plane: {d.raw_names[0]} and {d.raw_names[1]}, the other inputs at their mean."))
    else:
        st.caption(NOT_DRAWN)
st.code(repr(model), language="text")

if model.layers and d.raw_dims == 1:  # on a line, each neuron's output reads better as a curve
    st.subheader("What each neuron responds to")
    with st.container(key="neurons"):
        grids = trainer.neuron_grids(resolution=100)
        frame = pd.concat(
            [
                pd.DataFrame({"x": d.plane(100)[0], "activation": g[u], "neuron": f"layer {i + 1} · {u + 1}"})
                for i, g in enumerate(grids)
                for u in range(len(g))
            ]
        )
        x = alt.X("x:Q", title=d.raw_names[0], scale=alt.Scale(zero=False))  # the input's span, not from 0
        st.altair_chart(alt.Chart(frame).mark_line().encode(x=x, y="activation:Q", color="neuron:N"))

history = trainer.history
if len(history):
    st.subheader("Gradient norms per layer")
    with st.container(key="gradients"):
        st.altair_chart(charts.gradient_chart(history))
    st.metric("dead units (output zero for every training point)", f"{history['dead_fraction'].iloc[-1]:.0%}")
