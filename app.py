"""nnplay's entry point: page config and the pages.

The sidebar is drawn by each page (``pages._shared.frame``), not here: with a ``pages/`` folder
beside the entry point, Streamlit 1.67 resets the entry point's widgets on every rerun.
"""

import streamlit as st

st.set_page_config(page_title="nnplay", page_icon="🧠", layout="wide")
st.navigation(
    [
        st.Page("pages/playground.py", title="Playground", icon=":material/tune:", default=True),
        st.Page("pages/inside.py", title="Inside the network", icon=":material/hub:"),
        st.Page("pages/lab.py", title="Lab", icon=":material/science:"),
        st.Page("pages/lesson.py", title="Lesson", icon=":material/school:"),
        st.Page("pages/data.py", title="Data", icon=":material/scatter_plot:"),
        st.Page("pages/about.py", title="About", icon=":material/help:"),
    ]
).run()
