"""The Models page's shadow section: which candidates answer every click unseen, and how they
score beside the served version on the same labeled clicks."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from predictor import load_versions, manifest_path
from predictor.learning import shadow_figures
from predictor.learning.versions import set_shadow
from predictor.store import FeedbackStore

_PERCENT = {name: st.column_config.NumberColumn(format="percent")
            for name in ("shadow_top1", "shadow_top5", "served_top1", "served_top5")}


def shadow_ui(model: str, store: FeedbackStore, allowed: bool) -> None:
    """A toggle per candidate or retired version, and the shadows' figures on the same clicks."""
    others = [s for s in load_versions() if s.name == model and s.status != "active"]
    if not others:
        return
    with st.expander("Shadow: let a candidate answer every click, unseen", expanded=False):
        st.caption("A shadow answers each tester click after the served version has answered; "
                   "testers never see it. Both are scored against the tester's label, on the "
                   "same clicks.")
        for spec in others:
            on = st.toggle(f"{spec.version} ({spec.status}) shadows the served version",
                           value=spec.shadow, disabled=not allowed,
                           key=f"models_shadow_{model}_{spec.version}")
            if on != spec.shadow:
                set_shadow(manifest_path(), model, spec.version, on)
                st.rerun()  # the manifest changed: the next run loads (or drops) the shadow
        rows = shadow_figures(store, model)
        if rows:
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                         key=f"models_shadow_table_{model}", column_config=_PERCENT)
        else:
            st.info("No shadow answers stored yet.")
