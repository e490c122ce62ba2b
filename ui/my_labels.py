"""My labels: one card per saved point, with what each model saw and said, the tester's label
and a picker to change it. An edit replaces the label counted in accuracy; the old one is kept
in the history (shown under the card)."""

from __future__ import annotations

import io
from functools import partial

import pandas as pd
import streamlit as st
from PIL import Image

from predictor import PinpointError, ServedModels
from predictor.learning import edit_label
from predictor.store import NONE_LABEL, FeedbackStore, label_history
from ui.display import BOX_COLORS, bordered

PER_PAGE = 8  # points per page: a screenful or two, quick to draw


def pager_ui(count: int) -> slice:
    """Which points to show: a page number when there are more than fit one page."""
    pages = (count + PER_PAGE - 1) // PER_PAGE
    if pages <= 1:
        return slice(0, count)
    page = st.number_input(f"Page (of {pages})", 1, pages, 1, key="mylabels_page", width=160)
    return slice((page - 1) * PER_PAGE, page * PER_PAGE)


def label_card_ui(models: ServedModels, store: FeedbackStore, rows: pd.DataFrame,
                  tester: str) -> None:
    """One point: where and when, then per model its crop, its top 5 and the tester's label."""
    first = rows.iloc[0]
    pid = int(first["prediction_id"])
    where = first["image_name"] or f"photo {str(first['image_sha256'])[:10]}…"
    counted = "" if first["status"] == "ok" else f" · *{first['status']}: not counted*"
    with st.container(border=True, key=f"mylabels_card_{pid}"):
        st.markdown(f"**{where}** · point ({first['point_x']:.0f}, {first['point_y']:.0f}) · "
                    f"clicked {first['created_at']:%Y-%m-%d %H:%M} · #{pid}{counted}")
        colors = {spec.name: color for color, spec in zip(BOX_COLORS * 4, models.specs,
                                                          strict=False)}
        with st.form(key=f"mylabels_form_{pid}", border=False):
            # one column per model the app knows, so a lone label keeps a readable width
            slots = st.columns(max(len(rows), len(models.specs), 2), gap="large")
            for column, row in zip(slots, rows.itertuples(), strict=False):
                with column:
                    _model_ui(models, row, colors.get(row.model, "#888888"))
            st.form_submit_button("Save changes", key=f"mylabels_save_{pid}",
                                  on_click=partial(_save, models, store, rows, tester))
        for row in rows.itertuples():
            if row.edits:
                _history_ui(store, pid, row.model, int(row.edits))


def _model_ui(models: ServedModels, row, color: str) -> None:
    top = row.ranked[:5]
    st.markdown(f"**{row.model}** · version {row.version}")
    side = st.container(horizontal=True, wrap=False)  # the crop beside what the model said
    if row.crop_png:
        side.image(bordered(Image.open(io.BytesIO(row.crop_png)), color, side=72, line=4),
                   width=72)
    side.caption("Its top 5: " + " · ".join(f"{i}. {r['label']} {r['score']:.0%}"
                                            for i, r in enumerate(top, 1))
                 + f"  \nYou labeled it {row.labeled_at:%Y-%m-%d %H:%M}")
    options = _options(models, row.model, [r["label"] for r in top], row.truth)
    current = row.truth if isinstance(row.truth, str) else NONE_LABEL
    st.selectbox(f"Your {row.model} label", options,
                 index=options.index(current), key=_key(row.prediction_id, row.model))


def _options(models: ServedModels, model: str, ranked: list[str], truth: object) -> list[str]:
    """The model's top answers first, then none of these, then every other label it knows."""
    known = next((list(spec.labels) for spec in models.specs if spec.name == model), [])
    extra = [truth] if isinstance(truth, str) else []
    return list(dict.fromkeys([*ranked, NONE_LABEL, *known, *extra]))


def _key(prediction_id: int, model: str) -> str:
    return f"mylabels_label_{prediction_id}_{model}"


def _save(models: ServedModels, store: FeedbackStore, rows: pd.DataFrame, tester: str) -> None:
    """Store each changed label (checked like a new one) and say what changed."""
    changed = []
    for row in rows.itertuples():
        picked = st.session_state.get(_key(row.prediction_id, row.model))
        label = None if picked == NONE_LABEL else picked
        before = row.truth if isinstance(row.truth, str) else None
        if picked is None or label == before:
            continue
        try:
            edit_label(models, store, int(row.prediction_id), row.model, label, tester=tester)
        except PinpointError as exc:
            st.session_state["mylabels_flash"] = ("error", f"Not saved: {exc}")
            return
        changed.append(f"{row.model}: {before or NONE_LABEL} → {label or NONE_LABEL}")
    st.session_state["mylabels_flash"] = (
        ("success", f"Saved ✓ {'; '.join(changed)} (#{int(rows.iloc[0]['prediction_id'])}).")
        if changed else ("info", "Nothing changed."))


def _history_ui(store: FeedbackStore, prediction_id: int, model: str, edits: int) -> None:
    with st.expander(f"History of the {model} label ({edits} earlier)"):
        history = label_history(store, prediction_id, model)
        st.dataframe(pd.DataFrame({
            "Label": history["label"].map(lambda x: x or NONE_LABEL),
            "By": history["tester"], "Saved": history["labeled_at"],
            "Replaced": history["replaced_at"]}), hide_index=True,
            key=f"mylabels_history_{prediction_id}_{model}")


def flash_ui() -> None:
    """Say what the last save did (set by the form's callback, before this run)."""
    if flash := st.session_state.pop("mylabels_flash", None):
        getattr(st, flash[0])(flash[1])
