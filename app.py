"""nnplay: the Streamlit front door. For now a single page that trains the article's network
with the engine; the full playground (sidebar, live charts, pages) is the next piece of work."""

import streamlit as st

from nnplay import PRESETS, Trainer

st.set_page_config(page_title="nnplay", page_icon="🧠", layout="wide")
st.title("nnplay: build a neural network in PyTorch and watch it learn")
st.write(
    "The full playground is on its way: a sidebar to choose the data, the layers, the activations, "
    "the loss and the optimizer, with a live decision boundary, loss curve and probability drift. "
    "Meanwhile, the engine underneath already trains the networks of the article it grew from."
)

preset = st.selectbox(
    "Experiment",
    list(PRESETS),
    key="preset",
    format_func=lambda k: {
        "default": "Playground default (circle, 8-4 tanh, Adam)",
        "article": "The article: 5-8-4-1 ReLU, BCE, SGD lr 0.1",
        "article_mixed": "The article's mixed ReLU + tanh block",
        "article_regression": "The article's regression network (MSE)",
    }[k],
)
if st.button("Train", key="train", type="primary"):
    st.session_state.trainer = Trainer(PRESETS[preset]).run()

trainer = st.session_state.get("trainer")
if trainer is not None:
    summary = trainer.summary()
    left, right = st.columns([2, 3])
    with left:
        st.code(repr(trainer.model), language="text")
        metric = "accuracy" if trainer.task != "regression" else "r2"
        st.metric("final train loss", f"{summary['final']['train_loss']:.4f}")
        st.metric(f"final train {metric}", f"{summary['final'][f'train_{metric}']:.3f}")
        st.caption(f"{summary['epochs']} epochs in {summary['seconds']:.2f} s on {summary['device']}")
    with right, st.container(key="loss"):
        st.line_chart(trainer.history.frame().set_index("epoch")[["train_loss"]])
