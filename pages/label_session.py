"""Pinpoint · Label session: go through a batch of photos quickly — click, check, fix, next."""

from collections.abc import Callable

import streamlit as st

from ui.common import load_predictor, load_store, page_setup
from ui.display import progress_text
from ui.widgets import (
    UPLOAD_TYPES,
    ImageChoice,
    decoded_ui,
    point_and_predict_ui,
    result_ui,
    sample_choices,
    save_truth,
    server_choices,
    truth_ui,
    upload_choices,
)

tester = page_setup("Label session")
predictor = load_predictor()
store = load_store()
st.title("🏷️ Label session")
st.write("For each photo: **click a spot**, check the two answers, correct them if needed, "
         "then **Save & next**. Keys: **Ctrl+Enter** saves and moves on, **Ctrl+→** skips; in a "
         "list, type the first letters of a label to jump to it.")

# Ask: which batch? Uploads, the server folder, or the samples.
sources: dict[str, Callable[[], list[ImageChoice]] | None] = {
    "Upload photos": None, "Sample photos": sample_choices}
if server_choices():
    sources["Server folder"] = server_choices
source = st.radio("Photos", list(sources), horizontal=True, key="label_source")
if sources[source] is None:
    batch = upload_choices(st.file_uploader("Photos (JPEG, PNG or WebP)", type=UPLOAD_TYPES,
                                            accept_multiple_files=True, key="label_uploads"))
else:
    batch = sources[source]()  # type: ignore[misc]  # None is handled above
if not batch:
    st.info("Add some photos to start a session.")
    st.stop()

# Where are we in the batch? A new batch starts at the beginning.
batch_id = tuple(choice.key for choice in batch)
if st.session_state.get("label_batch") != batch_id:
    st.session_state.update(label_batch=batch_id, label_index=0, label_saved=0)
index = st.session_state["label_index"]
st.progress(index / len(batch), text=f"{progress_text(index, len(batch))} done · "
            f"{st.session_state['label_saved']} saved")
if flash := st.session_state.pop("label_flash", None):
    st.success(flash)
if index >= len(batch):
    st.success("🎉 All photos done. Thank you!")
    if st.button("Start again", key="label_restart"):
        st.session_state["label_index"] = 0
        st.rerun()
    st.stop()


def next_photo(saved: bool) -> None:
    st.session_state["label_index"] += 1
    st.session_state["label_saved"] += int(saved)


choice = batch[index]
st.subheader(f"Photo {index + 1} of {len(batch)}: {choice.name}")
st.button("Skip this photo", key="label_skip", on_click=next_photo, args=(False,),
          shortcut="Ctrl+Right")
loaded = decoded_ui("label", predictor, choice)
if loaded is None:
    st.stop()
decoded, shown = loaded

# Predict, show, confirm or correct, and move on.
result = point_and_predict_ui("label", predictor, store, decoded, shown, tester)
if result is None:
    st.stop()
result_ui(result)
chosen = truth_ui("label", predictor.specs, result, submit="Save & next ➜")
if chosen is not None and save_truth(predictor, store, result, chosen, tester):
    st.session_state["label_flash"] = f"Saved photo {index + 1} ({choice.name})."
    next_photo(True)
    st.rerun()
