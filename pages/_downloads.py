"""The Playground's *Save and load* and *Show the PyTorch code*: the model (nnplay.modelfile), its
history, the boundary as a PNG and the exported script to download, and a saved model to continue from."""

from __future__ import annotations

import streamlit as st

from nnplay import data
from nnplay.export import ExportError, export
from nnplay.modelfile import load_model, model_bytes
from nnplay.text import literal
from nnplay.train import Trainer
from pages._draw import boundary_png
from pages._sidebar import set_config


def _on_model_upload() -> None:
    ss = st.session_state
    upload = ss.get("model_file")
    if upload is None:
        return
    try:
        config, state = load_model(upload.getvalue())
        if config.dataset == data.CSV and ss.table is None:
            raise ValueError("this model was trained on an uploaded CSV: upload that table first")
        trainer = Trainer(config, ss.table)
        trainer.model.load_state_dict(state)
    except (ValueError, RuntimeError) as exc:
        ss.model_error = f"{upload.name}: {str(exc).splitlines()[0][:300]}"
        return
    trainer.adopt_current_weights()
    ss.model_error = None
    ss.trainer, ss.running = trainer, False
    set_config(config)
    ss.notice = f"Loaded {upload.name}: its weights are the new starting point (Reset returns to them)."


def downloads(trainer: Trainer) -> None:
    with st.expander("Save and load"):
        cols = st.columns(3)
        cols[0].download_button("Model (.pt)", model_bytes(trainer), "nnplay-model.pt", key="dl_model")
        cols[1].download_button(
            "History (.csv)", trainer.history.to_csv(index=False), "nnplay-history.csv", key="dl_history"
        )
        shown = st.session_state.setdefault("shown", {})
        sliced = trainer.data.raw_dims > 2
        cols[2].download_button(
            "Boundary (.png)",
            lambda: boundary_png(shown, sliced),
            "nnplay-boundary.png",
            mime="image/png",
            key="dl_png",
            help="The boundary chart as it is on the page when you press this",
        )
        st.file_uploader("Continue from a saved model", type=["pt"], key="model_file", on_change=_on_model_upload)
    with st.expander("Show the PyTorch code"):
        try:
            upload = st.session_state.get("csv_file")
            script = export(trainer.config, st.session_state.table, upload.name if upload else "data.csv")
        except ExportError as exc:
            st.info(str(exc))
        else:
            st.download_button("Download the script", script, "nnplay_experiment.py", key="dl_script")
            # Highlighting a hundred lines took the browser 0.4 s of the first page load, even in a
            # closed expander: the code is drawn when asked for.
            if st.toggle("show the code here", key="show_code"):
                st.code(script, language="python")
        if st.session_state.get("model_error"):
            st.error(literal(f"Model not loaded — {st.session_state.model_error}"))
