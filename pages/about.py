"""About: what each control does, and the ideas nnplay builds on."""

import streamlit as st

from nnplay.config import FIELDS
from pages._controls import GROUPS
from pages._session import frame

frame()

st.title("About nnplay")
st.write(
    "nnplay is a playground for small neural networks built with PyTorch. Pick a data set, shape a network, "
    "press Play and watch the decision boundary form, the loss fall and the output probabilities drift "
    "from 0.5 towards the classes. Every setting lives in the page's address: copy it to share the exact experiment."
)
st.subheader("The controls")
for group, names in GROUPS.items():
    st.markdown(f"**{group}**")
    st.markdown("\n".join(f"- `{n}` — {FIELDS[n].metadata['help']}" for n in names))
st.markdown(
    "**Play / Pause / Step / Reset** train frame by frame, one epoch a frame at first and more as the run goes on "
    "(the *speed* control; Step trains one frame); Reset returns to the very same initial "
    "weights. Changing the learning rate, budget or regularisation carries on training; changing the data or the "
    "architecture rebuilds the network. `?autoplay=0` in the address stops the first run from starting by itself; "
    "`?hide=noise,optimizer` hides controls for a focused exercise."
)
st.subheader("Credits")
st.markdown(
    "- Tirthajyoti Sarkar, *Building and Experimenting with Neural Networks in PyTorch* — the 5-8-4-1 network, the "
    "five-step loop, the probability drift and the mixed ReLU + tanh block.\n"
    "- TensorFlow Playground (Smilkov and Carter) — the data sets, engineered inputs, URL state and hide flags.\n"
    "- Andrej Karpathy's micrograd and minGPT, skorch's history, scikit-learn's data generators.\n"
    "- Okabe & Ito's colour-blind-safe palette."
)
