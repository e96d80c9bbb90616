"""The Lab: custom losses and activations from safe expressions, and the article's comparisons."""

import altair as alt
import streamlit as st

from nnplay import charts, lab
from nnplay.expr import ExprError
from pages._shared import frame, set_config

frame()
ss = st.session_state
st.title("Lab")
st.write(
    "Write a loss or an activation as a formula. It is checked before anything runs: only numbers, "
    "the variables, + − × ÷ **, and " + ", ".join(f"`{f}`" for f in lab.expr.FUNCTIONS) + "."
)


def use_loss():
    set_config(ss.config.replace(loss="custom", loss_expr=ss.lab_loss))
    ss.notice = "The custom loss is in use (see the Training group in the sidebar)."


def use_activation():
    set_config(ss.config.replace(activation=("custom",), activation_expr=ss.lab_activation))
    ss.notice = "Every hidden layer now uses the custom activation."


left, right = st.columns(2)
with left, st.container(key="lab_loss_box"):
    st.subheader("Custom loss of y_pred and y")
    ss.setdefault("lab_loss", ss.config.loss_expr)
    text = st.text_input("loss", key="lab_loss", max_chars=300)
    try:
        curve = lab.loss_curve(text)
    except ExprError as exc:
        st.error(f"Not usable — {exc}")
    else:
        st.success("Valid: a finite number with a usable gradient.")
        st.altair_chart(
            alt.Chart(curve)
            .mark_line(color=charts.PALETTE[1])
            .encode(x=alt.X("error:Q", title="y_pred − y"), y="loss:Q")
            .properties(height=220)
        )
        st.button("Use this loss", key="use_loss", on_click=use_loss)
with right, st.container(key="lab_activation_box"):
    st.subheader("Custom activation of x")
    ss.setdefault("lab_activation", ss.config.activation_expr)
    text = st.text_input("activation", key="lab_activation", max_chars=300)
    try:
        curve = lab.activation_curve(text)
    except ExprError as exc:
        st.error(f"Not usable — {exc}")
    else:
        st.success("Valid: element by element, finite, with a usable gradient.")
        st.altair_chart(
            alt.Chart(curve)
            .mark_line()
            .encode(x="x:Q", y="value:Q", color=alt.Color("curve:N", scale=alt.Scale(range=charts.PALETTE[1:3])))
            .properties(height=220)
        )
        st.button("Use this activation", key="use_activation", on_click=use_activation)


@st.cache_data(max_entries=8, show_spinner="Training both networks…")
def comparison(kind: str, loss_expr: str):
    configs = lab.mixed_vs_relu() if kind == "mixed" else lab.mse_vs_quartic(loss_expr=loss_expr)
    curves, trainers = lab.compare(configs)
    scatter = lab.predicted_vs_true(trainers) if kind == "loss" else None
    return curves, scatter


st.subheader("The article's experiments, side by side")
st.caption("Same data, same initial weights; only the activation (left) or the loss (right) differs.")
a, b = st.columns(2)
with a, st.container(key="compare_mixed"):
    curves, _ = comparison("mixed", "")
    st.altair_chart(charts.compare_chart(curves, title="ReLU vs the parallel ReLU + tanh block"))
with b, st.container(key="compare_loss"):
    try:
        lab.expr.check_loss(ss.lab_loss)
        loss_expr = ss.lab_loss
    except ExprError:
        loss_expr = "mean((y_pred - y)**4)"
    curves, scatter = comparison("loss", loss_expr)
    st.altair_chart(charts.compare_chart(curves, title="MSE vs the custom loss (regression)", log_scale=True))
    st.altair_chart(charts.scatter_chart(scatter))
