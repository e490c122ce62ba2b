"""Pinpoint · My labels: review what you saved and fix a label (the old one stays in history)."""

import streamlit as st

from predictor.store import tester_labels
from ui.common import load_models, load_store, page_setup
from ui.my_labels import flash_ui, label_card_ui, pager_ui

tester = page_setup("My labels")
models = load_models()  # their labels, to choose from and to check an edit against
store = load_store()
st.title("✏️ My labels")
flash_ui()

# Load: every label saved under this name (or login), newest first.
mine = tester_labels(store, tester)
if mine.empty:
    st.info(f"No labels saved as **{tester}** yet. Label some on the Predict or Label session "
            "page; they show up here to review and edit.")
    st.stop()
points = list(dict.fromkeys(mine["prediction_id"]))  # newest first, one card per point
st.write(f"**{len(mine)}** label(s) on **{len(points)}** point(s) saved as **{tester}**, newest "
         "first. Change a label and press **Save changes**: the new one is counted in "
         "accuracy, the old one stays in the history.")

# Show: one card per point, a page at a time; each card saves its own changes.
for prediction_id in points[pager_ui(len(points))]:
    label_card_ui(models, store, mine[mine["prediction_id"] == prediction_id], tester)
