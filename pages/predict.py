"""Pinpoint · Predict (the landing page): click a point on a photo and see what the models say."""

import streamlit as st

from ui.common import load_predictor, load_store, page_setup
from ui.widgets import (
    decoded_ui,
    image_source_ui,
    point_and_predict_ui,
    result_ui,
    save_truth,
    truth_ui,
)

# Load: who is testing, the models and the database (both once per server process).
tester = page_setup("Predict")
predictor = load_predictor()
store = load_store()

st.title("📍 Pinpoint")
st.write("Pick a photo, then **click the spot you are curious about**. Each model looks at a "
         "square around your click and lists its five best guesses.")

# Ask: which image? It is decoded once; only a small copy goes to the browser.
choice = image_source_ui("predict")
if choice is None:
    st.info("Upload a photo or choose a sample to begin.")
    st.stop()
loaded = decoded_ui("predict", predictor, choice)
if loaded is None:
    st.stop()
decoded, shown = loaded

# Predict: each click is handled once; the image then shows the point and the crop boxes.
result = point_and_predict_ui("predict", predictor, store, decoded, shown, tester)
if result is None:
    st.caption("A white dot will mark your click; coloured squares show what each model saw.")
    st.stop()

# Show, then record the truth with the prediction.
result_ui(result)
chosen = truth_ui("predict", predictor.specs, result)
if chosen is not None:
    save_truth(predictor, store, result, chosen, tester)
