"""Predict and Label session building blocks: pick an image, click it, read, record the truth."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import streamlit as st
from PIL import Image
from streamlit_image_coordinates import streamlit_image_coordinates

from predictor import (
    NONE_LABEL,
    DecodedImage,
    FeedbackStore,
    ModelSpec,
    PinpointError,
    Predictor,
    RateLimited,
    RecordedPrediction,
    StoreBusy,
    image_root,
    list_images,
    read_image,
)
from ui.common import load_clicks, load_client, load_config
from ui.display import decode_for_display, display_copy, draw_overlay, is_new_click, to_original

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
UPLOAD_TYPES = ["jpg", "jpeg", "png", "webp"]
DISPLAY_SIDE = 800  # the browser gets at most this many pixels on the longer side


@dataclass(frozen=True)
class ImageChoice:
    """An image the tester picked: a stable key, a name to show, and how to read it."""

    key: str
    name: str
    read: Callable[[], bytes | Path]


def upload_choices(files) -> list[ImageChoice]:
    """Wrap Streamlit uploads (one or many) as ImageChoices."""
    files = files if isinstance(files, list) else [files] if files else []
    return [ImageChoice(f"upload:{f.file_id}", f.name, f.getvalue) for f in files]


def sample_choices() -> list[ImageChoice]:
    """The sample photos that ship with Pinpoint."""
    return [ImageChoice(f"sample:{p.name}", p.name, partial(Path, p))
            for p in sorted(SAMPLES.glob("*.jpg"))]


def server_choices() -> list[ImageChoice]:
    """Images in the configured server folder ($PINPOINT_IMAGE_ROOT), resolved safely."""
    root = image_root()
    if root is None:
        return []
    limit = load_config().limits.max_bytes  # read once through one descriptor: bytes, not a name
    return [ImageChoice(f"server:{name}", name, partial(read_image, root, name, limit))
            for name in list_images(root)]


def image_source_ui(prefix: str) -> ImageChoice | None:
    """Ask where the image comes from and return the tester's pick (None until there is one)."""
    sources = ["Upload a photo", "Use a sample photo"]
    sources += ["Pick from the server folder"] if image_root() else []
    source = st.radio("Image", sources, horizontal=True, key=f"{prefix}_source")
    if source == sources[0]:
        upload = st.file_uploader("Photo (JPEG, PNG or WebP)", type=UPLOAD_TYPES,
                                  key=f"{prefix}_upload")
        return next(iter(upload_choices(upload)), None)
    choices = sample_choices() if source == sources[1] else server_choices()
    if not choices:
        st.info("No images found there.")
        return None
    return st.selectbox("Photo", choices, format_func=lambda c: c.name, key=f"{prefix}_pick")


def decoded_ui(prefix: str, predictor: Predictor, choice: ImageChoice):
    """Decode the pick once (kept in the session) and return (decoded, display copy) or None."""
    slot = f"{prefix}_decoded"
    cached = st.session_state.get(slot)
    if cached and cached[0] == choice.key:
        return cached[1], cached[2]
    try:
        source = choice.read()
        decoded = decode_for_display(source, predictor.specs, predictor.limits, DISPLAY_SIDE)
    except PinpointError as exc:
        st.error(f"This image cannot be used: {exc}")
        return None
    except Exception:  # whatever else goes wrong, the tester sees a sentence, not a traceback
        st.error("This image could not be read. Please try another one.")
        return None
    shown = display_copy(decoded, DISPLAY_SIDE)
    st.session_state[slot] = (choice.key, decoded, shown)
    if load_client() is not None:  # the original bytes only matter to the remote service
        st.session_state[f"{prefix}_original"] = source
    return decoded, shown


def click_ui(prefix: str, decoded: DecodedImage, shown: Image.Image,
             result: RecordedPrediction | None) -> tuple[float, float] | None:
    """Show the image (with the last point and crop boxes) and return a new click, mapped
    to original pixels, or None when nothing new was clicked."""
    picture = shown
    if result is not None:
        picture = draw_overlay(shown, decoded.size, result.prediction.point,
                               result.prediction.crops)
    click = streamlit_image_coordinates(
        picture, width=shown.width, key=f"{prefix}_click_{decoded.sha256[:16]}",
        image_format="JPEG", jpeg_quality=85, cursor="crosshair")
    last = f"{prefix}_last_click"
    if not is_new_click(click, st.session_state.get(last)):
        return None
    st.session_state[last] = click["unix_time"]
    return to_original(click, decoded.size)


def result_ui(result: RecordedPrediction) -> None:
    """Show each model's crop and top-5 as bars, then how long each stage took."""
    prediction = result.prediction
    if result.faulty:
        st.warning(f"The {', '.join(result.faulty)} model gave unusable scores (not numbers). "
                   "This answer is kept but never counted in accuracy; please tell the team.")
    columns = st.columns(len(prediction.predictions))
    for column, (name, scores) in zip(columns, prediction.predictions.items(), strict=True):
        with column:
            st.subheader(f"{name.title()} · top {len(scores)}")
            st.image(result.crops[name], width=128, caption=f"What the {name} model saw")
            for rank, score in enumerate(scores, 1):
                usable = math.isfinite(score.score)
                text = f"{rank}. {score.label} — {score.score:.1%}" if usable \
                    else f"{rank}. {score.label} — no score"
                st.progress(min(1.0, max(0.0, score.score)) if usable else 0.0, text=text)
    timings = prediction.timings_ms
    stages = " · ".join(f"{_stage_name(stage)} {ms:.0f} ms"
                        for stage, ms in timings.items() if stage != "total")
    st.caption(f"⏱ Took **{timings['total']:.0f} ms** in all ({stages}). "
               f"Point ({prediction.point[0]:.0f}, {prediction.point[1]:.0f}) "
               f"on the {prediction.image['width']}×{prediction.image['height']} original.")


def _stage_name(stage: str) -> str:
    # "model:color" would read as a Markdown colour directive; say "color model" instead.
    return f"{stage.removeprefix('model:')} model" if stage.startswith("model:") else stage


def truth_ui(prefix: str, specs: list[ModelSpec], result: RecordedPrediction,
             submit: str = "Save the correct labels",
             shortcut: str | None = "Ctrl+Enter") -> dict[str, str | None] | None:
    """Ask for the right label per model (default: top-1); return them once submitted."""
    with st.form(key=f"{prefix}_truth_{result.prediction_id}"):
        st.markdown("**What is actually there?** Pick the right answer for each model.")
        chosen = {}
        for column, spec in zip(st.columns(len(specs)), specs, strict=True):
            options = [*spec.labels, NONE_LABEL]
            top1 = result.prediction.predictions[spec.name][0].label
            chosen[spec.name] = column.selectbox(
                f"Correct {spec.name}", options, index=options.index(top1),
                key=f"{prefix}_truth_{spec.name}_{result.prediction_id}")
        if not st.form_submit_button(submit, type="primary", shortcut=shortcut):
            return None
    return {name: None if label == NONE_LABEL else label for name, label in chosen.items()}


def save_truth(predictor: Predictor, store: FeedbackStore, result: RecordedPrediction,
               chosen: dict[str, str | None], tester: str) -> bool:
    """Store the labels with their prediction and say so; on failure say what to do."""
    assert result.prediction_id is not None  # the app always stores its predictions
    try:
        load_clicks(predictor, store).label(result.prediction_id, chosen, tester)
    except StoreBusy as exc:
        st.warning(f"Not saved: {exc}")
        return False
    except PinpointError as exc:
        st.error(f"Not saved: {exc}")
        return False
    said = ", ".join(f"{name} = {label or NONE_LABEL}" for name, label in chosen.items())
    st.success(f"Saved ✓ {said} (prediction #{result.prediction_id}).")
    return True


def _predict(prefix: str, predictor: Predictor, store: FeedbackStore, decoded: DecodedImage,
             point: tuple[float, float], tester: str) -> RecordedPrediction:
    clicks = load_clicks(predictor, store)
    return clicks.record(decoded, st.session_state.get(f"{prefix}_original"), point, tester)


def point_and_predict_ui(prefix: str, predictor: Predictor, store: FeedbackStore,
                         decoded: DecodedImage, shown: Image.Image,
                         tester: str) -> RecordedPrediction | None:
    """Show the clickable image; on a new click predict, store, and redraw. Return the latest
    prediction for this image (None before the first click)."""
    slot = f"{prefix}_result"
    result = st.session_state.get(slot)
    result = result if result and result.prediction.image["sha256"] == decoded.sha256 else None
    point = click_ui(prefix, decoded, shown, result)
    if point is None:
        return result
    try:
        st.session_state[slot] = _predict(prefix, predictor, store, decoded, point, tester)
    except RateLimited as exc:
        st.warning(str(exc))
        return result
    except PinpointError as exc:
        st.error(f"No prediction for that point: {exc}")
        return result
    st.rerun()  # redraw the image with the new point and crop boxes
