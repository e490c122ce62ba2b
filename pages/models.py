"""Pinpoint · Models: what is loaded, how it is fed, and what its model card says."""

import pandas as pd
import streamlit as st

from predictor import card_figures, read_card
from ui.common import load_predictor, page_setup

page_setup("Models")
predictor = load_predictor()
st.title("🧠 Models")
st.write("The models this server loaded, once, at start-up.")

described = predictor.describe()
cards = {spec.name: read_card(spec) for spec in predictor.specs}
table = pd.DataFrame([{"model": name, **facts, **card_figures(cards[name])}
                      for name, facts in described.items()])
st.dataframe(table, hide_index=True, width="stretch", key="models_table",
             column_config={"validation top-1": st.column_config.NumberColumn(format="percent"),
                            "validation top-5": st.column_config.NumberColumn(format="percent")})

for spec in predictor.specs:
    st.header(f"{spec.name} · version {spec.version}")
    st.caption(f"{spec.format} file `{spec.path.name}` · input {spec.input_size}×"
               f"{spec.input_size} px · crop = {spec.crop_fraction:.0%} of the shorter side")
    st.write("**Labels:** " + ", ".join(spec.labels))
    card = cards[spec.name]
    with st.expander("Model card", expanded=False):
        st.markdown(card.markdown or "_No MODEL_CARD.md next to this model._")
