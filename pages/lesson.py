"""The Lesson: the article, step by step, with the code generated from the live Config."""

import math
from urllib.parse import urlencode

import altair as alt
import pandas as pd
import streamlit as st
import torch

from nnplay import charts, lab
from nnplay.config import ARTICLE, PRESETS
from nnplay.export import ExportError, drift_code, sections, untrained_code
from nnplay.text import literal
from nnplay.train import Trainer
from pages._draw import draw, drift, training_table
from pages._session import current_trainer, frame, notices
from pages._sidebar import set_config

frame()
ss = st.session_state
trainer = current_trainer()
notices()
st.title("Lesson: building and experimenting with networks in PyTorch")
config = ss.config
st.button(
    "Start from the article's experiment",
    key="lesson_article",
    on_click=lambda: set_config(ARTICLE),
    disabled=config == ARTICLE,
)
upload = ss.get("csv_file")
try:
    code = sections(config, ss.table, upload.name if upload else "data.csv")
except ExportError as exc:
    st.info(literal(f"The lesson shows code for generated data sets: {exc}"))
    st.stop()
if trainer is None:
    st.stop()
fresh = Trainer(config, ss.table)  # the untrained network, from the same seed


@st.cache_data(max_entries=16)
def printed(network_code: str) -> str:
    """What the shown network code prints (`print(model)`), by running it: the engine's Network
    prints more (its output head, a parameter count) than the class a reader sees. The code is the
    exporter's, from a checked Config; a custom activation passed the expression whitelist."""
    lines = []
    names = {
        "torch": torch,
        "nn": torch.nn,
        "math": math,
        "print": lambda *args: lines.append(" ".join(map(str, args))),
    }
    exec(network_code, names)
    return "\n".join(lines)


def step(n: int, title: str, text: str, step_config=None):
    st.header(f"{n}. {title}")
    st.write(text)
    query = urlencode((step_config or config).to_query())
    st.link_button("Open this in the Playground", f"/?{query}", key=f"lesson_link_{n}")


regression = config.task == "regression" or (ss.table is not None and ss.table.task == "regression")
step(
    1,
    "The data",
    "Synthetic data from scikit-learn (or a playground set, or your table), split and standardised with the "
    "training set's statistics. The inputs, coloured by " + ("the target:" if regression else "class:"),
)
st.code(code["header"] + "\n\n" + code["data"], language="python")
d = fresh.data
raw = training_table(d)
if len(d.raw_names) > 1:
    names = d.raw_names[:4]
    st.altair_chart(charts.pairs_chart(raw, names, regression=d.task == "regression", class_names=d.class_names))
else:
    st.altair_chart(alt.Chart(raw).mark_circle(size=16).encode(x=f"{d.raw_names[0]}:Q", y="target:Q"))

step(
    2,
    "The network",
    "A class that inherits from `nn.Module`: layers in `__init__`, the flow in `forward`. "
    "`print(model)` lists them, like Keras' summary:",
)
st.code(code["network"] + "\n\n" + code["init"], language="python")
st.code(printed(code["network"]), language="text")

expected = {
    "sigmoid": "so the probabilities sit near 0.5 and the loss near ln 2 ≈ 0.69",
    "softmax": f"so each class gets a probability near 1/{d.n_classes} and the loss sits near ln {d.n_classes}",
    "identity": "so the (standardised) predictions sit near 0 and the loss near the targets' variance, 1",
}
head = type(fresh.model.head).__name__.lower()  # sigmoid, softmax or identity
step(3, "Untrained outputs", f"The weights are random, {expected[head]}.")
st.code(code["loss"] + "\n\n" + untrained_code(head, dropout=config.dropout > 0), language="python")
# What the code above prints, from the engine's own network and loss.
fresh.model.eval()
with torch.no_grad():
    output = fresh.model(fresh.X_train)
fresh.model.train()
loss = fresh.loss.fn(output, fresh.y_train, fresh.task)
# str(), not an f-string field: format() of a one-number tensor prints the bare float.
st.code(str(fresh.model.head(output[:10]).cpu()) + "\n" + str(loss.cpu()), language="text")

step(
    4,
    "One step of the optimizer",
    "zero_grad, forward, loss, backward, step: the gradient says which way "
    "each weight should move, and the optimizer moves it.",
)
st.code(code["optimizer"], language="python")
# A copy: the optimizer updates the weight in place, and .cpu() of a CPU tensor is the same storage.
before = fresh.model.output.weight.detach().to("cpu", copy=True)
fresh.step(1)
grad = fresh.model.output.weight.grad.cpu()
after = fresh.model.output.weight.detach().cpu()
st.dataframe(
    pd.DataFrame(
        {
            "weight before": before.flatten().numpy(),
            "gradient": grad.flatten().numpy(),
            "weight after": after.flatten().numpy(),
        }
    ),
    hide_index=True,
    column_config={
        name: st.column_config.NumberColumn(format="%.5f") for name in ("weight before", "gradient", "weight after")
    },
)

step(5, "The training loop", "Repeat the five steps, epoch after epoch, and the loss falls.")
st.code(code["loop"], language="python")
if len(trainer.records):
    metric = "r2" if trainer.task == "regression" else "accuracy"
    draw(charts.loss_chart(trainer.history, metric=metric))
else:
    st.info("Train on the Playground page, or open this step there, to see the loss curve.")

if trainer.task != "regression":
    step(
        6,
        "The probability drift",
        "The outputs start together near 0.5 and separate towards 0 and 1 as the "
        "network learns to tell the classes apart.",
    )
    st.code(drift_code(head, trainer.snapshots.every, config.epochs), language="python")
    draw(drift(trainer))


@st.cache_data(max_entries=4, show_spinner="Training both networks…")
def comparison(kind: str):
    configs = lab.mixed_vs_relu() if kind == "mixed" else lab.mse_vs_quartic()
    curves, _ = lab.compare(configs)
    return curves


mixed = PRESETS["article_mixed"]
step(
    7,
    "Mixing two activations",
    "Send one layer's output through ReLU and tanh in parallel and add them.",
    step_config=mixed,
)
mixed_network = sections(mixed)["network"]
st.code(mixed_network, language="python")
st.code(printed(mixed_network), language="text")
st.altair_chart(charts.compare_chart(comparison("mixed"), title="ReLU vs ReLU + tanh"))

quartic = PRESETS["article_regression"].replace(loss="custom", loss_expr="mean((y_pred - y)**4)")
step(
    8,
    "A custom loss",
    "A quartic loss on the regression network: define a function, use it as the criterion.",
    step_config=quartic,
)
st.code(sections(quartic)["loss"], language="python")
st.altair_chart(charts.compare_chart(comparison("loss"), title="MSE vs quartic", log_scale=True))
