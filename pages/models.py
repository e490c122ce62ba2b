"""Pinpoint · Models: what is served, every version's figures, and the tools to improve them."""

import pandas as pd
import streamlit as st

from predictor import card_figures, manifest_path, read_card
from ui.common import is_admin, load_predictor, load_store, manifest_fingerprint, page_setup
from ui.upload import upload_ui
from ui.versions import compare_ui, model_versions, promote_ui, training_ui, versions_table

tester = page_setup("Models")
predictor = load_predictor()
store = load_store()
st.title("🧠 Models")
st.write("The models this server is serving now. A version made active here, by "
         "`python -m predictor promote` or by the API answers the next click; no restart.")

described = predictor.describe()
cards = {spec.name: read_card(spec) for spec in predictor.specs}
table = pd.DataFrame([{"model": name, **facts, **card_figures(cards[name])}
                      for name, facts in described.items()])
st.dataframe(table, hide_index=True, width="stretch", key="models_table",
             column_config={"validation top-1": st.column_config.NumberColumn(format="percent"),
                            "validation top-5": st.column_config.NumberColumn(format="percent")})

admin = is_admin()
fingerprint = manifest_fingerprint(str(manifest_path()))
labels_seen = store.count_labels()
for spec in predictor.specs:
    st.header(f"{spec.name} · version {spec.version}")
    st.caption(f"{spec.format} file `{spec.path.name}` · input {spec.input_size}×"
               f"{spec.input_size} px · crop = {spec.crop_fraction:.0%} of the shorter side")
    st.write("**Labels:** " + ", ".join(spec.labels))
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
    if admin:
        promote_ui(spec.name, versions, active, store, tester)
        upload_ui(spec)
    else:
        st.caption("Only an admin (PINPOINT_ADMINS) may train, upload or change the served "
                   "version.")
