"""The Lab: custom losses and activations from safe expressions, and the article's comparisons."""

import altair as alt
import streamlit as st

from nnplay import charts, lab
from nnplay.config import ConfigError
from nnplay.expr import ExprError
from pages._session import frame, notices
from pages._sidebar import expression_field, refusal, set_config

frame()
ss = st.session_state
st.title("Lab")
st.write(
    "Write a loss or an activation as a formula. It is checked before anything runs: only numbers, "
    "the variables, + − × ÷ **, and " + ", ".join(f"`{f}`" for f in lab.expr.FUNCTIONS) + "."
)
notices()  # what "Use this ..." did, above the editors


def use(changes: dict, done: str) -> None:
    """Put an expression into the Config; text edited since it was checked is checked again."""
    try:
        set_config(ss.config.replace(**changes))
    except ConfigError as exc:
        ss.lab_error = str(exc)
        return
    ss.lab_error, ss.notice = None, done


def use_loss():
    text = ss.lab_loss
    use({"loss": "custom", "loss_expr": text}, f"Training now uses the custom loss {text} (under loss in the sidebar).")


def use_activation():
    text = ss.lab_activation
    use(
        {"activation": ("custom",), "activation_expr": text},
        f"Every hidden layer now uses the custom activation {text} (under hidden layers in the sidebar).",
    )


if ss.get("lab_error"):
    refusal(ss.lab_error)


CURVES = charts.PALETTE[1:3]  # activation, derivative


def editor(title: str, key: str, default: str, curve, chart, valid: str, label: str, on_use) -> None:
    """An expression editor: live validation, a plot of the function, and a button that uses it."""
    st.subheader(title)
    ss.setdefault(key, default)
    frame_ = expression_field(title, key, curve, label_visibility="collapsed")
    if frame_ is None:
        return
    st.success(valid)
    st.altair_chart(chart(alt.Chart(frame_).mark_line()).properties(height=220))
    st.button(label, key=f"use_{key.removeprefix('lab_')}", on_click=on_use)


left, right = st.columns(2)
with left, st.container(key="lab_loss_box"):
    editor(
        "Custom loss of y_pred and y",
        "lab_loss",
        ss.config.loss_expr,
        lab.loss_curve,
        lambda c: c.encode(x=alt.X("error:Q", title="y_pred − y"), y="loss:Q", color=alt.value(charts.PALETTE[1])),
        "Valid: a finite number with a usable gradient.",
        "Use this loss",
        use_loss,
    )
with right, st.container(key="lab_activation_box"):
    editor(
        "Custom activation of x",
        "lab_activation",
        ss.config.activation_expr,
        lab.activation_curve,
        lambda c: c.encode(
            x="x:Q", y="value:Q", color=alt.Color("curve:N", scale=alt.Scale(range=charts.PALETTE[1:3]))
        ),
        "Valid: element by element, finite, with a usable gradient.",
        "Use this activation",
        use_activation,
    )


@st.cache_data(max_entries=8, show_spinner="Training both networks…")
def comparison(kind: str, loss_expr: str):
    configs = lab.mixed_vs_relu() if kind == "mixed" else lab.mse_vs_quartic(loss_expr=loss_expr)
    curves, trainers = lab.compare(configs)
    scatter = lab.predicted_vs_true(trainers) if kind == "loss" else None
    problems = [f"{name}: {t.message}" for name, t in trainers.items() if t.diverged]
    return curves, scatter, problems


st.subheader("The article's experiments, side by side")
st.caption("Same data, same initial weights; only the activation (left) or the loss (right) differs.")
a, b = st.columns(2)
with a, st.container(key="compare_mixed"):
    curves, _, _ = comparison("mixed", "")
    st.altair_chart(charts.compare_chart(curves, title="ReLU vs the parallel ReLU + tanh block"))
with b, st.container(key="compare_loss"):
    try:
        lab.expr.check_loss(ss.lab_loss)
        loss_expr = ss.lab_loss
    except ExprError:
        loss_expr = "mean((y_pred - y)**4)"
    curves, scatter, problems = comparison("loss", loss_expr)
    for problem in problems:
        st.warning(problem)
    st.altair_chart(charts.compare_chart(curves, title="MSE vs the custom loss (regression)", log_scale=True))
    scatter = scatter.dropna()
    if len(scatter):
        st.altair_chart(charts.scatter_chart(scatter))
