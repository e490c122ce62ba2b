"""Pinpoint · Models: what is served, every version's figures, and the tools to improve them."""

import pandas as pd
import streamlit as st

from predictor import manifest_path
from predictor.learning import card_figures, read_card
from ui.common import (
    is_admin,
    load_client,
    load_models,
    load_predictor,
    load_store,
    manifest_fingerprint,
    page_setup,
)
from ui.shadow import shadow_ui
from ui.upload import upload_ui
from ui.versions import compare_ui, model_versions, promote_ui, training_ui, versions_table

tester = page_setup("Models")
models = load_models()  # in remote mode: the service's answer, nothing loaded here
store = load_store()
client = load_client()
st.title("🧠 Models")
if client is None:
    st.write("The models this server is serving now. A version made active here, by "
             "`python -m predictor promote` or by the API answers the next click; no restart.")
else:
    st.write(f"The models the prediction service at {client.base_url} is serving now.")

# Model cards sit next to the model files: only where the models are.
local = {} if client else {spec.name: spec for spec in load_predictor().specs}
cards = {name: read_card(spec) for name, spec in local.items()}
table = pd.DataFrame([{"model": name, **facts, **(card_figures(cards[name]) if cards else {})}
                      for name, facts in models.describe().items()])
st.dataframe(table, hide_index=True, width="stretch", key="models_table",
             column_config={"validation top-1": st.column_config.NumberColumn(format="percent"),
                            "validation top-5": st.column_config.NumberColumn(format="percent")})

admin = is_admin()
fingerprint = manifest_fingerprint(str(manifest_path()))
labels_seen = store.count_labels()
for spec in models.specs:
    st.header(f"{spec.name} · version {spec.version}")
    st.caption(f"{spec.format} file `{spec.file}` · input {spec.input_size}×"
               f"{spec.input_size} px · crop = {spec.crop_fraction:.0%} of the shorter side")
    st.write("**Labels:** " + ", ".join(spec.labels))
    if client:
        continue
    card = cards[spec.name]
    with st.expander("Model card", expanded=False):
        st.markdown(card.markdown or "_No MODEL_CARD.md next to this model._")

    # Every version on the same labeled points, then the loop: train, compare, promote.
    st.subheader("Versions, on the same labeled points")
    versions_table(spec.name, fingerprint, labels_seen)
    versions, active = model_versions(spec.name)
    training_ui(spec.name, admin)
    with st.expander("Compare two versions", expanded=False):
        compare_ui(spec.name, versions, store)
    shadow_ui(spec.name, store, admin)
    if admin:
        promote_ui(spec.name, versions, active, store, tester)
        upload_ui(local[spec.name])
    else:
        st.caption("Only an admin (PINPOINT_ADMINS) may train, upload or change the served "
                   "version.")

if client:
    st.info("Training, uploading, comparing and promoting versions happen where the models "
            "are, on the service's machine: `python -m predictor retrain`, `add-version`, "
            "`compare` and `promote` there, "
            "or `POST /admin/promote` with an admin key (docs/improving.md). This page shows "
            "the new version within 30 seconds.")
