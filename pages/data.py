"""The data set: every pair of features as a scatter (as the article shows its five), and the table."""

import altair as alt
import streamlit as st

from nnplay import charts
from nnplay.data import DATASETS
from nnplay.text import literal
from pages._draw import training_table
from pages._session import current_trainer, frame, notices

frame()
trainer = current_trainer()
notices()
if trainer is None:
    st.stop()
d = trainer.data
label = DATASETS[d.name].label if d.name in DATASETS else "Uploaded table"
st.subheader(f"{label}: {len(d.X_train)} training and {len(d.X_test)} test points, {d.task}")
raw = training_table(d)
names = d.raw_names[:6]
with st.container(key="pairs"):
    if len(names) == 1:
        # A column's name is not Altair shorthand ("a:b" broke it); the axes span the data, not from 0.
        x = alt.X(field=names[0], type="quantitative", scale=alt.Scale(zero=False))
        y = alt.Y("target:Q", scale=alt.Scale(zero=False))
        st.altair_chart(alt.Chart(raw).mark_point().encode(x=x, y=y))
    else:
        st.altair_chart(charts.pairs_chart(raw, names, regression=d.task == "regression", class_names=d.class_names))
        if len(d.raw_names) > 6:
            st.caption(f"The first 6 of {len(d.raw_names)} inputs.")
inputs = ", ".join(d.feature_names)  # an uploaded table's column names among them
st.caption(literal(f"Network inputs: {inputs} (standardised with the training set's statistics)."))
st.dataframe(raw, height=300)
table = st.session_state.get("table")
if table is not None:
    st.success(
        literal(
            f"Uploaded table: {len(table.X)} rows, target {table.target!r}, task {table.task}, "
            f"features {', '.join(table.feature_names)}."
        )
    )
