"""nnplay's entry point: page config and the pages.

The sidebar is drawn by each page (``pages._session.frame``), not here: with a ``pages/`` folder
beside the entry point, Streamlit 1.67 resets the entry point's widgets on every rerun.
"""

import sys
from pathlib import Path

import streamlit as st

# Absolute, so the app also runs from another entry point (deploy/cloud/streamlit_app.py).
PAGES = Path(__file__).resolve().parent / "pages"

st.set_page_config(page_title="nnplay", page_icon="🧠", layout="wide")
navigation = st.navigation(
    [
        st.Page(PAGES / "playground.py", title="Playground", icon=":material/tune:", default=True),
        st.Page(PAGES / "compare.py", title="Compare", icon=":material/compare:"),
        st.Page(PAGES / "sweep.py", title="Sweep", icon=":material/stacked_line_chart:"),
        st.Page(PAGES / "inside.py", title="Inside the network", icon=":material/hub:"),
        st.Page(PAGES / "lab.py", title="Lab", icon=":material/science:"),
        st.Page(PAGES / "lesson.py", title="Lesson", icon=":material/school:"),
        st.Page(PAGES / "data.py", title="Data", icon=":material/scatter_plot:"),
        st.Page(PAGES / "about.py", title="About", icon=":material/help:"),
    ]
)
if "pages._session" not in sys.modules:
    # The first visit to a fresh server imports PyTorch and the engine (seconds on a small machine):
    # the page says so instead of staying blank. After st.navigation, so the sidebar already lists
    # the pages by their titles.
    with st.spinner("Starting nnplay: loading PyTorch…"):
        import pages._downloads  # and with it the sidebar and the drawing helpers
        import pages._session
        import pages._turns  # noqa: F401
navigation.run()
