"""The click area of Predict and Label session: the photo on the left at a fixed width, each
model's crop and top 5 on the right, and the tester's explicit answer per model.

It runs as an `st.fragment`: a click reruns only this area, not the uploader or the sidebar.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import streamlit as st
from PIL import Image
from streamlit_image_coordinates import streamlit_image_coordinates

from predictor import Box, DecodedImage, ModelFacts
from predictor.learning import RecordedPrediction
from predictor.store import NONE_LABEL
from ui.common import Answered
from ui.display import (
    BOX_COLORS,
    bordered,
    display_copy,
    draw_overlay,
    is_new_click,
    to_original,
    zoom_view,
)
from ui.keys import hide_elements

PHOTO_SIDE = 560  # the photo column's fixed width, so the answers fit beside it on a laptop
SKIP = "not sure / skip"  # no label for this model: it is not counted at all
OTHER = "another label…"
ZOOMS = {"1×": 1.0, "2×": 2.0, "4×": 4.0}
COMPONENT_PREFIX = "streamlit_image_coordinates"


@dataclass(frozen=True)
class Answer:
    """What the tester chose for one model: a label, None (none of these), or skipped."""

    label: str | None
    skipped: bool = False


@dataclass
class Shown:
    """The click on screen: its number in this session (it keys the answer widgets, which
    must not change when the answer is stored) and its answer, stored at the end of the run."""

    serial: int
    answered: Answered

    @property
    def result(self) -> RecordedPrediction:
        return self.answered.result


def choices_from(specs: Sequence[ModelFacts],
                 picked: dict[str, str | None]) -> dict[str, Answer] | str:
    """Turn the pickers' values into answers, or say which model still needs a choice."""
    answers = {}
    for spec in specs:
        value = picked.get(spec.name)
        if value is None:
            return f"Choose an answer for **{spec.name}** first (or “{SKIP}”)."
        answers[spec.name] = Answer(None, skipped=True) if value == SKIP else \
            Answer(None if value == NONE_LABEL else value)
    return answers


def legend_ui(specs: Sequence[ModelFacts]) -> None:
    """One line that says which box colour is which model (shown before and after a click)."""
    items = " ".join(f'<span style="white-space:nowrap"><span style="color:{color};'
                     f'font-size:1.2em">■</span> {spec.name} model</span>'
                     for color, spec in zip(BOX_COLORS * 4, specs, strict=False))
    st.html(f'<div class="pinpoint-legend">Squares on the photo: {items} '
            '· ⚪ your point</div>')


def _picture(prefix: str, decoded: DecodedImage, shown: Shown | None,
             view: Box | None) -> Image.Image:
    """The display copy (zoomed or not) with the point and boxes; kept while unchanged, so a
    rerun re-sends the same bytes and the browser keeps the same image."""
    marker = (decoded.sha256, shown.serial if shown else None, view)
    slot = f"{prefix}_picture"
    cached = st.session_state.get(slot)
    if cached and cached[0] == marker:
        return cached[1]
    picture = _base_picture(prefix, decoded, view)
    if shown is not None:
        prediction = shown.result.prediction
        picture = draw_overlay(picture, decoded.size, prediction.point, prediction.crops, view)
    st.session_state[slot] = (marker, picture)
    return picture


def _base_picture(prefix: str, decoded: DecodedImage, view: Box | None) -> Image.Image:
    """The display copy without marks, made once per image and view: a click only draws on a
    copy of it (resizing the photo again cost ~40 ms a click)."""
    slot = f"{prefix}_base_picture"
    cached = st.session_state.get(slot)
    if cached and cached[0] == (decoded.sha256, view):
        return cached[1]
    base = display_copy(decoded, PHOTO_SIDE, view)
    st.session_state[slot] = ((decoded.sha256, view), base)
    return base


def _zoom_ui(prefix: str, decoded: DecodedImage, shown: Shown | None) -> Box | None:
    """A zoom control for a large photo; the view centres on the last point when zoomed."""
    if max(decoded.size) < 2 * PHOTO_SIDE:
        return None
    picked = st.segmented_control("Zoom", list(ZOOMS), default="1×", key=f"{prefix}_zoom",
                                  help="Zoom into the photo around your last point; a click "
                                  "in the zoomed view is mapped back to the whole photo.")
    zoom = ZOOMS.get(picked or "1×", 1.0)
    if zoom == 1.0:
        st.session_state.pop(f"{prefix}_zoom_center", None)
        return None
    center = st.session_state.setdefault(
        f"{prefix}_zoom_center",
        shown.result.prediction.point if shown else (decoded.width / 2, decoded.height / 2))
    return zoom_view(decoded.size, center, zoom)


def photo_ui(prefix: str, decoded: DecodedImage, current: Callable[[], Shown | None],
             handle: Callable[[tuple[float, float]], bool]) -> None:
    """Show the clickable photo; a click not handled yet is mapped to original pixels and
    handed to `handle` before the photo is drawn, so one run shows its result."""
    key = f"{prefix}_click_{decoded.sha256[:16]}"
    view = st.session_state.get(f"{prefix}_view")  # the view the tester clicked on
    last = f"{prefix}_last_click"
    click = st.session_state.get(key)
    if click is not None and is_new_click(click, st.session_state.get(last)):
        st.session_state[last] = click["unix_time"]
        handle(to_original(click, decoded.size, view))
    shown = current()
    photo, below = st.container(), st.container()
    with below:  # the zoom control sits under the photo, read before the photo is drawn
        view = _zoom_ui(prefix, decoded, shown)
    st.session_state[f"{prefix}_view"] = view
    picture = _picture(prefix, decoded, shown, view)
    with photo:
        click = streamlit_image_coordinates(picture, width=picture.width, key=key,
                                            image_format="JPEG", jpeg_quality=85,
                                            cursor="crosshair")
    if is_new_click(click, st.session_state.get(last)):  # a click this run could not see yet
        st.session_state[last] = click["unix_time"]
        if handle(to_original(click, decoded.size, view)):
            st.rerun()  # (the real component is read before drawing; see above)


def answers_ui(prefix: str, specs: Sequence[ModelFacts], shown: Shown) -> dict:
    """Each model's bordered crop and top 5 as a choice list (nothing chosen until the tester
    chooses); return {model: picked value or None}."""
    result = shown.result
    prediction = result.prediction
    if result.faulty:
        st.warning(f"The {', '.join(result.faulty)} model gave unusable scores (not numbers). "
                   "This answer is kept but never counted in accuracy; please tell the team.")
    picked: dict[str, str | None] = {}
    for column, color, spec in zip(st.columns(len(specs)), BOX_COLORS * 4, specs, strict=False):
        scores = prediction.predictions[spec.name]
        with column:
            st.markdown(f"**{spec.name.title()} · top {len(scores)}**")
            # what this model saw, framed in its box's colour on the photo
            st.image(bordered(result.crops[spec.name], color, side=88, line=4), width=88)
            named = {s.label: f"{rank}. {s.label} — {_percent(s.score)}"
                     for rank, s in enumerate(scores, 1)}
            options = [*named, NONE_LABEL, SKIP, OTHER]
            value = st.radio(f"Correct {spec.name}", options, index=None,
                             format_func=partial(_shown_as, named),
                             key=_answer_key(prefix, spec.name, shown))
            if value == OTHER:
                value = st.selectbox(f"Other {spec.name}", spec.labels, index=None,
                                     placeholder="Type to search…",
                                     key=f"{prefix}_other_{spec.name}_{shown.serial}")
            picked[spec.name] = value
    return picked


def keys_ui(prefix: str, specs: Sequence[ModelFacts], shown: Shown, picked: dict) -> None:
    """Keys 1–5 pick that answer for the model still without one; 0 = none of these."""
    focused = next((spec.name for spec in specs if picked.get(spec.name) is None), None)
    if focused is None:
        return
    ranked = [s.label for s in shown.result.prediction.predictions[focused]]
    slot = _answer_key(prefix, focused, shown)
    keys = {str(rank): label for rank, label in enumerate(ranked[:5], 1)} | {"0": NONE_LABEL}
    for key, label in keys.items():
        st.button(key, key=f"{prefix}_key_{key}", shortcut=key,
                  on_click=st.session_state.__setitem__, args=(slot, label))
    hide_elements([f"{prefix}_key_{key}" for key in keys])
    st.caption(f"⌨ Keys **1–5** pick that answer for **{focused}**, **0** = {NONE_LABEL}.")


def _answer_key(prefix: str, model: str, shown: Shown) -> str:
    return f"{prefix}_answer_{model}_{shown.serial}"


def _percent(score: float) -> str:
    return f"{score:.0%}" if score == score and abs(score) != float("inf") else "no score"


def timing_ui(result: RecordedPrediction, page_ms: float | None = None) -> None:
    """One line: which versions answered, the point, how long the models took, and the whole
    click on the server."""
    prediction = result.prediction
    model_ms = sum(ms for stage, ms in prediction.timings_ms.items() if stage.startswith("model:"))
    page = f" · the page answered in {page_ms:.0f} ms" if page_ms is not None else ""
    versions = ", ".join(f"{name} {meta.get('version')}" for name, meta in
                         prediction.models.items())
    st.caption(f"Answered by {versions} · point ({prediction.point[0]:.0f}, "
               f"{prediction.point[1]:.0f}) on the "
               f"{prediction.image['width']}×{prediction.image['height']} original · "
               f"models {model_ms:.0f} ms, prediction {prediction.timings_ms['total']:.0f} ms"
               f"{page}.")


def _shown_as(named: dict[str, str], option: str) -> str:
    return named.get(option, option)
