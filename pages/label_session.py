"""Pinpoint · Label session: go through a batch of photos quickly — click, check, fix, next."""

from collections.abc import Callable

import streamlit as st

from predictor.store import StoreFilter, labeled_answers
from ui.batch_queue import clicked_index, queue_ui
from ui.common import load_models, load_store, page_setup
from ui.display import progress_text
from ui.widgets import (
    UPLOAD_TYPES,
    ImageChoice,
    click_area,
    decoded_ui,
    image_digest,
    sample_choices,
    server_choices,
    upload_choices,
)

tester = page_setup("Label session")
models = load_models()  # in remote mode: asked from the service, nothing loaded here
store = load_store()
st.title("🏷️ Label session")
HOW = ("For each photo: **click a spot**, pick the right answer for each model (keys **1–5**, "
       "**0** = none of these), then **Save & next** (**Ctrl+Enter**); **Ctrl+→** skips the "
       "photo. “Not sure / skip” leaves a model unlabeled.")

# Ask: which batch? Uploads, the server folder, or the samples.
sources: dict[str, Callable[[], list[ImageChoice]] | None] = {
    "Upload photos": None, "Sample photos": sample_choices}
if server_choices():
    sources["Server folder"] = server_choices
with st.sidebar:  # in the sidebar, so the photo and its answers fit one screen
    source = st.radio("Photos", list(sources), key="label_source")
    if sources[source] is None:
        batch = upload_choices(st.file_uploader(
            "Photos (JPEG, PNG or WebP; drop many at once)", type=UPLOAD_TYPES,
            accept_multiple_files=True, key="label_uploads"))
    else:
        batch = sources[source]()  # type: ignore[misc]  # None is handled above
if not batch:
    st.info("Add some photos to start a session.")
    st.sidebar.caption(HOW)
    st.stop()

# Where are we in the batch? The store knows which photos this tester labeled already (in an
# earlier visit too): a new batch resumes at the first photo not labeled yet.
mine = labeled_answers(store, StoreFilter(tester=tester))
done = {i for i, choice in enumerate(batch) if image_digest(choice) in set(mine["image_sha256"])}
batch_id = tuple(choice.key for choice in batch)
if st.session_state.get("label_batch") != batch_id:
    resume = next((i for i in range(len(batch)) if i not in done), len(batch))
    st.session_state.update(label_batch=batch_id, label_index=resume)
index = st.session_state["label_index"]
if flash := st.session_state.pop("label_flash", None):
    st.toast(flash, icon="✅")  # a toast: the photo and its answers keep their place


def go_to(new_index: int) -> None:
    st.session_state["label_index"] = max(0, min(new_index, len(batch)))


# The queue (sidebar): every photo as a thumbnail, ✓ labeled / ○ not yet; click one to open it.
if (jumped := clicked_index(len(batch))) is not None:
    go_to(index := jumped)
with st.sidebar:
    queue_ui(lambda i: batch[i].read(), [c.key for c in batch], done, index,
             models.limits.max_pixels, go_to)
    st.caption(HOW)
if index >= len(batch):
    st.progress(1.0, text=f"{progress_text(len(done), len(batch))} labeled")
    st.success("🎉 All photos done. Thank you!")
    st.button("Start again", key="label_restart", on_click=go_to, args=(0,))
    st.stop()

choice = batch[index]
nav = st.container(horizontal=True, vertical_alignment="center")
nav.subheader(f"Photo {index + 1} of {len(batch)}: {choice.name}")
nav.progress(len(done) / len(batch), text=f"{progress_text(len(done), len(batch))} labeled",
             width=150)
nav.button("← Back", key="label_back", on_click=go_to, args=(index - 1,), disabled=index == 0)
nav.button("Skip this photo", key="label_skip", on_click=go_to, args=(index + 1,),
           shortcut="Ctrl+Right")
decoded = decoded_ui("label", models, choice)
if decoded is None:
    st.stop()


def saved(_answers) -> None:
    """After a save: say so, and open the next one (the store now counts this photo)."""
    st.session_state["label_flash"] = f"Saved photo {index + 1} ({choice.name})."
    go_to(index + 1)
    st.rerun(scope="app")


# Predict, show, confirm or correct, and move on.
click_area("label", models, store, decoded, tester, submit="Save & next ➜", saved=saved)

# What this tester saved: reviewed and edited on the My labels page.
st.caption(f"You have saved **{len(mine)}** labels as **{tester}**. Review or change them on "
           "the **✏️ My labels** page (the sidebar); an edit keeps the old label in the history.")
