"""Pinpoint · Predict (the landing page): click a point on a photo and see what the models say."""

import streamlit as st

from ui.common import load_models, load_store, page_setup
from ui.widgets import click_area, decoded_ui, image_source_ui

# Load: who is testing, the models and the database (both once per server process).
tester = page_setup("Predict")
models = load_models()  # in remote mode: asked from the service, nothing loaded here
store = load_store()

st.title("📍 Pinpoint")
st.caption("Pick a photo in the sidebar, then **click the spot you are curious about**. Each "
           "model looks at a square around your click and lists its five best guesses; tell us "
           "which is right.")

# Ask: which image? It is decoded once; only a small copy goes to the browser.
choice = image_source_ui("predict")
if choice is None:
    st.info("Upload a photo or choose a sample to begin.")
    st.stop()
decoded = decoded_ui("predict", models, choice)
if decoded is None:
    st.stop()

# Predict, show and record: the photo with the answers beside it. A click reruns only this.
click_area("predict", models, store, decoded, tester)
