"""Inside the network: what each neuron computes, the weights, the gradients, the dead units."""

import altair as alt
import pandas as pd
import streamlit as st

from nnplay import charts
from pages._shared import current_trainer, frame, notices

frame()
trainer = current_trainer()
notices()
if trainer is None:
    st.stop()
model, d = trainer.model, trainer.data

st.subheader("Network")
st.caption("Links are coloured by the weight's sign and drawn as thick as its size.")
outputs = d.class_names if model.n_output > 1 else ["output"]
with st.container(key="network"):
    weights = [layer.weight.detach().cpu().numpy() for layer in model.linears]
    st.altair_chart(charts.network_chart(weights, d.feature_names, outputs))
st.code(repr(model), language="text")

st.subheader("What each neuron responds to")
with st.container(key="neurons"):
    if not model.layers:
        st.info("No hidden layers: the network is a logistic (or linear) regression.")
    elif d.raw_dims > 2:
        st.info("Neuron maps are drawn over a 2-D input plane; this data set has more inputs.")
    elif d.raw_dims == 1:
        grids = trainer.neuron_grids(resolution=100)
        frame = pd.concat(
            [
                pd.DataFrame(
                    {"x": trainer.data.plane(100)[0], "activation": g[u], "neuron": f"layer {i + 1} · {u + 1}"}
                )
                for i, g in enumerate(grids)
                for u in range(len(g))
            ]
        )
        x = alt.X("x:Q", title=d.raw_names[0], scale=alt.Scale(zero=False))  # the input's span, not from 0
        st.altair_chart(alt.Chart(frame).mark_line().encode(x=x, y="activation:Q", color="neuron:N"))
    else:
        st.altair_chart(charts.neuron_charts(trainer.neuron_grids(resolution=40)))

history = trainer.history
if len(history):
    st.subheader("Gradient norms per layer")
    with st.container(key="gradients"):
        st.altair_chart(charts.gradient_chart(history))
    st.metric("dead units (output zero for every training point)", f"{history['dead_fraction'].iloc[-1]:.0%}")
