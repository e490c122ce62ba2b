"""The Models page's "Upload a version" form: a team's model file and labels, checked by the
core (predictor.learning.uploads) before the version is listed as a candidate."""

from __future__ import annotations

import streamlit as st

from predictor import ModelSpec, PinpointError, manifest_path
from predictor.learning import InputSpec, ModelFile, add_version
from predictor.learning.uploads import NORMALISATIONS, SUFFIXES

MODEL_TYPES = [suffix.lstrip(".") for suffix in SUFFIXES]
PIXELS = {"unit": "0 … 1 (pixel / 255)", "signed": "-1 … 1 ((pixel - 127.5) / 127.5)",
          "raw": "0 … 255 (pixels as they are)", "custom": "custom scale and offset"}


def _normalisation_ui(model: str, active: ModelSpec) -> tuple[float, float]:
    """Which pixel range the model expects; custom shows scale and offset (default: active's)."""
    current = next((name for name, pair in NORMALISATIONS.items()
                    if pair == (active.scale, active.offset)), "custom")
    choice = st.selectbox("Input pixels", list(PIXELS), index=list(PIXELS).index(current),
                          format_func=PIXELS.__getitem__, key=f"models_upload_pixels_{model}")
    if choice != "custom":
        return NORMALISATIONS[choice]
    left, right = st.columns(2)
    scale = left.number_input("Scale", value=float(active.scale), format="%.6f",
                              key=f"models_upload_scale_{model}")
    offset = right.number_input("Offset", value=float(active.offset), format="%.4f",
                                key=f"models_upload_offset_{model}")
    return scale, offset


def upload_ui(active: ModelSpec) -> None:
    """Ask for a model file, its labels and how to feed it; add it as a candidate, or say why
    not. The check loads the model and predicts once, so a broken file never gets listed."""
    model = active.name
    done = st.session_state.pop(f"models_upload_done_{model}", None)
    if done:
        st.success(done)
    with st.expander(f"Upload a {model} version", expanded=False), \
            st.form(f"models_upload_form_{model}", clear_on_submit=False):
        st.caption(f"A new **{model}** version: it is checked (it loads, gives one score per "
                 "label, and finite scores on a test crop) and then listed as a candidate.")
        model_file = st.file_uploader(
            "Model file (.keras, .h5, .tflite, frozen .pb, or a SavedModel folder as .zip)",
            type=MODEL_TYPES, key=f"models_upload_file_{model}")
        labels_file = st.file_uploader("Labels (one a line, line number = class index)",
                                       type=["txt"], key=f"models_upload_labels_{model}")
        left, right = st.columns(2)
        size = left.number_input("Input size (pixels)", min_value=8, max_value=1024,
                                 value=active.input_size, step=1,
                                 key=f"models_upload_size_{model}")
        version = right.text_input("Version (empty: the next one)",
                                   key=f"models_upload_version_{model}")
        scale, offset = _normalisation_ui(model, active)
        with st.expander("Frozen .pb graphs: tensor names"):
            feed = st.text_input("Input tensor", value="input:0", key=f"models_upload_in_{model}")
            fetch = st.text_input("Output tensor", value="final_result:0",
                                  key=f"models_upload_out_{model}")
        submitted = st.form_submit_button("Check and add the version")
    if not submitted:
        return
    if model_file is None or labels_file is None:
        st.error("Choose both a model file and a labels file.")
        return
    _add(model, model_file, labels_file, InputSpec(int(size), scale, offset, feed, fetch),
         version.strip() or None)


def _add(model: str, model_file, labels_file, inputs: InputSpec,  # noqa: ANN001 - uploads
         version: str | None) -> None:
    try:
        labels_text = labels_file.getvalue().decode("utf-8")
    except UnicodeDecodeError:
        st.error("The labels file is not UTF-8 text.")
        return
    try:
        with st.spinner("Loading and checking the model…"):
            entry = add_version(manifest_path(), model,
                                ModelFile(model_file.name, model_file.getvalue()),
                                labels_text, inputs, version=version)
    except PinpointError as exc:
        st.error(f"Not added: {exc}")
        return
    st.session_state[f"models_upload_done_{model}"] = (
        f"{model} {entry['version']} added as a candidate ({entry['format']}). It is scored "
        "in the versions table; compare it, then make it active.")
    st.rerun()  # the versions table above lists the new candidate
